//! The deterministic cluster simulator: N members of [`crate::server::Server`], a network,
//! disks and clients in one process, on virtual time.
//!
//! A run is `(seed, config, input log)`. Every random choice comes from sub-streams of the
//! seed (network, disk, clients, each member), events are ordered by `(time, sequence)`, and
//! nothing reads a clock, so a run replays bit-identically on every platform; its
//! [`Sim::trace_hash`] identifies it. User actions (crashes, partitions, console commands)
//! are [`SimInput`]s with a virtual time: replaying the same log gives the same run, and
//! rewinding to time `t` is replaying up to `t`.
//!
//! Checkers run as the simulation goes ([`check`]); violations are collected with the
//! virtual time they were found at.

pub mod check;
mod disk;
pub mod faults;
pub mod history;
mod network;
pub mod run;
mod trace;
mod watchers;
mod workload;

pub use disk::Disk;
pub use network::{Network, NetworkParams};
pub use trace::{TraceHash, TraceLog};

use crate::cluster::Member;
use crate::server::{
    ClientRequest, ClientResponse, Input, Output, PeerMessage, Server, ServerConfig,
};
use crate::EtcdError;
use check::{RaftSafety, Violation};
use history::{Call, Operation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use workload::Client;

/// Settings of a simulated cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Members (1–9), IDs 1..=N.
    pub members: usize,
    /// Clients running the random workload.
    pub clients: usize,
    /// Keys the workload uses (few keys, many conflicts).
    pub keys: usize,
    /// Link behaviour at the start.
    pub network: NetworkParams,
    /// Disk write latency range, in ms.
    pub disk_ms: (u64, u64),
    /// Pause between a client's requests, in ms.
    pub think_ms: (u64, u64),
    /// A client gives up on a request after this long.
    pub client_timeout_ms: u64,
    /// Template for every member's settings (ID and name are set per member).
    pub server: ServerConfig,
    /// Trace lines kept (0 = none; the hash covers everything regardless).
    pub trace_lines: usize,
    /// Watch clients (each watches the workload's keys and resumes across failures).
    pub watchers: usize,
    /// Compact the history every second, keeping 10 revisions (etcd's revision auto-compaction).
    pub auto_compaction: bool,
}

impl SimConfig {
    /// Three members, three clients, settings scaled for quick runs (10 ms ticks).
    pub fn new(members: usize) -> Self {
        assert!((1..=9).contains(&members), "1 to 9 members");
        let mut server = ServerConfig::new(0, 0x0de7_a11e, "");
        server.tick_ms = 10;
        server.request_timeout_ms = 1_000;
        server.snapshot_count = 200;
        server.snapshot_catchup_entries = 50;
        server.watch_progress_notify_ms = 10_000;
        Self {
            members,
            clients: 3,
            keys: 3,
            network: NetworkParams::default(),
            disk_ms: (1, 3),
            think_ms: (0, 20),
            client_timeout_ms: 1_500,
            server,
            trace_lines: 0,
            watchers: 1,
            auto_compaction: true,
        }
    }
}

#[derive(Clone, Debug)]
enum Event {
    Tick { member: usize, incarnation: u64 },
    Deliver { message: PeerMessage, sent: u64 },
    DiskDone { member: usize, incarnation: u64 },
    ClientWake { client: usize },
    ClientTimeout { client: usize, request: u64 },
    Input { index: usize },
    HashCheck,
    WatcherCheck { watcher: usize },
    ConsoleWatch { watch: usize },
    ConsoleSession { session: usize },
    Compact,
    SnapshotStatus { member: usize, to: u64, ok: bool },
}

