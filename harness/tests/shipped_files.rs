//! The files users install from must agree with the module and with each other.

use harness::Module;
use serde::Deserialize;
use serde_yaml::Value as Yaml;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
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
    for document in serde_yaml::Deserializer::from_str(&text) {
        let policy = Yaml::deserialize(document).unwrap();
        let name = policy["metadata"]["name"].as_str().unwrap().to_string();
        let kind = policy["kind"].as_str().unwrap();
        assert!(
            kind == "ClusterAdmissionPolicy" || kind == "AdmissionPolicy",
            "{name}: {kind}"
        );
        let settings: serde_json::Value =
            serde_yaml::from_value(policy["spec"]["settings"].clone()).unwrap();
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
    let rules: Yaml = serde_yaml::from_str(
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
    for rule in metadata["rules"].as_sequence().unwrap() {
        let operations: Vec<&str> = rule["operations"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(operations, ["CREATE", "UPDATE"]);
        for group in rule["apiGroups"].as_sequence().unwrap() {
            for resource in rule["resources"].as_sequence().unwrap() {
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
