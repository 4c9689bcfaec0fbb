//! The console transcripts (`core/tests/console/etcdctl-3.4.23*.txt`) are what the real
//! etcdctl 3.4.23 prints against the real etcd 3.4.23: this test runs every command of them
//! against both and compares. `ORRERY_RECORD=1` rewrites the files from what they printed
//! (the playground console is compared with the same files in `core/tests/console.rs`).
//! Background jobs (`… &`) run as child processes whose output is collected as it comes,
//! and `kill %N` stops one with SIGKILL (no clean-up, so later steps see the same state
//! as the simulator, which never stops a job).

use orrery_core::ctl::transcript::{render, steps, Masks};
use orrery_core::ctl::{split, Printed};
use orrery_tests::{etcd_bin, etcdctl_bin, free_port, scratch, skip_without_etcdctl, Member};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Real time a background job is given to start, and to print before it is stopped (the
/// simulator test gives it as much virtual time).
const JOB_SETTLE: Duration = Duration::from_millis(1_000);

fn transcript_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/console")
        .join(name)
}

/// A background etcdctl and what it printed so far.
struct Job {
    child: Child,
    stdout: Arc<Mutex<String>>,
}

impl Job {
    fn start(endpoint: &str, args: &[String]) -> Self {
        let mut child = Command::new(etcdctl_bin().expect("etcdctl"))
            .args(["--endpoints", endpoint])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run etcdctl");
        let mut pipe = child.stdout.take().expect("stdout");
        let stdout = Arc::new(Mutex::new(String::new()));
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, stdout }
    }

    fn printed(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_console_transcripts_are_what_real_etcdctl_prints_against_real_etcd() {
    if skip_without_etcdctl() {
        return;
    }
    let Some(etcd) = etcd_bin() else {
        assert!(std::env::var("CI").is_err(), "CI must have etcd installed");
        eprintln!("skipped: no etcd binary");
        return;
    };
    let mut failures = Vec::new();
    for name in ["etcdctl-3.4.23.txt", "etcdctl-3.4.23-streams.txt"] {
        let path = transcript_path(name);
        let expected = std::fs::read_to_string(&path).expect("the transcript");
        let got = run_against_real_etcd(&etcd, name, &expected);
        if std::env::var("ORRERY_RECORD").is_ok() {
            std::fs::write(&path, &got).expect("write the transcript");
        } else if got != expected {
            failures.push(format!("--- {name} ---\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "real etcdctl no longer prints the recorded transcripts; rerun with ORRERY_RECORD=1 and review the diff\n{}",
        failures.join("\n")
    );
}

/// Runs a transcript's commands against a fresh real etcd; returns what they printed.
fn run_against_real_etcd(etcd: &std::path::Path, name: &str, transcript: &str) -> String {
    let dir = scratch(&format!("console-parity-{}", name.trim_end_matches(".txt")));
    let (port, peer) = (free_port(), free_port());
    let peer_url = format!("http://127.0.0.1:{peer}");
    let client_url = format!("http://127.0.0.1:{port}");
    let m = Member::start_real_etcd(
        etcd,
        &dir.join("etcd"),
        port,
        &[
            "--name",
            "n1",
            "--initial-advertise-peer-urls",
            &peer_url,
            "--listen-peer-urls",
            &peer_url,
            "--initial-cluster",
            &format!("n1={peer_url}"),
        ],
    );
    let ids = m.ok(&["endpoint", "status", "-w", "json"]);
    let number_after = |key: &str| -> u64 {
        let (_, rest) = ids.split_once(key).expect(key);
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut masks = Masks::new(
        number_after("\"member_id\":"),
        number_after("\"cluster_id\":"),
        &m.endpoint,
        &peer_url,
        &client_url,
    );
    let mut jobs: Vec<Job> = Vec::new();
    let mut got = String::new();
    for step in steps(transcript) {
        for job in &jobs {
            masks.learn_session_keys(&job.printed());
        }
        if let Some(line) = step.background() {
            let args = split(&masks.unmask(line)).expect("a valid job");
            jobs.push(Job::start(&m.endpoint, &args));
            std::thread::sleep(JOB_SETTLE);
            got += &render(&step, &Printed::default(), &masks);
            continue;
        }
        if let Some(n) = step.killed_job() {
            std::thread::sleep(JOB_SETTLE);
            let job = &mut jobs[n - 1];
            let _ = job.child.kill();
            let _ = job.child.wait();
            let stdout = job.printed();
            masks.learn_session_keys(&stdout);
            let printed = Printed {
                stdout,
                ..Printed::default()
            };
            got += &render(&step, &printed, &masks);
            continue;
        }
        let args = split(&masks.unmask(&step.command)).expect("a valid line");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = m.etcdctl(&args, &step.stdin);
        let printed = Printed {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            exit: out.status.code().unwrap_or(-1) as u8,
        };
        masks.learn_leases(&step, &printed.stdout);
        got += &render(&step, &printed, &masks);
    }
    drop(jobs);
    m.kill();
    got
}
