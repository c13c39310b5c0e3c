//! Property tests against an independent oracle.
//!
//! Pods are generated with random volumes, mounts, container kinds, subPaths and host paths
//! drawn from a grammar of tricky spellings whose meaning is known by construction. Each Pod is
//! decoded with k8s-openapi's typed structs, and a small reference written against those types
//! computes the exposures; the policy (its `report`, which `dsp scan` and admission share) must
//! find exactly the same (volume, host path, reach, container, severity) rows. Mutation is
//! checked the same way: idempotent, accepted once done, nothing dangling, nothing else changed.

use docker_socket_policy_core::evaluate;
use docker_socket_policy_core::evaluate_with_report as report;
use k8s_openapi::api::core::v1::{Container, Pod, Volume, VolumeMount};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What a path means under the Docker preset (`runtimes: [docker]`, which every case sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    None,
    /// A directory (or procfs path) that holds a socket: `warn` under `directoryMounts: warn`.
    Directory,
    /// A socket: always `reject`.
    Socket,
}

/// The Docker preset's sockets in their `/run` spelling.
const SOCKETS: &[&str] = &[
    "/run/docker.sock",
    "/run/docker/containerd/containerd.sock",
    "/run/dockershim.sock",
    "/run/cri-dockerd.sock",
    "/run/user/1000/docker.sock",
];

/// Host paths whose meaning is written down, not computed: (path as a person writes it, the
/// absolute path it means). Spelling noise is added to the first, the second is judged.
const TARGETS: &[(&str, &str)] = &[
    ("/var/run/docker.sock", "/run/docker.sock"),
    ("/run/docker.sock", "/run/docker.sock"),
    (
        "/var/run/docker/containerd/containerd.sock",
        "/run/docker/containerd/containerd.sock",
    ),
    ("/run/cri-dockerd.sock", "/run/cri-dockerd.sock"),
    ("/run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
    ("/srv/ci/docker.sock", "/srv/ci/docker.sock"),
    ("/var/run", "/run"),
    ("/run", "/run"),
    ("/var", "/var"),
    ("/", "/"),
    ("/run/docker", "/run/docker"),
    ("/run/user", "/run/user"),
    ("/var/lib", "/var/lib"),
    ("/var/lib/docker", "/var/lib/docker"),
    ("/etc", "/etc"),
    ("/opt/data", "/opt/data"),
    ("/run/docker.socket", "/run/docker.socket"),
    (
        "/run/containerd/containerd.sock",
        "/run/containerd/containerd.sock",
    ),
    ("/proc/meminfo", "/proc/meminfo"),
    ("/proc/1", "/proc/1"),
    ("/proc/self/cwd", "/proc/self/cwd"),
    (
        "/proc/1/root/run/docker.sock",
        "/proc/1/root/run/docker.sock",
    ),
    ("/var/run/../var", "/var"),
    ("/var/lock/../docker", "/run/docker"),
];

/// subPaths, relative to the volume's meaning.
const SUB_PATHS: &[&str] = &[
    "docker.sock",
    "run/docker.sock",
    "../run/docker.sock",
    "var/run",
    "data/file",
    "containerd/containerd.sock",
    "zz/../docker.sock",
];

/// The reference: what an absolute, normalized path means. Written as plain string tests
/// against the preset table, independently of the policy's component matching.
fn meaning(path: &str) -> Class {
    let path = path
        .strip_prefix("/var/run")
        .map_or(path.to_string(), |rest| format!("/run{rest}"));
    if let Some(rest) = path.strip_prefix("/proc/") {
        let mut parts = rest.splitn(2, '/');
        let process = parts.next().unwrap_or_default();
        let is_process = process == "self"
            || (!process.is_empty() && process.bytes().all(|b| b.is_ascii_digit()));
        if is_process {
            let inner = parts.next().unwrap_or_default();
            let behind = ["root/", "cwd/"]
                .iter()
                .find_map(|link| inner.strip_prefix(link))
                .map(|rest| meaning(&format!("/{rest}")));
            return match behind {
                Some(Class::Socket) => Class::Socket,
                _ => Class::Directory,
            };
        }
    }
    if SOCKETS.contains(&path.as_str()) || path.ends_with("/docker.sock") {
        return Class::Socket;
    }
    let holds_socket = |dir: &str| {
        SOCKETS
            .iter()
            .any(|socket| dir == "/" || socket.starts_with(&format!("{dir}/")))
    };
    if holds_socket(&path) || path == "/var" {
        return Class::Directory;
    }
    // `/run/user` holds every user's rootless socket.
    if path == "/run/user" {
        return Class::Directory;
    }
    Class::None
}

/// The class of a subPath joined to a volume's meaning: the worse of its lexical reading and
/// of the kernel's (which follows procfs's magic links to PID 1's root and working directory,
/// both `/`, before `..`).
fn joined_meaning(path: &str) -> Class {
    meaning(&normalize(path, false)).max(meaning(&normalize(path, true)))
}

fn normalize(path: &str, follow_magic_links: bool) -> String {
    let mut stack: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                stack.pop();
            }
            other => stack.push(other),
        }
        if let ["proc", "1" | "self", "root" | "cwd"] = stack.as_slice()
            && follow_magic_links
        {
            stack.clear();
        }
    }
    format!("/{}", stack.join("/"))
}

