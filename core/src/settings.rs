//! Policy settings: parsing with messages that name the field, and validation.

use crate::exemptions::Exemption;
use crate::fields::{choices, object_fields};
use crate::host_path::HostPath;
use crate::json;
use crate::sockets::{Runtime, SocketCatalog};

choices! {
    /// What to do with directory and procfs exposures (a socket itself is always an exposure).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum DirectoryMounts {
        #[default]
        Reject = "reject",
        Warn = "warn",
        Ignore = "ignore",
    }
}

choices! {
    /// `reject` refuses exposures; `mutate` removes socket volumes and their mounts.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Mode {
        #[default]
        Reject = "reject",
        Mutate = "mutate",
    }
}

choices! {
    /// What to do with a kind the policy does not know.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum UnknownKinds {
        /// Judge the pod template at `spec.template.spec` or
        /// `spec.jobTemplate.spec.template.spec`.
        #[default]
        Scan = "scan",
        /// Accept it unread.
        Ignore = "ignore",
    }
}

/// The settings as users write them; a field left out has its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub runtimes: Vec<Runtime>,
    pub extra_socket_paths: Vec<String>,
    pub directory_mounts: DirectoryMounts,
    pub allowed_images: Vec<String>,
    pub exemptions: Vec<Exemption>,
    pub unknown_kinds: UnknownKinds,
    pub mode: Mode,
}

object_fields!(owned strict Settings, "a map of settings", {
    "runtimes" => runtimes,
    "extraSocketPaths" => extra_socket_paths,
    "directoryMounts" => directory_mounts,
    "allowedImages" => allowed_images,
    "exemptions" => exemptions,
    "unknownKinds" => unknown_kinds,
    "mode" => mode,
});

impl Default for Settings {
    fn default() -> Self {
        Settings {
            runtimes: vec![Runtime::Docker],
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
        let settings: Option<Settings> =
            json::from_slice(raw).map_err(|e| json::describe(raw, &e))?;
        let settings = settings.unwrap_or_default();
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
            if pattern.trim().is_empty() {
                return Err(format!(
                    "allowedImages[{i}]: an image pattern cannot be empty; \
                     write e.g. registry.example.com/agent:* (`*` matches any run of characters)"
                ));
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
            .any(|pattern| wildcard_match(pattern, image))
    }
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
            assert_eq!(settings.runtimes, vec![Runtime::Docker]);
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
            message.starts_with("runtimes[1]: unknown value `cri-o`"),
            "{message}"
        );
        assert!(message.contains("`crio`"), "{message}");
        let message = error(r#"{"directoryMounts":"allow"}"#);
        assert!(message.contains("directoryMounts"), "{message}");
        assert!(message.contains("`reject`, `warn`, `ignore`"), "{message}");
        let message = error(r#"{"mode":"audit"}"#);
        assert!(message.contains("mode: unknown value `audit`"), "{message}");
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
