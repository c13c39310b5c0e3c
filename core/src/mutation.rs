//! Mutate mode: what to remove, and removing it from the object as JSON so that every other
//! field (including fields no Kubernetes library of this module knows) keeps its value and order.

use crate::exposures::{ContainerKind, ContainerRef, Reach, VolumeExposure};
use crate::json_text::{self, Edits};
use crate::kinds::PodSpecAt;
use crate::message;
use std::borrow::Cow;

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

/// The request's object (its JSON text) with `removals` taken out of its pod spec at `at`.
/// Only the volume and mount lists that lose an item are rewritten; the rest of the text is
/// copied as it was.
pub fn apply(object: &[u8], at: PodSpecAt, removals: &[Removal]) -> Result<Vec<u8>, String> {
    let mut edits = Edits::new(object);
    for fields in at.text_parts(object)? {
        for (key, value) in &fields {
            if key == "volumes" {
                edits.retain(value, |volume| {
                    !removals.iter().any(|removal| match removal {
                        Removal::Volume { volume: name, .. } => name_of(volume, "") == *name,
                        Removal::Mounts { .. } => false,
                    })
                });
            }
        }
        for (holder, kind, unnamed) in holders(&fields) {
            let name = match unnamed {
                // Argo runs a template's `container` or `script` as main, whatever its name.
                Unnamed::Main => Cow::Borrowed("main"),
                Unnamed::Empty | Unnamed::ContainerSet => name_of(holder, ""),
            };
            let mounts = match unnamed {
                Unnamed::ContainerSet => Some(holder),
                Unnamed::Empty | Unnamed::Main => json_text::field(holder, "volumeMounts"),
            };
            let Some(mounts) = mounts else {
                continue;
            };
            edits.retain(mounts, |mount| {
                !removals
                    .iter()
                    .any(|removal| removes(removal, mount, kind, unnamed, &name))
            });
        }
    }
    edits
        .finish()
        .ok_or_else(|| "the edits of the object overlap or fall outside it".to_string())
}

/// Whether `removal` takes out `mount`, a mount of the container `container` (named as the
/// typed reader names it) of kind `kind`.
fn removes(
    removal: &Removal,
    mount: &[u8],
    kind: ContainerKind,
    unnamed: Unnamed,
    container: &str,
) -> bool {
    match removal {
        Removal::Volume { volume, .. } => name_of(mount, "") == *volume,
        Removal::Mounts {
            volume,
            reach,
            containers,
            ..
        } => {
            let (key, value) = match reach {
                Reach::SubPath(sub_path) => ("subPath", *sub_path),
                Reach::SubPathExpr(expr) => ("subPathExpr", *expr),
                Reach::Whole => return false,
            };
            // The mounts of an Argo containerSet belong to each of its containers: the
            // finding lists them all, so the shared mount goes.
            let targeted = match unnamed {
                Unnamed::ContainerSet => true,
                Unnamed::Empty | Unnamed::Main => containers
                    .iter()
                    .any(|target| target.kind == kind && target.name == container),
            };
            targeted
                && name_of(mount, "") == *volume
                && json_text::field(mount, key)
                    .and_then(json_text::string)
                    .as_deref()
                    == Some(value)
        }
    }
}

/// The name the typed reader gives a container whose `name` is absent or empty.
#[derive(Debug, Clone, Copy)]
enum Unnamed {
    Empty,
    /// Argo's `container` and `script` run as `main`, whatever their name.
    Main,
    /// Not a container: an Argo `containerSet`, whose mounts every container of the set has.
    ContainerSet,
}

/// The `name` of a volume, mount or container (JSON text), `unnamed` when absent or empty, as
/// the typed reader of the request reads it, so that what was judged is what is removed.
fn name_of<'v>(value: &'v [u8], unnamed: &'v str) -> Cow<'v, str> {
    match json_text::field(value, "name").and_then(json_text::string) {
        Some(name) if !name.is_empty() => name,
        _ => Cow::Borrowed(unnamed),
    }
}

/// Everything in a part (its fields) that holds mounts, with its container kind: the
/// containers of a pod spec and of an Argo template, and (as the list itself) the mounts of a
/// `containerSet`.
fn holders<'t>(fields: &[(Cow<'t, str>, &'t [u8])]) -> Vec<(&'t [u8], ContainerKind, Unnamed)> {
    let list = |value: &'t [u8], kind| -> Vec<(&'t [u8], ContainerKind, Unnamed)> {
        json_text::items(value)
            .into_iter()
            .flatten()
            .map(|container| (container, kind, Unnamed::Empty))
            .collect()
    };
    fields
        .iter()
        .flat_map(|(key, value)| match &**key {
            "containers" | "sidecars" => list(value, ContainerKind::Container),
            "initContainers" => list(value, ContainerKind::Init),
            "ephemeralContainers" => list(value, ContainerKind::Ephemeral),
            "container" | "script" => vec![(*value, ContainerKind::Container, Unnamed::Main)],
            "containerSet" => json_text::fields(value)
                .into_iter()
                .flatten()
                .flat_map(|(key, value)| match &*key {
                    "containers" => list(value, ContainerKind::Container),
                    "volumeMounts" => {
                        vec![(value, ContainerKind::Container, Unnamed::ContainerSet)]
                    }
                    _ => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::decision::validate;

    #[test]
    fn gives_back_every_other_byte_as_the_request_wrote_it() {
        // A float serde_json would write as 1.5, a field no Kubernetes library knows, escapes,
        // and a volume whose name is written with an escape: only the lists that lose an
        // entry are rewritten.
        let object = r#"{"kind":"Pod","metadata":{"name":"p","x-vendor":{"ratio":1.50,"big":1e400}},
            "spec":{"containers":[{"name":"a","note":"caf\u00e9","volumeMounts":[{"name":"keep","mountPath":"/k"}, {"name":"sock","mountPath":"/s"}]}],
            "volumes":[{"name":"keep","emptyDir":{}}, {"name":"s\u006fck","hostPath":{"path":"/run/docker.sock"}}]}}"#;
        let payload = format!(
            r#"{{"settings":{{"mode":"mutate"}},"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{object}}}}}"#
        );
        let response = validate(payload.as_bytes());
        assert!(response.accepted, "{:?}", response.message);
        let expected = object
            .replace(
                r#"[{"name":"keep","mountPath":"/k"}, {"name":"sock","mountPath":"/s"}]"#,
                r#"[{"name":"keep","mountPath":"/k"}]"#,
            )
            .replace(
                r#"[{"name":"keep","emptyDir":{}}, {"name":"s\u006fck","hostPath":{"path":"/run/docker.sock"}}]"#,
                r#"[{"name":"keep","emptyDir":{}}]"#,
            );
        assert_ne!(expected, object);
        assert_eq!(
            response.mutated_object.as_deref().map(|o| o.get()),
            Some(&*expected)
        );
    }
}
