//! Range, Put and DeleteRange over a read view (etcd `applierV3backend` in `etcdserver/apply.go`).

use crate::error::{PutError, RangeError};
use crate::mvcc::{KeyRange, KeyValue, ReadOptions, ReadResult, Store, WriteTxn};
use crate::request::{
    DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
    ResponseHeader, SortOrder, SortTarget,
};
use std::cmp::Ordering;

/// What range and compare need from the store: the committed store, or a write transaction
/// that sees its own changes.
pub(crate) trait ReadView {
    fn read(&self, range: &KeyRange, opts: ReadOptions) -> Result<ReadResult, RangeError>;
}

impl ReadView for Store {
    fn read(&self, range: &KeyRange, opts: ReadOptions) -> Result<ReadResult, RangeError> {
        self.range(range, opts)
    }
}

impl ReadView for WriteTxn<'_> {
    fn read(&self, range: &KeyRange, opts: ReadOptions) -> Result<ReadResult, RangeError> {
        self.range(range, opts)
    }
}

/// etcd's Range: fetch (one extra key to learn `more`, or everything when sorting or
/// filtering), prune by the min/max revision filters, sort, cut at the limit.
///
/// `count` is the number of keys in the range before the filters and the limit. Sorting is
/// stable, so keys with equal sort values stay in key order — what etcd's sort does for up to
/// 12 keys (Go's `sort.Sort` is an insertion sort there) and for any size when the target is
/// the key.
pub(crate) fn range(view: &impl ReadView, r: &RangeRequest) -> Result<RangeResponse, RangeError> {
    let filtered = r.min_mod_revision != 0
        || r.max_mod_revision != 0
        || r.min_create_revision != 0
        || r.max_create_revision != 0;
    let limit = usize::try_from(r.limit).unwrap_or(0);
    let fetch = if r.sort_order != SortOrder::None || filtered || limit == 0 {
        0
    } else {
        limit.saturating_add(1)
    };
    let opts = ReadOptions {
        limit: fetch,
        revision: r.revision,
        count_only: r.count_only,
        // Sorting by value needs the values; they are dropped after the sort.
        keys_only: r.keys_only && r.sort_target != SortTarget::Value,
    };
    let result = view.read(&r.key_range(), opts)?;
    let mut kvs = result.kvs;
    kvs.retain(|kv| {
        (r.max_mod_revision == 0 || kv.mod_revision <= r.max_mod_revision)
            && (r.min_mod_revision == 0 || kv.mod_revision >= r.min_mod_revision)
            && (r.max_create_revision == 0 || kv.create_revision <= r.max_create_revision)
            && (r.min_create_revision == 0 || kv.create_revision >= r.min_create_revision)
    });
    sort(&mut kvs, r.sort_order, r.sort_target);
    let more = limit > 0 && kvs.len() > limit;
    if more {
        kvs.truncate(limit);
    }
    if r.keys_only {
        kvs.iter_mut().for_each(|kv| kv.value = Default::default());
    }
    Ok(RangeResponse {
        header: ResponseHeader::at(result.revision),
        kvs,
        more,
        count: result.count as i64,
    })
}

fn sort(kvs: &mut [KeyValue], order: SortOrder, target: SortTarget) {
    // A target other than the key with no order means ascending (etcd's default).
    let order = match (order, target) {
        (SortOrder::None, SortTarget::Key) => return,
        (SortOrder::None, _) => SortOrder::Ascend,
        (o, _) => o,
    };
    let by = |a: &KeyValue, b: &KeyValue| -> Ordering {
        match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        }
    };
    match order {
        SortOrder::Descend => kvs.sort_by(|a, b| by(b, a)),
        _ => kvs.sort_by(by),
    }
}

/// etcd's Put inside a write transaction. The caller has checked that `p.lease` exists.
/// `ignore_value`/`ignore_lease` take the value/lease from the key's current state, which must
/// exist.
pub(crate) fn put(txn: &mut WriteTxn<'_>, p: &PutRequest) -> Result<PutResponse, PutError> {
    let wants_prev = p.prev_kv || p.ignore_value || p.ignore_lease;
    let prev = if wants_prev { txn.get(&p.key) } else { None };
    if (p.ignore_value || p.ignore_lease) && prev.is_none() {
        return Err(PutError::KeyNotFound);
    }
    let value = match &prev {
        Some(kv) if p.ignore_value => kv.value.clone(),
        _ => p.value.clone(),
    };
    let lease = match &prev {
        Some(kv) if p.ignore_lease => kv.lease,
        _ => p.lease,
    };
    let revision = txn.put(p.key.clone(), value, lease);
    Ok(PutResponse {
        header: ResponseHeader::at(revision),
        prev_kv: if p.prev_kv { prev } else { None },
    })
}

/// etcd's DeleteRange inside a write transaction. The header revision is the transaction's
/// revision once it changed anything, the current one otherwise.
pub(crate) fn delete_range(txn: &mut WriteTxn<'_>, d: &DeleteRangeRequest) -> DeleteRangeResponse {
    let range = d.key_range();
    let prev_kvs = if d.prev_kv {
        let all = txn.range(&range, ReadOptions::default());
        all.expect("a read at the transaction's own revision cannot fail")
            .kvs
    } else {
        Vec::new()
    };
    let deleted = txn.delete_range(&range);
    DeleteRangeResponse {
        header: ResponseHeader::at(txn.revision()),
        deleted,
        prev_kvs,
    }
}
