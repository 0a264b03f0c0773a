//! The root of the machine being looked at (`--root DIR`, default `/`), and
//! the one way kexec-chooser reads below it.
//!
//! kexec-chooser runs as root over trees it does not trust (a mounted image,
//! a container's files, a /boot that others can write), so every read here
//! holds three promises:
//!
//! * every path resolves inside the root, each component and each symlink
//!   alike: `..` stops at the root, an absolute link is taken from the root
//!   (`openat2(2)` with `RESOLVE_IN_ROOT`, or the same walk in user space
//!   where the kernel lacks it: see [`crate::sys::in_root`]);
//! * only regular files are opened for reading: what a path names is looked
//!   at first without opening it (`O_PATH`), so a FIFO, a device or a socket
//!   is refused before any `open` could block on it or wake a driver, and
//!   the file is opened `O_NONBLOCK` and checked again after;
//! * a read stops at a limit fitting the file, with an error naming the file
//!   and the limit, whatever size the file claims (procfs says 0).

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nix::fcntl::OFlag;

use crate::atomic_file::{AtomicFile, AtomicFileError};
use crate::sys::in_root::{self, Resolver};

/// The root of the machine being looked at (`--root DIR`, default `/`).
/// Every path kexec-chooser reads is read through one of these.
///
/// `DIR` is opened once, at the first read, and that directory is the root
/// for every later read, by this value and its clones: a `DIR` renamed or
/// replaced during a run does not move it.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
    resolver: Resolver,
    fd: Arc<OnceLock<OwnedFd>>,
}

/// Two roots are the same when they name the same directory.
impl PartialEq for Root {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir && self.resolver == other.resolver
    }
}

impl Eq for Root {}

/// Why a path under the root could not be read. The message names the path
/// as the system under the root sees it and says everything, the OS error
/// included (there is no `source()`, so `{:#}` does not say it twice).
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    /// The path does not resolve, or the file cannot be opened.
    #[error("cannot open {}: {err}", path.display())]
    Open { path: PathBuf, err: io::Error },
    /// Not a regular file: a directory, a FIFO, a device, a socket.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    /// More bytes than the limit given for this file.
    #[error("{} is larger than {limit} bytes, the most read from it", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    /// Opened, but reading failed.
    #[error("cannot read {}: {err}", path.display())]
    Read { path: PathBuf, err: io::Error },
    #[error("{} is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
    /// Removing or writing failed.
    #[error("cannot change {}: {err}", path.display())]
    Write { path: PathBuf, err: io::Error },
}

impl RootError {
    /// The path the error is about, as the system under the root sees it.
    pub fn path(&self) -> &Path {
        match self {
            RootError::Open { path, .. }
            | RootError::NotRegular { path, .. }
            | RootError::TooLarge { path, .. }
            | RootError::Read { path, .. }
            | RootError::NotUtf8 { path }
            | RootError::Write { path, .. } => path,
        }
    }

    /// Whether the path names nothing: a component is missing or is not a
    /// directory. Callers treat such a file as absent rather than as bad.
    pub fn is_not_found(&self) -> bool {
        match self {
            RootError::Open { err, .. } => {
                err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENOTDIR)
            }
            _ => false,
        }
    }
}

/// How a file type reads in "X is a FIFO, not a regular file".
fn kind_name(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symlink"
    } else {
        "a special file"
    }
}

/// A path's directory and its last component, which must be a plain name
/// (`/a/b/..` names no file to write or remove).
fn split_name(path: &Path) -> Result<(&Path, &std::ffi::OsStr), nix::errno::Errno> {
    match (path.parent(), path.components().next_back()) {
        (Some(parent), Some(std::path::Component::Normal(name))) => Ok((parent, name)),
        _ => Err(nix::errno::Errno::EINVAL),
    }
}

