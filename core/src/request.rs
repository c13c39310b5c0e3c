//! A typed view of the admission request that reads only what the policy decides on.
//!
//! Everything else in the object (env, probes, resources, unknown fields of newer Kubernetes
//! versions) is checked and skipped without being built, keys are matched as bytes and the
//! strings it reads borrow from the payload (see `json` and `fields`), and each container is
//! kept as its JSON, read only if it may name a hostPath volume, which keeps evaluation close
//! to the cost of reading the request once. One struct serves every kind: each kind's pod spec
//! sits at a different place (see `kinds`), and fields a kind does not have are simply absent.

use crate::fields::object_fields;
use crate::json::{self, Present, Raw, Read, Reader, WithText};
use crate::mentions::{self, Needle};
use crate::settings::Settings;
use std::borrow::Cow;
use std::cell::OnceCell;

/// A string of the request: borrowed unless it had escapes to decode.
pub type Str<'a> = Cow<'a, str>;

/// The waPC `validate` payload.
#[derive(Debug, Default)]
pub struct Payload<'a> {
    pub request: AdmissionRequest<'a>,
    /// Read apart, so that an error in them is told as a settings error.
    settings: Option<Raw<'a>>,
}

object_fields!(Payload, "a validate payload", {
    "request" => request,
    "settings" => settings,
}, required: ["request"]);

/// What could not be read from a `validate` payload, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    Request(String),
    Settings(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Request(error) => write!(f, "cannot read the request: {error}"),
            ReadError::Settings(error) => write!(f, "invalid settings: {error}"),
        }
    }
}

impl<'a> Payload<'a> {
    /// Reads the request and the checked settings (the defaults when there are none).
    pub fn parse(raw: &'a [u8]) -> Result<(AdmissionRequest<'a>, Settings), ReadError> {
        let payload: Payload =
            json::from_slice(raw).map_err(|e| ReadError::Request(json::describe(raw, &e)))?;
        let settings = match payload.settings {
            None => Settings::default(),
            Some(Raw(settings)) => Settings::from_json(settings).map_err(ReadError::Settings)?,
        };
        Ok((payload.request, settings))
    }
}

/// What a request does to its object. The policy judges creations and updates; a deletion or a
/// connection (`DELETE`, `CONNECT`) is admitted unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Other,
}

#[derive(Debug, Default)]
pub struct AdmissionRequest<'a> {
    pub kind: GroupVersionKind<'a>,
    /// As written; see [`AdmissionRequest::operation`].
    pub operation_name: Str<'a>,
    /// Empty for a cluster-scoped object.
    namespace: Str<'a>,
    // Boxed, as are some specs below: these structs are large, and each reader returns what it
    // builds by value. With their text, for the paths that need an object whole (`json_text`).
    pub object: Option<WithText<'a, Box<KubeObject<'a>>>>,
    pub old_object: Option<WithText<'a, Box<KubeObject<'a>>>>,
}

impl AdmissionRequest<'_> {
    pub fn operation(&self) -> Operation {
        match &*self.operation_name {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            _ => Operation::Other,
        }
    }
}

object_fields!(AdmissionRequest, "an admission request", {
    "kind" => kind,
    "operation" => operation_name,
    "namespace" => namespace,
    "object" => object,
    "oldObject" => old_object,
}, required: ["kind"]);

impl AdmissionRequest<'_> {
    /// The namespace of the request (the API server refuses an object whose own namespace
    /// differs, so the object's is only a fallback for hand-written requests).
    pub fn namespace(&self) -> &str {
        if !self.namespace.is_empty() {
            return &self.namespace;
        }
        self.object
            .as_ref()
            .and_then(|object| object.metadata().namespace.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default)]
pub struct GroupVersionKind<'a> {
    pub group: Str<'a>,
    pub kind: Str<'a>,
}

object_fields!(GroupVersionKind, "a group, version and kind", {
    "group" => group,
    "kind" => kind,
}, required: ["kind"]);

/// An object of any kind: its metadata. What else a kind has is read from the object's text
/// at the places its kind's row says (`kinds`), so that no field is read in a kind that does
/// not have it.
#[derive(Debug, Default)]
pub struct KubeObject<'a> {
    pub metadata: Option<ObjectMeta<'a>>,
}

object_fields!(KubeObject, "a Kubernetes object", {
    "metadata" => metadata,
});

