//! `browser_check ANSWERS.json`: checks what the browser build answered to every fixture
//! (`playground/tests/fixtures.js`, collected by `playground/tests/browser_test.py`) against
//! the fixtures' expectations, with the same comparison as every other runner. Prints one line
//! per failure and a count; exits 1 if any fixture fails or is missing.

use serde_json::Value;
use std::process::ExitCode;
use testkit::{AdmissionResponse, Outcome};

/// The browser's answer as the outcome `testkit::check` judges: `evaluate` gives an
/// AdmissionResponse or an error value, `validateSettings` gives `{valid, message}`.
fn outcome(answer: &Value, settings_only: bool) -> Result<Outcome, String> {
    if let Some(error) = answer.get("error") {
        let message = error["message"].as_str().unwrap_or_default().to_string();
        return match error["kind"].as_str() {
            Some("request-refused") => Ok(Outcome::RequestRefused(message)),
            Some("invalid-settings") => Ok(Outcome::InvalidSettings(message)),
            other => Err(format!("unexpected error kind {other:?}: {message}")),
        };
    }
    if settings_only {
        return Ok(match answer["valid"].as_bool() {
            Some(true) => Outcome::Response(Box::default()),
            _ => Outcome::InvalidSettings(answer["message"].as_str().unwrap_or_default().into()),
        });
    }
    let response: AdmissionResponse = serde_json::from_value(answer.clone())
        .map_err(|e| format!("not an AdmissionResponse: {e}"))?;
    Ok(Outcome::Response(Box::new(response)))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: browser_check ANSWERS.json");
        return ExitCode::from(2);
    };
    let answers: Value = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(answers) => answers,
        Err(error) => {
            eprintln!("browser_check: {path}: {error}");
            return ExitCode::from(2);
        }
    };
    let fixtures = testkit::load_fixtures(&testkit::fixtures_dir());
    let mut failures = 0;
    for (name, fixture) in &fixtures {
        let file = format!("{name}.json");
        let result = match answers["answers"].get(&file) {
            None => Err("no answer from the browser".to_string()),
            Some(answer) => outcome(answer, fixture.request.is_none())
                .and_then(|outcome| testkit::check(fixture, outcome)),
        };
        if let Err(error) = result {
            failures += 1;
            println!("FAILED {name}: {error}");
        }
    }
    println!(
        "browser: {} of {} fixtures as expected; evaluate of a {}-byte Pod: median {:.3} ms over {} runs",
        fixtures.len() - failures,
        fixtures.len(),
        answers["timing"]["requestBytes"],
        answers["timing"]["medianMs"].as_f64().unwrap_or(f64::NAN),
        answers["timing"]["runs"],
    );
    if failures == 0 && !fixtures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
