//! The console transcript (`core/tests/console/etcdctl-3.4.23.txt`) is what the real
//! etcdctl 3.4.23 prints against the real etcd 3.4.23: this test runs every command of it
//! against both and compares. `ORRERY_RECORD=1` rewrites the file from what they printed
//! (the playground console is compared with the same file in `core/tests/console.rs`).

use orrery_core::ctl::transcript::{render, steps, Masks};
use orrery_core::ctl::{split, Printed};
use orrery_tests::{etcd_bin, free_port, scratch, skip_without_etcdctl, Member};
use std::path::PathBuf;

fn transcript_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/console/etcdctl-3.4.23.txt")
}

#[test]
fn the_console_transcript_is_what_real_etcdctl_prints_against_real_etcd() {
    if skip_without_etcdctl() {
        return;
    }
    let Some(etcd) = etcd_bin() else {
        assert!(std::env::var("CI").is_err(), "CI must have etcd installed");
        eprintln!("skipped: no etcd binary");
        return;
    };
    let dir = scratch("console-parity");
    let (port, peer) = (free_port(), free_port());
    let peer_url = format!("http://127.0.0.1:{peer}");
    let client_url = format!("http://127.0.0.1:{port}");
    let m = Member::start_real_etcd(
        &etcd,
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
    let path = transcript_path();
    let expected = std::fs::read_to_string(&path).expect("the transcript");
    let mut got = String::new();
    for step in steps(&expected) {
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
    m.kill();
    if std::env::var("ORRERY_RECORD").is_ok() {
        std::fs::write(&path, &got).expect("write the transcript");
        return;
    }
    assert_eq!(
        got, expected,
        "real etcdctl no longer prints the recorded transcript; rerun with ORRERY_RECORD=1 and review the diff"
    );
}
