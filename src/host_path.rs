//! Lexical normalization of hostPath values.
//!
//! The kubelet hands a hostPath to the runtime as written, and the kernel resolves `//`, `.`,
//! `..` and a trailing `/`. Comparing raw strings is how every published policy is bypassed, so
//! everything here works on path components.

/// A host path after normalization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostPath<'a> {
    /// A Unix path as its components (slices of the path as written), rooted; `/` is empty.
    Unix(Vec<&'a str>),
    /// A Windows named pipe (`\\.\pipe\NAME` or `//./pipe/NAME`): the lower-cased NAME, since
    /// Windows pipe names are case-insensitive.
    Pipe(String),
}

impl<'a> HostPath<'a> {
    /// Normalizes a hostPath as written in a manifest.
    ///
    /// `..` is resolved lexically (it cannot climb above `/`); a relative path is judged as if
    /// rooted, which fails closed.
    pub fn parse(raw: &'a str) -> HostPath<'a> {
        if let Some(name) = pipe_name(raw) {
            return HostPath::Pipe(name.to_ascii_lowercase());
        }
        let mut components = Vec::new();
        push_components(&mut components, raw);
        HostPath::Unix(components)
    }

    /// The path a `subPath` mount reaches inside this volume.
    pub fn join(&self, sub_path: &'a str) -> HostPath<'a> {
        match self {
            HostPath::Unix(base) => {
                let mut components = base.clone();
                push_components(&mut components, sub_path);
                HostPath::Unix(components)
            }
            // A pipe is not a directory: a subPath into it reaches nothing else.
            HostPath::Pipe(name) => HostPath::Pipe(name.clone()),
        }
    }
}

impl std::fmt::Display for HostPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostPath::Unix(components) if components.is_empty() => f.write_str("/"),
            HostPath::Unix(components) => {
                for component in components {
                    write!(f, "/{component}")?;
                }
                Ok(())
            }
            HostPath::Pipe(name) => write!(f, r"\\.\pipe\{name}"),
        }
    }
}

fn push_components<'a>(components: &mut Vec<&'a str>, raw: &'a str) {
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                components.pop();
            }
            other => components.push(other),
        }
    }
}

/// `\\.\pipe\NAME` and `//./pipe/NAME` (any mix of slashes) name the same Windows pipe.
fn pipe_name(raw: &str) -> Option<&str> {
    let bytes = raw.as_bytes();
    if bytes.len() < 9 {
        return None;
    }
    let is_sep = |b: u8| b == b'/' || b == b'\\';
    let prefix_ok = is_sep(bytes[0])
        && is_sep(bytes[1])
        && bytes[2] == b'.'
        && is_sep(bytes[3])
        && bytes[4..8].eq_ignore_ascii_case(b"pipe")
        && is_sep(bytes[8]);
    if !prefix_ok {
        return None;
    }
    let name = &raw[9..];
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &str) -> String {
        HostPath::parse(path).to_string()
    }

    #[test]
    fn collapses_separators_dots_and_trailing_slash() {
        assert_eq!(unix("//var/run/docker.sock"), "/var/run/docker.sock");
        assert_eq!(unix("/var/./run//docker.sock/"), "/var/run/docker.sock");
        assert_eq!(unix("/var/run/"), "/var/run");
        assert_eq!(unix("/"), "/");
        assert_eq!(unix("//"), "/");
        assert_eq!(unix("/."), "/");
    }

    #[test]
    fn resolves_dot_dot_lexically_without_climbing_above_root() {
        assert_eq!(unix("/var/lib/../run/docker.sock"), "/var/run/docker.sock");
        assert_eq!(unix("/../../var/run"), "/var/run");
        assert_eq!(unix("/var/.."), "/");
    }

    #[test]
    fn roots_relative_paths() {
        assert_eq!(unix("var/run/docker.sock"), "/var/run/docker.sock");
        assert_eq!(unix("docker.sock"), "/docker.sock");
        assert_eq!(unix(""), "/");
    }

    #[test]
    fn keeps_components_exact() {
        assert_eq!(unix("/var/run/docker.sock "), "/var/run/docker.sock ");
        assert_eq!(unix("/Var/Run"), "/Var/Run");
        assert_eq!(unix("/var/run/..."), "/var/run/...");
    }

    #[test]
    fn recognizes_windows_pipes_in_both_spellings() {
        let expected = HostPath::Pipe("docker_engine".into());
        assert_eq!(HostPath::parse(r"\\.\pipe\docker_engine"), expected);
        assert_eq!(HostPath::parse("//./pipe/docker_engine"), expected);
        assert_eq!(HostPath::parse(r"\\.\PIPE\Docker_Engine"), expected);
        assert_eq!(
            HostPath::parse(r"\\.\pipe\docker_engine").to_string(),
            r"\\.\pipe\docker_engine"
        );
        // Not a pipe: no name, or not the `.` device.
        assert!(matches!(HostPath::parse(r"\\.\pipe\"), HostPath::Unix(_)));
        assert!(matches!(
            HostPath::parse("//x/pipe/docker_engine"),
            HostPath::Unix(_)
        ));
    }

    #[test]
    fn joins_sub_paths() {
        let volume = HostPath::parse("/var/lib");
        assert_eq!(
            volume.join("../run/docker.sock").to_string(),
            "/var/run/docker.sock"
        );
        assert_eq!(volume.join("").to_string(), "/var/lib");
        assert_eq!(
            HostPath::parse("/").join("run/docker.sock").to_string(),
            "/run/docker.sock"
        );
    }
}
