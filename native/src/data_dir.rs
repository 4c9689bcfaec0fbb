//! The data directory (etcd's layout): `<data-dir>/member/wal/` (or `--wal-dir`) and
//! `<data-dir>/member/snap/`, with an exclusive lock so that two processes never write the
//! same member's files. `<data-dir>/member/identity` remembers the member and cluster IDs
//! (etcd keeps them in its WAL metadata): a member that joined an existing cluster got its ID
//! from the cluster, and no flag could compute it again.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An opened, locked data directory.
#[derive(Debug)]
pub struct DataDir {
    /// `<data-dir>/member/wal` or `--wal-dir`.
    pub wal: PathBuf,
    /// `<data-dir>/member/snap`.
    pub snap: PathBuf,
    /// `<data-dir>/member`.
    pub member: PathBuf,
    /// Held for the life of the process; the OS releases it if the process dies.
    _lock: File,
}

impl DataDir {
    /// Creates the directories if needed and takes the lock; a second process gets an error
    /// that says so.
    pub fn open(data_dir: &Path, wal_dir: Option<&Path>) -> Result<Self, String> {
        let member = data_dir.join("member");
        let snap = member.join("snap");
        let wal = wal_dir.map_or_else(|| member.join("wal"), Path::to_owned);
        for d in [&member, &snap, &wal] {
            fs::create_dir_all(d)
                .map_err(|e| format!("cannot create data dir {}: {e}", d.display()))?;
        }
        let lock_path = member.join("lock");
        let lock = File::create(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        lock.try_lock().map_err(|_| {
            format!(
                "data dir {} is in use by another orrery process",
                data_dir.display()
            )
        })?;
        Ok(Self {
            wal,
            snap,
            member,
            _lock: lock,
        })
    }

    /// The IDs saved by [`DataDir::save_identity`], if this member ever started.
    pub fn identity(&self) -> Result<Option<Identity>, String> {
        let path = self.member.join(IDENTITY_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Identity::decode(&bytes)
            .map(Some)
            .ok_or_else(|| format!("{} is damaged", path.display()))
    }

    /// Saves the IDs durably (temporary file, fsync, rename, fsync of the directory).
    pub fn save_identity(&self, id: Identity) -> Result<(), String> {
        let path = self.member.join(IDENTITY_FILE);
        let tmp = self.member.join(format!("{IDENTITY_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&id.encode())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.member)?.sync_all()
        };
        write().map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

const IDENTITY_FILE: &str = "identity";
const IDENTITY_MAGIC: &[u8; 8] = b"ORRERYID";

/// Who this member is: the IDs every response header carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The member ID.
    pub member_id: u64,
    /// The cluster ID.
    pub cluster_id: u64,
}

impl Identity {
    /// `ORRERYID`, member ID (`u64` LE), cluster ID (`u64` LE), CRC-32C of the 24 bytes before.
    fn encode(self) -> Vec<u8> {
        let mut b = IDENTITY_MAGIC.to_vec();
        b.extend_from_slice(&self.member_id.to_le_bytes());
        b.extend_from_slice(&self.cluster_id.to_le_bytes());
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != 28 || &b[..8] != IDENTITY_MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(b[24..28].try_into().ok()?);
        if crc32c::crc32c(&b[..24]) != crc {
            return None;
        }
        Some(Self {
            member_id: u64::from_le_bytes(b[8..16].try_into().ok()?),
            cluster_id: u64::from_le_bytes(b[16..24].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_opener_is_refused_until_the_first_is_gone() {
        let dir = std::env::temp_dir().join(format!("orrery-dd-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = DataDir::open(&dir, None).unwrap();
        let err = DataDir::open(&dir, None).unwrap_err();
        assert!(err.contains("in use by another orrery process"), "{err}");
        drop(first);
        DataDir::open(&dir, None).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_identity_survives_a_reopen_and_damage_is_reported() {
        let dir = std::env::temp_dir().join(format!("orrery-id-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let d = DataDir::open(&dir, None).unwrap();
        assert_eq!(d.identity().unwrap(), None);
        let id = Identity {
            member_id: 0x8e9e05c52164694d,
            cluster_id: 0xcdf818194e3a8c32,
        };
        d.save_identity(id).unwrap();
        drop(d);
        let d = DataDir::open(&dir, None).unwrap();
        assert_eq!(d.identity().unwrap(), Some(id));
        let path = dir.join("member").join(IDENTITY_FILE);
        let mut bytes = fs::read(&path).unwrap();
        bytes[9] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert!(d.identity().unwrap_err().contains("damaged"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