fn regular(path: &Path, m: Metadata) -> Result<Metadata, RootError> {
    if m.is_file() {
        Ok(m)
    } else {
        Err(RootError::NotRegular { path: path.to_path_buf(), kind: kind_name(&m) })
    }
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root { dir: dir.into(), resolver: Resolver::Auto, fd: Arc::default() }
    }

    /// This root, resolving by the user-space walk even where `openat2`
    /// exists: the tests run every case through both resolvers.
    #[cfg(test)]
    pub(crate) fn walking(mut self) -> Self {
        self.resolver = Resolver::Walk;
        self
    }

    /// The directory given by `--root`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is the real root of the running system.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// The on-disk path of `system_path` (an absolute path as the system
    /// sees it), for messages and for handing to other programs. Not for
    /// reading: it follows links out of the root; read with [`Root::open_file`]
    /// and the other methods below.
    pub fn path(&self, system_path: impl AsRef<Path>) -> PathBuf {
        let p = system_path.as_ref();
        let rel = p.strip_prefix("/").unwrap_or(p);
        if rel.as_os_str().is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(rel)
        }
    }

    /// The path as the system sees it, for an on-disk path under this root.
    pub fn system_path(&self, disk_path: &Path) -> PathBuf {
        match disk_path.strip_prefix(&self.dir) {
            Ok(rel) => Path::new("/").join(rel),
            Err(_) => disk_path.to_path_buf(),
        }
    }

    fn open_error(path: &Path, err: impl Into<io::Error>) -> RootError {
        RootError::Open { path: path.to_path_buf(), err: err.into() }
    }

    /// The root directory, opened at the first call (a failure is not kept:
    /// the next call tries again).
    fn root_fd(&self) -> Result<BorrowedFd<'_>, RootError> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd.as_fd());
        }
        let fd = in_root::open_root(&self.dir).map_err(|e| Self::open_error(&self.dir, e))?;
        // Another clone may have opened it meanwhile: its descriptor is kept.
        Ok(self.fd.get_or_init(|| fd).as_fd())
    }

    /// `path` opened inside the root with `flags`.
    fn open_fd(&self, path: &Path, flags: OFlag) -> Result<OwnedFd, RootError> {
        in_root::open(self.root_fd()?, path, flags, self.resolver).map_err(|e| Self::open_error(path, e))
    }

    /// What `path` names, following links inside the root, without opening
    /// it for reading (`O_PATH`: no FIFO blocks, no driver is woken).
    pub fn metadata(&self, path: impl AsRef<Path>) -> Result<Metadata, RootError> {
        let path = path.as_ref();
        let fd = self.open_fd(path, OFlag::O_PATH)?;
        File::from(fd).metadata().map_err(|e| Self::open_error(path, e))
    }

    /// Whether `path` names a regular file inside the root.
    pub fn is_file(&self, path: impl AsRef<Path>) -> bool {
        self.metadata(path).is_ok_and(|m| m.is_file())
    }

    /// Whether `path` names a directory inside the root.
    pub fn is_dir(&self, path: impl AsRef<Path>) -> bool {
        self.metadata(path).is_ok_and(|m| m.is_dir())
    }

    /// Whether `path` names anything inside the root (a dangling link does not).
    pub fn exists(&self, path: impl AsRef<Path>) -> bool {
        self.metadata(path).is_ok()
    }

    /// [`Root::metadata`] of a regular file; anything else is
    /// [`RootError::NotRegular`]. Like `metadata`, it needs no permission to
    /// read the file (an initrd only root may read is still seen to be there).
    pub fn file_metadata(&self, path: impl AsRef<Path>) -> Result<Metadata, RootError> {
        let path = path.as_ref();
        regular(path, self.metadata(path)?)
    }

    /// The regular file `path` names, open for reading (`O_NONBLOCK`,
    /// `O_NOCTTY`, `O_CLOEXEC`). Anything else is [`RootError::NotRegular`],
    /// found before it is opened.
    pub fn open_file(&self, path: impl AsRef<Path>) -> Result<File, RootError> {
        let path = path.as_ref();
        self.file_metadata(path)?;
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        let f = File::from(self.open_fd(path, flags)?);
        // Swapped for something else between the look and the open?
        regular(path, f.metadata().map_err(|e| Self::open_error(path, e))?)?;
        Ok(f)
    }

    /// The bytes of the regular file `path`, refused when more than `limit`.
    pub fn read(&self, path: impl AsRef<Path>, limit: u64) -> Result<Vec<u8>, RootError> {
        let path = path.as_ref();
        let f = self.open_file(path)?;
        let too_large = || RootError::TooLarge { path: path.to_path_buf(), limit };
        let claimed = f.metadata().map_err(|err| RootError::Read { path: path.to_path_buf(), err })?.len();
        if claimed > limit {
            return Err(too_large());
        }
        let mut buf = Vec::with_capacity(usize::try_from(claimed).unwrap_or(0));
        // One byte past the limit tells a file that is too long from one that
        // fills it exactly, whatever its size said (procfs and sysfs say 0 or 4096).
        (&f).take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|err| RootError::Read { path: path.to_path_buf(), err })?;
        if u64::try_from(buf.len()).map_or(true, |n| n > limit) {
            return Err(too_large());
        }
        Ok(buf)
    }

    /// [`Root::read`] as UTF-8 text.
    pub fn read_to_string(&self, path: impl AsRef<Path>, limit: u64) -> Result<String, RootError> {
        let path = path.as_ref();
        String::from_utf8(self.read(path, limit)?).map_err(|_| RootError::NotUtf8 { path: path.to_path_buf() })
    }

    /// The names in the directory `path`, sorted by their bytes.
    pub fn read_dir(&self, path: impl AsRef<Path>) -> Result<Vec<OsString>, RootError> {
        let path = path.as_ref();
        // O_DIRECTORY refuses anything else before it is opened.
        let fd = self.open_fd(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NONBLOCK)?;
        let mut names =
            in_root::read_dir(fd).map_err(|e| RootError::Read { path: path.to_path_buf(), err: e.into() })?;
        names.sort();
        Ok(names)
    }

    /// Write `bytes` to the file `system_path` inside the root, whole or not
    /// at all (an [`AtomicFile`] in its directory), creating missing
    /// directories with mode 0755. Like every read, every component and link
    /// resolves inside the root: a directory that is a link to elsewhere is
    /// followed only as far as the root allows, and the file itself is
    /// replaced, never written through a link.
    pub fn write_file(&self, system_path: impl AsRef<Path>, mode: u32, bytes: &[u8]) -> Result<(), AtomicFileError> {
        let path = system_path.as_ref();
        let (dir, name) = self.dir_for_writing(path)?;
        crate::atomic_file::write_to(AtomicFile::create_in(dir, name, path, mode)?, bytes)
    }

    /// Remove the file `system_path` inside the root (a link is removed, not
    /// followed); `Ok(false)` when there was none.
    pub fn remove_file(&self, system_path: impl AsRef<Path>) -> Result<bool, RootError> {
        let path = system_path.as_ref();
        let (parent, name) = split_name(path).map_err(|e| Self::open_error(path, e))?;
        let dir = match self.open_fd(parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NONBLOCK) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        match in_root::unlink_at(dir.as_fd(), name) {
            Ok(()) => {
                let _ = nix::unistd::fsync(&dir);
                Ok(true)
            }
            Err(nix::errno::Errno::ENOENT) => Ok(false),
            Err(e) => Err(RootError::Write { path: path.to_path_buf(), err: e.into() }),
        }
    }

    /// Whether `system_path` itself is a symbolic link (not followed; its
    /// directory is resolved inside the root).
    pub fn is_symlink(&self, system_path: impl AsRef<Path>) -> bool {
        let path = system_path.as_ref();
        let Ok((parent, name)) = split_name(path) else { return false };
        let Ok(dir) = self.open_fd(parent, OFlag::O_PATH | OFlag::O_DIRECTORY) else { return false };
        nix::sys::stat::fstatat(&dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
    }

    /// The text of the symbolic link `system_path` inside the root, never
    /// followed (a descriptor's link in `/proc/PID/fd`, for instance).
    pub fn read_link(&self, system_path: impl AsRef<Path>) -> Result<PathBuf, RootError> {
        let path = system_path.as_ref();
        let (parent, name) = split_name(path).map_err(|e| Self::open_error(path, e))?;
        let dir = self.open_fd(parent, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        in_root::read_link_at(dir.as_fd(), name)
            .map_err(|e| RootError::Read { path: path.to_path_buf(), err: e.into() })
    }

    /// The directory of `path`, created inside the root if missing, and the
    /// file's name in it.
    fn dir_for_writing<'p>(&self, path: &'p Path) -> Result<(OwnedFd, &'p std::ffi::OsStr), AtomicFileError> {
        let create = |source: io::Error| AtomicFileError::Create { path: path.to_path_buf(), source };
        let (parent, name) = split_name(path).map_err(|e| create(e.into()))?;
        let root = self.root_fd().map_err(|e| create(io::Error::other(e.to_string())))?;
        let dir = in_root::create_dir_all(root, parent, 0o755, self.resolver).map_err(|e| create(e.into()))?;
        Ok((dir, name))
    }

    /// Follow symlinks in `system_path` the way the system would see them
    /// (absolute targets are taken under this root, not the host's `/`),
    /// and give the final path as the system sees it. `None` when a
    /// component is missing or the links loop.
    pub fn resolve(&self, system_path: &Path) -> Option<PathBuf> {
        in_root::resolve(self.root_fd().ok()?, system_path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A root with a decoy `outside` directory *inside* it, and a real one
    /// next to it: what escapes reads "host", what stays reads "inside".
    struct Tree {
        _tmp: crate::testing::TempRoot,
        root: PathBuf,
        host: PathBuf,
    }

    fn tree() -> Tree {
        let tmp = crate::testing::TempRoot::new();
        let root = tmp.dir().to_path_buf();
        let host = tmp.outside().to_path_buf();
        std::fs::create_dir_all(root.join("boot/grub")).unwrap();
        std::fs::write(host.join("secret"), "host").unwrap();
        // Where an escaping path lands once it is kept inside the root.
        std::fs::create_dir_all(root.join("host")).unwrap();
        std::fs::write(root.join("host/secret"), "inside").unwrap();
        let inside_host = root.join(host.strip_prefix("/").unwrap());
        std::fs::create_dir_all(&inside_host).unwrap();
        std::fs::write(inside_host.join("secret"), "inside").unwrap();
        Tree { _tmp: tmp, root, host }
    }

    fn both(dir: &Path) -> [Root; 2] {
        [Root::new(dir), Root::new(dir).walking()]
    }

    /// Run `f` on another thread and fail, not hang, when it blocks.
    fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(10)).expect("blocked for 10 s")
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let t = tree();
        symlink(t.host.join("secret"), t.root.join("boot/grub/grub.cfg")).unwrap();
        for r in both(&t.root) {
            assert_eq!(r.read_to_string("/boot/grub/grub.cfg", 100).unwrap(), "inside", "{r:?}");
        }
    }

    #[test]
    fn dot_dot_in_links_and_paths_stops_at_the_root() {
        let t = tree();
        symlink("../../../../../../../../host/secret", t.root.join("boot/grub/grubenv")).unwrap();
        for r in both(&t.root) {
            assert_eq!(r.read_to_string("/boot/grub/grubenv", 100).unwrap(), "inside", "{r:?}");
            assert_eq!(r.read_to_string("/boot/../../../../host/secret", 100).unwrap(), "inside", "{r:?}");
            assert_eq!(r.resolve(Path::new("/boot/grub/grubenv")), Some(PathBuf::from("/host/secret")));
        }
    }

    #[test]
    fn a_symlinked_directory_pointing_out_stays_in() {
        let t = tree();
        symlink(&t.host, t.root.join("boot/loader")).unwrap();
        for r in both(&t.root) {
            assert_eq!(r.read_dir("/boot/loader").unwrap(), ["secret"], "{r:?}");
            assert_eq!(r.read("/boot/loader/secret", 100).unwrap(), b"inside", "{r:?}");
            let inside = Path::new("/").join(t.host.strip_prefix("/").unwrap()).join("secret");
            assert_eq!(r.resolve(Path::new("/boot/loader/secret")), Some(inside));
        }
    }

    #[test]
    fn a_link_to_what_exists_only_on_the_host_is_not_found() {
        let t = tree();
        let only_host = t.host.parent().unwrap().join("only-host");
        std::fs::write(&only_host, "host").unwrap();
        symlink(&only_host, t.root.join("boot/grub/grub.cfg")).unwrap();
        for r in both(&t.root) {
            let e = r.read("/boot/grub/grub.cfg", 100).unwrap_err();
            assert!(e.is_not_found(), "{r:?}: {e}");
            assert!(!r.exists("/boot/grub/grub.cfg"));
            assert_eq!(r.resolve(Path::new("/boot/grub/grub.cfg")), None);
        }
    }

    #[test]
    fn fifos_are_refused_without_blocking() {
        let t = tree();
        nix::unistd::mkfifo(&t.root.join("boot/grub/grub.cfg"), nix::sys::stat::Mode::from_bits_truncate(0o600))
            .unwrap();
        symlink("grub.cfg", t.root.join("boot/grub/grubenv")).unwrap();
        for r in both(&t.root) {
            for p in ["/boot/grub/grub.cfg", "/boot/grub/grubenv"] {
                let r2 = r.clone();
                let e = within_seconds(move || r2.read(p, 100).map(|_| ()).unwrap_err().to_string());
                assert_eq!(e, "/boot/grub/grub.cfg is a FIFO, not a regular file".replace("/boot/grub/grub.cfg", p));
            }
            assert!(r.exists("/boot/grub/grub.cfg") && !r.is_file("/boot/grub/grub.cfg"));
            let e = r.file_metadata("/boot/grub/grubenv").unwrap_err();
            assert_eq!(e.to_string(), "/boot/grub/grubenv is a FIFO, not a regular file");
        }
    }

    #[test]
    fn devices_and_directories_are_not_regular_files() {
        for r in both(Path::new("/")) {
            let e = r.read("/dev/zero", 1024).unwrap_err();
            assert!(matches!(e, RootError::NotRegular { kind: "a character device", .. }), "{e}");
        }
        let t = tree();
        symlink("/dev/zero", t.root.join("boot/grub/grubenv")).unwrap();
        for r in both(&t.root) {
            assert!(
                r.read("/boot/grub/grubenv", 1024).unwrap_err().is_not_found(),
                "/dev/zero of the root, not the host's"
            );
            let e = r.read("/boot/grub", 1024).unwrap_err();
            assert_eq!(e.to_string(), "/boot/grub is a directory, not a regular file");
            assert!(r.is_dir("/boot/grub") && r.is_dir("/") && !r.is_file("/boot"));
        }
    }

    #[test]
    fn files_above_the_limit_are_refused_by_name_and_limit() {
        let t = tree();
        let f = std::fs::File::create(t.root.join("boot/grub/grubenv")).unwrap();
        f.set_len(1024).unwrap();
        let big = std::fs::File::create(t.root.join("boot/grub/grub.cfg")).unwrap();
        big.set_len(3 << 30).unwrap(); // sparse: no disk used
        for r in both(&t.root) {
            assert_eq!(r.read("/boot/grub/grubenv", 1024).unwrap().len(), 1024);
            let e = r.read("/boot/grub/grubenv", 1023).unwrap_err();
            assert_eq!(e.to_string(), "/boot/grub/grubenv is larger than 1023 bytes, the most read from it");
            assert!(matches!(r.read("/boot/grub/grub.cfg", 4 << 20), Err(RootError::TooLarge { limit: 4194304, .. })));
        }
    }

    #[test]
    fn files_that_hide_their_size_are_still_limited() {
        // procfs gives 0 as the size of /proc/self/status.
        for r in both(Path::new("/")) {
            assert!(matches!(r.read("/proc/self/status", 16), Err(RootError::TooLarge { .. })));
            assert!(r.read_to_string("/proc/self/status", 1 << 20).unwrap().contains("Pid:"));
        }
    }

    #[test]
    fn symlink_loops_and_names_below_files_fail_cleanly() {
        let t = tree();
        symlink("b", t.root.join("boot/a")).unwrap();
        symlink("a", t.root.join("boot/b")).unwrap();
        std::fs::write(t.root.join("boot/file"), "x").unwrap();
        for r in both(&t.root) {
            let e = r.read("/boot/a", 10).unwrap_err();
            assert_eq!(e.to_string(), format!("cannot open /boot/a: {}", io::Error::from_raw_os_error(libc::ELOOP)));
            assert_eq!(r.resolve(Path::new("/boot/a")), None);
            assert!(r.read("/boot/file/x", 10).unwrap_err().is_not_found());
        }
    }

    #[test]
    fn resolve_gives_the_system_path_of_relative_and_absolute_links() {
        let t = tree();
        std::fs::write(t.root.join("boot/vmlinuz-1"), "k").unwrap();
        symlink("boot/vmlinuz-1", t.root.join("vmlinuz")).unwrap();
        symlink("/boot/vmlinuz-1", t.root.join("boot/vmlinuz")).unwrap();
        symlink("/boot", t.root.join("efi")).unwrap();
        for r in both(&t.root) {
            for p in ["/vmlinuz", "/boot/vmlinuz", "/efi/vmlinuz", "/efi/../efi/./vmlinuz-1"] {
                assert_eq!(r.resolve(Path::new(p)), Some(PathBuf::from("/boot/vmlinuz-1")), "{p} {r:?}");
            }
            assert_eq!(r.resolve(Path::new("/")), Some(PathBuf::from("/")));
            assert_eq!(r.resolve(Path::new("/efi")), Some(PathBuf::from("/boot")));
        }
    }

    #[test]
    fn a_missing_root_names_the_root() {
        for r in both(Path::new("/nonexistent-kexec-chooser-root")) {
            let e = r.read("/proc/cmdline", 10).unwrap_err();
            assert!(e.to_string().starts_with("cannot open /nonexistent-kexec-chooser-root:"), "{e}");
        }
    }

    #[test]
    fn the_root_is_the_directory_opened_first() {
        let t = tree();
        std::fs::write(t.root.join("boot/x"), "first").unwrap();
        let r = Root::new(&t.root);
        assert_eq!(r.read_to_string("/boot/x", 10).unwrap(), "first");
        let clone = r.clone();
        // The path now names another directory; the root stays the first.
        let moved = t.root.with_file_name("moved");
        std::fs::rename(&t.root, &moved).unwrap();
        std::fs::create_dir_all(t.root.join("boot")).unwrap();
        std::fs::write(t.root.join("boot/x"), "second").unwrap();
        assert_eq!(clone.read_to_string("/boot/x", 10).unwrap(), "first");
        assert_eq!(Root::new(&t.root).read_to_string("/boot/x", 10).unwrap(), "second");
        assert_eq!(r, Root::new(&t.root), "equal by the directory named");
    }

    #[test]
    fn text_must_be_utf8() {
        let t = tree();
        std::fs::write(t.root.join("boot/bin"), b"\xff\xfe").unwrap();
        for r in both(&t.root) {
            assert_eq!(r.read_to_string("/boot/bin", 10).unwrap_err().to_string(), "/boot/bin is not UTF-8 text");
        }
    }

    #[test]
    fn system_paths_map_to_disk_paths_and_back() {
        let r = Root::new("/srv/img");
        assert_eq!(r.path("/boot/x"), Path::new("/srv/img/boot/x"));
        assert_eq!(r.path("/"), Path::new("/srv/img"));
        assert_eq!(r.system_path(Path::new("/srv/img/boot/x")), Path::new("/boot/x"));
        assert!(Root::new("/").is_host() && !r.is_host());
    }
}
