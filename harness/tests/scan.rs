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
    /// `dsp scan --namespace`.
    #[serde(default)]
    namespace: Option<String>,
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
                let namespace = expected.namespace.as_deref();
                let wasm = scan::scan_in(
                    &mut module.instance().unwrap(),
                    &expected.settings,
                    &objects,
                    namespace,
                    |_, _| {},
                );
                // `dsp scan` without --module runs the policy compiled into it: same report.
                let native = scan::scan_in(
                    &mut Native,
                    &expected.settings,
                    &objects,
                    namespace,
                    |_, _| {},
                );
                assert_eq!(
                    wasm, native,
                    "{case}: the module and the native core disagree"
                );
                // `dsp scan` reads as `read_input` does (a JSON List's items kept as text) and
                // evaluates on a thread per core, each with its own policy: the same report as
                // one scanner given the objects read whole, in order.
                let parallel = scan::scan_parallel(
                    3,
                    &|| Ok(Box::new(Native)),
                    &expected.settings,
                    namespace,
                    &mut |each| {
                        for input in &expected.inputs {
                            let path = dir.join(input).to_string_lossy().into_owned();
                            scan::read_input(&path, &mut |mut item| {
                                item.rename_source(input);
                                each(item)
                            })?;
                        }
                        Ok(())
                    },
                );
                assert_eq!(
                    parallel, native,
                    "{case}: the parallel scan and one scanner disagree"
                );
                // The same objects as one JSON List, as `kubectl get -o json` would print
                // them: its items are judged from their text, and report the same.
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List",
                    "items": objects.iter().map(|o| &o.object).collect::<Vec<_>>()});
                let list = serde_json::to_vec(&list).unwrap();
                let from_text = scan::scan_parallel(
                    2,
                    &|| Ok(Box::new(Native)),
                    &expected.settings,
                    namespace,
                    &mut |each| {
                        let read = scan::read_json_list(
                            &expected.inputs[0],
                            &list[..],
                            &mut |mut item| {
                                let source = objects[0].source.clone();
                                item.rename_source(&source);
                                each(item)
                            },
                        )?;
                        assert!(read || objects.is_empty(), "{case}: not read as a List");
                        Ok(())
                    },
                );
                // Where an object was read differs (one document now): compare the rest.
                let judged = |report: &ScanReport| {
                    let rows: Vec<_> = (report.rows.iter())
                        .map(|row| {
                            (row.verdict == "error")
                                .then(|| row.name.clone())
                                .ok_or(row)
                        })
                        .collect();
                    let left: Vec<_> = (report.not_evaluated.iter())
                        .map(|n| (&n.kind, &n.name, &n.reason))
                        .collect();
                    format!("{rows:?} {left:?} {:?}", report.summary)
                };
                assert_eq!(
                    from_text.as_ref().map(judged),
                    native.as_ref().map(judged),
                    "{case}: the objects as a JSON List"
                );
                wasm
            }
        };
        match (outcome, &expected.report, &expected.error) {
            (Ok(report), Some(want), None) => {
                assert_eq!(&report, want, "{case}: {}", expected.description);
                let exit = match (report.summary.errors, report.summary.exposed) {
                    (0, 0) => 0,
                    (0, _) => 1,
                    _ => 2,
                };
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

/// The scan reads manifests as kubectl reads them: every YAML and JSON input of the scan cases
/// through `kubectl label --local -f FILE -o json` (which prints each object as kubectl read
/// it, without a cluster) and through `dsp`'s reader gives the same objects; what kubectl
/// refuses, or reads as no object, `dsp` refuses. Skipped, saying so, without kubectl.
#[test]
fn manifests_read_as_kubectl_reads_them() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e-tests/scan");
    let kubectl = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output();
    if !kubectl.is_ok_and(|output| output.status.success()) {
        eprintln!(
            "SKIPPED: no kubectl on the PATH (apt-get install kubectl) to compare readers with"
        );
        return;
    }
    let mut compared = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".expected.json") {
            continue;
        }
        let output = std::process::Command::new("kubectl")
            .args(["label", "--local", "-o", "json", "dsp-diff=1", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ours = scan::read_objects(&name, &text);
        let theirs: Vec<Value> = serde_json::Deserializer::from_slice(&output.stdout)
            .into_iter::<Value>()
            .map(|object| {
                let mut object = object.unwrap();
                let labels = object["metadata"]["labels"].as_object_mut().unwrap();
                labels.remove("dsp-diff");
                if labels.is_empty() {
                    object["metadata"].as_object_mut().unwrap().remove("labels");
                }
                object
            })
            .collect();
        match ours {
            Ok(objects) => {
                assert!(
                    output.status.success(),
                    "{name}: dsp reads it, kubectl refuses it: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let ours: Vec<&Value> = objects.iter().map(|located| &located.object).collect();
                let theirs: Vec<&Value> = theirs.iter().collect();
                assert_eq!(
                    ours, theirs,
                    "{name}: dsp and kubectl read different objects"
                );
            }
            // Stricter than kubectl by design: go-yaml ignores a tag it does not know, which in
            // a podSpecPatch could stand for anything; the scan reads as the policy does.
            Err(message) if message.contains("unknown tag") => {}
            Err(message) => assert!(
                !output.status.success() || theirs.is_empty(),
                "{name}: kubectl reads {} objects, dsp refuses it: {message}",
                theirs.len()
            ),
        }
        compared += 1;
    }
    assert!(compared >= 8, "compared {compared} inputs");
}
