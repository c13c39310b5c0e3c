//! Which host paths expose which protected socket.
//!
//! A host path exposes a socket when it is the socket itself (or carries a protected socket's
//! file name), when it is a directory that contains the socket, or when it reaches the host's
//! root through procfs. `/var/run` and `/run` are the same directory on every mainstream
//! distribution, so both spellings match.

use crate::host_path::{HostPath, is_process, procfs_root_link};
use serde::Deserialize;
use std::borrow::Cow;
use std::cell::OnceCell;

/// A container runtime whose sockets can be protected by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Containerd,
    Crio,
    Podman,
}

/// How a socket's path writes the component that matches any one component (a user id), in the
/// presets and in `extraSocketPaths`: read as [`Component::AnyUid`].
const ANY_UID: &str = "<uid>";

/// A component of a socket's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component<'a> {
    Name(&'a str),
    /// Any one component: the user id of a rootless runtime's socket.
    AnyUid,
}

/// Every runtime: the default of `runtimes`.
pub const ALL_RUNTIMES: [Runtime; 4] = [
    Runtime::Docker,
    Runtime::Containerd,
    Runtime::Crio,
    Runtime::Podman,
];

/// A preset: the runtimes whose preset includes it, and the socket.
type Preset = (&'static [Runtime], Socket<'static>);

/// A socket of the presets at `/run/...` (or a pipe), spelt out so that no request pays for
/// splitting it (a test checks that the components agree with the written path).
const fn unix(
    runtimes: &'static [Runtime],
    components: &'static [&'static str],
    written: &'static str,
    label: &'static str,
) -> Preset {
    preset(
        runtimes,
        Pattern::Unix(Components::Fixed(components)),
        written,
        label,
    )
}

/// A Windows named pipe of the presets, by its lower-cased name.
const fn pipe(
    runtimes: &'static [Runtime],
    name: &'static str,
    written: &'static str,
    label: &'static str,
) -> Preset {
    preset(runtimes, Pattern::Pipe(Cow::Borrowed(name)), written, label)
}

const fn preset(
    runtimes: &'static [Runtime],
    pattern: Pattern<'static>,
    written: &'static str,
    label: &'static str,
) -> Preset {
    (
        runtimes,
        Socket {
            pattern,
            subtree: None,
            written,
            label,
        },
    )
}

const DOCKER: &[Runtime] = &[Runtime::Docker];
const CONTAINERD: &[Runtime] = &[Runtime::Containerd];

