//! The behaviour corpus of `e2e-tests/fixtures/`, and the engine's side of a policy call.
//!
//! A fixture is one JSON file: `description`, `settings`, `request` (an AdmissionRequest or a
//! whole AdmissionReview) and `expect`. The same files drive the native tests of the policy
//! crate, the Wasm harness tests and the bats suite, through [`run_fixture`].
//!
//! [`admission_response`] turns a policy's `ValidationResponse` into the AdmissionResponse that
//! policy-server sends and `kwctl run` prints (a mutated object becomes a base64 JSON Patch).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Something that answers waPC calls the way the policy module does.
pub trait Evaluator {
    /// Calls the guest function `operation`; `Err` is a guest error or a trap.
    fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String>;
}

/// The policy's answer to `validate` (the SDK's `ValidationResponse`).
#[derive(Debug, Clone, Deserialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// The policy's answer to `validate_settings`.
#[derive(Debug, Clone, Deserialize)]
pub struct SettingsValidationResponse {
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

/// admission/v1 AdmissionResponse, with the field order and omissions of policy-evaluator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl AdmissionResponse {
    /// What the engine answers when the policy fails (guest error or trap).
    pub fn internal_error(uid: &str, error: &str) -> AdmissionResponse {
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: false,
            status: Some(Status {
                message: Some(format!("internal server error: {error}")),
                code: Some(500),
            }),
            ..Default::default()
        }
    }

    /// The decoded JSON Patch, if the response mutates.
    pub fn decoded_patch(&self) -> Result<Option<json_patch::Patch>, String> {
        let Some(patch) = &self.patch else {
            return Ok(None);
        };
        let bytes = STANDARD
            .decode(patch)
            .map_err(|e| format!("patch is not base64: {e}"))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("patch is not a JSON Patch: {e}"))
    }
}

/// The AdmissionResponse the engine builds from a policy's response to `request`.
pub fn admission_response(request: &Value, response: &ValidationResponse) -> AdmissionResponse {
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let object = request.get("object").filter(|o| !o.is_null());
    let patch = match (&response.mutated_object, object) {
        (Some(_), None) => {
            return AdmissionResponse {
                uid: uid.to_string(),
                allowed: false,
                status: Some(Status {
                    message: Some("the policy mutated a request that has no object".into()),
                    code: None,
                }),
                ..Default::default()
            };
        }
        (Some(mutated), Some(original)) => {
            let diff = json_patch::diff(original, mutated);
            (!diff.0.is_empty()).then(|| {
                STANDARD.encode(serde_json::to_vec(&diff).expect("a JSON Patch serializes"))
            })
        }
        (None, _) => None,
    };
    let status = (response.message.is_some() || response.code.is_some()).then(|| Status {
        message: response.message.clone(),
        code: response.code,
    });
    AdmissionResponse {
        uid: uid.to_string(),
        allowed: response.accepted,
        patch_type: patch.as_ref().map(|_| "JSONPatch".to_string()),
        patch,
        status,
        audit_annotations: response.audit_annotations.clone(),
        warnings: response.warnings.clone(),
    }
}

/// The AdmissionRequest of a bare request or of a whole AdmissionReview.
pub fn admission_request(document: &Value) -> &Value {
    match document.get("request") {
        Some(request) if request.is_object() => request,
        _ => document,
    }
}

/// Settings as the policy receives them: `{}` when none are given.
fn settings_or_empty(settings: &Option<Value>) -> Value {
    match settings {
        Some(Value::Null) | None => Value::Object(Default::default()),
        Some(settings) => settings.clone(),
    }
}

/// The outcome of evaluating one request the way `kwctl run` does.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `validate_settings` refused the settings (or failed).
    InvalidSettings(String),
    /// The response the engine would send, and the guest's mutated object, if any.
    Response(Box<AdmissionResponse>, Option<Value>),
}

