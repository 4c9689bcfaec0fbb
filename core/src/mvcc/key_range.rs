//! etcd's `key` / `range_end` convention, decoded once into a [`KeyRange`].

use bytes::Bytes;
use std::ops::Bound;

/// Lower and upper bound of a key range, as `BTreeMap::range` takes them.
pub type KeyBounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// The keys a request applies to, decoded from etcd's `(key, range_end)` pair.
///
/// | `range_end`        | meaning                                  |
/// |--------------------|------------------------------------------|
/// | empty              | the single key `key`                     |
/// | `"\0"`             | every key ≥ `key` (`--from-key`)         |
/// | anything else      | the half-open range `[key, range_end)`   |
///
/// `key = "\0", range_end = "\0"` is therefore "all keys" (every key is ≥ `"\0"`), and a
/// prefix is `[prefix, prefix_end(prefix))`. A range whose end is not after its start is
/// empty, never an error.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyRange {
    /// Exactly one key.
    Single(Bytes),
    /// Every key ≥ the start.
    FromKey(Bytes),
    /// Every key in `[start, end)`.
    Range(Bytes, Bytes),
}

impl KeyRange {
    /// Decodes etcd's `(key, range_end)` pair.
    pub fn new(key: impl Into<Bytes>, range_end: impl Into<Bytes>) -> Self {
        let (key, end) = (key.into(), range_end.into());
        if end.is_empty() {
            Self::Single(key)
        } else if end.as_ref() == [0] {
            Self::FromKey(key)
        } else {
            Self::Range(key, end)
        }
    }

    /// Every key with `prefix` as a prefix (etcdctl `--prefix`).
    pub fn prefix(prefix: impl Into<Bytes>) -> Self {
        let prefix = prefix.into();
        let end = prefix_end(&prefix);
        Self::new(prefix, end)
    }

    /// The first key of the range.
    pub fn start(&self) -> &Bytes {
        match self {
            Self::Single(k) | Self::FromKey(k) | Self::Range(k, _) => k,
        }
    }

    /// Whether `key` is in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        match self {
            Self::Single(k) => k.as_ref() == key,
            Self::FromKey(start) => key >= start.as_ref(),
            Self::Range(start, end) => key >= start.as_ref() && key < end.as_ref(),
        }
    }

    /// Whether the range contains no key at all (an end at or before its start).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Range(start, end) if end <= start)
    }

    /// Bounds for `BTreeMap::range`; `None` when the range is empty (a `BTreeMap` panics on
    /// a start after its end, so callers must not ask it).
    pub fn bounds(&self) -> Option<KeyBounds<'_>> {
        if self.is_empty() {
            return None;
        }
        Some(match self {
            Self::Single(k) => (Bound::Included(k.as_ref()), Bound::Included(k.as_ref())),
            Self::FromKey(k) => (Bound::Included(k.as_ref()), Bound::Unbounded),
            Self::Range(start, end) => (
                Bound::Included(start.as_ref()),
                Bound::Excluded(end.as_ref()),
            ),
        })
    }
}

/// The `range_end` that selects every key with `prefix` (etcd's `GetPrefixRangeEnd`): the
/// prefix with its last byte below `0xff` incremented and the rest dropped, or `"\0"` (every
/// key) when all bytes are `0xff` or the prefix is empty.
pub fn prefix_end(prefix: &[u8]) -> Bytes {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bytes::from(end);
        }
    }
    Bytes::from_static(&[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn decodes_etcd_conventions() {
        assert_eq!(KeyRange::new(b("foo"), b("")), KeyRange::Single(b("foo")));
        assert_eq!(
            KeyRange::new(b("foo"), b("\0")),
            KeyRange::FromKey(b("foo"))
        );
        assert_eq!(
            KeyRange::new(b("a"), b("c")),
            KeyRange::Range(b("a"), b("c"))
        );
        assert_eq!(
            KeyRange::prefix(b("foo")),
            KeyRange::Range(b("foo"), b("fop"))
        );
        let all = KeyRange::new(b("\0"), b("\0"));
        assert!(all.contains(b"\0") && all.contains(b"zzz") && all.contains(b"\xff"));
    }

    #[test]
    fn prefix_end_carries_over_0xff() {
        assert_eq!(prefix_end(b"a\xff"), b("b"));
        assert_eq!(prefix_end(b"\xff\xff"), Bytes::from_static(&[0]));
        assert_eq!(prefix_end(b""), Bytes::from_static(&[0]));
    }

    #[test]
    fn inverted_range_is_empty_not_a_panic() {
        let r = KeyRange::new(b("b"), b("a"));
        assert!(r.is_empty() && r.bounds().is_none() && !r.contains(b"b"));
        assert!(KeyRange::new(b("a"), b("a")).is_empty());
    }
}
