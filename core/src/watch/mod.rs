//! Watch (etcd `mvcc/watchable_store.go`, `watcher_group.go`, `v3rpc/watch.go`), sans-IO.
//!
//! Clients open *streams*; each stream holds any number of watchers and a bounded outbox of
//! responses the host pulls with [`WatchHub::poll`]. Watchers are member-local: they are not
//! replicated, snapshotted or hashed.
//!
//! ```text
//!   apply ──changes──> notify ──> synced watchers ──> stream outbox ──poll──> client
//!                                        │ outbox full                ▲
//!                                        ▼                            │
//!                   unsynced watchers ──sync (reads MVCC history)─────┘
//! ```
//!
//! * **Synced** watchers are caught up; [`notify`](WatchHub::notify) hands them each new
//!   revision's events at once, one response per watcher per revision.
//! * **Unsynced** watchers are behind: new ones with an old `start_revision`, and *victims*
//!   whose stream outbox was full. [`sync`](WatchHub::sync) catches them up from the store's
//!   history in bounded batches, so a slow client costs one watcher entry, not a queue of
//!   events: memory stays bounded however far a watcher lags. A watcher that falls behind the
//!   compaction revision is canceled with `compact_revision` set, as etcd does.
//!
//! Guarantees (etcd's): events arrive in revision order, each exactly once, with no gaps, and
//! all events of one revision in one response unless the watcher allowed `fragment`.
//!
//! Two etcd 3.4 bugs are not reproduced: a progress request is answered only once every
//! watcher of the stream is synced, after the events before it (etcd #15220 answered at once),
//! and a watch starting at the compaction revision sees a delete made at that revision
//! (etcd #19179, see [`KeyIndex`](crate::mvcc::KeyIndex)).

mod coalesce;
mod fragment;
mod index;
mod sync;
mod watcher;

pub use coalesce::coalesce;
pub use watcher::WatchCreateRequest;

use crate::error::WatchError;
use crate::mvcc::{Event, Store};
use crate::request::ResponseHeader;
use index::WatcherIndex;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use watcher::Watcher;

/// Watch limits (etcd constants and the request-size flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchConfig {
    /// Event responses a stream may hold before its watchers become victims (etcd
    /// `chanBufLen`, 128). Control responses (created, canceled, progress) are not counted:
    /// each answers one client request.
    pub max_pending_responses: usize,
    /// Unsynced watchers handled per [`WatchHub::sync`] call (etcd `maxWatchersPerSync`, 512).
    pub max_watchers_per_sync: usize,
    /// Revisions of history read per [`WatchHub::sync`] call (etcd `watchBatchMaxRevs`, 1000).
    pub max_revisions_per_sync: i64,
    /// Responses at least this large are split when the watcher allowed it (etcd
    /// `--max-request-bytes`, 1.5 MiB).
    pub max_response_bytes: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            max_pending_responses: 128,
            max_watchers_per_sync: 512,
            max_revisions_per_sync: 1000,
            max_response_bytes: 1536 * 1024,
        }
    }
}

/// Identifies a watch stream (one client's bidirectional `Watch` call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

/// A response on a watch stream (etcd `WatchResponse`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchResponse {
    /// Header (the store sets `revision`; see each case in [`WatchHub`]).
    pub header: ResponseHeader,
    /// The watcher, or −1 for a stream-wide progress response or a refused create.
    pub watch_id: i64,
    /// Answers a create request.
    pub created: bool,
    /// The watcher is gone (canceled by the client, refused, or compacted away).
    pub canceled: bool,
    /// Set when the watcher was canceled because its next revision was compacted.
    pub compact_revision: i64,
    /// Why a create was refused.
    pub cancel_reason: String,
    /// More fragments of this revision's events follow.
    pub fragment: bool,
    /// The events, in revision order.
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Stream {
    outbox: VecDeque<Pending>,
    /// Event responses in `outbox` (what `max_pending_responses` bounds).
    pending_events: usize,
    next_watch_id: i64,
    /// IDs in use on the stream: live watchers, and watchers canceled by compaction that the
    /// client has not canceled yet (etcd keeps those registered, so their IDs are not reused).
    watchers: BTreeSet<i64>,
    progress_requested: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    response: WatchResponse,
    /// Counts against the outbox bound (an event response).
    counted: bool,
    /// May be split into fragments.
    fragmentable: bool,
}

type WatcherKey = (StreamId, i64);

/// All watch streams and watchers of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchHub {
    config: WatchConfig,
    streams: BTreeMap<StreamId, Stream>,
    watchers: BTreeMap<WatcherKey, Watcher>,
    index: WatcherIndex,
    unsynced: BTreeSet<WatcherKey>,
    /// Where the last `sync` stopped, so every unsynced watcher gets its turn.
    sync_cursor: Option<WatcherKey>,
    next_stream: u64,
}

