//! Normalization of hostPath values, in every way they can be read.
//!
//! The kubelet hands a hostPath to the runtime as written, and the kernel resolves `//`, `.`,
//! `..` and a trailing `/`. Comparing raw strings is how every published policy is bypassed, so
//! everything here works on path components. Where a path can be read more than one way (a
//! Windows pipe prefix that is also a Linux path, `..` after a symlink such as `/var/run`), every
//! reading is produced and the caller keeps the most severe.

/// A host path after normalization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostPath<'a> {
    /// A Unix path as its components (slices of the path as written), rooted; `/` is empty.
    Unix(Vec<&'a str>),
    /// A Windows named pipe (`\\SERVER\pipe\NAME`, any mix of slashes): the lower-cased NAME,
    /// since Windows pipe names are case-insensitive.
    Pipe(String),
}

impl<'a> HostPath<'a> {
    /// The primary reading of a hostPath as written: a pipe when it has a pipe prefix, else the
    /// Unix path with `..` resolved lexically (it cannot climb above `/`); a relative path is
    /// judged as if rooted, which fails closed.
    pub fn parse(raw: &'a str) -> HostPath<'a> {
        match pipe_name(raw) {
            Some(name) => HostPath::Pipe(name.to_ascii_lowercase()),
            None => HostPath::Unix(resolve(raw.split('/'), Resolution::Lexical).0),
        }
    }

    /// True for a path the kubelet reads as absolute: `/...`, or a Windows named pipe.
    pub fn is_absolute(raw: &str) -> bool {
        raw.starts_with('/') || pipe_name(raw).is_some()
    }

    /// Every reading of a hostPath, the primary one first, without repeats.
    pub fn readings(raw: &'a str) -> Vec<HostPath<'a>> {
        readings(raw, None)
    }

    /// Every reading of the path a `subPath` mount reaches inside a volume at `base`.
    pub fn readings_joined(base: &'a str, sub_path: &'a str) -> Vec<HostPath<'a>> {
        readings(base, Some(sub_path))
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

fn readings<'a>(base: &'a str, sub_path: Option<&'a str>) -> Vec<HostPath<'a>> {
    let mut out = Vec::with_capacity(2);
    let mut add = |reading: HostPath<'a>| {
        if !out.contains(&reading) {
            out.push(reading);
        }
    };
    // A pipe is not a directory: a subPath into it reaches the pipe and nothing else.
    if let Some(name) = pipe_name(base) {
        add(HostPath::Pipe(name.to_ascii_lowercase()));
        if let Some(normalized) = normalized_pipe_name(name) {
            add(HostPath::Pipe(normalized));
        }
    }
    let segments = || {
        base.split('/')
            .chain(sub_path.into_iter().flat_map(|s| s.split('/')))
    };
    let (lexical, climbs) = resolve(segments(), Resolution::Lexical);
    add(HostPath::Unix(lexical));
    // Without a `..`, following the links leads where the path as written does.
    if climbs {
        add(HostPath::Unix(resolve(segments(), Resolution::Physical).0));
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Resolution {
    /// `..` removes the previous component as written (`/var/run` is a directory).
    Lexical,
    /// `..` applies after the known symlinks are followed, as the kernel does on a host where
    /// `/var/run` -> `/run` and `/var/lock` -> `/run/lock`, and procfs's magic links
    /// `/proc/<pid>/root` and `/proc/<pid>/cwd` lead to `/` (PID 1's root and working directory).
    Physical,
}

/// The components `segments` lead to, and whether a `..` was among them.
fn resolve<'a>(
    segments: impl Iterator<Item = &'a str>,
    resolution: Resolution,
) -> (Vec<&'a str>, bool) {
    let (mut components, mut climbs) = (Vec::new(), false);
    for segment in segments {
        match segment {
            "" | "." => continue,
            ".." => {
                components.pop();
                climbs = true;
                continue;
            }
            other => components.push(other),
        }
        if resolution == Resolution::Physical {
            follow_links(&mut components);
        }
    }
    (components, climbs)
}

fn follow_links(components: &mut Vec<&str>) {
    match through_var_links(components) {
        (link, []) if !link.is_empty() => *components = link.to_vec(),
        _ if procfs_root_link(components) == Some(components.len()) => components.clear(),
        _ => {}
    }
}

/// A path through the links every distribution has, `/var/run` -> `/run` and `/var/lock` ->
/// `/run/lock`: the link's target (empty when the path starts with neither) and the rest.
pub(crate) fn through_var_links<'c, 'a>(
    components: &'c [&'a str],
) -> (&'static [&'static str], &'c [&'a str]) {
    match components {
        ["var", "run", rest @ ..] => (&["run"], rest),
        ["var", "lock", rest @ ..] => (&["run", "lock"], rest),
        _ => (&[], components),
    }
}

/// The number of leading components that form a procfs link to a process's root or working
/// directory (`proc/<pid>/root`, `proc/<pid>/task/<tid>/cwd`, ...): for PID 1 they lead to `/`.
pub(crate) fn procfs_root_link(components: &[&str]) -> Option<usize> {
    match components {
        ["proc", process, "root" | "cwd", ..] if is_process(process) => Some(3),
        ["proc", process, "task", _, "root" | "cwd", ..] if is_process(process) => Some(5),
        _ => None,
    }
}

