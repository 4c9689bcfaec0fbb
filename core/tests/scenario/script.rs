//! The scenario command language, parsed into backend-independent [`Op`]s.
//!
//! ```text
//! put <key> <value> [lease=ID] [prev-kv] [ignore-value] [ignore-lease]
//! get <key> [<end>] [prefix] [from-key] [rev=N] [limit=N] [sort=key|version|create|mod|value]
//!     [order=none|ascend|descend] [keys-only] [count-only] [min-mod=N] [max-mod=N]
//!     [min-create=N] [max-create=N]
//! del <key> [<end>] [prefix] [from-key] [prev-kv]
//! txn                                  input lines:
//!   compare <version|create|mod|value|lease> <key> [<end>|prefix|from-key] <=|!=|<|>> <value>
//!   success <put|get|del ...>          (also `failure ...`)
//!   success txn                        then the nested txn's lines, indented two more spaces
//! compact <rev> [physical]
//! lease-grant <ttl> id=ID   lease-revoke <id>   keep-alive <id>   lease-list
//! lease-ttl <id> [keys] [remaining]
//! watch <key> [<end>] [prefix] [from-key] [rev=N] [prev-kv] [noput] [nodelete] [fragment]
//!       [progress-notify] [id=N] [stream=NAME]
//! watch-events                          print what every watch stream received since last time
//! core only: hash [rev=N], index <key>, snapshot, tick <ms>, expire, promote, demote,
//!            watch-cancel <stream> <id>, watch-progress <stream>, watch-sync, watch-progress-tick
//! ```
//!
//! Keys and values are Latin-1 words (`"\x00"`, `"\xff"` and `""` via quotes). A block whose
//! command carries `core-only` is not sent to etcd.

use super::datadriven::Case;
use bytes::Bytes;
use orrery_core::mvcc::prefix_end;
use orrery_core::request::*;
use orrery_core::watch::WatchCreateRequest;
use std::collections::BTreeMap;

/// One scenario step.
#[derive(Clone, Debug)]
pub enum Op {
    /// A request applied (or, for reads, served) as the member would.
    Request(Request),
    KeepAlive(i64),
    TimeToLive {
        id: i64,
        keys: bool,
        remaining: bool,
    },
    LeaseList,
    Hash(i64),
    Index(Bytes),
    Snapshot,
    Tick(u64),
    Expire,
    Promote,
    Demote,
    Watch {
        stream: Option<String>,
        req: WatchCreateRequest,
    },
    WatchEvents,
    WatchCancel {
        stream: String,
        id: i64,
    },
    WatchProgress {
        stream: String,
    },
    WatchSync,
    WatchProgressTick,
}

impl Op {
    /// Whether only the core can run it (etcd cannot be driven that way over its gateway).
    pub fn core_only(&self) -> bool {
        match self {
            Self::Request(_) | Self::KeepAlive(_) | Self::LeaseList | Self::WatchEvents => false,
            Self::TimeToLive { remaining, .. } => *remaining,
            Self::Watch { stream, .. } => stream.is_some(),
            _ => true,
        }
    }
}

const FLAGS: &[&str] = &[
    "prefix",
    "from-key",
    "prev-kv",
    "ignore-value",
    "ignore-lease",
    "keys-only",
    "count-only",
    "noput",
    "nodelete",
    "fragment",
    "progress-notify",
    "physical",
    "keys",
    "remaining",
    "core-only",
];

/// A command's arguments: positional words first, then flags and `key=value` pairs.
struct Args {
    pos: Vec<String>,
    flags: Vec<String>,
    named: BTreeMap<String, String>,
}

impl Args {
    fn new(words: &[String]) -> Self {
        let mut args = Self {
            pos: vec![],
            flags: vec![],
            named: BTreeMap::new(),
        };
        for w in words {
            let named = w.contains('=') && w.chars().next().is_some_and(char::is_alphabetic);
            let is_option = FLAGS.contains(&w.as_str()) || named;
            if !is_option && args.flags.is_empty() && args.named.is_empty() {
                args.pos.push(w.clone());
            } else if let Some((k, v)) = w.split_once('=').filter(|_| !FLAGS.contains(&w.as_str()))
            {
                args.named.insert(k.to_owned(), v.to_owned());
            } else {
                args.flags.push(w.clone());
            }
        }
        args
    }

    fn flag(&mut self, name: &str) -> bool {
        let found = self.flags.iter().position(|f| f == name);
        found.map(|i| self.flags.remove(i)).is_some()
    }

