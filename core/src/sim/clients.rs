//! The random workload's clients and the console, on the simulator.

use super::workload::{next_call, outcome_of, record, request_for};
use super::*;
use crate::sim::faults::pick;

impl Sim {
    pub(super) fn client_wake(&mut self, client: usize) {
        if !self.workload || self.clients[client].outstanding.is_some() {
            return;
        }
        let keys = self.config.keys;
        let call = next_call(
            &mut self.rng_client,
            client,
            &mut self.clients[client].writes,
            keys,
        );
        let member = self.clients[client].member;
        let slot = &self.slots[member];
        if slot.server.is_none() || slot.paused {
            // Connection refused (or no answer from a frozen process): try another member.
            self.switch_member(client);
            let think = self.think();
            self.schedule(self.now_ms + think, Event::ClientWake { client });
            return;
        }
        self.next_request += 1;
        let id = self.next_request;
        self.requests.insert(id, Requester::Client(client));
        self.clients[client].outstanding = Some((id, call.clone(), self.now_ms));
        let timeout = self.now_ms + self.config.client_timeout_ms;
        self.schedule(
            timeout,
            Event::ClientTimeout {
                client,
                request: id,
            },
        );
        self.hash.u64(7);
        self.hash.u64(id);
        self.input(
            member,
            Input::Client {
                id,
                request: request_for(&call),
            },
        );
    }

    fn think(&mut self) -> u64 {
        let (lo, hi) = self.config.think_ms;
        self.rng_client.gen_range(lo..=hi.max(lo))
    }

    fn switch_member(&mut self, client: usize) {
        let n = self.slots.len();
        self.clients[client].member = pick(&mut self.rng_client, n);
    }

    pub(super) fn client_timeout(&mut self, client: usize, request: u64) {
        let Some((id, _, _)) = &self.clients[client].outstanding else {
            return;
        };
        if *id != request {
            return;
        }
        let (_, call, invoke) = self.clients[client].outstanding.take().expect("checked");
        self.requests.remove(&request);
        self.hash.u64(8);
        record(&mut self.history, client, call, invoke, self.now_ms, None);
        self.switch_member(client);
        let think = self.think();
        self.schedule(self.now_ms + think, Event::ClientWake { client });
    }

    pub(super) fn on_response(&mut self, id: u64, result: Result<ClientResponse, EtcdError>) {
        self.hash.u64(9);
        self.hash.u64(id);
        self.hash.bytes(match &result {
            Ok(_) => b"ok",
            Err(e) => e.message().as_bytes(),
        });
        match self.requests.remove(&id) {
            Some(Requester::Client(client)) => {
                let Some((_, call, invoke)) = self.clients[client].outstanding.take() else {
                    return;
                };
                let outcome = outcome_of(&call, &result);
                if self.trace.enabled() {
                    let line = format!("c{client} {call:?} -> {outcome:?}");
                    self.trace.push(self.now_ms, line);
                }
                if outcome.is_none() {
                    self.switch_member(client);
                }
                record(
                    &mut self.history,
                    client,
                    call,
                    invoke,
                    self.now_ms,
                    outcome,
                );
                let think = self.think();
                self.schedule(self.now_ms + think, Event::ClientWake { client });
            }
            Some(Requester::Console(member)) => {
                let line = match &result {
                    Ok(r) => format!("console #{id} -> {r:?}"),
                    Err(e) => format!("console #{id} -> Error: {}", e.message()),
                };
                self.trace.push(self.now_ms, line);
                self.console.push(ConsoleAnswer {
                    request: id,
                    at_ms: self.now_ms,
                    member,
                    result,
                });
            }
            Some(Requester::Watcher(w)) => self.watcher_answer(w, result),
            Some(Requester::ConsoleWatch(w)) => self.console_watch_answer(w, result),
            Some(Requester::ConsoleSession(s)) => self.session_answer(s, result),
            Some(Requester::Compactor) | None => {}
        }
    }
}
