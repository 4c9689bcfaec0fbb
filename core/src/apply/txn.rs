//! Txn (etcd `applierV3backend.Txn` and helpers in `etcdserver/apply.go`).
//!
//! 1. Evaluate every compare — of the txn and of the nested txns in the branches that will
//!    run — against the store *before* the txn (nested compares do not see the outer txn's
//!    writes), giving the [`Path`] the txn takes.
//! 2. Check every operation on that path before writing anything: puts (`ignore_*` keys and
//!    leases must exist), then ranges (revision not compacted, not in the future). A failing
//!    txn changes nothing.
//! 3. Run the path in one write transaction: one revision, sub-revisions in operation order.
//!
//! Step 2 also catches one case etcd 3.4 misses: a `put --ignore-value` whose key an earlier
//! from-key delete of the same txn removed (etcd's duplicate check cannot see from-key
//! deletes, and its apply then panics). Orrery refuses it with `key not found`.

use super::kv::{self, ReadView};
use crate::error::TxnError;
use crate::lease::Lessor;
use crate::mvcc::{KeyRange, KeyValue, ReadOptions, Store, WriteTxn};
use crate::request::{
    Compare, CompareResult, CompareTarget, RequestOp, ResponseHeader, ResponseOp, TxnRequest,
    TxnResponse,
};
use std::cmp::Ordering;

/// The branch a txn takes, and recursively the branches of the nested txns in it (one per
/// nested txn, in operation order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Path {
    succeeded: bool,
    nested: Vec<Self>,
}

impl Path {
    fn ops<'a>(&self, r: &'a TxnRequest) -> &'a [RequestOp] {
        if self.succeeded {
            &r.success
        } else {
            &r.failure
        }
    }
}

/// Evaluates the compares of `r` and of the nested txns it will run.
pub(crate) fn path(store: &Store, r: &TxnRequest) -> Path {
    let succeeded = r.compare.iter().all(|c| compare_holds(store, c));
    let ops = if succeeded { &r.success } else { &r.failure };
    let nested = ops
        .iter()
        .filter_map(|op| match op {
            RequestOp::Txn(t) => Some(path(store, t)),
            _ => None,
        })
        .collect();
    Path { succeeded, nested }
}

/// Whether every key in the compare's range satisfies it. A missing key compares as all
/// zeros, except that a VALUE compare on a missing key is always false.
fn compare_holds(store: &Store, c: &Compare) -> bool {
    // Only a VALUE compare needs values (read back from the backend once evicted).
    let needs_value = matches!(c.target, CompareTarget::Value(_));
    let opts = ReadOptions {
        keys_only: !needs_value,
        ..ReadOptions::default()
    };
    let Ok(found) = store.read(&c.key_range(), opts) else {
        return false;
    };
    if found.kvs.is_empty() {
        return !needs_value && compare_kv(c, &KeyValue::default());
    }
    found.kvs.iter().all(|kv| compare_kv(c, kv))
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    let ord = match &c.target {
        CompareTarget::Version(v) => kv.version.cmp(v),
        CompareTarget::Create(v) => kv.create_revision.cmp(v),
        CompareTarget::Mod(v) => kv.mod_revision.cmp(v),
        CompareTarget::Value(v) => kv.value.as_ref().cmp(v.as_ref()),
        CompareTarget::Lease(v) => kv.lease.cmp(v),
    };
    match c.result {
        CompareResult::Equal => ord == Ordering::Equal,
        CompareResult::NotEqual => ord != Ordering::Equal,
        CompareResult::Greater => ord == Ordering::Greater,
        CompareResult::Less => ord == Ordering::Less,
    }
}

/// Checks the puts on the path, in execution order (etcd `checkRequestPut`).
pub(crate) fn check_puts(
    store: &Store,
    lessor: &Lessor,
    r: &TxnRequest,
    path: &Path,
    deleted: &mut Vec<KeyRange>,
) -> Result<(), TxnError> {
    let mut nested = path.nested.iter();
    for op in path.ops(r) {
        match op {
            RequestOp::Put(p) => {
                if p.ignore_value || p.ignore_lease {
                    let exists = store.key_index(&p.key).is_some_and(|ki| ki.is_live());
                    if !exists || deleted.iter().any(|d| d.contains(&p.key)) {
                        return Err(TxnError::KeyNotFound);
                    }
                }
                if p.lease != 0 && lessor.get(p.lease).is_none() {
                    return Err(TxnError::LeaseNotFound);
                }
            }
            RequestOp::DeleteRange(d) => deleted.push(d.key_range()),
            RequestOp::Range(_) => {}
            RequestOp::Txn(t) => {
                let sub = nested.next().expect("a path entry per nested txn");
                check_puts(store, lessor, t, sub, deleted)?;
            }
        }
    }
    Ok(())
}

/// Checks the ranges on the path (etcd `checkRequestRange`): revisions are checked against
/// the store before the txn.
pub(crate) fn check_ranges(store: &Store, r: &TxnRequest, path: &Path) -> Result<(), TxnError> {
    let mut nested = path.nested.iter();
    for op in path.ops(r) {
        match op {
            RequestOp::Range(rr) if rr.revision > store.revision() => {
                return Err(TxnError::FutureRev);
            }
            RequestOp::Range(rr) if rr.revision != 0 && rr.revision < store.compact_revision() => {
                return Err(TxnError::Compacted);
            }
            RequestOp::Txn(t) => {
                check_ranges(
                    store,
                    t,
                    nested.next().expect("a path entry per nested txn"),
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs a checked path in a write transaction. The top-level header is left for the caller
/// (it is the revision after the whole txn); a nested txn's header stays empty, as in etcd.
pub(crate) fn execute(txn: &mut WriteTxn<'_>, r: &TxnRequest, path: &Path) -> TxnResponse {
    let mut nested = path.nested.iter();
    let responses = path
        .ops(r)
        .iter()
        .map(|op| match op {
            RequestOp::Range(rr) => ResponseOp::Range(
                kv::range(txn, rr).expect("ranges were checked before the txn wrote"),
            ),
            RequestOp::Put(p) => {
                ResponseOp::Put(kv::put(txn, p).expect("puts were checked before the txn wrote"))
            }
            RequestOp::DeleteRange(d) => ResponseOp::DeleteRange(kv::delete_range(txn, d)),
            RequestOp::Txn(t) => {
                let sub = nested.next().expect("a path entry per nested txn");
                ResponseOp::Txn(execute(txn, t, sub))
            }
        })
        .collect();
    TxnResponse {
        header: ResponseHeader::default(),
        succeeded: path.succeeded,
        responses,
    }
}

/// Runs a read-only txn (no nested txns, only ranges) against the store.
pub(crate) fn execute_read_only(store: &Store, r: &TxnRequest, path: &Path) -> TxnResponse {
    debug_assert!(r.is_read_only());
    let responses = path
        .ops(r)
        .iter()
        .map(|op| match op {
            RequestOp::Range(rr) => {
                ResponseOp::Range(kv::range(store, rr).expect("ranges were checked before running"))
            }
            _ => unreachable!("a read-only txn holds only ranges"),
        })
        .collect();
    TxnResponse {
        header: ResponseHeader::at(store.revision()),
        succeeded: path.succeeded,
        responses,
    }
}
