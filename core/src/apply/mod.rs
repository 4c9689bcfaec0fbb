//! The state machine Raft entries are applied to (etcd `etcdserver/apply.go`).
//!
//! [`StateMachine`] owns one member's store, lessor and watchers. [`StateMachine::apply`] is
//! the only way the replicated state changes: given the same state and the same request, it
//! produces the same response and the same new state on every member. Its `now_ms` argument
//! feeds only the leader's lease deadlines, which are not replicated.
//!
//! ```text
//!  validate(request) ──> Raft log ──> apply(now, request) ──> Response
//!                                          │
//!                      store + lessor  <───┤ (replicated, snapshotted, hashed)
//!                      watchers        <───┘ notify: events queued on watch streams
//! ```

mod journal;
mod kv;
mod txn;

use crate::alarm::{quota_cost, AlarmMember, AlarmStore, AlarmType};
use crate::error::{EtcdError, HashError, LeaseError, RangeError, TxnError, WatchError};
use crate::lease::{LeaseConfig, Lessor};
use crate::mvcc::{Change, EventType, HashKv, KeyRange, Store};
use crate::request::*;
use crate::snapshot::{self, SnapshotError};
use crate::watch::{StreamId, WatchConfig, WatchCreateRequest, WatchHub, WatchResponse};

/// Settings of a state machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Lessor settings.
    pub lease: LeaseConfig,
    /// Watch limits.
    pub watch: WatchConfig,
    /// Request limits.
    pub limits: Limits,
}

/// One member's replicated key-value state, its leases and its watchers.
#[derive(Clone, Debug)]
pub struct StateMachine {
    config: Config,
    store: Store,
    lessor: Lessor,
    watch: WatchHub,
    alarms: AlarmStore,
    /// Changes not yet taken by the host ([`StateMachine::enable_journal`]).
    journal: Option<journal::Journal>,
}

impl StateMachine {
    /// An empty state machine: revision 1, no leases, no watchers, not the primary lessor.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            store: Store::new(),
            lessor: Lessor::new(config.lease),
            watch: WatchHub::new(config.watch),
            alarms: AlarmStore::default(),
            journal: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The store (read-only).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Lets the store keep values on the host's disk (see [`crate::mvcc::ValueReader`]).
    pub fn set_value_reader(&mut self, reader: std::sync::Arc<dyn crate::mvcc::ValueReader>) {
        self.store.set_value_reader(reader);
    }

    /// Drops from memory the values the host's backend holds, up to main revision `through`.
    pub fn evict_values(&mut self, through: i64) -> usize {
        self.store.evict_values(through)
    }

    /// The lessor (read-only).
    pub fn lessor(&self) -> &Lessor {
        &self.lessor
    }

    /// The active alarms.
    pub fn alarms(&self) -> &AlarmStore {
        &self.alarms
    }

    /// Checks a request as etcd's gRPC layer does before proposing it.
    pub fn validate(&self, request: &Request) -> Result<(), EtcdError> {
        validate(request, &self.config.limits)
    }

