//! The one table of card networks: which prefixes each network issues under
//! and which lengths it allows. Everything that names a network reads it here.
//!
//! Sources: the product's specification of `card` fixes the networks,
//! prefixes and lengths of Visa, Mastercard, American Express, Discover, Diners Club, JCB,
//! UnionPay and Mir. Maestro's ranges and the Discover/UnionPay co-branded
//! range come from the IIN table of Wikipedia's "Payment card number" article,
//! revision of 2024-08-17 (the last revision the networks' rows were checked
//! against; the page itself was not reachable from the build machine, see
//! docs/card.md). Reviewed for this table on 2026-11-25.
//!
//! Where two ranges overlap the longest prefix wins ([`network_of`]):
//! - Discover 622126-622925 (co-branded with UnionPay) is more specific than
//!   UnionPay's 62, so those numbers are Discover and take Discover's lengths.
//! - Maestro's ranges overlap nothing else here; Laser (6304, defunct), Switch
//!   and Solo (defunct, 6759/6767) are not listed, so 6304 and 6759 are Maestro.
//! - Two ranges with prefixes of the same length never overlap (unit-tested),
//!   so the answer never depends on the order of the table.

use std::sync::OnceLock;

/// A card network and the numbers of digits its cards may have.
#[derive(Debug, PartialEq, Eq)]
pub struct Network {
    /// The name printed in the output and in reasons ("length 15 not allowed for Visa").
    pub name: &'static str,
    /// Bit `n` set: `n` digits are allowed. A bit set keeps the check one AND.
    lengths: u32,
}

impl Network {
    /// Whether a number of `length` digits can belong to this network.
    pub fn allows_length(&self, length: usize) -> bool {
        u32::try_from(length).ok().and_then(|n| 1u32.checked_shl(n)).is_some_and(|bit| self.lengths & bit != 0)
    }

    /// The allowed lengths, smallest first (for the documentation and tests).
    pub fn lengths(&self) -> impl Iterator<Item = usize> + '_ {
        (0..32usize).filter(|&n| self.allows_length(n))
    }
}

/// A bit set of lengths from a list (`const`, so the table stays static).
const fn lengths(list: &[u8]) -> u32 {
    let mut bits = 0u32;
    let mut i = 0;
    while i < list.len() {
        bits |= 1 << list[i];
        i += 1;
    }
    bits
}

/// A bit set of the lengths `low..=high`.
const fn length_span(low: u8, high: u8) -> u32 {
    let mut bits = 0u32;
    let mut n = low;
    while n <= high {
        bits |= 1 << n;
        n += 1;
    }
    bits
}

pub static VISA: Network = Network { name: "Visa", lengths: lengths(&[13, 16, 19]) };
pub static MASTERCARD: Network = Network { name: "Mastercard", lengths: lengths(&[16]) };
pub static AMEX: Network = Network { name: "American Express", lengths: lengths(&[15]) };
pub static DISCOVER: Network = Network { name: "Discover", lengths: lengths(&[16, 19]) };
pub static DINERS: Network = Network { name: "Diners Club", lengths: lengths(&[14, 16, 19]) };
pub static JCB: Network = Network { name: "JCB", lengths: length_span(16, 19) };
pub static UNIONPAY: Network = Network { name: "UnionPay", lengths: length_span(16, 19) };
pub static MAESTRO: Network = Network { name: "Maestro", lengths: length_span(12, 19) };
pub static MIR: Network = Network { name: "Mir", lengths: length_span(16, 19) };

/// Every network of the table, in the order the documentation lists them.
pub static NETWORKS: &[&Network] = &[&VISA, &MASTERCARD, &AMEX, &DISCOVER, &DINERS, &JCB, &UNIONPAY, &MAESTRO, &MIR];

/// Numbers whose first `digits` digits, read as an integer, lie in `low..=high`.
#[derive(Debug)]
pub struct PrefixRange {
    pub low: u32,
    pub high: u32,
    /// How many leading digits the range looks at (the digit count of `low`).
    pub digits: usize,
    pub network: &'static Network,
}

/// Digit count of a prefix bound (`const`, so `range` needs no separate count).
const fn digit_count(mut n: u32) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

const fn range(low: u32, high: u32, network: &'static Network) -> PrefixRange {
    PrefixRange { low, high, digits: digit_count(low), network }
}

/// The longest prefix the table uses; [`network_of`] reads no more digits.
pub const MAX_PREFIX_DIGITS: usize = 6;

