//! `cargo xtask <command>`: the project's build and test entry points (the cargo-xtask
//! convention: plain Rust, no tools to install first).
//!
//! `cargo xtask test` runs every test there is and installs what the tests need. On CI
//! (`CI=true`) a tool that cannot be installed is an error, never a skipped test.

use std::process::{Command, ExitCode};
use std::time::Instant;

mod bench;
mod bench_cluster;
mod bench_report;
mod tools;
mod trunk;
mod web;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test    formatting, clippy, every test of the workspace (including the scenarios
          compared with a real etcd 3.4), a bounded simulation swarm, the same
          simulated run natively and in wasm32 under Node (equal trace hashes), the
          playground's wasm tests in headless Chromium, and its end-to-end tests
          (playwright-core driving Chromium against dist/)
  serve   [--port P] [--no-trunk]  build the playground (release) and serve it at
          http://127.0.0.1:8080 with trunk 0.21.14, which rebuilds and reloads on edits
          (installs trunk, wasm-bindgen-cli at Cargo.lock's version and npm binaryen
          first); --no-trunk serves `cargo xtask dist`'s bundle without trunk
  dist    build the playground's release bundle into dist/ and print the .wasm size
  bench   [--quick]  Orrery against etcd 3.4 side by side (put, get, txn, watch,
          3 members, RSS, failover; medians of alternating runs), then the simulator's
          and the playground's numbers; writes BENCHMARKS.md (--quick: a short run into
          target/bench/); the last line is `bench: put=<r>x get=<r>x rss=<r>x`
  sim     --seed S [--members N] [--ms T] [--trace]
          one simulated run with the default fault schedule; the last line is
          `trace-hash: <hex>`
  swarm   --seeds N [--first-seed S] [--members N] [--ms T]
          N runs with randomized faults and workloads; prints a replay command per
          failing seed and ends with `swarm: seeds=N violations=V events=E events_per_sec=R`
  help    this text";

/// Seeds the test command's bounded swarm runs (about 15 s on two cores).
const TEST_SWARM_SEEDS: &str = "300";
/// The run replayed in wasm32 and compared with the native hash.
const DETERMINISM_RUN: (&str, &str, &str) = ("7", "3", "10000");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("dist") => web::dist().map(|_| ()),
        Some("bench") => bench::bench(&args[1..]),
        Some("serve") => web::serve(&args[1..]),
        Some(cmd @ ("sim" | "swarm")) => simulate(cmd, &args[1..]),
        Some("help" | "-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Whether this is a CI run, where missing tools are errors.
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// A cargo invocation: `cargo <args>` with extra environment variables.
pub(crate) fn cargo_step(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Command {
    let mut cmd = cargo();
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

/// The simulator's command line, built with optimizations (`core/examples/sim.rs`).
pub(crate) fn sim_command(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--release",
        "--quiet",
        "--locked",
        "-p",
        "orrery-core",
        "--example",
        "sim",
        "--",
    ]);
    cmd.args(args);
    cmd
}

fn simulate(command: &str, args: &[String]) -> Result<(), String> {
    let sub = if command == "sim" { "run" } else { "swarm" };
    let mut all = vec![sub];
    all.extend(args.iter().map(String::as_str));
    let status = sim_command(&all)
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command} reported failures ({status})"))
    }
}

/// `cargo test --release` of one of `orrery-core`'s wasm32 tests under Node, with `run`
/// (a variable the test reads at build time) set and `extra` passed to the test runner.
pub(crate) fn wasm_node_test(
    test: &str,
    run: (&str, &str),
    runner: &std::path::Path,
    extra: &[&str],
) -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--release", "--locked", "-p", "orrery-core"])
        .args(["--target", "wasm32-unknown-unknown", "--test", test, "--"])
        .args(extra)
        .env(run.0, run.1)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner);
    cmd
}

/// Runs the steps in order, printing what each does and how long it took; stops at the first
/// failure. Returns each step's duration. `first` and `total` number the steps when a run is
/// split into several groups.
pub(crate) fn run_steps(
    steps: Vec<(&str, Command)>,
    first: usize,
    total: usize,
) -> Result<Vec<(String, f64)>, String> {
    let mut done = Vec::with_capacity(steps.len());
    for (n, (title, mut cmd)) in steps.into_iter().enumerate() {
        let n = n + first - 1;
        println!("\n==> [{}/{total}] {title}", n + 1);
        let start = Instant::now();
        let status = cmd
            .status()
            .map_err(|e| format!("{title}: could not start {:?}: {e}", cmd.get_program()))?;
        let secs = start.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!("{title} failed after {secs:.1}s ({status})"));
        }
        println!("==> [{}/{total}] {title}: ok ({secs:.1}s)", n + 1);
        done.push((title.to_owned(), secs));
    }
    Ok(done)
}

