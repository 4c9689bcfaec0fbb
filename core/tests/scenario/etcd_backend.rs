//! Runs scenario ops against a real etcd 3.4 through its JSON gateway (`POST /v3/...`), and
//! turns the JSON back into orrery-core's response types so both print the same way.
//!
//! Gateway encoding (etcd-reference §3.1): bytes are base64, 64-bit integers arrive as strings,
//! zero values are omitted, errors are `{"error","message","code"}` with a 4xx/5xx status.

use super::etcd_process::Etcd;
use super::http::{self, Stream};
use super::print;
use super::script::Op;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use orrery_core::mvcc::{Event, EventType, KeyValue};
use orrery_core::request::*;
use orrery_core::watch::WatchResponse;
use orrery_core::GrpcCode;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `watch-events` waits before reading every stream: etcd syncs lagging watchers
/// every 100 ms.
const WATCH_IDLE: Duration = Duration::from_millis(400);

pub struct EtcdBackend {
    etcd: Etcd,
    streams: Vec<(String, Stream)>,
}

impl EtcdBackend {
    pub fn new(etcd: Etcd) -> Self {
        Self {
            etcd,
            streams: Vec::new(),
        }
    }

    pub fn run(&mut self, op: &Op) -> String {
        match op {
            Op::Request(r) => self.request(r),
            Op::KeepAlive(id) => {
                let mut s = http::post_stream(
                    self.etcd.addr,
                    "/v3/lease/keepalive",
                    &json!({"ID": id}).to_string(),
                );
                let line = s
                    .lines(Duration::from_millis(500))
                    .into_iter()
                    .next()
                    .expect("a keep-alive answer");
                let r = &serde_json::from_str::<Value>(&line).expect("json")["result"];
                format!("id={} ttl={}", int(r, "ID"), int(r, "TTL"))
            }
            Op::TimeToLive {
                id,
                keys,
                remaining,
            } => {
                let body = json!({"ID": id, "keys": keys});
                match self.call("/v3/lease/timetolive", body) {
                    Ok(v) => {
                        let r = LeaseTimeToLiveResponse {
                            id: int(&v, "ID"),
                            ttl: int(&v, "TTL"),
                            granted_ttl: int(&v, "grantedTTL"),
                            keys: list(&v, "keys").iter().map(b64).collect(),
                            ..Default::default()
                        };
                        print::time_to_live(&r, *keys, *remaining)
                    }
                    Err(e) => e,
                }
            }
            Op::LeaseList => match self.call("/v3/lease/leases", json!({})) {
                Ok(v) => {
                    let mut ids: Vec<i64> =
                        list(&v, "leases").iter().map(|l| int(l, "ID")).collect();
                    ids.sort_unstable();
                    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                    format!(
                        "rev={} leases=[{}]",
                        int(&v["header"], "revision"),
                        ids.join(" ")
                    )
                }
                Err(e) => e,
            },
            Op::Watch { req, .. } => {
                let name = format!("w{}", self.streams.len() + 1);
                let filters: Vec<&str> = [
                    req.no_put.then_some("NOPUT"),
                    req.no_delete.then_some("NODELETE"),
                ]
                .into_iter()
                .flatten()
                .collect();
                let create = json!({"create_request": {
                    "key": enc(&req.key), "range_end": enc(&req.range_end),
                    "start_revision": req.start_revision, "prev_kv": req.prev_kv,
                    "progress_notify": req.progress_notify, "watch_id": req.watch_id,
                    "fragment": req.fragment, "filters": filters,
                }});
                let s = http::post_stream(self.etcd.addr, "/v3/watch", &create.to_string());
                assert_eq!(s.status, 200, "watch stream refused");
                self.streams.push((name.clone(), s));
                name
            }
            Op::WatchEvents => {
                std::thread::sleep(WATCH_IDLE);
                let mut out = String::new();
                for (name, s) in &mut self.streams {
                    for line in s.lines(Duration::from_millis(20)) {
                        let v: Value = serde_json::from_str(&line).expect("json line");
                        out.push_str(&print::watch_response(name, &watch_response(&v["result"])));
                    }
                }
                if out.is_empty() {
                    "(none)".into()
                } else {
                    out.trim_end().to_owned()
                }
            }
            other => panic!("{other:?} cannot be run against etcd: mark the block core-only"),
        }
    }

    /// POSTs to the gateway: the JSON on success, the printed error otherwise.
    fn call(&self, path: &str, body: Value) -> Result<Value, String> {
        let (status, text) = http::post(self.etcd.addr, path, &body.to_string());
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"));
        if status == 200 {
            return Ok(v);
        }
        let message = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {status} {text}"));
        Err(print::error(message, code(int(&v, "code"))))
    }