    fn int(&mut self, name: &str) -> i64 {
        self.named.remove(name).map_or(0, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        })
    }

    fn text(&mut self, name: &str) -> Option<String> {
        self.named.remove(name)
    }

    fn pos_bytes(&self, i: usize) -> Bytes {
        let w = self
            .pos
            .get(i)
            .unwrap_or_else(|| panic!("missing argument {}", i + 1));
        latin1(w)
    }

    fn pos_int(&self, i: usize) -> i64 {
        let w = self
            .pos
            .get(i)
            .unwrap_or_else(|| panic!("missing argument {}", i + 1));
        w.parse().unwrap_or_else(|_| panic!("{w}: not a number"))
    }

    /// The `(key, range_end)` of a key argument with optional end / prefix / from-key.
    fn key_range(&mut self) -> (Bytes, Bytes) {
        let key = self.pos_bytes(0);
        let end = if self.flag("prefix") {
            prefix_end(&key)
        } else if self.flag("from-key") {
            Bytes::from_static(&[0])
        } else if self.pos.len() > 1 {
            self.pos_bytes(1)
        } else {
            Bytes::new()
        };
        (key, end)
    }

    fn done(mut self) {
        self.flag("core-only");
        assert!(
            self.flags.is_empty() && self.named.is_empty(),
            "unknown arguments {:?} {:?}",
            self.flags,
            self.named
        );
    }
}

/// Keys and values as Latin-1: each char is one byte.
pub fn latin1(w: &str) -> Bytes {
    w.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{w:?}: not Latin-1")))
        .collect::<Vec<u8>>()
        .into()
}

/// Parses one block into an op.
pub fn parse(case: &Case) -> Op {
    let (cmd, rest) = case.words.split_first().expect("a command");
    let mut a = Args::new(rest);
    let op = match cmd.as_str() {
        "put" => Op::Request(Request::Put(parse_put(&mut a))),
        "get" => Op::Request(Request::Range(parse_get(&mut a))),
        "del" => Op::Request(Request::DeleteRange(parse_del(&mut a))),
        "txn" => Op::Request(Request::Txn(parse_txn(&case.input, 0))),
        "compact" => Op::Request(Request::Compaction(CompactionRequest {
            revision: a.pos_int(0),
            physical: a.flag("physical"),
        })),
        "lease-grant" => Op::Request(Request::LeaseGrant(LeaseGrantRequest {
            ttl: a.pos_int(0),
            id: a.int("id"),
        })),
        "lease-revoke" => Op::Request(Request::LeaseRevoke(LeaseRevokeRequest {
            id: a.pos_int(0),
        })),
        "keep-alive" => Op::KeepAlive(a.pos_int(0)),
        "lease-ttl" => Op::TimeToLive {
            id: a.pos_int(0),
            keys: a.flag("keys"),
            remaining: a.flag("remaining"),
        },
        "lease-list" => Op::LeaseList,
        "hash" => Op::Hash(a.int("rev")),
        "index" => Op::Index(a.pos_bytes(0)),
        "snapshot" => Op::Snapshot,
        "tick" => Op::Tick(u64::try_from(a.pos_int(0)).expect("ms >= 0")),
        "expire" => Op::Expire,
        "promote" => Op::Promote,
        "demote" => Op::Demote,
        "watch" => {
            let (key, range_end) = a.key_range();
            let req = WatchCreateRequest {
                key,
                range_end,
                start_revision: a.int("rev"),
                progress_notify: a.flag("progress-notify"),
                no_put: a.flag("noput"),
                no_delete: a.flag("nodelete"),
                prev_kv: a.flag("prev-kv"),
                watch_id: a.int("id"),
                fragment: a.flag("fragment"),
            };
            Op::Watch {
                stream: a.text("stream"),
                req,
            }
        }
        "watch-events" => Op::WatchEvents,
        "watch-cancel" => Op::WatchCancel {
            stream: a.pos[0].clone(),
            id: a.pos_int(1),
        },
        "watch-progress" => Op::WatchProgress {
            stream: a.pos[0].clone(),
        },
        "watch-sync" => Op::WatchSync,
        "watch-progress-tick" => Op::WatchProgressTick,
        other => panic!("unknown command {other:?}"),
    };
    a.done();
    op
}

