//! Binary form of members and of the member list (inside conf-change contexts and snapshots).
//!
//! A member is: id (`u64`), name (string), peer URLs (list of strings), client URLs (list of
//! strings), is_learner (`bool`). A membership is: member count (`u32`) then the members in
//! ID order, removed count (`u32`) then the removed IDs (`u64`) ascending.

use super::{Member, Membership};
use crate::wire::{put_bool, put_bytes, put_len, put_strings, put_u64, DecodeError, Reader};

/// Appends a member's encoding.
pub fn encode_member(m: &Member, out: &mut Vec<u8>) {
    put_u64(out, m.id);
    put_bytes(out, m.name.as_bytes());
    put_strings(out, &m.peer_urls);
    put_strings(out, &m.client_urls);
    put_bool(out, m.is_learner);
}

fn read_member(r: &mut Reader<'_>) -> Result<Member, DecodeError> {
    let m = Member {
        id: r.u64()?,
        name: r.string()?,
        peer_urls: r.strings()?,
        client_urls: r.strings()?,
        is_learner: r.bool()?,
    };
    if m.id == 0 {
        return Err(DecodeError::Invalid("member ID 0"));
    }
    Ok(m)
}

/// Decodes one member that fills `bytes`.
pub fn decode_member(bytes: &[u8]) -> Result<Member, DecodeError> {
    let mut r = Reader::new(bytes);
    let m = read_member(&mut r)?;
    r.finish()?;
    Ok(m)
}

/// Appends a membership's encoding.
pub fn encode_membership(m: &Membership, out: &mut Vec<u8>) {
    put_len(out, m.members.len());
    for member in m.members.values() {
        encode_member(member, out);
    }
    put_len(out, m.removed.len());
    for id in &m.removed {
        put_u64(out, *id);
    }
}

/// Decodes a membership that fills `bytes`.
pub fn decode_membership(bytes: &[u8]) -> Result<Membership, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut m = Membership::default();
    for _ in 0..r.len()? {
        let member = read_member(&mut r)?;
        if m.members.insert(member.id, member).is_some() {
            return Err(DecodeError::Invalid("duplicate member"));
        }
    }
    for _ in 0..r.len()? {
        m.removed.insert(r.u64()?);
    }
    r.finish()?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_round_trips() {
        let mut m = Membership::bootstrap([Member {
            id: 7,
            name: "n7".into(),
            peer_urls: vec!["http://a:2380".into()],
            client_urls: vec!["http://a:2379".into()],
            is_learner: false,
        }]);
        m.add(Member {
            id: 9,
            peer_urls: vec!["http://b:2380".into()],
            is_learner: true,
            ..Member::default()
        })
        .unwrap();
        m.remove(9).unwrap();
        let mut out = Vec::new();
        encode_membership(&m, &mut out);
        assert_eq!(decode_membership(&out), Ok(m));
        assert_eq!(
            decode_membership(&out[..out.len() - 1]),
            Err(DecodeError::Truncated)
        );
    }
}