/// A procfs directory of a process: a pid, `self` or `thread-self`.
pub(crate) fn is_process(component: &str) -> bool {
    component == "self"
        || component == "thread-self"
        || (!component.is_empty() && component.bytes().all(|b| b.is_ascii_digit()))
}

fn is_separator(c: char) -> bool {
    c == '/' || c == '\\'
}

/// NAME of `\\SERVER\pipe\NAME`, with any mix of slashes. Any SERVER counts (`.`, `?`,
/// `localhost`, the node's own host name): which one is the local machine is not knowable here,
/// and a pipe reading only adds a verdict.
fn pipe_name(raw: &str) -> Option<&str> {
    let rest = raw.strip_prefix(is_separator)?.strip_prefix(is_separator)?;
    let server_end = rest.find(is_separator)?;
    if server_end == 0 {
        return None;
    }
    let rest = &rest[server_end + 1..];
    let pipe = rest.get(..4)?;
    if !pipe.eq_ignore_ascii_case("pipe") {
        return None;
    }
    let name = rest[4..].strip_prefix(is_separator)?;
    (!name.is_empty()).then_some(name)
}

/// The pipe name after Win32 path normalization (`.`, `..`, trailing dots and spaces, either
/// slash), when it differs from the name as written; `None` if it leaves the pipe namespace.
fn normalized_pipe_name(name: &str) -> Option<String> {
    if !name.contains(|c: char| is_separator(c) || c == '.' || c == ' ') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split(is_separator) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other.trim_end_matches(['.', ' '])),
        }
    }
    let normalized = parts.join("\\").to_ascii_lowercase();
    (!normalized.is_empty() && normalized != name.to_ascii_lowercase()).then_some(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &str) -> String {
        HostPath::parse(path).to_string()
    }

    fn all(path: &str) -> Vec<String> {
        HostPath::readings(path)
            .iter()
            .map(ToString::to_string)
            .collect()
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
    fn dot_dot_is_also_resolved_after_the_known_symlinks() {
        assert_eq!(all("/var/run/../var"), ["/var/var", "/var"]);
        assert_eq!(
            all("/var/lock/../docker.sock"),
            ["/var/docker.sock", "/run/docker.sock"]
        );
        assert_eq!(all("/proc/self/root/../../run"), ["/proc/run", "/run"]);
        assert_eq!(
            all("/proc/1/task/1/cwd/../etc"),
            ["/proc/1/task/1/etc", "/etc"]
        );
        // Without `..` the symlinks change nothing: one reading.
        assert_eq!(all("/var/run/docker.sock"), ["/var/run/docker.sock"]);
        // `..` that reads the same both ways: one reading.
        assert_eq!(all("/opt/../run"), ["/run"]);
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
    fn recognizes_windows_pipes_in_every_spelling() {
        let expected = HostPath::Pipe("docker_engine".into());
        for spelling in [
            r"\\.\pipe\docker_engine",
            "//./pipe/docker_engine",
            r"\\.\PIPE\Docker_Engine",
            r"\\?\pipe\docker_engine",
            r"\\localhost\pipe\docker_engine",
            r"\/node-1\pipe/docker_engine",
        ] {
            assert_eq!(HostPath::parse(spelling), expected, "{spelling}");
        }
        assert_eq!(
            HostPath::parse(r"\\.\pipe\docker_engine").to_string(),
            r"\\.\pipe\docker_engine"
        );
        // Not a pipe: no name, no server, or not `pipe`.
        for path in [
            r"\\.\pipe\",
            r"\\\pipe\docker_engine",
            "//./pipes/docker_engine",
        ] {
            assert!(matches!(HostPath::parse(path), HostPath::Unix(_)), "{path}");
        }
    }

    #[test]
    fn a_pipe_prefix_is_also_read_as_a_linux_path() {
        assert_eq!(
            all("//./pipe/../../run/docker.sock"),
            [r"\\.\pipe\../../run/docker.sock", "/run/docker.sock"]
        );
        assert_eq!(
            all(r"\\.\pipe\x\..\Docker_Engine."),
            [
                r"\\.\pipe\x\..\docker_engine.",
                r"\\.\pipe\docker_engine",
                r"/\\.\pipe\x\..\Docker_Engine."
            ]
        );
    }

    #[test]
    fn joins_sub_paths() {
        let joined = |base, sub| -> Vec<String> {
            HostPath::readings_joined(base, sub)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            joined("/var/lib", "../run/docker.sock"),
            ["/var/run/docker.sock", "/run/docker.sock"]
        );
        assert_eq!(joined("/var/lib", ""), ["/var/lib"]);
        assert_eq!(joined("/", "run/docker.sock"), ["/run/docker.sock"]);
        assert_eq!(joined("/var/run", "../var"), ["/var/var", "/var"]);
        assert_eq!(
            joined(r"\\.\pipe\docker_engine", "x"),
            [r"\\.\pipe\docker_engine", r"/\\.\pipe\docker_engine/x"]
        );
    }
}
