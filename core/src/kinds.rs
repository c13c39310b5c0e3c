//! Where each kind the policy handles keeps its pod specs (or its host path): one row per
//! kind. The object is read at those places, and mutation edits what was read there.

use crate::request::Spec;

/// What the policy inspects in an object of a given kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The pod specs at these places (those the object has).
    PodSpecs(&'static [PodSpecAt]),
    /// A PersistentVolume's `spec.hostPath` and `spec.local`.
    PersistentVolume,
}

/// A workload of OpenKruise's UnitedDeployment, each kept at `spec.template.<kind>Template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum United {
    StatefulSet,
    AdvancedStatefulSet,
    CloneSet,
    Deployment,
}

/// The place of a pod spec inside an object.
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
    /// Knative Revision, OpenKruise SidecarSet (whose containers and volumes Kruise injects
    /// into the Pods it selects): `spec` holds a pod spec's lists, but the object is no Pod.
    SpecNotPod,
    /// OpenKruise AdvancedCronJob: `spec.template.jobTemplate.spec.template.spec`.
    AdvancedJob,
    /// OpenKruise AdvancedCronJob: `spec.template.broadcastJobTemplate.spec.template.spec`.
    AdvancedBroadcastJob,
    /// OpenKruise UnitedDeployment: `spec.template.<kind>Template.spec.template.spec`.
    United(United),
    /// KEDA ScaledJob: `spec.jobTargetRef.template.spec`.
    ScaledJob,
    /// Argo Workflow, WorkflowTemplate, ClusterWorkflowTemplate: `spec.volumes` with
    /// `spec.templates[]` (and the templates inline in their steps and DAG tasks) and
    /// `spec.templateDefaults`.
    Workflow,
    /// Argo CronWorkflow: the same under `spec.workflowSpec`.
    CronWorkflow,
}

/// The target of a kind, or `None` for kinds the policy does not know (see [`CANDIDATES`]).
pub fn target(group: &str, kind: &str) -> Option<Target> {
    use PodSpecAt::*;
    let at: &'static [PodSpecAt] = match (group, kind) {
        ("", "Pod") => &[Spec],
        ("", "PodTemplate") => &[Template],
        ("", "ReplicationController")
        | ("apps", "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("argoproj.io", "Rollout")
        | ("apps.kruise.io", "CloneSet" | "StatefulSet" | "DaemonSet" | "BroadcastJob")
        | ("serving.knative.dev", "Service" | "Configuration") => &[SpecTemplate],
        ("batch", "CronJob") => &[JobTemplate],
        ("serving.knative.dev", "Revision") | ("apps.kruise.io", "SidecarSet") => &[SpecNotPod],
        ("apps.kruise.io", "AdvancedCronJob") => &[AdvancedJob, AdvancedBroadcastJob],
        ("apps.kruise.io", "UnitedDeployment") => &[
            United(self::United::StatefulSet),
            United(self::United::AdvancedStatefulSet),
            United(self::United::CloneSet),
            United(self::United::Deployment),
        ],
        ("keda.sh", "ScaledJob") => &[ScaledJob],
        ("argoproj.io", "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate") => &[Workflow],
        ("argoproj.io", "CronWorkflow") => &[CronWorkflow],
        ("", "PersistentVolume") => return Some(Target::PersistentVolume),
        _ => return None,
    };
    Some(Target::PodSpecs(at))
}

/// Where an OpenKruise UnitedDeployment keeps its subsets, whose `patch` Kruise merges into the
/// workload it makes for each (see `patches::subset_problems`).
pub const SUBSETS: &[&str] = &["spec", "topology", "subsets"];

/// Where an object of a kind the policy does not know may keep a pod template: each of these
/// that reads as a pod spec and lists containers is judged (`unknownKinds: scan`).
pub const CANDIDATES: &[PodSpecAt] = &[
    PodSpecAt::SpecTemplate,
    PodSpecAt::JobTemplate,
    PodSpecAt::Template,
    PodSpecAt::SpecNotPod,
];

/// A pod spec read at its place in an object, each of its parts knowing where it is.
#[derive(Debug)]
pub struct Located<'a> {
    pub at: PodSpecAt,
    pub spec: Spec<'a>,
}

impl<'a> Located<'a> {
    /// The pod spec (for a workflow, the workflow spec) read at `at`; its parts are told where
    /// they are, to locate what cannot be read in them.
    pub fn new(at: PodSpecAt, mut spec: Spec<'a>) -> Located<'a> {
        spec.path = at.path();
        if at.is_workflow() {
            let path = spec.path.clone();
            if let Some(defaults) = &mut spec.template_defaults {
                place_template(defaults, format!("{path}.templateDefaults"));
            }
            for (i, template) in spec.templates.iter_mut().flatten().enumerate() {
                place_template(template, format!("{path}.templates[{i}]"));
            }
        }
        Located { at, spec }
    }

    /// The parts whose volumes and containers make up its Pods: the pod spec, or a workflow
    /// spec with its template defaults and templates (each followed by the templates inline
    /// in its steps and DAG tasks). A mount in any part reaches the volumes of every part
    /// (Argo gives each template the workflow's volumes; across templates this
    /// over-approximates, which fails closed). Each knows where it is (`Spec::path`).
    pub fn parts(&self) -> Vec<&Spec<'a>> {
        let mut parts = vec![&self.spec];
        if self.at.is_workflow() {
            let templates = self.spec.templates.iter().flatten();
            for template in self
                .spec
                .template_defaults
                .as_deref()
                .into_iter()
                .chain(templates)
            {
                push_template(&mut parts, template);
            }
        }
        parts
    }
}

