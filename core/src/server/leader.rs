//! What the leader does besides Raft: expiring leases by proposing revokes, checkpointing
//! lease TTLs, publishing this member's attributes, and leadership transfers.

use super::*;
use crate::request::{LeaseRevokeRequest, Request};

/// Leadership bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct LeaderState {
    pub(crate) is_leader: bool,
    /// The role last reported.
    pub(crate) role: raft::StateRole,
    pub(crate) known_leader: u64,
    /// Host time the current leader was first seen (for etcd's timeout wording).
    pub(crate) elected_ms: u64,
    /// Index of the first entry of this member's leadership term.
    pub(crate) term_start_index: u64,
    pub(crate) lessor_promoted: bool,
    /// A move-leader request: (request, target, deadline).
    pub(crate) transfer: Option<(RequestId, u64, u64)>,
    /// When this member may next propose its attributes.
    pub(crate) next_publish_ms: u64,
}

impl Server {
    pub(super) fn leader_duties(&mut self) {
        self.publish_attributes();
        self.check_transfer();
        if !self.leader.is_leader || self.removed {
            return;
        }
        if !self.leader.lessor_promoted && self.applied >= self.leader.term_start_index {
            self.sm.promote(self.now_ms, self.config.election_ms());
            self.leader.lessor_promoted = true;
        }
        if !self.leader.lessor_promoted {
            return;
        }
        for id in self.sm.expired_leases(self.now_ms) {
            let request = Request::LeaseRevoke(LeaseRevokeRequest { id });
            self.propose_internal(request);
        }
        if self.config.state_machine.lease.checkpointing {
            let cps = self.sm.lease_checkpoints_due(self.now_ms);
            if !cps.checkpoints.is_empty() {
                self.propose_internal(Request::LeaseCheckpoint(cps));
            }
        }
    }

    /// etcd `publish`: once a leader is known, propose this member's name and client URLs
    /// until the applied membership shows them.
    fn publish_attributes(&mut self) {
        let Some(me) = self.membership.get(self.config.id) else {
            return;
        };
        if me.name == self.config.name && me.client_urls == self.config.client_urls {
            return;
        }
        if self.leader.known_leader == 0 || self.now_ms < self.leader.next_publish_ms {
            return;
        }
        self.leader.next_publish_ms = self.now_ms + self.config.request_timeout_ms;
        let payload = entry::Payload::Attributes {
            member: self.config.id,
            name: self.config.name.clone(),
            client_urls: self.config.client_urls.clone(),
        };
        self.flush_proposals();
        let _ = self.raw.propose(Vec::new(), payload.encode());
    }

    /// Answers a pending move-leader once the target leads, or fails it at its deadline.
    fn check_transfer(&mut self) {
        let Some((id, target, deadline)) = self.leader.transfer else {
            return;
        };
        if self.leader.known_leader == target {
            self.leader.transfer = None;
            let header = self.header();
            self.respond(id, Ok(ClientResponse::MoveLeader(header)));
        } else if self.now_ms >= deadline {
            self.leader.transfer = None;
            // etcd: ErrTimeoutLeaderTransfer, which its gRPC layer has no code for; the
            // closest etcd error clients match on is the plain timeout.
            self.respond(id, Err(crate::EtcdError::Timeout));
        }
    }

    pub(super) fn move_leader(&mut self, id: RequestId, target: u64) {
        if !self.leader.is_leader {
            return self.respond(id, Err(crate::EtcdError::NotLeader));
        }
        let voter = self.membership.get(target).is_some_and(|m| !m.is_learner);
        if !voter {
            return self.respond(id, Err(crate::EtcdError::BadLeaderTransferee));
        }
        if target == self.config.id {
            let header = self.header();
            return self.respond(id, Ok(ClientResponse::MoveLeader(header)));
        }
        // Writes taken before the move go first: Raft refuses proposals during a transfer.
        self.flush_proposals();
        self.raw.transfer_leader(target);
        let deadline = self.now_ms + self.config.request_timeout_ms;
        self.leader.transfer = Some((id, target, deadline));
    }
}
