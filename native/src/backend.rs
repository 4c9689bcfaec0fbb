//! The applied state in redb (etcd `mvcc/backend`, which keeps it in bbolt), at
//! `<data-dir>/member/snap/db`.
//!
//! The [`AppliedChanges`] the member reports are written by the backend's own thread
//! ([`writer`]): every 100 ms, and before the WAL lets go of a segment, all batches applied
//! since go into one durable redb transaction together with the index of the last entry
//! they include (`consistent_index`), as etcd's backend commits its batch transaction every
//! 100 ms. So the database always holds the state as of exactly one Raft index; the WAL
//! already made the entries durable, so waiting loses nothing. After a crash redb comes
//! back at its last durable commit, which names its index, and the member replays the WAL
//! from there: no entry is applied twice or skipped. The tables are described byte by byte
//! in `native/STORAGE.md`.
//!
//! Values live here, not in the member's memory: after each commit the thread reports the
//! last batch it included, the member drops the values up to that batch's revision, and
//! reads them back through [`BackendValues`] (etcd likewise reads values from bbolt). The
//! member's memory holds keys, revisions and the values not yet committed (normally the
//! last 100 ms; more while the backend thread is behind, see `writer`).

use crate::convert;
use crate::pb::mvccpb;
use bytes::Bytes;
use orrery_core::alarm::{AlarmMember, AlarmType};
use orrery_core::backend::{
    AppliedChanges, LeaseChange, StateChanges, StoredLease, StoredMembership, StoredRecord,
    StoredState,
};
use orrery_core::mvcc::Revision;
use orrery_core::mvcc::ValueReader;
use orrery_core::server::raftpb::ConfState;
use prost::Message as _;
use protobuf::Message as _;
use redb::{Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// etcd's `key` bucket: revision key (see [`revision_key`]) → `mvccpb.KeyValue`.
const KEY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key");
/// etcd's `lease` bucket: lease ID → (granted TTL, checkpointed remaining TTL) in seconds.
const LEASE: TableDefinition<i64, (i64, i64)> = TableDefinition::new("lease");
/// etcd's `alarm` bucket: (member ID, alarm type) → nothing.
const ALARM: TableDefinition<(u64, u8), ()> = TableDefinition::new("alarm");
/// etcd's `meta` bucket: name → value (see [`Meta`]).
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The format of the tables; a database written by a newer format is refused.
const FORMAT: u32 = 1;

/// Why the backend could not be read or written.
#[derive(Debug)]
pub enum BackendError {
    /// redb failed (I/O, a damaged file, …).
    Redb(PathBuf, redb::Error),
    /// The tables hold something this version cannot read; the text says what.
    Corrupt(PathBuf, String),
    /// The database was written by a newer Orrery (format number).
    NewerFormat(PathBuf, Vec<u8>),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redb(p, e) => write!(f, "backend {}: {e}", p.display()),
            Self::Corrupt(p, why) => write!(f, "backend {}: corrupt: {why}", p.display()),
            Self::NewerFormat(p, v) => write!(
                f,
                "backend {}: written in format {v:?}, which this version cannot read",
                p.display()
            ),
        }
    }
}

impl std::error::Error for BackendError {}

/// redb's page cache, for the writer's tree updates and the reads of evicted values (the
/// kernel's page cache holds the file too). redb's default (1 GiB) would grow with the
/// data; 16 MiB filled up and was 17 MB of a member holding 100 000 keys, while 4 MiB
/// loads and reads them as fast (`cargo xtask bench`).
const CACHE_BYTES: usize = 4 << 20;

/// The member's applied state on disk.
pub struct Backend {
    path: PathBuf,
    /// Shared with the [`BackendValues`] the member reads evicted values through.
    shared: Arc<Shared>,
}

/// The database and the reader's open table. Lock order: `cache`, then `db`.
struct Shared {
    /// Written only by the backend thread, which takes the lock exclusively only to
    /// defragment (redb compacts only with no transaction open).
    db: RwLock<Database>,
    /// The `key` table, kept open between reads: opening a read transaction per value
    /// would cost more than the lookup (a snapshot reads them all). Every commit closes
    /// it before the member hears of the commit, so a value the member evicted is always
    /// in the table the next read opens.
    cache: Mutex<Option<KeyTable>>,
}

type KeyTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// Reads back the values the member evicted, from the `key` table (the member reads only
/// revisions the backend thread has committed and not yet removed: see
/// [`orrery_core::server::Input::ValuesStored`]).
pub struct BackendValues {
    shared: Arc<Shared>,
}

impl ValueReader for BackendValues {
    fn value(&self, rev: Revision) -> Result<Bytes, String> {
        let s = &self.shared;
        let mut cache = s.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.is_none() {
            let db = s.db.read().map_err(|_| "the backend lock is poisoned")?;
            let tx = db.begin_read().map_err(|e| e.to_string())?;
            *cache = Some(tx.open_table(KEY).map_err(|e| e.to_string())?);
        }
        let keys = cache.as_ref().expect("just opened");
        let row = keys
            .get(revision_key(rev, false).as_slice())
            .map_err(|e| e.to_string())?
            .ok_or("the backend has no such record")?;
        let kv = mvccpb::KeyValue::decode(row.value()).map_err(|e| e.to_string())?;
        Ok(kv.value)
    }
}

