//! Console `lock` and `elect`: etcdctl runs clientv3's concurrency recipes on the client
//! side, and so does the simulator, with the same requests.
//!
//! A session grants a lease (`--ttl`, 10 s for `lock`, 60 s for `elect`) and keeps it alive
//! every third of its TTL. It then creates `<name>/<lease in hex>` with a txn that puts the
//! key (bound to the lease) only if it does not exist yet. It holds the lock, or wins the
//! election, once no key under `<name>/` has an earlier create revision: clientv3 waits for
//! those keys' deletion with a watch, the simulator asks again every 100 ms (the outcome and
//! the keys written are the same).
//! The session ends when its lease is gone, as etcdctl's does ("session expired").
//!
//! `elect -l` (observe) also opens a session, as etcdctl does, but only reads: it asks for
//! the first-created key under `<name>/` every 100 ms and reports it whenever its key or
//! mod revision differ from the last one reported (a new leader, or a proclamation).
//! clientv3 follows the same key with a watch; the two print the same lines unless the
//! leadership changes twice within 100 ms. Failed reads are asked again, as clientv3
//! retries them.

use super::*;
use crate::mvcc::prefix_end;
use crate::request::{
    Compare, CompareResult, CompareTarget, PutRequest, RangeRequest, RequestOp, Response,
    SortOrder, SortTarget, TxnRequest,
};
use bytes::Bytes;

/// How often a session checks the lock, its connection and its keep-alive (virtual ms).
const CHECK_MS: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Granting,
    Creating,
    Waiting,
    Held,
    /// `elect -l`: reading the leader over and over.
    Observing,
    Ended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Grant,
    Create,
    Check,
    KeepAlive,
}

#[derive(Clone, Debug)]
pub(super) struct ConsoleSession {
    slot: usize,
    incarnation: u64,
    prefix: Bytes,
    value: Bytes,
    ttl: i64,
    lease: i64,
    key: Bytes,
    stage: Stage,
    outstanding: Option<Call>,
    next_keep_alive_ms: u64,
    /// Only observes the election (`elect -l`).
    observe: bool,
    /// The leader key last reported by an observer, and its mod revision.
    observed: Option<(Bytes, i64)>,
}

/// What happened to a console `lock` or `elect` ([`Action::Lock`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionOutcome {
    /// The lock is held (or the election won): the session's key and value. For an
    /// observer, a new leader (or proclamation): the leader's key and value.
    Acquired {
        /// `<name>/<lease in hex>`.
        key: Bytes,
        /// Empty for a lock; the proposal for an election.
        value: Bytes,
    },
    /// A request failed before the lock was held.
    Failed(EtcdError),
    /// The session's lease is gone.
    Expired,
}

/// One event of a console session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEvent {
    /// Which session (in the order they were started, from 0).
    pub session: usize,
    /// Virtual time.
    pub at_ms: u64,
    /// What happened.
    pub outcome: SessionOutcome,
}

impl Sim {
    /// Events of console `lock`/`elect` sessions, in order.
    pub fn session_output(&self) -> &[SessionEvent] {
        &self.session_output
    }

    pub(super) fn console_lock_start(
        &mut self,
        member: u64,
        name: Bytes,
        value: Bytes,
        ttl: i64,
        observe: bool,
    ) {
        let session = self.console_sessions.len();
        let slot = self.index_of(member).unwrap_or(usize::MAX);
        let mut prefix = name.to_vec();
        prefix.push(b'/');
        self.console_sessions.push(ConsoleSession {
            slot,
            incarnation: self.slots.get(slot).map_or(0, |s| s.incarnation),
            prefix: prefix.into(),
            value,
            ttl,
            lease: 0,
            key: Bytes::new(),
            stage: Stage::Granting,
            outstanding: None,
            next_keep_alive_ms: 0,
            observe,
            observed: None,
        });
        if self
            .slots
            .get(slot)
            .is_none_or(|s| s.server.is_none() || s.paused)
        {
            return self.session_end(session, SessionOutcome::Failed(EtcdError::Stopped));
        }
        self.session_check(session);
    }

    fn session_end(&mut self, session: usize, outcome: SessionOutcome) {
        self.console_sessions[session].stage = Stage::Ended;
        self.session_report(session, outcome);
    }

    fn session_report(&mut self, session: usize, outcome: SessionOutcome) {
        self.hash.u64(13);
        self.hash.u64(session as u64);
        self.session_output.push(SessionEvent {
            session,
            at_ms: self.now_ms,
            outcome,
        });
    }

