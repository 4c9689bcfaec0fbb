//! Raft's safety properties, checked after every event: at most one leader per term, and
//! committed entries never change (what one member committed at an index, every member
//! that commits that index holds too: log matching and leader completeness as seen from
//! outside). Equal state at equal applied index is checked by the simulator's hash check.

use super::Violation;
use crate::server::raftpb::Entry;
use crate::server::{Server, StateRole};
use crate::sim::TraceHash;
use std::collections::BTreeMap;

/// The safety checker's memory of the run.
#[derive(Clone, Debug, Default)]
pub struct RaftSafety {
    /// Term → the member that led it.
    leaders: BTreeMap<u64, u64>,
    /// Index → (term, digest of type and data) of the committed entry.
    committed: BTreeMap<u64, (u64, u64)>,
    /// Per member: the highest index whose entry was compared.
    checked: Vec<u64>,
}

impl RaftSafety {
    /// A checker for `members` members.
    pub fn new(members: usize) -> Self {
        Self {
            checked: vec![0; members],
            ..Self::default()
        }
    }

    /// A member joined the cluster.
    pub fn add_member(&mut self) {
        self.checked.push(0);
    }

    /// A member restarted: its commit index may be lower than before.
    pub fn restarted(&mut self, member: usize) {
        self.checked[member] = 0;
    }

    /// Looks at one member after it handled an input; returns the entries seen committed
    /// for the first time.
    pub fn observe(
        &mut self,
        member: usize,
        server: &Server,
        now_ms: u64,
    ) -> Result<Vec<Entry>, Violation> {
        let s = server.progress();
        let fail = |detail: String| Violation {
            at_ms: now_ms,
            checker: "raft-safety",
            detail,
        };
        if s.role == StateRole::Leader {
            let leader = *self.leaders.entry(s.term).or_insert(s.id);
            if leader != s.id {
                return Err(fail(format!(
                    "n{leader} and n{} both lead term {}",
                    s.id, s.term
                )));
            }
        }
        let from = self.checked[member].max(s.first_index.saturating_sub(1)) + 1;
        let mut new = Vec::new();
        if s.commit < from {
            return Ok(new);
        }
        for e in server.log_entries(from, s.commit + 1) {
            let mut h = TraceHash::default();
            h.u64(e.get_entry_type() as u64);
            h.bytes(&e.data);
            let here = (e.term, h.value());
            match self.committed.get(&e.index) {
                None => {
                    self.committed.insert(e.index, here);
                    new.push(e);
                }
                Some(&seen) if seen != here => {
                    return Err(fail(format!(
                        "n{} committed index {} with term {} but term {} was committed there \
                         before (or the data differs)",
                        s.id, e.index, here.0, seen.0
                    )));
                }
                Some(_) => {}
            }
        }
        self.checked[member] = s.commit;
        Ok(new)
    }

    /// Records a leader for a term (tests plant violations with it).
    #[cfg(test)]
    pub(crate) fn plant_leader(&mut self, term: u64, member: u64) {
        self.leaders.insert(term, member);
    }

    /// Records a committed entry (tests plant violations with it).
    #[cfg(test)]
    pub(crate) fn plant_committed(&mut self, index: u64, term: u64) {
        self.committed.insert(index, (term, 0));
    }
}
