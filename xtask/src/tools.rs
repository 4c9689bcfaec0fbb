//! Installing the tools the tests need: only from rustup and Debian's packages.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Adds the wasm32 target with rustup when it is missing.
pub fn ensure_wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed to add the {WASM_TARGET} target: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        println!("    {WASM_TARGET}: installed");
        return Ok(());
    }
    println!("    {WASM_TARGET}: adding with rustup");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Finds etcd (`$ORRERY_ETCD` or `PATH`), installing Debian's `etcd-server` when running as
/// root. Returns `None` only outside CI, when it cannot be had.
pub fn ensure_etcd(required: bool) -> Result<Option<PathBuf>, String> {
    if let Some(path) = find_etcd() {
        println!("    etcd: {}", describe(&path));
        return Ok(Some(path));
    }
    if is_root() && on_path("apt-get") {
        println!("    etcd: installing Debian's etcd-server with apt-get");
        let apt = |args: &[&str]| {
            run(Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"))
        };
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "etcd-server"])?;
        if let Some(path) = find_etcd() {
            println!("    etcd: {}", describe(&path));
            return Ok(Some(path));
        }
    }
    let why = "etcd is not installed and cannot be installed here \
               (needs root and apt-get: `apt-get install etcd-server`)";
    if required {
        return Err(format!(
            "{why}; on CI the comparison with etcd may not be skipped"
        ));
    }
    println!("    etcd: WARNING: {why}; the scenarios will not be compared with etcd");
    Ok(None)
}

fn find_etcd() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORRERY_ETCD") {
        return Some(PathBuf::from(p));
    }
    which("etcd")
}

fn describe(path: &PathBuf) -> String {
    let version = Command::new(path).arg("--version").output().ok();
    let first = version
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "version unknown".into());
    format!("{} ({first})", path.display())
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn on_path(name: &str) -> bool {
    which(name).is_some()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} {:?} failed: {status}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>()
        ))
    }
}
