//! One etcd member (etcd `etcdserver`): a Raft node, the state machine it applies to, and
//! the bookkeeping etcd's server does around them, as a sans-IO state machine.
//!
//! ```text
//!            Input::Tick / Message / Client / Persisted / SnapshotSent / Unreachable / PeerDown
//!                                     │
//!   Server::handle(now_ms, input) ────┤──> raft::RawNode ── Ready ──> apply entries ──> StateMachine
//!                                     │
//!   Server::poll_output() <── Output::Send / Persist / SaveSnapshot / Response / Watch / Notice
//! ```
//!
//! The host owns time (it passes `now_ms` and ticks every [`ServerConfig::tick_ms`]), the
//! network (it carries [`Output::Send`] to the peer's [`Input::Message`]) and the disk (it
//! makes [`Output::Persist`] durable, then answers [`Input::Persisted`]). The native node and
//! the simulator are two such hosts. Given the same seed and the same inputs at the same
//! times, a server produces the same outputs on every platform: raft 0.7's election timeouts,
//! drawn from `thread_rng`, are overridden from the server's seeded RNG after every call
//! into Raft (see `election_timer.rs`).

mod apply_entries;
mod client;
mod election_timer;
mod entry;
mod forward;
mod io;
mod leader;
mod log_store;
mod peer;
mod proposals;
mod reads;
mod ready;
#[cfg(test)]
mod tests;
mod values;
mod view;

pub use election_timer::SILENT_HEARTBEATS;
pub use entry::decode_snapshot_data;
pub(crate) use entry::encode_snapshot_data;
#[doc(hidden)] // the simulator's watch checker replays committed entries
pub use entry::Payload;
pub use io::*;
pub use peer::PeerMessage;
pub use raft::eraftpb as raftpb;
pub use raft::StateRole;
pub use view::{ElectionProgress, FollowerProgress, RaftProgress, RaftStatus};

use crate::apply::{self, StateMachine};
use crate::cluster::{Member, Membership};
use crate::lease::IdGenerator;
use crate::request::ResponseHeader;
use crate::watch::StreamId;
use election_timer::ElectionTimer;
use log_store::LogStore;
use raft::eraftpb::{ConfState, Entry, HardState, Message, Snapshot};
use raft::RawNode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, VecDeque};

/// How many times one input's follow-up work may hand Raft more to do before the rest waits
/// for the next input (each round: reads, retries, leader duties, then the Ready loop).
const FOLLOW_UP_ROUNDS: usize = 4;

/// Lagging watchers are caught up at the first input this long after the last pass, not
/// only at ticks (etcd retries its victims every 10 ms).
const WATCH_RESYNC_MS: u64 = 10;

/// Settings of one member (etcd's flags in brackets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// This member's ID (never 0).
    pub id: u64,
    /// The cluster's ID (in every response header).
    pub cluster_id: u64,
    /// This member's name, published to the cluster once it runs (`--name`).
    pub name: String,
    /// URLs clients reach this member on, published with the name.
    pub client_urls: Vec<String>,
    /// Milliseconds between [`Input::Tick`]s (`--heartbeat-interval`, 100).
    pub tick_ms: u64,
    /// Ticks without a leader before a follower campaigns (`--election-timeout` / tick, 10).
    pub election_ticks: usize,
    /// Ticks between a leader's heartbeats (1).
    pub heartbeat_ticks: usize,
    /// Pre-vote: a member that cannot win does not disturb the cluster (`--pre-vote`).
    pub pre_vote: bool,
    /// A leader that loses contact with a quorum steps down.
    pub check_quorum: bool,
    /// Applied entries between snapshots (`--snapshot-count`, 100 000 in etcd 3.4).
    pub snapshot_count: u64,
    /// Entries kept in the log behind a snapshot for slow followers (etcd: 5 000).
    pub snapshot_catchup_entries: u64,
    /// Memory the in-memory Raft log may hold (entries' data plus their fixed size). Past
    /// it, applied entries are dropped down to the last `snapshot_catchup_entries` without
    /// waiting for the next snapshot; a peer that still needs them is sent a snapshot. The
    /// log holds at most this or twice `snapshot_catchup_entries` entries, whichever is
    /// more. etcd keeps every entry since its last snapshot (up to `snapshot_count`).
    pub max_log_bytes: u64,
    /// How long a request may wait for a leader, a commit or a read index before it fails
    /// (etcd: 5 s + 2 × election timeout).
    pub request_timeout_ms: u64,
    /// Milliseconds between watch progress notifications (etcd: 10 minutes).
    pub watch_progress_notify_ms: u64,
    /// Largest append message, in bytes (etcd: 1 MiB).
    pub max_size_per_msg: u64,
    /// The space quota: a write that would take [`crate::mvcc::Store::size_bytes`] past it
    /// raises the NOSPACE alarm and fails (`--quota-backend-bytes`; etcd's default 2 GiB).
    pub quota_backend_bytes: u64,
    /// Largest client write, measured on its encoded entry (`--max-request-bytes`,
    /// 1.5 MiB); larger ones fail with `request is too large`.
    pub max_request_bytes: usize,
    /// Append messages in flight per follower (etcd: 4096; smaller keeps memory bounded).
    pub max_inflight_msgs: usize,
    /// The state machine's settings.
    pub state_machine: apply::Config,
    /// Emit [`Output::Applied`] after each batch of applied entries, for a host that keeps
    /// the applied state in its own durable backend (see [`crate::backend`]).
    pub applied_changes: bool,
}

