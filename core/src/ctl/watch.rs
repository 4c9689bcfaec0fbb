//! `watch`: parsed into a watcher request, and each response printed as etcdctl's
//! `printWatchCh` prints it (watch_command.go, printer_simple.go).
//!
//! A watch is not one request and one answer: the host opens a stream, creates the
//! watcher on it, and prints every response that carries events until the watcher is
//! canceled. As with clientv3, the `created` response itself prints nothing.

use super::args::Args;
use super::parse::bytes;
use super::{exit, CtlError, Invocation, OutputFormat, Printed};
use crate::mvcc::{prefix_end, EventType, KeyValue};
use crate::watch::{WatchCreateRequest, WatchResponse};
use crate::EtcdError;
use bytes::Bytes;

/// `watch [--prefix] [--rev R] [--prev-kv] <key> [range_end]`.
pub(super) fn parse(pos: &[String], args: &Args) -> Result<WatchCreateRequest, CtlError> {
    if args.bool("interactive")? {
        return Err(CtlError::feature(
            "the console runs `watch` without -i; type one watch per line",
        ));
    }
    let prefix = args.bool("prefix")?;
    let (key, range_end) = match pos {
        [] => return Err(CtlError::args("bad number of arguments")),
        [key] if prefix && key.is_empty() => (Bytes::from_static(b"\0"), Bytes::from_static(b"\0")),
        [key] if prefix => (bytes(key), prefix_end(key.as_bytes())),
        [key] => (bytes(key), Bytes::new()),
        [_, _] if prefix => {
            return Err(CtlError::args(
                "`range_end` and `--prefix` are mutually exclusive",
            ))
        }
        [key, end] => (bytes(key), bytes(end)),
        _ => return Err(CtlError::args("bad number of arguments")),
    };
    Ok(WatchCreateRequest {
        key,
        range_end,
        start_revision: args.int("rev", 0)?,
        prev_kv: args.bool("prev-kv")?,
        ..WatchCreateRequest::default()
    })
}

/// What one watch response prints. `Err` is the stream failing (the member has no leader,
/// or went away). A canceled watch ends the command with etcdctl's exit status.
pub fn print_watch(inv: &Invocation, response: Result<&WatchResponse, &EtcdError>) -> Printed {
    let r = match response {
        Ok(r) => r,
        Err(e) => {
            return Printed::error(&CtlError {
                message: e.message().to_owned(),
                exit: exit::ERROR,
            })
        }
    };
    let mut out = Printed::default();
    if r.created && !r.canceled {
        return out;
    }
    if r.canceled {
        let why = if r.compact_revision > 0 {
            "etcdserver: mvcc: required revision has been compacted".to_owned()
        } else if r.cancel_reason.is_empty() {
            "etcdserver: watch canceled".to_owned()
        } else {
            r.cancel_reason.clone()
        };
        out.stderr = format!("watch was canceled ({why})\n");
    }
    if inv.output == OutputFormat::Json {
        out.stdout = json(r);
    } else {
        for e in &r.events {
            out.stdout.push_str(match e.kind {
                EventType::Put => "PUT\n",
                EventType::Delete => "DELETE\n",
            });
            if let Some(prev) = &e.prev_kv {
                kv(&mut out.stdout, inv.hex, prev);
            }
            kv(&mut out.stdout, inv.hex, &e.kv);
        }
    }
    if r.canceled {
        out.stderr += "Error: watch is canceled by the server\n";
        out.exit = exit::INTERRUPTED;
    }
    out
}

fn kv(out: &mut String, hex: bool, kv: &KeyValue) {
    for b in [&kv.key, &kv.value] {
        if hex {
            out.push_str(&super::print::hex(b));
        } else {
            out.push_str(&String::from_utf8_lossy(b));
        }
        out.push('\n');
    }
}

/// `-w json`: clientv3's `WatchResponse` with Go field names; the five top-level fields are
/// always present.
fn json(r: &WatchResponse) -> String {
    use super::json::{header, kv as kv_json, Obj};
    let events = r
        .events
        .iter()
        .map(|e| {
            let mut o = Obj::new();
            if e.kind == EventType::Delete {
                o = o.num("type", 1);
            }
            o = o.raw("kv", &kv_json(&e.kv));
            if let Some(prev) = &e.prev_kv {
                o = o.raw("prev_kv", &kv_json(prev));
            }
            o.end()
        })
        .collect::<Vec<_>>();
    format!(
        "{{\"Header\":{},\"Events\":{},\"CompactRevision\":{},\"Canceled\":{},\"Created\":{}}}\n",
        header(&r.header),
        if events.is_empty() {
            "null".to_owned()
        } else {
            format!("[{}]", events.join(","))
        },
        r.compact_revision,
        r.canceled,
        r.created
    )
}
