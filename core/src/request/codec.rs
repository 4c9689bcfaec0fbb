//! The binary form of a [`Request`] inside a Raft entry.
//!
//! etcd marshals `InternalRaftRequest` with protobuf; Orrery's entries never leave its own
//! members, so they use this smaller, fixed encoding instead (the gRPC front end speaks
//! protobuf to clients). Every member must decode what any member encoded, on every
//! platform, so the format is explicit rather than derived.
//!
//! # Format, version 1
//!
//! Integers are little-endian; `bytes` is a `u32` length followed by that many bytes; `bool`
//! is one byte, 0 or 1; `list<T>` is a `u32` count followed by that many `T`.
//!
//! | request | tag (`u8`) | then |
//! |---|---|---|
//! | Range | 1 | key, range_end (`bytes`); limit, revision (`i64`); sort_order, sort_target (`u8`); serializable, keys_only, count_only (`bool`); min/max mod, min/max create revision (`i64` ×4) |
//! | Put | 2 | key, value (`bytes`); lease (`i64`); prev_kv, ignore_value, ignore_lease (`bool`) |
//! | DeleteRange | 3 | key, range_end (`bytes`); prev_kv (`bool`) |
//! | Txn | 4 | `list<Compare>`, `list<RequestOp>` success, `list<RequestOp>` failure |
//! | Compaction | 5 | revision (`i64`); physical (`bool`) |
//! | LeaseGrant | 6 | ttl, id (`i64`) |
//! | LeaseRevoke | 7 | id (`i64`) |
//! | LeaseCheckpoint | 8 | `list<(id i64, remaining_ttl i64)>` |
//! | Alarm | 9 | action (`u8`: 0 get, 1 activate, 2 deactivate); member_id (`u64` as `i64`); alarm (`u8`: 0 none, 1 nospace, 2 corrupt) |
//!
//! A `Compare` is key, range_end (`bytes`), result (`u8`), target tag (`u8`: 0 version,
//! 1 create, 2 mod, 3 value, 4 lease) and its operand (`i64`, or `bytes` for value). A
//! `RequestOp` is a Range, Put, DeleteRange or Txn request with its tag, as above. Enum
//! values are the order of the variants in the Rust enums (which is etcd's numbering).

use super::*;
use crate::wire::{put_bytes, put_i64, put_len, DecodeError, Reader};

/// Nesting deeper than this is refused when decoding (validation allows far less).
const MAX_DEPTH: usize = 64;

/// About how many bytes [`encode_request`] writes: enough for a put (its key and value),
/// a guess for the rest. Encoding into a buffer of this capacity copies a put's value once.
pub(crate) fn encoded_size_hint(request: &Request) -> usize {
    const FIXED: usize = 64;
    match request {
        Request::Put(r) => FIXED + r.key.len() + r.value.len(),
        _ => FIXED,
    }
}

/// Appends the encoding of `request` to `out`.
pub fn encode_request(request: &Request, out: &mut Vec<u8>) {
    match request {
        Request::Range(r) => put_range(out, r),
        Request::Put(r) => put_put(out, r),
        Request::DeleteRange(r) => put_delete(out, r),
        Request::Txn(r) => put_txn(out, r),
        Request::Compaction(r) => {
            out.push(5);
            put_i64(out, r.revision);
            out.push(u8::from(r.physical));
        }
        Request::LeaseGrant(r) => {
            out.push(6);
            put_i64(out, r.ttl);
            put_i64(out, r.id);
        }
        Request::LeaseRevoke(r) => {
            out.push(7);
            put_i64(out, r.id);
        }
        Request::LeaseCheckpoint(r) => {
            out.push(8);
            put_len(out, r.checkpoints.len());
            for c in &r.checkpoints {
                put_i64(out, c.id);
                put_i64(out, c.remaining_ttl);
            }
        }
        Request::Alarm(r) => {
            out.push(9);
            out.push(r.action as u8);
            put_i64(out, r.member_id as i64);
            out.push(r.alarm as u8);
        }
    }
}

/// Decodes a request that fills `bytes` exactly.
pub fn decode_request(bytes: &[u8]) -> Result<Request, DecodeError> {
    let mut r = Reader::new(bytes);
    let request = r.request(0)?;
    r.finish()?;
    Ok(request)
}

fn put_range(out: &mut Vec<u8>, r: &RangeRequest) {
    out.push(1);
    put_bytes(out, &r.key);
    put_bytes(out, &r.range_end);
    put_i64(out, r.limit);
    put_i64(out, r.revision);
    out.push(r.sort_order as u8);
    out.push(r.sort_target as u8);
    out.extend([r.serializable, r.keys_only, r.count_only].map(u8::from));
    for v in [
        r.min_mod_revision,
        r.max_mod_revision,
        r.min_create_revision,
        r.max_create_revision,
    ] {
        put_i64(out, v);
    }
}

fn put_put(out: &mut Vec<u8>, r: &PutRequest) {
    out.push(2);
    put_bytes(out, &r.key);
    put_bytes(out, &r.value);
    put_i64(out, r.lease);
    out.extend([r.prev_kv, r.ignore_value, r.ignore_lease].map(u8::from));
}