fn parse_put(a: &mut Args) -> PutRequest {
    PutRequest {
        key: a.pos_bytes(0),
        value: if a.pos.len() > 1 {
            a.pos_bytes(1)
        } else {
            Bytes::new()
        },
        lease: a.int("lease"),
        prev_kv: a.flag("prev-kv"),
        ignore_value: a.flag("ignore-value"),
        ignore_lease: a.flag("ignore-lease"),
    }
}

fn parse_get(a: &mut Args) -> RangeRequest {
    let (key, range_end) = a.key_range();
    RangeRequest {
        key,
        range_end,
        limit: a.int("limit"),
        revision: a.int("rev"),
        sort_target: match a.text("sort").as_deref() {
            None | Some("key") => SortTarget::Key,
            Some("version") => SortTarget::Version,
            Some("create") => SortTarget::Create,
            Some("mod") => SortTarget::Mod,
            Some("value") => SortTarget::Value,
            Some(other) => panic!("sort={other}"),
        },
        sort_order: match a.text("order").as_deref() {
            None | Some("none") => SortOrder::None,
            Some("ascend") => SortOrder::Ascend,
            Some("descend") => SortOrder::Descend,
            Some(other) => panic!("order={other}"),
        },
        serializable: false,
        keys_only: a.flag("keys-only"),
        count_only: a.flag("count-only"),
        min_mod_revision: a.int("min-mod"),
        max_mod_revision: a.int("max-mod"),
        min_create_revision: a.int("min-create"),
        max_create_revision: a.int("max-create"),
    }
}

fn parse_del(a: &mut Args) -> DeleteRangeRequest {
    let (key, range_end) = a.key_range();
    DeleteRangeRequest {
        key,
        range_end,
        prev_kv: a.flag("prev-kv"),
    }
}

/// Parses txn lines at `indent` spaces; deeper lines belong to the previous nested `txn`.
fn parse_txn(lines: &[String], indent: usize) -> TxnRequest {
    let mut txn = TxnRequest::default();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i][indent.min(lines[i].len())..];
        let words = super::datadriven::split_words(line).expect("txn line");
        i += 1;
        let (kind, rest) = words.split_first().expect("a txn line");
        if kind == "compare" {
            txn.compare.push(parse_compare(rest));
            continue;
        }
        let (op, args) = rest.split_first().expect("an operation");
        let mut a = Args::new(args);
        let request = match op.as_str() {
            "put" => RequestOp::Put(parse_put(&mut a)),
            "get" => RequestOp::Range(parse_get(&mut a)),
            "del" => RequestOp::DeleteRange(parse_del(&mut a)),
            "txn" => {
                let nested: Vec<String> = lines[i..]
                    .iter()
                    .take_while(|l| l.len() > indent + 2 && l[..indent + 2].trim().is_empty())
                    .cloned()
                    .collect();
                i += nested.len();
                RequestOp::Txn(parse_txn(&nested, indent + 2))
            }
            other => panic!("unknown txn operation {other:?}"),
        };
        a.done();
        match kind.as_str() {
            "success" => txn.success.push(request),
            "failure" => txn.failure.push(request),
            other => panic!("txn line starts with {other:?}, not compare/success/failure"),
        }
    }
    txn
}

fn parse_compare(words: &[String]) -> Compare {
    let [target, key, middle @ .., op, value] = words else {
        panic!("compare <target> <key> [<end>|prefix|from-key] <op> <value>: {words:?}")
    };
    let key = latin1(key);
    let range_end = match middle {
        [] => Bytes::new(),
        [m] if m == "prefix" => prefix_end(&key),
        [m] if m == "from-key" => Bytes::from_static(&[0]),
        [end] => latin1(end),
        _ => panic!("compare: too many words {words:?}"),
    };
    let int = || {
        value
            .parse::<i64>()
            .unwrap_or_else(|_| panic!("{value}: not a number"))
    };
    let target = match target.as_str() {
        "version" => CompareTarget::Version(int()),
        "create" => CompareTarget::Create(int()),
        "mod" => CompareTarget::Mod(int()),
        "lease" => CompareTarget::Lease(int()),
        "value" => CompareTarget::Value(latin1(value)),
        other => panic!("compare target {other:?}"),
    };
    let result = match op.as_str() {
        "=" => CompareResult::Equal,
        "!=" => CompareResult::NotEqual,
        "<" => CompareResult::Less,
        ">" => CompareResult::Greater,
        other => panic!("compare operator {other:?}"),
    };
    Compare {
        key,
        range_end,
        result,
        target,
    }
}
