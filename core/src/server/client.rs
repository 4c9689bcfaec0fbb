//! Client requests: validation as etcd's gRPC layer does it, then the path each kind takes
//! (local read, ReadIndex read, proposal, leader-only call, membership change).

use super::peer::ForwardOp;
use super::proposals::ProposalData;
use super::*;
use crate::alarm::AlarmType;
use crate::error::EtcdError;
use crate::request::{AlarmAction, AlarmRequest, Request};
use raft::eraftpb::{ConfChange, ConfChangeType};

impl Server {
    pub(super) fn on_client(&mut self, id: RequestId, request: ClientRequest) {
        if self.removed {
            return self.respond(id, Err(EtcdError::Stopped));
        }
        if self.is_learner() && !learner_may_serve(&request) {
            return self.respond(id, Err(EtcdError::NotSupportedForLearner));
        }
        match request {
            ClientRequest::Range(r) => self.read(id, Request::Range(r)),
            ClientRequest::Txn(t) if t.is_read_only() => self.read(id, Request::Txn(t)),
            ClientRequest::Txn(t) => self.write(id, Request::Txn(t)),
            ClientRequest::Put(r) => self.write(id, Request::Put(r)),
            ClientRequest::DeleteRange(r) => self.write(id, Request::DeleteRange(r)),
            ClientRequest::Compact(r) => self.write(id, Request::Compaction(r)),
            ClientRequest::LeaseGrant(mut r) => {
                if r.id == 0 {
                    r.id = self.ids.next_lease_id();
                }
                self.write(id, Request::LeaseGrant(r));
            }
            ClientRequest::LeaseRevoke(r) => self.write(id, Request::LeaseRevoke(r)),
            ClientRequest::Alarm(r) => self.write(id, Request::Alarm(r)),
            ClientRequest::LeaseKeepAlive { id: lease } => {
                self.leader_call(id, ForwardOp::KeepAlive { lease });
            }
            ClientRequest::LeaseTimeToLive { id: lease, keys } => {
                self.leader_call(id, ForwardOp::TimeToLive { lease, keys });
            }
            ClientRequest::LeaseLeases => {
                let mut r = self.sm.lease_leases();
                r.header = self.header();
                self.respond(id, Ok(ClientResponse::LeaseLeases(r)));
            }
            ClientRequest::MemberAdd {
                peer_urls,
                is_learner,
            } => self.member_add(id, peer_urls, is_learner),
            ClientRequest::MemberRemove { id: member } => self.member_remove(id, member),
            ClientRequest::MemberUpdate {
                id: member,
                peer_urls,
            } => self.member_update(id, member, peer_urls),
            ClientRequest::MemberPromote { id: member } => {
                if let Err(e) = self.membership.check_promote(member) {
                    return self.respond(id, Err(e));
                }
                self.leader_call(id, ForwardOp::LearnerReady { member });
            }
            ClientRequest::MemberList => {
                let r = self.members_response(None);
                self.respond(id, Ok(ClientResponse::Members(r)));
            }
            ClientRequest::MoveLeader { target } => self.move_leader(id, target),
            ClientRequest::Status => {
                let s = self.status();
                let r = StatusResponse {
                    header: self.header(),
                    leader: s.leader,
                    raft_index: s.last_index,
                    raft_term: s.term,
                    raft_applied_index: s.applied,
                    is_learner: self.is_learner(),
                    db_size: self.sm.store().size_bytes() as i64,
                };
                self.respond(id, Ok(ClientResponse::Status(r)));
            }
            ClientRequest::HashKv { revision } => {
                let result = self
                    .sm
                    .hash_kv(revision)
                    .map(|h| {
                        let mut header = self.header();
                        header.revision = h.revision;
                        ClientResponse::HashKv(HashKvResponse {
                            header,
                            hash: h.hash,
                            compact_revision: h.compact_revision,
                        })
                    })
                    .map_err(Into::into);
                self.respond(id, result);
            }
            ClientRequest::WatchOpen => {
                let stream = self.sm.watch_open();
                self.streams.insert(stream);
                self.respond(id, Ok(ClientResponse::WatchOpened(stream)));
            }
            ClientRequest::WatchCreate { stream, request } => {
                let r = self.sm.watch_create(stream, &request).map(|_| ());
                self.watch_result(id, r);
            }
            ClientRequest::WatchCancel { stream, watch_id } => {
                let r = self.sm.watch_cancel(stream, watch_id);
                self.watch_result(id, r);
            }
            ClientRequest::WatchProgress { stream } => {
                let r = self.sm.watch_progress(stream);
                self.watch_result(id, r);
            }
            ClientRequest::WatchClose { stream } => {
                self.sm.watch_close(stream);
                self.streams.remove(&stream);
                self.paused_streams.remove(&stream);
                self.respond(id, Ok(ClientResponse::WatchAccepted));
            }
        }
    }

