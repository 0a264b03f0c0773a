//! Text from files, kernels and servers made safe to show a person.
//!
//! File names, a kernel header's release string, a boot entry's title or a
//! server's answer can hold control characters: an ESC sequence would clear
//! or recolour the terminal, `ESC ] 0;` retitle it, a newline add a fake row
//! to a table. Everything such text passes through [`escape`] (or
//! [`path`]) before it reaches a person; JSON output keeps the exact bytes
//! (serde escapes them its own way).

use std::borrow::Cow;
use std::fmt::Write;
use std::path::Path;

/// What every message for a person begins with, as `ls: ` or `cp: ` do.
pub const PREFIX: &str = "kexec-chooser: ";

/// Write one message line for a person to `out` (any `Write`): [`PREFIX`],
/// the `format!` arguments, a newline, as `writeln!` returns it. The caller
/// escapes what came from files or servers.
#[macro_export]
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, "{}{}", $crate::text::PREFIX, format_args!($($arg)*))
    };
}

/// `s` with every control character (C0, DEL, C1, and the Unicode bidi
/// overrides that reorder what a terminal shows) written as `\NNN` octal
/// escapes of its UTF-8 bytes, as `ls -b` and mountinfo write them.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().saturating_add(8));
    for c in s.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\{b:03o}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path as one line of text: invalid UTF-8 replaced, control characters
/// escaped as in [`escape`].
pub fn path(p: &Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

/// Whether [`escape`] writes `c` as escapes: what a terminal would act on
/// instead of showing (also what must not go into a file name made from
/// someone else's text).
pub fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(escape("6.1.0-13-amd64 café"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_sequences_and_newlines_are_escaped() {
        assert_eq!(escape("a\x1b[2Jb"), "a\\033[2Jb");
        assert_eq!(escape("\x1b]0;owned\x07"), "\\033]0;owned\\007");
        assert_eq!(escape("two\nlines\r"), "two\\012lines\\015");
        assert_eq!(escape("del\x7f"), "del\\177");
        // C1 controls are two UTF-8 bytes each.
        assert_eq!(escape("\u{9b}31m"), "\\302\\23331m");
        assert_eq!(escape("\u{202e}txt"), "\\342\\200\\256txt");
    }

    #[test]
    fn paths_with_invalid_utf8_become_one_line() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/boot/vmlinuz-\xff\n1"));
        assert_eq!(path(p), "/boot/vmlinuz-\u{fffd}\\0121");
    }
}
