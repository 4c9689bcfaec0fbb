//! Calls only the leader can answer (lease keep-alive and time-to-live, which need the
//! primary lessor; the readiness check of a learner promotion, which needs the leader's
//! replication progress). A follower forwards them to the leader, as etcd does over its
//! peer HTTP API, and retries when the leader changes.

use super::peer::{Body, ForwardAnswer, ForwardOp};
use super::*;
use crate::request::{LeaseKeepAliveResponse, LeaseTimeToLiveResponse};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Call {
    id: RequestId,
    op: ForwardOp,
    deadline_ms: u64,
    /// The leader it was sent to; 0 = not sent (no leader known, or it must be resent).
    sent_to: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Forwards {
    next_call: u64,
    calls: BTreeMap<u64, Call>,
}

impl Forwards {
    /// Calls past their deadline: (request, whether no leader was known).
    pub(crate) fn expire(&mut self, now: u64) -> Vec<(RequestId, bool)> {
        let mut out = Vec::new();
        self.calls.retain(|_, c| {
            if c.deadline_ms <= now {
                out.push((c.id, c.sent_to == 0));
                false
            } else {
                true
            }
        });
        out
    }
}

impl Server {
    /// Starts a leader-only call for client request `id`.
    pub(super) fn leader_call(&mut self, id: RequestId, op: ForwardOp) {
        if self.forward.calls.len() >= proposals::MAX_PENDING {
            return self.respond(id, Err(crate::EtcdError::TooManyRequests));
        }
        self.forward.next_call += 1;
        let call = Call {
            id,
            op,
            deadline_ms: self.now_ms + self.config.request_timeout_ms,
            sent_to: 0,
        };
        self.forward.calls.insert(self.forward.next_call, call);
        self.send_calls();
    }

    /// Answers or sends every call not yet with the current leader. Runs when a call starts
    /// and on every tick, so that calls waiting for a leader, for the new leader's lessor, or
    /// refused by a former leader are retried at the tick rate (not on every message, which
    /// would ping-pong with a leader that cannot answer yet).
    pub(super) fn send_calls(&mut self) {
        let leader = self.leader.known_leader;
        if leader == 0 || self.removed {
            return;
        }
        let todo: Vec<u64> = self
            .forward
            .calls
            .iter()
            .filter(|(_, c)| c.sent_to != leader)
            .map(|(k, _)| *k)
            .collect();
        for call in todo {
            if leader == self.config.id {
                let op = self.forward.calls[&call].op.clone();
                let Some(answer) = self.answer(&op) else {
                    continue; // the lessor is not promoted yet: try again later
                };
                let c = self.forward.calls.remove(&call).expect("listed");
                self.finish_call(c, answer);
            } else {
                let c = self.forward.calls.get_mut(&call).expect("listed");
                c.sent_to = leader;
                let op = c.op.clone();
                self.send_body(leader, Body::ForwardRequest { call, op });
            }
        }
    }

    /// The leader's answer, or `None` while it cannot answer yet.
    fn answer(&mut self, op: &ForwardOp) -> Option<ForwardAnswer> {
        if !self.leader.is_leader {
            return Some(ForwardAnswer::NotLeader);
        }
        if !self.leader.lessor_promoted {
            return None;
        }
        let now = self.now_ms;
        let header = self.header();
        Some(match *op {
            ForwardOp::KeepAlive { lease } => match self.sm.lease_keep_alive(lease, now) {
                Ok(r) => ForwardAnswer::KeepAlive { header, ttl: r.ttl },
                Err(_) => ForwardAnswer::NotLeader,
            },
            ForwardOp::TimeToLive { lease, keys } => {
                match self.sm.lease_time_to_live(lease, keys, now) {
                    Ok(r) => ForwardAnswer::TimeToLive {
                        header,
                        ttl: r.ttl,
                        granted_ttl: r.granted_ttl,
                        keys: r.keys,
                    },
                    Err(_) => ForwardAnswer::NotLeader,
                }
            }
            ForwardOp::LearnerReady { member } => {
                ForwardAnswer::LearnerReady(self.learner_ready(member))
            }
        })
    }

    /// etcd `isLearnerReady`: the learner's match index is at least 90 % of the leader's.
    fn learner_ready(&self, member: u64) -> bool {
        let prs = self.raw.raft.prs();
        let leader_match = prs.get(self.config.id).map_or(0, |p| p.matched);
        let learner_match = prs.get(member).map_or(0, |p| p.matched);
        leader_match > 0 && learner_match * 10 >= leader_match * 9
    }

    /// A follower's call arrived at this member.
    pub(super) fn answer_forwarded(&mut self, from: u64, call: u64, op: ForwardOp) {
        let answer = self.answer(&op).unwrap_or(ForwardAnswer::NotLeader);
        self.send_body(from, Body::ForwardAnswer { call, answer });
    }

    fn send_body(&mut self, to: u64, body: Body) {
        let message = PeerMessage {
            from: self.config.id,
            to,
            body,
        };
        self.outputs.push_back(Output::Send {
            to,
            message,
            before_persist: false,
        });
    }

    pub(super) fn on_forward_answer(&mut self, call: u64, answer: ForwardAnswer) {
        if matches!(answer, ForwardAnswer::NotLeader) {
            if let Some(c) = self.forward.calls.get_mut(&call) {
                c.sent_to = 0; // resent once a (new) leader is known
            }
            return;
        }
        if let Some(c) = self.forward.calls.remove(&call) {
            self.finish_call(c, answer);
        }
    }

    fn finish_call(&mut self, c: Call, answer: ForwardAnswer) {
        let result = match (c.op, answer) {
            (ForwardOp::KeepAlive { lease }, ForwardAnswer::KeepAlive { header, ttl }) => {
                Ok(ClientResponse::LeaseKeepAlive(LeaseKeepAliveResponse {
                    header,
                    id: lease,
                    ttl,
                }))
            }
            (
                ForwardOp::TimeToLive { lease, .. },
                ForwardAnswer::TimeToLive {
                    header,
                    ttl,
                    granted_ttl,
                    keys,
                },
            ) => Ok(ClientResponse::LeaseTimeToLive(LeaseTimeToLiveResponse {
                header,
                id: lease,
                ttl,
                granted_ttl,
                keys,
            })),
            (ForwardOp::LearnerReady { member }, ForwardAnswer::LearnerReady(ready)) => {
                return self.promote_if_ready(c.id, member, ready);
            }
            _ => Err(crate::EtcdError::NotLeader),
        };
        self.respond(c.id, result);
    }
}
