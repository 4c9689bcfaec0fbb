//! The same seed gives the same run on wasm32 as natively.
//!
//! A host runs a seed natively first, then builds this file for wasm32-unknown-unknown with
//! the run's `"<seed>:<members>:<ms>:<trace-hash>"` in a build-time variable and runs one
//! test under Node (a name filter picks it): the wasm run must reproduce the native hash
//! bit for bit.
//! - `cargo xtask test` sets `ORRERY_NATIVE_RUN` (`sim run`, with every check);
//! - `cargo xtask bench` sets `ORRERY_BENCH_RUN` (`sim replay`, timed: prints
//!   `events_per_sec=`).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use orrery_core::sim::faults::FaultRates;
use orrery_core::sim::run::{replay, run};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

/// The native run `value` (of variable `var`) describes: seed, members, ms, trace hash.
fn native_run(var: &str, value: Option<&'static str>) -> (u64, usize, u64, &'static str) {
    let Some(spec) = value else {
        panic!("{var} is not set: run this test through `cargo xtask test` or `bench`");
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let [seed, members, ms, hash] = parts[..] else {
        panic!("{var} must be seed:members:ms:hash, got {spec}");
    };
    let (seed, members, ms) = (
        seed.parse().expect("seed"),
        members.parse().expect("members"),
        ms.parse().expect("ms"),
    );
    (seed, members, ms, hash)
}

/// Events per second since `started` (`js_sys::Date::now()`).
fn rate(events: u64, started: f64) -> f64 {
    let secs = (js_sys::Date::now() - started) / 1000.0;
    events as f64 / secs.max(1e-9)
}

#[wasm_bindgen_test]
fn a_native_run_replays_bit_identically_in_wasm() {
    let (seed, members, ms, hash) =
        native_run("ORRERY_NATIVE_RUN", option_env!("ORRERY_NATIVE_RUN"));
    let started = js_sys::Date::now();
    let r = run(seed, members, ms, FaultRates::moderate());
    console_log!(
        "wasm: seed={seed} events={} events_per_sec={:.0} trace-hash: {:016x}",
        r.events,
        rate(r.events, started),
        r.trace_hash
    );
    assert_eq!(
        format!("{:016x}", r.trace_hash),
        hash,
        "wasm diverged from native"
    );
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}

#[wasm_bindgen_test]
fn a_replay_in_wasm_is_timed_and_matches_native() {
    let (seed, members, ms, hash) = native_run("ORRERY_BENCH_RUN", option_env!("ORRERY_BENCH_RUN"));
    let started = js_sys::Date::now();
    let sim = replay(seed, members, ms, FaultRates::moderate());
    console_log!(
        "wasm replay: events={} events_per_sec={:.0}",
        sim.events(),
        rate(sim.events(), started)
    );
    assert_eq!(
        format!("{:016x}", sim.trace_hash()),
        hash,
        "wasm diverged from native"
    );
}
