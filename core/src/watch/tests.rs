use super::*;
use crate::mvcc::{EventType, KeyRange};
use bytes::Bytes;

/// A store and a hub, with helpers that write and notify like apply does.
struct Fixture {
    store: Store,
    hub: WatchHub,
    stream: StreamId,
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

impl Fixture {
    fn new(config: WatchConfig) -> Self {
        let mut hub = WatchHub::new(config);
        let stream = hub.open_stream();
        Self {
            store: Store::new(),
            hub,
            stream,
        }
    }

    fn put(&mut self, k: &str, v: &str) {
        let mut txn = self.store.write();
        txn.put(b(k), b(v), 0);
        let events: Vec<Event> = txn.end().into_iter().map(|c| c.event).collect();
        self.hub.notify(&self.store, &events);
    }

    fn del(&mut self, k: &str) {
        let mut txn = self.store.write();
        txn.delete_range(&KeyRange::Single(b(k)));
        let events: Vec<Event> = txn.end().into_iter().map(|c| c.event).collect();
        self.hub.notify(&self.store, &events);
    }

    fn watch(&mut self, req: WatchCreateRequest) -> Result<i64, WatchError> {
        self.hub.create(&self.store, self.stream, &req)
    }

    fn drain(&mut self) -> Vec<WatchResponse> {
        std::iter::from_fn(|| self.hub.poll(self.stream)).collect()
    }

