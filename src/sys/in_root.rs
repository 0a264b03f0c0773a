//! Opening a path inside a directory taken as the root, as the machine under
//! `--root` would see it: `..` stops at the root, and every symlink, absolute
//! or relative, in any component, resolves inside it.
//!
//! `openat2(2)` with `RESOLVE_IN_ROOT` does this in the kernel (Linux 5.6+).
//! Where it is missing (older kernels, seccomp filters that refuse it), a walk
//! one component at a time does the same: `openat(O_PATH|O_NOFOLLOW)` of each
//! name from the directory reached so far, `readlinkat` of each symlink, and
//! a last `openat(O_NOFOLLOW)` checked to be the file the walk found.
//!
//! nix wraps both syscalls safely, so this file needs no `unsafe`; it lives in
//! `sys` with the other calls into the kernel.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};

/// The kernel's `MAXSYMLINKS` (include/linux/namei.h): more links than this
/// in one resolution is `ELOOP`, in the kernel and in the walk alike.
const MAX_SYMLINKS: u32 = 40;

/// How often a resolution is tried again when the tree changed under it
/// (`EAGAIN` from `openat2`, or a file swapped between the walk and the open).
const RACE_RETRIES: u32 = 8;

/// Which resolver to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2` when the kernel has it, else the walk.
    Auto,
    /// The user-space walk only (to test it where `openat2` exists).
    #[cfg(test)]
    Walk,
}

/// Open `dir` as a root: a directory descriptor for resolving below it.
pub fn open_root(dir: &Path) -> Result<OwnedFd, Errno> {
    nix::fcntl::open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
}

/// Open `path` inside `root` with `flags` (`O_CLOEXEC` is added; `O_CREAT`
/// and `O_NOFOLLOW` are not supported). `path` may be absolute: it is taken
/// from `root` all the same.
pub fn open(root: BorrowedFd<'_>, path: &Path, flags: OFlag, resolver: Resolver) -> Result<OwnedFd, Errno> {
    if resolver == Resolver::Auto && have_openat2(root) {
        open_in_kernel(root, path, flags)
    } else {
        open_by_walk(root, path, flags)
    }
}

/// Whether `openat2` answers here. Asked once per process: a kernel without
/// it says `ENOSYS`; seccomp profiles that do not know it say `ENOSYS` or
/// `EPERM` (older Docker). Opening the root itself cannot fail otherwise.
fn have_openat2(root: BorrowedFd<'_>) -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        !matches!(open_in_kernel(root, Path::new("."), OFlag::O_PATH), Err(Errno::ENOSYS | Errno::EPERM))
    })
}

/// `openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
/// Magic links (`/proc/PID/root`, `/proc/PID/fd/N`) would lead out of any
/// root, so they are refused (`ELOOP`) rather than followed.
pub fn open_in_kernel(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let rel = relative(path);
    let mut last = Errno::EAGAIN;
    for _ in 0..RACE_RETRIES {
        // EAGAIN: a rename or mount raced with a `..`; the kernel asks to retry.
        match nix::fcntl::openat2(root, rel, how) {
            Err(Errno::EAGAIN) => last = Errno::EAGAIN,
            Err(Errno::EINTR) => last = Errno::EINTR,
            r => return r,
        }
    }
    Err(last)
}

/// `path` without its leading `/`, `.` for the root itself (`openat2` takes
/// an absolute path as relative to the root too, but not an empty one).
fn relative(path: &Path) -> &Path {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    }
}

/// What a walk reached: the directories entered from the root, in order
/// (each with the name it was entered by), and the last object when it is
/// not a directory.
struct Walk {
    dirs: Vec<(OwnedFd, OsString)>,
    last: Option<(OwnedFd, OsString)>,
}

fn names(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_owned()),
        Component::ParentDir => Some("..".into()),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// Resolve `path` below `root` one component at a time, never leaving it.
