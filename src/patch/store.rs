//! The patch directory: where it is, which versions of a patch it holds, and
//! saving a new version without ever overwriting one.
//!
//! Versions of `NAME.patch` are `NAME.patch`, then `NAME.patch.0`,
//! `NAME.patch.1`, ... (the numbering of the original hg extension). A new
//! version is written in full to a hidden temporary file in the same
//! directory and then hard-linked to the first free name: `link(2)` fails
//! with EEXIST instead of replacing, so two racing runs can never overwrite
//! each other and a reader never sees a half-written patch.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::compare::same_patch;
use super::{Error, Result};

/// The default patch directory, before `~` expansion.
pub const DEFAULT_PATCHDIR: &str = "~/patches";

/// The directory to use: the flag, else the VCS configuration, else
/// `~/patches`; a leading `~` or `~/` is the home directory.
pub fn resolve_patchdir(flag: Option<&Path>, configured: Option<&str>, home: Option<&OsStr>) -> Result<PathBuf> {
    let chosen = match (flag, configured) {
        (Some(f), _) => f.to_owned(),
        (None, Some(c)) if !c.trim().is_empty() => PathBuf::from(c),
        _ => PathBuf::from(DEFAULT_PATCHDIR),
    };
    expand_tilde(&chosen, home)
}

/// `~` and `~/rest` become the home directory; anything else is kept
/// (`~user` is not expanded: that would need the password database).
pub fn expand_tilde(path: &Path, home: Option<&OsStr>) -> Result<PathBuf> {
    let bytes = path.as_os_str().as_bytes();
    let rest = match bytes {
        [b'~'] => &[][..],
        [b'~', b'/', rest @ ..] => rest,
        _ => return Ok(path.to_owned()),
    };
    let home = home.filter(|h| !h.is_empty()).ok_or_else(|| Error::NoHome { path: path.to_owned() })?;
    Ok(Path::new(home).join(OsStr::from_bytes(rest)))
}

/// Fail unless `dir` is a directory or missing; missing is fine for reading.
fn check_dir(dir: &Path) -> Result<bool> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(Error::NotADirectory { path: dir.to_owned() }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Inspect { path: dir.to_owned(), source }),
    }
}

/// Check the directory before any work is done, so a bad `--patchdir`
/// is reported before the diff runs.
pub fn check_patchdir(dir: &Path) -> Result<()> {
    check_dir(dir).map(|_| ())
}

/// Create the directory (and its parents) when missing.
pub fn ensure_patchdir(dir: &Path) -> Result<()> {
    if check_dir(dir)? {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|source| Error::CreateDir { path: dir.to_owned(), source })?;
    // create_dir_all succeeds when a racing process made it; it must still be a directory.
    check_dir(dir).map(|_| ())
}

/// Where a version sits in the numbering: `NAME.patch` comes before `.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    Plain,
    Numbered(u64),
}

impl Slot {
    pub fn file_name(self, base: &str) -> String {
        match self {
            Slot::Plain => base.to_owned(),
            Slot::Numbered(n) => format!("{base}.{n}"),
        }
    }

    fn next(self) -> Option<Slot> {
        match self {
            Slot::Plain => Some(Slot::Numbered(0)),
            Slot::Numbered(n) => n.checked_add(1).map(Slot::Numbered),
        }
    }

    /// The slot a directory entry stands for, if it is a version of `base`.
    /// Only canonical numbers count (`.patch.1`, not `.patch.01`), so one
    /// slot has one file name.
    pub fn parse(entry: &OsStr, base: &str) -> Option<Slot> {
        let rest = entry.as_bytes().strip_prefix(base.as_bytes())?;
        if rest.is_empty() {
            return Some(Slot::Plain);
        }
        let digits = rest.strip_prefix(b".")?;
        if digits.is_empty()
            || !digits.iter().all(u8::is_ascii_digit)
            || (digits.len() > 1 && digits.first() == Some(&b'0'))
        {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok().map(Slot::Numbered)
    }
}

/// One saved version of a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub path: PathBuf,
    pub slot: Slot,
    pub modified: Option<SystemTime>,
}

