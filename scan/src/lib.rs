//! `dsp scan`: which objects of a cluster dump or of rendered manifests depend on a runtime
//! socket, judged by the policy module itself (its `report` function: the `validate` decision
//! and the exposures behind it), so a report and an admission decision never disagree.

pub mod sarif;
pub mod yaml;

use docker_socket_policy_core::kube_yaml;
/// What the settings make of a finding and what it exposes: the policy's own types, read back
/// from its report.
pub use docker_socket_policy_core::{ExposureKind, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use testkit::Evaluator;

/// An object read from an input, with where it came from.
#[derive(Debug, Clone)]
pub struct Located {
    pub source: String,
    pub document: usize,
    /// The index (from 0) of the object in the document's `items`, for an item of a List.
    pub item: Option<usize>,
    pub object: Value,
}

/// An object as a reader hands it on: parsed, or an item of a JSON List read in chunks, kept as
/// its text with what the scan needs to know of it (the policy reads the text itself: no tree
/// is built and written again for it).
#[derive(Debug)]
pub enum Item {
    Parsed(Located),
    Json(JsonItem),
}

/// The text of one item of a JSON List, checked to be JSON, and its head. (Judged from its text
/// by the parallel scan, which the browser build has not: there it is read as a tree.)
#[derive(Debug)]
#[cfg_attr(target_family = "wasm", allow(dead_code))]
pub struct JsonItem {
    source: String,
    document: usize,
    /// The index (from 0) in the List's `items`, and the line and column (from 1) where the
    /// item starts in the input.
    item: usize,
    start: (usize, usize),
    text: Box<serde_json::value::RawValue>,
    head: Head,
}

/// What the scan needs of an object besides its text.
#[derive(Debug, Clone)]
#[cfg_attr(target_family = "wasm", allow(dead_code))]
struct Head {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    /// The controller's kind and name.
    controller: Option<(String, String)>,
}

impl Item {
    /// Names the input the object was read from `source`.
    pub fn rename_source(&mut self, source: &str) {
        match self {
            Item::Parsed(located) => located.source = source.to_string(),
            Item::Json(item) => item.source = source.to_string(),
        }
    }

    /// The object, parsed.
    pub fn into_located(self) -> Result<Located, String> {
        match self {
            Item::Parsed(located) => Ok(located),
            Item::Json(item) => item.parsed(),
        }
    }
}

impl JsonItem {
    /// The item as a tree. JSON that is well-formed may still not be one: a number out of
    /// range, an unpaired surrogate, nesting deeper than serde_json reads.
    fn parsed(&self) -> Result<Located, String> {
        Ok(Located {
            source: self.source.clone(),
            document: self.document,
            item: Some(self.item),
            object: serde_json::from_str(self.text.get())
                .map_err(|e| format!("{} document {}: {e}", self.source, self.document))?,
        })
    }
}

/// The head of an object's text, read by serde with borrowed strings and every other field
/// skipped. Anything unexpected (a field of another type, a repeated field) fails, and the
/// object is then read whole as a tree, as any other.
#[derive(Deserialize)]
struct HeadText<'a> {
    #[serde(rename = "apiVersion", borrow)]
    api_version: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: MetadataText<'a>,
    #[serde(default, borrow)]
    items: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize, Default)]
struct MetadataText<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    namespace: Option<Cow<'a, str>>,
    #[serde(rename = "ownerReferences", default, borrow)]
    owner_references: Option<Vec<OwnerText<'a>>>,
}

#[derive(Deserialize)]
struct OwnerText<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    controller: Option<bool>,
}

impl Head {
    /// The head of `text`, unless the object is not one the text alone can stand for: a `List`
    /// (refused by the reader), or an object whose head is not plain strings.
    fn of(text: &str) -> Option<Head> {
        let head: HeadText = serde_json::from_str(text).ok()?;
        if head.items.is_some_and(|items| items.get().starts_with('[')) {
            return None;
        }
        let (group, version) = head
            .api_version
            .split_once('/')
            .unwrap_or(("", &head.api_version));
        let meta = head.metadata;
        let controller = meta
            .owner_references
            .unwrap_or_default()
            .into_iter()
            .find(|owner| owner.controller == Some(true))
            .map(|owner| {
                (
                    owner.kind.unwrap_or_default().into_owned(),
                    owner.name.unwrap_or_default().into_owned(),
                )
            });
        Some(Head {
            group: group.to_string(),
            version: version.to_string(),
            kind: head.kind.into_owned(),
            name: meta.name.unwrap_or_default().into_owned(),
            namespace: meta.namespace.unwrap_or_default().into_owned(),
            controller,
        })
    }
}

/// Reads `kubectl get -o json` output (a List or one object), `-o yaml` output or multi-document
/// YAML, as kubectl reads them: YAML 1.1 through sigs.k8s.io/yaml (merge keys applied,
/// `!!binary` decoded, unknown tags refused; see `kube_yaml`). Errors name the input, the
/// document (from 1) and, for YAML, the line. What kubectl refuses is refused: a List inside a
/// List, and an input with no object at all (an empty List is a successful query of an empty
/// cluster, and reads as no object without an error).
pub fn read_objects(source: &str, text: &str) -> Result<Vec<Located>, String> {
    let mut objects = Vec::new();
    read_objects_with(source, text, &mut |item| {
        objects.extend(item.into_located().ok())
    })?;
    Ok(objects)
}

/// [`read_objects`], handing each object to `each` as it is read: the items of a JSON `List`
/// (`kubectl get -o json`) are read one at a time, never all held at once.
pub fn read_objects_with(
    source: &str,
    text: &str,
    each: &mut dyn FnMut(Item),
) -> Result<(), String> {
    let json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if json && read_json(source, serde_json::de::StrRead::new(text), each)? {
        return Ok(());
    }
    let mut list = ListReader::new(source, each);
    let documents = kube_yaml::documents(text).map_err(|error| {
        format!(
            "{source}: document {}, line {}, column {}: {}",
            document_at(text, error.line),
            error.line,
            error.column,
            error.message
        )
    })?;
    let mut lists = 0;
    let mut objects = 0;
    for (i, document) in documents.into_iter().enumerate() {
        list.index = i + 1;
        match json_value(document.value) {
            Value::Null => {}
            Value::Object(mut map) if map.get("items").is_some_and(Value::is_array) => {
                lists += 1;
                let Some(Value::Array(items)) = map.remove("items") else {
                    unreachable!("checked to be an array");
                };
                for item in items {
                    list.item(item)?;
                }
            }
            document => {
                objects += 1;
                list.object(document)?;
            }
        }
    }
    if objects == 0 && lists == 0 {
        return Err(format!(
            "{source}: no object to scan (kubectl apply says \"no objects passed to apply\")"
        ));
    }
    Ok(())
}

/// Reads one input; `-` is stdin. Empty input is an error: a failed `kubectl get` piped in
/// must not read as a clean cluster.
pub fn read_text(input: &str) -> Result<(String, String), String> {
    let (source, text) = if input == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        ("stdin".to_string(), text)
    } else {
        let text =
            std::fs::read_to_string(input).map_err(|e| format!("cannot read {input}: {e}"))?;
        (input.to_string(), text)
    };
    if text.trim().is_empty() {
        return Err(format!(
            "{source} is empty: nothing to scan (did the command that produced it fail?)"
        ));
    }
    Ok((source, text))
}

