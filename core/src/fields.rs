//! Reads the few fields the policy needs from each object of the request.
//!
//! [`object_fields!`] declares, for a struct, each JSON key and the field it fills; the value is
//! read by the field's type ([`json::Read`]) and any other key is skipped, or, for the settings
//! (`strict`), refused with the list of the keys there are. Like a derived serde struct, the
//! reader refuses a field given twice and reports a missing required one.

use crate::json::{self, Reader};

/// What an object is, for its reader.
pub(crate) struct Shape {
    /// For a type error: "a container".
    pub(crate) expecting: &'static str,
    /// The keys read: `object_fields!` switches on a key's index here.
    pub(crate) names: &'static [&'static str],
    /// Bit `n` set when a key in `names` is `n` bytes long (for `n` < 64): most keys an object
    /// has and the policy skips are told apart by their length alone.
    pub(crate) lengths: u64,
    /// The keys that must be there.
    pub(crate) required: &'static [&'static str],
    /// Whether a key not in `names` is an error (a typo in the settings) or skipped.
    pub(crate) strict: bool,
}

/// Reads the object ahead into a `T`: `read_field(object, i, reader)` reads `shape.names[i]`.
pub(crate) fn read<'a, T: Default>(
    reader: &mut Reader<'a>,
    shape: &'static Shape,
    mut read_field: impl FnMut(&mut T, usize, &mut Reader<'a>) -> json::Result<()>,
) -> json::Result<T> {
    let mut object = T::default();
    let mut fields = FieldReader::begin(reader, shape)?;
    while let Some(field) = fields.next(reader)? {
        read_field(&mut object, field, reader)?;
    }
    fields.finish(reader)?;
    Ok(object)
}

/// The [`Shape::lengths`] of `names`.
pub(crate) const fn lengths(names: &[&str]) -> u64 {
    let (mut lengths, mut i) = (0, 0);
    while i < names.len() {
        if names[i].len() < 64 {
            lengths |= 1 << names[i].len();
        }
        i += 1;
    }
    lengths
}

/// Where `key` is in `names` (`names.len()` if it is not), for [`object_fields!`] to switch on
/// at compile time.
pub(crate) const fn position(names: &[&str], key: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        let (name, key) = (names[i].as_bytes(), key.as_bytes());
        if name.len() == key.len() {
            let mut at = 0;
            while at < key.len() && name[at] == key[at] {
                at += 1;
            }
            if at == key.len() {
                return i;
            }
        }
        i += 1;
    }
    names.len()
}

/// The keys of an object, as the fields they name: the loop over them is in the module once
/// for every struct, and no key costs more than a direct call.
struct FieldReader {
    shape: &'static Shape,
    seen: u64,
    after_value: bool,
}

impl FieldReader {
    fn begin(reader: &mut Reader, shape: &'static Shape) -> json::Result<Self> {
        reader.begin_object(shape.expecting)?;
        Ok(FieldReader {
            shape,
            seen: 0,
            after_value: false,
        })
    }

    /// The next field to read, the others skipped; `None` at the end of the object.
    fn next(&mut self, reader: &mut Reader) -> json::Result<Option<usize>> {
        let names = self.shape.names;
        while let Some(key) = reader.next_key(&mut self.after_value)? {
            let length_read = key.len() >= 64 || self.shape.lengths >> key.len() & 1 == 1;
            let field = if length_read {
                names
                    .iter()
                    .position(|name| json::same_bytes(name.as_bytes(), &key))
            } else {
                None
            };
            match field {
                Some(field) if self.seen & bit(field) != 0 => {
                    return Err(reader.duplicate(names[field]));
                }
                Some(field) => {
                    self.seen |= bit(field);
                    return Ok(Some(field));
                }
                None if self.shape.strict => return Err(reader.unknown_field(names)),
                None => reader.skip()?,
            }
        }
        Ok(None)
    }

    /// Checks, at the end of the object, that the `required` fields were there.
    fn finish(&self, reader: &Reader) -> json::Result<()> {
        for required in self.shape.required {
            let field = self.shape.names.iter().position(|name| name == required);
            if field.is_none_or(|field| self.seen & bit(field) == 0) {
                return Err(reader.missing(required));
            }
        }
        Ok(())
    }
}

/// The bit of `seen` for a field (`object_fields!` refuses more than 64).
fn bit(field: usize) -> u64 {
    1 << field
}

