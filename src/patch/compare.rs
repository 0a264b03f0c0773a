//! Whether two patches are the same patch. Byte equality, except for the
//! timestamps Mercurial writes into plain (non-git) diff headers: `hg qdiff`
//! stamps the working-directory side with the current time
//! (`+++ b/a<TAB>Wed Nov 25 18:26:53 2026 +0000`), so without this two runs a
//! second apart would never be "identical" and every run would save a copy.

/// Same bytes, or the same lines apart from header timestamps.
pub fn same_patch(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let la: Vec<&[u8]> = a.split_inclusive(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
    if la.len() != lb.len() {
        return false;
    }
    la.iter().zip(&lb).enumerate().all(|(i, (x, y))| {
        x == y
            || match (undated(&la, i), undated(&lb, i)) {
                (Some(px), Some(py)) => px == py,
                _ => false,
            }
    })
}

/// For a file header line (`--- ` followed by `+++ `, or `+++ ` after `--- `)
/// ending in a tab and an hg date, the line without the date.
fn undated<'a>(lines: &[&'a [u8]], i: usize) -> Option<&'a [u8]> {
    let line = *lines.get(i)?;
    let starts = |j: Option<usize>, p: &[u8]| j.and_then(|j| lines.get(j)).is_some_and(|l| l.starts_with(p));
    let header = (line.starts_with(b"--- ") && starts(i.checked_add(1), b"+++ "))
        || (line.starts_with(b"+++ ") && starts(i.checked_sub(1), b"--- "));
    if !header {
        return None;
    }
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let tab = body.iter().rposition(|&c| c == b'\t')?;
    let (head, date) = body.split_at(tab);
    is_hg_date(date.get(1..)?).then_some(head)
}

/// `Www Mmm DD HH:MM:SS YYYY +ZZZZ`, the shape of Mercurial's diff dates.
fn is_hg_date(s: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(s) else {
        return false;
    };
    let f: Vec<&str> = s.split(' ').collect();
    let alpha = |w: &str| w.len() == 3 && w.bytes().all(|c| c.is_ascii_alphabetic());
    let digits =
        |w: &str, n: std::ops::RangeInclusive<usize>| n.contains(&w.len()) && w.bytes().all(|c| c.is_ascii_digit());
    match f.as_slice() {
        [wd, mon, day, time, year, zone] => {
            let t: Vec<&str> = time.split(':').collect();
            alpha(wd)
                && alpha(mon)
                && digits(day, 1..=2)
                && t.len() == 3
                && t.iter().all(|p| digits(p, 2..=2))
                && digits(year, 4..=4)
                && zone.len() == 5
                && (zone.starts_with('+') || zone.starts_with('-'))
                && zone.get(1..).is_some_and(|z| digits(z, 4..=4))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"diff -r 8fd4ae032f94 a\n--- a/a\tWed Nov 25 18:22:56 2026 +0000\n+++ b/a\tWed Nov 25 18:26:53 2026 +0000\n@@ -1,1 +1,2 @@\n a\n+b\n";
    const B: &[u8] = b"diff -r 8fd4ae032f94 a\n--- a/a\tWed Nov 25 18:22:56 2026 +0000\n+++ b/a\tThu Nov 26 09:00:01 2026 +0100\n@@ -1,1 +1,2 @@\n a\n+b\n";

    #[test]
    fn hg_header_dates_do_not_make_a_patch_different() {
        assert!(same_patch(A, B));
    }

    #[test]
    fn any_other_difference_does() {
        let c = [B, b"+c\n"].concat();
        assert!(!same_patch(A, &c));
        let renamed = String::from_utf8_lossy(B).replace("+++ b/a", "+++ b/z").into_bytes();
        assert!(!same_patch(A, &renamed));
        assert!(!same_patch(b"x\n", b"y\n"));
    }

    #[test]
    fn removed_line_looking_like_a_header_is_compared_in_full() {
        // A removed "-- x<TAB>date" line is not followed by a "+++ " line.
        let a = b"@@ -1,2 +0,0 @@\n--- x\tWed Nov 25 18:22:56 2026 +0000\n-y\n";
        let b = b"@@ -1,2 +0,0 @@\n--- x\tThu Nov 26 18:22:56 2026 +0000\n-y\n";
        assert!(!same_patch(a, b));
    }

    #[test]
    fn only_date_shaped_tails_are_ignored() {
        let a = b"--- a/f\tone\n+++ b/f\tx\n";
        let b = b"--- a/f\ttwo\n+++ b/f\tx\n";
        assert!(!same_patch(a, b));
        assert!(is_hg_date(b"Thu Jan 01 00:00:00 1970 +0000"));
        assert!(!is_hg_date(b"Thu Jan 01 00:00:00 1970"));
        assert!(!is_hg_date(b""));
    }
}
