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
    /// Every result of `--output sarif`: rule, level, object and where it points.
    #[serde(default)]
    sarif: Option<Vec<SarifResult>>,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct SarifResult {
    rule: String,
    level: String,
    object: String,
    uri: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
}

/// The results of a SARIF log, as a case lists them.
fn sarif_results(log: &Value) -> Vec<SarifResult> {
    let results = log["runs"][0]["results"].as_array().expect("results");
    results
        .iter()
        .map(|result| {
            let location = &result["locations"][0];
            let physical = &location["physicalLocation"];
            SarifResult {
                rule: result["ruleId"].as_str().unwrap().to_string(),
                level: result["level"].as_str().unwrap().to_string(),
                object: location["logicalLocations"][0]["fullyQualifiedName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                uri: physical["artifactLocation"]["uri"]
                    .as_str()
                    .map(String::from),
                line: physical["region"]["startLine"].as_u64(),
                column: physical["region"]["startColumn"].as_u64(),
            }
        })
        .collect()
}

/// The vendored SARIF 2.1.0 schema (`e2e-tests/schemas/README.md` says where it is from).
fn sarif_schema() -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e-tests/schemas/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // The schema's pattern for a `language` has a lone `]`, a literal in ECMA-262's Annex B
    // that the validator's check of the schema refuses: escaped, the same pattern.
    fn escape(value: &mut Value, count: &mut usize) {
        match value {
            Value::String(text) if text == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" => {
                *text = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$".into();
                *count += 1;
            }
            Value::Object(map) => map.values_mut().for_each(|v| escape(v, count)),
            Value::Array(items) => items.iter_mut().for_each(|v| escape(v, count)),
            _ => {}
        }
    }
    let mut escaped = 0;
    escape(&mut schema, &mut escaped);
    assert_eq!(escaped, 2, "the schema's language patterns");
    jsonschema::draft7::new(&schema).expect("the SARIF schema compiles")
}

#[test]
fn every_scan_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e-tests/scan");
    let module = Module::load(&harness::policy_path()).expect("build it with `make policy.wasm`");
    let mut count = 0;
    let schema = sarif_schema();
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
                // Items of a List read in chunks are located as they are evaluated; the others
                // once the report is made: the same places in the end.
                let located = |report: &Result<ScanReport, String>| {
                    report.clone().map(|mut report| {
                        scan::locate_sites(&mut report, &mut |source| {
                            std::fs::read_to_string(dir.join(source)).ok()
                        });
                        report
                    })
                };
                assert_eq!(
                    located(&parallel),
                    located(&native),
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
                            (row.verdict == scan::Verdict::Error)
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
            (Ok(mut report), Some(want), None) => {
                // The expected report says nothing of where findings are written: SARIF does.
                let sites = std::mem::take(&mut report.sites);
                assert_eq!(&report, want, "{case}: {}", expected.description);
                report.sites = sites;
                scan::locate_sites(&mut report, &mut |source| {
                    std::fs::read_to_string(dir.join(source)).ok()
                });
                let log = harness::sarif::sarif(&report, "0.1.0");
                let errors: Vec<String> = schema
                    .iter_errors(&log)
                    .map(|e| format!("{e} at {}", e.instance_path()))
                    .collect();
                assert!(errors.is_empty(), "{case}: SARIF not valid: {errors:#?}");
                let want_sarif = expected
                    .sarif
                    .as_ref()
                    .unwrap_or_else(|| panic!("{case}: no sarif results listed"));
                assert_eq!(&sarif_results(&log), want_sarif, "{case}: SARIF results");
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
            // Stricter by design too: kubectl reads the last of two `items`; a List read as a
            // stream would have handed on the first already.
            Err(message) if message.contains("more than one \"items\" key") => {}
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

/// `dsp scan --output yaml` writes strings kubectl reads back as the same strings (see
/// `AMBIGUOUS_STRINGS`: `yes`, `0o17`, `12:30`, `*`, line breaks, ...).
#[test]
fn yaml_written_reads_back_through_kubectl() {
    let strings = harness::yaml::AMBIGUOUS_STRINGS;
    let data: serde_json::Map<String, Value> = (strings.iter().enumerate())
        .map(|(i, s)| (format!("k{i}"), Value::from(*s)))
        .collect();
    let config_map = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "strings"}, "data": data});
    let file = std::env::temp_dir().join(format!("dsp-yaml-{}.yaml", std::process::id()));
    std::fs::write(&file, harness::yaml::to_string(&config_map)).unwrap();
    let output = std::process::Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "dsp-diff=1", "-f"])
        .arg(&file)
        .output();
    std::fs::remove_file(&file).unwrap();
    let Ok(output) = output else {
        eprintln!("SKIPPED: no kubectl on the PATH (apt-get install kubectl) to read it back");
        return;
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read["data"], Value::Object(data));
}
