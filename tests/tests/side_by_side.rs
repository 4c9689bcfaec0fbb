//! The real etcdctl against the real etcd 3.4 and against orrery, side by side: the same
//! commands, in the same order, must print the same thing and exit the same way. Only what
//! legitimately differs between two servers is masked: the endpoint, lease IDs, timings,
//! the database size and the Raft index (etcd's log holds different bookkeeping entries).
//! Both members use etcd's default name and peer URL, so their member and cluster IDs match.

use orrery_tests::{etcd_bin, etcdctl_bin, free_port, scratch, skip_without_etcdctl, Member};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one command printed, masked.
fn run(m: &Member, cwd: &std::path::Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(etcdctl_bin().unwrap())
        .args(["--endpoints", &m.endpoint])
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdctl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // etcdctl's own JSON log lines carry timestamps and client IDs: keep the rest.
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = format!(
        "exit {}\n{}{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        stderr
    );
    mask(&text.replace(&m.endpoint, "<endpoint>"), args)
}

fn mask(text: &str, args: &[&str]) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut line = line.to_owned();
        if let Some(i) = line.find("took = ") {
            line.truncate(i + 7);
            line.push_str("<t>");
        }
        if let Some(i) = line.find("remaining(") {
            let end = line[i..].find(')').map_or(line.len(), |e| i + e);
            line.replace_range(i + 10..end, "<n>s");
        }
        if args.starts_with(&["endpoint", "status"]) {
            let mut f: Vec<String> = line.split(", ").map(str::to_owned).collect();
            if f.len() == 10 {
                for i in [3, 7, 8] {
                    f[i] = "<n>".into();
                }
                line = f.join(", ");
            }
        }
        // Lease IDs: 16 hex digits other than the (equal) member and cluster IDs.
        let words: Vec<String> = line
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| {
                w.len() == 16
                    && w.chars().all(|c| c.is_ascii_hexdigit())
                    && *w != "8e9e05c52164694d"
                    && *w != "cdf818194e3a8c32"
            })
            .map(str::to_owned)
            .collect();
        for w in words {
            line = line.replace(&w, "<lease>");
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// A watch from revision 3 (the compaction point) over everything, stopped after it has had time to catch up.
fn watch_history(m: &Member) -> String {
    let child = Command::new(etcdctl_bin().unwrap())
        .args([
            "--endpoints",
            &m.endpoint,
            "watch",
            "--rev=3",
            "--prefix",
            "",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("etcdctl watch");
    std::thread::sleep(Duration::from_millis(1_000));
    // Stop only the etcdctl this test started, by its PID.
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn etcdctl_prints_the_same_against_etcd_and_orrery() {
    if skip_without_etcdctl() {
        return;
    }
    let Some(etcd) = etcd_bin() else {
        eprintln!("SKIPPED: etcd not installed (required when CI=true)");
        return;
    };
    let dir = scratch("side-by-side");
    let (etcd_dir, orrery_dir) = (dir.join("etcd"), dir.join("orrery"));
    let real = Member::start_real_etcd(&etcd, &etcd_dir.join("data"), free_port(), &[]);
    let ours = Member::start(&orrery_dir.join("data"), free_port());
    let lease_of = |m: &Member, cwd: &std::path::Path| {
        let out = run(m, cwd, &["lease", "grant", "100"], "");
        assert!(out.contains("granted with TTL(100s)"), "{out}");
        // The unmasked ID, for the commands that take it.
        let text = m.ok(&["lease", "list"]);
        text.lines().nth(1).expect("one lease").to_owned()
    };
    let mut steps: Vec<(Vec<String>, String)> = Vec::new();
    let mut step = |args: &[&str], stdin: &str| {
        steps.push((args.iter().map(|s| s.to_string()).collect(), stdin.into()));
    };
    step(&["put", "foo", "bar"], "");
    step(&["get", "foo"], "");
    step(&["get", "foo", "-w", "json"], "");
    step(&["put", "foo2", "baz", "--prev-kv"], "");
    step(&["put", "foo2", "qux", "--prev-kv"], "");
    step(&["get", "foo", "--prefix"], "");
    step(&["get", "foo", "--prefix", "--keys-only"], "");
    step(
        &["get", "foo", "--prefix", "--limit", "1", "-w", "json"],
        "",
    );
    step(&["get", "--from-key", "foo1"], "");
    step(
        &["get", "foo", "--prefix", "--count-only", "-w", "fields"],
        "",
    );
    step(&["get", "foo", "-w", "table"], "");
    step(
        &["txn", "-i"],
        "value(\"foo\") = \"bar\"\n\nput foo won\nget foo2\n\nput foo lost\n\n",
    );
    step(
        &["txn"],
        "mod(\"foo\") > \"100\"\n\nput foo never\n\nget foo\n\n",
    );
    step(&["del", "foo", "--prefix", "--prev-kv"], "");
    step(&["del", "nothing"], "");
    step(&["put", "", "v"], "");
    step(&["compaction", "3"], "");
    step(&["get", "foo", "--rev", "2"], "");
    step(&["get", "foo", "--rev", "1000"], "");
    step(&["compaction", "2"], "");
    step(&["put", "k", "v", "--lease", "1234"], "");
    step(&["lease", "timetolive", "1234"], "");
    step(&["lease", "revoke", "1234"], "");
    step(&["member", "list"], "");
    step(&["member", "list", "-w", "table"], "");
    step(&["endpoint", "status"], "");
    step(&["endpoint", "health"], "");
    step(&["alarm", "list"], "");
    step(&["defrag"], "");
    step(&["lock", "mylock", "--", "echo", "inside the lock"], "");
    step(&["snapshot", "save", "backup.db"], "");
    step(&["user", "list"], "");
    step(&["role", "list"], "");
    step(&["user", "get", "root"], "");
    step(&["role", "get", "root"], "");
    step(&["auth", "enable"], "");
    step(&["auth", "disable"], "");
    step(&["user", "add", "root:secret"], "");
    let mut diffs = Vec::new();
    for (args, stdin) in &steps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let a = run(&real, &etcd_dir, &args, stdin);
        let b = run(&ours, &orrery_dir, &args, stdin);
        if a != b {
            diffs.push(format!(
                "etcdctl {args:?}\n--- etcd\n{a}\n--- orrery\n{b}\n"
            ));
        }
    }
    // Leases: the same commands with each server's own lease ID.
    let ids = [lease_of(&real, &etcd_dir), lease_of(&ours, &orrery_dir)];
    let lease_steps: [&[&str]; 5] = [
        &["put", "leased", "v", "--lease", "{id}"],
        &["lease", "timetolive", "{id}", "--keys"],
        &["lease", "keep-alive", "--once", "{id}"],
        &["lease", "revoke", "{id}"],
        &["get", "leased"],
    ];
    for args in lease_steps {
        let with =
            |id: &str| -> Vec<String> { args.iter().map(|a| a.replace("{id}", id)).collect() };
        let (ra, oa) = (with(&ids[0]), with(&ids[1]));
        let ra: Vec<&str> = ra.iter().map(String::as_str).collect();
        let oa: Vec<&str> = oa.iter().map(String::as_str).collect();
        let a = run(&real, &etcd_dir, &ra, "");
        let b = run(&ours, &orrery_dir, &oa, "");
        if a != b {
            diffs.push(format!(
                "etcdctl {args:?}\n--- etcd\n{a}\n--- orrery\n{b}\n"
            ));
        }
    }
    let (a, b) = (
        mask(&watch_history(&real), &[]),
        mask(&watch_history(&ours), &[]),
    );
    if a != b {
        diffs.push(format!(
            "etcdctl watch --rev=3 --prefix ''\n--- etcd\n{a}\n--- orrery\n{b}\n"
        ));
    }
    // Known, documented difference (README): users and roles cannot be added yet.
    let known = ["\"user\", \"add\""];
    let (expected, unexpected): (Vec<_>, Vec<_>) = diffs
        .into_iter()
        .partition(|d| known.iter().any(|k| d.lines().next().unwrap().contains(k)));
    for d in &expected {
        eprintln!("known difference:\n{d}");
    }
    assert!(
        unexpected.is_empty(),
        "{} of {} commands print differently:\n{}",
        unexpected.len(),
        steps.len() + lease_steps.len() + 1,
        unexpected.join("\n")
    );
}

#[test]
fn the_nospace_alarm_reads_the_same_on_etcd_and_orrery() {
    if skip_without_etcdctl() {
        return;
    }
    let Some(etcd) = etcd_bin() else {
        eprintln!("SKIPPED: etcd not installed (required when CI=true)");
        return;
    };
    let dir = scratch("side-by-side-quota");
    let (etcd_dir, orrery_dir) = (dir.join("etcd"), dir.join("orrery"));
    // A 1-byte quota: the first write that adds data raises NOSPACE on both.
    let quota = ["--quota-backend-bytes", "1"];
    let real = Member::start_real_etcd(&etcd, &etcd_dir.join("data"), free_port(), &quota);
    let ours = Member::start_with(&orrery_dir.join("data"), free_port(), &quota);
    let steps: [&[&str]; 12] = [
        &["alarm", "list"],
        &["put", "k", "v"],
        &["alarm", "list"],
        &["put", "k", "v"],
        &["lease", "grant", "10"],
        &["get", "k"],
        &["del", "k"],
        &["txn"],
        &["compaction", "1"],
        &["alarm", "disarm"],
        &["alarm", "list"],
        &["put", "k", "v"],
    ];
    let mut diffs = Vec::new();
    for args in steps {
        let stdin = if args == ["txn"] { "\ndel k\n\n\n" } else { "" };
        let a = run(&real, &etcd_dir, args, stdin);
        let b = run(&ours, &orrery_dir, args, stdin);
        if a != b {
            diffs.push(format!(
                "etcdctl {args:?}\n--- etcd\n{a}\n--- orrery\n{b}\n"
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let alarms = ours.ok(&["alarm", "list"]);
    assert_eq!(alarms, "memberID:10276657743932975437 alarm:NOSPACE \n");
}
