//! GRUB's environment block (`/boot/grub/grubenv`), read and edited byte for
//! byte the way GRUB itself does it (grub-core/lib/envblk.c): GRUB rewrites
//! the file in place at boot (`save_env`), so its size, its signature line,
//! every other variable and the `#` padding must stay exactly as they are.
//!
//! The block is the signature line `# GRUB Environment Block\n`, then lines
//! `name=value\n` (a `\` or a newline in a value is written with a `\`
//! before it), lines starting with `#` ignored, and `#` up to the block's
//! size (1024 bytes as `grub-editenv create` makes it). A new variable goes
//! after the last line; a changed one is rewritten in its place, the lines
//! after it moved and the padding made up at the end; a removed one's bytes
//! become padding at the end. Pure over bytes; never panics.

/// The first line of every environment block (`GRUB_ENVBLK_SIGNATURE`).
pub const SIGNATURE: &[u8] = b"# GRUB Environment Block\n";

/// Why a block cannot be read or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("it does not start with GRUB's signature line (# GRUB Environment Block)")]
    NoSignature,
    #[error("its variables do not end with a newline before the padding, as GRUB writes them")]
    Broken,
    #[error("{0:?} is not a name GRUB's environment can hold")]
    BadName(String),
    #[error("there is no room for {needed} more bytes in its {size}-byte block")]
    Full { needed: usize, size: usize },
}

/// An environment block, its size fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    buf: Vec<u8>,
}

/// The offset just past a line that starts at `p`, skipping escaped bytes
/// (`find_next_line`).
fn next_line(buf: &[u8], mut p: usize) -> usize {
    while let Some(&c) = buf.get(p) {
        match c {
            b'\\' => p = p.saturating_add(2),
            b'\n' => break,
            _ => p += 1,
        }
    }
    p.saturating_add(1)
}

/// The length of a value starting at `p`, up to (not with) its newline;
/// `None` when the block ends first.
fn value_len(buf: &[u8], p: usize) -> Option<usize> {
    let mut len = 0usize;
    loop {
        match buf.get(p.checked_add(len)?)? {
            b'\n' => return Some(len),
            b'\\' => len = len.checked_add(2)?,
            _ => len += 1,
        }
    }
}

