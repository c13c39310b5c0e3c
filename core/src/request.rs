//! The objects of an admission request as the policy reads them: serde derives over borrowed
//! data. An object is read for its metadata and the places its kind keeps what the policy
//! judges (see [`ObjectSeed`] and `kinds`), in one pass; everything else is skipped unbuilt,
//! and strings borrow from the payload unless they have escapes to decode.

use crate::read;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use std::marker::PhantomData;

/// A string of the request: borrowed unless it had escapes to decode.
pub type Str<'a> = Cow<'a, str>;

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
    fn new(error: &read::Error) -> PartError {
        PartError {
            path: read::path("", error),
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

/// An object read at the places its kind keeps what the policy judges: its metadata, and the
/// value at each of `places` (each a list of keys) read as a `T`, `None` where it has none.
#[derive(Debug)]
pub struct ObjectRead<'a, T> {
    pub meta: ObjectMeta<'a>,
    pub found: Vec<Option<T>>,
}

/// The places of an object a kind's row names, as keys.
pub type Places<'p> = &'p [&'static [&'static str]];

/// Reads the object `text` in one pass: its `metadata`, and the value at each of `places` as a
/// `T`. A place whose keys lead through a value that is not a map (or `null`) is an error; no
/// place may be a prefix of another.
pub fn read_object<'a, T: Deserialize<'a>>(
    text: &'a RawValue,
    places: Places,
) -> Result<ObjectRead<'a, T>, PartError> {
    read::tracked_seed(ObjectSeed::new(places), text.get().as_bytes())
        .map_err(|error| PartError::new(&error))
}

/// The value at `keys` in the object `text`, read as a `T`; `None` if it has none there.
pub fn read_at<'a, T: Deserialize<'a>>(
    text: &'a RawValue,
    keys: &'static [&'static str],
) -> Result<Option<T>, PartError> {
    let read: ObjectRead<T> = read_object(text, &[keys])?;
    Ok(read.found.into_iter().next().flatten())
}

/// Reads an object as [`read_object`] does, where the object is (as a seed, also in the pass
/// over the whole request).
pub struct ObjectSeed<'p, T> {
    places: Places<'p>,
    found: PhantomData<T>,
}

impl<'p, T> ObjectSeed<'p, T> {
    pub fn new(places: Places<'p>) -> Self {
        ObjectSeed {
            places,
            found: PhantomData,
        }
    }
}

impl<T> Clone for ObjectSeed<'_, T> {
    fn clone(&self) -> Self {
        ObjectSeed::new(self.places)
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ObjectSeed<'_, T> {
    type Value = ObjectRead<'de, T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let mut read = ObjectRead {
            meta: ObjectMeta::default(),
            found: self.places.iter().map(|_| None).collect(),
        };
        let walk = Walk {
            places: self.places.iter().copied().enumerate().collect(),
            depth: 0,
            meta: Some(&mut read.meta),
            found: &mut read.found,
        };
        walk.deserialize(deserializer)?;
        Ok(read)
    }
}

/// One level of an [`ObjectSeed`]: the places still to reach, each with its index in `found`.
struct Walk<'w, 'm, 'a, T> {
    places: Vec<(usize, &'static [&'static str])>,
    depth: usize,
    meta: Option<&'m mut ObjectMeta<'a>>,
    found: &'w mut Vec<Option<T>>,
}

impl<'de: 'a, 'a, T: Deserialize<'de>> DeserializeSeed<'de> for Walk<'_, '_, 'a, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for Walk<'_, '_, 'a, T> {
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
            let here: Vec<(usize, &'static [&'static str])> = self
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

/// A list of the object, each of its items with where it is (see [`Item`]).
#[derive(Debug, Clone)]
pub struct List<'a, T> {
    pub items: Vec<Item<'a, T>>,
}

impl<T> Default for List<'_, T> {
    fn default() -> Self {
        List { items: Vec::new() }
    }
}

/// An item of a list of the object, with where it is: what mutation removes is exactly the
/// items the verdict lists, found by where they are, never again by their names.
#[derive(Debug, Clone)]
pub struct Item<'a, T> {
    pub value: T,
    pub at: Span<'a>,
}

/// Where an item is: its text (a part of the request's text), and where its list's items
/// begin and end (addresses in the request's text, from which mutation finds the list). Two
/// spans are the same only if they are the same bytes of the request (two mounts written alike
/// in two containers are two mounts).
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub text: &'a str,
    pub list: (usize, usize),
}

