//! Discovery proper: scan /boot by file naming, Boot Loader Specification
//! entries and unified kernel images, identify every image by its header,
//! merge a kernel found both by name and by a BLS entry, mark the running and
//! default entries, and order newest first.
//!
//! Everything is read through [`Root`]: inside the root, regular files only,
//! each with a size limit. What cannot be read becomes a problem of its entry
//! or a note saying what was ignored and why; discovery itself never fails.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::{bls, grub, version, BootEntry, Source};
use crate::image::{self, Format, Section};
use crate::paths;
use crate::root::{Root, RootError};

/// The most read of `/proc/sys/kernel/osrelease` (a release is at most 64
/// bytes, `__NEW_UTS_LEN`; procfs files are one page).
pub const OSRELEASE_MAX: u64 = 4096;

/// The result of discovery: the entries, and what could not be decided.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Newest first.
    pub entries: Vec<BootEntry>,
    /// Why no entry is marked default (GRUB present but its default unresolved).
    pub default_note: Option<String>,
    /// The running release, from `/proc/sys/kernel/osrelease` under the root.
    pub running: Option<String>,
    /// Files that were ignored, and why (a FIFO named like a kernel, a
    /// `grubenv` over its size): for people, one sentence each.
    pub notes: Vec<String>,
}

/// What the image header of a kernel file says.
#[derive(Debug, Clone)]
struct Inspected {
    format: Format,
    arch: Option<image::Arch>,
    version: Option<String>,
    cmdline_size: Option<u32>,
    sections: Vec<Section>,
    /// What a UKI's text sections say.
    uki: Option<UkiText>,
    problem: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct UkiText {
    uname: Option<String>,
    cmdline: Option<String>,
    pretty_name: Option<String>,
}

/// Identify the open kernel file `f` (named `path`) by its header (and, for a
/// UKI, its text sections), and check that it is as long as the header says:
/// a kernel cut short by a full disk is a problem, never a candidate.
fn inspect(f: &File, path: &Path) -> Inspected {
    let mut out = unreadable_plain();
    match image::identify_file(f, path) {
        Ok(id) => {
            out.format = id.format.unwrap_or(Format::Unknown);
            out.arch = id.arch;
            out.version = id.version;
            out.cmdline_size = id.cmdline_size;
            out.sections = id.sections;
            out.uki = id.uki.map(|u| UkiText {
                uname: u.uname.clone().filter(|s| !s.is_empty()),
                cmdline: u.cmdline.clone().filter(|s| !s.is_empty()),
                pretty_name: u.os_release("PRETTY_NAME"),
            });
        }
        Err(image::FileError::Read { source, .. }) => out.problem = Some(format!("unreadable: {source}")),
        Err(image::FileError::Image { source, .. }) => out.problem = Some(source.to_string()),
        Err(e) => out.problem = Some(e.to_string()),
    }
    out
}

/// [`inspect`] of the file at `path` under the root; a file that cannot be
/// opened (missing, a FIFO, a directory) is a problem of its own.
fn inspect_path(root: &Root, path: &Path) -> Inspected {
    match root.open_file(path) {
        Ok(f) => inspect(&f, path),
        Err(e) if e.is_not_found() => {
            Inspected { problem: Some(format!("{} does not exist", path.display())), ..unreadable_plain() }
        }
        Err(e) => unreadable(&e),
    }
}

/// File names in /boot that are never kernels or initrds to use.
fn is_backup(name: &str) -> bool {
    name.ends_with(".bak")
        || name.ends_with('~')
        || name.contains(".dpkg-")
        || name.ends_with(".sig")
        || name.ends_with(".hmac")
        || name.starts_with('.')
}

fn is_kernel_name(name: &str) -> bool {
    (name.starts_with("vmlinuz") || name.starts_with("vmlinux")) && !is_backup(name)
}

/// The part of a kernel file name after `vmlinuz-` (Debian's flavour/version).
fn name_suffix(name: &str) -> Option<&str> {
    name.strip_prefix("vmlinuz-").or_else(|| name.strip_prefix("vmlinux-")).filter(|s| !s.is_empty())
}

/// Initrd names the distributions give for a kernel suffix, in preference order.
fn initrd_candidates(suffix: &str) -> [String; 5] {
    [
        format!("initrd.img-{suffix}"),    // Debian, Ubuntu
        format!("initramfs-{suffix}.img"), // Fedora, RHEL, Arch
        format!("initramfs-{suffix}"),     // Alpine
        format!("initrd-{suffix}.img"),
        format!("initrd-{suffix}"), // SUSE
    ]
}

const MICROCODE: [&str; 2] = ["intel-ucode.img", "amd-ucode.img"];

/// What a BLS entry adds to the order systemd-boot gives entries.
#[derive(Debug, Clone)]
struct BlsOrder {
    /// The entry's file name, `.conf` included, as systemd-boot's id.
    file_name: String,
    machine_id: Option<String>,
    /// The entry's `version` key as written.
    version: Option<String>,
}

/// A half-made entry before ids are made unique and marks are set.
struct Candidate {
    entry: BootEntry,
    /// Resolved kernel path (system view), for de-duplication.
    real_kernel: PathBuf,
    bls: Option<BlsOrder>,
}

fn new_entry(id: String, kernel: PathBuf, source: Source, insp: &Inspected) -> BootEntry {
    BootEntry {
        id,
        version: insp.version.clone().unwrap_or_default(),
        title: None,
        kernel,
        initrds: Vec::new(),
        cmdline: None,
        devicetree: None,
        source,
        format: insp.format,
        arch: insp.arch,
        cmdline_size: insp.cmdline_size,
        running: false,
        default: false,
        usable: insp.problem.is_none(),
        problems: insp.problem.iter().cloned().collect(),
        sort_key: None,
        sections: insp.sections.clone(),
        loader_id: None,
    }
}

/// A name part that claims a release (`6.1.0-13-amd64`), not a flavour
/// (`linux`, `lts`) or Fedora's `0-rescue-<machine-id>`.
fn looks_like_release(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit()) && s.contains('.')
}

