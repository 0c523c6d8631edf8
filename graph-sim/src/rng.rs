//! Deterministic pseudo-random numbers for the tenant model.
//!
//! SplitMix64 (Steele, Lea & Flood, 2014) is implemented here instead of being taken from a
//! crate on purpose: the generated tenant must stay byte-identical for a given seed forever, and
//! a crate's generator may change between versions. It is not cryptographic and needs not be.

/// Odd constant of SplitMix64's Weyl sequence (the golden ratio in 64-bit fixed point).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    /// Position in the Weyl sequence; every output is a mix of the next position.
    state: u64,
}

/// SplitMix64's output function (a variant of MurmurHash3's finaliser).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent generator for object `index` of kind `stream`.
    ///
    /// Each object draws from its own stream so that object `i` looks the same whatever the
    /// number of objects generated after it (a tenant of 300 apps is a prefix of one of 3,000).
    pub fn derive(seed: u64, stream: u64, index: u64) -> Self {
        let s = mix(seed ^ mix(stream.wrapping_add(GOLDEN_GAMMA)));
        Self::new(mix(s ^ mix(index.wrapping_mul(GOLDEN_GAMMA))))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A number in `0..n` (0 when `n` is 0). Uses Lemire's multiply-shift; the bias is below
    /// 2^-32 for every `n` used here, which does not matter for test data.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.wrapping_add_unsigned(self.below(span))
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// One element of a non-empty slice (`None` when it is empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let i = self.below(items.len() as u64) as usize;
        items.get(i)
    }

    /// One value of a weighted table (`None` when every weight is zero).
    pub fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> Option<T> {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (value, weight) in table {
            let weight = u64::from(*weight);
            if roll < weight {
                return Some(*value);
            }
            roll -= weight;
        }
        None
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A random GUID in the lower-case 8-4-4-4-12 form Graph uses, with the version-4 and
    /// RFC 4122 variant bits set like the object ids Entra hands out.
    pub fn guid(&mut self) -> String {
        let hi = (self.next_u64() & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        let lo = (self.next_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_published_sequence() {
        // First outputs for seed 0 of the reference implementation (Vigna's splitmix64.c).
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn derived_streams_are_independent_and_stable() {
        let a = Rng::derive(42, 1, 7).next_u64();
        assert_eq!(a, Rng::derive(42, 1, 7).next_u64());
        assert_ne!(a, Rng::derive(42, 1, 8).next_u64());
        assert_ne!(a, Rng::derive(42, 2, 7).next_u64());
        assert_ne!(a, Rng::derive(43, 1, 7).next_u64());
    }

    #[test]
    fn bounded_draws_stay_in_bounds() {
        let mut rng = Rng::new(9);
        for _ in 0..10_000 {
            assert!(rng.below(7) < 7);
            let r = rng.range(-3, 3);
            assert!((-3..=3).contains(&r));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.range(5, 1), 5);
        assert_eq!(rng.pick::<u8>(&[]), None);
        assert_eq!(rng.weighted::<u8>(&[(1, 0)]), None);
    }

    #[test]
    fn guids_look_like_guids() {
        let g = Rng::new(1).guid();
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"));
        assert!(uuid::Uuid::parse_str(&g).is_ok());
    }
}
