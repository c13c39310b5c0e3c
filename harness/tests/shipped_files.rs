//! The files users install from must agree with the module and with each other.

use harness::Module;
use harness::scan::{yaml_document, yaml_documents};
use serde_json::Value as Yaml;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    yaml_document(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn crate_version() -> String {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    cargo
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("Cargo.toml has a version")
        .to_string()
}

#[test]
fn every_example_policy_has_settings_the_module_accepts() {
    let module = Module::load(&harness::policy_path()).expect("build it with `make policy.wasm`");
    let text = std::fs::read_to_string(root().join("policy.yaml")).unwrap();
    let mut count = 0;
    for policy in yaml_documents(&text).unwrap() {
        let name = policy["metadata"]["name"].as_str().unwrap().to_string();
        let kind = policy["kind"].as_str().unwrap();
        assert!(
            kind == "ClusterAdmissionPolicy" || kind == "AdmissionPolicy",
            "{name}: {kind}"
        );
        let settings: serde_json::Value =
            serde_json::from_value(policy["spec"]["settings"].clone()).unwrap();
        let answer = module
            .instance()
            .unwrap()
            .call("validate_settings", &serde_json::to_vec(&settings).unwrap())
            .unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["valid"], true, "{name}: {answer}");
        let module_ref = policy["spec"]["module"].as_str().unwrap();
        assert!(
            module_ref.ends_with(&format!(":v{}", crate_version())),
            "{name} installs {module_ref}, not the version being built"
        );
        let mutate = settings["mode"] == "mutate";
        assert_eq!(
            policy["spec"]["mutating"].as_bool(),
            Some(mutate),
            "{name}: mutate mode needs mutating: true, reject mode mutating: false"
        );
        count += 1;
    }
    assert!(
        count >= 2,
        "policy.yaml must hold a cluster and a namespaced example"
    );
}

#[test]
fn metadata_artifacthub_and_cargo_agree() {
    let metadata = yaml("metadata.yml");
    let artifacthub = yaml("artifacthub-pkg.yml");
    let version = crate_version();
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.version"].as_str(),
        Some(version.as_str())
    );
    assert_eq!(artifacthub["version"].as_str(), Some(version.as_str()));
    let rules: Yaml = yaml_document(
        artifacthub["annotations"]["kubewarden/rules"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rules, metadata["rules"]);
    assert_eq!(
        artifacthub["annotations"]["kubewarden/mutation"].as_str(),
        Some("true")
    );
    assert_eq!(metadata["mutating"].as_bool(), Some(true));
    assert_eq!(metadata["backgroundAudit"].as_bool(), Some(true));
    assert_eq!(metadata["executionMode"].as_str(), Some("kubewarden-wapc"));
}

#[test]
fn metadata_rules_cover_every_kind_and_operation() {
    let metadata = yaml("metadata.yml");
    let mut covered = Vec::new();
    for rule in metadata["rules"].as_array().unwrap() {
        let operations: Vec<&str> = rule["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(operations, ["CREATE", "UPDATE"]);
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                covered.push(format!(
                    "{}/{}",
                    group.as_str().unwrap(),
                    resource.as_str().unwrap()
                ));
            }
        }
    }
    for expected in [
        "/pods",
        "/pods/ephemeralcontainers",
        "/replicationcontrollers",
        "/podtemplates",
        "/persistentvolumes",
        "apps/deployments",
        "apps/daemonsets",
        "apps/statefulsets",
        "apps/replicasets",
        "batch/jobs",
        "batch/cronjobs",
    ] {
        assert!(
            covered.iter().any(|c| c == expected),
            "metadata.yml misses {expected}"
        );
    }
}

/// The answer of the module's `validate_settings`: `Ok` or the message.
fn check_settings(settings: &serde_json::Value) -> Result<(), String> {
    let mut policy = harness::Native;
    testkit::validate_settings(&mut policy, settings)
}

/// The backticked names a settings error lists after "expected" (serde's words: "expected
/// one of `a`, `b`, `c`", "expected `a` or `b`").
fn accepted_names(settings: serde_json::Value) -> Vec<String> {
    let message = check_settings(&settings).unwrap_err();
    let (_, list) = message
        .split_once("expected ")
        .unwrap_or_else(|| panic!("no list of accepted values in {message}"));
    list.trim_start_matches("one of ")
        .split(", ")
        .flat_map(|names| names.split(" or "))
        .map(|name| name.trim_matches('`').to_string())
        .collect()
}

