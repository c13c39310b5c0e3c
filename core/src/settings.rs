//! Policy settings: parsing with messages that name the field, and validation.

use crate::exemptions::Exemption;
use crate::host_path::HostPath;
use crate::read;
use crate::sockets::{ALL_RUNTIMES, Runtime, SocketCatalog};
use serde::Deserialize;

/// What to do with directory and procfs exposures (a socket itself is always an exposure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryMounts {
    #[default]
    Reject,
    Warn,
    Ignore,
}

/// `reject` refuses exposures; `mutate` removes socket volumes and their mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Reject,
    Mutate,
}

/// What to do with a kind the policy does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownKinds {
    /// Judge a pod spec found at `spec.template.spec`,
    /// `spec.jobTemplate.spec.template.spec`, `template.spec` or `spec` (`kinds::CANDIDATES`).
    #[default]
    Scan,
    /// Accept it unread.
    Ignore,
}

/// The settings as users write them; a field left out has its default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    #[serde(deserialize_with = "read::choices")]
    pub runtimes: Vec<Runtime>,
    pub extra_socket_paths: Vec<String>,
    #[serde(deserialize_with = "read::choice")]
    pub directory_mounts: DirectoryMounts,
    pub allowed_images: Vec<String>,
    #[serde(deserialize_with = "read::maps")]
    pub exemptions: Vec<Exemption>,
    #[serde(deserialize_with = "read::choice")]
    pub unknown_kinds: UnknownKinds,
    #[serde(deserialize_with = "read::choice")]
    pub mode: Mode,
}

impl read::Named for Settings {
    const EXPECTING: &'static str = "a map of settings";
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // Every runtime: a node's socket is containerd's or CRI-O's far more often than
            // Docker's, and dockerd's own containers are reachable through containerd's.
            runtimes: ALL_RUNTIMES.to_vec(),
            extra_socket_paths: Vec::new(),
            directory_mounts: DirectoryMounts::default(),
            allowed_images: Vec::new(),
            exemptions: Vec::new(),
            unknown_kinds: UnknownKinds::default(),
            mode: Mode::default(),
        }
    }
}

impl Settings {
    /// Parses settings JSON (`null` means the defaults) and checks every value.
    pub fn from_json(raw: &[u8]) -> Result<Settings, String> {
        let settings: Option<read::Map<Settings>> = read::from_slice(raw)?;
        let settings = settings.map_or_else(Settings::default, |read::Map(settings)| settings);
        settings.check()?;
        Ok(settings)
    }

    pub fn check(&self) -> Result<(), String> {
        if self.runtimes.is_empty() && self.extra_socket_paths.is_empty() {
            return Err(
                "runtimes: an empty list with no extraSocketPaths protects no socket, \
                        and every object would be accepted; name at least one runtime \
                        (docker, containerd, crio, podman) or socket path"
                    .to_string(),
            );
        }
        for (i, path) in self.extra_socket_paths.iter().enumerate() {
            if !HostPath::is_absolute(path) {
                return Err(format!(
                    "extraSocketPaths[{i}]: {path:?} is not an absolute host path; \
                     write /path/to/runtime.sock or \\\\.\\pipe\\NAME"
                ));
            }
            if let Some(problem) = dot_dot(path) {
                return Err(format!("extraSocketPaths[{i}]: {problem}"));
            }
            match HostPath::parse(path) {
                HostPath::Unix(components) if components.is_empty() => {
                    return Err(format!(
                        "extraSocketPaths[{i}]: {path:?} names the root directory, not a socket"
                    ));
                }
                // procfs is judged as procfs before any socket path: this one could never match.
                HostPath::Unix(components) if components.first() == Some(&"proc") => {
                    return Err(format!(
                        "extraSocketPaths[{i}]: {path:?} is under /proc, where no runtime socket \
                         lives (procfs paths are always judged as procfs); write the socket's \
                         path on the host"
                    ));
                }
                _ => {}
            }
        }
        for (i, pattern) in self.allowed_images.iter().enumerate() {
            if let Some(problem) = image_pattern_problem(pattern) {
                return Err(format!("allowedImages[{i}]: {problem}"));
            }
        }
        for (i, rule) in self.exemptions.iter().enumerate() {
            if let Err((field, message)) = rule.check() {
                let dot = if field.is_empty() { "" } else { "." };
                return Err(format!("exemptions[{i}]{dot}{field}: {message}"));
            }
        }
        Ok(())
    }

    /// The protected sockets these settings select.
    pub fn catalog(&self) -> SocketCatalog<'_> {
        SocketCatalog::new(&self.runtimes, &self.extra_socket_paths)
    }

    /// True when `image` matches one of `allowedImages`.
    pub fn image_allowed(&self, image: &str) -> bool {
        self.allowed_images
            .iter()
            .any(|pattern| image_match(pattern, image))
    }
}

