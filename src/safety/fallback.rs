//! Where a machine goes when the new kernel does not come up: one kind of
//! guard of the safety net ([`super::net`]). The watchdog's reset boots what
//! the boot loader boots; on Debian that default is the newest kernel, often
//! the very one that just failed. So just before the hand-over the boot
//! loader is told to boot, once, the kernel that was running — known to boot
//! on this machine:
//!
//! * **GRUB**: `next_entry` in `grubenv`, naming the running kernel's menu
//!   entry as `grub-reboot` does (`SUBMENU-ID>ENTRY-ID`); grub.cfg made by
//!   grub-mkconfig boots it once and clears it (`save_env next_entry`).
//! * **systemd-boot**: the EFI variable `LoaderEntryOneShot`, naming the
//!   running kernel's entry as `bootctl set-oneshot` does.
//!
//! Nothing else of the boot loader's configuration is touched. Where the
//! running kernel has no entry, the boot loader is not one of these, or its
//! environment cannot be written safely (no `grubenv`, a link, or a file
//! system GRUB cannot write at boot so that it could never clear
//! `next_entry`), the default comes back, and the plan says why.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::boot::grubenv::{Env, EnvError};
use crate::boot::{cmdline, grub, BootEntry, Source};
use crate::mountinfo;
use crate::paths;
use crate::root::{Root, RootError};
use crate::sys::System;
use crate::text;

/// The boot loaders whose one-time entry kexec-chooser sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loader {
    #[serde(rename = "grub")]
    Grub,
    #[serde(rename = "systemd-boot")]
    SystemdBoot,
}

impl Loader {
    /// How the plan names the mechanism.
    pub fn mechanism(self) -> &'static str {
        match self {
            Loader::Grub => "GRUB next_entry",
            Loader::SystemdBoot => "systemd-boot LoaderEntryOneShot",
        }
    }
}

/// A one-time entry back to the running kernel, as set and recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTime {
    pub loader: Loader,
    /// What names the entry to the boot loader.
    pub entry: String,
    /// The release it boots.
    pub release: String,
}

/// What comes back after a reset, as chosen when the plan is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The running kernel, through a one-time entry.
    OneTime(OneTime),
    /// The boot loader's default: why not the running kernel, and the
    /// default's release when it is known.
    Default { why: String, release: Option<String> },
}

impl Default for Choice {
    fn default() -> Self {
        Choice::Default { why: "no boot loader was looked at".into(), release: None }
    }
}

impl Choice {
    /// What the plan says after "reset, then ".
    pub fn describe(&self) -> String {
        match self {
            Choice::OneTime(o) => format!("{} ({})", text::escape(&o.release), o.loader.mechanism()),
            Choice::Default { why, release: Some(r) } => {
                format!("the boot loader's default, {} ({})", text::escape(r), text::escape(why))
            }
            Choice::Default { why, release: None } => format!("the boot loader's default ({})", text::escape(why)),
        }
    }

    pub fn one_time(&self) -> Option<&OneTime> {
        match self {
            Choice::OneTime(o) => Some(o),
            Choice::Default { .. } => None,
        }
    }
}

/// systemd's vendor GUID of the boot loader interface's variables.
const LOADER_GUID: &str = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
/// EFI_VARIABLE_NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS, as
/// `bootctl set-oneshot` writes it.
const ONE_SHOT_ATTRIBUTES: u32 = 0x7;
/// The most read of one EFI variable's file here (a name or a version).
const EFIVAR_LIMIT: u64 = 64 * 1024;
/// The most read of the mount table.
const MOUNTINFO_LIMIT: u64 = 16 << 20;

fn efivar_name(var: &str) -> String {
    format!("{var}-{LOADER_GUID}")
}

/// A string variable of the boot loader interface (UTF-16LE after the four
/// bytes of attributes, ending in NUL), read inside the root.
fn efivar_string(root: &Root, var: &str) -> Option<String> {
    let bytes = root.read(Path::new(paths::EFIVARS).join(efivar_name(var)), EFIVAR_LIMIT).ok()?;
    let units: Vec<u16> = bytes.get(4..)?.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16(units.get(..end)?).ok()
}

