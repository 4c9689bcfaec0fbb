//! What members send each other: Raft messages, and the lease requests a follower forwards to
//! the leader (etcd forwards keep-alives and time-to-live over its peer HTTP API).

use crate::request::ResponseHeader;
use crate::wire::{put_bool, put_bytes, put_i64, put_len, put_u64, DecodeError, Reader};
use bytes::Bytes;
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};

/// One message between members. Opaque to hosts: they route it by [`PeerMessage::to`] and
/// carry it as bytes ([`PeerMessage::to_bytes`]) or, in one process, as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerMessage {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) body: Body,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    Raft(Message),
    ForwardRequest { call: u64, op: ForwardOp },
    ForwardAnswer { call: u64, answer: ForwardAnswer },
}

/// A call a follower forwards to the leader: lease calls only the primary lessor answers,
/// and the learner-readiness check of a promotion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ForwardOp {
    KeepAlive { lease: i64 },
    TimeToLive { lease: i64, keys: bool },
    LearnerReady { member: u64 },
}

/// The leader's answer to a forwarded [`ForwardOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ForwardAnswer {
    /// Not the leader (any more): the follower retries when it knows the new one.
    NotLeader,
    KeepAlive {
        header: ResponseHeader,
        ttl: i64,
    },
    TimeToLive {
        header: ResponseHeader,
        ttl: i64,
        granted_ttl: i64,
        keys: Vec<Bytes>,
    },
    LearnerReady(bool),
}

impl PeerMessage {
    pub(crate) fn raft(m: Message) -> Self {
        Self {
            from: m.from,
            to: m.to,
            body: Body::Raft(m),
        }
    }

    /// The sender.
    pub fn from(&self) -> u64 {
        self.from
    }

    /// The recipient.
    pub fn to(&self) -> u64 {
        self.to
    }

