//! Reading JSON through serde, with messages that name the field: `path: what is wrong`, as
//! serde words it (the field path from `serde_path_to_error`).

use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, de};
use std::borrow::Cow;
use std::marker::PhantomData;

/// An error with the path of the field it is about.
pub type Error = serde_path_to_error::Error<serde_json::Error>;

/// Reads `text` as a `T`; an error names the field it is about.
pub fn from_slice<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Result<T, String> {
    tracked(text).map_err(|error| describe("", &error))
}

/// Reads the whole of `text` with a seed; an error comes with the path of its field. Every read
/// of the core goes through here, with one reader type, so that each `Deserialize` is compiled
/// into the module once (and once more tracking paths). The path is tracked only to tell an
/// error: `serde_path_to_error` allocates each key it passes, which doubled the cost of a read.
pub fn tracked_seed<'a, S>(seed: S, text: &'a [u8]) -> Result<S::Value, Error>
where
    S: DeserializeSeed<'a> + Clone,
{
    let first = match untracked_seed(seed.clone(), text) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let mut reader = serde_json::Deserializer::from_slice(text);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut reader, &mut track);
    let error = match seed.deserialize(tracked) {
        Err(error) => error,
        // The reader ahead is the same: the same error, at the end of the value.
        Ok(_) => reader.end().err().unwrap_or(first),
    };
    Err(Error::new(track.path(), error))
}

/// Reads the whole of `text` with a seed, as [`tracked_seed`] but for the path of an error.
pub fn untracked_seed<'a, S: DeserializeSeed<'a>>(
    seed: S,
    text: &'a [u8],
) -> Result<S::Value, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_slice(text);
    let value = seed.deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// [`tracked_seed`] for a `T`.
pub fn tracked<'a, T: Deserialize<'a>>(text: &'a [u8]) -> Result<T, Error> {
    tracked_seed(PhantomData, text)
}

/// `prefix.path: message`. A value of the wrong type or shape is told by its field alone; a
/// syntax error keeps serde_json's line and column, which say where the text breaks.
pub fn describe(prefix: &str, error: &Error) -> String {
    let path = path(prefix, error);
    let message = message(error.inner());
    match path.is_empty() {
        true => message,
        false => format!("{path}: {message}"),
    }
}

/// The field an error is about, after `prefix`: `spec.containers[0].image`.
pub fn path(prefix: &str, error: &Error) -> String {
    let mut path = error.path().to_string();
    if path == "." {
        path.clear();
    }
    // An error inside a value read apart goes on from where that value is.
    if let Some((inner, _)) = split_nested(&error.inner().to_string()) {
        path = joined(&path, inner);
    }
    joined(prefix, &path)
}

fn joined(path: &str, more: &str) -> String {
    match (path.is_empty(), more.is_empty()) {
        (true, _) => more.to_string(),
        (false, true) => path.to_string(),
        (false, false) if more.starts_with('[') => format!("{path}{more}"),
        (false, false) => format!("{path}.{more}"),
    }
}

/// What is wrong, in serde_json's words; the line and column for a syntax error only.
pub fn message(error: &serde_json::Error) -> String {
    let mut message = error.to_string();
    if error.is_data() {
        let at = format!(" at line {} column {}", error.line(), error.column());
        if let Some(plain) = message.strip_suffix(&at) {
            message = plain.to_string();
        }
    }
    match split_nested(&message) {
        Some((_, inner)) => inner.to_string(),
        None => message,
    }
}

/// Marks the path in the error of a value read apart (see [`nested`]).
const NESTED: char = '\u{1}';

/// The error of a value read apart from its text (an item of a `request::List`), as a message
/// that carries its path inside the value, for [`path`] and [`message`] to take apart.
pub fn nested<'a, T: Deserialize<'a>>(text: &'a [u8]) -> String {
    match tracked::<T>(text) {
        Err(error) => format!(
            "{NESTED}{}{NESTED}{}",
            path("", &error),
            message(error.inner())
        ),
        Ok(_) => "cannot be read".to_string(),
    }
}

fn split_nested(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix(NESTED)?.split_once(NESTED)
}

