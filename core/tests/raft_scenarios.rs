//! Datadriven Raft/cluster scenarios (`core/testdata/raft/*.txt`): a simulated cluster is
//! driven step by step and each step prints what happened, in the style of etcd-io/raft's
//! interaction tests. `ORRERY_REWRITE=1 cargo test -p orrery-core --test raft_scenarios`
//! rewrites the expected outputs (then review the diff).
//!
//! Commands (members are `n1`, `n2`, … in the order they joined):
//!
//! | command | does |
//! |---|---|
//! | `cluster members=N [seed=S] [prevote=B] [checkquorum=B] [snapshot-count=N] [catchup=N] [log-bytes=N] [checkpoint=B]` | a new cluster, no background clients |
//! | `run MS` | advance virtual time; prints leadership, membership and snapshot events |
//! | `status` | each member's Raft state |
//! | `put-many nK N` | N puts of `k0..` one after another; prints the last answer |
//! | `put nK KEY VALUE` / `get nK KEY [serializable]` / `del nK KEY` | KV requests; print the answer and its latency |
//! | `lease-grant nK TTL` / `lease-ttl nK ID` / `lease-keepalive nK ID` / `get-lease nK KEY` | leases |
//! | `member-add nK URL [learner]` / `member-promote nK new` / `member-remove nK nJ` / `member-list nK` / `move-leader nK nJ` | membership |
//! | `join` | start the member added last (it catches up from the leader) |
//! | `partition nA nB \| nC` / `cut nA nB` / `heal` / `crash nK [lose-unsynced]` / `restart nK` / `pause nK` / `resume nK` | faults |
//! | `hash` | each member's applied index and `HashKV` |

// Shared with the KV scenarios, which use parts this runner does not.
#[allow(dead_code)]
#[path = "scenario/datadriven.rs"]
mod datadriven;

use datadriven::{Case, Script};
use orrery_core::request::{
    DeleteRangeRequest, LeaseGrantRequest, PutRequest, RangeRequest, Response,
};
use orrery_core::server::{ClientRequest, ClientResponse, StateRole};
use orrery_core::sim::{Action, NetworkParams, Sim, SimConfig, SimInput};
use std::fmt::Write as _;
use std::path::Path;

struct Runner {
    sim: Option<Sim>,
    printed: usize,
    last_added: Option<u64>,
}

