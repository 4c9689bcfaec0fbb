//! What goes into a [`super::Server`] and what comes out of it.

use crate::cluster::Member;
use crate::error::EtcdError;
use crate::request::*;
use crate::watch::{StreamId, WatchCreateRequest, WatchResponse};
use raft::eraftpb::{Entry, HardState, Snapshot};

/// The host's name for one client request; echoed in the matching [`Output::Response`].
/// Hosts pick them; the server never reads meaning into them.
pub type RequestId = u64;

/// An input to [`super::Server::handle`].
#[derive(Clone, Debug)]
pub enum Input {
    /// The host's ticker fired. Occurs every [`super::ServerConfig::tick_ms`] of host time;
    /// drives elections, heartbeats, lease expiry, request timeouts and watch catch-up.
    Tick,
    /// A message from a peer arrived (what another member's [`Output::Send`] carried).
    Message(super::PeerMessage),
    /// A client request arrived from the API layer.
    Client {
        /// Echoed in the response.
        id: RequestId,
        /// What the client asked for.
        request: ClientRequest,
    },
    /// Everything in the [`Output::Persist`] with this `number`, and in every earlier one, is
    /// durable. Occurs once the host's write (and fsync, if `must_sync`) completed.
    Persisted {
        /// The batch number.
        number: u64,
    },
    /// The snapshot this member sent to `to` was received (`ok`) or the transfer failed.
    SnapshotSent {
        /// The peer.
        to: u64,
        /// Whether it arrived.
        ok: bool,
    },
    /// The host could not reach peer `to` (a broken connection): Raft probes it more gently.
    Unreachable {
        /// The peer.
        to: u64,
    },
    /// The host found peer `peer` not running: a connection to it was refused (its process
    /// is gone, say killed). Hosts may repeat it (each refused reconnect).
    ///
    /// A voter following that leader that then hears nothing from it for more than
    /// [`SILENT_HEARTBEATS`](super::SILENT_HEARTBEATS) heartbeat intervals stops honoring
    /// its lease and campaigns within a few ticks instead of the election timeout (1–2 s by
    /// default); the survivors go in order of ID, so they rarely split the vote
    /// ([`Notice::LeaderDown`]). A message from the leader cancels the report, so a
    /// follower that still hears from it (only its own link was refused) is not disturbed
    /// unless the leader also falls silent for that long. Raft's safety never rests on
    /// timeouts.
    PeerDown {
        /// The peer.
        peer: u64,
    },
    /// The host's backend has committed every [`Output::Applied`] batch up to the one of
    /// applied `index`, whose store revision is `revision`, and the reader given to
    /// [`super::Server::set_value_reader`] reads their values back. Occurs after each
    /// backend commit. The member drops those values from memory
    /// ([`crate::mvcc::Store::evict_values`]); a report from before the state was last
    /// replaced by a snapshot (its batches no longer describe the state) is ignored.
    ValuesStored {
        /// The applied index of the last batch committed.
        index: u64,
        /// The store revision as of that batch.
        revision: i64,
    },
    /// The client of watch `stream` is slow (`paused`: the host cannot take more of its
    /// responses) or caught up again. While paused, the member emits no [`Output::Watch`]
    /// for the stream: its watchers fill the stream's bounded outbox, then fall behind
    /// (unsynced), and are caught up from the store's history once resumed (at the first
    /// input 10 ms after the last catch-up pass), as etcd does with a slow watcher. A
    /// watcher whose history is compacted meanwhile is canceled with the compaction revision.
    WatchBackpressure {
        /// The stream.
        stream: crate::watch::StreamId,
        /// Whether the host can take no more responses for it.
        paused: bool,
    },
}