/// Hands every object of `input` (a file, or `-` for stdin) to `each` as it is read: a JSON
/// List file is read in chunks, an item at a time, and never held whole; anything else (YAML,
/// one object, stdin) is read whole first.
pub fn read_input(input: &str, each: &mut dyn FnMut(Item)) -> Result<(), String> {
    if input != "-" {
        let file = std::fs::File::open(input).map_err(|e| format!("cannot read {input}: {e}"))?;
        if read_json_list(input, file, each)? {
            return Ok(());
        }
    }
    let (source, text) = read_text(input)?;
    read_objects_with(&source, &text, each)
}

/// Reads `input` as one JSON document (`kubectl get -o json`), handing each object to `each`
/// as it is read; `Ok(false)` when it is not JSON (flow-style YAML, to be read as YAML) and
/// nothing was handed on.
fn read_json<'de, R: serde_json::de::Read<'de>>(
    source: &str,
    input: R,
    each: &mut dyn FnMut(Item),
) -> Result<bool, String> {
    let mut list = ListReader::new(source, each);
    let mut deserializer = serde_json::Deserializer::new(input);
    let read = serde::de::DeserializeSeed::deserialize(&mut list, &mut deserializer)
        .and_then(|document| deserializer.end().map(|()| document));
    if let Some(error) = list.error.take() {
        return Err(error);
    }
    match read {
        Ok(Some(object)) => list.object(object).map(|()| true),
        Ok(None) => Ok(true),
        // Items were handed on already: the rest is not read as YAML again.
        Err(error) if list.items > 0 => {
            Err(format!("{source}: after {} items: {error}", list.items))
        }
        Err(_) => Ok(false),
    }
}

/// Reads one JSON document: an object whose `items` are streamed to `each` one by one (a
/// `List`), or an object kept whole (`Some`, to be handed on as one object).
struct ListReader<'r> {
    source: &'r str,
    index: usize,
    items: usize,
    each: &'r mut dyn FnMut(Item),
    /// The first item that is not a Kubernetes object, or a List inside the List.
    error: Option<String>,
}

impl<'r> ListReader<'r> {
    fn new(source: &'r str, each: &'r mut dyn FnMut(Item)) -> ListReader<'r> {
        ListReader {
            source,
            index: 1,
            items: 0,
            each,
            error: None,
        }
    }

    fn item(&mut self, item: Value) -> Result<(), String> {
        self.items += 1;
        let item_at = || {
            format!(
                "{}: document {}, item {}",
                self.source, self.index, self.items
            )
        };
        if item.get("items").is_some_and(Value::is_array) {
            return Err(format!(
                "{}: a List inside a List, which kubectl refuses (\"is not a list\")",
                item_at()
            ));
        }
        kind_of(&item).ok_or_else(|| {
            format!(
                "{}: not a Kubernetes object (no apiVersion and kind)",
                item_at()
            )
        })?;
        (self.each)(Item::Parsed(Located {
            source: self.source.to_string(),
            document: self.index,
            item: Some(self.items - 1),
            object: item,
        }));
        Ok(())
    }

    /// An item of a List read in chunks: checked to be JSON and kept as text, or read as a
    /// tree when its head is not plain (see [`Head::of`]).
    fn json_item(&mut self, bytes: &[u8], start: (usize, usize)) -> Result<(), String> {
        let text: Box<serde_json::value::RawValue> = serde_json::from_slice(bytes)
            .map_err(|e| format!("{}: item {}: {e}", self.source, self.items + 1))?;
        let Some(head) = Head::of(text.get()) else {
            let object = serde_json::from_str(text.get())
                .map_err(|e| format!("{}: item {}: {e}", self.source, self.items + 1))?;
            return self.item(object);
        };
        self.items += 1;
        (self.each)(Item::Json(JsonItem {
            source: self.source.to_string(),
            document: self.index,
            item: self.items - 1,
            start,
            text,
            head,
        }));
        Ok(())
    }

    fn object(&mut self, object: Value) -> Result<(), String> {
        kind_of(&object).ok_or_else(|| {
            format!(
                "{}: document {}: not a Kubernetes object (no apiVersion and kind)",
                self.source, self.index
            )
        })?;
        (self.each)(Item::Parsed(Located {
            source: self.source.to_string(),
            document: self.index,
            item: None,
            object,
        }));
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut ListReader<'_> {
    /// The object, unless it was a `List` whose items went to `each`.
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &mut ListReader<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes object or a List")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = serde_json::Map::new();
        let mut list = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" && list {
                // Not to be read again as YAML: refused whatever the reader.
                self.error = Some(format!("{}: {TWO_ITEMS}", self.source));
                return Err(serde::de::Error::custom(TWO_ITEMS));
            }
            if key == "items" {
                list = true;
                map.next_value_seed(Items(&mut *self))?;
            } else {
                fields.insert(key, map.next_value()?);
            }
        }
        Ok((!list).then_some(Value::Object(fields)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(serde::de::Error::custom(
            "a JSON array is not a Kubernetes object",
        ))
    }
}

/// kubectl reads the last of two `items` keys; a reader that streams the first would not see
/// the objects of the other.
const TWO_ITEMS: &str = "a List with more than one \"items\" key, which this scan refuses";

/// How many keys of a JSON object read as `items` (escaped or not).
struct ItemsKeys(usize);

impl<'de> Deserialize<'de> for ItemsKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ItemsKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ItemsKeys, A::Error> {
                let mut count = 0;
                while let Some(key) = map.next_key::<Cow<str>>()? {
                    count += usize::from(key == "items");
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                Ok(ItemsKeys(count))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A `List`'s items, each handed on as it is read.
struct Items<'a, 'r>(&'a mut ListReader<'r>);

impl<'de> serde::de::DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of objects (kubectl reads any object with items as a List)")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            if let Err(error) = self.0.item(item) {
                self.0.error = Some(error);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// The document (from 1) of a YAML stream that `line` (from 1) is in: the `---` lines before
/// it, and the document before the first `---` if something is written there.
fn document_at(text: &str, line: usize) -> usize {
    let separator = |l: &str| l.starts_with("---");
    let separators = text
        .lines()
        .take(line.saturating_sub(1))
        .filter(|l| separator(l))
        .count();
    let implicit_first = text
        .lines()
        .take_while(|l| !separator(l))
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    (separators + usize::from(implicit_first)).max(1)
}

/// A YAML value as serde_json's.
fn json_value(value: kube_yaml::Value) -> Value {
    match value {
        kube_yaml::Value::Null => Value::Null,
        kube_yaml::Value::Bool(b) => Value::Bool(b),
        kube_yaml::Value::Number(n) => serde_json::from_str(&n).unwrap_or(Value::String(n)),
        kube_yaml::Value::String(s) => Value::String(s),
        kube_yaml::Value::Array(items) => Value::Array(items.into_iter().map(json_value).collect()),
        kube_yaml::Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, json_value(value)))
                .collect(),
        ),
    }
}

