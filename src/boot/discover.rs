//! Discovery proper: scan /boot by file naming, Boot Loader Specification
//! entries and unified kernel images, identify every image by its header,
//! merge and de-duplicate, mark the running and default entries, and order
//! newest first.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{bls, grub, paths, version, BootEntry, Root, Source};
use crate::image::{self, Format, Section};

/// The result of discovery: the entries, and what could not be decided.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Newest first.
    pub entries: Vec<BootEntry>,
    /// Why no entry is marked default (GRUB present but its default unresolved).
    pub default_note: Option<String>,
    /// The running release, from `/proc/sys/kernel/osrelease` under the root.
    pub running: Option<String>,
}

/// Read at most `len` bytes from the start of `path`.
pub fn read_head(path: &Path, len: usize) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut buf = Vec::with_capacity(len.min(1 << 20));
    f.take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Read `size` bytes (capped at `cap`) at `offset` of `path`.
pub fn read_at(path: &Path, offset: u64, size: u64, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.take(size.min(cap)).read_to_end(&mut buf)?;
    Ok(buf)
}

/// What the image header of a kernel file says.
#[derive(Debug, Clone)]
struct Inspected {
    format: Format,
    arch: Option<image::Arch>,
    version: Option<String>,
    cmdline_size: Option<u32>,
    sections: Vec<Section>,
    /// Text sections of a UKI.
    uki: Option<UkiText>,
    problem: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct UkiText {
    uname: Option<String>,
    cmdline: Option<String>,
    pretty_name: Option<String>,
}

fn section_text(path: &Path, sections: &[Section], name: &str) -> Option<String> {
    let s = sections.iter().find(|s| s.name == name)?;
    let bytes = read_at(path, s.offset, s.size, 64 * 1024).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    Some(text.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_owned())
}

fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix('=')?;
        Some(v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
    })
}

fn inspect(disk_path: &Path) -> Inspected {
    let mut out = Inspected {
        format: Format::Unknown,
        arch: None,
        version: None,
        cmdline_size: None,
        sections: Vec::new(),
        uki: None,
        problem: None,
    };
    let head = match read_head(disk_path, image::HEAD_LEN) {
        Ok(h) => h,
        Err(e) => {
            out.problem = Some(format!("unreadable: {e}"));
            return out;
        }
    };
    match image::identify(&head) {
        Ok(id) => {
            out.format = id.format.unwrap_or(Format::Unknown);
            out.arch = id.arch;
            out.version = id.version;
            out.cmdline_size = id.cmdline_size;
            out.sections = id.sections;
        }
        Err(e) => {
            out.problem = Some(e.to_string());
            return out;
        }
    }
    if out.format == Format::Uki {
        let osrel = section_text(disk_path, &out.sections, ".osrel").unwrap_or_default();
        let text = UkiText {
            uname: section_text(disk_path, &out.sections, ".uname").filter(|s| !s.is_empty()),
            cmdline: section_text(disk_path, &out.sections, ".cmdline").filter(|s| !s.is_empty()),
            pretty_name: os_release_value(&osrel, "PRETTY_NAME"),
        };
        if let Some(linux) = out.sections.iter().find(|s| s.name == ".linux") {
            if let Ok(inner) = read_at(disk_path, linux.offset, linux.size, image::HEAD_LEN as u64) {
                if let Ok(id) = image::identify(&inner) {
                    out.cmdline_size = id.cmdline_size;
                    out.arch = out.arch.or(id.arch);
                    if out.version.is_none() {
                        out.version = id.version;
                    }
                }
            }
        }
        out.uki = Some(text);
    }
    out
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
        format!("initrd.img-{suffix}"),     // Debian, Ubuntu
        format!("initramfs-{suffix}.img"),  // Fedora, RHEL, Arch
        format!("initramfs-{suffix}"),      // Alpine
        format!("initrd-{suffix}.img"),
        format!("initrd-{suffix}"),         // SUSE
    ]
}

const MICROCODE: [&str; 2] = ["intel-ucode.img", "amd-ucode.img"];

