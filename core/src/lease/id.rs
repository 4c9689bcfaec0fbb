//! Unique IDs without a clock (etcd `pkg/idutil`), for lease IDs and request IDs.

/// Generates IDs unique to one member: the top 16 bits are the low 16 bits of the member ID,
/// the low 48 bits a counter.
///
/// etcd seeds the counter from the wall clock (`unix ms << 8`) so that a restarted member does
/// not reuse IDs. A deterministic core cannot read a clock: the caller passes `start`, taken
/// from its seeded RNG (simulator) or from its clock (native host), and gets the same IDs for
/// the same `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdGenerator {
    prefix: u64,
    suffix: u64,
}

const SUFFIX_BITS: u32 = 48;
const COUNTER_BITS: u32 = 8;
const START_BITS: u32 = 40;

fn low_bits(x: u64, n: u32) -> u64 {
    x & ((1u64 << n) - 1)
}

impl IdGenerator {
    /// A generator for `member_id`, with its counter starting from `start`.
    pub fn new(member_id: u64, start: u64) -> Self {
        Self {
            prefix: low_bits(member_id, 16) << SUFFIX_BITS,
            suffix: low_bits(start, START_BITS) << COUNTER_BITS,
        }
    }

    /// The next ID.
    pub fn next_id(&mut self) -> u64 {
        self.suffix = self.suffix.wrapping_add(1);
        self.prefix | low_bits(self.suffix, SUFFIX_BITS)
    }

    /// The next ID usable as a lease ID: positive, non-zero (etcd masks the top bit).
    pub fn next_lease_id(&mut self) -> i64 {
        loop {
            let id = (self.next_id() & (i64::MAX as u64)) as i64;
            if id != 0 {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_member_prefix_and_count_up() {
        // etcd: member …390d issued lease 390d|a2000599971b: the member's low 16 bits, then a
        // 40-bit start (there: unix ms) shifted left by 8, plus a counter.
        let mut g = IdGenerator::new(0xbdae_9bbc_11dd_390d, 0xa2_0005_9997);
        assert_eq!(g.next_lease_id(), 0x390d_a200_0599_9701);
        assert_eq!(g.next_lease_id(), 0x390d_a200_0599_9702);
    }

    #[test]
    fn lease_ids_are_positive() {
        let mut g = IdGenerator::new(0xffff, 0);
        for _ in 0..4 {
            assert!(g.next_lease_id() > 0);
        }
    }
}
