//! What the unit tests share: a temporary directory taken as a machine's
//! root (`--root`), written where the system under it would see each file,
//! and a directory beside it that stands for the host outside the root.

use std::path::{Path, PathBuf};

use crate::root::Root;

/// A temporary machine root, and an `outside` directory next to it (never
/// inside it): what a hostile tree's links may point at.
pub(crate) struct TempRoot {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    outside: PathBuf,
}

impl TempRoot {
    pub fn new() -> TempRoot {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        TempRoot { _tmp: tmp, dir, outside }
    }

    /// The root as kexec-chooser reads it.
    pub fn root(&self) -> Root {
        Root::new(&self.dir)
    }

    /// The root directory on disk.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A directory outside the root, on the host.
    pub fn outside(&self) -> &Path {
        &self.outside
    }

    /// The on-disk path of `system_path` (with or without its leading `/`).
    pub fn at(&self, system_path: impl AsRef<Path>) -> PathBuf {
        let p = system_path.as_ref();
        self.dir.join(p.strip_prefix("/").unwrap_or(p))
    }

    /// Write a file at `system_path`, making its directories.
    pub fn write(&self, system_path: impl AsRef<Path>, data: impl AsRef<[u8]>) {
        let p = self.at(system_path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }

    /// Make the directory `system_path` and its parents.
    pub fn mkdir(&self, system_path: impl AsRef<Path>) {
        std::fs::create_dir_all(self.at(system_path)).unwrap();
    }

    /// A symbolic link at `system_path` with the text `target`.
    pub fn link(&self, system_path: impl AsRef<Path>, target: impl AsRef<Path>) {
        let p = self.at(system_path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }
}
