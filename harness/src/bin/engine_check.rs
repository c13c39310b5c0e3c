//! `engine-check`: the example policies of `policy.yaml` served by the real policy-server, and
//! one AdmissionReview per namespace case sent through them the way the API server would: the
//! policies that select the namespace, mutating ones first, each patch applied before the next.
//!
//!   engine-check --policy-server PATH --module file:///abs/policy.wasm [--sources FILE.json]
//!
//! Prints one line per case and exits 1 if any differs from what the README promises. Run by
//! `e2e-tests/policy-server.bats` (local module) and `e2e-tests/oci.bats` (`registry://`).

use harness::policy_server::{PolicyEntry, PolicyServer, entries_from_resources, policy_id};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

struct Policy {
    entry: PolicyEntry,
    /// `None` for a cluster-wide policy.
    namespace: Option<String>,
    /// Namespaces a cluster-wide policy leaves out (its `NotIn` namespaceSelector).
    excluded: Vec<String>,
    /// The `exemptions` example, an alternative to the cluster and monitoring pair: the two
    /// setups are checked apart, as a user applies one or the other.
    alternative: bool,
}

fn policies(yaml: &str, module: &str) -> Result<Vec<Policy>, String> {
    let entries = entries_from_resources(yaml, module)?;
    let mut policies = Vec::new();
    for resource in dsp_scan::yaml_documents(yaml)? {
        if resource.is_null() {
            continue;
        }
        let id = policy_id(&resource);
        let entry = entries
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .ok_or("policy ids disagree")?;
        let excluded = resource["spec"]["namespaceSelector"]["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["key"] == "kubernetes.io/metadata.name" && e["operator"] == "NotIn")
            .flat_map(|e| e["values"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        // The one cluster-wide policy with exemptions replaces the cluster and monitoring pair;
        // the monitoring namespace's own policy may have exemptions too.
        let alternative = resource["kind"] == "ClusterAdmissionPolicy"
            && !resource["spec"]["settings"]["exemptions"].is_null();
        policies.push(Policy {
            alternative,
            entry,
            namespace: resource["metadata"]["namespace"]
                .as_str()
                .map(str::to_string),
            excluded,
        });
    }
    Ok(policies)
}

/// What the API server's admission chain ends with.
struct Admission {
    allowed: bool,
    /// Who decided, and the message of a rejection.
    by: String,
    message: String,
    warnings: Vec<String>,
    object: Value,
}

fn admit(server: &PolicyServer, policies: &[&Policy], review: &Value) -> Result<Admission, String> {
    let namespace = review["request"]["namespace"].as_str().unwrap_or_default();
    let selects = |p: &&&Policy| match &p.namespace {
        Some(own) => own == namespace,
        None => !p.excluded.iter().any(|n| n == namespace),
    };
    let mut chain: Vec<&Policy> = policies.iter().filter(selects).copied().collect();
    // Mutating webhooks run before validating ones.
    chain.sort_by_key(|p| !p.entry.allowed_to_mutate);
    let mut review = review.clone();
    let mut warnings = Vec::new();
    for policy in chain {
        let response = server.validate(&policy.entry.id, &review)?;
        warnings.extend(
            response["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str().map(str::to_string)),
        );
        if response["allowed"] != true {
            return Ok(Admission {
                allowed: false,
                by: policy.entry.id.clone(),
                message: response["status"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                warnings,
                object: review["request"]["object"].clone(),
            });
        }
        if let Some(patch) = response["patch"].as_str() {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(patch)
                .map_err(|e| e.to_string())?;
            let patch: json_patch::Patch =
                serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            json_patch::patch(&mut review["request"]["object"], &patch)
                .map_err(|e| format!("{}: the patch does not apply: {e}", policy.entry.id))?;
        }
    }
    Ok(Admission {
        allowed: true,
        by: String::new(),
        message: String::new(),
        warnings,
        object: review["request"]["object"].clone(),
    })
}

fn review(namespace: &str, kind: &str, group: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("{namespace}-{kind}"),
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": format!("{}s", kind.to_lowercase())},
            "name": object["metadata"]["name"],
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": object,
        }
    })
}

/// A DaemonSet of `image` that mounts the Docker socket, beside a config volume that must stay.
fn agent(namespace: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {
                    "containers": [{
                        "name": "agent",
                        "image": image,
                        "volumeMounts": [
                            {"name": "config", "mountPath": "/etc/agent"},
                            {"name": "dockersock", "mountPath": "/var/run/docker.sock"}
                        ]
                    }],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "agent"}},
                        {"name": "dockersock", "hostPath": {"path": "/var/run/docker.sock"}}
                    ],
                    "futurePodField": {"keep": true}
                }
            }
        }
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut binary, mut module, mut sources) = (None, None, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--policy-server" => binary = Some(PathBuf::from(value())),
            "--module" => module = Some(value()),
            "--sources" => sources = Some(PathBuf::from(value())),
            other => {
                eprintln!("unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(binary), Some(module)) = (binary, module) else {
        eprintln!("usage: engine-check --policy-server PATH --module URL [--sources FILE.json]");
        return ExitCode::from(2);
    };
    match check(&binary, &module, sources) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("engine-check: {message}");
            ExitCode::FAILURE
        }
    }
}

