//! `cargo xtask <command>`: the project's build and test entry points (the cargo-xtask
//! convention: plain Rust, no tools to install first).
//!
//! `cargo xtask test` runs every test there is and installs what the tests need. On CI
//! (`CI=true`) a tool that cannot be installed is an error, never a skipped test.

use std::process::{Command, ExitCode};
use std::time::Instant;

mod tools;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test    formatting, clippy, every test of the workspace (including the scenarios
          compared with a real etcd 3.4), and the wasm32 build of orrery-core
  help    this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
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

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs one step, printing what it does and how long it took.
fn step(progress: &mut Progress, title: &str, mut cmd: Command) -> Result<(), String> {
    progress.n += 1;
    println!("\n==> [{}/{}] {title}", progress.n, progress.total);
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{title}: could not start {:?}: {e}", cmd.get_program()))?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{title} failed after {secs:.1}s ({status})"));
    }
    println!(
        "==> [{}/{}] {title}: ok ({secs:.1}s)",
        progress.n, progress.total
    );
    progress.done.push((title.to_owned(), secs));
    Ok(())
}

struct Progress {
    n: usize,
    total: usize,
    done: Vec<(String, f64)>,
}

fn test() -> Result<(), String> {
    let start = Instant::now();
    let mut p = Progress {
        n: 0,
        total: 5,
        done: Vec::new(),
    };

    println!("==> checking tools");
    tools::ensure_wasm_target()?;
    let etcd = tools::ensure_etcd(on_ci())?;

    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    step(&mut p, "cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    step(&mut p, "cargo clippy (warnings are errors)", clippy)?;

    let mut tests = cargo();
    tests.args(["test", "--workspace", "--locked"]);
    if let Some(path) = &etcd {
        // The scenario runner compares the core with this etcd and must not skip it.
        tests
            .env("ORRERY_ETCD", path)
            .env("ORRERY_REQUIRE_ETCD", "1");
    }
    step(
        &mut p,
        "cargo test --workspace (unit, model, scenarios vs etcd)",
        tests,
    )?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step(&mut p, "cargo doc (broken links are errors)", doc)?;

    let mut wasm = cargo();
    wasm.args([
        "build",
        "--locked",
        "-p",
        "orrery-core",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    step(
        &mut p,
        "orrery-core builds for wasm32-unknown-unknown",
        wasm,
    )?;

    println!(
        "\n==> all {} steps passed in {:.1}s",
        p.total,
        start.elapsed().as_secs_f64()
    );
    for (title, secs) in &p.done {
        println!("    {secs:>7.1}s  {title}");
    }
    if etcd.is_none() {
        println!("    note: etcd was not available, so the scenarios were not compared with it");
    }
    Ok(())
}
