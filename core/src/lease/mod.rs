//! Leases (etcd `lease/lessor.go`), driven by logical time the caller passes in.
//!
//! A lease has a replicated part — ID, granted TTL, checkpointed remaining TTL and attached
//! keys — changed only by apply, and a leader-only part — deadlines — that exists only while
//! this member is the *primary* lessor (the leader). Time is milliseconds of the caller's clock
//! (`now_ms`); the lessor never reads a clock and never deletes anything on its own: it
//! *reports* expired leases ([`Lessor::expired`]) and the leader proposes their revokes
//! through Raft, so every member deletes the keys at the same revision.
//!
//! ```text
//!          apply: grant / revoke / checkpoint / attach / detach   (replicated, hashed)
//!                               |
//!   promote(now) ──>  Lessor { leases, primary: Option<deadlines> }  <── demote()
//!                               |
//!   renew / time_to_live (leader) ──> expired(now) ──> leader proposes LeaseRevoke
//! ```
//!
//! A checkpointed remaining TTL is part of the replicated state, so it survives snapshots and
//! restarts (etcd 3.4 keeps it only with `--experimental-enable-lease-checkpoint-persist`, the
//! default from cluster version 3.6; without it, what a restart keeps depends on when bbolt
//! last committed).

mod id;
mod primary;

pub use id::IdGenerator;

use crate::error::LeaseError;
use bytes::Bytes;
use primary::Primary;
use std::collections::{BTreeMap, BTreeSet};

/// The largest TTL a lease may have, in seconds (etcd `MaxLeaseTTL`).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

const MS_PER_SECOND: u64 = 1000;

/// Lessor settings (etcd server flags and constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The smallest TTL granted, in seconds: etcd uses ceil(1.5 × election timeout), 2 s by
    /// default. Shorter requests are raised to it.
    pub min_ttl: i64,
    /// `--experimental-enable-lease-checkpoint`: the leader records remaining TTLs through
    /// Raft so a new leader does not give leases a fresh full TTL.
    pub checkpointing: bool,
    /// How often a lease's remaining TTL is checkpointed (etcd: 5 minutes).
    pub checkpoint_interval_ms: u64,
    /// How long after reporting a lease expired it is reported again if still not revoked
    /// (etcd: 3 s).
    pub expired_retry_ms: u64,
    /// The most leases one [`Lessor::expired`] call reports (etcd: 500 every 500 ms, i.e.
    /// 1000 revokes per second).
    pub max_expired_per_call: usize,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            min_ttl: 2,
            checkpointing: false,
            checkpoint_interval_ms: 5 * 60 * MS_PER_SECOND,
            expired_retry_ms: 3 * MS_PER_SECOND,
            max_expired_per_call: 500,
        }
    }
}

/// The replicated state of one lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The lease ID.
    pub id: i64,
    /// The granted TTL in seconds.
    pub ttl: i64,
    /// The remaining TTL recorded by the last checkpoint, in seconds (0 = none).
    pub remaining_ttl: i64,
    /// The attached keys.
    pub keys: BTreeSet<Bytes>,
}

impl Lease {
    /// The TTL a fresh deadline is computed from: the checkpointed remainder if any.
    fn effective_ttl(&self) -> i64 {
        if self.remaining_ttl > 0 {
            self.remaining_ttl
        } else {
            self.ttl
        }
    }
}

/// What [`Lessor::time_to_live`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeToLive {
    /// Seconds left, truncated toward zero (etcd: `int64(Remaining().Seconds())`).
    pub remaining: i64,
    /// The granted TTL.
    pub granted: i64,
    /// The attached keys in key order (empty unless asked for).
    pub keys: Vec<Bytes>,
}

/// The lessor: all leases, plus deadlines while this member is the primary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lessor {
    config: LeaseConfig,
    leases: BTreeMap<i64, Lease>,
    primary: Option<Primary>,
}

