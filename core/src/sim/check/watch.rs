//! Watch guarantees (etcd's robustness validators Ordered, Unique, Reliable, Resumable):
//! every event a watcher receives is in revision order, never twice, with no gap relative to
//! the committed history, except below a compaction the member reported to the watcher.
//!
//! The committed history comes from a reference state machine that applies every committed
//! entry once, in index order, as the Raft-safety checker first sees it committed; a watch on
//! every key records its events.

use super::Violation;
use crate::apply::{Config, StateMachine};
use crate::mvcc::Event;
use crate::server::raftpb::{Entry, EntryType};
use crate::watch::{StreamId, WatchCreateRequest};
use bytes::Bytes;
use std::collections::BTreeMap;

/// The committed history, replayed.
pub struct Reference {
    sm: StateMachine,
    stream: StreamId,
    applied: u64,
    waiting: BTreeMap<u64, Entry>,
    events: Vec<Event>,
}

impl Default for Reference {
    fn default() -> Self {
        Self::new()
    }
}

impl Reference {
    /// An empty history (the state of a bootstrapped cluster at index 1).
    pub fn new() -> Self {
        let mut sm = StateMachine::new(Config::default());
        let stream = sm.watch_open();
        let all = WatchCreateRequest {
            key: Bytes::from_static(&[0]),
            range_end: Bytes::from_static(&[0]),
            start_revision: 1,
            ..WatchCreateRequest::default()
        };
        sm.watch_create(stream, &all).expect("a watch on every key");
        while sm.watch_poll(stream).is_some() {}
        Self {
            sm,
            stream,
            applied: 1,
            waiting: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// Committed entries, first seen now (any order; applied once contiguous).
    pub fn committed(&mut self, entries: Vec<Entry>, now_ms: u64) {
        for e in entries {
            if e.index > self.applied {
                self.waiting.insert(e.index, e);
            }
        }
        while let Some(e) = self.waiting.remove(&(self.applied + 1)) {
            self.applied = e.index;
            if e.get_entry_type() != EntryType::EntryNormal {
                continue;
            }
            if let Ok(crate::server::Payload::Request { request, .. }) =
                crate::server::Payload::decode(&e.data)
            {
                let _ = self.sm.apply(now_ms, &request);
                while let Some(r) = self.sm.watch_poll(self.stream) {
                    self.events.extend(r.events);
                }
            }
        }
    }

    /// The committed store revision.
    pub fn revision(&self) -> i64 {
        self.sm.store().revision()
    }

    /// Every committed event, in revision order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

/// What one watcher received, across reconnections.
#[derive(Clone, Debug, Default)]
pub struct WatchLog {
    /// The watched range `[key, range_end)`.
    pub key: Bytes,
    /// End of the range.
    pub range_end: Bytes,
    /// The revision the watcher first asked for.
    pub start: i64,
    /// Events received, in arrival order.
    pub events: Vec<Event>,
    /// Compactions reported to it: (revision it asked for, compact revision reported).
    pub compactions: Vec<(i64, i64)>,
}

impl WatchLog {
    fn watches(&self, key: &[u8]) -> bool {
        key >= self.key.as_ref() && key < self.range_end.as_ref()
    }
}

/// Checks a watcher's log against the committed history (events up to the last revision it
/// received; later ones may still be on their way).
pub fn check(log: &WatchLog, reference: &[Event], now_ms: u64) -> Result<(), Violation> {
    let fail = |detail: String| Violation {
        at_ms: now_ms,
        checker: "watch",
        detail,
    };
    let Some(last) = log.events.last().map(|e| e.kv.mod_revision) else {
        return Ok(());
    };
    for pair in log.events.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let order = (a.kv.mod_revision, &a.kv.key) < (b.kv.mod_revision, &b.kv.key);
        if !order {
            return Err(fail(format!(
                "event {:?}@{} arrived after {:?}@{} (out of order or twice)",
                b.kv.key, b.kv.mod_revision, a.kv.key, a.kv.mod_revision
            )));
        }
    }
    // Expected: committed events in range from the start, minus revisions a reported
    // compaction let the watcher skip.
    let skipped = |rev: i64| {
        log.compactions
            .iter()
            .any(|&(asked, compacted)| rev >= asked && rev < compacted)
    };
    let expected: Vec<&Event> = reference
        .iter()
        .filter(|e| e.kv.mod_revision >= log.start && e.kv.mod_revision <= last)
        .filter(|e| log.watches(&e.kv.key) && !skipped(e.kv.mod_revision))
        .collect();
    let got: Vec<&Event> = log.events.iter().collect();
    if expected.len() != got.len() || expected.iter().zip(&got).any(|(a, b)| a != b) {
        let first = expected
            .iter()
            .zip(&got)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(got.len()));
        let show = |e: Option<&&Event>| {
            e.map_or("nothing".to_owned(), |e| {
                format!("{:?} {:?}@{}", e.kind, e.kv.key, e.kv.mod_revision)
            })
        };
        return Err(fail(format!(
            "watcher on {:?}..{:?} from {}: event #{first} is {} but the history has {} \
             ({} received, {} expected up to revision {last})",
            log.key,
            log.range_end,
            log.start,
            show(got.get(first)),
            show(expected.get(first)),
            got.len(),
            expected.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::{EventType, KeyValue};

    fn ev(key: &str, rev: i64) -> Event {
        Event {
            kind: EventType::Put,
            kv: KeyValue {
                key: Bytes::copy_from_slice(key.as_bytes()),
                create_revision: rev,
                mod_revision: rev,
                version: 1,
                value: Bytes::new(),
                lease: 0,
            },
            prev_kv: None,
        }
    }

    fn log(events: Vec<Event>) -> WatchLog {
        WatchLog {
            key: Bytes::from_static(b"k"),
            range_end: Bytes::from_static(b"l"),
            start: 1,
            events,
            compactions: vec![],
        }
    }

    #[test]
    fn a_faithful_watcher_passes_and_broken_ones_fail() {
        let history = vec![ev("k1", 2), ev("x", 3), ev("k2", 4), ev("k1", 5)];
        assert!(check(&log(vec![ev("k1", 2), ev("k2", 4)]), &history, 0).is_ok());
        let gap = check(&log(vec![ev("k1", 2), ev("k1", 5)]), &history, 0).unwrap_err();
        assert!(gap.detail.contains("k2"), "{gap}");
        let dup = check(&log(vec![ev("k1", 2), ev("k1", 2)]), &history, 0).unwrap_err();
        assert!(dup.detail.contains("out of order or twice"), "{dup}");
        let order = check(&log(vec![ev("k2", 4), ev("k1", 2)]), &history, 0);
        assert!(order.is_err());
        let invented = check(&log(vec![ev("k9", 2)]), &history, 0);
        assert!(invented.is_err());
    }

    #[test]
    fn a_reported_compaction_excuses_exactly_the_compacted_revisions() {
        let history = vec![ev("k1", 2), ev("k2", 4), ev("k1", 5)];
        let mut l = log(vec![ev("k1", 5)]);
        assert!(check(&l, &history, 0).is_err(), "an unexplained gap");
        l.compactions.push((1, 5));
        assert!(check(&l, &history, 0).is_ok());
    }
}
