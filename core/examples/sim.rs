//! The simulator's command line (run through `cargo xtask sim` and `cargo xtask swarm`).
//!
//! ```text
//! sim run   --seed S [--members N] [--ms T] [--trace]   one run, default fault schedule
//! sim swarm --seeds N [--first-seed S] [--members N] [--ms T]   randomized schedules
//! sim replay --seed S [--members N] [--ms T]   the run's simulation alone, timed (bench)
//! ```

use orrery_core::sim::faults::FaultRates;
use orrery_core::sim::run::{replay, run, run_traced, RunReport};
use std::process::ExitCode;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<u64> {
    let i = args.iter().position(|a| a == name)?;
    let v = args
        .get(i + 1)
        .unwrap_or_else(|| fail(&format!("{name} needs a value")));
    Some(
        v.parse()
            .unwrap_or_else(|_| fail(&format!("{name}: not a number: {v}"))),
    )
}

fn fail(msg: &str) -> ! {
    eprintln!("sim: {msg}");
    std::process::exit(2)
}

fn members(args: &[String]) -> usize {
    let n = arg(args, "--members").unwrap_or(3);
    if !(1..=9).contains(&n) {
        fail("--members must be 1 to 9");
    }
    n as usize
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => one(&args),
        Some("swarm") => swarm(&args),
        Some("replay") => timed_replay(&args),
        _ => fail(
            "usage: sim run --seed S [--members N] [--ms T] | sim swarm --seeds N [--first-seed S]",
        ),
    }
}

/// Times the simulation of a run without its final checks: `cargo xtask bench`'s figure.
fn timed_replay(args: &[String]) -> ExitCode {
    let seed = arg(args, "--seed").unwrap_or_else(|| fail("--seed is required"));
    let members = members(args);
    let ms = arg(args, "--ms").unwrap_or(30_000);
    let started = Instant::now();
    let sim = replay(seed, members, ms, FaultRates::moderate());
    let secs = started.elapsed().as_secs_f64();
    println!("events: {}", sim.events());
    println!("replay-seconds: {secs:.3}");
    println!(
        "events-per-sec: {:.0}",
        sim.events() as f64 / secs.max(1e-9)
    );
    println!("trace-hash: {:016x}", sim.trace_hash());
    ExitCode::SUCCESS
}

fn one(args: &[String]) -> ExitCode {
    let seed = arg(args, "--seed").unwrap_or_else(|| fail("--seed is required"));
    let members = members(args);
    let ms = arg(args, "--ms").unwrap_or(30_000);
    let started = Instant::now();
    let lines = if args.iter().any(|a| a == "--trace") {
        1_000_000
    } else {
        0
    };
    let (r, trace) = run_traced(seed, members, ms, FaultRates::moderate(), lines);
    let secs = started.elapsed().as_secs_f64();
    for line in trace {
        println!("{line}");
    }
    println!("seed: {seed}");
    println!("members: {members}");
    println!("virtual-ms: {ms}");
    println!("events: {}", r.events);
    println!("client-operations: {}", r.operations);
    println!(
        "watch-events: {} (resumed after compaction: {})",
        r.watch_events, r.watch_compactions
    );
    println!("events-per-sec: {:.0}", r.events as f64 / secs.max(1e-9));
    for v in &r.violations {
        println!("violation: {v}");
    }
    println!("violations: {}", r.violations.len());
    println!("trace-hash: {:016x}", r.trace_hash);
    if r.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn swarm(args: &[String]) -> ExitCode {
    let seeds = arg(args, "--seeds").unwrap_or_else(|| fail("--seeds is required"));
    let first = arg(args, "--first-seed").unwrap_or(1);
    let ms = arg(args, "--ms").unwrap_or(20_000);
    let started = Instant::now();
    let (mut events, mut violations) = (0u64, 0u64);
    let mut last_report = Instant::now();
    for seed in first..first + seeds {
        // Each seed picks its member count and fault rates (swarm testing).
        let members = match arg(args, "--members") {
            Some(_) => members(args),
            None => [1, 3, 3, 5, 5, 7][(seed % 6) as usize],
        };
        let r: RunReport = run(seed, members, ms, FaultRates::random(seed));
        events += r.events;
        if !r.violations.is_empty() {
            violations += r.violations.len() as u64;
            println!(
                "seed {seed} failed ({}): replay with: cargo xtask swarm --seeds 1 --first-seed {seed} --members {members} --ms {ms}",
                r.violations[0]
            );
        }
        if last_report.elapsed().as_secs() >= 10 {
            last_report = Instant::now();
            eprintln!("swarm: {} of {seeds} seeds done", seed - first + 1);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "swarm: seeds={seeds} violations={violations} events={events} events_per_sec={:.0}",
        events as f64 / secs.max(1e-9)
    );
    if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
