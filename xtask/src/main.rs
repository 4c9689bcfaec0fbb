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

/// A cargo invocation: `cargo <args>` with extra environment variables.
fn cargo_step(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Command {
    let mut cmd = cargo();
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd
}

/// Runs the steps in order, printing what each does and how long it took; stops at the first
/// failure. Returns each step's duration.
fn run_steps(steps: Vec<(&str, Command)>) -> Result<Vec<(String, f64)>, String> {
    let total = steps.len();
    let mut done = Vec::with_capacity(total);
    for (n, (title, mut cmd)) in steps.into_iter().enumerate() {
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
    let etcd = tools::ensure_etcd(on_ci())?;
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
            "cargo test --workspace (unit, model, scenarios vs etcd)",
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
    ];
    let done = run_steps(steps)?;
    println!(
        "\n==> all {} steps passed in {:.1}s",
        done.len(),
        start.elapsed().as_secs_f64()
    );
    for (title, secs) in &done {
        println!("    {secs:>7.1}s  {title}");
    }
    if etcd.is_none() {
        println!("    note: etcd was not available, so the scenarios were not compared with it");
    }
    Ok(())
}
