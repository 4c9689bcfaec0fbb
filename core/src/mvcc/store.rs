//! The multi-version store (etcd `mvcc/kvstore.go`, `kvstore_txn.go`).
//!
//! Two structures, as in etcd: `records` maps every retained revision to the key's state at
//! that revision (etcd's bbolt `key` bucket, ordered by revision, so history replays in order),
//! and `index` maps every key to its [`KeyIndex`] (etcd's in-memory B-tree), so reads by key
//! find the right revision.
//!
//! Writes go through a [`WriteTxn`]: all changes of one request share one main revision and get
//! sub-revisions in operation order; a transaction that changes nothing creates no revision.

use super::cold::ColdValues;
use super::key_index::KeyIndex;
use super::key_range::KeyRange;
use super::kv::{Event, EventType, KeyValue};
use super::record_log::RecordLog;
use super::revision::Revision;
use crate::error::{CompactError, RangeError};
use bytes::Bytes;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// One retained revision of one key: its full state, or a tombstone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// The key's state; for a tombstone only `key` and `mod_revision` are set. Once the
    /// value is evicted (see [`super::cold`]) `kv.value` is empty: read the record through
    /// [`Store::record_kv`].
    pub(crate) kv: KeyValue,
    /// Whether this revision deleted the key.
    pub(crate) tombstone: bool,
    /// Whether the value left memory (then `evicted_len` is its length).
    pub(crate) evicted: bool,
    pub(crate) evicted_len: u32,
}

/// Bytes counted per retained revision beyond its key and value (its revision, create
/// revision, version, lease and index entry), like the per-key overhead etcd's quota adds.
pub(crate) const RECORD_OVERHEAD: u64 = 64;

impl Record {
    /// A record whose value is in memory.
    pub(crate) fn new(kv: KeyValue, tombstone: bool) -> Self {
        Self {
            kv,
            tombstone,
            evicted: false,
            evicted_len: 0,
        }
    }

    /// The value's length, in memory or not.
    pub(crate) fn value_len(&self) -> u64 {
        if self.evicted {
            u64::from(self.evicted_len)
        } else {
            self.kv.value.len() as u64
        }
    }

    /// What this revision counts against the space quota.
    pub(crate) fn size(&self) -> u64 {
        self.kv.key.len() as u64 + self.value_len() + RECORD_OVERHEAD
    }

    /// The event of this record, whose full key-value `kv` is.
    pub(crate) fn event(&self, kv: KeyValue) -> Event {
        Event {
            kind: if self.tombstone {
                EventType::Delete
            } else {
                EventType::Put
            },
            kv,
            prev_kv: None,
        }
    }
}

/// How to read a range (the store-level part of etcd's `RangeOptions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Stop collecting after this many keys (0 = no limit). `count` still counts every key.
    pub limit: usize,
    /// Read as of this revision; ≤ 0 means the current revision.
    pub revision: i64,
    /// Only count the keys; return none.
    pub count_only: bool,
    /// Return the keys with empty values (an evicted value is not read back).
    pub keys_only: bool,
}

/// The result of reading a range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadResult {
    /// The keys found, in key order, cut at the limit.
    pub kvs: Vec<KeyValue>,
    /// How many keys the range holds at the revision read, ignoring the limit.
    pub count: usize,
    /// The store's current revision when the read ran (not the revision read at).
    pub revision: i64,
}

/// One change made by a write transaction, for watchers and the lessor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The event as watchers see it (without `prev_kv`).
    pub event: Event,
    /// The lease the key was attached to before this change (0 = none).
    pub prev_lease: i64,
}