impl WatchHub {
    /// A hub with no streams.
    pub fn new(config: WatchConfig) -> Self {
        Self {
            config,
            streams: BTreeMap::new(),
            watchers: BTreeMap::new(),
            index: WatcherIndex::default(),
            unsynced: BTreeSet::new(),
            sync_cursor: None,
            next_stream: 1,
        }
    }

    /// Opens a stream; call when a client starts a `Watch` call.
    pub fn open_stream(&mut self) -> StreamId {
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        self.streams.insert(id, Stream::default());
        id
    }

    /// Closes a stream and drops its watchers and pending responses.
    pub fn close_stream(&mut self, stream: StreamId) {
        if let Some(s) = self.streams.remove(&stream) {
            for id in s.watchers {
                self.remove_watcher((stream, id));
            }
        }
    }

    /// How many watchers exist, and how many of them are unsynced.
    pub fn watcher_counts(&self) -> (usize, usize) {
        (self.watchers.len(), self.unsynced.len())
    }

    /// Creates a watcher and queues the `created` response (header revision = the current
    /// revision). A refused create queues `created` + `canceled` with watch ID −1 and the
    /// reason, as etcd does. A watcher starting in the past is caught up at once as far as the
    /// outbox allows; one starting before the compaction revision is then canceled.
    pub fn create(
        &mut self,
        store: &Store,
        stream: StreamId,
        req: &WatchCreateRequest,
    ) -> Result<i64, WatchError> {
        let s = self
            .streams
            .get_mut(&stream)
            .ok_or(WatchError::StreamNotFound)?;
        let current = store.revision();
        let range = req.key_range();
        let id = if range.is_empty() {
            Err(WatchError::EmptyRange)
        } else if req.watch_id != 0 {
            if s.watchers.contains(&req.watch_id) {
                Err(WatchError::DuplicateId)
            } else {
                Ok(req.watch_id)
            }
        } else {
            while s.watchers.contains(&s.next_watch_id) {
                s.next_watch_id += 1;
            }
            s.next_watch_id += 1;
            Ok(s.next_watch_id - 1)
        };
        let mut resp = WatchResponse {
            header: ResponseHeader::at(current),
            watch_id: -1,
            created: true,
            ..WatchResponse::default()
        };
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                resp.canceled = true;
                resp.cancel_reason = e.message().to_owned();
                push_control(s, resp);
                return Err(e);
            }
        };
        resp.watch_id = id;
        push_control(s, resp);
        s.watchers.insert(id);
        let start = req.start_revision;
        let synced = start == 0 || start > current;
        let next_rev = if start == 0 { current + 1 } else { start };
        let mut w = Watcher::new(req, range, next_rev);
        w.synced = synced;
        self.index.insert((stream, id), &w.range);
        self.watchers.insert((stream, id), w);
        if !synced {
            self.unsynced.insert((stream, id));
            self.sync_watchers(store, &[(stream, id)]);
        }
        Ok(id)
    }

    /// Cancels a watcher and queues the `canceled` response. An unknown ID gets no response
    /// (etcd 3.4 sends nothing).
    pub fn cancel(
        &mut self,
        store: &Store,
        stream: StreamId,
        watch_id: i64,
    ) -> Result<(), WatchError> {
        let s = self
            .streams
            .get_mut(&stream)
            .ok_or(WatchError::StreamNotFound)?;
        if !s.watchers.remove(&watch_id) {
            return Err(WatchError::NotFound);
        }
        // A watcher canceled by compaction is already gone but its ID is still registered: the
        // client's cancel is answered all the same, as etcd does.
        push_control(
            s,
            WatchResponse {
                header: ResponseHeader::at(store.revision()),
                watch_id,
                canceled: true,
                ..WatchResponse::default()
            },
        );
        self.remove_watcher((stream, watch_id));
        self.answer_progress_requests(store);
        Ok(())
    }

    /// Forgets a watcher (its ID stays registered on the stream unless the caller removes it).
    fn remove_watcher(&mut self, key: WatcherKey) -> Option<Watcher> {
        let w = self.watchers.remove(&key)?;
        self.unsynced.remove(&key);
        self.index.remove(key, &w.range);
        Some(w)
    }

    /// A client's progress request: once every watcher of the stream is synced, a response
    /// with watch ID −1 and the current revision is queued after all events before it, so
    /// the client knows it has seen every event up to that revision.
    pub fn request_progress(&mut self, store: &Store, stream: StreamId) -> Result<(), WatchError> {
        let s = self
            .streams
            .get_mut(&stream)
            .ok_or(WatchError::StreamNotFound)?;
        s.progress_requested = true;
        self.answer_progress_requests(store);
        Ok(())
    }

    /// Delivers one revision's changes (all with the store's current revision, in sub-revision
    /// order) to synced watchers. Call after every apply that changed the store.
    pub fn notify(&mut self, store: &Store, events: &[Event]) {
        let Some(rev) = events.first().map(|e| e.kv.mod_revision) else {
            return;
        };
        assert!(
            events.iter().all(|e| e.kv.mod_revision == rev),
            "one revision per notify"
        );
        assert_eq!(
            rev,
            store.revision(),
            "notify after applying, with the new revision"
        );
        let mut batches: BTreeMap<WatcherKey, Vec<Event>> = BTreeMap::new();
        for ev in events {
            for key in self.index.candidates(&ev.kv.key) {
                let w = &self.watchers[&key];
                if w.synced && w.wants(ev) {
                    batches.entry(key).or_default().push(ev.clone());
                }
            }
        }
        for (key, events) in batches {
            let s = self
                .streams
                .get_mut(&key.0)
                .expect("watcher's stream exists");
            let w = self.watchers.get_mut(&key).expect("batched watcher exists");
            if s.pending_events >= self.config.max_pending_responses {
                // Victim: catch up from history once the client reads.
                w.synced = false;
                w.next_rev = w.next_rev.max(rev);
                self.unsynced.insert(key);
                continue;
            }
            w.had_events = true;
            let events = events.into_iter().map(|ev| w.deliver(ev, store)).collect();
            push_events(s, w, key.1, rev, events);
        }
    }

    /// A progress interval passed (etcd: `--experimental-watch-progress-notify-interval`,
    /// 10 min): every synced watcher with `progress_notify` that got no events since the last
    /// tick receives an empty response at the current revision. As in etcd, the notification is
    /// dropped when its stream's outbox is full, and (etcd #20221, fixed upstream by #20229)
    /// watchers whose start revision is still ahead get none: its revision would be below it.
    pub fn progress_tick(&mut self, store: &Store) {
        let current = store.revision();
        for ((stream, id), w) in &mut self.watchers {
            let due = w.progress_notify && w.synced && !w.had_events && w.next_rev <= current + 1;
            w.had_events = false;
            let s = self
                .streams
                .get_mut(stream)
                .expect("watcher's stream exists");
            if due && s.pending_events < self.config.max_pending_responses {
                let response = WatchResponse {
                    header: ResponseHeader::at(current),
                    watch_id: *id,
                    ..WatchResponse::default()
                };
                s.pending_events += 1;
                s.outbox.push_back(Pending {
                    response,
                    counted: true,
                    fragmentable: false,
                });
            }
        }
    }

    /// The next response for the client of `stream`, if any. Large responses of watchers that
    /// allowed fragmenting come out as several fragments.
    pub fn poll(&mut self, stream: StreamId) -> Option<WatchResponse> {
        let s = self.streams.get_mut(&stream)?;
        let front = s.outbox.pop_front()?;
        if front.counted {
            s.pending_events -= 1;
        }
        if !front.fragmentable {
            return Some(front.response);
        }
        let mut parts = fragment::split(front.response, self.config.max_response_bytes);
        let first = parts.remove(0);
        for part in parts.into_iter().rev() {
            s.outbox.push_front(Pending {
                response: part,
                counted: false,
                fragmentable: false,
            });
        }
        Some(first)
    }

    /// Re-syncs every watcher after the store was replaced by a snapshot: all become unsynced
    /// and resume from where they were (`previous_revision` + 1 for synced ones), so they catch
    /// up from the new history through [`sync`](Self::sync), or are canceled if it was
    /// compacted past them.
    pub fn restored(&mut self, store: &Store, previous_revision: i64) {
        for (key, w) in &mut self.watchers {
            if w.synced {
                w.synced = false;
                w.next_rev = w.next_rev.max(previous_revision + 1);
            }
            self.unsynced.insert(*key);
        }
        self.sync(store);
    }
}

fn push_control(s: &mut Stream, response: WatchResponse) {
    s.outbox.push_back(Pending {
        response,
        counted: false,
        fragmentable: false,
    });
}

fn push_events(s: &mut Stream, w: &Watcher, watch_id: i64, revision: i64, events: Vec<Event>) {
    debug_assert!(events
        .windows(2)
        .all(|p| p[0].kv.mod_revision <= p[1].kv.mod_revision));
    s.pending_events += 1;
    s.outbox.push_back(Pending {
        response: WatchResponse {
            header: ResponseHeader::at(revision),
            watch_id,
            events,
            ..WatchResponse::default()
        },
        counted: true,
        fragmentable: w.fragment,
    });
}

#[cfg(test)]
mod tests;
