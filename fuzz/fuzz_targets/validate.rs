//! `validate` and `validate_settings` on raw bytes: every input gets an answer, a refusal
//! always says why, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let response = docker_socket_policy::evaluate(data);
    if !response.accepted {
        assert!(
            response.message.as_deref().is_some_and(|m| !m.is_empty()),
            "a rejection without a message"
        );
    }
    let settings = docker_socket_policy::check_settings(data);
    assert_eq!(settings.valid, settings.message.is_none());
});
