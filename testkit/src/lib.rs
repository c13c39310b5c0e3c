//! The behaviour corpus of `e2e-tests/fixtures/`, and the engine's side of a policy call.
//!
//! A fixture is one JSON file: `description`, `settings`, `request` (an AdmissionRequest or a
//! whole AdmissionReview) and `expect`. The same files drive the native tests of the policy
//! crate, the Wasm harness tests and the bats suite, through [`run_fixture`].
//!
//! [`admission_response`] turns a policy's `ValidationResponse` into the AdmissionResponse that
//! policy-server sends and `kwctl run` prints (a mutated object becomes a base64 JSON Patch).

pub use json_patch;

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

/// The decision core called directly, with the payloads the module would get: what `dsp` runs
/// without a module, and what the browser build runs.
pub struct Native;

impl Evaluator for Native {
    fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        use docker_socket_policy_core as core;
        match operation {
            "validate" => serde_json::to_vec(&core::evaluate(payload)),
            "validate_settings" => serde_json::to_vec(&core::check_settings(payload)),
            "report" => serde_json::to_vec(&core::evaluate_with_report(payload)),
            other => return Err(format!("the policy has no function {other:?}")),
        }
        .map_err(|error| format!("cannot write the answer: {error}"))
    }
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

/// Every object's keys sorted, recursively: the order in which the engine hands objects to the
/// module (policy-evaluator's `serde_json::Value` has no `preserve_order`), whatever order the
/// request was written in. Built explicitly, so it holds whatever serde_json features the
/// workspace unifies.
pub fn engine_order(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key.clone(), engine_order(value)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(engine_order).collect()),
        other => other.clone(),
    }
}

#[derive(Serialize, Deserialize)]
struct GroupVersionKind {
    group: String,
    version: String,
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct GroupVersionResource {
    group: String,
    version: String,
    resource: String,
}

#[derive(Serialize, Deserialize)]
struct UserInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extra: Option<BTreeMap<String, Vec<String>>>,
}

/// policy-evaluator's AdmissionRequest (`admission_request.rs`): the required fields, the
/// optional ones left out when absent or `null`, every other field dropped.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EngineAdmissionRequest {
    uid: String,
    kind: GroupVersionKind,
    resource: GroupVersionResource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_kind: Option<GroupVersionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_resource: Option<GroupVersionResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_sub_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    operation: String,
    user_info: UserInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    old_object: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Value>,
}

/// The request as the engine rebuilds it, or kwctl's refusal when it cannot
/// (`cannot build AdmissionRequest object from given input: missing field `kind``).
pub fn engine_request(request: &Value) -> Result<Value, String> {
    let request = EngineAdmissionRequest::deserialize(request).map_err(|error| {
        format!("cannot build AdmissionRequest object from given input: {error}")
    })?;
    Ok(engine_order(
        &serde_json::to_value(request).expect("a request serializes"),
    ))
}

/// The `validate` payload exactly as policy-evaluator hands it to the module: the rebuilt
/// request and the settings, every key sorted.
pub fn validate_payload(request: &Value, settings: &Value) -> Result<Vec<u8>, String> {
    let payload = serde_json::json!({
        "request": engine_request(request)?,
        "settings": engine_order(settings),
    });
    Ok(serde_json::to_vec(&engine_order(&payload)).expect("a payload serializes"))
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
    /// The engine cannot build an AdmissionRequest from the input: no module runs (kwctl exits 1).
    RequestRefused(String),
    /// `validate_settings` refused the settings (or failed).
    InvalidSettings(String),
    /// The response the engine would send.
    Response(Box<AdmissionResponse>),
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

/// Evaluates `document` (AdmissionRequest or AdmissionReview) as kwctl does: builds the
/// request, validates `settings`, then calls `validate`.
pub fn evaluate(evaluator: &mut dyn Evaluator, document: &Value, settings: &Value) -> Outcome {
    let request = admission_request(document);
    let payload = match validate_payload(request, settings) {
        Ok(payload) => payload,
        Err(message) => return Outcome::RequestRefused(message),
    };
    if let Err(message) = validate_settings(evaluator, settings) {
        return Outcome::InvalidSettings(message);
    }
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match evaluator.call("validate", &payload) {
        Err(error) => Outcome::Response(Box::new(AdmissionResponse::internal_error(uid, &error))),
        Ok(bytes) => match serde_json::from_slice::<ValidationResponse>(&bytes) {
            Ok(response) => Outcome::Response(Box::new(admission_response(request, &response))),
            Err(error) => Outcome::Response(Box::new(AdmissionResponse::internal_error(
                uid,
                &format!("unreadable validate answer: {error}"),
            ))),
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

/// What a fixture expects of a response: the verdict, the message (whole or its parts), and
/// the warnings, audit annotations and patch, where absent means none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `false`: `validate_settings` must refuse the settings.
    #[serde(default)]
    pub settings_valid: Option<bool>,
    /// The engine must refuse to build the request, with a message containing this (kwctl
    /// exits 1 before any module runs).
    #[serde(default)]
    pub request_refused: Option<String>,
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
    check(fixture, outcome(evaluator, fixture))
}

/// What `evaluator` answers to a fixture: its request evaluated as kwctl does, or, for a
/// settings-only fixture, its settings validated.
pub fn outcome(evaluator: &mut dyn Evaluator, fixture: &Fixture) -> Outcome {
    let settings = settings_or_empty(&fixture.settings);
    match &fixture.request {
        Some(document) => evaluate(evaluator, document, &settings),
        None => match validate_settings(evaluator, &settings) {
            Err(message) => Outcome::InvalidSettings(message),
            Ok(()) => Outcome::Response(Box::default()),
        },
    }
}

/// Checks an outcome, from any runner, against the fixture's expectation.
pub fn check(fixture: &Fixture, outcome: Outcome) -> Result<(), String> {
    let expect = &fixture.expect;
    let document = fixture.request.clone().unwrap_or(Value::Null);
    let response = match outcome {
        Outcome::RequestRefused(message) => {
            return match &expect.request_refused {
                Some(wanted) => {
                    contains_all("request refusal", &message, std::slice::from_ref(wanted))
                }
                None => Err(format!("the engine refused the request: {message}")),
            };
        }
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
        Outcome::Response(response) => response,
    };
    if expect.settings_valid == Some(false) {
        return Err("settings were accepted, expected them refused".into());
    }
    if expect.request_refused.is_some() {
        return Err("the engine built the request, expected it refused".into());
    }
    let Some(_) = fixture.request else {
        return Ok(());
    };
    let shown = serde_json::to_string_pretty(&response).unwrap();
    let fail = |what: String| Err(format!("{what}\nactual response: {shown}"));
    let Some(allowed) = expect.allowed else {
        return fail("the fixture does not say whether the request is allowed".into());
    };
    if response.allowed != allowed {
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
    if expect.message.is_none() && expect.message_contains.is_empty() && !message.is_empty() {
        return fail("expected no message".into());
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
    if expect.warnings.is_none() && expect.warnings_contain.is_empty() && !warnings.is_empty() {
        return fail("expected no warnings".into());
    }
    if response.audit_annotations.as_ref() != expect.audit_annotations.as_ref() {
        return fail(format!(
            "expected audit annotations {:?}",
            expect.audit_annotations
        ));
    }
    let patch = response.decoded_patch()?;
    if let Some(expected) = &expect.patch {
        let actual = serde_json::to_value(&patch).unwrap();
        if &actual != expected {
            return fail(format!("expected patch {expected}"));
        }
    }
    if expect.patch.is_none() && expect.patched_object.is_none() && patch.is_some() {
        return fail("expected no patch".into());
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
