//! The checks etcd makes before a request reaches Raft (etcd `etcdserver/api/v3rpc/key.go`).
//!
//! A request that fails here is answered with the error at once and never proposed, so it
//! creates no revision and changes nothing. Apply never re-checks these rules.

use super::{DeleteRangeRequest, PutRequest, RangeRequest, Request, RequestOp, TxnRequest};
use crate::error::{DeleteError, EtcdError, PutError, RangeError, TxnError};
use bytes::Bytes;
use std::collections::BTreeSet;

/// Request limits that are server flags in etcd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `--max-txn-ops`: the most compares, success ops or failure ops one txn may hold.
    pub max_txn_ops: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_txn_ops: 128 }
    }
}

/// Checks a request the way etcd's gRPC layer does before proposing it.
pub fn validate(request: &Request, limits: &Limits) -> Result<(), EtcdError> {
    match request {
        Request::Range(r) => check_range(r).map_err(Into::into),
        Request::Put(r) => check_put(r).map_err(Into::into),
        Request::DeleteRange(r) => check_delete(r).map_err(Into::into),
        Request::Txn(r) => check_txn(r, limits).map_err(Into::into),
        // Lease and compaction requests have no API-layer checks; apply validates them.
        Request::Compaction(_)
        | Request::LeaseGrant(_)
        | Request::LeaseRevoke(_)
        | Request::LeaseCheckpoint(_)
        | Request::Alarm(_) => Ok(()),
    }
}

/// etcd `checkRangeRequest`.
pub fn check_range(r: &RangeRequest) -> Result<(), RangeError> {
    if r.key.is_empty() {
        return Err(RangeError::EmptyKey);
    }
    Ok(())
}

