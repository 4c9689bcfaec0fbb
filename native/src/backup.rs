//! The file Maintenance.Snapshot streams and `etcdctl snapshot save` writes (etcd's
//! `snapshot` package): the applied state as raft's protobuf `Snapshot`, framed so that
//! etcdctl accepts it. See `native/STORAGE.md`.

/// Magic bytes at the start of a backup file (`etcdctl snapshot save`).
pub const BACKUP_MAGIC: &[u8; 8] = b"ORRERYBK";

/// A backup file's body: `ORRERYBK`, the length of the snapshot (`u64` LE), raft's protobuf
/// `Snapshot`, then zeros up to a multiple of 512 bytes (etcdctl expects the page-aligned size
/// of a bbolt file). The SHA-256 of all of it follows in the stream.
pub fn backup_file(snapshot: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(snapshot.len() + 16 + 512);
    out.extend_from_slice(BACKUP_MAGIC);
    out.extend_from_slice(&(snapshot.len() as u64).to_le_bytes());
    out.extend_from_slice(snapshot);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use orrery_core::server::raftpb::Snapshot;

    /// What a restore would read: the raft snapshot inside a saved backup file (body and
    /// SHA-256 trailer), after checking the digest.
    fn read_backup_file(file: &[u8]) -> Result<Snapshot, String> {
        use sha2::Digest;
        if file.len() < 32 + 16 || !(file.len() - 32).is_multiple_of(512) {
            return Err("not an orrery snapshot file (bad size)".into());
        }
        let (body, digest) = file.split_at(file.len() - 32);
        if sha2::Sha256::digest(body).as_slice() != digest {
            return Err("snapshot file's SHA-256 does not match (damaged?)".into());
        }
        if &body[..8] != BACKUP_MAGIC {
            return Err(
                "not an orrery snapshot file (etcd's bbolt snapshots cannot be read)".into(),
            );
        }
        let len = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes")) as usize;
        let raw = body.get(16..16 + len).ok_or("snapshot file is truncated")?;
        protobuf::Message::parse_from_bytes(raw).map_err(|e| format!("snapshot file: {e}"))
    }

    fn snap_at(index: u64) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = 1;
        s.data = vec![1, 2, 3].into();
        s
    }

    #[test]
    fn a_backup_file_is_page_aligned_and_reads_back() {
        use sha2::Digest;
        let raw = protobuf::Message::write_to_bytes(&snap_at(7)).unwrap();
        let mut file = backup_file(&raw);
        assert_eq!(file.len() % 512, 0);
        let digest = sha2::Sha256::digest(&file);
        file.extend_from_slice(&digest);
        assert_eq!(read_backup_file(&file).unwrap().get_metadata().index, 7);
        file[20] ^= 1;
        assert!(read_backup_file(&file).unwrap_err().contains("SHA-256"));
    }
}
