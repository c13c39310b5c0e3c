//! What users read: rejection messages (one line per volume) and short warnings.

use crate::exposures::{ContainerKind, ContainerRef, Reach, VolumeExposure};
use crate::host_path::HostPath;
use crate::mutation::Removal;
use crate::request::ObjectMeta;
use crate::sockets::Exposure;
use std::borrow::Cow;
use std::fmt::Write;

/// A user-controlled string (a host path, a name, an image) as a message shows it: as written
/// when it is plain, else quoted with Rust escapes. No value can start a new line, hide text
/// behind control or bidi characters, or pass for the message's own words.
pub fn shown(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && !value.starts_with(char::is_whitespace)
        && !value.ends_with(char::is_whitespace)
        && value
            .chars()
            .all(|c| c == '\\' || c == '\'' || (c != '"' && c.escape_debug().nth(1).is_none()));
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("{value:?}"))
    }
}

/// Where a PersistentVolume keeps the path: `hostPath` or `local path`.
fn persistent_volume_source(volume: &VolumeExposure) -> &'static str {
    if volume.volume == "local" {
        "local path"
    } else {
        "hostPath"
    }
}

/// `Deployment "web"`, or the generateName prefix when the name is not set yet.
pub fn object_name(kind: &str, meta: &ObjectMeta) -> String {
    match (&meta.name, &meta.generate_name) {
        (Some(name), _) if !name.is_empty() => format!("{} {name:?}", shown(kind)),
        (_, Some(prefix)) if !prefix.is_empty() => {
            format!("{} {prefix:?} (generateName)", shown(kind))
        }
        _ => shown(kind).into_owned(),
    }
}

/// An object of a kind the policy does not know, named with where its pod template was found:
/// `Widget "w" (pod template found at spec.template.spec)`.
pub fn discovered(name: &str, path: &str) -> String {
    format!("{name} (pod template found at {path})")
}

/// Why a report did not inspect an object of `group`/`kind`.
pub fn not_inspected(group: &str, kind: &str, unknown_kinds_ignored: bool) -> String {
    let kind = match group {
        "" => shown(kind).into_owned(),
        group => format!("{}/{}", shown(group), shown(kind)),
    };
    if unknown_kinds_ignored {
        format!("{kind} is not a kind the policy knows, and unknownKinds is ignore")
    } else {
        format!(
            "{kind} is not a kind the policy knows, and it has no pod template (containers at \
             spec.template.spec or spec.jobTemplate.spec.template.spec)"
        )
    }
}

/// The warning for an exposure an `exemptions` rule admits.
pub fn exempted(volume: &VolumeExposure, reason: &str, persistent_volume: bool) -> String {
    format!(
        "{}; admitted by an exemption: {}",
        warning("", volume, persistent_volume),
        shown(reason)
    )
}

/// The same as an audit value: `volume: reason`.
pub fn exempted_audit(volume: &VolumeExposure, reason: &str) -> String {
    format!("{}: {}", shown(volume.volume), shown(reason))
}

/// A rejection of `podSpecPatch` strings that can add a hostPath volume (`paths`).
pub fn host_path_patches(name: &str, paths: &[String]) -> String {
    let mut out = format!(
        "{name} has a podSpecPatch that can add a hostPath volume, which this policy cannot \
         judge (Argo merges it into each Pod after admission):"
    );
    for path in paths {
        let _ = write!(
            out,
            "\n- {path}. Fix: declare hostPath volumes in spec.volumes or the template's \
             volumes, where they are checked, and keep podSpecPatch for other fields."
        );
    }
    out
}

/// A rejection: a heading, then one line per volume.
pub fn rejection(heading: &str, volumes: &[VolumeExposure], persistent_volume: bool) -> String {
    let mut out = heading.to_string();
    for volume in volumes {
        out.push_str("\n- ");
        out.push_str(&volume_line(volume, persistent_volume));
    }
    out
}

/// The full description of one volume's exposures and how to fix them.
pub fn volume_line(volume: &VolumeExposure, persistent_volume: bool) -> String {
    let mut out = if persistent_volume {
        format!(
            "{} {}",
            persistent_volume_source(volume),
            shown(volume.host_path)
        )
    } else {
        format!(
            "volume {:?} (hostPath {})",
            volume.volume,
            shown(volume.host_path)
        )
    };
    for (i, finding) in volume.findings.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { "; " });
        match finding.reach {
            Reach::Whole => {
                let _ = write!(out, "is {}", describe(&finding.exposure, &finding.path));
            }
            Reach::SubPath(sub_path) => {
                let _ = write!(
                    out,
                    "with subPath {sub_path:?} reaches {}",
                    describe(&finding.exposure, &finding.path)
                );
            }
            Reach::SubPathExpr(expr) => {
                let _ = write!(
                    out,
                    "with subPathExpr {expr:?} is resolved only when the pod runs and can reach {}",
                    describe(&finding.exposure, &finding.path)
                );
            }
        }
        if persistent_volume {
            out.push_str(", and every Pod that claims this PersistentVolume reaches it");
        } else {
            out.push_str(", ");
            out.push_str(&mounted_by(&finding.containers));
        }
    }
    out.push_str(". Fix: ");
    out.push_str(fix(volume, persistent_volume));
    out
}

