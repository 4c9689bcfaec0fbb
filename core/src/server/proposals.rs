//! Client writes between the request and the applied entry: proposed ones wait to be applied,
//! and those that could not be proposed (no leader yet, a transfer in progress) wait for a
//! leader. Both fail at their deadline with etcd's timeout errors.

use super::*;
use crate::request::Request;
use raft::eraftpb::ConfChange;
use std::collections::BTreeMap;

/// Requests a member holds for clients before it refuses more (etcd refuses with "too many
/// requests" when the applied index lags the committed one by 5 000).
pub(crate) const MAX_PENDING: usize = 5_000;

#[derive(Clone, Debug)]
pub(crate) enum ProposalData {
    Normal(Vec<u8>),
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
}

impl Proposals {
    pub(crate) fn len(&self) -> usize {
        self.proposed.len() + self.waiting.len()
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
        if self.proposals.waiting.is_empty() && self.try_propose(&data) {
            self.proposals.proposed.insert(proposal, pending);
        } else {
            self.proposals.waiting.push_back((proposal, data, pending));
        }
    }

    /// A client request as an entry.
    pub(super) fn propose_request(&mut self, id: RequestId, request: Request) {
        let proposal = self.ids.next_id();
        let data = entry::Payload::Request { proposal, request }.encode();
        if data.len() > self.config.max_request_bytes {
            return self.respond(id, Err(crate::EtcdError::RequestTooLarge));
        }
        self.propose_for(id, proposal, ProposalData::Normal(data));
    }

    /// A request nobody waits for (lease revokes and checkpoints by the leader). Dropped if
    /// Raft refuses it: the leader proposes again when the lessor reports the lease again.
    pub(super) fn propose_internal(&mut self, request: Request) {
        let data = entry::Payload::Request {
            proposal: 0,
            request,
        }
        .encode();
        let _ = self.raw.propose(Vec::new(), data);
    }

    fn try_propose(&mut self, data: &ProposalData) -> bool {
        if self.leader.known_leader == 0 || self.removed {
            return false;
        }
        let result = match data {
            ProposalData::Normal(d) => self.raw.propose(Vec::new(), d.clone()),
            ProposalData::Conf(cc) => self.raw.propose_conf_change(Vec::new(), cc.clone()),
        };
        result.is_ok()
    }

    pub(super) fn retry_waiting(&mut self) {
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
