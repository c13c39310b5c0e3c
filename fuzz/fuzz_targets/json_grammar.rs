//! The request reader checks the JSON it skips by serde_json's grammar: on any bytes, it takes
//! a text for JSON exactly when serde_json does, and refuses it in serde_json's words, at its
//! line and column (after the path of the field, which serde_json does not give).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let serde = serde_json::from_slice::<serde::de::IgnoredAny>(data);
    let ours = docker_socket_policy::fuzzing::json_skips(data);
    assert_eq!(ours.is_ok(), serde.is_ok(), "ours: {ours:?}, serde_json: {serde:?}");
    if let (Err(ours), Err(serde)) = (ours, serde) {
        let serde = serde.to_string();
        assert!(ours.ends_with(&serde), "ours: {ours}, serde_json: {serde}");
    }
});