/// The AdmissionRequest the API server sends for creating `object` (its kind from `apiVersion`
/// and `kind`, its namespace from its metadata).
pub fn create_request(object: &Value, uid: &str) -> Value {
    let kind = kind_of(object).unwrap_or(GroupVersionKind {
        group: "",
        version: "",
        kind: "",
    });
    let meta = &object["metadata"];
    json!({
        "uid": uid,
        "kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
        "resource": {
            "group": kind.group,
            "version": kind.version,
            "resource": format!("{}s", kind.kind.to_ascii_lowercase()),
        },
        "operation": "CREATE",
        "userInfo": {"username": "dsp-scan"},
        "name": meta["name"].as_str().unwrap_or_default(),
        "namespace": meta["namespace"].as_str().unwrap_or_default(),
        "object": object,
    })
}

/// Every document of a YAML stream as JSON, read as kubectl reads them (an empty one is null).
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    kube_yaml::documents(text)
        .map(|documents| documents.into_iter().map(|d| json_value(d.value)).collect())
        .map_err(|e| e.to_string())
}

/// One YAML document as JSON, read as kubectl reads it.
pub fn yaml_document(text: &str) -> Result<Value, String> {
    kube_yaml::parse(text)
        .map(json_value)
        .map_err(|e| e.to_string())
}

/// An object's API group, version and kind, from its `apiVersion` and `kind`.
struct GroupVersionKind<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

fn kind_of(object: &Value) -> Option<GroupVersionKind<'_>> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Some(GroupVersionKind {
        group,
        version,
        kind,
    })
}

/// One exposure, reported at the object a person has to change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Row {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub verdict: Verdict,
    pub volume: String,
    pub host_path: String,
    pub exposes: String,
    pub containers: String,
}

/// What the policy does with an object under the settings, for one of its exposures; `error`
/// when the object could not be evaluated. (In the order rows are sorted.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Error,
    Exempt,
    /// Removed by mutate mode.
    Mutate,
    Reject,
    Warn,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Error => "error",
            Verdict::Exempt => "exempt",
            Verdict::Mutate => "mutate",
            Verdict::Reject => "reject",
            Verdict::Warn => "warn",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// Objects read from the inputs.
    pub objects: usize,
    /// Objects the policy inspected: of a kind it knows, or carrying a pod template.
    pub evaluated: usize,
    /// Objects reported (owned objects whose owner is in the input fold into it).
    pub reported: usize,
    /// Reported objects with at least one exposure.
    pub exposed: usize,
    /// Objects that could not be evaluated (a row `error` each).
    pub errors: usize,
}

/// An object the policy did not evaluate, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub source: String,
    pub document: usize,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    pub rows: Vec<Row>,
    pub not_evaluated: Vec<NotEvaluated>,
    pub summary: Summary,
    /// What each row of an exposure is and where it is written (for SARIF).
    #[serde(skip)]
    pub sites: BTreeMap<Row, Site>,
}

/// What a row reports, for a machine: the kind of exposure (`socket`, `directory`, `procfs`,
/// `podSpecPatch`) and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub exposure: ExposureKind,
    pub place: Option<Place>,
}

/// Where a finding is written: the input, the document (from 1), the way from the document's
/// root to the field (the volume's `hostPath.path`, the mount's `subPath`, the
/// `podSpecPatch`), and its line and column (from 1) once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub source: String,
    pub document: usize,
    pub path: Vec<kube_yaml::Step>,
    pub position: Option<(usize, usize)>,
}

/// The way to where `finding` is written in `object`: the first volume in document order of
/// its name and host path, or mount of its name and subPath; the `podSpecPatch` it names; a
/// PersistentVolume's `spec.hostPath`.
fn path_of(object: &Value, finding: &ModuleFinding) -> Option<Vec<kube_yaml::Step>> {
    use kube_yaml::Step;
    if let Some(at) = &finding.patch_at {
        return Some(dotted_path(at));
    }
    if object["kind"] == "PersistentVolume" {
        return Some(vec![
            Step::Key("spec".into()),
            Step::Key("hostPath".into()),
            Step::Key("path".into()),
        ]);
    }
    let named = |item: &Value| item["name"] == finding.volume.as_str();
    let mut path = Vec::new();
    match (&finding.sub_path_field, &finding.sub_path) {
        (Some(field), Some(sub_path)) => {
            let mount = |item: &Value| named(item) && item[field.as_str()] == sub_path.as_str();
            find_in_list(object, "volumeMounts", &mount, &mut path)
                .then(|| [path, vec![Step::Key(field.clone())]].concat())
        }
        _ => {
            let written = finding.written_path.as_str();
            let volume = |item: &Value| named(item) && item["hostPath"]["path"] == written;
            find_in_list(object, "volumes", &volume, &mut path).then(|| {
                path.extend([Step::Key("hostPath".into()), Step::Key("path".into())]);
                path
            })
        }
    }
}

/// Finds, depth first in document order, an item of a list under the key `list` for which
/// `found` holds; leaves the way to it in `path`.
fn find_in_list(
    value: &Value,
    list: &str,
    found: &dyn Fn(&Value) -> bool,
    path: &mut Vec<kube_yaml::Step>,
) -> bool {
    use kube_yaml::Step;
    match value {
        Value::Object(map) => map.iter().any(|(key, child)| {
            if let (true, Value::Array(items)) = (key == list, child)
                && let Some(i) = items.iter().position(found)
            {
                path.extend([Step::Key(key.clone()), Step::Index(i)]);
                return true;
            }
            path.push(Step::Key(key.clone()));
            let hit = find_in_list(child, list, found, path);
            if !hit {
                path.pop();
            }
            hit
        }),
        Value::Array(items) => items.iter().enumerate().any(|(i, child)| {
            path.push(Step::Index(i));
            let hit = find_in_list(child, list, found, path);
            if !hit {
                path.pop();
            }
            hit
        }),
        _ => false,
    }
}

/// `spec.templates[0].podSpecPatch` as steps.
fn dotted_path(text: &str) -> Vec<kube_yaml::Step> {
    use kube_yaml::Step;
    let mut steps = Vec::new();
    for part in text.split('.') {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|key| !key.is_empty()) {
            steps.push(Step::Key(key.to_string()));
        }
        for index in pieces {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                steps.push(Step::Index(i));
            }
        }
    }
    steps
}

/// Finds the line and column of every place not located yet, in the text `text_of` gives for
/// its input (`None` leaves it without). Each input is read once.
pub fn locate_sites(report: &mut ScanReport, text_of: &mut dyn FnMut(&str) -> Option<String>) {
    let mut by_source: BTreeMap<String, Vec<&mut Place>> = BTreeMap::new();
    for place in report
        .sites
        .values_mut()
        .filter_map(|site| site.place.as_mut())
    {
        if place.position.is_none() {
            by_source
                .entry(place.source.clone())
                .or_default()
                .push(place);
        }
    }
    for (source, mut places) in by_source {
        let Some(text) = text_of(&source) else {
            continue;
        };
        let wanted: Vec<(usize, &[kube_yaml::Step])> = places
            .iter()
            .map(|place| (place.document, place.path.as_slice()))
            .collect();
        let found = kube_yaml::locate_all(&text, &wanted);
        for (place, position) in places.iter_mut().zip(found) {
            place.position = position;
        }
    }
}

