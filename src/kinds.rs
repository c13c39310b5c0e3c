//! Where each kind the policy handles keeps its pod spec (or its host path).

use crate::request::{KubeObject, Spec};

/// What the policy inspects in an object of a given kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A pod spec, at the given place.
    PodSpec(PodSpecAt),
    /// A PersistentVolume's `spec.hostPath`.
    PersistentVolume,
}

/// The place of the pod spec inside an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSpecAt {
    /// Pod: `spec`.
    Spec,
    /// PodTemplate: `template.spec`.
    Template,
    /// Deployment, DaemonSet, StatefulSet, ReplicaSet, ReplicationController, Job:
    /// `spec.template.spec`.
    SpecTemplate,
    /// CronJob: `spec.jobTemplate.spec.template.spec`.
    JobTemplate,
}

/// The target of a kind, or `None` for kinds the policy does not handle.
pub fn target(group: &str, kind: &str) -> Option<Target> {
    let at = match (group, kind) {
        ("", "Pod") => PodSpecAt::Spec,
        ("", "PodTemplate") => PodSpecAt::Template,
        ("", "ReplicationController")
        | ("apps", "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet")
        | ("batch", "Job") => PodSpecAt::SpecTemplate,
        ("batch", "CronJob") => PodSpecAt::JobTemplate,
        ("", "PersistentVolume") => return Some(Target::PersistentVolume),
        _ => return None,
    };
    Some(Target::PodSpec(at))
}

impl PodSpecAt {
    /// The pod spec of `object`, if it has one.
    pub fn select<'b, 'x>(&self, object: &'b KubeObject<'x>) -> Option<&'b Spec<'x>> {
        match self {
            PodSpecAt::Spec => object.spec.as_ref(),
            PodSpecAt::Template => object.template.as_ref()?.spec.as_ref(),
            PodSpecAt::SpecTemplate => object.spec.as_ref()?.template.as_ref()?.spec.as_ref(),
            PodSpecAt::JobTemplate => object
                .spec
                .as_ref()?
                .job_template
                .as_ref()?
                .spec
                .as_ref()?
                .template
                .as_ref()?
                .spec
                .as_ref(),
        }
    }

    /// The same place as object keys, for editing the object as JSON.
    pub fn keys(&self) -> &'static [&'static str] {
        match self {
            PodSpecAt::Spec => &["spec"],
            PodSpecAt::Template => &["template", "spec"],
            PodSpecAt::SpecTemplate => &["spec", "template", "spec"],
            PodSpecAt::JobTemplate => &["spec", "jobTemplate", "spec", "template", "spec"],
        }
    }

    /// True when the object is a Pod rather than something that creates Pods.
    pub fn is_pod(&self) -> bool {
        matches!(self, PodSpecAt::Spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handled_kind_has_a_target() {
        let cases = [
            ("", "Pod", Target::PodSpec(PodSpecAt::Spec)),
            ("", "PodTemplate", Target::PodSpec(PodSpecAt::Template)),
            (
                "",
                "ReplicationController",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps",
                "Deployment",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps",
                "DaemonSet",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps",
                "StatefulSet",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps",
                "ReplicaSet",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            ("batch", "Job", Target::PodSpec(PodSpecAt::SpecTemplate)),
            ("batch", "CronJob", Target::PodSpec(PodSpecAt::JobTemplate)),
            ("", "PersistentVolume", Target::PersistentVolume),
        ];
        for (group, kind, expected) in cases {
            assert_eq!(target(group, kind), Some(expected), "{group}/{kind}");
        }
    }

    #[test]
    fn other_kinds_and_groups_are_not_handled() {
        assert_eq!(target("", "ConfigMap"), None);
        assert_eq!(target("apps", "Pod"), None);
        assert_eq!(target("example.com", "Deployment"), None);
    }

    #[test]
    fn selects_the_cronjob_pod_spec() {
        let object: KubeObject = serde_json::from_str(
            r#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}"#,
        )
        .unwrap();
        let spec = PodSpecAt::JobTemplate.select(&object).unwrap();
        assert_eq!(spec.container_lists().unwrap()[0][0].name, "c");
        assert!(PodSpecAt::SpecTemplate.select(&object).is_none());
    }
}
