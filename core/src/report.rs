//! Reports (`dsp scan`): the `validate` answer and, behind it, each exposure as a row, from the
//! same reading and judging as the verdict.

use crate::decision::{decide, subset_problems};
use crate::exposures::{Reach, VolumeExposure};
use crate::judge::judge;
use crate::message;
use crate::patches;
use crate::payload;
use crate::response::ValidationResponse;
use crate::settings::UnknownKinds;
use crate::sites::{Sites, Subject, scan};
use crate::sockets::Exposure;
use crate::verdict::{reject, respond};
use serde::{Deserialize, Serialize};

/// What the settings make of an exposure (read back by `dsp scan` from the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Reject,
    Warn,
    /// Admitted by an exemption.
    Exempt,
}

/// What a finding exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExposureKind {
    Socket,
    /// A directory that holds a socket.
    Directory,
    /// The host's root filesystem, through `/proc`.
    Procfs,
    /// A `podSpecPatch` that can change what was judged.
    PodSpecPatch,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
            Severity::Exempt => "exempt",
        }
    }
}

impl ExposureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExposureKind::Socket => "socket",
            ExposureKind::Directory => "directory",
            ExposureKind::Procfs => "procfs",
            ExposureKind::PodSpecPatch => "podSpecPatch",
        }
    }
}

/// One exposure of an object, for reports (`dsp scan`).
#[derive(Debug, Serialize)]
pub struct ReportRow {
    pub severity: Severity,
    /// The volume's name (`spec.hostPath` for a PersistentVolume).
    pub volume: String,
    /// The hostPath as written, with the subPath or subPathExpr that reaches further.
    pub host_path: String,
    pub exposes: String,
    /// `agent`, `setup (init)`, ...; empty when no container mounts it.
    pub containers: Vec<String>,
    /// The image of each of `containers` (empty for a container that names none).
    pub images: Vec<String>,
    pub exposure: ExposureKind,
    /// Where a report shows it: the hostPath as written, and the `subPath` or `subPathExpr`
    /// field and value that reaches further, if any; for a `podSpecPatch`, where it is
    /// (`spec.templates[0].podSpecPatch`).
    pub written_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_path_field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_at: Option<String>,
}

/// The `validate` response and, behind it, each exposure as a row.
#[derive(Debug, Serialize)]
pub struct Report {
    pub response: ValidationResponse,
    pub findings: Vec<ReportRow>,
    /// Why the policy accepted the object unread (a kind it does not read), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_inspected: Option<String>,
}

