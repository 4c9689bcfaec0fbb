//! The numbers `/metrics` exports, under etcd's metric names and help texts so that existing
//! dashboards and alerts (e.g. on `etcd_server_has_leader` or WAL fsync latency) keep working.
//! The node task writes them; the HTTP handler reads them. Lock-free: plain atomics.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// WAL fsync latency bucket bounds, in seconds: etcd's `ExponentialBuckets(0.001, 2, 14)`.
const FSYNC_BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192,
];

/// A Prometheus histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at most each bound (not cumulative; summed when rendered).
    buckets: [AtomicU64; FSYNC_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = FSYNC_BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, n) in FSYNC_BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// A member's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// 1 when a leader is known.
    pub has_leader: AtomicU64,
    /// 1 when this member leads.
    pub is_leader: AtomicU64,
    /// Leader changes seen (a loss of the leader counts as a change).
    pub leader_changes: AtomicU64,
    /// The commit index.
    pub committed: AtomicU64,
    /// The applied index.
    pub applied: AtomicU64,
    /// Client writes waiting to be proposed or applied.
    pub pending: AtomicU64,
    /// Client writes that failed for lack of a leader, a timeout or too many requests.
    pub failed: AtomicU64,
    /// Bytes of the replicated state (etcd: the bbolt file).
    pub db_size: AtomicU64,
    /// WAL fsync latency.
    pub wal_fsync: Histogram,
    /// This member's ID (the `server_id` label).
    pub member_id: AtomicU64,
    /// `--quota-backend-bytes` in effect.
    pub quota_bytes: AtomicU64,
    /// 1 while a NOSPACE alarm is active.
    pub alarm_nospace: AtomicU64,
    /// 1 while a CORRUPT alarm is active.
    pub alarm_corrupt: AtomicU64,
}

impl Metrics {
    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, server_version: &str) -> String {
        let member_id = self.member_id.load(Relaxed);
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                v.load(Relaxed)
            );
        };
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        };
        self.wal_fsync.render(
            &mut out,
            "etcd_disk_wal_fsync_duration_seconds",
            "The latency distributions of fsync called by WAL.",
        );
        gauge(
            &mut out,
            "etcd_mvcc_db_total_size_in_bytes",
            "Total size of the underlying database physically allocated in bytes.",
            &self.db_size,
        );
        gauge(
            &mut out,
            "etcd_server_quota_backend_bytes",
            "Current backend storage quota size in bytes.",
            &self.quota_bytes,
        );
        gauge(
            &mut out,
            "etcd_server_has_leader",
            "Whether or not a leader exists. 1 is existence, 0 is not.",
            &self.has_leader,
        );
        let _ = writeln!(
            out,
            "# HELP etcd_server_id Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.\n# TYPE etcd_server_id gauge\netcd_server_id{{server_id=\"{member_id:x}\"}} 1"
        );
        gauge(
            &mut out,
            "etcd_server_is_leader",
            "Whether or not this member is a leader. 1 if is, 0 otherwise.",
            &self.is_leader,
        );
        counter(
            &mut out,
            "etcd_server_leader_changes_seen_total",
            "The number of leader changes seen.",
            &self.leader_changes,
        );
        gauge(
            &mut out,
            "etcd_server_proposals_applied_total",
            "The total number of consensus proposals applied.",
            &self.applied,
        );
        gauge(
            &mut out,
            "etcd_server_proposals_committed_total",
            "The total number of consensus proposals committed.",
            &self.committed,
        );
        counter(
            &mut out,
            "etcd_server_proposals_failed_total",
            "The total number of failed proposals seen.",
            &self.failed,
        );
        gauge(
            &mut out,
            "etcd_server_proposals_pending",
            "The current number of pending proposals to commit.",
            &self.pending,
        );
        let _ = writeln!(
            out,
            "# HELP etcd_server_version Which version is running. 1 for 'server_version' label with current version.\n# TYPE etcd_server_version gauge\netcd_server_version{{server_version=\"{server_version}\"}} 1"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_names_are_etcds() {
        let m = Metrics::default();
        m.wal_fsync.observe(Duration::from_micros(500));
        m.wal_fsync.observe(Duration::from_millis(3));
        m.wal_fsync.observe(Duration::from_secs(20));
        m.has_leader.store(1, Relaxed);
        m.member_id.store(0x8e9e05c52164694d, Relaxed);
        let text = m.render("3.4.23");
        for line in [
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 1",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 1",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.004\"} 2",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"} 2",
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 3",
            "etcd_disk_wal_fsync_duration_seconds_count 3",
            "etcd_server_has_leader 1",
            "etcd_server_id{server_id=\"8e9e05c52164694d\"} 1",
            "etcd_server_version{server_version=\"3.4.23\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
