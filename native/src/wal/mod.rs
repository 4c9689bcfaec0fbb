//! The write-ahead log (etcd `wal/`): everything a member must not forget, appended to
//! segment files and fsynced before the member is told it is durable.
//!
//! A segment is named `<seq>-<first index>.wal` (16 hex digits each) and starts with a
//! segment-header record; records follow (see [`record`]). A new segment starts when the
//! current one passes [`SEGMENT_BYTES`]. Replaying the segments in order rebuilds the hard
//! state and the entries: an entry at an index already seen replaces it and everything after
//! it, as Raft overwrites an uncommitted tail.
//!
//! A segment is preallocated to [`SEGMENT_BYTES`] when it is created, as etcd does: appends
//! then land inside the file, so the fdatasync after each batch has no new file size to
//! write (measured on ext4: a small write + fdatasync ~110 µs instead of ~175 µs when it
//! grows the file). A thread writes zeros a few MiB ahead of the appends, so that they do
//! not allocate blocks either (see `zero_ahead`). The unwritten rest reads as zeros; a zero
//! record length marks where the records end. At start-up each segment is read whole, so
//! the last one costs a 64 MiB read and scan even when it holds a few records (etcd reads
//! its preallocated segments too).
//!
//! A crash can leave the tail of the last segment half written: a record cut short, or one
//! with a sector that never reached the disk while later ones did. [`Wal::open`] cuts the
//! tail off from the first such record (etcd `wal/repair.go`, `isTornEntry`); damage anywhere
//! else is corruption and is refused.

pub mod record;
mod zero_ahead;

use orrery_core::server::raftpb::{Entry, HardState};
use orrery_core::server::PersistBatch;
use protobuf::Message as _;
use record::{Read, RecordType};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use zero_ahead::ZeroAhead;

/// A segment is preallocated to this size, and closed and a new one started once its records
/// pass it.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Format version in every segment header.
pub const FORMAT_VERSION: u32 = 1;

/// Why the WAL could not be opened or written.
#[derive(Debug)]
pub enum WalError {
    /// An I/O error, with the file it concerned.
    Io(PathBuf, std::io::Error),
    /// A damaged record that is not a torn tail: the data cannot be trusted.
    Corrupt(PathBuf, u64, &'static str),
}

impl std::fmt::Display for WalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "wal: {}: {e}", p.display()),
            Self::Corrupt(p, at, what) => {
                write!(f, "wal: {} is corrupt at byte {at}: {what}", p.display())
            }
        }
    }
}

impl std::error::Error for WalError {}

fn io(path: &Path) -> impl Fn(std::io::Error) -> WalError + '_ {
    move |e| WalError::Io(path.to_owned(), e)
}

/// What replaying the WAL found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replayed {
    /// The last hard state written.
    pub hard_state: HardState,
    /// Entries after the last snapshot marker, in index order.
    pub entries: Vec<Entry>,
    /// The last snapshot marker: (index, term).
    pub snapshot: Option<(u64, u64)>,
    /// Bytes cut off a torn tail, up to the last nonzero one (0 when the log ended cleanly).
    pub repaired_bytes: u64,
}

/// An open WAL, positioned at its end.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    seq: u64,
    /// Where the records of the current segment end (the file is longer: preallocated).
    size: u64,
    /// Keeps the blocks past `size` written, so appends allocate nothing.
    zero: ZeroAhead,
    buf: Vec<u8>,
    /// The index after the last entry written (names the next segment).
    next_index: u64,
    /// The last hard state and snapshot marker written: repeated at the start of each new
    /// segment, so that releasing old segments never loses them (etcd writes its state record
    /// into every new segment too).
    hard_state: Option<HardState>,
    snapshot: Option<(u64, u64)>,
}

fn segment_name(seq: u64, first_index: u64) -> String {
    format!("{seq:016x}-{first_index:016x}.wal")
}

fn parse_segment_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".wal")?;
    let (seq, index) = stem.split_once('-')?;
    Some((
        u64::from_str_radix(seq, 16).ok()?,
        u64::from_str_radix(index, 16).ok()?,
    ))
}

