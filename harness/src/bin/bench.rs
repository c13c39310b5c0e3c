//! `make bench`: what the policy costs per request, against the floor of reading the request once.
//!
//! Loads the release policy module and the floor module (a guest that only parses the payload
//! into `IgnoredAny`) once in the harness, and for generated Pods and Deployments of about
//! 2 KB, 20 KB, 200 KB and 1 MB, each without and with an exposure, measures:
//! - `validate` on a warm instance (median, p99), in wasmtime configured as policy-server
//!   configures it (epoch interruption for its timeout), and the ratio to the floor again as
//!   kwctl configures it (without);
//! - a request served the way policy-server serves it: a fresh instance from the pre-compiled
//!   module (`rehydrate`), `wapc_init`, one `validate`;
//! - the same decision code natively;
//! - module size, compile time and the guest's linear memory after the largest request.
//!
//! Prints a table and writes the figures as JSON (`--json PATH`, default bench-results.json).

use harness::{Host, Module};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Each measurement runs for about this long (at least `MIN_RUNS`, at most `MAX_RUNS` calls).
const BUDGET: Duration = Duration::from_millis(400);
const MIN_RUNS: usize = 15;
const MAX_RUNS: usize = 20_000;

/// The benchmark's options (`make bench` passes them).
#[derive(clap::Parser)]
#[command(
    name = "bench",
    about = "What the policy costs per request, against the floor"
)]
struct Options {
    /// The policy module.
    #[arg(long, default_value = "policy.wasm")]
    policy: PathBuf,
    /// The floor module; any module: `--floor base.wasm` compares two builds, call by call.
    #[arg(long, default_value = "floor.wasm")]
    floor: PathBuf,
    /// Where to write the figures.
    #[arg(long, default_value = "bench-results.json")]
    json: PathBuf,
    /// policy-server, to measure through it.
    #[arg(long)]
    policy_server: Option<PathBuf>,
    /// The floor built to reject, annotated, for the exposed Pods through policy-server.
    #[arg(long)]
    floor_rejecting: Option<PathBuf>,
    /// kwctl, for `kwctl bench` rows.
    #[arg(long)]
    kwctl: Option<PathBuf>,
    /// The policy annotated for kwctl and policy-server (`make annotated-policy.wasm`).
    #[arg(long)]
    annotated_policy: Option<PathBuf>,
    /// The floor annotated likewise.
    #[arg(long)]
    annotated_floor: Option<PathBuf>,
    /// dsp, to time `dsp scan` of generated Lists of 20,000 and 100,000 Pods.
    #[arg(long)]
    dsp: Option<PathBuf>,
    /// Only the `dsp scan` figures.
    #[arg(long, requires = "dsp")]
    scan_only: bool,
    /// Write the benchmark's requests (in engine order) to a directory, and stop.
    #[arg(long, value_name = "DIR")]
    write_payloads: Option<PathBuf>,
}