    /// Applies a committed request. Writes create exactly one revision when they change
    /// anything; failed requests change nothing. Watchers are notified before this returns.
    pub fn apply(&mut self, now_ms: u64, request: &Request) -> Result<Response, EtcdError> {
        let before = self.store.revision();
        // etcd's capped applier: with NOSPACE raised, nothing that would grow the database
        // is applied, on any member.
        if self.alarms.is_active(AlarmType::NoSpace) && quota_cost(request) > 0 {
            return Err(EtcdError::NoSpace);
        }
        let result = match request {
            Request::Range(r) => self.range(r).map(Response::Range).map_err(Into::into),
            Request::Put(r) => self.put(r).map(Response::Put),
            Request::DeleteRange(r) => Ok(Response::DeleteRange(self.delete_range(r))),
            Request::Txn(r) => self.txn(r).map(Response::Txn).map_err(Into::into),
            Request::Compaction(r) => self.compact(r).map(Response::Compaction),
            Request::LeaseGrant(r) => self.lease_grant(now_ms, r).map(Response::LeaseGrant),
            Request::LeaseRevoke(r) => self.lease_revoke(r).map(Response::LeaseRevoke),
            Request::LeaseCheckpoint(r) => {
                for cp in &r.checkpoints {
                    self.lessor.checkpoint(cp.id, cp.remaining_ttl, now_ms);
                    self.note(|j| j.lease(cp.id));
                }
                Ok(Response::LeaseCheckpoint(LeaseCheckpointResponse {
                    header: self.header(),
                }))
            }
            Request::Alarm(r) => Ok(Response::Alarm(self.alarm(r))),
        };
        let after = self.store.revision();
        assert!(
            after == before || after == before + 1,
            "one revision per request"
        );
        assert!(
            result.is_ok() || after == before,
            "a failed request changed the store"
        );
        result
    }

    fn header(&self) -> ResponseHeader {
        ResponseHeader::at(self.store.revision())
    }

    /// Notes a change in the journal, if it is on.
    fn note(&mut self, f: impl FnOnce(&mut journal::Journal)) {
        if let Some(j) = &mut self.journal {
            f(j);
        }
    }

    /// Reads a range from the local state (serializable, or linearizable once the member's
    /// applied index reached the read index).
    pub fn range(&self, r: &RangeRequest) -> Result<RangeResponse, RangeError> {
        kv::range(&self.store, r)
    }

    fn put(&mut self, p: &PutRequest) -> Result<PutResponse, EtcdError> {
        if p.lease != 0 && self.lessor.get(p.lease).is_none() {
            return Err(EtcdError::LeaseNotFound);
        }
        let mut txn = self.store.write();
        let result = kv::put(&mut txn, p);
        let changes = txn.end();
        self.changed(changes);
        result.map_err(Into::into)
    }

    fn delete_range(&mut self, d: &DeleteRangeRequest) -> DeleteRangeResponse {
        let mut txn = self.store.write();
        let resp = kv::delete_range(&mut txn, d);
        let changes = txn.end();
        self.changed(changes);
        resp
    }

    fn txn(&mut self, r: &TxnRequest) -> Result<TxnResponse, TxnError> {
        let path = txn::path(&self.store, r);
        if r.is_read_only() {
            txn::check_ranges(&self.store, r, &path)?;
            return Ok(txn::execute_read_only(&self.store, r, &path));
        }
        txn::check_puts(&self.store, &self.lessor, r, &path, &mut Vec::new())?;
        txn::check_ranges(&self.store, r, &path)?;
        let mut write = self.store.write();
        let mut resp = txn::execute(&mut write, r, &path);
        resp.header = ResponseHeader::at(write.revision());
        let changes = write.end();
        self.changed(changes);
        Ok(resp)
    }

    /// Runs a read-only txn against the local state without applying it.
    pub fn read_txn(&self, r: &TxnRequest) -> Result<TxnResponse, TxnError> {
        assert!(
            r.is_read_only(),
            "read_txn takes read-only txns; apply the others"
        );
        let path = txn::path(&self.store, r);
        txn::check_ranges(&self.store, r, &path)?;
        Ok(txn::execute_read_only(&self.store, r, &path))
    }

    fn compact(&mut self, r: &CompactionRequest) -> Result<CompactionResponse, EtcdError> {
        let removed = self.store.compact_removing(r.revision)?;
        self.note(|j| j.removed(removed));
        Ok(CompactionResponse {
            header: self.header(),
        })
    }

    fn lease_grant(
        &mut self,
        now_ms: u64,
        r: &LeaseGrantRequest,
    ) -> Result<LeaseGrantResponse, EtcdError> {
        let lease = self.lessor.grant(r.id, r.ttl, now_ms)?;
        let (id, ttl) = (lease.id, lease.ttl);
        self.note(|j| j.lease(id));
        Ok(LeaseGrantResponse {
            header: self.header(),
            id,
            ttl,
            error: String::new(),
        })
    }

