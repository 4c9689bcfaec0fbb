//! The input log's entries: what a user (or a fault schedule) does to the cluster.

use super::NetworkParams;
use crate::server::ClientRequest;

/// A user action at a virtual time (the input log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimInput {
    /// When, in virtual ms.
    pub at_ms: u64,
    /// What.
    pub action: Action,
}

/// Something a user (or a fault schedule) does to the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Kill a member; with `lose_unsynced`, writes not yet durable are lost too.
    Crash {
        /// Member ID.
        member: u64,
        /// Lose writes not yet confirmed durable.
        lose_unsynced: bool,
    },
    /// Start a crashed member again from its disk.
    Restart {
        /// Member ID.
        member: u64,
    },
    /// Freeze a member (a long GC pause): it neither ticks nor receives until resumed.
    Pause {
        /// Member ID.
        member: u64,
    },
    /// Unfreeze a member; what arrived meanwhile is delivered now.
    Resume {
        /// Member ID.
        member: u64,
    },
    /// Only members in the same group reach each other.
    Partition {
        /// The groups.
        groups: Vec<Vec<u64>>,
    },
    /// Cut one direction of one link.
    CutLink {
        /// Sender.
        from: u64,
        /// Receiver.
        to: u64,
    },
    /// Restore one direction of one link.
    RestoreLink {
        /// Sender.
        from: u64,
        /// Receiver.
        to: u64,
    },
    /// Give one direction of one link its own latency and loss (`None`: the network's).
    SetLink {
        /// Sender.
        from: u64,
        /// Receiver.
        to: u64,
        /// Its behaviour.
        params: Option<NetworkParams>,
    },
    /// Restore every link (per-link settings stay).
    Heal,
    /// Change loss, duplication and latency.
    SetNetwork(NetworkParams),
    /// A console command: the request goes to `member`; the answer is traced.
    Request {
        /// Member ID.
        member: u64,
        /// The request.
        request: ClientRequest,
    },
    /// Start a member that was added with a member-add request
    /// (`--initial-cluster-state existing`): it starts empty and catches up from the leader.
    Join {
        /// The ID the member-add answer gave it.
        member: u64,
    },
    /// A console `watch`: open a stream on `member` and create this watcher on it. Every
    /// response after the created one is reported in [`super::Sim::watch_output`].
    Watch {
        /// Member ID.
        member: u64,
        /// The watcher.
        request: crate::watch::WatchCreateRequest,
    },
    /// A console `lock` or `elect`: a session on `member` that holds `<name>/<lease>`
    /// (see [`super::console_lock`]); its events are in [`super::Sim::session_output`].
    Lock {
        /// Member ID.
        member: u64,
        /// The lock's or election's name.
        name: bytes::Bytes,
        /// The key's value (empty for a lock, the proposal for an election).
        value: bytes::Bytes,
        /// The session lease's TTL, in seconds.
        ttl: i64,
        /// Only observe the election (`elect -l`): report each new leader.
        observe: bool,
    },
    /// Start or stop the random client workload.
    Workload {
        /// Whether clients issue requests.
        running: bool,
    },
}