/// A half-made entry before ids are made unique and marks are set.
struct Candidate {
    entry: BootEntry,
    /// Resolved kernel path (system view), for de-duplication.
    real_kernel: PathBuf,
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

fn scan_vmlinuz(root: &Root, out: &mut Vec<Candidate>) {
    let mut names: Vec<PathBuf> = Vec::new();
    let boot = root.path(paths::BOOT);
    for ent in walkdir::WalkDir::new(&boot).min_depth(1).max_depth(1).sort_by_file_name().into_iter().flatten() {
        if let Some(name) = ent.file_name().to_str() {
            if is_kernel_name(name) {
                names.push(Path::new(paths::BOOT).join(name));
            }
        }
    }
    // Debian's symlinks at the top: they point into /boot and de-duplicate.
    for top in ["/vmlinuz", "/vmlinuz.old", "/vmlinux", "/vmlinux.old"] {
        if std::fs::symlink_metadata(root.path(top)).is_ok() {
            names.push(PathBuf::from(top));
        }
    }
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for sys in names {
        let Some(real) = root.resolve(&sys) else {
            continue; // a dangling symlink names nothing to boot
        };
        if !root.path(&real).is_file() || !seen.insert(real.clone()) {
            continue;
        }
        let file_name = real.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let suffix = name_suffix(&file_name).map(str::to_owned);
        let dir = real.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(paths::BOOT));
        let insp = inspect(&root.path(&real));
        let id = suffix.clone().unwrap_or_else(|| file_name.clone());
        let mut e = new_entry(id.clone(), real.clone(), Source::Vmlinuz, &insp);
        settle_version(&mut e, suffix.as_deref(), "the file name");
        if e.version.is_empty() {
            e.version = id.clone();
        }
        let micro: Vec<PathBuf> =
            MICROCODE.iter().map(|m| dir.join(m)).filter(|p| root.path(p).is_file()).collect();
        let find = |s: &str| initrd_candidates(s).into_iter().map(|n| dir.join(n)).find(|p| root.path(p).is_file());
        let main = suffix.as_deref().and_then(find);
        match &main {
            Some(i) => e.initrds = micro.iter().cloned().chain(std::iter::once(i.clone())).collect(),
            None if e.usable => e.problems.push("no initrd found for this kernel".into()),
            None => {}
        }
        // Arch keeps a fallback initramfs (all modules) beside the default one.
        let fallback = suffix
            .as_deref()
            .map(|s| dir.join(format!("initramfs-{s}-fallback.img")))
            .filter(|p| root.path(p).is_file());
        out.push(Candidate { entry: e.clone(), real_kernel: real.clone() });
        if let Some(fb) = fallback {
            let mut f = e;
            f.id = format!("{id}-fallback");
            f.initrds = micro.into_iter().chain(std::iter::once(fb)).collect();
            f.problems.retain(|p| !p.starts_with("no initrd"));
            out.push(Candidate { entry: f, real_kernel: real });
        }
    }
}

/// BLS roots that exist, each once even when one is a symlink to another.
fn bls_roots(root: &Root) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in paths::BLS_ROOTS {
        if let Some(real) = root.resolve(Path::new(r)) {
            if root.path(&real).is_dir() && seen.insert(real.clone()) {
                out.push(real);
            }
        }
    }
    out
}

/// A BLS path is relative to the partition holding the entry; when /boot is
/// not a partition of its own, generated entries may name `/boot/...` too.
fn bls_path(root: &Root, part: &Path, p: &str) -> PathBuf {
    let rel = p.trim_start_matches('/');
    let on_part = part.join(rel);
    if std::fs::symlink_metadata(root.path(&on_part)).is_ok() {
        return root.resolve(&on_part).unwrap_or(on_part);
    }
    let on_root = Path::new("/").join(rel);
    if std::fs::symlink_metadata(root.path(&on_root)).is_ok() {
        return root.resolve(&on_root).unwrap_or(on_root);
    }
    on_part
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !is_backup(n)))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn scan_bls(root: &Root, part: &Path, out: &mut Vec<Candidate>) {
    for conf in sorted_files(&root.path(part.join(paths::BLS_ENTRIES)), "conf") {
        let stem = conf.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let sys_conf = root.system_path(&conf);
        let text = match std::fs::read(&conf) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                let mut entry = new_entry(stem.clone(), sys_conf.clone(), Source::Bls, &unreadable(&e));
                entry.version = stem;
                out.push(Candidate { entry, real_kernel: sys_conf });
                continue;
            }
        };
        let b = bls::parse(&text);
        let Some(linux) = b.linux.as_deref() else {
            // An entry for another kind of image (efi, uki): not ours to load.
            continue;
        };
        let kernel = bls_path(root, part, linux);
        let insp = if root.path(&kernel).is_file() {
            inspect(&root.path(&kernel))
        } else {
            Inspected { problem: Some(format!("{} does not exist", kernel.display())), ..unreadable_plain() }
        };
        let mut e = new_entry(stem.clone(), kernel.clone(), Source::Bls, &insp);
        settle_version(&mut e, b.version.as_deref(), &format!("{}'s version", sys_conf.display()));
        if e.version.is_empty() {
            e.version = stem;
        }
        e.title = b.title.clone();
        e.cmdline = b.options.clone();
        e.sort_key = b.sort_key.clone();
        e.devicetree = b.devicetree.as_deref().map(|d| bls_path(root, part, d));
        for i in &b.initrds {
            let p = bls_path(root, part, i);
            if !root.path(&p).is_file() {
                e.problems.push(format!("initrd {} does not exist", p.display()));
            }
            e.initrds.push(p);
        }
        for k in &b.unsupported {
            e.problems.push(format!("{}: key {k:?} is not supported", sys_conf.display()));
        }
        out.push(Candidate { entry: e, real_kernel: kernel });
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

fn unreadable(e: &std::io::Error) -> Inspected {
    Inspected { problem: Some(format!("unreadable: {e}")), ..unreadable_plain() }
}

