//! Snapshots of the replicated state: what Raft ships to a lagging member and what a member
//! restores at start-up.
//!
//! A snapshot holds every retained revision of the store (so history reads, watches and
//! `HashKV` behave identically after a restore) and every lease. The key index and the
//! lessor's key sets are rebuilt from the records, as etcd rebuilds them from bbolt.
//!
//! # Format, version 2
//!
//! All integers are little-endian; `bytes` is a `u32` length followed by that many bytes.
//!
//! | size | field |
//! |---|---|
//! | 8 | magic `ORRERYSM` |
//! | 4 | format version (`u32`, 2; version 1 had no alarm section) |
//! | 8 | current revision (`i64`) |
//! | 8 | compaction revision (`i64`, −1 = never compacted) |
//! | 8 | record count (`u64`), then per record, in ascending revision order: |
//! | 8 | · main revision (`i64`) |
//! | 8 | · sub revision (`i64`) |
//! | 1 | · flags (`u8`): bit 0 = tombstone, other bits 0 |
//! | 4+n | · key (`bytes`) |
//! | 8 | · create revision (`i64`; 0 for a tombstone) |
//! | 8 | · version (`i64`; 0 for a tombstone) |
//! | 8 | · lease (`i64`; 0 for a tombstone) |
//! | 4+n | · value (`bytes`; empty for a tombstone) |
//! | 8 | lease count (`u64`), then per lease, in ascending ID order: |
//! | 8 | · ID (`i64`) |
//! | 8 | · granted TTL in seconds (`i64`) |
//! | 8 | · checkpointed remaining TTL in seconds (`i64`, 0 = none) |
//! | 8 | alarm count (`u64`), then per active alarm, in (member, type) order: |
//! | 8 | · member ID (`u64`) |
//! | 1 | · alarm type (`u8`: 1 NOSPACE, 2 CORRUPT) |
//! | 4 | CRC-32C (Castagnoli) of every byte before it |
//!
//! A decoder refuses a wrong magic, an unknown version, a bad checksum, trailing bytes, and
//! records that contradict each other (revisions out of order, a key attached to an unknown
//! lease, …) with a [`SnapshotError`] instead of restoring a damaged state.

use crate::alarm::{AlarmMember, AlarmStore, AlarmType};
use crate::lease::{Lease, LeaseConfig, Lessor};
use crate::mvcc::{KeyValue, Record, Revision, Store};
use bytes::Bytes;
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

