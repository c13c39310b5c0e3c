//! Every fixture of `e2e-tests/fixtures/` through the decision core, natively, with the payloads
//! the engine hands the module. The Wasm harness runs the same files through the built module.

#[test]
fn every_fixture_natively() {
    let (count, failures) = testkit::run_all(&mut || Box::new(testkit::Native));
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
