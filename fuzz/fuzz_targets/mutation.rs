//! Mutate mode on any object: what it admits after mutating is admitted again unchanged, and a
//! mutated object keeps no mount of a removed volume.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn payload(kind: &str, group: &str, object: &Value, settings: &Value) -> Vec<u8> {
    let request = json!({
        "uid": "fuzz",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "operation": "CREATE",
        "object": object,
    });
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap()
}

fn mounted_volumes(spec: &Value) -> Vec<String> {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| spec[list].as_array().into_iter().flatten())
        .flat_map(|c| c["volumeMounts"].as_array().into_iter().flatten())
        .filter_map(|m| m["name"].as_str().map(str::to_string))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(object) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let settings = json!({"mode": "mutate", "directoryMounts": "ignore"});
    for (kind, group) in [("Pod", ""), ("Deployment", "apps")] {
        let first = docker_socket_policy::evaluate(&payload(kind, group, &object, &settings));
        let Some(mutated) = first.mutated_object else {
            continue;
        };
        let mutated: Value = serde_json::from_str(mutated.get()).expect("the mutated object is JSON");
        let again = docker_socket_policy::evaluate(&payload(kind, group, &mutated, &settings));
        assert!(again.accepted, "the mutated object is refused: {:?}", again.message);
        assert!(again.mutated_object.is_none(), "a second mutation: {mutated}");
        let spec = if kind == "Pod" {
            &mutated["spec"]
        } else {
            &mutated["spec"]["template"]["spec"]
        };
        let original = if kind == "Pod" {
            &object["spec"]
        } else {
            &object["spec"]["template"]["spec"]
        };
        let before = mounted_volumes(original);
        for name in mounted_volumes(spec) {
            assert!(before.contains(&name), "a mount appeared: {name}");
        }
    }
});
