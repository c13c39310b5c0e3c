//! The `validate` payload: the admission request and the settings.
//!
//! The engine hands the request over with its keys sorted, so `kind` comes before `object` and
//! `oldObject`: each object is then read where it is, in the one pass over the payload, at the
//! places its kind's row names ([`ObjectSeed`]). An object that comes before its kind, or of a
//! kind the policy does not know, is kept as its text and read when it is judged; so is every
//! object of a payload the one pass could not read, which is read again with its objects kept
//! as text: what is wrong in an object is then told only if the request is judged (a deletion
//! is admitted unread), with the path of the field.

use crate::kinds::{self, PodSpecAt, Target};
use crate::read::{self, Text};
use crate::request::{GroupVersionKind, ObjectRead, ObjectSeed, PersistentVolumeSpec, Spec};
use crate::settings::Settings;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

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
    pub operation_name: Cow<'a, str>,
    /// Empty for a cluster-scoped object.
    pub namespace: Cow<'a, str>,
    pub object: Option<Object<'a>>,
    pub old_object: Option<Object<'a>>,
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

/// An object of the request.
#[derive(Debug)]
pub enum Object<'a> {
    /// Read when it is judged.
    Text(&'a RawValue),
    /// Read in the pass over the payload, at the places of its kind's row.
    PodSpecs(ObjectRead<'a, Spec<'a>>),
    PersistentVolume(ObjectRead<'a, PersistentVolumeSpec<'a>>),
}

/// Reads the request and the checked settings (the defaults when there are none).
pub fn parse(raw: &[u8]) -> Result<(AdmissionRequest<'_>, Settings), ReadError> {
    let read = match read::untracked_seed(PayloadSeed { eager: true }, raw) {
        Ok(read) => read,
        Err(_) => read::tracked_seed(PayloadSeed { eager: false }, raw)
            .map_err(|error| ReadError::Request(read::describe("", &error)))?,
    };
    let (request, settings) = read;
    let settings = match settings {
        None => Settings::default(),
        Some(settings) => {
            Settings::from_json(settings.get().as_bytes()).map_err(ReadError::Settings)?
        }
    };
    Ok((request, settings))
}

/// The text of the request's object (`old`: of its old object), for the two rare paths that
/// need it whole: mutation, and comparing the pod templates of an UPDATE.
pub fn object_text(raw: &[u8], old: bool) -> Option<&RawValue> {
    let (request, _) = read::untracked_seed(PayloadSeed { eager: false }, raw).ok()?;
    match if old {
        request.old_object
    } else {
        request.object
    } {
        Some(Object::Text(text)) => Some(text),
        _ => None,
    }
}

/// The payload, its objects read in the pass (`eager`) or kept as text.
#[derive(Clone, Copy)]
struct PayloadSeed {
    eager: bool,
}

type Read<'a> = (AdmissionRequest<'a>, Option<&'a RawValue>);

