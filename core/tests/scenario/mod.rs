//! Runs `core/testdata/*.txt` against the core and against a real etcd.
//!
//! Every block's expected output is what *both* must print. A file that starts with
//! `# etcd: skip <why>` and blocks whose command carries `core-only` are not sent to etcd
//! (commands etcd cannot be driven with over its gateway, such as `tick` or `hash`, must be
//! marked so: the runner refuses to skip them silently).

pub mod core_backend;
pub mod datadriven;
pub mod etcd_backend;
pub mod etcd_process;
pub mod http;
pub mod print;
pub mod script;

use datadriven::Script;
use std::path::{Path, PathBuf};

/// Which implementation a run checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Core,
    Etcd,
}

fn testdata() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    files
}

/// Runs every scenario file; panics listing every block whose output differs.
pub fn run_all(mode: Mode) {
    let etcd = match mode {
        Mode::Core => None,
        Mode::Etcd => match etcd_process::find_etcd() {
            Some(bin) => Some(bin),
            None if required() => panic!(
                "etcd not found: install Debian's etcd-server (cargo xtask test does) or set ORRERY_ETCD"
            ),
            None => {
                eprintln!("SKIPPED: etcd not found (install etcd-server; required when CI=true)");
                return;
            }
        },
    };
    let rewrite = std::env::var_os("ORRERY_REWRITE").is_some() && mode == Mode::Core;
    let mut failures = Vec::new();
    let (mut files, mut blocks) = (0, 0);
    for path in testdata() {
        let text = std::fs::read_to_string(&path).unwrap();
        let script = Script::parse(&text);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let outputs = match &etcd {
            None => run_core(&script),
            Some(_) if script.core_only() => continue,
            Some(bin) => run_etcd(&script, bin),
        };
        files += 1;
        if rewrite {
            std::fs::write(
                &path,
                script.rewrite(
                    &outputs
                        .iter()
                        .map(|o| o.clone().unwrap_or_default())
                        .collect::<Vec<_>>(),
                ),
            )
            .unwrap();
            continue;
        }
        for (case, got) in script.cases().zip(&outputs) {
            let Some(got) = got else { continue };
            blocks += 1;
            if *got != case.expected {
                failures.push(format!(
                    "{name}:{} `{}`\n--- expected\n{}\n--- {mode:?} printed\n{got}\n",
                    case.line,
                    case.words.join(" "),
                    case.expected
                ));
            }
        }
    }
    eprintln!("{mode:?}: {blocks} blocks in {files} files checked");
    assert!(
        failures.is_empty(),
        "{} block(s) differ:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var_os("ORRERY_REQUIRE_ETCD").is_some()
}

fn run_core(script: &Script) -> Vec<Option<String>> {
    let mut backend = core_backend::CoreBackend::new();
    script
        .cases()
        .map(|case| Some(backend.run(&script::parse(case))))
        .collect()
}

fn run_etcd(script: &Script, bin: &PathBuf) -> Vec<Option<String>> {
    let mut backend = etcd_backend::EtcdBackend::new(etcd_process::Etcd::start(bin));
    script
        .cases()
        .map(|case| {
            let op = script::parse(case);
            let marked = case.words.iter().any(|w| w == "core-only");
            assert!(
                marked || !op.core_only(),
                "line {}: `{}` cannot run against etcd; mark it core-only",
                case.line,
                case.words.join(" ")
            );
            (!marked).then(|| backend.run(&op))
        })
        .collect()
}
