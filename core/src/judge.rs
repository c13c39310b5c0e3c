//! What the settings make of the exposures of an object: violations, warnings, exemptions;
//! and what makes an exposure the same across an UPDATE.

use crate::exemptions::{self, Exempted};
use crate::exposures::{ContainerRef, Finding, VolumeExposure};
use crate::host_path::HostPath;
use crate::settings::{DirectoryMounts, Settings};
use std::collections::BTreeSet;

/// The exposures of one object, sorted by what the settings make of them.
#[derive(Debug, Default)]
pub struct Judged<'a, 's> {
    /// Exposures that are refused (or removed in mutate mode).
    pub violations: Vec<VolumeExposure<'a>>,
    /// Directory exposures accepted with a warning (`directoryMounts: warn`).
    pub warned: Vec<VolumeExposure<'a>>,
    /// Exposures an `exemptions` rule admits, accepted with a warning that gives its reason.
    pub exempted: Vec<Exempted<'a, 's>>,
}

/// (volume, host path reached, container) of every violation; `None` for a volume that no
/// container reaches. An UPDATE that adds one of these adds an exposure.
pub type ExposureKey<'a> = (&'a str, HostPath<'a>, Option<ContainerRef<'a>>);

/// What makes an exposure the same one across an UPDATE. In a Pod, a container that keeps
/// its name but changes its image is a new program with the socket; a workload's new image is
/// judged by its template change and, when its Pods are created, in each Pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    WithImage,
    WithoutImage,
}

impl Identity {
    pub fn of<'a>(self, container: &ContainerRef<'a>) -> ContainerRef<'a> {
        match self {
            Identity::WithImage => *container,
            Identity::WithoutImage => ContainerRef {
                image: "",
                ..*container
            },
        }
    }
}

impl<'a> Judged<'a, '_> {
    pub fn keys(&self, identity: Identity) -> BTreeSet<ExposureKey<'a>> {
        let mut keys = BTreeSet::new();
        for volume in &self.violations {
            for finding in &volume.findings {
                if finding.containers.is_empty() {
                    keys.insert((volume.volume, finding.path.clone(), None));
                }
                let reachers = volume.reached_by.iter().map(|(container, _)| container);
                for container in finding.containers.iter().chain(reachers) {
                    keys.insert((
                        volume.volume,
                        finding.path.clone(),
                        Some(identity.of(container)),
                    ));
                }
            }
        }
        keys
    }
}

/// Applies `allowedImages`, `exemptions` (in `namespace`) and `directoryMounts` to the
/// exposures of an object.
pub fn judge<'a, 's>(
    volumes: Vec<VolumeExposure<'a>>,
    settings: &'s Settings,
    namespace: &str,
) -> Judged<'a, 's> {
    let (mut warned_volumes, mut exempted) = (Vec::new(), Vec::new());
    // The violations are collected into the allocation of `volumes` (an in-place collect).
    let violations = volumes
        .into_iter()
        .filter_map(|volume| {
            // Every container that can reach the volume must run an allowed image.
            let allowed = !volume.mounted_by.is_empty()
                && volume
                    .reaching_images()
                    .all(|image| settings.image_allowed(image));
            if allowed {
                return None;
            }
            let (admitted, rest) = exemptions::apply(&settings.exemptions, namespace, volume);
            exempted.extend(admitted);
            let volume = rest?;
            let violates = |finding: &Finding| {
                finding.exposure.is_socket() || settings.directory_mounts == DirectoryMounts::Reject
            };
            let (violating, warned): (Vec<Finding>, Vec<Finding>) =
                if volume.findings.iter().all(violates) {
                    (volume.findings, Vec::new())
                } else {
                    let (violating, rest) = volume.findings.into_iter().partition(violates);
                    let warned = match settings.directory_mounts {
                        DirectoryMounts::Warn => rest,
                        _ => Vec::new(),
                    };
                    (violating, warned)
                };
            let VolumeExposure {
                volume: name,
                at,
                mounts,
                host_path,
                mut mounted_by,
                mut reached_by,
                ..
            } = volume;
            let with = |findings, mounted_by, reached_by| VolumeExposure {
                volume: name,
                at,
                mounts: mounts.clone(),
                host_path,
                findings,
                mounted_by,
                reached_by,
            };
            if !warned.is_empty() {
                // Copied only for a volume that is in both lists.
                let (warned_by, warned_reached) = match violating.is_empty() {
                    true => (
                        std::mem::take(&mut mounted_by),
                        std::mem::take(&mut reached_by),
                    ),
                    false => (mounted_by.clone(), reached_by.clone()),
                };
                warned_volumes.push(with(warned, warned_by, warned_reached));
            }
            (!violating.is_empty()).then(|| with(violating, mounted_by, reached_by))
        })
        .collect();
    Judged {
        violations,
        warned: warned_volumes,
        exempted,
    }
}
