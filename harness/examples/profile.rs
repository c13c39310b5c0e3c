//! Calls `validate` of a module on one payload, on one warm instance, as many times as asked,
//! and prints the time per call: the loop to run under `perf record` (CONTRIBUTING.md,
//! "Profiling"). With `FRESH=1` in the environment, each call gets a fresh instance, as
//! policy-server serves requests.
//!
//! `cargo run -p harness --example profile -- MODULE.wasm PAYLOAD.json CALLS`

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [module, payload, calls] = args.as_slice() else {
        return Err("usage: profile MODULE.wasm PAYLOAD.json CALLS".into());
    };
    let module = harness::Module::load(std::path::Path::new(module))?;
    let payload = std::fs::read(payload).map_err(|e| format!("{payload}: {e}"))?;
    let calls: u32 = calls.parse().map_err(|e| format!("CALLS: {e}"))?;
    let fresh = std::env::var_os("FRESH").is_some_and(|fresh| fresh == "1");
    let warm = module.instance()?;
    let started = std::time::Instant::now();
    for _ in 0..calls {
        let fresh_instance = if fresh {
            Some(module.instance()?)
        } else {
            None
        };
        let instance = fresh_instance.as_ref().unwrap_or(&warm);
        std::hint::black_box(instance.call("validate", &payload)?);
    }
    let per_call = started.elapsed().as_secs_f64() * 1e6 / f64::from(calls.max(1));
    println!("{per_call:.2} µs per call");
    Ok(())
}
