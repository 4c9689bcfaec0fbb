//! Bad input gets etcd's error, and the member keeps serving: oversized requests, too many
//! txn operations, the empty key, unknown leases, compacted and future revisions.

use orrery_tests::{free_port, scratch, skip_without_etcdctl, Member};

#[test]
fn bad_requests_get_etcds_errors_and_lose_nothing() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("limits");
    let m = Member::start(&dir.join("m1"), free_port());
    assert_eq!(m.ok(&["put", "kept", "yes"]), "OK\n");
    let last_line = |args: &[&str], stdin: &str| {
        let out = m.etcdctl(args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        err.lines().last().unwrap_or_default().to_owned()
    };
    // etcd measures the encoded request against --max-request-bytes (1.5 MiB).
    let big = "x".repeat(1_600_000);
    assert_eq!(
        last_line(&["put", "big"], &big),
        "Error: etcdserver: request is too large"
    );
    let fits = "x".repeat(1_500_000);
    assert_eq!(
        String::from_utf8_lossy(&m.etcdctl(&["put", "big"], &fits).stdout),
        "OK\n"
    );
    // 129 operations in one txn.
    let ops: String = (0..129).map(|i| format!("put k{i} v\n")).collect();
    assert_eq!(
        last_line(&["txn"], &format!("\n{ops}\n\n")),
        "Error: etcdserver: too many operations in txn request"
    );
    let ops: String = (0..128).map(|i| format!("put k{i} v\n")).collect();
    let txn = m.etcdctl(&["txn"], &format!("\n{ops}\n\n"));
    assert!(txn.status.success(), "128 operations are allowed");
    assert_eq!(
        m.err(&["put", "", "v"]),
        "Error: etcdserver: key is not provided"
    );
    assert_eq!(
        m.err(&["put", "k", "v", "--lease", "7fffffff"]),
        "Error: etcdserver: requested lease not found"
    );
    assert_eq!(
        m.ok(&["lease", "timetolive", "7fffffff"]),
        "lease 000000007fffffff already expired\n"
    );
    assert_eq!(
        m.err(&["get", "kept", "--rev", "1000"]),
        "Error: etcdserver: mvcc: required revision is a future revision"
    );
    assert_eq!(m.ok(&["compaction", "3"]), "compacted revision 3\n");
    assert_eq!(
        m.err(&["get", "kept", "--rev", "2"]),
        "Error: etcdserver: mvcc: required revision has been compacted"
    );
    assert_eq!(
        m.err(&["compaction", "2"]),
        "Error: etcdserver: mvcc: required revision has been compacted"
    );
    // Nothing was lost and the member still serves.
    assert_eq!(m.ok(&["get", "kept", "--print-value-only"]), "yes\n");
    assert_eq!(m.ok(&["put", "after", "errors"]), "OK\n");
    let keys = m.ok(&["get", "k", "--prefix", "--keys-only"]);
    let puts = keys.lines().filter(|l| l.starts_with('k') && *l != "kept");
    assert_eq!(puts.count(), 128, "{keys}");
}