/// The presets, in the order messages list them. Paths are written in the spelling people
/// know; patterns are their components in the `/run` spelling (the `/var/run` twin is matched
/// by `canonical`). README's preset table says why each one is here.
const PRESETS: &[Preset] = &[
    unix(
        DOCKER,
        &["run", "docker.sock"],
        "/var/run/docker.sock",
        "the Docker daemon socket",
    ),
    unix(
        DOCKER,
        &["run", "docker", "containerd", "containerd.sock"],
        "/var/run/docker/containerd/containerd.sock",
        "Docker's own containerd socket",
    ),
    unix(
        DOCKER,
        &["run", "docker", "containerd", "containerd.sock.ttrpc"],
        "/var/run/docker/containerd/containerd.sock.ttrpc",
        "Docker's own containerd ttrpc socket",
    ),
    unix(
        DOCKER,
        &["run", "dockershim.sock"],
        "/var/run/dockershim.sock",
        "the dockershim socket",
    ),
    unix(
        DOCKER,
        &["run", "cri-dockerd.sock"],
        "/var/run/cri-dockerd.sock",
        "the cri-dockerd socket",
    ),
    unix(
        DOCKER,
        &["run", "user", ANY_UID, "docker.sock"],
        "/run/user/<uid>/docker.sock",
        "the rootless Docker daemon socket",
    ),
    unix(
        DOCKER,
        &["run", "buildkit", "buildkitd.sock"],
        "/run/buildkit/buildkitd.sock",
        "the BuildKit daemon socket",
    ),
    pipe(
        DOCKER,
        "docker_engine",
        r"\\.\pipe\docker_engine",
        "the Docker daemon pipe",
    ),
    pipe(
        DOCKER,
        "cri-dockerd",
        r"\\.\pipe\cri-dockerd",
        "the cri-dockerd pipe",
    ),
    unix(
        CONTAINERD,
        &["run", "containerd", "containerd.sock"],
        "/run/containerd/containerd.sock",
        "the containerd socket",
    ),
    unix(
        CONTAINERD,
        &["run", "containerd", "containerd.sock.ttrpc"],
        "/run/containerd/containerd.sock.ttrpc",
        "the containerd ttrpc socket",
    ),
    // One socket per shim (per running container, named by a hash): anything under it.
    (
        CONTAINERD,
        Socket {
            pattern: Pattern::Unix(Components::Fixed(&["run", "containerd", "s"])),
            subtree: Some("a containerd shim socket"),
            written: "/run/containerd/s",
            label: "the containerd shim socket directory",
        },
    ),
    unix(
        CONTAINERD,
        &["run", "k3s", "containerd", "containerd.sock"],
        "/run/k3s/containerd/containerd.sock",
        "the k3s and RKE2 containerd socket",
    ),
    unix(
        CONTAINERD,
        &["run", "k3s", "containerd", "containerd.sock.ttrpc"],
        "/run/k3s/containerd/containerd.sock.ttrpc",
        "the k3s and RKE2 containerd ttrpc socket",
    ),
    unix(
        CONTAINERD,
        &["run", "k0s", "containerd.sock"],
        "/run/k0s/containerd.sock",
        "the k0s containerd socket",
    ),
    unix(
        CONTAINERD,
        &[
            "var",
            "snap",
            "microk8s",
            "common",
            "run",
            "containerd.sock",
        ],
        "/var/snap/microk8s/common/run/containerd.sock",
        "the MicroK8s containerd socket",
    ),
    pipe(
        CONTAINERD,
        "containerd-containerd",
        r"\\.\pipe\containerd-containerd",
        "the containerd pipe",
    ),
    // NRI plugins connect here and may change every container the runtime creates.
    unix(
        &[Runtime::Containerd, Runtime::Crio],
        &["run", "nri", "nri.sock"],
        "/var/run/nri/nri.sock",
        "the NRI socket",
    ),
    unix(
        &[Runtime::Crio],
        &["run", "crio", "crio.sock"],
        "/var/run/crio/crio.sock",
        "the CRI-O socket",
    ),
    unix(
        &[Runtime::Podman],
        &["run", "podman", "podman.sock"],
        "/run/podman/podman.sock",
        "the Podman socket",
    ),
    unix(
        &[Runtime::Podman],
        &["run", "user", ANY_UID, "podman", "podman.sock"],
        "/run/user/<uid>/podman/podman.sock",
        "the rootless Podman socket",
    ),
];

/// A socket file name that is protected wherever it appears.
const FILE_NAMES: &[(Runtime, &str, &str)] = &[
    (Runtime::Docker, "docker.sock", "a Docker daemon socket"),
    (Runtime::Docker, "dockershim.sock", "a dockershim socket"),
    (Runtime::Docker, "cri-dockerd.sock", "a cri-dockerd socket"),
    (
        Runtime::Docker,
        "buildkitd.sock",
        "a BuildKit daemon socket",
    ),
    (
        Runtime::Containerd,
        "containerd.sock",
        "a containerd socket",
    ),
    (
        Runtime::Containerd,
        "containerd.sock.ttrpc",
        "a containerd ttrpc socket",
    ),
    (Runtime::Crio, "crio.sock", "a CRI-O socket"),
    (Runtime::Podman, "podman.sock", "a Podman socket"),
];