impl<'a> KubeObject<'a> {
    pub fn metadata(&self) -> &ObjectMeta<'a> {
        const EMPTY: &ObjectMeta = &ObjectMeta {
            name: None,
            namespace: None,
            generate_name: None,
            deletion_timestamp: None,
            owner_references: None,
        };
        self.metadata.as_ref().unwrap_or(EMPTY)
    }
}

#[derive(Debug, Default)]
pub struct ObjectMeta<'a> {
    pub name: Option<Str<'a>>,
    pub generate_name: Option<Str<'a>>,
    pub namespace: Option<Str<'a>>,
    /// Only whether it is set matters.
    pub deletion_timestamp: Option<Present>,
    pub owner_references: Option<Vec<OwnerReference<'a>>>,
}

object_fields!(ObjectMeta, "object metadata", {
    "name" => name,
    "generateName" => generate_name,
    "namespace" => namespace,
    "deletionTimestamp" => deletion_timestamp,
    "ownerReferences" => owner_references,
});

impl ObjectMeta<'_> {
    /// The controller that owns this object, if any.
    pub fn controller(&self) -> Option<&OwnerReference<'_>> {
        self.owner_references
            .as_deref()?
            .iter()
            .find(|owner| owner.controller == Some(true))
    }
}

#[derive(Debug, Default)]
pub struct OwnerReference<'a> {
    pub kind: Str<'a>,
    pub name: Str<'a>,
    pub controller: Option<bool>,
}

object_fields!(OwnerReference, "an owner reference", {
    "kind" => kind,
    "name" => name,
    "controller" => controller,
});

/// A pod spec, or the workflow spec and templates of Argo Workflows (whose templates hold a
/// `container`, a `script`, `sidecars` and a `containerSet` instead of a pod spec's lists,
/// and may carry whole templates `inline` in their steps and DAG tasks).
///
/// The single pass over the request keeps each container as its JSON (checked and skipped),
/// read only when it may name a hostPath volume (see [`RawContainer`]): the engine hands
/// objects over with their keys sorted, so
/// `containers` arrives before `volumes`, almost every Pod has no hostPath volume at all, and
/// in the others few containers mount one.
#[derive(Debug, Default)]
pub struct Spec<'a> {
    pub volumes: Option<Vec<Volume<'a>>>,
    containers: Option<Vec<RawContainer<'a>>>,
    init_containers: Option<Vec<RawContainer<'a>>>,
    ephemeral_containers: Option<Vec<RawContainer<'a>>>,
    container: Option<Raw<'a>>,
    script: Option<Raw<'a>>,
    sidecars: Option<Raw<'a>>,
    container_set: Option<Raw<'a>>,
    /// Argo Workflows: the templates, each run as a Pod with the workflow's volumes and its own.
    pub templates: Option<Vec<Spec<'a>>>,
    /// Argo Workflows: fields every template inherits.
    pub template_defaults: Option<Box<Spec<'a>>>,
    /// Argo Workflows: a patch merged into each Pod (JSON or YAML in a string).
    pub pod_spec_patch: Option<Str<'a>>,
    /// Argo Workflows: a template's steps, each of which may hold a template `inline`.
    pub steps: Option<Vec<Vec<Step<'a>>>>,
    /// Argo Workflows: a template's DAG, whose tasks may hold a template `inline`.
    pub dag: Option<Dag<'a>>,
    /// A Pod's containers see each other's processes, and through `/proc/<pid>/root` each
    /// other's mounts.
    pub share_process_namespace: Option<bool>,
    /// A Pod's containers see every process of the node, those of its own containers too.
    pub host_pid: Option<bool>,
    /// The containers of an Argo template's `container`, `script`, `sidecars` and
    /// `containerSet`, read on first use.
    argo_containers: OnceCell<Result<(Vec<Container<'a>>, usize), PartError<'a>>>,
}

object_fields!(Spec, "a spec", {
    "volumes" => volumes,
    "containers" => containers,
    "initContainers" => init_containers,
    "ephemeralContainers" => ephemeral_containers,
    "container" => container,
    "script" => script,
    "sidecars" => sidecars,
    "containerSet" => container_set,
    "templates" => templates,
    "templateDefaults" => template_defaults,
    "podSpecPatch" => pod_spec_patch,
    "steps" => steps,
    "dag" => dag,
    "shareProcessNamespace" => share_process_namespace,
    "hostPID" => host_pid,
});

