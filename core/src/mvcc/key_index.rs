//! The per-key history index (etcd `mvcc/key_index.go`), written from its specification.
//!
//! A key's history is a list of *generations*. A generation starts when the key is created
//! and ends with the tombstone that deletes it; the next put starts a new generation. The last
//! generation is the current one, and it is empty exactly when the key is currently deleted.
//!
//! ```text
//! put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0)   on key "foo":
//!
//!   generations:  {1.0, 2.0, 3.0(t)}  {4.0, 5.0(t)}  {}
//! ```
//!
//! # Compaction at revision `R`
//!
//! Compaction removes every superseded revision below `R` and keeps, per generation, the newest
//! revision at or below `R`, so reads at `R` still work:
//!
//! * a generation whose tombstone is *below* `R` is removed entirely;
//! * a generation whose tombstone is *at* `R` keeps only that tombstone, so a watcher that
//!   starts at `R` still sees the delete (etcd bug #19179, fixed upstream by #18274 — etcd 3.4.23
//!   drops the tombstone and loses the event);
//! * any other generation keeps its newest revision at or below `R` and everything after it;
//! * the key leaves the index once nothing but the empty current generation remains.
//!
//! Generations are independent, so a key deleted and re-created inside one revision
//! (`{…, 7.0(t)} {7.1}`) keeps its live value when compacted at 7 (etcd #22376).
//!
//! ```text
//! compact(2): {2.0, 3.0(t)} {4.0, 5.0(t)} {}
//! compact(4): {4.0, 5.0(t)} {}
//! compact(5): {5.0(t)} {}
//! compact(6): {}                  -> the key is removed from the index
//! ```

use super::revision::Revision;

/// One life of a key: from its creation to the tombstone that deleted it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generation {
    /// The main revision that created the key in this generation (its `create_revision`);
    /// 0 for a generation of which only the tombstone survived compaction.
    pub created: i64,
    /// The generation's revisions in ascending order; in every generation but the last, the
    /// final entry is the tombstone.
    pub revs: Vec<Revision>,
}

