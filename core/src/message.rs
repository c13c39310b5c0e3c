//! What users read: rejection messages (one line per volume) and short warnings.

use crate::exposures::{ContainerKind, ContainerRef, Reach, Via, VolumeExposure};
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
    let plain = if value.is_ascii() {
        // The same test, for the usual ASCII value, without decoding characters.
        !value.starts_with(' ') && !value.ends_with(' ') && printable_ascii(value, b'"')
    } else {
        !value.starts_with(char::is_whitespace)
            && !value.ends_with(char::is_whitespace)
            && value
                .chars()
                .all(|c| c == '\\' || c == '\'' || (c != '"' && c.escape_debug().nth(1).is_none()))
    };
    if plain && !value.is_empty() {
        Cow::Borrowed(value)
    } else {
        let mut out = String::new();
        push_quoted(&mut out, value);
        Cow::Owned(out)
    }
}

/// Appends `value` as `shown` shows it.
fn push_shown(out: &mut String, value: &str) {
    out.push_str(&shown(value));
}

/// Appends `value` quoted with Rust escapes, as `format!("{value:?}")` writes it.
fn push_quoted(out: &mut String, value: &str) {
    if !printable_ascii(value, 0x7f) {
        let _ = write!(out, "{value:?}");
        return;
    }
    out.reserve(value.len() + 2);
    out.push('"');
    let mut written = 0;
    for (at, byte) in value.bytes().enumerate() {
        if byte == b'"' || byte == b'\\' {
            out.push_str(&value[written..at]);
            out.push('\\');
            written = at;
        }
    }
    out.push_str(&value[written..]);
    out.push('"');
}

/// True when every byte of `value` is printable ASCII (a space to a tilde) other than `but`
/// (DEL, 0x7f, for none).
fn printable_ascii(value: &str, but: u8) -> bool {
    value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != but)
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
    let (name, suffix) = match (&meta.name, &meta.generate_name) {
        (Some(name), _) if !name.is_empty() => (Some(&**name), ""),
        (_, Some(prefix)) if !prefix.is_empty() => (Some(&**prefix), " (generateName)"),
        _ => (None, ""),
    };
    // Sized once: the kind, then a space and the name, quoted, and the suffix.
    let mut out =
        String::with_capacity(kind.len() + name.map_or(0, |name| name.len() + 3) + suffix.len());
    out.push_str(&shown(kind));
    if let Some(name) = name {
        out.push(' ');
        push_quoted(&mut out, name);
        out.push_str(suffix);
    }
    out
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
             spec.template.spec, spec.jobTemplate.spec.template.spec, template.spec or spec)"
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

/// A rejection of `podSpecPatch` strings the policy cannot admit: (where, why) of each.
pub fn pod_spec_patches(name: &str, problems: &[(String, String)]) -> String {
    let mut out = format!(
        "{name} has a podSpecPatch that can change what this policy judges (Argo merges it \
         into each Pod after admission):"
    );
    for (path, problem) in problems {
        let _ = write!(
            out,
            "\n- {path} {problem}. Fix: declare volumes, volumeMounts and images in the \
             workflow and its templates, where they are checked, and keep podSpecPatch for \
             other fields."
        );
    }
    out
}

/// The rejection of an OpenKruise UnitedDeployment whose subset patches can change what the
/// policy judges.
pub fn subset_patches(name: &str, problems: &[(String, String)]) -> String {
    let mut out = format!(
        "{name} has a subset patch that can change what this policy judges (OpenKruise merges \
         it into the workload of the subset after admission):"
    );
    for (path, problem) in problems {
        let _ = write!(
            out,
            "\n- {path} {problem}. Fix: declare volumes, volumeMounts and images in \
             spec.template, where they are checked, and keep subset patches for other fields."
        );
    }
    out
}

/// A rejection: the object's `name` and what it `says` as a heading, then one line per
/// volume.
pub fn rejection(
    name: &str,
    says: &str,
    volumes: &[VolumeExposure],
    persistent_volume: bool,
) -> String {
    // Written into one string: a rejection is what a refused request costs beyond reading it.
    let mut out = String::with_capacity(name.len() + says.len() + 256 * volumes.len());
    out.push_str(name);
    out.push_str(says);
    for volume in volumes {
        out.push_str("\n- ");
        write_volume_line(&mut out, volume, persistent_volume);
    }
    out
}

/// The full description of one volume's exposures and how to fix them.
fn write_volume_line(out: &mut String, volume: &VolumeExposure, persistent_volume: bool) {
    if persistent_volume {
        out.push_str(persistent_volume_source(volume));
        out.push(' ');
        push_shown(out, volume.host_path);
    } else {
        out.push_str("volume ");
        push_quoted(out, volume.volume);
        out.push_str(" (hostPath ");
        push_shown(out, volume.host_path);
        out.push(')');
    }
    for (i, finding) in volume.findings.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { "; " });
        match finding.reach {
            Reach::Whole => out.push_str("is "),
            Reach::SubPath(sub_path) => {
                out.push_str("with subPath ");
                push_quoted(out, sub_path);
                out.push_str(" reaches ");
            }
            Reach::SubPathExpr(expr) => {
                out.push_str("with subPathExpr ");
                push_quoted(out, expr);
                out.push_str(" is resolved only when the pod runs and can reach ");
            }
        }
        write_describe(out, &finding.exposure, &finding.path);
        if persistent_volume {
            out.push_str(", and every Pod that claims this PersistentVolume reaches it");
        } else {
            out.push_str(", ");
            write_mounted_by(out, &finding.containers);
        }
    }
    write_reached_by(out, &volume.reached_by);
    out.push_str(". Fix: ");
    out.push_str(fix(volume, persistent_volume));
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
    let mut out = String::new();
    write_describe(&mut out, exposure, path);
    out
}

