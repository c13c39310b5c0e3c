//! The admission decision: which exposures are violations under the settings, and what CREATE
//! and UPDATE do with them.

use crate::exposures::{Finding, VolumeExposure};
use crate::json_text;
use crate::judge::{ExposureKey, Identity, judge};
use crate::kinds::{Located, PodSpecAt};
use crate::message;
use crate::mutation;
use crate::patches;
use crate::payload::{self, AdmissionRequest, Operation};
use crate::response::ValidationResponse;
use crate::settings::{Mode, Settings};
use crate::sites::{Site, Sites, Subject, scan};
use crate::verdict::{Verdict, reject, respond};
use std::collections::BTreeSet;

/// Evaluates a waPC `validate` payload. Every input yields a response; none panics.
pub fn validate(raw: &[u8]) -> ValidationResponse {
    match payload::parse(raw) {
        Ok((request, settings)) => match Sites::read(request, &settings) {
            Ok((request, sites)) => respond(decide(&request, &sites, &settings, raw)),
            Err(message) => reject(message, Vec::new()),
        },
        Err(error) => reject(error.to_string(), Vec::new()),
    }
}

/// The decision on a request, as a [`Verdict`]: each place of the object judged, the
/// verdicts combined.
pub fn decide<'a>(
    request: &'a AdmissionRequest<'a>,
    sites: &'a Sites<'a>,
    settings: &Settings,
    raw: &'a [u8],
) -> Verdict<'a> {
    if !sites.inspected {
        return Verdict::accept(Vec::new());
    }
    let update = match request.operation() {
        Operation::Create => false,
        Operation::Update => true,
        Operation::Other => return Verdict::accept(Vec::new()),
    };
    if sites.missing_object {
        return Verdict::reject(
            format!(
                "cannot read the request: request.object is missing from a {} {}",
                request.operation_name, request.kind.kind
            ),
            Vec::new(),
        );
    }
    // An object is being deleted only if it already was: the API server clears a
    // deletionTimestamp sent with a CREATE after the webhooks, and an UPDATE that sets one can
    // still change the spec.
    let being_deleted = update
        && sites
            .old_meta
            .as_ref()
            .is_some_and(|old| old.deletion_timestamp.is_some());
    if being_deleted {
        return Verdict::accept(Vec::new());
    }
    let problems = subset_problems(sites, raw, update);
    if !problems.is_empty() {
        let name = message::object_name(&request.kind.kind, &sites.meta);
        return Verdict::reject(message::subset_patches(&name, &problems), Vec::new());
    }
    let mut verdicts = sites
        .sites
        .iter()
        .map(|site| decide_site(request, sites, site, update, settings, raw));
    match (verdicts.next(), verdicts.next()) {
        (None, _) => Verdict::accept(Vec::new()),
        (Some(only), None) => only,
        (Some(first), Some(second)) => combine([first, second].into_iter().chain(verdicts)),
    }
}

/// The subset patches of an OpenKruise UnitedDeployment that can change what was judged: Kruise
/// merges them into the workloads it makes, after admission. What the old object had already
/// is not what this request adds.
pub fn subset_problems(sites: &Sites, raw: &[u8], update: bool) -> Vec<(String, String)> {
    let united = |old: bool| -> Vec<&Located> {
        let subjects = sites.sites.iter().filter_map(|site| match old {
            false => Some(&site.new),
            true => site.old.as_ref(),
        });
        subjects
            .filter_map(|subject| match subject {
                Subject::PodSpec(located) if matches!(located.at, PodSpecAt::United(_)) => {
                    Some(&**located)
                }
                _ => None,
            })
            .collect()
    };
    let of = |old: bool| match (united(old), payload::object_text(raw, old)) {
        (located, Some(text)) if !located.is_empty() => {
            patches::subset_problems(&located, text.get().as_bytes())
        }
        _ => Vec::new(),
    };
    let mut problems = of(false);
    if update && !problems.is_empty() {
        let before = of(true);
        problems.retain(|problem| !before.contains(problem));
    }
    problems
}

/// The verdicts of several places of one object as one: rejected if any place is, else
/// mutated where any place is, with every warning and audit value.
fn combine<'a>(verdicts: impl Iterator<Item = Verdict<'a>>) -> Verdict<'a> {
    let (mut messages, mut warnings, mut exempted) = (Vec::new(), Vec::new(), Vec::new());
    let (mut mutated, mut removals) = (None, Vec::new());
    for verdict in verdicts {
        match verdict {
            Verdict::Accept {
                warnings: w,
                exempted: e,
            } => {
                warnings.extend(w);
                exempted.extend(e);
            }
            Verdict::Reject {
                message,
                warnings: w,
            } => {
                messages.push(message);
                warnings.extend(w);
            }
            Verdict::Mutate {
                object,
                removals: more,
                warnings: w,
                exempted: e,
            } => {
                mutated = Some(object);
                removals.extend(more);
                warnings.extend(w);
                exempted.extend(e);
            }
        }
    }
    match (messages.is_empty(), mutated) {
        (false, _) => Verdict::reject(messages.join("\n"), warnings),
        (true, Some(object)) => Verdict::Mutate {
            object,
            removals,
            warnings,
            exempted,
        },
        (true, None) => Verdict::Accept { warnings, exempted },
    }
}