    fn watch_result(&mut self, id: RequestId, r: Result<(), crate::error::WatchError>) {
        // A refused create is answered on the stream (created + canceled), as etcd does;
        // only a missing stream is an error of the call itself.
        let result = match r {
            Err(crate::error::WatchError::StreamNotFound) => Err(EtcdError::WatchCanceled),
            _ => Ok(ClientResponse::WatchAccepted),
        };
        self.respond(id, result);
    }

    fn is_learner(&self) -> bool {
        self.membership
            .get(self.config.id)
            .is_some_and(|m| m.is_learner)
    }

    fn read(&mut self, id: RequestId, request: Request) {
        if let Err(e) = self.sm.validate(&request) {
            return self.respond(id, Err(e));
        }
        let client = match request {
            Request::Range(r) => ClientRequest::Range(r),
            Request::Txn(t) => ClientRequest::Txn(t),
            _ => unreachable!("reads are ranges and read-only txns"),
        };
        if client.is_serializable_read() {
            self.serve_local_read(id, &client);
        } else {
            self.queue_read(id, client);
        }
    }

    fn write(&mut self, id: RequestId, request: Request) {
        if let Err(e) = self.sm.validate(&request) {
            return self.respond(id, Err(e));
        }
        // etcd's quota check before proposing: a write that would take the database past
        // the quota raises NOSPACE (through Raft, for the whole cluster) and is refused.
        let cost = crate::alarm::quota_cost(&request);
        if cost > 0 && self.sm.store().size_bytes() + cost > self.config.quota_backend_bytes {
            if !self.sm.alarms().is_active(AlarmType::NoSpace) {
                self.propose_internal(Request::Alarm(AlarmRequest {
                    action: AlarmAction::Activate,
                    member_id: self.config.id,
                    alarm: AlarmType::NoSpace,
                }));
            }
            return self.respond(id, Err(EtcdError::NoSpace));
        }
        self.propose_request(id, request);
    }

    pub(super) fn members_response(&self, added: Option<Member>) -> MembersResponse {
        MembersResponse {
            header: self.header(),
            member: added,
            members: self.membership.members().cloned().collect(),
        }
    }

    fn member_add(&mut self, id: RequestId, peer_urls: Vec<String>, is_learner: bool) {
        let member = Member {
            id: self.ids.next_id(),
            name: String::new(),
            peer_urls,
            client_urls: Vec::new(),
            is_learner,
        };
        if let Err(e) = self.membership.check_add(&member) {
            return self.respond(id, Err(e));
        }
        let change = if is_learner {
            ConfChangeType::AddLearnerNode
        } else {
            ConfChangeType::AddNode
        };
        self.propose_conf(id, change, member.id, Some(&member));
    }

    fn member_remove(&mut self, id: RequestId, member: u64) {
        if let Err(e) = self.membership.check_remove(member) {
            return self.respond(id, Err(e));
        }
        self.propose_conf(id, ConfChangeType::RemoveNode, member, None);
    }

    fn member_update(&mut self, id: RequestId, member: u64, peer_urls: Vec<String>) {
        if let Err(e) = self.membership.check_update(member, &peer_urls) {
            return self.respond(id, Err(e));
        }
        let proposal = self.ids.next_id();
        let data = entry::Payload::UpdatePeers {
            proposal,
            member,
            peer_urls,
        }
        .encode();
        self.propose_for(id, proposal, ProposalData::Normal(data.into()));
    }

    /// The leader said whether the learner caught up: propose the promotion or refuse it.
    pub(super) fn promote_if_ready(&mut self, id: RequestId, member: u64, ready: bool) {
        if !ready {
            return self.respond(id, Err(EtcdError::LearnerNotReady));
        }
        let Some(mut m) = self.membership.get(member).cloned() else {
            return self.respond(id, Err(EtcdError::MemberNotFound));
        };
        m.is_learner = false;
        self.propose_conf(id, ConfChangeType::AddNode, member, Some(&m));
    }

    fn propose_conf(
        &mut self,
        id: RequestId,
        change: ConfChangeType,
        node: u64,
        member: Option<&Member>,
    ) {
        let proposal = self.ids.next_id();
        let mut cc = ConfChange::default();
        cc.set_change_type(change);
        cc.node_id = node;
        cc.context = entry::encode_conf_context(proposal, member).into();
        self.propose_for(id, proposal, ProposalData::Conf(cc));
    }
}

/// etcd 3.4 `isRPCSupportedForLearner`: a learner serves serializable ranges and status
/// only (its stream interceptor refuses every stream, watch included).
fn learner_may_serve(r: &ClientRequest) -> bool {
    match r {
        ClientRequest::Range(r) => r.serializable,
        ClientRequest::Status => true,
        _ => false,
    }
}