/// A part of the request read after the request itself (a pod spec at its kind's place, a
/// container) that is not what the policy reads there: the part's JSON and the error, which
/// [`PartError::locate`] turns into a message that names the field.
#[derive(Debug)]
pub struct PartError<'a> {
    raw: &'a [u8],
    error: json::Error,
}

/// The value at `keys` in the JSON object `text` (a part of the request), read as a `T`.
pub fn read_at<'a, T: Read<'a>>(text: &'a [u8], keys: &[&str]) -> Result<Option<T>, PartError<'a>> {
    json::read_at(text, keys).map_err(|error| PartError { raw: text, error })
}

impl PartError<'_> {
    /// The message, located in `payload` (the bytes the request was read from).
    pub fn locate(&self, payload: &[u8]) -> String {
        let start = (self.raw.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
        if start > payload.len() {
            return json::describe(self.raw, &self.error);
        }
        json::describe(payload, &self.error.clone().shifted(start))
    }
}

/// A container of a pod spec, kept as its JSON text (checked and skipped with the request:
/// most containers are never looked at again), with where its name, image and mounts are
/// written, noted on the way. A container is read on first use; one whose noted fields are not
/// plain strings (and a mounts value) has its error told only if it may mount a hostPath
/// volume.
#[derive(Debug)]
pub struct RawContainer<'a> {
    text: &'a [u8],
    /// `name`, `image` and `volumeMounts` in `text`; `None` when it must be read whole (see
    /// [`Reader::raw_noting`]).
    notes: Option<json::Notes<5>>,
    /// Boxed: few containers are ever read, and a 1 MB Pod keeps more than a thousand.
    read: OnceCell<Box<Result<Container<'a>, PartError<'a>>>>,
}

impl<'a> Read<'a> for RawContainer<'a> {
    fn read(reader: &mut Reader<'a>) -> json::Result<Self> {
        let (text, notes) = reader.raw_noting([
            b"name",
            b"image",
            b"volumeMounts",
            b"targetContainerName",
            b"mirrorVolumeMounts",
        ])?;
        Ok(RawContainer {
            text,
            notes,
            read: OnceCell::new(),
        })
    }
}

impl<'a> RawContainer<'a> {
    /// The text of a noted field.
    fn noted(&self, field: &Option<std::ops::Range<usize>>) -> Option<&'a [u8]> {
        field.clone().map(|range| &self.text[range])
    }

    /// The notes, when its name and image are plain strings (`null` or no image at all):
    /// whether it mounts a volume is then told by its mounts alone. A noted string has no
    /// escapes ([`json::Reader::raw_noting`]).
    fn plain(&self) -> Option<&json::Notes<5>> {
        let plain = |text: &[u8]| text.first() == Some(&b'"');
        let plain_or_null = |text: &[u8]| text == b"null" || plain(text);
        let notes = self.notes.as_ref()?;
        let [name, image, _, target, _] = notes;
        let optional_plain = self.noted(image).is_none_or(plain_or_null)
            && self.noted(target).is_none_or(plain_or_null);
        (self.noted(name).is_none_or(plain) && optional_plain).then_some(notes)
    }

    /// False only if the container cannot mount any of `volumes`: a mount names its volume
    /// with a JSON string, and in JSON without escapes a string equal to `name` is written
    /// `"name"`, so mounts (or a container not read from its notes) whose JSON has neither an
    /// escape nor `"name"` do not mount `name`. Most containers are told apart by their
    /// mounts' JSON, without being read.
    fn may_mount(&self, volumes: &VolumeNames) -> bool {
        match self.plain() {
            Some([_, _, mounts, _, _]) => self
                .noted(mounts)
                .is_some_and(|mounts| mentions::backslash_or_any(mounts, &volumes.quoted)),
            None => mentions::backslash_or_any(self.text, &volumes.quoted),
        }
    }

    fn read(&self) -> Result<&Container<'a>, &PartError<'a>> {
        fn field<'a, T: Read<'a>>(
            text: &'a [u8],
            range: &Option<std::ops::Range<usize>>,
        ) -> Result<Option<T>, PartError<'a>> {
            range
                .clone()
                .map(|range| read_raw(&text[range]))
                .transpose()
        }
        let from_notes = |[name, image, mounts, target, mirror]: &json::Notes<5>| {
            Ok::<_, PartError>(Container {
                name: field(self.text, name)?.unwrap_or_default(),
                image: field(self.text, image)?.flatten(),
                volume_mounts: field(self.text, mounts)?.flatten(),
                target_container_name: field(self.text, target)?.flatten(),
                mirror_volume_mounts: field(self.text, mirror)?.flatten(),
            })
        };
        let read = || {
            // A field that cannot be read is told as reading the container whole tells it.
            self.plain()
                .and_then(|notes| from_notes(notes).ok())
                .map_or_else(|| read_raw(self.text), Ok)
        };
        self.read.get_or_init(|| Box::new(read())).as_ref().as_ref()
    }
}