impl ServerConfig {
    /// etcd 3.4's defaults for a member `id`.
    pub fn new(id: u64, cluster_id: u64, name: impl Into<String>) -> Self {
        Self {
            id,
            cluster_id,
            name: name.into(),
            client_urls: Vec::new(),
            tick_ms: 100,
            election_ticks: 10,
            heartbeat_ticks: 1,
            pre_vote: true,
            check_quorum: true,
            snapshot_count: 100_000,
            snapshot_catchup_entries: 5_000,
            max_log_bytes: 4 << 20,
            request_timeout_ms: 7_000,
            watch_progress_notify_ms: 600_000,
            max_size_per_msg: 1024 * 1024,
            max_request_bytes: 1024 * 1024 * 3 / 2,
            quota_backend_bytes: 2 * 1024 * 1024 * 1024,
            max_inflight_msgs: 256,
            state_machine: apply::Config::default(),
            applied_changes: false,
        }
    }

    /// The election timeout in milliseconds.
    pub fn election_ms(&self) -> u64 {
        self.election_ticks as u64 * self.tick_ms
    }

    fn raft_config(&self, applied: u64) -> raft::Config {
        raft::Config {
            id: self.id,
            election_tick: self.election_ticks,
            heartbeat_tick: self.heartbeat_ticks,
            applied,
            max_size_per_msg: self.max_size_per_msg,
            max_inflight_msgs: self.max_inflight_msgs,
            check_quorum: self.check_quorum,
            pre_vote: self.pre_vote,
            read_only_option: raft::ReadOnlyOption::Safe,
            ..raft::Config::default()
        }
    }
}

/// What survives a crash: written by [`Output::Persist`] and [`Output::SaveSnapshot`], read
/// back by [`Server::restart`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DurableState {
    /// The last persisted hard state.
    pub hard_state: HardState,
    /// The newest saved snapshot (every member has one from bootstrap or from the leader).
    pub snapshot: Snapshot,
    /// Persisted entries; those at or below the snapshot's index are ignored.
    pub entries: Vec<Entry>,
    /// `snapshot` is the host's backend's state ([`crate::backend::StoredState`]), so the
    /// start-up [`Output::Applied`] need not repeat it.
    pub backend_current: bool,
}