/// THE table. Grouped by network; order does not matter (see the module doc).
pub static PREFIXES: &[PrefixRange] = &[
    range(4, 4, &VISA),
    range(51, 55, &MASTERCARD),
    range(2221, 2720, &MASTERCARD),
    range(34, 34, &AMEX),
    range(37, 37, &AMEX),
    range(6011, 6011, &DISCOVER),
    range(644, 649, &DISCOVER),
    range(65, 65, &DISCOVER),
    range(622126, 622925, &DISCOVER),
    range(300, 305, &DINERS),
    range(36, 36, &DINERS),
    range(38, 39, &DINERS),
    range(3528, 3589, &JCB),
    range(62, 62, &UNIONPAY),
    range(5018, 5018, &MAESTRO),
    range(5020, 5020, &MAESTRO),
    range(5038, 5038, &MAESTRO),
    range(5893, 5893, &MAESTRO),
    range(6304, 6304, &MAESTRO),
    range(6759, 6759, &MAESTRO),
    range(6761, 6763, &MAESTRO),
    range(676770, 676770, &MAESTRO),
    range(676774, 676774, &MAESTRO),
    range(2200, 2204, &MIR),
];

/// The network of a number given as ASCII digits: the range with the longest
/// matching prefix, or `None` for an unknown prefix. Bytes that are not
/// digits never match (callers pass validated digits; this keeps it total).
pub fn network_of(digits: &[u8]) -> Option<&'static Network> {
    // prefix[k] = the first k digits as an integer, for k <= available digits.
    let mut prefix = [0u32; MAX_PREFIX_DIGITS + 1];
    let mut available = 0;
    for (k, &b) in digits.iter().take(MAX_PREFIX_DIGITS).enumerate() {
        if !b.is_ascii_digit() {
            break;
        }
        let previous = prefix.get(k).copied().unwrap_or(0);
        if let Some(slot) = prefix.get_mut(k + 1) {
            // At most six digits: never saturates, but input code stays checked.
            *slot = previous.saturating_mul(10).saturating_add(u32::from(b - b'0'));
        }
        available = k + 1;
    }
    // Only the ranges that can start with the first two digits are tried
    // (at most four, against 24): the check runs once per input line.
    let mut candidates = match (available >= 2, prefix.get(2)) {
        (true, Some(&two)) => usize::try_from(two).ok().and_then(|i| two_digit_index().get(i).copied()).unwrap_or(0),
        _ => u64::MAX,
    };
    let mut best: Option<&PrefixRange> = None;
    while candidates != 0 {
        let i = candidates.trailing_zeros() as usize;
        candidates &= candidates.wrapping_sub(1); // clear the lowest bit
        let Some(r) = PREFIXES.get(i) else { break };
        if r.digits > available || best.is_some_and(|b| b.digits >= r.digits) {
            continue;
        }
        if let Some(&p) = prefix.get(r.digits) {
            if r.low <= p && p <= r.high {
                best = Some(r);
            }
        }
    }
    best.map(|r| r.network)
}

/// For each two-digit start `00..=99`, the set (bit `i` = `PREFIXES[i]`) of
/// ranges a number starting with those digits can fall in. Built once from
/// the table, so the table stays the only place that lists prefixes.
fn two_digit_index() -> &'static [u64; 100] {
    static INDEX: OnceLock<[u64; 100]> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = [0u64; 100];
        for (i, r) in PREFIXES.iter().enumerate().take(64) {
            // The range's span over the first two digits (one-digit ranges
            // cover the ten two-digit starts below them).
            let (low, high) = match r.digits {
                1 => (r.low * 10, r.high * 10 + 9),
                d => {
                    let scale = 10u32.pow(u32::try_from(d - 2).unwrap_or(0));
                    (r.low / scale, r.high / scale)
                }
            };
            for (two, set) in index.iter_mut().enumerate() {
                let two = u32::try_from(two).unwrap_or(u32::MAX);
                if low <= two && two <= high {
                    *set |= 1 << i;
                }
            }
        }
        index
    })
}

