//! The Raft-facing log (etcd `raft/storage.go` `MemoryStorage`): what raft reads back after
//! the host was told to persist it.
//!
//! `entries[0]` is a dummy holding the index and term of the last compacted entry (the
//! snapshot point or, after log compaction, the entry before the first kept one), so that
//! `term(first_index - 1)` is always answerable, as Raft's log matching needs.
//!
//! Memory: no snapshot's data is kept here. The latest snapshot is kept as metadata (what
//! the log was compacted behind); when Raft needs one for a lagging peer, the server builds
//! a fresh one of the applied state ([`LogStore::offer_snapshot`]), and Raft takes it away
//! with the message that carries it. So a member holds the whole state twice only while a
//! snapshot is on its way to a peer, not for as long as it runs. The entries' own size is
//! tracked ([`LogStore::held_bytes`]) so that the server can bound it.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

/// The in-memory Raft log, hard state and latest snapshot of one member.
#[derive(Clone, Debug, Default)]
pub(crate) struct LogStore {
    hard_state: HardState,
    conf_state: ConfState,
    /// `entries[0]` is the dummy; real entries follow with consecutive indexes.
    entries: Vec<Entry>,
    /// The latest snapshot taken or installed, without its data.
    snapshot: Snapshot,
    /// A snapshot of the applied state built for a peer, until Raft takes it.
    offered: std::cell::RefCell<Option<Snapshot>>,
    /// Raft asked for a snapshot and none was offered, or the offered one cannot serve (too
    /// old, or taken before the recipient joined, so that the recipient would refuse it).
    wanted: std::cell::Cell<bool>,
    /// Memory held by `entries`: data, context and each entry's fixed size.
    held_bytes: u64,
}

impl LogStore {
    pub(crate) fn new() -> Self {
        Self {
            entries: vec![Entry::default()],
            ..Self::default()
        }
    }

    pub(crate) fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    pub(crate) fn set_hard_state(&mut self, hs: HardState) {
        self.hard_state = hs;
    }

    pub(crate) fn set_conf_state(&mut self, cs: ConfState) {
        self.conf_state = cs;
    }

    /// Whether Raft asked for a fresher snapshot since the last call (and clears the flag).
    pub(crate) fn take_snapshot_wanted(&self) -> bool {
        self.wanted.replace(false)
    }

    /// The latest snapshot taken or installed (its data is not kept).
    pub(crate) fn latest_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Offers Raft a snapshot (with data) for a peer; it replaces any earlier offer.
    pub(crate) fn offer_snapshot(&self, snapshot: Snapshot) {
        *self.offered.borrow_mut() = Some(snapshot);
    }

    /// Drops the offer (the member stopped leading or its state was replaced: no peer will
    /// take it, and it holds a whole copy of the state).
    pub(crate) fn withdraw_offer(&self) {
        self.offered.borrow_mut().take();
    }

    /// Memory held by the entries (what [`LogStore::compact`] frees).
    pub(crate) fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    fn offset(&self) -> u64 {
        self.entries[0].index
    }

    pub(crate) fn first(&self) -> u64 {
        self.offset() + 1
    }

    pub(crate) fn last(&self) -> u64 {
        self.offset() + self.entries.len() as u64 - 1
    }

    /// Entries `[low, high)` that are still in the log.
    pub(crate) fn slice(&self, low: u64, high: u64) -> &[Entry] {
        let low = low.max(self.first());
        let high = high.min(self.last() + 1);
        if low >= high {
            return &[];
        }
        let o = self.offset();
        &self.entries[(low - o) as usize..(high - o) as usize]
    }

    /// Replaces the whole log with a snapshot (received from the leader, or loaded at restart).
    pub(crate) fn install_snapshot(&mut self, snapshot: Snapshot) {
        let meta = snapshot.get_metadata();
        let dummy = Entry {
            index: meta.index,
            term: meta.term,
            ..Entry::default()
        };
        self.entries = vec![dummy];
        self.conf_state = meta.get_conf_state().clone();
        self.hard_state.commit = self.hard_state.commit.max(meta.index);
        self.hard_state.term = self.hard_state.term.max(meta.term);
        self.held_bytes = 0;
        // An offer of the replaced state must not reach a peer.
        self.withdraw_offer();
        self.snapshot = without_data(snapshot);
    }

    /// Records a snapshot this member took at an applied index, keeping the log.
    pub(crate) fn set_snapshot(&mut self, snapshot: &Snapshot) {
        assert!(snapshot.get_metadata().index >= self.snapshot.get_metadata().index);
        self.snapshot = without_data(snapshot.clone());
    }