const MAGIC: &[u8; 8] = b"ORRERYSM";
const VERSION: u32 = 2;
const TOMBSTONE: u8 = 1;

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The bytes do not start with the snapshot magic.
    BadMagic,
    /// The snapshot was written by a newer format version.
    UnsupportedVersion(u32),
    /// The bytes end before the snapshot does.
    Truncated,
    /// The checksum does not match the contents.
    ChecksumMismatch,
    /// The contents are inconsistent; the text says how.
    Corrupt(&'static str),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic => f.write_str("snapshot: not an Orrery state-machine snapshot"),
            Self::UnsupportedVersion(v) => write!(f, "snapshot: unsupported format version {v}"),
            Self::Truncated => f.write_str("snapshot: truncated"),
            Self::ChecksumMismatch => f.write_str("snapshot: checksum mismatch"),
            Self::Corrupt(why) => write!(f, "snapshot: corrupt: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Appends the encoded replicated state to `out`, reserving its whole size first (at most
/// [`Store::size_bytes`] plus the leases and alarms), so a large state is not copied while
/// its buffer grows.
pub(crate) fn encode_into(out: &mut Vec<u8>, store: &Store, lessor: &Lessor, alarms: &AlarmStore) {
    let leases = lessor
        .iter()
        .map(|l| (l.id, l.ttl, l.remaining_ttl))
        .collect::<Vec<_>>();
    let alarms = alarms.list();
    out.reserve_exact(size_bound(store, leases.len(), alarms.len()));
    encode_parts_into(
        out,
        store.current,
        store.compacted,
        store
            .records
            .iter()
            .map(|(rev, rec)| (*rev, rec.tombstone, store.record_kv(*rev, rec))),
        leases.into_iter(),
        &alarms,
    );
}

/// At least the encoded size of a state: every record encodes to 49 bytes plus its key
/// and value, within the 64 that [`Store::size_bytes`] counts; a lease takes 24, an alarm 9.
fn size_bound(store: &Store, leases: usize, alarms: usize) -> usize {
    64 + store.size_bytes() as usize + leases * 24 + alarms * 9
}

/// Encodes a state given as its parts: `(revision, tombstone, key-value)` records in
/// revision order, `(id, ttl, remaining ttl)` leases in ID order, alarms in order.
pub(crate) fn encode_parts(
    current: i64,
    compacted: i64,
    records: impl ExactSizeIterator<Item = (Revision, bool, impl Borrow<KeyValue>)>,
    leases: impl ExactSizeIterator<Item = (i64, i64, i64)>,
    alarms: &[AlarmMember],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + records.len() * 64);
    encode_parts_into(&mut out, current, compacted, records, leases, alarms);
    out
}

/// [`encode_parts`], appending to `out`.
fn encode_parts_into(
    out: &mut Vec<u8>,
    current: i64,
    compacted: i64,
    records: impl ExactSizeIterator<Item = (Revision, bool, impl Borrow<KeyValue>)>,
    leases: impl ExactSizeIterator<Item = (i64, i64, i64)>,
    alarms: &[AlarmMember],
) {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&current.to_le_bytes());
    out.extend_from_slice(&compacted.to_le_bytes());
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for (rev, tombstone, kv) in records {
        let kv = kv.borrow();
        out.extend_from_slice(&rev.main.to_le_bytes());
        out.extend_from_slice(&rev.sub.to_le_bytes());
        out.push(if tombstone { TOMBSTONE } else { 0 });
        put_bytes(out, &kv.key);
        out.extend_from_slice(&kv.create_revision.to_le_bytes());
        out.extend_from_slice(&kv.version.to_le_bytes());
        out.extend_from_slice(&kv.lease.to_le_bytes());
        put_bytes(out, &kv.value);
    }
    out.extend_from_slice(&(leases.len() as u64).to_le_bytes());
    for (id, ttl, remaining_ttl) in leases {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&ttl.to_le_bytes());
        out.extend_from_slice(&remaining_ttl.to_le_bytes());
    }
    out.extend_from_slice(&(alarms.len() as u64).to_le_bytes());
    for a in alarms {
        out.extend_from_slice(&a.member_id.to_le_bytes());
        out.push(a.alarm as u8);
    }
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let len = u32::try_from(b.len()).expect("keys and values are far below 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(b);
}

/// Decodes a snapshot into a store, a (non-primary) lessor and the active alarms.
pub(crate) fn decode(
    bytes: &[u8],
    config: LeaseConfig,
) -> Result<(Store, Lessor, AlarmStore), SnapshotError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    if bytes.len() < MAGIC.len() + 4 + 4 {
        return Err(SnapshotError::Truncated);
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let mut r = Reader {
        buf: &body[MAGIC.len()..],
    };
    let version = r.u32()?;
    if version != VERSION && version != 1 {
        return Err(SnapshotError::UnsupportedVersion(version));
    }
    if crc32c::crc32c(body).to_le_bytes() != crc {
        return Err(SnapshotError::ChecksumMismatch);
    }
    let mut store = Store::new();
    store.current = r.i64()?;
    store.compacted = r.i64()?;
    if store.current < 1 || store.compacted > store.current {
        return Err(SnapshotError::Corrupt("revisions out of range"));
    }
    let records = r.count()?;
    let mut last: Option<Revision> = None;
    for _ in 0..records {
        let (rev, rec) = read_record(&mut r)?;
        if last.is_some_and(|l| l >= rev) || rev.main > store.current {
            return Err(SnapshotError::Corrupt("records out of order"));
        }
        last = Some(rev);
        restore_into_index(&mut store, rev, &rec)?;
        store.insert_record(rev, rec);
    }
    let mut lessor = Lessor::new(config);
    let mut leases = BTreeMap::new();
    for _ in 0..r.count()? {
        let (id, ttl, remaining_ttl) = (r.i64()?, r.i64()?, r.i64()?);
        if id == 0 || leases.insert(id, (ttl, remaining_ttl)).is_some() {
            return Err(SnapshotError::Corrupt("bad or repeated lease ID"));
        }
    }
    let mut alarms = AlarmStore::default();
    if version >= 2 {
        for _ in 0..r.count()? {
            let member_id = r.i64()? as u64;
            let alarm = match r.u8()? {
                1 => AlarmType::NoSpace,
                2 => AlarmType::Corrupt,
                _ => return Err(SnapshotError::Corrupt("bad alarm type")),
            };
            if alarms.activate(AlarmMember { member_id, alarm }).is_none() {
                return Err(SnapshotError::Corrupt("repeated alarm"));
            }
        }
    }
    if !r.buf.is_empty() {
        return Err(SnapshotError::Corrupt("trailing bytes"));
    }
    for (id, (ttl, remaining_ttl)) in leases {
        lessor.insert_restored(Lease {
            id,
            ttl,
            remaining_ttl,
            keys: Default::default(),
        });
    }
    attach_live_keys(&store, &mut lessor)?;
    store.check_invariants();
    Ok((store, lessor, alarms))
}