/// One member. See the module documentation.
pub struct Server {
    config: ServerConfig,
    raw: RawNode<LogStore>,
    timer: ElectionTimer,
    sm: StateMachine,
    membership: Membership,
    applied: u64,
    /// The term of the entry at `applied`.
    applied_term: u64,
    /// The applied index last reported in [`Output::Applied`] (`None`: nothing yet).
    reported_applied: Option<u64>,
    /// A received snapshot is installed but its [`Output::Persist`] (this number) is not
    /// confirmed: its state is not reported before it is durable.
    unpersisted_install: Option<u64>,
    /// The applied index at which the state was last replaced (see [`values`]).
    state_replaced_at: u64,
    now_ms: u64,
    ids: IdGenerator,
    outputs: VecDeque<Output>,
    /// Messages Raft allows only after the ready with this number is durable.
    held: VecDeque<(u64, Vec<Message>)>,
    /// The newest [`Output::Persist`] not yet confirmed durable.
    last_persist_number: Option<u64>,
    proposals: proposals::Proposals,
    reads: reads::Reads,
    forward: forward::Forwards,
    leader: leader::LeaderState,
    streams: BTreeSet<StreamId>,
    /// Streams whose host cannot take more responses (see [`Input::WatchBackpressure`]).
    paused_streams: BTreeSet<StreamId>,
    next_progress_ms: u64,
    /// When lagging watchers were last caught up (see [`WATCH_RESYNC_MS`]).
    last_watch_sync_ms: u64,
    removed: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A member of a new cluster (`--initial-cluster-state new`). Every initial member starts
    /// from the same snapshot at index 1, term 1 holding `members` as voters; the first
    /// outputs ask the host to save it.
    pub fn bootstrap(config: ServerConfig, seed: u64, members: Vec<Member>) -> Self {
        assert!(
            members.iter().any(|m| m.id == config.id),
            "a bootstrapping member must be in the initial cluster"
        );
        let membership = Membership::bootstrap(members);
        let sm = StateMachine::new(config.state_machine);
        let mut snapshot = Snapshot::default();
        let meta = snapshot.mut_metadata();
        meta.index = 1;
        meta.term = 1;
        *meta.mut_conf_state() = conf_state_of(&membership);
        snapshot.data = entry::encode_snapshot_data(&membership, &sm.snapshot()).into();
        let durable = DurableState {
            hard_state: HardState {
                term: 1,
                commit: 1,
                ..HardState::default()
            },
            snapshot: snapshot.clone(),
            entries: Vec::new(),
            backend_current: false,
        };
        let mut server = Self::restart(config, seed, durable).expect("a fresh bootstrap");
        server.outputs.push_back(Output::SaveSnapshot(snapshot));
        server.outputs.push_back(Output::Persist(PersistBatch {
            number: 0,
            hard_state: Some(server.raw.store().hard_state().clone()),
            must_sync: true,
            ..PersistBatch::default()
        }));
        server
    }

    /// A member added to a running cluster (`--initial-cluster-state existing`): it starts
    /// empty and receives a snapshot from the leader.
    pub fn join(config: ServerConfig, seed: u64) -> Self {
        Self::start(
            config,
            seed,
            LogStore::new(),
            Membership::default(),
            None,
            true,
        )
        .expect("an empty member always starts")
    }

    /// A member starting again from what it persisted.
    pub fn restart(
        config: ServerConfig,
        seed: u64,
        durable: DurableState,
    ) -> Result<Self, crate::wire::DecodeError> {
        let mut store = LogStore::new();
        let snap_index = durable.snapshot.get_metadata().index;
        let (membership, sm_bytes) = if snap_index == 0 {
            (Membership::default(), None)
        } else {
            let (m, sm) = entry::decode_snapshot_data(&durable.snapshot.data)?;
            (m, Some(sm.to_vec()))
        };
        if snap_index > 0 {
            store.install_snapshot(durable.snapshot.clone());
        }
        let later: Vec<Entry> = durable
            .entries
            .into_iter()
            .filter(|e| e.index > snap_index)
            .collect();
        // Entries must continue the snapshot: a gap means the disk lost committed entries
        // (or an older snapshot was loaded), and starting anyway would silently lose them.
        if later.first().is_some_and(|e| e.index != store.last() + 1) {
            return Err(crate::wire::DecodeError::Invalid(
                "log entries that do not follow the snapshot",
            ));
        }
        store.append(&later);
        let mut hs = durable.hard_state;
        hs.commit = hs.commit.clamp(snap_index, store.last());
        store.set_hard_state(hs);
        Self::start(
            config,
            seed,
            store,
            membership,
            sm_bytes.as_deref(),
            durable.backend_current,
        )
    }

    fn start(
        config: ServerConfig,
        seed: u64,
        store: LogStore,
        membership: Membership,
        sm_bytes: Option<&[u8]>,
        backend_current: bool,
    ) -> Result<Self, crate::wire::DecodeError> {
        assert!(config.id != 0, "member ID 0 is reserved");
        let applied = store.latest_snapshot().get_metadata().index;
        let applied_term = store.latest_snapshot().get_metadata().term;
        let mut sm = StateMachine::new(config.state_machine);
        if let Some(bytes) = sm_bytes {
            sm.restore(bytes, 0)
                .map_err(|_| crate::wire::DecodeError::Invalid("state machine snapshot"))?;
        }
        if config.applied_changes {
            // Unless the state came from the host's backend, the first report holds all of
            // it: the backend may be behind the snapshot the member started from.
            sm.enable_journal(!backend_current);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ids = IdGenerator::new(config.id, rng.gen());
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&config.raft_config(applied), store, &logger)
            .expect("a valid raft configuration");
        let timer = ElectionTimer::new(rng, config.election_ticks, config.heartbeat_ticks);
        let mut server = Self {
            timer,
            sm,
            membership,
            applied,
            applied_term,
            reported_applied: backend_current.then_some(applied),
            unpersisted_install: None,
            state_replaced_at: if backend_current { 0 } else { applied },
            now_ms: 0,
            ids,
            outputs: VecDeque::new(),
            held: VecDeque::new(),
            last_persist_number: None,
            proposals: proposals::Proposals::default(),
            reads: reads::Reads::default(),
            forward: forward::Forwards::default(),
            leader: leader::LeaderState::default(),
            streams: BTreeSet::new(),
            paused_streams: BTreeSet::new(),
            next_progress_ms: config.watch_progress_notify_ms,
            last_watch_sync_ms: 0,
            removed: false,
            raw,
            config,
        };
        server.timer.after_call(&mut server.raw);
        server.report_applied();
        Ok(server)
    }