    /// Drops entries before `index`. The caller guarantees they are applied: a peer that
    /// still needs them is sent a snapshot of the applied state instead.
    pub(crate) fn compact(&mut self, index: u64) {
        if index <= self.first() {
            return;
        }
        assert!(
            index <= self.last() + 1,
            "compacting past the end of the log"
        );
        let o = self.offset();
        let keep_from = (index - 1 - o) as usize;
        self.held_bytes -= held_bytes(&self.entries[1..=keep_from]);
        self.entries.drain(..keep_from);
        let dummy = &mut self.entries[0];
        dummy.data = Default::default();
        dummy.context = Default::default();
        dummy.entry_type = Default::default();
    }

    /// Appends entries, replacing any conflicting suffix (Raft may overwrite an uncommitted
    /// tail after a leader change).
    pub(crate) fn append(&mut self, entries: &[Entry]) {
        let Some(first_new) = entries.first().map(|e| e.index) else {
            return;
        };
        assert!(first_new <= self.last() + 1, "gap in the log");
        // Entries before our first are already compacted: skip them.
        let skip = self.first().saturating_sub(first_new) as usize;
        if skip >= entries.len() {
            return;
        }
        let entries = &entries[skip..];
        let o = self.offset();
        let keep = (entries[0].index - o) as usize;
        self.held_bytes -= held_bytes(&self.entries[keep..]);
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        self.held_bytes += held_bytes(entries);
    }
}

fn held_bytes(entries: &[Entry]) -> u64 {
    entries
        .iter()
        .map(|e| (std::mem::size_of::<Entry>() + e.data.len() + e.context.len()) as u64)
        .sum()
}

fn without_data(mut snapshot: Snapshot) -> Snapshot {
    snapshot.data = Default::default();
    snapshot
}

fn unavailable() -> raft::Error {
    raft::Error::Store(StorageError::Unavailable)
}

impl raft::Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState {
            hard_state: self.hard_state.clone(),
            conf_state: self.conf_state.clone(),
        })
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.offset() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last() + 1 {
            return Err(unavailable());
        }
        let mut out = self.slice(low, high).to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx < self.offset() {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last() {
            return Err(unavailable());
        }
        Ok(self.entries[(idx - self.offset()) as usize].term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    /// Hands over the offered snapshot if it serves `to` (Raft puts it in the message it
    /// sends); otherwise asks the server for one and lets Raft retry later. An offer serves
    /// when it is recent enough, names `to` among the members, and the log still continues
    /// from it (else the peer would need another snapshot right after installing it).
    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let serves = |s: &Snapshot| {
            let meta = s.get_metadata();
            let cs = meta.get_conf_state();
            meta.index >= request_index
                && meta.index >= self.offset()
                && (cs.voters.contains(&to) || cs.learners.contains(&to))
        };
        match self.offered.borrow_mut().take() {
            Some(offered) if serves(&offered) => Ok(offered),
            _ => {
                self.wanted.set(true);
                Err(raft::Error::Store(
                    StorageError::SnapshotTemporarilyUnavailable,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            ..Entry::default()
        }
    }

    #[test]
    fn an_offer_serves_only_a_member_and_only_while_the_log_continues_from_it() {
        let mut log = LogStore::new();
        log.append(&(1..=6).map(|i| entry(i, 1)).collect::<Vec<_>>());
        let offer = |index: u64| {
            let mut snap = Snapshot::default();
            snap.mut_metadata().index = index;
            snap.mut_metadata().term = 1;
            snap.mut_metadata().mut_conf_state().voters = vec![1, 2];
            snap
        };
        log.offer_snapshot(offer(3));
        assert!(log.snapshot(0, 3).is_err(), "3 is not a member of it");
        assert!(log.take_snapshot_wanted());
        log.offer_snapshot(offer(3));
        log.compact(5);
        assert!(
            log.snapshot(0, 2).is_err(),
            "entry 4 is gone: 2 would need another"
        );
        log.offer_snapshot(offer(4));
        assert_eq!(log.snapshot(0, 2).map(|s| s.get_metadata().index), Ok(4));
        log.offer_snapshot(offer(4));
        log.withdraw_offer();
        assert!(log.snapshot(0, 2).is_err(), "withdrawn");
    }

    #[test]
    fn append_overwrites_a_conflicting_tail_and_compaction_keeps_the_dummy_term() {
        let mut log = LogStore::new();
        log.append(&[entry(1, 1), entry(2, 1), entry(3, 1)]);
        log.append(&[entry(3, 2), entry(4, 2)]);
        assert_eq!(log.last(), 4);
        assert_eq!(log.term(3), Ok(2));
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = 3;
        snap.mut_metadata().term = 2;
        log.set_snapshot(&snap);
        log.compact(3);
        assert_eq!(log.first(), 3);
        assert_eq!(log.term(2), Ok(1), "the dummy keeps the term of index 2");
        assert!(log.term(1).is_err());
        assert_eq!(log.slice(1, 10).len(), 2);
    }
}
