//! Discovery of boot entries: kernels named in /boot, Boot Loader Specification
//! entries, unified kernel images, and the GRUB default, merged into one list.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::image::{Arch, Format, Section};

pub mod paths;

/// The root of the machine being looked at (`--root DIR`, default `/`).
/// Every path kexec-chooser reads is made from one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root { dir: dir.into() }
    }

    /// The directory given by `--root`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is the real root of the running system.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// The on-disk path of `system_path` (an absolute path as the system sees it).
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
}

/// Where an entry was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A kernel file in /boot named by distribution convention.
    Vmlinuz,
    /// A Boot Loader Specification Type 1 entry.
    Bls,
    /// A unified kernel image (Type 2).
    Uki,
}

/// One kernel the machine can warm-reboot into.
#[derive(Debug, Clone, Serialize)]
pub struct BootEntry {
    /// Unique among the entries; usable as a selector.
    pub id: String,
    pub version: String,
    /// A title for menus (BLS `title`, UKI `PRETTY_NAME`), if any.
    pub title: Option<String>,
    /// The kernel as the system sees it (no `--root` prefix).
    pub kernel: PathBuf,
    /// Initrds in load order (microcode first), as the system sees them.
    pub initrds: Vec<PathBuf>,
    /// The entry's own command line (BLS `options`, UKI `.cmdline`).
    pub cmdline: Option<String>,
    pub devicetree: Option<PathBuf>,
    pub source: Source,
    pub format: Format,
    pub arch: Option<Arch>,
    /// Longest command line the image accepts, when its header says.
    pub cmdline_size: Option<u32>,
    pub running: bool,
    pub default: bool,
    /// False when the file is not a usable kernel: never picked by `latest`.
    pub usable: bool,
    pub problems: Vec<String>,
    /// BLS `sort-key`, used before the version when ordering BLS entries.
    #[serde(skip)]
    pub sort_key: Option<String>,
    /// PE sections of a UKI, for loading its `.linux`, `.initrd`, `.cmdline`.
    #[serde(skip)]
    pub sections: Vec<Section>,
}

/// Why discovery or selection failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("no kernel matches {selector:?}; candidates: {candidates}")]
    UnknownSelector { selector: String, candidates: String },
    #[error("{selector:?} matches several kernels: {candidates}; name one by id")]
    AmbiguousSelector { selector: String, candidates: String },
    #[error("no kernel is marked default: {reason}")]
    NoDefault { reason: String },
    #[error("no entry is the running kernel {release:?}")]
    NotRunning { release: String },
    #[error("no usable kernel found under {root}")]
    NoKernel { root: PathBuf },
    #[error("{kernel} is not usable: {problems}")]
    Unusable { kernel: PathBuf, problems: String },
}

impl Root {
    /// Follow symlinks in `system_path` the way the system would see them
    /// (absolute targets are taken under this root, not the host's `/`),
    /// and give the final path as the system sees it. `None` when a
    /// component is missing or the links loop.
    pub fn resolve(&self, system_path: &Path) -> Option<PathBuf> {
        use std::collections::VecDeque;
        use std::path::Component;
        let mut todo: VecDeque<std::ffi::OsString> = system_path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_owned()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut cur = PathBuf::from("/");
        let mut hops = 0u32;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                cur.pop();
                continue;
            }
            let next = cur.join(&c);
            let meta = std::fs::symlink_metadata(self.path(&next)).ok()?;
            if meta.file_type().is_symlink() {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = std::fs::read_link(self.path(&next)).ok()?;
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                for (i, t) in target
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(n) => Some(n.to_owned()),
                        Component::ParentDir => Some("..".into()),
                        _ => None,
                    })
                    .enumerate()
                {
                    todo.insert(i, t);
                }
            } else {
                cur = next;
            }
        }
        Some(cur)
    }
}

pub mod bls;
pub mod cmdline;
pub mod discover;
pub mod grub;
pub mod select;
pub mod version;

pub use discover::{discover, Discovery};