/// Tells a workflow template, and the templates inline in it, where they are.
fn place_template(template: &mut Spec, path: String) {
    let steps = template.steps.iter_mut().flatten().enumerate();
    for (i, parallel) in steps {
        for (j, step) in parallel.iter_mut().enumerate() {
            if let Some(inline) = &mut step.inline {
                place_template(inline, format!("{path}.steps[{i}][{j}].inline"));
            }
        }
    }
    let tasks = template
        .dag
        .iter_mut()
        .flat_map(|dag| dag.tasks.iter_mut().flatten());
    for (i, task) in tasks.enumerate() {
        if let Some(inline) = &mut task.inline {
            place_template(inline, format!("{path}.dag.tasks[{i}].inline"));
        }
    }
    template.path = path;
}

/// A workflow template and, after it, the templates inline in its steps and DAG tasks.
fn push_template<'s, 'a>(parts: &mut Vec<&'s Spec<'a>>, template: &'s Spec<'a>) {
    parts.push(template);
    let steps = template.steps.iter().flatten().flatten();
    let tasks = template
        .dag
        .iter()
        .flat_map(|dag| dag.tasks.iter().flatten());
    for inline in steps.chain(tasks).filter_map(|step| step.inline.as_deref()) {
        push_template(parts, inline);
    }
}

