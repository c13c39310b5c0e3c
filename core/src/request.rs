//! The admission request as the policy reads it: serde derives over borrowed data.
//!
//! The request is read in one pass with its objects kept as their text
//! (`&serde_json::value::RawValue`); each object is then read once more, for its metadata and
//! the places its kind keeps its pod specs (see [`read_object`] and `kinds`). Inside a pod
//! spec every container is kept as its text until a hostPath volume makes it matter: almost
//! every Pod has none, and in the others few containers mount one ([`RawContainer`]). Strings
//! borrow from the payload unless they have escapes to decode. Fields a kind does not have are
//! simply absent; everything else is skipped unbuilt.

use crate::read::{self, Map, Named};
use crate::settings::Settings;
use memchr::memmem::Finder;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

/// A string of the request: borrowed unless it had escapes to decode.
pub type Str<'a> = Cow<'a, str>;

/// The waPC `validate` payload.
#[derive(Debug, Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    request: Map<AdmissionRequest<'a>>,
    /// Read apart, so that an error in them is told as a settings error.
    #[serde(borrow, default)]
    settings: Option<&'a RawValue>,
}

impl Named for Payload<'_> {
    const EXPECTING: &'static str = "a validate payload";
}

/// What could not be read from a `validate` payload, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    Request(String),
    Settings(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Request(error) => write!(f, "cannot read the request: {error}"),
            ReadError::Settings(error) => write!(f, "invalid settings: {error}"),
        }
    }
}

/// Reads the request and the checked settings (the defaults when there are none).
pub fn parse(raw: &[u8]) -> Result<(AdmissionRequest<'_>, Settings), ReadError> {
    let Map(payload): Map<Payload> = read::from_slice(raw).map_err(ReadError::Request)?;
    let settings = match payload.settings {
        None => Settings::default(),
        Some(settings) => {
            Settings::from_json(settings.get().as_bytes()).map_err(ReadError::Settings)?
        }
    };
    Ok((payload.request.0, settings))
}

/// What a request does to its object. The policy judges creations and updates; a deletion or a
/// connection (`DELETE`, `CONNECT`) is admitted unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Other,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    #[serde(borrow)]
    pub kind: GroupVersionKind<'a>,
    /// As written; see [`AdmissionRequest::operation`].
    #[serde(borrow, default, rename = "operation")]
    pub operation_name: Cow<'a, str>,
    /// Empty for a cluster-scoped object.
    #[serde(borrow, default)]
    pub namespace: Cow<'a, str>,
    /// The objects as their text, read at their kind's places when the request is judged.
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
}

impl Named for AdmissionRequest<'_> {
    const EXPECTING: &'static str = "an admission request";
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(expecting = "a group, version and kind")]
pub struct GroupVersionKind<'a> {
    #[serde(borrow, default)]
    pub group: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta<'a> {
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub generate_name: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub namespace: Option<Str<'a>>,
    /// Only whether it is set matters.
    #[serde(default)]
    pub deletion_timestamp: Option<IgnoredAny>,
    #[serde(borrow, default)]
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

#[derive(Debug, Default, Deserialize)]
pub struct OwnerReference<'a> {
    #[serde(borrow, default)]
    pub kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(default)]
    pub controller: Option<bool>,
}

/// A part of the request that is not what the policy reads there: where it is and what is
/// wrong, as `path: message` once located ([`PartError::locate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartError {
    /// From the object: `spec.containers[0].image`.
    path: String,
    message: String,
}

impl PartError {
    fn new(prefix: String, error: &serde_path_to_error::Error<serde_json::Error>) -> PartError {
        PartError {
            path: read::path(&prefix, error),
            message: read::message(error.inner()),
        }
    }

    /// The message, about the object `object` (`request.object`).
    pub fn locate(&self, object: &str) -> String {
        match self.path.is_empty() {
            true => format!("{object}: {}", self.message),
            false => format!("{object}.{}: {}", self.path, self.message),
        }
    }
}