/// What a client can ask a member: the requests etcd's gRPC services turn into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRequest {
    /// KV.Range: linearizable (ReadIndex) unless `serializable`.
    Range(RangeRequest),
    /// KV.Put.
    Put(PutRequest),
    /// KV.DeleteRange.
    DeleteRange(DeleteRangeRequest),
    /// KV.Txn; a read-only txn is served like a range (linearizable unless every range in it
    /// is serializable).
    Txn(TxnRequest),
    /// KV.Compact.
    Compact(CompactionRequest),
    /// Lease.LeaseGrant; an `id` of 0 lets the member pick one.
    LeaseGrant(LeaseGrantRequest),
    /// Lease.LeaseRevoke.
    LeaseRevoke(LeaseRevokeRequest),
    /// One keep-alive of Lease.LeaseKeepAlive (answered by the leader; forwarded there).
    LeaseKeepAlive {
        /// The lease.
        id: i64,
    },
    /// Lease.LeaseTimeToLive (answered by the leader; forwarded there).
    LeaseTimeToLive {
        /// The lease.
        id: i64,
        /// Also list the attached keys.
        keys: bool,
    },
    /// Lease.LeaseLeases (answered locally).
    LeaseLeases,
    /// Cluster.MemberAdd.
    MemberAdd {
        /// The new member's peer URLs.
        peer_urls: Vec<String>,
        /// Add as a non-voting learner.
        is_learner: bool,
    },
    /// Cluster.MemberRemove.
    MemberRemove {
        /// The member.
        id: u64,
    },
    /// Cluster.MemberUpdate (peer URLs).
    MemberUpdate {
        /// The member.
        id: u64,
        /// Its new peer URLs.
        peer_urls: Vec<String>,
    },
    /// Cluster.MemberPromote: a learner becomes a voter once it caught up with the leader.
    MemberPromote {
        /// The learner.
        id: u64,
    },
    /// Cluster.MemberList (linearizable, as etcd 3.4 answers it from the applied state).
    MemberList,
    /// Maintenance.Alarm: list, raise or clear alarms (through Raft; answered with
    /// [`ClientResponse::Kv`] holding an alarm response).
    Alarm(crate::request::AlarmRequest),
    /// Maintenance.MoveLeader: only the leader accepts it.
    MoveLeader {
        /// The member that should lead.
        target: u64,
    },
    /// Maintenance.Status.
    Status,
    /// Maintenance.HashKV at a revision (0 = current).
    HashKv {
        /// The revision.
        revision: i64,
    },
    /// Watch: open a stream (one gRPC Watch call).
    WatchOpen,
    /// Watch: a create request on a stream.
    WatchCreate {
        /// The stream.
        stream: StreamId,
        /// The watcher.
        request: WatchCreateRequest,
    },
    /// Watch: a cancel request on a stream.
    WatchCancel {
        /// The stream.
        stream: StreamId,
        /// The watcher.
        watch_id: i64,
    },
    /// Watch: a progress request on a stream.
    WatchProgress {
        /// The stream.
        stream: StreamId,
    },
    /// Watch: the client closed the stream.
    WatchClose {
        /// The stream.
        stream: StreamId,
    },
}

impl ClientRequest {
    /// Whether this is a read that skips Raft (a serializable range or read-only txn).
    pub fn is_serializable_read(&self) -> bool {
        match self {
            Self::Range(r) => r.serializable,
            Self::Txn(t) => t.is_read_only() && txn_is_serializable(t),
            _ => false,
        }
    }
}

/// etcd `isTxnSerializable`: every range in the txn is serializable.
fn txn_is_serializable(t: &TxnRequest) -> bool {
    t.success.iter().chain(&t.failure).all(|op| match op {
        RequestOp::Range(r) => r.serializable,
        _ => false,
    })
}

/// Maintenance.Status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The leader's ID (0 = none known).
    pub leader: u64,
    /// The last index of this member's Raft log.
    pub raft_index: u64,
    /// This member's term.
    pub raft_term: u64,
    /// The index this member applied.
    pub raft_applied_index: u64,
    /// Whether this member is a learner.
    pub is_learner: bool,
    /// Bytes the retained history takes (etcd: the bbolt file's size), what the space quota
    /// counts.
    pub db_size: i64,
}

/// Cluster.Member* responses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembersResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The member added (MemberAdd only).
    pub member: Option<Member>,
    /// Every member after the change.
    pub members: Vec<Member>,
}

/// Maintenance.HashKV.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashKvResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The hash.
    pub hash: u32,
    /// The compaction revision (-1 = never compacted).
    pub compact_revision: i64,
}

/// A successful answer to a [`ClientRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientResponse {
    /// Range, Put, DeleteRange, Txn, Compact, LeaseGrant, LeaseRevoke.
    Kv(Response),
    /// LeaseKeepAlive (TTL 0 = the lease is gone).
    LeaseKeepAlive(LeaseKeepAliveResponse),
    /// LeaseTimeToLive (TTL −1 = the lease is gone).
    LeaseTimeToLive(LeaseTimeToLiveResponse),
    /// LeaseLeases.
    LeaseLeases(LeaseLeasesResponse),
    /// MemberAdd, MemberRemove, MemberUpdate, MemberPromote, MemberList.
    Members(MembersResponse),
    /// MoveLeader: the transfer completed.
    MoveLeader(ResponseHeader),
    /// Status.
    Status(StatusResponse),
    /// HashKV.
    HashKv(HashKvResponse),
    /// WatchOpen: the stream to send watch requests on.
    WatchOpened(StreamId),
    /// WatchCreate/Cancel/Progress/Close were accepted; what they produce arrives as
    /// [`Output::Watch`].
    WatchAccepted,
}

