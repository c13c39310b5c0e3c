//! Mutate mode: what to remove, and removing it from the object's text, so that every other
//! field (including fields no Kubernetes library of this module knows) keeps its value and order.
//! What is removed is exactly the items the scan judged, by where they are in the request's text
//! (`request::Span`): never found again by their names.

use crate::exposures::{ContainerRef, Reach, VolumeExposure};
use crate::host_path::HostPath;
use crate::json_text::Edits;
use crate::request::Span;
use crate::sockets::Exposure;
use std::collections::BTreeSet;

/// Something mutate mode removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal<'a> {
    /// A volume that is a socket itself, with every mount of it.
    Volume {
        volume: &'a str,
        host_path: &'a str,
        /// What it exposes, at which path.
        what: (Exposure, HostPath<'a>),
        containers: Vec<ContainerRef<'a>>,
        at: Span<'a>,
        mounts: Vec<Span<'a>>,
    },
    /// The `subPath`/`subPathExpr` mounts of a volume that reach a socket.
    Mounts {
        volume: &'a str,
        host_path: &'a str,
        reach: Reach<'a>,
        what: (Exposure, HostPath<'a>),
        containers: Vec<ContainerRef<'a>>,
        mounts: Vec<Span<'a>>,
    },
}

/// Splits violations into removals and what cannot be removed: a socket volume goes with its
/// mounts; a subPath mount that reaches a socket goes alone; a directory exposure stays, and so
/// does what is not an item of a list (a PersistentVolume's source).
pub fn plan<'a>(
    violations: Vec<VolumeExposure<'a>>,
) -> (Vec<Removal<'a>>, Vec<VolumeExposure<'a>>) {
    let mut removals = Vec::new();
    let mut remaining = Vec::new();
    for mut volume in violations {
        let Some(at) = volume.at else {
            remaining.push(volume);
            continue;
        };
        if let Some(socket) = volume
            .findings
            .iter()
            .find(|f| f.reach == Reach::Whole && f.exposure.is_socket())
        {
            removals.push(Removal::Volume {
                volume: volume.volume,
                host_path: volume.host_path,
                what: (socket.exposure.clone(), socket.path.clone()),
                containers: volume.mounted_by.clone(),
                at,
                mounts: volume.mounts.clone(),
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
                    what: (finding.exposure.clone(), finding.path.clone()),
                    containers: finding.containers.clone(),
                    mounts: finding.mounts.clone(),
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

impl<'a> Removal<'a> {
    /// The items it removes.
    fn spans(&self) -> impl Iterator<Item = &Span<'a>> {
        let (at, mounts) = match self {
            Removal::Volume { at, mounts, .. } => (Some(at), mounts),
            Removal::Mounts { mounts, .. } => (None, mounts),
        };
        at.into_iter().chain(mounts)
    }
}

/// The request's object (`object`, its text) without the items `removals` list. Only the lists
/// that lose an item are rewritten; the rest of the text is copied as it was.
pub fn apply(object: &[u8], removals: &[Removal]) -> Result<Vec<u8>, String> {
    let removed: BTreeSet<&Span> = removals.iter().flat_map(Removal::spans).collect();
    let lists: BTreeSet<(usize, usize)> = removed.iter().map(|span| span.list).collect();
    let item = |text: &[u8]| (text.as_ptr() as usize, text.len());
    let wanted: BTreeSet<(usize, usize)> =
        removed.iter().map(|s| item(s.text.as_bytes())).collect();
    let mut found = 0;
    let mut edits = Edits::new(object);
    for &(start, end) in &lists {
        let list = list_at(object, start, end)
            .ok_or_else(|| "a list to edit is not where the object was read".to_string())?;
        edits.retain(list, |text| {
            let remove = wanted.contains(&item(text));
            found += usize::from(remove);
            !remove
        });
    }
    if found != wanted.len() {
        return Err("an item to remove is not where the object was read".to_string());
    }
    edits
        .finish()
        .ok_or_else(|| "the edits of the object overlap or fall outside it".to_string())
}

/// The list (`[...]`) of `object` whose items begin at the address `start` and end at `end`:
/// only whitespace stands between the brackets and the items of a JSON array.
fn list_at(object: &[u8], start: usize, end: usize) -> Option<&[u8]> {
    let base = object.as_ptr() as usize;
    let (start, end) = (start.checked_sub(base)?, end.checked_sub(base)?);
    if start > end || end > object.len() {
        return None;
    }
    let open = object[..start]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())?;
    let close = end
        + object[end..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())?;
    (object[open] == b'[' && object[close] == b']').then(|| &object[open..=close])
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
