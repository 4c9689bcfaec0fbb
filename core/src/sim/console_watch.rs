//! Console watches (`etcdctl watch` typed in the playground) and the view of messages in
//! flight.
//!
//! A console watch behaves like etcdctl's with one endpoint: it opens a stream on its
//! member, creates the watcher, and reports every response. When the member crashes or
//! restarts, the stream is gone; the watch reconnects once the member is back and resumes
//! from the revision after the last event it reported, as clientv3 does. A watcher the
//! member cancels (its revision was compacted) ends the watch.

use super::*;
use crate::watch::{StreamId, WatchCreateRequest, WatchResponse};

/// How often a console watch checks its connection (virtual ms).
const CHECK_MS: u64 = 200;

#[derive(Clone, Debug)]
pub(super) struct ConsoleWatch {
    slot: usize,
    incarnation: u64,
    stream: Option<StreamId>,
    opening: bool,
    request: WatchCreateRequest,
    ended: bool,
}

/// One response to a console watch ([`Action::Watch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleWatchResponse {
    /// Which console watch (in the order they were started, from 0).
    pub watch: usize,
    /// Virtual time it arrived.
    pub at_ms: u64,
    /// The response (`Err` when the member refused the stream).
    pub response: Result<WatchResponse, EtcdError>,
}

/// A peer message on its way, for drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Sender.
    pub from: u64,
    /// Receiver.
    pub to: u64,
    /// Raft's message type (`MsgAppend`, `MsgHeartbeat`, ...) or the forwarding kind.
    pub kind: &'static str,
    /// When it was sent.
    pub sent_ms: u64,
    /// When it arrives.
    pub arrive_ms: u64,
}

impl Sim {
    /// Responses to console watches so far, in arrival order.
    pub fn watch_output(&self) -> &[ConsoleWatchResponse] {
        &self.watch_output
    }

    /// Messages on the wire now, ordered by arrival (held ones of a paused member excluded).
    pub fn in_flight(&self) -> Vec<InFlight> {
        let mut out: Vec<InFlight> = self
            .queue
            .iter()
            .filter_map(|q| match &q.0.event {
                Event::Deliver { message, sent } => Some(InFlight {
                    from: message.from(),
                    to: message.to(),
                    kind: message.kind(),
                    sent_ms: *sent,
                    arrive_ms: q.0.at,
                }),
                _ => None,
            })
            .collect();
        out.sort_by_key(|m| (m.arrive_ms, m.from, m.to, m.sent_ms));
        out
    }

    pub(super) fn console_watch_start(&mut self, member: u64, request: WatchCreateRequest) {
        let watch = self.console_watches.len();
        // An unknown member is reported like a stopped one (the watch is numbered anyway).
        let slot = self.index_of(member).unwrap_or(usize::MAX);
        self.console_watches.push(ConsoleWatch {
            slot,
            incarnation: self.slots.get(slot).map_or(0, |s| s.incarnation),
            stream: None,
            opening: false,
            request,
            ended: false,
        });
        if self
            .slots
            .get(slot)
            .is_none_or(|s| s.server.is_none() || s.paused)
        {
            // etcdctl cannot connect: it fails at once.
            self.console_watches[watch].ended = true;
            return self.console_watch_report(watch, Err(EtcdError::Stopped));
        }
        self.console_watch_check(watch);
    }

    fn console_watch_report(&mut self, watch: usize, response: Result<WatchResponse, EtcdError>) {
        self.hash.u64(12);
        self.hash.u64(watch as u64);
        self.watch_output.push(ConsoleWatchResponse {
            watch,
            at_ms: self.now_ms,
            response,
        });
    }

    pub(super) fn console_watch_check(&mut self, w: usize) {
        if self.console_watches[w].ended {
            return;
        }
        self.schedule(self.now_ms + CHECK_MS, Event::ConsoleWatch { watch: w });
        let cw = &self.console_watches[w];
        let slot = &self.slots[cw.slot];
        let alive = slot.server.is_some() && !slot.paused;
        if cw.opening || !alive || (cw.stream.is_some() && slot.incarnation == cw.incarnation) {
            return;
        }
        let incarnation = slot.incarnation;
        let cw = &mut self.console_watches[w];
        cw.stream = None;
        cw.incarnation = incarnation;
        cw.opening = true;
        self.console_watch_request(w, ClientRequest::WatchOpen);
    }

    fn console_watch_request(&mut self, w: usize, request: ClientRequest) {
        self.next_request += 1;
        let id = self.next_request;
        self.requests.insert(id, Requester::ConsoleWatch(w));
        self.input(self.console_watches[w].slot, Input::Client { id, request });
    }

    pub(super) fn console_watch_answer(
        &mut self,
        w: usize,
        result: Result<ClientResponse, EtcdError>,
    ) {
        let cw = &mut self.console_watches[w];
        match result {
            Ok(ClientResponse::WatchOpened(stream)) => {
                cw.opening = false;
                cw.stream = Some(stream);
                let request = cw.request.clone();
                self.console_watch_request(w, ClientRequest::WatchCreate { stream, request });
            }
            Ok(_) => {}
            Err(e) => {
                cw.opening = false;
                cw.stream = None;
                self.console_watch_report(w, Err(e));
            }
        }
    }

    /// Takes a watch response meant for a console watch; false if it is someone else's.
    pub(super) fn on_console_watch(
        &mut self,
        slot: usize,
        stream: StreamId,
        r: &WatchResponse,
    ) -> bool {
        let Some(w) = self
            .console_watches
            .iter()
            .position(|c| c.slot == slot && c.stream == Some(stream))
        else {
            return false;
        };
        let cw = &mut self.console_watches[w];
        if r.created && cw.request.start_revision == 0 {
            cw.request.start_revision = r.header.revision + 1;
        }
        if let Some(last) = r.events.last() {
            // A reconnect resumes after the last event reported.
            cw.request.start_revision = last.kv.mod_revision + 1;
        }
        if r.canceled {
            cw.ended = true;
        }
        self.console_watch_report(w, Ok(r.clone()));
        true
    }
}