    /// A short name of the message type, as etcd's raft names them (`MsgApp`, `MsgVote`, …),
    /// or `Forward` / `ForwardAnswer` for calls forwarded to the leader.
    pub fn kind(&self) -> &'static str {
        match &self.body {
            Body::Raft(m) => raft_kind(m.get_msg_type()),
            Body::ForwardRequest { .. } => "Forward",
            Body::ForwardAnswer { .. } => "ForwardAnswer",
        }
    }

    /// The sender's term, for Raft messages (0 otherwise).
    pub fn term(&self) -> u64 {
        match &self.body {
            Body::Raft(m) => m.term,
            _ => 0,
        }
    }

    /// Whether this carries a snapshot (large; hosts stream it separately and report the
    /// outcome with [`super::Input::SnapshotSent`]).
    pub fn is_snapshot(&self) -> bool {
        matches!(&self.body, Body::Raft(m) if m.get_msg_type() == MessageType::MsgSnapshot)
    }

    /// Whether this is a proposal forwarded to the leader. Raft does not deduplicate
    /// proposals, so delivering one twice would apply a client's write twice; etcd's peer
    /// transport (TCP streams) never duplicates messages. Every other message is safe to
    /// duplicate.
    pub fn is_proposal(&self) -> bool {
        matches!(&self.body, Body::Raft(m) if m.get_msg_type() == MessageType::MsgPropose)
    }

    /// A one-line description for traces: kind, term, index, commit, entries, reject.
    pub fn describe(&self) -> String {
        match &self.body {
            Body::Raft(m) => {
                let mut s = format!("{} {}->{} term={}", self.kind(), self.from, self.to, m.term);
                use std::fmt::Write;
                match m.get_msg_type() {
                    MessageType::MsgAppend => {
                        let _ = write!(
                            s,
                            " log={}/{} entries={} commit={}",
                            m.log_term,
                            m.index,
                            m.entries.len(),
                            m.commit
                        );
                    }
                    MessageType::MsgAppendResponse => {
                        let _ = write!(s, " index={} reject={}", m.index, m.reject);
                    }
                    MessageType::MsgRequestVote | MessageType::MsgRequestPreVote => {
                        let _ = write!(s, " last={}/{}", m.log_term, m.index);
                    }
                    MessageType::MsgRequestVoteResponse
                    | MessageType::MsgRequestPreVoteResponse => {
                        let _ = write!(s, " reject={}", m.reject);
                    }
                    MessageType::MsgHeartbeat => {
                        let _ = write!(s, " commit={}", m.commit);
                    }
                    MessageType::MsgSnapshot => {
                        let meta = m.get_snapshot().get_metadata();
                        let _ = write!(s, " snapshot={}/{}", meta.term, meta.index);
                    }
                    _ => {}
                }
                s
            }
            Body::ForwardRequest { call, op } => {
                format!("Forward {}->{} call={call} {op:?}", self.from, self.to)
            }
            Body::ForwardAnswer { call, .. } => {
                format!("ForwardAnswer {}->{} call={call}", self.from, self.to)
            }
        }
    }

    /// The wire form: a tag byte (1 Raft, 2 forwarded call, 3 its answer), sender and
    /// recipient (`u64`), then the Raft message in raft's protobuf encoding or the call/answer fields.
    pub fn to_bytes(&self) -> Vec<u8> {
        // One allocation of the right size: the Raft message is encoded in place. One byte
        // more: protobuf's flush reserves a spare byte, which would otherwise reallocate
        // (and copy) a full buffer, a whole append's entries.
        let body_size = match &self.body {
            Body::Raft(m) => m.compute_size() as usize,
            _ => 32,
        };
        let mut out = Vec::with_capacity(17 + body_size + 1);
        let tag = match self.body {
            Body::Raft(_) => 1,
            Body::ForwardRequest { .. } => 2,
            Body::ForwardAnswer { .. } => 3,
        };
        out.push(tag);
        put_u64(&mut out, self.from);
        put_u64(&mut out, self.to);
        match &self.body {
            Body::Raft(m) => {
                let mut os = protobuf::CodedOutputStream::vec(&mut out);
                m.write_to_with_cached_sizes(&mut os)
                    .and_then(|()| os.flush())
                    .expect("raft messages always encode");
            }
            Body::ForwardRequest { call, op } => {
                put_u64(&mut out, *call);
                match op {
                    ForwardOp::KeepAlive { lease } => {
                        out.push(1);
                        put_i64(&mut out, *lease);
                    }
                    ForwardOp::TimeToLive { lease, keys } => {
                        out.push(2);
                        put_i64(&mut out, *lease);
                        put_bool(&mut out, *keys);
                    }
                    ForwardOp::LearnerReady { member } => {
                        out.push(3);
                        put_u64(&mut out, *member);
                    }
                }
            }
            Body::ForwardAnswer { call, answer } => {
                put_u64(&mut out, *call);
                match answer {
                    ForwardAnswer::NotLeader => out.push(0),
                    ForwardAnswer::KeepAlive { header, ttl } => {
                        out.push(1);
                        put_header(&mut out, header);
                        put_i64(&mut out, *ttl);
                    }
                    ForwardAnswer::TimeToLive {
                        header,
                        ttl,
                        granted_ttl,
                        keys,
                    } => {
                        out.push(2);
                        put_header(&mut out, header);
                        put_i64(&mut out, *ttl);
                        put_i64(&mut out, *granted_ttl);
                        put_len(&mut out, keys.len());
                        for k in keys {
                            put_bytes(&mut out, k);
                        }
                    }
                    ForwardAnswer::LearnerReady(ready) => {
                        out.push(3);
                        put_bool(&mut out, *ready);
                    }
                }
            }
        }
        out
    }

    /// Parses [`PeerMessage::to_bytes`]'s output.
    ///
    /// The entries' data are slices of `bytes`, not copies.
    pub fn from_bytes(bytes: &Bytes) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let tag = r.u8()?;
        let from = r.u64()?;
        let to = r.u64()?;
        let body = match tag {
            1 => {
                let m = Message::parse_from_carllerche_bytes(&bytes.slice(17..))
                    .map_err(|_| DecodeError::Invalid("raft message"))?;
                if m.from != from || m.to != to {
                    return Err(DecodeError::Invalid("raft message addresses"));
                }
                return Ok(Self::raft(m));
            }
            2 => {
                let call = r.u64()?;
                let op = match r.u8()? {
                    1 => ForwardOp::KeepAlive { lease: r.i64()? },
                    2 => ForwardOp::TimeToLive {
                        lease: r.i64()?,
                        keys: r.bool()?,
                    },
                    3 => ForwardOp::LearnerReady { member: r.u64()? },
                    _ => return Err(DecodeError::Invalid("forwarded call")),
                };
                Body::ForwardRequest { call, op }
            }
            3 => {
                let call = r.u64()?;
                let answer = match r.u8()? {
                    0 => ForwardAnswer::NotLeader,
                    1 => ForwardAnswer::KeepAlive {
                        header: read_header(&mut r)?,
                        ttl: r.i64()?,
                    },
                    2 => {
                        let header = read_header(&mut r)?;
                        let ttl = r.i64()?;
                        let granted_ttl = r.i64()?;
                        let n = r.len()?;
                        let keys = (0..n).map(|_| r.bytes()).collect::<Result<_, _>>()?;
                        ForwardAnswer::TimeToLive {
                            header,
                            ttl,
                            granted_ttl,
                            keys,
                        }
                    }
                    3 => ForwardAnswer::LearnerReady(r.bool()?),
                    _ => return Err(DecodeError::Invalid("forwarded answer")),
                };
                Body::ForwardAnswer { call, answer }
            }
            _ => return Err(DecodeError::Invalid("peer message tag")),
        };
        r.finish()?;
        Ok(Self { from, to, body })
    }
}

