//! Dates of benchmark points: parse Unix seconds or RFC 3339, print the
//! seed's C `asctime` form in UTC, through `jiff`'s calendar.

use jiff::{Timestamp, Zoned};

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("timestamp {0:?} is neither Unix seconds nor RFC 3339")]
    Unrecognised(String),
    #[error("timestamp {0:?} is out of range")]
    OutOfRange(String),
}

/// 0001-01-01T00:00:00Z, the first second C's `asctime` prints with a
/// four-digit year, up to the last second `jiff` holds (9999-12-30T22:00:00Z,
/// so that any offset still lands in its calendar): wide enough for any
/// benchmark.
const MIN_SECS: i64 = -62_135_596_800;
const END_SECS: i64 = 253_402_207_201;

fn in_range(secs: i64) -> bool {
    (MIN_SECS..END_SECS).contains(&secs)
}

/// Parse a timestamp: Unix seconds (an integer or a decimal, truncated
/// toward minus infinity) or RFC 3339 (`2009-01-30T11:34:00Z`, with an
/// offset, a fraction, a space or lower-case `t` allowed as separator).
pub fn parse_timestamp(s: &str) -> Result<i64, DateError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DateError::Unrecognised(s.to_owned()));
    }
    if let Ok(n) = t.parse::<i64>() {
        return if in_range(n) { Ok(n) } else { Err(DateError::OutOfRange(s.to_owned())) };
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+') {
        if let Ok(f) = t.parse::<f64>() {
            return from_float_seconds(f).ok_or_else(|| DateError::OutOfRange(s.to_owned()));
        }
    }
    parse_rfc3339(t).ok_or_else(|| DateError::Unrecognised(s.to_owned()))
}

/// Unix seconds given as a JSON/CSV float, truncated toward minus infinity.
pub fn from_float_seconds(f: f64) -> Option<i64> {
    if !f.is_finite() {
        return None;
    }
    let floor = f.floor();
    // Bounds keep the cast exact; `in_range` then applies the calendar limits.
    if !(-1e15..=1e15).contains(&floor) {
        return None;
    }
    let n = floor as i64;
    in_range(n).then_some(n)
}

/// RFC 3339 proper: `jiff` also reads RFC 9557 and ISO 8601 forms
/// (`+01` offsets, `[zone]` suffixes, week dates), which are not accepted
/// here: the documented input is RFC 3339 and nothing looser.
fn parse_rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let shape = |i: usize, ok: fn(u8) -> bool| b.get(i).is_some_and(|&c| ok(c));
    let digit = |c: u8| c.is_ascii_digit();
    let head_ok = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18].iter().all(|&i| shape(i, digit))
        && shape(4, |c| c == b'-')
        && shape(7, |c| c == b'-')
        && shape(10, |c| matches!(c, b'T' | b't' | b' '))
        && shape(13, |c| c == b':')
        && shape(16, |c| c == b':');
    if !head_ok {
        return None;
    }
    let mut rest = b.get(19..)?;
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = frac.get(n..)?;
    }
    let offset_ok = match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if !offset_ok {
        return None;
    }
    // jiff wants `T` or a space and reads the rest the same way.
    let normal = t.replacen('t', "T", 1);
    let ts: Timestamp = normal.parse().ok()?;
    let secs = ts.as_second();
    in_range(secs).then_some(secs)
}

/// The calendar of a timestamp in UTC. Timestamps come from
/// [`parse_timestamp`], so they always are in range.
fn utc(secs: i64) -> Option<Zoned> {
    Timestamp::from_second(secs).ok().map(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
}

fn format(secs: i64, layout: &str) -> String {
    utc(secs).map_or_else(|| secs.to_string(), |z| z.strftime(layout).to_string())
}

/// `Fri Jan 30 11:34:00 2009`: C's `asctime` layout (the day padded with a
/// space to two columns), always in UTC.
pub fn format_asctime(secs: i64) -> String {
    format(secs, "%a %b %e %H:%M:%S %Y")
}

/// `2009-01-30T11:34:00Z`, for JSON.
pub fn format_rfc3339(secs: i64) -> String {
    format(secs, "%Y-%m-%dT%H:%M:%SZ")
}

/// `Jan 30`, or `Jan 30 11:34` when ticks are less than a day apart; the
/// year is added when the chart spans more than one.
pub fn format_tick(secs: i64, with_time: bool, with_year: bool) -> String {
    let layout = match (with_year, with_time) {
        (false, false) => "%b %-d",
        (true, false) => "%b %-d %Y",
        (false, true) => "%b %-d %H:%M",
        (true, true) => "%b %-d %Y %H:%M",
    };
    format(secs, layout)
}

/// The year of a timestamp, to decide whether ticks need it.
pub fn year_of(secs: i64) -> i64 {
    utc(secs).map_or(0, |z| i64::from(z.year()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_date_prints_like_the_original() {
        // 2009-01-30 11:34:00 UTC.
        let t = parse_timestamp("2009-01-30T11:34:00Z").unwrap();
        assert_eq!(t, 1_233_315_240);
        assert_eq!(format_asctime(t), "Fri Jan 30 11:34:00 2009");
    }

    #[test]
    fn unix_seconds_and_offsets_agree() {
        assert_eq!(parse_timestamp("1233315240").unwrap(), 1_233_315_240);
        assert_eq!(parse_timestamp("1233315240.9").unwrap(), 1_233_315_240);
        assert_eq!(parse_timestamp("-0.5").unwrap(), -1);
        assert_eq!(parse_timestamp("2009-01-30T12:34:00+01:00").unwrap(), 1_233_315_240);
        assert_eq!(parse_timestamp("2009-01-30 06:34:00.123-05:00").unwrap(), 1_233_315_240);
        assert_eq!(parse_timestamp("2009-01-30t11:34:00z").unwrap(), 1_233_315_240);
    }

    #[test]
    fn single_digit_days_are_space_padded() {
        assert_eq!(format_asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_tick(951_782_400, false, false), "Feb 29");
        assert_eq!(format_tick(951_782_400 + 3600 * 13 + 60, true, true), "Feb 29 2000 13:01");
    }

    #[test]
    fn the_calendar_ends_are_kept_and_printed_in_four_digits() {
        assert_eq!(format_rfc3339(MIN_SECS), "0001-01-01T00:00:00Z");
        assert_eq!(END_SECS - 1, Timestamp::MAX.as_second());
        assert_eq!(format_asctime(END_SECS - 1), "Thu Dec 30 22:00:00 9999");
        assert_eq!(parse_timestamp("9999-12-30T22:00:00Z").unwrap(), END_SECS - 1);
        assert!(parse_timestamp("9999-12-31T23:59:59Z").is_err());
        assert_eq!(parse_timestamp("0001-01-01T00:00:00Z").unwrap(), MIN_SECS);
        assert_eq!(year_of(END_SECS - 1), 9999);
        assert!(parse_timestamp(&END_SECS.to_string()).is_err());
        assert!(parse_timestamp("0000-12-31T23:59:59Z").is_err());
    }

    #[test]
    fn garbage_and_impossible_dates_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2009-02-30T00:00:00Z",
            "2009-01-30T25:00:00Z",
            "2009-01-30T11:34:00",
            "2009-01-30T11:34:00+1:00",
            "99999999999999999999",
            "1e300",
            "2009-01-30T11:34:00.Z",
            "٣٣",
            "2009-01-30T11:34:00+01",
            "2009-01-30T11:34:00Z[Europe/Paris]",
            "2009-W05-5T11:34:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?} accepted");
        }
    }
}
