//! The applied state in table form, for hosts that keep it in a durable backend (etcd keeps
//! it in bbolt: buckets `key`, `lease`, `alarm`, `members` and `meta`, whose
//! `consistent_index` says which Raft entry the state includes).
//!
//! With [`crate::server::ServerConfig::applied_changes`] set, a member emits
//! [`crate::server::Output::Applied`] after each batch of applied entries: the records added,
//! the revisions compaction removed, the leases and alarms that changed, the membership, and
//! the index and term of the last entry applied. A backend that writes each batch in one
//! transaction always holds the state as of exactly one Raft index. At restart,
//! [`StoredState::into_snapshot`] turns what it read back into a Raft snapshot at that index,
//! so [`crate::server::Server::restart`] replays only the entries after it: none is applied
//! twice, none is skipped.

use crate::alarm::{AlarmMember, AlarmStore};
use crate::cluster::{decode_membership, encode_membership, Membership};
use crate::mvcc::{KeyValue, Revision};
use crate::snapshot::{self, SnapshotError};
use raft::eraftpb::{ConfState, Snapshot};

/// One retained revision of one key (etcd: an entry of the `key` bucket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// The revision that wrote it (`kv.mod_revision == revision.main`).
    pub revision: Revision,
    /// Whether this revision deleted the key (then only `kv.key` and `kv.mod_revision` are
    /// set).
    pub tombstone: bool,
    /// The key's state at that revision.
    pub kv: KeyValue,
}

/// The replicated part of a lease (etcd: an entry of the `lease` bucket). Attached keys are
/// not stored: they are rebuilt from the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredLease {
    /// The lease ID (never 0).
    pub id: i64,
    /// The granted TTL in seconds.
    pub ttl: i64,
    /// The last checkpointed remaining TTL in seconds (0 = none).
    pub remaining_ttl: i64,
}

/// How one lease changed in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseChange {
    /// Granted or checkpointed: store this.
    Put(StoredLease),
    /// Revoked: forget it.
    Delete(i64),
}

/// The cluster's members and Raft's view of them.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMembership {
    /// The members ([`crate::cluster::encode_membership`]).
    pub members: Vec<u8>,
    /// Raft's voters and learners.
    pub conf_state: ConfState,
}

/// What one batch of applied entries changed ([`crate::server::Output::Applied`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedChanges {
    /// The index of the last entry applied (etcd's `consistent_index`).
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// What the state machine changed.
    pub state: StateChanges,
    /// The membership after the batch (small; always included).
    pub membership: StoredMembership,
}

/// What the state machine changed in a batch ([`crate::StateMachine::take_changes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateChanges {
    /// The state was replaced (a snapshot from the leader was installed, or the host asked
    /// for everything): forget all stored records, leases and alarms first. `records` and
    /// `leases` then hold the whole state.
    pub reset: bool,
    /// The store's revision after the batch.
    pub revision: i64,
    /// The store's compaction revision after the batch (−1 = never compacted).
    pub compact_revision: i64,
    /// Records added, in revision order. Write them before removing `removed`.
    pub records: Vec<StoredRecord>,
    /// Revisions compaction removed (some may have been added in this same batch).
    pub removed: Vec<Revision>,
    /// Leases that changed, in ID order.
    pub leases: Vec<LeaseChange>,
    /// The active alarms, when they changed.
    pub alarms: Option<Vec<AlarmMember>>,
}

/// The whole applied state, as a backend reads it back at restart.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredState {
    /// The index of the last entry the state includes.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// The store's revision.
    pub revision: i64,
    /// The compaction revision (−1 = never compacted).
    pub compact_revision: i64,
    /// Every retained record, in revision order.
    pub records: Vec<StoredRecord>,
    /// Every lease, in ID order.
    pub leases: Vec<StoredLease>,
    /// The active alarms.
    pub alarms: Vec<AlarmMember>,
    /// The membership.
    pub membership: StoredMembership,
}

impl StoredState {
    /// The state as a Raft snapshot at [`StoredState::index`], for
    /// [`crate::server::DurableState::snapshot`]. Checks it as a snapshot from the leader is
    /// checked: records out of order, keys on unknown leases and the like are refused.
    pub fn into_snapshot(self) -> Result<Snapshot, SnapshotError> {
        let membership: Membership = decode_membership(&self.membership.members)
            .map_err(|_| SnapshotError::Corrupt("membership"))?;
        let alarms = {
            let mut a = AlarmStore::default();
            for m in &self.alarms {
                a.activate(*m);
            }
            a.list()
        };
        let sm = snapshot::encode_parts(
            self.revision,
            self.compact_revision,
            self.records
                .iter()
                .map(|r| (r.revision, r.tombstone, &r.kv)),
            self.leases.iter().map(|l| (l.id, l.ttl, l.remaining_ttl)),
            &alarms,
        );
        // Decoding rebuilds the key index and the lessor's key sets, which is where
        // inconsistent tables would show.
        snapshot::decode(&sm, Default::default())?;
        let mut snap = Snapshot::default();
        let meta = snap.mut_metadata();
        meta.index = self.index;
        meta.term = self.term;
        *meta.mut_conf_state() = self.membership.conf_state;
        snap.data = crate::server::encode_snapshot_data(&membership, &sm).into();
        Ok(snap)
    }
}

/// The membership in stored form.
pub(crate) fn stored_membership(m: &Membership, conf_state: ConfState) -> StoredMembership {
    let mut members = Vec::new();
    encode_membership(m, &mut members);
    StoredMembership {
        members,
        conf_state,
    }
}

/// The reference backend: folds [`AppliedChanges`] into tables in memory, exactly as a
/// durable backend must in each transaction. The simulator keeps one per member disk; tests
/// compare a real backend with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryBackend {
    index: u64,
    term: u64,
    revision: i64,
    compact_revision: i64,
    records: std::collections::BTreeMap<Revision, (bool, KeyValue)>,
    leases: std::collections::BTreeMap<i64, StoredLease>,
    alarms: Vec<AlarmMember>,
    membership: Option<StoredMembership>,
}

impl MemoryBackend {
    /// Applies one batch.
    pub fn apply(&mut self, applied: &AppliedChanges) {
        let c = &applied.state;
        if c.reset {
            self.records.clear();
            self.leases.clear();
            self.alarms.clear();
        }
        for r in &c.records {
            self.records.insert(r.revision, (r.tombstone, r.kv.clone()));
        }
        for rev in &c.removed {
            self.records.remove(rev);
        }
        for l in &c.leases {
            match l {
                LeaseChange::Put(l) => {
                    self.leases.insert(l.id, *l);
                }
                LeaseChange::Delete(id) => {
                    self.leases.remove(id);
                }
            }
        }
        if let Some(a) = &c.alarms {
            self.alarms.clone_from(a);
        }
        self.membership = Some(applied.membership.clone());
        self.index = applied.index;
        self.term = applied.term;
        self.revision = c.revision;
        self.compact_revision = c.compact_revision;
    }

    /// The index of the last entry applied (0 = nothing stored yet).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Everything stored, or `None` before the first batch.
    pub fn state(&self) -> Option<StoredState> {
        Some(StoredState {
            index: self.index,
            term: self.term,
            revision: self.revision,
            compact_revision: self.compact_revision,
            records: self
                .records
                .iter()
                .map(|(rev, (tombstone, kv))| StoredRecord {
                    revision: *rev,
                    tombstone: *tombstone,
                    kv: kv.clone(),
                })
                .collect(),
            leases: self.leases.values().copied().collect(),
            alarms: self.alarms.clone(),
            membership: self.membership.clone()?,
        })
    }
}
