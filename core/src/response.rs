//! The answers the Kubewarden engine reads from a policy, in the JSON shape of the SDK's
//! `ValidationResponse` and `SettingsValidationResponse` (which the core must not link: the SDK
//! brings waPC exports into every module that links it, the browser build included).
//!
//! They are written by [`ToJson`] rather than serde: a mutated object is JSON text to embed as
//! it is, and the answers are a handful of strings, booleans and lists.

use crate::json::{run_end, string_stops};

/// The answer to `validate`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationResponse {
    pub accepted: bool,
    /// Why the request is rejected.
    pub message: Option<String>,
    pub code: Option<u16>,
    /// The object to admit instead of the request's (mutate mode), as JSON text.
    pub mutated_object: Option<String>,
    /// Written as a JSON object, in this order.
    pub audit_annotations: Option<Vec<(String, String)>>,
    /// Shown by kubectl, accepted or not.
    pub warnings: Option<Vec<String>>,
}

/// The answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsValidationResponse {
    pub valid: bool,
    pub message: Option<String>,
}

/// A value written as JSON, compact, as serde_json writes it.
pub trait ToJson {
    fn write_json(&self, out: &mut Vec<u8>);

    fn to_json(&self) -> Vec<u8> {
        // Most answers fit: one growth less for a rejection's message.
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        out
    }
}

/// The text of an object in the making: `field` writes a key and returns where its value goes.
pub(crate) struct Object<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> Object<'o> {
    pub(crate) fn open(out: &'o mut Vec<u8>) -> Object<'o> {
        out.push(b'{');
        Object { out, empty: true }
    }

    /// A field named by the policy: a plain name, written without escaping. The value's type
    /// is a parameter, not a `&dyn ToJson`: wasmtime initializes each entry of a module's
    /// table of functions on its first call in an instance, and policy-server gives every
    /// request a fresh instance.
    pub(crate) fn field(
        &mut self,
        name: &'static str,
        value: &(impl ToJson + ?Sized),
    ) -> &mut Self {
        self.name(name);
        value.write_json(self.out);
        self
    }

    fn name(&mut self, name: &'static str) {
        debug_assert!(
            name.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        );
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A field with any key.
    pub(crate) fn entry(&mut self, key: &str, value: &(impl ToJson + ?Sized)) -> &mut Self {
        self.comma();
        key.write_json(self.out);
        self.out.push(b':');
        value.write_json(self.out);
        self
    }

    fn comma(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    pub(crate) fn close(&mut self) {
        self.out.push(b'}');
    }
}

impl ToJson for ValidationResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        Object::open(out)
            .field("accepted", &self.accepted)
            .field("message", &self.message)
            .field("code", &self.code)
            .field(
                "mutated_object",
                &self.mutated_object.as_deref().map(Embedded),
            )
            .field(
                "audit_annotations",
                &self.audit_annotations.as_deref().map(Pairs),
            )
            .field("warnings", &self.warnings)
            .close();
    }
}

impl ToJson for SettingsValidationResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        Object::open(out)
            .field("valid", &self.valid)
            .field("message", &self.message)
            .close();
    }
}

/// JSON text, written as it is.
struct Embedded<'t>(&'t str);

impl ToJson for Embedded<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_bytes());
    }
}

/// Pairs written as the fields of an object.
struct Pairs<'p>(&'p [(String, String)]);

impl ToJson for Pairs<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::open(out);
        for (key, value) in self.0 {
            object.entry(key, value);
        }
        object.close();
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl ToJson for u16 {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.to_string().as_bytes());
    }
}

impl ToJson for str {
    /// Escaped as serde_json escapes: quote, backslash and control characters only. Plain runs
    /// are found eight bytes a step, as the reader finds them.
    fn write_json(&self, out: &mut Vec<u8>) {
        let bytes = self.as_bytes();
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        let (mut plain, mut at) = (0, 0);
        loop {
            at = run_end(bytes, at, string_stops);
            let Some(&byte) = bytes.get(at) else {
                break;
            };
            at += 1;
            let escape: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0x00..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&bytes[plain..at - 1]);
            plain = at;
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
            } else {
                out.extend_from_slice(escape);
            }
        }
        out.extend_from_slice(&bytes[plain..]);
        out.push(b'"');
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.as_str().write_json(out);
    }
}

impl ToJson for &str {
    fn write_json(&self, out: &mut Vec<u8>) {
        (**self).write_json(out);
    }
}

/// `None` is `null`.
impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_json(out);
        }
        out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn text(value: &impl ToJson) -> String {
        String::from_utf8(value.to_json()).unwrap()
    }

    #[test]
    fn writes_what_the_sdk_reads() {
        let response = ValidationResponse {
            accepted: false,
            message: Some("no".into()),
            ..Default::default()
        };
        assert_eq!(
            text(&response),
            r#"{"accepted":false,"message":"no","code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#
        );
        let full = ValidationResponse {
            accepted: true,
            message: None,
            code: Some(403),
            mutated_object: Some(r#"{"kind":"Pod","spec":{"n":1.50}}"#.into()),
            audit_annotations: Some(vec![("a".into(), "b".into()), ("c".into(), "d".into())]),
            warnings: Some(vec!["w1".into(), "w\"2".into()]),
        };
        let read: serde_json::Value = serde_json::from_slice(&full.to_json()).unwrap();
        assert_eq!(
            read,
            json!({"accepted": true, "message": null, "code": 403,
                "mutated_object": {"kind": "Pod", "spec": {"n": 1.5}},
                "audit_annotations": {"a": "b", "c": "d"}, "warnings": ["w1", "w\"2"]})
        );
        // The mutated object is embedded as written.
        assert!(text(&full).contains(r#""mutated_object":{"kind":"Pod","spec":{"n":1.50}},"#));
        let settings = SettingsValidationResponse {
            valid: true,
            message: None,
        };
        assert_eq!(text(&settings), r#"{"valid":true,"message":null}"#);
    }

    proptest! {
        #[test]
        fn escapes_strings_as_serde_json_does(chars in proptest::collection::vec(
            prop_oneof![
                any::<char>(),
                Just('a'),
                Just('"'),
                Just('\\'),
                (0u8..0x20).prop_map(char::from),
            ],
            0..64,
        )) {
            let s: String = chars.into_iter().collect();
            prop_assert_eq!(text(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