/// The saved versions of `base` in `dir`, newest first: by modification
/// time, then by number (a missing directory holds none).
pub fn versions(dir: &Path, base: &str) -> Result<Vec<Version>> {
    if !check_dir(dir)? {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|source| Error::Inspect { path: dir.to_owned(), source })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Inspect { path: dir.to_owned(), source })?;
        let Some(slot) = Slot::parse(&entry.file_name(), base) else {
            continue;
        };
        let path = entry.path();
        // Follow symlinks for the time a person cares about; a dangling one
        // still counts as taken.
        let modified = fs::metadata(&path).or_else(|_| fs::symlink_metadata(&path)).and_then(|m| m.modified()).ok();
        found.push(Version { path, slot, modified });
    }
    found.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.slot.cmp(&a.slot)));
    Ok(found)
}

/// What saving did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// A new version was written here.
    New(PathBuf),
    /// This existing version holds the same patch; nothing was written.
    Identical(PathBuf),
}

/// Save `content` as a version of `base` in `dir` (which must exist): nothing
/// is written when any version already holds the same patch; otherwise the
/// first free name in numbering order gets it.
pub fn save(dir: &Path, base: &str, content: &[u8]) -> Result<Saved> {
    let mut existing = versions(dir, base)?;
    existing.sort_by_key(|v| v.slot);
    for v in &existing {
        if same_content(&v.path, content)? {
            return Ok(Saved::Identical(v.path.clone()));
        }
    }
    let taken: Vec<Slot> = existing.iter().map(|v| v.slot).collect();
    let temp = TempFile::write(dir, base, content)?;
    let mut slot = Slot::Plain;
    loop {
        if !taken.contains(&slot) {
            let target = dir.join(slot.file_name(base));
            match temp.publish(&target, content) {
                Ok(()) => return Ok(Saved::New(target)),
                // Another run took this name since we looked: it may have
                // saved this very patch.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if same_content(&target, content)? {
                        return Ok(Saved::Identical(target));
                    }
                }
                Err(source) => return Err(Error::Publish { path: target, source }),
            }
        }
        slot = slot.next().ok_or_else(|| Error::NoFreeSlot { path: dir.join(base) })?;
    }
}

/// Whether the file at `path` holds this patch (see [`same_patch`]). Something
/// that is not a regular file (a directory, a dangling link) holds no patch.
fn same_content(path: &Path, content: &[u8]) -> Result<bool> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(Error::ReadVersion { path: path.to_owned(), source }),
    }
    let bytes = fs::read(path).map_err(|source| Error::ReadVersion { path: path.to_owned(), source })?;
    Ok(same_patch(&bytes, content))
}

/// A fully written, hidden file next to the target; removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn write(dir: &Path, base: &str, content: &[u8]) -> Result<TempFile> {
        let pid = std::process::id();
        let mut attempt: u32 = 0;
        loop {
            // Starts with `.` and never parses as a version of `base`. The
            // name is predictable, so it is created exclusively: with
            // O_CREAT|O_EXCL, open(2) fails on any existing name, a symlink
            // (even a dangling one) included, and never follows it.
            let path = dir.join(format!(".{base}.tmp-{pid}-{attempt}"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    let temp = TempFile { path };
                    let written = file.write_all(content).and_then(|()| file.sync_all());
                    return match written {
                        Ok(()) => Ok(temp),
                        Err(source) => Err(Error::WriteTemp { path: temp.path.clone(), source }),
                    };
                }
                // A leftover of a killed run with our pid: take the next name.
                Err(e) if e.kind() == ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
                Err(source) => return Err(Error::WriteTemp { path, source }),
            }
        }
    }

    /// Give the content its final name without replacing anything: link(2)
    /// fails on an existing name, a symlink included, and never follows it.
    fn publish(&self, target: &Path, content: &[u8]) -> io::Result<()> {
        match fs::hard_link(&self.path, target) {
            Ok(()) => Ok(()),
            // Filesystems without hard links (vfat, some FUSE): create-new
            // on the final name still never overwrites, though a reader could
            // then see the file while it is being written.
            Err(e) if matches!(e.raw_os_error(), Some(EPERM | EOPNOTSUPP)) => write_new(target, content),
            Err(e) => Err(e),
        }
    }
}

