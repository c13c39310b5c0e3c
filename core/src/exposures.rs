//! Finds the exposures of a pod spec: which hostPath volumes reach a protected socket, through
//! which mounts (with or without subPath) and in which containers.

use crate::host_path::HostPath;
use crate::request::{Container, Item, Span, Spec, Str, VolumeMount};
use crate::sockets::{Exposure, SocketCatalog};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerKind {
    Container,
    Init,
    Ephemeral,
}

impl ContainerKind {
    pub const ALL: [ContainerKind; 3] = [Self::Container, Self::Init, Self::Ephemeral];
}

/// A container of the pod spec, by name, kind and image: a new image in a container that
/// reaches a socket is a new program with the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerRef<'a> {
    pub name: &'a str,
    pub kind: ContainerKind,
    /// Empty when the container names no image.
    pub image: &'a str,
}

/// How a finding reaches into its volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach<'a> {
    /// The volume as a whole (every mount without subPath, and the volume itself).
    Whole,
    /// A `subPath` mount.
    SubPath(&'a str),
    /// A `subPathExpr` mount, which cannot be resolved before the pod runs.
    SubPathExpr(&'a str),
}

/// One thing a volume exposes, and the containers that reach it.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub reach: Reach<'a>,
    /// The normalized host path reached.
    pub path: HostPath<'a>,
    pub exposure: Exposure,
    /// Containers that reach `path`; empty for a volume no container mounts as a whole.
    pub containers: Vec<ContainerRef<'a>>,
    /// The mounts that reach it (none for the volume's own finding): what mutation removes.
    pub mounts: Vec<Span<'a>>,
}

/// How a container that does not mount a volume reaches it: through the filesystem of a
/// container that does, at `/proc/<pid>/root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via<'a> {
    /// The Pod's containers share one process namespace (`shareProcessNamespace`).
    ProcessNamespace,
    /// The Pod's containers share the node's process namespace (`hostPID`).
    HostProcessNamespace,
    /// An ephemeral container whose `targetContainerName` names a container that mounts it.
    DebugTarget(&'a str),
}

/// The exposures of one hostPath volume.
#[derive(Debug, Clone)]
pub struct VolumeExposure<'a> {
    pub volume: &'a str,
    /// Where the volume is in its list (`None` for a PersistentVolume's source).
    pub at: Option<Span<'a>>,
    /// Every mount of the volume, whatever it reaches.
    pub mounts: Vec<Span<'a>>,
    /// The hostPath as written.
    pub host_path: &'a str,
    pub findings: Vec<Finding<'a>>,
    /// Every container that mounts the volume in any way.
    pub mounted_by: Vec<ContainerRef<'a>>,
    /// The containers that reach the volume without mounting it: an image rule holds only if
    /// they match it too.
    pub reached_by: Vec<(ContainerRef<'a>, Via<'a>)>,
}

impl<'a> VolumeExposure<'a> {
    /// Every container whose image an image rule (`allowedImages`, an exemption's `images`)
    /// must match to admit the volume: those that mount it and those that reach it.
    pub fn reaching_images(&self) -> impl Iterator<Item = &'a str> + '_ {
        let reachers = self.reached_by.iter().map(|(container, _)| container);
        self.mounted_by
            .iter()
            .chain(reachers)
            .map(|container| container.image)
    }
}

impl VolumeExposure<'_> {
    /// True when the volume is a socket itself (as opposed to a directory that contains one).
    pub fn is_socket_volume(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.reach == Reach::Whole && f.exposure.is_socket())
    }
}