fn put_header(out: &mut Vec<u8>, h: &ResponseHeader) {
    put_u64(out, h.cluster_id);
    put_u64(out, h.member_id);
    put_i64(out, h.revision);
    put_u64(out, h.raft_term);
}

fn read_header(r: &mut Reader<'_>) -> Result<ResponseHeader, DecodeError> {
    Ok(ResponseHeader {
        cluster_id: r.u64()?,
        member_id: r.u64()?,
        revision: r.i64()?,
        raft_term: r.u64()?,
    })
}

/// etcd's names for raft message types.
pub(crate) fn raft_kind(t: MessageType) -> &'static str {
    use MessageType::*;
    match t {
        MsgHup => "MsgHup",
        MsgBeat => "MsgBeat",
        MsgPropose => "MsgProp",
        MsgAppend => "MsgApp",
        MsgAppendResponse => "MsgAppResp",
        MsgRequestVote => "MsgVote",
        MsgRequestVoteResponse => "MsgVoteResp",
        MsgSnapshot => "MsgSnap",
        MsgHeartbeat => "MsgHeartbeat",
        MsgHeartbeatResponse => "MsgHeartbeatResp",
        MsgUnreachable => "MsgUnreachable",
        MsgSnapStatus => "MsgSnapStatus",
        MsgCheckQuorum => "MsgCheckQuorum",
        MsgTransferLeader => "MsgTransferLeader",
        MsgTimeoutNow => "MsgTimeoutNow",
        MsgReadIndex => "MsgReadIndex",
        MsgReadIndexResp => "MsgReadIndexResp",
        MsgRequestPreVote => "MsgPreVote",
        MsgRequestPreVoteResponse => "MsgPreVoteResp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_round_trips_through_bytes() {
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgAppend);
        m.from = 1;
        m.to = 2;
        m.term = 3;
        let msgs = [
            PeerMessage::raft(m),
            PeerMessage {
                from: 2,
                to: 1,
                body: Body::ForwardRequest {
                    call: 5,
                    op: ForwardOp::TimeToLive {
                        lease: 9,
                        keys: true,
                    },
                },
            },
            PeerMessage {
                from: 1,
                to: 2,
                body: Body::ForwardAnswer {
                    call: 5,
                    answer: ForwardAnswer::TimeToLive {
                        header: ResponseHeader::at(4),
                        ttl: 3,
                        granted_ttl: 10,
                        keys: vec![Bytes::from_static(b"k")],
                    },
                },
            },
        ];
        for msg in msgs {
            assert_eq!(PeerMessage::from_bytes(&msg.to_bytes().into()), Ok(msg));
        }
        assert!(PeerMessage::from_bytes(&Bytes::from_static(&[9, 0])).is_err());
    }
}
