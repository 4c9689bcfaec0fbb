//! What a member writes into Raft entries and snapshots.
//!
//! # Normal entries (`EntryNormal.data`)
//!
//! | first byte | meaning | then |
//! |---|---|---|
//! | (empty data) | the no-op a new leader appends | — |
//! | 1 | a client request | proposal ID (`u64`), the request ([`crate::request::encode_request`]) |
//! | 2 | a member's published attributes | member ID (`u64`), name (string), client URLs (list of strings) |
//! | 3 | a peer-URL update | proposal ID (`u64`), member ID (`u64`), peer URLs (list of strings) |
//!
//! # Conf-change entries (`EntryConfChange`, raft's v1 `ConfChange`)
//!
//! `node_id` and `change_type` are raft's (`AddNode` also promotes a learner); `context` is the
//! proposal ID (`u64`) followed, for adds and promotions, by the member
//! ([`crate::cluster::encode_member`]).
//!
//! # Snapshot data
//!
//! `ORRERYRS` (8 bytes), format version (`u32` = 1), membership (`bytes`, see
//! [`crate::cluster::encode_membership`]), state machine (`bytes`, see [`crate::snapshot`]).
//! The Raft index, term and voters are in the snapshot's metadata.
//!
//! Integers are little-endian; see [`crate::wire`] for `bytes`, strings and lists.

use crate::cluster::{decode_member, decode_membership, encode_member, Member, Membership};
use crate::request::{decode_request, encode_request, Request};
use crate::wire::{put_bytes, put_strings, put_u64, DecodeError, Reader};

/// A decoded normal entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Payload {
    /// The empty entry a new leader appends to commit entries of earlier terms.
    Noop,
    /// A client request, tagged with the proposing member's proposal ID.
    Request { proposal: u64, request: Request },
    /// A member's name and client URLs (etcd `publish`).
    Attributes {
        member: u64,
        name: String,
        client_urls: Vec<String>,
    },
    /// New peer URLs for a member (etcd `MemberUpdate`).
    UpdatePeers {
        proposal: u64,
        member: u64,
        peer_urls: Vec<String>,
    },
}

impl Payload {
    /// The entry data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Noop => {}
            Self::Request { proposal, request } => {
                out.reserve_exact(9 + crate::request::encoded_size_hint(request));
                out.push(1);
                put_u64(&mut out, *proposal);
                encode_request(request, &mut out);
            }
            Self::Attributes {
                member,
                name,
                client_urls,
            } => {
                out.push(2);
                put_u64(&mut out, *member);
                put_bytes(&mut out, name.as_bytes());
                put_strings(&mut out, client_urls);
            }
            Self::UpdatePeers {
                proposal,
                member,
                peer_urls,
            } => {
                out.push(3);
                put_u64(&mut out, *proposal);
                put_u64(&mut out, *member);
                put_strings(&mut out, peer_urls);
            }
        }
        out
    }

    /// Parses entry data.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let Some((&tag, rest)) = data.split_first() else {
            return Ok(Self::Noop);
        };
        let mut r = Reader::new(rest);
        let payload = match tag {
            1 => {
                let proposal = r.u64()?;
                let request = decode_request(r.take(rest.len() - 8)?)?;
                Self::Request { proposal, request }
            }
            2 => Self::Attributes {
                member: r.u64()?,
                name: r.string()?,
                client_urls: r.strings()?,
            },
            3 => Self::UpdatePeers {
                proposal: r.u64()?,
                member: r.u64()?,
                peer_urls: r.strings()?,
            },
            _ => return Err(DecodeError::Invalid("entry tag")),
        };
        r.finish()?;
        Ok(payload)
    }
}

/// The context of a conf-change entry.
pub(crate) fn encode_conf_context(proposal: u64, member: Option<&Member>) -> Vec<u8> {
    let mut out = Vec::new();
    put_u64(&mut out, proposal);
    if let Some(m) = member {
        encode_member(m, &mut out);
    }
    out
}

pub(crate) fn decode_conf_context(ctx: &[u8]) -> Result<(u64, Option<Member>), DecodeError> {
    let mut r = Reader::new(ctx);
    let proposal = r.u64()?;
    let rest = &ctx[8..];
    let member = if rest.is_empty() {
        None
    } else {
        Some(decode_member(rest)?)
    };
    Ok((proposal, member))
}

const SNAPSHOT_MAGIC: &[u8; 8] = b"ORRERYRS";
const SNAPSHOT_VERSION: u32 = 1;

pub(crate) fn encode_snapshot_data(membership: &Membership, state_machine: &[u8]) -> Vec<u8> {
    encode_snapshot_data_with(membership, |out| out.extend_from_slice(state_machine))
}

/// [`encode_snapshot_data`] with the state machine's bytes appended by `write_state` into
/// the same buffer (a state of hundreds of megabytes is then encoded once, not copied).
pub(crate) fn encode_snapshot_data_with(
    membership: &Membership,
    write_state: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut m = Vec::new();
    crate::cluster::encode_membership(membership, &mut m);
    let mut out = Vec::new();
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    put_bytes(&mut out, &m);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    write_state(&mut out);
    let len = u32::try_from(out.len() - len_at - 4).expect("a state machine below 4 GiB");
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    out
}

/// Splits a Raft snapshot's data into the membership and the state machine's bytes
/// ([`crate::StateMachine::restore`] takes them).
pub fn decode_snapshot_data(data: &[u8]) -> Result<(Membership, &[u8]), DecodeError> {
    let mut r = Reader::new(data);
    if r.take(8)? != SNAPSHOT_MAGIC {
        return Err(DecodeError::Invalid("snapshot magic"));
    }
    if r.take(4)? != SNAPSHOT_VERSION.to_le_bytes() {
        return Err(DecodeError::Invalid("snapshot version"));
    }
    let membership = decode_membership(r.slice()?)?;
    let sm = r.slice()?;
    r.finish()?;
    Ok((membership, sm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::LeaseRevokeRequest;

    #[test]
    fn payloads_round_trip() {
        for p in [
            Payload::Noop,
            Payload::Request {
                proposal: 9,
                request: Request::LeaseRevoke(LeaseRevokeRequest { id: 3 }),
            },
            Payload::Attributes {
                member: 2,
                name: "n2".into(),
                client_urls: vec!["http://127.0.0.1:2379".into()],
            },
            Payload::UpdatePeers {
                proposal: 1,
                member: 2,
                peer_urls: vec!["http://x:2380".into()],
            },
        ] {
            assert_eq!(Payload::decode(&p.encode()), Ok(p));
        }
        assert!(Payload::decode(&[7]).is_err());
    }

    #[test]
    fn snapshot_data_written_in_place_has_the_snapshot_layout() {
        let membership = Membership::bootstrap(vec![Member {
            id: 1,
            name: "n1".into(),
            peer_urls: vec!["http://127.0.0.1:2380".into()],
            client_urls: vec![],
            is_learner: false,
        }]);
        let state = b"the state machine".to_vec();
        let in_place = encode_snapshot_data_with(&membership, |out| out.extend_from_slice(&state));
        // Magic, version, then the membership and the state, each length-prefixed.
        let mut expected = b"ORRERYRS".to_vec();
        expected.extend_from_slice(&1u32.to_le_bytes());
        let mut m = Vec::new();
        crate::cluster::encode_membership(&membership, &mut m);
        put_bytes(&mut expected, &m);
        put_bytes(&mut expected, &state);
        assert_eq!(in_place, expected);
        let (decoded, sm) = decode_snapshot_data(&in_place).unwrap();
        assert_eq!((decoded, sm), (membership, &state[..]));
    }
}
