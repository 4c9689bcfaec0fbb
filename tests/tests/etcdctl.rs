//! The real etcdctl 3.4 against one orrery member: the commands of the usual tutorials
//! print what etcd prints, errors carry etcd's text, and acknowledged writes survive kill -9.

use orrery_tests::{etcdctl_bin, free_port, scratch, skip_without_etcdctl, Member};

#[test]
fn etcdctl_basics_match_etcd() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("basics");
    let m = Member::start(&dir.join("m1"), free_port());
    assert_eq!(m.ok(&["put", "foo", "bar"]), "OK\n");
    assert_eq!(m.ok(&["get", "foo"]), "foo\nbar\n");
    assert_eq!(m.ok(&["put", "foo2", "baz"]), "OK\n");
    assert_eq!(
        m.ok(&["get", "foo", "--prefix", "--keys-only"]),
        "foo\n\nfoo2\n\n"
    );
    let json = m.ok(&["get", "foo", "-w", "json"]);
    assert!(
        json.contains(r#""kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"}],"count":1"#),
        "{json}"
    );
    assert!(json.contains(r#""cluster_id":14841639068965178418,"member_id":10276657743932975437"#));
    let txn = m.etcdctl(
        &["txn"],
        "value(\"foo\") = \"bar\"\n\nput foo won\n\nput foo lost\n\n",
    );
    assert_eq!(String::from_utf8_lossy(&txn.stdout), "SUCCESS\n\nOK\n");
    assert_eq!(m.ok(&["del", "foo", "--prefix"]), "2\n");
    assert_eq!(
        m.ok(&["member", "list"]),
        format!(
            "8e9e05c52164694d, started, default, http://localhost:2380, http://{}, false\n",
            m.endpoint
        )
    );
    let status = m.ok(&["endpoint", "status"]);
    assert!(
        status.starts_with(&format!("{}, 8e9e05c52164694d, 3.4.23, ", m.endpoint)),
        "{status}"
    );
    assert!(
        status.contains(", true, false, "),
        "leader, not a learner: {status}"
    );
    // Errors carry etcd's text.
    assert_eq!(m.ok(&["compaction", "3"]), "compacted revision 3\n");
    assert_eq!(
        m.err(&["get", "foo", "--rev", "2"]),
        "Error: etcdserver: mvcc: required revision has been compacted"
    );
    assert_eq!(
        m.err(&["get", "foo", "--rev", "100"]),
        "Error: etcdserver: mvcc: required revision is a future revision"
    );
    assert_eq!(
        m.err(&["put", "k", "v", "--lease", "1234"]),
        "Error: etcdserver: requested lease not found"
    );
    assert_eq!(m.ok(&["alarm", "list"]), "");
    // etcdctl 3.4 prints the health line on stderr.
    let out = m.etcdctl(&["endpoint", "health"], "");
    assert!(out.status.success());
    let health = String::from_utf8_lossy(&out.stderr);
    assert!(
        health.starts_with(&format!(
            "{} is healthy: successfully committed proposal: took = ",
            m.endpoint
        )),
        "{health}"
    );
    // The member kept serving.
    assert_eq!(m.ok(&["put", "after", "errors"]), "OK\n");
}

#[test]
fn acknowledged_writes_survive_kill_9_and_a_second_process_is_refused() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("durable").join("m1");
    let port = free_port();
    let m = Member::start(&dir, port);
    for i in 0..20 {
        assert_eq!(m.ok(&["put", &format!("k{i}"), &format!("v{i}")]), "OK\n");
    }
    // A second process on the same data dir is refused with a clear error.
    let second = std::process::Command::new(orrery_tests::orrery_bin())
        .arg("--data-dir")
        .arg(&dir)
        .args([
            "--listen-client-urls",
            &format!("http://127.0.0.1:{}", free_port()),
        ])
        .output()
        .expect("run a second orrery");
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("is in use by another orrery process"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    m.kill();
    let m = Member::start(&dir, port);
    let all = m.ok(&["get", "k", "--prefix", "--print-value-only"]);
    assert_eq!(all.lines().count(), 20, "{all}");
    assert_eq!(m.ok(&["get", "k19", "--print-value-only"]), "v19\n");
}

#[test]
fn leases_and_watches_through_etcdctl() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("lease-watch");
    let m = Member::start(&dir.join("m1"), free_port());
    let granted = m.ok(&["lease", "grant", "30"]);
    // "lease <16 hex digits> granted with TTL(30s)"; the ID starts with the member's low 16 bits.
    let id = granted.split_whitespace().nth(1).expect("an ID").to_owned();
    assert!(granted.ends_with(" granted with TTL(30s)\n"), "{granted}");
    assert!(id.starts_with("694d") && id.len() == 16, "{id}");
    assert_eq!(m.ok(&["put", "--lease", &id, "lk", "lv"]), "OK\n");
    let ttl = m.ok(&["lease", "timetolive", &id, "--keys"]);
    assert!(
        ttl.starts_with(&format!("lease {id} granted with TTL(30s), remaining(")),
        "{ttl}"
    );
    assert!(ttl.ends_with("attached keys([lk])\n"), "{ttl}");
    assert_eq!(
        m.ok(&["lease", "keep-alive", "--once", &id]),
        format!("lease {id} keepalived with TTL(30)\n")
    );
    assert_eq!(m.ok(&["lease", "list"]), format!("found 1 leases\n{id}\n"));
    // A watcher from revision 1 sees the history, then live events.
    let mut watch = std::process::Command::new(etcdctl_bin().unwrap())
        .args([
            "--endpoints",
            &m.endpoint,
            "watch",
            "--rev=1",
            "--prefix",
            "",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("etcdctl watch");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        m.ok(&["lease", "revoke", &id]),
        format!("lease {id} revoked\n")
    );
    assert_eq!(m.ok(&["get", "lk"]), "", "revoking deleted the key");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let _ = watch.kill();
    let out = watch.wait_with_output().expect("watch output");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "PUT\nlk\nlv\nDELETE\nlk\n\n",
        "the put from history, then the delete the revoke caused"
    );
}