    /// Every event received, as `(revision, kind, key)`.
    fn drain_events(&mut self) -> Vec<(i64, EventType, Bytes)> {
        self.drain()
            .into_iter()
            .flat_map(|r| r.events)
            .map(|e| (e.kv.mod_revision, e.kind, e.kv.key))
            .collect()
    }
}

fn watch_key(k: &str, start: i64) -> WatchCreateRequest {
    WatchCreateRequest {
        key: b(k),
        start_revision: start,
        ..WatchCreateRequest::default()
    }
}

#[test]
fn watch_from_now_gets_later_events() {
    let mut f = Fixture::new(WatchConfig::default());
    f.put("a", "1"); // 2
    assert_eq!(
        f.watch(watch_key("a", 0)),
        Ok(0),
        "server-picked IDs start at 0"
    );
    let created = f.drain();
    assert_eq!(created.len(), 1);
    assert!(created[0].created && !created[0].canceled);
    assert_eq!(created[0].header.revision, 2);
    f.put("a", "2"); // 3
    f.put("b", "x"); // 4: not watched
    f.del("a"); // 5
    let got = f.drain();
    assert_eq!(got.len(), 2, "one response per revision");
    assert_eq!(got[0].header.revision, 3);
    assert_eq!(got[1].events[0].kind, EventType::Delete);
    assert_eq!(
        got[1].events[0].kv.value,
        Bytes::new(),
        "a delete carries only the key"
    );
}

#[test]
fn watch_from_the_past_replays_history_in_order() {
    let mut f = Fixture::new(WatchConfig::default());
    f.put("k/a", "1"); // 2
    f.put("k/b", "1"); // 3
    f.del("k/a"); // 4
    f.put("other", "1"); // 5
    let req = WatchCreateRequest {
        start_revision: 3,
        ..WatchCreateRequest {
            key: b("k/"),
            range_end: b("k0"),
            ..WatchCreateRequest::default()
        }
    };
    f.watch(req).unwrap();
    let got = f.drain();
    assert!(got[0].created);
    assert_eq!(
        got[1].header.revision, 5,
        "catch-up responses carry the current revision"
    );
    let events: Vec<_> = got[1]
        .events
        .iter()
        .map(|e| (e.kv.mod_revision, e.kind))
        .collect();
    assert_eq!(events, vec![(3, EventType::Put), (4, EventType::Delete)]);
    f.put("k/c", "1"); // 6: now synced, delivered live
    assert_eq!(f.drain_events(), vec![(6, EventType::Put, b("k/c"))]);
    assert_eq!(f.hub.watcher_counts(), (1, 0));
}

#[test]
fn compacted_start_is_created_then_canceled() {
    let mut f = Fixture::new(WatchConfig::default());
    for v in ["1", "2", "3", "4"] {
        f.put("a", v); // 2..5
    }
    f.store.compact(4).unwrap();
    f.watch(watch_key("a", 3)).unwrap();
    let got = f.drain();
    assert_eq!(got.len(), 2);
    assert!(got[0].created && !got[0].canceled);
    assert!(got[1].canceled);
    assert_eq!((got[1].compact_revision, got[1].header.revision), (4, 0));
    assert_eq!(got[1].cancel_reason, "", "etcd 3.4 sends no reason");
    assert_eq!(f.hub.watcher_counts(), (0, 0));
    // Watching from the compaction revision itself works.
    f.watch(watch_key("a", 4)).unwrap();
    assert_eq!(
        f.drain_events(),
        vec![(4, EventType::Put, b("a")), (5, EventType::Put, b("a"))]
    );
}

#[test]
fn delete_at_the_compaction_revision_is_not_lost() {
    // etcd #19179 / #18089: PUT, PUT, DELETE (r), PUT; COMPACT r; WATCH from r.
    let mut f = Fixture::new(WatchConfig::default());
    f.put("k", "2");
    f.put("k", "3");
    f.del("k"); // 4
    f.put("k", "5"); // 5
    f.store.compact(4).unwrap();
    f.watch(watch_key("k", 4)).unwrap();
    assert_eq!(
        f.drain_events(),
        vec![(4, EventType::Delete, b("k")), (5, EventType::Put, b("k"))]
    );
}

#[test]
fn refused_creates_say_why() {
    let mut f = Fixture::new(WatchConfig::default());
    f.watch(WatchCreateRequest {
        watch_id: 7,
        ..watch_key("a", 0)
    })
    .unwrap();
    let dup = f.watch(WatchCreateRequest {
        watch_id: 7,
        ..watch_key("b", 0)
    });
    assert_eq!(dup, Err(WatchError::DuplicateId));
    let empty = f.watch(WatchCreateRequest {
        range_end: b("a"),
        ..watch_key("b", 0)
    });
    assert_eq!(empty, Err(WatchError::EmptyRange));
    let got = f.drain();
    assert_eq!(got.len(), 3);
    for (resp, reason) in got[1..].iter().zip([
        "mvcc: duplicate watch ID provided on the WatchStream",
        "mvcc: watcher range is empty",
    ]) {
        assert!(resp.created && resp.canceled);
        assert_eq!((resp.watch_id, resp.cancel_reason.as_str()), (-1, reason));
    }
    assert_eq!(
        f.hub.cancel(&f.store, f.stream, 99),
        Err(WatchError::NotFound)
    );
    assert!(f.drain().is_empty(), "no response for an unknown cancel");
    assert_eq!(f.watch(watch_key("c", 0)), Ok(0));
    assert_eq!(f.watch(watch_key("d", 0)), Ok(1));
}

#[test]
fn filters_and_prev_kv() {
    let mut f = Fixture::new(WatchConfig::default());
    f.put("a", "old"); // 2
    f.watch(WatchCreateRequest {
        no_put: true,
        prev_kv: true,
        ..watch_key("a", 0)
    })
    .unwrap();
    f.drain();
    f.put("a", "new"); // 3: filtered
    f.del("a"); // 4
    let got = f.drain();
    assert_eq!(got.len(), 1);
    let ev = &got[0].events[0];
    assert_eq!(ev.kind, EventType::Delete);
    assert_eq!(
        ev.prev_kv.as_ref().map(|kv| kv.value.clone()),
        Some(b("new"))
    );
}

#[test]
fn a_slow_client_costs_bounded_memory_and_loses_nothing() {
    let config = WatchConfig {
        max_pending_responses: 2,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    f.watch(watch_key("k", 0)).unwrap();
    f.drain();
    for i in 0..50 {
        f.put("k", &i.to_string()); // 2..=51, nobody reads
    }
    assert_eq!(
        f.hub.streams[&f.stream].outbox.len(),
        2,
        "the outbox stays bounded"
    );
    assert_eq!(
        f.hub.watcher_counts(),
        (1, 1),
        "the watcher became a victim"
    );
    let mut revs = Vec::new();
    loop {
        revs.extend(f.drain_events().into_iter().map(|(r, _, _)| r));
        if !f.hub.sync(&f.store) && f.hub.streams[&f.stream].outbox.is_empty() {
            break;
        }
    }
    assert_eq!(
        revs,
        (2..=51).collect::<Vec<_>>(),
        "ordered, no gaps, no duplicates"
    );
    f.put("k", "live");
    assert_eq!(f.drain_events().len(), 1, "synced again");
}

#[test]
fn a_victim_behind_compaction_is_canceled() {
    let config = WatchConfig {
        max_pending_responses: 1,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    f.watch(watch_key("k", 0)).unwrap();
    f.drain();
    f.put("k", "1"); // 2: queued
    f.put("k", "2"); // 3: victim at 3
    f.put("k", "3"); // 4
    f.store.compact(4).unwrap();
    f.drain();
    f.hub.sync(&f.store);
    let got = f.drain();
    assert_eq!(got.len(), 1);
    assert!(got[0].canceled);
    assert_eq!(got[0].compact_revision, 4);
}

#[test]
fn progress_waits_for_sync() {
    let config = WatchConfig {
        max_pending_responses: 1,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    f.watch(watch_key("k", 0)).unwrap();
    f.drain();
    f.put("k", "1");
    f.put("k", "2"); // victim
    f.hub.request_progress(&f.store, f.stream).unwrap();
    let first = f.drain();
    assert!(
        first.iter().all(|r| r.watch_id != -1),
        "not synced yet: no progress"
    );
    f.hub.sync(&f.store);
    let got = f.drain();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].events[0].kv.mod_revision, 3);
    assert_eq!(
        (got[1].watch_id, got[1].header.revision),
        (-1, 3),
        "after the events"
    );
}

#[test]
fn progress_notify_only_when_idle() {
    let mut f = Fixture::new(WatchConfig::default());
    f.watch(WatchCreateRequest {
        progress_notify: true,
        ..watch_key("a", 0)
    })
    .unwrap();
    f.watch(watch_key("b", 0)).unwrap();
    f.drain();
    f.put("a", "1");
    f.hub.progress_tick(&f.store);
    assert_eq!(
        f.drain().len(),
        1,
        "just the event: progress elided after events"
    );
    f.hub.progress_tick(&f.store);
    let got = f.drain();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].watch_id, got[0].header.revision, got[0].events.len()),
        (0, 2, 0)
    );
}

