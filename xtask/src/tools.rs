//! Installing the tools the tests need: from rustup, crates.io (pinned versions) and
//! Debian's packages.

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

/// Finds `protoc`, installing Debian's `protobuf-compiler` when running as root: the
/// `etcd-client` crate the end-to-end tests use compiles its .proto files with it (Orrery's
/// own crates do not need it).
pub fn ensure_protoc() -> Result<(), String> {
    if std::env::var_os("PROTOC").is_some() {
        println!("    protoc: installed");
        return Ok(());
    }
    ensure_debian_command(
        "protoc",
        "protobuf-compiler",
        "the etcd-client crate the tests use needs it",
    )
}

/// Finds `make`, installing Debian's `make` when running as root: the member links jemalloc,
/// which `tikv-jemalloc-sys` builds from C with make (the C compiler is Rust's linker).
pub fn ensure_make() -> Result<(), String> {
    ensure_debian_command("make", "make", "building jemalloc for the member needs it")
}

/// Finds `command` on `PATH`, installing Debian's `package` with apt-get when running as
/// root; an error that says `why` it is needed otherwise.
fn ensure_debian_command(command: &str, package: &str, why: &str) -> Result<(), String> {
    if on_path(command) {
        println!("    {command}: installed");
        return Ok(());
    }
    if is_root() && on_path("apt-get") {
        println!("    {command}: installing Debian's {package} with apt-get");
        apt_install(&[package])?;
        if on_path(command) {
            return Ok(());
        }
    }
    Err(format!(
        "{command} is not installed and cannot be installed here; {why} \
         (`apt-get install {package}`)"
    ))
}

/// Finds etcd (`$ORRERY_ETCD` or `PATH`), installing Debian's `etcd-server` when running as
/// root. Returns `None` only outside CI, when it cannot be had.
pub fn ensure_etcd(required: bool) -> Result<Option<PathBuf>, String> {
    if let (Some(path), Some(ctl)) = (find_etcd(), which("etcdctl")) {
        println!("    etcd: {}", describe(&path));
        println!("    etcdctl: {}", ctl.display());
        return Ok(Some(path));
    }
    if is_root() && on_path("apt-get") {
        println!("    etcd: installing Debian's etcd-server and etcd-client with apt-get");
        apt_install(&["etcd-server", "etcd-client"])?;
        if let (Some(path), Some(_)) = (find_etcd(), which("etcdctl")) {
            println!("    etcd: {}", describe(&path));
            return Ok(Some(path));
        }
    }
    let why = "etcd and etcdctl are not installed and cannot be installed here \
               (needs root and apt-get: `apt-get install etcd-server etcd-client`)";
    if required {
        return Err(format!(
            "{why}; on CI the comparison with etcd may not be skipped"
        ));
    }
    println!("    etcd: WARNING: {why}; the scenarios will not be compared with etcd");
    Ok(None)
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string("Cargo.lock").map_err(|e| format!("Cargo.lock: {e}"))?;
    wasm_bindgen_version_in(&lock)
}

/// The `wasm-bindgen` version a Cargo.lock's text locks.
pub fn wasm_bindgen_version_in(lock: &str) -> Result<String, String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// Finds (or installs with `cargo install`, unlocked, at the exact version) the
/// `wasm-bindgen-test-runner` that runs wasm32 tests under Node. Node itself must be on
/// `PATH` (Debian's `nodejs` is installed with apt-get when root). Returns `None` only outside
/// CI when either cannot be had.
pub fn ensure_wasm_bindgen_test_runner(required: bool) -> Result<Option<PathBuf>, String> {
    let version = locked_wasm_bindgen_version()?;
    if !on_path("node") && is_root() && on_path("apt-get") {
        println!("    node: installing Debian's nodejs with apt-get");
        apt_install(&["nodejs"])?;
    }
    if !on_path("node") {
        let why = "node is not installed (needed to run the wasm32 tests)";
        if required {
            return Err(why.into());
        }
        println!("    node: WARNING: {why}; the wasm replay is skipped");
        return Ok(None);
    }
    let candidates = installed_tool("wasm-bindgen-test-runner");
    let matching = |p: &PathBuf| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&version))
    };
    if let Some(p) = candidates.iter().flatten().find(|p| matching(p)) {
        println!("    wasm-bindgen-test-runner {version}: {}", p.display());
        return Ok(Some(p.clone()));
    }
    println!("    wasm-bindgen-test-runner: installing wasm-bindgen-cli {version} (a few minutes)");
    let installed =
        run(crate::cargo().args(["install", "wasm-bindgen-cli", "--version", &version]));
    if let Err(e) = installed {
        if required {
            return Err(e);
        }
        println!("    wasm-bindgen-test-runner: WARNING: {e}; the wasm replay is skipped");
        return Ok(None);
    }
    candidates
        .iter()
        .flatten()
        .find(|p| matching(p))
        .cloned()
        .map(Some)
        .ok_or_else(|| format!("wasm-bindgen-cli {version} installed but its runner is not found"))
}