    /// Feeds one input at host time `now_ms` (never decreasing). Outputs wait in
    /// [`Server::poll_output`].
    pub fn handle(&mut self, now_ms: u64, input: Input) {
        self.handle_all(now_ms, [input]);
    }

    /// Feeds several inputs at host time `now_ms`, then runs Raft's Ready loop once: the
    /// proposals of requests that arrived together reach the log in one
    /// [`Output::Persist`], so the host writes and fsyncs them once (group commit). Like
    /// calling [`Server::handle`] for each, except that outputs are batched and the client
    /// writes taken in the call go to Raft together after its inputs (see `proposals`).
    pub fn handle_all(&mut self, now_ms: u64, inputs: impl IntoIterator<Item = Input>) {
        assert!(now_ms >= self.now_ms, "time went backwards");
        self.now_ms = now_ms;
        for input in inputs {
            self.take_input(input);
            self.timer.after_call(&mut self.raw);
        }
        self.flush_proposals();
        self.timer.after_call(&mut self.raw);
        // Follow-up work can give Raft more to do (a ReadIndex round, a retried proposal, a
        // lease revoke): take it in this call, not at the next input (a tick away). A
        // single member's ReadIndex is confirmed at once, so its reads are served here.
        for _ in 0..=FOLLOW_UP_ROUNDS {
            self.process_ready();
            self.after_progress();
            self.flush_proposals();
            self.timer.after_call(&mut self.raw);
            if !self.raw.has_ready() {
                return;
            }
        }
    }

    fn take_input(&mut self, input: Input) {
        match input {
            Input::Tick => self.on_tick(),
            Input::Message(m) => self.on_peer_message(m),
            Input::Client { id, request } => self.on_client(id, request),
            Input::Persisted { number } => self.on_persisted(number),
            Input::SnapshotSent { to, ok } => {
                let status = if ok {
                    raft::SnapshotStatus::Finish
                } else {
                    raft::SnapshotStatus::Failure
                };
                self.raw.report_snapshot(to, status);
            }
            Input::Unreachable { to } => self.raw.report_unreachable(to),
            Input::PeerDown { peer } => self.timer.leader_down(&self.raw, peer),
            Input::ValuesStored { index, revision } => self.on_values_stored(index, revision),
            Input::WatchBackpressure { stream, paused } => {
                if paused && self.streams.contains(&stream) {
                    self.paused_streams.insert(stream);
                } else {
                    self.paused_streams.remove(&stream);
                }
            }
        }
    }

    /// The next output, if any. Hosts drain this after every [`Server::handle`].
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The applied state machine (read-only).
    pub fn state_machine(&self) -> &StateMachine {
        &self.sm
    }

    /// The applied membership.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Whether this member was removed from the cluster.
    pub fn is_removed(&self) -> bool {
        self.removed
    }

    /// A backup of the applied state (Maintenance.Snapshot): a Raft snapshot at the applied
    /// index, the same data a member saves to disk. Costs a full encoding of the state.
    pub fn backup(&self) -> Snapshot {
        self.snapshot_of_applied()
    }

    /// The last index applied to the state machine.
    pub fn applied_index(&self) -> u64 {
        self.applied
    }

    /// Client writes proposed or waiting to be, not yet answered (etcd's
    /// `proposals_pending`).
    pub fn pending_requests(&self) -> usize {
        self.proposals.len()
    }

    /// The numbers of [`Server::status`] without the member lists: no allocation, for
    /// checkers that look after every event.
    pub fn progress(&self) -> RaftProgress {
        let r = &self.raw.raft;
        RaftProgress {
            id: r.id,
            term: r.term,
            role: r.state,
            leader: r.leader_id,
            commit: r.raft_log.committed,
            first_index: self.raw.store().first(),
        }
    }