#[test]
fn large_revisions_fragment_only_when_allowed() {
    let config = WatchConfig {
        max_response_bytes: 300,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    let prefix = WatchCreateRequest {
        range_end: b("l0"),
        ..watch_key("l/", 0)
    };
    f.watch(WatchCreateRequest {
        fragment: true,
        ..prefix.clone()
    })
    .unwrap();
    f.watch(prefix).unwrap();
    f.drain();
    let mut txn = f.store.write();
    for i in 0..10 {
        txn.put(
            Bytes::from(format!("l/{i}")),
            Bytes::from(vec![b'v'; 50]),
            0,
        );
    }
    let events: Vec<Event> = txn.end().into_iter().map(|c| c.event).collect();
    f.hub.notify(&f.store, &events);
    let got = f.drain();
    let fragmented: Vec<_> = got.iter().filter(|r| r.watch_id == 0).collect();
    let whole: Vec<_> = got.iter().filter(|r| r.watch_id == 1).collect();
    assert!(fragmented.len() > 1 && whole.len() == 1);
    assert!(fragmented[..fragmented.len() - 1]
        .iter()
        .all(|r| r.fragment));
    assert!(!fragmented.last().unwrap().fragment);
    assert_eq!(fragmented.iter().map(|r| r.events.len()).sum::<usize>(), 10);
}

#[test]
fn closing_a_stream_drops_its_watchers() {
    let mut f = Fixture::new(WatchConfig::default());
    f.watch(watch_key("a", 0)).unwrap();
    f.hub.close_stream(f.stream);
    f.put("a", "1");
    assert_eq!(f.hub.watcher_counts(), (0, 0));
    assert_eq!(f.hub.poll(f.stream), None);
}

#[test]
fn catching_up_many_watchers_of_one_stream_respects_the_outbox_bound() {
    let config = WatchConfig {
        max_pending_responses: 3,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    for i in 0..5 {
        f.put(&format!("k{i}"), "v"); // 2..=6
    }
    for i in 0..10 {
        f.watch(WatchCreateRequest {
            range_end: b("l"),
            ..watch_key("k", 2 + (i % 5))
        })
        .unwrap();
        let s = &f.hub.streams[&f.stream];
        assert!(s.pending_events <= 3, "create overfilled the outbox");
    }
    f.hub.sync(&f.store);
    assert!(
        f.hub.streams[&f.stream].pending_events <= 3,
        "sync overfilled the outbox"
    );
    let mut received = 0;
    loop {
        received += f.drain().iter().filter(|r| !r.events.is_empty()).count();
        let more = f.hub.sync(&f.store);
        assert!(f.hub.streams[&f.stream].pending_events <= 3);
        if !more && f.hub.streams[&f.stream].outbox.is_empty() {
            break;
        }
    }
    assert_eq!(
        received, 10,
        "every watcher eventually gets its catch-up response"
    );
    assert_eq!(f.hub.watcher_counts(), (10, 0));
}

#[test]
fn no_progress_for_a_watcher_whose_start_is_still_ahead() {
    // etcd #20221: the notification's revision would be below the requested start.
    let mut f = Fixture::new(WatchConfig::default());
    f.watch(WatchCreateRequest {
        progress_notify: true,
        ..watch_key("k", 4)
    })
    .unwrap();
    f.drain();
    f.hub.progress_tick(&f.store); // store at 1, start at 4
    assert!(f.drain().is_empty());
    f.put("x", "1");
    f.put("x", "2"); // store at 3: the next revision is the start
    f.hub.progress_tick(&f.store);
    let got = f.drain();
    assert_eq!((got.len(), got[0].header.revision), (1, 3));
}

#[test]
fn a_compacted_watch_id_stays_registered_until_the_client_cancels_it() {
    let mut f = Fixture::new(WatchConfig::default());
    f.put("k", "1"); // 2
    f.put("k", "2"); // 3
    f.store.compact(3).unwrap();
    f.watch(WatchCreateRequest {
        watch_id: 1,
        ..watch_key("k", 2)
    })
    .unwrap();
    let got = f.drain();
    assert!(got[1].canceled && got[1].compact_revision == 3);
    let dup = f.watch(WatchCreateRequest {
        watch_id: 1,
        ..watch_key("k", 0)
    });
    assert_eq!(
        dup,
        Err(WatchError::DuplicateId),
        "etcd keeps the ID until canceled"
    );
    assert_eq!(f.watch(watch_key("a", 0)), Ok(0));
    assert_eq!(
        f.watch(watch_key("b", 0)),
        Ok(2),
        "auto IDs skip the registered one"
    );
    f.drain();
    assert_eq!(
        f.hub.cancel(&f.store, f.stream, 1),
        Ok(()),
        "clientv3 cancels it"
    );
    let got = f.drain();
    assert_eq!((got.len(), got[0].watch_id, got[0].canceled), (1, 1, true));
    assert_eq!(
        f.watch(WatchCreateRequest {
            watch_id: 1,
            ..watch_key("k", 0)
        }),
        Ok(1)
    );
}

#[test]
fn a_victim_near_the_present_does_not_wait_behind_a_long_replay() {
    let config = WatchConfig {
        max_revisions_per_sync: 10,
        max_pending_responses: 1,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    let mut other = f.hub.open_stream();
    std::mem::swap(&mut f.stream, &mut other);
    f.watch(watch_key("v", 0)).unwrap(); // on its own stream
    std::mem::swap(&mut f.stream, &mut other);
    for i in 0..100 {
        f.put("old", &i.to_string()); // 2..=101
    }
    f.put("v", "1"); // 102: queued for the victim-to-be
    f.put("v", "2"); // 103: its stream is full: a victim at 103
    f.watch(watch_key("old", 2)).unwrap(); // a laggard 100 revisions behind
    while f.hub.poll(other).is_some() {} // the victim's client reads
    f.drain(); // and so does the laggard's: both are ready in the same pass
    f.hub.sync(&f.store);
    let got: Vec<_> = std::iter::from_fn(|| f.hub.poll(other)).collect();
    assert_eq!(got.len(), 1, "caught up in the first pass");
    assert_eq!(got[0].events[0].kv.mod_revision, 103);
    assert_eq!(
        f.hub.watcher_counts(),
        (2, 1),
        "only the laggard is still catching up"
    );
}

#[test]
fn progress_notifications_do_not_pile_up_for_a_client_that_does_not_read() {
    let config = WatchConfig {
        max_pending_responses: 2,
        ..WatchConfig::default()
    };
    let mut f = Fixture::new(config);
    f.watch(WatchCreateRequest {
        progress_notify: true,
        ..watch_key("k", 0)
    })
    .unwrap();
    for _ in 0..10 {
        f.hub.progress_tick(&f.store);
    }
    assert_eq!(
        f.drain().len(),
        1 + 2,
        "the created response and two notifications"
    );
}