/// Settle the version of an entry: the header's when it has one (a name that
/// disagrees is a problem), else the one from the name or the entry file.
fn settle_version(e: &mut BootEntry, claimed: Option<&str>, what: &str) {
    match (e.version.is_empty(), claimed) {
        (true, Some(c)) => e.version = c.to_owned(),
        (false, Some(c)) if c != e.version && looks_like_release(c) => {
            e.problems.push(format!("{what} says {c}, the image header says {}; using {}", e.version, e.version));
        }
        _ => {}
    }
}

/// The names in directory `dir` under the root; a missing directory has
/// none, one that cannot be read is a note.
fn names_in(root: &Root, dir: &Path, notes: &mut Vec<String>) -> Vec<std::ffi::OsString> {
    match root.read_dir(dir) {
        Ok(n) => n,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            notes.push(format!("ignored: {e}"));
            Vec::new()
        }
    }
}

/// Whether `path` is a regular file to use: `Ok(true)` yes, `Ok(false)`
/// nothing there, `Err` something there that is not one (said as a problem).
/// Not opened: an initrd only root may read is still there for `list`.
fn usable_file(root: &Root, path: &Path) -> Result<bool, String> {
    match root.file_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// The first of `candidates` that is a regular file; problems for those that
/// are there but are something else.
fn first_file(
    root: &Root,
    candidates: impl IntoIterator<Item = PathBuf>,
    problems: &mut Vec<String>,
) -> Option<PathBuf> {
    for p in candidates {
        match usable_file(root, &p) {
            Ok(true) => return Some(p),
            Ok(false) => {}
            Err(why) => problems.push(format!("initrd ignored: {why}")),
        }
    }
    None
}

fn scan_vmlinuz(root: &Root, out: &mut Vec<Candidate>, notes: &mut Vec<String>) {
    let mut names: Vec<(PathBuf, bool)> = Vec::new();
    for name in names_in(root, Path::new(paths::BOOT), notes) {
        if is_kernel_name(&name.to_string_lossy()) {
            names.push((Path::new(paths::BOOT).join(name), true));
        }
    }
    // Debian's symlinks at the top: they point into /boot and de-duplicate.
    for top in ["/vmlinuz", "/vmlinuz.old", "/vmlinux", "/vmlinux.old"] {
        names.push((PathBuf::from(top), false));
    }
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for (sys, in_boot) in names {
        // A kernel named in /boot that cannot be used is said; a missing
        // top-level link is only a machine without it.
        let ignored = |notes: &mut Vec<String>, e: RootError| {
            if in_boot {
                notes.push(format!("ignored: {e}"));
            }
        };
        let Some(real) = root.resolve(&sys) else {
            if let Err(e) = root.metadata(&sys) {
                ignored(notes, e);
            }
            continue; // a dangling symlink names nothing to boot
        };
        if !seen.insert(real.clone()) {
            continue;
        }
        let file = match root.open_file(&real) {
            Ok(f) => f,
            Err(e) => {
                ignored(notes, e);
                continue;
            }
        };
        let file_name = real.file_name().map(OsStr::to_string_lossy).unwrap_or_default().into_owned();
        let suffix = name_suffix(&file_name).map(str::to_owned);
        let dir = real.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(paths::BOOT));
        let insp = inspect(&file, &real);
        let id = suffix.clone().unwrap_or_else(|| file_name.clone());
        let mut e = new_entry(id.clone(), real.clone(), Source::Vmlinuz, &insp);
        settle_version(&mut e, suffix.as_deref(), "the file name");
        if e.version.is_empty() {
            e.version = id.clone();
        }
        let mut micro = Vec::new();
        for m in MICROCODE {
            micro.extend(first_file(root, [dir.join(m)], &mut e.problems));
        }
        let main = suffix
            .as_deref()
            .and_then(|s| first_file(root, initrd_candidates(s).into_iter().map(|n| dir.join(n)), &mut e.problems));
        match &main {
            Some(i) => e.initrds = micro.iter().cloned().chain(std::iter::once(i.clone())).collect(),
            None if e.usable => e.problems.push("no initrd found for this kernel".into()),
            None => {}
        }
        // Arch keeps a fallback initramfs (all modules) beside the default one.
        let mut fallback_problems = Vec::new();
        let fallback = suffix
            .as_deref()
            .and_then(|s| first_file(root, [dir.join(format!("initramfs-{s}-fallback.img"))], &mut fallback_problems));
        out.push(Candidate { entry: e.clone(), real_kernel: real.clone(), bls: None });
        if let Some(fb) = fallback {
            let mut f = e;
            f.id = format!("{id}-fallback");
            f.initrds = micro.into_iter().chain(std::iter::once(fb)).collect();
            f.problems.retain(|p| !p.starts_with("no initrd"));
            out.push(Candidate { entry: f, real_kernel: real, bls: None });
        } else if let Some(last) = out.last_mut() {
            last.entry.problems.extend(fallback_problems);
        }
    }
}

