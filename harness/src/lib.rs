//! Hosts the policy module the way the Kubewarden engine does: `wapc` on `wasmtime-provider`,
//! WASI enabled, wasmtime configured as policy-server configures it (or kwctl: [`Host`]), the
//! module compiled once and a fresh instance per evaluation (`build_pre` then `rehydrate`),
//! and a host callback that answers the guest's logging and refuses every other host
//! capability.

pub mod policy_server;
pub use dsp_scan as scan;
pub use dsp_scan::{sarif, yaml};
pub use testkit::Native;

use std::path::Path;
use std::time::{Duration, Instant};
use wapc::WapcHost;
use wasmtime_provider::{
    EpochDeadlines, ResourceLimits, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre,
};

/// A compiled policy module.
pub struct Module {
    host: Host,
    engine: wasmtime::Engine,
    module: wasmtime::Module,
    pre: WasmtimeEngineProviderPre,
    /// Size of the `.wasm` file in bytes.
    pub size: usize,
    /// Time wasmtime took to compile and pre-link it.
    pub compile_time: Duration,
}

/// Which engine's wasmtime configuration a module is compiled and run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// policy-server's default: epoch interruption, which its `--policy-timeout` (2 s unless
    /// `--disable-timeout-protection`) needs. That compiles a check of the epoch into the
    /// guest's code at each function entry and loop head, which costs a guest of many small
    /// calls and tight loops more than the floor. What clusters run, so the default.
    PolicyServer,
    /// kwctl's (`run`, `bench`): no epoch interruption.
    Kwctl,
}

/// A wasmtime engine configured as `host` configures it. With `DSP_PERF_MAP` set in the
/// environment it also writes `/tmp/perf-PID.map`, so that `perf report` names the guest's
/// functions; with `DSP_JITDUMP`, `jit-PID.dump` in the working directory, which
/// `perf inject --jit` turns into the guest's machine code for `perf annotate` (see
/// CONTRIBUTING.md, "Profiling").
fn engine(host: Host) -> Result<wasmtime::Engine, String> {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(host == Host::PolicyServer);
    if std::env::var_os("DSP_JITDUMP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::JitDump);
    } else if std::env::var_os("DSP_PERF_MAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    wasmtime::Engine::new(&config).map_err(|e| format!("cannot configure wasmtime: {e}"))
}

/// The deadlines every instance gets. Nothing here advances the epoch, so they never pass; what
/// they give is the engine's checks, not its timeout.
const EPOCH_DEADLINES: EpochDeadlines = EpochDeadlines {
    wapc_init: 2,
    wapc_func: 2,
};

/// How long one call of `f` takes, in µs.
pub fn micros(f: &mut impl FnMut()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64() * 1e6
}

/// The benchmark's call-by-call comparison: `a` and `b` called in turn (once each first, to
/// warm them), the order swapped every pair so that neither is always second, until `budget`
/// has passed, at least `runs.start()` and at most `runs.end()` pairs. Each one's times in µs,
/// and the ratio a/b of each pair: the machine's drift, which is larger than most differences
/// measured, moves both calls of a pair alike.
pub fn alternate(
    budget: Duration,
    runs: std::ops::RangeInclusive<usize>,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    a();
    b();
    let (mut a_times, mut b_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let started = Instant::now();
    while a_times.len() < *runs.start()
        || (started.elapsed() < budget && a_times.len() < *runs.end())
    {
        let (ta, tb) = if a_times.len() % 2 == 0 {
            (micros(&mut a), micros(&mut b))
        } else {
            let tb = micros(&mut b);
            (micros(&mut a), tb)
        };
        a_times.push(ta);
        b_times.push(tb);
        ratios.push(ta / tb);
    }
    (a_times, b_times, ratios)
}

/// An instantiated module, after `wapc_init`.
pub struct Instance {
    host: WapcHost,
}

impl Module {
    /// Reads and compiles a module, to run as policy-server runs it.
    pub fn load(path: &Path) -> Result<Module, String> {
        Module::load_for(path, Host::PolicyServer)
    }

    /// Reads and compiles a module, to run as `host` runs it.
    pub fn load_for(path: &Path, host: Host) -> Result<Module, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Module::from_bytes_for(&bytes, host)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Module, String> {
        Module::from_bytes_for(bytes, Host::PolicyServer)
    }

    fn from_bytes_for(bytes: &[u8], host: Host) -> Result<Module, String> {
        let engine = engine(host)?;
        let started = Instant::now();
        let module = wasmtime::Module::new(&engine, bytes)
            .map_err(|e| format!("cannot compile the module: {e}"))?;
        let compile_time = started.elapsed();
        Module::finish(host, engine, module, bytes.len(), compile_time)
    }

    /// Like [`Module::load_for`] with [`Host::Kwctl`], with the compiled code cached on disk
    /// (under `$XDG_CACHE_HOME` or `~/.cache`, keyed by the module's bytes and this wasmtime's
    /// configuration), as kwctl caches it: a command run once per request should not compile
    /// the module every time.
    pub fn load_cached(path: &Path) -> Result<Module, String> {
        let host = Host::Kwctl;
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let engine = engine(host)?;
        let Some(cached) = cache_file(&engine, &bytes) else {
            return Module::from_bytes_for(&bytes, host);
        };
        let started = Instant::now();
        // SAFETY: the file is one this function wrote with `Module::serialize` for an engine
        // of the same configuration (the key includes wasmtime's compatibility hash).
        if let Ok(module) = unsafe { wasmtime::Module::deserialize_file(&engine, &cached) } {
            return Module::finish(host, engine, module, bytes.len(), started.elapsed());
        }
        let module = Module::from_bytes_for(&bytes, host)?;
        if let Ok(serialized) = module.module.serialize() {
            let _ = std::fs::create_dir_all(cached.parent().expect("a cache directory"));
            let partial = cached.with_extension(format!("{}.partial", std::process::id()));
            if std::fs::write(&partial, serialized).is_ok() {
                let _ = std::fs::rename(&partial, &cached);
            }
        }
        Ok(module)
    }

    fn finish(
        host: Host,
        engine: wasmtime::Engine,
        module: wasmtime::Module,
        size: usize,
        compile_time: Duration,
    ) -> Result<Module, String> {
        let pre = Module::pre(&engine, &module, None)?;
        Ok(Module {
            host,
            engine,
            module,
            pre,
            size,
            compile_time,
        })
    }

    fn pre(
        engine: &wasmtime::Engine,
        module: &wasmtime::Module,
        limits: Option<ResourceLimits>,
    ) -> Result<WasmtimeEngineProviderPre, String> {
        let mut builder = WasmtimeEngineProviderBuilder::new()
            .engine(engine.clone())
            .module(module.clone());
        if let Some(limits) = limits {
            builder = builder.enable_resource_limits(limits);
        }
        builder
            .build_pre()
            .map_err(|e| format!("cannot link the module: {e}"))
    }

    /// The guest's linear memory, in bytes, after `wapc_init` and one call of `operation` on a
    /// fresh instance: the smallest memory limit (in 64 KiB pages) under which the call succeeds.
    pub fn memory_after(&self, operation: &str, payload: &[u8]) -> Result<usize, String> {
        const PAGE: usize = 64 * 1024;
        let fits = |pages: usize| -> bool {
            let limits = ResourceLimits {
                max_memory_size: Some(pages * PAGE),
                ..Default::default()
            };
            Module::pre(&self.engine, &self.module, Some(limits))
                .and_then(|pre| instance_of(&pre, self.host))
                .and_then(|instance| instance.call(operation, payload))
                .is_ok()
        };
        let (mut low, mut high) = (0usize, 65_536usize);
        if !fits(high) {
            return Err(format!("{operation} fails even with 4 GiB of memory"));
        }
        while high - low > 1 {
            let middle = (low + high) / 2;
            if fits(middle) {
                high = middle;
            } else {
                low = middle;
            }
        }
        Ok(high * PAGE)
    }

    /// A fresh instance, as policy-server creates for each evaluation.
    pub fn instance(&self) -> Result<Instance, String> {
        instance_of(&self.pre, self.host)
    }

    /// The engine it was compiled for: what advances the epoch, as policy-server's timer does.
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }
}

/// Where the compiled code of `bytes` is cached, if there is a cache directory.
fn cache_file(engine: &wasmtime::Engine, bytes: &[u8]) -> Option<std::path::PathBuf> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    Some(
        base.join("docker-socket-policy")
            .join(format!("{:016x}.cwasm", hasher.finish())),
    )
}