/// The multi-version key-value store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    pub(crate) index: BTreeMap<Bytes, KeyIndex>,
    pub(crate) records: RecordLog,
    /// Where evicted values are read back from (none: values never leave memory).
    pub(crate) cold: ColdValues,
    /// Every record up to this main revision had its value evicted, if it had one.
    pub(crate) evicted_through: i64,
    pub(crate) current: i64,
    pub(crate) compacted: i64,
    /// [`Record::size`] summed over `records`: the store's stand-in for etcd's database
    /// size, which the space quota is checked against.
    pub(crate) size: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store at revision 1, never compacted (etcd: `currentRev 1`, `compactMainRev -1`).
    pub fn new() -> Self {
        Self {
            index: BTreeMap::new(),
            records: RecordLog::default(),
            cold: ColdValues::default(),
            evicted_through: 0,
            current: 1,
            compacted: -1,
            size: 0,
        }
    }

    /// The current revision: the revision of the last change (1 for a new store).
    pub fn revision(&self) -> i64 {
        self.current
    }

    /// The revision of the last compaction, or -1 if the store was never compacted.
    pub fn compact_revision(&self) -> i64 {
        self.compacted
    }

    /// Bytes the retained history takes (keys, values and a fixed overhead per revision):
    /// what the space quota counts and `Status.dbSize` reports. Compaction lowers it.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// Adds a record, keeping [`Store::size_bytes`] up to date.
    pub(crate) fn insert_record(&mut self, rev: Revision, record: Record) {
        self.size += record.size();
        self.records.push(rev, record);
    }

    /// How many revisions (puts and tombstones) the store retains.
    pub fn retained_revisions(&self) -> usize {
        self.records.len()
    }

    /// How many keys have history in the index (live or with retained tombstones).
    pub fn indexed_keys(&self) -> usize {
        self.index.len()
    }

    /// The key index of `key`, if it has history.
    pub fn key_index(&self, key: &[u8]) -> Option<&KeyIndex> {
        self.index.get(key)
    }

    /// Reads `range` as of `opts.revision`, as etcd's `rangeKeys` does.
    pub fn range(&self, range: &KeyRange, opts: ReadOptions) -> Result<ReadResult, RangeError> {
        self.range_at(range, opts, self.current)
    }

    /// Reads `range` with `current` as the current revision (a write txn sees its own changes).
    fn range_at(
        &self,
        range: &KeyRange,
        opts: ReadOptions,
        current: i64,
    ) -> Result<ReadResult, RangeError> {
        let at = self.check_read_revision(opts.revision, current)?;
        let mut result = ReadResult {
            revision: current,
            ..ReadResult::default()
        };
        let Some(bounds) = range.bounds() else {
            return Ok(result);
        };
        for ki in self.index.range::<[u8], _>(bounds).map(|(_, ki)| ki) {
            let Some(rev) = ki.get(at) else { continue };
            result.count += 1;
            if !opts.count_only && (opts.limit == 0 || result.kvs.len() < opts.limit) {
                result.kvs.push(if opts.keys_only {
                    KeyValue {
                        value: Bytes::new(),
                        ..self.record(rev).kv.clone()
                    }
                } else {
                    self.kv_at(rev)
                });
            }
        }
        Ok(result)
    }

    /// The revision a read at `requested` sees: ≤ 0 means `current`.
    fn check_read_revision(&self, requested: i64, current: i64) -> Result<i64, RangeError> {
        if requested > current {
            return Err(RangeError::FutureRev);
        }
        let at = if requested <= 0 { current } else { requested };
        if at < self.compacted {
            return Err(RangeError::Compacted);
        }
        Ok(at)
    }

    /// The state of `key` as of main revision `at`, if it existed then and history still has it.
    pub fn get(&self, key: &[u8], at: i64) -> Option<KeyValue> {
        if at < self.compacted || at > self.current {
            return None;
        }
        let rev = self.index.get(key)?.get(at)?;
        Some(self.kv_at(rev))
    }

    /// The full key-value of the record at `rev`, its value read back if it was evicted.
    fn kv_at(&self, rev: Revision) -> KeyValue {
        self.record_kv(rev, self.record(rev)).into_owned()
    }

    pub(crate) fn record(&self, rev: Revision) -> &Record {
        let record = self
            .records
            .get(rev)
            .unwrap_or_else(|| panic!("index points at revision {rev}, which the store lacks"));
        debug_assert_eq!(record.kv.mod_revision, rev.main);
        record
    }

    /// Starts a write transaction. Its changes become visible to later reads at once and are
    /// committed as one revision by [`WriteTxn::end`].
    pub fn write(&mut self) -> WriteTxn<'_> {
        let begin = self.current;
        WriteTxn {
            store: self,
            begin,
            changes: Vec::new(),
        }
    }

    /// Compacts history at revision `rev`: reads below it fail from now on, `rev` itself stays
    /// readable (see [`KeyIndex`] for what is kept).
    pub fn compact(&mut self, rev: i64) -> Result<(), CompactError> {
        self.compact_removing(rev).map(drop)
    }

    /// [`Store::compact`], returning the revisions it removed (in revision order).
    pub fn compact_removing(&mut self, rev: i64) -> Result<Vec<Revision>, CompactError> {
        if rev <= self.compacted {
            return Err(CompactError::Compacted);
        }
        if rev > self.current {
            return Err(CompactError::FutureRev);
        }
        let mut removed = Vec::new();
        self.index.retain(|_, ki| {
            ki.compact(rev, &mut removed);
            !ki.is_empty()
        });
        let size = &mut self.size;
        self.records
            .remove_all(&mut removed, |gone| *size -= gone.size());
        self.compacted = rev;
        Ok(removed)
    }

    /// Retained changes with main revision in `[from, to]`, in revision order, values read
    /// back (tests: watch catch-up takes stubs and completes only what it delivers).
    #[cfg(test)]
    pub(crate) fn changes_between(&self, from: i64, to: i64) -> impl Iterator<Item = Event> + '_ {
        self.records
            .range(Revision::first_of(from), Revision::last_of(to))
            .map(|(rev, rec)| rec.event(self.record_kv(*rev, rec).into_owned()))
    }

    /// Checks the structural invariants between index and records (tests and debug builds).
    pub fn check_invariants(&self) {
        let mut indexed = 0;
        for (key, ki) in &self.index {
            for g in ki.generations() {
                for rev in &g.revs {
                    indexed += 1;
                    let rec = self.record(*rev);
                    assert_eq!(&rec.kv.key, key, "record at {rev} belongs to another key");
                    assert!(rev.main <= self.current, "revision {rev} is in the future");
                }
            }
            if let Some(live) = ki.get(self.current) {
                assert!(!self.record(live).tombstone);
            }
        }
        assert_eq!(
            indexed,
            self.records.len(),
            "records not reachable from the index"
        );
        let size: u64 = self.records.iter().map(|(_, r)| r.size()).sum();
        assert_eq!(size, self.size, "the size account drifted");
    }
}