    pub(super) fn session_check(&mut self, s: usize) {
        if self.console_sessions[s].stage == Stage::Ended {
            return;
        }
        self.schedule(self.now_ms + CHECK_MS, Event::ConsoleSession { session: s });
        let cs = &self.console_sessions[s];
        let slot = &self.slots[cs.slot];
        if slot.server.is_none() || slot.paused {
            return;
        }
        if slot.incarnation != cs.incarnation {
            // The member restarted: what was asked of it is lost; ask again.
            let incarnation = slot.incarnation;
            let cs = &mut self.console_sessions[s];
            cs.incarnation = incarnation;
            cs.outstanding = None;
        }
        let cs = &self.console_sessions[s];
        if cs.outstanding.is_some() {
            return;
        }
        let (call, request) = if cs.lease != 0 && self.now_ms >= cs.next_keep_alive_ms {
            (
                Call::KeepAlive,
                ClientRequest::LeaseKeepAlive { id: cs.lease },
            )
        } else {
            match cs.stage {
                Stage::Granting => (
                    Call::Grant,
                    ClientRequest::LeaseGrant(crate::request::LeaseGrantRequest {
                        ttl: cs.ttl,
                        id: 0,
                    }),
                ),
                Stage::Creating => (Call::Create, ClientRequest::Txn(create_txn(cs))),
                Stage::Waiting | Stage::Observing => (
                    Call::Check,
                    ClientRequest::Range(RangeRequest {
                        key: cs.prefix.clone(),
                        range_end: prefix_end(&cs.prefix),
                        limit: 1,
                        sort_order: SortOrder::Ascend,
                        sort_target: SortTarget::Create,
                        ..RangeRequest::default()
                    }),
                ),
                Stage::Held | Stage::Ended => return,
            }
        };
        let cs = &mut self.console_sessions[s];
        cs.outstanding = Some(call);
        if call == Call::KeepAlive {
            cs.next_keep_alive_ms = self.now_ms + keep_alive_every(cs.ttl);
        }
        self.next_request += 1;
        let id = self.next_request;
        self.requests.insert(id, Requester::ConsoleSession(s));
        let slot = cs.slot;
        self.input(slot, Input::Client { id, request });
    }

    pub(super) fn session_answer(&mut self, s: usize, result: Result<ClientResponse, EtcdError>) {
        let Some(call) = self.console_sessions[s].outstanding.take() else {
            return;
        };
        if self.console_sessions[s].stage == Stage::Ended {
            return;
        }
        let cs = &mut self.console_sessions[s];
        match (call, result) {
            // An observer does not need its session: it goes on without it.
            (Call::KeepAlive, Ok(ClientResponse::LeaseKeepAlive(r)))
                if r.ttl <= 0 && cs.observe =>
            {
                cs.lease = 0;
            }
            (Call::KeepAlive, Ok(ClientResponse::LeaseKeepAlive(r))) if r.ttl <= 0 => {
                self.session_end(s, SessionOutcome::Expired);
            }
            // A keep-alive that failed is tried again at the next check.
            (Call::KeepAlive, Err(_)) => cs.next_keep_alive_ms = self.now_ms,
            (Call::Grant, Ok(ClientResponse::Kv(Response::LeaseGrant(r)))) => {
                cs.lease = r.id;
                cs.next_keep_alive_ms = self.now_ms + keep_alive_every(r.ttl);
                let mut key = cs.prefix.to_vec();
                key.extend_from_slice(format!("{:x}", r.id).as_bytes());
                cs.key = key.into();
                cs.stage = if cs.observe {
                    Stage::Observing
                } else {
                    Stage::Creating
                };
            }
            // Created now, or already there (a retry after a lost answer): either way the
            // key is ours, and the check that follows compares it with the first one.
            (Call::Create, Ok(ClientResponse::Kv(Response::Txn(_)))) => cs.stage = Stage::Waiting,
            (Call::Check, Ok(ClientResponse::Kv(Response::Range(r)))) if cs.observe => {
                let Some(leader) = r.kvs.first() else {
                    return;
                };
                let seen = (leader.key.clone(), leader.mod_revision);
                if cs.observed.as_ref() != Some(&seen) {
                    cs.observed = Some(seen);
                    let outcome = SessionOutcome::Acquired {
                        key: leader.key.clone(),
                        value: leader.value.clone(),
                    };
                    self.session_report(s, outcome);
                }
            }
            (Call::Check, Ok(ClientResponse::Kv(Response::Range(r)))) => {
                match r.kvs.first() {
                    Some(owner) if owner.key == cs.key => {
                        cs.stage = Stage::Held;
                        let outcome = SessionOutcome::Acquired {
                            key: cs.key.clone(),
                            value: owner.value.clone(),
                        };
                        self.session_report(s, outcome);
                    }
                    // Our key is gone: the lease expired while we waited.
                    None => self.session_end(s, SessionOutcome::Expired),
                    Some(_) => {}
                }
            }
            // Errors before the lock is held end the command, as they end etcdctl.
            (Call::Grant | Call::Create, Err(e)) => {
                self.session_end(s, SessionOutcome::Failed(e));
            }
            (_, _) => {}
        }
    }
}

/// clientv3 keeps a session's lease alive every third of its TTL.
fn keep_alive_every(ttl_s: i64) -> u64 {
    (ttl_s.max(0) as u64 * 1000 / 3).max(CHECK_MS)
}

/// clientv3's `Mutex.Lock` / `Election.Campaign` first step: create the key if it does not
/// exist, else read it.
fn create_txn(cs: &ConsoleSession) -> TxnRequest {
    TxnRequest {
        compare: vec![Compare {
            key: cs.key.clone(),
            range_end: Bytes::new(),
            result: CompareResult::Equal,
            target: CompareTarget::Create(0),
        }],
        success: vec![RequestOp::Put(PutRequest {
            key: cs.key.clone(),
            value: cs.value.clone(),
            lease: cs.lease,
            ..PutRequest::default()
        })],
        failure: vec![RequestOp::Range(RangeRequest {
            key: cs.key.clone(),
            ..RangeRequest::default()
        })],
    }
}
