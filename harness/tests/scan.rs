//! `e2e-tests/scan/*.expected.json`: inputs, settings, and the expected report and exit status
//! of `dsp scan` (through the Wasm module).

use harness::scan::{self, ScanReport};
use harness::{Module, Native};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    inputs: Vec<String>,
    settings: Value,
    exit: u8,
    #[serde(default)]
    report: Option<ScanReport>,
    #[serde(default)]
    error: Option<String>,
}

#[test]
fn every_scan_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e-tests/scan");
    let module = Module::load(&harness::policy_path()).expect("build it with `make policy.wasm`");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(case) = name.strip_suffix(".expected.json") else {
            continue;
        };
        let expected: Case = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut objects = Vec::new();
        let mut error = None;
        for input in &expected.inputs {
            let text = std::fs::read_to_string(dir.join(input)).unwrap();
            match scan::read_objects(input, &text) {
                Ok(mut read) => objects.append(&mut read),
                Err(message) => error = Some(message),
            }
        }
        let outcome = match error {
            Some(message) => Err(message),
            None => {
                let wasm = scan::scan(
                    &mut module.instance().unwrap(),
                    &expected.settings,
                    &objects,
                    |_, _| {},
                );
                // `dsp scan` without --module runs the policy compiled into it: same report.
                let native = scan::scan(&mut Native, &expected.settings, &objects, |_, _| {});
                assert_eq!(
                    wasm, native,
                    "{case}: the module and the native core disagree"
                );
                wasm
            }
        };
        match (outcome, &expected.report, &expected.error) {
            (Ok(report), Some(want), None) => {
                assert_eq!(&report, want, "{case}: {}", expected.description);
                let exit = if report.summary.exposed > 0 { 1 } else { 0 };
                assert_eq!(exit, expected.exit, "{case}: exit status");
            }
            (Err(message), None, Some(want)) => {
                assert_eq!(&message, want, "{case}: {}", expected.description);
                assert_eq!(expected.exit, 2, "{case}: bad input exits 2");
            }
            (outcome, _, _) => panic!("{case}: unexpected outcome {outcome:?}"),
        }
        count += 1;
    }
    assert!(count >= 4, "found {count} scan cases");
}

#[test]
fn owned_pods_fold_into_their_owner_once() {
    let module = Module::load(&harness::policy_path()).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e-tests/scan");
    let text = std::fs::read_to_string(dir.join("cluster-dump.json")).unwrap();
    let objects = scan::read_objects("cluster-dump.json", &text).unwrap();
    let report = scan::scan(
        &mut module.instance().unwrap(),
        &serde_json::json!({}),
        &objects,
        |_, _| {},
    )
    .unwrap();
    let daemonset_rows = report
        .rows
        .iter()
        .filter(|r| r.name == "node-agent")
        .count();
    assert_eq!(
        daemonset_rows, 2,
        "one row per volume of the DaemonSet, not per pod"
    );
    assert!(
        report
            .rows
            .iter()
            .all(|r| r.kind != "ReplicaSet" && !r.name.starts_with("web-"))
    );
    assert!(
        report
            .rows
            .iter()
            .any(|r| r.name == "log-collector-node-a" && r.kind == "Pod")
    );
}