    /// Raft's view of this member.
    pub fn status(&self) -> RaftStatus {
        let r = &self.raw.raft;
        let conf = r.prs().conf();
        let store = self.raw.store();
        RaftStatus {
            id: r.id,
            term: r.term,
            vote: r.vote,
            role: r.state,
            leader: r.leader_id,
            commit: r.raft_log.committed,
            applied: self.applied,
            last_index: r.raft_log.last_index(),
            first_index: store.first(),
            snapshot_index: store.latest_snapshot().get_metadata().index,
            voters: conf
                .voters()
                .ids()
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            learners: conf
                .learners()
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        }
    }

    /// Entries `[low, high)` of this member's log that are still there (persisted or not).
    pub fn log_entries(&self, low: u64, high: u64) -> Vec<Entry> {
        let stored = self.raw.store().slice(low, high).to_vec();
        let next = stored.last().map_or(low, |e| e.index + 1);
        let mut out = stored;
        if next < high {
            // Entries Raft holds that the host has not confirmed yet.
            if let Ok(more) = self.raw.raft.raft_log.entries(
                next,
                u64::MAX,
                raft::GetEntriesContext::empty(false),
            ) {
                out.extend(more.into_iter().filter(|e| e.index < high));
            }
        }
        out
    }

    /// Applies a request on this member only, bypassing Raft (tests plant divergence).
    #[cfg(test)]
    pub(crate) fn apply_locally(&mut self, request: &crate::request::Request) {
        let _ = self.sm.apply(self.now_ms, request);
    }

    fn header(&self) -> ResponseHeader {
        ResponseHeader {
            cluster_id: self.config.cluster_id,
            member_id: self.config.id,
            revision: self.sm.store().revision(),
            raft_term: self.raw.raft.term,
        }
    }

    fn respond(&mut self, id: RequestId, result: Result<ClientResponse, crate::EtcdError>) {
        self.outputs.push_back(Output::Response { id, result });
    }

    fn on_peer_message(&mut self, m: PeerMessage) {
        // A removed member may still send until it applies its own removal (its appends
        // and heartbeats would make this member follow it again); etcd's transport refuses
        // removed members too.
        if m.to != self.config.id || self.removed || self.membership.is_removed(m.from) {
            return;
        }
        self.timer.heard_from(m.from);
        match m.body {
            peer::Body::Raft(msg) => {
                // Responses from unknown peers and stale local message types are refused by
                // Raft; a refusal changes nothing.
                let _ = self.raw.step(msg);
            }
            peer::Body::ForwardRequest { call, op } => self.answer_forwarded(m.from, call, op),
            peer::Body::ForwardAnswer { call, answer } => self.on_forward_answer(call, answer),
        }
    }

    /// Work that may become possible after any input: proposals waiting for a leader, reads
    /// waiting for an index or the applied state, watch responses.
    fn after_progress(&mut self) {
        self.snapshot_for_peer();
        self.retry_waiting();
        self.issue_reads();
        self.serve_ready_reads();
        self.leader_duties();
        let lagging = self.sm.watchers().watcher_counts().1 > 0;
        if lagging && self.now_ms >= self.last_watch_sync_ms + WATCH_RESYNC_MS {
            self.watch_sync();
        }
        self.drain_watch();
    }

    /// One bounded pass catching lagging watchers up; what remains continues later.
    fn watch_sync(&mut self) {
        self.sm.watch_sync();
        self.last_watch_sync_ms = self.now_ms;
    }

    fn drain_watch(&mut self) {
        for &stream in self.streams.difference(&self.paused_streams) {
            while let Some(mut response) = self.sm.watch_poll(stream) {
                response.header.cluster_id = self.config.cluster_id;
                response.header.member_id = self.config.id;
                response.header.raft_term = self.raw.raft.term;
                self.outputs.push_back(Output::Watch { stream, response });
            }
        }
    }

    fn on_tick(&mut self) {
        if self.removed {
            return;
        }
        self.raw.tick();
        if let Some(notice) = self.timer.on_tick(&mut self.raw) {
            self.outputs.push_back(Output::Notice(notice));
        }
        self.expire_requests();
        self.send_calls();
        // Catches lagging watchers up in bounded passes (also between ticks, see
        // `after_progress`); what remains continues at the next pass.
        self.watch_sync();
        if self.now_ms >= self.next_progress_ms {
            self.sm.watch_progress_tick();
            self.next_progress_ms = self.now_ms + self.config.watch_progress_notify_ms;
        }
    }
}

fn conf_state_of(m: &Membership) -> ConfState {
    ConfState {
        voters: m.voters(),
        learners: m.learners(),
        ..ConfState::default()
    }
}
