//! Reads the few fields the policy needs from each object of the request.
//!
//! A derived `Deserialize` reads every key as UTF-8 text before matching it, and for a small
//! request that cost more than skipping the values the policy does not need. [`read`] compares
//! keys as bytes (serde_json hands them over unchecked: the engine has parsed this JSON
//! already) and skips the other values exactly as a derived struct does; like one, it refuses
//! a field given twice and reports a missing required one. [`object_fields!`] declares the keys
//! of a struct and how each is read.

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
    /// The fields that must be there.
    const REQUIRED: &'static [&'static str] = &[];
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
        let mut seen = 0u64;
        while let Some(field) = map.next_key_seed(Key(T::NAMES))? {
            match field {
                Some(field) if seen & bit(field) != 0 => {
                    return Err(de::Error::duplicate_field(T::NAMES[field]));
                }
                Some(field) => {
                    seen |= bit(field);
                    object.read(field, &mut map)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for required in T::REQUIRED {
            let field = T::NAMES.iter().position(|name| name == required);
            if field.is_none_or(|field| seen & bit(field) == 0) {
                return Err(de::Error::missing_field(required));
            }
        }
        Ok(object)
    }
}

/// The bit of `seen` for a field (none past the 64th, which `object_fields!` refuses).
fn bit(field: usize) -> u64 {
    u32::try_from(field)
        .ok()
        .and_then(|field| 1u64.checked_shl(field))
        .unwrap_or(0)
}

/// Implements [`Fields`] and `Deserialize` for a struct with a lifetime `'a`: each JSON key,
/// the field it fills and its reader ([`text`], [`optional_text`] or [`value`]).
macro_rules! object_fields {
    (
        $type:ident, $expecting:literal,
        { $($key:literal => $field:ident: $reader:ident),+ $(,)? }
        $(, required: [$($required:literal),+])?
    ) => {
        impl<'de: 'a, 'a> $crate::fields::Fields<'de> for $type<'a> {
            const EXPECTING: &'static str = $expecting;
            const NAMES: &'static [&'static str] = &[$($key),+];
            $(const REQUIRED: &'static [&'static str] = &[$($required),+];)?

            fn read<A: serde::de::MapAccess<'de>>(
                &mut self,
                field: usize,
                map: &mut A,
            ) -> Result<(), A::Error> {
                const { assert!(Self::NAMES.len() <= 64) };
                type Read<T, A, E> = fn(&mut T, &mut A) -> Result<(), E>;
                let readers: &[Read<Self, A, A::Error>] = &[$(|object, map| {
                    object.$field = $crate::fields::$reader(map)?;
                    Ok(())
                }),+];
                match readers.get(field) {
                    Some(read) => read(self, map),
                    None => map.next_value::<serde::de::IgnoredAny>().map(drop),
                }
            }
        }

        impl<'de: 'a, 'a> serde::Deserialize<'de> for $type<'a> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::fields::read(deserializer)
            }
        }
    };
}
pub(crate) use object_fields;

/// A string, borrowed from the request unless it had escapes to decode.
pub(crate) fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Cow<'de, str>, A::Error> {
    Ok(map.next_value::<Text>()?.0)
}

/// A string or `null`.
pub(crate) fn optional_text<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<Option<Text>>()?.map(|text| text.0))
}

/// Any other value.
pub(crate) fn value<'de, A: MapAccess<'de>, T: de::Deserialize<'de>>(
    map: &mut A,
) -> Result<T, A::Error> {
    map.next_value()
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
        tag: Option<Cow<'a, str>>,
    }

    object_fields!(Probe, "a probe", {
        "name" => name: text,
        "size" => size: value,
        "tag" => tag: optional_text,
    }, required: ["name"]);

    fn parse(text: &str) -> Result<Probe<'_>, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_its_fields_borrowed_and_skips_the_rest() {
        let probe =
            parse(r#"{"other":{"name":"no","x":[1,{"size":2}]},"size":3,"tag":null,"name":"p"}"#)
                .unwrap();
        assert_eq!(
            probe,
            Probe {
                name: "p".into(),
                size: Some(3),
                tag: None,
            }
        );
        assert!(matches!(probe.name, Cow::Borrowed(_)));
        let escaped = parse(r#"{"n\u0061me":"\u0070","tag":"t"}"#).unwrap();
        assert_eq!((&*escaped.name, escaped.tag.as_deref()), ("p", Some("t")));
    }

    #[test]
    fn refuses_what_a_derived_struct_refuses() {
        assert_eq!(
            parse(r#"{"name":"a","name":"b"}"#).unwrap_err(),
            "duplicate field `name` at line 1 column 18"
        );
        assert_eq!(
            parse(r#"{"size":1}"#).unwrap_err(),
            "missing field `name` at line 1 column 10"
        );
        assert_eq!(
            parse(r#"{"name":7}"#).unwrap_err(),
            "invalid type: integer `7`, expected a string at line 1 column 9"
        );
        assert_eq!(
            parse(r#"["a"]"#).unwrap_err(),
            "invalid type: sequence, expected a probe at line 1 column 0"
        );
        assert!(parse(r#"{"name":"a","other":[1,}"#).is_err());
    }
}