fn read_record(r: &mut Reader<'_>) -> Result<(Revision, Record), SnapshotError> {
    let rev = Revision::new(r.i64()?, r.i64()?);
    let flags = r.u8()?;
    if flags & !TOMBSTONE != 0 {
        return Err(SnapshotError::Corrupt("unknown record flags"));
    }
    let key = r.bytes()?;
    let (create_revision, version, lease) = (r.i64()?, r.i64()?, r.i64()?);
    let value = r.bytes()?;
    let tombstone = flags & TOMBSTONE != 0;
    let valid = if tombstone {
        create_revision == 0 && version == 0 && lease == 0 && value.is_empty()
    } else {
        version >= 1 && (1..=rev.main).contains(&create_revision)
    };
    if !valid || key.is_empty() || rev.sub < 0 {
        return Err(SnapshotError::Corrupt("bad record"));
    }
    let kv = KeyValue {
        key,
        create_revision,
        mod_revision: rev.main,
        version,
        value,
        lease,
    };
    Ok((rev, Record::new(kv, tombstone)))
}

fn restore_into_index(store: &mut Store, rev: Revision, rec: &Record) -> Result<(), SnapshotError> {
    let ki = store.index.entry(rec.kv.key.clone()).or_default();
    if rec.tombstone && !ki.is_live() && ki.modified().is_some() {
        return Err(SnapshotError::Corrupt("tombstone of a deleted key"));
    }
    let generation = ki
        .generations()
        .last()
        .expect("a key index has a generation");
    if !rec.tombstone && ki.is_live() && generation.created != rec.kv.create_revision {
        return Err(SnapshotError::Corrupt(
            "create revision changes within a generation",
        ));
    }
    ki.restore(rev, rec.kv.create_revision, rec.tombstone);
    Ok(())
}