/// What a host path exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// The path is a protected socket (exposure kind 1): `label` and the socket's path.
    Socket { label: &'static str, socket: String },
    /// The path is a directory that contains protected sockets (kind 2).
    Directory {
        contains: Vec<(&'static str, String)>,
    },
    /// The path reaches the host's root filesystem through procfs (kind 3).
    Procfs {
        contains: Vec<(&'static str, String)>,
    },
}

impl Exposure {
    /// A socket is always a violation; directory and procfs exposures follow `directoryMounts`.
    pub fn is_socket(&self) -> bool {
        matches!(self, Exposure::Socket { .. })
    }

    /// How bad the exposure is, to keep the worst reading of a path.
    fn severity(&self) -> u8 {
        if self.is_socket() { 2 } else { 1 }
    }
}

#[derive(Debug, Clone)]
enum Pattern<'a> {
    /// Components in the `/run` spelling; `<uid>` matches any one component.
    Unix(Components<'a>),
    /// A pipe name, lower-cased.
    Pipe(Cow<'a, str>),
}

/// Path components, spelt out in the presets or parsed from the settings (`<uid>` is
/// [`Component::AnyUid`] in both). (`Cow` would do, but it is invariant over a slice of
/// references, and presets must serve any catalog.)
#[derive(Debug, Clone)]
enum Components<'a> {
    Fixed(&'a [&'a str]),
    Parsed(Vec<&'a str>),
}

impl<'a> Components<'a> {
    fn len(&self) -> usize {
        self.names().len()
    }

    fn names(&self) -> &[&'a str] {
        match self {
            Components::Fixed(components) => components,
            Components::Parsed(components) => components,
        }
    }

    fn iter(&self) -> impl Iterator<Item = Component<'a>> + '_ {
        self.names().iter().map(|&name| match name {
            ANY_UID => Component::AnyUid,
            name => Component::Name(name),
        })
    }

    fn first(&self) -> Option<Component<'a>> {
        self.iter().next()
    }
}

#[derive(Debug, Clone)]
struct Socket<'a> {
    pattern: Pattern<'a>,
    /// Everything under the path is a socket, labelled so (the path is a directory of sockets).
    subtree: Option<&'static str>,
    /// The path as a person wrote it, used when the host path gives no spelling to follow.
    written: &'a str,
    label: &'static str,
}

/// The protected sockets of one policy configuration. The socket patterns are built on first
/// use: a request without hostPath volumes (most of them) never needs them.
#[derive(Debug, Clone)]
pub struct SocketCatalog<'a> {
    runtimes: &'a [Runtime],
    extra_socket_paths: &'a [String],
    /// The sockets of `extra_socket_paths`, parsed on first use.
    extra: OnceCell<Vec<Socket<'a>>>,
}

