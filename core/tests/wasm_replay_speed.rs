//! The simulator's speed in wasm32: `cargo xtask bench` replays a run natively (`sim
//! replay`), then builds this test with `ORRERY_BENCH_RUN="<seed>:<members>:<ms>:<hash>"`
//! and runs it under Node, which prints `events_per_sec=` and must reproduce the hash.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use orrery_core::sim::faults::FaultRates;
use orrery_core::sim::run::replay;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen_test]
fn a_replay_in_wasm_is_timed_and_matches_native() {
    let Some(spec) = option_env!("ORRERY_BENCH_RUN") else {
        panic!("ORRERY_BENCH_RUN is not set: run this test through `cargo xtask bench`");
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let [seed, members, ms, hash] = parts[..] else {
        panic!("ORRERY_BENCH_RUN must be seed:members:ms:hash, got {spec}");
    };
    let started = js_sys::Date::now();
    let sim = replay(
        seed.parse().expect("seed"),
        members.parse().expect("members"),
        ms.parse().expect("ms"),
        FaultRates::moderate(),
    );
    let secs = (js_sys::Date::now() - started) / 1000.0;
    console_log!(
        "wasm replay: events={} seconds={secs:.3} events_per_sec={:.0}",
        sim.events(),
        sim.events() as f64 / secs.max(1e-9)
    );
    assert_eq!(
        format!("{:016x}", sim.trace_hash()),
        hash,
        "wasm diverged from native"
    );
}
