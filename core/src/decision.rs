//! The admission decision: which exposures are violations under the settings, and what CREATE
//! and UPDATE do with them.

use crate::exemptions::{self, Exempted};
use crate::exposures::{ContainerRef, Finding, Reach, VolumeExposure, scan_pod_spec};
use crate::host_path::HostPath;
use crate::json_text;
use crate::kinds::{self, Located, PodSpecAt, Target};
use crate::message;
use crate::mutation;
use crate::patches;
use crate::payload::{self, AdmissionRequest, Object, Operation};
use crate::request::{
    ObjectMeta, ObjectRead, PartError, PersistentVolumeSpec, Spec, read_at, read_object,
};
use crate::response::ValidationResponse;
use crate::settings::{DirectoryMounts, Mode, Settings, UnknownKinds};
use crate::sockets::{Exposure, SocketCatalog};
use serde::Serialize;
use serde_json::value::RawValue;
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

/// What the policy judges in an object: a pod spec at its place, or a PersistentVolume's spec.
#[derive(Debug)]
pub enum Subject<'a> {
    // Boxed: a pod spec is large, and most requests have one.
    PodSpec(Box<Located<'a>>),
    PersistentVolume(PersistentVolumeSpec<'a>),
}

impl Subject<'_> {
    fn pod_spec_at(&self) -> Option<PodSpecAt> {
        match self {
            Subject::PodSpec(located) => Some(located.at),
            Subject::PersistentVolume(_) => None,
        }
    }
}

/// One place the policy judges, in the object and in the old object of an UPDATE.
#[derive(Debug)]
pub struct Site<'a> {
    pub new: Subject<'a>,
    pub old: Option<Subject<'a>>,
}

/// Every place of a request's object the policy judges, read at its kind's places, with the
/// metadata of the object and of the old object.
#[derive(Debug, Default)]
pub struct Sites<'a> {
    pub sites: Vec<Site<'a>>,
    /// Found by searching an object of a kind the policy does not know (`unknownKinds: scan`).
    pub discovered: bool,
    /// The object's kind is one the policy reads (or one it searched).
    pub inspected: bool,
    pub meta: ObjectMeta<'a>,
    /// Read for an UPDATE only.
    pub old_meta: Option<ObjectMeta<'a>>,
    /// A creation or update came without its object.
    pub missing_object: bool,
}

/// A PersistentVolume as the pass over the payload read it, or read from its text.
fn pv_read(object: Object) -> Result<ObjectRead<PersistentVolumeSpec>, PartError> {
    match object {
        Object::PersistentVolume(read) => Ok(read),
        Object::Text(text) => read_object(text, &[&["spec"]]),
        Object::PodSpecs(_) => unreachable!("the kind of a PersistentVolume has its row"),
    }
}

/// An object with pod specs as the pass over the payload read it, or read from its text.
fn pods_read<'a>(
    object: Object<'a>,
    places: &[PodSpecAt],
) -> Result<ObjectRead<'a, Spec<'a>>, PartError> {
    match object {
        Object::PodSpecs(read) => Ok(read),
        Object::Text(text) => {
            let keys: Vec<&'static [&'static str]> = places.iter().map(PodSpecAt::keys).collect();
            read_object(text, &keys)
        }
        Object::PersistentVolume(_) => unreachable!("the kind of a PersistentVolume has its row"),
    }
}

/// How a message names the objects of a request.
const OBJECT: &str = "request.object";
const OLD_OBJECT: &str = "request.oldObject";

fn unreadable(object: &str) -> impl Fn(PartError) -> String + '_ {
    move |error| format!("cannot read the request: {}", error.locate(object))
}