/// One row of the documentation's table for `network`, rendered from the
/// data above: `| Visa | 4 | 13, 16, 19 |`. docs/card.md is checked against
/// it, so the table stays in one place.
pub fn doc_row(network: &Network) -> String {
    let ranges: Vec<String> = PREFIXES
        .iter()
        .filter(|r| std::ptr::eq(r.network, network))
        .map(|r| if r.low == r.high { r.low.to_string() } else { format!("{}-{}", r.low, r.high) })
        .collect();
    let lengths: Vec<usize> = network.lengths().collect();
    let contiguous = lengths.len() > 2 && lengths.windows(2).all(|w| w[0] + 1 == w[1]);
    let lengths = match (contiguous, lengths.first(), lengths.last()) {
        (true, Some(first), Some(last)) => format!("{first}-{last}"),
        _ => lengths.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    };
    format!("| {} | {} | {} |", network.name, ranges.join(", "), lengths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_well_formed() {
        for r in PREFIXES {
            assert!(r.low <= r.high, "{r:?}");
            assert_eq!(digit_count(r.low), digit_count(r.high), "{r:?}");
            assert!(r.digits >= 1 && r.digits <= MAX_PREFIX_DIGITS, "{r:?}");
        }
    }

    #[test]
    fn ranges_of_equal_prefix_length_never_overlap() {
        for (i, a) in PREFIXES.iter().enumerate() {
            for b in PREFIXES.iter().skip(i + 1) {
                if a.digits == b.digits {
                    assert!(a.high < b.low || b.high < a.low, "{a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn every_network_has_a_range_and_every_range_a_listed_network() {
        for n in NETWORKS {
            assert!(PREFIXES.iter().any(|r| std::ptr::eq(r.network, *n)), "{}", n.name);
        }
        for r in PREFIXES {
            assert!(NETWORKS.iter().any(|n| std::ptr::eq(r.network, *n)), "{r:?}");
        }
    }

    #[test]
    fn lengths_match_the_issue() {
        let l = |n: &Network| n.lengths().collect::<Vec<_>>();
        assert_eq!(l(&VISA), [13, 16, 19]);
        assert_eq!(l(&MASTERCARD), [16]);
        assert_eq!(l(&AMEX), [15]);
        assert_eq!(l(&DISCOVER), [16, 19]);
        assert_eq!(l(&DINERS), [14, 16, 19]);
        assert_eq!(l(&JCB), [16, 17, 18, 19]);
        assert_eq!(l(&UNIONPAY), [16, 17, 18, 19]);
        assert_eq!(l(&MAESTRO), (12..=19).collect::<Vec<_>>());
        assert_eq!(l(&MIR), [16, 17, 18, 19]);
    }

    #[test]
    fn the_two_digit_index_can_hold_every_range() {
        assert!(PREFIXES.len() <= 64, "the index is a u64 bit set");
    }

    /// The index is an optimisation only: over every six-digit start, the
    /// indexed lookup agrees with a plain scan of the whole table.
    #[test]
    fn indexed_lookup_agrees_with_a_plain_scan_for_every_six_digit_start() {
        /// The network of the six-digit start `n`, by scanning every range.
        fn plain(n: u32) -> Option<&'static Network> {
            let mut best: Option<&PrefixRange> = None;
            for r in PREFIXES {
                let p = n / 10u32.pow(6 - r.digits as u32);
                if r.low <= p && p <= r.high && best.map_or(true, |b| b.digits < r.digits) {
                    best = Some(r);
                }
            }
            best.map(|r| r.network)
        }
        let mut s = *b"000000";
        for n in 0..1_000_000u32 {
            let mut rest = n;
            for slot in s.iter_mut().rev() {
                *slot = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            assert_eq!(network_of(&s), plain(n), "{n:06}");
        }
        // One-digit inputs take the path without the index.
        for d in 0..10u8 {
            let expected = PREFIXES
                .iter()
                .find(|r| r.digits == 1 && r.low <= u32::from(d) && u32::from(d) <= r.high)
                .map(|r| r.network);
            assert_eq!(network_of(&[b'0' + d]), expected);
        }
    }

    #[test]
    fn doc_rows_render_ranges_and_lengths() {
        assert_eq!(doc_row(&VISA), "| Visa | 4 | 13, 16, 19 |");
        assert_eq!(doc_row(&MIR), "| Mir | 2200-2204 | 16-19 |");
        assert_eq!(doc_row(&MASTERCARD), "| Mastercard | 51-55, 2221-2720 | 16 |");
    }

    #[test]
    fn huge_lengths_are_not_allowed_and_do_not_overflow() {
        assert!(!VISA.allows_length(32));
        assert!(!VISA.allows_length(usize::MAX));
        assert!(!VISA.allows_length(0));
    }

    #[test]
    fn longest_prefix_wins_over_unionpay() {
        assert_eq!(network_of(b"6221260000000000"), Some(&DISCOVER));
        assert_eq!(network_of(b"6229250000000000"), Some(&DISCOVER));
        assert_eq!(network_of(b"6221250000000000"), Some(&UNIONPAY));
        assert_eq!(network_of(b"6229260000000000"), Some(&UNIONPAY));
    }

    #[test]
    fn short_inputs_match_only_prefixes_they_contain() {
        assert_eq!(network_of(b""), None);
        assert_eq!(network_of(b"4"), Some(&VISA));
        // "62212" is too short for 622126-622925: it stays UnionPay.
        assert_eq!(network_of(b"62212"), Some(&UNIONPAY));
        assert_eq!(network_of(b"222"), None);
    }

    #[test]
    fn non_digits_never_match() {
        assert_eq!(network_of(b"x4"), None);
        assert_eq!(network_of(b"5x"), None);
    }
}
