//! The auto-compactor (etcd `v3compactor`), run by the leader only, as in etcd:
//! - `periodic`: every tenth of the retention (at most every 6 minutes) it samples the
//!   current revision, and compacts to the revision sampled one retention ago;
//! - `revision`: every 5 minutes it compacts to `current − retention`.
//!
//! It talks to the member like any client (a `Status` for the revision, then `Compact`).

use crate::flags::AutoCompaction;
use crate::metrics::Metrics;
use crate::node::NodeHandle;
use orrery_core::request::CompactionRequest;
use orrery_core::server::{ClientRequest, ClientResponse};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// How often revision mode looks (etcd: 5 minutes).
const REVISION_INTERVAL: Duration = Duration::from_secs(300);

/// Starts the compactor, unless it is off.
pub fn spawn(mode: AutoCompaction, node: NodeHandle, metrics: Arc<Metrics>) {
    let interval = match mode {
        AutoCompaction::Off => return,
        AutoCompaction::Periodic(retention) => retention.min(Duration::from_secs(3600)) / 10,
        AutoCompaction::Revision(_) => REVISION_INTERVAL,
    };
    tokio::spawn(async move {
        // Samples of (time, revision), oldest first; at most one retention's worth.
        let mut samples: VecDeque<(tokio::time::Instant, i64)> = VecDeque::new();
        let mut compacted = 0;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if metrics.is_leader.load(Relaxed) != 1 {
                samples.clear();
                continue;
            }
            let Ok(ClientResponse::Status(s)) = node.request(ClientRequest::Status).await else {
                continue;
            };
            let now = tokio::time::Instant::now();
            let current = s.header.revision;
            let target = match mode {
                AutoCompaction::Off => return,
                AutoCompaction::Revision(keep) => current - keep,
                AutoCompaction::Periodic(retention) => {
                    samples.push_back((now, current));
                    // Bounded: one sample per interval, and samples older than the retention
                    // beyond the first are dropped here.
                    while samples.len() > 1 && now - samples[1].0 >= retention {
                        samples.pop_front();
                    }
                    match samples.front() {
                        Some(&(at, rev)) if now - at >= retention => rev,
                        _ => continue,
                    }
                }
            };
            if target <= compacted || target <= 0 {
                continue;
            }
            let request = ClientRequest::Compact(CompactionRequest {
                revision: target,
                physical: false,
            });
            match node.request(request).await {
                Ok(_) => {
                    compacted = target;
                    tracing::info!(revision = target, "auto-compaction finished");
                }
                Err(e) => tracing::warn!(revision = target, error = %e, "auto-compaction failed"),
            }
        }
    });
}