/// BLS roots that exist, each once even when one is a symlink to another.
fn bls_roots(root: &Root) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in paths::BLS_ROOTS {
        if let Some(real) = root.resolve(Path::new(r)) {
            if root.is_dir(&real) && seen.insert(real.clone()) {
                out.push(real);
            }
        }
    }
    out
}

/// `p` with `.` and `..` applied by name, `..` stopping at `/`: how a path
/// that does not resolve is shown, as the root would resolve it.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// A BLS path is relative to the partition holding the entry; when /boot is
/// not a partition of its own, generated entries may name `/boot/...` too.
/// Either way it resolves inside the root.
fn bls_path(root: &Root, part: &Path, p: &str) -> PathBuf {
    let rel = p.trim_start_matches('/');
    let on_part = part.join(rel);
    if let Some(r) = root.resolve(&on_part) {
        return r;
    }
    let on_root = Path::new("/").join(rel);
    root.resolve(&on_root).unwrap_or_else(|| lexical(&on_part))
}

/// The names in `dir` that end in `.ext` (any case) and are not backups.
fn names_with_ext(root: &Root, dir: &Path, ext: &str, notes: &mut Vec<String>) -> Vec<std::ffi::OsString> {
    names_in(root, dir, notes)
        .into_iter()
        .filter(|n| Path::new(n).extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
        .filter(|n| !is_backup(&n.to_string_lossy()))
        .collect()
}

fn scan_bls(root: &Root, part: &Path, out: &mut Vec<Candidate>, notes: &mut Vec<String>) {
    let dir = part.join(paths::BLS_ENTRIES);
    for name in names_with_ext(root, &dir, "conf", notes) {
        // Every entry file is an entry, its id the file name without `.conf`.
        let file_name = name.to_string_lossy().into_owned();
        let stem = Path::new(&name).file_stem().map(OsStr::to_string_lossy).unwrap_or_default().into_owned();
        let sys_conf = dir.join(&name);
        let order = BlsOrder { file_name, machine_id: None, version: None };
        let text = match root.read(&sys_conf, bls::ENTRY_MAX) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                let mut entry = new_entry(stem.clone(), sys_conf.clone(), Source::Bls, &unreadable(&e));
                entry.version = stem;
                out.push(Candidate { entry, real_kernel: sys_conf, bls: Some(order) });
                continue;
            }
        };
        let b = bls::parse(&text);
        let Some(linux) = b.linux.as_deref() else {
            // An entry for another kind of image (efi, uki): not ours to load.
            continue;
        };
        let kernel = bls_path(root, part, linux);
        let insp = inspect_path(root, &kernel);
        let mut e = new_entry(stem.clone(), kernel.clone(), Source::Bls, &insp);
        settle_version(&mut e, b.version.as_deref(), &format!("{}'s version", sys_conf.display()));
        if e.version.is_empty() {
            e.version = stem;
        }
        e.title = b.title.clone();
        e.cmdline = b.options.clone();
        e.sort_key = b.sort_key.clone();
        e.loader_id = Some(name.to_string_lossy().to_lowercase());
        e.devicetree = b.devicetree.as_deref().map(|d| bls_path(root, part, d));
        for i in &b.initrds {
            let p = bls_path(root, part, i);
            match usable_file(root, &p) {
                Ok(true) => {}
                Ok(false) => e.problems.push(format!("initrd {} does not exist", p.display())),
                Err(why) => e.problems.push(format!("initrd: {why}")),
            }
            e.initrds.push(p);
        }
        for k in &b.unsupported {
            e.problems.push(format!("{}: key {k:?} is not supported", sys_conf.display()));
        }
        let order = BlsOrder { machine_id: b.machine_id.clone(), version: b.version.clone(), ..order };
        out.push(Candidate { entry: e, real_kernel: kernel, bls: Some(order) });
    }
}