impl Span<'_> {
    fn key(&self) -> (usize, usize) {
        (self.text.as_ptr() as usize, self.text.len())
    }
}

impl PartialEq for Span<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Span<'_> {}

impl PartialOrd for Span<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Span<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl<T> std::ops::Deref for Item<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'a, T> std::ops::Deref for List<'a, T> {
    type Target = [Item<'a, T>];

    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

impl<'l, 'a, T> IntoIterator for &'l List<'a, T> {
    type Item = &'l Item<'a, T>;
    type IntoIter = std::slice::Iter<'l, Item<'a, T>>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Each item read as its text, then from it: the texts are where mutation edits. An error in
/// an item keeps its path (see `read::nested`).
impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for List<'a, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Items<T> {
            type Value = List<'de, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element_seed(ItemSeed(PhantomData))? {
                    items.push(item);
                }
                if let (Some(first), Some(last)) = (items.first(), items.last()) {
                    let (first, last): (&Item<T>, &Item<T>) = (first, last);
                    let start = first.at.text.as_ptr() as usize;
                    let end = last.at.text.as_ptr() as usize + last.at.text.len();
                    for item in &mut items {
                        item.at.list = (start, end);
                    }
                }
                Ok(List { items })
            }
        }
        deserializer.deserialize_seq(Items(PhantomData))
    }
}

/// An item of a [`List`]: its text, then the value read from it.
struct ItemSeed<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for ItemSeed<T> {
    type Value = Item<'de, T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let text: &'de RawValue = Deserialize::deserialize(deserializer)?;
        let text = text.get();
        let value = read::untracked_seed(PhantomData, text.as_bytes())
            .map_err(|_| de::Error::custom(read::nested::<T>(text.as_bytes())))?;
        Ok(Item {
            value,
            at: Span { text, list: (0, 0) },
        })
    }
}

/// A pod spec, or the workflow spec and templates of Argo Workflows (whose templates hold a
/// `container`, a `script`, `sidecars` and a `containerSet` instead of a pod spec's lists,
/// and may carry whole templates `inline` in their steps and DAG tasks). Of a container only
/// what the policy judges is built (see [`Container`]); everything else is skipped. A part
/// knows where it is in the object (`path`, set by `kinds`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a spec")]
pub struct Spec<'a> {
    #[serde(borrow, default)]
    pub volumes: Option<List<'a, Volume<'a>>>,
    #[serde(borrow, default)]
    containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    init_containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    ephemeral_containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    container: Option<Container<'a>>,
    #[serde(borrow, default)]
    script: Option<Container<'a>>,
    #[serde(borrow, default)]
    sidecars: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    container_set: Option<ContainerSet<'a>>,
    /// Argo Workflows: the templates, each run as a Pod with the workflow's volumes and its own.
    #[serde(borrow, default)]
    pub templates: Option<Vec<Spec<'a>>>,
    /// Argo Workflows: fields every template inherits.
    #[serde(borrow, default)]
    pub template_defaults: Option<Box<Spec<'a>>>,
    /// Argo Workflows: a patch merged into each Pod (JSON or YAML in a string).
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub pod_spec_patch: Option<Cow<'a, str>>,
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
    /// The containers of an Argo template's `container`, `script`, `containerSet` and
    /// `sidecars`, as Argo runs them, made on first use.
    #[serde(skip)]
    argo_containers: OnceCell<(Vec<Container<'a>>, usize)>,
}

/// The containers of a spec, by kind (for tests: the policy visits them).
#[cfg(test)]
pub type ContainerLists<'s, 'a> = [Vec<&'s Container<'a>>; 3];

impl<'a> Spec<'a> {
    /// The containers, init containers and ephemeral containers: see
    /// [`Spec::visit_containers`].
    #[cfg(test)]
    pub fn container_lists(&self) -> ContainerLists<'_, 'a> {
        let mut lists = ContainerLists::default();
        self.visit_containers(|container, list| lists[list].push(container));
        lists
    }