#[derive(Deserialize)]
struct ModuleReport {
    response: ModuleResponse,
    findings: Vec<ModuleFinding>,
    #[serde(default)]
    not_inspected: Option<String>,
}

#[derive(Deserialize)]
struct ModuleResponse {
    accepted: bool,
    #[serde(default)]
    mutated_object: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, PartialEq, Eq)]
struct ModuleFinding {
    severity: Severity,
    volume: String,
    host_path: String,
    exposes: String,
    containers: Vec<String>,
    #[serde(default)]
    images: Vec<String>,
    exposure: ExposureKind,
    /// Where the finding is written: see [`path_of`].
    #[serde(default)]
    written_path: String,
    #[serde(default)]
    sub_path_field: Option<String>,
    #[serde(default)]
    sub_path: Option<String>,
    #[serde(default)]
    patch_at: Option<String>,
}

impl ModuleFinding {
    /// What the scan reports of a finding: `mutate` for a violation mutate mode removes.
    fn verdict(&self, response: &ModuleResponse) -> Verdict {
        match (self.severity, response) {
            (
                Severity::Reject,
                ModuleResponse {
                    accepted: true,
                    mutated_object: Some(_),
                    ..
                },
            ) => Verdict::Mutate,
            (Severity::Reject, _) => Verdict::Reject,
            (Severity::Warn, _) => Verdict::Warn,
            (Severity::Exempt, _) => Verdict::Exempt,
        }
    }
}

/// The same finding with the same verdict: volume, host path, exposure, containers and their
/// images. Only then does an owned object fold into its owner: a Pod that runs another image,
/// or that its owner's verdict would not cover, is reported itself.
fn same_finding(
    a: (&ModuleFinding, &ModuleResponse),
    b: (&ModuleFinding, &ModuleResponse),
) -> bool {
    let ((a, a_response), (b, b_response)) = (a, b);
    (
        &a.volume,
        &a.host_path,
        &a.exposes,
        &a.containers,
        &a.images,
    ) == (
        &b.volume,
        &b.host_path,
        &b.exposes,
        &b.containers,
        &b.images,
    ) && a.verdict(a_response) == b.verdict(b_response)
}

type Key = (String, String, String);