/// The decision on one place of the request's object.
fn decide_site<'a>(
    request: &'a AdmissionRequest<'a>,
    sites: &'a Sites<'a>,
    site: &'a Site<'a>,
    update: bool,
    settings: &Settings,
    raw: &'a [u8],
) -> Verdict<'a> {
    let meta = &sites.meta;
    let at = site.new.pod_spec_at();
    let mut name = message::object_name(&request.kind.kind, meta);
    if let (true, Some(at)) = (sites.discovered, at) {
        name = message::discovered(&name, &at.path());
    }
    let catalog = settings.catalog();
    let namespace = sites.namespace(request);
    let exposures = scan(&site.new, &catalog);
    if let Subject::PodSpec(located) = &site.new {
        let mut problems = patches::problems(located);
        // What the old object had already is not what this request adds.
        if let (true, Some(Subject::PodSpec(old))) = (update, &site.old) {
            let before = patches::problems(old);
            problems.retain(|problem| !before.contains(problem));
        }
        if !problems.is_empty() {
            return Verdict::reject(message::pod_spec_patches(&name, &problems), Vec::new());
        }
    }
    let judged = judge(exposures, settings, namespace);
    let persistent_volume = at.is_none();
    let mut warnings: Vec<String> = judged
        .warned
        .iter()
        .map(|v| message::warning("", v, persistent_volume))
        .collect();
    warnings.extend(
        judged
            .exempted
            .iter()
            .map(|e| message::exempted(&e.volume, e.reason, persistent_volume)),
    );
    let exempted: Vec<String> = judged
        .exempted
        .iter()
        .map(|e| message::exempted_audit(&e.volume, e.reason))
        .collect();
    if judged.violations.is_empty() {
        return Verdict::Accept { warnings, exempted };
    }

    let identity = match at {
        Some(at) if at.is_pod() => Identity::WithImage,
        _ => Identity::WithoutImage,
    };
    let old = match (update, &site.old) {
        (true, Some(old)) => judge(scan(old, &catalog), settings, namespace).keys(identity),
        _ => BTreeSet::new(),
    };
    let (mut new, existing) = split_new(judged.violations, &old, identity);
    let existing_warnings: Vec<String> = existing
        .iter()
        .map(|v| {
            message::warning(
                "pre-existing exposure left unchanged: ",
                v,
                persistent_volume,
            )
        })
        .collect();

    // Mutate mode removes what it can of what the request introduces. A Pod's volumes and
    // mounts are immutable, so a Pod UPDATE is judged as in reject mode.
    let mut removals = Vec::new();
    let mut blocking_existing = existing;
    if let (Mode::Mutate, Some(at)) = (settings.mode, at)
        && !(update && at.is_pod())
    {
        let (planned, remaining) = mutation::plan(new);
        new = remaining;
        blocking_existing = mutation::plan(blocking_existing).1;
        match meta.controller().filter(|_| !at.is_pod()) {
            Some(owner) => warnings.extend(planned.iter().map(|removal| {
                format!(
                    "{name} is controlled by {} {:?}, so it is not mutated (its controller would \
                     replace it); its Pods are mutated when they are created: {}",
                    message::shown(&owner.kind),
                    owner.name,
                    message::removal(removal, "would remove")
                )
            })),
            None => removals = planned,
        }
    }

    if !new.is_empty() {
        let says = if update {
            " adds an exposure of a container runtime socket through hostPath volumes:"
        } else {
            " exposes a container runtime socket through hostPath volumes:"
        };
        return Verdict::reject(
            message::rejection(&name, says, &new, persistent_volume),
            warnings,
        );
    }
    if let Some(at) = at
        && !at.is_pod()
        && !blocking_existing.is_empty()
        && template_changed(raw, at)
    {
        let says = " changes its pod template, and the Pods it would create still expose a \
                    container runtime socket (they would be rejected):";
        return Verdict::reject(
            message::rejection(&name, says, &blocking_existing, false),
            warnings,
        );
    }
    warnings.extend(existing_warnings);
    if removals.is_empty() {
        return Verdict::Accept { warnings, exempted };
    }
    // The object's text, read again only here: the pass over the payload read it in place.
    match payload::object_text(raw, false) {
        Some(object) => Verdict::Mutate {
            object: object.get().as_bytes(),
            removals,
            warnings,
            exempted,
        },
        None => Verdict::reject(
            "cannot remove the socket mounts: the object's text cannot be read".to_string(),
            warnings,
        ),
    }
}

/// Splits violations into the volumes with an exposure that `old` did not have (keeping only
/// the new findings) and the volumes whose exposures were all there before.
fn split_new<'a>(
    violations: Vec<VolumeExposure<'a>>,
    old: &BTreeSet<ExposureKey<'a>>,
    identity: Identity,
) -> (Vec<VolumeExposure<'a>>, Vec<VolumeExposure<'a>>) {
    if old.is_empty() {
        return (violations, Vec::new());
    }
    let (mut new, mut existing) = (Vec::new(), Vec::new());
    for volume in violations {
        let is_new = |finding: &Finding<'a>| {
            let key = |container| (volume.volume, finding.path.clone(), container);
            // A container that reaches the volume without mounting it reaches what it exposes.
            let reachers = volume.reached_by.iter().map(|(container, _)| container);
            if finding.containers.is_empty() && volume.reached_by.is_empty() {
                !old.contains(&key(None))
            } else {
                finding
                    .containers
                    .iter()
                    .chain(reachers)
                    .any(|container| !old.contains(&key(Some(identity.of(container)))))
            }
        };
        if volume.findings.iter().any(is_new) {
            new.push(volume);
        } else {
            existing.push(volume);
        }
    }
    (new, existing)
}

/// True when the pod template of an UPDATE differs from the old one in any field. Only this
/// rare path (an update of a workload that already exposes a socket) compares whole templates.
fn template_changed(raw: &[u8], at: PodSpecAt) -> bool {
    let keys = at.template_keys();
    let template = |old| json_text::at(payload::object_text(raw, old)?.get().as_bytes(), keys);
    match (template(false), template(true)) {
        (Some(new), Some(old)) => !json_text::same(new, old),
        (new, old) => new.is_some() != old.is_some(),
    }
}
