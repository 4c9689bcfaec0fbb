//! The data directory (etcd's layout): `<data-dir>/member/wal/` (or `--wal-dir`) and
//! `<data-dir>/member/snap/`, with an exclusive lock so that two processes never write the
//! same member's files.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// An opened, locked data directory.
#[derive(Debug)]
pub struct DataDir {
    /// `<data-dir>/member/wal` or `--wal-dir`.
    pub wal: PathBuf,
    /// `<data-dir>/member/snap`.
    pub snap: PathBuf,
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
            _lock: lock,
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
}