/// A one-line warning about a volume's exposure.
pub fn warning(prefix: &str, volume: &VolumeExposure, persistent_volume: bool) -> String {
    let exposure = volume
        .findings
        .first()
        .map(|f| describe(&f.exposure, &f.path))
        .unwrap_or_default();
    if persistent_volume {
        format!(
            "{prefix}{} {} exposes {exposure}",
            persistent_volume_source(volume),
            shown(volume.host_path)
        )
    } else {
        format!(
            "{prefix}volume {:?} (hostPath {}) exposes {exposure}",
            volume.volume,
            shown(volume.host_path)
        )
    }
}

/// What an exposure is: `the Docker daemon socket /run/docker.sock`,
/// `directory /var/run, which contains the Docker daemon socket /var/run/docker.sock`.
pub fn describe(exposure: &Exposure, path: &HostPath) -> String {
    match exposure {
        Exposure::Socket { label, socket } => format!("{label} {}", shown(socket)),
        Exposure::Directory { contains } => format!(
            "directory {}, which contains {}",
            shown(&path.to_string()),
            sockets(contains)
        ),
        Exposure::Procfs { contains } => format!(
            "{}, which reaches the host's root filesystem through procfs and with it {}",
            shown(&path.to_string()),
            sockets(contains)
        ),
    }
}

fn sockets(contains: &[(&'static str, String)]) -> String {
    let Some((label, socket)) = contains.first() else {
        return "a protected socket".to_string();
    };
    let socket = shown(socket);
    match contains.len() - 1 {
        0 => format!("{label} {socket}"),
        1 => format!("{label} {socket} and 1 more protected socket"),
        more => format!("{label} {socket} and {more} more protected sockets"),
    }
}

/// `mounted by containers agent, setup (init)`.
pub fn mounted_by(containers: &[ContainerRef]) -> String {
    match containers {
        [] => "not mounted by any container (an ephemeral container can still mount it)".into(),
        [one] => format!("mounted by container {}", container_list(&[*one])),
        many => format!("mounted by containers {}", container_list(many)),
    }
}

/// `agent, setup (init), debugger (ephemeral)`.
pub fn container_list(containers: &[ContainerRef]) -> String {
    let mut out = String::new();
    for (i, container) in containers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&shown(container.name));
        match container.kind {
            ContainerKind::Container => {}
            ContainerKind::Init => out.push_str(" (init)"),
            ContainerKind::Ephemeral => out.push_str(" (ephemeral)"),
        }
    }
    out
}

fn fix(volume: &VolumeExposure, persistent_volume: bool) -> &'static str {
    if persistent_volume {
        return "point the PersistentVolume at a host path that is not and does not contain a runtime socket.";
    }
    if volume.is_socket_volume() {
        "remove the volume and the volumeMounts that use it."
    } else if volume.findings.iter().any(|f| f.reach == Reach::Whole) {
        "mount a narrower host path that does not contain the socket, or remove the volume."
    } else {
        "remove the volumeMounts whose subPath reaches the socket."
    }
}

/// How a mount reaches into its volume, for a warning, a report row or an audit value:
/// `subPath ../run/docker.sock`, `subPathExpr $(POD)`; empty for the volume as a whole.
pub fn reach(reach: &Reach) -> String {
    match reach {
        Reach::Whole => String::new(),
        Reach::SubPath(sub_path) => format!("subPath {}", shown(sub_path)),
        Reach::SubPathExpr(expr) => format!("subPathExpr {}", shown(expr)),
    }
}

/// A mutation's removal, after `verb` ("removed", "would remove").
pub fn removal(removal: &Removal, verb: &str) -> String {
    match removal {
        Removal::Volume {
            volume,
            host_path,
            what,
            containers,
        } => {
            let mounts = if containers.is_empty() {
                String::new()
            } else {
                format!(
                    " and its mounts in {} {}",
                    plural("container", containers.len()),
                    container_list(containers)
                )
            };
            format!(
                "{verb} volume {volume:?} (hostPath {}, {what}){mounts}",
                shown(host_path)
            )
        }
        Removal::Mounts {
            volume,
            host_path,
            reach: how,
            what,
            containers,
        } => format!(
            "{verb} the mounts of volume {volume:?} (hostPath {}) with {} in {} {}, \
             which reach {what}",
            shown(host_path),
            reach(how),
            plural("container", containers.len()),
            container_list(containers)
        ),
    }
}

fn plural(word: &str, count: usize) -> String {
    if count == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
