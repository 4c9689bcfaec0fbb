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
//! A follower told its leader is down ([`super::Input::PeerDown`]) cuts its wait short:
//! see [`ElectionTimer::leader_down`].

use super::log_store::LogStore;
use raft::{RawNode, StateRole};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A follower told its leader is down campaigns within this many ticks (at least one).
pub const LEADER_DOWN_MAX_TICKS: usize = 3;

pub(crate) struct ElectionTimer {
    rng: ChaCha8Rng,
    min: usize,
    max: usize,
    fingerprint: Option<(u64, StateRole, u64)>,
    last: usize,
}

impl ElectionTimer {
    pub(crate) fn new(rng: ChaCha8Rng, election_ticks: usize) -> Self {
        Self {
            rng,
            min: election_ticks,
            max: 2 * election_ticks,
            fingerprint: None,
            last: 0,
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
        if self.fingerprint != Some(fp) || r.randomized_election_timeout() != self.last {
            // Drawn as u64: a usize draw consumes the RNG differently on 32-bit wasm.
            let t = self.rng.gen_range(self.min as u64..self.max as u64) as usize;
            raw.raft.set_randomized_election_timeout(t);
            self.fingerprint = Some(fp);
            self.last = t;
        }
    }

    /// Peer `peer` is down. If it is this follower's leader and its lease still holds here,
    /// the lease ends now (`election_elapsed` reaches the election timeout, so this member
    /// grants the (pre-)votes of others who saw the same) and the election fires after 1 to
    /// [`LEADER_DOWN_MAX_TICKS`] ticks. Spreading the draw matters little on real hosts,
    /// whose tickers are out of phase: two followers split a vote only if their pre-votes
    /// cross within one round trip. Done once per leader: a repeated report leaves the
    /// draw alone, and any message from the leader resets the clock as usual. Returns the
    /// ticks until the election fires, if it was hurried.
    pub(crate) fn leader_down(&mut self, raw: &mut RawNode<LogStore>, peer: u64) -> Option<usize> {
        let r = &mut raw.raft;
        let lease = r.election_timeout();
        if r.state != StateRole::Follower || r.leader_id != peer || r.election_elapsed >= lease {
            return None;
        }
        let wait = self.rng.gen_range(1..=LEADER_DOWN_MAX_TICKS as u64) as usize;
        let t = (lease + wait).min(self.max - 1);
        r.election_elapsed = lease;
        r.set_randomized_election_timeout(t);
        self.last = t;
        Some(t - lease)
    }
}