impl Backend {
    /// Opens the database, creating it if needed.
    pub fn open(path: &Path) -> Result<Self, BackendError> {
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| BackendError::Redb(path.into(), e.into()))?;
        Ok(Self {
            path: path.into(),
            shared: Arc::new(Shared {
                db: RwLock::new(db),
                cache: Mutex::new(None),
            }),
        })
    }

    /// A reader of the values this backend holds, for the member.
    pub fn values(&self) -> Arc<BackendValues> {
        Arc::new(BackendValues {
            shared: self.shared.clone(),
        })
    }

    fn db(&self) -> std::sync::RwLockReadGuard<'_, Database> {
        self.shared
            .db
            .read()
            .expect("the backend lock is never poisoned")
    }

    fn redb(&self, e: impl Into<redb::Error>) -> BackendError {
        BackendError::Redb(self.path.clone(), e.into())
    }

    fn corrupt(&self, why: impl Into<String>) -> BackendError {
        BackendError::Corrupt(self.path.clone(), why.into())
    }

    /// Writes batches, in order, in one durable transaction (one fsync), with the last
    /// one's index: what [`writer`] does every 100 ms with the batches applied since.
    /// Nothing to write, nothing done.
    pub fn commit(&self, batches: &[AppliedChanges]) -> Result<(), BackendError> {
        if batches.is_empty() {
            // An idle tick: the reader's open table stays valid.
            return Ok(());
        }
        self.write(batches).map_err(|e| self.redb(e))?;
        // The reader's table predates this commit; closing it also lets redb reuse the
        // pages later commits free (an open read transaction pins them).
        drop(self.close_reader_table());
        Ok(())
    }

    fn close_reader_table(&self) -> std::sync::MutexGuard<'_, Option<KeyTable>> {
        let mut cache = self
            .shared
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *cache = None;
        cache
    }

    fn write(&self, batches: &[AppliedChanges]) -> Result<(), redb::Error> {
        let last = batches.last().expect("commit skips an empty list");
        let mut tx = self.db().begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        for applied in batches {
            write_changes(&tx, &applied.state)?;
        }
        {
            let mut meta = tx.open_table(META)?;
            let c = &last.state;
            meta.insert(Meta::FORMAT, &FORMAT.to_le_bytes()[..])?;
            meta.insert(Meta::CONSISTENT_INDEX, &last.index.to_le_bytes()[..])?;
            meta.insert(Meta::TERM, &last.term.to_le_bytes()[..])?;
            meta.insert(Meta::REVISION, &c.revision.to_le_bytes()[..])?;
            meta.insert(
                Meta::COMPACT_REVISION,
                &c.compact_revision.to_le_bytes()[..],
            )?;
            meta.insert(Meta::MEMBERS, last.membership.members.as_slice())?;
            let conf_state = last
                .membership
                .conf_state
                .write_to_bytes()
                .expect("a conf state always encodes");
            meta.insert(Meta::CONF_STATE, conf_state.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Rewrites the file without free pages (`etcdctl defrag`); returns whether it shrank.
    pub fn compact(&mut self) -> Result<bool, BackendError> {
        // Held until the end: no read opens a transaction while redb compacts.
        let _closed = self.close_reader_table();
        let mut db = self
            .shared
            .db
            .write()
            .expect("the backend lock is never poisoned");
        db.compact().map_err(|e| self.redb(e))
    }

    /// The file's size in bytes.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// Everything stored, or `None` if nothing was ever written.
    pub fn load(&self) -> Result<Option<StoredState>, BackendError> {
        let tx = self.db().begin_read().map_err(|e| self.redb(e))?;
        let meta = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.redb(e)),
        };
        let get = |name: &str| -> Result<Vec<u8>, BackendError> {
            let v = meta.get(name).map_err(|e| self.redb(e))?;
            v.map(|v| v.value().to_vec())
                .ok_or_else(|| self.corrupt(format!("meta has no {name}")))
        };
        let u64_of = |name: &str| -> Result<u64, BackendError> {
            let v = get(name)?;
            let b: [u8; 8] = v
                .try_into()
                .map_err(|_| self.corrupt(format!("meta {name} is not 8 bytes")))?;
            Ok(u64::from_le_bytes(b))
        };
        let format = get(Meta::FORMAT)?;
        if format != FORMAT.to_le_bytes() {
            return Err(BackendError::NewerFormat(self.path.clone(), format));
        }
        let conf_state = ConfState::parse_from_bytes(&get(Meta::CONF_STATE)?)
            .map_err(|_| self.corrupt("meta conf_state does not decode"))?;
        let mut state = StoredState {
            index: u64_of(Meta::CONSISTENT_INDEX)?,
            term: u64_of(Meta::TERM)?,
            revision: u64_of(Meta::REVISION)? as i64,
            compact_revision: u64_of(Meta::COMPACT_REVISION)? as i64,
            records: Vec::new(),
            leases: Vec::new(),
            alarms: Vec::new(),
            membership: StoredMembership {
                members: get(Meta::MEMBERS)?,
                conf_state,
            },
        };
        let keys = tx.open_table(KEY).map_err(|e| self.redb(e))?;
        for row in keys.iter().map_err(|e| self.redb(e))? {
            let (k, v) = row.map_err(|e| self.redb(e))?;
            let (revision, tombstone) = parse_revision_key(k.value())
                .ok_or_else(|| self.corrupt(format!("bad revision key {:?}", k.value())))?;
            let kv = mvccpb::KeyValue::decode(v.value())
                .map_err(|_| self.corrupt(format!("record {revision} does not decode")))?;
            state.records.push(StoredRecord {
                revision,
                tombstone,
                kv: convert::kv_from_pb(kv),
            });
        }
        let leases = tx.open_table(LEASE).map_err(|e| self.redb(e))?;
        for row in leases.iter().map_err(|e| self.redb(e))? {
            let (id, v) = row.map_err(|e| self.redb(e))?;
            let (ttl, remaining_ttl) = v.value();
            state.leases.push(StoredLease {
                id: id.value(),
                ttl,
                remaining_ttl,
            });
        }
        let alarms = match tx.open_table(ALARM) {
            Ok(t) => Some(t),
            // Created by the first batch that raised an alarm.
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(self.redb(e)),
        };
        if let Some(alarms) = alarms {
            for row in alarms.iter().map_err(|e| self.redb(e))? {
                let (member_id, kind) = row.map_err(|e| self.redb(e))?.0.value();
                let alarm = match kind {
                    1 => AlarmType::NoSpace,
                    2 => AlarmType::Corrupt,
                    other => return Err(self.corrupt(format!("unknown alarm type {other}"))),
                };
                state.alarms.push(AlarmMember { member_id, alarm });
            }
        }
        Ok(Some(state))
    }
}

