//! FNV-1a (Fowler, Noll, Vo), 64 bits: a hasher for maps whose keys come
//! from the kernel or from files being read (mount points, machine names),
//! where std's SipHash with random keys showed up in profiles and costs a
//! `getrandom` call. A crafted collision flood would only slow down the run
//! that reads it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map hashed with [`Fnv`].
pub type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The FNV-1a hasher.
pub struct Fnv(u64);

/// FNV-1a's 64-bit offset basis: the state before any byte.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

impl Default for Fnv {
    fn default() -> Self {
        Fnv(OFFSET_BASIS)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_fnv1a_values() {
        // Published FNV-1a 64 test vectors.
        let hash = |s: &[u8]| {
            let mut h = Fnv::default();
            h.write(s);
            h.finish()
        };
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(hash(b""), OFFSET_BASIS);
    }

    #[test]
    fn a_state_that_passes_through_zero_goes_on_hashing() {
        // Split writes equal one write, whatever the state in between.
        let mut split = Fnv::default();
        split.write(b"foo");
        split.write(b"bar");
        let mut whole = Fnv::default();
        whole.write(b"foobar");
        assert_eq!(split.finish(), whole.finish());
        let mut zero = Fnv(0);
        zero.write(b"a");
        assert_eq!(zero.finish(), 0x61u64.wrapping_mul(PRIME));
    }
}
