//! The applied state lives in redb (`member/snap/db`) with its consistent index: a member
//! killed with kill -9 restarts from it and replays only the WAL entries after that index;
//! without it (the file lost) the member rebuilds it from the snapshot file and the WAL.

use orrery_tests::{free_port, scratch, skip_without_etcdctl, Member};
use std::time::Duration;

/// The number the member logged for `what` (`what=<n>`) in its last start.
fn logged(m: &Member, what: &str) -> Option<u64> {
    let log = std::fs::read_to_string(&m.log).ok()?;
    let start = log.rfind("restarting member from")?;
    let rest = &log[start..];
    let at = rest.find(&format!("{what}="))? + what.len() + 1;
    let digits: String = rest[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Starts the member again and checks where it said it restarted from.
fn restart(dir: &std::path::Path, port: u16, from: &str) -> Member {
    let m = Member::start(dir, port);
    let line = last_start(&m);
    assert!(line.contains(from), "expected a restart {from}: {line}");
    m
}

fn last_start(m: &Member) -> String {
    let log = std::fs::read_to_string(&m.log).unwrap_or_default();
    let at = log
        .rfind("restarting member from")
        .expect("a restart was logged");
    log[at..].lines().next().unwrap_or("").to_owned()
}

/// What a user sees of the state: every key with its history facts, and the compaction.
fn state(m: &Member) -> String {
    let mut s = m.ok(&["get", "", "--from-key", "-w", "json"]);
    // Drop the header (raft term and member change across restarts; revision is in kvs).
    if let Some(at) = s.find("\"kvs\"") {
        s = s[at..].to_owned();
    }
    s + &m.err(&["get", "k1", "--rev", "2"])
}

#[test]
fn a_restart_resumes_from_the_backend_and_replays_only_later_entries() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("backend").join("m1");
    let port = free_port();
    let m = Member::start(&dir, port);
    let lease = m.ok(&["lease", "grant", "600"]);
    let lease = lease
        .split_whitespace()
        .nth(1)
        .expect("lease ID")
        .to_owned();
    for i in 0..40 {
        m.ok(&["put", &format!("k{}", i % 10), &format!("v{i}")]);
    }
    m.ok(&["put", "--lease", &lease, "leased", "x"]);
    m.ok(&["del", "k9"]);
    m.ok(&["compaction", "20"]);
    let before = state(&m);
    assert!(
        before.contains("required revision has been compacted"),
        "{before}"
    );
    let hash = m.ok(&["endpoint", "hashkv"]);
    // The backend commits durably every 100 ms: after that, everything is in it, and the
    // member drops the values from memory, so these reads take the read-back path (that
    // values are dropped at all is `mvcc::cold`'s unit tests' to check).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(m.ok(&["get", "k0", "--print-value-only"]), "v30\n");
    assert_eq!(
        m.ok(&["get", "k1", "--rev", "25", "--print-value-only"]),
        "v21\n"
    );
    assert_eq!(state(&m), before);
    assert_eq!(m.ok(&["endpoint", "hashkv"]), hash);
    m.kill();

    let m = restart(&dir, port, "from its backend");
    let index = logged(&m, "consistent_index").expect("the index was logged");
    assert!(
        index >= 44,
        "every acknowledged write was in the backend: {index}"
    );
    let replayed = logged(&m, "entries").expect("the replay was logged");
    assert!(
        replayed <= 2,
        "only entries after the backend's index: {replayed}"
    );
    assert_eq!(state(&m), before);
    let ttl = m.ok(&["lease", "timetolive", &lease, "--keys"]);
    assert!(ttl.contains("attached keys([leased])"), "{ttl}");

    // Writes right before a kill -9 are in the WAL if not yet in the backend: still there.
    m.ok(&["put", "late", "1"]);
    m.kill();
    let m = Member::start(&dir, port);
    assert_eq!(m.ok(&["get", "late", "--print-value-only"]), "1\n");
    let with_late = state(&m);

    // Losing the backend file loses nothing: it is rebuilt from the snapshot file and WAL.
    m.kill();
    std::fs::remove_file(dir.join("member/snap/db")).expect("the backend file exists");
    let m = restart(&dir, port, "from a snapshot file");
    assert_eq!(state(&m), with_late);
    std::thread::sleep(Duration::from_millis(500));
    m.kill();
    let m = restart(&dir, port, "from its backend");
    assert_eq!(state(&m), with_late);

    // A damaged backend is moved aside and rebuilt the same way.
    m.kill();
    std::fs::write(dir.join("member/snap/db"), b"not a redb file").unwrap();
    let m = restart(&dir, port, "from a snapshot file");
    assert!(dir.join("member/snap/db.damaged").exists());
    assert_eq!(state(&m), with_late);
}