fn flag(words: &[String], name: &str) -> Option<String> {
    words
        .iter()
        .find_map(|w| w.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

impl Runner {
    fn sim(&mut self) -> &mut Sim {
        self.sim.as_mut().expect("`cluster` first")
    }

    fn id(&mut self, name: &str) -> u64 {
        let k: usize = name
            .strip_prefix('n')
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a member is written nK, not {name}"));
        self.sim().slots()[k - 1].id
    }

    fn act(&mut self, action: Action) {
        let sim = self.sim();
        let at_ms = sim.now_ms();
        sim.push_input(SimInput { at_ms, action });
        sim.run_until(at_ms);
    }

    /// Trace lines since the last call, without inputs and console answers (the commands
    /// print those themselves).
    fn events(&mut self) -> String {
        let sim = self.sim.as_ref().expect("`cluster` first");
        let lines = &sim.trace().lines()[self.printed..];
        self.printed = sim.trace().lines().len();
        lines
            .iter()
            .filter(|l| !l.contains(" input ") && !l.contains(" console #"))
            .map(|l| l.trim_start().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn run(&mut self, case: &Case) -> String {
        let w = &case.words;
        let arg = |i: usize| -> &str { w.get(i).map(String::as_str).unwrap_or("") };
        match arg(0) {
            "cluster" => {
                let members = flag(w, "members").map_or(3, |v| v.parse().unwrap());
                let seed = flag(w, "seed").map_or(1, |v| v.parse().unwrap());
                let mut config = SimConfig::new(members);
                config.clients = 0;
                config.watchers = 0;
                config.auto_compaction = false;
                config.trace_lines = 1_000_000;
                config.network = NetworkParams {
                    latency_min_ms: 2,
                    latency_max_ms: 2,
                    ..NetworkParams::default()
                };
                config.disk_ms = (1, 1);
                let b = |name: &str, default: bool| flag(w, name).map_or(default, |v| v == "true");
                config.server.pre_vote = b("prevote", true);
                config.server.check_quorum = b("checkquorum", true);
                config.server.state_machine.lease.checkpointing = b("checkpoint", false);
                if let Some(n) = flag(w, "snapshot-count") {
                    config.server.snapshot_count = n.parse().unwrap();
                }
                if let Some(n) = flag(w, "catchup") {
                    config.server.snapshot_catchup_entries = n.parse().unwrap();
                }
                if let Some(n) = flag(w, "log-bytes") {
                    config.server.max_log_bytes = n.parse().unwrap();
                }
                self.sim = Some(Sim::new(seed, config, Vec::new()));
                self.printed = 0;
                "ok".into()
            }
            "run" => {
                let ms: u64 = arg(1).trim_end_matches("ms").parse().expect("run MS");
                let sim = self.sim();
                let until = sim.now_ms() + ms;
                sim.run_until(until);
                let events = self.events();
                if events.is_empty() {
                    "(nothing happened)".into()
                } else {
                    events
                }
            }
            "status" => self.status(),
            "hash" => {
                let sim = self.sim.as_ref().expect("`cluster` first");
                let mut out = Vec::new();
                for (i, slot) in sim.slots().iter().enumerate() {
                    match &slot.server {
                        Some(s) => {
                            let h = s.state_machine().hash_kv(0).expect("hash at current");
                            out.push(format!(
                                "n{}: applied={} rev={} hash={:08x}",
                                i + 1,
                                s.status().applied,
                                h.revision,
                                h.hash
                            ));
                        }
                        None => out.push(format!("n{}: crashed", i + 1)),
                    }
                }
                out.join("\n")
            }
            "partition" => {
                let mut groups = vec![Vec::new()];
                for word in &w[1..] {
                    if word == "|" {
                        groups.push(Vec::new());
                    } else {
                        let id = self.id(word);
                        groups.last_mut().unwrap().push(id);
                    }
                }
                self.act(Action::Partition { groups });
                "ok".into()
            }
            "cut" => {
                let (from, to) = (self.id(arg(1)), self.id(arg(2)));
                self.act(Action::CutLink { from, to });
                "ok".into()
            }
            "heal" => {
                self.act(Action::Heal);
                "ok".into()
            }
            "crash" | "restart" | "pause" | "resume" => {
                let member = self.id(arg(1));
                self.act(match arg(0) {
                    "crash" => Action::Crash {
                        member,
                        lose_unsynced: w.iter().any(|x| x == "lose-unsynced"),
                    },
                    "restart" => Action::Restart { member },
                    "pause" => Action::Pause { member },
                    _ => Action::Resume { member },
                });
                let events = self.events();
                if events.is_empty() {
                    "ok".into()
                } else {
                    events
                }
            }
            "put-many" => {
                // N puts k0..k(N-1) one after another, each waiting for its answer.
                let n: usize = arg(2).parse().expect("put-many nK N");
                let mut last = String::new();
                for i in 0..n {
                    let words: Vec<String> = ["put", arg(1), &format!("k{i}"), &format!("v{i}")]
                        .map(String::from)
                        .to_vec();
                    last = self.request(&Case {
                        words,
                        ..case.clone()
                    });
                }
                let events = self.events();
                format!(
                    "{events}{}last: {}",
                    if events.is_empty() { "" } else { "\n" },
                    last.lines().last().unwrap_or("")
                )
            }
            "join" => {
                let member = self.last_added.expect("member-add first");
                self.act(Action::Join { member });
                "ok".into()
            }
            _ => self.request(case),
        }
    }

    fn status(&mut self) -> String {
        let sim = self.sim.as_ref().expect("`cluster` first");
        let mut out = Vec::new();
        for (i, slot) in sim.slots().iter().enumerate() {
            let name = format!("n{}", i + 1);
            let Some(server) = &slot.server else {
                out.push(format!("{name}: crashed"));
                continue;
            };
            let s = server.status();
            let role = match s.role {
                StateRole::Leader => "leader",
                StateRole::Follower => "follower",
                StateRole::Candidate => "candidate",
                StateRole::PreCandidate => "pre-candidate",
            };
            let learner = if server.membership().get(s.id).is_some_and(|m| m.is_learner) {
                " learner"
            } else {
                ""
            };
            let paused = if slot.is_paused() { " paused" } else { "" };
            let removed = if server.is_removed() { " removed" } else { "" };
            out.push(format!(
                "{name}: {role}{learner}{paused}{removed} term={} leader={} commit={} applied={} log={}..{} snapshot={}",
                s.term,
                sim.name_of(s.leader),
                s.commit,
                s.applied,
                s.first_index,
                s.last_index,
                s.snapshot_index
            ));
        }
        out.join("\n")
    }

    fn request(&mut self, case: &Case) -> String {
        let w = &case.words;
        let arg = |i: usize| -> String { w.get(i).cloned().unwrap_or_default() };
        let member = self.id(&arg(1));
        let bytes = |s: String| -> bytes::Bytes { s.into_bytes().into() };
        let request = match w[0].as_str() {
            "put" => ClientRequest::Put(PutRequest {
                key: bytes(arg(2)),
                value: bytes(arg(3)),
                lease: flag(w, "lease").map_or(0, |v| i64::from_str_radix(&v, 16).unwrap()),
                ..PutRequest::default()
            }),
            "get" => ClientRequest::Range(RangeRequest {
                key: bytes(arg(2)),
                serializable: w.iter().any(|x| x == "serializable"),
                ..RangeRequest::default()
            }),
            "del" => ClientRequest::DeleteRange(DeleteRangeRequest {
                key: bytes(arg(2)),
                ..DeleteRangeRequest::default()
            }),
            "lease-grant" => ClientRequest::LeaseGrant(LeaseGrantRequest {
                ttl: arg(2).parse().unwrap(),
                id: 0,
            }),
            "lease-ttl" => ClientRequest::LeaseTimeToLive {
                id: i64::from_str_radix(&arg(2), 16).unwrap(),
                keys: true,
            },
            "lease-keepalive" => ClientRequest::LeaseKeepAlive {
                id: i64::from_str_radix(&arg(2), 16).unwrap(),
            },
            "member-add" => ClientRequest::MemberAdd {
                peer_urls: vec![arg(2)],
                is_learner: w.iter().any(|x| x == "learner"),
            },
            "member-promote" => ClientRequest::MemberPromote {
                id: self.last_added.expect("member-add first"),
            },
            "member-remove" => {
                let id = self.id(&arg(2));
                ClientRequest::MemberRemove { id }
            }
            "member-list" => ClientRequest::MemberList,
            "move-leader" => {
                let target = self.id(&arg(2));
                ClientRequest::MoveLeader { target }
            }
            other => panic!("line {}: unknown command {other}", case.line),
        };
        let sim = self.sim();
        let sent = sim.now_ms();
        let before = sim.console().len();
        sim.push_input(SimInput {
            at_ms: sent,
            action: Action::Request { member, request },
        });
        // Run until answered (a request fails by itself after the request timeout).
        let mut limit = 0;
        while sim.console().len() == before && limit < 200 {
            let next = sim.now_ms() + 10;
            sim.run_until(next);
            limit += 1;
        }
        let Some(answer) = sim.console().get(before).cloned() else {
            return "no answer within 2 s".into();
        };
        let mut out = self.events();
        if !out.is_empty() {
            out.push('\n');
        }
        let took = answer.at_ms - sent;
        let text = match &answer.result {
            Err(e) => format!("error: {}", e.message()),
            Ok(r) => self.describe(r),
        };
        write!(out, "after {took}ms: {text}").unwrap();
        out
    }

    fn describe(&mut self, r: &ClientResponse) -> String {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match r {
            ClientResponse::Kv(Response::Put(p)) => format!("rev={}", p.header.revision),
            ClientResponse::Kv(Response::DeleteRange(d)) => {
                format!("rev={} deleted={}", d.header.revision, d.deleted)
            }
            ClientResponse::Kv(Response::Range(g)) => {
                let kvs: Vec<String> = g
                    .kvs
                    .iter()
                    .map(|kv| format!("{}={}", s(&kv.key), s(&kv.value)))
                    .collect();
                format!("rev={} [{}]", g.header.revision, kvs.join(" "))
            }
            ClientResponse::Kv(Response::LeaseGrant(g)) => {
                format!("lease {:x} ttl={}", g.id, g.ttl)
            }
            ClientResponse::LeaseTimeToLive(t) => format!(
                "lease {:x} ttl={} granted={} keys=[{}]",
                t.id,
                t.ttl,
                t.granted_ttl,
                t.keys.iter().map(|k| s(k)).collect::<Vec<_>>().join(" ")
            ),
            ClientResponse::LeaseKeepAlive(k) => format!("lease {:x} ttl={}", k.id, k.ttl),
            ClientResponse::Members(m) => {
                if let Some(added) = &m.member {
                    self.last_added = Some(added.id);
                }
                let sim = self.sim.as_ref().unwrap();
                let list: Vec<String> = m
                    .members
                    .iter()
                    .map(|x| {
                        let name = if x.name.is_empty() {
                            "(unstarted)".to_owned()
                        } else {
                            x.name.clone()
                        };
                        let learner = if x.is_learner { " learner" } else { "" };
                        let _ = sim;
                        format!("{name}{learner} {}", x.peer_urls.join(","))
                    })
                    .collect();
                format!("members:\n  {}", list.join("\n  "))
            }
            ClientResponse::MoveLeader(_) => "leader moved".into(),
            other => format!("{other:?}"),
        }
    }
}

#[test]
fn raft_scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/raft");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let rewrite = std::env::var_os("ORRERY_REWRITE").is_some();
    let mut failures = Vec::new();
    for path in files {
        let script = Script::parse(&std::fs::read_to_string(&path).unwrap());
        let mut runner = Runner {
            sim: None,
            printed: 0,
            last_added: None,
        };
        let outputs: Vec<String> = script.cases().map(|c| runner.run(c)).collect();
        if let Some(sim) = &runner.sim {
            assert!(
                sim.violations().is_empty(),
                "{}: {:?}",
                path.display(),
                sim.violations()
            );
        }
        if rewrite {
            std::fs::write(&path, script.rewrite(&outputs)).unwrap();
            continue;
        }
        for (case, got) in script.cases().zip(&outputs) {
            if *got != case.expected {
                failures.push(format!(
                    "{}:{} `{}`\n--- expected\n{}\n--- printed\n{got}\n",
                    path.file_name().unwrap().to_string_lossy(),
                    case.line,
                    case.words.join(" "),
                    case.expected
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