fn key_of(object: &Value) -> Key {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        object["kind"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// The object a person changes: follows controller ownerReferences while the owner is in the
/// input (a Pod of a ReplicaSet of a Deployment is reported at the Deployment).
fn top_owner<K: Clone + Eq + std::hash::Hash>(key: K, owners: &HashMap<K, K>) -> K {
    let mut current = key;
    let mut seen = HashSet::new();
    while let Some(owner) = owners.get(&current) {
        if !seen.insert(current.clone()) {
            break;
        }
        current = owner.clone();
    }
    current
}

/// Evaluates every object as a CREATE with `settings` through `policy` (its `report`
/// function); the policy says which objects it inspected (a kind it knows, or a pod template
/// found in another kind) and why it left the others. `progress` is called with (done, total)
/// as objects are evaluated.
pub fn scan(
    policy: &mut dyn Evaluator,
    settings: &Value,
    objects: &[Located],
    progress: impl FnMut(usize, usize),
) -> Result<ScanReport, String> {
    scan_in(policy, settings, objects, None, progress)
}

/// [`scan`], with `namespace` for the namespaced objects that name none, as `kubectl apply -n`
/// gives them one. A cluster-scoped object never has a namespace, whatever its manifest says:
/// a namespace rule of the settings does not apply to it in a cluster, nor here.
pub fn scan_in(
    policy: &mut dyn Evaluator,
    settings: &Value,
    objects: &[Located],
    namespace: Option<&str>,
    mut progress: impl FnMut(usize, usize),
) -> Result<ScanReport, String> {
    let mut scanner = Scanner::new(policy, settings, namespace)?;
    for (done, located) in objects.iter().enumerate() {
        progress(done, objects.len());
        scanner.add(located);
    }
    progress(objects.len(), objects.len());
    Ok(scanner.finish())
}

/// An object with a finding, as much of it as the report needs: its key, its controller's
/// key, and the policy's report.
struct Evaluated {
    key: Key,
    controller: Option<Key>,
    report: ModuleReport,
    /// Where each finding is written.
    places: Vec<Option<Place>>,
}

/// What one object came to.
enum Outcome {
    /// Not a Kubernetes object: counted, nothing more.
    Skipped,
    NotEvaluated(NotEvaluated),
    Failed(Row),
    /// Inspected, with nothing to report: only its place among the owners matters.
    Clean {
        key: Key,
        controller: Option<Key>,
    },
    Exposed(Evaluated),
}

/// Evaluates one object, the `number`th read, through `policy`.
#[cfg(not(target_family = "wasm"))]
fn evaluate(
    policy: &mut dyn Evaluator,
    settings: &Value,
    namespace: Option<&str>,
    item: &Item,
    number: usize,
) -> Outcome {
    let json = match item {
        Item::Parsed(located) => {
            return evaluate_parsed(policy, settings, namespace, located, number);
        }
        Item::Json(json) => json,
    };
    let head = &json.head;
    let cluster_scoped = CLUSTER_SCOPED.contains(&(head.group.as_str(), head.kind.as_str()));
    let as_written = match (cluster_scoped, head.namespace.is_empty()) {
        (true, true) | (false, false) => true,
        (false, true) => namespace.is_none(),
        (true, false) => false,
    };
    if !as_written {
        // The namespace changes, and with it the object: it is read as a tree and edited.
        return match json.parsed() {
            Ok(located) => evaluate_parsed(policy, settings, namespace, &located, number),
            Err(reason) => Outcome::Failed(Row {
                namespace: String::new(),
                kind: head.kind.clone(),
                name: head.name.clone(),
                verdict: Verdict::Error,
                volume: String::new(),
                host_path: String::new(),
                exposes: reason,
                containers: String::new(),
            }),
        };
    }
    let kind = GroupVersionKind {
        group: &head.group,
        version: &head.version,
        kind: &head.kind,
    };
    let payload = report_payload(
        kind,
        &head.name,
        &head.namespace,
        &json.text,
        number,
        settings,
    );
    let key = (head.namespace.clone(), head.kind.clone(), head.name.clone());
    let controller = head
        .controller
        .clone()
        .map(|(kind, name)| (head.namespace.clone(), kind, name));
    let mut outcome = judge(
        policy,
        &payload,
        key,
        controller,
        (&json.source, json.document),
    );
    // Only an exposed object is read as a tree, to find where its findings are written (one
    // that cannot be read as a tree keeps its findings, without a place).
    if let Outcome::Exposed(evaluated) = &mut outcome
        && let Ok(object) = serde_json::from_str::<Value>(json.text.get())
    {
        let (line, column) = json.start;
        evaluated.places = (evaluated.report.findings.iter())
            .map(|finding| {
                let inner = path_of(&object, finding)?;
                let position = kube_yaml::locate(json.text.get(), 1, &inner).map(|at| match at {
                    (1, c) => (line, column + c - 1),
                    (l, c) => (line + l - 1, c),
                });
                let mut path = vec![
                    kube_yaml::Step::Key("items".into()),
                    kube_yaml::Step::Index(json.item),
                ];
                path.extend(inner);
                Some(Place {
                    source: json.source.clone(),
                    document: json.document,
                    path,
                    position,
                })
            })
            .collect();
    }
    outcome
}

/// [`evaluate`] for an object read as a tree.
fn evaluate_parsed(
    policy: &mut dyn Evaluator,
    settings: &Value,
    namespace: Option<&str>,
    located: &Located,
    number: usize,
) -> Outcome {
    if kind_of(&located.object).is_none() {
        return Outcome::Skipped;
    }
    let object = in_namespace(&located.object, namespace);
    let key = key_of(&object);
    let controller = object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["controller"] == true)
        .map(|owner| {
            (
                key.0.clone(),
                owner["kind"].as_str().unwrap_or_default().to_string(),
                owner["name"].as_str().unwrap_or_default().to_string(),
            )
        });
    let kind = kind_of(&object).expect("checked above");
    let meta = &object["metadata"];
    let payload = report_payload(
        kind,
        meta["name"].as_str().unwrap_or_default(),
        meta["namespace"].as_str().unwrap_or_default(),
        &*object,
        number,
        settings,
    );
    let mut outcome = judge(
        policy,
        &payload,
        key,
        controller,
        (&located.source, located.document),
    );
    if let Outcome::Exposed(evaluated) = &mut outcome {
        evaluated.places = (evaluated.report.findings.iter())
            .map(|finding| {
                let mut path = match located.item {
                    Some(i) => vec![
                        kube_yaml::Step::Key("items".into()),
                        kube_yaml::Step::Index(i),
                    ],
                    None => Vec::new(),
                };
                path.extend(path_of(&located.object, finding)?);
                Some(Place {
                    source: located.source.clone(),
                    document: located.document,
                    path,
                    position: None,
                })
            })
            .collect();
    }
    outcome
}

/// Calls the policy's `report` with `payload`, for the object `key` read at `from` (the
/// input and document).
fn judge(
    policy: &mut dyn Evaluator,
    payload: &[u8],
    key: Key,
    controller: Option<Key>,
    from: (&str, usize),
) -> Outcome {
    let fail = |key: Key, reason: String| {
        Outcome::Failed(Row {
            namespace: key.0,
            kind: key.1,
            name: key.2,
            verdict: Verdict::Error,
            volume: String::new(),
            host_path: String::new(),
            exposes: format!("{} document {}: {reason}", from.0, from.1),
            containers: String::new(),
        })
    };
    let report = policy
        .call("report", payload)
        .map_err(|error| format!("the policy failed: {error}"))
        .and_then(|answer| {
            serde_json::from_slice::<ModuleReport>(&answer)
                .map_err(|e| format!("the policy's report is not readable: {e}"))
        });
    let report = match report {
        Ok(report) => report,
        Err(reason) => return fail(key, reason),
    };
    if let Some(reason) = report.not_inspected {
        return Outcome::NotEvaluated(NotEvaluated {
            source: from.0.to_string(),
            document: from.1,
            namespace: key.0,
            kind: key.1,
            name: key.2,
            reason,
        });
    }
    if report.findings.is_empty() && !report.response.accepted {
        // Not an exposure the policy could list: the object could not be read.
        return fail(key, report.response.message.unwrap_or_default());
    }
    if report.findings.is_empty() {
        return Outcome::Clean { key, controller };
    }
    Outcome::Exposed(Evaluated {
        key,
        controller,
        report,
        places: Vec::new(),
    })
}

/// A key as the owner graph of clean objects holds it: 8 bytes, not three strings, so that a
/// cluster dump of clean Pods costs little memory per Pod. A collision (about one chance in
/// 10^9 among 100,000 keys) could only change the summary's counts: rows come from the objects
/// with a finding, which are kept whole.
fn hashed(key: &Key) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same key hashes the same on every thread and every run.
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// What a scan keeps of the objects it has evaluated: objects with a finding whole, clean
/// objects as their place among the owners, objects not evaluated with their order of reading.
#[derive(Default)]
struct Tally {
    objects: usize,
    evaluated: usize,
    exposed: Vec<Evaluated>,
    /// Every evaluated object's key, hashed.
    keys: HashSet<u64>,
    /// A clean object's controller, both hashed.
    clean_controllers: HashMap<u64, u64>,
    not_evaluated: Vec<(usize, NotEvaluated)>,
    failed: Vec<Row>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome, number: usize) {
        self.objects += 1;
        match outcome {
            Outcome::Skipped => {}
            Outcome::NotEvaluated(not_evaluated) => {
                self.not_evaluated.push((number, not_evaluated));
            }
            Outcome::Failed(row) => self.failed.push(row),
            Outcome::Clean { key, controller } => {
                self.evaluated += 1;
                let key = hashed(&key);
                self.keys.insert(key);
                if let Some(controller) = controller {
                    self.clean_controllers.insert(key, hashed(&controller));
                }
            }
            Outcome::Exposed(evaluated) => {
                self.evaluated += 1;
                self.keys.insert(hashed(&evaluated.key));
                self.exposed.push(evaluated);
            }
        }
    }

    /// The tallies of two parts of one scan, as one.
    #[cfg(not(target_family = "wasm"))]
    fn merge(mut self, other: Tally) -> Tally {
        self.objects += other.objects;
        self.evaluated += other.evaluated;
        self.exposed.extend(other.exposed);
        self.keys.extend(other.keys);
        self.clean_controllers.extend(other.clean_controllers);
        self.not_evaluated.extend(other.not_evaluated);
        self.failed.extend(other.failed);
        self
    }

    /// The report. An owned object folds into its controller when the policy inspected the
    /// controller too (a Pod into its ReplicaSet into its Deployment or Rollout), and only if
    /// the controller has every finding the owned object has, with the same images and
    /// verdict: an ownerReference anyone can write must not hide a Pod behind another object.
    fn finish(mut self) -> ScanReport {
        let reports: HashMap<&Key, &ModuleReport> = self
            .exposed
            .iter()
            .map(|evaluated| (&evaluated.key, &evaluated.report))
            .collect();
        // Folding of objects with findings, by their full keys: a finding folds only into an
        // owner with the same finding, so the top owner of an exposed object is exposed too.
        let mut owners: HashMap<Key, Key> = HashMap::new();
        for Evaluated {
            key,
            controller,
            report,
            ..
        } in &self.exposed
        {
            let Some(owner_key) = controller else {
                continue;
            };
            let covered = reports.get(owner_key).is_some_and(|owner_report| {
                report.findings.iter().all(|finding| {
                    owner_report.findings.iter().any(|o| {
                        same_finding((o, &owner_report.response), (finding, &report.response))
                    })
                })
            });
            if covered {
                owners.insert(key.clone(), owner_key.clone());
            }
        }
        // Folding for the counts, by hashed keys: a clean object folds into any owner that was
        // inspected (it has no finding the owner could lack).
        let mut hashed_owners: HashMap<u64, u64> = std::mem::take(&mut self.clean_controllers);
        hashed_owners.retain(|_, owner| self.keys.contains(owner));
        hashed_owners.extend(
            owners
                .iter()
                .map(|(owned, owner)| (hashed(owned), hashed(owner))),
        );
        let reported: HashSet<u64> = self
            .keys
            .iter()
            .map(|&key| top_owner(key, &hashed_owners))
            .collect();

        let mut rows: Vec<Row> = Vec::new();
        let mut seen_rows = HashSet::new();
        let mut exposed: HashSet<Key> = HashSet::new();
        let mut sites = BTreeMap::new();
        for Evaluated {
            key,
            report,
            places,
            ..
        } in &self.exposed
        {
            let owner = top_owner(key.clone(), &owners);
            for (i, finding) in report.findings.iter().enumerate() {
                let row = Row {
                    namespace: owner.0.clone(),
                    kind: owner.1.clone(),
                    name: owner.2.clone(),
                    verdict: finding.verdict(&report.response),
                    volume: finding.volume.clone(),
                    host_path: finding.host_path.clone(),
                    exposes: finding.exposes.clone(),
                    containers: finding.containers.join(", "),
                };
                // The owner's own finding says where the row is written.
                if owner == *key {
                    sites.entry(row.clone()).or_insert_with(|| Site {
                        exposure: finding.exposure,
                        place: places.get(i).cloned().flatten(),
                    });
                }
                if seen_rows.insert(row.clone()) {
                    rows.push(row);
                }
            }
            exposed.insert(owner);
        }
        let errors = self.failed.len();
        rows.extend(self.failed);
        rows.sort();
        self.not_evaluated.sort_by_key(|(number, _)| *number);
        ScanReport {
            rows,
            not_evaluated: self.not_evaluated.into_iter().map(|(_, n)| n).collect(),
            summary: Summary {
                objects: self.objects,
                evaluated: self.evaluated,
                reported: reported.len(),
                exposed: exposed.len(),
                errors,
            },
            sites,
        }
    }
}

