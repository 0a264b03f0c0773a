//! Masking: the only form in which a card number leaves the program unless
//! the person asks for `--reveal`.
//!
//! The rule (docs/card.md): numbers of 13 digits or more show their first 6
//! and last 4 digits (the PCI DSS display limit), which still hides at least
//! 3. Shorter numbers, where 6 + 4 would hide too little or nothing, show at
//! most half their digits: `n / 2` digits, split between the start and the
//! end with the end getting the smaller half. So no mask ever shows more than
//! 10 digits, nor more than half of a number shorter than 13.

use std::fmt;

/// Digits shown at the start and at the end of the mask of an `n`-digit number.
pub fn visible(n: usize) -> (usize, usize) {
    if n >= 13 {
        (6, 4)
    } else {
        let shown = n / 2;
        let last = shown / 2;
        (shown.saturating_sub(last), last)
    }
}

const STARS: &[u8; 32] = b"********************************";

/// The shown start, the number of hidden digits, and the shown end of the
/// mask of `digits`.
fn pieces(digits: &str) -> (&str, usize, &str) {
    let n = digits.len();
    let (first, last) = visible(n);
    let hidden = n.saturating_sub(first.saturating_add(last));
    let head = digits.get(..first).unwrap_or("");
    let tail = digits.get(n.saturating_sub(last)..).unwrap_or("");
    (head, hidden, tail)
}

/// Append the mask of ASCII `digits` to `out`: the hidden digits become `*`,
/// one per digit, so the length stays visible. The hot path of the text output.
pub fn push_masked(digits: &str, out: &mut Vec<u8>) {
    let (head, hidden, tail) = pieces(digits);
    out.extend_from_slice(head.as_bytes());
    let mut left = hidden;
    while left > 0 {
        let chunk = left.min(STARS.len());
        out.extend_from_slice(STARS.get(..chunk).unwrap_or_default());
        left = left.saturating_sub(chunk);
    }
    out.extend_from_slice(tail.as_bytes());
}

/// Displays ASCII digits masked, as [`push_masked`] writes them.
#[derive(Debug, Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, hidden, tail) = pieces(self.0);
        f.write_str(head)?;
        for _ in 0..hidden {
            f.write_str("*")?;
        }
        f.write_str(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_digits_show_first_six_and_last_four() {
        assert_eq!(Masked("4111111111111111").to_string(), "411111******1111");
        assert_eq!(Masked("378282246310005").to_string(), "378282*****0005");
        assert_eq!(Masked("4222222222222").to_string(), "422222***2222");
    }

    #[test]
    fn short_numbers_show_at_most_half() {
        assert_eq!(Masked("123456789012").to_string(), "123******012");
        assert_eq!(Masked("1234567890").to_string(), "123*****90");
        assert_eq!(Masked("1234").to_string(), "1**4");
        assert_eq!(Masked("12").to_string(), "1*");
        assert_eq!(Masked("1").to_string(), "*");
        assert_eq!(Masked("").to_string(), "");
    }

    #[test]
    fn no_length_shows_more_than_ten_digits_or_more_than_allowed() {
        for n in 0..=300usize {
            let digits: String = (0..n).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
            let masked = Masked(&digits).to_string();
            let mut pushed = Vec::new();
            push_masked(&digits, &mut pushed);
            assert_eq!(pushed, masked.as_bytes(), "both forms agree for {n}");
            assert_eq!(masked.len(), n, "length kept for {n}");
            let shown = masked.bytes().filter(u8::is_ascii_digit).count();
            assert!(shown <= 10, "{n} digits show {shown}");
            if n < 13 {
                assert!(shown * 2 <= n, "{n} digits show {shown}, more than half");
            } else {
                assert!(n - shown >= 3, "{n} digits hide fewer than 3");
            }
            let (first, last) = visible(n);
            assert_eq!(&masked[..first], &digits[..first]);
            assert_eq!(&masked[n - last..], &digits[n - last..]);
            assert!(masked[first..n - last].bytes().all(|b| b == b'*'));
        }
    }
}
