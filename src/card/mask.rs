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

/// Displays ASCII digits masked: the hidden digits become `*`, one per digit,
/// so the length stays visible.
#[derive(Debug, Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const STARS: &str = "********************************";
        let n = self.0.len();
        let (first, last) = visible(n);
        let hidden = n.saturating_sub(first.saturating_add(last));
        let tail_start = n.saturating_sub(last);
        f.write_str(self.0.get(..first).unwrap_or(""))?;
        let mut left = hidden;
        while left > 0 {
            let chunk = left.min(STARS.len());
            f.write_str(STARS.get(..chunk).unwrap_or(""))?;
            left = left.saturating_sub(chunk);
        }
        f.write_str(self.0.get(tail_start..).unwrap_or(""))
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