fn unreadable_plain() -> Inspected {
    Inspected {
        format: Format::Unknown,
        arch: None,
        version: None,
        cmdline_size: None,
        sections: Vec::new(),
        uki: None,
        problem: None,
    }
}

fn unreadable(e: &RootError) -> Inspected {
    Inspected { problem: Some(e.to_string()), ..unreadable_plain() }
}

fn scan_uki(root: &Root, part: &Path, out: &mut Vec<Candidate>, notes: &mut Vec<String>) {
    let dir = part.join(paths::UKI_DIR);
    for name in names_with_ext(root, &dir, "efi", notes) {
        let sys = dir.join(&name);
        let stem = Path::new(&name).file_stem().map(OsStr::to_string_lossy).unwrap_or_default().into_owned();
        let insp = inspect_path(root, &sys);
        let mut e = new_entry(stem.clone(), sys.clone(), Source::Uki, &insp);
        e.loader_id = Some(name.to_string_lossy().to_lowercase());
        if e.usable && insp.format != Format::Uki {
            e.usable = false;
            e.problems.push(format!("not a unified kernel image (it is {})", insp.format));
        }
        if let Some(t) = &insp.uki {
            settle_version(&mut e, t.uname.as_deref(), "the .uname section");
            e.cmdline = t.cmdline.clone();
            e.title = t.pretty_name.clone();
            if !e.sections.iter().any(|s| s.name == ".linux") {
                e.usable = false;
                e.problems.push("no .linux section".into());
            }
        }
        if e.version.is_empty() {
            e.version = stem;
        }
        out.push(Candidate { entry: e, real_kernel: sys, bls: None });
    }
}

