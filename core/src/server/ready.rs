//! The Ready loop (rust-reference §3.1) with asynchronous persistence, leadership changes,
//! and snapshots (installing the leader's, taking our own).

use super::*;

impl Server {
    pub(super) fn on_persisted(&mut self, number: u64) {
        if self.last_persist_number == Some(number) {
            self.last_persist_number = None;
        }
        self.raw.on_persist_ready(number);
        if self.unpersisted_install.is_some_and(|n| n <= number) {
            self.unpersisted_install = None;
            self.report_applied();
        }
        self.sync_applied();
        while self.held.front().is_some_and(|(n, _)| *n <= number) {
            let (_, msgs) = self.held.pop_front().expect("checked");
            for m in msgs {
                self.send(m, false);
            }
        }
    }

    pub(super) fn send(&mut self, m: Message, before_persist: bool) {
        self.outputs.push_back(Output::Send {
            to: m.to,
            message: PeerMessage::raft(m),
            before_persist,
        });
    }

    /// The Ready loop (see rust-reference §3.1), with asynchronous persistence.
    pub(super) fn process_ready(&mut self) {
        // Each round either makes progress or ends; Raft produces a bounded amount of work.
        for _ in 0..64 {
            if !self.raw.has_ready() {
                return;
            }
            let mut rd = self.raw.ready();
            let number = rd.number();
            if let Some(ss) = rd.ss() {
                let (leader, role) = (ss.leader_id, ss.raft_state);
                self.on_soft_state(leader, role);
            }
            let must_sync = rd.must_sync();
            for m in by_recipient(rd.take_messages()) {
                self.send(m, must_sync);
            }
            let snapshot = if rd.snapshot().is_empty() {
                None
            } else {
                let snap = rd.snapshot().clone();
                self.install_snapshot(&snap);
                self.unpersisted_install = Some(number);
                Some(snap)
            };
            let committed = rd.take_committed_entries();
            self.apply_entries(committed);
            let entries = rd.take_entries();
            self.raw.mut_store().append(&entries);
            let hard_state = rd.hs().cloned();
            if let Some(hs) = &hard_state {
                self.raw.mut_store().set_hard_state(hs.clone());
            }
            for rs in rd.take_read_states() {
                self.reads.on_read_state(&rs.request_ctx, rs.index);
            }
            let persisted_msgs = by_recipient(rd.take_persisted_messages());
            let nothing_to_write = snapshot.is_none() && entries.is_empty() && hard_state.is_none();
            self.raw.advance_append_async(rd);
            if nothing_to_write {
                // `on_persist_ready(n)` also confirms every earlier ready, so it may only be
                // called once no earlier write is still in flight; until then this ready's
                // messages wait behind the newest write.
                match self.last_persist_number {
                    Some(pending) => {
                        if !persisted_msgs.is_empty() {
                            self.held.push_back((pending, persisted_msgs));
                        }
                    }
                    None => {
                        self.raw.on_persist_ready(number);
                        for m in persisted_msgs {
                            self.send(m, false);
                        }
                    }
                }
            } else {
                self.last_persist_number = Some(number);
                if !persisted_msgs.is_empty() {
                    self.held.push_back((number, persisted_msgs));
                }
                self.outputs.push_back(Output::Persist(PersistBatch {
                    number,
                    snapshot,
                    entries,
                    hard_state,
                    must_sync,
                }));
            }
            self.sync_applied();
            self.report_applied();
        }
        debug_assert!(!self.raw.has_ready(), "ready loop bound reached");
    }

    /// Emits [`Output::Applied`] for what was applied since the last report. Entries are
    /// applied only once durable (raft applies up to its persisted index); an installed
    /// snapshot is reported only once its [`Output::Persist`] is confirmed, so a backend
    /// never holds state the log and snapshot files could not also restore.
    pub(super) fn report_applied(&mut self) {
        if !self.config.applied_changes
            || self.reported_applied == Some(self.applied)
            || self.unpersisted_install.is_some()
        {
            return;
        }
        let Some(sm) = self.sm.take_changes() else {
            return;
        };
        self.reported_applied = Some(self.applied);
        let conf_state = self.conf_state();
        self.outputs
            .push_back(Output::Applied(crate::backend::AppliedChanges {
                index: self.applied,
                term: self.applied_term,
                state: sm,
                membership: crate::backend::stored_membership(&self.membership, conf_state),
            }));
    }

    /// Tells Raft how far this member applied. A snapshot counts as applied only once it
    /// is durable (raft asserts `applied <= persisted`).
    pub(super) fn sync_applied(&mut self) {
        let log = &self.raw.raft.raft_log;
        let target = self.applied.min(log.persisted).min(log.committed);
        if target > log.applied {
            self.raw.advance_apply_to(target);
        }
    }

