//! Policy settings: parsing with messages that name the field, and validation.

use crate::host_path::HostPath;
use crate::sockets::{Runtime, SocketCatalog, choice};
use serde::Deserialize;

/// What to do with directory and procfs exposures (a socket itself is always an exposure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum DirectoryMounts {
    #[default]
    Reject,
    Warn,
    Ignore,
}

impl TryFrom<String> for DirectoryMounts {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        choice(
            &value,
            &[
                ("reject", DirectoryMounts::Reject),
                ("warn", DirectoryMounts::Warn),
                ("ignore", DirectoryMounts::Ignore),
            ],
        )
    }
}

/// `reject` refuses exposures; `mutate` removes socket volumes and their mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum Mode {
    #[default]
    Reject,
    Mutate,
}

impl TryFrom<String> for Mode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        choice(
            &value,
            &[("reject", Mode::Reject), ("mutate", Mode::Mutate)],
        )
    }
}

/// The settings as users write them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    pub runtimes: Vec<Runtime>,
    pub extra_socket_paths: Vec<String>,
    pub directory_mounts: DirectoryMounts,
    pub allowed_images: Vec<String>,
    pub mode: Mode,
}

/// Settings read from a JSON object only (a derived struct would also accept a list), with the
/// path of a bad field in the message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct SettingsObject(pub Settings);

impl TryFrom<serde_json::Map<String, serde_json::Value>> for SettingsObject {
    type Error = String;
    fn try_from(map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        serde_path_to_error::deserialize(serde_json::Value::Object(map))
            .map(SettingsObject)
            .map_err(|e| describe_error(&e))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            runtimes: vec![Runtime::Docker],
            extra_socket_paths: Vec::new(),
            directory_mounts: DirectoryMounts::default(),
            allowed_images: Vec::new(),
            mode: Mode::default(),
        }
    }
}

impl Settings {
    /// Parses settings JSON (`null` means the defaults) and checks every value.
    pub fn from_json(raw: &[u8]) -> Result<Settings, String> {
        let settings: Option<SettingsObject> = parse_with_path(raw)?;
        let settings = settings.map(|s| s.0).unwrap_or_default();
        settings.check()?;
        Ok(settings)
    }

    pub fn check(&self) -> Result<(), String> {
        for (i, path) in self.extra_socket_paths.iter().enumerate() {
            let absolute =
                path.starts_with('/') || matches!(HostPath::parse(path), HostPath::Pipe(_));
            if !absolute {
                return Err(format!(
                    "extraSocketPaths[{i}]: {path:?} is not an absolute host path; \
                     write /path/to/runtime.sock or \\\\.\\pipe\\NAME"
                ));
            }
            if HostPath::parse(path) == HostPath::Unix(Vec::new()) {
                return Err(format!(
                    "extraSocketPaths[{i}]: {path:?} names the root directory, not a socket"
                ));
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

/// Deserializes JSON and, on failure, says where in the document it failed.
pub fn parse_with_path<'de, T: Deserialize<'de>>(raw: &'de [u8]) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let value =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| describe_error(&e))?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

fn describe_error(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    const LONGEST_PATH: usize = 160;
    let mut path = error.path().to_string();
    if path.len() > LONGEST_PATH {
        let cut = (0..=LONGEST_PATH)
            .rev()
            .find(|&i| path.is_char_boundary(i))
            .unwrap_or(0);
        path.truncate(cut);
        path.push_str("...");
    }
    let inner = error.inner();
    if path == "." || path.is_empty() {
        inner.to_string()
    } else {
        format!("{path}: {inner}")
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
