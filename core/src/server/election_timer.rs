//! Deterministic election timeouts for raft 0.7.
//!
//! raft 0.7 redraws a follower's or candidate's randomized election timeout from
//! `thread_rng` whenever it resets (`become_follower`, `become_candidate`,
//! `become_leader`, including inside `RawNode::new`). A reset always changes the term, the
//! role or the leader, and happens inside one synchronous call. So after every call into the
//! `RawNode`, if that fingerprint changed, or the timeout differs from the value set last,
//! a fresh value from the member's seeded RNG replaces it before any tick can read it.
//! The range stays raft's `[election, 2 × election)`: a single-value range could not be
//! overridden, since `set_randomized_election_timeout` asserts the range.
//!
//! A follower whose host reports its leader down ([`super::Input::PeerDown`]) and which
//! then hears nothing from that leader for more than [`SILENT_HEARTBEATS`] heartbeat
//! intervals campaigns early: see [`ElectionTimer::on_tick`].

use super::log_store::LogStore;
use super::Notice;
use raft::{RawNode, StateRole};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A follower campaigns early only if, after its host reported the leader down, it heard
/// nothing from the leader for more than this many heartbeat intervals. So a follower
/// still hearing from the leader (only its own connection to it was refused) ignores the
/// report, with or without pre-vote.
pub const SILENT_HEARTBEATS: usize = 2;

pub(crate) struct ElectionTimer {
    rng: ChaCha8Rng,
    min: usize,
    max: usize,
    heartbeat: usize,
    fingerprint: Option<(u64, StateRole, u64)>,
    last: usize,
    /// The leader the host reported down, until this member hears from it again.
    down: Option<u64>,
    /// The timeout in force was cut short by [`ElectionTimer::on_tick`].
    hurried: bool,
}

impl ElectionTimer {
    pub(crate) fn new(rng: ChaCha8Rng, election_ticks: usize, heartbeat_ticks: usize) -> Self {
        Self {
            rng,
            min: election_ticks,
            max: 2 * election_ticks,
            heartbeat: heartbeat_ticks,
            fingerprint: None,
            last: 0,
            down: None,
            hurried: false,
        }
    }

    /// The randomized timeout is drawn below this many ticks.
    pub(crate) fn max_ticks(&self) -> usize {
        self.max
    }

    /// Call after every call into the `RawNode`.
    pub(crate) fn after_call(&mut self, raw: &mut RawNode<LogStore>) {
        let r = &raw.raft;
        let fp = (r.term, r.state, r.leader_id);
        let changed = self.fingerprint != Some(fp);
        if changed {
            self.down = None;
        }
        // A hurried follower that hears from a leader again (which resets the elapsed
        // ticks) goes back to a drawn timeout.
        let heard_again = self.hurried && r.election_elapsed < r.election_timeout();
        if changed || heard_again || r.randomized_election_timeout() != self.last {
            // Drawn as u64: a usize draw consumes the RNG differently on 32-bit wasm.
            let t = self.rng.gen_range(self.min as u64..self.max as u64) as usize;
            raw.raft.set_randomized_election_timeout(t);
            self.fingerprint = Some(fp);
            self.last = t;
            self.hurried = false;
        }
    }

    /// The host reports peer `peer` down. Remembered if it is the leader this voter
    /// follows; [`ElectionTimer::on_tick`] acts on it.
    pub(crate) fn leader_down(&mut self, raw: &RawNode<LogStore>, peer: u64) {
        let r = &raw.raft;
        if r.state == StateRole::Follower && r.leader_id == peer && r.promotable() {
            self.down = Some(peer);
        }
    }

    /// Call for every message from a peer: a report that `from` is down no longer holds.
    pub(crate) fn heard_from(&mut self, from: u64) {
        if self.down == Some(from) {
            self.down = None;
        }
    }

    /// Call right after each `tick`. If the leader was reported down and has been silent
    /// since, for more than [`SILENT_HEARTBEATS`] heartbeat intervals, its lease ends here
    /// (`election_elapsed` reaches the election timeout, so this member grants the votes
    /// of the others who saw the same) and the election fires in `1 + 2 × rank` ticks,
    /// `rank` being this member's place by ID among the other voters: the lowest
    /// campaigns first, and the next one only after that election had time to finish, so
    /// they rarely split the vote. Returns the notice saying so when it cuts the wait short.
    pub(crate) fn on_tick(&mut self, raw: &mut RawNode<LogStore>) -> Option<Notice> {
        let r = &mut raw.raft;
        let lease = r.election_timeout();
        let leader = r.leader_id;
        // The elapsed ticks count from the last message; after this tick, `n` of them
        // mean a silence of more than `n - 1` intervals.
        if self.down != Some(leader) || r.election_elapsed <= SILENT_HEARTBEATS * self.heartbeat {
            return None;
        }
        self.down = None;
        if r.election_elapsed >= lease {
            return None; // the usual timeout is due soon anyway
        }
        let me = r.id;
        let voters = r.prs().conf().voters().ids();
        let rank = voters.iter().filter(|id| *id != leader && *id < me).count();
        let wait = 1 + 2 * rank;
        let t = (lease + wait).min(self.max - 1);
        r.election_elapsed = lease;
        r.set_randomized_election_timeout(t);
        self.last = t;
        self.hurried = true;
        Some(Notice::LeaderDown {
            leader,
            ticks: t - lease,
        })
    }
}