/// What a type read as a [`Map`] is, for an error: "a map of settings".
pub trait Named {
    const EXPECTING: &'static str;
}

/// A struct read from a JSON object only: serde's derive also takes an array of the fields in
/// order, which no one writes on purpose.
#[derive(Debug)]
pub struct Map<T>(pub T);

impl<'de, T: Deserialize<'de> + Named> Deserialize<'de> for Map<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Named> Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<T, M::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(Fields(PhantomData)).map(Map)
    }
}

/// A list of [`Map`]s, for `#[serde(deserialize_with)]`.
pub fn maps<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Named,
{
    let maps: Vec<Map<T>> = Deserialize::deserialize(d)?;
    Ok(maps.into_iter().map(|Map(value)| value).collect())
}

/// An enum read from its name: serde_json takes an enum from a string or a map, and words a
/// value of any other type as a syntax error ("expected value").
pub struct Choice<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<str>::deserialize(deserializer)?;
        T::deserialize(StrDeserializer::<de::value::Error>::new(&name))
            .map(Choice)
            .map_err(de::Error::custom)
    }
}

/// A [`Choice`], for `#[serde(deserialize_with)]`.
pub fn choice<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
    Choice::deserialize(d).map(|Choice(value)| value)
}

/// A list of [`Choice`]s, for `#[serde(deserialize_with)]`.
pub fn choices<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    let choices: Vec<Choice<T>> = Deserialize::deserialize(d)?;
    Ok(choices.into_iter().map(|Choice(value)| value).collect())
}

/// A string, borrowed from the text unless it has escapes to decode (serde's derive borrows a
/// `Cow<str>` field, but not one in an `Option`). Keys are matched decoded, as Kubernetes
/// matches them.
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Chars;
        impl<'de> Visitor<'de> for Chars {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(Chars)
    }
}

/// An optional [`Text`], for `#[serde(deserialize_with)]`.
pub fn text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    let text: Option<Text> = Deserialize::deserialize(d)?;
    Ok(text.map(|Text(text)| text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        enabled: Option<bool>,
        list: Option<Vec<Cow<'a, str>>>,
    }

    impl Named for Probe<'_> {
        const EXPECTING: &'static str = "a probe";
    }

    #[test]
    fn names_the_field_and_what_is_wrong() {
        let read = |text: &str| from_slice::<Map<Probe>>(text.as_bytes()).map(|_| ());
        let refused = [
            (r#"{"name":"a","name":"b"}"#, "duplicate field `name`"),
            (r#"{"enabled":true}"#, "missing field `name`"),
            (
                r#"{"name":"a","list":["x",7]}"#,
                "list[1]: invalid type: integer `7`, expected a string",
            ),
            (r#"["a"]"#, "invalid type: sequence, expected a probe"),
            (
                r#"{"name":"a","other":[1,}"#,
                "other: expected value at line 1 column 24",
            ),
            (
                r#"{"name":"a"} x"#,
                "trailing characters at line 1 column 14",
            ),
        ];
        for (text, message) in refused {
            assert_eq!(read(text).unwrap_err(), message, "{text}");
        }
        // What `Map` is for: the derive alone takes an array of the fields in order.
        assert_eq!(
            from_slice::<Probe>(br#"["p", true, null]"#).unwrap().name,
            "p"
        );
        assert_eq!(
            from_slice::<Map<Probe>>(br#"{"name":"a","enabled":"x"}"#).unwrap_err(),
            "enabled: invalid type: string \"x\", expected a boolean"
        );
        let error = tracked::<Probe>(br#"{"name":1}"#).unwrap_err();
        assert_eq!(
            describe("spec.containers[0]", &error),
            "spec.containers[0].name: invalid type: integer `1`, expected a string"
        );
    }

    #[test]
    fn borrows_strings_without_escapes() {
        let probe: Probe = from_slice(br#"{"name":"p","list":["a\u0062"]}"#).unwrap();
        assert!(matches!(probe.name, Cow::Borrowed("p")));
        assert!(matches!(&probe.list.unwrap()[0], Cow::Owned(s) if s == "ab"));
    }
}
