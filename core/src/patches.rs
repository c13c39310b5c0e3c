//! Argo's `podSpecPatch`: a JSON or YAML string that Argo merges into each Pod of a workflow
//! after admission. It is decoded as Argo decodes it (YAML 1.1 through sigs.k8s.io/yaml, see
//! [`kube_yaml`](crate::kube_yaml); then keys matched to fields as Go's `encoding/json` matches
//! them, case-insensitively with Unicode folding), and refused when it can change what the
//! policy judged: the volumes, the mounts or image of a container that mounts a hostPath
//! volume, or who shares a process namespace. What cannot be decoded is refused.

use crate::json_text;
use crate::kinds::{self, Located};
use crate::kube_yaml::{self, Value};
use crate::request::Spec;
use std::collections::BTreeSet;

/// The problem of each `podSpecPatch` of a workflow that the policy cannot admit, by where it
/// is (`spec.templates[0].podSpecPatch`).
pub fn problems(located: &Located) -> Vec<(String, String)> {
    let parts = located.parts();
    let patches: Vec<(&String, &str)> = parts
        .iter()
        .filter_map(|part| Some((&part.path, part.pod_spec_patch.as_deref()?)))
        .collect();
    if patches.is_empty() {
        return Vec::new();
    }
    let context = Context::of(&parts);
    patches
        .into_iter()
        .filter_map(|(path, patch)| {
            let problem = context.problem(patch)?;
            Some((format!("{path}.podSpecPatch"), problem))
        })
        .collect()
}

/// The problem of each patch an OpenKruise UnitedDeployment's subsets carry (`patch`, merged
/// into the workload Kruise makes for the subset, after admission) that the policy cannot
/// admit, by where it is (`spec.topology.subsets[0].patch`). `object` is the object's text;
/// `located`, the pod templates read from it. The patch is a strategic merge patch of the
/// whole workload, decoded as Go decodes it: any key at any depth that can add a volume, a
/// mount, or change what reaches one, is refused.
pub fn subset_problems(located: &[&Located], object: &[u8]) -> Vec<(String, String)> {
    let Some(subsets) = json_text::at(object, kinds::SUBSETS).and_then(json_text::items) else {
        return Vec::new();
    };
    let parts: Vec<&Spec> = located.iter().flat_map(|located| located.parts()).collect();
    let context = Context::of(&parts);
    let mut problems = Vec::new();
    for (i, subset) in subsets.into_iter().enumerate() {
        let Some(patch) = json_text::field(subset, "patch") else {
            continue;
        };
        let problem = match std::str::from_utf8(patch).map(kube_yaml::parse) {
            Ok(Ok(patch)) => context.problem_anywhere(&patch),
            _ => Some("cannot be read".to_string()),
        };
        if let Some(problem) = problem {
            problems.push((format!("spec.topology.subsets[{i}].patch"), problem));
        }
    }
    problems
}

impl<'c> Context<'c> {
    /// Every hostPath volume of the parts (one that exposes nothing may be retargeted by a
    /// subPath), and every container that mounts one.
    fn of(parts: &[&'c Spec<'_>]) -> Context<'c> {
        // Every hostPath volume (one that exposes nothing may be retargeted by a subPath), and
        // every container that mounts one.
        let volumes: BTreeSet<&str> = parts
            .iter()
            .flat_map(|part| part.volumes.iter().flatten())
            .filter(|volume| volume.host_path.is_some())
            .map(|volume| &*volume.name)
            .collect();
        let mut mounters: BTreeSet<&str> = BTreeSet::new();
        if !volumes.is_empty() {
            for part in parts {
                part.visit_containers(|container, _| {
                    let mounts = container.volume_mounts.iter().flatten();
                    if mounts.clone().any(|mount| volumes.contains(&*mount.name)) {
                        mounters.insert(&container.name);
                    }
                });
            }
        }
        // A container that mirrors the main container's mounts gets them when the Pod is built.
        if !mounters.is_empty() {
            for part in parts {
                part.visit_containers(|container, _| {
                    if container.mirror_volume_mounts == Some(true) {
                        mounters.insert(&container.name);
                    }
                });
            }
        }
        Context { volumes, mounters }
    }
}

struct Context<'c> {
    volumes: BTreeSet<&'c str>,
    mounters: BTreeSet<&'c str>,
}