/// Names in the `meta` table; every value is little-endian.
struct Meta;

impl Meta {
    const FORMAT: &'static str = "format";
    const CONSISTENT_INDEX: &'static str = "consistent_index";
    const TERM: &'static str = "term";
    const REVISION: &'static str = "revision";
    const COMPACT_REVISION: &'static str = "compact_revision";
    const MEMBERS: &'static str = "members";
    const CONF_STATE: &'static str = "conf_state";
}

/// etcd's revision key: main revision (8 bytes, big-endian), `_`, sub revision (8 bytes,
/// big-endian), and `t` for a tombstone. Big-endian makes byte order revision order.
fn revision_key(rev: Revision, tombstone: bool) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.extend_from_slice(&rev.main.to_be_bytes());
    k.push(b'_');
    k.extend_from_slice(&rev.sub.to_be_bytes());
    if tombstone {
        k.push(b't');
    }
    k
}

fn parse_revision_key(k: &[u8]) -> Option<(Revision, bool)> {
    let tombstone = match k.len() {
        17 => false,
        18 if k[17] == b't' => true,
        _ => return None,
    };
    if k[8] != b'_' {
        return None;
    }
    let main = i64::from_be_bytes(k[..8].try_into().ok()?);
    let sub = i64::from_be_bytes(k[9..17].try_into().ok()?);
    Some((Revision::new(main, sub), tombstone))
}

/// One batch's records, leases and alarms (a reset first forgets everything stored).
fn write_changes(tx: &redb::WriteTransaction, c: &StateChanges) -> Result<(), redb::Error> {
    if c.reset {
        tx.delete_table(KEY)?;
        tx.delete_table(LEASE)?;
        tx.delete_table(ALARM)?;
    }
    let mut keys = tx.open_table(KEY)?;
    for r in &c.records {
        let value = convert::kv(r.kv.clone()).encode_to_vec();
        keys.insert(revision_key(r.revision, r.tombstone).as_slice(), &*value)?;
    }
    for rev in &c.removed {
        for tombstone in [false, true] {
            keys.remove(revision_key(*rev, tombstone).as_slice())?;
        }
    }
    let mut leases = tx.open_table(LEASE)?;
    for l in &c.leases {
        match l {
            LeaseChange::Put(l) => {
                leases.insert(l.id, (l.ttl, l.remaining_ttl))?;
            }
            LeaseChange::Delete(id) => {
                leases.remove(*id)?;
            }
        }
    }
    if let Some(active) = &c.alarms {
        let mut alarms = tx.open_table(ALARM)?;
        alarms.retain(|_, ()| false)?;
        for a in active {
            alarms.insert((a.member_id, a.alarm as u8), ())?;
        }
    }
    Ok(())
}

pub mod writer;

#[cfg(test)]
mod tests;
