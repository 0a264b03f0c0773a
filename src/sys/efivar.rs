//! Writing and removing EFI variables through efivarfs
//! (Documentation/filesystems/efivarfs.rst), as systemd's `bootctl
//! set-oneshot` does: a variable's file holds its 4-byte attributes then its
//! data, is written whole in one `write(2)`, and most variables' files are
//! immutable (`chattr +i`) until that flag is taken off.
//!
//! The variables' names and contents are built in `safety::fallback`; this
//! file only does the calls into the kernel.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;

use crate::paths;

/// `FS_IMMUTABLE_FL` (include/uapi/linux/fs.h).
const FS_IMMUTABLE_FL: libc::c_int = 0x0000_0010;

/// Take the immutable flag off an open efivarfs file, as systemd's
/// `chattr_fd(fd, 0, FS_IMMUTABLE_FL)` does before changing a variable.
fn make_mutable(f: &File) -> Result<(), Errno> {
    let mut flags: libc::c_int = 0;
    // SAFETY: `f` is open for the call; FS_IOC_GETFLAGS writes one int (the
    // kernel's `ioctl_getflags` puts a u32 through the pointer) into `flags`.
    Errno::result(unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) })?;
    if flags & FS_IMMUTABLE_FL == 0 {
        return Ok(());
    }
    flags &= !FS_IMMUTABLE_FL;
    // SAFETY: as above; FS_IOC_SETFLAGS reads one int from `flags`.
    Errno::result(unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) })?;
    Ok(())
}

/// The file of the variable `name` (`NAME-GUID`), refusing anything that
/// is not one name.
fn file_of(name: &str) -> Result<std::path::PathBuf, Errno> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Errno::EINVAL);
    }
    Ok(Path::new(paths::EFIVARS).join(OsStr::new(name)))
}

/// Write `bytes` (attributes and data) as the variable `name`.
pub fn set(name: &str, bytes: &[u8]) -> Result<(), Errno> {
    let path = file_of(name)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(&path)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    make_mutable(&f)?;
    // efivarfs takes a variable in one write: a short write is an error.
    match f.write(bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(Errno::EIO),
        Err(e) => Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

/// Remove the variable `name`; `Ok` when there was none.
pub fn remove(name: &str) -> Result<(), Errno> {
    let path = file_of(name)?;
    match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(&path) {
        Ok(f) => make_mutable(&f)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_is_not_one_file_name_is_refused() {
        for bad in ["", "..", "a/b", "."] {
            assert_eq!(file_of(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert!(file_of("LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f").is_ok());
    }
}
