//! `HashKV`: a stable hash of the store's retained history (etcd `mvcc/kvstore.go` HashByRev).
//!
//! etcd hashes its bbolt pages' bytes; Orrery hashes its own canonical encoding instead, so the
//! value is not comparable with etcd's, but it has the property that matters: members with the
//! same applied history hash equal, on every platform (native and wasm32), after any mix of
//! restarts and snapshot restores.
//!
//! The hash is CRC-32C (Castagnoli) over the ASCII tag `orrery-hashkv-1`, then, for every
//! retained revision `≤ rev` in revision order, this little-endian encoding:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | main revision (i64) |
//! | 8 | sub revision (i64) |
//! | 1 | 1 = tombstone, 0 = put |
//! | 4 | key length (u32), then the key |
//! | 8 | create revision (i64) |
//! | 8 | version (i64) |
//! | 8 | lease (i64) |
//! | 4 | value length (u32), then the value |

use super::revision::Revision;
use super::store::Store;
use crate::error::HashError;

const HASH_TAG: &[u8] = b"orrery-hashkv-1";

/// The result of [`Store::hash_kv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashKv {
    /// The hash of every retained revision up to the requested one.
    pub hash: u32,
    /// The store's compaction revision (-1 if never compacted).
    pub compact_revision: i64,
    /// The store's current revision (the response header's revision).
    pub revision: i64,
}

impl Store {
    /// Hashes the history up to `rev` (0 = the current revision).
    ///
    /// As in etcd, a revision at or below the compaction revision is refused (unlike a range
    /// read, which accepts the compaction revision itself).
    pub fn hash_kv(&self, rev: i64) -> Result<HashKv, HashError> {
        if rev > 0 && rev <= self.compacted {
            return Err(HashError::Compacted);
        }
        if rev > self.current {
            return Err(HashError::FutureRev);
        }
        let upto = if rev <= 0 { self.current } else { rev };
        let mut crc = crc32c::crc32c(HASH_TAG);
        let mut buf = Vec::with_capacity(128);
        for (r, rec) in self
            .records
            .range(Revision::first_of(i64::MIN), Revision::last_of(upto))
        {
            let kv = self.record_kv(*r, rec);
            buf.clear();
            buf.extend_from_slice(&r.main.to_le_bytes());
            buf.extend_from_slice(&r.sub.to_le_bytes());
            buf.push(u8::from(rec.tombstone));
            buf.extend_from_slice(&(kv.key.len() as u32).to_le_bytes());
            buf.extend_from_slice(&kv.key);
            buf.extend_from_slice(&kv.create_revision.to_le_bytes());
            buf.extend_from_slice(&kv.version.to_le_bytes());
            buf.extend_from_slice(&kv.lease.to_le_bytes());
            buf.extend_from_slice(&(kv.value.len() as u32).to_le_bytes());
            crc = crc32c::crc32c_append(crc, &buf);
            crc = crc32c::crc32c_append(crc, &kv.value);
        }
        Ok(HashKv {
            hash: crc,
            compact_revision: self.compacted,
            revision: self.current,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mvcc::KeyRange;
    use bytes::Bytes;

    fn store_with(ops: &[(&str, Option<&str>)]) -> Store {
        let mut s = Store::new();
        for (k, v) in ops {
            let mut txn = s.write();
            let key = Bytes::copy_from_slice(k.as_bytes());
            match v {
                Some(v) => {
                    txn.put(key, Bytes::copy_from_slice(v.as_bytes()), 0);
                }
                None => {
                    txn.delete_range(&KeyRange::Single(key));
                }
            }
            txn.end();
        }
        s
    }

    #[test]
    fn golden_value_is_stable_across_platforms_and_releases() {
        // If this changes, members running different builds would report different hashes
        // for the same history: change the tag, never the value silently.
        let s = store_with(&[("foo", Some("bar")), ("foo", Some("baz")), ("foo", None)]);
        assert_eq!(s.hash_kv(0).unwrap().hash, 0x4b1c_282f);
        assert_eq!(
            Store::new().hash_kv(0).unwrap().hash,
            crc32c::crc32c(HASH_TAG)
        );
    }

    #[test]
    fn equal_histories_hash_equal_and_revisions_matter() {
        let a = store_with(&[("a", Some("1")), ("b", Some("2"))]);
        let b = store_with(&[("a", Some("1")), ("b", Some("2"))]);
        let c = store_with(&[("b", Some("2")), ("a", Some("1"))]);
        assert_eq!(a.hash_kv(0), b.hash_kv(0));
        assert_ne!(a.hash_kv(0).unwrap().hash, c.hash_kv(0).unwrap().hash);
        assert_eq!(
            a.hash_kv(2).unwrap().hash,
            store_with(&[("a", Some("1"))]).hash_kv(0).unwrap().hash
        );
    }

    #[test]
    fn bounds_follow_etcd() {
        let mut s = store_with(&[("a", Some("1")), ("a", Some("2")), ("a", Some("3"))]);
        s.compact(3).unwrap();
        assert_eq!(
            s.hash_kv(3),
            Err(HashError::Compacted),
            "the compaction revision itself"
        );
        assert_eq!(s.hash_kv(5), Err(HashError::FutureRev));
        let h = s.hash_kv(0).unwrap();
        assert_eq!((h.compact_revision, h.revision), (3, 4));
    }
}
