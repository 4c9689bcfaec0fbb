//! The generated operations. Revisions and compare operands are drawn *relative* to the
//! model's state when the operation runs (near the compaction revision, near the current one,
//! a key's current version ± 1), so both outcomes of every check come up often.

use super::reference::{in_span, Model, ModelKv};
use bytes::Bytes;
use orrery_core::request::*;
use proptest::prelude::*;
use proptest::sample::select;

/// A small key space so operations collide; `a` is a prefix of `a/1` and `a/2`.
pub const KEYS: [&str; 7] = ["a", "a/1", "a/2", "b", "b/1", "c", "d"];
const VALUES: [&str; 4] = ["", "x", "y", "z"];
pub const STREAMS: usize = 2;

fn bytes(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn key() -> impl Strategy<Value = &'static str> {
    select(KEYS.to_vec())
}

fn value() -> impl Strategy<Value = &'static str> {
    select(VALUES.to_vec())
}

/// Which keys an operation covers.
#[derive(Clone, Copy, Debug)]
pub enum Span {
    Key(&'static str),
    Prefix(&'static str),
    FromKey(&'static str),
    /// `[a, b)`, empty when `b <= a`.
    Between(&'static str, &'static str),
    All,
}

impl Span {
    /// etcd's `(key, range_end)` pair.
    pub fn encode(self) -> (Bytes, Bytes) {
        match self {
            Self::Key(k) => (bytes(k), Bytes::new()),
            Self::Prefix(k) => (bytes(k), orrery_core::mvcc::prefix_end(k.as_bytes())),
            Self::FromKey(k) => (bytes(k), Bytes::from_static(b"\0")),
            Self::Between(a, b) => (bytes(a), bytes(b)),
            Self::All => (Bytes::from_static(b"\0"), Bytes::from_static(b"\0")),
        }
    }

    /// The keys of [`KEYS`] the span covers.
    fn keys(self) -> Vec<&'static str> {
        let (start, end) = self.encode();
        KEYS.into_iter()
            .filter(|k| in_span(k.as_bytes(), &start, &end))
            .collect()
    }
}

/// A revision, resolved against the model when the operation runs.
#[derive(Clone, Copy, Debug)]
pub enum Rev {
    /// 0: the latest revision (for a watch: from now on).
    Latest,
    /// Uniform in `[1, current + 1]`.
    Any(u16),
    /// The compaction revision + d.
    NearCompacted(i64),
    /// The current revision + d.
    NearCurrent(i64),
}

impl Rev {
    /// The raw revision (may be ≤ 0 before the first compaction).
    pub fn resolve(self, m: &Model) -> i64 {
        match self {
            Self::Latest => 0,
            Self::Any(s) => 1 + i64::from(s) % (m.current() + 1),
            Self::NearCompacted(d) => m.compacted + d,
            Self::NearCurrent(d) => m.current() + d,
        }
    }

    /// A watch's start revision: 0 (from now on) stays, others are at least 1.
    pub fn watch_start(self, m: &Model) -> i64 {
        match self {
            Self::Latest => 0,
            other => other.resolve(m).max(1),
        }
    }
}

/// How a range reads.
#[derive(Clone, Debug)]
pub struct Read {
    span: Span,
    rev: Rev,
    limit: i64,
    order: SortOrder,
    target: SortTarget,
    keys_only: bool,
    count_only: bool,
    /// min mod, max mod, min create, max create (each `Any`-style when set).
    filters: [Option<u16>; 4],
}

/// What a compare looks at.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    Version,
    Create,
    Mod,
    Lease,
    /// Compared with this value, or (`None`) with the first key's current value.
    Value(Option<&'static str>),
}

/// One compare of a txn: a number is compared with the first key's current one + `delta`.
#[derive(Clone, Debug)]
pub struct Cmp {
    span: Span,
    field: Field,
    result: CompareResult,
    delta: i64,
}

#[derive(Clone, Debug)]
pub enum TxnOp {
    Put {
        key: &'static str,
        value: &'static str,
        prev_kv: bool,
    },
    Delete {
        span: Span,
        prev_kv: bool,
    },
    Range(Read),
}

#[derive(Clone, Debug)]
pub struct Txn {
    pub compare: Vec<Cmp>,
    pub success: Vec<TxnOp>,
    pub failure: Vec<TxnOp>,
    /// Drop writes that touch a key an earlier write of the branch touched.
    pub distinct: bool,
}

#[derive(Clone, Debug)]
pub enum Op {
    Put {
        key: &'static str,
        value: &'static str,
        prev_kv: bool,
        ignore_value: bool,
    },
    Delete {
        span: Span,
        prev_kv: bool,
    },
    Range(Read),
    Txn(Txn),
    Compact(Rev),
    /// Restore a snapshot into a fresh member (and maybe into this one too).
    Snapshot {
        restore_self: bool,
    },
    Watch {
        stream: usize,
        span: Span,
        start: Rev,
        no_put: bool,
        no_delete: bool,
        prev_kv: bool,
    },
    Poll {
        stream: usize,
        max: usize,
    },
    Sync,
}

// ----- strategies -----

/// A span; `single` weighs how often it is one key (reads get wider spans than writes, so
/// sorting, limits and filters have something to do).
fn span(single: u32) -> impl Strategy<Value = Span> {
    prop_oneof![
        single => key().prop_map(Span::Key),
        2 => key().prop_map(Span::Prefix),
        1 => key().prop_map(Span::FromKey),
        2 => (key(), key()).prop_map(|(a, b)| Span::Between(a, b)),
        1 => Just(Span::All),
    ]
}

fn rev() -> impl Strategy<Value = Rev> {
    prop_oneof![
        3 => Just(Rev::Latest),
        2 => any::<u16>().prop_map(Rev::Any),
        2 => (-1..=1i64).prop_map(Rev::NearCompacted),
        2 => (-1..=2i64).prop_map(Rev::NearCurrent),
    ]
}

fn read() -> impl Strategy<Value = Read> {
    let orders = select(vec![SortOrder::None, SortOrder::Ascend, SortOrder::Descend]);
    let targets = select(vec![
        SortTarget::Key,
        SortTarget::Version,
        SortTarget::Create,
        SortTarget::Mod,
        SortTarget::Value,
    ]);
    let filter = prop::option::weighted(0.1, any::<u16>());
    (
        (span(1), rev(), 0..4i64, orders, targets),
        (
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.1),
            prop::array::uniform4(filter),
        ),
    )
        .prop_map(
            |((span, rev, limit, order, target), (keys_only, count_only, filters))| Read {
                span,
                rev,
                limit,
                order,
                target,
                keys_only,
                count_only,
                filters,
            },
        )
}

fn cmp() -> impl Strategy<Value = Cmp> {
    let span = prop_oneof![6 => key().prop_map(Span::Key), 1 => key().prop_map(Span::Prefix)];
    let field = prop_oneof![
        select(vec![
            Field::Version,
            Field::Create,
            Field::Mod,
            Field::Lease
        ]),
        prop::option::of(value()).prop_map(Field::Value),
    ];
    let results = select(vec![
        CompareResult::Equal,
        CompareResult::Greater,
        CompareResult::Less,
        CompareResult::NotEqual,
    ]);
    (span, field, results, -1..=1i64).prop_map(|(span, field, result, delta)| Cmp {
        span,
        field,
        result,
        delta,
    })
}

fn txn_op() -> impl Strategy<Value = TxnOp> {
    prop_oneof![
        3 => (key(), value(), any::<bool>())
            .prop_map(|(key, value, prev_kv)| TxnOp::Put { key, value, prev_kv }),
        2 => (span(4), any::<bool>()).prop_map(|(span, prev_kv)| TxnOp::Delete { span, prev_kv }),
        2 => read().prop_map(TxnOp::Range),
    ]
}

fn txn() -> impl Strategy<Value = Txn> {
    let branch = || prop::collection::vec(txn_op(), 0..4);
    (
        prop::collection::vec(cmp(), 1..=2),
        branch(),
        branch(),
        prop::bool::weighted(0.85),
    )
        .prop_map(|(compare, success, failure, distinct)| Txn {
            compare,
            success,
            failure,
            distinct,
        })
}

/// Key-value operations and snapshots.
pub fn kv_op() -> BoxedStrategy<Op> {
    prop_oneof![
        8 => (key(), value(), any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(key, value, prev_kv, ignore_value)| Op::Put {
                key, value, prev_kv, ignore_value
            }),
        2 => (span(4), any::<bool>()).prop_map(|(span, prev_kv)| Op::Delete { span, prev_kv }),
        4 => read().prop_map(Op::Range),
        4 => txn().prop_map(Op::Txn),
        2 => rev().prop_map(Op::Compact),
        1 => any::<bool>().prop_map(|restore_self| Op::Snapshot { restore_self }),
    ]
    .boxed()
}

/// Key-value operations, snapshots, and watchers created and drained at random points.
pub fn watch_op() -> BoxedStrategy<Op> {
    // One watcher in ten filters puts or deletes out.
    let watch = (0..STREAMS, span(4), rev(), 0..20u8, any::<bool>()).prop_map(
        |(stream, span, start, filter, prev_kv)| Op::Watch {
            stream,
            span,
            start,
            no_put: filter == 0,
            no_delete: filter == 1,
            prev_kv,
        },
    );
    prop_oneof![
        10 => kv_op(),
        2 => watch,
        3 => (0..STREAMS, 1..4usize).prop_map(|(stream, max)| Op::Poll { stream, max }),
        2 => Just(Op::Sync),
    ]
    .boxed()
}

// ----- resolution into requests -----

impl Read {
    pub fn request(&self, m: &Model) -> RangeRequest {
        let (key, range_end) = self.span.encode();
        let filter = |f: Option<u16>| f.map_or(0, |s| Rev::Any(s).resolve(m));
        RangeRequest {
            key,
            range_end,
            limit: self.limit,
            revision: self.rev.resolve(m).max(0),
            sort_order: self.order,
            sort_target: self.target,
            keys_only: self.keys_only,
            count_only: self.count_only,
            min_mod_revision: filter(self.filters[0]),
            max_mod_revision: filter(self.filters[1]),
            min_create_revision: filter(self.filters[2]),
            max_create_revision: filter(self.filters[3]),
            ..RangeRequest::default()
        }
    }
}

impl Cmp {
    fn compare(&self, m: &Model) -> Compare {
        let (key, range_end) = self.span.encode();
        let first = m
            .latest()
            .iter()
            .find(|(k, _)| in_span(k, &key, &range_end));
        let near = |f: fn(&ModelKv) -> i64| first.map_or(0, |(_, kv)| f(kv)) + self.delta;
        let target = match self.field {
            Field::Version => CompareTarget::Version(near(|kv| kv.version)),
            Field::Create => CompareTarget::Create(near(|kv| kv.create)),
            Field::Mod => CompareTarget::Mod(near(|kv| kv.modified)),
            Field::Lease => CompareTarget::Lease(self.delta),
            Field::Value(Some(v)) => CompareTarget::Value(bytes(v)),
            Field::Value(None) => {
                CompareTarget::Value(first.map_or(bytes("x"), |(_, kv)| kv.value.clone()))
            }
        };
        Compare {
            key,
            range_end,
            result: self.result,
            target,
        }
    }
}

/// The branch's operations; with `distinct`, writes touching a key that an earlier write
/// already touched are left out.
fn branch(ops: &[TxnOp], distinct: bool, m: &Model) -> Vec<RequestOp> {
    let mut touched = Vec::new();
    let mut out = Vec::new();
    for op in ops {
        let keys = match op {
            TxnOp::Put { key, .. } => vec![*key],
            TxnOp::Delete { span, .. } => span.keys(),
            TxnOp::Range(_) => Vec::new(),
        };
        if distinct && keys.iter().any(|k| touched.contains(k)) {
            continue;
        }
        touched.extend(keys);
        out.push(match op {
            TxnOp::Put {
                key,
                value,
                prev_kv,
            } => RequestOp::Put(PutRequest {
                key: bytes(key),
                value: bytes(value),
                prev_kv: *prev_kv,
                ..PutRequest::default()
            }),
            TxnOp::Delete { span, prev_kv } => RequestOp::DeleteRange(delete(*span, *prev_kv)),
            TxnOp::Range(r) => RequestOp::Range(r.request(m)),
        });
    }
    out
}

fn delete(span: Span, prev_kv: bool) -> DeleteRangeRequest {
    let (key, range_end) = span.encode();
    DeleteRangeRequest {
        key,
        range_end,
        prev_kv,
    }
}

impl Op {
    /// The request a key-value operation sends, drawn against the model's current state.
    pub fn request(&self, m: &Model) -> Option<Request> {
        Some(match self {
            Self::Put {
                key,
                value,
                prev_kv,
                ignore_value,
            } => Request::Put(PutRequest {
                key: bytes(key),
                value: if *ignore_value {
                    Bytes::new()
                } else {
                    bytes(value)
                },
                prev_kv: *prev_kv,
                ignore_value: *ignore_value,
                ..PutRequest::default()
            }),
            Self::Delete { span, prev_kv } => Request::DeleteRange(delete(*span, *prev_kv)),
            Self::Range(r) => Request::Range(r.request(m)),
            Self::Txn(t) => Request::Txn(TxnRequest {
                compare: t.compare.iter().map(|c| c.compare(m)).collect(),
                success: branch(&t.success, t.distinct, m),
                failure: branch(&t.failure, t.distinct, m),
            }),
            Self::Compact(rev) => Request::Compaction(CompactionRequest {
                revision: rev.resolve(m),
                physical: false,
            }),
            _ => return None,
        })
    }
}
