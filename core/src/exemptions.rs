//! Exemptions: which exposures a rule of the `exemptions` setting admits, in which namespaces,
//! for which images and volumes.

use crate::exposures::{Finding, VolumeExposure};
use crate::host_path::{HostPath, through_var_links};
use crate::patterns::{dot_dot, image_match, image_pattern_problem, wildcard_match};
use serde::Deserialize;

/// One rule of `exemptions`. Every field given must match; `reason` is shown in the warning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exemption {
    /// Namespace names or `*` globs. A cluster-scoped object (a PersistentVolume) is in no
    /// namespace: only a pattern that matches the empty name, such as `*`, covers it.
    pub namespaces: Vec<String>,
    /// Image patterns, as in `allowedImages`: every container that mounts the volume must match.
    pub images: Option<Vec<String>>,
    /// The host paths whose exposure the rule admits: a socket or a directory, compared after
    /// normalization.
    pub host_paths: Option<Vec<String>>,
    /// Volume names.
    pub volumes: Option<Vec<String>>,
    pub reason: String,
}

impl crate::read::Named for Exemption {
    const EXPECTING: &'static str = "an exemption rule";
}

impl Exemption {
    /// The first problem with the rule: the field it is about (empty for the rule as a whole)
    /// and what is wrong.
    pub fn check(&self) -> Result<(), (String, String)> {
        let problem = |field: String, message: &str| Err((field, message.to_string()));
        if self.namespaces.is_empty() {
            return problem(
                "namespaces".into(),
                "a rule must name at least one namespace \
                 (a name or a glob such as team-*; * for every namespace)",
            );
        }
        let lists = [
            ("namespaces", Some(&self.namespaces)),
            ("images", self.images.as_ref()),
            ("hostPaths", self.host_paths.as_ref()),
            ("volumes", self.volumes.as_ref()),
        ];
        for (field, list) in lists {
            let Some(list) = list else { continue };
            if list.is_empty() {
                return problem(
                    field.into(),
                    "an empty list matches nothing; leave the field out to match any",
                );
            }
            if let Some(i) = list.iter().position(|value| value.trim().is_empty()) {
                return problem(format!("{field}[{i}]"), "cannot be empty");
            }
        }
        // Whoever creates the Pod names its volumes: a rule must hold the image or the path.
        if self.images.is_none() && self.host_paths.is_none() {
            return problem(
                String::new(),
                "a rule must say what it admits with images or hostPaths (a rule on \
                 namespaces alone, or on namespaces and volume names, which whoever creates \
                 the Pod chooses, would turn the policy off there: leave those namespaces out \
                 of the policy instead)",
            );
        }
        for (i, pattern) in self.images.iter().flatten().enumerate() {
            if let Some(message) = image_pattern_problem(pattern) {
                let message = format!("{message} (leave images out to match any image)");
                return problem(format!("images[{i}]"), &message);
            }
        }
        for (i, path) in self.host_paths.iter().flatten().enumerate() {
            if !HostPath::is_absolute(path) {
                return problem(
                    format!("hostPaths[{i}]"),
                    &format!(
                        "{path:?} is not an absolute host path; write /path/to/runtime.sock, \
                         a directory, or \\\\.\\pipe\\NAME"
                    ),
                );
            }
            if let Some(message) = dot_dot(path) {
                return problem(format!("hostPaths[{i}]"), &message);
            }
        }
        if self.reason.trim().is_empty() {
            return problem(
                "reason".into(),
                "cannot be empty; say why the exposure is admitted (it is shown in the warning)",
            );
        }
        Ok(())
    }

    fn admits_volume(&self, namespace: &str, volume: &VolumeExposure) -> bool {
        let any = |patterns: &[String], text: &str| {
            patterns.iter().any(|pattern| wildcard_match(pattern, text))
        };
        any(&self.namespaces, namespace)
            && self
                .volumes
                .as_ref()
                .is_none_or(|names| names.iter().any(|name| name == volume.volume))
            // Every container that can reach the volume must run an image of the rule.
            && self.images.as_ref().is_none_or(|images| {
                !volume.mounted_by.is_empty()
                    && volume.reaching_images().all(|image| {
                        images.iter().any(|pattern| image_match(pattern, image))
                    })
            })
    }

    fn admits_finding(&self, finding: &Finding) -> bool {
        self.host_paths.as_ref().is_none_or(|paths| {
            paths
                .iter()
                .any(|path| same_place(&HostPath::parse(path), &finding.path))
        })
    }
}

