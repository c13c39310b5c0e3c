//! Reads the few fields the policy needs from the objects that hold most of a request's bytes:
//! containers and their mounts.
//!
//! A derived `Deserialize` reads every key of every container as UTF-8 text before matching it,
//! which costs more than skipping the values it does not need. [`read`] compares keys as bytes
//! (serde_json hands them over unchecked: the engine has parsed this JSON already) and skips
//! the other values exactly as a derived struct does; like one, it refuses a field given twice.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// An object read field by field.
pub(crate) trait Fields<'de>: Default {
    /// What the object is, for a type error: "a container".
    const EXPECTING: &'static str;
    /// The fields it reads; any other is skipped.
    const NAMES: &'static [&'static str];
    /// Reads the value of `NAMES[field]`.
    fn read<A: MapAccess<'de>>(&mut self, field: usize, map: &mut A) -> Result<(), A::Error>;
}

/// Deserializes a [`Fields`] object.
pub(crate) fn read<'de, D: Deserializer<'de>, T: Fields<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Fields<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut object = T::default();
        let mut seen = 0u32;
        while let Some(field) = map.next_key_seed(Key(T::NAMES))? {
            match field {
                Some(field) if seen & (1 << field) != 0 => {
                    return Err(de::Error::duplicate_field(T::NAMES[field]));
                }
                Some(field) => {
                    seen |= 1 << field;
                    object.read(field, &mut map)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(object)
    }
}

/// A key, as the index of the name it matches.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|name| name.as_bytes() == key))
    }

    // Deserializers other than serde_json's may hand keys over as text.
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        self.visit_bytes(key.as_bytes())
    }
}

/// A string that borrows from the request unless it had escapes to decode.
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct Probe<'a> {
        name: Cow<'a, str>,
        size: Option<u32>,
    }

    impl<'de> Fields<'de> for Probe<'de> {
        const EXPECTING: &'static str = "a probe";
        const NAMES: &'static [&'static str] = &["name", "size"];
        fn read<A: MapAccess<'de>>(&mut self, field: usize, map: &mut A) -> Result<(), A::Error> {
            match field {
                0 => self.name = map.next_value::<Text>()?.0,
                _ => self.size = map.next_value()?,
            }
            Ok(())
        }
    }

    impl<'de> de::Deserialize<'de> for Probe<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            read(deserializer)
        }
    }

    fn parse(text: &str) -> Result<Probe<'_>, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_its_fields_borrowed_and_skips_the_rest() {
        let probe =
            parse(r#"{"other":{"name":"no","x":[1,{"size":2}]},"size":3,"name":"p"}"#).unwrap();
        assert_eq!(
            probe,
            Probe {
                name: "p".into(),
                size: Some(3)
            }
        );
        assert!(matches!(probe.name, Cow::Borrowed(_)));
        let escaped = parse(r#"{"n\u0061me":"\u0070"}"#).unwrap();
        assert_eq!(escaped.name, "p");
        assert_eq!(parse("{}").unwrap(), Probe::default());
    }

    #[test]
    fn refuses_what_a_derived_struct_refuses() {
        assert_eq!(
            parse(r#"{"name":"a","name":"b"}"#).unwrap_err(),
            "duplicate field `name` at line 1 column 18"
        );
        assert_eq!(
            parse(r#"{"name":7}"#).unwrap_err(),
            "invalid type: integer `7`, expected a string at line 1 column 9"
        );
        assert_eq!(
            parse(r#"["a"]"#).unwrap_err(),
            "invalid type: sequence, expected a probe at line 1 column 0"
        );
        assert!(parse(r#"{"other":[1,}"#).is_err());
    }
}