/// `wasm-bindgen` at Cargo.lock's version: it is installed beside the test runner.
pub fn ensure_wasm_bindgen(required: bool) -> Result<Option<PathBuf>, String> {
    Ok(ensure_wasm_bindgen_test_runner(required)?
        .map(|runner| runner.with_file_name("wasm-bindgen"))
        .filter(|p| p.is_file()))
}

/// Installs the npm packages of `package-lock.json` (npm binaryen's wasm-opt and
/// playwright-core) into `node_modules/`, installing Debian's `npm` first when root.
pub fn ensure_npm_packages() -> Result<(), String> {
    if !on_path("npm") && is_root() && on_path("apt-get") {
        println!("    npm: installing Debian's nodejs and npm with apt-get");
        apt_install(&["nodejs", "npm"])?;
    }
    if !on_path("npm") {
        return Err("npm is not installed (needed for wasm-opt and playwright-core)".into());
    }
    let lock = std::fs::read("package-lock.json").map_err(|e| format!("package-lock.json: {e}"))?;
    let stamp = std::path::Path::new("node_modules/.orrery-lock");
    if std::fs::read(stamp).is_ok_and(|s| s == lock) && std::path::Path::new(&wasm_opt()).is_file()
    {
        println!("    npm packages: installed");
        return Ok(());
    }
    println!("    npm packages: npm ci (binaryen, playwright-core)");
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(stamp, lock).map_err(|e| format!("{}: {e}", stamp.display()))
}

/// npm binaryen's `wasm-opt` (Debian's is too old for rustc 1.95's output).
pub fn wasm_opt() -> String {
    "node_modules/.bin/wasm-opt".into()
}

/// Finds Debian's Chromium and its chromedriver, installing them when root. Returns `None`
/// only outside CI when they cannot be had.
pub fn ensure_chromium(required: bool) -> Result<Option<(PathBuf, PathBuf)>, String> {
    let found = || which("chromium").zip(which("chromedriver"));
    if let Some(f) = found() {
        println!("    chromium: {}", describe(&f.0));
        return Ok(Some(f));
    }
    if is_root() && on_path("apt-get") {
        println!("    chromium: installing Debian's chromium and chromium-driver with apt-get");
        apt_install(&["chromium", "chromium-driver"])?;
        if let Some(f) = found() {
            return Ok(Some(f));
        }
    }
    let why = "chromium and chromedriver are not installed and cannot be installed here \
               (needs root and apt-get: `apt-get install chromium chromium-driver`)";
    if required {
        return Err(format!("{why}; on CI the browser tests may not be skipped"));
    }
    println!("    chromium: WARNING: {why}; the browser tests are skipped");
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

/// Where a tool may be: on `PATH`, and where `cargo install` puts it.
pub fn installed_tool(name: &str) -> [Option<PathBuf>; 2] {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin").join(name));
    [which(name), cargo_bin]
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `apt-get update`, then `apt-get install` of `packages`, non-interactively.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let apt = |args: &[&str]| {
        run(Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["update", "-qq"])?;
    apt(&[&["install", "-y", "-qq"], packages].concat())
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

pub fn run(cmd: &mut Command) -> Result<(), String> {
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
