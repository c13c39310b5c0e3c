//! Host-path normalization and classification: every reading of any string (and of any split
//! of it into a volume path and a subPath) is well formed, and classifying it never panics.
#![no_main]

use docker_socket_policy::HostPath;
use docker_socket_policy::{Runtime, SocketCatalog};
use libfuzzer_sys::fuzz_target;

const ALL: &[Runtime] = &[
    Runtime::Docker,
    Runtime::Containerd,
    Runtime::Crio,
    Runtime::Podman,
];

fn check(readings: Vec<HostPath>) {
    assert!(!readings.is_empty(), "a path has at least one reading");
    for reading in &readings {
        if let HostPath::Unix(components) = reading {
            for component in components {
                assert!(
                    !component.is_empty() && *component != "." && *component != "..",
                    "unnormalized component {component:?} in {reading}"
                );
                assert!(!component.contains('/'));
            }
        }
    }
    let extra = ["/opt/agent/api.sock".to_string()];
    for catalog in [
        SocketCatalog::new(&ALL[..1], &[]),
        SocketCatalog::new(ALL, &extra),
    ] {
        let (chosen, _) = catalog.classify_worst(readings.clone());
        assert!(readings.contains(&chosen), "the verdict comes from a reading");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(HostPath::readings(text));
    if let Some((base, sub_path)) = text.split_once('\u{0}') {
        check(HostPath::readings_joined(base, sub_path));
    }
});
