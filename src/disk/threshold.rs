//! Thresholds on free space and free inodes (`--warn 20%`, `--crit 5G`) and
//! the monitoring-plugins states they lead to.

use std::fmt;

use serde::Serialize;

use super::usage::Usage;

/// A monitoring-plugins state; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// How bad a state is when several are merged: CRITICAL > WARNING >
    /// UNKNOWN > OK (monitoring-plugins' `max_state_alt`): a full disk next
    /// to a hung mount is still the first thing to fix.
    fn rank(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Unknown => 1,
            State::Warning => 2,
            State::Critical => 3,
        }
    }

    pub fn worst(self, other: State) -> State {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The upper-case name of the state, as Nagios prints it.
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }
}

/// A limit on what is free: below it is a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A percentage of `used + avail`, in units of 10^-15 percent: every
    /// decimal given is kept (up to [`PERCENT_DIGITS`]), and comparisons
    /// stay exact in integers.
    Percent(u64),
    /// An absolute amount: bytes for space, a count for inodes.
    Amount(u64),
}

/// Why a limit could not be read from the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("{0:?} is not a percentage, size or count (try 20%, 500M, 5G)")]
    Malformed(String),
    #[error("{0:?} is above 100%")]
    PercentTooBig(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
    #[error("{0:?} has more than {PERCENT_DIGITS} decimal places")]
    TooPrecise(String),
}

/// Decimal places a percentage keeps.
pub const PERCENT_DIGITS: usize = 15;

/// Units of [`Limit::Percent`] in one percent: 10^[`PERCENT_DIGITS`].
const PERCENT_UNIT: u64 = 1_000_000_000_000_000;

/// All of it: 100%.
const WHOLE: u64 = 100 * PERCENT_UNIT;

impl Limit {
    /// Parse a space limit: `20%`, `12.5%`, `500M`, `5G`, `1.5T`, `1048576`
    /// (bytes). Size suffixes are powers of 1024, as df's are; `K`/`KiB`/`KB`
    /// all mean 1024. A size with a fraction of a byte is rounded up: free
    /// bytes are whole, so "below 102.4" and "below 103" are the same test.
    pub fn parse_space(s: &str) -> Result<Limit, LimitError> {
        parse(s, true)
    }

    /// Parse an inode limit: a percentage or a plain count.
    pub fn parse_inodes(s: &str) -> Result<Limit, LimitError> {
        parse(s, false)
    }

    /// Whether `free` out of `free + used` is below this limit.
    pub fn is_crossed(self, free: u64, used: u64) -> bool {
        match self {
            Limit::Amount(a) => free < a,
            Limit::Percent(m) => {
                // free / (free + used) < m / WHOLE, in integers: below 2^122
                // on both sides, so u128 holds them exactly.
                let total = u128::from(free) + u128::from(used);
                u128::from(free) * u128::from(WHOLE) < u128::from(m) * total
            }
        }
    }

    /// The used amount at which the limit is crossed on a filesystem of
    /// `size`, for perfdata (check_disk's "high tide": `size - limit`).
    pub fn used_limit(self, size: u64) -> u64 {
        match self {
            Limit::Amount(a) => size.saturating_sub(a),
            Limit::Percent(m) => {
                let keep = WHOLE.saturating_sub(m);
                let v = u128::from(size) * u128::from(keep) / u128::from(WHOLE);
                u64::try_from(v).unwrap_or(u64::MAX)
            }
        }
    }

    /// Whether `self` (the warning) fires no later than `crit` would, when
    /// both are in the same unit; mixed units cannot be compared.
    pub fn is_not_below(self, crit: Limit) -> bool {
        match (self, crit) {
            (Limit::Percent(w), Limit::Percent(c)) => w >= c,
            (Limit::Amount(w), Limit::Amount(c)) => w >= c,
            _ => true,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Limit::Percent(m) => {
                let whole = m / PERCENT_UNIT;
                let frac = m % PERCENT_UNIT;
                if frac == 0 {
                    write!(f, "{whole}%")
                } else {
                    let s = format!("{whole}.{frac:0width$}", width = PERCENT_DIGITS);
                    write!(f, "{}%", s.trim_end_matches('0'))
                }
            }
            Limit::Amount(a) => write!(f, "{a}"),
        }
    }
}

