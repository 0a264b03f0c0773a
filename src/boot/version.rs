//! Kernel release ordering, exactly as Debian's `linux-version sort` (package
//! linux-base, `DebianLinux::version_cmp`) orders them, so that "newest" means
//! what it means to the rest of Debian.
//!
//! The release is split into runs of digits and runs of other characters,
//! the latter broken at hyphens (a hyphen starts a new run). Runs compare
//! numerically when both are numeric, else as bytes; the end of the string
//! sorts before anything, except `-rc` and `-trunk`, which sort before even
//! the end (so `6.1-rc3` < `6.1`).

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
    fn non_ascii_never_panics() {
        let _ = compare("6.1-é-amd64", "6.1-ü");
        let _ = compare("é", "");
    }
}
