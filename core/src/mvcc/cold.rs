//! Values that left memory: a host with a durable backend (the native node keeps every
//! record in redb, as etcd keeps it in bbolt) can let the store drop the values it has
//! stored and read them back on demand, so memory holds keys and metadata, not values.
//!
//! The host hands the store a [`ValueReader`] ([`crate::mvcc::Store::set_value_reader`]) and,
//! each time its backend has committed more applied batches, says through which revision
//! ([`crate::server::Input::ValuesStored`]); the store then empties those records' values
//! ([`crate::mvcc::Store::evict_values`]). Without a reader (the simulator, the playground)
//! nothing is ever evicted and no read leaves memory.

use super::revision::Revision;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// Reads back the value a revision put, from where the host stored it.
pub trait ValueReader: Send + Sync {
    /// The value written at `rev` (a put, never a tombstone). Called only for revisions the
    /// host reported stored and the store has not compacted away. An error is fatal: the
    /// store panics with it, as etcd does when its backend cannot be read.
    fn value(&self, rev: Revision) -> Result<Bytes, String>;
}

/// The store's reader, if any. Two stores compare equal whatever their readers (the
/// reader is where values live, not part of the state).
#[derive(Clone, Default)]
pub(crate) struct ColdValues(Option<Arc<dyn ValueReader>>);

impl ColdValues {
    pub(crate) fn new(reader: Arc<dyn ValueReader>) -> Self {
        Self(Some(reader))
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// The value of `rev`, which was evicted with length `len`.
    pub(crate) fn read(&self, rev: Revision, len: u32) -> Bytes {
        let reader = self
            .0
            .as_ref()
            .expect("a value is evicted only when a reader is set");
        let value = reader
            .value(rev)
            .unwrap_or_else(|e| panic!("cannot read back the value of revision {rev}: {e}"));
        assert_eq!(
            value.len(),
            len as usize,
            "the backend holds a value of another length at revision {rev}"
        );
        value
    }
}

impl PartialEq for ColdValues {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ColdValues {}

impl fmt::Debug for ColdValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "reader" } else { "none" })
    }
}

impl super::Store {
    /// Lets the store evict values ([`super::Store::evict_values`]) and read them back
    /// through `reader`.
    pub fn set_value_reader(&mut self, reader: Arc<dyn ValueReader>) {
        self.cold = ColdValues::new(reader);
    }

    /// Takes the reader of `from` (a store replaced by a snapshot's keeps the host's reader).
    pub(crate) fn adopt_value_reader(&mut self, from: &Self) {
        self.cold = from.cold.clone();
    }

    /// Drops from memory the values of every record up to main revision `through`, which
    /// the host's backend holds and its reader can read back; returns how many values it
    /// dropped. Without a reader it does nothing. Each record is visited once over the
    /// store's life (a cursor remembers how far eviction went).
    pub fn evict_values(&mut self, through: i64) -> usize {
        let through = through.min(self.current);
        if !self.cold.is_set() || through <= self.evicted_through {
            return 0;
        }
        let (from, to) = (
            Revision::first_of(self.evicted_through + 1),
            Revision::last_of(through),
        );
        let mut evicted = 0;
        for rec in self.records.range_mut(from, to) {
            assert!(!rec.evicted, "the cursor starts past evicted records");
            if rec.tombstone {
                continue;
            }
            let len = rec.kv.value.len();
            rec.evicted_len = u32::try_from(len).expect("a value below 4 GiB");
            rec.evicted = true;
            rec.kv.value = Bytes::new();
            evicted += 1;
        }
        self.evicted_through = through;
        evicted
    }