fn variables(questions: &Yaml) -> Vec<String> {
    questions
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["variable"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rancher_questions_are_the_settings() {
    use serde_json::json;
    let ui = yaml("questions-ui.yml");
    let questions = &ui["questions"];
    // Every setting has a question, and every question is a setting.
    let mut asked = variables(questions);
    let mut settings = accepted_names(json!({"probe": 1}));
    asked.sort();
    settings.sort();
    assert_eq!(
        asked, settings,
        "questions-ui.yml variables vs the settings"
    );

    let mut defaults = serde_json::Map::new();
    for question in questions.as_array().unwrap() {
        let variable = question["variable"].as_str().unwrap();
        let default: serde_json::Value =
            serde_json::from_value(question["default"].clone()).unwrap();
        defaults.insert(variable.to_string(), default);
        // A choice lists exactly the values the setting accepts.
        if let Some(options) = question["options"].as_array() {
            let mut options: Vec<&str> = options.iter().map(|o| o.as_str().unwrap()).collect();
            let probe = if question["type"] == "multiselect" {
                json!({variable: ["probe"]})
            } else {
                json!({variable: "probe"})
            };
            let mut accepted = accepted_names(probe);
            options.sort();
            accepted.sort();
            assert_eq!(options, accepted, "{variable}: options");
        }
        if question["type"] == "sequence[" {
            let mut asked = variables(&question["sequence_questions"]);
            let mut fields = accepted_names(json!({variable: [{"probe": 1}]}));
            asked.sort();
            fields.sort();
            assert_eq!(
                asked, fields,
                "{variable}: sequence questions vs the rule's fields"
            );
        }
    }
    // The form's defaults are the policy's defaults: valid, and the same verdicts as `{}`.
    check_settings(&serde_json::Value::Object(defaults.clone())).unwrap();
    // Every preset, as the policy's own default: a form that pre-filled fewer would install a
    // weaker policy than `{}` through Rancher.
    assert_eq!(
        defaults["runtimes"],
        json!(["docker", "containerd", "crio", "podman"])
    );
    assert_eq!(defaults["mode"], json!("reject"));
}

#[test]
fn repository_files_a_policy_author_expects() {
    let license = std::fs::read_to_string(root().join("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));
    let metadata = yaml("metadata.yml");
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.license"].as_str(),
        Some("Apache-2.0")
    );
    let repo = yaml("artifacthub-repo.yml");
    assert!(repo["repositoryID"].as_str().is_some());
    assert!(repo["owners"][0]["email"].as_str().is_some());
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    assert!(
        changelog.contains(&format!("## {}", crate_version())),
        "CHANGELOG.md has no section for {}",
        crate_version()
    );
}

/// The repository URL is written in Cargo.toml; every file that names it must agree, so that
/// a fork sets it once (`make set-repository`) and a missed file fails here.
#[test]
fn one_repository_url_everywhere() {
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let url = cargo
        .lines()
        .find_map(|line| line.strip_prefix("repository = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("Cargo.toml has a repository");
    let metadata = yaml("metadata.yml");
    for key in ["io.kubewarden.policy.url", "io.kubewarden.policy.source"] {
        assert_eq!(metadata["annotations"][key].as_str(), Some(url), "{key}");
    }
    let artifacthub = yaml("artifacthub-pkg.yml");
    assert_eq!(artifacthub["homeURL"].as_str(), Some(url));
    // The playground's GitHub Pages address follows from the repository's.
    let (org, repo) = url
        .strip_prefix("https://github.com/")
        .and_then(|path| path.split_once('/'))
        .expect("a GitHub repository URL");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("<https://{org}.github.io/{repo}/>")),
        "README.md does not link the playground at https://{org}.github.io/{repo}/"
    );
    // The OCI repository: metadata.yml's ociUrl is what policy.yaml installs and make pushes to.
    let oci = metadata["annotations"]["io.kubewarden.policy.ociUrl"]
        .as_str()
        .unwrap();
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    assert!(
        makefile.contains(&format!("OCI_REPOSITORY ?= {oci}\n")),
        "the Makefile's OCI_REPOSITORY is not {oci}"
    );
    let policies = std::fs::read_to_string(root().join("policy.yaml")).unwrap();
    for line in policies
        .lines()
        .filter(|l| l.trim_start().starts_with("module:"))
    {
        assert!(
            line.contains(&format!("registry://{oci}:v")),
            "policy.yaml installs another repository: {line}"
        );
    }
}

/// A DaemonSet in the monitoring namespace whose one container runs `image` with a hostPath
/// volume for each of `paths`.
fn monitoring_daemonset(image: &str, paths: &[&str]) -> serde_json::Value {
    let volumes: Vec<serde_json::Value> = paths
        .iter()
        .enumerate()
        .map(|(i, path)| serde_json::json!({"name": format!("v{i}"), "hostPath": {"path": path}}))
        .collect();
    let mounts: Vec<serde_json::Value> = (0..paths.len())
        .map(|i| serde_json::json!({"name": format!("v{i}"), "mountPath": format!("/host/v{i}")}))
        .collect();
    let daemonset = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "monitoring"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": image, "volumeMounts": mounts}],
                     "volumes": volumes}}}
    });
    serde_json::json!({
        "uid": "1", "operation": "CREATE", "namespace": "monitoring", "name": "agent",
        "kind": {"group": "apps", "version": "v1", "kind": "DaemonSet"},
        "resource": {"group": "apps", "version": "v1", "resource": "daemonsets"},
        "userInfo": {"username": "alice"}, "object": daemonset
    })
}