fn main() {
    let options = <Options as clap::Parser>::parse();
    if let Some(dir) = &options.write_payloads {
        return write_payloads(dir);
    }
    let (policy, floor, json_path, dsp, scan_only) = (
        options.policy,
        options.floor,
        options.json,
        options.dsp,
        options.scan_only,
    );
    let engine = Engine {
        policy_server: options.policy_server,
        floor_rejecting: options.floor_rejecting,
        kwctl: options.kwctl,
        annotated_policy: options.annotated_policy,
        annotated_floor: options.annotated_floor,
    };
    let scan = dsp.as_deref().map(scan_benchmark);
    if scan_only {
        let results = serde_json::to_string_pretty(&json!({"scan": scan})).unwrap();
        std::fs::write(&json_path, results + "\n").unwrap();
        return;
    }
    let load = |path: &Path, host| Module::load_for(path, host).unwrap_or_else(|e| panic!("{e}"));
    let (policy_kwctl, floor_kwctl) = (load(&policy, Host::Kwctl), load(&floor, Host::Kwctl));
    let policy = load(&policy, Host::PolicyServer);
    let floor = load(&floor, Host::PolicyServer);

    println!(
        "modules: policy {} bytes, compiled in {:.0} ms; floor {} bytes, compiled in {:.0} ms",
        policy.size,
        ms(policy.compile_time),
        floor.size,
        ms(floor.compile_time)
    );
    println!(
        "times in µs, median / p99; ratio = median of policy / floor over alternating calls; \
         {} ms per pair of cells; wasmtime configured as policy-server configures it (epoch \
         interruption), but for the kwctl column: the warm ratio without it, as kwctl runs\n",
        (BUDGET * 2).as_millis()
    );
    println!(
        "{:<22} {:>9} {:>8} | {:>17} {:>17} {:>5} | {:>5} | {:>17} {:>17} {:>5} | {:>15} | {:>7}",
        "request",
        "bytes",
        "verdict",
        "policy warm",
        "floor warm",
        "ratio",
        "kwctl",
        "policy fresh",
        "floor fresh",
        "ratio",
        "native",
        "µs/KB"
    );

    let mut rows = Vec::new();
    let mut largest: Option<Vec<u8>> = None;
    for kind in ["Pod", "Deployment"] {
        for target in [2_000, 20_000, 200_000, 1_000_000] {
            for exposed in [false, true] {
                let payload = payload_of_size(kind, target, exposed);
                let verdict = verdict(&policy, &payload);
                assert_eq!(
                    verdict == "reject",
                    exposed,
                    "{kind} {target}: unexpected verdict {verdict}"
                );
                let (warm_policy, warm_floor, warm_ratio) = warm(&policy, &floor, &payload);
                let (_, _, kwctl_ratio) = warm(&policy_kwctl, &floor_kwctl, &payload);
                let (fresh_policy, fresh_floor, fresh_ratio) = fresh(&policy, &floor, &payload);
                let native = measure(|| {
                    std::hint::black_box(docker_socket_policy::evaluate(&payload));
                });
                let name = request_name(kind, target, exposed);
                let per_kb = warm_policy.median / (payload.len() as f64 / 1024.0);
                println!(
                    "{:<22} {:>9} {:>8} | {:>17} {:>17} {:>5.2} | {:>5.2} | {:>17} {:>17} {:>5.2} | {:>15} | {:>7.2}",
                    name,
                    payload.len(),
                    verdict,
                    warm_policy.show(),
                    warm_floor.show(),
                    warm_ratio,
                    kwctl_ratio,
                    fresh_policy.show(),
                    fresh_floor.show(),
                    fresh_ratio,
                    native.show(),
                    per_kb
                );
                rows.push(json!({
                    "request": name,
                    "kind": kind,
                    "bytes": payload.len(),
                    "exposed": exposed,
                    "verdict": verdict,
                    "policy_warm_us": warm_policy.json(),
                    "floor_warm_us": warm_floor.json(),
                    "ratio_warm": warm_ratio,
                    "ratio_warm_kwctl": kwctl_ratio,
                    "policy_fresh_us": fresh_policy.json(),
                    "floor_fresh_us": fresh_floor.json(),
                    "ratio_fresh": fresh_ratio,
                    "native_us": native.json(),
                    "policy_warm_us_per_kb": per_kb,
                }));
                if largest.as_ref().is_none_or(|l| l.len() < payload.len()) {
                    largest = Some(payload);
                }
            }
        }
    }

    let largest = largest.expect("at least one request");
    eprintln!(
        "searching the smallest memory limit for the largest request: the guests report the \
         allocations that fail on the way on stderr"
    );
    let policy_memory = policy
        .memory_after("validate", &largest)
        .unwrap_or_else(|e| panic!("{e}"));
    let floor_memory = floor
        .memory_after("validate", &largest)
        .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "\nlinear memory after the largest request ({} bytes): policy {} KiB, floor {} KiB",
        largest.len(),
        policy_memory / 1024,
        floor_memory / 1024
    );
    let scaling: Vec<Value> = ["pod", "deployment"]
        .iter()
        .flat_map(|kind| [false, true].map(|exposed| (kind, exposed)))
        .map(|(kind, exposed)| {
            let row = |size: &str| {
                let name = format!("{kind}-{size}{}", if exposed { "-exposed" } else { "" });
                rows.iter().find(|r| r["request"] == name.as_str()).cloned().unwrap_or_default()
            };
            let (large, small) = (row("1MB"), row("20KB"));
            let per_kb = |r: &Value| r["policy_warm_us_per_kb"].as_f64().unwrap_or(f64::NAN);
            let ratio = per_kb(&large) / per_kb(&small);
            // The same against the floor, which reads the request linearly: insensitive to the
            // machine's speed drifting between the two rows.
            let ratio_vs_floor = large["ratio_warm"].as_f64().unwrap_or(f64::NAN)
                / small["ratio_warm"].as_f64().unwrap_or(f64::NAN);
            println!(
                "cost per KB at 1 MB / at 20 KB, {kind}{}: {ratio:.2} (relative to the floor: {ratio_vs_floor:.2})",
                if exposed { " exposed" } else { "" }
            );
            json!({"kind": kind, "exposed": exposed, "per_kb_1mb_over_20kb": ratio,
                   "per_kb_1mb_over_20kb_vs_floor": ratio_vs_floor})
        })
        .collect();
    let engine_rows = engine.run(&policy);
    let results = json!({
        "engine": engine_rows,
        "scan": scan,
        "policy": {"bytes": policy.size, "compile_ms": ms(policy.compile_time), "memory_after_largest_bytes": policy_memory},
        "floor": {"bytes": floor.size, "compile_ms": ms(floor.compile_time), "memory_after_largest_bytes": floor_memory},
        "rows": rows,
        "scaling": scaling,
    });
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&results).unwrap() + "\n",
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", json_path.display()));
    println!("figures written to {}", json_path.display());
}

