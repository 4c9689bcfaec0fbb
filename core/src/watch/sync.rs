//! Catching unsynced watchers up from history (etcd `watchableStore.syncWatchers`).
//!
//! Each [`WatchHub::sync`] call reads at most `max_revisions_per_sync` revisions of history.
//! Half of that budget first finishes every watcher of the batch that is within reach of the
//! present (a victim that missed a few revisions never waits behind a watcher replaying a long
//! history); the rest advances the laggards, oldest first. etcd instead rescans the whole
//! history from the oldest watcher on every pass, which is unbounded work per call.

use super::{push_control, push_events, StreamId, WatchHub, WatchResponse, WatcherKey};
use crate::mvcc::{Event, Revision, Store};
use crate::request::ResponseHeader;
use std::cell::OnceCell;
use std::ops::Bound;

impl WatchHub {
    /// Catches up unsynced watchers from history: at most `max_watchers_per_sync` watchers and
    /// `max_revisions_per_sync` revisions per call. Watchers whose stream outbox is full wait.
    /// Returns whether unsynced watchers remain (call again, e.g. every 100 ms as etcd does, or
    /// after the client drained its stream).
    pub fn sync(&mut self, store: &Store) -> bool {
        let limit = self.config.max_watchers_per_sync;
        let after = self.sync_cursor.unwrap_or((StreamId(0), i64::MIN));
        let mut batch: Vec<WatcherKey> = self
            .unsynced
            .range((Bound::Excluded(after), Bound::Unbounded))
            .take(limit)
            .copied()
            .collect();
        if batch.len() < limit {
            let wrap = self.unsynced.iter().take(limit - batch.len());
            batch.extend(wrap.filter(|k| **k <= after).copied());
        }
        self.sync_cursor = batch.last().copied();
        self.sync_watchers(store, &batch);
        self.answer_progress_requests(store);
        !self.unsynced.is_empty()
    }

    pub(super) fn sync_watchers(&mut self, store: &Store, batch: &[WatcherKey]) {
        let current = store.revision();
        let compacted = store.compact_revision();
        let mut ready = Vec::new();
        for key in batch {
            if self.streams[&key.0].pending_events >= self.config.max_pending_responses {
                continue;
            }
            if self.watchers[key].next_rev < compacted {
                self.cancel_compacted(*key, compacted);
            } else {
                ready.push(*key);
            }
        }
        let budget = self.config.max_revisions_per_sync.max(2);
        let near_from = current - budget / 2 + 1;
        let (near, far): (Vec<WatcherKey>, Vec<WatcherKey>) = ready
            .into_iter()
            .partition(|k| self.watchers[k].next_rev >= near_from);
        let mut spent = 0;
        if let Some(from) = near.iter().map(|k| self.watchers[k].next_rev).min() {
            spent = (current - from + 1).max(0);
            self.catch_up(store, &near, from, current);
        }
        if let Some(from) = far.iter().map(|k| self.watchers[k].next_rev).min() {
            let to = current.min(from.saturating_add(budget - spent - 1));
            self.catch_up(store, &far, from, to);
        }
    }

    /// Delivers the history `[from, to]` to `keys` (each from its own next revision); those
    /// that reach the current revision become synced. Previous key-values are looked up only
    /// for responses that are actually queued.
    fn catch_up(&mut self, store: &Store, keys: &[WatcherKey], from: i64, to: i64) {
        let current = store.revision();
        // The history is read once for the whole pass, without values; an event's value is
        // read (back from the host's disk, if evicted) the first time a watcher takes it.
        // Each watcher clones only the events it wants, and only when its stream has room.
        let history: Vec<(Revision, Event, OnceCell<Event>)> = store
            .change_stubs_between(from, to)
            .map(|(rev, stub)| (rev, stub, OnceCell::new()))
            .collect();
        for key in keys {
            let w = self.watchers.get_mut(key).expect("ready watcher exists");
            let s = self
                .streams
                .get_mut(&key.0)
                .expect("watcher's stream exists");
            if w.next_rev <= to {
                if let Some(first) = history.iter().position(|(_, ev, _)| w.wants(ev)) {
                    if s.pending_events >= self.config.max_pending_responses {
                        continue; // another watcher of this pass filled the stream: retry later
                    }
                    w.had_events = true;
                    let events = history[first..]
                        .iter()
                        .filter(|(_, stub, _)| w.wants(stub))
                        .map(|(rev, _, full)| {
                            w.deliver(full.get_or_init(|| store.event_at(*rev)).clone(), store)
                        })
                        .collect();
                    push_events(s, w, key.1, current, events);
                }
                w.next_rev = to + 1;
            }
            if w.next_rev > current {
                w.synced = true;
                self.unsynced.remove(key);
            }
        }
    }

    /// etcd: the watcher gets `canceled` with `compact_revision`, header revision 0 and no
    /// reason (clients turn it into ErrCompacted). Its ID stays registered until the client
    /// cancels it.
    fn cancel_compacted(&mut self, key: WatcherKey, compacted: i64) {
        self.remove_watcher(key);
        let s = self
            .streams
            .get_mut(&key.0)
            .expect("watcher's stream exists");
        push_control(
            s,
            WatchResponse {
                watch_id: key.1,
                canceled: true,
                compact_revision: compacted,
                ..WatchResponse::default()
            },
        );
    }

    pub(super) fn answer_progress_requests(&mut self, store: &Store) {
        let streams = self
            .streams
            .iter_mut()
            .filter(|(_, s)| s.progress_requested);
        for (id, s) in streams {
            if s.watchers
                .iter()
                .all(|w| !self.unsynced.contains(&(*id, *w)))
            {
                s.progress_requested = false;
                push_control(
                    s,
                    WatchResponse {
                        header: ResponseHeader::at(store.revision()),
                        watch_id: -1,
                        ..WatchResponse::default()
                    },
                );
            }
        }
    }
}