    fn alarm(&mut self, r: &AlarmRequest) -> AlarmResponse {
        let a = AlarmMember {
            member_id: r.member_id,
            alarm: r.alarm,
        };
        let alarms = match r.action {
            AlarmAction::Get => self.alarms.list(),
            AlarmAction::Activate => self.alarms.activate(a).into_iter().collect(),
            AlarmAction::Deactivate => self.alarms.deactivate(a).into_iter().collect(),
        };
        if r.action != AlarmAction::Get && !alarms.is_empty() {
            self.note(journal::Journal::alarms);
        }
        AlarmResponse {
            header: self.header(),
            alarms,
        }
    }

    /// Revokes a lease: its keys (in key order) are deleted in one revision.
    fn lease_revoke(&mut self, r: &LeaseRevokeRequest) -> Result<LeaseRevokeResponse, EtcdError> {
        let keys = self.lessor.keys(r.id)?;
        let mut txn = self.store.write();
        for key in keys {
            txn.delete_range(&KeyRange::Single(key));
        }
        let changes = txn.end();
        self.lessor.remove(r.id)?;
        self.note(|j| j.lease(r.id));
        self.changed(changes);
        Ok(LeaseRevokeResponse {
            header: self.header(),
        })
    }

    /// Keeps the lessor's key sets in step with a committed write and notifies watchers.
    fn changed(&mut self, changes: Vec<Change>) {
        let mut events = Vec::with_capacity(changes.len());
        for c in changes {
            if c.prev_lease != 0 {
                self.lessor.detach(c.prev_lease, &c.event.kv.key);
            }
            if c.event.kind == EventType::Put && c.event.kv.lease != 0 {
                self.lessor.attach(c.event.kv.lease, c.event.kv.key.clone());
            }
            events.push(c.event);
        }
        self.watch.notify(&self.store, &events);
    }

    /// etcd `HashKV`: the hash of the history up to `revision` (0 = current).
    pub fn hash_kv(&self, revision: i64) -> Result<HashKv, HashError> {
        self.store.hash_kv(revision)
    }

    // ----- leases: leader-side operations that are not Raft entries -----

    /// Becomes the primary lessor (this member became the leader at `now_ms`).
    pub fn promote(&mut self, now_ms: u64, extend_ms: u64) {
        self.lessor.promote(now_ms, extend_ms);
    }

    /// Stops being the primary lessor (this member lost leadership).
    pub fn demote(&mut self) {
        self.lessor.demote();
    }

    /// Leases the leader should revoke now (see [`Lessor::expired`]).
    pub fn expired_leases(&mut self, now_ms: u64) -> Vec<i64> {
        self.lessor.expired(now_ms)
    }

    /// Checkpoints the leader should propose now (see [`Lessor::checkpoints_due`]).
    pub fn lease_checkpoints_due(&mut self, now_ms: u64) -> LeaseCheckpointRequest {
        let due = self.lessor.checkpoints_due(now_ms, 1000);
        LeaseCheckpointRequest {
            checkpoints: due
                .into_iter()
                .map(|(id, remaining_ttl)| LeaseCheckpoint { id, remaining_ttl })
                .collect(),
        }
    }

    /// A keep-alive on the leader. An unknown or expired lease answers TTL 0 (not an error);
    /// a member that is not the leader gets `NotLeader` and forwards the request.
    pub fn lease_keep_alive(
        &mut self,
        id: i64,
        now_ms: u64,
    ) -> Result<LeaseKeepAliveResponse, LeaseError> {
        let ttl = match self.lessor.renew(id, now_ms) {
            Ok(ttl) => ttl,
            Err(LeaseError::LeaseNotFound) => 0,
            Err(e) => return Err(e),
        };
        Ok(LeaseKeepAliveResponse {
            header: self.header(),
            id,
            ttl,
        })
    }

