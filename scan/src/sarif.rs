//! `dsp scan --output sarif`: the report as SARIF 2.1.0, for code scanning (GitHub, GitLab,
//! Azure DevOps). One result per reported exposure, at the file, line and column of the
//! volume's `hostPath.path` (or the mount's `subPath`, or the `podSpecPatch`), under a rule per
//! kind of exposure. Objects that could not be evaluated are tool notifications, and make the
//! run unsuccessful, as they make `dsp scan` exit 2.

use crate::{ExposureKind, Row, ScanReport, Site, Verdict};
use serde_json::{Value, json};

/// A kind of exposure, as a SARIF rule.
struct Rule {
    id: &'static str,
    exposure: ExposureKind,
    name: &'static str,
    short: &'static str,
    full: &'static str,
    fix: &'static str,
    /// GitHub's `security-severity` (9.0 and above is critical).
    severity: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        id: "DSP001",
        exposure: ExposureKind::Socket,
        name: "RuntimeSocketHostPath",
        short: "A hostPath volume exposes a container runtime's socket",
        full: "A container that can reach a container runtime's socket (Docker, containerd, \
               CRI-O, podman and the others the policy knows) can start a privileged container \
               on the node: it holds root on the host.",
        fix: "Remove the volume and its mounts. If the workload must reach the runtime, exempt \
              it by namespace and image in the policy's settings (`exemptions`).",
        severity: "9.0",
    },
    Rule {
        id: "DSP002",
        exposure: ExposureKind::Directory,
        name: "RuntimeSocketDirectoryHostPath",
        short: "A hostPath volume exposes a directory that contains a container runtime's socket",
        full: "Mounting a directory such as /var/run, /run, /var or / from the host exposes \
               every runtime socket under it, whatever the mount path or the intent.",
        fix: "Mount only the file or directory the workload needs, one that holds no runtime \
              socket, or reach it with a subPath that stays out of the runtime's directories.",
        severity: "9.0",
    },
    Rule {
        id: "DSP003",
        exposure: ExposureKind::Procfs,
        name: "HostRootThroughProcfs",
        short: "A hostPath volume reaches the host's root filesystem through /proc",
        full: "The host's /proc/<pid>/root is the root filesystem of a host process: through \
               it, every runtime socket of the node.",
        fix: "Do not mount the host's /proc or a path under it; mount the specific file the \
              workload needs instead.",
        severity: "9.0",
    },
    Rule {
        id: "DSP004",
        exposure: ExposureKind::PodSpecPatch,
        name: "PodSpecPatchChangesJudgedFields",
        short: "An Argo podSpecPatch can change what the policy judged",
        full: "Argo merges a workflow's podSpecPatch into each Pod after admission: a patch that \
               adds volumes or changes the mounts or image of a container that mounts a \
               hostPath volume is not what the policy admitted.",
        fix: "Declare volumes, volumeMounts and images in the workflow and its templates, where \
              they are checked, and keep podSpecPatch for other fields.",
        severity: "8.0",
    },
];

const INFORMATION_URI: &str = "https://github.com/docker-socket-policy/docker-socket-policy";

