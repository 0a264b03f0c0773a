//! Discovery of boot entries: kernels named in /boot, Boot Loader Specification
//! entries, unified kernel images, and the GRUB default, merged into one list.

use std::path::PathBuf;

use serde::Serialize;

use crate::image::{Arch, Format, Section};

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

/// As `list --json` spells it: `vmlinuz`, `bls`, `uki`.
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Vmlinuz => "vmlinuz",
            Source::Bls => "bls",
            Source::Uki => "uki",
        })
    }
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
    /// How systemd-boot names a BLS entry or a UKI (`LoaderEntryOneShot`,
    /// `bootctl list`): its file name, `.conf` or `.efi` included, in lower
    /// case (src/boot/efi/boot.c, `config_entry_add_type1`).
    #[serde(skip)]
    pub loader_id: Option<String>,
}

impl BootEntry {
    /// Whether the entry's own command line asks for single-user, rescue or
    /// emergency mode: such an entry is taken only when named by its id.
    pub fn asks_for_rescue(&self) -> bool {
        self.cmdline.as_deref().is_some_and(cmdline::asks_for_rescue)
    }
}

/// Why discovery or selection failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("no kernel matches {selector:?}; candidates: {candidates}")]
    UnknownSelector { selector: String, candidates: String },
    #[error(
        "{selector:?} matches only entries for single-user, rescue or emergency mode: {candidates}; name one by id"
    )]
    OnlyRescue { selector: String, candidates: String },
    #[error("no kernel is marked default: {reason}")]
    NoDefault { reason: String },
    #[error("no entry is the running kernel {release:?}")]
    NotRunning { release: String },
    #[error("no usable kernel found under {root}")]
    NoKernel { root: PathBuf },
    #[error("{kernel} is not usable: {problems}")]
    Unusable { kernel: PathBuf, problems: String },
}

pub mod bls;
pub mod cmdline;
pub(crate) mod discover;
pub mod grub;
pub mod grubenv;
pub(crate) mod select;
pub mod version;

pub(crate) use discover::{discover, Discovery};