#[derive(Clone, Debug)]
struct Queued {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Queued {
    /// Inputs go first within a millisecond, so that an input added while the run goes
    /// (the playground's clicks, stamped one ms ahead) is processed exactly where a replay
    /// that knew it from the start processes it.
    fn key(&self) -> (u64, bool, u64) {
        (
            self.at,
            !matches!(self.event, Event::Input { .. }),
            self.seq,
        )
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// One simulated member: the running server (none while crashed) and its disk.
pub struct Slot {
    /// The member ID.
    pub id: u64,
    /// The running server; `None` while crashed.
    pub server: Option<Server>,
    /// Its disk.
    pub disk: Disk,
    incarnation: u64,
    paused: bool,
    /// Events held while paused, replayed on resume.
    inbox: Vec<Event>,
    disk_free_at: u64,
}

impl Slot {
    /// Whether the member is frozen.
    pub fn is_paused(&self) -> bool {
        self.paused
    }
}

/// Where an answer goes.
#[derive(Clone, Copy, Debug)]
enum Requester {
    Client(usize),
    Console(u64),
    Watcher(usize),
    Compactor,
    ConsoleWatch(usize),
    ConsoleSession(usize),
}

/// The simulator.
pub struct Sim {
    seed: u64,
    config: SimConfig,
    now_ms: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    rng_net: ChaCha8Rng,
    rng_disk: ChaCha8Rng,
    rng_client: ChaCha8Rng,
    slots: Vec<Slot>,
    network: Network,
    clients: Vec<Client>,
    workload: bool,
    requests: BTreeMap<u64, Requester>,
    next_request: u64,
    history: Vec<Operation>,
    inputs: Vec<SimInput>,
    hash: TraceHash,
    trace: TraceLog,
    events: u64,
    safety: RaftSafety,
    violations: Vec<Violation>,
    console: Vec<ConsoleAnswer>,
    watchers: Vec<watchers::Watcher>,
    reference: check::watch::Reference,
    console_watches: Vec<console_watch::ConsoleWatch>,
    console_requests: Vec<u64>,
    console_sessions: Vec<console_lock::ConsoleSession>,
    session_output: Vec<SessionEvent>,
    watch_output: Vec<ConsoleWatchResponse>,
}

/// The answer to a console request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleAnswer {
    /// The console request's number (in the order they were made, from 1).
    pub request: u64,
    /// Virtual time of the answer.
    pub at_ms: u64,
    /// The member that answered.
    pub member: u64,
    /// The answer (a refused connection is reported as [`EtcdError::Stopped`]).
    pub result: Result<ClientResponse, EtcdError>,
}

/// Bound on the event queue (TigerBeetle rule: every queue is bounded).
const MAX_QUEUE: usize = 1 << 22;

fn sub_seed(seed: u64, stream: u64) -> u64 {
    let mut h = TraceHash::default();
    h.u64(seed);
    h.u64(stream);
    h.value()
}

impl Sim {
    /// A fresh cluster; `inputs` is the input log (any order; sorted by time, stable).
    pub fn new(seed: u64, config: SimConfig, mut inputs: Vec<SimInput>) -> Self {
        inputs.sort_by_key(|i| i.at_ms);
        let n = config.members as u64;
        let members: Vec<Member> = (1..=n)
            .map(|id| Member {
                id,
                name: format!("n{id}"),
                peer_urls: vec![format!("http://10.0.0.{id}:2380")],
                client_urls: vec![format!("http://10.0.0.{id}:2379")],
                is_learner: false,
            })
            .collect();
        let mut sim = Self {
            seed,
            now_ms: 0,
            queue: BinaryHeap::new(),
            seq: 0,
            rng_net: ChaCha8Rng::seed_from_u64(sub_seed(seed, 1)),
            rng_disk: ChaCha8Rng::seed_from_u64(sub_seed(seed, 2)),
            rng_client: ChaCha8Rng::seed_from_u64(sub_seed(seed, 3)),
            slots: Vec::new(),
            network: Network::new(config.network),
            clients: Vec::new(),
            workload: true,
            requests: BTreeMap::new(),
            next_request: 0,
            history: Vec::new(),
            inputs,
            hash: TraceHash::default(),
            trace: TraceLog::new(config.trace_lines),
            events: 0,
            safety: RaftSafety::new(config.members),
            violations: Vec::new(),
            console: Vec::new(),
            watchers: Vec::new(),
            reference: check::watch::Reference::new(),
            console_watches: Vec::new(),
            console_requests: Vec::new(),
            console_sessions: Vec::new(),
            session_output: Vec::new(),
            watch_output: Vec::new(),
            config,
        };
        for (i, m) in members.iter().enumerate() {
            let server = Server::bootstrap(
                sim.server_config(m.id, i),
                sim.member_seed(m.id, 0),
                members.clone(),
            );
            sim.slots.push(Slot {
                id: m.id,
                server: Some(server),
                disk: Disk::default(),
                incarnation: 0,
                paused: false,
                inbox: Vec::new(),
                disk_free_at: 0,
            });
        }
        let tick = sim.config.server.tick_ms;
        for i in 0..sim.slots.len() {
            let phase = sim.rng_net.gen_range(0..tick);
            sim.schedule(
                phase,
                Event::Tick {
                    member: i,
                    incarnation: 0,
                },
            );
            sim.drain(i);
        }
        for c in 0..sim.config.clients {
            let member = c % sim.slots.len();
            sim.clients.push(Client {
                member,
                outstanding: None,
                writes: 0,
            });
            sim.schedule(0, Event::ClientWake { client: c });
        }
        for index in 0..sim.inputs.len() {
            let at = sim.inputs[index].at_ms;
            sim.schedule(at, Event::Input { index });
        }
        sim.schedule(1_000, Event::HashCheck);
        sim.start_watchers();
        sim
    }

    /// Settings of the member in slot `index` (named `n<index+1>`, whatever its ID).
    fn server_config(&self, id: u64, index: usize) -> ServerConfig {
        let mut c = self.config.server.clone();
        c.id = id;
        c.name = format!("n{}", index + 1);
        c.client_urls = vec![format!("http://10.0.0.{}:2379", index + 1)];
        c
    }

    /// A member's display name, `n<slot>` (IDs of added members are large numbers).
    pub fn name_of(&self, id: u64) -> String {
        match self.index_of(id) {
            Some(i) => format!("n{}", i + 1),
            None if id == 0 => "none".into(),
            None => format!("{id:x}"),
        }
    }