impl<'a> SocketCatalog<'a> {
    /// The sockets of the given runtime presets plus extra paths (already validated absolute).
    pub fn new(runtimes: &'a [Runtime], extra_socket_paths: &'a [String]) -> SocketCatalog<'a> {
        SocketCatalog {
            runtimes,
            extra_socket_paths,
            extra: OnceCell::new(),
        }
    }

    fn sockets(&self) -> impl Iterator<Item = &Socket<'a>> {
        let presets = PRESETS
            .iter()
            .filter(|(runtimes, _)| runtimes.iter().any(|r| self.runtimes.contains(r)))
            .map(|(_, socket)| socket);
        let extra = self.extra.get_or_init(|| {
            self.extra_socket_paths
                .iter()
                .map(|path| Socket::new(path, "the configured runtime socket"))
                .collect()
        });
        presets.chain(extra)
    }

    fn file_label(&self, name: &str) -> Option<&'static str> {
        FILE_NAMES
            .iter()
            .find(|(runtime, file, _)| *file == name && self.runtimes.contains(runtime))
            .map(|(_, _, label)| *label)
    }

    /// What `path` exposes, if anything.
    pub fn classify(&self, path: &HostPath) -> Option<Exposure> {
        match path {
            HostPath::Pipe(name) => self.sockets().find_map(|socket| match &socket.pattern {
                Pattern::Pipe(pipe) if **pipe == **name => Some(Exposure::Socket {
                    label: socket.label,
                    socket: path.to_string(),
                }),
                _ => None,
            }),
            HostPath::Unix(components) => self.classify_unix(components),
        }
    }

    /// The most severe thing any reading of a path exposes, with the reading that exposes it
    /// (a socket before a directory; the earlier reading on a tie); the first reading when
    /// none exposes anything.
    pub fn classify_worst<'p>(
        &self,
        readings: Vec<HostPath<'p>>,
    ) -> (HostPath<'p>, Option<Exposure>) {
        let mut worst: Option<(HostPath<'p>, Exposure)> = None;
        let mut first = None;
        for reading in readings {
            match self.classify(&reading) {
                Some(exposure)
                    if worst
                        .as_ref()
                        .is_none_or(|(_, seen)| exposure.severity() > seen.severity()) =>
                {
                    worst = Some((reading, exposure));
                }
                _ if first.is_none() => first = Some(reading),
                _ => {}
            }
        }
        match worst {
            Some((reading, exposure)) => (reading, Some(exposure)),
            None => (first.unwrap_or(HostPath::Unix(Vec::new())), None),
        }
    }

    /// A Unix path, through procfs or not.
    fn classify_unix(&self, components: &[&str]) -> Option<Exposure> {
        let (inside, procfs) = through_procfs(components);
        let found = inside.and_then(|rest| self.classify_plain(rest));
        if !procfs {
            return found;
        }
        match found {
            Some(socket @ Exposure::Socket { .. }) => Some(socket),
            Some(Exposure::Directory { contains } | Exposure::Procfs { contains }) => {
                Some(Exposure::Procfs { contains })
            }
            None => {
                let contains: Vec<_> = self
                    .sockets()
                    .filter(|socket| matches!(socket.pattern, Pattern::Unix(_)))
                    .map(|socket| (socket.label, socket.written.to_string()))
                    .collect();
                (!contains.is_empty()).then_some(Exposure::Procfs { contains })
            }
        }
    }

    /// A Unix path outside procfs.
    fn classify_plain(&self, components: &[&str]) -> Option<Exposure> {
        let spelling = Spelling::of(components);
        let canonical = canonical(components);
        // A pattern with `<uid>` may stand for `/var/run` itself (`/var/<uid>/x.sock`): the
        // path is matched in each spelling, `/run/...` first.
        let var_spelled: Vec<&str> = match canonical.first() {
            Some(&"run") => ["var"]
                .into_iter()
                .chain(canonical.iter().copied())
                .collect(),
            _ => Vec::new(),
        };
        let readings = [
            Some(canonical),
            (components != canonical).then_some(components),
            (!var_spelled.is_empty()).then_some(&var_spelled[..]),
        ];
        let readings = readings.iter().flatten();
        for socket in self.sockets() {
            let Pattern::Unix(pattern) = &socket.pattern else {
                continue;
            };
            let matched = readings.clone().find(|reading| {
                (pattern.len() == reading.len()
                    || (socket.subtree.is_some() && pattern.len() < reading.len()))
                    && prefix_matches(reading, pattern)
            });
            if let Some(reading) = matched {
                return Some(match socket.subtree {
                    // Inside a directory of sockets: the path itself.
                    Some(inside) if pattern.len() < reading.len() => Exposure::Socket {
                        label: inside,
                        socket: HostPath::Unix(components.to_vec()).to_string(),
                    },
                    _ => Exposure::Socket {
                        label: socket.label,
                        socket: socket.display(spelling, components),
                    },
                });
            }
        }
        if let Some(name) = components.last()
            && let Some(label) = self.file_label(name)
        {
            return Some(Exposure::Socket {
                label,
                socket: HostPath::Unix(components.to_vec()).to_string(),
            });
        }
        // `/var` holds `/var/run`, which is `/run`.
        let is_var = components == ["var"];
        let contains: Vec<_> = self
            .sockets()
            .filter_map(|socket| match &socket.pattern {
                Pattern::Unix(pattern)
                    if readings.clone().any(|reading| {
                        reading.len() < pattern.len() && prefix_matches(reading, pattern)
                    }) || (is_var && pattern.first() == Some(Component::Name("run"))) =>
                {
                    Some((socket.label, socket.display(spelling, components)))
                }
                _ => None,
            })
            .collect();
        (!contains.is_empty()).then_some(Exposure::Directory { contains })
    }
}

