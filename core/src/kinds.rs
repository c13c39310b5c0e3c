//! Where each kind the policy handles keeps its pod specs (or its host path).

use crate::json_text::{self, Fields};
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
    /// Deployment, DaemonSet, StatefulSet, ReplicaSet, ReplicationController, Job, and the
    /// workloads of Argo Rollouts, OpenKruise and Knative: `spec.template.spec`.
    SpecTemplate,
    /// CronJob: `spec.jobTemplate.spec.template.spec`.
    JobTemplate,
    /// Knative Revision: `spec` is a pod spec, but the object is not a Pod.
    RevisionSpec,
    /// Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate: `spec.volumes` with
    /// `spec.templates[]` and `spec.templateDefaults`.
    Workflow,
    /// Argo CronWorkflow: the same under `spec.workflowSpec`.
    CronWorkflow,
}

/// What a part of a workflow is, as a path suffix after the workflow spec's own path.
#[derive(Debug, Clone, Copy)]
enum Part {
    Spec,
    TemplateDefaults,
    Template(usize),
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Spec => Ok(()),
            Part::TemplateDefaults => f.write_str(".templateDefaults"),
            Part::Template(i) => write!(f, ".templates[{i}]"),
        }
    }
}

/// The target of a kind, or `None` for kinds the policy does not know (see [`discover`]).
pub fn target(group: &str, kind: &str) -> Option<Target> {
    let at = match (group, kind) {
        ("", "Pod") => PodSpecAt::Spec,
        ("", "PodTemplate") => PodSpecAt::Template,
        ("", "ReplicationController")
        | ("apps", "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("argoproj.io", "Rollout")
        | ("apps.kruise.io", "CloneSet" | "StatefulSet" | "DaemonSet" | "BroadcastJob")
        | ("serving.knative.dev", "Service" | "Configuration") => PodSpecAt::SpecTemplate,
        ("batch", "CronJob") => PodSpecAt::JobTemplate,
        ("serving.knative.dev", "Revision") => PodSpecAt::RevisionSpec,
        ("argoproj.io", "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate") => {
            PodSpecAt::Workflow
        }
        ("argoproj.io", "CronWorkflow") => PodSpecAt::CronWorkflow,
        ("", "PersistentVolume") => return Some(Target::PersistentVolume),
        _ => return None,
    };
    Some(Target::PodSpec(at))
}

/// The pod template of an object of a kind the policy does not know: a `spec.template.spec`,
/// else a `spec.jobTemplate.spec.template.spec`, that lists containers.
pub fn discover(object: &KubeObject) -> Option<PodSpecAt> {
    [PodSpecAt::SpecTemplate, PodSpecAt::JobTemplate]
        .into_iter()
        .find(|at| at.select(object).is_some_and(Spec::has_containers))
}

impl PodSpecAt {
    /// The pod spec of `object`, if it has one (for a workflow, the workflow spec).
    pub fn select<'b, 'x>(&self, object: &'b KubeObject<'x>) -> Option<&'b Spec<'x>> {
        let spec = object.spec.as_deref();
        match self {
            PodSpecAt::Spec | PodSpecAt::RevisionSpec | PodSpecAt::Workflow => spec,
            PodSpecAt::Template => object.template.as_ref()?.spec.as_deref(),
            PodSpecAt::SpecTemplate => spec?.template.as_ref()?.spec.as_deref(),
            PodSpecAt::JobTemplate => spec?
                .job_template
                .as_ref()?
                .spec
                .as_ref()?
                .template
                .as_ref()?
                .spec
                .as_deref(),
            PodSpecAt::CronWorkflow => spec?.workflow_spec.as_deref(),
        }
    }

    /// The parts of `object` whose volumes and containers make up its Pods: the pod spec, or a
    /// workflow spec with its template defaults and templates. A mount in any part reaches
    /// the volumes of every part (Argo gives each template the workflow's volumes; across
    /// templates this over-approximates, which fails closed).
    pub fn parts<'b, 'x>(&self, object: &'b KubeObject<'x>) -> Vec<&'b Spec<'x>> {
        if !self.is_workflow() {
            return self.select(object).into_iter().collect();
        }
        self.named_parts(object)
            .into_iter()
            .map(|(_, part)| part)
            .collect()
    }

    /// [`PodSpecAt::parts`], each with what it is in the object.
    fn named_parts<'b, 'x>(&self, object: &'b KubeObject<'x>) -> Vec<(Part, &'b Spec<'x>)> {
        let Some(spec) = self.select(object) else {
            return Vec::new();
        };
        let mut parts = vec![(Part::Spec, spec)];
        if self.is_workflow() {
            parts.extend(
                spec.template_defaults
                    .as_deref()
                    .map(|defaults| (Part::TemplateDefaults, defaults)),
            );
            parts.extend(
                spec.templates
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, template)| (Part::Template(i), template)),
            );
        }
        parts
    }

    /// The parts of `object` (its JSON text) as their fields, in the order of
    /// [`PodSpecAt::parts`]. Only objects are parts, as only objects are read as pod specs.
    pub fn text_parts<'t>(&self, object: &'t [u8]) -> Result<Vec<Fields<'t>>, String> {
        let spec = json_text::at(object, self.keys());
        let spec_fields = spec.and_then(json_text::fields);
        let (Some(spec), Some(spec_fields)) = (spec, spec_fields) else {
            return Err(format!("the object has no pod spec at {}", self.path()));
        };
        let mut parts = vec![spec_fields];
        if self.is_workflow() {
            let templates = json_text::field(spec, "templates").and_then(json_text::items);
            parts.extend(
                json_text::field(spec, "templateDefaults")
                    .into_iter()
                    .chain(templates.into_iter().flatten())
                    .filter_map(json_text::fields),
            );
        }
        Ok(parts)
    }

    /// The `podSpecPatch` strings of a workflow that can add a hostPath volume, by where they
    /// are (`spec.templates[0].podSpecPatch`), with their text. Argo merges them into each Pod
    /// after admission, and reads their keys case-insensitively (Go's encoding/json), so any
    /// spelling of `hostPath`, and any escape that could spell it, counts.
    pub fn host_path_patches<'b>(&self, object: &'b KubeObject) -> Vec<(String, &'b str)> {
        if !self.is_workflow() {
            return Vec::new();
        }
        self.named_parts(object)
            .into_iter()
            .filter_map(|(part, spec)| {
                let patch = spec.pod_spec_patch.as_deref()?;
                let can_add =
                    patch.contains('\\') || patch.to_ascii_lowercase().contains("hostpath");
                can_add.then(|| (format!("{}{part}.podSpecPatch", self.path()), patch))
            })
            .collect()
    }

    /// The place as object keys.
    pub fn keys(&self) -> &'static [&'static str] {
        match self {
            PodSpecAt::Spec | PodSpecAt::RevisionSpec | PodSpecAt::Workflow => &["spec"],
            PodSpecAt::Template => &["template", "spec"],
            PodSpecAt::SpecTemplate => &["spec", "template", "spec"],
            PodSpecAt::JobTemplate => &["spec", "jobTemplate", "spec", "template", "spec"],
            PodSpecAt::CronWorkflow => &["spec", "workflowSpec"],
        }
    }

    /// The place as users write it: `spec.template.spec`.
    pub fn path(&self) -> String {
        self.keys().join(".")
    }

    /// The keys of what the controller makes Pods from: a change there changes its Pods.
    pub fn template_keys(&self) -> &'static [&'static str] {
        match self {
            PodSpecAt::Workflow | PodSpecAt::CronWorkflow | PodSpecAt::RevisionSpec => self.keys(),
            _ => {
                let keys = self.keys();
                &keys[..keys.len() - 1]
            }
        }
    }

    /// True when the object is a Pod rather than something that creates Pods.
    pub fn is_pod(&self) -> bool {
        matches!(self, PodSpecAt::Spec)
    }

    fn is_workflow(&self) -> bool {
        matches!(self, PodSpecAt::Workflow | PodSpecAt::CronWorkflow)
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
            (
                "argoproj.io",
                "Rollout",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps.kruise.io",
                "CloneSet",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps.kruise.io",
                "StatefulSet",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps.kruise.io",
                "DaemonSet",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "apps.kruise.io",
                "BroadcastJob",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "serving.knative.dev",
                "Service",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "serving.knative.dev",
                "Configuration",
                Target::PodSpec(PodSpecAt::SpecTemplate),
            ),
            (
                "serving.knative.dev",
                "Revision",
                Target::PodSpec(PodSpecAt::RevisionSpec),
            ),
            (
                "argoproj.io",
                "Workflow",
                Target::PodSpec(PodSpecAt::Workflow),
            ),
            (
                "argoproj.io",
                "WorkflowTemplate",
                Target::PodSpec(PodSpecAt::Workflow),
            ),
            (
                "argoproj.io",
                "ClusterWorkflowTemplate",
                Target::PodSpec(PodSpecAt::Workflow),
            ),
            (
                "argoproj.io",
                "CronWorkflow",
                Target::PodSpec(PodSpecAt::CronWorkflow),
            ),
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
        let object: KubeObject = crate::json::from_str(
            r#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}"#,
        )
        .unwrap();
        let spec = PodSpecAt::JobTemplate.select(&object).unwrap();
        assert_eq!(spec.container_lists(None).unwrap()[0][0].name, "c");
        assert!(PodSpecAt::SpecTemplate.select(&object).is_none());
        assert_eq!(discover(&object), Some(PodSpecAt::JobTemplate));
    }

    #[test]
    fn discovers_only_templates_that_list_containers() {
        fn read(text: &'static str) -> KubeObject<'static> {
            crate::json::from_str(text).unwrap()
        }
        let found = read(r#"{"spec":{"template":{"spec":{"containers":[]}}}}"#);
        assert_eq!(discover(&found), Some(PodSpecAt::SpecTemplate));
        let not_a_pod = read(r#"{"spec":{"template":{"spec":{"volumes":[]}}}}"#);
        assert_eq!(discover(&not_a_pod), None);
        assert_eq!(discover(&read("{}")), None);
    }

    #[test]
    fn pod_spec_patches_that_can_add_a_host_path() {
        let text = r#"{"spec":{"workflowSpec":{"podSpecPatch":"{\"containers\":[]}",
            "templateDefaults":{"podSpecPatch":"volumes: [{name: x, hostpath: {path: /}}]"},
            "templates":[{"podSpecPatch":"{\"volumes\":[{\"host\\u0050ath\":{}}]}"},{}]}}}"#;
        let object: KubeObject = crate::json::from_str(text).unwrap();
        let paths: Vec<String> = PodSpecAt::CronWorkflow
            .host_path_patches(&object)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(
            paths,
            [
                "spec.workflowSpec.templateDefaults.podSpecPatch",
                "spec.workflowSpec.templates[0].podSpecPatch"
            ]
        );
        assert!(
            PodSpecAt::SpecTemplate
                .host_path_patches(&object)
                .is_empty()
        );
    }

    #[test]
    fn a_workflow_is_its_spec_its_defaults_and_its_templates() {
        let text = r#"{"spec":{"workflowSpec":{"volumes":[],"templateDefaults":{"container":{"name":"d"}},
            "templates":[{"name":"a","container":{"image":"x"}},{"name":"b","script":{"name":"s"},
            "sidecars":[{"name":"side"}],"initContainers":[{"name":"i"}],
            "containerSet":{"volumeMounts":[{"name":"v"}],"containers":[{"name":"c1"},{"name":"c2","volumeMounts":[{"name":"w"}]}]}}]}}}"#;
        let object: KubeObject = crate::json::from_str(text).unwrap();
        let parts = PodSpecAt::CronWorkflow.parts(&object);
        assert_eq!(parts.len(), 4);
        let names = |part: &Spec| -> Vec<Vec<String>> {
            part.container_lists(None)
                .unwrap()
                .iter()
                .map(|list| {
                    list.iter()
                        .map(|c| {
                            let mounts: Vec<&str> =
                                c.volume_mounts.iter().flatten().map(|m| &*m.name).collect();
                            format!("{}{:?}", c.name, mounts)
                        })
                        .collect()
                })
                .collect()
        };
        assert_eq!(names(parts[1])[0], ["d[]"]);
        assert_eq!(names(parts[2])[0], ["main[]"]);
        assert_eq!(
            names(parts[3]),
            [
                vec![
                    "s[]".to_string(),
                    "side[]".into(),
                    "c1[\"v\"]".into(),
                    "c2[\"w\", \"v\"]".into()
                ],
                vec!["i[]".to_string()],
                vec![]
            ]
        );
        let text_parts = PodSpecAt::CronWorkflow.text_parts(text.as_bytes()).unwrap();
        assert_eq!(text_parts.len(), 4);
        let (key, value) = &text_parts[1][0];
        assert_eq!(
            (&**key, *value),
            (&b"container"[..], &br#"{"name":"d"}"#[..])
        );
    }
}
