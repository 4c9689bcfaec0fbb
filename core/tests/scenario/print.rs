//! How scenario outcomes print. Both backends (the core and a real etcd) produce the same
//! Rust types and print through here, so one expected text checks both.

use orrery_core::mvcc::{Event, EventType, KeyValue};
use orrery_core::request::*;
use orrery_core::watch::WatchResponse;
use orrery_core::{EtcdError, GrpcCode};
use std::fmt::Write as _;

/// Bytes as a word: bare when plain ASCII, otherwise quoted with escapes.
pub fn bytes(b: &[u8]) -> String {
    let plain = !b.is_empty()
        && b.iter()
            .all(|&c| c.is_ascii_graphic() && !matches!(c, b'"' | b'\\' | b'='));
    if plain {
        return String::from_utf8(b.to_vec()).expect("ascii");
    }
    let mut out = String::from("\"");
    for &c in b {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0 => out.push_str("\\0"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(char::from(c)),
            c => write!(out, "\\x{c:02x}").unwrap(),
        }
    }
    out.push('"');
    out
}

/// `key=value create=C mod=M ver=V [lease=L]`
pub fn kv(kv: &KeyValue) -> String {
    let mut s = format!(
        "{}={} create={} mod={} ver={}",
        bytes(&kv.key),
        bytes(&kv.value),
        kv.create_revision,
        kv.mod_revision,
        kv.version
    );
    if kv.lease != 0 {
        write!(s, " lease={}", kv.lease).unwrap();
    }
    s
}

/// An error as `error: <etcd message> (<gRPC code>)`.
pub fn error(message: &str, code: GrpcCode) -> String {
    format!("error: {message} ({code:?})")
}

/// An error from the core.
pub fn etcd_error(e: EtcdError) -> String {
    error(e.message(), e.code())
}

/// A response, indented by `pad` spaces on every line.
pub fn response(r: &Response) -> String {
    let mut out = String::new();
    match r {
        Response::Range(r) => range(&mut out, r, 0),
        Response::Put(r) => put(&mut out, r, 0),
        Response::DeleteRange(r) => delete(&mut out, r, 0),
        Response::Txn(r) => txn(&mut out, r, 0),
        Response::Compaction(r) => write!(out, "rev={}", r.header.revision).unwrap(),
        Response::LeaseGrant(r) => {
            write!(out, "rev={} id={} ttl={}", r.header.revision, r.id, r.ttl).unwrap();
        }
        Response::LeaseRevoke(r) => write!(out, "rev={}", r.header.revision).unwrap(),
        Response::LeaseCheckpoint(r) => write!(out, "rev={}", r.header.revision).unwrap(),
        Response::Alarm(r) => {
            let alarms: Vec<String> = r
                .alarms
                .iter()
                .map(|a| format!("{:x}:{:?}", a.member_id, a.alarm))
                .collect();
            write!(
                out,
                "rev={} alarms=[{}]",
                r.header.revision,
                alarms.join(",")
            )
            .unwrap();
        }
    }
    out.trim_end().to_owned()
}

fn line(out: &mut String, pad: usize, text: impl AsRef<str>) {
    writeln!(out, "{:pad$}{}", "", text.as_ref()).unwrap();
}

fn range(out: &mut String, r: &RangeResponse, pad: usize) {
    line(
        out,
        pad,
        format!(
            "rev={} count={} more={}",
            r.header.revision, r.count, r.more
        ),
    );
    for k in &r.kvs {
        line(out, pad, kv(k));
    }
}

fn put(out: &mut String, r: &PutResponse, pad: usize) {
    line(out, pad, format!("rev={}", r.header.revision));
    if let Some(p) = &r.prev_kv {
        line(out, pad, format!("prev: {}", kv(p)));
    }
}

fn delete(out: &mut String, r: &DeleteRangeResponse, pad: usize) {
    line(
        out,
        pad,
        format!("rev={} deleted={}", r.header.revision, r.deleted),
    );
    for p in &r.prev_kvs {
        line(out, pad, format!("prev: {}", kv(p)));
    }
}

fn txn(out: &mut String, r: &TxnResponse, pad: usize) {
    line(
        out,
        pad,
        format!("rev={} succeeded={}", r.header.revision, r.succeeded),
    );
    for (i, op) in r.responses.iter().enumerate() {
        let mut sub = String::new();
        match op {
            ResponseOp::Range(r) => range(&mut sub, r, 0),
            ResponseOp::Put(r) => put(&mut sub, r, 0),
            ResponseOp::DeleteRange(r) => delete(&mut sub, r, 0),
            ResponseOp::Txn(r) => txn(&mut sub, r, 0),
        }
        let kind = match op {
            ResponseOp::Range(_) => "get",
            ResponseOp::Put(_) => "put",
            ResponseOp::DeleteRange(_) => "del",
            ResponseOp::Txn(_) => "txn",
        };
        for (j, l) in sub.lines().enumerate() {
            if j == 0 {
                line(out, pad, format!("[{i}] {kind} {l}"));
            } else {
                line(out, pad + 4, l);
            }
        }
    }
}

/// `id=I ttl=T granted=G [keys=[a b]]`
pub fn time_to_live(r: &LeaseTimeToLiveResponse, keys: bool, remaining: bool) -> String {
    let mut s = format!("id={}", r.id);
    if remaining || r.ttl < 0 {
        write!(s, " ttl={}", r.ttl).unwrap();
    }
    write!(s, " granted={}", r.granted_ttl).unwrap();
    if keys {
        // Sorted: etcd lists them in Go map order, which is random.
        let mut ks: Vec<String> = r.keys.iter().map(|k| bytes(k)).collect();
        ks.sort();
        write!(s, " keys=[{}]", ks.join(" ")).unwrap();
    }
    s
}

fn event(e: &Event) -> String {
    let mut s = match e.kind {
        EventType::Put => format!("PUT {}", kv(&e.kv)),
        EventType::Delete => format!("DELETE {} mod={}", bytes(&e.kv.key), e.kv.mod_revision),
    };
    if let Some(p) = &e.prev_kv {
        write!(s, " | prev {}", kv(p)).unwrap();
    }
    s
}

/// One watch response of stream `name`, one line per event.
pub fn watch_response(name: &str, r: &WatchResponse) -> String {
    let mut out = String::new();
    let mut head = format!("{name} id={}", r.watch_id);
    if r.created {
        head.push_str(" created");
    }
    if r.canceled {
        head.push_str(" canceled");
    }
    if r.compact_revision != 0 {
        write!(head, " compact={}", r.compact_revision).unwrap();
    }
    if !r.cancel_reason.is_empty() {
        write!(head, " reason={:?}", r.cancel_reason).unwrap();
    }
    if r.fragment {
        head.push_str(" fragment");
    }
    write!(head, " rev={}", r.header.revision).unwrap();
    line(&mut out, 0, head);
    for e in &r.events {
        line(&mut out, 2, event(e));
    }
    out
}
