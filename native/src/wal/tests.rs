use super::*;
use orrery_core::server::raftpb::Snapshot;

fn entry(index: u64, term: u64, data: &str) -> Entry {
    Entry {
        index,
        term,
        data: data.as_bytes().to_vec().into(),
        ..Entry::default()
    }
}

fn batch(entries: Vec<Entry>, commit: u64) -> PersistBatch {
    PersistBatch {
        number: 1,
        entries,
        hard_state: Some(HardState {
            term: 2,
            vote: 1,
            commit,
            ..HardState::default()
        }),
        must_sync: true,
        snapshot: None,
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("orrery-wal-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn what_was_synced_is_replayed_with_overwritten_tails() {
    let dir = tempdir("replay");
    let (mut wal, replayed) = Wal::open(&dir).unwrap();
    assert_eq!(replayed, Replayed::default());
    wal.append(&batch(
        vec![entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 1, "c")],
        1,
    ))
    .unwrap();
    wal.append(&batch(vec![entry(3, 2, "c2")], 3)).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (_, replayed) = Wal::open(&dir).unwrap();
    let got: Vec<(u64, u64)> = replayed.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(got, [(1, 1), (2, 1), (3, 2)]);
    assert_eq!(replayed.hard_state.commit, 3);
    assert_eq!(replayed.repaired_bytes, 0);
    fs::remove_dir_all(&dir).unwrap();
}

/// Writes two batches (entries 1 and 2, commits 1 and 2) and returns the segment's path, its
/// bytes and where its records end.
fn two_synced_batches(dir: &Path) -> (PathBuf, Vec<u8>, usize) {
    let (mut wal, _) = Wal::open(dir).unwrap();
    wal.append(&batch(vec![entry(1, 1, "a")], 1)).unwrap();
    wal.append(&batch(vec![entry(2, 1, "b")], 2)).unwrap();
    wal.sync().unwrap();
    let (path, end) = (wal.path.clone(), wal.size as usize);
    drop(wal);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(
        bytes.len() as u64,
        SEGMENT_BYTES,
        "the segment is preallocated"
    );
    assert!(record::all_zero(&bytes[end..]), "nothing after the records");
    (path, bytes, end)
}

#[test]
fn a_torn_tail_is_cut_off_and_damage_in_the_middle_is_refused() {
    let dir = tempdir("torn");
    let (path, pristine, end) = two_synced_batches(&dir);
    let mut last_record = Vec::new();
    let hs = batch(vec![], 2).hard_state.unwrap();
    record::encode(
        &mut last_record,
        RecordType::HardState,
        &hs.write_to_bytes().unwrap(),
    );
    let last_start = end - last_record.len();
    let cut_short = pristine[..end - 5].to_vec();
    let mut tail_page_lost = pristine.clone();
    tail_page_lost[end - 5..end].fill(0);
    let mut head_page_lost = pristine.clone();
    head_page_lost[last_start..last_start + record::HEADER].fill(0);
    for (how, bytes) in [
        ("the file ends inside the last record", cut_short),
        ("the last record's end is still zeros", tail_page_lost),
        ("the last record's start is still zeros", head_page_lost),
    ] {
        fs::write(&path, &bytes).unwrap();
        let (mut wal, replayed) = Wal::open(&dir).unwrap();
        assert!(replayed.repaired_bytes > 0, "{how}");
        assert_eq!(
            replayed.entries.len(),
            2,
            "{how}: the second entry survived"
        );
        assert_eq!(
            replayed.hard_state.commit, 1,
            "{how}: its hard state did not"
        );
        // Appending after a repair continues a clean log.
        wal.append(&batch(vec![entry(3, 1, "c")], 3)).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, replayed) = Wal::open(&dir).unwrap();
        assert_eq!(replayed.entries.len(), 3, "{how}");
        assert_eq!(replayed.hard_state.commit, 3, "{how}");
        assert_eq!(replayed.repaired_bytes, 0, "{how}");
    }
    // A sector lost in the middle of a large entry, with the hard state written after it
    // on disk: torn too; the batch goes, the earlier ones stay.
    let (mut wal, _) = Wal::open(&dir).unwrap();
    let big = "x".repeat(3000);
    wal.append(&batch(vec![entry(4, 1, &big)], 4)).unwrap();
    wal.sync().unwrap();
    let inside_entry = wal.size as usize - 3000;
    drop(wal);
    let mut bytes = fs::read(&path).unwrap();
    let sector = inside_entry.next_multiple_of(512) + 512;
    bytes[sector..sector + 512].fill(0);
    fs::write(&path, &bytes).unwrap();
    let (_, replayed) = Wal::open(&dir).unwrap();
    assert!(replayed.repaired_bytes > 0);
    assert_eq!(replayed.entries.len(), 3, "the large entry is cut off");
    assert_eq!(replayed.hard_state.commit, 3);
    // A flipped bit inside an early record is corruption, not a torn write.
    let mut bytes = fs::read(&path).unwrap();
    bytes[40] ^= 0x10;
    fs::write(&path, &bytes).unwrap();
    let err = Wal::open(&dir).unwrap_err();
    assert!(matches!(err, WalError::Corrupt(..)), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn snapshot_markers_drop_covered_entries_and_an_installed_snapshot_drops_the_log() {
    let dir = tempdir("snap");
    let (mut wal, _) = Wal::open(&dir).unwrap();
    wal.append(&batch((1..=5).map(|i| entry(i, 1, "x")).collect(), 5))
        .unwrap();
    wal.append_snapshot_marker(3, 1).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (mut wal, replayed) = Wal::open(&dir).unwrap();
    let got: Vec<u64> = replayed.entries.iter().map(|e| e.index).collect();
    assert_eq!((got, replayed.snapshot), (vec![4, 5], Some((3, 1))));
    let mut snap = Snapshot::default();
    snap.mut_metadata().index = 9;
    snap.mut_metadata().term = 3;
    wal.append(&PersistBatch {
        snapshot: Some(snap),
        ..PersistBatch::default()
    })
    .unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (_, replayed) = Wal::open(&dir).unwrap();
    assert_eq!(replayed.entries, vec![]);
    assert_eq!(replayed.snapshot, Some((9, 3)));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn segments_rotate_and_released_ones_are_removed() {
    let dir = tempdir("rotate");
    let (mut wal, _) = Wal::open(&dir).unwrap();
    // Force rotations by pretending the segment is full.
    for i in 1..=3 {
        wal.append(&batch(vec![entry(i, 1, "x")], i)).unwrap();
        wal.size = SEGMENT_BYTES;
        wal.append(&batch(vec![], i)).unwrap();
    }
    wal.sync().unwrap();
    assert_eq!(segments(&dir).unwrap().len(), 4);
    assert_eq!(wal.release_to(2).unwrap(), 2);
    drop(wal);
    let (_, replayed) = Wal::open(&dir).unwrap();
    let got: Vec<u64> = replayed.entries.iter().map(|e| e.index).collect();
    assert_eq!(got, vec![3]);
    assert_eq!(
        replayed.hard_state.commit, 3,
        "each new segment repeats the hard state, so releasing old ones keeps it"
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// An entry whose data tells its index apart from every other (and from zeros).
fn numbered(index: u64) -> Entry {
    let byte = (index % 251) as u8 + 1;
    Entry {
        index,
        term: 1,
        data: vec![byte; 4000].into(),
        ..Entry::default()
    }
}

#[test]
fn appends_racing_the_zeroing_thread_are_all_replayed() {
    let dir = tempdir("zero-race");
    let (mut wal, _) = Wal::open(&dir).unwrap();
    // 24 MiB without a sync: appends outrun the thread (it syncs every chunk), so they pass
    // its zeros again and again while it writes.
    for first in (1..=6_000).step_by(16) {
        let entries = (first..first + 16).map(numbered).collect();
        wal.append(&batch(entries, first)).unwrap();
    }
    wal.sync().unwrap();
    drop(wal);
    let (_, replayed) = Wal::open(&dir).unwrap();
    assert_eq!(replayed.entries.len(), 6_000);
    for (e, index) in replayed.entries.iter().zip(1..) {
        assert_eq!(e, &numbered(index), "entry {index}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn blocks_past_the_appends_are_written_ahead_of_them() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir("zero-ahead");
    let (mut wal, _) = Wal::open(&dir).unwrap();
    wal.append(&batch(vec![entry(1, 1, "a")], 1)).unwrap();
    wal.sync().unwrap();
    let wanted = wal.size + zero_ahead::AHEAD;
    // Bounded wait: the thread writes and syncs 4 MiB, well under a second here.
    for _ in 0..500 {
        if wal.zero.zeroed() >= wanted {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(wal.zero.zeroed() >= wanted, "zeroed {}", wal.zero.zeroed());
    let allocated = fs::metadata(&wal.path).unwrap().blocks() * 512;
    assert!(
        allocated >= zero_ahead::AHEAD,
        "{allocated} bytes allocated on disk"
    );
    drop(wal);
    let (_, replayed) = Wal::open(&dir).unwrap();
    assert_eq!(replayed.entries, vec![entry(1, 1, "a")]);
    fs::remove_dir_all(&dir).unwrap();
}