/// Calls `validate_settings` as the engine does: a refusal or a guest error is `Err(message)`.
pub fn validate_settings(evaluator: &mut dyn Evaluator, settings: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(settings).expect("settings serialize");
    let answer = evaluator.call("validate_settings", &bytes)?;
    match serde_json::from_slice::<SettingsValidationResponse>(&answer) {
        Ok(answer) if answer.valid => Ok(()),
        Ok(answer) => Err(answer.message.unwrap_or_default()),
        Err(error) => Err(format!("unreadable validate_settings answer: {error}")),
    }
}

/// Validates `settings`, then evaluates `document` (AdmissionRequest or AdmissionReview).
pub fn evaluate(evaluator: &mut dyn Evaluator, document: &Value, settings: &Value) -> Outcome {
    if let Err(message) = validate_settings(evaluator, settings) {
        return Outcome::InvalidSettings(message);
    }
    let request = admission_request(document);
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let payload = serde_json::json!({ "request": request, "settings": settings });
    let payload = serde_json::to_vec(&payload).expect("payload serializes");
    match evaluator.call("validate", &payload) {
        Err(error) => Outcome::Response(
            Box::new(AdmissionResponse::internal_error(uid, &error)),
            None,
        ),
        Ok(bytes) => match serde_json::from_slice::<ValidationResponse>(&bytes) {
            Ok(response) => Outcome::Response(
                Box::new(admission_response(request, &response)),
                response.mutated_object,
            ),
            Err(error) => Outcome::Response(
                Box::new(AdmissionResponse::internal_error(
                    uid,
                    &format!("unreadable validate answer: {error}"),
                )),
                None,
            ),
        },
    }
}

/// One behaviour case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub description: String,
    #[serde(default)]
    pub settings: Option<Value>,
    /// An AdmissionRequest or an AdmissionReview; absent for settings-only cases.
    #[serde(default)]
    pub request: Option<Value>,
    pub expect: Expect,
}

/// What a fixture expects. Every field that is set is checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `false`: `validate_settings` must refuse the settings.
    #[serde(default)]
    pub settings_valid: Option<bool>,
    /// Substrings of the settings error.
    #[serde(default)]
    pub settings_message_contains: Vec<String>,
    #[serde(default)]
    pub allowed: Option<bool>,
    /// Substrings of `status.message`, each of which must appear.
    #[serde(default)]
    pub message_contains: Vec<String>,
    /// Substrings that must not appear in `status.message`.
    #[serde(default)]
    pub message_excludes: Vec<String>,
    /// The exact message lines, when the whole message is specified.
    #[serde(default)]
    pub message: Option<String>,
    /// The exact warnings (`[]` for none).
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// Substrings each of which must appear in some warning.
    #[serde(default)]
    pub warnings_contain: Vec<String>,
    /// The object after the engine applies the patch; `null` means no patch at all.
    #[serde(default, deserialize_with = "present")]
    pub patched_object: Option<Value>,
    /// The exact JSON Patch operations.
    #[serde(default)]
    pub patch: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// The response status code.
    #[serde(default)]
    pub code: Option<u16>,
}

/// Keeps an explicit `null` as `Some(Value::Null)`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The fixture directory of this repository.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e-tests/fixtures")
}

/// Every fixture, sorted by file name.
pub fn load_fixtures(dir: &Path) -> Vec<(String, Fixture)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let fixture = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("fixture {name} is not readable: {e}"));
            (name, fixture)
        })
        .collect()
}