    pub(super) fn on_soft_state(&mut self, leader: u64, role: StateRole) {
        if role != self.leader.role {
            self.leader.role = role;
            self.outputs.push_back(Output::Notice(Notice::RoleChanged {
                role,
                term: self.raw.raft.term,
            }));
        }
        let was_leader = self.leader.is_leader;
        let changed = leader != self.leader.known_leader;
        self.leader.known_leader = leader;
        self.leader.is_leader = role == StateRole::Leader;
        if self.leader.is_leader && !was_leader {
            // The no-op of the new term is the last entry now; the lessor is promoted once
            // it is applied (etcd: "finished applying all entries from the last term").
            self.leader.term_start_index = self.raw.raft.raft_log.last_index();
            self.leader.lessor_promoted = false;
        }
        if was_leader && !self.leader.is_leader {
            self.raw.store().withdraw_offer();
            self.sm.demote();
            self.leader.lessor_promoted = false;
        }
        if changed {
            if leader != 0 {
                self.leader.elected_ms = self.now_ms;
            }
            let failed = self.reads.leader_changed();
            for id in failed {
                self.respond(id, Err(crate::EtcdError::LeaderChanged));
            }
            self.outputs
                .push_back(Output::Notice(Notice::LeaderChanged {
                    leader,
                    term: self.raw.raft.term,
                }));
        }
    }

    pub(super) fn install_snapshot(&mut self, snap: &Snapshot) {
        let index = snap.get_metadata().index;
        let (membership, sm_bytes) = entry::decode_snapshot_data(&snap.data)
            .expect("the leader sent a snapshot this version cannot read");
        self.sm
            .restore(sm_bytes, self.now_ms)
            .expect("the leader sent a corrupt state machine snapshot");
        self.membership = membership;
        self.raw.mut_store().install_snapshot(snap.clone());
        self.applied = index;
        self.state_replaced_at = index;
        self.applied_term = snap.get_metadata().term;
        self.outputs
            .push_back(Output::Notice(Notice::SnapshotInstalled { index }));
        self.notice_membership();
    }

    pub(super) fn notice_membership(&mut self) {
        self.outputs
            .push_back(Output::Notice(Notice::MembershipChanged {
                voters: self.membership.voters(),
                learners: self.membership.learners(),
            }));
    }

    /// Takes a snapshot of the applied state every `snapshot_count` entries, and compacts
    /// the log behind it; in between, keeps the log within `max_log_bytes`.
    ///
    /// An early compaction waits until it can drop `snapshot_catchup_entries` entries at
    /// once: when the entries a slow follower may need are larger than `max_log_bytes` on
    /// their own, compacting after every Ready would move the whole log each time.
    pub(super) fn maybe_snapshot(&mut self) {
        let last = self.raw.store().latest_snapshot().get_metadata().index;
        if self.applied >= last + self.config.snapshot_count {
            self.take_snapshot();
        } else if self.raw.store().held_bytes() > self.config.max_log_bytes {
            let keep_from = self.catchup_floor();
            if keep_from >= self.raw.store().first() + self.config.snapshot_catchup_entries {
                self.raw.mut_store().compact(keep_from);
            }
        }
    }

    /// The first entry kept when the log is compacted: `snapshot_catchup_entries` behind
    /// the applied index (only applied entries may go: a snapshot of the applied state
    /// replaces them for a peer).
    fn catchup_floor(&self) -> u64 {
        (self.applied + 1)
            .saturating_sub(self.config.snapshot_catchup_entries)
            .max(1)
    }

    /// Raft asked for a snapshot for a peer: offers one of the applied state (built now,
    /// held only until Raft sends it).
    pub(super) fn snapshot_for_peer(&mut self) {
        if self.raw.store().take_snapshot_wanted() {
            let snap = self.snapshot_of_applied();
            self.raw.mut_store().offer_snapshot(snap);
        }
    }

    /// Raft's current voters and learners, sorted.
    fn conf_state(&self) -> ConfState {
        sorted_conf_state(self.raw.raft.prs().conf().to_conf_state())
    }

    /// The applied state as a Raft snapshot at the applied index.
    pub(super) fn snapshot_of_applied(&self) -> Snapshot {
        let term = raft::Storage::term(self.raw.store(), self.applied)
            .expect("the applied entry is in the log");
        let mut snap = Snapshot::default();
        let meta = snap.mut_metadata();
        meta.index = self.applied;
        meta.term = term;
        *meta.mut_conf_state() = self.conf_state();
        snap.data =
            entry::encode_snapshot_data_with(&self.membership, |out| self.sm.snapshot_into(out))
                .into();
        snap
    }

    pub(super) fn take_snapshot(&mut self) {
        let snap = self.snapshot_of_applied();
        self.raw.mut_store().set_snapshot(&snap);
        let compact_to = self.catchup_floor();
        self.raw.mut_store().compact(compact_to);
        let compacted_before = self.raw.store().first();
        self.outputs.push_back(Output::SaveSnapshot(snap));
        self.outputs
            .push_back(Output::Notice(Notice::SnapshotTaken {
                index: self.applied,
                compacted_before,
            }));
    }
}

/// Raft builds a ready's messages by iterating its progress map, an `FxHashMap` whose order
/// depends on the pointer width (FxHash hashes word by word): native and wasm32 would send
/// the same messages in different orders. A stable sort by recipient keeps each peer's own
/// sequence and makes the order the same everywhere.
pub(super) fn by_recipient(mut msgs: Vec<Message>) -> Vec<Message> {
    msgs.sort_by_key(|m| m.to);
    msgs
}

/// A conf state with sorted member lists (raft lists them in hash-set order).
pub(super) fn sorted_conf_state(mut cs: ConfState) -> ConfState {
    cs.voters.sort_unstable();
    cs.learners.sort_unstable();
    cs.voters_outgoing.sort_unstable();
    cs.learners_next.sort_unstable();
    cs
}
