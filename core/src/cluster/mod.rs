//! Cluster membership (etcd `etcdserver/api/membership`): who the members are, their URLs,
//! which are learners, and which IDs were removed for good.
//!
//! Membership is replicated state: it changes only when a conf-change entry (add, remove,
//! promote) or a member-update entry is applied, and it travels in snapshots.

mod codec;

pub use codec::{decode_member, decode_membership, encode_member, encode_membership};

use crate::error::EtcdError;
use std::collections::{BTreeMap, BTreeSet};

/// One member of the cluster (etcd `membership.Member`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// The member ID (never 0).
    pub id: u64,
    /// The name; empty until the member has started and published it.
    pub name: String,
    /// URLs the peers reach it on.
    pub peer_urls: Vec<String>,
    /// URLs clients reach it on; empty until published.
    pub client_urls: Vec<String>,
    /// A non-voting member that receives the log.
    pub is_learner: bool,
}

/// The replicated member list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    members: BTreeMap<u64, Member>,
    removed: BTreeSet<u64>,
}

/// etcd allows at most this many learners (`maxLearners` in 3.4).
pub const MAX_LEARNERS: usize = 1;

impl Membership {
    /// The bootstrap membership from `--initial-cluster`.
    pub fn bootstrap(members: impl IntoIterator<Item = Member>) -> Self {
        let members: BTreeMap<u64, Member> = members.into_iter().map(|m| (m.id, m)).collect();
        assert!(!members.contains_key(&0), "member ID 0 is reserved");
        Self {
            members,
            removed: BTreeSet::new(),
        }
    }

    /// Every member, in ID order.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// One member.
    pub fn get(&self, id: u64) -> Option<&Member> {
        self.members.get(&id)
    }

    /// Whether `id` was a member and was removed (it may never come back).
    pub fn is_removed(&self, id: u64) -> bool {
        self.removed.contains(&id)
    }