    fn describe_notice(&self, n: &crate::server::Notice) -> String {
        use crate::server::Notice;
        let names = |ids: &[u64]| {
            ids.iter()
                .map(|&i| self.name_of(i))
                .collect::<Vec<_>>()
                .join(",")
        };
        match n {
            Notice::LeaderChanged { leader, term } => {
                format!("follows {} in term {term}", self.name_of(*leader))
            }
            Notice::MembershipChanged { voters, learners } => {
                format!("voters [{}] learners [{}]", names(voters), names(learners))
            }
            Notice::RoleChanged { role, term } => {
                let role = match role {
                    crate::server::StateRole::Leader => "leader",
                    crate::server::StateRole::Candidate => "candidate",
                    crate::server::StateRole::PreCandidate => "pre-candidate",
                    crate::server::StateRole::Follower => "follower",
                };
                format!("became {role} in term {term}")
            }
            Notice::LeaderDown { leader, ticks } => {
                format!(
                    "{} is down and silent: campaigns in {ticks} ticks",
                    self.name_of(*leader)
                )
            }
            Notice::Removed => "was removed from the cluster".into(),
            Notice::SnapshotTaken {
                index,
                compacted_before,
            } => format!("took a snapshot at {index}, log starts at {compacted_before}"),
            Notice::SnapshotInstalled { index } => {
                format!("installed the leader's snapshot at {index}")
            }
        }
    }

    /// The slot of member `id`.
    pub(crate) fn index_of(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.id == id)
    }

    /// The request number of each console request ([`Action::Request`]) processed so far,
    /// in the order they were processed (0 for one sent to an unknown member).
    pub fn console_requests(&self) -> &[u64] {
        &self.console_requests
    }

    /// Answers to console requests ([`Action::Request`]), in arrival order.
    pub fn console(&self) -> &[ConsoleAnswer] {
        &self.console
    }

    fn member_seed(&self, id: u64, incarnation: u64) -> u64 {
        sub_seed(self.seed, 1_000 + id * 1_000 + incarnation)
    }

    fn schedule(&mut self, at: u64, event: Event) {
        assert!(self.queue.len() < MAX_QUEUE, "event queue bound");
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Virtual time now, in ms.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The members.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The input log.
    pub fn inputs(&self) -> &[SimInput] {
        &self.inputs
    }

    /// Client operations recorded so far.
    pub fn history(&self) -> &[Operation] {
        &self.history
    }

    /// The recorded history plus every request still outstanding, with an unknown outcome:
    /// what a linearizability check at this moment must consider (an outstanding write may
    /// already have been applied).
    pub fn history_with_outstanding(&self) -> Vec<Operation> {
        let mut all = self.history.clone();
        for (i, c) in self.clients.iter().enumerate() {
            if let Some((_, call, invoke_ms)) = &c.outstanding {
                all.push(Operation {
                    client: i as u64,
                    invoke_ms: *invoke_ms,
                    complete_ms: None,
                    call: call.clone(),
                    outcome: None,
                });
            }
        }
        all
    }

    /// The workload's clients now, in order: the member each talks to and the call it is
    /// waiting on, with when it was made.
    pub fn client_states(&self) -> impl Iterator<Item = (u64, Option<(&Call, u64)>)> + '_ {
        self.clients.iter().map(|c| {
            let member = self.slots.get(c.member).map_or(0, |s| s.id);
            (
                member,
                c.outstanding.as_ref().map(|(_, call, at)| (call, *at)),
            )
        })
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The hash of every event so far: equal hashes, equal runs.
    pub fn trace_hash(&self) -> u64 {
        self.hash.value()
    }

    /// The trace lines kept.
    pub fn trace(&self) -> &TraceLog {
        &self.trace
    }

    /// Checker violations found so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Adds an input to the log at or after the current time (the playground's clicks).
    pub fn push_input(&mut self, input: SimInput) {
        assert!(input.at_ms >= self.now_ms, "inputs cannot be in the past");
        let index = self.inputs.len();
        let at = input.at_ms;
        self.inputs.push(input);
        self.schedule(at, Event::Input { index });
    }

    /// Runs events up to and including virtual time `ms`.
    pub fn run_until(&mut self, ms: u64) {
        while self.queue.peek().is_some_and(|q| q.0.at <= ms) {
            self.step();
        }
        self.now_ms = self.now_ms.max(ms);
    }

    /// Runs exactly one event; false if none is left.
    pub fn step(&mut self) -> bool {
        let Some(Reverse(q)) = self.queue.pop() else {
            return false;
        };
        debug_assert!(q.at >= self.now_ms);
        self.now_ms = q.at;
        self.events += 1;
        self.hash.u64(q.at);
        self.process(q.event);
        true
    }
}

mod actions;
mod clients;
pub mod console_lock;
mod console_watch;
mod events;
mod input;

pub use console_lock::{SessionEvent, SessionOutcome};
pub use console_watch::{ConsoleWatchResponse, InFlight};
pub use input::{Action, SimInput};