fn check(binary: &Path, module: &str, sources: Option<PathBuf>) -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let yaml = std::fs::read_to_string(root.join("policy.yaml")).map_err(|e| e.to_string())?;
    let policies = policies(&yaml, module)?;
    let sources: Option<Value> = match sources {
        Some(path) => Some(
            serde_json::from_slice(&std::fs::read(&path).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let dir = std::env::temp_dir().join(format!("engine-check-{}", std::process::id()));
    let entries: Vec<PolicyEntry> = policies.iter().map(|p| p.entry.clone()).collect();
    let server = PolicyServer::start(binary, &entries, sources.as_ref(), &dir)?;
    println!(
        "policy-server ready with {} policies (each passed its validate_settings): {}",
        entries.len(),
        entries
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The per-namespace pair with the ci policy, or the exemptions policy with the ci policy.
    let pair: Vec<&Policy> = policies.iter().filter(|p| !p.alternative).collect();
    let exemptions: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.alternative || p.namespace.as_deref().is_some_and(|ns| ns != "monitoring"))
        .collect();
    // The agent DaemonSet of `image`, created in `namespace`.
    let send = |setup: &[&Policy], namespace: &str, image: &str| {
        let object = agent(namespace, image);
        admit(
            &server,
            setup,
            &review(namespace, "DaemonSet", "apps", object),
        )
    };
    let mut failures = Vec::new();
    let mut case = |name: &str, ok: bool, detail: String| {
        println!(
            "{} {name}{}",
            if ok { "ok" } else { "FAILED" },
            if ok {
                String::new()
            } else {
                format!(": {detail}")
            }
        );
        if !ok {
            failures.push(name.to_string());
        }
    };

    let default = send(&pair, "default", "gcr.io/datadoghq/agent:7")?;
    case(
        "default: the cluster policy rejects the socket, naming it",
        !default.allowed
            && default.by == "clusterwide-docker-socket-policy"
            && default.message.contains(
                "volume \"dockersock\" (hostPath /var/run/docker.sock) is the Docker daemon socket",
            ),
        format!("{} {}", default.by, default.message),
    );

    let allowed = send(&pair, "monitoring", "gcr.io/datadoghq/agent:7")?;
    case(
        "monitoring: the exempted agent image keeps the socket",
        allowed.allowed && allowed.object == agent("monitoring", "gcr.io/datadoghq/agent:7"),
        format!("{} {}", allowed.by, allowed.message),
    );
    let other = send(&pair, "monitoring", "busybox:1.36")?;
    case(
        "monitoring: any other image is still rejected, by the namespace's own policy",
        !other.allowed && other.by == "namespaced-monitoring-docker-socket-policy-monitoring",
        format!("{} {}", other.by, other.message),
    );

    let mutated = send(&pair, "ci", "docker:cli")?;
    let mut expected = agent("ci", "docker:cli");
    let spec = &mut expected["spec"]["template"]["spec"];
    spec["volumes"].as_array_mut().unwrap().pop();
    spec["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .pop();
    case(
        "ci: the ci policy removes the socket and nothing else, then the cluster policy admits the result",
        mutated.allowed && mutated.object == expected,
        format!("{} {} {}", mutated.by, mutated.message, mutated.object),
    );
    case(
        "ci: the removal is announced as a warning",
        mutated
            .warnings
            .iter()
            .any(|w| w.starts_with("removed volume \"dockersock\"")),
        format!("{:?}", mutated.warnings),
    );

    let default = send(&exemptions, "default", "gcr.io/datadoghq/agent:7")?;
    case(
        "exemptions: the one cluster policy rejects the agent outside monitoring",
        !default.allowed && default.by == "clusterwide-docker-socket-policy-exemptions",
        format!("{} {}", default.by, default.message),
    );
    let allowed = send(&exemptions, "monitoring", "gcr.io/datadoghq/agent:7")?;
    case(
        "exemptions: monitoring admits its agent unchanged, with the rule's reason as a warning",
        allowed.allowed
            && allowed.object == agent("monitoring", "gcr.io/datadoghq/agent:7")
            && allowed.warnings.iter().any(|w| {
                w.ends_with("admitted by an exemption: the Datadog agent reads container metadata and process stats (PLAT-142)")
            }),
        format!("{} {} {:?}", allowed.by, allowed.message, allowed.warnings),
    );
    let other = send(&exemptions, "monitoring", "busybox:1.36")?;
    case(
        "exemptions: any other image in monitoring is rejected by the same policy",
        !other.allowed && other.by == "clusterwide-docker-socket-policy-exemptions",
        format!("{} {}", other.by, other.message),
    );
    let mutated = send(&exemptions, "ci", "docker:cli")?;
    case(
        "exemptions: ci mutates, then the exemptions policy admits the result",
        mutated.allowed && mutated.object == expected,
        format!("{} {} {}", mutated.by, mutated.message, mutated.object),
    );
    drop(server);

    // Ready above means policy-server ran validate_settings on every policy: a typo stops it.
    let mut typo = entries[0].clone();
    typo.settings = json!({"directoryMount": "warn"});
    let refused = PolicyServer::start(binary, &[typo], sources.as_ref(), &dir.join("typo"));
    let error = refused.err().unwrap_or_default();
    case(
        "a settings typo stops policy-server with the field named",
        error.contains(
            "Policy settings are invalid: directoryMount: unknown field `directoryMount`",
        ),
        error.clone(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} case(s) failed", failures.len()))
    }
}
