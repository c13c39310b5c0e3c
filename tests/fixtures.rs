//! Every fixture of `e2e-tests/fixtures/` through the policy's native code. The Wasm harness
//! runs the same files through the built module.

use testkit::Evaluator;

struct Native;

impl Evaluator for Native {
    fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        match operation {
            "validate" => Ok(serde_json::to_vec(&docker_socket_policy::evaluate(payload)).unwrap()),
            "validate_settings" => {
                Ok(serde_json::to_vec(&docker_socket_policy::check_settings(payload)).unwrap())
            }
            other => Err(format!("no guest function {other}")),
        }
    }
}

#[test]
fn every_fixture_natively() {
    let (count, failures) = testkit::run_all(&mut || Box::new(Native));
    assert!(
        count >= 80,
        "expected the full corpus, found {count} fixtures"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} fixtures failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