/// The names of the volumes a scan looks for, quoted as JSON strings: see
/// [`RawContainer::may_mount`].
#[derive(Debug)]
pub struct VolumeNames {
    quoted: Vec<Needle>,
}

impl VolumeNames {
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        VolumeNames {
            quoted: names
                .into_iter()
                .map(|name| Needle::new([b"\"", name.as_bytes(), b"\""].concat()))
                .collect(),
        }
    }
}

/// The containers of a spec, by kind (for tests: the policy visits them).
#[cfg(test)]
pub type ContainerLists<'s, 'a> = [Vec<&'s Container<'a>>; 3];

impl<'a> Spec<'a> {
    /// The containers, init containers and ephemeral containers that may mount one of
    /// `volumes` (every one for `None`), read on first use: see [`Spec::visit_containers`].
    #[cfg(test)]
    pub fn container_lists(
        &self,
        volumes: Option<&VolumeNames>,
    ) -> Result<ContainerLists<'_, 'a>, &PartError<'a>> {
        let mut lists = ContainerLists::default();
        self.visit_containers(volumes, |container, list| lists[list].push(container))?;
        Ok(lists)
    }

    /// Calls `visit` with each container that may mount one of `volumes` (every one for
    /// `None`), read on first use, and its list: 0 for containers, 1 for init containers, 2
    /// for ephemeral containers. An Argo template's `container`, `script`, `sidecars` and
    /// `containerSet` containers count as containers, after the others, and are always read
    /// (they are rare, and a `containerSet` shares its mounts); its `container` or `script` is
    /// `main`, as Argo names it whatever name it was given, and the mounts of a `containerSet`
    /// apply to each of its containers.
    pub fn visit_containers<'s>(
        &'s self,
        volumes: Option<&VolumeNames>,
        mut visit: impl FnMut(&'s Container<'a>, usize),
    ) -> Result<(), &'s PartError<'a>> {
        let lists = [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ];
        for (list, containers) in lists.into_iter().enumerate() {
            let may_mount = containers
                .iter()
                .flatten()
                .filter(|container| volumes.is_none_or(|volumes| container.may_mount(volumes)));
            for container in may_mount {
                visit(container.read()?, list);
            }
            if list == 0 {
                self.argo_containers()?
                    .0
                    .iter()
                    .for_each(|container| visit(container, 0));
            }
        }
        Ok(())
    }

    /// An Argo template's containers, and how many of them, first, are main containers: its
    /// `container` or `script` (which Argo always names `main`) and its `containerSet`'s
    /// (one of which Argo takes for `main`); then its `sidecars`.
    fn argo_containers(&self) -> Result<(&[Container<'a>], usize), &PartError<'a>> {
        let read = self.argo_containers.get_or_init(|| {
            let mut containers = Vec::new();
            for Raw(single) in [self.container, self.script].into_iter().flatten() {
                let mut container: Container = read_raw(single)?;
                container.name = Str::Borrowed("main");
                containers.push(container);
            }
            if let Some(Raw(set)) = self.container_set {
                let set: Option<ContainerSet> = read_raw(set)?;
                if let Some(set) = set {
                    let shared = set.volume_mounts.unwrap_or_default();
                    for mut container in set.containers.unwrap_or_default() {
                        container
                            .volume_mounts
                            .get_or_insert_with(Vec::new)
                            .extend(shared.iter().cloned());
                        containers.push(container);
                    }
                }
            }
            let mains = containers.len();
            if let Some(Raw(sidecars)) = self.sidecars {
                let sidecars: Option<Vec<Container>> = read_raw(sidecars)?;
                containers.extend(sidecars.unwrap_or_default());
            }
            Ok((containers, mains))
        });
        match read {
            Ok((containers, mains)) => Ok((containers, *mains)),
            Err(error) => Err(error),
        }
    }

    /// Calls `visit` with each ephemeral container, read.
    pub fn visit_ephemeral<'s>(
        &'s self,
        mut visit: impl FnMut(&'s Container<'a>),
    ) -> Result<(), &'s PartError<'a>> {
        for container in self.ephemeral_containers.iter().flatten() {
            visit(container.read()?);
        }
        Ok(())
    }

    /// The mounts of an Argo template's main containers (its `container`, `script` or
    /// `containerSet`), which a container with `mirrorVolumeMounts` gets too.
    pub fn argo_main_mounts(&self) -> Result<Vec<&VolumeMount<'a>>, &PartError<'a>> {
        let (containers, mains) = self.argo_containers()?;
        Ok(containers[..mains]
            .iter()
            .flat_map(|main| main.volume_mounts.iter().flatten())
            .collect())
    }

    /// True when the spec lists containers: what makes a `template.spec` of a kind the policy
    /// does not know a pod template.
    pub fn has_containers(&self) -> bool {
        self.containers.is_some()
    }
}

