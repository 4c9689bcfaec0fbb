//! The playground's release bundle (`dist/`) and a static server for it.
//!
//! The bundle is built without trunk (a cold trunk install takes up to half an hour on a
//! 2-core machine): cargo builds `orrery-web` with the size profile, wasm-bindgen writes
//! the JS glue, npm binaryen's wasm-opt shrinks the wasm, and `index.html` is the root one
//! with trunk's links replaced. `Trunk.toml` keeps `trunk serve` working for the
//! edit-reload loop.

use crate::tools;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Where the bundle goes.
pub const DIST: &str = "dist";
const WASM: &str = "target/wasm32-unknown-unknown/wasm-release/orrery-web.wasm";

/// Sizes of the built `.wasm`, raw and gzipped.
pub struct BundleSize {
    /// Bytes.
    pub raw: u64,
    /// Bytes after `gzip -9`.
    pub gzip: u64,
}

/// Builds `dist/`. Installs what it needs (wasm-bindgen-cli at Cargo.lock's version, npm
/// packages) first.
pub fn dist() -> Result<BundleSize, String> {
    let start = Instant::now();
    tools::ensure_wasm_target()?;
    let bindgen = tools::ensure_wasm_bindgen(true)?.ok_or("wasm-bindgen is required")?;
    tools::ensure_npm_packages()?;
    println!("==> cargo build -p orrery-web (wasm32, size profile)");
    tools::run(crate::cargo().args([
        "build",
        "--locked",
        "-p",
        "orrery-web",
        "--bin",
        "orrery-web",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let _ = std::fs::remove_dir_all(DIST);
    std::fs::create_dir_all(DIST).map_err(|e| format!("{DIST}: {e}"))?;
    println!("==> wasm-bindgen --target web");
    tools::run(Command::new(&bindgen).args([
        "--target",
        "web",
        "--no-typescript",
        "--out-dir",
        DIST,
        "--out-name",
        "orrery-web",
        WASM,
    ]))?;
    let wasm = format!("{DIST}/orrery-web_bg.wasm");
    println!("==> wasm-opt -Oz (npm binaryen)");
    tools::run(Command::new(tools::wasm_opt()).args([
        "-Oz",
        "--enable-bulk-memory",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
        &wasm,
        "-o",
        &wasm,
    ]))?;
    let html = std::fs::read_to_string("index.html").map_err(|e| format!("index.html: {e}"))?;
    let (head, rest) = html
        .split_once("<!-- trunk: -->")
        .ok_or("index.html lacks the `<!-- trunk: -->` marker")?;
    let (_, tail) = rest
        .split_once("<!-- end trunk -->")
        .ok_or("index.html lacks the `<!-- end trunk -->` marker")?;
    let html = format!(
        "{head}<link rel=\"stylesheet\" href=\"style.css\" />\n    \
         <script type=\"module\">import init from './orrery-web.js'; init();</script>{tail}"
    );
    write(&format!("{DIST}/index.html"), html.as_bytes())?;
    std::fs::copy("web/style.css", format!("{DIST}/style.css"))
        .map_err(|e| format!("web/style.css: {e}"))?;
    let size = bundle_size(Path::new(&wasm))?;
    println!(
        "==> {DIST}/ written in {:.1}s: orrery-web_bg.wasm {} bytes raw, {} bytes gzipped",
        start.elapsed().as_secs_f64(),
        size.raw,
        size.gzip
    );
    Ok(size)
}

fn write(path: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{path}: {e}"))
}

fn bundle_size(wasm: &Path) -> Result<BundleSize, String> {
    let raw = std::fs::metadata(wasm)
        .map_err(|e| format!("{}: {e}", wasm.display()))?
        .len();
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(wasm)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok(BundleSize {
        raw,
        gzip: out.stdout.len() as u64,
    })
}

/// Builds `dist/`, then serves it on 127.0.0.1:`port` until interrupted.
pub fn serve(args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask serve [--port P] [--no-trunk]";
    let mut port: u16 = 8080;
    let mut with_trunk = true;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--no-trunk" => with_trunk = false,
            "--port" => {
                let p = rest.next().ok_or(usage)?;
                port = p.parse().map_err(|_| format!("bad port {p:?}"))?;
            }
            _ => return Err(usage.into()),
        }
    }
    if with_trunk {
        tools::ensure_wasm_target()?;
        let bindgen = tools::ensure_wasm_bindgen(true)?.ok_or("wasm-bindgen is required")?;
        tools::ensure_npm_packages()?;
        return crate::trunk::serve(port, &bindgen);
    }
    dist()?;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    println!("==> serving {DIST}/ at http://127.0.0.1:{port}/ (Ctrl-C stops)");
    let root = std::fs::canonicalize(DIST).map_err(|e| format!("{DIST}: {e}"))?;
    for stream in listener.incoming().flatten() {
        if let Err(e) = answer(stream, &root) {
            eprintln!("    {e}");
        }
    }
    Ok(())
}

/// Answers one HTTP/1.0-style GET with a file under `root`.
fn answer(mut stream: TcpStream, root: &Path) -> Result<(), String> {
    let mut line = String::new();
    BufReader::new(stream.try_clone().map_err(|e| e.to_string())?)
        .take(8 * 1024)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let relative = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let file: PathBuf = root.join(relative.trim_start_matches('/'));
    let resolved = std::fs::canonicalize(&file)
        .ok()
        .filter(|f| f.starts_with(root));
    let (status, body, kind) = match resolved.and_then(|f| std::fs::read(&f).ok().map(|b| (f, b))) {
        Some((f, body)) => ("200 OK", body, content_type(&f)),
        None => ("404 Not Found", b"not found\n".to_vec(), "text/plain"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\
         cache-control: no-cache\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body))
        .map_err(|e| format!("{path}: {e}"))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    }
}

