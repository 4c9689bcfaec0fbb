//! Cluster-wide alarms (etcd `etcdserver/api/v3alarm`): raised and cleared through Raft, so
//! every member agrees on them, and kept in snapshots, so they survive restarts. While a
//! NOSPACE alarm is active, writes that would grow the database fail with
//! `mvcc: database space exceeded` until an operator frees space and disarms it.

use crate::mvcc::RECORD_OVERHEAD;
use crate::request::{PutRequest, Request, RequestOp, TxnRequest};
use std::collections::BTreeSet;

/// What an alarm is about (etcd `AlarmType`, same numbering).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmType {
    /// No alarm (in a deactivate request: every alarm of the member).
    #[default]
    None,
    /// The database reached `--quota-backend-bytes`.
    NoSpace,
    /// Members' data diverged.
    Corrupt,
}

/// One raised alarm (etcd `AlarmMember`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlarmMember {
    /// The member that raised it.
    pub member_id: u64,
    /// What it is about.
    pub alarm: AlarmType,
}

/// The active alarms, in (member, type) order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlarmStore {
    active: BTreeSet<AlarmMember>,
}

impl AlarmStore {
    /// Raises `a`; returns it if it was not already active (etcd answers with the new one).
    pub fn activate(&mut self, a: AlarmMember) -> Option<AlarmMember> {
        (a.alarm != AlarmType::None && self.active.insert(a)).then_some(a)
    }

    /// Clears `a`; returns it if it was active.
    pub fn deactivate(&mut self, a: AlarmMember) -> Option<AlarmMember> {
        self.active.remove(&a).then_some(a)
    }

    /// Every active alarm.
    pub fn list(&self) -> Vec<AlarmMember> {
        self.active.iter().copied().collect()
    }

    /// Whether an alarm of this type is active on any member.
    pub fn is_active(&self, alarm: AlarmType) -> bool {
        self.active.iter().any(|a| a.alarm == alarm)
    }
}

/// Bytes a lease counts against the quota (etcd's `leaseOverhead`).
const LEASE_COST: u64 = 64;

/// What a request would add to the database, as etcd's quota estimates it before proposing:
/// a put counts its key, value and per-revision overhead; a txn counts its costlier branch;
/// a lease grant a fixed overhead; everything else nothing. Only requests that cost
/// something are refused while NOSPACE is active.
pub fn quota_cost(request: &Request) -> u64 {
    match request {
        Request::Put(p) => put_cost(p),
        Request::Txn(t) => txn_cost(t),
        Request::LeaseGrant(_) => LEASE_COST,
        _ => 0,
    }
}

fn put_cost(p: &PutRequest) -> u64 {
    p.key.len() as u64 + p.value.len() as u64 + RECORD_OVERHEAD
}

fn txn_cost(t: &TxnRequest) -> u64 {
    let branch = |ops: &[RequestOp]| -> u64 {
        ops.iter()
            .map(|op| match op {
                RequestOp::Put(p) => put_cost(p),
                RequestOp::Txn(t) => txn_cost(t),
                RequestOp::Range(_) | RequestOp::DeleteRange(_) => 0,
            })
            .sum()
    };
    branch(&t.success).max(branch(&t.failure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_are_raised_once_and_cleared_per_member() {
        let mut s = AlarmStore::default();
        let a = AlarmMember {
            member_id: 7,
            alarm: AlarmType::NoSpace,
        };
        assert_eq!(s.activate(a), Some(a));
        assert_eq!(s.activate(a), None, "already active");
        assert!(s.is_active(AlarmType::NoSpace));
        assert!(!s.is_active(AlarmType::Corrupt));
        let other = AlarmMember { member_id: 8, ..a };
        assert_eq!(s.deactivate(other), None);
        assert_eq!(s.deactivate(a), Some(a));
        assert!(s.list().is_empty());
        let none = AlarmMember {
            alarm: AlarmType::None,
            ..a
        };
        assert_eq!(s.activate(none), None, "NONE is not an alarm");
    }
}