fn read_raw<'a, T: Read<'a>>(raw: &'a [u8]) -> Result<T, PartError<'a>> {
    json::from_slice(raw).map_err(|error| PartError { raw, error })
}

/// An Argo `containerSet`: containers that share the set's mounts.
#[derive(Debug, Default)]
struct ContainerSet<'a> {
    containers: Option<Vec<Container<'a>>>,
    volume_mounts: Option<Vec<VolumeMount<'a>>>,
}

object_fields!(ContainerSet, "a container set", {
    "containers" => containers,
    "volumeMounts" => volume_mounts,
});

/// An Argo step or DAG task: only a template written `inline` matters (a named one is judged
/// where the workflow or its WorkflowTemplate defines it).
#[derive(Debug, Default)]
pub struct Step<'a> {
    pub inline: Option<Box<Spec<'a>>>,
}

object_fields!(Step, "a workflow step", { "inline" => inline });

#[derive(Debug, Default)]
pub struct Dag<'a> {
    pub tasks: Option<Vec<Step<'a>>>,
}

object_fields!(Dag, "a DAG template", { "tasks" => tasks });

/// A PersistentVolume's spec: the kubelet bind-mounts a `local` volume exactly as a
/// `hostPath` one.
#[derive(Debug, Default)]
pub struct PersistentVolumeSpec<'a> {
    pub host_path: Option<HostPathSource<'a>>,
    pub local: Option<HostPathSource<'a>>,
}

object_fields!(PersistentVolumeSpec, "a PersistentVolume spec", {
    "hostPath" => host_path,
    "local" => local,
});

#[derive(Debug, Default)]
pub struct Volume<'a> {
    pub name: Str<'a>,
    pub host_path: Option<HostPathSource<'a>>,
}

object_fields!(Volume, "a volume", {
    "name" => name,
    "hostPath" => host_path,
});

#[derive(Debug, Default)]
pub struct HostPathSource<'a> {
    pub path: Str<'a>,
}

object_fields!(HostPathSource, "a hostPath source", { "path" => path });

/// A container: only its name, image, mounts and what else lets it reach another
/// container's mounts are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container<'a> {
    pub name: Str<'a>,
    pub image: Option<Str<'a>>,
    pub volume_mounts: Option<Vec<VolumeMount<'a>>>,
    /// An ephemeral container's debug target, whose process namespace it joins.
    pub target_container_name: Option<Str<'a>>,
    /// An Argo sidecar that gets the main container's mounts.
    pub mirror_volume_mounts: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeMount<'a> {
    pub name: Str<'a>,
    pub sub_path: Option<Str<'a>>,
    pub sub_path_expr: Option<Str<'a>>,
}

object_fields!(Container, "a container", {
    "name" => name,
    "image" => image,
    "volumeMounts" => volume_mounts,
    "targetContainerName" => target_container_name,
    "mirrorVolumeMounts" => mirror_volume_mounts,
});

