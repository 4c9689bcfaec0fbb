//! Splitting large watch responses (etcd `sendFragments` in `v3rpc/watch.go`).
//!
//! A response whose encoded size reaches the limit and that holds at least two events is sent
//! as several responses, all but the last marked `fragment`. Sizes are the protobuf encoding
//! of `WatchResponse`, computed here without a protobuf library; the header is counted at its
//! largest (every integer a 10-byte varint) because the member fills it in later.

use super::WatchResponse;
use crate::mvcc::{Event, EventType, KeyValue};

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Size of a length-delimited field (tag + length + payload).
fn bytes_field(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        1 + varint_len(len as u64) + len
    }
}

fn int_field(v: i64) -> usize {
    if v == 0 {
        0
    } else {
        1 + varint_len(v as u64)
    }
}

fn kv_len(kv: &KeyValue) -> usize {
    bytes_field(kv.key.len())
        + int_field(kv.create_revision)
        + int_field(kv.mod_revision)
        + int_field(kv.version)
        + bytes_field(kv.value.len())
        + int_field(kv.lease)
}

fn message_field(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// Encoded size of one `mvccpb.Event` as a field of `WatchResponse`.
pub(crate) fn event_size(ev: &Event) -> usize {
    let kind = if ev.kind == EventType::Delete { 2 } else { 0 };
    let body = kind
        + message_field(kv_len(&ev.kv))
        + ev.prev_kv.as_ref().map_or(0, |p| message_field(kv_len(p)));
    message_field(body)
}

/// Upper bound of the encoded size of everything but the events.
fn fixed_size(resp: &WatchResponse) -> usize {
    const HEADER: usize = 2 + 4 * 11; // field tag + length + four 10-byte varints with tags
    HEADER
        + 11
        + 2
        + 2
        + int_field(resp.compact_revision)
        + bytes_field(resp.cancel_reason.len())
        + 2
}

/// Encoded size of the whole response.
pub(crate) fn response_size(resp: &WatchResponse) -> usize {
    fixed_size(resp) + resp.events.iter().map(event_size).sum::<usize>()
}

/// Splits `resp` into fragments of less than `limit` bytes each (a single event larger than
/// the limit goes alone). Returns the response unchanged when it is small or has one event.
pub(crate) fn split(resp: WatchResponse, limit: usize) -> Vec<WatchResponse> {
    if resp.events.len() < 2 || response_size(&resp) < limit {
        return vec![resp];
    }
    let base = fixed_size(&resp);
    let mut parts = Vec::new();
    let mut current = WatchResponse {
        events: Vec::new(),
        fragment: true,
        ..resp.clone()
    };
    let mut size = base;
    for ev in resp.events {
        let ev_size = event_size(&ev);
        if !current.events.is_empty() && size + ev_size >= limit {
            let next = WatchResponse {
                events: Vec::new(),
                ..current.clone()
            };
            parts.push(std::mem::replace(&mut current, next));
            size = base;
        }
        size += ev_size;
        current.events.push(ev);
    }
    current.fragment = false;
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn put(i: usize, value_len: usize) -> Event {
        Event {
            kind: EventType::Put,
            kv: KeyValue {
                key: Bytes::from(format!("key{i}")),
                value: Bytes::from(vec![b'x'; value_len]),
                create_revision: 5,
                mod_revision: 5,
                version: 1,
                lease: 0,
            },
            prev_kv: None,
        }
    }

    #[test]
    fn varints() {
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn event_size_matches_protobuf() {
        // kv: key "key1" (2+4) + create 5 (2) + mod 5 (2) + version 1 (2) + value 3 bytes (2+3)
        // = 17; event: kv field (1+1+17) = 19; response field: 1+1+19 = 21.
        assert_eq!(event_size(&put(1, 3)), 21);
    }

    #[test]
    fn splits_in_order_and_marks_all_but_last() {
        let resp = WatchResponse {
            watch_id: 3,
            events: (0..10).map(|i| put(i, 100)).collect(),
            ..WatchResponse::default()
        };
        let parts = split(resp.clone(), 400);
        assert!(parts.len() > 1);
        let flags: Vec<bool> = parts.iter().map(|p| p.fragment).collect();
        assert!(flags[..flags.len() - 1].iter().all(|f| *f) && !flags[flags.len() - 1]);
        assert!(parts
            .iter()
            .all(|p| response_size(p) < 400 && p.watch_id == 3));
        let joined: Vec<Event> = parts.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(joined, resp.events);
        assert_eq!(
            split(resp.clone(), 1 << 20),
            vec![resp],
            "small responses stay whole"
        );
    }
}
