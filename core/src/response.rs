//! The answers the Kubewarden engine reads from a policy, in the JSON shape of the SDK's
//! `ValidationResponse` and `SettingsValidationResponse` (which the core must not link: the SDK
//! brings waPC exports into every module that links it, the browser build included). The
//! shells write them with `serde_json::to_vec`.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::value::RawValue;

/// The answer to `validate`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    /// Why the request is rejected.
    pub message: Option<String>,
    pub code: Option<u16>,
    /// The object to admit instead of the request's (mutate mode): the request's text, edited,
    /// embedded as it is.
    pub mutated_object: Option<Box<RawValue>>,
    /// Written as a JSON object, in this order.
    #[serde(serialize_with = "pairs")]
    pub audit_annotations: Option<Vec<(String, String)>>,
    /// Shown by kubectl, accepted or not.
    pub warnings: Option<Vec<String>>,
}

/// The answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsValidationResponse {
    pub valid: bool,
    pub message: Option<String>,
}

fn pairs<S: Serializer>(pairs: &Option<Vec<(String, String)>>, out: S) -> Result<S::Ok, S::Error> {
    match pairs {
        None => out.serialize_none(),
        Some(pairs) => {
            let mut map = out.serialize_map(Some(pairs.len()))?;
            for (key, value) in pairs {
                map.serialize_entry(key, value)?;
            }
            map.end()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_what_the_sdk_reads() {
        let response = ValidationResponse {
            accepted: false,
            message: Some("no".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"accepted":false,"message":"no","code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#
        );
        let full = ValidationResponse {
            accepted: true,
            message: None,
            code: Some(403),
            mutated_object: Some(
                RawValue::from_string(r#"{"kind":"Pod","spec":{"n":1.50}}"#.into()).unwrap(),
            ),
            audit_annotations: Some(vec![("c".into(), "d".into()), ("a".into(), "b".into())]),
            warnings: Some(vec!["w1".into(), "w\"2".into()]),
        };
        let text = serde_json::to_string(&full).unwrap();
        let read: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            read,
            json!({"accepted": true, "message": null, "code": 403,
                "mutated_object": {"kind": "Pod", "spec": {"n": 1.5}},
                "audit_annotations": {"a": "b", "c": "d"}, "warnings": ["w1", "w\"2"]})
        );
        // The mutated object is embedded as written, the annotations in their order.
        assert!(text.contains(r#""mutated_object":{"kind":"Pod","spec":{"n":1.50}},"#));
        assert!(text.contains(r#""audit_annotations":{"c":"d","a":"b"}"#));
        let settings = SettingsValidationResponse {
            valid: true,
            message: None,
        };
        assert_eq!(
            serde_json::to_string(&settings).unwrap(),
            r#"{"valid":true,"message":null}"#
        );
    }
}