/// A write transaction: every change gets main revision `begin + 1` and the next sub-revision.
pub struct WriteTxn<'a> {
    store: &'a mut Store,
    begin: i64,
    changes: Vec<Change>,
}

impl WriteTxn<'_> {
    /// The revision this transaction reads at: its own revision once it changed something.
    pub fn revision(&self) -> i64 {
        self.begin + i64::from(!self.changes.is_empty())
    }

    /// The main revision every change of this transaction gets.
    fn write_revision(&self) -> i64 {
        self.begin + 1
    }

    fn next_revision(&self) -> Revision {
        Revision::new(self.write_revision(), self.changes.len() as i64)
    }

    /// Reads a range, seeing this transaction's own changes.
    pub fn range(&self, range: &KeyRange, opts: ReadOptions) -> Result<ReadResult, RangeError> {
        self.store.range_at(range, opts, self.revision())
    }

    /// The current state of `key`, seeing this transaction's own changes.
    pub fn get(&self, key: &[u8]) -> Option<KeyValue> {
        let rev = self.current_revision_of(key)?;
        Some(self.store.kv_at(rev))
    }

    fn current_revision_of(&self, key: &[u8]) -> Option<Revision> {
        self.store.index.get(key)?.get(self.write_revision())
    }

    /// Puts `key = value` with `lease` (0 = none); returns the revision of the change.
    pub fn put(&mut self, key: Bytes, value: Bytes, lease: i64) -> i64 {
        let rev = self.next_revision();
        let at = self.write_revision();
        // One index lookup; the indexed key's allocation is shared by all its records.
        let (key, prev) = match self.store.index.entry(key) {
            Entry::Occupied(mut o) => {
                let prev = o.get().get(at);
                o.get_mut().put(rev);
                (o.key().clone(), prev)
            }
            Entry::Vacant(v) => {
                let key = v.key().clone();
                v.insert(KeyIndex::new()).put(rev);
                (key, None)
            }
        };
        let (create_revision, version, prev_lease) = match prev.map(|r| &self.store.record(r).kv) {
            Some(prev) => (prev.create_revision, prev.version + 1, prev.lease),
            None => (rev.main, 1, 0),
        };
        let kv = KeyValue {
            key,
            create_revision,
            mod_revision: rev.main,
            version,
            value,
            lease,
        };
        self.record_change(rev, kv, false, prev_lease);
        rev.main
    }

    /// Deletes every live key in `range`; returns how many were deleted.
    pub fn delete_range(&mut self, range: &KeyRange) -> i64 {
        let Some(bounds) = range.bounds() else {
            return 0;
        };
        let at = self.write_revision();
        let live: Vec<(Bytes, i64)> = self
            .store
            .index
            .range::<[u8], _>(bounds)
            .filter_map(|(k, ki)| {
                ki.get(at)
                    .map(|r| (k.clone(), self.store.record(r).kv.lease))
            })
            .collect();
        for (key, prev_lease) in &live {
            let rev = self.next_revision();
            self.store
                .index
                .get_mut(key)
                .expect("key is indexed")
                .tombstone(rev);
            let kv = KeyValue {
                key: key.clone(),
                mod_revision: rev.main,
                ..KeyValue::default()
            };
            self.record_change(rev, kv, true, *prev_lease);
        }
        live.len() as i64
    }

    fn record_change(&mut self, rev: Revision, kv: KeyValue, tombstone: bool, prev_lease: i64) {
        let record = Record::new(kv, tombstone);
        self.changes.push(Change {
            event: record.event(record.kv.clone()),
            prev_lease,
        });
        self.store.insert_record(rev, record);
    }

    /// Commits the transaction: the store's revision advances by one if anything changed.
    /// Returns the changes in sub-revision order.
    pub fn end(self) -> Vec<Change> {
        if !self.changes.is_empty() {
            self.store.current = self.write_revision();
        }
        debug_assert!(self
            .changes
            .iter()
            .all(|c| c.event.kv.mod_revision == self.store.current));
        self.changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn put(store: &mut Store, k: &str, v: &str) -> i64 {
        let mut txn = store.write();
        let rev = txn.put(b(k), b(v), 0);
        txn.end();
        rev
    }

    fn del(store: &mut Store, k: &str) -> i64 {
        let mut txn = store.write();
        let n = txn.delete_range(&KeyRange::Single(b(k)));
        txn.end();
        n
    }

    fn get(store: &Store, k: &str, rev: i64) -> Result<Vec<(i64, i64, i64, String)>, RangeError> {
        let opts = ReadOptions {
            revision: rev,
            ..ReadOptions::default()
        };
        let res = store.range(&KeyRange::Single(b(k)), opts)?;
        Ok(res
            .kvs
            .iter()
            .map(|kv| {
                let v = String::from_utf8_lossy(&kv.value).into_owned();
                (kv.create_revision, kv.mod_revision, kv.version, v)
            })
            .collect())
    }

    #[test]
    fn new_store_is_at_revision_1() {
        let store = Store::new();
        assert_eq!((store.revision(), store.compact_revision()), (1, -1));
    }

    #[test]
    fn versions_reset_after_delete() {
        let mut s = Store::new();
        assert_eq!(put(&mut s, "foo", "a"), 2);
        assert_eq!(put(&mut s, "foo", "b"), 3);
        assert_eq!(del(&mut s, "foo"), 1);
        assert_eq!(s.revision(), 4);
        assert_eq!(del(&mut s, "foo"), 0, "deleting nothing");
        assert_eq!(s.revision(), 4, "creates no revision");
        assert_eq!(put(&mut s, "foo", "c"), 5);
        assert_eq!(get(&s, "foo", 0).unwrap(), vec![(5, 5, 1, "c".into())]);
        assert_eq!(get(&s, "foo", 3).unwrap(), vec![(2, 3, 2, "b".into())]);
        assert_eq!(get(&s, "foo", 4).unwrap(), vec![]);
        s.check_invariants();
    }

    #[test]
    fn one_revision_per_write_txn() {
        let mut s = Store::new();
        let mut txn = s.write();
        txn.put(b("a"), b("1"), 0);
        assert_eq!(txn.revision(), 2, "reads inside see the txn's revision");
        assert_eq!(txn.get(b"a").map(|kv| kv.version), Some(1));
        txn.put(b("b"), b("2"), 0);
        let changes = txn.end();
        assert_eq!(s.revision(), 2);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().all(|c| c.event.kv.mod_revision == 2));
        assert_eq!(
            s.records.iter().map(|(r, _)| r.sub).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }

    #[test]
    fn compaction_boundary() {
        let mut s = Store::new();
        put(&mut s, "k", "v2"); // 2
        put(&mut s, "k", "v3"); // 3
        put(&mut s, "k", "v4"); // 4
        s.compact(3).unwrap();
        assert_eq!(get(&s, "k", 2), Err(RangeError::Compacted));
        assert_eq!(get(&s, "k", 3).unwrap(), vec![(2, 3, 2, "v3".into())]);
        assert_eq!(get(&s, "k", 5), Err(RangeError::FutureRev));
        assert_eq!(s.compact(3), Err(CompactError::Compacted));
        assert_eq!(s.compact(2), Err(CompactError::Compacted));
        assert_eq!(s.compact(5), Err(CompactError::FutureRev));
        assert_eq!(
            s.compact(4),
            Ok(()),
            "compacting at the current revision is allowed"
        );
        assert_eq!(s.retained_revisions(), 1);
        s.check_invariants();
    }

    #[test]
    fn compaction_drops_deleted_keys_entirely() {
        let mut s = Store::new();
        put(&mut s, "gone", "1"); // 2
        del(&mut s, "gone"); // 3
        put(&mut s, "live", "1"); // 4
        s.compact(3).unwrap();
        assert_eq!(
            s.indexed_keys(),
            2,
            "tombstone at the compaction revision is kept"
        );
        assert_eq!(s.changes_between(3, 3).count(), 1);
        s.compact(4).unwrap();
        assert_eq!(s.indexed_keys(), 1);
        assert_eq!(s.retained_revisions(), 1);
        s.check_invariants();
    }

    #[test]
    fn limit_cuts_kvs_but_not_count() {
        let mut s = Store::new();
        for k in ["a", "b", "c", "d", "e"] {
            put(&mut s, k, "x");
        }
        let r = s
            .range(
                &KeyRange::new(b("a"), b("\0")),
                ReadOptions {
                    limit: 2,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!((r.kvs.len(), r.count, r.revision), (2, 5, 6));
        let keys: Vec<_> = r.kvs.iter().map(|kv| kv.key.clone()).collect();
        assert_eq!(keys, vec![b("a"), b("b")]);
        let inverted = s.range(&KeyRange::new(b("c"), b("a")), ReadOptions::default());
        assert_eq!(inverted.unwrap().count, 0);
    }
}
