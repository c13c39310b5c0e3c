//! Mutate mode: what to remove, and removing it from the object as JSON so that every other
//! field (including fields no Kubernetes library of this module knows) keeps its value and order.

use crate::exposures::{ContainerKind, ContainerRef, Reach, VolumeExposure};
use crate::kinds::PodSpecAt;
use crate::message;
use serde_json::{Map, Value};

/// Something mutate mode removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal<'a> {
    /// A volume that is a socket itself, with every mount of it.
    Volume {
        volume: &'a str,
        host_path: &'a str,
        what: String,
        containers: Vec<ContainerRef<'a>>,
    },
    /// The `subPath`/`subPathExpr` mounts of a volume that reach a socket.
    Mounts {
        volume: &'a str,
        host_path: &'a str,
        reach: Reach<'a>,
        what: String,
        containers: Vec<ContainerRef<'a>>,
    },
}

/// Splits violations into removals and what cannot be removed: a socket volume goes with its
/// mounts; a subPath mount that reaches a socket goes alone; a directory exposure stays.
pub fn plan<'a>(
    violations: Vec<VolumeExposure<'a>>,
) -> (Vec<Removal<'a>>, Vec<VolumeExposure<'a>>) {
    let mut removals = Vec::new();
    let mut remaining = Vec::new();
    for mut volume in violations {
        if let Some(socket) = volume
            .findings
            .iter()
            .find(|f| f.reach == Reach::Whole && f.exposure.is_socket())
        {
            removals.push(Removal::Volume {
                volume: volume.volume,
                host_path: volume.host_path,
                what: message::describe(&socket.exposure, &socket.path),
                containers: volume.mounted_by.clone(),
            });
            continue;
        }
        volume.findings.retain(|finding| {
            let removable = finding.reach != Reach::Whole && finding.exposure.is_socket();
            if removable {
                removals.push(Removal::Mounts {
                    volume: volume.volume,
                    host_path: volume.host_path,
                    reach: finding.reach,
                    what: message::describe(&finding.exposure, &finding.path),
                    containers: finding.containers.clone(),
                });
            }
            !removable
        });
        if !volume.findings.is_empty() {
            remaining.push(volume);
        }
    }
    (removals, remaining)
}

impl Removal<'_> {
    /// The removal in words, after `verb` ("removed", "would remove"): the warning `kubectl`
    /// shows.
    pub fn describe(&self, verb: &str) -> String {
        message::removal(self, verb)
    }

    /// The same removal as a short audit value: `volume` or `volume/subPath@container`.
    pub fn audit(&self) -> String {
        match self {
            Removal::Volume { volume, .. } => (*volume).to_string(),
            Removal::Mounts {
                volume,
                reach,
                containers,
                ..
            } => {
                let names: Vec<&str> = containers.iter().map(|c| c.name).collect();
                format!("{volume}:{}@{}", message::reach(reach), names.join("+"))
            }
        }
    }
}

/// Applies removals to `object` (the request's object) at the pod spec `at`.
pub fn apply(object: &mut Value, at: PodSpecAt, removals: &[Removal]) -> Result<(), String> {
    at.edit_parts(object, |part| {
        for removal in removals {
            remove(part, removal);
        }
    })
}

/// Applies one removal to one part of a pod spec (see `PodSpecAt::parts`).
fn remove(part: &mut Map<String, Value>, removal: &Removal) {
    match removal {
        Removal::Volume { volume, .. } => {
            if let Some(Value::Array(volumes)) = part.get_mut("volumes") {
                volumes.retain(|v| name_of(v, "") != *volume);
            }
            for (holder, _, unnamed) in containers_mut(part) {
                retain_mounts(holder, unnamed, |mount| name_of(mount, "") != *volume);
            }
        }
        Removal::Mounts {
            volume,
            reach,
            containers,
            ..
        } => {
            let (key, value) = match reach {
                Reach::SubPath(sub_path) => ("subPath", *sub_path),
                Reach::SubPathExpr(expr) => ("subPathExpr", *expr),
                Reach::Whole => return,
            };
            for (container, kind, unnamed) in containers_mut(part) {
                // The mounts of an Argo containerSet belong to each of its containers: the
                // finding lists them all, so the shared mount goes.
                let targeted = match unnamed {
                    Unnamed::ContainerSet => true,
                    Unnamed::Empty | Unnamed::Main => containers.iter().any(|target| {
                        target.kind == kind && target.name == name_of(container, unnamed.name())
                    }),
                };
                if targeted {
                    retain_mounts(container, unnamed, |mount| {
                        !(name_of(mount, "") == *volume
                            && mount.get(key).and_then(Value::as_str) == Some(value))
                    });
                }
            }
        }
    }
}

/// The name the typed reader gives a container whose `name` is absent or empty.
#[derive(Debug, Clone, Copy)]
enum Unnamed {
    Empty,
    /// Argo's `container` and `script` run as `main`.
    Main,
    /// Not a container: an Argo `containerSet`, whose mounts every container of the set has.
    ContainerSet,
}

impl Unnamed {
    fn name(self) -> &'static str {
        match self {
            Unnamed::Main => "main",
            Unnamed::Empty | Unnamed::ContainerSet => "",
        }
    }
}

/// The `name` of a volume, mount or container, `unnamed` when absent or empty, as the typed
/// reader of the request reads it, so that what was judged is what is removed.
fn name_of<'v>(value: &'v Value, unnamed: &'v str) -> &'v str {
    match value.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => name,
        _ => unnamed,
    }
}

/// Everything in a part that holds mounts, with its container kind: the containers of a pod
/// spec and of an Argo template, and (as the list itself) the mounts of a `containerSet`.
fn containers_mut(
    part: &mut Map<String, Value>,
) -> impl Iterator<Item = (&mut Value, ContainerKind, Unnamed)> {
    part.iter_mut().flat_map(|(key, value)| match key.as_str() {
        "containers" | "sidecars" => list(value, ContainerKind::Container),
        "initContainers" => list(value, ContainerKind::Init),
        "ephemeralContainers" => list(value, ContainerKind::Ephemeral),
        "container" | "script" => vec![(value, ContainerKind::Container, Unnamed::Main)],
        "containerSet" => value
            .as_object_mut()
            .into_iter()
            .flatten()
            .flat_map(|(key, value)| match key.as_str() {
                "containers" => list(value, ContainerKind::Container),
                "volumeMounts" => vec![(value, ContainerKind::Container, Unnamed::ContainerSet)],
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    })
}

fn list(value: &mut Value, kind: ContainerKind) -> Vec<(&mut Value, ContainerKind, Unnamed)> {
    value
        .as_array_mut()
        .into_iter()
        .flatten()
        .map(|container| (container, kind, Unnamed::Empty))
        .collect()
}

fn retain_mounts(holder: &mut Value, unnamed: Unnamed, keep: impl Fn(&Value) -> bool) {
    let mounts = match unnamed {
        Unnamed::ContainerSet => Some(holder),
        Unnamed::Empty | Unnamed::Main => holder.get_mut("volumeMounts"),
    };
    if let Some(Value::Array(mounts)) = mounts {
        mounts.retain(keep);
    }
}