/// etcd `checkPutRequest`.
pub fn check_put(r: &PutRequest) -> Result<(), PutError> {
    if r.key.is_empty() {
        return Err(PutError::EmptyKey);
    }
    if r.ignore_value && !r.value.is_empty() {
        return Err(PutError::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(PutError::LeaseProvided);
    }
    Ok(())
}

/// etcd `checkDeleteRequest`.
pub fn check_delete(r: &DeleteRangeRequest) -> Result<(), DeleteError> {
    if r.key.is_empty() {
        return Err(DeleteError::EmptyKey);
    }
    Ok(())
}

/// etcd `Txn` pre-checks: operation counts and keys (`checkTxnRequest`), then the
/// duplicate-key rule for each branch (`checkIntervals`).
pub fn check_txn(r: &TxnRequest, limits: &Limits) -> Result<(), TxnError> {
    check_txn_ops(r, limits.max_txn_ops)?;
    check_intervals(&r.success)?;
    check_intervals(&r.failure)?;
    Ok(())
}

/// Counts and keys. A nested txn gets the budget its parent left over (etcd passes
/// `maxTxnOps - opc` down), so nesting cannot multiply the limit.
fn check_txn_ops(r: &TxnRequest, max_ops: usize) -> Result<(), TxnError> {
    let ops = r.compare.len().max(r.success.len()).max(r.failure.len());
    if ops > max_ops {
        return Err(TxnError::TooManyOps);
    }
    if r.compare.iter().any(|c| c.key.is_empty()) {
        return Err(TxnError::EmptyKey);
    }
    for op in r.success.iter().chain(&r.failure) {
        match op {
            RequestOp::Range(r) => check_range(r)?,
            RequestOp::Put(r) => check_put(r)?,
            RequestOp::DeleteRange(r) => check_delete(r)?,
            RequestOp::Txn(t) => check_txn_ops(t, max_ops - ops)?,
        }
    }
    Ok(())
}

/// A delete as etcd's duplicate check sees it: the literal byte interval `[key, range_end)`
/// (so a `"\0"` from-key end or an inverted range covers nothing), or the single key.
#[derive(Clone, Debug)]
enum DeletedKeys {
    Key(Bytes),
    Interval(Bytes, Bytes),
}

impl DeletedKeys {
    fn covers(&self, key: &[u8]) -> bool {
        match self {
            Self::Key(k) => k.as_ref() == key,
            Self::Interval(start, end) => start.as_ref() <= key && key < end.as_ref(),
        }
    }
}

/// etcd `checkIntervals`: within one list of operations, no key may be put twice or both put
/// and deleted, including through nested txns. Overlapping deletes are allowed, and the two
/// branches of a nested txn may put the same key (only one of them runs).
fn check_intervals(ops: &[RequestOp]) -> Result<(BTreeSet<Bytes>, Vec<DeletedKeys>), TxnError> {
    let mut dels: Vec<DeletedKeys> = ops
        .iter()
        .filter_map(|op| match op {
            RequestOp::DeleteRange(d) if d.range_end.is_empty() => {
                Some(DeletedKeys::Key(d.key.clone()))
            }
            RequestOp::DeleteRange(d) => {
                Some(DeletedKeys::Interval(d.key.clone(), d.range_end.clone()))
            }
            _ => None,
        })
        .collect();
    let deleted = |dels: &[DeletedKeys], k: &[u8]| dels.iter().any(|d| d.covers(k));

    let mut puts = BTreeSet::new();
    for op in ops {
        let RequestOp::Txn(nested) = op else { continue };
        let (puts_then, dels_then) = check_intervals(&nested.success)?;
        let (puts_else, dels_else) = check_intervals(&nested.failure)?;
        for k in &puts_then {
            if puts.contains(k) || deleted(&dels, k) {
                return Err(TxnError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        for k in &puts_else {
            if (puts.contains(k) && !puts_then.contains(k)) || deleted(&dels, k) {
                return Err(TxnError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }
    for op in ops {
        let RequestOp::Put(p) = op else { continue };
        if puts.contains(&p.key) || deleted(&dels, &p.key) {
            return Err(TxnError::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }
    fn put(k: &str) -> RequestOp {
        RequestOp::Put(PutRequest {
            key: b(k),
            value: b("v"),
            ..Default::default()
        })
    }
    fn del(k: &str, end: &str) -> RequestOp {
        RequestOp::DeleteRange(DeleteRangeRequest {
            key: b(k),
            range_end: b(end),
            prev_kv: false,
        })
    }
    fn get(k: &str) -> RequestOp {
        RequestOp::Range(RangeRequest {
            key: b(k),
            ..Default::default()
        })
    }
    fn txn(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> TxnRequest {
        TxnRequest {
            compare: vec![],
            success,
            failure,
        }
    }
    fn check(t: TxnRequest) -> Result<(), TxnError> {
        check_txn(&t, &Limits::default())
    }

    #[test]
    fn duplicate_key_rule_matches_etcd_3_4() {
        // Each case was sent to etcd 3.4.23 through its JSON gateway.
        assert_eq!(
            check(txn(vec![put("a"), put("a")], vec![])),
            Err(TxnError::DuplicateKey)
        );
        assert_eq!(
            check(txn(vec![put("m"), del("a", "z")], vec![])),
            Err(TxnError::DuplicateKey)
        );
        assert_eq!(
            check(txn(vec![del("a", ""), put("a")], vec![])),
            Err(TxnError::DuplicateKey)
        );
        assert_eq!(
            check(txn(vec![del("a", "c"), del("b", "d")], vec![])),
            Ok(()),
            "overlapping deletes"
        );
        assert_eq!(check(txn(vec![del("z", ""), del("z", "")], vec![])), Ok(()));
        assert_eq!(
            check(txn(vec![del("a", "\0"), put("a")], vec![])),
            Ok(()),
            "from-key covers nothing"
        );
        assert_eq!(
            check(txn(vec![del("c", "a"), put("c")], vec![])),
            Ok(()),
            "inverted covers nothing"
        );
        let both_branches = txn(vec![put("q")], vec![put("q")]);
        assert_eq!(
            check(txn(vec![RequestOp::Txn(both_branches)], vec![])),
            Ok(())
        );
        let nested = txn(vec![put("q")], vec![]);
        assert_eq!(
            check(txn(vec![put("q"), RequestOp::Txn(nested)], vec![])),
            Err(TxnError::DuplicateKey)
        );
        assert_eq!(
            check(txn(vec![put("a")], vec![put("a")])),
            Ok(()),
            "branches are separate"
        );
    }

    #[test]
    fn nested_txns_share_the_op_budget() {
        let ranges = |n| (0..n).map(|_| get("x")).collect::<Vec<_>>();
        let with_nested = |inner| {
            let mut ops = ranges(99);
            ops.push(RequestOp::Txn(txn(ranges(inner), vec![])));
            txn(ops, vec![])
        };
        assert_eq!(check(with_nested(28)), Ok(()));
        assert_eq!(check(with_nested(29)), Err(TxnError::TooManyOps));
        assert_eq!(check(txn(ranges(128), vec![])), Ok(()));
        assert_eq!(check(txn(ranges(129), vec![])), Err(TxnError::TooManyOps));
    }

    #[test]
    fn keys_and_flags() {
        assert_eq!(check(txn(vec![get("")], vec![])), Err(TxnError::EmptyKey));
        let p = PutRequest {
            key: b("k"),
            value: b("v"),
            ignore_value: true,
            ..Default::default()
        };
        assert_eq!(check_put(&p), Err(PutError::ValueProvided));
        let p = PutRequest {
            key: b("k"),
            lease: 7,
            ignore_lease: true,
            ..Default::default()
        };
        assert_eq!(check_put(&p), Err(PutError::LeaseProvided));
        assert_eq!(
            check_delete(&DeleteRangeRequest::default()),
            Err(DeleteError::EmptyKey)
        );
    }
}
