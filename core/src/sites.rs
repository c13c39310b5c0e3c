//! What the policy judges in a request's object: the places its kind's row names, read (most
//! of them in the pass over the payload), and the exposures found there.

use crate::exposures::{Finding, Reach, VolumeExposure, scan_pod_spec};
use crate::host_path::HostPath;
use crate::kinds::{self, Located, PodSpecAt, Target};
use crate::payload::{AdmissionRequest, Object, Operation};
use crate::request::{
    ObjectMeta, ObjectRead, PartError, PersistentVolumeSpec, Spec, read_at, read_object,
};
use crate::settings::{Settings, UnknownKinds};
use crate::sockets::SocketCatalog;

/// What the policy judges in an object: a pod spec at its place, or a PersistentVolume's spec.
#[derive(Debug)]
pub enum Subject<'a> {
    // Boxed: a pod spec is large, and most requests have one.
    PodSpec(Box<Located<'a>>),
    PersistentVolume(PersistentVolumeSpec<'a>),
}

impl Subject<'_> {
    pub fn pod_spec_at(&self) -> Option<PodSpecAt> {
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