    /// Time-to-live on the leader. An unknown lease answers TTL −1 (not an error).
    pub fn lease_time_to_live(
        &self,
        id: i64,
        keys: bool,
        now_ms: u64,
    ) -> Result<LeaseTimeToLiveResponse, LeaseError> {
        let header = self.header();
        match self.lessor.time_to_live(id, keys, now_ms) {
            Ok(t) => Ok(LeaseTimeToLiveResponse {
                header,
                id,
                ttl: t.remaining,
                granted_ttl: t.granted,
                keys: t.keys,
            }),
            Err(LeaseError::LeaseNotFound) => Ok(LeaseTimeToLiveResponse {
                header,
                id,
                ttl: -1,
                ..LeaseTimeToLiveResponse::default()
            }),
            Err(e) => Err(e),
        }
    }

    /// Every lease (answered locally on any member).
    pub fn lease_leases(&self) -> LeaseLeasesResponse {
        LeaseLeasesResponse {
            header: self.header(),
            leases: self.lessor.lease_ids(),
        }
    }

    // ----- watch -----

    /// Opens a watch stream.
    pub fn watch_open(&mut self) -> StreamId {
        self.watch.open_stream()
    }

    /// Closes a watch stream and its watchers.
    pub fn watch_close(&mut self, stream: StreamId) {
        self.watch.close_stream(stream);
    }

    /// Creates a watcher (see [`WatchHub::create`]).
    pub fn watch_create(
        &mut self,
        stream: StreamId,
        req: &WatchCreateRequest,
    ) -> Result<i64, WatchError> {
        self.watch.create(&self.store, stream, req)
    }

    /// Cancels a watcher (see [`WatchHub::cancel`]).
    pub fn watch_cancel(&mut self, stream: StreamId, watch_id: i64) -> Result<(), WatchError> {
        self.watch.cancel(&self.store, stream, watch_id)
    }

    /// A progress request on a stream (see [`WatchHub::request_progress`]).
    pub fn watch_progress(&mut self, stream: StreamId) -> Result<(), WatchError> {
        self.watch.request_progress(&self.store, stream)
    }

    /// Catches up lagging watchers (see [`WatchHub::sync`]); true while some remain.
    pub fn watch_sync(&mut self) -> bool {
        self.watch.sync(&self.store)
    }

    /// A progress-notify interval passed (see [`WatchHub::progress_tick`]).
    pub fn watch_progress_tick(&mut self) {
        self.watch.progress_tick(&self.store);
    }

    /// The next response for a stream's client.
    pub fn watch_poll(&mut self, stream: StreamId) -> Option<WatchResponse> {
        self.watch.poll(stream)
    }

    /// The watch hub (read-only).
    pub fn watchers(&self) -> &WatchHub {
        &self.watch
    }

    // ----- snapshots -----

    /// The replicated state (store and leases) as a versioned, checksummed byte string.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.snapshot_into(&mut out);
        out
    }

    /// [`StateMachine::snapshot`], appended to `out`.
    pub fn snapshot_into(&self, out: &mut Vec<u8>) {
        snapshot::encode_into(out, &self.store, &self.lessor, &self.alarms);
    }

    /// Replaces the replicated state with a snapshot. Watchers resume from the new history;
    /// if this member is the primary lessor, lease deadlines restart at `now_ms`.
    pub fn restore(&mut self, bytes: &[u8], now_ms: u64) -> Result<(), SnapshotError> {
        let (mut store, mut lessor, alarms) = snapshot::decode(bytes, self.config.lease)?;
        if self.lessor.is_primary() {
            lessor.promote(now_ms, 0);
        }
        let previous = self.store.revision();
        store.adopt_value_reader(&self.store);
        self.store = store;
        self.lessor = lessor;
        self.alarms = alarms;
        self.note(journal::Journal::reset);
        self.watch.restored(&self.store, previous);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
