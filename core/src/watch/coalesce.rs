//! Joining a stream's queued event responses per watcher, for a host whose client is behind.
//!
//! The hub answers each synced watcher with one response per revision. When a client reads
//! slower than revisions arrive, its stream's responses queue up in the host, and sending
//! them one by one costs a message (gRPC frame, decode, wake-up) per watcher per revision on
//! both sides: the backlog then grows faster still. [`coalesce`] joins a watcher's queued
//! responses into fewer, larger ones, as etcd's own catch-up does for a lagging watcher (one
//! response holds many revisions). What a watcher sees is unchanged: the same events, in the
//! same order, each exactly once, every revision whole; only the number of responses, and
//! their interleaving with *other* watchers' responses, differ.

use super::WatchResponse;

/// Whether `r` (one watcher's response) only carries events: no create, cancel, progress or
/// fragment meaning.
fn plain_events(r: &WatchResponse) -> bool {
    !r.events.is_empty() && !r.created && !r.canceled && !r.fragment && r.compact_revision == 0
}

/// Key and value bytes of a response's events (what its size grows with).
fn event_bytes(r: &WatchResponse) -> usize {
    r.events
        .iter()
        .map(|e| {
            e.kv.key.len()
                + e.kv.value.len()
                + e.prev_kv
                    .as_ref()
                    .map_or(0, |p| p.key.len() + p.value.len())
        })
        .sum()
}

/// Joins each watcher's consecutive plain event responses in `queued` (in stream order) into
/// responses of at most `max_bytes` of keys and values (a single larger response is kept
/// whole). A joined response carries the header of the last one it absorbed. Any other
/// response of a watcher (created, canceled, progress, a fragment and the piece after it)
/// is kept in place and ends that watcher's joining; a stream-wide one (`watch_id` −1) ends
/// every watcher's. Returns at most `queued.len()` responses.
pub fn coalesce(queued: Vec<WatchResponse>, max_bytes: usize) -> Vec<WatchResponse> {
    if queued.len() < 2 {
        return queued; // the usual case: nothing to join, nothing to build
    }
    // Watcher → (index in `out` of the response still open to joining, its event bytes).
    let mut open: std::collections::BTreeMap<i64, (usize, usize)> = Default::default();
    // Watchers whose last response was a fragment: their next response finishes it.
    let mut fragmenting = std::collections::BTreeSet::new();
    let mut out: Vec<WatchResponse> = Vec::with_capacity(queued.len());
    for r in queued {
        if r.watch_id < 0 {
            open.clear();
            out.push(r);
            continue;
        }
        let id = r.watch_id;
        let finishes_fragment = fragmenting.remove(&id);
        if r.fragment {
            fragmenting.insert(id);
        }
        if finishes_fragment || !plain_events(&r) {
            open.remove(&id);
            out.push(r);
            continue;
        }
        let bytes = event_bytes(&r);
        match open.get_mut(&id) {
            Some((at, size)) if *size + bytes <= max_bytes => {
                let joined = &mut out[*at];
                debug_assert!(
                    joined.events.last().map(|e| e.kv.mod_revision)
                        < r.events.first().map(|e| e.kv.mod_revision),
                    "a watcher's responses come in revision order"
                );
                joined.events.extend(r.events);
                joined.header = r.header;
                *size += bytes;
            }
            _ => {
                open.insert(id, (out.len(), bytes));
                out.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::{Event, EventType, KeyValue};

    fn events(watch_id: i64, revisions: &[i64]) -> WatchResponse {
        let mut r = WatchResponse {
            watch_id,
            ..WatchResponse::default()
        };
        r.header.revision = *revisions.last().expect("a revision");
        r.events = revisions
            .iter()
            .map(|&rev| Event {
                kind: EventType::Put,
                kv: KeyValue {
                    key: format!("k{rev}").into(),
                    value: "0123456789".into(),
                    mod_revision: rev,
                    ..KeyValue::default()
                },
                prev_kv: None,
            })
            .collect();
        r
    }

    /// Each response as (watch_id, header revision, event revisions, flags).
    fn shape(rs: &[WatchResponse]) -> Vec<String> {
        rs.iter()
            .map(|r| {
                let revs: Vec<_> = r.events.iter().map(|e| e.kv.mod_revision).collect();
                let flags = [
                    (r.created, " created"),
                    (r.canceled, " canceled"),
                    (r.fragment, " fragment"),
                ];
                let flags: String = flags.iter().filter(|f| f.0).map(|f| f.1).collect();
                format!("w{} @{} {revs:?}{flags}", r.watch_id, r.header.revision)
            })
            .collect()
    }

    #[test]
    fn each_watchers_responses_join_in_order_under_the_last_header() {
        let queued = vec![
            events(0, &[5]),
            events(1, &[5]),
            events(0, &[6]),
            events(1, &[6]),
            events(0, &[7, 7]),
        ];
        assert_eq!(
            shape(&coalesce(queued, 1 << 20)),
            ["w0 @7 [5, 6, 7, 7]", "w1 @6 [5, 6]"]
        );
    }

    #[test]
    fn control_responses_stay_in_place_and_end_the_joining() {
        let created = WatchResponse {
            watch_id: 0,
            created: true,
            ..WatchResponse::default()
        };
        let progress = WatchResponse {
            watch_id: -1,
            ..WatchResponse::default()
        };
        let canceled = WatchResponse {
            watch_id: 1,
            canceled: true,
            ..WatchResponse::default()
        };
        let queued = vec![
            created,
            events(0, &[5]),
            events(1, &[5]),
            events(0, &[6]),
            progress,
            events(0, &[7]),
            events(1, &[7]),
            canceled,
            events(0, &[8]),
        ];
        assert_eq!(
            shape(&coalesce(queued, 1 << 20)),
            [
                "w0 @0 [] created",
                "w0 @6 [5, 6]",
                "w1 @5 [5]",
                "w-1 @0 []",
                "w0 @8 [7, 8]",
                "w1 @7 [7]",
                "w1 @0 [] canceled"
            ]
        );
    }

    #[test]
    fn fragments_and_the_piece_that_ends_them_are_never_joined() {
        let mut first = events(0, &[6]);
        first.fragment = true;
        let queued = vec![
            events(0, &[5]),
            first,
            events(0, &[6]),
            events(0, &[7]),
            events(0, &[8]),
        ];
        assert_eq!(
            shape(&coalesce(queued, 1 << 20)),
            [
                "w0 @5 [5]",
                "w0 @6 [6] fragment",
                "w0 @6 [6]",
                "w0 @8 [7, 8]"
            ]
        );
    }

    #[test]
    fn a_joined_response_stays_under_the_byte_bound() {
        // Each event is 12 bytes of key and value ("k1".."k9" and 10 value bytes).
        let queued = (1..=5).map(|rev| events(0, &[rev])).collect();
        assert_eq!(
            shape(&coalesce(queued, 24)),
            ["w0 @2 [1, 2]", "w0 @4 [3, 4]", "w0 @5 [5]"]
        );
        let big = vec![events(0, &[1, 2, 3]), events(0, &[4])];
        assert_eq!(shape(&coalesce(big, 24)), ["w0 @3 [1, 2, 3]", "w0 @4 [4]"]);
    }
}
