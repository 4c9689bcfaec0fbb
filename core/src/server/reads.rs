//! Linearizable reads through ReadIndex (etcd `linearizableReadLoop`): reads that arrive
//! while one ReadIndex round is in flight share the next round; a round's reads are served
//! from the local state once the applied index reaches the index the leader confirmed.

use super::*;

/// Retry a ReadIndex round that got no answer after this long (etcd: 500 ms).
const RETRY_MS: u64 = 500;

#[derive(Clone, Debug)]
pub(crate) struct ReadWaiter {
    id: RequestId,
    request: ClientRequest,
    deadline_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Reads {
    next_ctx: u64,
    queued: Vec<ReadWaiter>,
    /// The round in flight: its context, its reads, when it was sent.
    in_flight: Option<(u64, Vec<ReadWaiter>, u64)>,
    /// Rounds with a confirmed index, waiting for the applied index.
    ready: VecDeque<(u64, Vec<ReadWaiter>)>,
}

impl Reads {
    pub(crate) fn len(&self) -> usize {
        self.queued.len()
            + self.in_flight.as_ref().map_or(0, |(_, w, _)| w.len())
            + self.ready.iter().map(|(_, w)| w.len()).sum::<usize>()
    }

    pub(crate) fn on_read_state(&mut self, ctx: &[u8], index: u64) {
        let Ok(ctx) = <[u8; 8]>::try_from(ctx) else {
            return;
        };
        if let Some((c, _, _)) = &self.in_flight {
            if *c == u64::from_le_bytes(ctx) {
                let (_, waiters, _) = self.in_flight.take().expect("checked");
                self.ready.push_back((index, waiters));
            }
        }
    }

    /// etcd 3.4 fails the round in flight when the leader changes ("leader changed"), so
    /// that clients retry against the new leader.
    pub(crate) fn leader_changed(&mut self) -> Vec<RequestId> {
        self.in_flight
            .take()
            .map(|(_, w, _)| w.into_iter().map(|w| w.id).collect())
            .unwrap_or_default()
    }

    pub(crate) fn expire(&mut self, now: u64) -> Vec<RequestId> {
        let mut out = Vec::new();
        let mut keep = |w: &ReadWaiter| {
            if w.deadline_ms <= now {
                out.push(w.id);
                false
            } else {
                true
            }
        };
        self.queued.retain(&mut keep);
        if let Some((_, w, _)) = &mut self.in_flight {
            w.retain(&mut keep);
        }
        for (_, w) in &mut self.ready {
            w.retain(&mut keep);
        }
        out
    }
}

impl Server {
    pub(super) fn queue_read(&mut self, id: RequestId, request: ClientRequest) {
        if self.reads.len() >= proposals::MAX_PENDING {
            return self.respond(id, Err(crate::EtcdError::TooManyRequests));
        }
        self.reads.queued.push(ReadWaiter {
            id,
            request,
            deadline_ms: self.now_ms + self.config.request_timeout_ms,
        });
    }

    pub(super) fn issue_reads(&mut self) {
        if self.leader.known_leader == 0 || self.removed {
            return;
        }
        let now = self.now_ms;
        let waiters = match self.reads.in_flight.take() {
            Some((ctx, w, sent)) if now < sent + RETRY_MS => {
                self.reads.in_flight = Some((ctx, w, sent));
                return;
            }
            Some((_, mut w, _)) => {
                w.append(&mut self.reads.queued);
                w
            }
            None if self.reads.queued.is_empty() => return,
            None => std::mem::take(&mut self.reads.queued),
        };
        if waiters.is_empty() {
            return;
        }
        self.reads.next_ctx += 1;
        let ctx = self.reads.next_ctx;
        self.raw.read_index(ctx.to_le_bytes().to_vec());
        self.reads.in_flight = Some((ctx, waiters, now));
    }

    pub(super) fn serve_ready_reads(&mut self) {
        while self
            .reads
            .ready
            .front()
            .is_some_and(|(index, _)| *index <= self.applied)
        {
            let (_, waiters) = self.reads.ready.pop_front().expect("checked");
            for w in waiters {
                self.serve_local_read(w.id, &w.request);
            }
        }
    }

    /// Serves a read from the applied state (serializable reads, and linearizable ones once
    /// their read index is applied).
    pub(super) fn serve_local_read(&mut self, id: RequestId, request: &ClientRequest) {
        let result = match request {
            ClientRequest::Range(r) => self
                .sm
                .range(r)
                .map(|mut resp| {
                    resp.header = self.header();
                    ClientResponse::Kv(crate::request::Response::Range(resp))
                })
                .map_err(Into::into),
            ClientRequest::Txn(t) => self
                .sm
                .read_txn(t)
                .map(|mut resp| {
                    resp.header = self.header();
                    ClientResponse::Kv(crate::request::Response::Txn(resp))
                })
                .map_err(Into::into),
            other => unreachable!("not a read: {other:?}"),
        };
        self.respond(id, result);
    }
}