/// Two normalized host paths name the same place: equal after `/var/run` -> `/run` and
/// `/var/lock` -> `/run/lock`, the links every distribution has. procfs links are not followed:
/// a rule for a socket does not admit a process's whole root filesystem.
fn same_place(a: &HostPath, b: &HostPath) -> bool {
    fn physical<'p>(components: &[&'p str]) -> impl Iterator<Item = &'p str> {
        let (link, rest) = through_var_links(components);
        link.iter().chain(rest).copied()
    }
    match (a, b) {
        (HostPath::Pipe(a), HostPath::Pipe(b)) => a == b,
        (HostPath::Unix(a), HostPath::Unix(b)) => physical(a).eq(physical(b)),
        _ => false,
    }
}

/// An exposure admitted by a rule: the rule (its index in `exemptions`) and its reason.
#[derive(Debug)]
pub struct Exempted<'a, 'r> {
    pub volume: VolumeExposure<'a>,
    pub rule: usize,
    pub reason: &'r str,
}

/// Splits the findings of `volume` into those some rule admits in `namespace` (each with the
/// first rule that admits it; two rules with the same reason stay two) and the rest.
pub fn apply<'a, 'r>(
    rules: &'r [Exemption],
    namespace: &str,
    volume: VolumeExposure<'a>,
) -> (Vec<Exempted<'a, 'r>>, Option<VolumeExposure<'a>>) {
    let rules: Vec<(usize, &Exemption)> = rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.admits_volume(namespace, &volume))
        .collect();
    if rules.is_empty() {
        return (Vec::new(), Some(volume));
    }
    let mut exempted: Vec<Exempted> = Vec::new();
    let mut kept = Vec::new();
    for finding in &volume.findings {
        match rules.iter().find(|(_, rule)| rule.admits_finding(finding)) {
            Some(&(index, rule)) => match exempted.iter_mut().find(|e| e.rule == index) {
                Some(same) => same.volume.findings.push(finding.clone()),
                None => exempted.push(Exempted {
                    volume: VolumeExposure {
                        findings: vec![finding.clone()],
                        ..volume.clone()
                    },
                    rule: index,
                    reason: &rule.reason,
                }),
            },
            None => kept.push(finding.clone()),
        }
    }
    let rest = (!kept.is_empty()).then_some(VolumeExposure {
        findings: kept,
        ..volume
    });
    (exempted, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposures::{ContainerKind, ContainerRef, Reach, Via};
    use crate::sockets::Exposure;

    fn rule(text: &str) -> Exemption {
        serde_json::from_str(text).unwrap()
    }

    fn volume<'a>(name: &'a str, paths: &[&'a str], images: &[&'a str]) -> VolumeExposure<'a> {
        let exposure = Exposure::Socket {
            label: "the Docker daemon socket",
            socket: "/var/run/docker.sock".to_string(),
        };
        VolumeExposure {
            volume: name,
            at: None,
            mounts: Vec::new(),
            host_path: paths[0],
            findings: paths
                .iter()
                .map(|path| Finding {
                    reach: Reach::Whole,
                    path: HostPath::parse(path),
                    exposure: exposure.clone(),
                    containers: Vec::new(),
                    mounts: Vec::new(),
                })
                .collect(),
            mounted_by: images
                .iter()
                .map(|image| ContainerRef {
                    name: "c",
                    kind: ContainerKind::Container,
                    image,
                })
                .collect(),
            reached_by: Vec::new(),
        }
    }

    fn admitted(rule: &Exemption, namespace: &str, volume: VolumeExposure) -> usize {
        let (exempted, _) = apply(std::slice::from_ref(rule), namespace, volume);
        exempted.iter().map(|e| e.volume.findings.len()).sum()
    }

    #[test]
    fn every_field_given_must_match() {
        let r = rule(
            r#"{"namespaces":["mon*"],"images":["agent:*"],"volumes":["sock"],
                "hostPaths":["/run/docker.sock"],"reason":"agent"}"#,
        );
        let v = || volume("sock", &["/var/run/docker.sock"], &["agent:1"]);
        assert_eq!(admitted(&r, "monitoring", v()), 1);
        assert_eq!(admitted(&r, "default", v()), 0);
        assert_eq!(
            admitted(
                &r,
                "monitoring",
                volume("other", &["/var/run/docker.sock"], &["agent:1"])
            ),
            0
        );
        assert_eq!(
            admitted(
                &r,
                "monitoring",
                volume("sock", &["/var/run/docker.sock"], &["agent:1", "evil:1"])
            ),
            0
        );
        assert_eq!(
            admitted(
                &r,
                "monitoring",
                volume("sock", &["/var/run/docker.sock"], &[])
            ),
            0,
            "an image rule needs a container that mounts the volume"
        );
        assert_eq!(
            admitted(
                &r,
                "monitoring",
                volume("sock", &["/var/run"], &["agent:1"])
            ),
            0,
            "a rule for the socket does not admit its directory"
        );
    }

    #[test]
    fn an_image_rule_holds_only_if_every_reaching_container_matches() {
        let r = rule(r#"{"namespaces":["*"],"images":["agent:*"],"reason":"r"}"#);
        let mut v = volume("sock", &["/var/run/docker.sock"], &["agent:1"]);
        assert_eq!(admitted(&r, "x", v.clone()), 1);
        let debugger = ContainerRef {
            name: "debugger",
            kind: ContainerKind::Ephemeral,
            image: "busybox",
        };
        v.reached_by.push((debugger, Via::DebugTarget("c")));
        assert_eq!(admitted(&r, "x", v.clone()), 0);
        v.reached_by[0].0.image = "agent@sha256:0123456789abcdef0123456789abcdef";
        assert_eq!(admitted(&r, "x", v), 1);
    }

    #[test]
    fn only_the_covered_findings_are_admitted() {
        let r = rule(r#"{"namespaces":["*"],"hostPaths":["/run"],"reason":"r"}"#);
        let (exempted, rest) = apply(
            std::slice::from_ref(&r),
            "x",
            volume("v", &["/var/run", "/var/run/docker.sock"], &[]),
        );
        assert_eq!(exempted.len(), 1);
        assert_eq!(exempted[0].volume.findings[0].path.to_string(), "/var/run");
        assert_eq!(exempted[0].reason, "r");
        assert_eq!(rest.unwrap().findings.len(), 1);
    }

    #[test]
    fn cluster_scoped_objects_match_only_a_pattern_for_every_namespace() {
        let everywhere = rule(r#"{"namespaces":["*"],"volumes":["hostPath"],"reason":"r"}"#);
        let named = rule(r#"{"namespaces":["kube-*"],"volumes":["hostPath"],"reason":"r"}"#);
        assert_eq!(
            admitted(&everywhere, "", volume("hostPath", &["/run"], &[])),
            1
        );
        assert_eq!(admitted(&named, "", volume("hostPath", &["/run"], &[])), 0);
    }

    #[test]
    fn same_place_follows_var_run_but_not_procfs() {
        let same = |a, b| same_place(&HostPath::parse(a), &HostPath::parse(b));
        assert!(same("/var/run/docker.sock", "/run/docker.sock"));
        assert!(same("//var/run/./docker.sock", "/var/run/docker.sock"));
        assert!(same("/var/lock/x", "/run/lock/x"));
        assert!(same("/var/run/lock/x", "/var/lock/x"));
        assert!(!same(
            "/var/run/docker.sock",
            "/proc/1/root/var/run/docker.sock"
        ));
        assert!(!same("/run", "/run/docker.sock"));
        assert!(same(r"\\.\pipe\docker_engine", r"//./PIPE/Docker_Engine"));
        assert!(!same(r"\\.\pipe\docker_engine", "/docker_engine"));
    }

    #[test]
    fn checks_name_the_field() {
        let field = |text: &str| rule(text).check().unwrap_err().0;
        assert_eq!(
            field(r#"{"namespaces":[],"images":["a"],"reason":"r"}"#),
            "namespaces"
        );
        assert_eq!(field(r#"{"namespaces":["a"],"reason":"r"}"#), "");
        assert_eq!(
            field(r#"{"namespaces":["a"],"images":[],"reason":"r"}"#),
            "images"
        );
        assert_eq!(
            field(r#"{"namespaces":["a"],"images":[" "],"reason":"r"}"#),
            "images[0]"
        );
        assert_eq!(
            field(r#"{"namespaces":["a"],"hostPaths":["run/x"],"reason":"r"}"#),
            "hostPaths[0]"
        );
        assert_eq!(
            field(r#"{"namespaces":["a"],"images":["a:*"],"reason":" "}"#),
            "reason"
        );
        assert!(
            rule(r#"{"namespaces":["a"],"images":["a:*"],"volumes":["v"],"reason":"r"}"#)
                .check()
                .is_ok()
        );
        // Volume names are the Pod author's choice: they hold nobody back.
        assert_eq!(
            field(r#"{"namespaces":["a"],"volumes":["v"],"reason":"r"}"#),
            ""
        );
        // A pattern that matches every image is a rule on namespaces alone in disguise.
        for image in ["*", "*:*", "*/*@*", "**"] {
            let text = format!(r#"{{"namespaces":["a"],"images":["x:*","{image}"],"reason":"r"}}"#);
            assert_eq!(field(&text), "images[1]", "{image}");
        }
        assert_eq!(
            field(r#"{"namespaces":["a"],"hostPaths":["/var/run/../x.sock"],"reason":"r"}"#),
            "hostPaths[0]"
        );
    }
}