/// Mark the entry GRUB boots by default; give the reason when it cannot be told.
fn mark_grub_default(
    root: &Root,
    entries: &mut [BootEntry],
    real: &[PathBuf],
    notes: &mut Vec<String>,
) -> Option<String> {
    let mut found = None;
    for dir in paths::GRUB_DIRS {
        let cfg_path = Path::new(dir).join("grub.cfg");
        match root.read(&cfg_path, grub::CFG_MAX) {
            Ok(b) => {
                found = Some((Path::new(dir).to_path_buf(), String::from_utf8_lossy(&b).into_owned()));
                break;
            }
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Some(e.to_string()),
        }
    }
    let (dir, cfg_text) = found?; // no grub.cfg: GRUB is not the boot loader
                                  // GRUB boots with the defaults of grub.cfg alone when its environment
                                  // block cannot be loaded; so does this.
    let env = match root.read(dir.join("grubenv"), grub::ENV_MAX) {
        Ok(b) => grub::parse_env(&b),
        Err(e) => {
            if !e.is_not_found() {
                notes.push(format!("ignored: {e}"));
            }
            Default::default()
        }
    };
    let cfg = grub::parse_cfg(&cfg_text);
    let value = grub::default_value(&cfg, &env);
    // Fedora's GRUB builds its menu from BLS entries (`blscfg`); its default
    // is then the id of an entry, the file name without `.conf`.
    if cfg_text.contains("blscfg") {
        if let Some(e) = entries.iter_mut().find(|e| e.source == Source::Bls && e.id == value) {
            e.default = true;
            return None;
        }
    }
    let entry = match grub::resolve(&cfg.items, &value) {
        Ok(e) => e,
        Err(e) => return Some(e.to_string()),
    };
    let Some(linux) = entry.linux.as_deref() else {
        return Some(format!("GRUB default {:?} has no linux line", entry.title));
    };
    // GRUB paths are relative to the device GRUB reads: `/boot/...` when /boot
    // is on the root filesystem, `/...` when it is a partition of its own.
    let resolve_grub = |p: &str| -> Option<PathBuf> {
        let direct = Path::new("/").join(p.trim_start_matches('/'));
        root.resolve(&direct)
            .filter(|r| root.is_file(r))
            .or_else(|| root.resolve(&Path::new(paths::BOOT).join(p.trim_start_matches('/'))))
            .filter(|r| root.is_file(r))
    };
    let Some(kernel) = resolve_grub(linux) else {
        return Some(format!("GRUB default {:?} boots {linux}, which does not exist", entry.title));
    };
    let initrds: Vec<PathBuf> = entry.initrds.iter().filter_map(|i| resolve_grub(i)).collect();
    let matching: Vec<usize> = (0..entries.len()).filter(|&i| real.get(i) == Some(&kernel)).collect();
    let best = matching
        .iter()
        .copied()
        .find(|&i| {
            let mine: Vec<PathBuf> =
                entries.get(i).map(|e| e.initrds.iter().filter_map(|p| root.resolve(p)).collect()).unwrap_or_default();
            mine == initrds
        })
        .or_else(|| matching.first().copied());
    match best.and_then(|i| entries.get_mut(i)) {
        Some(e) => {
            e.default = true;
            None
        }
        None => Some(format!("GRUB default {:?} boots {linux}, which is not among the entries", entry.title)),
    }
}

fn source_rank(s: Source) -> u8 {
    match s {
        Source::Bls => 0,
        Source::Uki => 1,
        Source::Vmlinuz => 2,
    }
}

/// The order systemd-boot gives two BLS entries (`boot_entry_compare` in
/// src/boot/efi/boot.c): entries with a `sort-key` first, by sort-key, then
/// machine-id, then `version` newest first; then by file name, newest first
/// as UAPI versions compare. Its default is the first.
fn boot_loader_order(a: &BlsOrder, a_key: Option<&str>, b: &BlsOrder, b_key: Option<&str>) -> Ordering {
    let keyed = match (a_key, b_key) {
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a.machine_id.cmp(&b.machine_id)).then_with(|| {
            version::uapi_compare(b.version.as_deref().unwrap_or(""), a.version.as_deref().unwrap_or(""))
        }),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    keyed.then_with(|| version::uapi_compare(&b.file_name, &a.file_name))
}