/// Why an image pattern (of `allowedImages` or an exemption's `images`) is refused: empty, or
/// matching every image. Whoever creates the Pod picks its image, so a pattern that names no
/// repository (`*`, `*:*`, `*/*@*`) admits anyone.
pub fn image_pattern_problem(pattern: &str) -> Option<String> {
    if pattern.trim().is_empty() {
        return Some(
            "an image pattern cannot be empty; write e.g. registry.example.com/agent:* \
             (`*` matches any run of characters)"
                .to_string(),
        );
    }
    let repository = repository_part(pattern);
    if !repository.chars().any(|c| c.is_alphanumeric()) {
        return Some(format!(
            "{pattern:?} matches every image, and whoever creates a Pod chooses its image: \
             name the repository, e.g. registry.example.com/agent:*"
        ));
    }
    None
}

/// The repository of an image reference: without its `@digest` and its `:tag` (a `:` after
/// the last `/`; one before it is a registry's port).
fn repository_part(image: &str) -> &str {
    let name = image.split_once('@').map_or(image, |(name, _)| name);
    let last = name.rfind('/').map_or(0, |slash| slash + 1);
    match name[last..].find(':') {
        Some(colon) => &name[..last + colon],
        None => name,
    }
}

/// Why a configured path with a `..` component is refused: the kernel resolves `..` after the
/// links before it (`/var/run/../x` is `/x`, since `/var/run` links to `/run`), while a
/// lexical reading gives `/var/x`; neither can be trusted to be the path meant.
pub fn dot_dot(path: &str) -> Option<String> {
    path.split(['/', '\\'])
        .any(|component| component == "..")
        .then(|| {
            format!(
                "{path:?} has a `..` component, which is ambiguous: the kernel resolves it \
                 after following links such as /var/run -> /run, so it may name another place \
                 than it reads as; write the path without `..`"
            )
        })
}

/// An image against a pattern of `allowedImages` or of an exemption's `images`: a glob
/// (`*` matches any run of characters), where a pattern ending in `:*` (any tag of a
/// repository) also matches the repository pinned by digest (`repo@sha256:...`), which is
/// the same repository at some version.
pub fn image_match(pattern: &str, image: &str) -> bool {
    if wildcard_match(pattern, image) {
        return true;
    }
    let Some(repository) = pattern.strip_suffix(":*") else {
        return false;
    };
    match image.split_once('@') {
        Some((name, digest)) => {
            is_digest(digest) && repository_part(name) == name && wildcard_match(repository, name)
        }
        None => false,
    }
}