/// Every exposing hostPath volume of a pod spec (or of the parts of a workflow, see
/// `PodSpecAt::parts`), in the order of the volumes.
///
/// Objects the API server would refuse (a scanned manifest, a request changed by another
/// mutating webhook) are judged by their worst reading: a mount reaches every volume of its
/// name, and a mount with both `subPath` and `subPathExpr` is judged by both.
pub fn scan_pod_spec<'a, 's>(
    parts: &[&'a Spec<'s>],
    catalog: &SocketCatalog,
) -> Vec<VolumeExposure<'a>> {
    let mut exposures: Vec<VolumeExposure<'a>> = Vec::new();
    let mut by_name: BTreeMap<&'a str, Vec<usize>> = BTreeMap::new();
    let volumes = parts
        .iter()
        .flat_map(|spec| spec.volumes.as_deref().unwrap_or_default());
    for volume in volumes {
        let Some(host_path) = &volume.host_path else {
            continue;
        };
        by_name
            .entry(&volume.name)
            .or_default()
            .push(exposures.len());
        // The volume itself exposes what its path exposes, whether or not a container mounts
        // it: the finding of its whole, first of its findings.
        let (path, exposure) = catalog.classify_worst(HostPath::readings(&host_path.path));
        let whole = exposure.map(|exposure| Finding {
            reach: Reach::Whole,
            path,
            exposure,
            containers: Vec::new(),
            mounts: Vec::new(),
        });
        exposures.push(VolumeExposure {
            volume: &volume.name,
            at: Some(volume.at),
            mounts: Vec::new(),
            host_path: &host_path.path,
            findings: whole.into_iter().collect(),
            mounted_by: Vec::new(),
            reached_by: Vec::new(),
        });
    }
    if exposures.is_empty() {
        return exposures;
    }
    let mut add_mounts =
        |me: ContainerRef<'a>, mounts: &mut dyn Iterator<Item = &'a Item<'s, VolumeMount<'s>>>| {
            for mount in mounts {
                let Some(indices) = by_name.get(&*mount.name) else {
                    continue;
                };
                for &index in indices {
                    let volume = &mut exposures[index];
                    // A container's mounts are visited together: comparing with the last entry is
                    // enough to list each container once, in constant time.
                    if volume.mounted_by.last() != Some(&me) {
                        volume.mounted_by.push(me);
                    }
                    volume.mounts.push(mount.at);
                    for reach in reaches(mount) {
                        // The same reach into the same volume reaches the same path: what an
                        // earlier mount found is not worked out again.
                        if let Some(finding) = volume.findings.iter_mut().find(|f| f.reach == reach)
                        {
                            if finding.containers.last() != Some(&me) {
                                finding.containers.push(me);
                            }
                            finding.mounts.push(mount.at);
                            continue;
                        }
                        let reached = match reach {
                            Reach::SubPathExpr(_) => unresolved(volume.findings.first()),
                            Reach::SubPath(sub_path) => {
                                let readings =
                                    HostPath::readings_joined(volume.host_path, sub_path);
                                match catalog.classify_worst(readings) {
                                    (path, Some(exposure)) => Some((path, exposure)),
                                    (_, None) => None,
                                }
                            }
                            // Found above, if the volume exposes anything.
                            Reach::Whole => None,
                        };
                        if let Some((path, exposure)) = reached {
                            volume.findings.push(Finding {
                                reach,
                                path,
                                exposure,
                                containers: vec![me],
                                mounts: vec![mount.at],
                            });
                        }
                    }
                }
            }
        };
    for spec in parts {
        spec.visit_containers(|container, list| {
            add_mounts(
                container_ref(container, ContainerKind::ALL[list]),
                &mut container.volume_mounts.iter().flatten(),
            );
        });
    }
    // Argo gives a sidecar or an init container with `mirrorVolumeMounts` the mounts of its
    // template's main container, and copies those of `templateDefaults` into every template:
    // each such container mounts what every main container of the workflow mounts.
    let main_mounts: Vec<Vec<&Item<VolumeMount>>> =
        parts.iter().map(|spec| spec.argo_main_mounts()).collect();
    if main_mounts.iter().any(|mounts| !mounts.is_empty()) {
        for spec in parts {
            spec.visit_containers(|container, list| {
                if container.mirror_volume_mounts == Some(true) {
                    let me = container_ref(container, ContainerKind::ALL[list]);
                    add_mounts(me, &mut main_mounts.iter().flatten().copied());
                }
            });
        }
    }
    exposures.retain(|volume| !volume.findings.is_empty());
    if !exposures.is_empty() {
        add_reachers(parts, &mut exposures);
    }
    exposures
}