impl<'a> Sites<'a> {
    /// Reads the places of the object (and of the old object) that the kind's row names, each
    /// object in one pass with its metadata (most were read so in the pass over the payload).
    /// A place of a known kind that is not what the row says is an error; a candidate place of
    /// an unknown kind that is not a pod template that lists containers is passed over.
    pub fn read(
        mut request: AdmissionRequest<'a>,
        settings: &Settings,
    ) -> Result<(AdmissionRequest<'a>, Sites<'a>), String> {
        let known = kinds::target(&request.kind.group, &request.kind.kind);
        let (target, discovered) = match (known, settings.unknown_kinds) {
            (Some(target), _) => (target, false),
            (None, UnknownKinds::Scan) => (Target::PodSpecs(kinds::CANDIDATES), true),
            (None, UnknownKinds::Ignore) => return Ok((request, Sites::default())),
        };
        let mut sites = Sites {
            discovered,
            inspected: !discovered,
            ..Sites::default()
        };
        let judged = matches!(request.operation(), Operation::Create | Operation::Update);
        let (Some(object), true) = (request.object.take(), judged) else {
            sites.missing_object = judged;
            return Ok((request, sites));
        };
        let old = match request.operation() {
            Operation::Update => request.old_object.take(),
            _ => None,
        };
        // Left as read, for what the request is asked later.
        let placed = |sites: &mut Sites<'a>, new: Subject<'a>, old: Option<Subject<'a>>| {
            sites.sites.push(Site { new, old });
        };
        match target {
            Target::PersistentVolume => {
                let new = pv_read(object).map_err(unreadable(OBJECT))?;
                let old = old
                    .map(pv_read)
                    .transpose()
                    .map_err(unreadable(OLD_OBJECT))?;
                sites.meta = new.meta;
                let old_spec = old.and_then(|old| {
                    sites.old_meta = Some(old.meta);
                    old.found.into_iter().next().flatten()
                });
                if let Some(spec) = new.found.into_iter().next().flatten() {
                    let old = old_spec.map(Subject::PersistentVolume);
                    placed(&mut sites, Subject::PersistentVolume(spec), old);
                }
            }
            Target::PodSpecs(places) if discovered => {
                let Object::Text(object) = object else {
                    unreachable!("an object of a kind the policy does not know is kept as text")
                };
                let old = old.and_then(|old| match old {
                    Object::Text(old) => Some(old),
                    _ => None,
                });
                sites.meta = read_object::<Spec>(object, &[])
                    .map_err(unreadable(OBJECT))?
                    .meta;
                if let Some(old) = old {
                    let read = read_object::<Spec>(old, &[]).map_err(unreadable(OLD_OBJECT))?;
                    sites.old_meta = Some(read.meta);
                }
                // Each candidate apart: what is not a pod template there is passed over.
                let candidate = |text, at: PodSpecAt| match read_at::<Spec>(text, at.keys()) {
                    Ok(Some(spec)) if spec.has_containers() => Some(Located::new(at, spec)),
                    _ => None,
                };
                for &at in places {
                    let Some(new) = candidate(object, at) else {
                        continue;
                    };
                    let old = old.and_then(|old| candidate(old, at));
                    let old = old.map(|old| Subject::PodSpec(Box::new(old)));
                    placed(&mut sites, Subject::PodSpec(Box::new(new)), old);
                }
            }
            Target::PodSpecs(places) => {
                let new = pods_read(object, places).map_err(unreadable(OBJECT))?;
                let old = old
                    .map(|old| pods_read(old, places))
                    .transpose()
                    .map_err(unreadable(OLD_OBJECT))?;
                sites.meta = new.meta;
                let mut old_found = match old {
                    Some(old) => {
                        sites.old_meta = Some(old.meta);
                        old.found
                    }
                    None => Vec::new(),
                }
                .into_iter();
                for (&at, new) in places.iter().zip(new.found) {
                    let old = old_found.next().flatten();
                    let Some(new) = new else {
                        continue;
                    };
                    let subject = |spec| Subject::PodSpec(Box::new(Located::new(at, spec)));
                    placed(&mut sites, subject(new), old.map(subject));
                }
            }
        }
        sites.inspected |= !sites.sites.is_empty();
        Ok((request, sites))
    }

    /// The namespace of the request (the API server refuses an object whose own namespace
    /// differs, so the object's is only a fallback for hand-written requests).
    pub fn namespace<'s>(&'s self, request: &'s AdmissionRequest) -> &'s str {
        match request.namespace.is_empty() {
            false => &request.namespace,
            true => self.meta.namespace.as_deref().unwrap_or_default(),
        }
    }
}

/// What the policy decided about a request, before it becomes the SDK's response.
#[derive(Debug)]
pub enum Verdict<'a> {
    Accept {
        warnings: Vec<String>,
        /// `volume: reason` of each exposure an exemption admitted, for the audit log.
        exempted: Vec<String>,
    },
    Reject {
        message: String,
        warnings: Vec<String>,
    },
    /// Accept the object (its text) with each place's removals taken out of its pod spec.
    Mutate {
        object: &'a [u8],
        removals: Vec<mutation::Removal<'a>>,
        warnings: Vec<String>,
        exempted: Vec<String>,
    },
}