    fn request(&mut self, r: &Request) -> String {
        let result = match r {
            Request::Range(r) => self
                .call("/v3/kv/range", range_json(r))
                .map(|v| Response::Range(range_resp(&v))),
            Request::Put(p) => self
                .call("/v3/kv/put", put_json(p))
                .map(|v| Response::Put(put_resp(&v))),
            Request::DeleteRange(d) => self
                .call("/v3/kv/deleterange", del_json(d))
                .map(|v| Response::DeleteRange(del_resp(&v))),
            Request::Txn(t) => self
                .call("/v3/kv/txn", txn_json(t))
                .map(|v| Response::Txn(txn_resp(&v))),
            Request::Compaction(c) => self
                .call(
                    "/v3/kv/compaction",
                    json!({"revision": c.revision, "physical": c.physical}),
                )
                .map(|v| Response::Compaction(CompactionResponse { header: header(&v) })),
            Request::LeaseGrant(g) => self
                .call("/v3/lease/grant", json!({"TTL": g.ttl, "ID": g.id}))
                .map(|v| {
                    Response::LeaseGrant(LeaseGrantResponse {
                        header: header(&v),
                        id: int(&v, "ID"),
                        ttl: int(&v, "TTL"),
                        error: String::new(),
                    })
                }),
            Request::LeaseRevoke(l) => self
                .call("/v3/lease/revoke", json!({"ID": l.id}))
                .map(|v| Response::LeaseRevoke(LeaseRevokeResponse { header: header(&v) })),
            Request::LeaseCheckpoint(_) => panic!("checkpoints are Raft-internal: mark core-only"),
            Request::Alarm(a) => self
                .call("/v3/maintenance/alarm", alarm_json(a))
                .map(|v| Response::Alarm(alarm_resp(&v))),
        };
        match result {
            Ok(resp) => print::response(&resp),
            Err(e) => e,
        }
    }
}

fn alarm_json(a: &orrery_core::request::AlarmRequest) -> serde_json::Value {
    use orrery_core::request::AlarmAction;
    let action = match a.action {
        AlarmAction::Get => "GET",
        AlarmAction::Activate => "ACTIVATE",
        AlarmAction::Deactivate => "DEACTIVATE",
    };
    json!({"action": action, "memberID": a.member_id.to_string(), "alarm": alarm_name(a.alarm)})
}

fn alarm_name(a: orrery_core::alarm::AlarmType) -> &'static str {
    use orrery_core::alarm::AlarmType;
    match a {
        AlarmType::None => "NONE",
        AlarmType::NoSpace => "NOSPACE",
        AlarmType::Corrupt => "CORRUPT",
    }
}