/// The report as a SARIF 2.1.0 log; `version` is the tool's.
pub fn sarif(report: &ScanReport, version: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.short},
                "fullDescription": {"text": rule.full},
                "help": {"text": format!("{} Fix: {}", rule.full, rule.fix)},
                "helpUri": format!("{INFORMATION_URI}#what-it-catches"),
                "defaultConfiguration": {"level": "error"},
                "properties": {
                    "tags": ["security", "kubernetes", "container-runtime"],
                    "security-severity": rule.severity,
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .rows
        .iter()
        .filter(|row| row.verdict != Verdict::Error)
        .map(|row| result(row, report.sites.get(row)))
        .collect();
    let notifications: Vec<Value> = report
        .rows
        .iter()
        .filter(|row| row.verdict == Verdict::Error)
        .map(|row| {
            json!({
                "level": "error",
                "message": {"text": format!("{} could not be evaluated: {}", object(row), row.exposes)},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dsp",
                "fullName": "docker-socket-policy dsp scan",
                "version": version,
                "semanticVersion": version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// `DaemonSet monitoring/agent`.
fn object(row: &Row) -> String {
    match row.namespace.as_str() {
        "" => format!("{} {}", row.kind, row.name),
        namespace => format!("{} {namespace}/{}", row.kind, row.name),
    }
}

fn result(row: &Row, site: Option<&Site>) -> Value {
    let exposure = site.map_or(ExposureKind::Socket, |site| site.exposure);
    let (index, rule) = RULES
        .iter()
        .enumerate()
        .find(|(_, rule)| rule.exposure == exposure)
        .unwrap_or((0, &RULES[0]));
    let what = match rule.exposure {
        ExposureKind::PodSpecPatch => format!("{}: {}.", object(row), row.exposes),
        _ => {
            let containers = match row.containers.as_str() {
                "" => "no container mounts it yet".to_string(),
                containers => format!("mounted by {containers}"),
            };
            format!(
                "{}: volume \"{}\" (hostPath {}) exposes {}; {containers}.",
                object(row),
                row.volume,
                row.host_path,
                row.exposes
            )
        }
    };
    let verdict = match row.verdict {
        Verdict::Reject => "The policy rejects it.",
        Verdict::Mutate => "The policy removes the volume and its mounts (mutate mode).",
        Verdict::Warn => "The policy admits it with a warning (directoryMounts: warn).",
        Verdict::Exempt => "An exemption of the policy's settings admits it.",
        Verdict::Error => "",
    };
    let mut location = json!({
        "logicalLocations": [{
            "fullyQualifiedName": format!("{}/{}/{}", row.namespace, row.kind, row.name),
            "kind": "resource",
        }],
    });
    if let Some(place) = site.and_then(|site| site.place.as_ref()) {
        let mut physical = json!({"artifactLocation": {"uri": uri(&place.source)}});
        if let Some((line, column)) = place.position {
            physical["region"] = json!({"startLine": line, "startColumn": column});
        }
        location["physicalLocation"] = physical;
    }
    let mut result = json!({
        "ruleId": rule.id,
        "ruleIndex": index,
        "level": match row.verdict {
            Verdict::Warn => "warning",
            Verdict::Exempt => "note",
            Verdict::Reject | Verdict::Mutate | Verdict::Error => "error",
        },
        "message": {"text": format!("{what} {verdict} Fix: {}", rule.fix)},
        "locations": [location],
        // The same exposure of the same object keeps its alert when lines move.
        "partialFingerprints": {"dspExposure/v1": fingerprint(row)},
    });
    if row.verdict == Verdict::Exempt {
        result["suppressions"] =
            json!([{"kind": "external", "justification": "exempted by the policy's settings"}]);
    }
    result
}

/// A file's path as a URI reference, relative as given: every byte but the unreserved ones and
/// `/` percent-encoded (a space, `#`, `%`, `?`, and the `:` of `C:x.yaml`, which would read as
/// a scheme).
fn uri(path: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(path, KEEP).to_string()
}

/// A stable hash of what identifies an exposure: the object, the volume, the path, what it
/// exposes. FNV-1a: the same on every platform and in every version of Rust.
fn fingerprint(row: &Row) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        &row.namespace,
        &row.kind,
        &row.name,
        &row.volume,
        &row.host_path,
        &row.exposes,
    ] {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn a_path_is_a_uri_reference() {
        assert_eq!(uri("deploy/agent.yaml"), "deploy/agent.yaml");
        assert_eq!(
            uri("s/sp ace/a b#1%zz?.json"),
            "s/sp%20ace/a%20b%231%25zz%3F.json"
        );
        assert_eq!(uri("C:x.json"), "C%3Ax.json");
        assert_eq!(uri("é.yaml"), "%C3%A9.yaml");
    }
}