object_fields!(VolumeMount, "a volume mount", {
    "name" => name,
    "subPath" => sub_path,
    "subPathExpr" => sub_path_expr,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_fields_it_does_not_read() {
        let (request, settings) = Payload::parse(
            br#"{"settings":{},"request":{"uid":"1","kind":{"group":"","version":"v1","kind":"Pod"},
            "operation":"CREATE","object":{"metadata":{"name":"p","labels":{"a":"b"}},
            "spec":{"futureField":{"x":[1,2]},"volumes":[{"name":"v","hostPath":{"path":"/x","type":"Socket"}}],
            "containers":[{"name":"c","image":"i","env":[{"name":"A","value":"B"}],
            "volumeMounts":[{"name":"v","mountPath":"/x","readOnly":true}]}]}}}}"#,
        )
        .unwrap();
        let object = request.object.unwrap();
        let spec: Spec = read_at(object.text, &["spec"]).unwrap().unwrap();
        assert_eq!(
            spec.volumes.as_ref().unwrap()[0]
                .host_path
                .as_ref()
                .unwrap()
                .path,
            "/x"
        );
        assert_eq!(
            spec.container_lists(None).unwrap()[0][0]
                .volume_mounts
                .as_ref()
                .unwrap()[0]
                .name,
            "v"
        );
        assert_eq!(spec.volumes.unwrap()[0].name, "v");
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn containers_are_read_on_demand_whatever_the_key_order() {
        for text in [
            r#"{"containers":[{"name":"a"}],"initContainers":[{"name":"i"}],"volumes":[]}"#,
            r#"{"volumes":[],"initContainers":[{"name":"i"}],"containers":[{"name":"a"}]}"#,
        ] {
            let spec: Spec = json::from_slice(text.as_bytes()).unwrap();
            let [containers, init, ephemeral] = spec.container_lists(None).unwrap();
            assert_eq!(containers[0].name, "a");
            assert_eq!(init[0].name, "i");
            assert!(ephemeral.is_empty());
        }
    }

    #[test]
    fn a_container_list_of_the_wrong_shape_is_located_when_read() {
        let raw = br#"{"spec":{"containers":[{"name":"a","volumeMounts":{"x":1}}],"volumes":[]}}"#;
        let spec: Spec = read_at(raw, &["spec"]).unwrap().unwrap();
        let error = spec.container_lists(None).unwrap_err();
        assert_eq!(
            error.locate(raw),
            "spec.containers[0].volumeMounts: invalid type: map, expected a sequence"
        );
    }

    #[test]
    fn only_the_mounts_of_a_container_say_whether_it_may_mount() {
        let volumes = VolumeNames::new(["sock"]);
        let may_mount = |text: &str| {
            let container: RawContainer = json::from_str(text).unwrap();
            container.may_mount(&volumes)
        };
        assert!(!may_mount(
            r#"{"env":[{"name":"sock","value":"\u0073ock"}],"name":"sock","volumeMounts":[]}"#
        ));
        assert!(!may_mount(r#"{"name":"a"}"#));
        assert!(may_mount(
            r#"{"name":"a","volumeMounts":[{"name":"sock"}]}"#
        ));
        assert!(may_mount(r#"{"volumeMounts":[{"name":"s\u006fck"}]}"#));
        // Fields of the wrong type: the whole container is looked at, and read if it may mount.
        assert!(!may_mount(
            r#"{"image":7,"volumeMounts":[{"name":"other"}]}"#
        ));
        // A key with escapes, or a key written twice: the whole container is looked at and read.
        let escaped: RawContainer =
            json::from_str(r#"{"n\u0061me":"a","volumeMounts":[{"name":"sock"}]}"#).unwrap();
        assert!(escaped.notes.is_none() && escaped.may_mount(&volumes));
        assert_eq!(escaped.read().unwrap().name, "a");
        let twice: RawContainer =
            json::from_str(r#"{"volumeMounts":[],"name":"a","volumeMounts":[{"name":"sock"}]}"#)
                .unwrap();
        assert!(twice.notes.is_none() && twice.may_mount(&volumes));
        assert!(twice.read().is_err());
        let text = br#"{"spec":{"containers":[{"image":7,"volumeMounts":[{"name":"sock"}]}]}}"#;
        let spec: Spec = read_at(text, &["spec"]).unwrap().unwrap();
        assert_eq!(
            spec.container_lists(Some(&volumes))
                .unwrap_err()
                .locate(text),
            "spec.containers[0].image: invalid type: integer `7`, expected a string"
        );
    }

    #[test]
    fn duplicate_spec_fields_are_refused() {
        let text = br#"{"volumes":[],"volumes":[]}"#;
        let error = json::from_slice::<Spec>(text).unwrap_err();
        assert_eq!(
            json::describe(text, &error),
            "volumes: duplicate field `volumes`"
        );
    }

    #[test]
    fn null_lists_are_absent() {
        let (request, _) = Payload::parse(
            br#"{"request":{"kind":{"kind":"Pod"},"object":{"spec":{"volumes":null,"containers":[{"name":"c","volumeMounts":null}]}}}}"#,
        )
        .unwrap();
        let spec: Spec = read_at(request.object.unwrap().text, &["spec"])
            .unwrap()
            .unwrap();
        assert!(spec.volumes.is_none());
    }

    #[test]
    fn wrong_types_are_located() {
        // A pod spec is read at its kind's place, when the request is judged.
        let error = crate::decision::validate(
            br#"{"request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"volumes":"x"}}}}"#,
        )
        .message
        .unwrap_or_default();
        assert!(
            error.starts_with(
                "cannot read the request: request.object.spec.volumes: invalid type: string \"x\", expected a sequence"
            ),
            "{error}"
        );
        let error = Payload::parse(br#"{"request":{"kind":{"kind":"Pod"}},"settings":{"mode":1}}"#)
            .unwrap_err();
        assert!(
            matches!(&error, ReadError::Settings(e) if e.starts_with("mode: invalid type")),
            "{error}"
        );
        let error =
            Payload::parse(br#"{"request":{"kind":{"kind":"Pod"}},"settings":[]}"#).unwrap_err();
        assert!(matches!(error, ReadError::Settings(_)), "{error}");
        let error = Payload::parse(b"{\"request\":").unwrap_err();
        assert!(
            matches!(&error, ReadError::Request(e) if e.contains("EOF")),
            "{error}"
        );
    }

    mod may_mount {
        use super::*;
        use proptest::prelude::*;
        use serde_json::{Value, json};

        const NAMES: &[&str] = &[
            "a",
            "dockersock",
            "docker-sock",
            "é",
            "q\"uote",
            "back\\slash",
        ];

        /// JSON text for `value`, with each character of its strings written as a `\u` escape
        /// when the next flag of `escapes` (cycled) is set.
        fn written(value: &Value, escapes: &[bool], at: &mut usize, out: &mut String) {
            let string = |text: &str, at: &mut usize, out: &mut String| {
                out.push('"');
                for c in text.chars() {
                    let escape = !escapes.is_empty() && escapes[*at % escapes.len()];
                    *at += 1;
                    if escape || c == '"' || c == '\\' {
                        let mut units = [0u16; 2];
                        for unit in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    } else {
                        out.push(c);
                    }
                }
                out.push('"');
            };
            match value {
                Value::String(text) => string(text, at, out),
                Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        written(item, escapes, at, out);
                    }
                    out.push(']');
                }
                Value::Object(fields) => {
                    out.push('{');
                    for (i, (key, item)) in fields.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        string(key, at, out);
                        out.push(':');
                        written(item, escapes, at, out);
                    }
                    out.push('}');
                }
                other => out.push_str(&other.to_string()),
            }
        }

        fn container() -> impl Strategy<Value = Value> {
            let name = || prop::sample::select(NAMES);
            (
                name(),
                prop::collection::vec((name(), prop::option::of(name())), 0..3),
                prop::collection::vec((name(), name()), 0..3),
            )
                .prop_map(|(container, mounts, env)| {
                    json!({
                        "name": container,
                        "env": env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                        "volumeMounts": mounts.iter().map(|(volume, sub_path)| {
                            json!({"name": volume, "mountPath": "/m", "subPath": sub_path})
                        }).collect::<Vec<_>>(),
                    })
                })
        }

        proptest! {
            /// A container is skipped only if it cannot mount the volume, however its JSON is
            /// escaped; and it is skipped whenever its JSON has no escape and no such string.
            #[test]
            fn skips_only_containers_that_cannot_mount(
                value in container(),
                escapes in prop::collection::vec(prop::bool::weighted(0.05), 0..40),
                volume in prop::sample::select(NAMES),
            ) {
                let mut text = String::new();
                written(&value, &escapes, &mut 0, &mut text);
                let container: RawContainer = json::from_str(&text).unwrap();
                let mounts = container.read().unwrap().volume_mounts.iter().flatten().any(|m| m.name == volume);
                let may = container.may_mount(&VolumeNames::new([volume]));
                prop_assert!(may || !mounts, "{text} mounts {volume} but was skipped");
                let plain = !text.contains('\\') && !text.contains(&format!("\"{volume}\""));
                prop_assert!(!(may && plain), "{}", text);
            }
        }
    }
}