/// Evaluates a `validate` payload and lists the exposures the decision was made on, with the
/// same scan and settings: a report can never disagree with the admission decision.
pub fn report(raw: &[u8]) -> Report {
    let failed = |message: String| Report {
        response: reject(message, Vec::new()),
        findings: Vec::new(),
        not_inspected: None,
    };
    let (request, settings) = match payload::parse(raw) {
        Ok(read) => read,
        Err(error) => return failed(error.to_string()),
    };
    let (request, sites) = match Sites::read(request, &settings) {
        Ok(read) => read,
        Err(message) => return failed(message),
    };
    let response = respond(decide(&request, &sites, &settings, raw));
    let mut findings = Vec::new();
    // A plain acceptance (e.g. of an object being deleted) lists nothing: the rows never
    // contradict the verdict.
    let plain_accept =
        response.accepted && response.warnings.is_none() && response.mutated_object.is_none();
    let catalog = settings.catalog();
    if !plain_accept {
        let update = request.operation() == payload::Operation::Update;
        let problems = subset_problems(&sites, raw, update);
        findings.extend(problems.into_iter().map(patch_row));
    }
    for site in sites.sites.iter().filter(|_| !plain_accept) {
        let exposures = scan(&site.new, &catalog);
        let judged = judge(exposures, &settings, sites.namespace(&request));
        let persistent_volume = site.new.pod_spec_at().is_none();
        let rows = |severity, volumes: &[VolumeExposure]| {
            volumes
                .iter()
                .flat_map(|volume| volume.findings.iter().map(move |f| (volume, f)))
                .map(|(volume, finding)| ReportRow {
                    severity,
                    volume: match persistent_volume {
                        true => format!("spec.{}", volume.volume),
                        false => volume.volume.to_string(),
                    },
                    host_path: match finding.reach {
                        Reach::Whole => volume.host_path.to_string(),
                        other => format!("{} ({})", volume.host_path, message::reach(&other)),
                    },
                    exposes: message::describe(&finding.exposure, &finding.path),
                    containers: finding
                        .containers
                        .iter()
                        .map(|c| message::container_list(&[*c]))
                        .collect(),
                    images: finding
                        .containers
                        .iter()
                        .map(|c| c.image.to_string())
                        .collect(),
                    exposure: match finding.exposure {
                        Exposure::Socket { .. } => ExposureKind::Socket,
                        Exposure::Directory { .. } => ExposureKind::Directory,
                        Exposure::Procfs { .. } => ExposureKind::Procfs,
                    },
                    written_path: volume.host_path.to_string(),
                    sub_path_field: match finding.reach {
                        Reach::Whole => None,
                        Reach::SubPath(_) => Some("subPath"),
                        Reach::SubPathExpr(_) => Some("subPathExpr"),
                    },
                    sub_path: match finding.reach {
                        Reach::Whole => None,
                        Reach::SubPath(path) | Reach::SubPathExpr(path) => Some(path.to_string()),
                    },
                    patch_at: None,
                })
                .collect::<Vec<_>>()
        };
        // A podSpecPatch that can change what was judged rejects the object: a row each.
        if let Subject::PodSpec(located) = &site.new {
            findings.extend(patches::problems(located).into_iter().map(patch_row));
        }
        findings.extend(rows(Severity::Reject, &judged.violations));
        findings.extend(rows(Severity::Warn, &judged.warned));
        let exempted: Vec<VolumeExposure> = judged.exempted.into_iter().map(|e| e.volume).collect();
        findings.extend(rows(Severity::Exempt, &exempted));
    }
    let not_inspected = (!sites.inspected).then(|| {
        message::not_inspected(
            &request.kind.group,
            &request.kind.kind,
            settings.unknown_kinds == UnknownKinds::Ignore,
        )
    });
    Report {
        response,
        findings,
        not_inspected,
    }
}

/// The row of a patch that can change what was judged (an Argo `podSpecPatch`, an OpenKruise
/// subset's `patch`), at `at`.
fn patch_row((at, problem): (String, String)) -> ReportRow {
    ReportRow {
        severity: Severity::Reject,
        volume: String::new(),
        host_path: String::new(),
        exposes: format!("{at} {problem}"),
        containers: Vec::new(),
        images: Vec::new(),
        exposure: ExposureKind::PodSpecPatch,
        written_path: String::new(),
        sub_path_field: None,
        sub_path: None,
        patch_at: Some(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::validate;

    fn payload(meta: &str) -> Vec<u8> {
        format!(
            r#"{{"settings":{{"directoryMounts":"warn"}},"request":{{"kind":{{"kind":"Pod"}},"operation":"CREATE",
            "object":{{"metadata":{meta},"spec":{{"volumes":[{{"name":"s","hostPath":{{"path":"/run/docker.sock"}}}},
            {{"name":"r","hostPath":{{"path":"/run"}}}}],"containers":[{{"name":"a","volumeMounts":[{{"name":"s"}}]}}]}}}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn report_lists_what_validate_decided_on() {
        let raw = payload(r#"{"name":"p"}"#);
        let report = report(&raw);
        let validated = validate(&raw);
        assert_eq!(report.response.accepted, validated.accepted);
        assert_eq!(report.response.message, validated.message);
        let rows: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.severity, f.volume.as_str(), f.containers.join(",")))
            .collect();
        assert_eq!(
            rows,
            [
                (Severity::Reject, "s", "a".to_string()),
                (Severity::Warn, "r", String::new())
            ]
        );
    }

    #[test]
    fn report_of_an_accepted_object_lists_nothing() {
        let deleted = r#"{"name":"p","deletionTimestamp":"2026-11-27T10:00:00Z"}"#;
        let raw = String::from_utf8(payload(deleted))
            .unwrap()
            .replace(
                r#""operation":"CREATE""#,
                r#""operation":"UPDATE","oldObject":{"metadata":{"deletionTimestamp":"x"}}"#,
            )
            .into_bytes();
        let report = report(&raw);
        assert!(report.response.accepted);
        assert!(report.findings.is_empty());
    }
}