/// The real engine, when `make bench` finds it: the same requests through policy-server
/// (requests per second over HTTP, floor and policy alternating request by request) and
/// `kwctl bench`.
#[derive(Default)]
struct Engine {
    policy_server: Option<PathBuf>,
    /// The floor built to reject, annotated (`make annotated-floor-rejecting.wasm`), for the
    /// exposed Pods.
    floor_rejecting: Option<PathBuf>,
    kwctl: Option<PathBuf>,
    annotated_policy: Option<PathBuf>,
    annotated_floor: Option<PathBuf>,
}

impl Engine {
    /// `policy` is the module as loaded for the tables above, which gives the message the
    /// rejecting floor answers with.
    fn run(&self, policy_module: &Module) -> Value {
        let (Some(policy), Some(floor)) = (&self.annotated_policy, &self.annotated_floor) else {
            println!(
                "\nreal engine: skipped (no annotated modules; make bench finds kwctl and policy-server)"
            );
            return Value::Null;
        };
        let absolute = |p: &PathBuf| {
            std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let (policy, floor) = (absolute(policy), absolute(floor));
        let floor_rejecting = self.floor_rejecting.as_ref().map(absolute);
        let mut out = serde_json::Map::new();
        match &self.policy_server {
            Some(binary) => {
                out.insert(
                    "policy_server".into(),
                    through_policy_server(
                        binary,
                        (&policy, policy_module),
                        &floor,
                        floor_rejecting.as_deref(),
                    ),
                );
            }
            None => println!("\npolicy-server: skipped (not found)"),
        }
        match &self.kwctl {
            Some(kwctl) => {
                out.insert("kwctl_bench".into(), kwctl_bench(kwctl, &policy, &floor));
            }
            None => println!("\nkwctl bench: skipped (not found)"),
        }
        Value::Object(out)
    }
}

/// An AdmissionReview around the request of a `validate` payload.
fn review_of(payload: &[u8]) -> Vec<u8> {
    let payload: Value = serde_json::from_slice(payload).unwrap();
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": payload["request"],
    }))
    .unwrap()
}

