//! Client writes between the request and the applied entry: proposed ones wait to be applied,
//! and those that could not be proposed (no leader yet, a transfer in progress) wait for a
//! leader. Both fail at their deadline with etcd's timeout errors.
//!
//! Proposals taken in one [`Server::handle_all`] call go to Raft together, as one proposal
//! message of many entries ([`Server::flush_proposals`]): the leader appends them at once and
//! sends each follower one append for all of them, and a follower forwards them in one
//! message. Proposed one by one (as etcd does), every entry cost each follower an append and
//! an acknowledgement: ~8 peer messages per put with 3 members at 256 puts in flight.

use super::*;
use crate::request::Request;
use bytes::Bytes;
use raft::eraftpb::{ConfChange, MessageType};
use std::collections::BTreeMap;

/// Requests a member holds for clients before it refuses more (etcd refuses with "too many
/// requests" when the applied index lags the committed one by 5 000).
pub(crate) const MAX_PENDING: usize = 5_000;

/// Entries proposed in one message at most (one `handle_all` call takes at most this many
/// normal proposals before proposing them).
const MAX_PROPOSAL_BATCH: usize = 256;
/// Entry bytes proposed in one message at most (beyond, the batch is proposed at once).
const MAX_PROPOSAL_BATCH_BYTES: usize = 4 << 20;

#[derive(Clone, Debug)]
pub(crate) enum ProposalData {
    Normal(Bytes),
    Conf(ConfChange),
}

#[derive(Clone, Debug)]
struct Pending {
    request: RequestId,
    started_ms: u64,
    deadline_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Proposals {
    /// Proposed, keyed by proposal ID.
    proposed: BTreeMap<u64, Pending>,
    /// Not yet proposed, in arrival order.
    waiting: VecDeque<(u64, ProposalData, Pending)>,
    /// Taken in the current `handle_all` call, to be proposed together at its end (only
    /// while nothing waits: these come after everything proposed before).
    batch: Vec<(u64, Bytes, Pending)>,
    /// Entry bytes in `batch`.
    batch_bytes: usize,
}

impl Proposals {
    pub(crate) fn len(&self) -> usize {
        self.proposed.len() + self.waiting.len() + self.batch.len()
    }

    /// The client request waiting for `proposal`, if this member proposed it.
    pub(crate) fn take(&mut self, proposal: u64) -> Option<RequestId> {
        self.proposed.remove(&proposal).map(|p| p.request)
    }
}

impl Server {
    /// Proposes on behalf of client request `id`; the answer comes when the entry carrying
    /// `proposal` is applied.
    pub(super) fn propose_for(&mut self, id: RequestId, proposal: u64, data: ProposalData) {
        if self.proposals.len() >= MAX_PENDING {
            return self.respond(id, Err(crate::EtcdError::TooManyRequests));
        }
        let pending = Pending {
            request: id,
            started_ms: self.now_ms,
            deadline_ms: self.now_ms + self.config.request_timeout_ms,
        };
        match data {
            ProposalData::Normal(d) if self.proposals.waiting.is_empty() && self.can_propose() => {
                self.proposals.batch_bytes += d.len();
                self.proposals.batch.push((proposal, d, pending));
                if self.proposals.batch.len() >= MAX_PROPOSAL_BATCH
                    || self.proposals.batch_bytes >= MAX_PROPOSAL_BATCH_BYTES
                {
                    self.flush_proposals();
                }
            }
            data => {
                // A conf change goes after the entries taken before it.
                self.flush_proposals();
                if self.proposals.waiting.is_empty() && self.try_propose(&data) {
                    self.proposals.proposed.insert(proposal, pending);
                } else {
                    self.proposals.waiting.push_back((proposal, data, pending));
                }
            }
        }
    }

    /// Proposes the entries taken so far in one message (see the module doc); if Raft
    /// refuses them, they wait for a leader, in order.
    pub(super) fn flush_proposals(&mut self) {
        if self.proposals.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.proposals.batch);
        self.proposals.batch_bytes = 0;
        if self.step_proposal(batch.iter().map(|(_, data, _)| data.clone())) {
            for (proposal, _, pending) in batch {
                self.proposals.proposed.insert(proposal, pending);
            }
        } else {
            for (proposal, data, pending) in batch {
                let data = ProposalData::Normal(data);
                self.proposals.waiting.push_back((proposal, data, pending));
            }
        }
    }

