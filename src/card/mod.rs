//! The `card` utility: tell whether payment card numbers are well formed,
//! which network issued them and why a bad one is bad, without ever needing
//! to print them (docs/card.md).
//!
//! Pure functions over bytes, and [`report`], which checks a stream of them
//! and writes the results to any writer; opening the streams, printing
//! diagnostics and exit codes are the CLI's.

use std::fmt;

pub(crate) mod input;
pub(crate) mod luhn;
pub(crate) mod mask;
pub mod networks;
pub(crate) mod redact;
pub(crate) mod report;

pub use input::{digits_of, Digits, Line, LineError, Lines, LINE_LIMIT};
pub use mask::Masked;
pub use networks::Network;

/// Why a well-formed number is not a valid card number. The checks run in
/// this order and the first failure is the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// No range of the table matches the number's first digits.
    UnknownPrefix,
    /// The network was found but does not issue numbers of this length.
    Length { length: usize, network: &'static Network },
    /// The Luhn check digit does not match.
    Checksum,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::UnknownPrefix => f.write_str("unknown prefix"),
            Invalid::Length { length, network } => {
                write!(f, "length {length} not allowed for {}", network.name)
            }
            Invalid::Checksum => f.write_str("checksum"),
        }
    }
}

/// What the check found about one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The network, whenever the prefix is known (also for invalid numbers).
    pub network: Option<&'static Network>,
    /// `Ok` for a valid number, else the first reason it is not.
    pub outcome: Result<(), Invalid>,
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Check one number: prefix (longest match in [`networks::PREFIXES`]), then
/// the network's lengths, then Luhn. Luhn decides for every network, UnionPay
/// included: a UnionPay number failing it is reported as UnionPay, `checksum`.
pub fn check(digits: Digits<'_>) -> Verdict {
    let bytes = digits.as_bytes();
    let Some(network) = networks::network_of(bytes) else {
        return Verdict { network: None, outcome: Err(Invalid::UnknownPrefix) };
    };
    let outcome = if !network.allows_length(bytes.len()) {
        Err(Invalid::Length { length: bytes.len(), network })
    } else if !luhn::is_valid(bytes) {
        Err(Invalid::Checksum)
    } else {
        Ok(())
    };
    Verdict { network: Some(network), outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(line: &str) -> Verdict {
        let mut buf = String::new();
        check(digits_of(line.as_bytes(), &mut buf).unwrap().unwrap())
    }

    #[test]
    fn the_original_examples() {
        assert_eq!(verdict("4111-1111-1111-1111").outcome, Ok(()));
        assert_eq!(verdict("4111 1111 1111 1112").outcome, Err(Invalid::Checksum));
        assert_eq!(verdict("5105105105105100").outcome, Ok(()));
        assert_eq!(verdict("5105105105105100").network.map(|n| n.name), Some("Mastercard"));
    }

    #[test]
    fn reasons_read_as_the_issue_writes_them() {
        let v = verdict("411111111111111");
        assert_eq!(v.outcome.unwrap_err().to_string(), "length 15 not allowed for Visa");
        assert_eq!(verdict("9111111111111111").outcome.unwrap_err().to_string(), "unknown prefix");
        assert_eq!(verdict("4111111111111112").outcome.unwrap_err().to_string(), "checksum");
    }

    #[test]
    fn length_is_checked_before_the_checksum() {
        // 15 digits, bad checksum as well: the length is the reason given.
        let v = verdict("411111111111112");
        assert_eq!(v.outcome, Err(Invalid::Length { length: 15, network: &networks::VISA }));
    }

    #[test]
    fn unionpay_failing_luhn_keeps_its_network() {
        let v = verdict("6200000000000006");
        assert_eq!(v.network, Some(&networks::UNIONPAY));
        assert_eq!(v.outcome, Err(Invalid::Checksum));
    }
}
