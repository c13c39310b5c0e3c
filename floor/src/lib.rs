//! The benchmark's floor: a waPC guest that only reads the `validate` payload once with
//! `serde_json` (into `IgnoredAny`, building nothing) and accepts. No policy can be cheaper
//! than reading its request once, so policy time / floor time is the policy's own overhead.
//!
//! Built with the feature `reject` (`floor-rejecting.wasm`), it reads the request the same way
//! and rejects with the message of its setting `rejectWith`: through policy-server a rejection
//! costs the engine more than an acceptance (the message travels back in the AdmissionReview),
//! so a rejecting policy is compared with a floor that rejects alike.

use wapc_guest::prelude::*;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    // What kwctl annotate and policy-server ask a Kubewarden waPC policy.
    register_function("protocol_version", |_: &[u8]| Ok(br#""v1""#.to_vec()));
    // The probe of the harness's tests: answers with the payload exactly as it arrived.
    register_function("probe", |payload: &[u8]| Ok(payload.to_vec()));
}

#[cfg(not(feature = "reject"))]
fn validate(payload: &[u8]) -> CallResult {
    match serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
        Ok(_) => Ok(br#"{"accepted":true}"#.to_vec()),
        Err(error) => Ok(format!(r#"{{"accepted":false,"message":"{error}"}}"#).into_bytes()),
    }
}

#[cfg(feature = "reject")]
fn validate(payload: &[u8]) -> CallResult {
    use serde_json::value::RawValue;
    #[derive(serde::Deserialize)]
    struct Payload<'a> {
        #[serde(rename = "request")]
        _request: serde::de::IgnoredAny,
        #[serde(borrow)]
        settings: Settings<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Settings<'a> {
        /// The message as JSON, copied into the answer as it is.
        #[serde(borrow, rename = "rejectWith")]
        reject_with: &'a RawValue,
    }
    match serde_json::from_slice::<Payload>(payload) {
        Ok(payload) => Ok(format!(
            r#"{{"accepted":false,"message":{}}}"#,
            payload.settings.reject_with
        )
        .into_bytes()),
        Err(error) => Ok(format!(r#"{{"accepted":false,"message":"{error}"}}"#).into_bytes()),
    }
}

fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}
