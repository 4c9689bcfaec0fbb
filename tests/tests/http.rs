//! Plain HTTP on the client port, as etcd 3.4 serves it: `/health`, `/version`, `/metrics`.

use orrery_tests::{free_port, http_get, scratch, skip_without_etcdctl, Member};

#[test]
fn health_version_and_metrics_answer_as_etcd_does() {
    if skip_without_etcdctl() {
        return;
    }
    let dir = scratch("http");
    let m = Member::start(&dir.join("m1"), free_port());
    assert_eq!(
        http_get(&m.endpoint, "/health"),
        (200, r#"{"health":"true"}"#.to_owned())
    );
    assert_eq!(
        http_get(&m.endpoint, "/version"),
        (
            200,
            r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#.to_owned()
        )
    );
    assert_eq!(m.ok(&["put", "a", "1"]), "OK\n");
    let (status, metrics) = http_get(&m.endpoint, "/metrics");
    assert_eq!(status, 200);
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
    };
    assert_eq!(value("etcd_server_has_leader"), 1.0);
    assert_eq!(value("etcd_server_is_leader"), 1.0);
    assert!(value("etcd_server_leader_changes_seen_total") >= 1.0);
    assert!(value("etcd_server_proposals_committed_total") >= 3.0);
    assert!(
        value("etcd_server_proposals_applied_total")
            >= value("etcd_server_proposals_committed_total") - 1.0
    );
    assert_eq!(value("etcd_server_proposals_pending"), 0.0);
    assert_eq!(value("etcd_server_proposals_failed_total"), 0.0);
    assert!(value("etcd_mvcc_db_total_size_in_bytes") > 0.0);
    assert_eq!(
        value("etcd_server_quota_backend_bytes"),
        2.0 * 1024.0 * 1024.0 * 1024.0,
        "etcd's default quota"
    );
    assert!(
        value("etcd_disk_wal_fsync_duration_seconds_count") >= 1.0,
        "the put was fsynced"
    );
    assert!(metrics.contains("# TYPE etcd_disk_wal_fsync_duration_seconds histogram"));
    assert!(metrics.contains("etcd_server_version{server_version=\"3.4.23\"} 1"));
    assert_eq!(http_get(&m.endpoint, "/livez").0, 404, "3.4 has no /livez");
}
