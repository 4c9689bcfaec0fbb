//! A member's simulated disk: what was written, what is durable, and what a crash keeps.

use crate::backend::{AppliedChanges, MemoryBackend};
use crate::server::raftpb::Snapshot;
use crate::server::{DurableState, PersistBatch};
use std::collections::VecDeque;

/// One member's disk.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    durable: DurableState,
    /// Written but not yet confirmed durable, oldest first.
    pending: VecDeque<PersistBatch>,
    /// The applied state, for members run with `applied_changes` (each batch is committed
    /// at once, atomically).
    backend: MemoryBackend,
}

/// At most this many batches wait for the disk (a member produces one per ready).
const MAX_PENDING: usize = 100_000;

impl Disk {
    /// What survives a crash right now, if nothing unsynced is lost.
    pub fn durable(&self) -> &DurableState {
        &self.durable
    }

    /// What a restarting member reads: the snapshot file, or the backend's state when the
    /// backend is further ahead (then only later entries are replayed).
    pub fn restart_state(&self) -> DurableState {
        let mut d = self.durable.clone();
        if self.backend.index() > d.snapshot.get_metadata().index {
            let state = self
                .backend
                .state()
                .expect("a backend with an index has a state");
            d.snapshot = state
                .into_snapshot()
                .expect("the backend holds what the member applied");
            d.backend_current = true;
        }
        d
    }

    /// The member reported applied changes ([`crate::server::Output::Applied`]).
    pub fn record_applied(&mut self, changes: AppliedChanges) {
        assert!(
            changes.index >= self.backend.index() || changes.state.reset,
            "applied changes go forward"
        );
        self.backend.apply(&changes);
    }

    /// Whether the backend holds exactly `server`'s applied state (when it is at the same
    /// index; a backend that was never written or is behind is not compared).
    pub fn backend_matches(&self, server: &crate::server::Server) -> Result<(), String> {
        if self.backend.index() != server.applied_index() {
            return Ok(());
        }
        let Some(state) = self.backend.state() else {
            return Ok(());
        };
        let restored = state.into_snapshot().map_err(|e| e.to_string())?;
        let own = server.backup();
        if restored.data != own.data {
            return Err(format!(
                "the backend at index {} differs from the applied state",
                self.backend.index()
            ));
        }
        Ok(())
    }

    /// A write was issued.
    pub fn write(&mut self, batch: PersistBatch) {
        assert!(self.pending.len() < MAX_PENDING, "disk queue bound");
        self.pending.push_back(batch);
    }

    /// The oldest pending write completed; returns its number.
    pub fn complete_one(&mut self) -> Option<u64> {
        let batch = self.pending.pop_front()?;
        let number = batch.number;
        apply(&mut self.durable, batch);
        Some(number)
    }

    /// A snapshot of applied state was saved (synchronously, as etcd fsyncs snap files).
    pub fn save_snapshot(&mut self, snap: Snapshot) {
        let index = snap.get_metadata().index;
        if index >= self.durable.snapshot.get_metadata().index {
            self.durable.entries.retain(|e| e.index > index);
            self.durable.snapshot = snap;
        }
    }

    /// The member crashed: unsynced writes are lost if `lose_unsynced`, otherwise the
    /// page cache made it to disk.
    pub fn crash(&mut self, lose_unsynced: bool) {
        if lose_unsynced {
            self.pending.clear();
        } else {
            while self.complete_one().is_some() {}
        }
    }
}

fn apply(d: &mut DurableState, batch: PersistBatch) {
    if let Some(snap) = batch.snapshot {
        d.entries.clear();
        d.snapshot = snap;
    }
    if let Some(first) = batch.entries.first() {
        let first = first.index;
        d.entries.retain(|e| e.index < first);
        d.entries.extend(batch.entries);
    }
    if let Some(hs) = batch.hard_state {
        d.hard_state = hs;
    }
}
