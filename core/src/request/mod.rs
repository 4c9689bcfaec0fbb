//! What gets applied: one request enum mirroring what etcd puts into a Raft entry
//! (`etcdserverpb.InternalRaftRequest`), and the responses apply produces.
//!
//! These are plain Rust types with etcd's field names and meanings; protobuf encoding belongs
//! to the native front end. Bytes fields use [`Bytes`] so that a key or value travels from a
//! request through the store to responses and watch events without being copied.

mod codec;
mod response;
mod validate;

pub(crate) use codec::encoded_size_hint;
pub use codec::{decode_request, encode_request};

pub use response::*;
pub use validate::{check_delete, check_put, check_range, check_txn, validate, Limits};

use crate::mvcc::KeyRange;
use bytes::Bytes;

/// A request the state machine applies (etcd's `InternalRaftRequest`, KV and lease part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Read a range (serializable reads skip Raft; linearizable ones follow a ReadIndex).
    Range(RangeRequest),
    /// Put one key.
    Put(PutRequest),
    /// Delete a range of keys.
    DeleteRange(DeleteRangeRequest),
    /// Compare, then run one of two lists of operations, atomically.
    Txn(TxnRequest),
    /// Compact the history up to a revision.
    Compaction(CompactionRequest),
    /// Create a lease (the proposer has already chosen its ID).
    LeaseGrant(LeaseGrantRequest),
    /// Revoke a lease and delete its keys (also how the leader expires a lease).
    LeaseRevoke(LeaseRevokeRequest),
    /// Record leases' remaining TTLs so a new leader does not extend them.
    LeaseCheckpoint(LeaseCheckpointRequest),
    /// List, raise or clear an alarm (all three go through Raft, as in etcd 3.4).
    Alarm(AlarmRequest),
}

/// What an [`AlarmRequest`] does (etcd `AlarmRequest.AlarmAction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AlarmAction {
    /// List the active alarms.
    #[default]
    Get,
    /// Raise one.
    Activate,
    /// Clear one.
    Deactivate,
}

/// etcd `AlarmRequest`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlarmRequest {
    /// What to do.
    pub action: AlarmAction,
    /// The member raising or clearing it (0 with Get).
    pub member_id: u64,
    /// The alarm.
    pub alarm: crate::alarm::AlarmType,
}

/// Sort direction of a range (etcd `RangeRequest.SortOrder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SortOrder {
    /// No sorting: key order, unless a non-key target is given (then ascending).
    #[default]
    None,
    /// Ascending.
    Ascend,
    /// Descending.
    Descend,
}

/// What a range is sorted by (etcd `RangeRequest.SortTarget`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // the names are the fields sorted by
pub enum SortTarget {
    #[default]
    Key,
    Version,
    Create,
    Mod,
    Value,
}

/// Read a range of keys (etcd `RangeRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// First key (see [`KeyRange`] for the `key`/`range_end` convention).
    pub key: Bytes,
    /// End of the range: empty = `key` only, `"\0"` = every key ≥ `key`.
    pub range_end: Bytes,
    /// Maximum number of keys returned (0 = no limit); `more` tells whether it cut.
    pub limit: i64,
    /// Read at this revision (≤ 0 = latest).
    pub revision: i64,
    /// Sort direction.
    pub sort_order: SortOrder,
    /// Sort field.
    pub sort_target: SortTarget,
    /// Serve from the local state without a ReadIndex round.
    pub serializable: bool,
    /// Omit values.
    pub keys_only: bool,
    /// Return only the count.
    pub count_only: bool,
    /// Drop keys with a lower mod revision (0 = no filter).
    pub min_mod_revision: i64,
    /// Drop keys with a higher mod revision (0 = no filter).
    pub max_mod_revision: i64,
    /// Drop keys with a lower create revision (0 = no filter).
    pub min_create_revision: i64,
    /// Drop keys with a higher create revision (0 = no filter).
    pub max_create_revision: i64,
}

impl RangeRequest {
    /// The keys the request reads.
    pub fn key_range(&self) -> KeyRange {
        KeyRange::new(self.key.clone(), self.range_end.clone())
    }
}