impl<'de> DeserializeSeed<'de> for PayloadSeed {
    type Value = Read<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Read<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed {
    type Value = Read<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a validate payload")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Read<'de>, M::Error> {
        let (mut request, mut settings) = (None, None);
        while let Some(Text(key)) = map.next_key()? {
            match &*key {
                "request" if request.is_some() => {
                    return Err(de::Error::duplicate_field("request"));
                }
                "request" => request = Some(map.next_value_seed(RequestSeed(self))?),
                "settings" if settings.is_some() => {
                    return Err(de::Error::duplicate_field("settings"));
                }
                // Read apart, so that an error in them is told as a settings error.
                "settings" => settings = Some(map.next_value::<Option<&RawValue>>()?),
                _ => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        let request = request.ok_or_else(|| de::Error::missing_field("request"))?;
        Ok((request, settings.flatten()))
    }
}

struct RequestSeed(PayloadSeed);

impl<'de> DeserializeSeed<'de> for RequestSeed {
    type Value = AdmissionRequest<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed {
    type Value = AdmissionRequest<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an admission request")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut request = AdmissionRequest::default();
        let mut seen = [false; 5];
        let mut once =
            |field: usize, name: &'static str| match std::mem::replace(&mut seen[field], true) {
                true => Err(de::Error::duplicate_field(name)),
                false => Ok(()),
            };
        let mut kind_read = false;
        while let Some(Text(key)) = map.next_key()? {
            match &*key {
                "kind" => {
                    once(0, "kind")?;
                    request.kind = map.next_value()?;
                    kind_read = true;
                }
                "operation" => {
                    once(1, "operation")?;
                    request.operation_name = map.next_value::<Text>()?.0;
                }
                "namespace" => {
                    once(2, "namespace")?;
                    request.namespace = map.next_value::<Text>()?.0;
                }
                "object" | "oldObject" => {
                    let old = key == "oldObject";
                    match old {
                        true => once(4, "oldObject")?,
                        false => once(3, "object")?,
                    }
                    let target = match (self.0.eager, kind_read) {
                        (true, true) => kinds::target(&request.kind.group, &request.kind.kind),
                        _ => None,
                    };
                    let object = map.next_value_seed(ObjectAs(target))?;
                    match old {
                        true => request.old_object = object,
                        false => request.object = object,
                    }
                }
                _ => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        if !kind_read {
            return Err(de::Error::missing_field("kind"));
        }
        Ok(request)
    }
}

/// An object (or `null`), read at the places of `Target`, or kept as text without one.
struct ObjectAs(Option<Target>);

impl<'de> DeserializeSeed<'de> for ObjectAs {
    type Value = Option<Object<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ObjectAs {
    type Value = Option<Object<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Ok(Some(match self.0 {
            None => Object::Text(de::Deserialize::deserialize(deserializer)?),
            Some(Target::PodSpecs(places)) => {
                let keys: Vec<&'static [&'static str]> =
                    places.iter().map(PodSpecAt::keys).collect();
                Object::PodSpecs(ObjectSeed::new(&keys).deserialize(deserializer)?)
            }
            Some(Target::PersistentVolume) => {
                Object::PersistentVolume(ObjectSeed::new(&[&["spec"]]).deserialize(deserializer)?)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_after_their_kind_are_read_in_the_pass_others_kept_as_text() {
        let sorted = br#"{"request":{"kind":{"kind":"Pod"},"object":{"metadata":{"name":"p"},
            "spec":{"containers":[{"name":"c"}]}},"operation":"CREATE"}}"#;
        let (request, _) = parse(sorted).unwrap();
        let Some(Object::PodSpecs(read)) = &request.object else {
            panic!("{:?}", request.object);
        };
        assert_eq!(read.meta.name.as_deref(), Some("p"));
        assert!(read.found[0].as_ref().unwrap().has_containers());
        assert_eq!(request.operation(), Operation::Create);
        let unsorted = br#"{"request":{"object":{"spec":{}},"kind":{"kind":"Pod"}}}"#;
        let (request, _) = parse(unsorted).unwrap();
        assert!(matches!(request.object, Some(Object::Text(_))));
        let unknown = br#"{"request":{"kind":{"kind":"Widget"},"object":{"spec":{}}}}"#;
        let (request, _) = parse(unknown).unwrap();
        assert!(matches!(request.object, Some(Object::Text(_))));
    }

    #[test]
    fn an_object_the_pass_cannot_read_is_kept_as_text() {
        let raw = br#"{"request":{"kind":{"kind":"Pod"},"object":{"spec":{"volumes":"x"}},"operation":"DELETE"}}"#;
        let (request, _) = parse(raw).unwrap();
        let Some(Object::Text(text)) = request.object else {
            panic!("{:?}", request.object);
        };
        assert_eq!(text.get(), r#"{"spec":{"volumes":"x"}}"#);
        assert_eq!(object_text(raw, false).map(RawValue::get), Some(text.get()));
        assert!(object_text(raw, true).is_none());
    }

    #[test]
    fn what_is_not_a_request_is_told_with_its_field() {
        let error = |raw: &[u8]| parse(raw).unwrap_err().to_string();
        assert_eq!(
            error(br#"[{"kind":{"kind":"Pod"}}]"#),
            "cannot read the request: invalid type: sequence, expected a validate payload"
        );
        assert_eq!(
            error(br#"{"settings":{}}"#),
            "cannot read the request: missing field `request`"
        );
        assert_eq!(
            error(br#"{"request":{"kind":"Pod"}}"#),
            "cannot read the request: request.kind: invalid type: string \"Pod\", expected a group, version and kind"
        );
        assert_eq!(
            error(br#"{"request":{"kind":{"kind":"Pod"},"kind":{"kind":"Pod"}}}"#),
            "cannot read the request: request: duplicate field `kind`"
        );
        assert_eq!(
            error(br#"{"request":{"kind":{"kind":"Pod"}},"settings":{"mode":1}}"#),
            "invalid settings: mode: invalid type: integer `1`, expected a string"
        );
        assert!(error(b"{\"request\":").contains("EOF"));
    }
}
