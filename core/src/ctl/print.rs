//! Printing an answer as etcdctl 3.4 prints it (printer_simple.go, printer_json.go,
//! printer_table.go).

use super::json::{self, Obj};
use super::{exit, table, Command, CtlError, Endpoint, Invocation, OutputFormat, Printed};
use crate::mvcc::KeyValue;
use crate::request::{
    DeleteRangeResponse, PutResponse, RangeResponse, Response, ResponseOp, TxnResponse,
};
use crate::server::{ClientResponse, MembersResponse, StatusResponse};
use crate::EtcdError;
use std::fmt::Write as _;

/// Prints the member's answer to `inv`, sent to `endpoint`.
pub fn print(
    inv: &Invocation,
    endpoint: &Endpoint,
    result: Result<ClientResponse, EtcdError>,
) -> Printed {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            // `lease keep-alive` treats every failure as a connection problem; `lease revoke`
            // says what failed.
            let (message, code) = match inv.command {
                Command::LeaseKeepAliveOnce { .. } => (e.message().to_owned(), 2),
                Command::LeaseRevoke { .. } => (
                    format!("failed to revoke lease ({})", e.message()),
                    exit::ERROR,
                ),
                _ => (e.message().to_owned(), exit::ERROR),
            };
            return Printed::error(&CtlError {
                message,
                exit: code,
            });
        }
    };
    let mut p = Printer {
        out: String::new(),
        hex: inv.hex,
        value_only: false,
    };
    match p.print(inv, endpoint, response) {
        Ok(()) => Printed {
            stdout: p.out,
            ..Printed::default()
        },
        Err(e) => Printed {
            stdout: p.out,
            ..Printed::error(&e)
        },
    }
}

struct Printer {
    out: String,
    hex: bool,
    value_only: bool,
}