/// Reads `text` (a part of an object, at `path` in it) as a `T`.
fn read_part<'a, T: Deserialize<'a>>(text: &'a RawValue, path: String) -> Result<T, PartError> {
    serde_path_to_error::deserialize(text).map_err(|error| PartError::new(path, &error))
}

/// An object read at the places its kind keeps what the policy judges: its metadata, and the
/// value at each of `places` (each a list of keys) read as a `T`, `None` where it has none.
#[derive(Debug)]
pub struct ObjectRead<'a, T> {
    pub meta: ObjectMeta<'a>,
    pub found: Vec<Option<T>>,
}

/// Reads the object `text` in one pass: its `metadata`, and the value at each of `places` as a
/// `T`. A place whose keys lead through a value that is not a map (or `null`) is an error; no
/// place may be a prefix of another.
pub fn read_object<'a, T: Deserialize<'a>>(
    text: &'a RawValue,
    places: &[&[&str]],
) -> Result<ObjectRead<'a, T>, PartError> {
    let mut read = ObjectRead {
        meta: ObjectMeta::default(),
        found: places.iter().map(|_| None).collect(),
    };
    let walk = Walk {
        places: places.iter().copied().enumerate().collect(),
        depth: 0,
        meta: Some(&mut read.meta),
        found: &mut read.found,
    };
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(text, &mut track);
    if let Err(error) = walk.deserialize(tracked) {
        let error = serde_path_to_error::Error::new(track.path(), error);
        return Err(PartError::new(String::new(), &error));
    }
    Ok(read)
}

/// The value at `keys` in the object `text`, read as a `T`; `None` if it has none there.
pub fn read_at<'a, T: Deserialize<'a>>(
    text: &'a RawValue,
    keys: &[&str],
) -> Result<Option<T>, PartError> {
    let read: ObjectRead<T> = read_object(text, &[keys])?;
    Ok(read.found.into_iter().next().flatten())
}

/// One level of [`read_object`]: the places still to reach, each with its index in `found`.
struct Walk<'w, 'p, 'm, 'a, T> {
    places: Vec<(usize, &'p [&'p str])>,
    depth: usize,
    meta: Option<&'m mut ObjectMeta<'a>>,
    found: &'w mut Vec<Option<T>>,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> DeserializeSeed<'de> for Walk<'_, '_, '_, 'a, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for Walk<'_, '_, '_, 'a, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<(), M::Error> {
        // Keys that lead somewhere, to refuse them twice as a derived struct would.
        let mut seen: Vec<Str> = Vec::new();
        while let Some(read::Text(key)) = map.next_key()? {
            let is_meta = self.meta.is_some() && key == "metadata";
            let here: Vec<(usize, &[&str])> = self
                .places
                .iter()
                .filter(|(_, keys)| keys.get(self.depth) == Some(&&*key))
                .copied()
                .collect();
            if !is_meta && here.is_empty() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            if is_meta {
                if let Some(meta) = self.meta.as_deref_mut() {
                    *meta = map.next_value::<Option<ObjectMeta>>()?.unwrap_or_default();
                }
            } else if let [(index, keys)] = here[..]
                && keys.len() == self.depth + 1
            {
                self.found[index] = map.next_value()?;
            } else {
                map.next_value_seed(Walk {
                    places: here,
                    depth: self.depth + 1,
                    meta: None,
                    found: &mut *self.found,
                })?;
            }
            seen.push(key);
        }
        Ok(())
    }
}

