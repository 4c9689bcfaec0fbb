//! Which watchers an event may concern (etcd `watcherGroup.watcherSetByKey`).
//!
//! Single-key watchers are found by key; range watchers are kept in a list that every event
//! checks (etcd uses an interval tree; ranged watchers are few in practice, prefixes mostly).

use super::WatcherKey;
use crate::mvcc::KeyRange;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WatcherIndex {
    by_key: BTreeMap<Bytes, BTreeSet<WatcherKey>>,
    ranged: BTreeSet<WatcherKey>,
}

impl WatcherIndex {
    pub(crate) fn insert(&mut self, key: WatcherKey, range: &KeyRange) {
        match range {
            KeyRange::Single(k) => {
                self.by_key.entry(k.clone()).or_default().insert(key);
            }
            _ => {
                self.ranged.insert(key);
            }
        }
    }

    pub(crate) fn remove(&mut self, key: WatcherKey, range: &KeyRange) {
        match range {
            KeyRange::Single(k) => {
                if let Some(set) = self.by_key.get_mut(k) {
                    set.remove(&key);
                    if set.is_empty() {
                        self.by_key.remove(k);
                    }
                }
            }
            _ => {
                self.ranged.remove(&key);
            }
        }
    }

    /// Watchers whose range may contain `key` (the caller still checks the range exactly).
    pub(crate) fn candidates<'a>(&'a self, key: &[u8]) -> impl Iterator<Item = WatcherKey> + 'a {
        let single = self.by_key.get(key).into_iter().flatten();
        single.chain(&self.ranged).copied()
    }
}
