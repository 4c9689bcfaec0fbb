//! What changed in the replicated state since the host last asked, for hosts that keep the
//! state in a durable backend (see [`crate::backend`]). Off unless
//! [`StateMachine::enable_journal`] was called, so the simulator pays nothing for it.
//!
//! Added records need no bookkeeping: every revision above the last one reported is new.
//! Removals (compaction), leases and alarms are noted where they change.

use super::StateMachine;
use crate::backend::{LeaseChange, StateChanges, StoredLease, StoredRecord};
use crate::mvcc::Revision;
use std::collections::BTreeSet;

/// The changes not yet taken.
#[derive(Clone, Debug, Default)]
pub(super) struct Journal {
    /// Records with a main revision above this one are new.
    reported_revision: i64,
    /// Revisions compaction removed.
    removed: Vec<Revision>,
    /// Leases granted, checkpointed or revoked.
    leases: BTreeSet<i64>,
    alarms_changed: bool,
    /// The whole state was replaced.
    reset: bool,
}

impl Journal {
    pub(super) fn removed(&mut self, revs: Vec<Revision>) {
        self.removed.extend(revs);
    }

    pub(super) fn lease(&mut self, id: i64) {
        self.leases.insert(id);
    }

    pub(super) fn alarms(&mut self) {
        self.alarms_changed = true;
    }

    pub(super) fn reset(&mut self) {
        *self = Self {
            reset: true,
            ..Self::default()
        };
    }
}

impl StateMachine {
    /// Starts noting changes for [`StateMachine::take_changes`]. With `report_all`, the
    /// first call reports the whole state (as a reset); otherwise only later changes.
    pub fn enable_journal(&mut self, report_all: bool) {
        let mut j = Journal {
            reported_revision: self.store.revision(),
            ..Journal::default()
        };
        if report_all {
            j.reset();
        }
        self.journal = Some(j);
    }

    /// The changes since the last call (`None` if the journal is off).
    pub fn take_changes(&mut self) -> Option<StateChanges> {
        let j = std::mem::take(self.journal.as_mut()?);
        let store = &self.store;
        let from = if j.reset {
            Revision::first_of(i64::MIN)
        } else {
            Revision::first_of(j.reported_revision + 1)
        };
        let records = store
            .records
            .range(from, Revision::last_of(i64::MAX))
            .map(|(rev, rec)| StoredRecord {
                revision: *rev,
                tombstone: rec.tombstone,
                kv: store.record_kv(*rev, rec).into_owned(),
            })
            .collect();
        let lease_state = |id: i64| match self.lessor.get(id) {
            Some(l) => LeaseChange::Put(StoredLease {
                id,
                ttl: l.ttl,
                remaining_ttl: l.remaining_ttl,
            }),
            None => LeaseChange::Delete(id),
        };
        let leases = if j.reset {
            self.lessor
                .lease_ids()
                .into_iter()
                .map(lease_state)
                .collect()
        } else {
            j.leases.into_iter().map(lease_state).collect()
        };
        let changes = StateChanges {
            reset: j.reset,
            revision: store.revision(),
            compact_revision: store.compact_revision(),
            records,
            removed: if j.reset { Vec::new() } else { j.removed },
            leases,
            alarms: (j.reset || j.alarms_changed).then(|| self.alarms.list()),
        };
        self.journal = Some(Journal {
            reported_revision: store.revision(),
            ..Journal::default()
        });
        Some(changes)
    }
}