/// A scan that takes objects one at a time, as they are read, and keeps only what the report
/// needs of each: a cluster dump is never held whole.
pub struct Scanner<'p> {
    policy: &'p mut dyn Evaluator,
    settings: &'p Value,
    namespace: Option<&'p str>,
    tally: Tally,
}

impl<'p> Scanner<'p> {
    /// A scan with `settings` (checked first) through `policy`; `namespace` as in [`scan_in`].
    pub fn new(
        policy: &'p mut dyn Evaluator,
        settings: &'p Value,
        namespace: Option<&'p str>,
    ) -> Result<Scanner<'p>, String> {
        check_settings(policy, settings)?;
        Ok(Scanner {
            policy,
            settings,
            namespace,
            tally: Tally::default(),
        })
    }

    /// Evaluates one object. One that cannot be evaluated is a row of its own; the scan goes on.
    pub fn add(&mut self, located: &Located) {
        let number = self.tally.objects + 1;
        let outcome = evaluate_parsed(self.policy, self.settings, self.namespace, located, number);
        self.tally.add(outcome, number);
    }

    /// The report; see [`Tally::finish`] for how owned objects fold into their owners.
    pub fn finish(self) -> ScanReport {
        self.tally.finish()
    }
}

fn check_settings(policy: &mut dyn Evaluator, settings: &Value) -> Result<(), String> {
    testkit::validate_settings(policy, settings)
        .map_err(|message| format!("Provided settings are not valid: {message}"))
}

/// What [`scan_parallel`] reads: hands every object to the function it is given.
pub type Feed<'a> = dyn FnMut(&mut dyn FnMut(Item)) -> Result<(), String> + 'a;

/// A policy for each thread of [`scan_parallel`].
pub type PolicyMaker<'a> = dyn Fn() -> Result<Box<dyn Evaluator>, String> + Sync + 'a;

/// A scan on `threads` threads, each with a policy of its own from `policy`, of the objects
/// `read` hands on (it is called once, on this thread, and reads while the others evaluate).
/// The report is the one [`Scanner`] gives for the same objects in the same order.
#[cfg(not(target_family = "wasm"))]
pub fn scan_parallel(
    threads: usize,
    policy: &PolicyMaker,
    settings: &Value,
    namespace: Option<&str>,
    read: &mut Feed,
) -> Result<ScanReport, String> {
    use std::sync::mpsc;
    check_settings(policy()?.as_mut(), settings)?;
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for _ in 0..threads {
            // A few objects wait per thread: enough to keep it busy, little memory.
            let (send, receive) = mpsc::sync_channel::<(usize, Item)>(32);
            queues.push(send);
            workers.push(scope.spawn(move || -> Result<Tally, String> {
                let mut policy = policy()?;
                let mut tally = Tally::default();
                for (number, item) in receive {
                    let outcome = evaluate(policy.as_mut(), settings, namespace, &item, number);
                    tally.add(outcome, number);
                }
                Ok(tally)
            }));
        }
        let mut number = 0;
        let read_result = read(&mut |item| {
            number += 1;
            // A thread that stopped has its error returned below.
            let _ = queues[number % threads].send((number, item));
        });
        drop(queues);
        let mut tally = Tally::default();
        for worker in workers {
            let part = worker
                .join()
                .map_err(|_| "a scan thread panicked".to_string())??;
            tally = tally.merge(part);
        }
        read_result?;
        Ok(tally.finish())
    })
}

/// The `report` payload of creating `object`, written straight from the borrowed object (the
/// policy reads any key order, so the engine's sorting is not needed to judge it).
fn report_payload<O: Serialize + ?Sized>(
    kind: GroupVersionKind,
    name: &str,
    namespace: &str,
    object: &O,
    number: usize,
    settings: &Value,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Payload<'a, O: ?Sized> {
        request: Request<'a, O>,
        settings: &'a Value,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Request<'a, O: ?Sized> {
        uid: String,
        kind: Value,
        resource: Value,
        operation: &'static str,
        user_info: Value,
        name: &'a str,
        namespace: &'a str,
        object: &'a O,
    }
    let payload = Payload {
        request: Request {
            uid: format!("scan-{number}"),
            kind: json!({"group": kind.group, "version": kind.version, "kind": kind.kind}),
            resource: json!({
                "group": kind.group,
                "version": kind.version,
                "resource": format!("{}s", kind.kind.to_ascii_lowercase()),
            }),
            operation: "CREATE",
            user_info: json!({"username": "dsp-scan"}),
            name,
            namespace,
            object,
        },
        settings,
    };
    serde_json::to_vec(&payload).expect("a payload serializes")
}

/// Kinds that have no namespace in a cluster: the built-in ones, and those of the projects
/// whose kinds the policy reads. Other kinds are taken for namespaced, as most are.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("argoproj.io", "ClusterWorkflowTemplate"),
    ("apps.kruise.io", "SidecarSet"),
    ("policies.kubewarden.io", "ClusterAdmissionPolicy"),
    ("policies.kubewarden.io", "PolicyServer"),
];