/// Spelling noise that keeps the meaning: doubled slashes, `.`, `zz/..`, a trailing slash.
fn spelled(path: &str, noise: &[u8]) -> String {
    let mut out = String::new();
    for (i, part) in path.split('/').filter(|p| !p.is_empty()).enumerate() {
        match noise.get(i).copied().unwrap_or(0) % 5 {
            1 => out.push_str("//"),
            2 => out.push_str("/./"),
            3 => out.push_str("/zz/../"),
            _ => out.push('/'),
        }
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    if noise.last().copied().unwrap_or(0) % 3 == 0 && out != "/" {
        out.push('/');
    }
    out
}

#[derive(Debug, Clone)]
struct GenVolume {
    name: &'static str,
    /// Index into TARGETS, or `None` for an emptyDir.
    target: Option<usize>,
    noise: Vec<u8>,
}

#[derive(Debug, Clone)]
struct GenMount {
    volume: &'static str,
    sub_path: Option<usize>,
    sub_path_expr: bool,
}

#[derive(Debug, Clone)]
struct GenContainer {
    name: &'static str,
    image: &'static str,
    mounts: Vec<GenMount>,
    /// A volume's name written elsewhere in the container, where it mounts nothing.
    env_value: &'static str,
    /// For an ephemeral container: the container whose process namespace it joins.
    target: Option<&'static str>,
}

const VOLUME_NAMES: &[&str] = &["a", "b", "c", "missing"];
const CONTAINER_NAMES: &[&str] = &["x", "y", "z"];
const IMAGES: &[&str] = &["agent:1", "agent:2", "busybox"];

fn volume() -> impl Strategy<Value = GenVolume> {
    (
        prop::sample::select(&VOLUME_NAMES[..3]),
        prop::option::weighted(0.85, 0..TARGETS.len()),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(name, target, noise)| GenVolume {
            name,
            target,
            noise,
        })
}

fn mount() -> impl Strategy<Value = GenMount> {
    (
        prop::sample::select(VOLUME_NAMES),
        prop::option::weighted(0.3, 0..SUB_PATHS.len()),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(volume, sub_path, sub_path_expr)| GenMount {
            volume,
            sub_path,
            sub_path_expr,
        })
}

fn container() -> impl Strategy<Value = GenContainer> {
    (
        prop::sample::select(CONTAINER_NAMES),
        prop::sample::select(IMAGES),
        prop::collection::vec(mount(), 0..4),
        prop::sample::select(VOLUME_NAMES),
        prop::option::weighted(0.5, prop::sample::select(CONTAINER_NAMES)),
    )
        .prop_map(|(name, image, mounts, env_value, target)| GenContainer {
            name,
            image,
            mounts,
            env_value,
            target,
        })
}

/// A Pod: volumes, then containers of each kind.
fn pod() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(volume(), 0..5),
        prop::collection::vec(container(), 1..3),
        prop::collection::vec(container(), 0..2),
        prop::collection::vec(container(), 0..2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(volumes, containers, init, ephemeral, shared)| {
            let volumes: Vec<Value> = volumes
                .iter()
                .map(|v| match v.target {
                    Some(t) => json!({"name": v.name, "hostPath": {"path": spelled(TARGETS[t].0, &v.noise)}}),
                    None => json!({"name": v.name, "emptyDir": {}}),
                })
                .collect();
            let list = |containers: &[GenContainer], debug: bool| -> Value {
                containers
                    .iter()
                    .map(|c| {
                        let mounts: Vec<Value> = c
                            .mounts
                            .iter()
                            .enumerate()
                            .map(|(i, m)| {
                                let mut mount = json!({"name": m.volume, "mountPath": format!("/m{i}")});
                                if let Some(s) = m.sub_path {
                                    mount["subPath"] = json!(SUB_PATHS[s]);
                                }
                                if m.sub_path_expr {
                                    mount["subPathExpr"] = json!("$(POD_NAME)");
                                }
                                mount
                            })
                            .collect();
                        let mut container = json!({"name": c.name, "image": c.image, "volumeMounts": mounts, "env": [{"name": "K", "value": c.env_value}]});
                        if let (true, Some(target)) = (debug, c.target) {
                            container["targetContainerName"] = json!(target);
                        }
                        container
                    })
                    .collect()
            };
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "namespace": "default", "labels": {"app": "p"}},
                "spec": {
                    "volumes": volumes,
                    "containers": list(&containers, false),
                    "initContainers": list(&init, false),
                    "ephemeralContainers": list(&ephemeral, true),
                    "restartPolicy": "Always",
                    "shareProcessNamespace": shared,
                },
            })
        })
}