impl Verdict<'_> {
    fn accept(warnings: Vec<String>) -> Self {
        Verdict::Accept {
            warnings,
            exempted: Vec::new(),
        }
    }

    fn reject(message: String, warnings: Vec<String>) -> Self {
        Verdict::Reject { message, warnings }
    }
}

/// The SDK's response to a verdict.
fn respond(verdict: Verdict) -> ValidationResponse {
    match verdict {
        Verdict::Accept { warnings, exempted } => {
            let mut response = accept(warnings);
            annotate(&mut response, "exempted-socket-mounts", &exempted);
            response
        }
        Verdict::Reject { message, warnings } => reject(message, warnings),
        Verdict::Mutate {
            object,
            removals,
            warnings,
            exempted,
        } => {
            let mut response = mutate(object, &removals, warnings);
            annotate(&mut response, "exempted-socket-mounts", &exempted);
            response
        }
    }
}

/// Adds an audit annotation listing `values`, if there are any.
fn annotate(response: &mut ValidationResponse, key: &str, values: &[String]) {
    if !values.is_empty() {
        response
            .audit_annotations
            .get_or_insert_with(Vec::new)
            .push((key.to_string(), values.join(", ")));
    }
}

/// The exposures of one object, sorted by what the settings make of them.
#[derive(Debug, Default)]
pub struct Judged<'a, 's> {
    /// Exposures that are refused (or removed in mutate mode).
    pub violations: Vec<VolumeExposure<'a>>,
    /// Directory exposures accepted with a warning (`directoryMounts: warn`).
    pub warned: Vec<VolumeExposure<'a>>,
    /// Exposures an `exemptions` rule admits, accepted with a warning that gives its reason.
    pub exempted: Vec<Exempted<'a, 's>>,
}

/// (volume, host path reached, container) of every violation; `None` for a volume that no
/// container reaches. An UPDATE that adds one of these adds an exposure.
pub type ExposureKey<'a> = (&'a str, HostPath<'a>, Option<ContainerRef<'a>>);

/// What makes an exposure the same one across an UPDATE. In a Pod, a container that keeps
/// its name but changes its image is a new program with the socket; a workload's new image is
/// judged by its template change and, when its Pods are created, in each Pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    WithImage,
    WithoutImage,
}

impl Identity {
    fn of<'a>(self, container: &ContainerRef<'a>) -> ContainerRef<'a> {
        match self {
            Identity::WithImage => *container,
            Identity::WithoutImage => ContainerRef {
                image: "",
                ..*container
            },
        }
    }
}

impl<'a> Judged<'a, '_> {
    pub fn keys(&self, identity: Identity) -> BTreeSet<ExposureKey<'a>> {
        let mut keys = BTreeSet::new();
        for volume in &self.violations {
            for finding in &volume.findings {
                if finding.containers.is_empty() {
                    keys.insert((volume.volume, finding.path.clone(), None));
                }
                let reachers = volume.reached_by.iter().map(|(container, _)| container);
                for container in finding.containers.iter().chain(reachers) {
                    keys.insert((
                        volume.volume,
                        finding.path.clone(),
                        Some(identity.of(container)),
                    ));
                }
            }
        }
        keys
    }
}

/// Applies `allowedImages`, `exemptions` (in `namespace`) and `directoryMounts` to the
/// exposures of an object.
pub fn judge<'a, 's>(
    volumes: Vec<VolumeExposure<'a>>,
    settings: &'s Settings,
    namespace: &str,
) -> Judged<'a, 's> {
    let (mut warned_volumes, mut exempted) = (Vec::new(), Vec::new());
    // The violations are collected into the allocation of `volumes` (an in-place collect).
    let violations = volumes
        .into_iter()
        .filter_map(|volume| {
            // Every container that can reach the volume must run an allowed image.
            let allowed = !volume.mounted_by.is_empty()
                && volume
                    .reaching_images()
                    .all(|image| settings.image_allowed(image));
            if allowed {
                return None;
            }
            let (admitted, rest) = exemptions::apply(&settings.exemptions, namespace, volume);
            exempted.extend(admitted);
            let volume = rest?;
            let violates = |finding: &Finding| {
                finding.exposure.is_socket() || settings.directory_mounts == DirectoryMounts::Reject
            };
            let (violating, warned): (Vec<Finding>, Vec<Finding>) =
                if volume.findings.iter().all(violates) {
                    (volume.findings, Vec::new())
                } else {
                    let (violating, rest) = volume.findings.into_iter().partition(violates);
                    let warned = match settings.directory_mounts {
                        DirectoryMounts::Warn => rest,
                        _ => Vec::new(),
                    };
                    (violating, warned)
                };
            let VolumeExposure {
                volume: name,
                at,
                mounts,
                host_path,
                mut mounted_by,
                mut reached_by,
                ..
            } = volume;
            let with = |findings, mounted_by, reached_by| VolumeExposure {
                volume: name,
                at,
                mounts: mounts.clone(),
                host_path,
                findings,
                mounted_by,
                reached_by,
            };
            if !warned.is_empty() {
                // Copied only for a volume that is in both lists.
                let (warned_by, warned_reached) = match violating.is_empty() {
                    true => (
                        std::mem::take(&mut mounted_by),
                        std::mem::take(&mut reached_by),
                    ),
                    false => (mounted_by.clone(), reached_by.clone()),
                };
                warned_volumes.push(with(warned, warned_by, warned_reached));
            }
            (!violating.is_empty()).then(|| with(violating, mounted_by, reached_by))
        })
        .collect();
    Judged {
        violations,
        warned: warned_volumes,
        exempted,
    }
}

