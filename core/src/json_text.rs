//! JSON values handled as their text, for the two rare paths that need an object whole:
//! removing volumes and mounts from it (mutate mode) and comparing two pod templates (an UPDATE
//! of a workload that already exposes a socket). Nothing is rebuilt as a tree, so every field,
//! number and string of a mutated object is given back exactly as the request wrote it, and the
//! module carries no number parsing or formatting (which cost about 36 KB of it).
//!
//! The texts are parts of a request the reader has already checked: a part that is not what a
//! function looks for (not an object, not an array) reads as absent.

use crate::read::Text;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// An object's fields: each key decoded, each value as its text.
pub(crate) type Fields<'t> = Vec<(Cow<'t, str>, &'t [u8])>;

/// The fields of an object, in the order written.
struct InOrder<'t>(Fields<'t>);

impl<'de> Deserialize<'de> for InOrder<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = InOrder<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<InOrder<'de>, M::Error> {
                let mut fields = Vec::new();
                while let Some(Text(key)) = map.next_key()? {
                    let value: &RawValue = map.next_value()?;
                    fields.push((key, value.get().as_bytes()));
                }
                Ok(InOrder(fields))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// `text` read as a `T`, as every read of the core reads; what it is not reads as absent, so
/// no path is tracked.
fn read<'t, T: Deserialize<'t>>(text: &'t [u8]) -> Option<T> {
    crate::read::untracked_seed(std::marker::PhantomData, text).ok()
}

/// The fields of the object `text` in the order written, keys decoded, values as their text;
/// `None` if `text` is not an object.
pub(crate) fn fields(text: &[u8]) -> Option<Fields<'_>> {
    if first(text) != Some(b'{') {
        return None;
    }
    read::<InOrder>(text).map(|InOrder(fields)| fields)
}

/// The value of `key` in the object `text`; the last one if the key is repeated, as
/// Kubernetes (and serde_json) read it.
pub(crate) fn field<'t>(text: &'t [u8], key: &str) -> Option<&'t [u8]> {
    let fields = fields(text)?;
    let (_, value) = fields.into_iter().rfind(|(name, _)| name == key)?;
    Some(value)
}

/// The value at `keys` (`["spec", "template"]`) from the object `text`.
pub(crate) fn at<'t>(text: &'t [u8], keys: &[&str]) -> Option<&'t [u8]> {
    keys.iter().try_fold(text, |value, key| field(value, key))
}

/// The items of the array `text`, as their text; `None` if `text` is not an array.
pub(crate) fn items(text: &[u8]) -> Option<Vec<&[u8]>> {
    if first(text) != Some(b'[') {
        return None;
    }
    let items: Vec<&RawValue> = read(text)?;
    Some(
        items
            .into_iter()
            .map(|item| item.get().as_bytes())
            .collect(),
    )
}

/// The string `text`, decoded; `None` if `text` is not a string.
pub(crate) fn string(text: &[u8]) -> Option<Cow<'_, str>> {
    read::<Text>(text).map(|Text(text)| text)
}

/// Whether two values are equal as JSON: objects whatever the order of their keys, strings
/// whatever their escapes. Numbers compare as written: the engine writes both objects of a
/// request from the same parsed values, so equal numbers are written alike.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    // As deep as serde_json reads, in which the engine has read both objects; deeper (which
    // the engine never sends) compares as written, without recursing further.
    same_within(a, b, 128)
}

fn same_within(a: &[u8], b: &[u8], depth: u32) -> bool {
    if depth == 0 {
        return a.trim_ascii() == b.trim_ascii();
    }
    match (first(a), first(b)) {
        (Some(b'{'), Some(b'{')) => match (keyed(a), keyed(b)) {
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(&b)
                        .all(|((ka, va), (kb, vb))| ka == kb && same_within(va, vb, depth - 1))
            }
            _ => false,
        },
        (Some(b'['), Some(b'[')) => match (items(a), items(b)) {
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(&b)
                        .all(|(va, vb)| same_within(va, vb, depth - 1))
            }
            _ => false,
        },
        (Some(b'"'), Some(b'"')) => string(a).is_some_and(|a| string(b) == Some(a)),
        _ => a.trim_ascii() == b.trim_ascii(),
    }
}

