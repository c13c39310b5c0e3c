//! A typed view of the admission request that reads only what the policy decides on.
//!
//! Everything else in the object (env, probes, resources, unknown fields of newer Kubernetes
//! versions) is skipped by the parser without being built, the strings it reads borrow from the
//! payload, and the containers of a pod spec without hostPath volumes are skipped too, which
//! keeps evaluation close to the cost of reading the request once. One
//! struct serves every kind: each kind's pod spec sits at a different place (see `kinds`), and
//! fields a kind does not have are simply absent.

use crate::json_path;
use crate::settings::Settings;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;

/// A string of the request: borrowed unless it had escapes to decode.
pub type Str<'a> = Cow<'a, str>;

/// The waPC `validate` payload.
#[derive(Debug, Deserialize)]
pub struct Payload<'a> {
    #[serde(borrow)]
    pub request: AdmissionRequest<'a>,
    #[serde(default)]
    pub settings: Option<Settings>,
}

impl<'a> Payload<'a> {
    /// Parses the payload in one pass; an error names the field it is about.
    pub fn parse(raw: &'a [u8]) -> Result<Payload<'a>, String> {
        serde_json::from_slice(raw).map_err(|e| json_path::describe(raw, &e))
    }
}

/// The request's objects as JSON values, every field kept, for the rare paths that need them
/// whole: editing the object (mutate mode) and comparing pod templates (an UPDATE of a
/// workload that already exposes a socket).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonObjects {
    pub object: serde_json::Value,
    #[serde(default)]
    pub old_object: serde_json::Value,
}

impl JsonObjects {
    pub fn parse(raw: &[u8]) -> Result<JsonObjects, String> {
        #[derive(Deserialize)]
        struct Envelope {
            request: JsonObjects,
        }
        serde_json::from_slice::<Envelope>(raw)
            .map(|envelope| envelope.request)
            .map_err(|e| json_path::describe(raw, &e))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    #[serde(borrow)]
    pub kind: GroupVersionKind<'a>,
    #[serde(default, borrow)]
    pub operation: Str<'a>,
    #[serde(default, borrow)]
    pub object: Option<KubeObject<'a>>,
    #[serde(default, borrow)]
    pub old_object: Option<KubeObject<'a>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupVersionKind<'a> {
    #[serde(default, borrow)]
    pub group: Str<'a>,
    #[serde(default, borrow)]
    pub version: Str<'a>,
    #[serde(borrow)]
    pub kind: Str<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct KubeObject<'a> {
    #[serde(default, borrow)]
    pub metadata: Option<ObjectMeta<'a>>,
    #[serde(default, borrow)]
    pub spec: Option<Spec<'a>>,
    /// PodTemplate keeps its template at the top level.
    #[serde(default, borrow)]
    pub template: Option<PodTemplateSpec<'a>>,
}

impl<'a> KubeObject<'a> {
    pub fn metadata(&self) -> &ObjectMeta<'a> {
        const EMPTY: &ObjectMeta = &ObjectMeta {
            name: None,
            generate_name: None,
            deletion_timestamp: None,
            owner_references: None,
        };
        self.metadata.as_ref().unwrap_or(EMPTY)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta<'a> {
    #[serde(default, borrow)]
    pub name: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub generate_name: Option<Str<'a>>,
    /// Only whether it is set matters.
    #[serde(default)]
    pub deletion_timestamp: Option<IgnoredAny>,
    #[serde(default, borrow)]
    pub owner_references: Option<Vec<OwnerReference<'a>>>,
}

impl ObjectMeta<'_> {
    /// The controller that owns this object, if any.
    pub fn controller(&self) -> Option<&OwnerReference<'_>> {
        self.owner_references
            .as_deref()?
            .iter()
            .find(|owner| owner.controller == Some(true))
    }
}

#[derive(Debug, Deserialize)]
pub struct OwnerReference<'a> {
    #[serde(default, borrow)]
    pub kind: Str<'a>,
    #[serde(default, borrow)]
    pub name: Str<'a>,
    #[serde(default)]
    pub controller: Option<bool>,
}

/// The union of a PodSpec, a workload spec, a CronJob spec and a PersistentVolume spec.
#[derive(Debug, Default)]
pub struct Spec<'a> {
    pub volumes: Option<Vec<Volume<'a>>>,
    pub containers: Option<Vec<Container<'a>>>,
    pub init_containers: Option<Vec<Container<'a>>>,
    pub ephemeral_containers: Option<Vec<Container<'a>>>,
    pub template: Option<Box<PodTemplateSpec<'a>>>,
    pub job_template: Option<Box<JobTemplateSpec<'a>>>,
    pub host_path: Option<HostPathSource<'a>>,
    /// A PersistentVolume's `local` source.
    pub local: Option<HostPathSource<'a>>,
}

