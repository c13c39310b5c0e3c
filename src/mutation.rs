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
    let spec = at
        .keys()
        .iter()
        .try_fold(object, |value, key| value.get_mut(*key))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("the object has no pod spec at {}", at.keys().join(".")))?;
    for removal in removals {
        match removal {
            Removal::Volume { volume, .. } => {
                if let Some(Value::Array(volumes)) = spec.get_mut("volumes") {
                    volumes.retain(|v| name_of(v) != *volume);
                }
                for kind in ContainerKind::ALL {
                    for container in containers_mut(spec, kind.list_key()) {
                        retain_mounts(container, |mount| name_of(mount) != *volume);
                    }
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
                    Reach::Whole => continue,
                };
                for target in containers {
                    for container in containers_mut(spec, target.kind.list_key()) {
                        if name_of(container) != target.name {
                            continue;
                        }
                        retain_mounts(container, |mount| {
                            !(name_of(mount) == *volume
                                && mount.get(key).and_then(Value::as_str) == Some(value))
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `name` of a volume, mount or container; absent is empty, as the typed reader of the
/// request reads it, so that what was judged is what is removed.
fn name_of(value: &Value) -> &str {
    value
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn containers_mut<'v>(
    spec: &'v mut Map<String, Value>,
    list: &str,
) -> impl Iterator<Item = &'v mut Value> {
    spec.get_mut(list)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn retain_mounts(container: &mut Value, keep: impl Fn(&Value) -> bool) {
    if let Some(Value::Array(mounts)) = container.get_mut("volumeMounts") {
        mounts.retain(keep);
    }
}
