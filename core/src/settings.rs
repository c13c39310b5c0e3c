//! Policy settings: parsing with messages that name the field, and validation.

use crate::exemptions::Exemption;
use crate::host_path::HostPath;
use crate::patterns::{dot_dot, image_match, image_pattern_problem};
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
}
