//! docker-socket-policy's decision core: which hostPath volumes expose a container runtime's
//! daemon socket, and what admission does about it. Pure Rust without I/O, without the
//! Kubewarden SDK or waPC, so that the Kubewarden module (the crate at the repository root),
//! the browser build (`web/`) and the native tools (`harness/`) are thin shells around the same
//! code.
//!
//! The decisions live in small modules: [`host_path`] normalizes paths, [`sockets`] says what a
//! path exposes, [`kinds`] where each kind keeps its pod spec, [`exemptions`] which exposures a
//! rule admits, [`exposures`] walks a pod spec, [`decision`] applies the settings and the
//! CREATE/UPDATE rules, [`mutation`] edits the object, [`message`] writes what users read.
//! [`request`] is the typed view of the request, read through serde derives over borrowed data
//! ([`read`] words errors with the field's path); [`json_text`] edits and compares whole
//! objects as their text, and [`response`] holds the answers the shells serialize.

mod decision;
mod exemptions;
mod exposures;
mod host_path;
mod json_text;
mod judge;
mod kinds;
pub mod kube_yaml;
mod message;
mod mutation;
mod patches;
mod patterns;
mod payload;
mod read;
mod report;
mod request;
mod response;
mod settings;
mod sites;
mod sockets;
mod verdict;

pub use decision::validate as evaluate;
pub use host_path::HostPath;
pub use report::{ExposureKind, Report, ReportRow, Severity, report as evaluate_with_report};
pub use response::{SettingsValidationResponse, ValidationResponse};
pub use sockets::{Exposure, Runtime, SocketCatalog};

/// The answer to `validate_settings`: invalid settings are `valid: false` with a message that
/// names the field, never an error.
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

/// What the fuzz targets reach past the facade (`cargo fuzz` builds with `--cfg fuzzing`).
#[cfg(fuzzing)]
pub mod fuzzing {
    pub use crate::kube_yaml::{Value, documents, parse};
}