/// Adds to each volume the containers that reach it without mounting it: every container of a
/// Pod that shares a process namespace, and an ephemeral container whose debug target mounts
/// it. Read only for an object that exposes something.
fn add_reachers<'a, 's>(parts: &[&'a Spec<'s>], exposures: &mut [VolumeExposure<'a>]) {
    let shared = parts.iter().find_map(|spec| shared_processes(spec));
    let mut add = |container: &'a Container<'s>, kind| {
        let me = container_ref(container, kind);
        let target = container.target_container_name.as_deref();
        for volume in exposures.iter_mut() {
            if volume.mounted_by.contains(&me) {
                continue;
            }
            let via = match (shared, target) {
                (Some(shared), _) => shared,
                (None, Some(target)) if volume.mounted_by.iter().any(|m| m.name == target) => {
                    Via::DebugTarget(target)
                }
                _ => continue,
            };
            volume.reached_by.push((me, via));
        }
    };
    for spec in parts {
        if shared.is_some() {
            spec.visit_containers(|container, list| add(container, ContainerKind::ALL[list]));
        } else {
            spec.visit_ephemeral(|container| add(container, ContainerKind::Ephemeral));
        }
    }
}

/// How every container of a Pod can reach the mounts of every other one through procfs, if
/// it can: the node's process namespace, or one shared by the Pod.
fn shared_processes(spec: &Spec) -> Option<Via<'static>> {
    match (spec.host_pid, spec.share_process_namespace) {
        (Some(true), _) => Some(Via::HostProcessNamespace),
        (_, Some(true)) => Some(Via::ProcessNamespace),
        _ => None,
    }
}

fn container_ref<'a>(container: &'a Container<'_>, kind: ContainerKind) -> ContainerRef<'a> {
    ContainerRef {
        name: &container.name,
        kind,
        image: container.image.as_deref().unwrap_or_default(),
    }
}

/// How a mount reaches into its volume: as a whole, or through its `subPath` and its
/// `subPathExpr` (both, if both are set).
fn reaches<'a>(mount: &'a VolumeMount<'_>) -> impl Iterator<Item = Reach<'a>> {
    let expr = non_empty(&mount.sub_path_expr).map(Reach::SubPathExpr);
    let sub_path = non_empty(&mount.sub_path).map(Reach::SubPath);
    let whole = (expr.is_none() && sub_path.is_none()).then_some(Reach::Whole);
    [expr, sub_path, whole].into_iter().flatten()
}

/// A `subPathExpr` into a volume that exposes a socket may reach the socket itself: what the
/// volume's finding of its whole (`first`, if it has one) exposes.
fn unresolved<'a>(first: Option<&Finding<'a>>) -> Option<(HostPath<'a>, Exposure)> {
    let whole = first.filter(|finding| finding.reach == Reach::Whole)?;
    let exposure = match &whole.exposure {
        socket @ Exposure::Socket { .. } => socket.clone(),
        Exposure::Directory { contains } | Exposure::Procfs { contains } => {
            let (label, socket) = contains.first()?.clone();
            Exposure::Socket { label, socket }
        }
    };
    Some((whole.path.clone(), exposure))
}