fn put_delete(out: &mut Vec<u8>, r: &DeleteRangeRequest) {
    out.push(3);
    put_bytes(out, &r.key);
    put_bytes(out, &r.range_end);
    out.push(u8::from(r.prev_kv));
}

fn put_txn(out: &mut Vec<u8>, t: &TxnRequest) {
    out.push(4);
    put_len(out, t.compare.len());
    for c in &t.compare {
        put_bytes(out, &c.key);
        put_bytes(out, &c.range_end);
        out.push(c.result as u8);
        match &c.target {
            CompareTarget::Version(v) => (out.push(0), put_i64(out, *v)).1,
            CompareTarget::Create(v) => (out.push(1), put_i64(out, *v)).1,
            CompareTarget::Mod(v) => (out.push(2), put_i64(out, *v)).1,
            CompareTarget::Value(v) => (out.push(3), put_bytes(out, v)).1,
            CompareTarget::Lease(v) => (out.push(4), put_i64(out, *v)).1,
        }
    }
    for ops in [&t.success, &t.failure] {
        put_len(out, ops.len());
        for op in ops {
            match op {
                RequestOp::Range(r) => put_range(out, r),
                RequestOp::Put(r) => put_put(out, r),
                RequestOp::DeleteRange(r) => put_delete(out, r),
                RequestOp::Txn(r) => put_txn(out, r),
            }
        }
    }
}

