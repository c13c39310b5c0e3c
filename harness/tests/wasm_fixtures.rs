//! Every fixture of `e2e-tests/fixtures/` through the release Wasm module, hosted as the
//! Kubewarden engine hosts it. Build the module first: `make policy.wasm`.

use harness::Module;
use std::sync::OnceLock;

fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        let path = harness::policy_path();
        Module::load(&path).unwrap_or_else(|e| panic!("{e} (build it with `make policy.wasm`)"))
    })
}

#[test]
fn every_fixture_through_the_wasm_module() {
    let module = module();
    let (count, failures) =
        testkit::run_all(&mut || Box::new(module.instance().expect("the module instantiates")));
    assert!(
        count >= 80,
        "expected the full corpus, found {count} fixtures"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} fixtures failed through the Wasm module:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_module_exports_the_protocol_version() {
    let instance = module().instance().unwrap();
    assert_eq!(instance.call("protocol_version", b"").unwrap(), b"\"v1\"");
}

#[test]
fn unknown_guest_functions_are_errors_not_traps() {
    let instance = module().instance().unwrap();
    let error = instance.call("no_such_function", b"{}").unwrap_err();
    assert!(
        error.contains("no_such_function") || error.contains("not found"),
        "{error}"
    );
    // The same instance still answers afterwards.
    assert!(instance.call("validate_settings", b"{}").is_ok());
}