/// Steps [`browser_tests`] runs.
pub const BROWSER_STEPS: usize = 3;

/// The playground's tests: its wasm tests in headless Chromium, the release bundle, and
/// the end-to-end tests (playwright-core driving Chromium against `dist/`).
pub fn browser_tests(
    runner: Option<&Path>,
    chromium: Option<&(PathBuf, PathBuf)>,
    first: usize,
    total: usize,
) -> Result<Vec<(String, f64)>, String> {
    let (Some(runner), Some((chromium, driver))) = (runner, chromium) else {
        return Ok(Vec::new());
    };
    let wasm_tests = crate::cargo_step(
        &[
            "test",
            "--locked",
            "-p",
            "orrery-web",
            "--target",
            "wasm32-unknown-unknown",
        ],
        &[
            (
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                runner.as_os_str(),
            ),
            ("CHROMEDRIVER", driver.as_os_str()),
        ],
    );
    let mut done = crate::run_steps(
        vec![(
            "orrery-web tests in headless Chromium (wasm-bindgen-test)",
            wasm_tests,
        )],
        first,
        total,
    )?;
    let title = "the playground's release bundle (cargo xtask dist)";
    println!("\n==> [{}/{total}] {title}", first + 1);
    let start = Instant::now();
    let size = dist()?;
    let secs = start.elapsed().as_secs_f64();
    println!("==> [{}/{total}] {title}: ok ({secs:.1}s)", first + 1);
    done.push((
        format!("{title}: wasm {} B, {} B gzipped", size.raw, size.gzip),
        secs,
    ));
    let mut e2e = Command::new("node");
    e2e.args(["--test", "--test-concurrency=1", "e2e/"])
        .env("DIST_DIR", DIST)
        .env("CHROMIUM_PATH", chromium);
    done.extend(crate::run_steps(
        vec![(
            "end to end: playwright-core drives Chromium against dist/",
            e2e,
        )],
        first + 2,
        total,
    )?);
    Ok(done)
}
