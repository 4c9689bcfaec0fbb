//! The simulated network: per directed link latency, loss, duplication (reordering follows
//! from random latency), and cut links for partitions, including one-way ones.

use std::collections::{BTreeMap, BTreeSet};

/// Link behaviour, the same on every link (per-mille rates keep the model in integers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkParams {
    /// Fastest delivery, in ms.
    pub latency_min_ms: u64,
    /// Slowest delivery, in ms (inclusive).
    pub latency_max_ms: u64,
    /// Messages lost, per mille.
    pub loss_permille: u32,
    /// Messages delivered twice, per mille (never proposals: see
    /// [`crate::server::PeerMessage::is_proposal`]).
    pub duplicate_permille: u32,
}

impl Default for NetworkParams {
    fn default() -> Self {
        Self {
            latency_min_ms: 1,
            latency_max_ms: 10,
            loss_permille: 0,
            duplicate_permille: 0,
        }
    }
}

/// Which directed links are cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    /// The link behaviour.
    pub params: NetworkParams,
    cut: BTreeSet<(u64, u64)>,
    links: BTreeMap<(u64, u64), NetworkParams>,
}

impl Network {
    /// A network with every link up.
    pub fn new(params: NetworkParams) -> Self {
        Self {
            params,
            cut: BTreeSet::new(),
            links: BTreeMap::new(),
        }
    }

    /// Whether `from` can currently reach `to`.
    pub fn connected(&self, from: u64, to: u64) -> bool {
        !self.cut.contains(&(from, to))
    }

    /// Cuts the link from `from` to `to` (one way).
    pub fn cut(&mut self, from: u64, to: u64) {
        self.cut.insert((from, to));
    }

    /// Restores one link.
    pub fn restore(&mut self, from: u64, to: u64) {
        self.cut.remove(&(from, to));
    }

    /// Splits `members` into groups that reach only their own group; members in no group
    /// are isolated.
    pub fn partition(&mut self, members: &[u64], groups: &[Vec<u64>]) {
        self.cut.clear();
        let group_of = |m: u64| groups.iter().position(|g| g.contains(&m));
        for &a in members {
            for &b in members {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.cut.insert((a, b));
                }
            }
        }
    }

    /// The behaviour of the link from `from` to `to`.
    pub fn params_of(&self, from: u64, to: u64) -> NetworkParams {
        self.links.get(&(from, to)).copied().unwrap_or(self.params)
    }

    /// Gives one link its own behaviour, or (`None`) the network's again.
    pub fn set_link(&mut self, from: u64, to: u64, params: Option<NetworkParams>) {
        match params {
            Some(p) => self.links.insert((from, to), p),
            None => self.links.remove(&(from, to)),
        };
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// The cut links, for display.
    pub fn cut_links(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.cut.iter().copied()
    }
}
