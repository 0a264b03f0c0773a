//! A parser for `/proc/<pid>/mountinfo`, the kernel's list of mounts: which
//! filesystems exist, where, of what type, and which ones hide which. The
//! one reader of the mount table: `disk` checks what it lists, the direct
//! shutdown unmounts it.
//!
//! The format is in the kernel's Documentation/filesystems/proc.rst (section
//! 3.5, "/proc/<pid>/mountinfo"):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
//! ```
//!
//! (7) is zero or more optional fields ended by the lone `-` (8). Paths escape
//! space, tab, newline and backslash as `\040`, `\011`, `\012`, `\134`
//! (fs/proc_namespace.c, `mangle`). The text comes from a file, so nothing here
//! panics on odd input: a line that does not fit is an error for that line alone.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// One mounted filesystem as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Field 1: the mount's unique ID.
    pub id: u64,
    /// Field 2: the ID of the mount it sits on.
    pub parent_id: u64,
    /// Field 3: the device (`st_dev`) of the filesystem; the key for duplicates.
    pub major: u32,
    pub minor: u32,
    /// Field 4: the directory of the filesystem shown at the mount point (not
    /// `/` for bind mounts of a subdirectory).
    pub root: PathBuf,
    /// Field 5: where it is mounted, relative to the process's root.
    pub mount_point: PathBuf,
    /// Field 9: the filesystem type (`ext4`, `fuse.sshfs`, ...).
    pub fstype: String,
    /// Field 10: the source, usually a device (`/dev/sda1`, `server:/export`).
    pub source: String,
    /// Field 6 holds `ro`: mounted read-only (the shutdown need not worry about it).
    pub read_only: bool,
}

/// Why one line of mountinfo could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("it has too few fields")]
    TooFewFields,
    #[error("the `-` that ends the optional fields is missing")]
    NoSeparator,
    #[error("the mount ID {0:?} is not a number")]
    BadId(String),
    #[error("the parent ID {0:?} is not a number")]
    BadParentId(String),
    #[error("the device {0:?} is not MAJOR:MINOR")]
    BadDevice(String),
    #[error("the path {0:?} is not absolute")]
    RelativePath(String),
}

/// A line of mountinfo that could not be read, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct BadLine {
    pub line: usize,
    #[source]
    pub error: LineError,
}

/// Read a mountinfo file in as few `read(2)` calls as it takes.
///
/// `std::fs::read` sizes its buffer by the file's size, which proc files give
/// as 0, so it starts with a 32-byte read and doubles; and every read of this
/// file makes the kernel walk the mount table again up to where the last one
/// stopped. With room for a few hundred mounts up front, a usual table comes
/// in one read (and the read that finds its end).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut text = Vec::with_capacity(32 * 1024);
    std::fs::File::open(path)?.read_to_end(&mut text)?;
    Ok(text)
}

/// Parse a whole mountinfo text. Lines that do not parse are returned beside
/// the good ones, so one odd line never hides every other mount.
pub fn parse(text: &[u8]) -> (Vec<MountEntry>, Vec<BadLine>) {
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(line) {
            Ok(e) => entries.push(e),
            Err(error) => bad.push(BadLine { line: n.saturating_add(1), error }),
        }
    }
    (entries, bad)
}

/// Parse one line (without its newline).
pub fn parse_line(line: &[u8]) -> Result<MountEntry, LineError> {
    // Fields are separated by single spaces; the kernel escapes any space
    // inside a field, so splitting on spaces is exact. One pass, no list of
    // fields: `disk` parses the whole table on every run.
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let mut field = || fields.next().ok_or(LineError::TooFewFields);
    let (id, parent, dev, root, mount_point) = (field()?, field()?, field()?, field()?, field()?);
    let options = field()?;
    // Optional fields (shared:N, master:N, ...) up to the lone `-`.
    loop {
        match fields.next() {
            Some(b"-") => break,
            Some(_) => {}
            None => return Err(LineError::NoSeparator),
        }
    }
    let (Some(fstype), Some(source)) = (fields.next(), fields.next()) else {
        return Err(LineError::TooFewFields);
    };
    let id = parse_u64(id).ok_or_else(|| LineError::BadId(lossy(id)))?;
    let parent_id = parse_u64(parent).ok_or_else(|| LineError::BadParentId(lossy(parent)))?;
    let (major, minor) = parse_dev(dev).ok_or_else(|| LineError::BadDevice(lossy(dev)))?;
    let root = absolute(root)?;
    let mount_point = absolute(mount_point)?;
    let read_only = options.split(|&b| b == b',').any(|o| o == b"ro");
    Ok(MountEntry {
        id,
        parent_id,
        major,
        minor,
        root,
        mount_point,
        fstype: text(fstype),
        source: text(source),
        read_only,
    })
}

/// A field as text: unescaped, invalid UTF-8 replaced.
fn text(field: &[u8]) -> String {
    match String::from_utf8(unescape(field)) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Undo the kernel's octal escapes (`\040` → space). A backslash not followed
/// by three octal digits that fit in a byte is kept as it is.
pub fn unescape(field: &[u8]) -> Vec<u8> {
    if !field.contains(&b'\\') {
        return field.to_vec();
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while let Some(&b) = field.get(i) {
        if b == b'\\' {
            if let Some(byte) = field.get(i.saturating_add(1)..i.saturating_add(4)).and_then(octal_byte) {
                out.push(byte);
                i = i.saturating_add(4);
                continue;
            }
        }
        out.push(b);
        i = i.saturating_add(1);
    }
    out
}

fn octal_byte(digits: &[u8]) -> Option<u8> {
    if digits.len() != 3 {
        return None;
    }
    let mut v: u32 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u32::from(d - b'0'))?;
    }
    u8::try_from(v).ok()
}