fn parse(input: &str, sizes: bool) -> Result<Limit, LimitError> {
    let malformed = || LimitError::Malformed(input.to_string());
    let s = input.trim();
    if let Some(num) = s.strip_suffix('%') {
        let (m, exact) = decimal_scaled(num.trim(), PERCENT_UNIT).ok_or_else(malformed)?;
        if m > u128::from(WHOLE) {
            return Err(LimitError::PercentTooBig(input.to_string()));
        }
        if !exact {
            return Err(LimitError::TooPrecise(input.to_string()));
        }
        let m = u64::try_from(m).map_err(|_| LimitError::PercentTooBig(input.to_string()))?;
        return Ok(Limit::Percent(m));
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let shift = if sizes {
        match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 0,
            "K" | "KB" | "KIB" => 10,
            "M" | "MB" | "MIB" => 20,
            "G" | "GB" | "GIB" => 30,
            "T" | "TB" | "TIB" => 40,
            "P" | "PB" | "PIB" => 50,
            "E" | "EB" | "EIB" => 60,
            _ => return Err(malformed()),
        }
    } else if unit.is_empty() {
        0
    } else {
        return Err(malformed());
    };
    if num.is_empty() {
        return Err(malformed());
    }
    let too_large = || {
        if num.bytes().all(|b| b.is_ascii_digit() || b == b'.') && num.matches('.').count() <= 1 {
            LimitError::TooLarge(input.to_string())
        } else {
            malformed()
        }
    };
    // Amounts as exact integers: the fraction is scaled by the unit first,
    // and what is left of a byte or an inode rounds up.
    let (amount, exact) = decimal_scaled(num, 1u64 << shift).ok_or_else(too_large)?;
    let amount = amount.checked_add(u128::from(!exact)).ok_or_else(too_large)?;
    Ok(Limit::Amount(u64::try_from(amount).map_err(|_| too_large())?))
}

/// `digits[.digits] * scale` in integers, rounded down, and whether that was
/// exact; `None` on anything else or on overflow. Every fraction digit counts,
/// however many there are.
fn decimal_scaled(s: &str, scale: u64) -> Option<(u128, bool)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let whole = int_v.checked_mul(u128::from(scale))?;
    // 0.d1 d2 ... dn * scale, from the last digit up: after digit k the
    // carry is the whole part of 0.dk ... dn * scale (at most `scale`), and
    // a remainder left at any step means the product has a fraction.
    let mut carry = 0u128;
    let mut exact = true;
    for d in frac.bytes().rev() {
        let t = u128::from(d.saturating_sub(b'0')) * u128::from(scale) + carry;
        exact &= t % 10 == 0;
        carry = t / 10;
    }
    Some((whole.checked_add(carry)?, exact))
}

/// The thresholds of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub warn: Limit,
    pub crit: Limit,
    pub warn_inodes: Limit,
    pub crit_inodes: Limit,
}

/// The state of one filesystem and, unless OK, why.
pub fn judge(t: &Thresholds, u: &Usage) -> (State, Option<String>) {
    let mut state = State::Ok;
    let mut reasons = Vec::new();
    let space = [(State::Critical, t.crit), (State::Warning, t.warn)];
    if let Some((s, limit)) = space.iter().find(|(_, l)| l.is_crossed(u.avail, u.used)) {
        state = state.worst(*s);
        reasons.push(format!(
            "{} free ({}), below the {} limit {}",
            human(u.avail),
            percent_text(u.free_fraction()),
            s.name().to_ascii_lowercase(),
            limit_text(*limit, true)
        ));
    }
    if let Some(i) = &u.inodes {
        let inodes = [(State::Critical, t.crit_inodes), (State::Warning, t.warn_inodes)];
        if let Some((s, limit)) = inodes.iter().find(|(_, l)| l.is_crossed(i.avail, i.used)) {
            state = state.worst(*s);
            reasons.push(format!(
                "{} inodes free ({}), below the {} limit {}",
                i.avail,
                percent_text(i.free_fraction()),
                s.name().to_ascii_lowercase(),
                limit_text(*limit, false)
            ));
        }
    }
    let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    (state, reason)
}

