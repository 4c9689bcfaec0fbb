//! The same seed gives the same run on wasm32 as natively.
//!
//! `cargo xtask test` runs a seed natively first (`sim run`), then builds this test for
//! wasm32-unknown-unknown with `ORRERY_NATIVE_RUN="<seed>:<members>:<ms>:<trace-hash>"` and
//! runs it under Node: the wasm run must reproduce the native hash bit for bit.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use orrery_core::sim::faults::FaultRates;
use orrery_core::sim::run::run;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen_test]
fn a_native_run_replays_bit_identically_in_wasm() {
    let Some(spec) = option_env!("ORRERY_NATIVE_RUN") else {
        panic!("ORRERY_NATIVE_RUN is not set: run this test through `cargo xtask test`");
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let [seed, members, ms, hash] = parts[..] else {
        panic!("ORRERY_NATIVE_RUN must be seed:members:ms:hash, got {spec}");
    };
    let (seed, members, ms) = (
        seed.parse().expect("seed"),
        members.parse().expect("members"),
        ms.parse().expect("ms"),
    );
    let started = js_sys::Date::now();
    let r = run(seed, members, ms, FaultRates::moderate());
    let secs = (js_sys::Date::now() - started) / 1000.0;
    console_log!(
        "wasm: seed={seed} events={} events_per_sec={:.0} trace-hash: {:016x}",
        r.events,
        r.events as f64 / secs.max(1e-9),
        r.trace_hash
    );
    assert_eq!(
        format!("{:016x}", r.trace_hash),
        hash,
        "wasm diverged from native"
    );
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}