/// Implements [`json::Read`] for a struct: what it is (for a type error), each JSON key and
/// the field it fills, and the keys that must be there. The struct borrows from the request
/// (`Spec<'a>`) or is `owned` (no lifetime); a `strict` one refuses unknown keys.
macro_rules! object_fields {
    (owned strict $type:ident, $($rest:tt)+) => {
        $crate::fields::object_fields!(@impl [$type] true, $($rest)+);
    };
    (owned $type:ident, $($rest:tt)+) => {
        $crate::fields::object_fields!(@impl [$type] false, $($rest)+);
    };
    ($type:ident, $($rest:tt)+) => {
        $crate::fields::object_fields!(@impl [$type<'a>] false, $($rest)+);
    };
    (
        @impl [$($type:tt)+] $strict:literal, $expecting:literal,
        { $($key:literal => $field:ident),+ $(,)? }
        $(, required: [$($required:literal),+])?
    ) => {
        impl<'a> $crate::json::Read<'a> for $($type)+ {
            fn read(reader: &mut $crate::json::Reader<'a>) -> $crate::json::Result<Self> {
                const NAMES: &[&str] = &[$($key),+];
                const { assert!(NAMES.len() <= 64) };
                static SHAPE: $crate::fields::Shape = $crate::fields::Shape {
                    expecting: $expecting,
                    names: NAMES,
                    lengths: $crate::fields::lengths(NAMES),
                    required: &[$($($required),+)?],
                    strict: $strict,
                };
                // A switch on the field's index, not a table of function pointers: wasmtime
                // initializes each entry of a module's table on its first call in an instance,
                // and policy-server gives every request a fresh instance.
                $crate::fields::read(reader, &SHAPE, |object: &mut Self, field, reader| {
                    $(if field == const { $crate::fields::position(NAMES, $key) } {
                        object.$field = $crate::json::Read::read(reader)?;
                        return Ok(());
                    })+
                    Ok(())
                })
            }
        }
    };
}
pub(crate) use object_fields;

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[derive(Debug, Default, PartialEq)]
    struct Probe<'a> {
        name: Cow<'a, str>,
        enabled: Option<bool>,
        tag: Option<Cow<'a, str>>,
    }

    object_fields!(Probe, "a probe", {
        "name" => name,
        "enabled" => enabled,
        "tag" => tag,
    }, required: ["name"]);

    fn parse(text: &str) -> Result<Probe<'_>, String> {
        json::from_slice(text.as_bytes()).map_err(|e| json::describe(text.as_bytes(), &e))
    }

    #[test]
    fn reads_its_fields_borrowed_and_skips_the_rest() {
        let probe = parse(
            r#"{"other":{"name":"no","x":[1,{"enabled":2}]},"enabled":true,"tag":null,"name":"p"}"#,
        )
        .unwrap();
        assert_eq!(
            probe,
            Probe {
                name: "p".into(),
                enabled: Some(true),
                tag: None,
            }
        );
        assert!(matches!(probe.name, Cow::Borrowed(_)));
        let escaped = parse(r#"{"n\u0061me":"\u0070","tag":"t","n\u00e9me":1}"#).unwrap();
        assert_eq!((&*escaped.name, escaped.tag.as_deref()), ("p", Some("t")));
    }

    #[test]
    fn places_and_lengths_of_keys_are_worked_out_at_compile_time() {
        const NAMES: &[&str] = &["name", "enabled", "tag", "ta"];
        assert_eq!(
            ["name", "tag", "ta", "t", "tags", ""].map(|key| position(NAMES, key)),
            [0, 2, 3, 4, 4, 4]
        );
        assert_eq!(lengths(NAMES), 1 << 4 | 1 << 7 | 1 << 3 | 1 << 2);
        let long = "k".repeat(64);
        assert_eq!(
            lengths(&[long.as_str(), "ab"]),
            1 << 2,
            "a key of 64 bytes or more has no bit"
        );
    }

    #[test]
    fn refuses_what_a_derived_struct_refuses() {
        assert_eq!(
            parse(r#"{"name":"a","name":"b"}"#).unwrap_err(),
            "name: duplicate field `name`"
        );
        assert_eq!(parse(r#"{"tag":"x"}"#).unwrap_err(), "missing field `name`");
        assert_eq!(
            parse(r#"{"name":7}"#).unwrap_err(),
            "name: invalid type: integer `7`, expected a string"
        );
        assert_eq!(
            parse(r#"{"name":"a","enabled":"yes"}"#).unwrap_err(),
            "enabled: invalid type: string \"yes\", expected a boolean"
        );
        assert_eq!(
            parse(r#"["a"]"#).unwrap_err(),
            "invalid type: sequence, expected a probe"
        );
        assert_eq!(
            parse(r#"{"name":"a","other":[1,}"#).unwrap_err(),
            "other: expected value at line 1 column 24"
        );
    }
}