/// One exposure: (volume, hostPath as written with its subPath, container, severity).
type Row = (String, String, Option<String>, &'static str);

/// The meaning of each generated hostPath as written: recovered from the generator's table by
/// matching the spelling against each target's noise-free form.
fn target_meaning(written: &str) -> Option<&'static str> {
    TARGETS.iter().find_map(|(spelling, meant)| {
        (strip_noise(written) == strip_noise(spelling)).then_some(*meant)
    })
}

/// A spelling without the generator's noise (`//`, `/./`, `/zz/../`, a trailing `/`).
fn strip_noise(path: &str) -> String {
    let mut out = path.replace("/zz/../", "/").replace("/./", "/");
    while out.contains("//") {
        out = out.replace("//", "/");
    }
    if out.len() > 1 {
        out = out.trim_end_matches('/').to_string();
    }
    out
}

/// The reference, against k8s-openapi's types. With `allowed` (`allowedImages: [agent:*]`), a
/// volume is admitted when a container mounts it and every container that can reach it runs
/// an `agent:` image: those that mount it, and those that reach it through /proc/<pid>/root
/// (every container of a Pod that shares its process namespace; an ephemeral container whose
/// target mounts it).
fn expected(pod: &Pod, allowed: bool) -> BTreeSet<Row> {
    let spec = pod.spec.as_ref().expect("a pod spec");
    let volumes: &[Volume] = spec.volumes.as_deref().unwrap_or_default();
    let severity = |class: Class| match class {
        Class::Socket => "reject",
        Class::Directory => "warn",
        Class::None => unreachable!("no row for a path that exposes nothing"),
    };
    let mut kinds: Vec<(&Container, &str)> = Vec::new();
    for c in &spec.containers {
        kinds.push((c, ""));
    }
    for c in spec.init_containers.iter().flatten() {
        kinds.push((c, " (init)"));
    }
    let ephemeral: Vec<Container> = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .map(|e| Container {
            name: e.name.clone(),
            image: e.image.clone(),
            volume_mounts: e.volume_mounts.clone(),
            ..Default::default()
        })
        .collect();
    let targets: Vec<Option<&str>> = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .map(|e| e.target_container_name.as_deref())
        .collect();
    let shared = spec.share_process_namespace == Some(true);
    for c in &ephemeral {
        kinds.push((c, " (ephemeral)"));
    }
    let mut rows = BTreeSet::new();
    for volume in volumes {
        let Some(host_path) = &volume.host_path else {
            continue;
        };
        let meant = target_meaning(&host_path.path).expect("a generated path");
        let class = meaning(meant);
        let mounts_it = |c: &Container| {
            c.volume_mounts
                .iter()
                .flatten()
                .any(|m| m.name == volume.name)
        };
        let mounters: Vec<&Container> = kinds
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| mounts_it(c))
            .collect();
        let debuggers = ephemeral.iter().zip(&targets);
        let reachers: Vec<&Container> = if shared {
            kinds
                .iter()
                .map(|(c, _)| *c)
                .filter(|c| !mounts_it(c))
                .collect()
        } else {
            debuggers
                .filter(|(c, target)| {
                    !mounts_it(c) && target.is_some_and(|t| mounters.iter().any(|m| m.name == t))
                })
                .map(|(c, _)| c)
                .collect()
        };
        let agent = |c: &&Container| c.image.as_deref().unwrap_or_default().starts_with("agent:");
        if allowed
            && !mounters.is_empty()
            && mounters.iter().all(agent)
            && reachers.iter().all(agent)
        {
            continue;
        }
        let whole: Vec<String> = kinds
            .iter()
            .filter(|(c, _)| {
                c.volume_mounts.iter().flatten().any(|m: &VolumeMount| {
                    m.name == volume.name
                        && m.sub_path.as_deref().unwrap_or_default().is_empty()
                        && m.sub_path_expr.as_deref().unwrap_or_default().is_empty()
                })
            })
            .map(|(c, kind)| format!("{}{kind}", c.name))
            .collect();
        if class != Class::None && whole.is_empty() {
            rows.insert((
                volume.name.clone(),
                host_path.path.clone(),
                None,
                severity(class),
            ));
        }
        for name in whole.into_iter().filter(|_| class != Class::None) {
            rows.insert((
                volume.name.clone(),
                host_path.path.clone(),
                Some(name),
                severity(class),
            ));
        }
        for (c, kind) in &kinds {
            for m in c
                .volume_mounts
                .iter()
                .flatten()
                .filter(|m| m.name == volume.name)
            {
                let container = Some(format!("{}{kind}", c.name));
                if let Some(expr) = m
                    .sub_path_expr
                    .as_deref()
                    .filter(|e| !e.is_empty() && class != Class::None)
                {
                    let written = format!("{} (subPathExpr {expr})", host_path.path);
                    rows.insert((volume.name.clone(), written, container.clone(), "reject"));
                }
                if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                    let reached = joined_meaning(&format!("{meant}/{sub}"));
                    if reached != Class::None {
                        let written = format!("{} (subPath {sub})", host_path.path);
                        rows.insert((volume.name.clone(), written, container, severity(reached)));
                    }
                }
            }
        }
    }
    rows
}

