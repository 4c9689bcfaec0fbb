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
    /// The leader it knows (0 = none).
    pub leader: u64,
    /// Highest index known committed.
    pub commit: u64,
    /// First index still in its log.
    pub first_index: u64,
}

/// How far a member's election timer has run, in ticks: at `elapsed == timeout` a follower
/// campaigns (a leader's counts toward its check-quorum step-down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElectionProgress {
    /// Ticks since the timer was last reset.
    pub elapsed: u64,
    /// The randomized timeout in force (drawn at each change of term, role or leader;
    /// shortened when the leader is reported down and silent).
    pub timeout: u64,
}

/// What a leader knows of one follower's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower.
    pub id: u64,
    /// Highest index known to be in its log.
    pub matched: u64,
    /// Next index the leader will send it.
    pub next: u64,
}

impl super::Server {
    /// The election timer's progress.
    pub fn election_progress(&self) -> ElectionProgress {
        let r = &self.raw.raft;
        ElectionProgress {
            elapsed: r.election_elapsed as u64,
            timeout: r.randomized_election_timeout() as u64,
        }
    }

    /// On a leader, each other member's replication progress (empty on a follower).
    pub fn follower_progress(&self) -> Vec<FollowerProgress> {
        let r = &self.raw.raft;
        if r.state != StateRole::Leader {
            return Vec::new();
        }
        let mut out: Vec<FollowerProgress> = r
            .prs()
            .iter()
            .filter(|(id, _)| **id != r.id)
            .map(|(id, p)| FollowerProgress {
                id: *id,
                matched: p.matched,
                next: p.next_idx,
            })
            .collect();
        out.sort_by_key(|p| p.id);
        out
    }
}