impl Printer {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn print(
        &mut self,
        inv: &Invocation,
        endpoint: &Endpoint,
        response: ClientResponse,
    ) -> Result<(), CtlError> {
        let f = inv.output;
        let table_ok = matches!(
            inv.command,
            Command::MemberList | Command::EndpointStatus | Command::EndpointHashKv { .. }
        );
        if f == OutputFormat::Table && !table_ok {
            return Err(CtlError::feature("table not supported as output format"));
        }
        match (&inv.command, response) {
            (
                Command::Get {
                    print_value_only, ..
                },
                ClientResponse::Kv(Response::Range(r)),
            ) => {
                self.value_only = *print_value_only;
                match f {
                    OutputFormat::Json => self.line(&range_json(&r)),
                    _ => self.range(&r),
                }
            }
            (Command::Put(_), ClientResponse::Kv(Response::Put(r))) => match f {
                OutputFormat::Json => self.line(&put_json(&r)),
                _ => self.put(&r),
            },
            (Command::Del(_), ClientResponse::Kv(Response::DeleteRange(r))) => match f {
                OutputFormat::Json => self.line(&del_json(&r)),
                _ => self.del(&r),
            },
            (Command::Txn { interactive, .. }, ClientResponse::Kv(Response::Txn(r))) => {
                if *interactive {
                    self.line("compares:");
                    self.line("success requests (get, put, del):");
                    self.line("failure requests (get, put, del):");
                }
                match f {
                    OutputFormat::Json => self.line(&txn_json(&r)),
                    _ => self.txn(&r),
                }
            }
            (Command::Compaction(c), ClientResponse::Kv(Response::Compaction(_))) => {
                self.line(&format!("compacted revision {}", c.revision));
            }
            (Command::LeaseGrant { .. }, ClientResponse::Kv(Response::LeaseGrant(r))) => match f {
                OutputFormat::Json => self.line(
                    &json::header_fields(Obj::new(), &r.header)
                        .num_always("ID", r.id)
                        .num_always("TTL", r.ttl)
                        .raw("Error", &json::string(&r.error))
                        .end(),
                ),
                _ => self.line(&format!("lease {:016x} granted with TTL({}s)", r.id, r.ttl)),
            },
            (Command::LeaseRevoke { id }, ClientResponse::Kv(Response::LeaseRevoke(r))) => {
                match f {
                    OutputFormat::Json => {
                        self.line(&Obj::new().raw("header", &json::header(&r.header)).end())
                    }
                    _ => self.line(&format!("lease {id:016x} revoked")),
                }
            }
            (Command::LeaseTimeToLive { keys, .. }, ClientResponse::LeaseTimeToLive(r)) => {
                match f {
                    OutputFormat::Json => {
                        let ks: Vec<String> = r
                            .keys
                            .iter()
                            .map(|k| format!("\"{}\"", json::base64(k)))
                            .collect();
                        let ks = if ks.is_empty() {
                            "null".to_owned()
                        } else {
                            format!("[{}]", ks.join(","))
                        };
                        self.line(
                            &json::header_fields(Obj::new(), &r.header)
                                .num_always("id", r.id)
                                .num_always("ttl", r.ttl)
                                .num_always("granted-ttl", r.granted_ttl)
                                .raw("keys", &ks)
                                .end(),
                        )
                    }
                    _ if r.granted_ttl == 0 && r.ttl == -1 => {
                        self.line(&format!("lease {:016x} already expired", r.id))
                    }
                    _ => {
                        let mut txt = format!(
                            "lease {:016x} granted with TTL({}s), remaining({}s)",
                            r.id, r.granted_ttl, r.ttl
                        );
                        if *keys {
                            let ks: Vec<String> = r
                                .keys
                                .iter()
                                .map(|k| String::from_utf8_lossy(k).into_owned())
                                .collect();
                            let _ = write!(txt, ", attached keys([{}])", ks.join(" "));
                        }
                        self.line(&txt)
                    }
                }
            }
            (Command::LeaseList, ClientResponse::LeaseLeases(r)) => match f {
                OutputFormat::Json => {
                    let items: Vec<String> = r
                        .leases
                        .iter()
                        .map(|id| Obj::new().num("id", *id).end())
                        .collect();
                    let items = if items.is_empty() {
                        "null".to_owned()
                    } else {
                        format!("[{}]", items.join(","))
                    };
                    self.line(
                        &json::header_fields(Obj::new(), &r.header)
                            .raw("leases", &items)
                            .end(),
                    )
                }
                _ => {
                    self.line(&format!("found {} leases", r.leases.len()));
                    for id in &r.leases {
                        self.line(&format!("{id:016x}"));
                    }
                }
            },
            (Command::LeaseKeepAliveOnce { id }, ClientResponse::LeaseKeepAlive(r)) => {
                if r.ttl <= 0 {
                    return Err(CtlError {
                        message: EtcdError::LeaseNotFound.message().to_owned(),
                        exit: 2,
                    });
                }
                match f {
                    OutputFormat::Json => self.line(
                        &json::header_fields(Obj::new(), &r.header)
                            .num_always("ID", r.id)
                            .num_always("TTL", r.ttl)
                            .end(),
                    ),
                    _ => self.line(&format!("lease {id:016x} keepalived with TTL({})", r.ttl)),
                }
            }
            (Command::MemberList, ClientResponse::Members(r)) => self.members(f, &r),
            (Command::EndpointStatus, ClientResponse::Status(s)) => self.status(f, endpoint, &s),
            (Command::EndpointHashKv { .. }, ClientResponse::HashKv(h)) => match f {
                OutputFormat::Json => {
                    let inner = Obj::new()
                        .raw("header", &json::header(&h.header))
                        .num("hash", h.hash)
                        .num("compact_revision", h.compact_revision)
                        .end();
                    self.line(&format!(
                        "[{}]",
                        Obj::new()
                            .raw("Endpoint", &json::string(&endpoint.address))
                            .raw("HashKV", &inner)
                            .end()
                    ))
                }
                OutputFormat::Table => self.out.push_str(&table::render(
                    &["endpoint", "hash"],
                    &[vec![endpoint.address.clone(), h.hash.to_string()]],
                )),
                OutputFormat::Simple => self.line(&format!("{}, {}", endpoint.address, h.hash)),
            },
            (Command::AlarmList, ClientResponse::Kv(Response::Alarm(a))) => {
                for alarm in &a.alarms {
                    let name = match alarm.alarm {
                        crate::alarm::AlarmType::None => "NONE",
                        crate::alarm::AlarmType::NoSpace => "NOSPACE",
                        crate::alarm::AlarmType::Corrupt => "CORRUPT",
                    };
                    self.line(&format!("memberID:{} alarm:{name} ", alarm.member_id));
                }
            }
            (Command::MoveLeader { target }, ClientResponse::MoveLeader(h)) => self.line(&format!(
                "Leadership transferred from {:x} to {target:x}",
                h.member_id
            )),
            (_, other) => {
                return Err(CtlError::usage(format!(
                    "unexpected answer from the member: {other:?}"
                )))
            }
        }
        Ok(())
    }