fn alarm_resp(v: &serde_json::Value) -> orrery_core::request::AlarmResponse {
    use orrery_core::alarm::{AlarmMember, AlarmType};
    let alarms = v["alarms"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| AlarmMember {
                    member_id: m["memberID"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    alarm: match m["alarm"].as_str() {
                        Some("NOSPACE") => AlarmType::NoSpace,
                        Some("CORRUPT") => AlarmType::Corrupt,
                        _ => AlarmType::None,
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    orrery_core::request::AlarmResponse {
        header: header(v),
        alarms,
    }
}

fn enc(b: &[u8]) -> String {
    B64.encode(b)
}

fn b64(v: &Value) -> Bytes {
    Bytes::from(B64.decode(v.as_str().unwrap_or("")).expect("base64"))
}

/// An integer field: the gateway writes int64 as strings; absent means 0.
fn int(v: &Value, field: &str) -> i64 {
    match &v[field] {
        Value::String(s) => s.parse().expect("integer string"),
        Value::Number(n) => n.as_i64().expect("integer"),
        Value::Null => 0,
        other => panic!("{field}: not an integer: {other}"),
    }
}

fn flag(v: &Value, field: &str) -> bool {
    v[field].as_bool().unwrap_or(false)
}

fn list<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v[field].as_array().map_or(&[], Vec::as_slice)
}

fn code(n: i64) -> GrpcCode {
    use GrpcCode::*;
    let all = [
        Ok,
        Canceled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    ];
    all[usize::try_from(n).expect("code >= 0")]
}

fn header(v: &Value) -> ResponseHeader {
    ResponseHeader::at(int(&v["header"], "revision"))
}

fn kv(v: &Value) -> KeyValue {
    KeyValue {
        key: b64(&v["key"]),
        create_revision: int(v, "create_revision"),
        mod_revision: int(v, "mod_revision"),
        version: int(v, "version"),
        value: b64(&v["value"]),
        lease: int(v, "lease"),
    }
}

fn range_json(r: &RangeRequest) -> Value {
    let order = ["NONE", "ASCEND", "DESCEND"][r.sort_order as usize];
    let target = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"][r.sort_target as usize];
    json!({
        "key": enc(&r.key), "range_end": enc(&r.range_end), "limit": r.limit,
        "revision": r.revision, "sort_order": order, "sort_target": target,
        "serializable": r.serializable, "keys_only": r.keys_only, "count_only": r.count_only,
        "min_mod_revision": r.min_mod_revision, "max_mod_revision": r.max_mod_revision,
        "min_create_revision": r.min_create_revision, "max_create_revision": r.max_create_revision,
    })
}

fn range_resp(v: &Value) -> RangeResponse {
    RangeResponse {
        header: header(v),
        kvs: list(v, "kvs").iter().map(kv).collect(),
        more: flag(v, "more"),
        count: int(v, "count"),
    }
}

fn put_json(p: &PutRequest) -> Value {
    json!({
        "key": enc(&p.key), "value": enc(&p.value), "lease": p.lease, "prev_kv": p.prev_kv,
        "ignore_value": p.ignore_value, "ignore_lease": p.ignore_lease,
    })
}

fn put_resp(v: &Value) -> PutResponse {
    PutResponse {
        header: header(v),
        prev_kv: v.get("prev_kv").map(kv),
    }
}

fn del_json(d: &DeleteRangeRequest) -> Value {
    json!({"key": enc(&d.key), "range_end": enc(&d.range_end), "prev_kv": d.prev_kv})
}

fn del_resp(v: &Value) -> DeleteRangeResponse {
    DeleteRangeResponse {
        header: header(v),
        deleted: int(v, "deleted"),
        prev_kvs: list(v, "prev_kvs").iter().map(kv).collect(),
    }
}

fn txn_json(t: &TxnRequest) -> Value {
    let op = |op: &RequestOp| match op {
        RequestOp::Range(r) => json!({"request_range": range_json(r)}),
        RequestOp::Put(p) => json!({"request_put": put_json(p)}),
        RequestOp::DeleteRange(d) => json!({"request_delete_range": del_json(d)}),
        RequestOp::Txn(t) => json!({"request_txn": txn_json(t)}),
    };
    let compare = |c: &Compare| {
        let result = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"][c.result as usize];
        let mut j = json!({"result": result, "key": enc(&c.key), "range_end": enc(&c.range_end)});
        let (target, field, value) = match &c.target {
            CompareTarget::Version(n) => ("VERSION", "version", json!(n)),
            CompareTarget::Create(n) => ("CREATE", "create_revision", json!(n)),
            CompareTarget::Mod(n) => ("MOD", "mod_revision", json!(n)),
            CompareTarget::Value(b) => ("VALUE", "value", json!(enc(b))),
            CompareTarget::Lease(n) => ("LEASE", "lease", json!(n)),
        };
        j["target"] = json!(target);
        j[field] = value;
        j
    };
    json!({
        "compare": t.compare.iter().map(compare).collect::<Vec<_>>(),
        "success": t.success.iter().map(op).collect::<Vec<_>>(),
        "failure": t.failure.iter().map(op).collect::<Vec<_>>(),
    })
}

fn txn_resp(v: &Value) -> TxnResponse {
    let op = |r: &Value| {
        if let Some(x) = r.get("response_range") {
            ResponseOp::Range(range_resp(x))
        } else if let Some(x) = r.get("response_put") {
            ResponseOp::Put(put_resp(x))
        } else if let Some(x) = r.get("response_delete_range") {
            ResponseOp::DeleteRange(del_resp(x))
        } else if let Some(x) = r.get("response_txn") {
            ResponseOp::Txn(txn_resp(x))
        } else {
            panic!("unknown txn response {r}")
        }
    };
    TxnResponse {
        header: header(v),
        succeeded: flag(v, "succeeded"),
        responses: list(v, "responses").iter().map(op).collect(),
    }
}

fn watch_response(v: &Value) -> WatchResponse {
    let event = |e: &Value| Event {
        kind: if e["type"].as_str() == Some("DELETE") {
            EventType::Delete
        } else {
            EventType::Put
        },
        kv: kv(&e["kv"]),
        prev_kv: e.get("prev_kv").map(kv),
    };
    WatchResponse {
        header: header(v),
        watch_id: int(v, "watch_id"),
        created: flag(v, "created"),
        canceled: flag(v, "canceled"),
        compact_revision: int(v, "compact_revision"),
        cancel_reason: v["cancel_reason"].as_str().unwrap_or("").to_owned(),
        fragment: flag(v, "fragment"),
        events: list(v, "events").iter().map(event).collect(),
    }
}