impl Lessor {
    /// An empty lessor, not primary.
    pub fn new(config: LeaseConfig) -> Self {
        Self {
            config,
            leases: BTreeMap::new(),
            primary: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// The lease `id`, if it exists.
    pub fn get(&self, id: i64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    /// Every lease, in ID order.
    pub fn iter(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values()
    }

    /// Whether this member is the primary lessor.
    pub fn is_primary(&self) -> bool {
        self.primary.is_some()
    }

    /// Applies a grant. A TTL below the minimum is raised to it. On the primary, the lease
    /// expires `ttl` seconds after `now_ms`.
    pub fn grant(&mut self, id: i64, ttl: i64, now_ms: u64) -> Result<&Lease, LeaseError> {
        if id == 0 {
            return Err(LeaseError::LeaseNotFound);
        }
        if ttl > MAX_LEASE_TTL {
            return Err(LeaseError::LeaseTtlTooLarge);
        }
        if self.leases.contains_key(&id) {
            return Err(LeaseError::LeaseExist);
        }
        let lease = Lease {
            id,
            ttl: ttl.max(self.config.min_ttl),
            remaining_ttl: 0,
            keys: BTreeSet::new(),
        };
        if let Some(p) = &mut self.primary {
            p.set_deadline(id, deadline(now_ms, lease.ttl, 0));
            schedule_checkpoint(p, &self.config, &lease, now_ms);
        }
        Ok(self.leases.entry(id).or_insert(lease))
    }

    /// Removes a lease that apply has just revoked (its keys are already deleted) and returns
    /// it. Use [`keys`](Self::keys) first to learn which keys to delete.
    pub fn remove(&mut self, id: i64) -> Result<Lease, LeaseError> {
        let lease = self.leases.remove(&id).ok_or(LeaseError::LeaseNotFound)?;
        if let Some(p) = &mut self.primary {
            p.remove(id);
        }
        Ok(lease)
    }

    /// The keys attached to lease `id`, in key order (the order a revoke deletes them in).
    pub fn keys(&self, id: i64) -> Result<Vec<Bytes>, LeaseError> {
        let lease = self.leases.get(&id).ok_or(LeaseError::LeaseNotFound)?;
        Ok(lease.keys.iter().cloned().collect())
    }

    /// Records that `key` is attached to lease `id` (apply, after a put with a lease).
    pub fn attach(&mut self, id: i64, key: Bytes) {
        let lease = self.leases.get_mut(&id);
        let lease = lease.unwrap_or_else(|| panic!("attach to unknown lease {id:x}"));
        lease.keys.insert(key);
    }

    /// Records that `key` left lease `id` (overwritten or deleted). A lease revoked in the
    /// same request is already gone, which is fine.
    pub fn detach(&mut self, id: i64, key: &[u8]) {
        if let Some(lease) = self.leases.get_mut(&id) {
            lease.keys.remove(key);
        }
    }

    /// Applies a checkpoint: records the lease's remaining TTL (0 clears it).
    pub fn checkpoint(&mut self, id: i64, remaining_ttl: i64, now_ms: u64) {
        let Some(lease) = self.leases.get_mut(&id) else {
            return; // etcd ignores checkpoints of unknown leases
        };
        lease.remaining_ttl = remaining_ttl;
        if let Some(p) = &mut self.primary {
            schedule_checkpoint(p, &self.config, lease, now_ms);
        }
    }

    /// Keep-alive on the primary: the lease's deadline moves to `now_ms + ttl`; returns the
    /// TTL. A lease past its deadline is as good as revoked (etcd waits for the revoke and then
    /// answers "not found"; a sans-IO core answers at once).
    pub fn renew(&mut self, id: i64, now_ms: u64) -> Result<i64, LeaseError> {
        let p = self.primary.as_mut().ok_or(LeaseError::NotLeader)?;
        let lease = self.leases.get(&id).ok_or(LeaseError::LeaseNotFound)?;
        if p.deadlines.get(id).is_some_and(|at| at <= now_ms) {
            return Err(LeaseError::LeaseNotFound);
        }
        if self.config.checkpointing && lease.remaining_ttl > 0 {
            p.pending_clears.insert(id);
        }
        p.set_deadline(id, deadline(now_ms, lease.ttl, 0));
        Ok(lease.ttl)
    }

    /// Time-to-live on the primary.
    pub fn time_to_live(&self, id: i64, keys: bool, now_ms: u64) -> Result<TimeToLive, LeaseError> {
        let p = self.primary.as_ref().ok_or(LeaseError::NotLeader)?;
        let lease = self.leases.get(&id).ok_or(LeaseError::LeaseNotFound)?;
        let at = p
            .deadlines
            .get(id)
            .expect("the primary has a deadline for every lease");
        Ok(TimeToLive {
            // Truncation toward zero, as Go's int64(float64 seconds).
            remaining: (at as i64 - now_ms as i64) / MS_PER_SECOND as i64,
            granted: lease.ttl,
            keys: if keys {
                lease.keys.iter().cloned().collect()
            } else {
                Vec::new()
            },
        })
    }

    /// All lease IDs: by deadline on the primary (as etcd sorts them), by ID elsewhere.
    pub fn lease_ids(&self) -> Vec<i64> {
        match &self.primary {
            Some(p) => p.deadlines.ids_by_time().collect(),
            None => self.leases.keys().copied().collect(),
        }
    }

    /// Leases past their deadline that the leader should revoke now (at most
    /// `max_expired_per_call`). A lease is reported again every `expired_retry_ms` until its
    /// revoke is applied. Empty unless primary.
    pub fn expired(&mut self, now_ms: u64) -> Vec<i64> {
        let Some(p) = &mut self.primary else {
            return Vec::new();
        };
        let due = p.reports.take_due(now_ms, self.config.max_expired_per_call);
        for &id in &due {
            debug_assert!(self.leases.contains_key(&id), "report for a removed lease");
            p.reports.set(id, now_ms + self.config.expired_retry_ms);
        }
        due
    }

    /// Checkpoints the leader should propose now (empty unless primary with checkpointing):
    /// pending clears after renewals, then leases whose checkpoint time came, with their
    /// remaining TTL rounded up (etcd `math.Ceil`).
    pub fn checkpoints_due(&mut self, now_ms: u64, limit: usize) -> Vec<(i64, i64)> {
        let Some(p) = self.primary.as_mut().filter(|_| self.config.checkpointing) else {
            return Vec::new();
        };
        let mut out: Vec<(i64, i64)> = Vec::new();
        while out.len() < limit {
            let Some(id) = p.pending_clears.pop_first() else {
                break;
            };
            out.push((id, 0));
        }
        for id in p.checkpoints.take_due(now_ms, limit - out.len()) {
            let (Some(lease), Some(at)) = (self.leases.get(&id), p.deadlines.get(id)) else {
                continue;
            };
            if at <= now_ms {
                continue; // expired: its revoke is on the way
            }
            let remaining = (at - now_ms).div_ceil(MS_PER_SECOND) as i64;
            if remaining < lease.ttl {
                out.push((id, remaining));
            }
        }
        out
    }

    /// Becomes the primary: every lease gets a fresh deadline of its (checkpointed) TTL plus
    /// `extend_ms` from `now_ms` (etcd extends by an election timeout). As etcd does, when 1000
    /// or more leases exist, expiries are spread so that at most 750 fall in any second.
    pub fn promote(&mut self, now_ms: u64, extend_ms: u64) {
        let mut p = Primary::default();
        for lease in self.leases.values() {
            p.set_deadline(lease.id, deadline(now_ms, lease.effective_ttl(), extend_ms));
            schedule_checkpoint(&mut p, &self.config, lease, now_ms);
        }
        spread_expiries(&mut p, now_ms);
        self.primary = Some(p);
    }

    /// Stops being the primary: deadlines are dropped (the next leader sets its own).
    pub fn demote(&mut self) {
        self.primary = None;
    }

    /// The earliest logical time at which [`expired`](Self::expired) or
    /// [`checkpoints_due`](Self::checkpoints_due) may return something.
    pub fn next_wakeup(&self) -> Option<u64> {
        self.primary.as_ref().and_then(Primary::next_wakeup)
    }

    pub(crate) fn insert_restored(&mut self, lease: Lease) {
        self.leases.insert(lease.id, lease);
    }
}

fn deadline(now_ms: u64, ttl_s: i64, extend_ms: u64) -> u64 {
    let ttl_ms = u64::try_from(ttl_s)
        .unwrap_or(0)
        .saturating_mul(MS_PER_SECOND);
    now_ms.saturating_add(extend_ms).saturating_add(ttl_ms)
}

fn schedule_checkpoint(p: &mut Primary, config: &LeaseConfig, lease: &Lease, now_ms: u64) {
    let interval_s = (config.checkpoint_interval_ms / MS_PER_SECOND) as i64;
    if config.checkpointing && lease.effective_ttl() > interval_s {
        p.checkpoints
            .set(lease.id, now_ms + config.checkpoint_interval_ms);
    }
}

/// etcd `Promote`'s pile-up avoidance, in integer milliseconds: walking leases by deadline,
/// once more than 750 fall within one second of a window's start, later ones are pushed back
/// in proportion.
fn spread_expiries(p: &mut Primary, now_ms: u64) {
    const REVOKE_RATE: usize = 1000;
    const TARGET_PER_SECOND: u64 = (3 * REVOKE_RATE as u64) / 4;
    if p.deadlines.ids_by_time().count() < REVOKE_RATE {
        return;
    }
    let ordered: Vec<(i64, u64)> = p
        .deadlines
        .ids_by_time()
        .map(|id| (id, p.deadlines.get(id).expect("listed")))
        .collect();
    let remaining = |at: u64| at.saturating_sub(now_ms);
    let mut base = remaining(ordered[0].1);
    let mut next_window = base + MS_PER_SECOND;
    let mut expires: u64 = 0;
    for (id, at) in ordered {
        let rem = remaining(at);
        if rem > next_window {
            base = rem;
            next_window = base + MS_PER_SECOND;
            expires = 1;
            continue;
        }
        expires += 1;
        if expires <= TARGET_PER_SECOND {
            continue;
        }
        let delay = (MS_PER_SECOND * expires / TARGET_PER_SECOND).saturating_sub(rem - base);
        next_window = base + delay;
        p.set_deadline(id, at + delay); // etcd: refresh(delay + extend)
    }
}

#[cfg(test)]
mod tests;
