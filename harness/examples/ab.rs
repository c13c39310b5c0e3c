//! Compares two modules call by call on the same payloads, on warm instances: for each payload,
//! the median of the time of `A` over the time of `B`, calls alternating as in the benchmark
//! (`harness::alternate`). The quick check of a change to the module before a whole
//! `make bench` (CONTRIBUTING.md, "Profiling"). With `FRESH=1` in the environment, each call
//! gets a fresh instance, as policy-server serves requests.
//!
//! `cargo run -p harness --example ab -- A.wasm B.wasm PAYLOAD.json...`

use std::time::Duration;

const PAIRS: usize = 20_000;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b, payloads @ ..] = args.as_slice() else {
        return Err("usage: ab A.wasm B.wasm PAYLOAD.json...".into());
    };
    let fresh = std::env::var_os("FRESH").is_some_and(|fresh| fresh == "1");
    let load = |path: &str| harness::Module::load(std::path::Path::new(path));
    let (a, b) = (load(a)?, load(b)?);
    let (warm_a, warm_b) = (a.instance()?, b.instance()?);
    for path in payloads {
        let payload = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        // A call that fails, fails here, before the loop that cannot say so.
        warm_a.call("validate", &payload)?;
        warm_b.call("validate", &payload)?;
        let call = |module: &harness::Module, warm: &harness::Instance| {
            // A fresh instance that cannot be made stops the run: falling back to the warm
            // one would time warm calls under the fresh heading.
            let fresh_instance = fresh.then(|| module.instance().expect("a fresh instance"));
            let instance = fresh_instance.as_ref().unwrap_or(warm);
            std::hint::black_box(instance.call("validate", &payload).ok());
        };
        let (a_times, b_times, mut ratios) = harness::alternate(
            Duration::ZERO,
            PAIRS..=PAIRS,
            || call(&a, &warm_a),
            || call(&b, &warm_b),
        );
        ratios.sort_by(f64::total_cmp);
        let mean = |times: &[f64]| times.iter().sum::<f64>() / times.len() as f64;
        let name = std::path::Path::new(path)
            .file_stem()
            .map_or(path.clone(), |stem| stem.to_string_lossy().into_owned());
        println!(
            "{name:<28} A/B {:.3}  (A {:.2} µs, B {:.2} µs on average)",
            ratios[PAIRS / 2],
            mean(&a_times),
            mean(&b_times)
        );
    }
    Ok(())
}