    fn kv(&mut self, kv: &KeyValue) {
        let (k, v) = if self.hex {
            (hex(&kv.key), hex(&kv.value))
        } else {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        };
        if !self.value_only {
            self.line(&k);
        }
        self.line(&v);
    }

    fn range(&mut self, r: &RangeResponse) {
        for kv in &r.kvs {
            self.kv(kv);
        }
    }

    fn put(&mut self, r: &PutResponse) {
        self.line("OK");
        if let Some(prev) = &r.prev_kv {
            self.kv(prev);
        }
    }

    fn del(&mut self, r: &DeleteRangeResponse) {
        self.line(&r.deleted.to_string());
        for kv in &r.prev_kvs {
            self.kv(kv);
        }
    }

    fn txn(&mut self, r: &TxnResponse) {
        self.line(if r.succeeded { "SUCCESS" } else { "FAILURE" });
        for op in &r.responses {
            self.line("");
            match op {
                ResponseOp::Range(r) => self.range(r),
                ResponseOp::Put(r) => self.put(r),
                ResponseOp::DeleteRange(r) => self.del(r),
                ResponseOp::Txn(r) => self.line(&format!("unexpected response {r:?}")),
            }
        }
    }

    fn members(&mut self, f: OutputFormat, r: &MembersResponse) {
        let rows: Vec<Vec<String>> = r
            .members
            .iter()
            .map(|m| {
                vec![
                    format!("{:x}", m.id),
                    if m.name.is_empty() {
                        "unstarted"
                    } else {
                        "started"
                    }
                    .to_owned(),
                    m.name.clone(),
                    m.peer_urls.join(","),
                    m.client_urls.join(","),
                    m.is_learner.to_string(),
                ]
            })
            .collect();
        match f {
            OutputFormat::Json => {
                let members = r
                    .members
                    .iter()
                    .map(|m| {
                        let urls = |u: &[String]| {
                            let items: Vec<String> = u.iter().map(|s| json::string(s)).collect();
                            format!("[{}]", items.join(","))
                        };
                        let mut o = Obj::new().num("ID", m.id).str("name", &m.name);
                        if !m.peer_urls.is_empty() {
                            o = o.raw("peerURLs", &urls(&m.peer_urls));
                        }
                        if !m.client_urls.is_empty() {
                            o = o.raw("clientURLs", &urls(&m.client_urls));
                        }
                        o.flag("isLearner", m.is_learner).end()
                    })
                    .collect();
                let mut h = r.header;
                h.revision = 0;
                self.line(
                    &Obj::new()
                        .raw("header", &json::header(&h))
                        .list("members", members)
                        .end(),
                )
            }
            OutputFormat::Table => self.out.push_str(&table::render(
                &[
                    "ID",
                    "Status",
                    "Name",
                    "Peer Addrs",
                    "Client Addrs",
                    "Is Learner",
                ],
                &rows,
            )),
            OutputFormat::Simple => {
                for row in rows {
                    self.line(&row.join(", "));
                }
            }
        }
    }

