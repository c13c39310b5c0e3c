//! The request reader checks the JSON it skips by serde_json's grammar: on any bytes, it takes
//! a text for JSON exactly when serde_json does.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let serde = serde_json::from_slice::<serde::de::IgnoredAny>(data);
    assert_eq!(
        docker_socket_policy::fuzzing::json_skips(data),
        serde.is_ok(),
        "serde_json: {serde:?}"
    );
});