impl Context<'_> {
    /// Why the policy cannot admit `patch`, if it cannot.
    fn problem(&self, patch: &str) -> Option<String> {
        if patch.contains("{{") {
            return Some(
                "uses {{...}}, which Argo fills in with text before it decodes the patch, so \
                 what the patch adds is known only when the workflow runs"
                    .to_string(),
            );
        }
        let value = match kube_yaml::parse(patch) {
            Ok(value) => value,
            Err(error) => {
                return Some(format!(
                    "cannot be decoded as Argo decodes it (YAML 1.1): {error}"
                ));
            }
        };
        if has_key(&value, "hostpath") {
            return Some("adds a hostPath volume".to_string());
        }
        let fields = match &value {
            Value::Object(fields) => fields,
            Value::Null => return None,
            _ => return Some("is not a map of pod spec fields".to_string()),
        };
        for (key, value) in fields {
            match &*fold(key) {
                "volumes" => return Some("adds or changes volumes".to_string()),
                "shareprocessnamespace" | "hostpid" if !self.volumes.is_empty() => {
                    return Some(
                        "changes which containers share a process namespace, and with it who \
                         reaches the hostPath volumes"
                            .to_string(),
                    );
                }
                "containers" | "initcontainers" | "ephemeralcontainers" => {
                    if let Some(problem) = self.containers_problem(value) {
                        return Some(problem);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Why a patch of a whole workload cannot be admitted, if it cannot: what `problem` refuses
    /// in a pod spec, looked for in every map of the patch.
    fn problem_anywhere(&self, patch: &Value) -> Option<String> {
        if has_key(patch, "hostpath") {
            return Some("adds a hostPath volume".to_string());
        }
        match patch {
            Value::Object(fields) => fields.iter().find_map(|(key, value)| {
                let here = match &*fold(key) {
                    "volumes" => Some("adds or changes volumes".to_string()),
                    "shareprocessnamespace" | "hostpid" if !self.volumes.is_empty() => Some(
                        "changes which containers share a process namespace, and with it who \
                         reaches the hostPath volumes"
                            .to_string(),
                    ),
                    "containers" | "initcontainers" | "ephemeralcontainers" => {
                        self.containers_problem(value)
                    }
                    _ => None,
                };
                here.or_else(|| self.problem_anywhere(value))
            }),
            Value::Array(items) => items.iter().find_map(|item| self.problem_anywhere(item)),
            _ => None,
        }
    }

    /// Why a patch's list of containers cannot be admitted, if it cannot.
    fn containers_problem(&self, list: &Value) -> Option<String> {
        let items = match list {
            Value::Array(items) => items,
            Value::Null => return None,
            _ => return Some("has a container list that is not a list".to_string()),
        };
        for item in items {
            let Value::Object(fields) = item else {
                return Some("has a container that is not a map".to_string());
            };
            // Argo merges a patch's container into the Pod's by the exact key `name`, and Go
            // then decodes every key that folds to `name`: the container is taken for a
            // mounter if any of them names one (or is not a plain name), or, when a container
            // mounts a hostPath volume, if it has no `name` to be merged by (the list is then
            // decoded into the Pod's containers by position).
            let names = fields.iter().filter(|(key, _)| fold(key) == "name");
            let name = names
                .clone()
                .find_map(|(key, name)| match name {
                    Value::String(name) if key == "name" => Some(name.as_str()),
                    _ => None,
                })
                .unwrap_or_default();
            let mounter = names.clone().any(|(_, name)| match name {
                Value::String(name) => self.mounters.contains(name.as_str()),
                _ => true,
            }) || (!self.mounters.is_empty()
                && !fields.iter().any(|(key, _)| key == "name"));
            for (key, value) in fields {
                let reason = match &*fold(key) {
                    "volumemounts" if mounter || self.mounts_host_path(value) => "volumeMounts",
                    "image" if mounter => "image",
                    "targetcontainername" if matches!(value, Value::String(target) if self.mounters.contains(target.as_str())) => {
                        "debug target"
                    }
                    _ => continue,
                };
                return Some(format!(
                    "changes the {reason} of container {:?}, which reaches a hostPath volume",
                    name
                ));
            }
        }
        None
    }

    /// True when a patch's mounts name a hostPath volume (or are not a list of mounts).
    fn mounts_host_path(&self, mounts: &Value) -> bool {
        let Value::Array(mounts) = mounts else {
            return !matches!(mounts, Value::Null);
        };
        mounts.iter().any(|mount| match mount {
            Value::Object(fields) => fields.iter().any(|(key, value)| {
                fold(key) == "name"
                    && !matches!(value, Value::String(name) if !self.volumes.contains(name.as_str()))
            }),
            _ => true,
        })
    }
}

/// True when `value` has, at any depth, a key that Go's `encoding/json` matches to `field`
/// (lower case).
fn has_key(value: &Value, field: &str) -> bool {
    match value {
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| fold(key) == field || has_key(value, field)),
        Value::Array(items) => items.iter().any(|item| has_key(item, field)),
        _ => false,
    }
}

/// A key as Go's `encoding/json` compares it with a field name: ASCII case folded, and the
/// two other characters whose simple case folding reaches an ASCII letter, `ſ` (U+017F, to
/// `s`) and `K` (U+212A, the Kelvin sign, to `k`). Any other character matches no field name.
fn fold(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context<'static> {
        Context {
            volumes: ["lib", "sock"].into_iter().collect(),
            mounters: ["main"].into_iter().collect(),
        }
    }

    #[test]
    fn patches_that_cannot_change_what_was_judged_are_admitted() {
        for patch in [
            r#"{"containers":[{"name":"main","resources":{"limits":{"memory":"1Gi"}}}]}"#,
            "containers:\n- name: main\n  env: [{name: A, value: b}]\n",
            "containers:\n- name: other\n  image: busybox\n",
            "containers:\n- name: other\n  volumeMounts: [{name: cache, mountPath: /c}]\n",
            "",
            "priorityClassName: high\nnodeSelector: {disk: ssd}\n",
        ] {
            assert_eq!(context().problem(patch), None, "{patch}");
        }
    }

    #[test]
    fn every_spelling_of_a_host_path_or_volumes_is_refused() {
        for patch in [
            r#"{"volumes":[{"name":"x","hostPath":{"path":"/"}}]}"#,
            r#"{"volumes":[{"name":"x","emptyDir":{}}]}"#,
            "Volumes: []",
            "VOLUMES: []",
            "hoſtPath: {path: /}",
            "x: {hostpath: {path: /}}",
            "? !!binary aG9zdFBhdGg=\n: {path: /}\n",
            "base: &b {hostPath: {path: /var/run/docker.sock}}\nx:\n  <<: *b\n",
            r#"{"host\u0050ath":{"path":"/"}}"#,
            "\"vol\\x75mes\": []",
        ] {
            assert!(context().problem(patch).is_some(), "{patch}");
        }
    }

    #[test]
    fn a_mounter_keeps_its_mounts_and_image() {
        for patch in [
            "containers: [{name: main, image: 'evil:1'}]",
            "containers: [{name: main, volumeMounts: [{name: lib, mountPath: /x, subPath: ../run/docker.sock}]}]",
            "containers: [{name: main, IMAGE: 'evil:1'}]",
            "containers: [{nameſ: x, name: main, Image: evil}]",
            "containers: [{name: main, Name: x, image: alpine}]",
            "containers: [{name: main, NAME: x, image: alpine}]",
            r#"{"containers":[{"name":"main","Name":"x","image":"alpine"}]}"#,
            "containers: [{name: main, Name: null, image: alpine}]",
            "Containers: [{}, {volumeMounts: [{mountPath: /x, subPath: docker.sock}]}]",
            "initContainers: [{name: other, volumeMounts: [{name: sock, mountPath: /s}]}]",
            "ephemeralContainers: [{name: dbg, targetContainerName: main}]",
            "shareProcessNamespace: true",
            "hostPID: true",
            "containers: {name: main}",
            "containers: [main]",
            "[1, 2]",
            "!!set {a, b}",
            "{{inputs.parameters.patch}}",
            "containers: [{name: main, resources: {limits: {memory: '{{inputs.parameters.m}}'}}}]",
            "a: [unclosed",
        ] {
            assert!(context().problem(patch).is_some(), "{patch}");
        }
    }

    #[test]
    fn keys_fold_as_go_folds_them() {
        assert_eq!(fold("hoſtPath"), "hostpath");
        assert_eq!(fold("\u{212A}ind"), "kind");
        assert_eq!(fold("volumeMounts"), "volumemounts");
        assert_ne!(fold("vołumes"), "volumes");
    }
}
