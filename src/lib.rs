//! docker-socket-policy: a Kubewarden policy that rejects, or removes, hostPath volumes that
//! expose a container runtime's daemon socket.
//!
//! This crate is the waPC shell only: it registers the guest functions the engine calls and
//! serializes the answers of the decision core (`core/`, the crate
//! `docker-socket-policy-core`), which the browser build and the native tools share.

use kubewarden_policy_sdk::wapc_guest as guest;

// The core's facade, for the property tests and the fuzz targets.
pub use docker_socket_policy_core::*;

/// The policy's version (`Cargo.toml`, `metadata.yml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", |payload| respond(&evaluate(payload)));
    guest::register_function("validate_settings", |payload| {
        respond(&check_settings(payload))
    });
    guest::register_function("protocol_version", protocol_version);
    // Not called by the engine: `dsp scan` reads the exposures behind a verdict from here.
    guest::register_function("report", |payload| respond(&evaluate_with_report(payload)));
}

fn respond(response: &impl serde::Serialize) -> guest::CallResult {
    Ok(serde_json::to_vec(response)?)
}

/// The protocol version the policy speaks, as the SDK's `protocol_version_guest` answers it (a
/// test checks that they agree). Written here because that function brings serde_json's writer
/// into the module, 9.5 KB of it, for four bytes.
fn protocol_version(_payload: &[u8]) -> guest::CallResult {
    Ok(br#""v1""#.to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers_the_protocol_version_as_the_sdk_does() {
        assert_eq!(
            super::protocol_version(b"").unwrap(),
            kubewarden_policy_sdk::protocol_version_guest(b"").unwrap()
        );
    }
}