fn limit_text(l: Limit, bytes: bool) -> String {
    match l {
        Limit::Amount(a) if bytes => human(a),
        other => other.to_string(),
    }
}

/// A free fraction as a percentage floored to a tenth, so that a value shown
/// as `20.0%` is never below a 20% limit.
pub fn percent_text(fraction: Option<f64>) -> String {
    match fraction {
        Some(f) => format!("{:.1}%", (f * 1000.0).floor() / 10.0),
        None => "-".to_string(),
    }
}

/// A size in df -h's style: powers of 1024, one decimal below 10, rounded up.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "K", "M", "G", "T", "P", "E"];
    let mut unit = 0usize;
    let mut scaled = bytes as f64;
    while scaled >= 1024.0 && unit + 1 < UNITS.len() {
        scaled /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("?");
    if unit == 0 {
        format!("{bytes}{name}")
    } else if scaled < 10.0 {
        let v = (scaled * 10.0).ceil() / 10.0;
        if v >= 10.0 {
            format!("{v:.0}{name}")
        } else {
            format!("{v:.1}{name}")
        }
    } else {
        format!("{:.0}{name}", scaled.ceil())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::usage::Inodes;

    /// `n` thousandths of a percent.
    fn milli(n: u64) -> Limit {
        Limit::Percent(n * (PERCENT_UNIT / 1000))
    }

    fn t() -> Thresholds {
        Thresholds { warn: milli(20_000), crit: milli(10_000), warn_inodes: milli(10_000), crit_inodes: milli(5_000) }
    }

    fn usage(used: u64, avail: u64) -> Usage {
        Usage { size: used + avail, used, avail, inodes: None }
    }

    #[test]
    fn limits_parse_percentages_and_sizes() {
        assert_eq!(Limit::parse_space("20%"), Ok(milli(20_000)));
        assert_eq!(Limit::parse_space("12.5%"), Ok(milli(12_500)));
        assert_eq!(Limit::parse_space("5G"), Ok(Limit::Amount(5 << 30)));
        assert_eq!(Limit::parse_space("500M"), Ok(Limit::Amount(500 << 20)));
        assert_eq!(Limit::parse_space("1.5k"), Ok(Limit::Amount(1536)));
        assert_eq!(Limit::parse_space("2GiB"), Ok(Limit::Amount(2 << 30)));
        assert_eq!(Limit::parse_space("4096"), Ok(Limit::Amount(4096)));
        assert_eq!(Limit::parse_inodes("1000"), Ok(Limit::Amount(1000)));
        assert_eq!(Limit::parse_inodes("5%"), Ok(milli(5000)));
    }

    #[test]
    fn bad_limits_are_refused() {
        for bad in ["", "%", "abc", "5X", "-5%", "1.2.3G", "G", "5 %x", ".%"] {
            assert!(Limit::parse_space(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Limit::parse_space("101%"), Err(LimitError::PercentTooBig("101%".into())));
        assert!(matches!(Limit::parse_space("99999999999E"), Err(LimitError::TooLarge(_))));
        assert!(Limit::parse_inodes("5G").is_err(), "inode counts have no size suffix");
    }

    #[test]
    fn percent_limits_keep_every_decimal() {
        let l = Limit::parse_space("50.0001%").unwrap();
        assert_eq!(l.to_string(), "50.0001%");
        assert!(l.is_crossed(500_000, 500_000), "exactly 50% free is below 50.0001%");
        assert!(!Limit::parse_space("50%").unwrap().is_crossed(500_000, 500_000));
        // One part in 10^17 of a filesystem of 10^17 bytes.
        let fine = Limit::parse_space("0.000000000000001%").unwrap();
        assert!(fine.is_crossed(0, 100_000_000_000_000_000));
        assert!(!fine.is_crossed(1, 100_000_000_000_000_000 - 1));
        assert_eq!(fine.to_string(), "0.000000000000001%");
        // Zeros past the last kept place change nothing; other digits there
        // would be lost, so they are refused rather than rounded.
        assert_eq!(Limit::parse_space("12.50000000000000000000%"), Limit::parse_space("12.5%"));
        assert_eq!(
            Limit::parse_space("12.0000000000000001%"),
            Err(LimitError::TooPrecise("12.0000000000000001%".into()))
        );
        assert!(Limit::parse_space("100.0000000000000000001%").is_err());
    }

    #[test]
    fn fractions_of_a_byte_or_an_inode_round_up() {
        // Free space is whole bytes: "below 102.4 bytes" is "below 103".
        let l = Limit::parse_space("0.1K").unwrap();
        assert_eq!(l, Limit::Amount(103));
        assert!(l.is_crossed(102, 0));
        assert!(!l.is_crossed(103, 0));
        assert_eq!(Limit::parse_inodes("10.5"), Ok(Limit::Amount(11)));
        assert_eq!(Limit::parse_space("1.5k"), Ok(Limit::Amount(1536)), "exact stays exact");
        let many = format!("1.{}1M", "0".repeat(60));
        assert_eq!(Limit::parse_space(&many), Ok(Limit::Amount((1 << 20) + 1)));
    }

    #[test]
    fn percent_limits_compare_exactly() {
        let l = milli(20_000);
        assert!(!l.is_crossed(20, 80), "exactly 20% free is not below 20%");
        assert!(l.is_crossed(19, 81));
        assert!(!l.is_crossed(0, 0), "an empty filesystem crosses nothing");
        let all = Limit::parse_space("100%").unwrap();
        assert!(all.is_crossed(u64::MAX - 1, 1), "no overflow at the extremes");
        assert!(!all.is_crossed(u64::MAX, 0));
        assert_eq!(all.used_limit(u64::MAX), 0);
        assert_eq!(Limit::parse_space("0%").unwrap().used_limit(u64::MAX), u64::MAX);
    }

    #[test]
    fn states_follow_the_defaults() {
        assert_eq!(judge(&t(), &usage(70, 30)).0, State::Ok);
        assert_eq!(judge(&t(), &usage(85, 15)).0, State::Warning);
        assert_eq!(judge(&t(), &usage(95, 5)).0, State::Critical);
        assert_eq!(judge(&t(), &usage(70, 30)).1, None);
        let (_, reason) = judge(&t(), &usage(85, 15));
        assert!(reason.unwrap().contains("below the warning limit 20%"));
    }

    #[test]
    fn inode_limits_are_judged_separately() {
        let mut u = usage(10, 90);
        u.inodes = Some(Inodes { total: 100, used: 97, avail: 3 });
        let (s, reason) = judge(&t(), &u);
        assert_eq!(s, State::Critical);
        assert!(reason.unwrap().contains("3 inodes free"));
    }

    #[test]
    fn perfdata_limits_match_check_disks_example() {
        // check_disk's example in docs/disk.md: size 1032847360 with --warn 20% --crit 10%.
        assert_eq!(milli(20_000).used_limit(1_032_847_360), 826_277_888);
        assert_eq!(milli(10_000).used_limit(1_032_847_360), 929_562_624);
        assert_eq!(Limit::Amount(100).used_limit(1000), 900);
        assert_eq!(Limit::Amount(2000).used_limit(1000), 0);
    }

    #[test]
    fn worst_state_puts_unknown_between_ok_and_warning() {
        assert_eq!(State::Ok.worst(State::Unknown), State::Unknown);
        assert_eq!(State::Unknown.worst(State::Warning), State::Warning);
        assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
    }

    #[test]
    fn human_sizes_look_like_df_h() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1.0K");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(10 * 1024 * 1024 - 1), "10M");
        assert_eq!(human(5 << 30), "5.0G");
        assert_eq!(human(u64::MAX), "16E");
    }

    #[test]
    fn shown_percentages_never_round_up_past_a_limit() {
        assert_eq!(percent_text(Some(0.19999)), "19.9%");
        assert_eq!(percent_text(Some(0.58013)), "58.0%");
        assert_eq!(percent_text(None), "-");
    }
}