/// A pod spec, or the workflow spec and templates of Argo Workflows (whose templates hold a
/// `container`, a `script`, `sidecars` and a `containerSet` instead of a pod spec's lists,
/// and may carry whole templates `inline` in their steps and DAG tasks).
///
/// Containers are kept as their text, read only when they may name a hostPath volume (see
/// [`RawContainer`]). A part knows where it is in the object (`path`, set by `kinds`) to
/// locate what cannot be read in it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a spec")]
pub struct Spec<'a> {
    #[serde(borrow, default)]
    pub volumes: Option<Vec<Volume<'a>>>,
    #[serde(borrow, default)]
    containers: Option<Vec<RawContainer<'a>>>,
    #[serde(borrow, default)]
    init_containers: Option<Vec<RawContainer<'a>>>,
    #[serde(borrow, default)]
    ephemeral_containers: Option<Vec<RawContainer<'a>>>,
    #[serde(borrow, default)]
    container: Option<&'a RawValue>,
    #[serde(borrow, default)]
    script: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sidecars: Option<&'a RawValue>,
    #[serde(borrow, default)]
    container_set: Option<&'a RawValue>,
    /// Argo Workflows: the templates, each run as a Pod with the workflow's volumes and its own.
    #[serde(borrow, default)]
    pub templates: Option<Vec<Spec<'a>>>,
    /// Argo Workflows: fields every template inherits.
    #[serde(borrow, default)]
    pub template_defaults: Option<Box<Spec<'a>>>,
    /// Argo Workflows: a patch merged into each Pod (JSON or YAML in a string).
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub pod_spec_patch: Option<Str<'a>>,
    /// Argo Workflows: a template's steps, each of which may hold a template `inline`.
    #[serde(borrow, default)]
    pub steps: Option<Vec<Vec<Step<'a>>>>,
    /// Argo Workflows: a template's DAG, whose tasks may hold a template `inline`.
    #[serde(borrow, default)]
    pub dag: Option<Dag<'a>>,
    /// A Pod's containers see each other's processes, and through `/proc/<pid>/root` each
    /// other's mounts.
    #[serde(default)]
    pub share_process_namespace: Option<bool>,
    /// A Pod's containers see every process of the node, those of its own containers too.
    #[serde(default, rename = "hostPID")]
    pub host_pid: Option<bool>,
    /// Where the part is in the object (`spec.templates[0]`): see `kinds::Located`.
    #[serde(skip)]
    pub path: String,
    /// The containers of an Argo template's `container`, `script`, `sidecars` and
    /// `containerSet`, read on first use.
    #[serde(skip)]
    argo_containers: OnceCell<Result<(Vec<Container<'a>>, usize), PartError>>,
}

/// A container of a pod spec, kept as its text (checked and skipped with the object: most
/// containers are never looked at again), read on first use.
#[derive(Debug)]
pub struct RawContainer<'a> {
    text: &'a RawValue,
    read: OnceCell<Result<Container<'a>, PartError>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawContainer<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(RawContainer {
            text: Deserialize::deserialize(deserializer)?,
            read: OnceCell::new(),
        })
    }
}

impl<'a> RawContainer<'a> {
    /// False only if the container cannot mount any of `volumes`: a mount names its volume
    /// with a JSON string, and in JSON without escapes a string equal to `name` is written
    /// `"name"`, so a container whose text has neither a backslash nor `"name"` does not
    /// mount `name`. Most containers are told apart so, without being read.
    fn may_mount(&self, volumes: &VolumeNames) -> bool {
        let text = self.text.get().as_bytes();
        memchr::memchr(b'\\', text).is_some()
            || volumes.quoted.iter().any(|name| name.find(text).is_some())
    }

    /// The container, read on first use; `path` is where it is (`spec.containers[0]`).
    fn read(&self, path: impl FnOnce() -> String) -> Result<&Container<'a>, &PartError> {
        self.read
            .get_or_init(|| read_part(self.text, path()))
            .as_ref()
    }
}

/// The names of the volumes a scan looks for, quoted as JSON strings: see
/// [`RawContainer::may_mount`].
#[derive(Debug)]
pub struct VolumeNames {
    quoted: Vec<Finder<'static>>,
}

impl VolumeNames {
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        VolumeNames {
            quoted: names
                .into_iter()
                .map(|name| Finder::new(&[b"\"", name.as_bytes(), b"\""].concat()).into_owned())
                .collect(),
        }
    }
}

/// The containers of a spec, by kind (for tests: the policy visits them).
#[cfg(test)]
pub type ContainerLists<'s, 'a> = [Vec<&'s Container<'a>>; 3];

/// The container lists of a pod spec, by the index `visit_containers` gives them.
const LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