/// `algorithm:hex`, as an image digest is written (`sha256:` and 64 hex digits).
fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Glob match where `*` matches any run of characters and everything else is literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(raw: &str) -> String {
        Settings::from_json(raw.as_bytes()).unwrap_err()
    }

    #[test]
    fn defaults_when_empty_or_null() {
        for raw in ["{}", "null"] {
            let settings = Settings::from_json(raw.as_bytes()).unwrap();
            assert_eq!(settings, Settings::default());
            assert_eq!(settings.runtimes, ALL_RUNTIMES);
        }
    }

    #[test]
    fn reads_every_field() {
        let settings = Settings::from_json(
            br#"{"runtimes":["docker","containerd","crio","podman"],
                 "extraSocketPaths":["/opt/x.sock","\\\\.\\pipe\\mine"],
                 "directoryMounts":"warn","allowedImages":["reg/agent:*"],"mode":"mutate"}"#,
        )
        .unwrap();
        assert_eq!(settings.runtimes.len(), 4);
        assert_eq!(settings.directory_mounts, DirectoryMounts::Warn);
        assert_eq!(settings.mode, Mode::Mutate);
        assert_eq!(settings.extra_socket_paths.len(), 2);
    }

    #[test]
    fn rejects_typos_naming_the_accepted_fields() {
        let message = error(r#"{"directoryMount":"warn"}"#);
        assert!(
            message.contains("unknown field `directoryMount`"),
            "{message}"
        );
        assert!(message.contains("`directoryMounts`"), "{message}");
    }

    #[test]
    fn rejects_unknown_runtimes_and_enum_values() {
        let message = error(r#"{"runtimes":["docker","cri-o"]}"#);
        assert!(
            message.starts_with("runtimes[1]: unknown variant `cri-o`"),
            "{message}"
        );
        assert!(message.contains("`crio`"), "{message}");
        let message = error(r#"{"directoryMounts":"allow"}"#);
        assert!(message.contains("directoryMounts"), "{message}");
        assert!(message.contains("`reject`, `warn`, `ignore`"), "{message}");
        let message = error(r#"{"mode":"audit"}"#);
        assert!(
            message.contains("mode: unknown variant `audit`"),
            "{message}"
        );
    }

    #[test]
    fn rejects_wrong_types() {
        let message = error(r#"{"runtimes":"docker"}"#);
        assert!(
            message.starts_with("runtimes: invalid type: string"),
            "{message}"
        );
        let message = error(r#"{"allowedImages":[1]}"#);
        assert!(
            message.starts_with("allowedImages[0]: invalid type"),
            "{message}"
        );
        let message = error("[]");
        assert!(message.contains("invalid type: sequence"), "{message}");
        assert!(error("{").contains("EOF"));
    }

    #[test]
    fn rejects_relative_empty_and_root_paths() {
        assert!(error(r#"{"extraSocketPaths":["run/x.sock"]}"#).starts_with("extraSocketPaths[0]"));
        assert!(error(r#"{"extraSocketPaths":[""]}"#).contains("not an absolute host path"));
        assert!(error(r#"{"extraSocketPaths":["//"]}"#).contains("root directory"));
        assert!(error(r#"{"allowedImages":[" "]}"#).starts_with("allowedImages[0]"));
        assert!(error(r#"{"extraSocketPaths":["/proc/1/root/x.sock"]}"#).contains("under /proc"));
    }

    #[test]
    fn rejects_settings_that_protect_nothing() {
        let message = error(r#"{"runtimes":[]}"#);
        assert!(message.starts_with("runtimes: an empty list"), "{message}");
        assert!(message.contains("protects no socket"), "{message}");
        let only_extra = r#"{"runtimes":[],"extraSocketPaths":["/run/agent.sock"]}"#;
        assert!(Settings::from_json(only_extra.as_bytes()).is_ok());
    }

    #[test]
    fn refuses_patterns_that_match_every_image() {
        for pattern in ["*", "**", "*:*", "*@*", "*/*:*", "*.*/*"] {
            let raw = format!(r#"{{"allowedImages":["a/b:*","{pattern}"]}}"#);
            let message = error(&raw);
            assert!(
                message.starts_with("allowedImages[1]"),
                "{pattern}: {message}"
            );
            assert!(message.contains("matches every image"), "{message}");
        }
        for pattern in [
            "agent",
            "*/agent:*",
            "reg.example.com/*",
            "*datadog*",
            "reg:5000/*:*",
        ] {
            assert_eq!(image_pattern_problem(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn refuses_dot_dot_in_socket_paths() {
        let message = error(r#"{"extraSocketPaths":["/var/run/../agent.sock"]}"#);
        assert!(message.starts_with("extraSocketPaths[0]"), "{message}");
        assert!(message.contains("/var/run -> /run"), "{message}");
        assert!(dot_dot("/run/..x/a.sock").is_none());
        assert!(dot_dot(r"\\.\pipe\..\x").is_some());
    }

    #[test]
    fn a_tag_pattern_matches_the_same_repository_by_digest() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let agent = format!("gcr.io/datadoghq/agent@{digest}");
        assert!(image_match("gcr.io/datadoghq/agent:*", &agent));
        assert!(image_match(
            "gcr.io/datadoghq/agent:*",
            &format!("gcr.io/datadoghq/agent:7@{digest}")
        ));
        assert!(image_match(
            "reg:5000/agent:*",
            &format!("reg:5000/agent@{digest}")
        ));
        assert!(image_match("*/agent:*", &agent));
        // Nothing else gets looser.
        for (pattern, image) in [
            ("gcr.io/datadoghq/agent:7.*", agent.clone()),
            (
                "gcr.io/datadoghq/agent:*",
                format!("gcr.io/datadoghq/agent-evil@{digest}"),
            ),
            (
                "gcr.io/datadoghq/agent:*",
                "gcr.io/datadoghq/agent@latest".to_string(),
            ),
            (
                "gcr.io/datadoghq/agent:*",
                "gcr.io/datadoghq/agent@sha256:xyz".to_string(),
            ),
            ("gcr.io/datadoghq/agent", agent.clone()),
            (
                "gcr.io/datadoghq/agent:*",
                format!("evil.io/x@{digest}#gcr.io/datadoghq/agent"),
            ),
        ] {
            assert!(
                !image_match(pattern, &image),
                "{pattern} must not match {image}"
            );
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("reg/agent:*", "reg/agent:1.2"));
        assert!(!wildcard_match("reg/agent:*", "reg/agent-evil:1.2"));
        assert!(wildcard_match(
            "*/agent@sha256:*",
            "docker.io/x/agent@sha256:ab"
        ));
        assert!(wildcard_match("a*b*c", "abc"));
        assert!(!wildcard_match("a*b*c", "acb"));
        assert!(!wildcard_match("ab*ab", "ab"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exact2"));
    }
}