/// The settings with `runtimes: [docker]`, the preset the reference knows.
fn docker_only(mut settings: Value) -> Value {
    settings["runtimes"] = json!(["docker"]);
    settings
}

fn payload(object: &Value, settings: Value, old: Option<&Value>) -> Vec<u8> {
    let operation = if old.is_some() { "UPDATE" } else { "CREATE" };
    let payload = json!({
        "request": {
            "uid": "u",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": object,
            "oldObject": old,
        },
        "settings": docker_only(settings),
    });
    // As the engine hands it to the module: every key sorted.
    serde_json::to_vec(&testkit::engine_order(&payload)).unwrap()
}

fn policy_rows(object: &Value, settings: Value) -> BTreeSet<Row> {
    let raw = payload(object, settings, None);
    let report = report(&raw);
    let mut rows = BTreeSet::new();
    for row in report.findings {
        if row.containers.is_empty() {
            rows.insert((
                row.volume.clone(),
                row.host_path.clone(),
                None,
                row.severity.as_str(),
            ));
        }
        for container in &row.containers {
            rows.insert((
                row.volume.clone(),
                row.host_path.clone(),
                Some(container.clone()),
                row.severity.as_str(),
            ));
        }
    }
    rows
}

/// The names of the volumes, and each container's mounts, of a pod spec.
fn dangling_mounts(spec: &Value) -> BTreeSet<(String, String)> {
    let names: BTreeSet<&str> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .collect();
    let mut dangling = BTreeSet::new();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for m in c["volumeMounts"].as_array().into_iter().flatten() {
                let name = m["name"].as_str().unwrap_or_default();
                if !names.contains(name) {
                    dangling.insert((
                        c["name"].as_str().unwrap_or_default().to_string(),
                        name.to_string(),
                    ));
                }
            }
        }
    }
    dangling
}

