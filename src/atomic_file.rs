//! Files written whole or not at all, safely in directories others can write.
//!
//! kexec-chooser runs as root from timers and units, and writes into
//! directories that other users may write to (a textfile collector's
//! directory, a plot's directory). Every file it writes goes through an
//! [`AtomicFile`]: a temporary beside the target, created exclusively and
//! without following links (`O_CREAT|O_EXCL|O_NOFOLLOW`) under an
//! unpredictable name with its mode set at creation, then written, fsynced
//! and renamed over the target. A symlink planted at the temporary's name
//! makes the create fail instead of redirecting the write; a symlink at the
//! target's name is replaced, never followed; a reader sees the old file or
//! the new one, never half of one.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::sys::in_root;

/// Why a file could not be written; each names the path it was about.
#[derive(Debug, thiserror::Error)]
pub enum AtomicFileError {
    #[error("cannot create a temporary file beside {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot rename {from} to {to}: {source}")]
    Rename { from: PathBuf, to: PathBuf, source: io::Error },
}

impl AtomicFileError {
    /// The I/O error underneath, for callers that map kinds.
    pub fn io(&self) -> &io::Error {
        match self {
            AtomicFileError::Create { source, .. }
            | AtomicFileError::Write { source, .. }
            | AtomicFileError::Rename { source, .. } => source,
        }
    }
}

/// A file being written; it replaces its target only on [`commit`](Self::commit).
/// Dropped without a commit, the temporary is removed and the target is untouched.
///
/// Everything after the creation goes through the descriptor of the
/// directory it was created in (`renameat`, `unlinkat`, `fsync`): a
/// directory renamed or replaced by a link meanwhile cannot redirect it.
#[derive(Debug)]
pub struct AtomicFile {
    /// The target as the caller names it, for messages.
    target: PathBuf,
    dir: OwnedFd,
    name: OsString,
    /// Empty once renamed: nothing is left to clean up.
    tmp: OsString,
    file: File,
}

/// How many unpredictable names are tried before giving up: another process
/// would have to guess 64 random bits each time to make them all collide.
const ATTEMPTS: u32 = 8;

impl AtomicFile {
    /// Start writing `target` with permission bits `mode` (exactly these,
    /// whatever the umask).
    pub fn create(target: &Path, mode: u32) -> Result<AtomicFile, AtomicFileError> {
        let create_error = |source| AtomicFileError::Create { path: target.to_path_buf(), source };
        let dir_path = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = target.file_name().ok_or_else(|| create_error(io::Error::from(io::ErrorKind::InvalidInput)))?;
        let dir = File::open(dir_path).map_err(create_error)?;
        Self::create_in(dir.into(), name, target, mode)
    }

    /// Start writing `name` in the directory `dir` (a descriptor opened for
    /// reading); `target` is how messages name it.
    pub fn create_in(dir: OwnedFd, name: &OsStr, target: &Path, mode: u32) -> Result<AtomicFile, AtomicFileError> {
        let create_error = |source| AtomicFileError::Create { path: target.to_path_buf(), source };
        // A hidden name that does not end like the target (`.prom`, `.svg`):
        // collectors and globbing readers skip it.
        let shown = name.to_string_lossy();
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..ATTEMPTS {
            let tmp = OsString::from(format!(".{shown}.{:016x}.tmp", crate::sys::random::unique_u64()));
            match in_root::create_at(dir.as_fd(), &tmp, mode) {
                Ok(fd) => {
                    let me =
                        AtomicFile { target: target.to_path_buf(), dir, name: name.to_owned(), tmp, file: fd.into() };
                    // The umask may have taken bits away: put them back through
                    // the descriptor, which cannot be redirected.
                    me.file
                        .set_permissions(Permissions::from_mode(mode))
                        .map_err(|source| AtomicFileError::Write { path: me.tmp_path(), source })?;
                    return Ok(me);
                }
                Err(nix::errno::Errno::EEXIST) => last = io::Error::from(io::ErrorKind::AlreadyExists),
                Err(e) => return Err(create_error(e.into())),
            }
        }
        Err(create_error(last))
    }

    fn tmp_path(&self) -> PathBuf {
        self.target.with_file_name(&self.tmp)
    }

    /// Flush to disk, rename over the target, and make the rename durable.
    pub fn commit(mut self) -> Result<(), AtomicFileError> {
        self.file.sync_all().map_err(|source| AtomicFileError::Write { path: self.tmp_path(), source })?;
        in_root::rename_at(self.dir.as_fd(), &self.tmp, &self.name).map_err(|e| AtomicFileError::Rename {
            from: self.tmp_path(),
            to: self.target.clone(),
            source: e.into(),
        })?;
        self.tmp = OsString::new();
        // The directory entry must reach the disk too, or a crash could bring
        // back the old file after the caller was told the new one is there.
        let _ = nix::unistd::fsync(&self.dir);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.is_empty() {
            let _ = in_root::unlink_at(self.dir.as_fd(), &self.tmp);
        }
    }
}

/// Write `bytes` to `target` in one go through an [`AtomicFile`].
pub fn write(target: &Path, mode: u32, bytes: &[u8]) -> Result<(), AtomicFileError> {
    write_to(AtomicFile::create(target, mode)?, bytes)
}

/// Write `bytes` whole into `file` and commit it.
pub fn write_to(mut file: AtomicFile, bytes: &[u8]) -> Result<(), AtomicFileError> {
    let target = file.target.clone();
    file.write_all(bytes).map_err(|source| AtomicFileError::Write { path: target, source })?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_the_whole_file_with_the_mode_asked_for() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.prom");
        std::fs::write(&p, "old").unwrap();
        write(&p, 0o644, b"new\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new\n");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o644);
        write(&p, 0o600, b"private").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o600);
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, Permissions::from_mode(0o600)).unwrap();
        let p = d.path().join("out.prom");
        symlink(&victim, &p).unwrap();
        write(&p, 0o644, b"metrics").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!std::fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "metrics");
    }

    #[test]
    fn a_predictable_pid_named_temporary_is_not_used() {
        // A symlink planted at the predictable `.NAME.PID.tmp` name is left alone.
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let p = d.path().join("out.prom");
        symlink(&victim, d.path().join(format!(".out.prom.{}.tmp", std::process::id()))).unwrap();
        write(&p, 0o644, b"metrics").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn dropped_without_commit_leaves_the_target_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("chart.svg");
        std::fs::write(&p, "old").unwrap();
        {
            let mut f = AtomicFile::create(&p, 0o644).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_target() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("no/such/dir/f");
        let e = write(&p, 0o644, b"x").unwrap_err();
        assert!(e.to_string().contains("no/such/dir/f"), "{e}");
        assert_eq!(e.io().kind(), io::ErrorKind::NotFound);
    }
}