/// Whether a path is in procfs, and the host path it leads to when that is known.
///
/// `/proc` and everything under `/proc/<pid>` (any depth: `cwd`, `fd`, `task/<tid>/...`,
/// `map_files`, ...) is procfs, which fails closed. `/proc/<pid>/root/<rest>` and
/// `/proc/<pid>/task/<tid>/root/<rest>` (and `cwd`, which is `/` for PID 1) also lead to
/// `/<rest>`. Other procfs files (`/proc/meminfo`, `/proc/sys/...`) are not.
fn through_procfs<'c, 'a>(mut components: &'c [&'a str]) -> (Option<&'c [&'a str]>, bool) {
    let mut procfs = false;
    while let Some(link) = procfs_root_link(components) {
        procfs = true;
        components = &components[link..];
    }
    match components {
        ["proc", process, ..] if !is_process(process) => (Some(components), procfs),
        ["proc", ..] => (None, true),
        _ => (Some(components), procfs),
    }
}

impl<'a> Socket<'a> {
    fn new(path: &'a str, label: &'static str) -> Socket<'a> {
        let pattern = match HostPath::parse(path) {
            HostPath::Pipe(name) => Pattern::Pipe(Cow::Owned(name)),
            HostPath::Unix(components) => {
                Pattern::Unix(Components::Parsed(canonical(&components).to_vec()))
            }
        };
        Socket {
            pattern,
            subtree: None,
            written: path,
            label,
        }
    }

    /// The socket's path in the spelling of the host path that reached it; `<uid>` becomes the
    /// user id from the host path when it names one.
    fn display(&self, spelling: Spelling, host_components: &[&str]) -> String {
        let Pattern::Unix(pattern) = &self.pattern else {
            return self.written.to_string();
        };
        let host_canonical = canonical(host_components);
        let resolved = pattern.iter().enumerate().map(|(i, component)| {
            match (component, host_canonical.get(i)) {
                (Component::AnyUid, Some(uid)) => *uid,
                (Component::AnyUid, None) => ANY_UID,
                (Component::Name(name), _) => name,
            }
        });
        let spelling = match spelling {
            Spelling::Other => Spelling::of_written(self.written),
            chosen => chosen,
        };
        // Sized once: the socket as written, and `/var` before a `/run` spelled so.
        let mut out = String::with_capacity(self.written.len() + 4);
        for (i, component) in resolved.enumerate() {
            if i == 0 && component == "run" && spelling == Spelling::VarRun {
                out.push_str("/var");
            }
            out.push('/');
            out.push_str(component);
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    VarRun,
    Run,
    Other,
}

impl Spelling {
    fn of(components: &[&str]) -> Spelling {
        match components.first() {
            Some(&"var") => Spelling::VarRun,
            Some(&"run") => Spelling::Run,
            _ => Spelling::Other,
        }
    }

    fn of_written(path: &str) -> Spelling {
        if path.starts_with("/var/run/") {
            Spelling::VarRun
        } else {
            Spelling::Run
        }
    }
}

/// `/var/run/...` in its `/run/...` spelling (a slice of the input: no allocation).
fn canonical<'c, 'a>(components: &'c [&'a str]) -> &'c [&'a str] {
    match components {
        ["var", "run", ..] => &components[1..],
        _ => components,
    }
}

