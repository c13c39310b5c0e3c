//! `dsp scan`: which objects of a cluster dump or of rendered manifests depend on a runtime
//! socket, judged by the policy module itself (its `report` function: the `validate` decision
//! and the exposures behind it), so a report and an admission decision never disagree.

use crate::Evaluator;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// An object read from an input, with where it came from.
#[derive(Debug, Clone)]
pub struct Located {
    pub source: String,
    pub document: usize,
    pub object: Value,
}

/// Reads `kubectl get -o json` output (a List or one object), `-o yaml` output or multi-document
/// YAML. Errors name the input and the document index (from 1).
pub fn read_objects(source: &str, text: &str) -> Result<Vec<Located>, String> {
    let documents: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(document) => vec![document],
        Err(_) => {
            let mut documents = Vec::new();
            for (i, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
                let value = Value::deserialize(document).map_err(|e| {
                    format!(
                        "{source}: document {} is not Kubernetes JSON or YAML: {e}",
                        i + 1
                    )
                })?;
                documents.push(value);
            }
            documents
        }
    };
    let mut objects = Vec::new();
    for (i, document) in documents.into_iter().enumerate() {
        let index = i + 1;
        let located = |object: Value| Located {
            source: source.to_string(),
            document: index,
            object,
        };
        match &document {
            Value::Null => {}
            Value::Object(map) if map.get("items").is_some_and(Value::is_array) => {
                for (j, item) in map["items"].as_array().unwrap().iter().enumerate() {
                    kind_of(item).ok_or_else(|| {
                        format!(
                            "{source}: document {index}, item {}: not a Kubernetes object (no apiVersion and kind)",
                            j + 1
                        )
                    })?;
                    objects.push(located(item.clone()));
                }
            }
            _ => {
                kind_of(&document).ok_or_else(|| {
                    format!("{source}: document {index}: not a Kubernetes object (no apiVersion and kind)")
                })?;
                objects.push(located(document));
            }
        }
    }
    Ok(objects)
}

/// The AdmissionRequest the API server sends for creating `object` (its kind from `apiVersion`
/// and `kind`, its namespace from its metadata).
pub fn create_request(object: &Value, uid: &str) -> Value {
    let kind = kind_of(object).unwrap_or(GroupVersionKind {
        group: "",
        version: "",
        kind: "",
    });
    let meta = &object["metadata"];
    json!({
        "uid": uid,
        "kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
        "resource": {
            "group": kind.group,
            "version": kind.version,
            "resource": format!("{}s", kind.kind.to_ascii_lowercase()),
        },
        "operation": "CREATE",
        "userInfo": {"username": "dsp-scan"},
        "name": meta["name"].as_str().unwrap_or_default(),
        "namespace": meta["namespace"].as_str().unwrap_or_default(),
        "object": object,
    })
}

/// One YAML document as JSON.
pub fn yaml_document(text: &str) -> Result<Value, String> {
    serde_yaml::from_str(text).map_err(|e| e.to_string())
}

/// An object's API group, version and kind, from its `apiVersion` and `kind`.
struct GroupVersionKind<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

fn kind_of(object: &Value) -> Option<GroupVersionKind<'_>> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Some(GroupVersionKind {
        group,
        version,
        kind,
    })
}

/// One exposure, reported at the object a person has to change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Row {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// `reject`, `warn`, `exempt` or `mutate`: what the policy does with the object under the
    /// settings.
    pub verdict: String,
    pub volume: String,
    pub host_path: String,
    pub exposes: String,
    pub containers: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Objects read from the inputs.
    pub objects: usize,
    /// Objects the policy inspected: of a kind it knows, or carrying a pod template.
    pub evaluated: usize,
    /// Objects reported (owned objects whose owner is in the input fold into it).
    pub reported: usize,
    /// Reported objects with at least one exposure.
    pub exposed: usize,
}

/// An object the policy did not evaluate, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub source: String,
    pub document: usize,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    pub rows: Vec<Row>,
    pub not_evaluated: Vec<NotEvaluated>,
    pub summary: Summary,
}

