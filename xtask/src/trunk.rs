//! `cargo xtask serve` with trunk: trunk 0.21.14 (pinned: 0.22 needs rustc 1.96) builds the
//! same release bundle as `cargo xtask dist` from `index.html` and `Trunk.toml`, serves it,
//! and rebuilds and reloads the page when a source file changes.
//!
//! `Trunk.toml` pins trunk's tools to the ones installed here (wasm-bindgen-cli at the
//! Cargo.lock version, npm binaryen's wasm-opt) and sets `offline = true`, so trunk never
//! downloads anything; the test below keeps those pins equal to what is installed.

use crate::tools;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The trunk release `cargo xtask serve` installs.
pub const TRUNK_VERSION: &str = "0.21.14";

/// Finds trunk at [`TRUNK_VERSION`] or installs it with `cargo install --locked`.
pub fn ensure_trunk() -> Result<PathBuf, String> {
    let candidates = tools::installed_tool("trunk");
    let matching = |p: &PathBuf| {
        Command::new(p).arg("--version").output().is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout).trim() == format!("trunk {TRUNK_VERSION}")
        })
    };
    if let Some(p) = candidates.iter().flatten().find(|p| matching(p)) {
        println!("    trunk {TRUNK_VERSION}: {}", p.display());
        return Ok(p.clone());
    }
    println!(
        "    trunk: installing trunk {TRUNK_VERSION} with cargo install (once; 10 to 30 minutes \
         on a small machine; `cargo xtask serve --no-trunk` serves the same bundle without it)"
    );
    tools::run(crate::cargo().args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
    candidates
        .iter()
        .flatten()
        .find(|p| matching(p))
        .cloned()
        .ok_or_else(|| format!("trunk {TRUNK_VERSION} installed but not found"))
}

/// `trunk serve --release` on 127.0.0.1:`port`, with the pinned tools first on `PATH`.
pub fn serve(port: u16, wasm_bindgen: &Path) -> Result<(), String> {
    let trunk = ensure_trunk()?;
    // offline = true makes trunk pass --offline to cargo: fetch what the build needs first.
    tools::run(crate::cargo().args(["fetch", "--locked"]))?;
    let npm_bin = std::fs::canonicalize("node_modules/.bin")
        .map_err(|e| format!("node_modules/.bin: {e}"))?;
    let bindgen_dir = wasm_bindgen
        .parent()
        .ok_or("wasm-bindgen has no directory")?
        .to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = [npm_bin, bindgen_dir]
        .into_iter()
        .chain(std::env::split_paths(&path));
    let path = std::env::join_paths(dirs).map_err(|e| e.to_string())?;
    println!("==> trunk serve --release at http://127.0.0.1:{port}/ (Ctrl-C stops)");
    tools::run(
        Command::new(trunk)
            .args(["serve", "--release", "--port", &port.to_string()])
            .env("PATH", path),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(toml: &str, key: &str) -> String {
        toml.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
            .map(|v| v.trim_end_matches('"').to_owned())
            .unwrap_or_else(|| panic!("Trunk.toml pins no {key}"))
    }

    /// trunk would stop (offline) or download (online) if its pins differ from the tools
    /// `cargo xtask` installs: Cargo.lock's wasm-bindgen and package-lock.json's binaryen.
    #[test]
    fn trunk_pins_the_tools_xtask_installs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let trunk = std::fs::read_to_string(root.join("Trunk.toml")).unwrap();
        assert!(trunk.contains("offline = true"));
        let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
        assert_eq!(
            pin(&trunk, "wasm_bindgen"),
            tools::wasm_bindgen_version_in(&lock).unwrap()
        );
        let npm = std::fs::read_to_string(root.join("package-lock.json")).unwrap();
        let at = npm
            .find("\"node_modules/binaryen\"")
            .expect("binaryen in package-lock.json");
        let version = npm[at..]
            .split("\"version\": \"")
            .nth(1)
            .and_then(|v| v.split('.').next())
            .unwrap();
        assert_eq!(pin(&trunk, "wasm_opt"), format!("version_{version}"));
    }
}
