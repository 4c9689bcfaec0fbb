//! The identity of a run: a 64-bit FNV-1a hash over every event the simulator processes,
//! and an optional human-readable trace of the notable ones.
//!
//! FNV-1a is defined byte by byte, so the hash is the same on every platform (std's
//! `DefaultHasher` is not guaranteed to stay the same across Rust releases).

/// A running FNV-1a (64-bit) hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Mixes in bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Mixes in a number.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

/// Lines of a trace, bounded: past `limit` lines only the hash keeps counting.
#[derive(Clone, Debug, Default)]
pub struct TraceLog {
    lines: Vec<String>,
    limit: usize,
    dropped: u64,
}

impl TraceLog {
    /// A log that keeps at most `limit` lines (0 = keep none).
    pub fn new(limit: usize) -> Self {
        Self {
            lines: Vec::new(),
            limit,
            dropped: 0,
        }
    }

    /// Whether lines are being kept (callers skip formatting otherwise).
    pub fn enabled(&self) -> bool {
        self.lines.len() < self.limit
    }

    /// Adds a line at virtual time `ms`.
    pub fn push(&mut self, ms: u64, line: impl std::fmt::Display) {
        if self.enabled() {
            self.lines.push(format!("{ms:>8} {line}"));
        } else {
            self.dropped += 1;
        }
    }

    /// The lines kept.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Lines not kept because of the limit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        let mut h = TraceHash::default();
        h.bytes(b"a");
        assert_eq!(h.value(), 0xaf63_dc4c_8601_ec8c);
        let mut h = TraceHash::default();
        h.bytes(b"foobar");
        assert_eq!(h.value(), 0x8594_4171_f739_67e8);
    }
}
