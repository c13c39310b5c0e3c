//! Compares two modules call by call on the same payloads, on warm instances: for each payload,
//! the median of the time of `A` over the time of `B`, calls alternating. The quick check of a
//! change to the module before a whole `make bench` (CONTRIBUTING.md, "Profiling").
//!
//! `cargo run -p harness --example ab -- A.wasm B.wasm PAYLOAD.json...`

use std::time::Instant;

const PAIRS: usize = 20_000;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a, b, payloads @ ..] = args.as_slice() else {
        return Err("usage: ab A.wasm B.wasm PAYLOAD.json...".into());
    };
    let load = |path: &str| harness::Module::load(std::path::Path::new(path))?.instance();
    let (a, b) = (load(a)?, load(b)?);
    for path in payloads {
        let payload = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let time = |instance: &harness::Instance| -> Result<f64, String> {
            let started = Instant::now();
            std::hint::black_box(instance.call("validate", &payload)?);
            Ok(started.elapsed().as_secs_f64())
        };
        let mut ratios = Vec::with_capacity(PAIRS);
        let (mut a_total, mut b_total) = (0.0, 0.0);
        for pair in 0..PAIRS {
            // Neither module always runs first.
            let (ta, tb) = if pair % 2 == 0 {
                let ta = time(&a)?;
                (ta, time(&b)?)
            } else {
                let tb = time(&b)?;
                (time(&a)?, tb)
            };
            a_total += ta;
            b_total += tb;
            ratios.push(ta / tb);
        }
        ratios.sort_by(f64::total_cmp);
        let name = std::path::Path::new(path)
            .file_stem()
            .map_or(path.clone(), |stem| stem.to_string_lossy().into_owned());
        println!(
            "{name:<28} A/B {:.3}  (A {:.2} µs, B {:.2} µs on average)",
            ratios[PAIRS / 2],
            a_total * 1e6 / PAIRS as f64,
            b_total * 1e6 / PAIRS as f64
        );
    }
    Ok(())
}