fn attach_live_keys(store: &Store, lessor: &mut Lessor) -> Result<(), SnapshotError> {
    for (key, ki) in &store.index {
        let Some(rev) = ki.get(store.current) else {
            continue;
        };
        let lease = store
            .records
            .get(rev)
            .expect("the index points at held records")
            .kv
            .lease;
        if lease != 0 {
            if lessor.get(lease).is_none() {
                return Err(SnapshotError::Corrupt("key attached to an unknown lease"));
            }
            lessor.attach(lease, key.clone());
        }
    }
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        if self.buf.len() < N {
            return Err(SnapshotError::Truncated);
        }
        let (head, rest) = self.buf.split_at(N);
        self.buf = rest;
        Ok(head.try_into().expect("split at N"))
    }

    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    fn i64(&mut self) -> Result<i64, SnapshotError> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    /// A count of items that each take at least one byte (so a huge count cannot make the
    /// decoder loop or allocate beyond the input).
    fn count(&mut self) -> Result<u64, SnapshotError> {
        let n = u64::from_le_bytes(self.take()?);
        if n > self.buf.len() as u64 {
            return Err(SnapshotError::Truncated);
        }
        Ok(n)
    }

    fn bytes(&mut self) -> Result<Bytes, SnapshotError> {
        let len = self.u32()? as usize;
        if self.buf.len() < len {
            return Err(SnapshotError::Truncated);
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(Bytes::copy_from_slice(head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{LeaseGrantRequest, PutRequest, Request};
    use crate::{Config, StateMachine};

    /// The bytes of a version-2 snapshot, written field by field from the format table
    /// above: version 1's fields, then an (empty) alarm section.
    fn hand_built() -> Vec<u8> {
        let mut b = hand_built_v1();
        b.truncate(b.len() - 4);
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes()); // no alarms
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// A version-1 snapshot (before alarms), which must still restore.
    fn hand_built_v1() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"ORRERYSM");
        b.extend_from_slice(&1u32.to_le_bytes()); // version
        b.extend_from_slice(&2i64.to_le_bytes()); // current revision
        b.extend_from_slice(&(-1i64).to_le_bytes()); // never compacted
        b.extend_from_slice(&1u64.to_le_bytes()); // one record:
        b.extend_from_slice(&2i64.to_le_bytes()); //   main
        b.extend_from_slice(&0i64.to_le_bytes()); //   sub
        b.push(0); //                                  a put
        b.extend_from_slice(&1u32.to_le_bytes()); //   key "k"
        b.push(b'k');
        b.extend_from_slice(&2i64.to_le_bytes()); //   create revision
        b.extend_from_slice(&1i64.to_le_bytes()); //   version
        b.extend_from_slice(&9i64.to_le_bytes()); //   lease
        b.extend_from_slice(&1u32.to_le_bytes()); //   value "v"
        b.push(b'v');
        b.extend_from_slice(&1u64.to_le_bytes()); // one lease:
        b.extend_from_slice(&9i64.to_le_bytes()); //   ID
        b.extend_from_slice(&60i64.to_le_bytes()); //  TTL
        b.extend_from_slice(&0i64.to_le_bytes()); //   no checkpoint
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn sample() -> StateMachine {
        let mut sm = StateMachine::new(Config::default());
        sm.apply(
            0,
            &Request::LeaseGrant(LeaseGrantRequest { ttl: 60, id: 9 }),
        )
        .unwrap();
        let put = PutRequest {
            key: Bytes::from_static(b"k"),
            value: Bytes::from_static(b"v"),
            lease: 9,
            ..PutRequest::default()
        };
        sm.apply(0, &Request::Put(put)).unwrap();
        sm
    }

    #[test]
    fn encoding_matches_the_documented_format() {
        let sm = sample();
        assert_eq!(sm.snapshot(), hand_built());
        for bytes in [hand_built(), hand_built_v1()] {
            let (store, lessor, alarms) = decode(&bytes, LeaseConfig::default()).unwrap();
            assert_eq!(&store, sm.store());
            assert_eq!(lessor.keys(9).unwrap(), vec![Bytes::from_static(b"k")]);
            assert!(alarms.list().is_empty());
        }
    }

    #[test]
    fn the_state_appends_after_a_prefix_within_its_reservation() {
        let sm = sample();
        let mut out = b"prefix".to_vec();
        sm.snapshot_into(&mut out);
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(
            &out[6..],
            &hand_built()[..],
            "the checksum covers the state only"
        );
        assert!(hand_built().len() <= size_bound(sm.store(), 1, 0));
    }

    #[test]
    fn inconsistent_contents_are_refused_even_with_a_valid_checksum() {
        let with_crc = |mut body: Vec<u8>| {
            body.truncate(body.len() - 4);
            let crc = crc32c::crc32c(&body);
            body.extend_from_slice(&crc.to_le_bytes());
            body
        };
        let mut unknown_lease = hand_built_v1();
        let at = unknown_lease.len() - 4 - 24; // the lease ID
        unknown_lease[at] = 8;
        let err = decode(&with_crc(unknown_lease), LeaseConfig::default()).unwrap_err();
        assert_eq!(
            err,
            SnapshotError::Corrupt("key attached to an unknown lease")
        );
        let mut future_record = hand_built_v1();
        future_record[8 + 4] = 1; // current revision 1, record at 2
        let err = decode(&with_crc(future_record), LeaseConfig::default()).unwrap_err();
        assert_eq!(err, SnapshotError::Corrupt("records out of order"));
    }
}
