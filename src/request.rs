//! A typed view of the admission request that reads only what the policy decides on.
//!
//! Everything else in the object (env, probes, resources, unknown fields of newer Kubernetes
//! versions) is skipped by the parser without being built, which keeps evaluation close to the
//! cost of reading the request once. One struct serves every kind: each kind's pod spec sits at
//! a different place (see `kinds`), and fields a kind does not have are simply absent.

use crate::json_path;
use crate::settings::Settings;
use serde::Deserialize;

/// The waPC `validate` payload.
#[derive(Debug, Deserialize)]
pub struct Payload {
    pub request: AdmissionRequest,
    #[serde(default)]
    pub settings: Option<Settings>,
}

impl Payload {
    /// Parses the payload in one pass; an error names the field it is about.
    pub fn parse(raw: &[u8]) -> Result<Payload, String> {
        serde_json::from_slice(raw).map_err(|e| json_path::describe(raw, &e))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    #[serde(default)]
    pub uid: String,
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub sub_resource: Option<String>,
    #[serde(default)]
    pub object: Option<KubeObject>,
    #[serde(default)]
    pub old_object: Option<KubeObject>,
}

#[derive(Debug, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct KubeObject {
    #[serde(default)]
    pub metadata: Option<ObjectMeta>,
    #[serde(default)]
    pub spec: Option<Spec>,
    /// PodTemplate keeps its template at the top level.
    #[serde(default)]
    pub template: Option<PodTemplateSpec>,
}

impl KubeObject {
    pub fn metadata(&self) -> &ObjectMeta {
        static EMPTY: ObjectMeta = ObjectMeta {
            name: None,
            generate_name: None,
            deletion_timestamp: None,
            owner_references: None,
        };
        self.metadata.as_ref().unwrap_or(&EMPTY)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub generate_name: Option<String>,
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
    #[serde(default)]
    pub owner_references: Option<Vec<OwnerReference>>,
}

impl ObjectMeta {
    /// The controller that owns this object, if any.
    pub fn controller(&self) -> Option<&OwnerReference> {
        self.owner_references
            .as_deref()?
            .iter()
            .find(|owner| owner.controller == Some(true))
    }
}

#[derive(Debug, Deserialize)]
pub struct OwnerReference {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub controller: Option<bool>,
}

/// The union of a PodSpec, a workload spec, a CronJob spec and a PersistentVolume spec.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub volumes: Option<Vec<Volume>>,
    #[serde(default)]
    pub containers: Option<Vec<Container>>,
    #[serde(default)]
    pub init_containers: Option<Vec<Container>>,
    #[serde(default)]
    pub ephemeral_containers: Option<Vec<Container>>,
    #[serde(default)]
    pub template: Option<Box<PodTemplateSpec>>,
    #[serde(default)]
    pub job_template: Option<Box<JobTemplateSpec>>,
    #[serde(default)]
    pub host_path: Option<HostPathSource>,
}

#[derive(Debug, Deserialize)]
pub struct PodTemplateSpec {
    #[serde(default)]
    pub spec: Option<Spec>,
}

#[derive(Debug, Deserialize)]
pub struct JobTemplateSpec {
    #[serde(default)]
    pub spec: Option<Spec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub host_path: Option<HostPathSource>,
}

#[derive(Debug, Deserialize)]
pub struct HostPathSource {
    #[serde(default)]
    pub path: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sub_path: Option<String>,
    #[serde(default)]
    pub sub_path_expr: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_fields_it_does_not_read() {
        let payload = Payload::parse(
            br#"{"settings":{},"request":{"uid":"1","kind":{"group":"","version":"v1","kind":"Pod"},
            "operation":"CREATE","object":{"metadata":{"name":"p","labels":{"a":"b"}},
            "spec":{"futureField":{"x":[1,2]},"volumes":[{"name":"v","hostPath":{"path":"/x","type":"Socket"}}],
            "containers":[{"name":"c","image":"i","env":[{"name":"A","value":"B"}],
            "volumeMounts":[{"name":"v","mountPath":"/x","readOnly":true}]}]}}}}"#,
        )
        .unwrap();
        let object = payload.request.object.unwrap();
        let spec = object.spec.unwrap();
        assert_eq!(
            spec.volumes.unwrap()[0].host_path.as_ref().unwrap().path,
            "/x"
        );
        assert_eq!(
            spec.containers.unwrap()[0].volume_mounts.as_ref().unwrap()[0].name,
            "v"
        );
        assert_eq!(payload.settings.unwrap(), Settings::default());
    }

    #[test]
    fn null_lists_are_absent() {
        let payload = Payload::parse(
            br#"{"request":{"kind":{"kind":"Pod"},"object":{"spec":{"volumes":null,"containers":[{"name":"c","volumeMounts":null}]}}}}"#,
        )
        .unwrap();
        assert!(
            payload
                .request
                .object
                .unwrap()
                .spec
                .unwrap()
                .volumes
                .is_none()
        );
    }

    #[test]
    fn wrong_types_are_located() {
        let error = Payload::parse(
            br#"{"request":{"kind":{"kind":"Pod"},"object":{"spec":{"volumes":"x"}}}}"#,
        )
        .unwrap_err();
        assert!(
            error.starts_with(
                "request.object.spec.volumes: invalid type: string \"x\", expected a sequence"
            ),
            "{error}"
        );
        let error = Payload::parse(br#"{"request":{"kind":{"kind":"Pod"}},"settings":{"mode":1}}"#)
            .unwrap_err();
        assert!(error.starts_with("settings.mode: invalid type"), "{error}");
        let error = Payload::parse(b"{\"request\":").unwrap_err();
        assert!(error.contains("EOF"), "{error}");
    }
}