fn scan_uki(root: &Root, part: &Path, out: &mut Vec<Candidate>) {
    for efi in sorted_files(&root.path(part.join(paths::UKI_DIR)), "efi") {
        let sys = root.system_path(&efi);
        let stem = efi.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let insp = inspect(&efi);
        let mut e = new_entry(stem.clone(), sys.clone(), Source::Uki, &insp);
        if e.usable && insp.format != Format::Uki {
            e.usable = false;
            e.problems.push(format!("not a unified kernel image (it is {})", insp.format.as_str()));
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
        out.push(Candidate { entry: e, real_kernel: sys });
    }
}

/// Mark the entry GRUB boots by default; give the reason when it cannot be told.
fn mark_grub_default(root: &Root, entries: &mut [BootEntry], real: &[PathBuf]) -> Option<String> {
    let mut found = None;
    for dir in paths::GRUB_DIRS {
        let cfg_path = Path::new(dir).join("grub.cfg");
        match std::fs::read(root.path(&cfg_path)) {
            Ok(b) => {
                found = Some((Path::new(dir).to_path_buf(), String::from_utf8_lossy(&b).into_owned()));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Some(format!("cannot read {}: {e}", cfg_path.display())),
        }
    }
    let (dir, cfg_text) = found?; // no grub.cfg: GRUB is not the boot loader
    let env = std::fs::read(root.path(dir.join("grubenv")))
        .map(|b| grub::parse_env(&String::from_utf8_lossy(&b)))
        .unwrap_or_default();
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
            .filter(|r| root.path(r).is_file())
            .or_else(|| root.resolve(&Path::new(paths::BOOT).join(p.trim_start_matches('/'))))
            .filter(|r| root.path(r).is_file())
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

/// Find every boot entry under `root`. Never fails as a whole: what cannot be
/// read becomes a problem of an entry, or is absent.
pub fn discover(root: &Root) -> Discovery {
    let running = std::fs::read_to_string(root.path(paths::OSRELEASE)).ok().map(|s| s.trim().to_owned());
    let mut bls_c = Vec::new();
    let mut uki_c = Vec::new();
    for part in bls_roots(root) {
        scan_bls(root, &part, &mut bls_c);
        scan_uki(root, &part, &mut uki_c);
    }
    let mut vml_c = Vec::new();
    scan_vmlinuz(root, &mut vml_c);

    // A kernel a BLS entry boots is shown as that entry, not again by name.
    let bls_kernels: HashSet<PathBuf> = bls_c.iter().map(|c| c.real_kernel.clone()).collect();
    vml_c.retain(|c| !bls_kernels.contains(&c.real_kernel));

    let mut all: Vec<Candidate> = bls_c.into_iter().chain(uki_c).chain(vml_c).collect();
    // Identical entries (same kernel, same initrds) collapse into the first.
    let mut seen: HashSet<(PathBuf, Vec<PathBuf>)> = HashSet::new();
    all.retain(|c| seen.insert((c.real_kernel.clone(), c.entry.initrds.clone())));

    for c in &mut all {
        let e = &mut c.entry;
        if e.usable && !e.version.is_empty() && matches!(e.source, Source::Vmlinuz | Source::Bls | Source::Uki) {
            let has_modules = paths::MODULE_DIRS.iter().any(|d| root.path(Path::new(d).join(&e.version)).is_dir());
            if !has_modules {
                e.problems.push(format!("no modules directory /lib/modules/{}", e.version));
            }
        }
        e.running = running.as_deref() == Some(e.version.as_str());
    }

    all.sort_by(|a, b| {
        version::compare(&b.entry.version, &a.entry.version)
            .then_with(|| source_rank(a.entry.source).cmp(&source_rank(b.entry.source)))
            .then_with(|| a.entry.id.cmp(&b.entry.id))
    });

    // Ids unique: a clash takes the source as a prefix, then a number.
    let mut ids: HashSet<String> = HashSet::new();
    for c in &mut all {
        let base = c.entry.id.clone();
        let mut id = base.clone();
        if ids.contains(&id) {
            id = format!("{}:{base}", source_name(c.entry.source));
        }
        let mut n = 2;
        while ids.contains(&id) {
            id = format!("{}:{base}:{n}", source_name(c.entry.source));
            n += 1;
        }
        ids.insert(id.clone());
        c.entry.id = id;
    }

    let real: Vec<PathBuf> = all.iter().map(|c| c.real_kernel.clone()).collect();
    let mut entries: Vec<BootEntry> = all.into_iter().map(|c| c.entry).collect();
    let default_note = mark_grub_default(root, &mut entries, &real);
    Discovery { entries, default_note, running }
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Vmlinuz => "vmlinuz",
        Source::Bls => "bls",
        Source::Uki => "uki",
    }
}

/// Identify a kernel file named by path (a selector that is a path).
pub fn entry_for_path(root: &Root, system_path: &Path) -> Option<BootEntry> {
    let real = root.resolve(system_path)?;
    if !root.path(&real).is_file() {
        return None;
    }
    let insp = inspect(&root.path(&real));
    let name = real.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    let mut e = new_entry(name.clone(), real, Source::Vmlinuz, &insp);
    settle_version(&mut e, name_suffix(&name), "the file name");
    if e.version.is_empty() {
        e.version = name;
    }
    Some(e)
}
