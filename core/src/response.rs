//! The answers the Kubewarden engine reads from a policy, in the JSON shape of the SDK's
//! `ValidationResponse` and `SettingsValidationResponse` (which the core must not link: the SDK
//! brings waPC exports into every module that links it, the browser build included).

use serde::Serialize;
use std::collections::HashMap;

/// The answer to `validate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    /// Why the request is rejected.
    pub message: Option<String>,
    pub code: Option<u16>,
    /// The object to admit instead of the request's (mutate mode).
    pub mutated_object: Option<serde_json::Value>,
    pub audit_annotations: Option<HashMap<String, String>>,
    /// Shown by kubectl, accepted or not.
    pub warnings: Option<Vec<String>>,
}

/// The answer to `validate_settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsValidationResponse {
    pub valid: bool,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_sdk_does() {
        let response = ValidationResponse {
            accepted: false,
            message: Some("no".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"accepted":false,"message":"no","code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#
        );
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