    fn status(&mut self, f: OutputFormat, endpoint: &Endpoint, s: &StatusResponse) {
        let row = vec![
            endpoint.address.clone(),
            format!("{:x}", s.header.member_id),
            VERSION.to_owned(),
            humanize_bytes(s.db_size.max(0) as u64),
            (s.leader == s.header.member_id).to_string(),
            s.is_learner.to_string(),
            s.raft_term.to_string(),
            s.raft_index.to_string(),
            s.raft_applied_index.to_string(),
            String::new(),
        ];
        match f {
            OutputFormat::Json => {
                let inner = Obj::new()
                    .raw("header", &json::header(&s.header))
                    .str("version", VERSION)
                    .num("dbSize", s.db_size)
                    .num("leader", s.leader)
                    .num("raftIndex", s.raft_index)
                    .num("raftTerm", s.raft_term)
                    .num("raftAppliedIndex", s.raft_applied_index)
                    .flag("isLearner", s.is_learner)
                    .num("dbSizeInUse", s.db_size)
                    .end();
                self.line(&format!(
                    "[{}]",
                    Obj::new()
                        .raw("Endpoint", &json::string(&endpoint.address))
                        .raw("Status", &inner)
                        .end()
                ))
            }
            OutputFormat::Table => self.out.push_str(&table::render(
                &[
                    "endpoint",
                    "ID",
                    "version",
                    "db size",
                    "is leader",
                    "is learner",
                    "raft term",
                    "raft index",
                    "raft applied index",
                    "errors",
                ],
                &[row],
            )),
            OutputFormat::Simple => self.line(&row.join(", ")),
        }
    }
}

/// The server version the console reports (the one Orrery's native node reports too).
const VERSION: &str = "3.4.23";

fn range_json(r: &RangeResponse) -> String {
    Obj::new()
        .raw("header", &json::header(&r.header))
        .list("kvs", r.kvs.iter().map(json::kv).collect())
        .flag("more", r.more)
        .num("count", r.count)
        .end()
}

fn put_json(r: &PutResponse) -> String {
    let mut o = Obj::new().raw("header", &json::header(&r.header));
    if let Some(prev) = &r.prev_kv {
        o = o.raw("prev_kv", &json::kv(prev));
    }
    o.end()
}

fn del_json(r: &DeleteRangeResponse) -> String {
    Obj::new()
        .raw("header", &json::header(&r.header))
        .num("deleted", r.deleted)
        .list("prev_kvs", r.prev_kvs.iter().map(json::kv).collect())
        .end()
}

fn txn_json(r: &TxnResponse) -> String {
    let ops = r
        .responses
        .iter()
        .map(|op| {
            let (name, body) = match op {
                ResponseOp::Range(x) => ("ResponseRange", range_json(x)),
                ResponseOp::Put(x) => ("ResponsePut", put_json(x)),
                ResponseOp::DeleteRange(x) => ("ResponseDeleteRange", del_json(x)),
                ResponseOp::Txn(x) => ("ResponseTxn", txn_json(x)),
            };
            let inner = Obj::new().raw(name, &body).end();
            Obj::new().raw("Response", &inner).end()
        })
        .collect();
    Obj::new()
        .raw("header", &json::header(&r.header))
        .flag("succeeded", r.succeeded)
        .list("responses", ops)
        .end()
}

/// `--hex`: every byte as `\xNN`.
pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("\\x{x:02x}")).collect()
}

/// go-humanize `Bytes`: SI units, `%.1f` below 10, `%.0f` from 10 up.
pub(crate) fn humanize_bytes(n: u64) -> String {
    if n < 10 {
        return format!("{n} B");
    }
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let value = n as f64 / 1000f64.powi(e as i32);
    let value = (value * 10.0 + 0.5).floor() / 10.0;
    if value < 10.0 {
        format!("{value:.1} {}", units[e])
    } else {
        format!("{value:.0} {}", units[e])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn humanized_sizes_are_go_humanizes() {
        assert_eq!(super::humanize_bytes(5), "5 B");
        assert_eq!(super::humanize_bytes(20_480), "20 kB");
        assert_eq!(super::humanize_bytes(7_393_280), "7.4 MB");
        assert_eq!(super::humanize_bytes(999), "999 B");
    }
}