fn absolute(field: &[u8]) -> Result<PathBuf, LineError> {
    let bytes = unescape(field);
    if bytes.first() != Some(&b'/') {
        return Err(LineError::RelativePath(lossy(field)));
    }
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

fn parse_u64(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn parse_dev(field: &[u8]) -> Option<(u32, u32)> {
    let s = std::str::from_utf8(field).ok()?;
    let (major, minor) = s.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn lossy(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SAMPLE: &[u8] = b"\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue
40 27 0:44 / /media/my\\040disk\\011tab rw - vfat /dev/sdb1 rw
";

    #[test]
    fn kernel_documentation_example_parses() {
        let (entries, bad) = parse(SAMPLE);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(entries.len(), 3);
        let e = &entries[1];
        assert_eq!((e.id, e.parent_id, e.major, e.minor), (36, 35, 98, 0));
        assert_eq!(e.root, Path::new("/mnt1"));
        assert_eq!(e.mount_point, Path::new("/mnt2"));
        assert_eq!(e.fstype, "ext3");
        assert_eq!(e.source, "/dev/root");
    }

    #[test]
    fn octal_escapes_in_mount_points_are_decoded() {
        let (entries, _) = parse(SAMPLE);
        assert_eq!(entries[2].mount_point, Path::new("/media/my disk\ttab"));
    }

    #[test]
    fn newline_and_backslash_escapes_are_decoded() {
        let e = parse_line(b"1 0 0:1 / /a\\012b\\134c rw - tmpfs none rw").unwrap();
        assert_eq!(e.mount_point, Path::new("/a\nb\\c"));
    }

    #[test]
    fn broken_escapes_are_kept_literally() {
        assert_eq!(unescape(b"a\\"), b"a\\");
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"a\\089"), b"a\\089");
        // 0o777 does not fit in a byte.
        assert_eq!(unescape(b"a\\777b"), b"a\\777b");
        assert_eq!(unescape(b"\\\\040"), b"\\ ");
    }

    #[test]
    fn non_utf8_mount_points_survive() {
        let e = parse_line(b"1 0 0:1 / /caf\xe9 rw - tmpfs none rw").unwrap();
        assert_eq!(e.mount_point.as_os_str().len(), 5);
    }

    #[test]
    fn missing_separator_is_an_error() {
        assert_eq!(parse_line(b"1 0 0:1 / / rw ext4 /dev/x rw"), Err(LineError::NoSeparator));
    }

    #[test]
    fn truncated_lines_are_errors() {
        assert_eq!(parse_line(b"1 0 0:1 / /"), Err(LineError::TooFewFields));
        assert_eq!(parse_line(b"1 0 0:1 / / rw -"), Err(LineError::TooFewFields));
        assert_eq!(parse_line(b"1 0 0:1 / / rw - ext4"), Err(LineError::TooFewFields));
        assert_eq!(parse_line(b""), Err(LineError::TooFewFields));
    }

    #[test]
    fn bad_numbers_are_errors_naming_the_field() {
        assert!(matches!(parse_line(b"x 0 0:1 / / rw - a b c"), Err(LineError::BadId(_))));
        assert!(matches!(parse_line(b"1 -2 0:1 / / rw - a b c"), Err(LineError::BadParentId(_))));
        assert!(matches!(parse_line(b"1 0 01 / / rw - a b c"), Err(LineError::BadDevice(_))));
        assert!(matches!(parse_line(b"1 0 0:99999999999 / / rw - a b c"), Err(LineError::BadDevice(_))));
        assert!(matches!(parse_line(b"1 0 0:1 / rel rw - a b c"), Err(LineError::RelativePath(_))));
    }

    #[test]
    fn one_bad_line_does_not_hide_the_others() {
        let (entries, bad) = parse(b"garbage\n27 1 254:0 / / rw - ext4 /dev/vda rw\n\n1 2\n");
        assert_eq!(entries.len(), 1);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![1, 4]);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix and some byte flips of the sample.
        for end in 0..=SAMPLE.len() {
            let _ = parse(&SAMPLE[..end]);
        }
        let mut v = SAMPLE.to_vec();
        for i in 0..v.len() {
            let old = v[i];
            for b in [0u8, b' ', b'\\', b'-', b'\n', 0xff, b':'] {
                v[i] = b;
                let _ = parse(&v);
            }
            v[i] = old;
        }
    }
    #[test]
    fn read_only_mounts_are_told_from_writable_ones() {
        let t = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                 30 22 0:5 / /mnt/my\\040disk ro,nosuid - vfat /dev/sdb1 ro\n\
                 garbage\n";
        let (m, bad) = parse(t.as_bytes());
        assert_eq!(bad.len(), 1);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].mount_point, PathBuf::from("/"));
        assert_eq!(m[0].fstype, "ext4");
        assert!(!m[0].read_only);
        assert_eq!(m[1].mount_point, PathBuf::from("/mnt/my disk"));
        assert_eq!(m[1].source, "/dev/sdb1");
        assert!(m[1].read_only);
    }
}