fn non_empty<'b>(value: &'b Option<Str<'_>>) -> Option<&'b str> {
    value.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::Runtime;

    /// (reach, path, containers) of a finding, as text.
    type FindingText = (String, String, Vec<String>);

    fn scan(spec: &str) -> Vec<(String, Vec<FindingText>)> {
        let spec: Spec = serde_json::from_str(spec).unwrap();
        let catalog = SocketCatalog::new(&[Runtime::Docker], &[]);
        scan_pod_spec(&[&spec], &catalog)
            .into_iter()
            .map(|v| {
                let findings = v
                    .findings
                    .iter()
                    .map(|f| {
                        (
                            format!("{:?}", f.reach),
                            f.path.to_string(),
                            f.containers
                                .iter()
                                .map(|c| format!("{}:{:?}", c.name, c.kind))
                                .collect(),
                        )
                    })
                    .collect();
                (v.volume.to_string(), findings)
            })
            .collect()
    }

    #[test]
    fn socket_volume_mounted_by_every_container_kind() {
        let found = scan(
            r#"{"volumes":[{"name":"s","hostPath":{"path":"/var/run/docker.sock"}},{"name":"cfg","configMap":{"name":"x"}}],
            "containers":[{"name":"a","volumeMounts":[{"name":"s","mountPath":"/s"},{"name":"cfg","mountPath":"/c"}]}],
            "initContainers":[{"name":"i","volumeMounts":[{"name":"s","mountPath":"/s"}]}],
            "ephemeralContainers":[{"name":"e","volumeMounts":[{"name":"s","mountPath":"/s"}]}]}"#,
        );
        assert_eq!(
            found,
            vec![(
                "s".to_string(),
                vec![(
                    "Whole".to_string(),
                    "/var/run/docker.sock".to_string(),
                    vec!["a:Container".into(), "i:Init".into(), "e:Ephemeral".into()]
                )]
            )]
        );
    }

    #[test]
    fn unmounted_volume_is_still_found() {
        let found = scan(
            r#"{"volumes":[{"name":"root","hostPath":{"path":"/"}}],"containers":[{"name":"a"}]}"#,
        );
        assert_eq!(found[0].1[0].2, Vec::<String>::new());
    }

    #[test]
    fn sub_path_into_a_harmless_directory_reaches_the_socket() {
        let found = scan(
            r#"{"volumes":[{"name":"lib","hostPath":{"path":"/var/lib"}}],
            "containers":[{"name":"a","volumeMounts":[{"name":"lib","mountPath":"/s","subPath":"../run/docker.sock"}]}]}"#,
        );
        assert_eq!(
            found[0].1,
            vec![(
                "SubPath(\"../run/docker.sock\")".to_string(),
                "/var/run/docker.sock".to_string(),
                vec!["a:Container".into()]
            )]
        );
    }

    #[test]
    fn sub_path_to_a_harmless_file_leaves_only_the_directory_volume() {
        let found = scan(
            r#"{"volumes":[{"name":"run","hostPath":{"path":"/run"}}],
            "containers":[{"name":"a","volumeMounts":[{"name":"run","mountPath":"/x","subPath":"secrets/token"}]}]}"#,
        );
        assert_eq!(found[0].1.len(), 1);
        assert_eq!(found[0].1[0].1, "/run");
        assert!(found[0].1[0].2.is_empty());
    }

    #[test]
    fn sub_path_expr_into_a_directory_counts_as_the_socket() {
        let spec: Spec = serde_json::from_str(
            r#"{"volumes":[{"name":"run","hostPath":{"path":"/var/run"}}],
            "containers":[{"name":"a","volumeMounts":[{"name":"run","mountPath":"/x","subPathExpr":"$(POD)"}]}]}"#,
        )
        .unwrap();
        let catalog = SocketCatalog::new(&[Runtime::Docker], &[]);
        let found = scan_pod_spec(&[&spec], &catalog);
        let expr = &found[0].findings[1];
        assert_eq!(expr.reach, Reach::SubPathExpr("$(POD)"));
        assert!(expr.exposure.is_socket());
    }

    #[test]
    fn mounts_of_unknown_or_other_volumes_are_ignored() {
        let found = scan(
            r#"{"volumes":[{"name":"data","hostPath":{"path":"/data"}}],
            "containers":[{"name":"a","volumeMounts":[{"name":"missing","mountPath":"/m"},{"name":"data","mountPath":"/d"}]}]}"#,
        );
        assert!(found.is_empty());
    }
}