    /// Retained changes with main revision in `[from, to]`, in revision order, without reading
    /// evicted values back (their events carry an empty value): for choosing events by key
    /// and kind before paying for values.
    pub(crate) fn change_stubs_between(
        &self,
        from: i64,
        to: i64,
    ) -> impl Iterator<Item = (Revision, super::Event)> + '_ {
        self.records
            .range(Revision::first_of(from), Revision::last_of(to))
            .map(|(rev, rec)| (*rev, rec.event(rec.kv.clone())))
    }

    /// The full event of the record at `rev` (a stub's, completed).
    pub(crate) fn event_at(&self, rev: Revision) -> super::Event {
        let rec = self.record(rev);
        rec.event(self.record_kv(rev, rec).into_owned())
    }

    /// The full key-value of `rec` (the record at `rev`): borrowed while its value is in
    /// memory, read back through the reader once evicted.
    pub(crate) fn record_kv<'a>(
        &self,
        rev: Revision,
        rec: &'a super::Record,
    ) -> std::borrow::Cow<'a, super::KeyValue> {
        if !rec.evicted {
            return std::borrow::Cow::Borrowed(&rec.kv);
        }
        let mut kv = rec.kv.clone();
        kv.value = self.cold.read(rev, rec.evicted_len);
        std::borrow::Cow::Owned(kv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::{KeyRange, ReadOptions, Store};
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backend holding a copy of every put's value; counts reads.
    #[derive(Default)]
    struct Copy {
        values: BTreeMap<Revision, Bytes>,
        reads: AtomicUsize,
    }

    impl ValueReader for Copy {
        fn value(&self, rev: Revision) -> Result<Bytes, String> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.values.get(&rev).cloned().ok_or(format!("no {rev}"))
        }
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// Puts, overwrites and deletes across revisions 2..=7.
    fn history() -> Store {
        let mut s = Store::new();
        for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")] {
            let mut txn = s.write();
            txn.put(b(k), b(v), 0);
            txn.end();
        }
        let mut txn = s.write();
        txn.delete_range(&KeyRange::Single(b("b")));
        txn.put(b("d"), b("5"), 0);
        txn.end();
        let mut txn = s.write();
        txn.put(b("a"), b("6"), 0);
        txn.end();
        s
    }

    fn with_reader(mut s: Store) -> (Store, Arc<Copy>) {
        let mut copy = Copy::default();
        for (rev, rec) in s.records.iter() {
            if !rec.tombstone {
                copy.values.insert(*rev, rec.kv.value.clone());
            }
        }
        let copy = Arc::new(copy);
        s.set_value_reader(copy.clone());
        (s, copy)
    }

    fn everything(s: &Store) -> Vec<String> {
        let all = KeyRange::new(b("\0"), b("\0"));
        let mut seen = Vec::new();
        for rev in 2..=s.revision() {
            let opts = ReadOptions {
                revision: rev,
                ..ReadOptions::default()
            };
            seen.push(format!("{:?}", s.range(&all, opts).unwrap().kvs));
        }
        seen.push(format!(
            "{:?}",
            s.changes_between(0, s.revision()).collect::<Vec<_>>()
        ));
        seen.push(format!("{:?}", s.get(b"a", 4)));
        seen.push(format!("{:?}", s.hash_kv(0).unwrap()));
        seen
    }

    #[test]
    fn evicted_values_read_back_the_same_everywhere() {
        let plain = history();
        let (mut s, copy) = with_reader(history());
        assert_eq!(s.evict_values(5), 4, "puts at 2, 3, 4, 5 leave memory");
        assert_eq!(s.evict_values(5), 0, "each record is evicted once");
        assert_eq!(
            s.evict_values(100),
            2,
            "puts at 6.1 and 7 (6.0 is a tombstone)"
        );
        assert!(s.records.iter().all(|(_, r)| r.kv.value.is_empty()));
        assert_eq!(
            s.size_bytes(),
            plain.size_bytes(),
            "the quota still counts values"
        );
        s.check_invariants();
        assert_eq!(copy.reads.load(Ordering::Relaxed), 0);
        assert_eq!(everything(&s), everything(&plain));
        let completed: Vec<_> = s
            .change_stubs_between(0, s.revision())
            .map(|(rev, _)| s.event_at(rev))
            .collect();
        let history: Vec<_> = plain.changes_between(0, plain.revision()).collect();
        assert_eq!(
            completed, history,
            "watch catch-up completes the stubs it delivers"
        );
        assert!(copy.reads.load(Ordering::Relaxed) > 0);
        let snapshot = |s: &Store| {
            let lessor = crate::lease::Lessor::new(Default::default());
            let mut out = Vec::new();
            crate::snapshot::encode_into(&mut out, s, &lessor, &Default::default());
            out
        };
        assert_eq!(
            snapshot(&s),
            snapshot(&plain),
            "a snapshot carries the values"
        );
    }

    #[test]
    fn a_keys_only_read_reads_nothing_back() {
        let (mut s, copy) = with_reader(history());
        s.evict_values(100);
        let opts = ReadOptions {
            keys_only: true,
            ..ReadOptions::default()
        };
        let kvs = s.range(&KeyRange::new(b("a"), b("z")), opts).unwrap().kvs;
        let keys: Vec<_> = kvs
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.len()))
            .collect();
        assert_eq!(keys, [(b("a"), 0), (b("c"), 0), (b("d"), 0)]);
        assert_eq!(
            kvs[0].mod_revision, 7,
            "the rest of each key-value is there"
        );
        assert_eq!(copy.reads.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn compaction_and_new_writes_after_eviction() {
        let (mut s, _copy) = with_reader(history());
        s.evict_values(7);
        s.compact(6).unwrap();
        s.check_invariants();
        let mut txn = s.write();
        txn.put(b("e"), b("7"), 0);
        txn.end();
        let kvs = s.range(&KeyRange::new(b("a"), b("f")), ReadOptions::default());
        let values: Vec<_> = kvs.unwrap().kvs.into_iter().map(|kv| kv.value).collect();
        assert_eq!(
            values,
            vec![b("6"), b("4"), b("5"), b("7")],
            "new value still in memory"
        );
    }

    #[test]
    fn without_a_reader_nothing_leaves_memory() {
        let mut s = history();
        assert_eq!(s.evict_values(100), 0);
        assert_eq!(s, history());
    }

    #[test]
    #[should_panic(expected = "cannot read back the value of revision 2.0")]
    fn a_value_the_backend_lacks_is_fatal() {
        let mut s = history();
        s.set_value_reader(Arc::new(Copy::default()));
        s.evict_values(2);
        s.get(b"a", 2);
    }
}