fn instance_of(pre: &WasmtimeEngineProviderPre, host: Host) -> Result<Instance, String> {
    let deadlines = (host == Host::PolicyServer).then_some(EPOCH_DEADLINES);
    let engine = pre
        .rehydrate(deadlines)
        .map_err(|e| format!("cannot instantiate the module: {e}"))?;
    let host = WapcHost::new(Box::new(engine), Some(Box::new(host_callback)))
        .map_err(|e| format!("wapc_init failed: {e}"))?;
    Ok(Instance { host })
}

impl Instance {
    /// Calls a guest function; a guest error or a trap is `Err`.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        self.host
            .call(operation, payload)
            .map_err(|e| e.to_string())
    }
}

impl testkit::Evaluator for Instance {
    fn call(&mut self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        Instance::call(self, operation, payload)
    }
}

/// Logging goes to stderr when `HARNESS_LOG` is set; any other capability (OCI, network,
/// Kubernetes, crypto) is refused, since this policy must not need one.
fn host_callback(
    _id: u64,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    match (binding, namespace, operation) {
        ("kubewarden", "tracing", "log") => {
            if std::env::var_os("HARNESS_LOG").is_some() {
                eprintln!("{}", String::from_utf8_lossy(payload));
            }
            Ok(Vec::new())
        }
        _ => Err(format!(
            "host capability {binding}/{namespace}/{operation} is not available: \
             this harness only provides logging"
        )
        .into()),
    }
}

/// The module the tests use: `$POLICY_WASM`, or `policy.wasm` at the repository root.
pub fn policy_path() -> std::path::PathBuf {
    module_path("POLICY_WASM", "policy.wasm")
}

/// The floor module (which is also the key-order probe): `$FLOOR_WASM`, or `floor.wasm` at the
/// repository root.
pub fn floor_path() -> std::path::PathBuf {
    module_path("FLOOR_WASM", "floor.wasm")
}

fn module_path(variable: &str, file: &str) -> std::path::PathBuf {
    match std::env::var_os(variable) {
        Some(path) => path.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file),
    }
}

#[cfg(test)]
mod tests {
    use super::host_callback;

    #[test]
    fn logging_is_answered_and_other_capabilities_are_refused() {
        assert_eq!(
            host_callback(1, "kubewarden", "tracing", "log", b"{}").unwrap(),
            Vec::<u8>::new()
        );
        let error = host_callback(1, "kubewarden", "oci", "v2/verify", b"{}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "host capability kubewarden/oci/v2/verify is not available: this harness only provides logging"
        );
    }
}
