//! docker-socket-policy: a Kubewarden policy that rejects, or removes, hostPath volumes that
//! expose a container runtime's daemon socket.
//!
//! This file is the waPC shell only. The decisions live in small pure modules:
//! [`host_path`] normalizes paths, [`sockets`] says what a path exposes, [`kinds`] where each
//! kind keeps its pod spec, [`exemptions`] which exposures a rule admits, [`exposures`] walks a pod spec, [`decision`] applies the settings
//! and the CREATE/UPDATE rules, [`mutation`] edits the object, [`message`] writes what users read.

mod decision;
mod exemptions;
mod exposures;
mod host_path;
mod json_path;
mod kinds;
mod message;
mod mutation;
mod request;
mod settings;
mod sockets;

use kubewarden_policy_sdk::protocol_version_guest;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest as guest;

// The facade the harness, the property tests and the fuzz targets use.
pub use decision::validate as evaluate;
pub use decision::{Report, ReportRow, report as evaluate_with_report};
pub use host_path::HostPath;
pub use sockets::{Exposure, Runtime, SocketCatalog};

/// The policy's version (`Cargo.toml`, `metadata.yml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function("protocol_version", protocol_version_guest);
    // Not called by the engine: `dsp scan` reads the exposures behind a verdict from here.
    guest::register_function("report", report);
}

fn validate(payload: &[u8]) -> guest::CallResult {
    respond(&decision::validate(payload))
}

fn report(payload: &[u8]) -> guest::CallResult {
    respond(&decision::report(payload))
}

fn validate_settings(payload: &[u8]) -> guest::CallResult {
    respond(&check_settings(payload))
}

/// The answer to `validate_settings`: invalid settings are `valid: false` with a message that
/// names the field, never a guest error.
pub fn check_settings(payload: &[u8]) -> SettingsValidationResponse {
    match settings::Settings::from_json(payload) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    }
}

fn respond<T: serde::Serialize>(response: &T) -> guest::CallResult {
    Ok(serde_json::to_vec(response)?)
}