/// `value` as efivarfs takes a string variable: attributes, UTF-16LE, NUL.
fn efivar_bytes(value: &str) -> Vec<u8> {
    let mut out = ONE_SHOT_ATTRIBUTES.to_le_bytes().to_vec();
    for u in value.encode_utf16().chain([0]) {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// The value of `root=` on a command line, as the kernel takes it.
fn root_of(line: &str) -> Option<String> {
    cmdline::kernel_view(line).last("root")?.value.clone()
}

/// Whether a boot entry's command line is the running system's: same root
/// when both say one (another installed system may run the same release).
fn same_root(entry_root: Option<&str>, running_root: Option<&str>) -> bool {
    match (entry_root, running_root) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// What the plan knows of the running kernel.
#[derive(Debug, Clone, Copy)]
pub struct Running<'a> {
    pub release: Option<&'a str>,
    pub cmdline: Option<&'a str>,
}

/// Choose what comes back after a reset: the running kernel's one-time
/// entry where the boot loader allows it, else its default. `entries` is
/// what discovery found (the default marked, systemd-boot's names).
pub fn choose(root: &Root, running: Running<'_>, entries: &[BootEntry]) -> Choice {
    let default_release = entries.iter().find(|e| e.default).map(|e| e.version.clone());
    let default = |why: String| Choice::Default { why, release: default_release.clone() };
    let Some(release) = running.release else {
        return default("the running kernel's release is not known".into());
    };
    let running_root = running.cmdline.and_then(root_of);
    let loader = efivar_string(root, "LoaderInfo");
    let found = if loader.as_deref().is_some_and(|l| l.starts_with("systemd-boot")) {
        systemd_boot(root, release, running_root.as_deref(), entries)
    } else if let Some(dir) = grub_dir(root) {
        grub_entry(root, &dir, release, running_root.as_deref(), entries)
    } else {
        Err(match loader {
            Some(l) => format!("the boot loader, {}, is not GRUB or systemd-boot", text::escape(&l)),
            None => "no GRUB or systemd-boot was found".into(),
        })
    };
    match found {
        Ok(o) => Choice::OneTime(o),
        Err(why) => default(why),
    }
}

/// GRUB's directory: the first of [`paths::GRUB_DIRS`] with a grub.cfg.
fn grub_dir(root: &Root) -> Option<PathBuf> {
    paths::GRUB_DIRS.iter().map(PathBuf::from).find(|d| root.is_file(d.join("grub.cfg")))
}

fn grubenv_of(dir: &Path) -> PathBuf {
    dir.join("grubenv")
}

/// The running kernel's entry in GRUB's menu, and why none can be used.
fn grub_entry(
    root: &Root,
    dir: &Path,
    release: &str,
    running_root: Option<&str>,
    entries: &[BootEntry],
) -> Result<OneTime, String> {
    let cfg_path = dir.join("grub.cfg");
    let cfg = root.read(&cfg_path, grub::CFG_MAX).map_err(|e| e.to_string())?;
    let cfg = grub::parse_cfg(&String::from_utf8_lossy(&cfg));
    if !cfg.one_time_entry {
        return Err(format!(
            "{} does not boot next_entry once (it was not made by grub-mkconfig)",
            text::path(&cfg_path)
        ));
    }
    grubenv_writable(root, dir)?;
    // The running kernel's file names, as GRUB's linux lines end.
    let mut kernels: Vec<String> = entries
        .iter()
        .filter(|e| e.running && e.source == Source::Vmlinuz)
        .filter_map(|e| e.kernel.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    kernels.push(format!("vmlinuz-{release}"));
    let candidates: Vec<grub::Found<'_>> = grub::entries(&cfg.items)
        .into_iter()
        .filter(|f| {
            let e = f.entry;
            let file = e.linux.as_deref().and_then(|l| l.rsplit('/').next()).unwrap_or("");
            let args = e.args.join(" ");
            kernels.iter().any(|k| k == file)
                && !e.title.contains("recovery mode")
                && !cmdline::asks_for_rescue(&args)
                && same_root(root_of(&args).as_deref(), running_root)
        })
        .collect();
    // The entry of this very release (Debian's "Advanced options" entries
    // carry it in their id) before the top entry that follows the newest.
    let chosen = candidates.iter().find(|f| f.path.contains(release)).or(candidates.first());
    match chosen {
        Some(f) => Ok(OneTime { loader: Loader::Grub, entry: f.path.clone(), release: release.to_string() }),
        None => Err(format!("the running kernel {} has no GRUB entry", text::escape(release))),
    }
}

/// File systems GRUB writes at boot (`save_env` rewrites the file's own
/// sectors): elsewhere (btrfs, ZFS, and anything on LVM, dm-crypt or md
/// RAID) it could not clear `next_entry`, and every boot would go back.
const GRUB_WRITES: [&str; 5] = ["ext2", "ext3", "ext4", "vfat", "xfs"];

/// Whether `grubenv` in `dir` may be edited for a one-time entry: a regular
/// file (not a link), an environment block, on a file system GRUB writes.
fn grubenv_writable(root: &Root, dir: &Path) -> Result<(), String> {
    let path = grubenv_of(dir);
    if root.is_symlink(&path) {
        return Err(format!("{} is a link", text::path(&path)));
    }
    let bytes = match root.read(&path, grub::ENV_MAX) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Err(format!("there is no {}", text::path(&path))),
        Err(e) => return Err(e.to_string()),
    };
    Env::parse(&bytes).map_err(|e| format!("{}: {e}", text::path(&path)))?;
    let table = root.read(paths::SELF_MOUNTINFO, MOUNTINFO_LIMIT).map_err(|e| e.to_string())?;
    let (mounts, _) = mountinfo::parse(&table);
    let real = root.resolve(dir).unwrap_or_else(|| dir.to_path_buf());
    let Some(m) = mounts
        .iter()
        .rev()
        .filter(|m| real.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
    else {
        return Err(format!("no mount holds {}", text::path(dir)));
    };
    let on = |what: &str| format!("{} is on {what}, where GRUB cannot clear next_entry at boot", text::path(dir));
    if !GRUB_WRITES.contains(&m.fstype.as_str()) {
        return Err(on(&text::escape(&m.fstype)));
    }
    // The mount's source names its block device: device-mapper (LVM,
    // dm-crypt) and md RAID are what GRUB reads but does not write.
    let source = m.source.as_str();
    if source.starts_with("/dev/mapper/") || source.starts_with("/dev/dm-") {
        return Err(on(&format!("{} (LVM or device-mapper)", text::escape(source))));
    }
    if source.starts_with("/dev/md") {
        return Err(on(&format!("{} (md RAID)", text::escape(source))));
    }
    Ok(())
}

/// The running kernel's systemd-boot entry (a BLS entry or a UKI), the one
/// it was booted from first (`LoaderEntrySelected`).
fn systemd_boot(
    root: &Root,
    release: &str,
    running_root: Option<&str>,
    entries: &[BootEntry],
) -> Result<OneTime, String> {
    let candidates: Vec<&BootEntry> = entries
        .iter()
        .filter(|e| matches!(e.source, Source::Bls | Source::Uki) && e.version == release && e.usable)
        .filter(|e| !e.asks_for_rescue())
        .filter(|e| same_root(e.cmdline.as_deref().and_then(root_of).as_deref(), running_root))
        .collect();
    let selected = efivar_string(root, "LoaderEntrySelected");
    let chosen = candidates
        .iter()
        .find(|e| e.loader_id.is_some() && e.loader_id == selected)
        .or(candidates.iter().find(|e| e.loader_id.is_some()));
    match chosen.and_then(|e| e.loader_id.clone()) {
        Some(entry) => Ok(OneTime { loader: Loader::SystemdBoot, entry, release: release.to_string() }),
        None => Err(format!("the running kernel {} has no systemd-boot entry", text::escape(release))),
    }
}

/// Why a one-time entry could not be set or removed.
#[derive(Debug, thiserror::Error)]
pub enum FallbackError {
    #[error(transparent)]
    Read(#[from] RootError),
    #[error("{}: {source}", path.display())]
    Env { path: PathBuf, source: EnvError },
    #[error("no GRUB directory with grub.cfg is left")]
    NoGrub,
    #[error("{} is a link: it is not edited", path.display())]
    Link { path: PathBuf },
    #[error(transparent)]
    Write(#[from] crate::atomic_file::AtomicFileError),
    #[error("cannot write the EFI variable {name}: {errno}")]
    EfiVar { name: String, errno: nix::errno::Errno },
}

/// The one-time entry as the boot loader holds it now.
pub fn current(root: &Root, loader: Loader) -> Result<Option<String>, FallbackError> {
    match loader {
        Loader::Grub => {
            let path = grubenv_of(&grub_dir(root).ok_or(FallbackError::NoGrub)?);
            let env = Env::parse(&root.read(&path, grub::ENV_MAX)?)
                .map_err(|source| FallbackError::Env { path: path.clone(), source })?;
            Ok(env.get("next_entry").filter(|v| !v.is_empty()))
        }
        Loader::SystemdBoot => Ok(efivar_string(root, "LoaderEntryOneShot")),
    }
}

/// Make the boot loader's one-time entry `value`, or remove it (`None`).
/// GRUB's block is rewritten whole (same size, every other byte kept) into
/// a temporary beside it, fsynced and renamed over it: never through a link.
fn put(root: &Root, sys: &mut dyn System, loader: Loader, value: Option<&str>) -> Result<(), FallbackError> {
    match loader {
        Loader::Grub => {
            let path = grubenv_of(&grub_dir(root).ok_or(FallbackError::NoGrub)?);
            if root.is_symlink(&path) {
                return Err(FallbackError::Link { path });
            }
            let mode = root.file_metadata(&path).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))?;
            let env_error = |source| FallbackError::Env { path: path.clone(), source };
            let mut env = Env::parse(&root.read(&path, grub::ENV_MAX)?).map_err(env_error)?;
            match value {
                Some(v) => env.set("next_entry", v).map_err(env_error)?,
                None => {
                    env.delete("next_entry");
                }
            }
            root.write_file(&path, mode & 0o7777, env.as_bytes())?;
            Ok(())
        }
        Loader::SystemdBoot => {
            let name = efivar_name("LoaderEntryOneShot");
            let result = match value {
                Some(v) => sys.efi_var_set(&name, &efivar_bytes(v)),
                None => sys.efi_var_remove(&name),
            };
            result.map_err(|errno| FallbackError::EfiVar { name, errno })
        }
    }
}

/// A one-time entry as set: what to put back on undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub one_time: OneTime,
    /// The one-time entry that was there before (an administrator's
    /// `grub-reboot`), put back should the machine keep running.
    pub before: Option<String>,
}

/// Set `one_time`, just before the hand-over.
pub fn set(root: &Root, sys: &mut dyn System, one_time: &OneTime) -> Result<Placed, FallbackError> {
    let before = current(root, one_time.loader)?;
    put(root, sys, one_time.loader, Some(&one_time.entry))?;
    Ok(Placed { one_time: one_time.clone(), before })
}

/// Take a one-time entry back when the machine keeps running: what was
/// there before, or nothing.
pub fn undo(root: &Root, sys: &mut dyn System, placed: &Placed) -> Result<(), FallbackError> {
    put(root, sys, placed.one_time.loader, placed.before.as_deref())
}

/// What [`clear`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleared {
    /// It was still there (the boot loader never ran, or could not clear it): removed.
    Removed,
    /// The boot loader consumed it already.
    Gone,
    /// Someone set another one since: left alone.
    Other(String),
}

/// Remove the one-time entry of a warm reboot that is over, if it is still
/// ours, so that the next cold reboot boots the default as before.
pub fn clear(root: &Root, sys: &mut dyn System, one_time: &OneTime) -> Result<Cleared, FallbackError> {
    match current(root, one_time.loader)? {
        None => Ok(Cleared::Gone),
        Some(v) if v != one_time.entry => Ok(Cleared::Other(v)),
        Some(_) => {
            put(root, sys, one_time.loader, None)?;
            Ok(Cleared::Removed)
        }
    }
}

/// Make sure `one_time` is set (a failed check reboots into it).
pub fn ensure(root: &Root, sys: &mut dyn System, one_time: &OneTime) -> Result<(), FallbackError> {
    if current(root, one_time.loader)?.as_deref() != Some(one_time.entry.as_str()) {
        put(root, sys, one_time.loader, Some(&one_time.entry))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
