//! No input makes the module trap or return a guest error: malformed JSON, wrong types, deep
//! nesting, huge objects. Each gets a rejection that says what could not be read.

use harness::Module;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        Module::load(&harness::policy_path()).expect("build it with `make policy.wasm`")
    })
}

fn validate(payload: &[u8]) -> Value {
    let answer = module()
        .instance()
        .unwrap()
        .call("validate", payload)
        .unwrap_or_else(|e| panic!("the module failed instead of answering: {e}"));
    serde_json::from_slice(&answer).unwrap()
}

fn rejected_with(payload: &[u8], message_start: &str) {
    let answer = validate(payload);
    assert_eq!(answer["accepted"], false, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(message.starts_with(message_start), "{message}");
}

#[test]
fn malformed_payloads_are_rejected_with_a_message() {
    rejected_with(b"", "cannot read the request: EOF while parsing");
    rejected_with(
        b"{\"request\":",
        "cannot read the request: request: EOF while parsing",
    );
    rejected_with(b"\xff\xfe", "cannot read the request: expected value");
    rejected_with(
        b"[1,2]",
        "cannot read the request: invalid type: sequence, expected a validate payload",
    );
    rejected_with(
        b"{\"settings\":{}}",
        "cannot read the request: missing field `request`",
    );
    rejected_with(
        br#"{"request":{"kind":"Pod"}}"#,
        "cannot read the request: request.kind: invalid type: string \"Pod\"",
    );
    rejected_with(
        br#"{"request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{}},"settings":{"mode":"x"}}"#,
        "invalid settings: mode: unknown variant `x`",
    );
}

#[test]
fn deep_nesting_is_answered_not_a_stack_overflow() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // Fields the policy does not read are skipped without recursion: no exposure, accepted.
    let skipped = format!(
        r#"{{"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"spec":{{"x":{}}}}}}}}}"#,
        nested(100_000)
    );
    assert_eq!(validate(skipped.as_bytes())["accepted"], true);
    // Mutate mode edits the object as JSON text: the nesting is copied, not read (the engine,
    // which reads the request with serde_json, never sends nesting this deep).
    let mutated = format!(
        r#"{{"settings":{{"mode":"mutate"}},"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE","object":{{"spec":{{"x":{},"volumes":[{{"name":"s","hostPath":{{"path":"/run/docker.sock"}}}}]}}}}}}}}"#,
        nested(100_000)
    );
    let answer = module()
        .instance()
        .unwrap()
        .call("validate", mutated.as_bytes())
        .unwrap_or_else(|e| panic!("the module failed instead of answering: {e}"));
    let answer = String::from_utf8(answer).unwrap();
    let object = format!(
        r#""mutated_object":{{"spec":{{"x":{},"volumes":[]}}}}"#,
        nested(100_000)
    );
    assert!(
        answer.starts_with(r#"{"accepted":true,"#),
        "{}",
        &answer[..200]
    );
    assert!(answer.contains(&object), "{}", &answer[..200]);
}

/// A 3 MB Pod: 2,000 containers with env and mounts, 1,000 volumes, one of them the socket.
#[test]
fn huge_objects_are_evaluated() {
    let volumes: Vec<Value> = (0..1000)
        .map(|i| match i {
            777 => json!({"name": "v777", "hostPath": {"path": "/run/docker.sock"}}),
            i => json!({"name": format!("v{i}"), "emptyDir": {}}),
        })
        .collect();
    let containers: Vec<Value> = (0..2000)
        .map(|i| {
            json!({
                "name": format!("c{i}"),
                "image": "registry.example.com/app:1",
                "env": (0..20).map(|j| json!({"name": format!("E{j}"), "value": "x".repeat(40)})).collect::<Vec<_>>(),
                "volumeMounts": [{"name": format!("v{}", i % 1000), "mountPath": "/data"}],
            })
        })
        .collect();
    let payload = json!({
        "settings": {},
        "request": {
            "uid": "huge",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "CREATE",
            "object": {"metadata": {"name": "huge"}, "spec": {"containers": containers, "volumes": volumes}},
        }
    });
    let bytes = serde_json::to_vec(&payload).unwrap();
    assert!(bytes.len() > 2_500_000, "{} bytes", bytes.len());
    let answer = validate(&bytes);
    assert_eq!(answer["accepted"], false);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("volume \"v777\" (hostPath /run/docker.sock) is the Docker daemon socket /run/docker.sock, mounted by containers c777, c1777."),
        "{message}"
    );
    assert_eq!(message.lines().count(), 2, "{message}");
}

#[test]
fn invalid_settings_are_an_answer_not_an_error() {
    let instance = module().instance().unwrap();
    for (settings, expected) in [
        (&b"not json"[..], "expected ident"),
        (
            b"{\"runtimes\":[\"rkt\"]}",
            "runtimes[0]: unknown variant `rkt`",
        ),
        (
            b"42",
            "invalid type: integer `42`, expected a map of settings",
        ),
    ] {
        let answer: Value =
            serde_json::from_slice(&instance.call("validate_settings", settings).unwrap()).unwrap();
        assert_eq!(answer["valid"], false, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(expected),
            "{answer}"
        );
    }
}