    /// Calls `visit` with each container and its list: 0 for containers, 1 for init
    /// containers, 2 for ephemeral containers. An Argo template's `container`, `script`,
    /// `containerSet` and `sidecars` containers count as containers, after the others; its
    /// `container` or `script` is `main`, as Argo names it whatever name it was given, and the
    /// mounts of a `containerSet` apply to each of its containers.
    pub fn visit_containers<'s>(&'s self, mut visit: impl FnMut(&'s Container<'a>, usize)) {
        let lists = [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ];
        for (list, containers) in lists.into_iter().enumerate() {
            for container in containers.iter().flatten() {
                visit(container, list);
            }
            if list == 0 {
                for container in &self.argo_containers().0 {
                    visit(container, 0);
                }
            }
        }
    }

    /// An Argo template's containers, and how many of them, first, are main containers: its
    /// `container` or `script` (which Argo always names `main`) and its `containerSet`'s
    /// (one of which Argo takes for `main`); then its `sidecars`.
    fn argo_containers(&self) -> &(Vec<Container<'a>>, usize) {
        self.argo_containers.get_or_init(|| {
            let mut containers = Vec::new();
            for single in [&self.container, &self.script].into_iter().flatten() {
                containers.push(Container {
                    name: Cow::Borrowed("main"),
                    ..single.clone()
                });
            }
            if let Some(set) = &self.container_set {
                let shared = set.volume_mounts.iter().flatten();
                for container in set.containers.iter().flatten() {
                    let mut container = container.clone();
                    container
                        .volume_mounts
                        .get_or_insert_with(List::default)
                        .items
                        .extend(shared.clone().cloned());
                    containers.push(container);
                }
            }
            let mains = containers.len();
            containers.extend(self.sidecars.iter().flatten().cloned());
            (containers, mains)
        })
    }

    /// Calls `visit` with each ephemeral container.
    pub fn visit_ephemeral<'s>(&'s self, visit: impl FnMut(&'s Container<'a>)) {
        self.ephemeral_containers.iter().flatten().for_each(visit);
    }

    /// The mounts of an Argo template's main containers (its `container`, `script` or
    /// `containerSet`), which a container with `mirrorVolumeMounts` gets too.
    pub fn argo_main_mounts(&self) -> Vec<&Item<'a, VolumeMount<'a>>> {
        let (containers, mains) = self.argo_containers();
        containers[..*mains]
            .iter()
            .flat_map(|main| main.volume_mounts.iter().flatten())
            .collect()
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
    volume_mounts: Option<List<'a, VolumeMount<'a>>>,
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
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a container")]
pub struct Container<'a> {
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "read::text")]
    pub image: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub volume_mounts: Option<List<'a, VolumeMount<'a>>>,
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
    fn skips_fields_it_does_not_read_and_borrows_strings() {
        let text = raw(r#"{"metadata":{"name":"p","labels":{"a":"b"}},
            "spec":{"futureField":{"x":[1,2]},"volumes":[{"name":"v","hostPath":{"path":"/x","type":"Socket"}}],
            "containers":[{"name":"c","image":"i","env":[{"name":"A","value":"B"}],
            "volumeMounts":[{"name":"v","mountPath":"/x","readOnly":true}]}]}}"#);
        let object: ObjectRead<Spec> = read_object(text, &[&["spec"]]).unwrap();
        assert!(matches!(object.meta.name, Some(Cow::Borrowed("p"))));
        let spec = object.found[0].as_ref().unwrap();
        let volumes = spec.volumes.as_ref().unwrap();
        assert_eq!(volumes[0].host_path.as_ref().unwrap().path, "/x");
        assert!(matches!(volumes[0].name, Cow::Borrowed("v")));
        let container = spec.container_lists()[0][0];
        assert!(matches!(container.image, Some(Cow::Borrowed("i"))));
        assert_eq!(container.volume_mounts.as_ref().unwrap()[0].name, "v");
    }

    #[test]
    fn reads_metadata_and_every_place_in_one_pass() {
        let text = raw(
            r#"{"spec":{"template":{"a":{"spec":{"containers":[{"name":"a"}]}},"b":null,
            "c":{"spec":{"containers":[{"name":"c"}]}}}},"metadata":{"name":"x"},"other":[1]}"#,
        );
        let places: [&'static [&'static str]; 4] = [
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
            .map(|spec| Some(spec.as_ref()?.container_lists()[0][0].name.to_string()))
            .collect();
        assert_eq!(names, [Some("a".into()), None, Some("c".into()), None]);
    }

    #[test]
    fn what_is_not_read_where_a_place_is_is_located() {
        let located = |text: &str, keys: &'static [&'static str]| {
            read_at::<Spec>(raw(text), keys)
                .unwrap_err()
                .locate("request.object")
        };
        assert_eq!(
            located(
                r#"{"spec":{"template":"a string"}}"#,
                &["spec", "template", "spec"]
            ),
            "request.object.spec.template: invalid type: string \"a string\", expected a map"
        );
        assert_eq!(
            located(r#"{"spec":{"a":1},"spec":{"b":2}}"#, &["spec"]),
            "request.object: duplicate field `spec`"
        );
        assert_eq!(
            located("[1]", &["spec"]),
            "request.object: invalid type: sequence, expected a map"
        );
        assert_eq!(
            located(
                r#"{"spec":{"containers":[{"name":"a","volumeMounts":{"x":1}}]}}"#,
                &["spec"]
            ),
            "request.object.spec.containers[0].volumeMounts: invalid type: map, expected a sequence"
        );
        assert_eq!(
            located(r#"{"spec":{"containers":[{"image":7}]}}"#, &["spec"]),
            "request.object.spec.containers[0].image: invalid type: integer `7`, expected a string"
        );
        assert_eq!(
            located(r#"{"spec":{"volumes":[],"volumes":[]}}"#, &["spec"]),
            "request.object.spec: duplicate field `volumes`"
        );
        // Lists read item by item (for their texts) keep the path into the item.
        assert_eq!(
            located(
                r#"{"spec":{"volumes":[{"name":"a"},{"hostPath":{"path":7}}]}}"#,
                &["spec"]
            ),
            "request.object.spec.volumes[1].hostPath.path: invalid type: integer `7`, expected a string"
        );
        assert_eq!(
            located(
                r#"{"spec":{"containers":[{"volumeMounts":[{"name":"a"},{"name":["b"]}]}]}}"#,
                &["spec"]
            ),
            "request.object.spec.containers[0].volumeMounts[1].name: invalid type: sequence, expected a string"
        );
        assert_eq!(
            located(r#"{"spec":{"volumes":{"a":1}}}"#, &["spec"]),
            "request.object.spec.volumes: invalid type: map, expected a sequence"
        );
    }

    #[test]
    fn items_know_where_they_are() {
        let text = raw(r#"{"spec":{"volumes":[{"name":"a"}, {"name":"a"}],
            "containers":[{"volumeMounts":[{"name":"a"}]},{"volumeMounts":[{"name":"a"}]}]}}"#);
        let spec: Spec = read_at(text, &["spec"]).unwrap().unwrap();
        let volumes = spec.volumes.as_ref().unwrap();
        assert_eq!(volumes[1].at.text, r#"{"name":"a"}"#);
        assert_eq!(volumes[0].at.list, volumes[1].at.list);
        // Written alike, but two items.
        assert_ne!(volumes[0].at, volumes[1].at);
        let [containers, _, _] = spec.container_lists();
        let mounts = |i: usize| containers[i].volume_mounts.as_ref().unwrap()[0].at;
        assert_eq!(mounts(0).text, mounts(1).text);
        assert_ne!(mounts(0), mounts(1));
        assert_eq!(mounts(0), mounts(0));
    }

    #[test]
    fn containers_are_read_whatever_the_key_order() {
        for text in [
            r#"{"containers":[{"name":"a"}],"initContainers":[{"name":"i"}],"volumes":[]}"#,
            r#"{"volumes":[],"initContainers":[{"name":"i"}],"containers":[{"name":"a"}]}"#,
        ] {
            let spec = spec(text);
            let [containers, init, ephemeral] = spec.container_lists();
            assert_eq!(containers[0].name, "a");
            assert_eq!(init[0].name, "i");
            assert!(ephemeral.is_empty());
        }
    }

    #[test]
    fn null_lists_are_absent() {
        let spec = spec(r#"{"volumes":null,"containers":[{"name":"c","volumeMounts":null}]}"#);
        assert!(spec.volumes.is_none());
        assert!(spec.container_lists()[0][0].volume_mounts.is_none());
    }

    #[test]
    fn wrong_types_are_located_when_the_request_is_judged() {
        let error = crate::decision::validate(
            br#"{"request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"volumes":"x"}}}}"#,
        )
        .message
        .unwrap_or_default();
        assert_eq!(
            error,
            "cannot read the request: request.object.spec.volumes: invalid type: string \"x\", expected a sequence"
        );
        // Not for a deletion, which is admitted unread.
        let deletion = crate::decision::validate(
            br#"{"request":{"kind":{"kind":"Pod"},"operation":"DELETE","oldObject":{"spec":{"volumes":"x"}}}}"#,
        );
        assert!(deletion.accepted, "{:?}", deletion.message);
    }
}