    /// The removed IDs, ascending.
    pub fn removed(&self) -> impl Iterator<Item = u64> + '_ {
        self.removed.iter().copied()
    }

    /// IDs of the voting members.
    pub fn voters(&self) -> Vec<u64> {
        self.members()
            .filter(|m| !m.is_learner)
            .map(|m| m.id)
            .collect()
    }

    /// IDs of the learners.
    pub fn learners(&self) -> Vec<u64> {
        self.members()
            .filter(|m| m.is_learner)
            .map(|m| m.id)
            .collect()
    }

    /// Checks a member-add request before proposing it (etcd `ValidateConfigurationChange`
    /// for `ConfChangeAddNode` / `AddLearnerNode`).
    pub fn check_add(&self, member: &Member) -> Result<(), EtcdError> {
        if self.removed.contains(&member.id) || self.members.contains_key(&member.id) {
            return Err(EtcdError::MemberExist);
        }
        if member.peer_urls.is_empty() || member.peer_urls.iter().any(|u| !url_ok(u)) {
            return Err(EtcdError::MemberBadUrls);
        }
        let taken: BTreeSet<&String> = self.members().flat_map(|m| &m.peer_urls).collect();
        if member.peer_urls.iter().any(|u| taken.contains(u)) {
            return Err(EtcdError::PeerUrlExist);
        }
        if member.is_learner && self.learners().len() >= MAX_LEARNERS {
            return Err(EtcdError::TooManyLearners);
        }
        Ok(())
    }

    /// Checks a removal.
    pub fn check_remove(&self, id: u64) -> Result<(), EtcdError> {
        if !self.members.contains_key(&id) {
            return Err(EtcdError::MemberNotFound);
        }
        Ok(())
    }

    /// Checks a promotion (readiness is the leader's to check; see the server).
    pub fn check_promote(&self, id: u64) -> Result<(), EtcdError> {
        match self.members.get(&id) {
            None => Err(EtcdError::MemberNotFound),
            Some(m) if !m.is_learner => Err(EtcdError::MemberNotLearner),
            Some(_) => Ok(()),
        }
    }

    /// Checks a peer-URL update.
    pub fn check_update(&self, id: u64, peer_urls: &[String]) -> Result<(), EtcdError> {
        if !self.members.contains_key(&id) {
            return Err(EtcdError::MemberNotFound);
        }
        if peer_urls.is_empty() || peer_urls.iter().any(|u| !url_ok(u)) {
            return Err(EtcdError::MemberBadUrls);
        }
        let taken: BTreeSet<&String> = self
            .members()
            .filter(|m| m.id != id)
            .flat_map(|m| &m.peer_urls)
            .collect();
        if peer_urls.iter().any(|u| taken.contains(u)) {
            return Err(EtcdError::PeerUrlExist);
        }
        Ok(())
    }

    /// Applies an add. A change that fails its check at apply time (a concurrent change got
    /// there first) changes nothing and returns the error.
    pub fn add(&mut self, member: Member) -> Result<(), EtcdError> {
        self.check_add(&member)?;
        self.members.insert(member.id, member);
        Ok(())
    }

    /// Applies a removal: the ID is remembered so that it can never rejoin.
    pub fn remove(&mut self, id: u64) -> Result<Member, EtcdError> {
        self.check_remove(id)?;
        self.removed.insert(id);
        Ok(self.members.remove(&id).expect("checked"))
    }

    /// Applies a promotion.
    pub fn promote(&mut self, id: u64) -> Result<(), EtcdError> {
        self.check_promote(id)?;
        self.members.get_mut(&id).expect("checked").is_learner = false;
        Ok(())
    }

    /// Applies a peer-URL update.
    pub fn update_peer_urls(&mut self, id: u64, peer_urls: Vec<String>) -> Result<(), EtcdError> {
        self.check_update(id, &peer_urls)?;
        self.members.get_mut(&id).expect("checked").peer_urls = peer_urls;
        Ok(())
    }

    /// Applies a member's published name and client URLs (etcd `publish`); unknown IDs are
    /// ignored, as etcd ignores attributes of a removed member.
    pub fn set_attributes(&mut self, id: u64, name: String, client_urls: Vec<String>) {
        if let Some(m) = self.members.get_mut(&id) {
            m.name = name;
            m.client_urls = client_urls;
        }
    }
}

/// etcd parses peer URLs with `types.NewURLs`: a scheme of http or https and a host:port.
fn url_ok(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return false;
    };
    !host.is_empty() && !rest.contains('/') && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, url: &str, is_learner: bool) -> Member {
        Member {
            id,
            name: format!("m{id}"),
            peer_urls: vec![url.to_string()],
            client_urls: vec![],
            is_learner,
        }
    }

    #[test]
    fn membership_changes_follow_etcds_checks() {
        let mut m = Membership::bootstrap([member(1, "http://a:2380", false)]);
        assert_eq!(
            m.check_add(&member(2, "http://a:2380", false)),
            Err(EtcdError::PeerUrlExist)
        );
        assert_eq!(
            m.check_add(&member(2, "a:2380", false)),
            Err(EtcdError::MemberBadUrls)
        );
        m.add(member(2, "http://b:2380", true)).unwrap();
        assert_eq!(
            m.check_add(&member(3, "http://c:2380", true)),
            Err(EtcdError::TooManyLearners)
        );
        assert_eq!(m.check_promote(1), Err(EtcdError::MemberNotLearner));
        m.promote(2).unwrap();
        assert_eq!(m.voters(), vec![1, 2]);
        m.remove(2).unwrap();
        assert!(m.is_removed(2));
        assert_eq!(
            m.check_add(&member(2, "http://b:2380", false)),
            Err(EtcdError::MemberExist)
        );
        assert_eq!(m.check_remove(9), Err(EtcdError::MemberNotFound));
    }
}
