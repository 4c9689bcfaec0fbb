//! Revisions: the store's logical clock (etcd `mvcc/revision.go`).

use std::fmt;

/// A point in the store's history: `main` is the cluster-wide revision a request created,
/// `sub` orders the changes within it (0, 1, 2, … in operation order).
///
/// Ordering is lexicographic on `(main, sub)`, which is the order etcd stores and replays
/// changes in. Sub-revisions are never exposed through the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    /// The revision of the request that made the change.
    pub main: i64,
    /// The change's position inside that request.
    pub sub: i64,
}

impl Revision {
    /// The revision `{main, sub}`.
    pub const fn new(main: i64, sub: i64) -> Self {
        Self { main, sub }
    }

    /// The first revision of `main` (`{main, 0}`).
    pub const fn first_of(main: i64) -> Self {
        Self { main, sub: 0 }
    }

    /// The last possible revision of `main` (`{main, i64::MAX}`).
    pub const fn last_of(main: i64) -> Self {
        Self {
            main,
            sub: i64::MAX,
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.main, self.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_main_then_sub() {
        let mut revs = vec![
            Revision::new(3, 0),
            Revision::new(2, 5),
            Revision::new(2, 0),
            Revision::last_of(1),
        ];
        revs.sort();
        assert_eq!(
            revs,
            vec![
                Revision::last_of(1),
                Revision::new(2, 0),
                Revision::new(2, 5),
                Revision::new(3, 0)
            ]
        );
        assert_eq!(Revision::new(2, 1).to_string(), "2.1");
    }
}