fn prefix_matches(path: &[&str], pattern: &Components) -> bool {
    path.iter()
        .zip(pattern.iter())
        .all(|(component, expected)| match expected {
            Component::AnyUid => true,
            Component::Name(name) => *component == name,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker() -> SocketCatalog<'static> {
        SocketCatalog::new(&[Runtime::Docker], &[])
    }

    fn classify(catalog: &SocketCatalog, path: &str) -> Option<Exposure> {
        catalog.classify(&HostPath::parse(path))
    }

    fn socket(catalog: &SocketCatalog, path: &str) -> Option<String> {
        match classify(catalog, path) {
            Some(Exposure::Socket { socket, .. }) => Some(socket),
            _ => None,
        }
    }

    fn directory(catalog: &SocketCatalog, path: &str) -> Vec<String> {
        match classify(catalog, path) {
            Some(Exposure::Directory { contains }) | Some(Exposure::Procfs { contains }) => {
                contains.into_iter().map(|(_, path)| path).collect()
            }
            _ => Vec::new(),
        }
    }

    #[test]
    fn uid_stands_for_any_one_directory_in_presets_and_settings() {
        let extra = ["/run/user/<uid>/agent.sock".to_string()];
        let catalog = SocketCatalog::new(&[Runtime::Docker], &extra);
        for (path, socket_path) in [
            ("/run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
            ("/var/run/user/0/agent.sock", "/var/run/user/0/agent.sock"),
        ] {
            assert_eq!(socket(&catalog, path).as_deref(), Some(socket_path));
        }
        assert_eq!(socket(&catalog, "/run/user/1000/x/agent.sock"), None);
        assert_eq!(
            directory(&catalog, "/run/user"),
            ["/run/user/<uid>/docker.sock", "/run/user/<uid>/agent.sock"]
        );
        // `<uid>` may stand for `run`: `/var/<uid>/a.sock` is also `/var/run/a.sock`, which is
        // `/run/a.sock`, and `/run` holds it.
        let extra = ["/var/<uid>/a.sock".to_string()];
        let catalog = SocketCatalog::new(&[Runtime::Docker], &extra);
        for path in ["/var/run/a.sock", "/run/a.sock", "/var/x/a.sock"] {
            assert!(socket(&catalog, path).is_some(), "{path}");
        }
        for path in ["/run", "/var/run", "/var"] {
            assert!(!directory(&catalog, path).is_empty(), "{path}");
        }
    }

    #[test]
    fn preset_patterns_agree_with_their_written_paths() {
        for (_, socket) in PRESETS {
            let parsed = Socket::new(socket.written, socket.label);
            match (&socket.pattern, &parsed.pattern) {
                (Pattern::Unix(a), Pattern::Unix(b)) => {
                    assert_eq!(a.names(), b.names(), "{}", socket.written)
                }
                (Pattern::Pipe(a), Pattern::Pipe(b)) => assert_eq!(a, b, "{}", socket.written),
                _ => panic!("{} is not of the kind its pattern says", socket.written),
            }
        }
    }

    #[test]
    fn the_docker_socket_in_every_spelling() {
        let catalog = docker();
        for path in [
            "/var/run/docker.sock",
            "/run/docker.sock",
            "//var/run/docker.sock",
            "/var/run/./docker.sock",
            "/var/run/docker.sock/",
            "/var/lib/../run/docker.sock",
            "var/run/docker.sock",
        ] {
            assert!(
                socket(&catalog, path).is_some(),
                "{path} must be the socket"
            );
        }
        assert_eq!(
            socket(&catalog, "/run/docker.sock").as_deref(),
            Some("/run/docker.sock")
        );
        assert_eq!(
            socket(&catalog, "//var/run/docker.sock").as_deref(),
            Some("/var/run/docker.sock")
        );
    }

    #[test]
    fn docker_file_name_anywhere() {
        let catalog = docker();
        assert_eq!(
            socket(&catalog, "/srv/ci/docker.sock").as_deref(),
            Some("/srv/ci/docker.sock")
        );
        assert!(socket(&catalog, "/docker.sock").is_some());
    }

    #[test]
    fn near_misses_are_not_exposures() {
        let catalog = docker();
        for path in [
            "/var/run/docker.sock.bak",
            "/var/run-foo",
            "/run/docker.socket",
            "/var/lib/docker",
            "/var/run/docker.sock ",
            "/var/lib",
            "/etc",
            "/run/containerd/containerd.sock",
            "/proc/sys",
            "/proc/meminfo",
            "/proc/sys/fs/docker",
            "/Var/Run",
        ] {
            assert_eq!(
                classify(&catalog, path),
                None,
                "{path} must not be an exposure"
            );
        }
    }

    #[test]
    fn directories_that_contain_the_socket() {
        let catalog = docker();
        assert_eq!(
            directory(&catalog, "/var/run"),
            vec![
                "/var/run/docker.sock",
                "/var/run/docker/containerd/containerd.sock",
                "/var/run/docker/containerd/containerd.sock.ttrpc",
                "/var/run/dockershim.sock",
                "/var/run/cri-dockerd.sock",
                "/var/run/user/<uid>/docker.sock",
                "/var/run/buildkit/buildkitd.sock"
            ]
        );
        assert_eq!(directory(&catalog, "/run")[0], "/run/docker.sock");
        assert_eq!(directory(&catalog, "/var")[0], "/var/run/docker.sock");
        assert_eq!(directory(&catalog, "/")[0], "/var/run/docker.sock");
        assert_eq!(directory(&catalog, "//")[0], "/var/run/docker.sock");
        assert_eq!(
            directory(&catalog, "/run/user"),
            vec!["/run/user/<uid>/docker.sock"]
        );
        assert_eq!(
            directory(&catalog, "/run/user/1000"),
            vec!["/run/user/1000/docker.sock"]
        );
    }

    #[test]
    fn rootless_socket_for_any_uid() {
        let catalog = docker();
        assert_eq!(
            socket(&catalog, "/run/user/1000/docker.sock").as_deref(),
            Some("/run/user/1000/docker.sock")
        );
    }

    #[test]
    fn procfs_reaches_the_host_root() {
        let catalog = docker();
        for path in [
            "/proc",
            "/proc/1",
            "/proc/self",
            "/proc/1/root",
            "/proc/42/root/",
            "/proc/1/cwd",
            "/proc/self/cwd/run",
            "/proc/1/task/1/root",
            "/proc/1/task",
            "/proc/1/fd",
            "/proc/thread-self/map_files",
            "/proc/1/environ",
            "/proc/1/root/etc",
            "/proc/1/root/proc/1/root",
        ] {
            assert!(
                matches!(classify(&catalog, path), Some(Exposure::Procfs { .. })),
                "{path} must reach the host root"
            );
        }
        assert_eq!(
            socket(&catalog, "/proc/1/root/var/run/docker.sock").as_deref(),
            Some("/var/run/docker.sock")
        );
        assert_eq!(
            directory(&catalog, "/proc/1/root/run")[0],
            "/run/docker.sock"
        );
        for (path, socket_path) in [
            ("/proc/1/task/7/root/run/docker.sock", "/run/docker.sock"),
            ("/proc/self/cwd/var/run/docker.sock", "/var/run/docker.sock"),
            (
                "/proc/1/root/proc/2/root/run/docker.sock",
                "/run/docker.sock",
            ),
        ] {
            assert_eq!(
                socket(&catalog, path).as_deref(),
                Some(socket_path),
                "{path}"
            );
        }
    }

    #[test]
    fn worst_reading_wins() {
        let catalog = docker();
        let worst = |path| catalog.classify_worst(HostPath::readings(path));
        let (path, exposure) = worst("//./pipe/../../run/docker.sock");
        assert_eq!(path.to_string(), "/run/docker.sock");
        assert!(exposure.unwrap().is_socket());
        let (path, exposure) = worst("/var/run/../var");
        assert_eq!(path.to_string(), "/var");
        assert!(matches!(exposure, Some(Exposure::Directory { .. })));
        let (path, exposure) = worst("/var/run/../lib");
        assert_eq!(path.to_string(), "/var/lib");
        assert_eq!(exposure, None);
    }

    #[test]
    fn dockers_own_containerd() {
        let catalog = docker();
        for path in [
            "/var/run/docker/containerd/containerd.sock",
            "/run/docker/containerd/containerd.sock",
        ] {
            assert_eq!(socket(&catalog, path).as_deref(), Some(path));
        }
        assert_eq!(
            directory(&catalog, "/run/docker"),
            vec![
                "/run/docker/containerd/containerd.sock",
                "/run/docker/containerd/containerd.sock.ttrpc"
            ]
        );
        // Only Docker's: the host's containerd needs the containerd preset.
        assert_eq!(classify(&catalog, "/run/containerd/containerd.sock"), None);
    }

    #[test]
    fn containerd_shims_and_the_other_runtime_sockets() {
        let all = SocketCatalog::new(&ALL_RUNTIMES, &[]);
        for (path, shown) in [
            ("/run/containerd/s/3f2a9c", "/run/containerd/s/3f2a9c"),
            (
                "/var/run/containerd/s/3f2a9c",
                "/var/run/containerd/s/3f2a9c",
            ),
            ("/run/containerd/s", "/run/containerd/s"),
            ("/run/containerd/s/", "/run/containerd/s"),
            (
                "/run/containerd/containerd.sock.ttrpc",
                "/run/containerd/containerd.sock.ttrpc",
            ),
            (
                "/opt/x/containerd.sock.ttrpc",
                "/opt/x/containerd.sock.ttrpc",
            ),
            ("/var/run/nri/nri.sock", "/var/run/nri/nri.sock"),
            ("/run/k0s/containerd.sock", "/run/k0s/containerd.sock"),
            (
                "/run/buildkit/buildkitd.sock",
                "/run/buildkit/buildkitd.sock",
            ),
            (
                "/var/snap/microk8s/common/run/containerd.sock",
                "/var/snap/microk8s/common/run/containerd.sock",
            ),
        ] {
            assert_eq!(socket(&all, path).as_deref(), Some(shown), "{path}");
        }
        assert_eq!(
            directory(&all, "/var/snap/microk8s"),
            vec!["/var/snap/microk8s/common/run/containerd.sock"]
        );
        assert!(directory(&all, "/run/containerd").contains(&"/run/containerd/s".to_string()));
        assert!(
            directory(&all, "/var")
                .contains(&"/var/snap/microk8s/common/run/containerd.sock".to_string())
        );
        assert_eq!(classify(&all, "/run/containerd/sx"), None);
        assert_eq!(
            classify(&all, "/run/containerd/io.containerd.runtime.v2.task"),
            None
        );
        // Only with the containerd preset.
        assert_eq!(classify(&docker(), "/run/containerd/s/3f2a9c"), None);
        let crio = SocketCatalog::new(&[Runtime::Crio], &[]);
        assert!(socket(&crio, "/run/nri/nri.sock").is_some());
    }

    #[test]
    fn windows_pipes() {
        let catalog = docker();
        assert!(socket(&catalog, r"\\.\pipe\docker_engine").is_some());
        assert!(socket(&catalog, "//./pipe/docker_engine").is_some());
        assert_eq!(classify(&catalog, r"\\.\pipe\other"), None);
    }

    #[test]
    fn presets_are_selected_by_runtime() {
        let all = SocketCatalog::new(
            &[
                Runtime::Docker,
                Runtime::Containerd,
                Runtime::Crio,
                Runtime::Podman,
            ],
            &[],
        );
        for path in [
            "/run/containerd/containerd.sock",
            "/var/run/containerd/containerd.sock",
            "/run/k3s/containerd/containerd.sock",
            r"\\.\pipe\containerd-containerd",
            "/srv/containerd.sock",
            "/var/run/crio/crio.sock",
            "/run/crio/crio.sock",
            "/opt/crio.sock",
            "/run/podman/podman.sock",
            "/run/user/1000/podman/podman.sock",
            "/home/me/podman.sock",
            "/var/run/dockershim.sock",
            "/run/cri-dockerd.sock",
        ] {
            assert!(socket(&all, path).is_some(), "{path} must be a socket");
        }
        let crio_only = SocketCatalog::new(&[Runtime::Crio], &[]);
        assert!(socket(&crio_only, "/var/run/docker.sock").is_none());
        assert_eq!(
            directory(&crio_only, "/run/crio"),
            vec!["/run/crio/crio.sock"]
        );
        assert!(directory(&crio_only, "/run/user").is_empty());
    }

    #[test]
    fn extra_socket_paths_and_their_directories() {
        let extra = ["/opt/agent/run/api.sock".to_string()];
        let catalog = SocketCatalog::new(&[], &extra);
        assert!(socket(&catalog, "/opt/agent/run/api.sock").is_some());
        assert_eq!(
            directory(&catalog, "/opt/agent"),
            vec!["/opt/agent/run/api.sock"]
        );
        assert_eq!(classify(&catalog, "/var/run/docker.sock"), None);
        let extra = ["/var/run/agent.sock".to_string()];
        let twin = SocketCatalog::new(&[], &extra);
        assert!(socket(&twin, "/run/agent.sock").is_some());
    }
}