fn through_policy_server(
    binary: &Path,
    (policy, policy_module): (&Path, &Module),
    floor: &Path,
    floor_rejecting: Option<&Path>,
) -> Value {
    use harness::policy_server::{PolicyEntry, PolicyServer};
    let entry = |id: &str, module: &Path, settings: Value| PolicyEntry {
        id: id.to_string(),
        module: format!("file://{}", module.display()),
        settings,
        allowed_to_mutate: false,
    };
    // A rejection costs policy-server more than an acceptance (the message goes back in the
    // AdmissionReview): the exposed Pods are compared with a floor that rejects with the
    // policy's own message, the same for every size (it names the first container). Without
    // that floor they are compared with the accepting one, and the table says so.
    let messages = [2_000, 20_000, 200_000].map(|target| {
        answer(policy_module, &payload_of_size("Pod", target, true))["message"].clone()
    });
    assert!(messages.iter().all(|m| m.is_string() && *m == messages[0]));
    let message = messages[0].clone();
    let dir = std::env::temp_dir().join(format!("bench-policy-server-{}", std::process::id()));
    // The floor served twice: the control row, floor against floor, shows how far apart two
    // equal modules measure on this machine.
    let mut entries = vec![
        entry("policy", policy, json!({})),
        entry("floor", floor, json!({})),
        entry("floor-again", floor, json!({})),
    ];
    if let Some(floor_rejecting) = floor_rejecting {
        entries.push(entry(
            "floor-rejecting",
            floor_rejecting,
            json!({"rejectWith": message}),
        ));
    }
    let server =
        PolicyServer::start(binary, &entries, None, &dir).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "\nthrough policy-server, 1 keep-alive connection each, single requests alternating (the \
         order swapped every pair) for {} s and {HTTP_MIN_PAIRS} pairs a row at least; ratio = \
         policy/floor requests per second, with a 95% interval from {HTTP_BLOCKS} blocks of \
         consecutive pairs; for the exposed Pods the floor {}",
        HTTP_ROW.as_secs(),
        if floor_rejecting.is_some() {
            "rejects with the policy's message"
        } else {
            "accepts (no --floor-rejecting)"
        }
    );
    println!(
        "{:<22} {:>9} | {:>12} {:>12} {:>7} {:>13}",
        "request", "bytes", "policy req/s", "floor req/s", "ratio", "95% interval"
    );
    let mut rows = Vec::new();
    for target in [2_000, 20_000, 200_000] {
        for (exposed, control) in [(false, false), (true, false), (false, true)] {
            let body = review_of(&payload_of_size("Pod", target, exposed));
            let mut clients = [server.client().unwrap(), server.client().unwrap()];
            let floor_rejects = exposed && floor_rejecting.is_some();
            let floor_path = if floor_rejects {
                "/validate/floor-rejecting"
            } else {
                "/validate/floor"
            };
            let first = if control {
                "/validate/floor-again"
            } else {
                "/validate/policy"
            };
            let paths = [first, floor_path];
            for (client, path) in clients.iter_mut().zip(paths) {
                let answers: Vec<Value> = (0..HTTP_WARM_UP)
                    .map(|_| {
                        let (code, answer) = client.post(path, &body).unwrap();
                        assert_eq!(code, 200, "{path}: {}", String::from_utf8_lossy(&answer));
                        serde_json::from_slice::<Value>(&answer).unwrap()["response"]["allowed"]
                            .clone()
                    })
                    .collect();
                let expected = if path == floor_path {
                    !floor_rejects
                } else {
                    !exposed
                };
                assert!(
                    answers.iter().all(|a| *a == json!(expected)),
                    "{path}, {target} bytes"
                );
            }
            let figures = alternating_requests(&mut clients, paths, &body);
            let mut name = request_name("Pod", target, exposed);
            if control {
                name.push_str(" floor/floor");
            }
            println!(
                "{name:<22} {:>9} | {:>12.0} {:>12.0} {:>7.3} {:>13}",
                body.len(),
                figures.rates[0],
                figures.rates[1],
                figures.ratio,
                format!("{:.3}-{:.3}", figures.interval.0, figures.interval.1)
            );
            rows.push(json!({
                "request": name, "bytes": body.len(), "policy_rps": figures.rates[0],
                "floor_rps": figures.rates[1], "ratio": figures.ratio,
                "interval_95": [figures.interval.0, figures.interval.1],
                "pairs": figures.pairs, "control": control,
            }));
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Value::Array(rows)
}

/// `kwctl bench` of both annotated modules on the 2 KB and 20 KB Pods: its median `validate`.
fn kwctl_bench(kwctl: &Path, policy: &Path, floor: &Path) -> Value {
    let home = std::env::temp_dir().join(format!("bench-kwctl-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("trust.json"), "{}").unwrap();
    println!("\nkwctl bench (median validate, µs; each run takes about 10 s)");
    println!(
        "{:<22} {:>9} | {:>10} {:>10} {:>7}",
        "request", "bytes", "policy", "floor", "ratio"
    );
    let mut rows = Vec::new();
    for target in [2_000, 20_000] {
        for exposed in [false, true] {
            let payload: Value =
                serde_json::from_slice(&payload_of_size("Pod", target, exposed)).unwrap();
            let request = home.join("request.json");
            std::fs::write(&request, payload["request"].to_string()).unwrap();
            let median = |module: &Path| -> f64 {
                let output = std::process::Command::new(kwctl)
                    .env("HOME", &home)
                    .arg("bench")
                    .arg("--sigstore-trust-config")
                    .arg(home.join("trust.json"))
                    .arg("--request-path")
                    .arg(&request)
                    .args(["--num-samples", "50", "--measurement-time", "1"])
                    .arg(module)
                    .output()
                    .unwrap_or_else(|e| panic!("kwctl bench: {e}"));
                let text = String::from_utf8_lossy(&output.stdout);
                kwctl_median(&text)
                    .unwrap_or_else(|| panic!("no validate median in kwctl bench output: {text}"))
            };
            let (p, f) = (median(policy), median(floor));
            let name = request_name("Pod", target, exposed);
            println!(
                "{name:<22} {:>9} | {p:>10.1} {f:>10.1} {:>7.2}",
                payload["request"].to_string().len(),
                p / f
            );
            rows.push(json!({"request": name, "policy_us": p, "floor_us": f, "ratio": p / f}));
        }
    }
    let _ = std::fs::remove_dir_all(&home);
    Value::Array(rows)
}

/// The median of kwctl bench's `validate` block (`med = 40.38µs`), in µs.
fn kwctl_median(output: &str) -> Option<f64> {
    let plain = strip_ansi_escapes::strip_str(output);
    let block = &plain[plain.rfind("validate [")?..];
    let med = &block[block.find("med = ")? + 6..];
    let end = med.find(',')?;
    let value = med[..end].trim();
    let (number, unit) = value.split_at(value.find(|c: char| c.is_alphabetic())?);
    let number: f64 = number.trim().parse().ok()?;
    Some(match unit {
        "ns" => number / 1000.0,
        "µs" | "us" => number,
        "ms" => number * 1000.0,
        "s" => number * 1_000_000.0,
        _ => return None,
    })
}

/// Writes the `validate` payload of each row, in engine order, to `DIR/<row>.json`: what to
/// profile (CONTRIBUTING.md, "Profiling").
fn write_payloads(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for kind in ["Pod", "Deployment"] {
        for target in [2_000, 20_000, 200_000, 1_000_000] {
            for exposed in [false, true] {
                let path = dir.join(format!("{}.json", request_name(kind, target, exposed)));
                std::fs::write(&path, payload_of_size(kind, target, exposed))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                println!("{}", path.display());
            }
        }
    }
}

/// `pod-20KB`, `deployment-2KB-exposed`: a row of the tables.
fn request_name(kind: &str, target: usize, exposed: bool) -> String {
    let exposed = if exposed { "-exposed" } else { "" };
    format!("{}-{}{exposed}", kind.to_lowercase(), human(target))
}

/// How long each policy-server row alternates requests, after `HTTP_WARM_UP` of each, and the
/// fewest pairs it takes (at 200 KB, 5 s is 150 pairs, and the interval twice as wide).
const HTTP_ROW: Duration = Duration::from_secs(5);
const HTTP_MIN_PAIRS: usize = 400;
const HTTP_WARM_UP: usize = 20;
/// The pairs of a row are cut into this many blocks of consecutive pairs for the interval.
const HTTP_BLOCKS: usize = 20;

/// What [`alternating_requests`] measured: requests per second of each path, their ratio, and
/// its 95% interval.
struct HttpFigures {
    rates: [f64; 2],
    ratio: f64,
    interval: (f64, f64),
    pairs: usize,
}

/// Posts `body` to `paths[0]` and `paths[1]` in turn, one request at a time on each one's own
/// keep-alive connection, as [`harness::alternate`] alternates calls, for `HTTP_ROW` and
/// `HTTP_MIN_PAIRS` at least. A connection that sends its next request when the last is
/// answered serves 1 / (mean latency) requests per second, so the ratio is the floor's total
/// latency over the policy's. Alternating request by request puts both under the same drift of
/// the machine; batches of a quarter second did not, and at 200 KB held only 15 requests each.
/// The interval is the mean of the blocks' ratios ± t(0.975, blocks - 1) standard errors.
fn alternating_requests(
    clients: &mut [harness::policy_server::Client; 2],
    paths: [&str; 2],
    body: &[u8],
) -> HttpFigures {
    let [policy, floor] = clients;
    // In µs.
    let (policy_latencies, floor_latencies, _) = harness::alternate(
        HTTP_ROW,
        HTTP_MIN_PAIRS..=usize::MAX,
        || {
            policy.post(paths[0], body).unwrap();
        },
        || {
            floor.post(paths[1], body).unwrap();
        },
    );
    let pairs = policy_latencies.len();
    let total = |latencies: &[f64]| latencies.iter().sum::<f64>();
    let block = pairs / HTTP_BLOCKS;
    let ratios: Vec<f64> = (0..HTTP_BLOCKS)
        .map(|b| {
            let range = b * block..(b + 1) * block;
            total(&floor_latencies[range.clone()]) / total(&policy_latencies[range])
        })
        .collect();
    let blocks = HTTP_BLOCKS as f64;
    let mean = ratios.iter().sum::<f64>() / blocks;
    let variance = ratios.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (blocks - 1.0);
    // Student's t for 19 degrees of freedom, two-sided 95%.
    const T_19: f64 = 2.093;
    const _: () = assert!(HTTP_BLOCKS == 20, "T_19 is for 20 blocks");
    let half = T_19 * (variance / blocks).sqrt();
    let per_second = |latencies: &[f64]| pairs as f64 * 1e6 / total(latencies);
    HttpFigures {
        rates: [per_second(&policy_latencies), per_second(&floor_latencies)],
        ratio: total(&floor_latencies) / total(&policy_latencies),
        interval: (mean - half, mean + half),
        pairs,
    }
}

/// Writes a kubectl List of `count` Pods of about 1.2 KB to `path`, as `kubectl get pods -A -o
/// json` prints the Pods of 100 DaemonSets, one in a hundred Pods mounting the Docker socket;
/// returns its size. Written a Pod at a time: the benchmark's own memory stays small.
fn write_pods_list(path: &Path, count: usize) -> usize {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut size = 0;
    let mut write = |bytes: &[u8]| {
        out.write_all(bytes).unwrap();
        size += bytes.len();
    };
    write(br#"{"apiVersion":"v1","kind":"List","items":["#);
    for i in 0..count {
        if i > 0 {
            write(b",");
        }
        let pod = {
            let daemonset = format!("agent-{}", i % 100);
            let exposed = i % 1000 < 100 && i % 10 == 0;
            let mut volumes = vec![
                json!({"name": "config", "configMap": {"name": "agent"}}),
                json!({"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}),
            ];
            let mut mounts = vec![
                json!({"name": "config", "mountPath": "/etc/agent"}),
                json!({"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}),
            ];
            if exposed {
                volumes.push(
                    json!({"name": "dockersock", "hostPath": {"path": "/var/run/docker.sock"}}),
                );
                mounts.push(json!({"name": "dockersock", "mountPath": "/var/run/docker.sock"}));
            }
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("{daemonset}-{i}"), "namespace": "monitoring",
                    "uid": format!("uid-{i:08}"),
                    "labels": {"app": daemonset, "pod-template-hash": "5d8f7c9b4"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": daemonset,
                        "uid": "x", "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"nodeName": format!("node-{}", i / 100), "serviceAccountName": "agent",
                    "containers": [{"name": "agent", "image": "registry.example.com/agent:7",
                        "imagePullPolicy": "IfNotPresent",
                        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        "volumeMounts": mounts}],
                    "volumes": volumes, "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst"},
                "status": {"phase": "Running", "podIP": format!("10.0.{}.{}", i / 256 % 256, i % 256),
                    "hostIP": "192.0.2.1", "startTime": "2026-12-01T00:00:00Z"}
            })
        };
        write(&serde_json::to_vec(&pod).unwrap());
    }
    write(b"]}");
    out.flush().unwrap();
    size
}

/// `dsp scan` (the binary at `dsp`, as users run it) of generated Lists of 20,000 and 100,000
/// Pods: wall time and the process's peak resident memory. Run before the benchmark loads
/// anything: Linux carries a process's peak RSS across `exec`, so a child forked from a large
/// parent would report the parent's.
fn scan_benchmark(dsp: &Path) -> Value {
    let dir = std::env::temp_dir().join(format!("dsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows = Vec::new();
    for count in [20_000, 100_000] {
        let path = dir.join(format!("pods-{count}.json"));
        let bytes = write_pods_list(&path, count);
        let child = std::process::Command::new(dsp)
            .args(["scan", "--output", "json"])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", dsp.display()));
        let started = Instant::now();
        let (status, peak_rss) = wait_with_peak_rss(child);
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(status, 1, "dsp scan of {count} Pods: exit status");
        let megabytes = bytes as f64 / 1e6;
        let peak_mb = peak_rss as f64 / 1e6;
        println!(
            "dsp scan of a kubectl List of {count} Pods ({megabytes:.0} MB): {seconds:.2} s, \
             {:.0} objects/s, {:.0} MB/s, peak RSS {peak_mb:.0} MB",
            count as f64 / seconds,
            megabytes / seconds
        );
        rows.push(json!({"pods": count, "bytes": bytes, "seconds": seconds,
            "objects_per_second": count as f64 / seconds, "mb_per_second": megabytes / seconds,
            "peak_rss_bytes": peak_rss}));
        std::fs::remove_file(&path).unwrap();
    }
    let _ = std::fs::remove_dir(&dir);
    let ratio =
        rows[1]["peak_rss_bytes"].as_f64().unwrap() / rows[0]["peak_rss_bytes"].as_f64().unwrap();
    println!("dsp scan peak RSS at 100,000 Pods / at 20,000: {ratio:.2}");
    json!({"runs": rows, "peak_rss_100k_over_20k": ratio})
}

/// Waits for `child`, reading its output, and returns its exit status and peak resident set
/// size in bytes (from `wait4`: the kernel's count for this process alone).
fn wait_with_peak_rss(mut child: std::process::Child) -> (i32, u64) {
    use std::io::Read;
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut output)
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for a child of ours.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: pid is our child, not waited for yet; status and usage are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let report: Value = serde_json::from_slice(&output).expect("dsp scan --output json");
    assert!(report["summary"]["exposed"].as_u64() > Some(0), "{report}");
    // ru_maxrss is in KiB on Linux.
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

struct Stats {
    median: f64,
    p99: f64,
    runs: usize,
}

impl Stats {
    fn show(&self) -> String {
        format!("{:.1} / {:.1}", self.median, self.p99)
    }

    fn json(&self) -> Value {
        json!({"median": self.median, "p99": self.p99, "runs": self.runs})
    }
}

/// Sorted samples in µs as median, p99 and count.
fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p99: at(0.99),
        runs: samples.len(),
    }
}

/// Runs `f` repeatedly within the budget.
fn measure(mut f: impl FnMut()) -> Stats {
    f(); // warm-up
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < MIN_RUNS || (started.elapsed() < BUDGET && samples.len() < MAX_RUNS) {
        samples.push(harness::micros(&mut f));
    }
    stats(samples)
}

/// Runs the policy and the floor alternately, so that both see the same machine (on a shared
/// machine the speed drifts over seconds), and returns their times and the median of the
/// per-pair ratios.
fn measure_pair(policy: impl FnMut(), floor: impl FnMut()) -> (Stats, Stats, f64) {
    let (p, f, ratios) = harness::alternate(BUDGET * 2, MIN_RUNS..=MAX_RUNS, policy, floor);
    (stats(p), stats(f), stats(ratios).median)
}

/// `validate` on one warm instance of each module.
fn warm(policy: &Module, floor: &Module, payload: &[u8]) -> (Stats, Stats, f64) {
    let (p, f) = (policy.instance().unwrap(), floor.instance().unwrap());
    measure_pair(
        || {
            std::hint::black_box(p.call("validate", payload).unwrap());
        },
        || {
            std::hint::black_box(f.call("validate", payload).unwrap());
        },
    )
}

/// A fresh instance per request, as policy-server serves it: `rehydrate`, `wapc_init`, `validate`.
fn fresh(policy: &Module, floor: &Module, payload: &[u8]) -> (Stats, Stats, f64) {
    let serve = |module: &Module| {
        let instance = module.instance().unwrap();
        std::hint::black_box(instance.call("validate", payload).unwrap());
    };
    measure_pair(|| serve(policy), || serve(floor))
}

/// The module's `validate` answer.
fn answer(module: &Module, payload: &[u8]) -> Value {
    let answer = module
        .instance()
        .and_then(|instance| instance.call("validate", payload))
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&answer).unwrap()
}

fn verdict(module: &Module, payload: &[u8]) -> &'static str {
    if answer(module, payload)["accepted"] == true {
        "accept"
    } else {
        "reject"
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn human(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{}MB", bytes / 1_000_000)
    } else {
        format!("{}KB", bytes / 1_000)
    }
}

/// A `validate` payload of about `target` bytes: a Pod or Deployment with as many containers
/// as it takes, each with env entries and mounts of configMap and emptyDir volumes; `exposed`
/// adds a hostPath volume of the Docker socket mounted by the first container.
fn payload_of_size(kind: &str, target: usize, exposed: bool) -> Vec<u8> {
    let build = |containers: usize| {
        let volumes_count = containers.div_ceil(2).max(1);
        let mut volumes: Vec<Value> = (0..volumes_count)
            .map(|i| {
                if i % 2 == 0 {
                    json!({"name": format!("config-{i}"), "configMap": {"name": format!("app-config-{i}"), "defaultMode": 420}})
                } else {
                    json!({"name": format!("config-{i}"), "emptyDir": {"sizeLimit": "64Mi"}})
                }
            })
            .collect();
        let mut containers: Vec<Value> = (0..containers)
            .map(|i| {
                json!({
                    "name": format!("app-{i}"),
                    "image": format!("registry.example.com/team/app-{i}:1.{i}.0"),
                    "args": ["--port=8080", "--log-level=info"],
                    "env": (0..8).map(|j| json!({"name": format!("SETTING_{j}"), "value": format!("value-{i}-{j}")})).collect::<Vec<_>>(),
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                    "volumeMounts": [
                        {"name": format!("config-{}", i % volumes_count), "mountPath": "/etc/app", "readOnly": true},
                        {"name": format!("config-{}", (i + 1) % volumes_count), "mountPath": "/var/cache/app"},
                    ],
                })
            })
            .collect();
        if exposed {
            volumes.push(json!({"name": "dockersock", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}));
            containers[0]["volumeMounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "dockersock", "mountPath": "/var/run/docker.sock"}));
        }
        // The API server serializes a PodSpec with `volumes` first, as its Go struct declares it.
        let spec =
            json!({"volumes": volumes, "containers": containers, "serviceAccountName": "app"});
        let (group, object) = match kind {
            "Pod" => (
                "",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "default", "labels": {"app": "app"}}, "spec": spec}),
            ),
            _ => (
                "apps",
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "default"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "app"}}, "template": {"metadata": {"labels": {"app": "app"}}, "spec": spec}}}),
            ),
        };
        let request = json!({
            "uid": "bench",
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": format!("{}s", kind.to_ascii_lowercase())},
            "operation": "CREATE",
            "namespace": "default",
            "userInfo": {"username": "bench"},
            "object": object,
        });
        // In the engine's order: every key sorted, `containers` before `volumes`.
        testkit::validate_payload(&request, &json!({})).expect("a complete request")
    };
    let (mut low, mut high) = (1usize, 1usize);
    while build(high).len() < target {
        low = high;
        high *= 2;
    }
    while high - low > 1 {
        let middle = (low + high) / 2;
        if build(middle).len() < target {
            low = middle;
        } else {
            high = middle;
        }
    }
    build(high)
}

#[cfg(test)]
mod tests {
    #[test]
    fn kwctl_bench_median_read_through_its_colours() {
        let output = "\u{1b}[1mwarm-up\u{1b}[0m\n\u{1b}[32mvalidate [\u{1b}[0m min = 20µs, \
                      med = \u{1b}[1m40.38µs\u{1b}[0m, max = 1.2ms ]";
        assert_eq!(super::kwctl_median(output), Some(40.38));
        assert_eq!(
            super::kwctl_median("validate [ med = 2.5ms, ]"),
            Some(2500.0)
        );
        assert_eq!(super::kwctl_median("no block"), None);
    }
}
