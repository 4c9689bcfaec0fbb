//! Applying committed entries (etcd `applyAll` / `applyEntryNormal` / `applyConfChange`).

use super::entry::{decode_conf_context, Payload};
use super::*;
use crate::error::EtcdError;
use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType, EntryType};

impl Server {
    pub(super) fn apply_entries(&mut self, entries: Vec<Entry>) {
        for e in entries {
            if e.index <= self.applied {
                continue; // covered by a snapshot installed in the same ready
            }
            assert_eq!(e.index, self.applied + 1, "entries apply in order");
            match e.get_entry_type() {
                EntryType::EntryNormal => self.apply_normal(&e),
                EntryType::EntryConfChange => self.apply_conf_change(&e),
                EntryType::EntryConfChangeV2 => {
                    panic!("Orrery proposes only v1 conf changes (entry {})", e.index)
                }
            }
            self.applied = e.index;
            self.applied_term = e.term;
            self.maybe_snapshot();
        }
    }

    fn apply_normal(&mut self, e: &Entry) {
        let payload = Payload::decode(&e.data).unwrap_or_else(|err| {
            panic!(
                "entry {} cannot be decoded ({err}); members disagree on the format",
                e.index
            )
        });
        match payload {
            Payload::Noop => {}
            Payload::Request { proposal, request } => {
                let result = self.sm.apply(self.now_ms, &request).map(|mut r| {
                    fill_header(&mut r, self.header());
                    ClientResponse::Kv(r)
                });
                if let Some(id) = self.proposals.take(proposal) {
                    self.respond(id, result);
                }
            }
            Payload::Attributes {
                member,
                name,
                client_urls,
            } => self.membership.set_attributes(member, name, client_urls),
            Payload::UpdatePeers {
                proposal,
                member,
                peer_urls,
            } => {
                let result = self
                    .membership
                    .update_peer_urls(member, peer_urls)
                    .map(|()| ClientResponse::Members(self.members_response(None)));
                if let Some(id) = self.proposals.take(proposal) {
                    self.respond(id, result);
                }
            }
        }
    }

    fn apply_conf_change(&mut self, e: &Entry) {
        let cc = ConfChange::parse_from_bytes(&e.data)
            .unwrap_or_else(|_| panic!("conf change {} cannot be decoded", e.index));
        let (proposal, member) = match decode_conf_context(&cc.context) {
            Ok(x) => x,
            // raft turns a conf change proposed while another is pending into an empty one.
            Err(_) if cc.context.is_empty() => (0, None),
            Err(err) => panic!("conf change {} has a bad context ({err})", e.index),
        };
        let node = cc.node_id;
        // Checked again at apply time: a concurrent change may have got there first. A
        // refused change leaves Raft's configuration alone on every member alike.
        let result = match (cc.get_change_type(), member) {
            (ConfChangeType::AddNode, Some(m)) if self.membership.get(node).is_some() => {
                self.membership.promote(m.id).map(|()| None)
            }
            (ConfChangeType::AddNode | ConfChangeType::AddLearnerNode, Some(m)) => {
                self.membership.add(m.clone()).map(|()| Some(m))
            }
            (ConfChangeType::RemoveNode, _) => self.membership.remove(node).map(|_| None),
            _ => Err(EtcdError::MemberNotFound),
        };
        if result.is_ok() {
            let cs = self
                .raw
                .apply_conf_change(&cc)
                .expect("a checked conf change applies");
            self.raw
                .mut_store()
                .set_conf_state(super::ready::sorted_conf_state(cs));
            self.notice_membership();
            if cc.get_change_type() == ConfChangeType::RemoveNode {
                if node == self.config.id {
                    self.removed = true;
                    self.outputs.push_back(Output::Notice(Notice::Removed));
                } else if node == self.raw.raft.leader_id {
                    self.forget_removed_leader();
                }
            }
        }
        if let Some(id) = self.proposals.take(proposal) {
            let result = result.map(|added| ClientResponse::Members(self.members_response(added)));
            self.respond(id, result);
        }
    }
}

impl Server {
    /// The leader was removed: it stops once it applies that, so requests forwarded to it
    /// from now on would be lost and time out. This member forgets it (new requests wait
    /// for the next leader instead), and the lowest-ID voter left campaigns at its next
    /// tick rather than after a whole election timeout. The others grant it their votes
    /// if they applied the removal too (having forgotten the leader); one that has not
    /// yet still follows its leader and refuses, and the normal timeout follows. etcd 3.4
    /// waits for the timeout.
    fn forget_removed_leader(&mut self) {
        let me = self.config.id;
        let lowest = self.raw.raft.prs().conf().voters().ids().iter().min() == Some(me);
        let past_any_timeout = self.timer.max_ticks() - 1;
        let r = &mut self.raw.raft;
        r.leader_id = raft::INVALID_ID;
        if lowest {
            // At least any randomized timeout (drawn below `max_ticks`) minus one.
            r.election_elapsed = past_any_timeout;
        }
        self.on_soft_state(0, self.leader.role);
    }
}

/// etcd sets the member, cluster and term of a response header in its gRPC layer; the
/// revision comes from apply.
fn fill_header(r: &mut crate::request::Response, mine: ResponseHeader) {
    use crate::request::Response as R;
    let h = match r {
        R::Range(x) => &mut x.header,
        R::Put(x) => &mut x.header,
        R::DeleteRange(x) => &mut x.header,
        R::Txn(x) => &mut x.header,
        R::Compaction(x) => &mut x.header,
        R::LeaseGrant(x) => &mut x.header,
        R::LeaseRevoke(x) => &mut x.header,
        R::LeaseCheckpoint(x) => &mut x.header,
        R::Alarm(x) => &mut x.header,
    };
    h.cluster_id = mine.cluster_id;
    h.member_id = mine.member_id;
    h.raft_term = mine.raft_term;
}