/// Segments in `dir`, in sequence order: (seq, first index, path).
fn segments(dir: &Path) -> Result<Vec<(u64, u64, PathBuf)>, WalError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some((seq, index)) = parse_segment_name(&name) {
            out.push((seq, index, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// fsyncs a directory so that a created, renamed or removed file in it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir`, replays it and repairs a torn tail.
    pub fn open(dir: &Path) -> Result<(Self, Replayed), WalError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let segs = segments(dir)?;
        let mut replayed = Replayed::default();
        let mut end = 0;
        for (i, (_, _, path)) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            end = replay_segment(path, last, &mut replayed)?;
        }
        let wal = match segs.last() {
            Some((seq, _, path)) => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io(path))?;
                // A segment written before preallocation, or cut by a repair.
                if file.metadata().map_err(io(path))?.len() < SEGMENT_BYTES {
                    file.set_len(SEGMENT_BYTES).map_err(io(path))?;
                    file.sync_all().map_err(io(path))?;
                }
                file.seek(SeekFrom::Start(end)).map_err(io(path))?;
                Self {
                    dir: dir.to_owned(),
                    zero: ZeroAhead::start(path.clone(), end, SEGMENT_BYTES),
                    file,
                    path: path.clone(),
                    seq: *seq,
                    size: end,
                    buf: Vec::new(),
                    next_index: 0,
                    hard_state: None,
                    snapshot: None,
                }
            }
            None => Self::create_segment(dir, 0, 0, None, None)?,
        };
        let mut wal = wal;
        wal.hard_state =
            (replayed.hard_state != HardState::default()).then(|| replayed.hard_state.clone());
        wal.snapshot = replayed.snapshot;
        wal.next_index = replayed
            .entries
            .last()
            .map(|e| e.index + 1)
            .or(replayed.snapshot.map(|(i, _)| i + 1))
            .unwrap_or(0);
        Ok((wal, replayed))
    }

    fn create_segment(
        dir: &Path,
        seq: u64,
        first_index: u64,
        hard_state: Option<HardState>,
        snapshot: Option<(u64, u64)>,
    ) -> Result<Self, WalError> {
        let path = dir.join(segment_name(seq, first_index));
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        // Sparse; the zeroing thread writes its blocks ahead of the appends (see `zero_ahead`).
        file.set_len(SEGMENT_BYTES).map_err(io(&path))?;
        let mut header = Vec::new();
        let mut payload = FORMAT_VERSION.to_le_bytes().to_vec();
        payload.extend_from_slice(&seq.to_le_bytes());
        record::encode(&mut header, RecordType::SegmentHeader, &payload);
        if let Some((index, term)) = snapshot {
            let mut m = index.to_le_bytes().to_vec();
            m.extend_from_slice(&term.to_le_bytes());
            m.push(0);
            record::encode(&mut header, RecordType::Snapshot, &m);
        }
        if let Some(hs) = &hard_state {
            encode_hard_state(&mut header, hs);
        }
        file.write_all(&header).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        sync_dir(dir)?;
        let size = header.len() as u64;
        Ok(Self {
            dir: dir.to_owned(),
            zero: ZeroAhead::start(path.clone(), size, SEGMENT_BYTES),
            file,
            path,
            seq,
            size,
            buf: Vec::new(),
            next_index: first_index,
            hard_state,
            snapshot,
        })
    }

    /// Appends a persist batch: a snapshot marker, the entries, the hard state. Not durable
    /// until [`Wal::sync`].
    pub fn append(&mut self, batch: &PersistBatch) -> Result<(), WalError> {
        self.buf.clear();
        if let Some(snap) = &batch.snapshot {
            let m = snap.get_metadata();
            self.marker(m.index, m.term, true);
            self.next_index = m.index + 1;
            self.snapshot = Some((m.index, m.term));
        }
        for e in &batch.entries {
            self.next_index = e.index + 1;
            record::encode_with(&mut self.buf, RecordType::Entry, |out| {
                e.write_to_vec(out).expect("entries encode");
            });
        }
        if let Some(hs) = &batch.hard_state {
            encode_hard_state(&mut self.buf, hs);
            self.hard_state = Some(hs.clone());
        }
        self.write_buf()?;
        if self.size >= SEGMENT_BYTES {
            self.sync()?;
            let (hs, snap) = (self.hard_state.take(), self.snapshot);
            *self = Self::create_segment(&self.dir, self.seq + 1, self.next_index, hs, snap)?;
        }
        Ok(())
    }

    /// Records that this member saved a snapshot of its applied state at (index, term):
    /// replay drops the entries it covers and keeps later ones. Write the snapshot file
    /// first.
    pub fn append_snapshot_marker(&mut self, index: u64, term: u64) -> Result<(), WalError> {
        self.buf.clear();
        self.marker(index, term, false);
        self.snapshot = Some((index, term));
        self.write_buf()
    }

    /// A marker; `installed` means the snapshot came from the leader and replaced the whole
    /// log (later entries are dropped too).
    fn marker(&mut self, index: u64, term: u64, installed: bool) {
        let mut payload = index.to_le_bytes().to_vec();
        payload.extend_from_slice(&term.to_le_bytes());
        payload.push(u8::from(installed));
        record::encode(&mut self.buf, RecordType::Snapshot, &payload);
    }

    /// Writes `buf` at the file's cursor, which is `size`. After an error the cursor may
    /// not be, so the WAL must not be written again (the member stops).
    fn write_buf(&mut self) -> Result<(), WalError> {
        self.zero.before_append(self.size + self.buf.len() as u64);
        self.file.write_all(&self.buf).map_err(io(&self.path))?;
        self.size += self.buf.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far durable (fdatasync).
    pub fn sync(&mut self) -> Result<(), WalError> {
        self.file.sync_data().map_err(io(&self.path))
    }

    /// Removes closed segments whose entries all lie at or below `index` (covered by a
    /// saved snapshot). The current segment is never removed.
    pub fn release_to(&mut self, index: u64) -> Result<usize, WalError> {
        let segs = segments(&self.dir)?;
        let mut removed = 0;
        // A segment's entries end where the next segment begins.
        for pair in segs.windows(2) {
            let ((seq, _, path), (_, next_first, _)) = (&pair[0], &pair[1]);
            if *seq < self.seq && *next_first != 0 && *next_first <= index + 1 {
                fs::remove_file(path).map_err(io(path))?;
                removed += 1;
            } else {
                break;
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }
}

/// Appends a hard-state record to `out`.
fn encode_hard_state(out: &mut Vec<u8>, hs: &HardState) {
    record::encode_with(out, RecordType::HardState, |out| {
        hs.write_to_vec(out).expect("hard states encode");
    });
}

/// Replays one segment into `out` and returns where its records end.
fn replay_segment(path: &Path, last: bool, out: &mut Replayed) -> Result<u64, WalError> {
    let bytes = fs::read(path).map_err(io(path))?;
    let mut at = 0usize;
    // Scanned for only when a record is damaged: the last segment is 64 MiB, mostly zeros.
    let written = std::cell::OnceCell::new();
    let written = || *written.get_or_init(|| record::written_len(&bytes));
    loop {
        match record::read(&bytes[at..]) {
            Read::End => return Ok(at as u64),
            Read::Record(kind, payload, size) => {
                apply_record(kind, payload)
                    .map_err(|what| WalError::Corrupt(path.to_owned(), at as u64, what))?(
                    out
                );
                at += size;
            }
            r @ (Read::Truncated | Read::Corrupt { .. })
                if last
                    && (r != Read::Corrupt { torn: false }
                        || record::has_unwritten_sector(&bytes, at, written())) =>
            {
                // A torn write at the very end: cut it off (the cut part reads as zeros when
                // the file is extended again) and carry on from there.
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io(path))?;
                file.set_len(at as u64).map_err(io(path))?;
                file.sync_all().map_err(io(path))?;
                out.repaired_bytes = written().saturating_sub(at) as u64;
                return Ok(at as u64);
            }
            Read::Truncated => {
                return Err(WalError::Corrupt(
                    path.to_owned(),
                    at as u64,
                    "truncated record",
                ))
            }
            Read::Corrupt { .. } => {
                return Err(WalError::Corrupt(path.to_owned(), at as u64, "bad record"))
            }
        }
    }
}

type Step = Box<dyn FnOnce(&mut Replayed)>;

fn apply_record(kind: RecordType, payload: &[u8]) -> Result<Step, &'static str> {
    Ok(match kind {
        RecordType::SegmentHeader => {
            if payload.len() != 12 || payload[..4] != FORMAT_VERSION.to_le_bytes() {
                return Err("unknown segment format");
            }
            Box::new(|_| {})
        }
        RecordType::Entry => {
            let e = Entry::parse_from_bytes(payload).map_err(|_| "bad entry")?;
            Box::new(move |out: &mut Replayed| {
                if out.snapshot.is_some_and(|(index, _)| e.index <= index) {
                    return;
                }
                out.entries.retain(|x| x.index < e.index);
                out.entries.push(e);
            })
        }
        RecordType::HardState => {
            let hs = HardState::parse_from_bytes(payload).map_err(|_| "bad hard state")?;
            Box::new(move |out: &mut Replayed| out.hard_state = hs)
        }
        RecordType::Snapshot => {
            let b: [u8; 17] = payload.try_into().map_err(|_| "bad snapshot marker")?;
            let index = u64::from_le_bytes(b[..8].try_into().expect("8"));
            let term = u64::from_le_bytes(b[8..16].try_into().expect("8"));
            let installed = match b[16] {
                0 => false,
                1 => true,
                _ => return Err("bad snapshot marker"),
            };
            Box::new(move |out: &mut Replayed| {
                out.entries.retain(|x| !installed && x.index > index);
                out.snapshot = Some((index, term));
            })
        }
    })
}

#[cfg(test)]
mod tests;
