//! What the module receives is what policy-evaluator hands it: the request rebuilt (unknown
//! fields dropped, nulls left out) and every object's keys sorted, whatever order the request
//! file used. Checked through the floor module's `probe`, which answers with the payload as it
//! arrived in the guest, so no serde_json feature unified into this workspace can hide a
//! difference. Build it first: `make floor.wasm`.

use harness::{Host, Module};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};

fn probe(request: &Value) -> Vec<u8> {
    let path = harness::floor_path();
    let module =
        Module::load(&path).unwrap_or_else(|e| panic!("{e} (build it with `make floor.wasm`)"));
    let payload = testkit::validate_payload(request, &json!({"mode": "reject"})).unwrap();
    module.instance().unwrap().call("probe", &payload).unwrap()
}

/// The keys of every object in `text`, in the order they appear, checked sorted level by level.
fn assert_sorted(value: &Value, at: &str) {
    match value {
        Value::Object(map) => {
            let keys: Vec<&String> = map.keys().collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "keys of {at} are not sorted");
            for (key, child) in map {
                assert_sorted(child, &format!("{at}.{key}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_sorted(item, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn the_module_receives_every_key_sorted() {
    let request = json!({
        "uid": "u",
        "userInfo": {"username": "alice", "futureField": 1},
        "operation": "CREATE",
        "kind": {"kind": "Pod", "version": "v1", "group": ""},
        "resource": {"resource": "pods", "version": "v1", "group": ""},
        "namespace": "default",
        "unknownRequestField": true,
        "oldObject": null,
        "object": {
            "spec": {
                "volumes": [{"name": "s", "hostPath": {"path": "/run/docker.sock"}}],
                "containers": [{"name": "a", "image": "i", "volumeMounts": [{"name": "s", "mountPath": "/s"}]}],
            },
            "metadata": {"name": "p"},
            "kind": "Pod",
            "apiVersion": "v1",
        },
    });
    let received = probe(&request);
    let text = String::from_utf8(received.clone()).unwrap();
    let containers = text.find("\"containers\"").unwrap();
    let volumes = text.find("\"volumes\"").unwrap();
    assert!(containers < volumes, "volumes came first: {text}");
    assert!(text.find("\"image\"").unwrap() < text.find("\"name\":\"a\"").unwrap());
    // This test crate's serde_json keeps the order it reads.
    let value: Value = serde_json::from_slice(&received).unwrap();
    assert_sorted(&value, "payload");
    let keys: Vec<&String> = value["request"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "kind",
            "namespace",
            "object",
            "operation",
            "resource",
            "uid",
            "userInfo"
        ],
        "unknown fields dropped, null optionals left out"
    );
    assert_eq!(value["request"]["userInfo"], json!({"username": "alice"}));
}

#[test]
fn a_request_the_engine_cannot_build_reaches_no_module() {
    let error = testkit::validate_payload(&json!({"uid": "u", "operation": "CREATE"}), &json!({}))
        .unwrap_err();
    assert_eq!(
        error,
        "cannot build AdmissionRequest object from given input: missing field `kind`"
    );
}

/// A call of `validate` on `payload` interrupted while the epoch advances, as policy-server's
/// timer advances it, within 100 calls: the error.
fn interrupted_while_the_epoch_advances(module: &Module, payload: &[u8]) -> Option<String> {
    let instance = module.instance().unwrap();
    instance
        .call("validate", payload)
        .expect("no deadline passes while the epoch stands still");
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                module.engine().increment_epoch();
                std::thread::yield_now();
            }
        });
        let error = (0..100).find_map(|_| instance.call("validate", payload).err());
        stop.store(true, Ordering::Relaxed);
        error
    })
}

/// The module runs with the checks policy-server's timeout compiles in (a call that outlives
/// two epochs is interrupted), and, hosted as kwctl hosts it, without them. Without the checks
/// the benchmark would time code policy-server never runs: they cost this module more than
/// the floor.
#[test]
fn the_module_runs_with_the_epoch_checks_of_its_host() {
    let containers: Vec<Value> = (0..2_000)
        .map(|i| {
            let env: Vec<Value> = (0..20)
                .map(|j| json!({"name": format!("VARIABLE_{j}"), "value": "x".repeat(20)}))
                .collect();
            json!({"name": format!("c{i}"), "image": "busybox", "env": env})
        })
        .collect();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"},
                     "spec": {"containers": containers}});
    let request = dsp_scan::create_request(&pod, "u");
    let payload = testkit::validate_payload(&request, &json!({})).unwrap();
    assert!(payload.len() > 1_000_000, "{} bytes", payload.len());
    let path = harness::policy_path();

    let policy_server = Module::load(&path).unwrap();
    let error = interrupted_while_the_epoch_advances(&policy_server, &payload)
        .expect("a call that outlives two epochs is interrupted");
    assert!(error.contains("interrupt"), "{error}");

    let kwctl = Module::load_for(&path, Host::Kwctl).unwrap();
    assert_eq!(interrupted_while_the_epoch_advances(&kwctl, &payload), None);
}