/// One batch of state to make durable, in order (etcd `raftStorage.Save`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PersistBatch {
    /// Confirm with [`Input::Persisted`] carrying this number.
    pub number: u64,
    /// A snapshot received from the leader: replaces the log (entries up to its index are
    /// gone) and the state it summarises. Written before `entries`.
    pub snapshot: Option<Snapshot>,
    /// Entries to append; an entry at an index already in the log replaces it and every
    /// entry after it.
    pub entries: Vec<Entry>,
    /// The new hard state (term, vote, commit), if it changed.
    pub hard_state: Option<HardState>,
    /// Whether the batch must be fsynced before [`Input::Persisted`] (a new term or vote, new
    /// entries or a snapshot); a commit-index-only change may stay in the page cache.
    pub must_sync: bool,
}

/// Something the host should know about; no action is required except where noted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The leader this member follows changed (0 = no leader). Occurs on every change of
    /// leader or term seen by this member.
    LeaderChanged {
        /// The new leader.
        leader: u64,
        /// The current term.
        term: u64,
    },
    /// This member's Raft role changed (follower, pre-candidate, candidate, leader).
    RoleChanged {
        /// The new role.
        role: raft::StateRole,
        /// The term it holds that role in.
        term: u64,
    },
    /// The voters or learners changed (a conf change was applied, or a snapshot installed).
    MembershipChanged {
        /// Voting members.
        voters: Vec<u64>,
        /// Learners.
        learners: Vec<u64>,
    },
    /// This follower's leader was reported down ([`Input::PeerDown`]) and has been silent
    /// since: it no longer honors the leader's lease and campaigns after `ticks` ticks
    /// (unless it hears from a leader first).
    LeaderDown {
        /// The leader it followed.
        leader: u64,
        /// Ticks until it campaigns.
        ticks: usize,
    },
    /// This member was removed from the cluster: the host should stop it, after giving the
    /// messages already output time to arrive (etcd exits 1 s later).
    Removed,
    /// This member took a snapshot of its applied state and compacted its log; the host may
    /// drop durable log entries up to `compacted_before` once the snapshot is saved.
    SnapshotTaken {
        /// The snapshot's index.
        index: u64,
        /// The first index still in the log.
        compacted_before: u64,
    },
    /// This member installed a snapshot from the leader.
    SnapshotInstalled {
        /// The snapshot's index.
        index: u64,
    },
}

/// An output of [`super::Server::poll_output`].
#[derive(Clone, Debug)]
pub enum Output {
    /// Send a message to a peer. Only emitted once it is safe: a vote or an acknowledgement
    /// that promises durable state is held back until the matching [`Input::Persisted`];
    /// `before_persist` is true for a leader's appends and heartbeats, which Raft lets leave
    /// while the leader's own write is still in flight (thesis §10.2.1).
    Send {
        /// The peer.
        to: u64,
        /// The message.
        message: super::PeerMessage,
        /// Sent while this member's own persist of the same entries may be in flight.
        before_persist: bool,
    },
    /// Make this batch durable, then answer [`Input::Persisted`]. Batches must be persisted
    /// in order.
    Persist(PersistBatch),
    /// Save this snapshot of the applied state (the member took it locally, see
    /// [`Notice::SnapshotTaken`]). It is needed at restart together with the later entries.
    SaveSnapshot(Snapshot),
    /// The answer to [`Input::Client`] with this id. Writes are answered when the entry is
    /// applied on this member (after it is durable here); errors come from validation, a
    /// refused proposal, or a timeout.
    Response {
        /// The request.
        id: RequestId,
        /// The answer or etcd's error.
        result: Result<ClientResponse, EtcdError>,
    },
    /// What the last applied entries changed, for a host's durable backend: emitted after
    /// each ready that applied entries, once an installed snapshot is durable, and at
    /// start-up with the whole state (unless it came from the backend); only with
    /// [`super::ServerConfig::applied_changes`]. Everything it reflects is already durable in
    /// the log or a snapshot file, so the backend may commit it whenever it likes, in order.
    Applied(crate::backend::AppliedChanges),
    /// A watch response for the client of `stream`.
    Watch {
        /// The stream.
        stream: StreamId,
        /// The response.
        response: WatchResponse,
    },
    /// Something happened that the host may show or act on.
    Notice(Notice),
}
