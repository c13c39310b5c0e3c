//! docker-socket-policy in the browser: the decision core behind wasm-bindgen exports, for the
//! playground. No decision is made here. A request reaches the core as the engine hands it to
//! the Kubewarden module (`testkit::validate_payload`: rebuilt, keys sorted), and the answer is
//! the AdmissionResponse exactly as `dsp run` and `kwctl run` print it. Errors are values
//! (`{"error": {"kind", "message"}}`), never exceptions.

use dsp_scan::{self as scan, Located};
use serde_json::{Value, json};
use testkit::{Native, Outcome};
use wasm_bindgen::prelude::*;

fn error(kind: &str, message: impl Into<String>) -> Value {
    json!({"error": {"kind": kind, "message": message.into()}})
}

/// Settings JSON; empty or `null` means the defaults.
fn read_settings(settings_json: &str) -> Result<Value, Value> {
    if settings_json.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(settings_json) {
        Ok(Value::Null) => Ok(json!({})),
        Ok(settings) => Ok(settings),
        Err(e) => Err(error(
            "bad-settings",
            format!("the settings are not JSON: {e}"),
        )),
    }
}

/// The answer to one AdmissionRequest or AdmissionReview, with the object after the patch.
fn evaluate_value(document: &Value, settings: &Value) -> Value {
    match testkit::evaluate(&mut Native, document, settings) {
        Outcome::RequestRefused(message) => error("request-refused", message),
        Outcome::InvalidSettings(message) => error("invalid-settings", message),
        Outcome::Response(response) => json!(response),
    }
}

/// `evaluate(requestJson, settingsJson)`: the AdmissionResponse JSON for an AdmissionRequest or
/// AdmissionReview (JSON or YAML), as `dsp run` prints it.
#[wasm_bindgen]
pub fn evaluate(request_json: &str, settings_json: &str) -> String {
    let answer = match (read_document(request_json), read_settings(settings_json)) {
        (Ok(document), Ok(settings)) => evaluate_value(&document, &settings),
        (Err(e), _) | (_, Err(e)) => e,
    };
    answer.to_string()
}

/// One AdmissionRequest or AdmissionReview, JSON or YAML.
fn read_document(text: &str) -> Result<Value, Value> {
    serde_json::from_str(text)
        .or_else(|_| scan::yaml_document(text))
        .map_err(|message| error("bad-input", format!("not JSON or YAML: {message}")))
}

/// `scan(manifests, settingsJson)`: the report of `dsp scan --output json` for YAML or JSON
/// manifests (multi-document, Lists).
#[wasm_bindgen]
pub fn scan(manifests: &str, settings_json: &str) -> String {
    let settings = match read_settings(settings_json) {
        Ok(settings) => settings,
        Err(e) => return e.to_string(),
    };
    let answer = scan::read_objects("input", manifests)
        .and_then(|objects| scan::scan(&mut Native, &settings, &objects, |_, _| {}))
        .map_or_else(
            |message| error("bad-input", message),
            |report| json!(report),
        );
    answer.to_string()
}

/// `toYaml(json)`: JSON as YAML that kubectl reads back as the same values (every string a YAML
/// 1.1 reader would take for another type is quoted: `yes`, `0o17`, `12:30`, `*`), in kubectl's
/// layout; the settings and the policy the page shows. Not JSON: the error value.
#[wasm_bindgen(js_name = toYaml)]
pub fn to_yaml(json: &str) -> String {
    match serde_json::from_str::<Value>(json) {
        Ok(value) => dsp_scan::yaml::to_string(&value),
        Err(e) => error("bad-input", format!("not JSON: {e}")).to_string(),
    }
}

/// `validateSettings(settingsJson)`: `{"valid": true}` or `{"valid": false, "message": ...}`,
/// the module's own answer.
#[wasm_bindgen(js_name = validateSettings)]
pub fn validate_settings(settings_json: &str) -> String {
    let answer = match read_settings(settings_json) {
        Ok(settings) => match testkit::validate_settings(&mut Native, &settings) {
            Ok(()) => json!({"valid": true}),
            Err(message) => json!({"valid": false, "message": message}),
        },
        Err(e) => e,
    };
    answer.to_string()
}