/// True when a policy of policy.yaml applies in the monitoring namespace: a namespaced policy
/// there, or a cluster policy whose namespaceSelector does not leave it out.
fn applies_to_monitoring(policy: &Yaml) -> bool {
    if policy["kind"] == "AdmissionPolicy" {
        return policy["metadata"]["namespace"] == "monitoring";
    }
    let left_out = policy["spec"]["namespaceSelector"]["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|rule| {
            rule["operator"] == "NotIn"
                && rule["values"]
                    .as_array()
                    .is_some_and(|values| values.iter().any(|v| v == "monitoring"))
        });
    !left_out
}

/// The examples do what their comments say: in monitoring, the Datadog agent as its published
/// DaemonSet deploys it is admitted, and another image mounting the same kind of places, or
/// /var/run, / and /proc/1/root, is not.
#[test]
fn the_example_policies_admit_the_agent_and_nothing_else_in_monitoring() {
    let text = std::fs::read_to_string(root().join("policy.yaml")).unwrap();
    let agent_paths = ["/var/run/docker.sock", "/proc", "/sys/fs/cgroup"];
    let containerd_agent_paths = ["/var/run/containerd", "/proc", "/sys/fs/cgroup"];
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut applied = 0;
    for policy in yaml_documents(&text).unwrap() {
        if !applies_to_monitoring(&policy) {
            continue;
        }
        applied += 1;
        let name = policy["metadata"]["name"].as_str().unwrap().to_string();
        let settings: serde_json::Value =
            serde_json::from_value(policy["spec"]["settings"].clone()).unwrap();
        let verdict = |image: &str, paths: &[&str]| {
            let request = monitoring_daemonset(image, paths);
            match testkit::evaluate(&mut testkit::Native, &request, &settings) {
                testkit::Outcome::Response(response) => response,
                other => panic!("{name}: {other:?}"),
            }
        };
        for (image, paths) in [
            ("gcr.io/datadoghq/agent:7.50.0", &agent_paths[..]),
            ("gcr.io/datadoghq/agent:7.50.0", &containerd_agent_paths[..]),
            (
                &format!("gcr.io/datadoghq/agent@{digest}"),
                &agent_paths[..],
            ),
        ] {
            let response = verdict(image, paths);
            assert!(
                response.allowed,
                "{name} rejects {image} {paths:?}: {response:?}"
            );
        }
        for (image, paths) in [
            ("alpine:3.20", &agent_paths[..]),
            ("alpine:3.20", &["/var/run"][..]),
            ("alpine:3.20", &["/"][..]),
            ("alpine:3.20", &["/proc/1/root"][..]),
            ("gcr.io/datadoghq/agent:7.50.0", &["/var/run"][..]),
            ("gcr.io/datadoghq/agent:7.50.0", &["/"][..]),
            ("gcr.io/datadoghq/agent:7.50.0", &["/proc/1/root"][..]),
        ] {
            let response = verdict(image, paths);
            assert!(!response.allowed, "{name} admits {image} {paths:?}");
        }
    }
    assert!(
        applied >= 2,
        "policy.yaml has policies for the monitoring namespace"
    );
}

/// The GitHub Action hands every input to its scripts through the environment (an input
/// spliced into a `run:` script is a script injection), and runs scripts that exist.
#[test]
fn the_action_passes_inputs_through_the_environment() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    for (input, _) in action["inputs"].as_object().unwrap() {
        assert!(
            text.contains(&format!("inputs.{input} ")),
            "input {input} is not used"
        );
    }
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        assert!(!run.contains("${{"), "an expression in a run script: {run}");
        if let Some(script) = run.trim_matches('"').strip_prefix("\"$GITHUB_ACTION_PATH/") {
            let path = root().join(script.trim_end_matches('"'));
            let mode =
                std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
            assert!(mode & 0o111 != 0, "{} is not executable", path.display());
        }
    }
    let scan = steps.iter().find(|step| step["id"] == "scan").unwrap();
    for (name, value) in scan["env"].as_object().unwrap() {
        let script = std::fs::read_to_string(root().join("action/scan.sh")).unwrap();
        assert!(
            script.contains(name),
            "scan.sh does not read {name} ({value:?})"
        );
    }
}

/// The pre-commit hook runs `dsp scan` on manifests.
#[test]
fn the_pre_commit_hook_runs_dsp_scan() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = &hooks.as_array().unwrap()[0];
    assert_eq!(hook["id"], "dsp-scan");
    assert_eq!(hook["entry"], "dsp scan --");
    assert_eq!(hook["language"], "system");
    assert_eq!(hook["files"], r"\.(ya?ml|json)$");
}

/// `dsp --version` is the policy's version: the Action's install step relies on it.
#[test]
fn dsp_has_the_policy_version() {
    let dsp = std::fs::read_to_string(root().join("dsp/Cargo.toml")).unwrap();
    let version = format!("version = \"{}\"", crate_version());
    assert!(
        dsp.lines().any(|line| line == version),
        "dsp/Cargo.toml lacks {version}"
    );
}