fn test() -> Result<(), String> {
    let start = Instant::now();
    println!("==> checking tools");
    tools::ensure_wasm_target()?;
    tools::ensure_protoc()?;
    tools::ensure_make()?;
    let etcd = tools::ensure_etcd(on_ci())?;
    let runner = tools::ensure_wasm_bindgen_test_runner(on_ci())?;
    // The scenario runner compares the core with this etcd and must not skip it.
    let etcd_env: Vec<(&str, &std::ffi::OsStr)> = match &etcd {
        Some(path) => vec![
            ("ORRERY_ETCD", path.as_os_str()),
            ("ORRERY_REQUIRE_ETCD", "1".as_ref()),
        ],
        None => vec![],
    };
    let steps = vec![
        (
            "cargo fmt --check",
            cargo_step(&["fmt", "--all", "--", "--check"], &[]),
        ),
        (
            "cargo clippy (warnings are errors)",
            cargo_step(
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            ),
        ),
        (
            "cargo build -p orrery (the binary the end-to-end tests run)",
            cargo_step(&["build", "--locked", "-p", "orrery", "--bins"], &[]),
        ),
        (
            "cargo test --workspace (unit, model, scenarios vs etcd, etcdctl end to end)",
            cargo_step(&["test", "--workspace", "--locked"], &etcd_env),
        ),
        (
            "cargo doc (broken links are errors)",
            cargo_step(
                &["doc", "--workspace", "--no-deps", "--locked"],
                &[("RUSTDOCFLAGS", "-D warnings".as_ref())],
            ),
        ),
        (
            "orrery-core builds for wasm32-unknown-unknown",
            cargo_step(
                &[
                    "build",
                    "--locked",
                    "-p",
                    "orrery-core",
                    "--target",
                    "wasm32-unknown-unknown",
                ],
                &[],
            ),
        ),
        (
            "bounded swarm (randomized faults, every checker)",
            sim_command(&["swarm", "--seeds", TEST_SWARM_SEEDS]),
        ),
    ];
    let total = steps.len() + 2 + web::BROWSER_STEPS;
    let mut done = run_steps(steps, 1, total)?;
    done.extend(determinism(runner.as_deref(), done.len() + 1, total)?);
    let chromium = tools::ensure_chromium(on_ci())?;
    done.extend(web::browser_tests(
        runner.as_deref(),
        chromium.as_ref(),
        done.len() + 1,
        total,
    )?);
    println!(
        "\n==> all {} steps passed in {:.1}s",
        done.len(),
        start.elapsed().as_secs_f64()
    );
    for (title, secs) in &done {
        println!("    {secs:>7.1}s  {title}");
    }
    if runner.is_none() {
        println!(
            "    note: wasm-bindgen-test-runner or node was missing: the wasm replay was skipped"
        );
    }
    if chromium.is_none() {
        println!("    note: chromium was missing: the playground's browser tests were skipped");
    }
    if etcd.is_none() {
        println!("    note: etcd was not available, so the scenarios were not compared with it");
    }
    Ok(())
}

/// Runs one seed natively, then the same seed in wasm32 under Node: the hashes must match.
fn determinism(
    runner: Option<&std::path::Path>,
    first: usize,
    total: usize,
) -> Result<Vec<(String, f64)>, String> {
    let (seed, members, ms) = DETERMINISM_RUN;
    let title = "native run for the wasm comparison";
    println!("\n==> [{first}/{total}] {title}");
    let start = Instant::now();
    let out = sim_command(&["run", "--seed", seed, "--members", members, "--ms", ms])
        .output()
        .map_err(|e| format!("{title}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let hash = stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("trace-hash: "))
        .ok_or_else(|| format!("{title}: no trace-hash line in:\n{stdout}"))?
        .to_owned();
    if !out.status.success() {
        return Err(format!("{title} found violations:\n{stdout}"));
    }
    let secs = start.elapsed().as_secs_f64();
    println!("    native trace-hash: {hash}");
    println!("==> [{first}/{total}] {title}: ok ({secs:.1}s)");
    let mut done = vec![(title.to_owned(), secs)];
    let Some(runner) = runner else {
        return Ok(done);
    };
    let spec = format!("{seed}:{members}:{ms}:{hash}");
    let steps = vec![(
        "the same run in wasm32 under Node (equal trace hash)",
        wasm_node_test(
            "wasm_determinism",
            ("ORRERY_NATIVE_RUN", &spec),
            runner,
            &["a_native_run_replays_bit_identically_in_wasm"],
        ),
    )];
    done.extend(run_steps(steps, first + 1, total)?);
    Ok(done)
}
