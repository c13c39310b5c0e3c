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
//! [`request`] is the typed view of the request, read by [`json`] (which checks what it skips
//! by serde_json's grammar and words what is not JSON as serde_json does) and [`fields`];
//! [`json_text`] edits and compares whole objects as their text, and [`response`] writes the
//! answers. The core depends on no crate: the module carries no general JSON library.

mod decision;
mod exemptions;
mod exposures;
mod fields;
mod host_path;
mod json;
mod json_path;
mod json_text;
mod kinds;
pub mod kube_yaml;
mod mentions;
mod message;
mod mutation;
mod patches;
mod read;
mod request;
mod response;
mod settings;
mod sockets;

pub use decision::validate as evaluate;
pub use decision::{Report, ReportRow, report as evaluate_with_report};
pub use host_path::HostPath;
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

    /// Whether the request reader takes `text` for one JSON value, as it checks what it skips,
    /// and if not, the message it refuses it with.
    pub fn json_skips(text: &[u8]) -> Result<(), String> {
        crate::json::from_slice::<crate::json::Present>(text)
            .map(|_| ())
            .map_err(|error| crate::json::describe(text, &error))
    }
}
