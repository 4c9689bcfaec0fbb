//! One WAL record on disk (see `native/STORAGE.md`):
//!
//! | size | field |
//! |---|---|
//! | 4 | `n`: length of type + payload (`u32`, little-endian) |
//! | 4 | CRC-32C (Castagnoli) of type + payload (`u32`, little-endian) |
//! | 1 | type |
//! | n − 1 | payload |

/// Largest record accepted when reading (a length above it is corruption, not a record).
pub const MAX_RECORD: usize = 64 * 1024 * 1024;

/// Bytes before the type byte.
pub const HEADER: usize = 8;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// First record of every segment: format version (`u32`) and segment sequence (`u64`).
    SegmentHeader = 1,
    /// A Raft entry, in raft's protobuf encoding (`eraftpb.Entry`).
    Entry = 2,
    /// A Raft hard state, in raft's protobuf encoding (`eraftpb.HardState`).
    HardState = 3,
    /// A snapshot was saved: its index and term (`u64` each) and a flag byte, 1 if it was
    /// installed from the leader (it replaces the whole log) or 0 if this member took it
    /// (entries after it stay). Entries at or below the index are in the snapshot file.
    Snapshot = 4,
}

impl RecordType {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::SegmentHeader,
            2 => Self::Entry,
            3 => Self::HardState,
            4 => Self::Snapshot,
            _ => return None,
        })
    }
}

/// Appends one framed record to `out`.
pub fn encode(out: &mut Vec<u8>, kind: RecordType, payload: &[u8]) {
    encode_with(out, kind, |out| out.extend_from_slice(payload));
}

/// Appends one framed record to `out` whose payload `write` appends in place (no copy of
/// the payload on the way).
pub fn encode_with(out: &mut Vec<u8>, kind: RecordType, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(kind as u8);
    write(out);
    let body = &out[start + HEADER..];
    let n = u32::try_from(body.len()).expect("record under 4 GiB");
    let crc = crc32c::crc32c(body);
    out[start..start + 4].copy_from_slice(&n.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// The outcome of reading one record at the start of `bytes`.
#[derive(Debug, PartialEq, Eq)]
pub enum Read<'a> {
    /// A good record and its total size on disk.
    Record(RecordType, &'a [u8], usize),
    /// No record follows: the bytes are used up, or only zeros are left (the unwritten part
    /// of a preallocated segment).
    End,
    /// The bytes end inside the record (a torn write at the tail).
    Truncated,
    /// The record is damaged: wrong checksum, length or type.
    Corrupt {
        /// It may be a write a crash interrupted: only zeros follow it, or its own length is
        /// zero with something written after it (the pages of one write reach the disk in
        /// any order).
        torn: bool,
    },
}

/// Reads the record at the start of `bytes`.
pub fn read(bytes: &[u8]) -> Read<'_> {
    if bytes.iter().take(4).all(|b| *b == 0) {
        // A zero length starts no record: this is where the writing stopped.
        return if all_zero(bytes) {
            Read::End
        } else {
            Read::Corrupt { torn: true }
        };
    }
    if bytes.len() < HEADER + 1 {
        return Read::Truncated;
    }
    let n = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if n > MAX_RECORD {
        return Read::Corrupt { torn: false };
    }
    let total = HEADER + n;
    if bytes.len() < total {
        return Read::Truncated;
    }
    let body = &bytes[HEADER..total];
    match RecordType::from_u8(body[0]) {
        Some(kind) if crc32c::crc32c(body) == crc => Read::Record(kind, &body[1..], total),
        _ => Read::Corrupt {
            torn: all_zero(&bytes[total..]),
        },
    }
}

/// A disk writes a sector whole or not at all; the sectors of one write may land in any
/// order.
const SECTOR: usize = 512;

/// Whether the damaged record at offset `start` of a segment's `bytes` may be a write that
/// a crash cut short in its middle (etcd `isTornEntry`): a sector-aligned piece of it
/// reads as zeros while written bytes follow, a sector that never reached the disk while
/// later ones did. Zeros after everything written do not count: a damaged length would
/// reach into the unwritten rest of the segment.
/// `written` is [`written_len`] of `bytes`. Only the record's data after its header is split
/// into pieces, as etcd splits what follows its length frame.
pub fn has_unwritten_sector(bytes: &[u8], start: usize, written: usize) -> bool {
    let len = bytes.get(start..start + 4).map_or(0, |b| {
        u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize
    });
    let end = (start + HEADER + len.min(MAX_RECORD)).min(written);
    let mut at = start + HEADER;
    // Bounded: `at` passes a sector boundary each round, up to `end`.
    while at < end {
        let piece_end = ((at / SECTOR + 1) * SECTOR).min(end);
        if all_zero(&bytes[at..piece_end]) {
            return true;
        }
        at = piece_end;
    }
    false
}

/// How many bytes of a segment were ever written: up to its last non-zero byte.
pub fn written_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)
}

