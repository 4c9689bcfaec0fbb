//! Simulated watch clients, and an auto-compactor (etcd `--auto-compaction-mode=revision`)
//! that makes them resume across compactions.
//!
//! A watcher keeps one stream on one member, watching the workload's keys from the revision
//! after the last event it received. When its member crashes or restarts, the stream is gone
//! and it reconnects to another member, as etcd's client does; when the member reports that
//! the revision it asked for was compacted, it resumes from the compaction revision.

use super::check::watch::WatchLog;
use super::*;
use crate::server::ClientRequest;
use crate::watch::{StreamId, WatchCreateRequest, WatchResponse};
use bytes::Bytes;

/// How often a watcher checks its connection, and the compactor runs (virtual ms).
const WATCHER_CHECK_MS: u64 = 200;
const COMPACT_EVERY_MS: u64 = 1_000;
/// Revisions the compactor keeps.
const COMPACT_RETAIN: i64 = 10;

#[derive(Clone, Debug)]
pub(crate) struct Watcher {
    member: usize,
    incarnation: u64,
    stream: Option<StreamId>,
    opening: bool,
    next_rev: i64,
    pub(crate) log: WatchLog,
}

impl Watcher {
    pub(crate) fn new(member: usize) -> Self {
        Self {
            member,
            incarnation: 0,
            stream: None,
            opening: false,
            next_rev: 1,
            log: WatchLog {
                key: Bytes::from_static(b"k"),
                range_end: Bytes::from_static(b"l"),
                start: 1,
                ..WatchLog::default()
            },
        }
    }
}

impl Sim {
    pub(super) fn start_watchers(&mut self) {
        for w in 0..self.config.watchers {
            let member = w % self.slots.len();
            self.watchers.push(Watcher::new(member));
            self.schedule(0, Event::WatcherCheck { watcher: w });
        }
        if self.config.auto_compaction {
            self.schedule(COMPACT_EVERY_MS, Event::Compact);
        }
    }

    fn watcher_request(&mut self, w: usize, request: ClientRequest) {
        let member = self.watchers[w].member;
        self.next_request += 1;
        let id = self.next_request;
        self.requests.insert(id, Requester::Watcher(w));
        self.input(member, Input::Client { id, request });
    }

    pub(super) fn watcher_check(&mut self, w: usize) {
        self.schedule(
            self.now_ms + WATCHER_CHECK_MS,
            Event::WatcherCheck { watcher: w },
        );
        let member = self.watchers[w].member;
        let slot = &self.slots[member];
        let alive = slot.server.is_some() && !slot.paused;
        let same = slot.incarnation == self.watchers[w].incarnation;
        if self.watchers[w].stream.is_some() && alive && same {
            return;
        }
        if self.watchers[w].opening {
            return;
        }
        self.watchers[w].stream = None;
        if !alive {
            self.watchers[w].member = faults::pick(&mut self.rng_client, self.slots.len());
            return;
        }
        self.watchers[w].incarnation = slot.incarnation;
        self.watchers[w].opening = true;
        self.hash.u64(10);
        self.watcher_request(w, ClientRequest::WatchOpen);
    }

    pub(super) fn watcher_answer(&mut self, w: usize, result: Result<ClientResponse, EtcdError>) {
        let Ok(ClientResponse::WatchOpened(stream)) = result else {
            if result.is_err() {
                self.watchers[w].opening = false;
                self.watchers[w].stream = None;
            }
            return;
        };
        self.watchers[w].opening = false;
        self.watchers[w].stream = Some(stream);
        self.create_watch(w, stream);
    }

    fn create_watch(&mut self, w: usize, stream: StreamId) {
        let request = WatchCreateRequest {
            key: self.watchers[w].log.key.clone(),
            range_end: self.watchers[w].log.range_end.clone(),
            start_revision: self.watchers[w].next_rev,
            ..WatchCreateRequest::default()
        };
        self.watcher_request(w, ClientRequest::WatchCreate { stream, request });
    }

    /// A watch response from `member` on `stream`.
    pub(super) fn on_watch(&mut self, member: usize, stream: StreamId, r: WatchResponse) {
        let Some(w) = self
            .watchers
            .iter()
            .position(|w| w.member == member && w.stream == Some(stream))
        else {
            return;
        };
        self.hash.u64(11);
        self.hash.u64(r.events.len() as u64);
        if r.canceled {
            if r.compact_revision > 0 {
                let asked = self.watchers[w].next_rev;
                self.watchers[w]
                    .log
                    .compactions
                    .push((asked, r.compact_revision));
                self.watchers[w].next_rev = r.compact_revision;
            }
            self.create_watch(w, stream);
            return;
        }
        if let Some(last) = r.events.last() {
            self.watchers[w].next_rev = last.kv.mod_revision + 1;
        }
        self.watchers[w].log.events.extend(r.events);
    }

    /// etcd's revision auto-compaction: keep the last few revisions.
    pub(super) fn auto_compact(&mut self) {
        self.schedule(self.now_ms + COMPACT_EVERY_MS, Event::Compact);
        let revision = self.reference.revision() - COMPACT_RETAIN;
        let member = faults::pick(&mut self.rng_client, self.slots.len());
        let slot = &self.slots[member];
        if revision < 2 || slot.server.is_none() || slot.paused {
            return;
        }
        self.next_request += 1;
        let id = self.next_request;
        self.requests.insert(id, Requester::Compactor);
        let request = ClientRequest::Compact(crate::request::CompactionRequest {
            revision,
            physical: false,
        });
        self.input(member, Input::Client { id, request });
    }

    /// What each watcher received.
    pub fn watch_logs(&self) -> impl Iterator<Item = &WatchLog> {
        self.watchers.iter().map(|w| &w.log)
    }

    /// Checks every watcher against the committed history.
    pub fn check_watchers(&self) -> Vec<Violation> {
        self.watchers
            .iter()
            .filter_map(|w| check::watch::check(&w.log, self.reference.events(), self.now_ms).err())
            .collect()
    }
}