/// The history of one key, as a list of generations (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIndex {
    generations: Vec<Generation>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyIndex {
    /// A key with no history (one empty generation).
    pub fn new() -> Self {
        Self {
            generations: vec![Generation::default()],
        }
    }

    /// The generations, oldest first. The last one is the current generation.
    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }

    /// The newest revision of any kind (put or tombstone), if any.
    pub fn modified(&self) -> Option<Revision> {
        self.generations
            .iter()
            .rev()
            .find_map(|g| g.revs.last().copied())
    }

    /// Whether the key has no history left (it can be dropped from the index).
    pub fn is_empty(&self) -> bool {
        self.generations.len() == 1 && self.generations[0].revs.is_empty()
    }

    /// Whether the key currently exists (its current generation is not empty).
    pub fn is_live(&self) -> bool {
        !self.current().revs.is_empty()
    }

    fn current_mut(&mut self) -> &mut Generation {
        self.generations
            .last_mut()
            .expect("a key index always has a generation")
    }

    fn current(&self) -> &Generation {
        self.generations
            .last()
            .expect("a key index always has a generation")
    }

    /// Records a put at `rev`; a put on a deleted (or new) key starts a generation.
    pub fn put(&mut self, rev: Revision) {
        self.assert_after(rev);
        let g = self.current_mut();
        if g.revs.is_empty() {
            g.created = rev.main;
            // Most keys keep one revision after compaction: room for exactly one, not the
            // four a first push would reserve.
            g.revs.reserve_exact(1);
        }
        g.revs.push(rev);
    }

    /// Records a delete at `rev`: closes the current generation and opens an empty one.
    ///
    /// # Panics
    /// If the key does not currently exist; the store only tombstones live keys.
    pub fn tombstone(&mut self, rev: Revision) {
        assert!(
            self.is_live(),
            "tombstone of a key that does not exist at {rev}"
        );
        self.assert_after(rev);
        self.current_mut().revs.push(rev);
        self.generations.push(Generation::default());
    }

    /// Re-creates the index from a stored record, oldest first (snapshot restore).
    ///
    /// Unlike [`put`](Self::put), this accepts a generation whose oldest surviving revision is
    /// a tombstone: compaction keeps a tombstone at exactly the compaction revision.
    pub fn restore(&mut self, rev: Revision, create_revision: i64, tombstone: bool) {
        self.assert_after(rev);
        let g = self.current_mut();
        if g.revs.is_empty() {
            g.created = if tombstone { 0 } else { create_revision };
            g.revs.reserve_exact(1);
        }
        g.revs.push(rev);
        if tombstone {
            self.generations.push(Generation::default());
        }
    }

    /// The revision holding the key's value as of main revision `at`, or `None` when the key
    /// did not exist then (never created, or deleted at or before `at`).
    pub fn get(&self, at: i64) -> Option<Revision> {
        let last = self.generations.len() - 1;
        for (i, g) in self.generations.iter().enumerate().rev() {
            let Some(first) = g.revs.first() else {
                continue;
            };
            if first.main > at {
                continue; // this generation started after `at`; look at older ones
            }
            let tombstoned = i != last;
            let newest = g.revs.iter().rev().find(|r| r.main <= at).copied();
            return match newest {
                Some(r) if tombstoned && r == *g.revs.last().expect("non-empty") => None,
                other => other,
            };
        }
        None
    }

    /// Compacts the history at main revision `at` (see the module documentation) and appends
    /// every revision it drops to `removed`.
    pub fn compact(&mut self, at: i64, removed: &mut Vec<Revision>) {
        let last = self.generations.len() - 1;
        let mut kept = Vec::with_capacity(self.generations.len());
        for (i, mut g) in std::mem::take(&mut self.generations)
            .into_iter()
            .enumerate()
        {
            let tombstoned = i != last;
            if tombstoned
                && g.revs
                    .last()
                    .expect("a closed generation has a tombstone")
                    .main
                    < at
            {
                removed.extend_from_slice(&g.revs);
                continue;
            }
            // Keep the newest revision at or below `at`, drop the older ones.
            let newest_at_or_below = g.revs.iter().rposition(|r| r.main <= at);
            if let Some(idx) = newest_at_or_below {
                removed.extend(g.revs.drain(..idx));
            }
            if tombstoned && g.revs.len() == 1 {
                g.created = 0; // only the tombstone is left, as a restore would rebuild it
            }
            kept.push(g);
        }
        self.generations = kept;
        debug_assert!(!self.generations.is_empty());
        debug_assert!(self.generations[..self.generations.len() - 1]
            .iter()
            .all(|g| !g.revs.is_empty()));
    }

    fn assert_after(&self, rev: Revision) {
        if let Some(m) = self.modified() {
            assert!(
                rev > m,
                "revision {rev} is not after the key's last revision {m}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::first_of(main)
    }

    /// put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0): etcd's own example.
    fn example() -> KeyIndex {
        let mut ki = KeyIndex::new();
        ki.put(r(1));
        ki.put(r(2));
        ki.tombstone(r(3));
        ki.put(r(4));
        ki.tombstone(r(5));
        ki
    }

    fn shape(ki: &KeyIndex) -> Vec<Vec<i64>> {
        ki.generations()
            .iter()
            .map(|g| g.revs.iter().map(|r| r.main).collect())
            .collect()
    }

    #[test]
    fn get_follows_generations() {
        let ki = example();
        assert_eq!(ki.get(0), None);
        assert_eq!(ki.get(1), Some(r(1)));
        assert_eq!(ki.get(2), Some(r(2)));
        assert_eq!(ki.get(3), None, "deleted at 3");
        assert_eq!(ki.get(4), Some(r(4)));
        assert_eq!(ki.get(5), None);
        assert_eq!(ki.get(100), None);
        assert!(!ki.is_live());
        assert_eq!(ki.generations()[1].created, 4);
    }

    #[test]
    fn compaction_keeps_the_newest_revision_at_or_below() {
        let mut ki = example();
        let mut removed = vec![];
        ki.compact(2, &mut removed);
        assert_eq!(shape(&ki), vec![vec![2, 3], vec![4, 5], vec![]]);
        assert_eq!(removed, vec![r(1)]);
        assert_eq!(ki.get(2), Some(r(2)));

        removed.clear();
        ki.compact(4, &mut removed);
        assert_eq!(shape(&ki), vec![vec![4, 5], vec![]]);
        assert_eq!(removed, vec![r(2), r(3)]);

        removed.clear();
        ki.compact(5, &mut removed);
        assert_eq!(shape(&ki), vec![vec![5], vec![]], "tombstone at R survives");
        assert_eq!(
            ki.generations()[0].created,
            0,
            "a lone tombstone has no creation"
        );
        assert_eq!(removed, vec![r(4)]);
        assert_eq!(ki.get(5), None);
        assert!(!ki.is_empty());

        removed.clear();
        ki.compact(6, &mut removed);
        assert_eq!(removed, vec![r(5)]);
        assert!(ki.is_empty());
    }

    #[test]
    fn compaction_of_a_live_key_keeps_its_value() {
        let mut ki = KeyIndex::new();
        ki.put(r(2));
        ki.put(r(4));
        let mut removed = vec![];
        ki.compact(10, &mut removed);
        assert_eq!(removed, vec![r(2)]);
        assert_eq!(shape(&ki), vec![vec![4]]);
        assert_eq!(ki.get(10), Some(r(4)));
        assert_eq!(ki.generations()[0].created, 2, "create revision survives");
    }

    #[test]
    fn delete_and_recreate_in_one_revision_survives_compaction_at_it() {
        // txn at revision 7: delete (7.0) then put (7.1) of the same key (etcd #22376).
        let mut ki = KeyIndex::new();
        ki.put(r(4));
        ki.tombstone(Revision::new(7, 0));
        ki.put(Revision::new(7, 1));
        assert_eq!(ki.get(7), Some(Revision::new(7, 1)));
        assert_eq!(ki.get(6), Some(r(4)));
        let mut removed = vec![];
        ki.compact(7, &mut removed);
        assert_eq!(removed, vec![r(4)]);
        assert_eq!(ki.get(7), Some(Revision::new(7, 1)));
        assert!(ki.is_live());
    }

    #[test]
    fn restore_accepts_a_lone_tombstone() {
        let mut ki = KeyIndex::new();
        ki.restore(r(5), 4, true);
        ki.restore(r(8), 8, false);
        assert_eq!(shape(&ki), vec![vec![5], vec![8]]);
        assert_eq!(ki.get(5), None);
        assert_eq!(ki.get(8), Some(r(8)));
        assert_eq!(ki.generations()[1].created, 8);
    }

    #[test]
    #[should_panic(expected = "not after")]
    fn revisions_must_increase() {
        let mut ki = KeyIndex::new();
        ki.put(r(3));
        ki.put(r(2));
    }
}
