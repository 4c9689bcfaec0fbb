//! Responses to applied requests (etcd's `*Response` messages, without protobuf).

use crate::mvcc::KeyValue;
use bytes::Bytes;

/// The header every response carries (etcd `ResponseHeader`).
///
/// The state machine sets `revision`; the member that answers fills in `cluster_id`,
/// `member_id` and `raft_term`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResponseHeader {
    /// The cluster's ID.
    pub cluster_id: u64,
    /// The answering member's ID.
    pub member_id: u64,
    /// The store revision this response reflects (see each response for the exact rule).
    pub revision: i64,
    /// The answering member's Raft term.
    pub raft_term: u64,
}

impl ResponseHeader {
    /// A header with only `revision` set.
    pub fn at(revision: i64) -> Self {
        Self {
            revision,
            ..Self::default()
        }
    }
}

/// The response to an applied request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per request
pub enum Response {
    Range(RangeResponse),
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    Compaction(CompactionResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    LeaseCheckpoint(LeaseCheckpointResponse),
    Alarm(AlarmResponse),
}

impl Response {
    /// The response's header.
    pub fn header(&self) -> &ResponseHeader {
        match self {
            Self::Range(r) => &r.header,
            Self::Put(r) => &r.header,
            Self::DeleteRange(r) => &r.header,
            Self::Txn(r) => &r.header,
            Self::Compaction(r) => &r.header,
            Self::LeaseGrant(r) => &r.header,
            Self::LeaseRevoke(r) => &r.header,
            Self::LeaseCheckpoint(r) => &r.header,
            Self::Alarm(r) => &r.header,
        }
    }
}

/// etcd `RangeResponse`. `header.revision` is the current revision, also for historical reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The keys, cut at the limit.
    pub kvs: Vec<KeyValue>,
    /// Whether the limit cut the result.
    pub more: bool,
    /// Keys in the range, ignoring the limit and the min/max revision filters.
    pub count: i64,
}

/// etcd `PutResponse`. `header.revision` is the revision the put created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The key before the put, when asked for and present.
    pub prev_kv: Option<KeyValue>,
}

/// etcd `DeleteRangeResponse`. `header.revision` is the delete's revision, or the current one
/// when nothing was deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteRangeResponse {
    /// Header.
    pub header: ResponseHeader,
    /// How many keys were deleted.
    pub deleted: i64,
    /// The deleted keys, when asked for.
    pub prev_kvs: Vec<KeyValue>,
}

/// etcd `TxnResponse`. The top-level header has the revision after the txn; every operation's
/// response has its own header with only `revision` set, and a nested txn's header is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnResponse {
    /// Header.
    pub header: ResponseHeader,
    /// Whether the compares held (the success branch ran).
    pub succeeded: bool,
    /// One response per operation of the branch that ran.
    pub responses: Vec<ResponseOp>,
}

/// The response to one txn operation (etcd `ResponseOp`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per operation
pub enum ResponseOp {
    Range(RangeResponse),
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
}

/// etcd `CompactionResponse`; `header.revision` is the current revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionResponse {
    /// Header.
    pub header: ResponseHeader,
}

/// etcd `LeaseGrantResponse`; `header.revision` is the current revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseGrantResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease ID.
    pub id: i64,
    /// The granted TTL in seconds (at least the minimum TTL).
    pub ttl: i64,
    /// Unused by etcd 3.4 (always empty); kept for the wire format.
    pub error: String,
}

/// etcd `LeaseRevokeResponse`; `header.revision` is the revision after the revoke.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseRevokeResponse {
    /// Header.
    pub header: ResponseHeader,
}

/// etcd `AlarmResponse`: the active alarms (Get), or the one raised or cleared (none if
/// nothing changed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlarmResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The alarms.
    pub alarms: Vec<crate::alarm::AlarmMember>,
}

/// etcd `LeaseCheckpointResponse`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseCheckpointResponse {
    /// Header.
    pub header: ResponseHeader,
}

/// etcd `LeaseKeepAliveResponse`. `ttl` 0 means the lease does not exist (not an error).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseKeepAliveResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease.
    pub id: i64,
    /// The renewed TTL in seconds, or 0 if the lease is gone.
    pub ttl: i64,
}

/// etcd `LeaseTimeToLiveResponse`. `ttl` −1 means the lease does not exist (not an error).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseTimeToLiveResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease.
    pub id: i64,
    /// Seconds left (truncated), or −1 if the lease is gone.
    pub ttl: i64,
    /// The TTL the lease was granted with.
    pub granted_ttl: i64,
    /// The attached keys in key order, when asked for.
    pub keys: Vec<Bytes>,
}

/// etcd `LeaseLeasesResponse`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseLeasesResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease IDs.
    pub leases: Vec<i64>,
}
