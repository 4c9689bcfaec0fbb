//! Read-only views of a member's Raft state.

use raft::StateRole;

/// A read-only view of a member's Raft state, for hosts, UIs and checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftStatus {
    /// The member.
    pub id: u64,
    /// Its current term.
    pub term: u64,
    /// Whom it voted for in this term (0 = nobody).
    pub vote: u64,
    /// Its role.
    pub role: StateRole,
    /// The leader it knows (0 = none).
    pub leader: u64,
    /// Highest index known committed.
    pub commit: u64,
    /// Highest index applied to the state machine.
    pub applied: u64,
    /// Last index in its log.
    pub last_index: u64,
    /// First index still in its log (earlier ones are only in the snapshot).
    pub first_index: u64,
    /// Index of its latest snapshot.
    pub snapshot_index: u64,
    /// Voters and learners as Raft sees them.
    pub voters: Vec<u64>,
    /// Learners.
    pub learners: Vec<u64>,
}

/// The part of [`RaftStatus`] that is cheap to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftProgress {
    /// The member.
    pub id: u64,
    /// Its current term.
    pub term: u64,
    /// Its role.
    pub role: StateRole,
    /// Highest index known committed.
    pub commit: u64,
    /// First index still in its log.
    pub first_index: u64,
}