/// The object as the API server would store it: no namespace for a cluster-scoped kind, and
/// `default_namespace` for a namespaced one that names none.
fn in_namespace<'v>(object: &'v Value, default_namespace: Option<&str>) -> Cow<'v, Value> {
    let Some(kind) = kind_of(object) else {
        return Cow::Borrowed(object);
    };
    let cluster_scoped = CLUSTER_SCOPED.contains(&(kind.group, kind.kind));
    let written = object["metadata"]["namespace"]
        .as_str()
        .filter(|ns| !ns.is_empty());
    let namespace = match (cluster_scoped, written, default_namespace) {
        (true, None, _) | (false, Some(_), _) | (false, None, None) => {
            return Cow::Borrowed(object);
        }
        (true, Some(_), _) => None,
        (false, None, Some(namespace)) => Some(namespace),
    };
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        match namespace {
            Some(namespace) => meta.insert("namespace".into(), namespace.into()),
            None => meta.remove("namespace"),
        };
    } else if let (Some(namespace), Some(map)) = (namespace, object.as_object_mut()) {
        map.insert("metadata".into(), json!({"namespace": namespace}));
    }
    Cow::Owned(object)
}

/// The report as a table for people, with a summary line.
pub fn table(report: &ScanReport) -> String {
    let headers = [
        "NAMESPACE",
        "KIND",
        "NAME",
        "VERDICT",
        "VOLUME",
        "HOST PATH",
        "EXPOSES",
        "CONTAINERS",
    ];
    let cells: Vec<[Cow<str>; 8]> = report
        .rows
        .iter()
        .map(|r| {
            [
                &r.namespace,
                &r.kind,
                &r.name,
                r.verdict.as_str(),
                &r.volume,
                &r.host_path,
                &r.exposes,
                &r.containers,
            ]
            .map(printable)
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    if !cells.is_empty() {
        line(&headers);
        for row in &cells {
            line(&row.each_ref().map(|cell| &**cell));
        }
    }
    for skipped in &report.not_evaluated {
        let name = match skipped.namespace.as_str() {
            "" => skipped.name.clone(),
            namespace => format!("{namespace}/{}", skipped.name),
        };
        out.push_str(&format!(
            "not evaluated: {} {} ({} document {}): {}\n",
            printable(&skipped.kind),
            printable(&name),
            printable(&skipped.source),
            skipped.document,
            printable(&skipped.reason)
        ));
    }
    let by_verdict = report.rows.iter().fold(BTreeMap::new(), |mut counts, row| {
        *counts.entry(row.verdict.as_str()).or_insert(0) += 1;
        counts
    });
    let verdicts: Vec<String> = by_verdict.iter().map(|(v, n)| format!("{n} {v}")).collect();
    out.push_str(&format!(
        "{} objects read, {} evaluated, {} reported after folding owned objects into their owners: {} with an exposure ({} rows{})\n",
        report.summary.objects,
        report.summary.evaluated,
        report.summary.reported,
        report.summary.exposed,
        report.rows.len(),
        if verdicts.is_empty() { String::new() } else { format!(": {}", verdicts.join(", ")) }
    ));
    if report.summary.errors > 0 {
        out.push_str(&format!(
            "{} objects could not be evaluated (rows error)\n",
            report.summary.errors
        ));
    }
    out
}

/// A cell of the table on one line, control characters escaped (`\n`, `\u{1b}`): a name in a
/// manifest must not start a line of its own in a CI log, where a line can be a command
/// (`::error::` in GitHub Actions) or move the cursor.
fn printable(cell: &str) -> Cow<'_, str> {
    // Controls, and the marks that reorder what a terminal shows (bidirectional overrides).
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !cell.chars().any(hidden) {
        return Cow::Borrowed(cell);
    }
    Cow::Owned(
        cell.chars()
            .map(|c| match hidden(c) {
                true => c.escape_debug().to_string(),
                false => c.to_string(),
            })
            .collect(),
    )
}

/// Reads a JSON `List` from `input` in chunks, handing each item to `each` as soon as it is
/// complete and forgetting it: memory stays at one item and one chunk, whatever the size of the
/// List. `Ok(false)`, with nothing handed on, when the input is not a JSON object whose
/// `items` is an array of objects (the caller then reads it whole, as [`read_objects_with`]
/// does); every item is read by serde_json, and the object around them is checked to be JSON.
pub fn read_json_list(
    source: &str,
    mut input: impl std::io::Read,
    each: &mut dyn FnMut(Item),
) -> Result<bool, String> {
    let mut splitter = Splitter::default();
    let mut buffer: Vec<u8> = Vec::new();
    let mut outside: Vec<u8> = Vec::new();
    let mut chunk = vec![0; 1 << 16];
    let mut list = ListReader::new(source, each);
    let (mut line, mut column, mut item_start) = (1, 1, (1, 1));
    loop {
        let read = input
            .read(&mut chunk)
            .map_err(|e| format!("cannot read {source}: {e}"))?;
        if read == 0 {
            break;
        }
        let from = buffer.len();
        buffer.extend_from_slice(&chunk[..read]);
        let mut consumed = 0;
        let mut at = from;
        while at < buffer.len() {
            // Inside a string nothing but a quote or a backslash matters: skip to the next.
            if splitter.in_string && !splitter.escaped && !splitter.reading_key {
                let skipped = buffer[at..]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\')
                    .unwrap_or(buffer.len() - at);
                if splitter.phase != 1 {
                    outside.extend_from_slice(&buffer[at..at + skipped]);
                }
                // Columns count characters (SARIF's code points), not bytes.
                column += buffer[at..at + skipped]
                    .iter()
                    .filter(|&&b| b & 0xC0 != 0x80)
                    .count();
                at += skipped;
                if at == buffer.len() {
                    break;
                }
            }
            let before = splitter.phase;
            let step = splitter.step(buffer[at]);
            let here = (line, column);
            // JSON has no line break inside a string: lines are counted where bytes are
            // stepped through.
            if buffer[at] == b'\n' {
                line += 1;
                column = 1;
            } else if buffer[at] & 0xC0 != 0x80 {
                column += 1;
            }
            // The object around the items, with the items left out, to be checked as JSON.
            if before != 1 || splitter.phase != 1 {
                outside.push(buffer[at]);
            }
            match step {
                Step::More => {}
                Step::ItemStart => {
                    consumed = at;
                    item_start = here;
                }
                Step::ItemEnd => {
                    list.json_item(&buffer[consumed..=at], item_start)?;
                    consumed = at + 1;
                }
                Step::NotAList if list.items == 0 => return Ok(false),
                Step::NotAList => {
                    return Err(format!("{source}: not JSON after {} items", list.items));
                }
            }
            at += 1;
        }
        // Only an item being read is kept (or, before the items, the object's start).
        if splitter.in_items() {
            buffer.drain(..consumed);
        }
    }
    // The object around the items, the items left out: one `items` key, as the splitter found.
    let keys = serde_json::from_slice::<ItemsKeys>(&outside).map(|keys| keys.0);
    if splitter.done() && keys.as_ref().is_ok_and(|&keys| keys > 1) {
        return Err(format!("{source}: {TWO_ITEMS}"));
    }
    let whole = splitter.done() && keys.is_ok();
    match (whole, list.items) {
        (true, _) => Ok(true),
        (false, 0) => Ok(false),
        (false, _) => Err(format!(
            "{source}: not a JSON List around its {} items",
            list.items
        )),
    }
}

/// What [`Splitter::step`] found at a byte.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    More,
    /// An item of `items` starts here.
    ItemStart,
    /// The item ends here (included).
    ItemEnd,
    NotAList,
}