impl Reader<'_> {
    fn request(&mut self, depth: usize) -> Result<Request, DecodeError> {
        let tag = self.u8()?;
        Ok(match tag {
            1 => Request::Range(self.range()?),
            2 => Request::Put(self.put()?),
            3 => Request::DeleteRange(self.delete()?),
            4 => Request::Txn(self.txn(depth)?),
            5 => Request::Compaction(CompactionRequest {
                revision: self.i64()?,
                physical: self.bool()?,
            }),
            6 => Request::LeaseGrant(LeaseGrantRequest {
                ttl: self.i64()?,
                id: self.i64()?,
            }),
            7 => Request::LeaseRevoke(LeaseRevokeRequest { id: self.i64()? }),
            8 => {
                let n = self.len()?;
                let mut checkpoints = Vec::with_capacity(n);
                for _ in 0..n {
                    checkpoints.push(LeaseCheckpoint {
                        id: self.i64()?,
                        remaining_ttl: self.i64()?,
                    });
                }
                Request::LeaseCheckpoint(LeaseCheckpointRequest { checkpoints })
            }
            9 => {
                use crate::alarm::AlarmType;
                let action = match self.u8()? {
                    0 => AlarmAction::Get,
                    1 => AlarmAction::Activate,
                    2 => AlarmAction::Deactivate,
                    _ => return Err(DecodeError::Invalid("alarm action")),
                };
                let member_id = self.i64()? as u64;
                let alarm = match self.u8()? {
                    0 => AlarmType::None,
                    1 => AlarmType::NoSpace,
                    2 => AlarmType::Corrupt,
                    _ => return Err(DecodeError::Invalid("alarm type")),
                };
                Request::Alarm(AlarmRequest {
                    action,
                    member_id,
                    alarm,
                })
            }
            _ => return Err(DecodeError::Invalid("request tag")),
        })
    }

    fn range(&mut self) -> Result<RangeRequest, DecodeError> {
        let key = self.bytes()?;
        let range_end = self.bytes()?;
        let limit = self.i64()?;
        let revision = self.i64()?;
        let sort_order = match self.u8()? {
            0 => SortOrder::None,
            1 => SortOrder::Ascend,
            2 => SortOrder::Descend,
            _ => return Err(DecodeError::Invalid("sort order")),
        };
        let sort_target = match self.u8()? {
            0 => SortTarget::Key,
            1 => SortTarget::Version,
            2 => SortTarget::Create,
            3 => SortTarget::Mod,
            4 => SortTarget::Value,
            _ => return Err(DecodeError::Invalid("sort target")),
        };
        Ok(RangeRequest {
            key,
            range_end,
            limit,
            revision,
            sort_order,
            sort_target,
            serializable: self.bool()?,
            keys_only: self.bool()?,
            count_only: self.bool()?,
            min_mod_revision: self.i64()?,
            max_mod_revision: self.i64()?,
            min_create_revision: self.i64()?,
            max_create_revision: self.i64()?,
        })
    }

    fn put(&mut self) -> Result<PutRequest, DecodeError> {
        Ok(PutRequest {
            key: self.bytes()?,
            value: self.bytes()?,
            lease: self.i64()?,
            prev_kv: self.bool()?,
            ignore_value: self.bool()?,
            ignore_lease: self.bool()?,
        })
    }

    fn delete(&mut self) -> Result<DeleteRangeRequest, DecodeError> {
        Ok(DeleteRangeRequest {
            key: self.bytes()?,
            range_end: self.bytes()?,
            prev_kv: self.bool()?,
        })
    }

    fn txn(&mut self, depth: usize) -> Result<TxnRequest, DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::Invalid("txn nesting"));
        }
        let n = self.len()?;
        let mut compare = Vec::with_capacity(n);
        for _ in 0..n {
            let key = self.bytes()?;
            let range_end = self.bytes()?;
            let result = match self.u8()? {
                0 => CompareResult::Equal,
                1 => CompareResult::Greater,
                2 => CompareResult::Less,
                3 => CompareResult::NotEqual,
                _ => return Err(DecodeError::Invalid("compare result")),
            };
            let target = match self.u8()? {
                0 => CompareTarget::Version(self.i64()?),
                1 => CompareTarget::Create(self.i64()?),
                2 => CompareTarget::Mod(self.i64()?),
                3 => CompareTarget::Value(self.bytes()?),
                4 => CompareTarget::Lease(self.i64()?),
                _ => return Err(DecodeError::Invalid("compare target")),
            };
            compare.push(Compare {
                key,
                range_end,
                result,
                target,
            });
        }
        let success = self.ops(depth)?;
        let failure = self.ops(depth)?;
        Ok(TxnRequest {
            compare,
            success,
            failure,
        })
    }

    fn ops(&mut self, depth: usize) -> Result<Vec<RequestOp>, DecodeError> {
        let n = self.len()?;
        let mut ops = Vec::with_capacity(n);
        for _ in 0..n {
            ops.push(match self.u8()? {
                1 => RequestOp::Range(self.range()?),
                2 => RequestOp::Put(self.put()?),
                3 => RequestOp::DeleteRange(self.delete()?),
                4 => RequestOp::Txn(self.txn(depth + 1)?),
                _ => return Err(DecodeError::Invalid("txn op tag")),
            });
        }
        Ok(ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(request: Request) {
        let mut out = Vec::new();
        encode_request(&request, &mut out);
        assert_eq!(decode_request(&out), Ok(request));
        for cut in 0..out.len() {
            assert!(decode_request(&out[..cut]).is_err(), "prefix {cut} decoded");
        }
    }

    #[test]
    fn every_request_kind_round_trips_and_every_prefix_is_refused() {
        let put = PutRequest {
            key: Bytes::from_static(b"k"),
            value: Bytes::from_static(b"v"),
            lease: 7,
            prev_kv: true,
            ..PutRequest::default()
        };
        let range = RangeRequest {
            key: Bytes::from_static(b"a"),
            range_end: Bytes::from_static(b"z"),
            limit: 3,
            sort_order: SortOrder::Descend,
            sort_target: SortTarget::Mod,
            count_only: true,
            max_create_revision: 9,
            ..RangeRequest::default()
        };
        let del = DeleteRangeRequest {
            key: Bytes::from_static(b"d"),
            range_end: Bytes::new(),
            prev_kv: true,
        };
        let nested = TxnRequest {
            compare: vec![Compare {
                key: Bytes::from_static(b"k"),
                range_end: Bytes::new(),
                result: CompareResult::NotEqual,
                target: CompareTarget::Value(Bytes::from_static(b"x")),
            }],
            success: vec![RequestOp::DeleteRange(del.clone())],
            failure: vec![],
        };
        round_trip(Request::Range(range.clone()));
        round_trip(Request::Put(put.clone()));
        round_trip(Request::DeleteRange(del));
        round_trip(Request::Alarm(AlarmRequest {
            action: AlarmAction::Deactivate,
            member_id: u64::MAX - 3,
            alarm: crate::alarm::AlarmType::NoSpace,
        }));
        round_trip(Request::Txn(TxnRequest {
            compare: vec![Compare {
                key: Bytes::from_static(b"k"),
                range_end: Bytes::new(),
                result: CompareResult::Less,
                target: CompareTarget::Mod(4),
            }],
            success: vec![RequestOp::Put(put), RequestOp::Txn(nested)],
            failure: vec![RequestOp::Range(range)],
        }));
        round_trip(Request::Compaction(CompactionRequest {
            revision: 5,
            physical: true,
        }));
        round_trip(Request::LeaseGrant(LeaseGrantRequest { ttl: 10, id: 42 }));
        round_trip(Request::LeaseRevoke(LeaseRevokeRequest { id: 42 }));
        round_trip(Request::LeaseCheckpoint(LeaseCheckpointRequest {
            checkpoints: vec![LeaseCheckpoint {
                id: 1,
                remaining_ttl: 2,
            }],
        }));
    }

    #[test]
    fn bad_tags_and_trailing_bytes_are_refused() {
        assert_eq!(
            decode_request(&[10]),
            Err(DecodeError::Invalid("request tag"))
        );
        let mut out = Vec::new();
        encode_request(
            &Request::LeaseRevoke(LeaseRevokeRequest { id: 1 }),
            &mut out,
        );
        out.push(0);
        assert_eq!(decode_request(&out), Err(DecodeError::TrailingBytes));
        // A huge declared length is refused without allocating it.
        assert_eq!(
            decode_request(&[8, 0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::Truncated)
        );
    }
}