/// Runs a fixture; `Err` says what differed, with the expected and the actual values.
pub fn run_fixture(evaluator: &mut dyn Evaluator, fixture: &Fixture) -> Result<(), String> {
    let settings = settings_or_empty(&fixture.settings);
    let expect = &fixture.expect;
    let document = fixture.request.clone().unwrap_or(Value::Null);
    let outcome = match &fixture.request {
        Some(_) => evaluate(evaluator, &document, &settings),
        None => match validate_settings(evaluator, &settings) {
            Err(message) => Outcome::InvalidSettings(message),
            Ok(()) => Outcome::Response(Box::default(), None),
        },
    };
    let (response, mutated) = match outcome {
        Outcome::InvalidSettings(message) => {
            if expect.settings_valid != Some(false) {
                return Err(format!("settings were refused: {message}"));
            }
            return contains_all(
                "settings message",
                &message,
                &expect.settings_message_contains,
            );
        }
        Outcome::Response(response, mutated) => (response, mutated),
    };
    if expect.settings_valid == Some(false) {
        return Err("settings were accepted, expected them refused".into());
    }
    let Some(_) = fixture.request else {
        return Ok(());
    };
    let shown = serde_json::to_string_pretty(&response).unwrap();
    let fail = |what: String| Err(format!("{what}\nactual response: {shown}"));
    if let Some(allowed) = expect.allowed
        && response.allowed != allowed
    {
        return fail(format!("expected allowed={allowed}"));
    }
    let message = response
        .status
        .as_ref()
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    if let Some(expected) = &expect.message
        && &message != expected
    {
        return fail(format!("expected message:\n{expected}"));
    }
    if let Err(e) = contains_all("message", &message, &expect.message_contains) {
        return fail(e);
    }
    for excluded in &expect.message_excludes {
        if message.contains(excluded.as_str()) {
            return fail(format!("message must not contain {excluded:?}"));
        }
    }
    if let Some(code) = expect.code
        && response.status.as_ref().and_then(|s| s.code) != Some(code)
    {
        return fail(format!("expected status code {code}"));
    }
    let warnings = response.warnings.clone().unwrap_or_default();
    if let Some(expected) = &expect.warnings
        && &warnings != expected
    {
        return fail(format!("expected warnings {expected:#?}"));
    }
    for wanted in &expect.warnings_contain {
        if !warnings.iter().any(|w| w.contains(wanted.as_str())) {
            return fail(format!("expected a warning containing {wanted:?}"));
        }
    }
    if let Some(expected) = &expect.audit_annotations
        && response.audit_annotations.as_ref() != Some(expected)
    {
        return fail(format!("expected audit annotations {expected:?}"));
    }
    let patch = response.decoded_patch()?;
    if let Some(expected) = &expect.patch {
        let actual = serde_json::to_value(&patch).unwrap();
        if &actual != expected {
            return fail(format!("expected patch {expected}"));
        }
    }
    if let Some(expected) = &expect.patched_object {
        match (&patch, expected) {
            (None, Value::Null) => {}
            (Some(_), Value::Null) => return fail("expected no patch".into()),
            (None, _) => return fail("expected a patch".into()),
            (Some(patch), expected) => {
                let mut object = admission_request(&document)
                    .get("object")
                    .cloned()
                    .unwrap_or(Value::Null);
                json_patch::patch(&mut object, patch)
                    .map_err(|e| format!("patch does not apply: {e}"))?;
                if &object != expected {
                    return fail(format!(
                        "patched object differs\nexpected: {}\nactual:   {}",
                        expected, object
                    ));
                }
                // The guest edits the object in place: its key order is the original's.
                let guest = mutated.map(|m| m.to_string()).unwrap_or_default();
                let expected_text = expected.to_string();
                if guest != expected_text {
                    return fail(format!(
                        "mutated object's key order differs\nexpected: {expected}\nactual:   {guest}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn contains_all(what: &str, text: &str, wanted: &[String]) -> Result<(), String> {
    for part in wanted {
        if !text.contains(part.as_str()) {
            return Err(format!("{what} lacks {part:?}\nactual {what}: {text}"));
        }
    }
    Ok(())
}

/// Runs every fixture and fails with all the differences at once.
pub fn run_all(evaluator: &mut dyn FnMut() -> Box<dyn Evaluator>) -> (usize, Vec<String>) {
    let fixtures = load_fixtures(&fixtures_dir());
    let mut failures = Vec::new();
    for (name, fixture) in &fixtures {
        let mut instance = evaluator();
        if let Err(error) = run_fixture(instance.as_mut(), fixture) {
            failures.push(format!(
                "fixture {name} ({}):\n{error}",
                fixture.description
            ));
        }
    }
    (fixtures.len(), failures)
}