/// Every exposure of a subject.
pub fn scan<'a, 's>(subject: &'a Subject<'s>, catalog: &SocketCatalog) -> Vec<VolumeExposure<'a>> {
    match subject {
        Subject::PodSpec(located) => scan_pod_spec(&located.parts(), catalog),
        // The kubelet bind-mounts a `local` PersistentVolume exactly as a hostPath one.
        Subject::PersistentVolume(spec) => [("hostPath", &spec.host_path), ("local", &spec.local)]
            .into_iter()
            .filter_map(|(field, source)| {
                let source = source.as_ref()?;
                let (path, exposure) = catalog.classify_worst(HostPath::readings(&source.path));
                Some(VolumeExposure {
                    volume: field,
                    at: None,
                    mounts: Vec::new(),
                    host_path: &source.path,
                    findings: vec![Finding {
                        reach: Reach::Whole,
                        path,
                        exposure: exposure?,
                        containers: Vec::new(),
                        mounts: Vec::new(),
                    }],
                    mounted_by: Vec::new(),
                    reached_by: Vec::new(),
                })
            })
            .collect(),
    }
}

/// The decision on a request, as a [`Verdict`]: each place of the object judged, the
/// verdicts combined.
fn decide<'a>(
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
                    removal.describe("would remove")
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
    match (at, payload::object_text(raw, false)) {
        (Some(_), Some(object)) if !removals.is_empty() => Verdict::Mutate {
            object: object.get().as_bytes(),
            removals,
            warnings,
            exempted,
        },
        (Some(_), None) if !removals.is_empty() => Verdict::reject(
            "cannot remove the socket mounts: the object's text cannot be read".to_string(),
            warnings,
        ),
        _ => Verdict::Accept { warnings, exempted },
    }
}

/// Removes `removals` from the request's object (its text) and answers with the mutated
/// object.
fn mutate(
    object: &[u8],
    removals: &[mutation::Removal],
    mut warnings: Vec<String>,
) -> ValidationResponse {
    let text = match mutation::apply(object, removals) {
        Ok(text) => text,
        Err(error) => {
            return reject(
                format!("cannot remove the socket mounts: {error}"),
                warnings,
            );
        }
    };
    let object = match String::from_utf8(text) {
        Ok(object) => object,
        Err(_) => {
            return reject(
                "cannot remove the socket mounts: the object is not UTF-8".to_string(),
                warnings,
            );
        }
    };
    let removals = removals.iter();
    let removed: Vec<String> = removals.clone().map(|r| r.audit()).collect();
    warnings.splice(0..0, removals.map(|r| r.describe("removed")));
    let mut response = accept(warnings);
    response.mutated_object = match RawValue::from_string(object) {
        Ok(object) => Some(object),
        Err(error) => {
            return reject(
                format!("cannot remove the socket mounts: the result is not JSON: {error}"),
                Vec::new(),
            );
        }
    };
    annotate(&mut response, "removed-socket-mounts", &removed);
    response
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

fn accept(warnings: Vec<String>) -> ValidationResponse {
    ValidationResponse {
        accepted: true,
        message: None,
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
    }
}

fn reject(message: String, warnings: Vec<String>) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(message),
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
    }
}

/// What the settings make of an exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Reject,
    Warn,
    /// Admitted by an exemption.
    Exempt,
}

/// What a finding exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
            findings.extend(patches::problems(located).into_iter().map(|(at, problem)| {
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
            }));
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

#[cfg(test)]
mod tests {
    use super::*;

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