/// errno values of "this filesystem does not do hard links" (asm-generic).
const EPERM: i32 = 1;
const EOPNOTSUPP: i32 = 95;

/// Create `target` with `content`; fails with `AlreadyExists` on any existing
/// name, a symlink included (O_CREAT|O_EXCL never follows one).
fn write_new(target: &Path, content: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(target)?;
    if let Err(e) = file.write_all(content).and_then(|()| file.sync_all()) {
        // We created it, so removing the partial file takes nothing from anyone.
        let _ = fs::remove_file(target);
        return Err(e);
    }
    Ok(())
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "bug1-tool.patch";

    #[test]
    fn tilde_is_home_and_other_paths_are_kept() {
        let home = Some(OsStr::new("/home/me"));
        assert_eq!(expand_tilde(Path::new("~"), home).unwrap(), Path::new("/home/me"));
        assert_eq!(expand_tilde(Path::new("~/p/q"), home).unwrap(), Path::new("/home/me/p/q"));
        assert_eq!(expand_tilde(Path::new("~other/p"), home).unwrap(), Path::new("~other/p"));
        assert_eq!(expand_tilde(Path::new("rel/~"), home).unwrap(), Path::new("rel/~"));
        assert!(matches!(expand_tilde(Path::new("~/p"), None), Err(Error::NoHome { .. })));
        assert_eq!(expand_tilde(Path::new("/abs"), None).unwrap(), Path::new("/abs"));
    }

    #[test]
    fn flag_beats_config_beats_default() {
        let home = Some(OsStr::new("/h"));
        assert_eq!(resolve_patchdir(Some(Path::new("/f")), Some("/c"), home).unwrap(), Path::new("/f"));
        assert_eq!(resolve_patchdir(None, Some("~/c"), home).unwrap(), Path::new("/h/c"));
        assert_eq!(resolve_patchdir(None, None, home).unwrap(), Path::new("/h/patches"));
        assert_eq!(resolve_patchdir(None, Some(" "), home).unwrap(), Path::new("/h/patches"));
    }

    #[test]
    fn only_canonical_version_names_are_versions() {
        let p = |s: &str| Slot::parse(OsStr::new(s), BASE);
        assert_eq!(p("bug1-tool.patch"), Some(Slot::Plain));
        assert_eq!(p("bug1-tool.patch.0"), Some(Slot::Numbered(0)));
        assert_eq!(p("bug1-tool.patch.12"), Some(Slot::Numbered(12)));
        assert_eq!(p("bug1-tool.patch.01"), None);
        assert_eq!(p("bug1-tool.patch."), None);
        assert_eq!(p("bug1-tool.patch.x"), None);
        assert_eq!(p("bug1-tool.patch.99999999999999999999999"), None);
        assert_eq!(p("bug1-tool.patchy"), None);
        assert_eq!(p(".bug1-tool.patch.tmp-1-0"), None);
        assert!(Slot::Plain < Slot::Numbered(0));
    }

    #[test]
    fn numbering_fills_plain_then_zero_then_one() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        assert_eq!(save(d, BASE, b"one\n").unwrap(), Saved::New(d.join(BASE)));
        assert_eq!(save(d, BASE, b"two\n").unwrap(), Saved::New(d.join("bug1-tool.patch.0")));
        assert_eq!(save(d, BASE, b"three\n").unwrap(), Saved::New(d.join("bug1-tool.patch.1")));
        assert_eq!(fs::read(d.join("bug1-tool.patch.0")).unwrap(), b"two\n");
        assert_eq!(save(d, BASE, b"two\n").unwrap(), Saved::Identical(d.join("bug1-tool.patch.0")));
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn identical_version_past_a_gap_is_still_found() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::write(d.join("bug1-tool.patch.3"), b"same\n").unwrap();
        assert_eq!(save(d, BASE, b"same\n").unwrap(), Saved::Identical(d.join("bug1-tool.patch.3")));
        assert_eq!(save(d, BASE, b"other\n").unwrap(), Saved::New(d.join(BASE)));
    }

    #[test]
    fn a_directory_in_a_slot_is_skipped_not_replaced() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        fs::create_dir(d.join(BASE)).unwrap();
        assert_eq!(save(d, BASE, b"x\n").unwrap(), Saved::New(d.join("bug1-tool.patch.0")));
    }

    #[test]
    fn versions_are_newest_first_then_highest_number() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        for (name, secs) in
            [(BASE, 300), ("bug1-tool.patch.0", 100), ("bug1-tool.patch.1", 100), ("bug1-tool.patch.2", 200)]
        {
            let f = fs::File::create(d.join(name)).unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)).unwrap();
        }
        fs::write(d.join("other-tool.patch"), b"").unwrap();
        let order: Vec<Slot> = versions(d, BASE).unwrap().into_iter().map(|v| v.slot).collect();
        assert_eq!(order, [Slot::Plain, Slot::Numbered(2), Slot::Numbered(1), Slot::Numbered(0)]);
    }

    #[test]
    fn missing_dir_has_no_versions_and_a_file_is_not_a_dir() {
        let t = tempfile::tempdir().unwrap();
        assert!(versions(&t.path().join("none"), BASE).unwrap().is_empty());
        let f = t.path().join("file");
        fs::write(&f, b"").unwrap();
        assert!(matches!(versions(&f, BASE), Err(Error::NotADirectory { .. })));
        assert!(matches!(ensure_patchdir(&f), Err(Error::NotADirectory { .. })));
        ensure_patchdir(&t.path().join("a/b")).unwrap();
        assert!(t.path().join("a/b").is_dir());
    }

    #[test]
    fn racing_saves_of_different_content_never_overwrite() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().to_owned();
        let contents: Vec<Vec<u8>> = (0..8).map(|i| format!("patch {i}\n").repeat(1000).into_bytes()).collect();
        let handles: Vec<_> = contents
            .iter()
            .cloned()
            .map(|c| {
                let d = d.clone();
                std::thread::spawn(move || save(&d, BASE, &c).unwrap())
            })
            .collect();
        let saved: Vec<Saved> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for s in &saved {
            let Saved::New(p) = s else { panic!("different content reported identical: {s:?}") };
            seen.push(fs::read(p).unwrap());
        }
        seen.sort();
        let mut want = contents.clone();
        want.sort();
        assert_eq!(seen, want, "every content is in its own file");
    }

    /// A file nobody may write through: the patch directory's owner made it,
    /// then someone planted links to it.
    fn victim(d: &Path) -> PathBuf {
        let v = d.join("victim");
        fs::write(&v, "precious\n").unwrap();
        v
    }

    #[test]
    fn symlinks_at_the_final_and_temporary_names_are_never_written_through() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let v = victim(d);
        let dangling = d.join("would-be-created");
        symlink(&v, d.join(BASE)).unwrap();
        symlink(&dangling, d.join(format!("{BASE}.0"))).unwrap();
        symlink(&v, d.join(format!(".{BASE}.tmp-{}-0", std::process::id()))).unwrap();
        let saved = save(d, BASE, b"the patch\n").unwrap();
        assert_eq!(saved, Saved::New(d.join(format!("{BASE}.1"))));
        assert_eq!(fs::read_to_string(&v).unwrap(), "precious\n");
        assert!(!dangling.exists(), "a dangling link was followed and its target created");
        let meta = fs::symlink_metadata(d.join(format!("{BASE}.1"))).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(fs::read(d.join(format!("{BASE}.1"))).unwrap(), b"the patch\n");
    }

    #[test]
    fn writing_without_hard_links_refuses_a_symlink_at_the_name() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let v = victim(d);
        let target = d.join(BASE);
        symlink(&v, &target).unwrap();
        let err = write_new(&target, b"the patch\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&v).unwrap(), "precious\n");
        let dangling = d.join("would-be-created");
        symlink(&dangling, d.join("other")).unwrap();
        assert_eq!(write_new(&d.join("other"), b"x").unwrap_err().kind(), ErrorKind::AlreadyExists);
        assert!(!dangling.exists());
    }
}