fn escaped(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b == b'\\' || b == b'\n' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// A name GRUB can set and find again: not empty, no `=`, no newline, not
/// starting with `#` (a comment), no NUL.
fn check_name(name: &str) -> Result<(), EnvError> {
    let bad = name.is_empty() || name.starts_with('#') || name.bytes().any(|b| matches!(b, b'=' | b'\n' | b'\0'));
    if bad {
        return Err(EnvError::BadName(name.to_string()));
    }
    Ok(())
}

impl Env {
    /// A block as read from a file: its signature is checked, nothing else
    /// (GRUB reads what it can of the rest).
    pub fn parse(bytes: &[u8]) -> Result<Env, EnvError> {
        if !bytes.starts_with(SIGNATURE) {
            return Err(EnvError::NoSignature);
        }
        Ok(Env { buf: bytes.to_vec() })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The variables in order, values unescaped (`grub_envblk_iterate`);
    /// the reading stops at a line that does not end.
    pub fn vars(&self) -> Vec<(String, String)> {
        let buf = &self.buf;
        let mut out = Vec::new();
        let mut p = SIGNATURE.len();
        while p < buf.len() {
            if buf.get(p) != Some(&b'#') {
                let Some(eq) = buf.get(p..).and_then(|rest| rest.iter().position(|&c| c == b'=')) else { break };
                let name_end = p + eq;
                let start = name_end + 1;
                let Some(len) = value_len(buf, start) else { break };
                let mut value = Vec::with_capacity(len);
                let mut raw = buf.get(start..start + len).unwrap_or(&[]).iter();
                while let Some(&c) = raw.next() {
                    value.push(if c == b'\\' { raw.next().copied().unwrap_or(b'\\') } else { c });
                }
                let name = String::from_utf8_lossy(buf.get(p..name_end).unwrap_or(&[])).into_owned();
                out.push((name, String::from_utf8_lossy(&value).into_owned()));
            }
            p = next_line(buf, p);
        }
        out
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars().into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Where the padding begins: just past the last newline before the
    /// trailing run of `#`.
    fn free_space(&self) -> Result<usize, EnvError> {
        let used = self.buf.iter().rposition(|&c| c != b'#').ok_or(EnvError::Broken)?;
        if self.buf.get(used) != Some(&b'\n') || used + 1 < SIGNATURE.len() {
            return Err(EnvError::Broken);
        }
        Ok(used + 1)
    }

    /// The offset of `name=` at the start of a line, if set.
    fn find(&self, name: &str, end: usize) -> Option<usize> {
        let n = name.as_bytes();
        let mut p = SIGNATURE.len();
        while p.checked_add(n.len())?.checked_add(1)? < end {
            if self.buf.get(p..p + n.len()) == Some(n) && self.buf.get(p + n.len()) == Some(&b'=') {
                return Some(p);
            }
            p = next_line(&self.buf, p);
        }
        None
    }

    /// Set `name` to `value` as `grub_envblk_set` does, the block's size
    /// unchanged; an error leaves the block as it was.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), EnvError> {
        check_name(name)?;
        let space = self.free_space()?;
        let size = self.buf.len();
        let new = escaped(value);
        match self.find(name, space) {
            Some(at) => {
                let start = at + name.len() + 1;
                let old = value_len(&self.buf, start).ok_or(EnvError::Broken)?;
                if new.len() > old && new.len() - old > size - space {
                    return Err(EnvError::Full { needed: new.len() - old, size });
                }
                // The value's old bytes out, the new ones in, the tail moved
                // and the block cut or padded back to its size.
                let mut out = Vec::with_capacity(size);
                out.extend_from_slice(self.buf.get(..start).unwrap_or(&[]));
                out.extend_from_slice(&new);
                out.extend_from_slice(self.buf.get(start + old..space).unwrap_or(&[]));
                out.resize(size, b'#');
                self.buf = out;
            }
            None => {
                let line = name.len() + 1 + new.len() + 1;
                if line > size - space {
                    return Err(EnvError::Full { needed: line, size });
                }
                let mut tail = Vec::with_capacity(line);
                tail.extend_from_slice(name.as_bytes());
                tail.push(b'=');
                tail.extend_from_slice(&new);
                tail.push(b'\n');
                self.buf.splice(space..space + line, tail);
            }
        }
        Ok(())
    }

    /// Remove `name` as `grub_envblk_delete` does (its bytes become padding
    /// at the end); `false` when it was not set.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(at) = self.find(name, self.buf.len()) else { return false };
        let Some(len) = value_len(&self.buf, at + name.len() + 1) else { return false };
        let line = name.len() + 1 + len + 1;
        self.buf.drain(at..at + line);
        self.buf.resize(self.buf.len() + line, b'#');
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `grub-editenv grubenv create` writes.
    fn empty() -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.resize(1024, b'#');
        b
    }

    fn block(lines: &str) -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend_from_slice(lines.as_bytes());
        b.resize(1024, b'#');
        b
    }

    #[test]
    fn a_new_variable_goes_after_the_last_and_the_size_stays() {
        let mut e = Env::parse(&block("saved_entry=0\n")).unwrap();
        e.set("next_entry", "gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1").unwrap();
        assert_eq!(
            e.as_bytes(),
            block("saved_entry=0\nnext_entry=gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1\n")
        );
        assert_eq!(e.get("saved_entry").as_deref(), Some("0"));
    }

    #[test]
    fn a_changed_value_stays_in_place_and_the_padding_makes_up_the_size() {
        let mut e = Env::parse(&block("next_entry=long-value\nsaved_entry=1>0\n")).unwrap();
        e.set("next_entry", "x").unwrap();
        assert_eq!(e.as_bytes(), block("next_entry=x\nsaved_entry=1>0\n"));
        e.set("next_entry", "a much longer value than before").unwrap();
        assert_eq!(e.as_bytes(), block("next_entry=a much longer value than before\nsaved_entry=1>0\n"));
    }

    #[test]
    fn a_removed_variable_becomes_padding_and_the_rest_is_kept() {
        let mut e = Env::parse(&block("a=1\nnext_entry=x\nb=2\n")).unwrap();
        assert!(e.delete("next_entry"));
        assert_eq!(e.as_bytes(), block("a=1\nb=2\n"));
        assert!(!e.delete("next_entry"));
        assert_eq!(e.as_bytes(), block("a=1\nb=2\n"));
    }

    #[test]
    fn backslashes_and_newlines_are_escaped_as_grub_escapes_them() {
        let mut e = Env::parse(&empty()).unwrap();
        e.set("v", "a\\b\nc").unwrap();
        assert_eq!(e.as_bytes(), block("v=a\\\\b\\\nc\n"));
        assert_eq!(e.get("v").as_deref(), Some("a\\b\nc"));
        e.set("w", "after").unwrap();
        assert_eq!(e.get("w").as_deref(), Some("after"));
    }

    #[test]
    fn comments_are_kept_and_names_are_whole() {
        let mut e = Env::parse(&block("# WARNING: Do not edit this file\nnext_entry_x=1\n")).unwrap();
        assert_eq!(e.get("next_entry"), None);
        e.set("next_entry", "0").unwrap();
        assert_eq!(e.as_bytes(), block("# WARNING: Do not edit this file\nnext_entry_x=1\nnext_entry=0\n"));
        assert_eq!(e.vars().len(), 2);
    }

    #[test]
    fn what_does_not_fit_or_is_not_grubs_is_refused_unchanged() {
        assert_eq!(Env::parse(b"saved_entry=0\n"), Err(EnvError::NoSignature));
        let mut e = Env::parse(&empty()).unwrap();
        let before = e.clone();
        assert!(matches!(e.set("x", &"y".repeat(1024)), Err(EnvError::Full { .. })));
        for bad in ["", "a=b", "#x", "a\nb"] {
            assert!(matches!(e.set(bad, "1"), Err(EnvError::BadName(_))), "{bad:?}");
        }
        assert_eq!(e, before);
        // Variables that run into the padding without a newline: broken.
        let mut b = SIGNATURE.to_vec();
        b.extend_from_slice(b"a=1");
        b.resize(1024, b'#');
        assert_eq!(Env::parse(&b).unwrap().set("x", "1"), Err(EnvError::Broken));
    }

    #[test]
    fn any_bytes_are_read_without_panic() {
        for junk in
            [&b"# GRUB Environment Block\n=\\"[..], b"# GRUB Environment Block\nabc", b"# GRUB Environment Block\n\\"]
        {
            let mut e = Env::parse(junk).unwrap();
            let _ = e.vars();
            let _ = e.set("a", "b");
            let _ = e.delete("a");
        }
    }

    /// The same edits through GRUB's own `grub-editenv` give the same bytes.
    #[test]
    #[ignore = "needs grub-editenv (grub-common; scripts/setup.d/00-base.sh installs it)"]
    fn every_edit_gives_the_bytes_grub_editenv_writes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("grubenv");
        let editenv = |args: &[&str]| {
            let status = std::process::Command::new("grub-editenv").arg(&file).args(args).status().unwrap();
            assert!(status.success(), "grub-editenv {args:?}");
            std::fs::read(&file).unwrap()
        };
        // Debian's grub-editenv adds a "# WARNING: Do not edit ..." line.
        let mut ours = Env::parse(&editenv(&["create"])).unwrap();
        let steps: [(&str, Option<&str>); 7] = [
            ("saved_entry", Some("gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1")),
            ("next_entry", Some("gnulinux-advanced-u1>gnulinux-6.1.0-57-amd64-advanced-u1")),
            ("boot_success", Some("1")),
            ("next_entry", Some("0")),
            ("weird", Some("back\\slash and\nnewline")),
            ("next_entry", None),
            ("saved_entry", Some("")),
        ];
        for (name, value) in steps {
            let theirs = match value {
                Some(v) => {
                    ours.set(name, v).unwrap();
                    editenv(&["set", &format!("{name}={v}")])
                }
                None => {
                    ours.delete(name);
                    editenv(&["unset", name])
                }
            };
            assert_eq!(String::from_utf8_lossy(ours.as_bytes()), String::from_utf8_lossy(&theirs), "{name}");
        }
    }
}
