//! Watchers: what each one received, checked response by response as it arrives, and against
//! the model's history once everything is drained.

use super::ops::STREAMS;
use super::reference::Model;
use bytes::Bytes;
use orrery_core::error::WatchError;
use orrery_core::mvcc::{Event, EventType};
use orrery_core::watch::{StreamId, WatchCreateRequest, WatchResponse};
use orrery_core::StateMachine;

struct Watcher {
    stream: usize,
    id: i64,
    key: Bytes,
    end: Bytes,
    no_put: bool,
    no_delete: bool,
    prev_kv: bool,
    /// The first revision it must deliver (a start of 0 means the creation revision + 1).
    from: i64,
    /// The revision its `created` response carries.
    created_at: i64,
    /// Its start revision was below the compaction revision: it must be canceled.
    must_cancel: bool,
    created: bool,
    events: Vec<Event>,
    /// The `compact_revision` of its cancel response.
    canceled: Option<i64>,
}

pub struct Watches {
    streams: Vec<StreamId>,
    watchers: Vec<Watcher>,
    /// Refused creates (empty ranges) whose response has not been polled yet, per stream.
    refused: [usize; STREAMS],
}

impl Watches {
    pub fn open(sm: &mut StateMachine) -> Self {
        Self {
            streams: (0..STREAMS).map(|_| sm.watch_open()).collect(),
            watchers: Vec::new(),
            refused: [0; STREAMS],
        }
    }

    pub fn create(
        &mut self,
        sm: &mut StateMachine,
        model: &Model,
        stream: usize,
        req: WatchCreateRequest,
    ) {
        let (key, end, start) = (req.key.clone(), req.range_end.clone(), req.start_revision);
        let result = sm.watch_create(self.streams[stream], &req);
        if !end.is_empty() && end.as_ref() != b"\0" && end <= key {
            assert_eq!(result, Err(WatchError::EmptyRange), "{req:?}");
            self.refused[stream] += 1;
            return;
        }
        let id = result.expect("a watch on a non-empty range is created");
        let current = model.current();
        self.watchers.push(Watcher {
            stream,
            id,
            key,
            end,
            no_put: req.no_put,
            no_delete: req.no_delete,
            prev_kv: req.prev_kv,
            from: if start == 0 { current + 1 } else { start },
            created_at: current,
            must_cancel: start != 0 && start < model.compacted,
            created: false,
            events: Vec::new(),
            canceled: None,
        });
    }

    /// Polls up to `max` responses of a stream; returns how many there were.
    pub fn poll(&mut self, sm: &mut StateMachine, stream: usize, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(resp) = sm.watch_poll(self.streams[stream]) else {
                break;
            };
            self.receive(stream, resp);
            n += 1;
        }
        n
    }

    /// Syncs and polls until every watcher is caught up and every response read.
    pub fn drain(&mut self, sm: &mut StateMachine) {
        for _ in 0..10_000 {
            let behind = sm.watch_sync();
            let polled: usize = (0..STREAMS).map(|s| self.poll(sm, s, usize::MAX)).sum();
            if !behind && polled == 0 {
                assert_eq!(
                    self.refused, [0; STREAMS],
                    "refused creates went unanswered"
                );
                return;
            }
        }
        panic!("watchers never caught up");
    }

    fn receive(&mut self, stream: usize, resp: WatchResponse) {
        if resp.watch_id == -1 {
            assert!(resp.created && resp.canceled, "{resp:?}");
            assert_eq!(resp.cancel_reason, WatchError::EmptyRange.message());
            assert!(self.refused[stream] > 0, "unexpected refusal {resp:?}");
            self.refused[stream] -= 1;
            return;
        }
        let w = self
            .watchers
            .iter_mut()
            .find(|w| w.stream == stream && w.id == resp.watch_id)
            .unwrap_or_else(|| panic!("response for an unknown watcher: {resp:?}"));
        assert!(w.canceled.is_none(), "response after the cancel: {resp:?}");
        if resp.created {
            assert!(!w.created && !resp.canceled, "{resp:?}");
            assert_eq!(
                resp.header.revision, w.created_at,
                "created response revision"
            );
            w.created = true;
            return;
        }
        assert!(w.created, "response before `created`: {resp:?}");
        if resp.canceled {
            assert_eq!(
                (resp.header.revision, resp.events.len()),
                (0, 0),
                "{resp:?}"
            );
            w.canceled = Some(resp.compact_revision);
            return;
        }
        assert!(!resp.events.is_empty() && !resp.fragment, "{resp:?}");
        let last_seen = w.events.last().map_or(0, |e| e.kv.mod_revision);
        let revs: Vec<i64> = resp.events.iter().map(|e| e.kv.mod_revision).collect();
        // Ordered, and a revision is never split over two responses.
        assert!(revs[0] > last_seen, "{revs:?} after {last_seen}");
        assert!(revs.windows(2).all(|p| p[0] <= p[1]), "{revs:?}");
        assert!(revs[revs.len() - 1] <= resp.header.revision, "{resp:?}");
        w.events.extend(resp.events);
    }

    /// Each watcher received exactly the model's events for its range since its start, or a
    /// prefix of them followed by a cancel that compaction justifies.
    pub fn check(&self, model: &Model) {
        for w in &self.watchers {
            let mut expected = model.watch_events(w.from, &w.key, &w.end);
            expected.retain(|(e, _)| match e.kind {
                EventType::Put => !w.no_put,
                EventType::Delete => !w.no_delete,
            });
            let context = || format!("watcher {}/{} from {}", w.stream, w.id, w.from);
            let received: Vec<Event> = w.events.iter().map(without_prev_kv).collect();
            let Some(matched) = matched(&received, &expected) else {
                panic!(
                    "{}: received {received:#?}\nexpected {expected:#?}",
                    context()
                );
            };
            // `prev_kv` is read from history when the event goes out: compaction may have
            // removed it by then.
            for e in &w.events {
                let want = if w.prev_kv { model.prev_kv(e) } else { None };
                let gone = e.prev_kv.is_none() && e.kv.mod_revision - 1 < model.compacted;
                assert!(e.prev_kv == want || gone, "{}: {e:?}", context());
            }
            assert!(w.created, "{}: never created", context());
            match w.canceled {
                None => {
                    assert!(!w.must_cancel, "{}: start was compacted", context());
                    let missing: Vec<_> = expected[matched..].iter().filter(|(_, d)| !d).collect();
                    assert!(missing.is_empty(), "{}: missing {missing:#?}", context());
                }
                Some(c) => {
                    assert!(
                        model.compactions.contains(&c),
                        "{}: canceled at {c}",
                        context()
                    );
                    let next = w.events.last().map_or(w.from, |e| e.kv.mod_revision + 1);
                    assert!(next < c, "{}: canceled at {c}, needed {next}", context());
                }
            }
        }
    }
}

fn without_prev_kv(e: &Event) -> Event {
    Event {
        prev_kv: None,
        ..e.clone()
    }
}

/// Matches `received` against the start of `expected`, skipping expected events that may be
/// missing (see [`Model::watch_events`]) when they were not received. Returns how many
/// expected events were accounted for, or `None` if `received` is not such a prefix.
fn matched(received: &[Event], expected: &[(Event, bool)]) -> Option<usize> {
    let mut rest = received.iter().peekable();
    let mut n = 0;
    for (event, droppable) in expected {
        match rest.peek() {
            None => break,
            Some(got) if *got == event => {
                rest.next();
            }
            Some(_) if *droppable => {}
            Some(_) => return None,
        }
        n += 1;
    }
    rest.next().is_none().then_some(n)
}