#[derive(Deserialize)]
struct ModuleReport {
    response: ModuleResponse,
    findings: Vec<ModuleFinding>,
    #[serde(default)]
    not_inspected: Option<String>,
}

#[derive(Deserialize)]
struct ModuleResponse {
    accepted: bool,
    #[serde(default)]
    mutated_object: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, PartialEq, Eq)]
struct ModuleFinding {
    severity: String,
    volume: String,
    host_path: String,
    exposes: String,
    containers: Vec<String>,
}

impl ModuleFinding {
    /// The same volume, host path, exposure and containers (the verdict can differ: a Pod's
    /// is its own, a workload's applies to its template).
    fn same_exposure(&self, other: &ModuleFinding) -> bool {
        (
            &self.volume,
            &self.host_path,
            &self.exposes,
            &self.containers,
        ) == (
            &other.volume,
            &other.host_path,
            &other.exposes,
            &other.containers,
        )
    }
}

type Key = (String, String, String);

fn key_of(object: &Value) -> Key {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        object["kind"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// The object a person changes: follows controller ownerReferences while the owner is in the
/// input (a Pod of a ReplicaSet of a Deployment is reported at the Deployment).
fn top_owner(key: &Key, owners: &HashMap<Key, Key>) -> Key {
    let mut current = key.clone();
    let mut seen = HashSet::new();
    while let Some(owner) = owners.get(&current) {
        if !seen.insert(current.clone()) {
            break;
        }
        current = owner.clone();
    }
    current
}

/// Evaluates every object as a CREATE with `settings` through `policy` (its `report`
/// function); the policy says which objects it inspected (a kind it knows, or a pod template
/// found in another kind) and why it left the others. `progress` is called with (done, total)
/// as objects are evaluated.
pub fn scan(
    policy: &mut dyn Evaluator,
    settings: &Value,
    objects: &[Located],
    mut progress: impl FnMut(usize, usize),
) -> Result<ScanReport, String> {
    let typed: Vec<&Located> = objects
        .iter()
        .filter(|located| kind_of(&located.object).is_some())
        .collect();
    crate::validate_settings(policy, settings)
        .map_err(|message| format!("Provided settings are not valid: {message}"))?;

    let mut evaluated: Vec<(&Located, Key, ModuleReport)> = Vec::new();
    let mut not_evaluated = Vec::new();
    for (done, located) in typed.iter().enumerate() {
        progress(done, typed.len());
        let key = key_of(&located.object);
        let request = create_request(&located.object, &format!("scan-{done}"));
        let payload = crate::validate_payload(&request, settings)?;
        let answer = policy.call("report", &payload).map_err(|error| {
            format!(
                "{} document {}: {} {:?}: the policy failed: {error}",
                located.source, located.document, key.1, key.2
            )
        })?;
        let report: ModuleReport = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
        if let Some(reason) = report.not_inspected {
            not_evaluated.push(NotEvaluated {
                source: located.source.clone(),
                document: located.document,
                namespace: key.0,
                kind: key.1,
                name: key.2,
                reason,
            });
            continue;
        }
        if report.findings.is_empty() && !report.response.accepted {
            // Not an exposure the policy could list: the object could not be read.
            return Err(format!(
                "{} document {}: {} {:?}: {}",
                located.source,
                located.document,
                key.1,
                key.2,
                report.response.message.unwrap_or_default()
            ));
        }
        evaluated.push((located, key, report));
    }
    progress(typed.len(), typed.len());

    // An owned object folds into its controller when the policy inspected the controller too
    // (a Pod into its ReplicaSet into its Deployment or Rollout), and only if the controller
    // has every exposure the owned object has: an ownerReference anyone can write must not
    // hide a Pod behind a clean owner.
    let findings: HashMap<&Key, &[ModuleFinding]> = evaluated
        .iter()
        .map(|(_, key, report)| (key, report.findings.as_slice()))
        .collect();
    let mut owners: HashMap<Key, Key> = HashMap::new();
    for (located, key, report) in &evaluated {
        let references = located.object["metadata"]["ownerReferences"].as_array();
        let controller = references
            .into_iter()
            .flatten()
            .find(|r| r["controller"] == true);
        if let Some(owner) = controller {
            let owner_key = (
                key.0.clone(),
                owner["kind"].as_str().unwrap_or_default().to_string(),
                owner["name"].as_str().unwrap_or_default().to_string(),
            );
            let covered = findings.get(&owner_key).is_some_and(|owner_findings| {
                report
                    .findings
                    .iter()
                    .all(|finding| owner_findings.iter().any(|o| o.same_exposure(finding)))
            });
            if covered {
                owners.insert(key.clone(), owner_key);
            }
        }
    }

    let mut rows: Vec<Row> = Vec::new();
    let mut seen_rows = HashSet::new();
    let mut reported: HashSet<Key> = HashSet::new();
    let mut exposed: HashSet<Key> = HashSet::new();
    for (_, key, report) in &evaluated {
        let owner = top_owner(key, &owners);
        reported.insert(owner.clone());
        for finding in &report.findings {
            let verdict = match (finding.severity.as_str(), &report.response) {
                (
                    "reject",
                    ModuleResponse {
                        accepted: true,
                        mutated_object: Some(_),
                        ..
                    },
                ) => "mutate",
                (severity, _) => severity,
            };
            let row = Row {
                namespace: owner.0.clone(),
                kind: owner.1.clone(),
                name: owner.2.clone(),
                verdict: verdict.to_string(),
                volume: finding.volume.clone(),
                host_path: finding.host_path.clone(),
                exposes: finding.exposes.clone(),
                containers: finding.containers.join(", "),
            };
            exposed.insert(owner.clone());
            if seen_rows.insert(row.clone()) {
                rows.push(row);
            }
        }
    }
    rows.sort();
    Ok(ScanReport {
        rows,
        not_evaluated,
        summary: Summary {
            objects: objects.len(),
            evaluated: evaluated.len(),
            reported: reported.len(),
            exposed: exposed.len(),
        },
    })
}

/// The report as a table for people, with a summary line.
pub fn table(report: &ScanReport) -> String {
    let headers = [
        "NAMESPACE",
        "KIND",
        "NAME",
        "VERDICT",
        "VOLUME",
        "HOST PATH",
        "EXPOSES",
        "CONTAINERS",
    ];
    let cells: Vec<[&str; 8]> = report
        .rows
        .iter()
        .map(|r| {
            [
                r.namespace.as_str(),
                &r.kind,
                &r.name,
                &r.verdict,
                &r.volume,
                &r.host_path,
                &r.exposes,
                &r.containers,
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    if !cells.is_empty() {
        line(&headers);
        for row in &cells {
            line(row);
        }
    }
    for skipped in &report.not_evaluated {
        let name = match skipped.namespace.as_str() {
            "" => skipped.name.clone(),
            namespace => format!("{namespace}/{}", skipped.name),
        };
        out.push_str(&format!(
            "not evaluated: {} {name} ({} document {}): {}\n",
            skipped.kind, skipped.source, skipped.document, skipped.reason
        ));
    }
    let by_verdict = report.rows.iter().fold(BTreeMap::new(), |mut counts, row| {
        *counts.entry(row.verdict.as_str()).or_insert(0) += 1;
        counts
    });
    let verdicts: Vec<String> = by_verdict.iter().map(|(v, n)| format!("{n} {v}")).collect();
    out.push_str(&format!(
        "{} objects read, {} evaluated, {} reported after folding owned objects into their owners: {} with an exposure ({} rows{})\n",
        report.summary.objects,
        report.summary.evaluated,
        report.summary.reported,
        report.summary.exposed,
        report.rows.len(),
        if verdicts.is_empty() { String::new() } else { format!(": {}", verdicts.join(", ")) }
    ));
    out
}
