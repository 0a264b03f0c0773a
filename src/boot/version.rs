//! Kernel release ordering, exactly as Debian's `linux-version sort` (package
//! linux-base, `DebianLinux::version_cmp`) orders them, so that "newest" means
//! what it means to the rest of Debian.
//!
//! The release is split into runs of digits and runs of other characters,
//! the latter broken at hyphens (a hyphen starts a new run). Runs compare
//! numerically when both are numeric, else as bytes; the end of the string
//! sorts before anything, except `-rc` and `-trunk`, which sort before even
//! the end (so `6.1-rc3` < `6.1`).
//!
//! [`uapi_compare`] is the other order in play: the UAPI Version Format
//! Specification's, which systemd-boot uses to order its entries.

use std::cmp::Ordering;

/// Split as `version_split` does: `/(?:\d+|-?[^-\d]*)/g`, which also yields one
/// empty match at the end of the string.
fn split(v: &str) -> Vec<&str> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            if b[i] == b'-' {
                i += 1;
            }
            while i < b.len() && b[i] != b'-' && !b[i].is_ascii_digit() {
                i += 1;
            }
        }
        // Byte indices at ASCII boundaries (digits, '-') or the end, so
        // slicing never splits a UTF-8 sequence.
        out.push(v.get(start..i).unwrap_or(""));
    }
    out.push("");
    out
}

fn is_pre(c: Option<&str>) -> bool {
    matches!(c, Some("-rc") | Some("-trunk"))
}

fn is_num(c: Option<&str>) -> bool {
    c.is_some_and(|s| s.as_bytes().first().is_some_and(u8::is_ascii_digit))
}

/// Numeric comparison of two digit runs of any length.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compare two kernel releases (`uname -r` strings) as linux-version does.
pub fn compare(left: &str, right: &str) -> Ordering {
    let l = split(left);
    let r = split(right);
    let mut i = 0;
    loop {
        let a = l.get(i).copied();
        let b = r.get(i).copied();
        let (ap, bp) = (is_pre(a), is_pre(b));
        if ap || bp {
            if !bp {
                return Ordering::Less;
            }
            if !ap {
                return Ordering::Greater;
            }
        }
        match (a, b) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = if is_num(a) && is_num(b) { cmp_digits(x, y) } else { x.cmp(y) };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
        i += 1;
    }
}

/// Whether the UAPI version format keeps `c` (the rest separate segments).
fn is_version_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'~' | b'-' | b'^' | b'.')
}