/// Read by hand for one shortcut: the API server writes a PodSpec with `volumes` first, and
/// when none of them is a hostPath volume no container can expose anything, so the container
/// lists are skipped without being built. That is the path of almost every Pod.
impl<'de: 'a, 'a> Deserialize<'de> for Spec<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SpecVisitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum SpecField {
    Volumes,
    Containers,
    InitContainers,
    EphemeralContainers,
    Template,
    JobTemplate,
    HostPath,
    Local,
    #[serde(other)]
    Other,
}

struct SpecVisitor<'a>(std::marker::PhantomData<Spec<'a>>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for SpecVisitor<'a> {
    type Value = Spec<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct Spec")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Spec<'a>, A::Error> {
        fn once<'de, T: Deserialize<'de>, A: serde::de::MapAccess<'de>>(
            map: &mut A,
            slot: &mut Option<T>,
            name: &'static str,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(serde::de::Error::duplicate_field(name));
            }
            *slot = map.next_value()?;
            Ok(())
        }
        let mut spec = Spec::default();
        let mut volumes_seen = false;
        while let Some(field) = map.next_key::<SpecField>()? {
            let (containers, name) = match field {
                SpecField::Containers => (&mut spec.containers, "containers"),
                SpecField::InitContainers => (&mut spec.init_containers, "initContainers"),
                SpecField::EphemeralContainers => {
                    (&mut spec.ephemeral_containers, "ephemeralContainers")
                }
                SpecField::Volumes if volumes_seen => {
                    return Err(serde::de::Error::duplicate_field("volumes"));
                }
                SpecField::Volumes => {
                    volumes_seen = true;
                    once(&mut map, &mut spec.volumes, "volumes")?;
                    continue;
                }
                SpecField::Template => {
                    once(&mut map, &mut spec.template, "template")?;
                    continue;
                }
                SpecField::JobTemplate => {
                    once(&mut map, &mut spec.job_template, "jobTemplate")?;
                    continue;
                }
                SpecField::HostPath => {
                    once(&mut map, &mut spec.host_path, "hostPath")?;
                    continue;
                }
                SpecField::Local => {
                    once(&mut map, &mut spec.local, "local")?;
                    continue;
                }
                SpecField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let no_host_path = volumes_seen
                && !spec
                    .volumes
                    .iter()
                    .flatten()
                    .any(|volume| volume.host_path.is_some());
            if no_host_path {
                map.next_value::<IgnoredAny>()?;
            } else {
                once(&mut map, containers, name)?;
            }
        }
        Ok(spec)
    }
}

#[derive(Debug, Deserialize)]
pub struct PodTemplateSpec<'a> {
    #[serde(default, borrow)]
    pub spec: Option<Spec<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct JobTemplateSpec<'a> {
    #[serde(default, borrow)]
    pub spec: Option<Spec<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume<'a> {
    #[serde(default, borrow)]
    pub name: Str<'a>,
    #[serde(default, borrow)]
    pub host_path: Option<HostPathSource<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct HostPathSource<'a> {
    #[serde(default, borrow)]
    pub path: Str<'a>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container<'a> {
    #[serde(default, borrow)]
    pub name: Str<'a>,
    #[serde(default, borrow)]
    pub image: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub volume_mounts: Option<Vec<VolumeMount<'a>>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount<'a> {
    #[serde(default, borrow)]
    pub name: Str<'a>,
    #[serde(default, borrow)]
    pub sub_path: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub sub_path_expr: Option<Str<'a>>,
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
    fn containers_are_skipped_after_volumes_without_host_path() {
        let spec: Spec = serde_json::from_str(
            r#"{"volumes":[{"name":"c","configMap":{}}],"containers":[{"name":"a","volumeMounts":[{"name":"c"}]}]}"#,
        )
        .unwrap();
        assert!(spec.containers.is_none());
        let spec: Spec = serde_json::from_str(
            r#"{"volumes":[{"name":"h","hostPath":{"path":"/x"}}],"containers":[{"name":"a"}],"initContainers":[{"name":"i"}]}"#,
        )
        .unwrap();
        assert_eq!(spec.containers.unwrap()[0].name, "a");
        assert_eq!(spec.init_containers.unwrap()[0].name, "i");
        // Containers first: read, since the volumes are not known yet.
        let spec: Spec =
            serde_json::from_str(r#"{"containers":[{"name":"a"}],"volumes":[]}"#).unwrap();
        assert_eq!(spec.containers.unwrap()[0].name, "a");
    }

    #[test]
    fn duplicate_spec_fields_are_refused() {
        let error = serde_json::from_str::<Spec>(r#"{"volumes":[],"volumes":[]}"#).unwrap_err();
        assert!(
            error.to_string().starts_with("duplicate field `volumes`"),
            "{error}"
        );
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
