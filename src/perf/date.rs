//! Dates of benchmark points: parse Unix seconds or RFC 3339, print the
//! seed's C `asctime` form in UTC. Written here (a few lines of calendar
//! arithmetic) rather than pulling `chrono` or `time` for two conversions.

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("timestamp {0:?} is neither Unix seconds nor RFC 3339")]
    Unrecognised(String),
    #[error("timestamp {0:?} is out of range")]
    OutOfRange(String),
}

const SECS_PER_DAY: i64 = 86_400;
/// Years accepted, wide enough for any benchmark and small enough that no
/// arithmetic below can overflow.
const MIN_YEAR: i64 = 1;
const MAX_YEAR: i64 = 9999;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`); inputs are range-checked by the callers.
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month 1..=12, day 1..=31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Seconds since the epoch, bounded to the years 1..=9999 so that formatting
/// can never overflow.
fn in_range(secs: i64) -> bool {
    const LO: i64 = days_from_civil(MIN_YEAR, 1, 1) * SECS_PER_DAY;
    const HI: i64 = (days_from_civil(MAX_YEAR, 12, 31) + 1) * SECS_PER_DAY;
    (LO..HI).contains(&secs)
}

/// Parse a timestamp: Unix seconds (an integer or a decimal, truncated) or
/// RFC 3339 (`2009-01-30T11:34:00Z`, with an offset, a fraction, a space or
/// lower-case `t` allowed as separator).
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

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0i64, |acc, &b| acc.checked_mul(10)?.checked_add(i64::from(b - b'0')))
}

fn parse_rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    // YYYY-MM-DD?HH:MM:SS is 19 bytes; the rest is fraction and offset.
    let head = b.get(..19)?;
    let sep_ok = |i: usize, c: u8| head.get(i) == Some(&c);
    if !(sep_ok(4, b'-') && sep_ok(7, b'-') && sep_ok(13, b':') && sep_ok(16, b':')) {
        return None;
    }
    if !matches!(head.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let y = digits(head.get(0..4)?)?;
    let mo = digits(head.get(5..7)?)?;
    let d = digits(head.get(8..10)?)?;
    let h = digits(head.get(11..13)?)?;
    let mi = digits(head.get(14..16)?)?;
    let sec = digits(head.get(17..19)?)?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&y) || !(1..=12).contains(&mo) {
        return None;
    }
    // A leap second (60) is accepted and counted as the next second's start.
    if d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
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
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let oh = digits(&[*oh1, *oh2])?;
            let om = digits(&[*om1, *om2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + sec - offset;
    in_range(secs).then_some(secs)
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Broken-down UTC time of a timestamp accepted by [`parse_timestamp`].
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: &'static str,
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(SECS_PER_DAY);
    let tod = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday, the first entry of WEEKDAYS.
    let weekday = WEEKDAYS.get(days.rem_euclid(7) as usize).copied().unwrap_or("???");
    Civil { year, month, day, hour: tod / 3600, minute: tod % 3600 / 60, second: tod % 60, weekday }
}

fn month_name(m: i64) -> &'static str {
    usize::try_from(m - 1).ok().and_then(|i| MONTHS.get(i)).copied().unwrap_or("???")
}

/// `Fri Jan 30 11:34:00 2009`: C's `asctime` layout (the day padded with a
/// space to two columns), always in UTC.
pub fn format_asctime(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        c.weekday,
        month_name(c.month),
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

/// `2009-01-30T11:34:00Z`, for JSON.
pub fn format_rfc3339(secs: i64) -> String {
    let c = civil(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Jan 30`, or `Jan 30 11:34` when ticks are less than a day apart; the
/// year is added when the chart spans more than one.
pub fn format_tick(secs: i64, with_time: bool, with_year: bool) -> String {
    let c = civil(secs);
    let mut s = format!("{} {}", month_name(c.month), c.day);
    if with_year {
        s.push_str(&format!(" {}", c.year));
    }
    if with_time {
        s.push_str(&format!(" {:02}:{:02}", c.hour, c.minute));
    }
    s
}

/// The year of a timestamp, to decide whether ticks need it.
pub fn year_of(secs: i64) -> i64 {
    civil(secs).year
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
        assert_eq!(parse_timestamp("2009-01-30T12:34:00+01:00").unwrap(), 1_233_315_240);
        assert_eq!(parse_timestamp("2009-01-30 06:34:00.123-05:00").unwrap(), 1_233_315_240);
    }

    #[test]
    fn single_digit_days_are_space_padded() {
        assert_eq!(format_asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn calendar_round_trips_over_centuries() {
        for days in (-700_000..2_900_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=days_in_month(y, m)).contains(&d));
        }
    }

    #[test]
    fn garbage_and_impossible_dates_are_refused() {
        for bad in ["", "yesterday", "2009-02-30T00:00:00Z", "2009-01-30T25:00:00Z",
                    "2009-01-30T11:34:00", "2009-01-30T11:34:00+1:00", "99999999999999999999",
                    "1e300", "2009-01-30T11:34:00.Z", "٣٣"] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?} accepted");
        }
    }
}
