//! Preflight: every reason a load would fail or leave a machine that cannot
//! boot, checked before anything is loaded, each with its remedy.

use std::path::{Path, PathBuf};

use crate::boot::Source;
use crate::image::{Arch, Format};
use crate::paths;
use crate::root::Root;
use crate::root::RootError;
use crate::sys::System;

use super::Plan;

/// What the person allowed with `--force` and `--no-initrd`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allow {
    /// Go on without a modules directory or without `root=`.
    pub force: bool,
    /// Loading no initrd is wanted.
    pub no_initrd: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("loading a kernel needs root (CAP_SYS_BOOT): run it with sudo")]
    NotPermitted,
    #[error("kexec is disabled on this boot ({} is 1, and stays so until the next boot): reboot through the firmware instead", paths::KEXEC_LOAD_DISABLED)]
    LoadDisabled,
    #[error(
        "the kexec load limit of this boot is used up ({} is 0): reboot through the firmware instead",
        paths::KEXEC_LOAD_LIMIT_REBOOT
    )]
    LoadLimitReached,
    #[error("{kernel}: not a kernel image kexec can load ({why})")]
    NotAKernel { kernel: PathBuf, why: String },
    #[error("{kernel}: a {format} image cannot be loaded by kexec_file_load on {running}")]
    UnsupportedFormat { kernel: PathBuf, format: &'static str, running: &'static str },
    #[error("{kernel}: {why}")]
    CompressedNotSupported { kernel: PathBuf, why: String },
    #[error("{kernel}: built for {arch:?}, but the running kernel is {running}")]
    WrongArch { kernel: PathBuf, arch: Arch, running: &'static str },
    #[error("{kernel}: cannot read it")]
    KernelUnreadable {
        kernel: PathBuf,
        #[source]
        source: RootError,
    },
    #[error("{kernel}: cannot read its header")]
    KernelHeadUnreadable {
        kernel: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("initrd {path} is missing: pass --initrd PATH, or --no-initrd to boot without one")]
    InitrdMissing {
        path: PathBuf,
        #[source]
        source: RootError,
    },
    #[error("initrd {path} is not a regular file ({kind}): pass --initrd PATH, or --no-initrd to boot without one")]
    InitrdNotAFile { path: PathBuf, kind: &'static str },
    #[error("no initrd found for {version}: pass --initrd PATH, or --no-initrd to boot without one")]
    NoInitrd { version: String },
    #[error("no modules directory for {version} (/lib/modules/{version}): it would boot without its modules; pass --force to go on")]
    ModulesMissing { version: String },
    #[error("the command line has no root= and {kernel} has no built-in one: add one with --append root=DEVICE, or pass --force")]
    NoRootArgument { kernel: PathBuf },
}

/// Whether kexec_file_load on `arch` takes a `format` image as it is.
fn format_loadable(format: Format, arch: Option<Arch>) -> bool {
    match (arch, format) {
        // arch/x86/kernel/kexec-bzimage64.c; a UKI's .linux is a bzImage.
        (Some(Arch::X86_64), Format::Bzimage | Format::Uki) => true,
        // arch/arm64/kernel/kexec_image.c takes the raw Image.
        (Some(Arch::Aarch64), Format::Arm64Image | Format::Uki) => true,
        _ => false,
    }
}

fn has_word_with_key(cmdline: &str, key: &str) -> bool {
    cmdline.split_whitespace().any(|w| w.split_once('=').map_or(w, |(k, _)| k) == key)
}

/// Whether the kernel carries a command line of its own that names the root:
/// a UKI's `.cmdline`, or `CONFIG_CMDLINE` in /boot/config-VERSION.
fn builtin_root(root: &Root, plan: &Plan) -> bool {
    let e = &plan.entry;
    if e.source == Source::Uki && e.cmdline.as_deref().is_some_and(|c| has_word_with_key(c, "root")) {
        return true;
    }
    let config = Path::new(paths::BOOT).join(format!("config-{}", e.version));
    super::state::config_lines(root, &config, "CMDLINE").is_ok_and(|c| {
        c.lines()
            .filter_map(|l| l.strip_prefix("CONFIG_CMDLINE="))
            .any(|v| has_word_with_key(v.trim_matches('"'), "root"))
    })
}

/// Check `plan` against the machine under `root`; `Ok` means loading may
/// start. The first refusal of [`findings`] is the error.
pub fn check(root: &Root, sys: &dyn System, plan: &Plan) -> Result<(), PreflightError> {
    match findings(root, sys, plan).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every reason preflight would refuse `plan`, most fundamental first: what
/// a dry run shows, and what [`check`] stops at.
pub fn findings(root: &Root, sys: &dyn System, plan: &Plan) -> Vec<PreflightError> {
    let mut found = Vec::new();
    let state = &plan.state;
    if !sys.has_cap_sys_boot() {
        found.push(PreflightError::NotPermitted);
    }
    if state.load_disabled == Some(true) {
        found.push(PreflightError::LoadDisabled);
    }
    if state.limit_used_up() {
        found.push(PreflightError::LoadLimitReached);
    }
    if let Err(e) = check_image(root, plan) {
        found.push(e);
    }
    found.extend(check_initrds(root, plan));
    let version = &plan.entry.version;
    if !plan.allow.force && !modules_dir_exists(root, version) {
        found.push(PreflightError::ModulesMissing { version: version.clone() });
    }
    if !plan.allow.force && !has_word_with_key(plan.cmdline.as_str(), "root") && !builtin_root(root, plan) {
        found.push(PreflightError::NoRootArgument { kernel: plan.kernel().to_path_buf() });
    }
    found
}

fn modules_dir_exists(root: &Root, version: &str) -> bool {
    paths::MODULE_DIRS.iter().any(|d| root.is_dir(Path::new(d).join(version)))
}

fn check_image(root: &Root, plan: &Plan) -> Result<(), PreflightError> {
    let kernel = plan.kernel().to_path_buf();
    root.open_file(&kernel).map_err(|source| PreflightError::KernelUnreadable { kernel: kernel.clone(), source })?;
    let e = &plan.entry;
    let (arch, running) = (plan.state.arch, plan.state.arch_name);
    match e.format {
        Format::Unknown => {
            let why = if e.problems.is_empty() { "unknown format".to_string() } else { e.problems.join("; ") };
            return Err(PreflightError::NotAKernel { kernel, why });
        }
        // arm64: gzip, zstd and xz (bare or EFI zboot) are unpacked at load.
        Format::Compressed | Format::Zboot if arch == Some(Arch::Aarch64) => {
            let mut head = Vec::new();
            let f = root
                .open_file(&kernel)
                .map_err(|source| PreflightError::KernelUnreadable { kernel: kernel.clone(), source })?;
            if let Err(source) = std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head) {
                return Err(PreflightError::KernelHeadUnreadable { kernel, source });
            }
            if let Err(e) = crate::kexec::arm64::unpack::supported(&head) {
                return Err(PreflightError::CompressedNotSupported { kernel, why: e.to_string() });
            }
        }
        f if !format_loadable(f, arch) => {
            return Err(PreflightError::UnsupportedFormat { kernel, format: f.as_str(), running });
        }
        _ => {}
    }
    if let (Some(a), Some(r)) = (e.arch, arch) {
        if a != r {
            return Err(PreflightError::WrongArch { kernel, arch: a, running });
        }
    }
    if !e.usable {
        let why = if e.problems.is_empty() { "marked unusable".to_string() } else { e.problems.join("; ") };
        return Err(PreflightError::NotAKernel { kernel, why });
    }
    Ok(())
}

fn check_initrds(root: &Root, plan: &Plan) -> Vec<PreflightError> {
    let mut found: Vec<PreflightError> = plan.initrds.iter().filter_map(|i| check_initrd(root, i)).collect();
    let e = &plan.entry;
    let embedded = e.source == Source::Uki && e.sections.iter().any(|s| s.name == ".initrd");
    if plan.initrds.is_empty() && !embedded && !plan.allow.no_initrd && e.initrds.is_empty() {
        found.push(PreflightError::NoInitrd { version: e.version.clone() });
    }
    found
}

/// An initrd is loaded from a regular file: a directory cannot be read, and
/// opening a FIFO would wait forever for a writer.
fn check_initrd(root: &Root, path: &Path) -> Option<PreflightError> {
    match root.file_metadata(path) {
        Ok(_) => None,
        Err(RootError::NotRegular { kind, .. }) => {
            Some(PreflightError::InitrdNotAFile { path: path.to_path_buf(), kind })
        }
        Err(source) => Some(PreflightError::InitrdMissing { path: path.to_path_buf(), source }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::boot::BootEntry;
    use crate::kexec::plan::{CmdlineSource, KernelCmdline};
    use crate::kexec::KexecState;
    use crate::sys::fake::Fake;
    use crate::testing::TempRoot;
    use std::path::Path;

    /// A machine root with one bzImage-named kernel, an initrd and modules.
    pub(crate) fn machine() -> TempRoot {
        let m = TempRoot::new();
        m.write("/boot/vmlinuz-6.1.0-9-amd64", b"KERNEL");
        m.write("/boot/initrd.img-6.1.0-9-amd64", b"INITRD");
        m.mkdir("/lib/modules/6.1.0-9-amd64");
        m.write("/proc/sys/kernel/kexec_load_disabled", b"0\n");
        m
    }

    pub(crate) fn entry(version: &str) -> BootEntry {
        BootEntry {
            id: version.into(),
            version: version.into(),
            title: None,
            kernel: format!("/boot/vmlinuz-{version}").into(),
            initrds: vec![format!("/boot/initrd.img-{version}").into()],
            cmdline: None,
            devicetree: None,
            source: Source::Vmlinuz,
            format: if cfg!(target_arch = "aarch64") { Format::Arm64Image } else { Format::Bzimage },
            arch: crate::kexec::state::running_arch().0,
            cmdline_size: Some(2047),
            running: false,
            default: false,
            usable: true,
            problems: vec![],
            sort_key: None,
            sections: vec![],
            loader_id: None,
        }
    }

    /// The plan to load `version` with `root=/dev/vda ro quiet`, on a
    /// machine of which nothing is known yet (see [`on`]).
    pub(crate) fn plan(version: &str) -> Plan {
        let e = entry(version);
        Plan {
            initrds: e.initrds.clone(),
            cmdline: KernelCmdline::new("root=/dev/vda ro quiet", &e.kernel, None).unwrap(),
            cmdline_source: CmdlineSource::Given,
            syscall: crate::kexec::syscall::Choice {
                syscall: crate::kexec::syscall::Syscall::KexecFileLoad,
                reason: "a test".into(),
            },
            mode: None,
            allow: Allow::default(),
            state: KexecState::default(),
            entry: e,
            mark: "ab12".into(),
            net: crate::safety::net::Net::default(),
        }
    }

    /// `p` as planned on `m` as it is now, with `allow`.
    pub(crate) fn on(m: &TempRoot, p: &Plan, allow: Allow) -> Plan {
        let mut p = p.clone();
        p.state = KexecState::read(&m.root());
        p.allow = allow;
        p
    }

    fn check_on(m: &TempRoot, p: &Plan, allow: Allow) -> Result<(), PreflightError> {
        check(&m.root(), &Fake::default(), &on(m, p, allow))
    }

    fn err(m: &TempRoot, p: &Plan, allow: Allow) -> String {
        check_on(m, p, allow).unwrap_err().to_string()
    }

    #[test]
    fn a_complete_plan_passes() {
        let m = machine();
        check_on(&m, &plan("6.1.0-9-amd64"), Allow::default()).unwrap();
    }

    #[test]
    fn without_cap_sys_boot_nothing_is_loaded() {
        let m = machine();
        let fake = Fake { cap_sys_boot: false, ..Fake::default() };
        let e = check(&m.root(), &fake, &on(&m, &plan("6.1.0-9-amd64"), Allow::default())).unwrap_err();
        assert!(matches!(e, PreflightError::NotPermitted));
        assert!(e.to_string().contains("sudo"));
    }

    #[test]
    fn disabled_kexec_is_refused() {
        let m = machine();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        assert!(err(&m, &plan("6.1.0-9-amd64"), Allow::default()).contains("kexec_load_disabled is 1"));
    }

    #[test]
    fn used_up_load_limit_is_refused() {
        let m = machine();
        m.write("/proc/sys/kernel/kexec_load_limit_reboot", b"0\n");
        assert!(err(&m, &plan("6.1.0-9-amd64"), Allow::default()).contains("limit"));
        m.write("/proc/sys/kernel/kexec_load_limit_reboot", b"-1\n");
        check_on(&m, &plan("6.1.0-9-amd64"), Allow::default()).unwrap();
    }

    #[test]
    fn unknown_format_is_refused_with_its_problems() {
        let m = machine();
        let mut p = plan("6.1.0-9-amd64");
        p.entry.format = Format::Unknown;
        p.entry.usable = false;
        p.entry.problems = vec!["no bzImage header".into()];
        let e = err(&m, &p, Allow::default());
        assert!(e.contains("not a kernel image") && e.contains("no bzImage header"), "{e}");
    }

    #[test]
    fn elf_images_are_refused_as_unsupported() {
        let m = machine();
        let mut p = plan("6.1.0-9-amd64");
        p.entry.format = Format::Elf;
        assert!(err(&m, &p, Allow::default()).contains("a elf image cannot be loaded"));
    }

    #[test]
    fn foreign_architecture_is_refused() {
        let m = machine();
        let mut p = plan("6.1.0-9-amd64");
        p.entry.arch = Some(Arch::Riscv64);
        assert!(err(&m, &p, Allow::default()).contains("Riscv64"));
    }

    #[test]
    fn missing_initrd_is_refused_unless_no_initrd() {
        let m = machine();
        let mut p = plan("6.1.0-9-amd64");
        p.initrds = vec![Path::new("/boot/initrd.img-gone").into()];
        assert!(err(&m, &p, Allow::default()).contains("initrd /boot/initrd.img-gone is missing"));
        let mut p = plan("6.1.0-9-amd64");
        p.initrds.clear();
        p.entry.initrds.clear();
        assert!(err(&m, &p, Allow::default()).contains("no initrd found"));
        check_on(&m, &p, Allow { no_initrd: true, force: false }).unwrap();
    }

    #[test]
    fn missing_modules_directory_needs_force() {
        let m = machine();
        std::fs::remove_dir(m.at("lib/modules/6.1.0-9-amd64")).unwrap();
        let p = plan("6.1.0-9-amd64");
        assert!(err(&m, &p, Allow::default()).contains("--force"));
        check_on(&m, &p, Allow { force: true, no_initrd: false }).unwrap();
        std::fs::create_dir_all(m.at("usr/lib/modules/6.1.0-9-amd64")).unwrap();
        check_on(&m, &p, Allow::default()).unwrap();
    }

    #[test]
    fn command_line_without_root_needs_force_or_a_builtin_one() {
        let m = machine();
        let mut p = plan("6.1.0-9-amd64");
        p.cmdline = KernelCmdline::new("quiet rootwait", &p.entry.kernel, None).unwrap();
        assert!(err(&m, &p, Allow::default()).contains("no root="));
        check_on(&m, &p, Allow { force: true, no_initrd: false }).unwrap();
        m.write("/boot/config-6.1.0-9-amd64", b"CONFIG_CMDLINE=\"root=/dev/sda1\"\n");
        check_on(&m, &p, Allow::default()).unwrap();
    }

    #[test]
    fn an_initrd_that_is_a_directory_or_a_fifo_is_refused_without_blocking() {
        let m = machine();
        std::fs::create_dir_all(m.at("boot/dir.img")).unwrap();
        nix::unistd::mkfifo(&m.at("boot/fifo.img"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        for (name, kind) in [("/boot/dir.img", "a directory"), ("/boot/fifo.img", "a FIFO")] {
            let mut p = plan("6.1.0-9-amd64");
            p.initrds = vec![name.into()];
            let e = err(&m, &p, Allow::default());
            assert!(e.contains(name) && e.contains(kind), "{e}");
        }
    }

    #[test]
    fn findings_list_every_refusal_in_order() {
        let m = machine();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        std::fs::remove_dir(m.at("lib/modules/6.1.0-9-amd64")).unwrap();
        let mut p = plan("6.1.0-9-amd64");
        p.initrds = vec!["/boot/initrd.img-gone".into()];
        let fake = Fake { cap_sys_boot: false, ..Fake::default() };
        let found = findings(&m.root(), &fake, &on(&m, &p, Allow::default()));
        let kinds: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 4, "{kinds:?}");
        assert!(matches!(found[0], PreflightError::NotPermitted));
        assert!(matches!(found[1], PreflightError::LoadDisabled));
        assert!(matches!(found[2], PreflightError::InitrdMissing { .. }));
        assert!(matches!(found[3], PreflightError::ModulesMissing { .. }));
    }
}