/// `after` is `before` with some volumes and some mounts removed, and nothing else changed.
fn only_removed(before: &Value, after: &Value) -> Result<(), String> {
    fn is_subsequence(short: &[Value], long: &[Value]) -> bool {
        let mut long = long.iter();
        short
            .iter()
            .all(|item| long.any(|candidate| candidate == item))
    }
    let strip = |object: &Value| {
        let mut object = object.clone();
        let spec = object["spec"].as_object_mut().unwrap();
        spec.remove("volumes");
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for c in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                c.as_object_mut().unwrap().remove("volumeMounts");
            }
        }
        object
    };
    if strip(before) != strip(after) {
        return Err("a field other than volumes and volumeMounts changed".into());
    }
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    if !is_subsequence(
        &list(&after["spec"]["volumes"]),
        &list(&before["spec"]["volumes"]),
    ) {
        return Err("volumes are not a subsequence of the original".into());
    }
    for kind in ["containers", "initContainers", "ephemeralContainers"] {
        for (b, a) in list(&before["spec"][kind])
            .iter()
            .zip(list(&after["spec"][kind]).iter())
        {
            if !is_subsequence(&list(&a["volumeMounts"]), &list(&b["volumeMounts"])) {
                return Err(format!(
                    "mounts of {kind} {} are not a subsequence",
                    a["name"]
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    /// The policy finds exactly the exposures the typed reference finds, in engine order and in
    /// the order the object was written.
    #[test]
    fn the_policy_finds_what_the_typed_reference_finds(object in pod()) {
        let typed: Pod = serde_json::from_value(object.clone()).expect("k8s-openapi decodes the Pod");
        let expected = expected(&typed, false);
        let settings = json!({"directoryMounts": "warn"});
        prop_assert_eq!(&policy_rows(&object, settings), &expected, "object: {}", object);
        let raw = payload(&object, json!({"directoryMounts": "warn"}), None);
        let verdict = evaluate(&raw);
        prop_assert_eq!(verdict.accepted, !expected.iter().any(|row| row.3 == "reject"));
    }

    /// `allowedImages` admits a volume only while no other image can reach it.
    #[test]
    fn an_image_rule_holds_only_while_no_other_image_reaches_the_volume(object in pod()) {
        let typed: Pod = serde_json::from_value(object.clone()).expect("k8s-openapi decodes the Pod");
        let expected = expected(&typed, true);
        let settings = json!({"directoryMounts": "warn", "allowedImages": ["agent:*"]});
        prop_assert_eq!(&policy_rows(&object, settings), &expected, "object: {}", object);
    }

    /// Mutating, then validating the result: accepted, mutated no further, nothing dangling,
    /// nothing but volumes and mounts removed.
    #[test]
    fn mutation_is_complete_idempotent_and_removes_only_exposures(object in pod()) {
        let mutate = json!({"mode": "mutate", "directoryMounts": "ignore"});
        let first = evaluate(&payload(&object, mutate.clone(), None));
        prop_assert!(first.accepted, "mutate mode refused {}: {:?}", object, first.message);
        let Some(mutated) = first.mutated_object.clone() else {
            // Nothing to remove: the reference agrees there is no socket exposure.
            let typed: Pod = serde_json::from_value(object.clone()).unwrap();
            prop_assert!(!expected(&typed, false).iter().any(|row| row.3 == "reject"), "{}", object);
            return Ok(());
        };
        let mutated: Value = serde_json::from_str(mutated.get()).unwrap();
        let again = evaluate(&payload(&mutated, mutate, None));
        prop_assert!(again.accepted);
        prop_assert!(again.mutated_object.is_none(), "second mutation of {}", mutated);
        let checked = evaluate(&payload(&mutated, json!({"directoryMounts": "ignore"}), None));
        prop_assert!(checked.accepted, "the mutated object is rejected: {:?}", checked.message);
        prop_assert!(
            dangling_mounts(&mutated["spec"]).is_subset(&dangling_mounts(&object["spec"])),
            "mutation left a mount without its volume: {}", mutated
        );
        if let Err(e) = only_removed(&object, &mutated) {
            return Err(TestCaseError::fail(format!("{e}\nbefore: {object}\nafter: {mutated}")));
        }
    }

    /// An UPDATE that changes nothing adds nothing, in either mode.
    #[test]
    fn an_unchanged_update_is_never_a_new_exposure(object in pod()) {
        for mode in ["reject", "mutate"] {
            let raw = payload(&object, json!({"mode": mode, "directoryMounts": "ignore"}), Some(&object));
            let verdict = evaluate(&raw);
            prop_assert!(verdict.accepted, "{mode}: {:?}", verdict.message);
            prop_assert!(verdict.mutated_object.is_none());
        }
    }

    /// No input makes `validate` panic: random bytes, and random edits of a real payload.
    #[test]
    fn no_input_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), object in pod(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let _ = evaluate(&bytes);
        let mut raw = payload(&object, json!({}), None);
        let at = cut.index(raw.len());
        raw[at] = byte;
        let _ = evaluate(&raw);
        // A payload cut short is never valid JSON: refused with a message, not a panic.
        raw.truncate(at);
        let response = evaluate(&raw);
        prop_assert!(!response.accepted);
        let message = response.message.unwrap_or_default();
        prop_assert!(
            message.starts_with("cannot read the request: ") || message.starts_with("invalid settings: "),
            "{}", message
        );
    }
}
