//! Raft snapshot files (etcd `etcdserver/api/snap`): `<term>-<index>.snap` (16 hex digits
//! each), holding raft's protobuf `Snapshot` (metadata + Orrery's snapshot data) followed by
//! its CRC-32C (`u32`, little-endian). A file is written under a temporary name, fsynced and
//! renamed, so a crash never leaves a half-written snapshot under a real name.

use crate::wal::sync_dir;
use orrery_core::server::raftpb::Snapshot;
use protobuf::Message as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Snapshot files kept (etcd `--max-snapshots`, default 5).
pub const KEEP: usize = 5;

/// Why snapshots could not be saved or loaded.
#[derive(Debug)]
pub enum SnapError {
    /// An I/O error, with the file it concerned.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for SnapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "snap: {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for SnapError {}

/// The snapshot directory.
#[derive(Clone, Debug)]
pub struct SnapDir {
    dir: PathBuf,
}

fn file_name(term: u64, index: u64) -> String {
    format!("{term:016x}-{index:016x}.snap")
}

impl SnapDir {
    /// The directory (created if missing).
    pub fn open(dir: &Path) -> Result<Self, SnapError> {
        fs::create_dir_all(dir).map_err(|e| SnapError::Io(dir.to_owned(), e))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Saves a snapshot durably and removes all but the newest [`KEEP`] files.
    pub fn save(&self, snap: &Snapshot) -> Result<PathBuf, SnapError> {
        let m = snap.get_metadata();
        let path = self.dir.join(file_name(m.term, m.index));
        let tmp = path.with_extension("snap.tmp");
        let err = |p: &Path| {
            let p = p.to_owned();
            move |e| SnapError::Io(p, e)
        };
        let f = fs::File::create(&tmp).map_err(err(&tmp))?;
        // Streamed: rust-protobuf writes a byte string larger than its buffer straight
        // through, so the state (tens of MiB) is not copied.
        let mut out = CrcWriter { file: f, crc: 0 };
        snap.write_to_writer(&mut out)
            .map_err(std::io::Error::from)
            .map_err(err(&tmp))?;
        let CrcWriter { file: mut f, crc } = out;
        f.write_all(&crc.to_le_bytes()).map_err(err(&tmp))?;
        f.sync_all().map_err(err(&tmp))?;
        fs::rename(&tmp, &path).map_err(err(&path))?;
        sync_dir(&self.dir)
            .map_err(|e| SnapError::Io(self.dir.clone(), std::io::Error::other(e.to_string())))?;
        let mut files = self.files()?;
        while files.len() > KEEP {
            let (_, old) = files.remove(0);
            fs::remove_file(&old).map_err(err(&old))?;
        }
        Ok(path)
    }

    /// Snapshot files, oldest first: (index, path).
    /// Whether any snapshot file exists (the member has started before).
    pub fn has_snapshots(&self) -> Result<bool, SnapError> {
        Ok(!self.files()?.is_empty())
    }

    fn files(&self) -> Result<Vec<(u64, PathBuf)>, SnapError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(|e| SnapError::Io(self.dir.clone(), e))? {
            let e = e.map_err(|e| SnapError::Io(self.dir.clone(), e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some((_, index)) = name.strip_suffix(".snap").and_then(|s| s.split_once('-'))
            else {
                continue;
            };
            if let Ok(index) = u64::from_str_radix(index, 16) {
                out.push((index, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The newest snapshot that reads back intact, skipping damaged files (as etcd falls
    /// back to an older snapshot), with the paths of the damaged ones.
    pub fn load_newest(&self) -> Result<(Option<Snapshot>, Vec<PathBuf>), SnapError> {
        let mut damaged = Vec::new();
        for (_, path) in self.files()?.into_iter().rev() {
            let bytes = fs::read(&path).map_err(|e| SnapError::Io(path.clone(), e))?;
            match decode(&bytes) {
                Some(s) => return Ok((Some(s), damaged)),
                None => damaged.push(path),
            }
        }
        Ok((None, damaged))
    }
}

/// A file that keeps the CRC-32C of everything written to it.
struct CrcWriter {
    file: fs::File,
    crc: u32,
}

impl Write for CrcWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn decode(bytes: &[u8]) -> Option<Snapshot> {
    let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32c::crc32c(body).to_le_bytes() != crc {
        return None;
    }
    Snapshot::parse_from_bytes(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(index: u64) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = 1;
        s.data = vec![index as u8; 10].into();
        s
    }

    #[test]
    fn the_file_holds_the_protobuf_encoding_then_its_crc() {
        let dir = std::env::temp_dir().join(format!("orrery-snap-enc-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let sd = SnapDir::open(&dir).unwrap();
        let mut big = snap(3);
        big.data = vec![7; 100_000].into(); // larger than the encoder's buffer
        big.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
        big.mut_unknown_fields().add_varint(9, 42); // a field from a newer peer
        let file = fs::read(sd.save(&big).unwrap()).unwrap();
        let mut want = big.write_to_bytes().unwrap();
        want.extend_from_slice(&crc32c::crc32c(&want).to_le_bytes());
        assert!(file == want, "the file is the encoding and its CRC");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_newest_intact_snapshot_is_loaded_and_old_ones_pruned() {
        let dir = std::env::temp_dir().join(format!("orrery-snap-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let sd = SnapDir::open(&dir).unwrap();
        assert_eq!(sd.load_newest().unwrap().0, None);
        for i in 1..=7 {
            sd.save(&snap(i)).unwrap();
        }
        assert_eq!(sd.files().unwrap().len(), KEEP);
        let newest = sd.save(&snap(8)).unwrap();
        let mut bytes = fs::read(&newest).unwrap();
        bytes[3] ^= 1;
        fs::write(&newest, bytes).unwrap();
        let (loaded, damaged) = sd.load_newest().unwrap();
        assert_eq!(loaded, Some(snap(7)));
        assert_eq!(damaged, vec![newest]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