    /// A client request as an entry.
    pub(super) fn propose_request(&mut self, id: RequestId, request: Request) {
        let proposal = self.ids.next_id();
        let data = entry::Payload::Request { proposal, request }.encode();
        if data.len() > self.config.max_request_bytes {
            return self.respond(id, Err(crate::EtcdError::RequestTooLarge));
        }
        self.propose_for(id, proposal, ProposalData::Normal(data.into()));
    }

    /// A request nobody waits for (lease revokes and checkpoints by the leader). Dropped if
    /// Raft refuses it: the leader proposes again when the lessor reports the lease again.
    pub(super) fn propose_internal(&mut self, request: Request) {
        let data = entry::Payload::Request {
            proposal: 0,
            request,
        }
        .encode();
        self.flush_proposals();
        let _ = self.raw.propose(Vec::new(), data);
    }

    fn can_propose(&self) -> bool {
        self.leader.known_leader != 0 && !self.removed
    }

    /// Proposes normal entries in one message (what `RawNode::propose` does for one; the
    /// data is shared, not copied); whether Raft took them.
    fn step_proposal(&mut self, entries: impl IntoIterator<Item = Bytes>) -> bool {
        if !self.can_propose() {
            return false;
        }
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgPropose);
        m.from = self.raw.raft.id;
        let entries = entries.into_iter().map(|data| Entry {
            data,
            ..Entry::default()
        });
        m.set_entries(entries.collect::<Vec<_>>().into());
        self.raw.raft.step(m).is_ok()
    }

    fn try_propose(&mut self, data: &ProposalData) -> bool {
        match data {
            ProposalData::Normal(d) => self.step_proposal([d.clone()]),
            ProposalData::Conf(cc) => {
                self.can_propose() && self.raw.propose_conf_change(Vec::new(), cc.clone()).is_ok()
            }
        }
    }

    pub(super) fn retry_waiting(&mut self) {
        self.flush_proposals();
        while let Some((proposal, data, pending)) = self.proposals.waiting.pop_front() {
            if !self.try_propose(&data) {
                self.proposals.waiting.push_front((proposal, data, pending));
                return;
            }
            self.proposals.proposed.insert(proposal, pending);
        }
    }

    /// etcd `parseProposeCtxErr`: a request that started while the previous leader was being
    /// replaced times out "due to previous leader failure", others plainly.
    fn timeout_error(&self, started_ms: u64) -> crate::EtcdError {
        let elected = self.leader.elected_ms;
        let lost = elected.saturating_sub(2 * self.config.election_ms());
        if started_ms > lost && started_ms < elected {
            crate::EtcdError::TimeoutDueToLeaderFail
        } else {
            crate::EtcdError::Timeout
        }
    }

    /// Fails every request whose deadline passed.
    pub(super) fn expire_requests(&mut self) {
        let now = self.now_ms;
        let expired: Vec<(u64, Pending)> = self
            .proposals
            .proposed
            .iter()
            .filter(|(_, p)| p.deadline_ms <= now)
            .map(|(k, p)| (*k, p.clone()))
            .collect();
        for (proposal, p) in expired {
            self.proposals.proposed.remove(&proposal);
            let err = self.timeout_error(p.started_ms);
            self.respond(p.request, Err(err));
        }
        while self
            .proposals
            .waiting
            .front()
            .is_some_and(|(_, _, p)| p.deadline_ms <= now)
        {
            let (_, _, p) = self.proposals.waiting.pop_front().expect("checked");
            let err = self.timeout_error(p.started_ms);
            self.respond(p.request, Err(err));
        }
        for id in self.reads.expire(now) {
            self.respond(id, Err(crate::EtcdError::Timeout));
        }
        for (id, no_leader) in self.forward.expire(now) {
            let err = if no_leader {
                crate::EtcdError::NoLeader
            } else {
                crate::EtcdError::Timeout
            };
            self.respond(id, Err(err));
        }
    }
}