/// `review(text, settingsJson)`: what the page shows. An AdmissionRequest or AdmissionReview is
/// evaluated as it is; manifests are evaluated object by object as CREATEs, as the API server
/// would send them. Each object comes with its AdmissionResponse and, when the policy mutates
/// it, the object before and after the patch.
#[wasm_bindgen]
pub fn review(text: &str, settings_json: &str) -> String {
    let settings = match read_settings(settings_json) {
        Ok(settings) => settings,
        Err(e) => return e.to_string(),
    };
    if let Some(message) = testkit::validate_settings(&mut Native, &settings).err() {
        return error("invalid-settings", message).to_string();
    }
    let objects: Vec<Located> = match scan::read_objects("input", text) {
        Ok(objects) => objects,
        Err(message) => return error("bad-input", message).to_string(),
    };
    let rows: Vec<Value> = objects
        .iter()
        .enumerate()
        .map(|(i, located)| {
            let document = &located.object;
            let is_review = document.get("kind") == Some(&json!("AdmissionReview"));
            let request = if is_review {
                document.clone()
            } else {
                scan::create_request(document, &format!("playground-{}", i + 1))
            };
            let request_body = testkit::admission_request(&request);
            let object = request_body.get("object").cloned().unwrap_or(Value::Null);
            let answer = evaluate_value(&request, &settings);
            let after = answer
                .get("patch")
                .and_then(Value::as_str)
                .and_then(|_| {
                    let response: testkit::AdmissionResponse =
                        serde_json::from_value(answer.clone()).ok()?;
                    let patch = response.decoded_patch().ok()??;
                    let mut after = object.clone();
                    testkit::json_patch::patch(&mut after, &patch).ok()?;
                    Some(after)
                });
            let meta = &object["metadata"];
            json!({
                "document": located.document,
                "kind": object["kind"].as_str().or_else(|| request_body["kind"]["kind"].as_str()).unwrap_or_default(),
                "namespace": meta["namespace"].as_str().or_else(|| request_body["namespace"].as_str()).unwrap_or_default(),
                "name": meta["name"].as_str().or_else(|| meta["generateName"].as_str()).unwrap_or_default(),
                "review": is_review,
                "response": answer,
                "before": object,
                "after": after,
            })
        })
        .collect();
    json!({"objects": rows}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers: [{name: c, image: i, volumeMounts: [{name: s, mountPath: /s}]}]\n  volumes: [{name: s, hostPath: {path: /run/docker.sock}}]\n";

    fn parse(text: String) -> Value {
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn review_gives_the_verdict_and_in_mutate_mode_the_object_after_the_patch() {
        let rejected = parse(review(POD, "{}"));
        let row = &rejected["objects"][0];
        assert_eq!(row["response"]["allowed"], false);
        assert_eq!(
            (row["kind"].as_str(), row["name"].as_str()),
            (Some("Pod"), Some("p"))
        );
        assert!(row["after"].is_null());
        let mutated = parse(review(POD, r#"{"mode":"mutate"}"#));
        let row = &mutated["objects"][0];
        assert_eq!(row["response"]["allowed"], true);
        assert_eq!(row["after"]["spec"]["volumes"], json!([]));
        assert_eq!(row["before"]["spec"]["volumes"][0]["name"], "s");
    }

    #[test]
    fn errors_are_values() {
        let bad = parse(evaluate("{", "{}"));
        assert_eq!(bad["error"]["kind"], "bad-input");
        let refused = parse(evaluate(r#"{"uid":"1","operation":"CREATE"}"#, "{}"));
        assert_eq!(refused["error"]["kind"], "request-refused");
        let settings = parse(review(POD, r#"{"mode":"audit"}"#));
        assert_eq!(settings["error"]["kind"], "invalid-settings");
        assert_eq!(parse(validate_settings("{\"mode\":1}"))["valid"], false);
        assert_eq!(parse(validate_settings(""))["valid"], true);
        assert_eq!(
            parse(scan("not: [kubernetes", "{}"))["error"]["kind"],
            "bad-input"
        );
    }

    #[test]
    fn scan_reports_rows_like_dsp_scan() {
        let report = parse(scan(POD, "{}"));
        assert_eq!(report["summary"]["exposed"], 1);
        assert_eq!(report["rows"][0]["volume"], "s");
    }
}