/// Compare two versions as systemd's `strverscmp_improved` does (the UAPI
/// Version Format Specification): segments of digits or of letters, `~`
/// sorting before everything (pre-releases), then the end, then `-`, then
/// `^`, then `.`; numbers compare by value, letters as bytes, and any other
/// character only separates segments.
pub fn uapi_compare(left: &str, right: &str) -> Ordering {
    let (mut a, mut b) = (left.as_bytes(), right.as_bytes());
    if a.is_empty() || b.is_empty() {
        return a.cmp(b);
    }
    // A prefix one string has and the other lacks: the one with it is older.
    fn prefixed(a: &mut &[u8], b: &mut &[u8], p: u8) -> Option<Ordering> {
        let (pa, pb) = (a.first() == Some(&p), b.first() == Some(&p));
        if !pa && !pb {
            return None;
        }
        if pa != pb {
            return Some(if pa { Ordering::Less } else { Ordering::Greater });
        }
        *a = a.get(1..).unwrap_or_default();
        *b = b.get(1..).unwrap_or_default();
        None
    }
    fn run(s: &[u8], f: fn(&u8) -> bool) -> usize {
        s.iter().take_while(|c| f(c)).count()
    }
    loop {
        a = a.get(run(a, |c| !is_version_char(*c))..).unwrap_or_default();
        b = b.get(run(b, |c| !is_version_char(*c))..).unwrap_or_default();
        if let Some(o) = prefixed(&mut a, &mut b, b'~') {
            return o;
        }
        if a.is_empty() || b.is_empty() {
            return a.cmp(b);
        }
        for p in [b'-', b'^', b'.'] {
            if let Some(o) = prefixed(&mut a, &mut b, p) {
                return o;
            }
        }
        let (na, nb);
        if a.first().is_some_and(u8::is_ascii_digit) || b.first().is_some_and(u8::is_ascii_digit) {
            (na, nb) = (run(a, u8::is_ascii_digit), run(b, u8::is_ascii_digit));
            // A number is newer than no number (letters, or nothing).
            let o = (na > 0).cmp(&(nb > 0));
            if o != Ordering::Equal {
                return o;
            }
            let x = std::str::from_utf8(a.get(..na).unwrap_or_default()).unwrap_or_default();
            let y = std::str::from_utf8(b.get(..nb).unwrap_or_default()).unwrap_or_default();
            let o = cmp_digits(x, y);
            if o != Ordering::Equal {
                return o;
            }
        } else {
            (na, nb) = (run(a, u8::is_ascii_alphabetic), run(b, u8::is_ascii_alphabetic));
            let common = na.min(nb);
            let o = a.get(..common).cmp(&b.get(..common)).then(na.cmp(&nb));
            if o != Ordering::Equal {
                return o;
            }
        }
        a = a.get(na..).unwrap_or_default();
        b = b.get(nb..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_perl_version_split() {
        assert_eq!(split("6.1.0-13-amd64"), ["6", ".", "1", ".", "0", "-", "13", "-amd", "64", ""]);
        assert_eq!(split(""), [""]);
        assert_eq!(split("linux"), ["linux", ""]);
    }

    #[test]
    fn newer_abi_sorts_after_older() {
        assert_eq!(compare("6.1.0-13-amd64", "6.1.0-9-amd64"), Ordering::Greater);
        assert_eq!(compare("6.1.0-13-amd64", "6.12.9-amd64"), Ordering::Less);
    }

    #[test]
    fn release_candidates_sort_before_the_release() {
        assert_eq!(compare("6.1-rc3", "6.1"), Ordering::Less);
        assert_eq!(compare("6.1-rc3-amd64", "6.1-amd64"), Ordering::Less);
        assert_eq!(compare("6.1-trunk-amd64", "6.1-1-amd64"), Ordering::Less);
    }

    #[test]
    fn dot_sorts_after_hyphen() {
        assert_eq!(compare("2.6.32.1", "2.6.32-5"), Ordering::Greater);
    }

    #[test]
    fn equal_strings_are_equal() {
        assert_eq!(compare("6.1.0-13-amd64", "6.1.0-13-amd64"), Ordering::Equal);
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let big = "9".repeat(100);
        assert_eq!(compare(&big, "1"), Ordering::Greater);
        assert_eq!(compare("0001", "1"), Ordering::Equal);
    }

    #[test]
    fn non_ascii_compares_as_bytes_without_panicking() {
        // "é" is 0xC3 0xA9, "ü" 0xC3 0xBC: a run of other characters, compared as bytes.
        assert_eq!(compare("6.1-é-amd64", "6.1-ü"), Ordering::Less);
        assert_eq!(compare("6.1-ü", "6.1-é-amd64"), Ordering::Greater);
        // Anything sorts after the end.
        assert_eq!(compare("é", ""), Ordering::Greater);
        assert_eq!(compare("6.1é", "6.1"), Ordering::Greater);
    }

    /// The examples of the UAPI Version Format Specification, oldest first.
    const UAPI_ORDER: [&str; 12] = [
        "122.1",
        "123~rc1-1",
        "123",
        "123-a",
        "123-a.1",
        "123-1",
        "123-1.1",
        "123^post1",
        "123.a-1",
        "123.1-1",
        "123a-1",
        "124-1",
    ];

    #[test]
    fn uapi_order_follows_the_specification() {
        for (i, a) in UAPI_ORDER.iter().enumerate() {
            for (j, b) in UAPI_ORDER.iter().enumerate() {
                assert_eq!(uapi_compare(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn uapi_order_treats_other_characters_as_separators() {
        assert_eq!(uapi_compare("123_a", "123a"), Ordering::Equal);
        assert_eq!(uapi_compare("00123", "123"), Ordering::Equal);
        assert_eq!(uapi_compare("a-10.conf", "a-9.conf"), Ordering::Greater);
        assert_eq!(uapi_compare("", "a"), Ordering::Less);
        assert_eq!(uapi_compare("é1", "1"), Ordering::Equal);
        // Fedora's rescue entry after the installed kernel's.
        assert_eq!(uapi_compare("m-6.5.6-300.fc39.x86_64.conf", "m-0-rescue.conf"), Ordering::Greater);
    }
}
