//! The primary lessor's clock-driven state (etcd: the leader's lease heap and checkpoint heap).
//!
//! Only the leader tracks deadlines. Nothing here is replicated, snapshotted or hashed: a new
//! leader rebuilds it from the replicated leases when it is promoted.

use std::collections::{BTreeMap, BTreeSet};

/// At most one pending time per lease, ordered by time then lease ID (O(log n) operations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerQueue {
    by_time: BTreeSet<(u64, i64)>,
    by_id: BTreeMap<i64, u64>,
}

impl TimerQueue {
    /// Sets (or moves) the lease's time.
    pub(crate) fn set(&mut self, id: i64, at_ms: u64) {
        if let Some(old) = self.by_id.insert(id, at_ms) {
            self.by_time.remove(&(old, id));
        }
        self.by_time.insert((at_ms, id));
        debug_assert_eq!(self.by_time.len(), self.by_id.len());
    }

    pub(crate) fn get(&self, id: i64) -> Option<u64> {
        self.by_id.get(&id).copied()
    }

    pub(crate) fn remove(&mut self, id: i64) {
        if let Some(at) = self.by_id.remove(&id) {
            self.by_time.remove(&(at, id));
        }
    }

    /// Removes and returns the leases due at `now_ms`, earliest first, at most `limit`.
    pub(crate) fn take_due(&mut self, now_ms: u64, limit: usize) -> Vec<i64> {
        let mut due = Vec::new();
        while due.len() < limit {
            match self.by_time.first() {
                Some(&(at, id)) if at <= now_ms => {
                    self.by_time.pop_first();
                    self.by_id.remove(&id);
                    due.push(id);
                }
                _ => break,
            }
        }
        due
    }

    pub(crate) fn first_time(&self) -> Option<u64> {
        self.by_time.first().map(|&(at, _)| at)
    }

    /// Leases ordered by time, then ID.
    pub(crate) fn ids_by_time(&self) -> impl Iterator<Item = i64> + '_ {
        self.by_time.iter().map(|&(_, id)| id)
    }
}

/// Deadlines and checkpoint schedule, in milliseconds of the caller's logical time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Primary {
    /// Each lease's expiry time.
    pub(crate) deadlines: TimerQueue,
    /// When to report each lease expired: its deadline, then every retry interval until the
    /// revoke is applied (a revoke proposal can be lost to a leader change).
    pub(crate) reports: TimerQueue,
    /// When to checkpoint each lease's remaining TTL.
    pub(crate) checkpoints: TimerQueue,
    /// Leases whose checkpointed TTL must be cleared by a checkpoint of 0 (after a renew).
    pub(crate) pending_clears: BTreeSet<i64>,
}

impl Primary {
    /// Sets a lease's deadline and schedules its expiry report for it.
    pub(crate) fn set_deadline(&mut self, id: i64, at_ms: u64) {
        self.deadlines.set(id, at_ms);
        self.reports.set(id, at_ms);
    }

    /// Forgets a lease (revoked).
    pub(crate) fn remove(&mut self, id: i64) {
        self.deadlines.remove(id);
        self.reports.remove(id);
        self.checkpoints.remove(id);
        self.pending_clears.remove(&id);
    }

    /// The earliest time anything here needs attention.
    pub(crate) fn next_wakeup(&self) -> Option<u64> {
        match (self.reports.first_time(), self.checkpoints.first_time()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_queue_orders_by_time_then_id_and_moves_entries() {
        let mut q = TimerQueue::default();
        q.set(7, 100);
        q.set(3, 100);
        q.set(5, 50);
        q.set(7, 10);
        assert_eq!(q.ids_by_time().collect::<Vec<_>>(), vec![7, 5, 3]);
        assert_eq!(q.take_due(60, 10), vec![7, 5]);
        assert_eq!(q.take_due(1000, 10), vec![3]);
        assert_eq!(q.first_time(), None);
    }
}
