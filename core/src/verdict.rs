//! A verdict, and the answer the engine reads for it (the SDK's `ValidationResponse`).

use crate::message;
use crate::mutation;
use crate::response::ValidationResponse;
use serde_json::value::RawValue;

/// What the policy decided about a request, before it becomes the SDK's response.
#[derive(Debug)]
pub enum Verdict<'a> {
    Accept {
        warnings: Vec<String>,
        /// `volume: reason` of each exposure an exemption admitted, for the audit log.
        exempted: Vec<String>,
    },
    Reject {
        message: String,
        warnings: Vec<String>,
    },
    /// Accept the object (its text) with the removals taken out.
    Mutate {
        object: &'a [u8],
        removals: Vec<mutation::Removal<'a>>,
        warnings: Vec<String>,
        exempted: Vec<String>,
    },
}

impl Verdict<'_> {
    pub fn accept(warnings: Vec<String>) -> Self {
        Verdict::Accept {
            warnings,
            exempted: Vec::new(),
        }
    }

    pub fn reject(message: String, warnings: Vec<String>) -> Self {
        Verdict::Reject { message, warnings }
    }
}

/// The SDK's response to a verdict.
pub fn respond(verdict: Verdict) -> ValidationResponse {
    match verdict {
        Verdict::Accept { warnings, exempted } => {
            let mut response = accept(warnings);
            annotate(&mut response, "exempted-socket-mounts", &exempted);
            response
        }
        Verdict::Reject { message, warnings } => reject(message, warnings),
        Verdict::Mutate {
            object,
            removals,
            warnings,
            exempted,
        } => {
            let mut response = mutate(object, &removals, warnings);
            annotate(&mut response, "exempted-socket-mounts", &exempted);
            response
        }
    }
}

/// Adds an audit annotation listing `values`, if there are any.
fn annotate(response: &mut ValidationResponse, key: &str, values: &[String]) {
    if !values.is_empty() {
        response
            .audit_annotations
            .get_or_insert_with(Vec::new)
            .push((key.to_string(), values.join(", ")));
    }
}

/// Removes `removals` from the request's object (its text) and answers with the mutated
/// object.
fn mutate(
    object: &[u8],
    removals: &[mutation::Removal],
    mut warnings: Vec<String>,
) -> ValidationResponse {
    let text = match mutation::apply(object, removals) {
        Ok(text) => text,
        Err(error) => {
            return reject(
                format!("cannot remove the socket mounts: {error}"),
                warnings,
            );
        }
    };
    let object = match String::from_utf8(text) {
        Ok(object) => object,
        Err(_) => {
            return reject(
                "cannot remove the socket mounts: the object is not UTF-8".to_string(),
                warnings,
            );
        }
    };
    let removals = removals.iter();
    let removed: Vec<String> = removals.clone().map(message::removal_audit).collect();
    warnings.splice(0..0, removals.map(|r| message::removal(r, "removed")));
    let mut response = accept(warnings);
    response.mutated_object = match RawValue::from_string(object) {
        Ok(object) => Some(object),
        Err(error) => {
            return reject(
                format!("cannot remove the socket mounts: the result is not JSON: {error}"),
                Vec::new(),
            );
        }
    };
    annotate(&mut response, "removed-socket-mounts", &removed);
    response
}

pub fn accept(warnings: Vec<String>) -> ValidationResponse {
    ValidationResponse {
        accepted: true,
        message: None,
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
    }
}

pub fn reject(message: String, warnings: Vec<String>) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(message),
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
    }
}