/// The list order: newest release first; within a release, BLS entries in
/// the boot loader's order, then UKIs, then kernels found by name.
fn list_order(a: &Candidate, b: &Candidate) -> Ordering {
    version::compare(&b.entry.version, &a.entry.version)
        .then_with(|| source_rank(a.entry.source).cmp(&source_rank(b.entry.source)))
        .then_with(|| match (&a.bls, &b.bls) {
            (Some(x), Some(y)) => boot_loader_order(x, a.entry.sort_key.as_deref(), y, b.entry.sort_key.as_deref()),
            _ => Ordering::Equal,
        })
        .then_with(|| a.entry.id.cmp(&b.entry.id))
}

/// Find every boot entry under `root`. Never fails as a whole: what cannot be
/// read becomes a problem of an entry, a note, or is absent.
pub fn discover(root: &Root) -> Discovery {
    let mut notes = Vec::new();
    let running = match root.read_to_string(paths::OSRELEASE, OSRELEASE_MAX) {
        Ok(s) => Some(s.trim().to_owned()),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            notes.push(format!("ignored: {e}"));
            None
        }
    };
    let mut bls_c = Vec::new();
    let mut uki_c = Vec::new();
    for part in bls_roots(root) {
        scan_bls(root, &part, &mut bls_c, &mut notes);
        scan_uki(root, &part, &mut uki_c, &mut notes);
    }
    let mut vml_c = Vec::new();
    scan_vmlinuz(root, &mut vml_c, &mut notes);

    // A kernel a BLS entry boots is shown as that entry, not again by name.
    // BLS entries are never merged with each other: each file is an entry.
    let bls_kernels: HashSet<PathBuf> = bls_c.iter().map(|c| c.real_kernel.clone()).collect();
    vml_c.retain(|c| !bls_kernels.contains(&c.real_kernel));

    let mut all: Vec<Candidate> = bls_c.into_iter().chain(uki_c).chain(vml_c).collect();
    for c in &mut all {
        let e = &mut c.entry;
        // A release with a `/` is no directory name: never a modules directory.
        if e.usable && !e.version.is_empty() {
            let has_modules = !e.version.contains('/')
                && paths::MODULE_DIRS.iter().any(|d| root.is_dir(Path::new(d).join(&e.version)));
            if !has_modules {
                e.problems.push(format!("no modules directory /lib/modules/{}", e.version));
            }
        }
        e.running = running.as_deref() == Some(e.version.as_str());
    }

    all.sort_by(list_order);

    // Ids unique: a clash takes the source as a prefix, then a number.
    let mut ids: HashSet<String> = HashSet::new();
    for c in &mut all {
        let base = c.entry.id.clone();
        let mut id = base.clone();
        if ids.contains(&id) {
            id = format!("{}:{base}", c.entry.source);
        }
        let mut n = 2;
        while ids.contains(&id) {
            id = format!("{}:{base}:{n}", c.entry.source);
            n += 1;
        }
        ids.insert(id.clone());
        c.entry.id = id;
    }

    let real: Vec<PathBuf> = all.iter().map(|c| c.real_kernel.clone()).collect();
    let mut entries: Vec<BootEntry> = all.into_iter().map(|c| c.entry).collect();
    let default_note = mark_grub_default(root, &mut entries, &real, &mut notes);
    Discovery { entries, default_note, running, notes }
}

/// Identify a kernel file named by path (a selector that is a path).
pub fn entry_for_path(root: &Root, system_path: &Path) -> Option<BootEntry> {
    let real = root.resolve(system_path)?;
    let file = root.open_file(&real).ok()?;
    let insp = inspect(&file, &real);
    let name = real.file_name().map(OsStr::to_string_lossy).unwrap_or_default().into_owned();
    let mut e = new_entry(name.clone(), real, Source::Vmlinuz, &insp);
    settle_version(&mut e, name_suffix(&name), "the file name");
    if e.version.is_empty() {
        e.version = name;
    }
    Some(e)
}