fn walk(root: BorrowedFd<'_>, path: &Path) -> Result<Walk, Errno> {
    let mut todo: VecDeque<OsString> = names(path).collect();
    let mut dirs: Vec<(OwnedFd, OsString)> = Vec::new();
    let mut last: Option<(OwnedFd, OsString)> = None;
    let mut links = 0u32;
    while let Some(name) = todo.pop_front() {
        if last.is_some() {
            return Err(Errno::ENOTDIR); // a name below something that is not a directory
        }
        if name == ".." {
            dirs.pop(); // at the root, `..` is the root
            continue;
        }
        let at = dirs.last().map_or(root, |(fd, _)| fd.as_fd());
        let fd = nix::fcntl::openat(
            at,
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let st = nix::sys::stat::fstat(&fd)?;
        match kind(&st) {
            SFlag::S_IFLNK => {
                links = links.saturating_add(1);
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = PathBuf::from(nix::fcntl::readlinkat(&fd, "")?);
                if target.as_os_str().is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target.has_root() {
                    dirs.clear();
                }
                for (i, n) in names(&target).enumerate() {
                    todo.insert(i, n);
                }
            }
            SFlag::S_IFDIR => dirs.push((fd, name)),
            _ => last = Some((fd, name)),
        }
    }
    Ok(Walk { dirs, last })
}

fn same_file(a: &impl AsFd, b: &impl AsFd) -> Result<bool, Errno> {
    let (x, y) = (nix::sys::stat::fstat(a)?, nix::sys::stat::fstat(b)?);
    Ok(x.st_dev == y.st_dev && x.st_ino == y.st_ino)
}

/// [`open`] by the user-space walk.
pub fn open_by_walk(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    for _ in 0..RACE_RETRIES {
        let mut w = walk(root, path)?;
        // The object reached, the directory it is in, and its name there.
        let (found, parent, name) = match w.last.take() {
            Some((fd, name)) => (fd, w.dirs.last().map_or(root, |(d, _)| d.as_fd()), name),
            None => match w.dirs.pop() {
                Some((fd, name)) => (fd, w.dirs.last().map_or(root, |(d, _)| d.as_fd()), name),
                None => return nix::fcntl::openat(root, ".", flags | OFlag::O_CLOEXEC, Mode::empty()),
            },
        };
        if flags.contains(OFlag::O_PATH) {
            return Ok(found);
        }
        // Open by name once more, now for real; O_NOFOLLOW and the identity
        // check catch a name swapped since the walk looked at it.
        match nix::fcntl::openat(parent, name.as_os_str(), flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        {
            Ok(fd) if same_file(&fd, &found)? => return Ok(fd),
            Ok(_) | Err(Errno::ELOOP) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EAGAIN)
}

/// The path of what `path` names inside `root`, as the system under the root
/// sees it: every symlink followed, every `..` applied (`/boot/vmlinuz`
/// → `/boot/vmlinuz-6.1.0-13-amd64`). The walk gives it on every kernel.
pub fn resolve(root: BorrowedFd<'_>, path: &Path) -> Result<PathBuf, Errno> {
    let w = walk(root, path)?;
    let mut out = PathBuf::from("/");
    for (_, name) in &w.dirs {
        out.push(name);
    }
    if let Some((_, name)) = &w.last {
        out.push(name);
    }
    Ok(out)
}

/// The directory `path` inside `root`, opened for reading (so that it can
/// be fsynced and listed), each missing component created with `mode` by
/// `mkdirat` in the directory reached so far: a link among the components
/// resolves inside the root, and no directory is ever made outside it.
pub fn create_dir_all(root: BorrowedFd<'_>, path: &Path, mode: u32, resolver: Resolver) -> Result<OwnedFd, Errno> {
    let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NONBLOCK;
    match open(root, path, dir_flags, resolver) {
        Err(Errno::ENOENT) => {}
        r => return r,
    }
    let mut reached = PathBuf::from("/");
    for c in path.components() {
        let name = match c {
            Component::Normal(n) => n,
            Component::RootDir | Component::CurDir => continue,
            // `..` in a path to create is refused rather than interpreted.
            Component::ParentDir | Component::Prefix(_) => return Err(Errno::EINVAL),
        };
        let parent = open(root, &reached, OFlag::O_PATH | OFlag::O_DIRECTORY, resolver)?;
        match nix::sys::stat::mkdirat(&parent, name, Mode::from_bits_truncate(mode)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        reached.push(name);
    }
    open(root, path, dir_flags, resolver)
}

/// The text of the symbolic link `name` in the directory `dir`, never followed.
pub fn read_link_at(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> Result<PathBuf, Errno> {
    Ok(PathBuf::from(nix::fcntl::readlinkat(dir, name)?))
}

/// Remove `name` from the directory `dir` (a link is removed, not followed).
pub fn unlink_at(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> Result<(), Errno> {
    nix::unistd::unlinkat(dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir)
}

/// Rename `from` to `to`, both names in the directory `dir`; a link at
/// `to` is replaced, not followed.
pub fn rename_at(dir: BorrowedFd<'_>, from: &std::ffi::OsStr, to: &std::ffi::OsStr) -> Result<(), Errno> {
    nix::fcntl::renameat(dir, from, dir, to)
}

/// Create `name` in the directory `dir`, exclusively, for writing, with
/// `mode`, never through a link planted at the name.
pub fn create_at(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, mode: u32) -> Result<OwnedFd, Errno> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    nix::fcntl::openat(dir, name, flags, Mode::from_bits_truncate(mode))
}

/// The names in the directory `dir` (opened for reading), without `.` and
/// `..`, in no particular order.
pub fn read_dir(dir: OwnedFd) -> Result<Vec<OsString>, Errno> {
    use std::os::unix::ffi::OsStrExt;
    let mut d = nix::dir::Dir::from_fd(dir)?;
    let mut out = Vec::new();
    for ent in d.iter() {
        let ent = ent?;
        let name = ent.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(std::ffi::OsStr::from_bytes(name).to_owned());
        }
    }
    Ok(out)
}