impl<'a> Spec<'a> {
    /// The containers, init containers and ephemeral containers that may mount one of
    /// `volumes` (every one for `None`), read on first use: see [`Spec::visit_containers`].
    #[cfg(test)]
    pub fn container_lists(
        &self,
        volumes: Option<&VolumeNames>,
    ) -> Result<ContainerLists<'_, 'a>, &PartError> {
        let mut lists = ContainerLists::default();
        self.visit_containers(volumes, |container, list| lists[list].push(container))?;
        Ok(lists)
    }

    /// The place of a field of this part, from the object: `spec.containers[0]`.
    fn field_path(&self, field: &str) -> String {
        match self.path.is_empty() {
            true => field.to_string(),
            false => format!("{}.{field}", self.path),
        }
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
    ) -> Result<(), &'s PartError> {
        let lists = [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ];
        for (list, containers) in lists.into_iter().enumerate() {
            let may_mount = containers
                .iter()
                .flatten()
                .enumerate()
                .filter(|(_, container)| {
                    volumes.is_none_or(|volumes| container.may_mount(volumes))
                });
            for (i, container) in may_mount {
                visit(
                    container.read(|| self.field_path(&format!("{}[{i}]", LISTS[list])))?,
                    list,
                );
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
    fn argo_containers(&self) -> Result<(&[Container<'a>], usize), &PartError> {
        let read = self.argo_containers.get_or_init(|| {
            let mut containers = Vec::new();
            for (field, single) in [("container", self.container), ("script", self.script)] {
                let Some(single) = single else { continue };
                let container: Option<Container> = read_part(single, self.field_path(field))?;
                if let Some(mut container) = container {
                    container.name = Str::Borrowed("main");
                    containers.push(container);
                }
            }
            if let Some(set) = self.container_set {
                let set: Option<ContainerSet> = read_part(set, self.field_path("containerSet"))?;
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
            if let Some(sidecars) = self.sidecars {
                let sidecars: Option<Vec<Container>> =
                    read_part(sidecars, self.field_path("sidecars"))?;
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
    ) -> Result<(), &'s PartError> {
        for (i, container) in self.ephemeral_containers.iter().flatten().enumerate() {
            visit(container.read(|| self.field_path(&format!("ephemeralContainers[{i}]")))?);
        }
        Ok(())
    }

    /// The mounts of an Argo template's main containers (its `container`, `script` or
    /// `containerSet`), which a container with `mirrorVolumeMounts` gets too.
    pub fn argo_main_mounts(&self) -> Result<Vec<&VolumeMount<'a>>, &PartError> {
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

/// An Argo `containerSet`: containers that share the set's mounts.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a container set")]
struct ContainerSet<'a> {
    #[serde(borrow, default)]
    containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    volume_mounts: Option<Vec<VolumeMount<'a>>>,
}

/// An Argo step or DAG task: only a template written `inline` matters (a named one is judged
/// where the workflow or its WorkflowTemplate defines it).
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a workflow step")]
pub struct Step<'a> {
    #[serde(borrow, default)]
    pub inline: Option<Box<Spec<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a DAG template")]
pub struct Dag<'a> {
    #[serde(borrow, default)]
    pub tasks: Option<Vec<Step<'a>>>,
}

/// A PersistentVolume's spec: the kubelet bind-mounts a `local` volume exactly as a
/// `hostPath` one.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a PersistentVolume spec")]
pub struct PersistentVolumeSpec<'a> {
    #[serde(borrow, default)]
    pub host_path: Option<HostPathSource<'a>>,
    #[serde(borrow, default)]
    pub local: Option<HostPathSource<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a volume")]
pub struct Volume<'a> {
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub host_path: Option<HostPathSource<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a hostPath source")]
pub struct HostPathSource<'a> {
    #[serde(borrow, default)]
    pub path: Cow<'a, str>,
}

/// A container: only its name, image, mounts and what else lets it reach another
/// container's mounts are read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a container")]
pub struct Container<'a> {
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub image: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub volume_mounts: Option<Vec<VolumeMount<'a>>>,
    /// An ephemeral container's debug target, whose process namespace it joins.
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub target_container_name: Option<Str<'a>>,
    /// An Argo sidecar that gets the main container's mounts.
    #[serde(default)]
    pub mirror_volume_mounts: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a volume mount")]
pub struct VolumeMount<'a> {
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub sub_path: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub sub_path_expr: Option<Str<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    fn spec(text: &str) -> Spec<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn skips_fields_it_does_not_read() {
        let (request, settings) = parse(
            br#"{"settings":{},"request":{"uid":"1","kind":{"group":"","version":"v1","kind":"Pod"},
            "operation":"CREATE","object":{"metadata":{"name":"p","labels":{"a":"b"}},
            "spec":{"futureField":{"x":[1,2]},"volumes":[{"name":"v","hostPath":{"path":"/x","type":"Socket"}}],
            "containers":[{"name":"c","image":"i","env":[{"name":"A","value":"B"}],
            "volumeMounts":[{"name":"v","mountPath":"/x","readOnly":true}]}]}}}}"#,
        )
        .unwrap();
        let object: ObjectRead<Spec> = read_object(request.object.unwrap(), &[&["spec"]]).unwrap();
        assert_eq!(object.meta.name.as_deref(), Some("p"));
        let spec = object.found[0].as_ref().unwrap();
        let volumes = spec.volumes.as_ref().unwrap();
        assert_eq!(volumes[0].host_path.as_ref().unwrap().path, "/x");
        assert!(matches!(volumes[0].name, Cow::Borrowed("v")));
        assert_eq!(
            spec.container_lists(None).unwrap()[0][0]
                .volume_mounts
                .as_ref()
                .unwrap()[0]
                .name,
            "v"
        );
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn reads_metadata_and_every_place_in_one_pass() {
        let text = raw(
            r#"{"spec":{"template":{"a":{"spec":{"containers":[{"name":"a"}]}},"b":null,
            "c":{"spec":{"containers":[{"name":"c"}]}}}},"metadata":{"name":"x"},"other":[1]}"#,
        );
        let places: [&[&str]; 4] = [
            &["spec", "template", "a", "spec"],
            &["spec", "template", "b", "spec"],
            &["spec", "template", "c", "spec"],
            &["spec", "missing", "spec"],
        ];
        let read: ObjectRead<Spec> = read_object(text, &places).unwrap();
        assert_eq!(read.meta.name.as_deref(), Some("x"));
        let names: Vec<Option<String>> = read
            .found
            .iter()
            .map(|spec| {
                let spec = spec.as_ref()?;
                Some(spec.container_lists(None).unwrap()[0][0].name.to_string())
            })
            .collect();
        assert_eq!(names, [Some("a".into()), None, Some("c".into()), None]);
    }

    #[test]
    fn a_place_that_is_not_a_map_is_located() {
        let text = raw(r#"{"spec":{"template":"a string"}}"#);
        let error = read_at::<Spec>(text, &["spec", "template", "spec"]).unwrap_err();
        assert_eq!(
            error.locate("request.object"),
            "request.object.spec.template: invalid type: string \"a string\", expected a map"
        );
        let twice = raw(r#"{"spec":{"a":1},"spec":{"b":2}}"#);
        let error = read_at::<Spec>(twice, &["spec"]).unwrap_err();
        assert_eq!(
            error.locate("request.object"),
            "request.object: duplicate field `spec`"
        );
        let error = read_at::<Spec>(raw("[1]"), &["spec"]).unwrap_err();
        assert_eq!(
            error.locate("request.object"),
            "request.object: invalid type: sequence, expected a map"
        );
    }

    #[test]
    fn containers_are_read_on_demand_whatever_the_key_order() {
        for text in [
            r#"{"containers":[{"name":"a"}],"initContainers":[{"name":"i"}],"volumes":[]}"#,
            r#"{"volumes":[],"initContainers":[{"name":"i"}],"containers":[{"name":"a"}]}"#,
        ] {
            let spec = spec(text);
            let [containers, init, ephemeral] = spec.container_lists(None).unwrap();
            assert_eq!(containers[0].name, "a");
            assert_eq!(init[0].name, "i");
            assert!(ephemeral.is_empty());
        }
    }

    #[test]
    fn a_container_of_the_wrong_shape_is_located_when_read() {
        let text =
            raw(r#"{"spec":{"containers":[{"name":"a","volumeMounts":{"x":1}}],"volumes":[]}}"#);
        let mut spec: Spec = read_at(text, &["spec"]).unwrap().unwrap();
        spec.path = "spec".into();
        let error = spec.container_lists(None).unwrap_err();
        assert_eq!(
            error.locate("request.object"),
            "request.object.spec.containers[0].volumeMounts: invalid type: map, expected a sequence"
        );
    }

    #[test]
    fn only_containers_that_may_name_the_volume_are_read() {
        let volumes = VolumeNames::new(["sock"]);
        let may_mount = |text: &str| {
            let container: RawContainer = serde_json::from_str(text).unwrap();
            container.may_mount(&volumes)
        };
        assert!(!may_mount(r#"{"name":"a"}"#));
        assert!(!may_mount(
            r#"{"name":"socket","volumeMounts":[{"name":"other"}]}"#
        ));
        assert!(may_mount(
            r#"{"name":"a","volumeMounts":[{"name":"sock"}]}"#
        ));
        assert!(may_mount(r#"{"volumeMounts":[{"name":"s\u006fck"}]}"#));
        // A container that may mount it is read, and what cannot be read is told.
        let text = raw(r#"{"spec":{"containers":[{"image":7,"volumeMounts":[{"name":"sock"}]}]}}"#);
        let mut spec: Spec = read_at(text, &["spec"]).unwrap().unwrap();
        spec.path = "spec".into();
        assert_eq!(
            spec.container_lists(Some(&volumes))
                .unwrap_err()
                .locate("request.object"),
            "request.object.spec.containers[0].image: invalid type: integer `7`, expected a string"
        );
        // One that cannot mount it is not read.
        let text = raw(r#"{"spec":{"containers":[{"image":7,"volumeMounts":[{"name":"x"}]}]}}"#);
        let spec: Spec = read_at(text, &["spec"]).unwrap().unwrap();
        assert!(spec.container_lists(Some(&volumes)).unwrap()[0].is_empty());
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
        let spec = spec(r#"{"volumes":null,"containers":[{"name":"c","volumeMounts":null}]}"#);
        assert!(spec.volumes.is_none());
        assert!(
            spec.container_lists(None).unwrap()[0][0]
                .volume_mounts
                .is_none()
        );
    }

    #[test]
    fn wrong_types_are_located() {
        // A pod spec is read at its kind's place, when the request is judged.
        let error = crate::decision::validate(
            br#"{"request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"volumes":"x"}}}}"#,
        )
        .message
        .unwrap_or_default();
        assert_eq!(
            error,
            "cannot read the request: request.object.spec.volumes: invalid type: string \"x\", expected a sequence"
        );
        let error =
            parse(br#"{"request":{"kind":{"kind":"Pod"}},"settings":{"mode":1}}"#).unwrap_err();
        assert_eq!(
            error,
            ReadError::Settings("mode: invalid type: integer `1`, expected a string".into())
        );
        let error = parse(br#"{"request":{"kind":{"kind":"Pod"}},"settings":[]}"#).unwrap_err();
        assert!(matches!(error, ReadError::Settings(_)), "{error}");
        let error = parse(b"{\"request\":").unwrap_err();
        assert!(
            matches!(&error, ReadError::Request(e) if e.contains("EOF")),
            "{error}"
        );
        let error = parse(br#"[{"kind":{"kind":"Pod"}}]"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read the request: invalid type: sequence, expected a validate payload"
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
                let container: RawContainer = serde_json::from_str(&text).unwrap();
                let mounts = container.read(String::new).unwrap().volume_mounts.iter().flatten().any(|m| m.name == volume);
                let may = container.may_mount(&VolumeNames::new([volume]));
                prop_assert!(may || !mounts, "{text} mounts {volume} but was skipped");
                let plain = !text.contains('\\') && !text.contains(&format!("\"{volume}\""));
                prop_assert!(!(may && plain), "{}", text);
            }
        }
    }
}