/// Finds the items of the top-level `items` array of a JSON object, byte by byte: strings
/// (with escapes) and nesting are followed, nothing else is parsed here.
#[derive(Default)]
struct Splitter {
    depth: usize,
    in_string: bool,
    escaped: bool,
    started: bool,
    /// At depth 1: a key comes next (after `{` or `,`), and whether one is being read.
    expect_key: bool,
    reading_key: bool,
    /// The last key read at depth 1.
    key: Vec<u8>,
    /// 0: before `items`' array, 1: in it, 2: after it, 3: after the object.
    phase: u8,
    /// In `items`: an item may come next (after `[` or `,`), and one must (after `,`).
    item_may_come: bool,
    item_must_come: bool,
}

/// JSON's whitespace (not Rust's ASCII whitespace, which has the form feed too).
fn json_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

impl Splitter {
    fn in_items(&self) -> bool {
        self.phase == 1
    }

    fn done(&self) -> bool {
        self.phase == 3
    }

    #[inline]
    fn step(&mut self, byte: u8) -> Step {
        if self.phase == 3 {
            return if json_space(byte) {
                Step::More
            } else {
                Step::NotAList
            };
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                self.reading_key = false;
                return Step::More;
            }
            if self.reading_key {
                self.key.push(byte);
            }
            return Step::More;
        }
        if json_space(byte) {
            return Step::More;
        }
        if !self.started {
            self.started = true;
            if byte != b'{' {
                return Step::NotAList;
            }
            self.depth = 1;
            self.expect_key = true;
            return Step::More;
        }
        // In `items`, between items: only an item (an object), a comma after one, or the end.
        if self.depth == 2 && self.phase == 1 {
            match byte {
                b'{' if self.item_may_come => {
                    self.item_may_come = false;
                    self.item_must_come = false;
                }
                b',' if !self.item_may_come => {
                    self.item_may_come = true;
                    self.item_must_come = true;
                    return Step::More;
                }
                b']' if !self.item_must_come => {}
                _ => return Step::NotAList,
            }
        }
        match byte {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.expect_key {
                    self.expect_key = false;
                    self.reading_key = true;
                    self.key.clear();
                }
                Step::More
            }
            b',' if self.depth == 1 => {
                self.expect_key = true;
                Step::More
            }
            b'[' | b'{' => {
                self.depth += 1;
                if self.depth == 2 && byte == b'[' && self.key == b"items" && self.phase == 0 {
                    self.phase = 1;
                    self.item_may_come = true;
                    return Step::More;
                }
                if self.depth == 3 && self.phase == 1 {
                    return if byte == b'{' {
                        Step::ItemStart
                    } else {
                        Step::NotAList
                    };
                }
                Step::More
            }
            b']' | b'}' => {
                let Some(depth) = self.depth.checked_sub(1) else {
                    return Step::NotAList;
                };
                self.depth = depth;
                match (self.depth, self.phase) {
                    (2, 1) => Step::ItemEnd,
                    (1, 1) => {
                        self.phase = 2;
                        Step::More
                    }
                    (0, 2) => {
                        self.phase = 3;
                        Step::More
                    }
                    (0, _) => Step::NotAList,
                    _ => Step::More,
                }
            }
            _ => Step::More,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Result<Vec<Value>, String> {
        read_objects("in", text).map(|objects| objects.into_iter().map(|l| l.object).collect())
    }

    /// The items of `text` read in chunks of `size` bytes; `None` when it is left to `whole`.
    fn chunked(text: &str, size: usize) -> Result<Option<Vec<Value>>, String> {
        struct Chunks<'t>(&'t [u8], usize);
        impl std::io::Read for Chunks<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut objects = Vec::new();
        let list = read_json_list("in", Chunks(text.as_bytes(), size), &mut |item| {
            objects.push(item.into_located().unwrap().object)
        })?;
        Ok(list.then_some(objects))
    }

    #[test]
    fn a_list_read_in_chunks_gives_the_objects_read_whole() {
        let pod = |name: &str| {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","annotations":{{"a":"}}]\"[{{"}}}},"spec":{{"containers":[{{"name":"c","image":"i"}}]}}}}"#
            )
        };
        let list = format!(
            r#"{{"apiVersion":"v1","kind":"List","metadata":{{"resourceVersion":"1"}},"items": [ {} , {} ], "x":{{"items":[1]}}}}"#,
            pod("a"),
            pod("b\\\"c")
        );
        for size in [1, 2, 7, 64, 1 << 16] {
            assert_eq!(
                chunked(&list, size).unwrap(),
                Some(whole(&list).unwrap()),
                "{size}"
            );
        }
        let empty = r#"{"apiVersion":"v1","kind":"List","items":[]}"#;
        assert_eq!(chunked(empty, 3).unwrap(), Some(Vec::new()));
        // Left to the whole reader: one object, flow YAML, an array, items that are not objects.
        for text in [
            &pod("single")[..],
            "{apiVersion: v1, kind: List, items: []}",
            "[1]",
            r#"{"apiVersion":"v1","kind":"List","items":[1]}"#,
        ] {
            assert_eq!(chunked(text, 5).unwrap(), None, "{text}");
        }
        // Items handed on, then the rest is not JSON: an error, never a clean scan.
        let broken = format!(r#"{{"kind":"List","items":[{}], "z": v}}"#, pod("a"));
        assert!(chunked(&broken, 4).is_err());
        let truncated = format!(r#"{{"kind":"List","items":[{},"#, pod("a"));
        assert!(chunked(&truncated, 4).is_err());
        let nested = r#"{"kind":"List","items":[{"apiVersion":"v1","kind":"List","items":[]}]}"#;
        assert!(
            chunked(nested, 4)
                .unwrap_err()
                .contains("List inside a List")
        );
        // What is not JSON is not read as a List: left to the whole reader, or an error once
        // items were handed on.
        let (a, b) = (pod("a"), pod("b"));
        for text in [
            format!(r#"{{"kind":"List","items":[,{a}]}}"#),
            format!(r#"{{"kind":"List","items":["x",{a}]}}"#),
        ] {
            assert_eq!(chunked(&text, 7).unwrap(), None, "{text}");
        }
        for text in [
            format!(r#"{{"kind":"List","items":[{a},,{b}]}}"#),
            format!(r#"{{"kind":"List","items":[{a},]}}"#),
            format!(r#"{{"kind":"List","items":[{a} {b}]}}"#),
            format!("{{\"kind\":\"List\",\x0c\"items\":[{a}]}}"),
        ] {
            assert!(chunked(&text, 7).is_err(), "{text}");
        }
        // Two `items` keys, the second escaped: refused, as when read whole.
        let two = format!(r#"{{"kind":"List","items":[],"it\u0065ms":[{a}]}}"#);
        assert!(chunked(&two, 7).unwrap_err().contains("more than one"));
        assert!(whole(&two).unwrap_err().contains("more than one"));
    }
}