impl PodSpecAt {
    /// The place as object keys.
    pub fn keys(&self) -> &'static [&'static str] {
        match self {
            PodSpecAt::Spec | PodSpecAt::SpecNotPod | PodSpecAt::Workflow => &["spec"],
            PodSpecAt::Template => &["template", "spec"],
            PodSpecAt::SpecTemplate => &["spec", "template", "spec"],
            PodSpecAt::JobTemplate => &["spec", "jobTemplate", "spec", "template", "spec"],
            PodSpecAt::AdvancedJob => &[
                "spec",
                "template",
                "jobTemplate",
                "spec",
                "template",
                "spec",
            ],
            PodSpecAt::AdvancedBroadcastJob => &[
                "spec",
                "template",
                "broadcastJobTemplate",
                "spec",
                "template",
                "spec",
            ],
            PodSpecAt::United(United::StatefulSet) => &[
                "spec",
                "template",
                "statefulSetTemplate",
                "spec",
                "template",
                "spec",
            ],
            PodSpecAt::United(United::AdvancedStatefulSet) => &[
                "spec",
                "template",
                "advancedStatefulSetTemplate",
                "spec",
                "template",
                "spec",
            ],
            PodSpecAt::United(United::CloneSet) => &[
                "spec",
                "template",
                "cloneSetTemplate",
                "spec",
                "template",
                "spec",
            ],
            PodSpecAt::United(United::Deployment) => &[
                "spec",
                "template",
                "deploymentTemplate",
                "spec",
                "template",
                "spec",
            ],
            PodSpecAt::ScaledJob => &["spec", "jobTargetRef", "template", "spec"],
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
            PodSpecAt::Workflow | PodSpecAt::CronWorkflow | PodSpecAt::SpecNotPod => self.keys(),
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

    pub fn is_workflow(&self) -> bool {
        matches!(self, PodSpecAt::Workflow | PodSpecAt::CronWorkflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{PartError, read_at};
    use serde_json::value::RawValue;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    fn read<'a>(text: &'a RawValue, at: PodSpecAt) -> Result<Option<Located<'a>>, PartError> {
        let spec: Option<Spec> = read_at(text, at.keys())?;
        Ok(spec.map(|spec| Located::new(at, spec)))
    }

    #[test]
    fn every_handled_kind_has_a_target() {
        use PodSpecAt::*;
        let cases: &[(&str, &str, &[PodSpecAt])] = &[
            ("", "Pod", &[Spec]),
            ("", "PodTemplate", &[Template]),
            ("", "ReplicationController", &[SpecTemplate]),
            ("apps", "Deployment", &[SpecTemplate]),
            ("apps", "DaemonSet", &[SpecTemplate]),
            ("apps", "StatefulSet", &[SpecTemplate]),
            ("apps", "ReplicaSet", &[SpecTemplate]),
            ("batch", "Job", &[SpecTemplate]),
            ("batch", "CronJob", &[JobTemplate]),
            ("argoproj.io", "Rollout", &[SpecTemplate]),
            ("apps.kruise.io", "CloneSet", &[SpecTemplate]),
            ("apps.kruise.io", "StatefulSet", &[SpecTemplate]),
            ("apps.kruise.io", "DaemonSet", &[SpecTemplate]),
            ("apps.kruise.io", "BroadcastJob", &[SpecTemplate]),
            ("apps.kruise.io", "SidecarSet", &[SpecNotPod]),
            (
                "apps.kruise.io",
                "AdvancedCronJob",
                &[AdvancedJob, AdvancedBroadcastJob],
            ),
            ("keda.sh", "ScaledJob", &[ScaledJob]),
            ("serving.knative.dev", "Service", &[SpecTemplate]),
            ("serving.knative.dev", "Configuration", &[SpecTemplate]),
            ("serving.knative.dev", "Revision", &[SpecNotPod]),
            ("argoproj.io", "Workflow", &[Workflow]),
            ("argoproj.io", "WorkflowTemplate", &[Workflow]),
            ("argoproj.io", "ClusterWorkflowTemplate", &[Workflow]),
            ("argoproj.io", "CronWorkflow", &[CronWorkflow]),
        ];
        for (group, kind, expected) in cases {
            assert_eq!(
                target(group, kind),
                Some(Target::PodSpecs(expected)),
                "{group}/{kind}"
            );
        }
        assert_eq!(
            target("", "PersistentVolume"),
            Some(Target::PersistentVolume)
        );
        let Some(Target::PodSpecs(united)) = target("apps.kruise.io", "UnitedDeployment") else {
            panic!("UnitedDeployment has pod specs");
        };
        let paths: Vec<String> = united.iter().map(PodSpecAt::path).collect();
        assert_eq!(
            paths,
            [
                "spec.template.statefulSetTemplate.spec.template.spec",
                "spec.template.advancedStatefulSetTemplate.spec.template.spec",
                "spec.template.cloneSetTemplate.spec.template.spec",
                "spec.template.deploymentTemplate.spec.template.spec",
            ]
        );
    }

    #[test]
    fn other_kinds_and_groups_are_not_handled() {
        assert_eq!(target("", "ConfigMap"), None);
        assert_eq!(target("apps", "Pod"), None);
        assert_eq!(target("example.com", "Deployment"), None);
    }

    #[test]
    fn reads_only_the_place_of_the_kind() {
        let text = raw(
            r#"{"spec":{"template":"a string","local":true,"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}"#,
        );
        let located = read(text, PodSpecAt::JobTemplate).unwrap().unwrap();
        assert_eq!(located.spec.container_lists()[0][0].name, "c");
        assert_eq!(located.spec.path, "spec.jobTemplate.spec.template.spec");
        assert!(read(text, PodSpecAt::SpecTemplate).is_err());
        assert!(read(text, PodSpecAt::Template).unwrap().is_none());
        let twice = raw(r#"{"spec":{"a":1},"spec":{"b":2}}"#);
        assert!(read(twice, PodSpecAt::Spec).is_err());
    }

    #[test]
    fn a_workflow_is_its_spec_its_defaults_its_templates_and_their_inline_templates() {
        let text = r#"{"spec":{"workflowSpec":{"volumes":[],"templateDefaults":{"container":{"name":"d"}},
            "templates":[{"name":"a","container":{"image":"x"},
              "steps":[[{"name":"s","inline":{"container":{"image":"in-step"},
                 "dag":{"tasks":[{"name":"t","inline":{"script":{"image":"nested"}}}]}}}],
                 [{"name":"u","template":"b"}]]},
            {"name":"b","script":{"name":"s"},
            "sidecars":[{"name":"side","mirrorVolumeMounts":true}],"initContainers":[{"name":"i"}],
            "containerSet":{"volumeMounts":[{"name":"v"}],"containers":[{"name":"c1"},{"name":"c2","volumeMounts":[{"name":"w"}]}]},
            "dag":{"tasks":[{"name":"d","inline":{"container":{"name":"in-dag"}}}]}}]}}}"#;
        let located = read(raw(text), PodSpecAt::CronWorkflow).unwrap().unwrap();
        let parts = located.parts();
        let paths: Vec<&str> = parts.iter().map(|part| part.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.workflowSpec",
                "spec.workflowSpec.templateDefaults",
                "spec.workflowSpec.templates[0]",
                "spec.workflowSpec.templates[0].steps[0][0].inline",
                "spec.workflowSpec.templates[0].steps[0][0].inline.dag.tasks[0].inline",
                "spec.workflowSpec.templates[1]",
                "spec.workflowSpec.templates[1].dag.tasks[0].inline",
            ]
        );
        let names = |part: &Spec| -> Vec<Vec<String>> {
            part.container_lists()
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
        // Argo names a template's `container` or `script` main, whatever name it was given.
        assert_eq!(names(parts[1])[0], ["main[]"]);
        assert_eq!(names(parts[3])[0], ["main[]"]);
        assert_eq!(names(parts[4])[0], ["main[]"]);
        // The main containers (the script, named main, and the containerSet's) come first,
        // then the sidecars.
        assert_eq!(
            names(parts[5]),
            [
                vec![
                    "main[]".to_string(),
                    "c1[\"v\"]".into(),
                    "c2[\"w\", \"v\"]".into(),
                    "side[]".into()
                ],
                vec!["i[]".to_string()],
                vec![]
            ]
        );
    }
}