/// The fields of an object sorted by key, the last of a repeated key only.
fn keyed(text: &[u8]) -> Option<Fields<'_>> {
    let mut fields = fields(text)?;
    fields.reverse();
    // Stable: of the fields with one key, the last written comes first and stays.
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.dedup_by(|later, kept| later.0 == kept.0);
    Some(fields)
}

fn first(text: &[u8]) -> Option<u8> {
    text.trim_ascii_start().first().copied()
}

/// A text with some of its arrays rewritten, each array a part of the text.
pub(crate) struct Edits<'t> {
    text: &'t [u8],
    replaced: Vec<(Range<usize>, Vec<u8>)>,
    /// An array that was not a part of the text: the edits cannot be made.
    stray: bool,
}

impl<'t> Edits<'t> {
    pub(crate) fn new(text: &'t [u8]) -> Edits<'t> {
        Edits {
            text,
            replaced: Vec::new(),
            stray: false,
        }
    }

    /// Keeps only the items of `array` (a part of the text) for which `keep` is true; the
    /// array is left as written if it keeps them all, or if it is not an array.
    pub(crate) fn retain(&mut self, array: &'t [u8], mut keep: impl FnMut(&[u8]) -> bool) {
        let Some(items) = items(array) else {
            return;
        };
        let kept: Vec<&[u8]> = items.iter().copied().filter(|item| keep(item)).collect();
        if kept.len() == items.len() {
            return;
        }
        let start = (array.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        if start
            .checked_add(array.len())
            .is_none_or(|end| end > self.text.len())
        {
            self.stray = true;
            return;
        }
        let mut with = b"[".to_vec();
        with.extend_from_slice(&kept.join(&b","[..]));
        with.push(b']');
        // Kept in text order as they come (in order but for a pod spec's volumes, which come
        // first and are written last): sorting them at the end brought 4 KB of std's stable
        // sort into the module for a handful of edits.
        let at = self
            .replaced
            .partition_point(|(span, _)| span.start <= start);
        self.replaced.insert(at, (start..start + array.len(), with));
    }

    /// The text with every edit made; `None` if one was not in the text or two overlap (the
    /// arrays edited are volume and mount lists, none inside another), rather than an object
    /// that may keep what was to be removed.
    pub(crate) fn finish(self) -> Option<Vec<u8>> {
        if self.stray {
            return None;
        }
        let mut out = Vec::with_capacity(self.text.len());
        let mut copied = 0;
        for (span, with) in &self.replaced {
            out.extend_from_slice(self.text.get(copied..span.start)?);
            out.extend_from_slice(with);
            copied = span.end;
        }
        out.extend_from_slice(&self.text[copied..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_fields_items_and_strings_as_written() {
        let text = br#" {"a": [1, {"b":"x\u0041"}], "a":2, "c":"\"q\""} "#;
        let read = fields(text).unwrap();
        let keys: Vec<&str> = read.iter().map(|(key, _)| &**key).collect();
        assert_eq!(keys, ["a", "a", "c"]);
        assert_eq!(field(text, "a"), Some(&b"2"[..]));
        assert_eq!(field(text, "z"), None);
        let list = items(read[0].1).unwrap();
        assert_eq!(list, [&b"1"[..], br#"{"b":"x\u0041"}"#]);
        assert_eq!(at(list[1], &["b"]).and_then(string).as_deref(), Some("xA"));
        assert_eq!(string(field(text, "c").unwrap()).as_deref(), Some("\"q\""));
        assert_eq!(fields(b"[1]"), None);
        assert_eq!(items(b"{}"), None);
        assert_eq!(string(b"1"), None);
    }

    #[test]
    fn compares_as_json_values() {
        let same_pairs: [(&str, &str); 6] = [
            (
                r#"{"a":1,"b":[true,null]}"#,
                r#"{ "b" : [true, null], "a" : 1 }"#,
            ),
            (r#""x\u0041""#, r#""xA""#),
            (r#"{"a":1,"a":2}"#, r#"{"a":2}"#),
            ("[]", " [ ] "),
            ("1.5e3", "1.5e3"),
            (r#"{"k\u0041":1}"#, r#"{"kA":1}"#),
        ];
        for (a, b) in same_pairs {
            assert!(same(a.as_bytes(), b.as_bytes()), "{a} and {b}");
        }
        let different: [(&str, &str); 7] = [
            (r#"{"a":1}"#, r#"{"a":1,"b":1}"#),
            (r#"{"a":1,"a":2}"#, r#"{"a":1}"#),
            ("[1,2]", "[2,1]"),
            ("[1]", "[1,1]"),
            (r#""a""#, r#""b""#),
            ("1", "1.0"),
            ("{}", "[]"),
        ];
        for (a, b) in different {
            assert!(!same(a.as_bytes(), b.as_bytes()), "{a} and {b}");
        }
    }

    #[test]
    fn compares_past_serde_json_depth_as_written_without_recursing() {
        let nested = |inner: &str| format!("{}{inner}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(same(nested("1").as_bytes(), nested("1").as_bytes()));
        assert!(!same(nested("1").as_bytes(), nested("2").as_bytes()));
    }

    #[test]
    fn rewrites_only_the_arrays_that_lose_items() {
        let text = br#"{"v":[{"n":1}, {"n":2},{"n":3}],"w":[1, 2],"x":"[1]"}"#;
        let mut edits = Edits::new(text);
        edits.retain(field(text, "v").unwrap(), |item| {
            field(item, "n") != Some(b"2")
        });
        edits.retain(field(text, "w").unwrap(), |_| true);
        edits.retain(field(text, "x").unwrap(), |_| false);
        assert_eq!(
            String::from_utf8(edits.finish().unwrap()).unwrap(),
            r#"{"v":[{"n":1},{"n":3}],"w":[1, 2],"x":"[1]"}"#
        );
        let mut edits = Edits::new(text);
        edits.retain(field(text, "w").unwrap(), |_| false);
        edits.retain(field(text, "v").unwrap(), |_| false);
        assert_eq!(
            String::from_utf8(edits.finish().unwrap()).unwrap(),
            r#"{"v":[],"w":[],"x":"[1]"}"#
        );
        // An array edited twice, or one from another text: no edit rather than a wrong one.
        let mut edits = Edits::new(text);
        let v = field(text, "v").unwrap();
        edits.retain(v, |_| false);
        edits.retain(v, |_| false);
        assert_eq!(edits.finish(), None);
        let other = br#"{"v":[1]}"#;
        let mut edits = Edits::new(text);
        edits.retain(field(other, "v").unwrap(), |_| false);
        assert_eq!(edits.finish(), None);
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn same_is_serde_json_equality(
            a in json_value(),
            other in json_value(),
            equal in any::<bool>(),
        ) {
            // -0.0 equals 0.0 as a number but is written apart, which the engine never does
            // for one object and its old version unless the value changed in its text.
            let zero = serde_json::json!(-0.0);
            prop_assume!(!format!("{a}{other}").contains(&zero.to_string()));
            let b = if equal { a.clone() } else { other };
            let pretty = serde_json::to_vec_pretty(&a).unwrap();
            prop_assert!(same(&pretty, &serde_json::to_vec(&a).unwrap()));
            prop_assert_eq!(same(&pretty, &serde_json::to_vec(&b).unwrap()), a == b);
        }
    }
}
