//! One watcher: what it watches and how it turns store changes into events.

use crate::mvcc::{Event, EventType, KeyRange, Store};
use bytes::Bytes;

/// Create a watcher (etcd `WatchCreateRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchCreateRequest {
    /// First key; empty means `"\0"`, the smallest key.
    pub key: Bytes,
    /// End of the range (empty = `key` only, `"\0"` = every key ≥ `key`).
    pub range_end: Bytes,
    /// First revision to deliver, inclusive; 0 = from now (the current revision + 1).
    pub start_revision: i64,
    /// Send an empty response when idle for a progress interval.
    pub progress_notify: bool,
    /// Do not deliver put events (etcd filter `NOPUT`).
    pub no_put: bool,
    /// Do not deliver delete events (etcd filter `NODELETE`).
    pub no_delete: bool,
    /// Attach each event's previous key-value.
    pub prev_kv: bool,
    /// Client-chosen watch ID; 0 lets the server pick.
    pub watch_id: i64,
    /// Allow splitting one revision's events over several responses when they are large.
    pub fragment: bool,
}

impl WatchCreateRequest {
    /// The watched keys, with etcd's watch conventions (an empty key is `"\0"`).
    pub fn key_range(&self) -> KeyRange {
        let key = if self.key.is_empty() {
            Bytes::from_static(&[0])
        } else {
            self.key.clone()
        };
        KeyRange::new(key, self.range_end.clone())
    }
}

/// A registered watcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Watcher {
    pub(crate) range: KeyRange,
    pub(crate) no_put: bool,
    pub(crate) no_delete: bool,
    pub(crate) prev_kv: bool,
    pub(crate) fragment: bool,
    pub(crate) progress_notify: bool,
    /// The lowest revision this watcher still needs: for an unsynced watcher where catch-up
    /// resumes, for a synced one a lower bound (a future start revision).
    pub(crate) next_rev: i64,
    /// Whether the watcher is caught up with the store and receives events as they happen.
    pub(crate) synced: bool,
    /// Whether events went out since the last progress tick (then no progress is due).
    pub(crate) had_events: bool,
}

impl Watcher {
    pub(crate) fn new(req: &WatchCreateRequest, range: KeyRange, next_rev: i64) -> Self {
        Self {
            range,
            no_put: req.no_put,
            no_delete: req.no_delete,
            prev_kv: req.prev_kv,
            fragment: req.fragment,
            progress_notify: req.progress_notify,
            next_rev,
            synced: false,
            had_events: false,
        }
    }

    /// Whether the watcher wants `event` (key in range, revision not before its start, and not
    /// filtered out).
    pub(crate) fn wants(&self, event: &Event) -> bool {
        let filtered = match event.kind {
            EventType::Put => self.no_put,
            EventType::Delete => self.no_delete,
        };
        !filtered && event.kv.mod_revision >= self.next_rev && self.range.contains(&event.kv.key)
    }

    /// The event as this watcher receives it: with its previous key-value when asked for,
    /// read from history at the revision before the event (absent for a creation or when
    /// compaction removed it).
    pub(crate) fn deliver(&self, mut ev: Event, store: &Store) -> Event {
        if self.prev_kv && !ev.is_create() {
            ev.prev_kv = store.get(&ev.kv.key, ev.kv.mod_revision - 1);
        }
        ev
    }
}