/// Whether nothing but zeros is left (also true of no bytes at all).
pub fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_classified() {
        let mut out = Vec::new();
        encode(&mut out, RecordType::Entry, b"hello");
        encode(&mut out, RecordType::HardState, b"");
        let Read::Record(kind, payload, size) = read(&out) else {
            panic!("a record")
        };
        assert_eq!(
            (kind, payload, size),
            (RecordType::Entry, &b"hello"[..], 14)
        );
        assert!(matches!(
            read(&out[size..]),
            Read::Record(RecordType::HardState, b"", 9)
        ));
        assert_eq!(read(&out[..5]), Read::Truncated);
        assert_eq!(read(&out[..13]), Read::Truncated);
        let mut bad = out.clone();
        bad[10] ^= 1;
        assert_eq!(read(&bad), Read::Corrupt { torn: false });
        assert_eq!(read(&bad[..14]), Read::Corrupt { torn: true });
        assert_eq!(read(&[]), Read::End);
        // A preallocated segment: zeros after the last record.
        let mut preallocated = out.clone();
        preallocated.resize(4096, 0);
        assert_eq!(read(&preallocated[size + 9..]), Read::End);
        let mut torn = bad[..14].to_vec();
        torn.resize(4096, 0);
        assert_eq!(read(&torn), Read::Corrupt { torn: true });
        // The first page of a write lost, a later one on disk: torn too.
        let mut lost_page = vec![0; 4096];
        lost_page[2000] = 7;
        assert_eq!(read(&lost_page), Read::Corrupt { torn: true });
    }

    #[test]
    fn a_sector_lost_inside_a_record_reads_as_a_torn_write() {
        // A record over three sectors, then another one: the segment starts 100 bytes in.
        let mut seg = vec![1; 100];
        encode(&mut seg, RecordType::Entry, &[9; 1500]);
        encode(&mut seg, RecordType::Entry, b"after");
        assert!(
            !has_unwritten_sector(&seg, 100, written_len(&seg)),
            "an intact record"
        );
        let mut flipped = seg.clone();
        flipped[700] ^= 1;
        assert_eq!(read(&flipped[100..]), Read::Corrupt { torn: false });
        assert!(
            !has_unwritten_sector(&flipped, 100, written_len(&flipped)),
            "a flipped bit is corruption"
        );
        // Its second sector (512..1024 of the file) never reached the disk; later ones did.
        let mut lost = seg.clone();
        lost[512..1024].fill(0);
        assert_eq!(read(&lost[100..]), Read::Corrupt { torn: false });
        assert!(has_unwritten_sector(&lost, 100, written_len(&lost)));
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let mut out = Vec::new();
        encode(&mut out, RecordType::Snapshot, &[0xaa]);
        let crc = crc32c::crc32c(&[4, 0xaa]).to_le_bytes();
        assert_eq!(out, [&[2, 0, 0, 0][..], &crc, &[4, 0xaa]].concat());
    }
}