fn write_describe(out: &mut String, exposure: &Exposure, path: &HostPath) {
    match exposure {
        Exposure::Socket { label, socket } => {
            out.push_str(label);
            out.push(' ');
            push_shown(out, socket);
        }
        Exposure::Directory { contains } => {
            out.push_str("directory ");
            push_shown(out, &path.to_string());
            out.push_str(", which contains ");
            write_sockets(out, contains);
        }
        Exposure::Procfs { contains } => {
            push_shown(out, &path.to_string());
            out.push_str(", which reaches the host's root filesystem through procfs and with it ");
            write_sockets(out, contains);
        }
    }
}

fn write_sockets(out: &mut String, contains: &[(&'static str, String)]) {
    let Some((label, socket)) = contains.first() else {
        out.push_str("a protected socket");
        return;
    };
    out.push_str(label);
    out.push(' ');
    push_shown(out, socket);
    match contains.len() - 1 {
        0 => {}
        1 => out.push_str(" and 1 more protected socket"),
        more => {
            let _ = write!(out, " and {more} more protected sockets");
        }
    }
}

fn write_mounted_by(out: &mut String, containers: &[ContainerRef]) {
    match containers {
        [] => {
            out.push_str("not mounted by any container (an ephemeral container can still mount it)")
        }
        [_] => out.push_str("mounted by container "),
        _ => out.push_str("mounted by containers "),
    }
    write_container_list(out, containers);
}

/// `; reached without a mount by container sidecar (shared process namespace), debugger
/// (ephemeral, debug target agent)`: an image rule must hold for these containers too.
fn write_reached_by(out: &mut String, reached_by: &[(ContainerRef, Via)]) {
    for (i, (container, via)) in reached_by.iter().enumerate() {
        out.push_str(if i == 0 {
            "; reached without a mount, through /proc/<pid>/root of a container that mounts it, by "
        } else {
            ", "
        });
        push_shown(out, container.name);
        out.push_str(match container.kind {
            ContainerKind::Container => " (",
            ContainerKind::Init => " (init, ",
            ContainerKind::Ephemeral => " (ephemeral, ",
        });
        match via {
            Via::ProcessNamespace => out.push_str("shared process namespace"),
            Via::HostProcessNamespace => out.push_str("hostPID"),
            Via::DebugTarget(target) => {
                out.push_str("debug target ");
                push_shown(out, target);
            }
        }
        out.push(')');
        if !container.image.is_empty() {
            out.push_str(" running ");
            push_shown(out, container.image);
        }
    }
}

/// `agent, setup (init), debugger (ephemeral)`.
pub fn container_list(containers: &[ContainerRef]) -> String {
    let mut out = String::new();
    write_container_list(&mut out, containers);
    out
}

fn write_container_list(out: &mut String, containers: &[ContainerRef]) {
    for (i, container) in containers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_shown(out, container.name);
        match container.kind {
            ContainerKind::Container => {}
            ContainerKind::Init => out.push_str(" (init)"),
            ContainerKind::Ephemeral => out.push_str(" (ephemeral)"),
        }
    }
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
            ..
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
                "{verb} volume {volume:?} (hostPath {}, {}){mounts}",
                shown(host_path),
                describe(&what.0, &what.1)
            )
        }
        Removal::Mounts {
            volume,
            host_path,
            reach: how,
            what,
            containers,
            ..
        } => format!(
            "{verb} the mounts of volume {volume:?} (hostPath {}) with {} in {} {}, \
             which reach {}",
            shown(host_path),
            reach(how),
            plural("container", containers.len()),
            container_list(containers),
            describe(&what.0, &what.1)
        ),
    }
}

/// A mutation's removal as a short audit value: `volume` or `volume:subPath@container`.
pub fn removal_audit(removal: &Removal) -> String {
    match removal {
        Removal::Volume { volume, .. } => (*volume).to_string(),
        Removal::Mounts {
            volume,
            reach: how,
            containers,
            ..
        } => {
            let names: Vec<&str> = containers.iter().map(|c| c.name).collect();
            format!("{volume}:{}@{}", reach(how), names.join("+"))
        }
    }
}

fn plural(word: &str, count: usize) -> String {
    if count == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `shown` as it is specified, character by character.
    fn shown_by_characters(value: &str) -> String {
        let plain = !value.is_empty()
            && !value.starts_with(char::is_whitespace)
            && !value.ends_with(char::is_whitespace)
            && value
                .chars()
                .all(|c| c == '\\' || c == '\'' || (c != '"' && c.escape_debug().nth(1).is_none()));
        if plain {
            value.to_string()
        } else {
            format!("{value:?}")
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The ASCII paths quote and show values exactly as Rust's escapes do.
        #[test]
        fn values_are_shown_and_quoted_as_rust_escapes_them(
            value in prop_oneof![
                "[ -~]{0,12}",
                "[ \"\\\\'a-z/\t\n\u{7f}]{0,12}",
                "[ a\"\\\\\u{e9}\u{202e}\u{301}\u{a0}]{0,8}",
                any::<String>(),
            ]
        ) {
            prop_assert_eq!(shown(&value).into_owned(), shown_by_characters(&value));
            let mut quoted = String::from("x");
            push_quoted(&mut quoted, &value);
            prop_assert_eq!(quoted, format!("x{value:?}"));
        }
    }
}