/// Put one key (etcd `PutRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutRequest {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
    /// Lease to attach (0 = none).
    pub lease: i64,
    /// Return the previous key-value.
    pub prev_kv: bool,
    /// Keep the current value (the key must exist).
    pub ignore_value: bool,
    /// Keep the current lease (the key must exist).
    pub ignore_lease: bool,
}

/// Delete a range of keys (etcd `DeleteRangeRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteRangeRequest {
    /// First key.
    pub key: Bytes,
    /// End of the range (same convention as [`RangeRequest::range_end`]).
    pub range_end: Bytes,
    /// Return the deleted key-values.
    pub prev_kv: bool,
}

impl DeleteRangeRequest {
    /// The keys the request deletes.
    pub fn key_range(&self) -> KeyRange {
        KeyRange::new(self.key.clone(), self.range_end.clone())
    }
}

/// How a compare relates the key's field to the given value (etcd `Compare.CompareResult`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // =, >, <, !=
pub enum CompareResult {
    #[default]
    Equal,
    Greater,
    Less,
    NotEqual,
}

/// The field a compare reads, with the value to compare it to (etcd `Compare.target` together
/// with its `target_union`; a union that does not match the target compares against zero and is
/// resolved when decoding protobuf).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CompareTarget {
    /// The key's version (0 = missing).
    Version(i64),
    /// The key's create revision (0 = missing).
    Create(i64),
    /// The key's mod revision (0 = missing).
    Mod(i64),
    /// The key's value (a missing key never compares true).
    Value(Bytes),
    /// The key's lease (0 = none or missing).
    Lease(i64),
}

/// One condition of a txn (etcd `Compare`). With a `range_end`, every key in the range must
/// satisfy it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    /// The key (or first key).
    pub key: Bytes,
    /// End of the range (empty = `key` only).
    pub range_end: Bytes,
    /// The relation.
    pub result: CompareResult,
    /// The field and the value to compare with.
    pub target: CompareTarget,
}

impl Compare {
    /// The keys the compare reads.
    pub fn key_range(&self) -> KeyRange {
        KeyRange::new(self.key.clone(), self.range_end.clone())
    }
}

/// One operation inside a txn (etcd `RequestOp`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestOp {
    /// Read a range.
    Range(RangeRequest),
    /// Put a key.
    Put(PutRequest),
    /// Delete a range.
    DeleteRange(DeleteRangeRequest),
    /// A nested txn (etcd 3.3+).
    Txn(TxnRequest),
}

/// Compare, then run `success` or `failure` (etcd `TxnRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnRequest {
    /// Conditions; all must hold for `success` to run.
    pub compare: Vec<Compare>,
    /// Operations run when every compare holds.
    pub success: Vec<RequestOp>,
    /// Operations run otherwise.
    pub failure: Vec<RequestOp>,
}

impl TxnRequest {
    /// Whether neither branch holds anything but ranges (etcd `isTxnReadonly`: a nested txn
    /// counts as a write).
    pub fn is_read_only(&self) -> bool {
        self.success
            .iter()
            .chain(&self.failure)
            .all(|op| matches!(op, RequestOp::Range(_)))
    }
}

/// Compact the history at `revision` (etcd `CompactionRequest`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactionRequest {
    /// Compact every revision below this one.
    pub revision: i64,
    /// Wait until the data is physically removed. The in-memory store removes it during apply,
    /// so this changes nothing here; it is kept so requests round-trip.
    pub physical: bool,
}

/// Create a lease (etcd `LeaseGrantRequest`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseGrantRequest {
    /// Requested TTL in seconds; raised to the minimum TTL if lower.
    pub ttl: i64,
    /// The lease ID. 0 is refused at apply: the proposer picks an ID before proposing.
    pub id: i64,
}

/// Revoke a lease (etcd `LeaseRevokeRequest`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseRevokeRequest {
    /// The lease.
    pub id: i64,
}

/// One lease's remaining TTL (etcd `LeaseCheckpoint`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseCheckpoint {
    /// The lease.
    pub id: i64,
    /// Seconds left when the leader checkpointed it.
    pub remaining_ttl: i64,
}

/// Record remaining TTLs (etcd `LeaseCheckpointRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseCheckpointRequest {
    /// The checkpoints.
    pub checkpoints: Vec<LeaseCheckpoint>,
}
