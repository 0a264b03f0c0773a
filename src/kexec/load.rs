//! Loading: turn a plan into the descriptors `kexec_file_load` takes (the
//! kernel file itself, or a memfd for a UKI's `.linux`; one initrd file, or a
//! memfd with several concatenated), call it, and explain a failure by its
//! errno and the kernel's state files. Where kexec_file_load is missing
//! (arm64 Debian kernels), the native kexec_load path of [`super::arm64`].

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::boot::Source;
use crate::image::{Arch, Format};
use crate::root::Root;
use crate::root::RootError;
use crate::sys::{self, System, KEXEC_FILE_NO_INITRAMFS};

use super::state::KexecState;
use super::syscall::{self, Syscall};
use super::Plan;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read it")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Open(#[from] RootError),
    #[error("cannot make an in-memory file for {what}")]
    Memfd {
        what: &'static str,
        #[source]
        source: Errno,
    },
    #[error("cannot copy {what} into memory")]
    Copy {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: the UKI has no {section} section")]
    MissingSection { path: PathBuf, section: &'static str },
    #[error("{path}: section {section} lies outside the file")]
    SectionOutOfFile { path: PathBuf, section: String },
    #[error("the kernel refused: loading needs root (CAP_SYS_BOOT): run it with sudo")]
    NotPermitted,
    #[error("the kernel refused: kexec is disabled on this boot (kexec_load_disabled is 1)")]
    Disabled,
    #[error("the kernel refused: the kexec load limit of this boot is used up")]
    LimitReached,
    #[error("the kernel refused the image: it is locked down ({mode}) and takes only kernels signed with a key it trusts; sign it, or boot it through the firmware")]
    Lockdown { mode: String },
    #[error("the kernel refused: operation not permitted")]
    PermissionDenied,
    #[error("the kernel rejected the image's signature ({errno}): only kernels signed with a trusted key load here")]
    Signature { errno: Errno },
    #[error("the kernel does not take this image format (ENOEXEC): is it a kernel for this machine?")]
    Format,
    #[error("the kernel found the image, initrd or command line invalid (EINVAL)")]
    Invalid,
    #[error("this kernel has no kexec_file_load (CONFIG_KEXEC_FILE is off): use kexec-tools (`kexec -c -l`) instead")]
    NoKexecFile,
    #[error("another kexec load or unload is in progress (EBUSY): try again")]
    Busy,
    #[error("not enough memory to hold the kernel and initrd (ENOMEM)")]
    NoMemory,
    #[error("kexec_file_load failed")]
    Syscall(#[source] Errno),
    #[error("kexec_file_load succeeded but /sys/kernel/kexec_loaded does not say 1")]
    NotLoaded,
    #[error("cannot read /sys/kernel/kexec_loaded")]
    LoadedUnknown(#[source] io::Error),
    #[error("unloading failed")]
    Unload(#[source] Errno),
    #[error("this kernel has no kexec_file_load (ENOSYS), and kexec_load cannot be used: {why}")]
    NativeRefused { why: String },
    #[error(transparent)]
    Native(#[from] super::arm64::Arm64Error),
    #[error(transparent)]
    Unpack(#[from] super::arm64::unpack::UnpackError),
    #[error("this kernel has neither kexec_file_load nor kexec_load (CONFIG_KEXEC is off)")]
    NoKexec,
    #[error("kexec_load refused the segments ({0}): a segment lies where the kernel does not accept one")]
    NativeSegments(Errno),
}

/// The descriptors and arguments of one `kexec_file_load` call.
#[derive(Debug)]
pub struct Prepared {
    pub kernel: OwnedFd,
    pub initrd: Option<OwnedFd>,
    pub cmdline: CString,
    pub flags: u32,
}

/// What an in-memory file holds, which is also its name in /proc/PID/fd.
#[derive(Debug, Clone, Copy)]
enum Memfd {
    Kernel,
    Initrd,
}

fn open(root: &Root, path: &Path) -> Result<File, LoadError> {
    Ok(root.open_file(path)?)
}

fn new_memfd(what: Memfd) -> Result<File, LoadError> {
    let (name, what) = match what {
        Memfd::Kernel => (c"kexec-chooser-kernel", "the kernel"),
        Memfd::Initrd => (c"kexec-chooser-initrd", "the initrd"),
    };
    sys::memfd(name).map(File::from).map_err(|source| LoadError::Memfd { what, source })
}

/// Copy `len` bytes at `offset` of `file` to the end of `out`.
fn copy_range(file: &mut File, offset: u64, len: u64, out: &mut File, what: &str) -> Result<(), LoadError> {
    let copy_err = |source| LoadError::Copy { what: what.to_string(), source };
    file.seek(SeekFrom::Start(offset)).map_err(copy_err)?;
    let copied = io::copy(&mut file.take(len), out).map_err(copy_err)?;
    if copied != len {
        return Err(copy_err(io::Error::from(io::ErrorKind::UnexpectedEof)));
    }
    Ok(())
}

/// The bytes of a UKI section, bounds-checked against the file.
fn section_into(root: &Root, plan: &Plan, name: &'static str, out: &mut File) -> Result<bool, LoadError> {
    let Some(s) = plan.entry.sections.iter().find(|s| s.name == name) else {
        return Ok(false);
    };
    let kernel = plan.kernel();
    let mut f = open(root, kernel)?;
    let file_len = f.metadata().map_err(|source| LoadError::Read { path: kernel.to_path_buf(), source })?.len();
    if s.offset.checked_add(s.size).map_or(true, |end| end > file_len) {
        return Err(LoadError::SectionOutOfFile { path: kernel.to_path_buf(), section: s.name.clone() });
    }
    copy_range(&mut f, s.offset, s.size, out, name)?;
    Ok(true)
}

fn rewound(mut f: File, what: &str) -> Result<OwnedFd, LoadError> {
    f.flush().and_then(|_| f.rewind()).map_err(|source| LoadError::Copy { what: what.into(), source })?;
    Ok(OwnedFd::from(f))
}

/// Open what `plan` loads. Nothing is loaded yet.
pub fn prepare(root: &Root, plan: &Plan) -> Result<Prepared, LoadError> {
    let path = plan.kernel();
    let uki = plan.entry.source == Source::Uki || plan.entry.format == Format::Uki;
    let kernel = if uki {
        let mut m = new_memfd(Memfd::Kernel)?;
        if !section_into(root, plan, ".linux", &mut m)? {
            return Err(LoadError::MissingSection { path: path.to_path_buf(), section: ".linux" });
        }
        rewound(m, ".linux")?
    } else if plan.state.arch == Some(Arch::Aarch64) && matches!(plan.entry.format, Format::Compressed | Format::Zboot)
    {
        // arm64 loads only the raw Image: unpack Image.gz / zboot into memory.
        let mut data = Vec::new();
        open(root, path)?
            .read_to_end(&mut data)
            .map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
        let image = super::arm64::unpack::unpack(&data)?;
        let mut m = new_memfd(Memfd::Kernel)?;
        m.write_all(&image).map_err(|source| LoadError::Copy { what: "the unpacked kernel".into(), source })?;
        rewound(m, "the unpacked kernel")?
    } else {
        OwnedFd::from(open(root, path)?)
    };

    // A single initrd file goes as it is (no copy); several, or a UKI's
    // embedded one plus extras, are concatenated into one memfd in order:
    // the kernel unpacks concatenated cpio archives one after the other.
    let initrd = match (uki, plan.initrds.as_slice()) {
        (false, []) => None,
        (false, [one]) => Some(OwnedFd::from(open(root, one)?)),
        _ => {
            let mut m = new_memfd(Memfd::Initrd)?;
            let mut any = uki && section_into(root, plan, ".initrd", &mut m)?;
            for path in &plan.initrds {
                let mut f = open(root, path)?;
                io::copy(&mut f, &mut m)
                    .map_err(|source| LoadError::Copy { what: path.display().to_string(), source })?;
                any = true;
            }
            if any {
                Some(rewound(m, "initrd")?)
            } else {
                None
            }
        }
    };
    let cmdline = plan.cmdline.as_c_str().to_owned();
    let flags = if initrd.is_none() { KEXEC_FILE_NO_INITRAMFS } else { 0 };
    Ok(Prepared { kernel, initrd, cmdline, flags })
}

/// Map a failed `kexec_file_load` to its cause, using the state files.
pub fn explain(errno: Errno, state: &KexecState, cap_sys_boot: bool) -> LoadError {
    match errno {
        Errno::EPERM if !cap_sys_boot => LoadError::NotPermitted,
        Errno::EPERM if state.load_disabled == Some(true) => LoadError::Disabled,
        Errno::EPERM if state.limit_used_up() => LoadError::LimitReached,
        Errno::EPERM if state.locked_down() => LoadError::Lockdown { mode: state.lockdown.clone().unwrap_or_default() },
        Errno::EPERM => LoadError::PermissionDenied,
        Errno::EKEYREJECTED | Errno::ENOKEY | Errno::EBADMSG => LoadError::Signature { errno },
        Errno::ENOEXEC => LoadError::Format,
        Errno::EINVAL => LoadError::Invalid,
        Errno::ENOSYS => LoadError::NoKexecFile,
        Errno::EBUSY => LoadError::Busy,
        Errno::ENOMEM => LoadError::NoMemory,
        e => LoadError::Syscall(e),
    }
}

/// Load what `prepared` holds on the machine `state` describes, then check
/// that the kernel says it is loaded: kexec_file_load first; where it is
/// missing (ENOSYS) and the native path exists and lockdown allows it,
/// kexec_load. Returns the syscall that loaded it.
pub fn load(root: &Root, sys: &mut dyn System, prepared: &Prepared, state: &KexecState) -> Result<Syscall, LoadError> {
    let initrd = prepared.initrd.as_ref().map(|f| f.as_fd());
    let used = match sys.kexec_file_load(prepared.kernel.as_fd(), initrd, &prepared.cmdline, prepared.flags) {
        Ok(()) => Syscall::KexecFileLoad,
        Err(Errno::ENOSYS) if syscall::native_supported(state.arch) => {
            if let Some(why) = syscall::native_refused(state, state.arch) {
                return Err(LoadError::NativeRefused { why });
            }
            match super::arm64::load(root, sys, prepared)? {
                Ok(_) => Syscall::KexecLoad,
                Err(Errno::ENOSYS) => return Err(LoadError::NoKexec),
                Err(e @ (Errno::EINVAL | Errno::EADDRNOTAVAIL)) => return Err(LoadError::NativeSegments(e)),
                Err(e) => return Err(explain(e, state, sys.has_cap_sys_boot())),
            }
        }
        Err(errno) => return Err(explain(errno, state, sys.has_cap_sys_boot())),
    };
    if !sys.kexec_loaded().map_err(LoadError::LoadedUnknown)? {
        return Err(LoadError::NotLoaded);
    }
    Ok(used)
}

/// Unload whatever is loaded for kexec; `state` explains a refusal.
pub fn unload(sys: &mut dyn System, state: &KexecState) -> Result<(), LoadError> {
    sys.kexec_unload().map_err(|e| match e {
        Errno::EPERM | Errno::ENOSYS | Errno::EBUSY => explain(e, state, sys.has_cap_sys_boot()),
        e => LoadError::Unload(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Section;
    use crate::kexec::preflight::tests::{machine, plan};
    use crate::sys::fake::Fake;
    use crate::testing::TempRoot;

    fn load_with(m: &TempRoot, p: &Plan) -> Fake {
        let mut fake = Fake::default();
        let prepared = prepare(&m.root(), p).unwrap();
        load(&m.root(), &mut fake, &prepared, &KexecState::read(&m.root())).unwrap();
        fake
    }

    #[test]
    fn one_initrd_is_passed_as_it_is_with_nul_terminated_cmdline() {
        let m = machine();
        let fake = load_with(&m, &plan("6.1.0-9-amd64"));
        let l = fake.loads();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].kernel, b"KERNEL");
        assert_eq!(l[0].initrd.as_deref(), Some(&b"INITRD"[..]));
        assert_eq!(l[0].cmdline, b"root=/dev/vda ro quiet\0");
        assert_eq!(l[0].flags, 0);
        assert!(fake.loaded);
    }

    #[test]
    fn several_initrds_are_concatenated_microcode_first_into_one_memfd() {
        let m = machine();
        m.write("/boot/intel-ucode.img", b"UCODE|");
        let mut p = plan("6.1.0-9-amd64");
        p.initrds.insert(0, "/boot/intel-ucode.img".into());
        let fake = load_with(&m, &p);
        assert_eq!(fake.loads()[0].initrd.as_deref(), Some(&b"UCODE|INITRD"[..]));
    }

    #[test]
    fn no_initrd_sets_kexec_file_no_initramfs() {
        let m = machine();
        let mut p = plan("6.1.0-9-amd64");
        p.initrds.clear();
        let fake = load_with(&m, &p);
        assert_eq!(fake.loads()[0].initrd, None);
        assert_eq!(fake.loads()[0].flags, KEXEC_FILE_NO_INITRAMFS);
    }

    fn uki(m: &TempRoot) -> Plan {
        // A made-up PE: the sections are found by offset, as discovery records them.
        m.write("/boot/efi/EFI/Linux/u.efi", b"MZ....LINUXBYTES..INITRDBYTES..");
        let mut p = plan("6.1.0-9-amd64");
        p.entry.kernel = "/boot/efi/EFI/Linux/u.efi".into();
        p.initrds.clear();
        p.entry.source = Source::Uki;
        p.entry.format = Format::Uki;
        p.entry.initrds.clear();
        p.entry.sections = vec![
            Section { name: ".linux".into(), offset: 6, size: 10 },
            Section { name: ".initrd".into(), offset: 18, size: 11 },
        ];
        p
    }

    #[test]
    fn uki_sections_go_through_memfds() {
        let m = machine();
        let fake = load_with(&m, &uki(&m));
        let l = fake.loads();
        assert_eq!(l[0].kernel, b"LINUXBYTES");
        assert_eq!(l[0].initrd.as_deref(), Some(&b"INITRDBYTES"[..]));
        assert_eq!(l[0].flags, 0);
    }

    #[test]
    fn extra_initrds_follow_the_uki_one() {
        let m = machine();
        let mut p = uki(&m);
        p.initrds = vec!["/boot/initrd.img-6.1.0-9-amd64".into()];
        let fake = load_with(&m, &p);
        assert_eq!(fake.loads()[0].initrd.as_deref(), Some(&b"INITRDBYTESINITRD"[..]));
    }

    #[test]
    fn uki_section_past_the_end_is_an_error_not_a_panic() {
        let m = machine();
        let mut p = uki(&m);
        p.entry.sections[0].size = u64::MAX;
        assert!(matches!(prepare(&m.root(), &p), Err(LoadError::SectionOutOfFile { .. })));
        p.entry.sections.remove(0);
        assert!(matches!(prepare(&m.root(), &p), Err(LoadError::MissingSection { .. })));
    }

    #[test]
    fn errno_is_mapped_to_its_cause() {
        let m = machine();
        let mut s = KexecState::read(&m.root());
        assert!(matches!(explain(Errno::EPERM, &s, false), LoadError::NotPermitted));
        assert!(matches!(explain(Errno::EPERM, &s, true), LoadError::PermissionDenied));
        s.lockdown = Some("integrity".into());
        let e = explain(Errno::EPERM, &s, true);
        assert!(e.to_string().contains("locked down (integrity)"), "{e}");
        s.load_disabled = Some(true);
        assert!(matches!(explain(Errno::EPERM, &s, true), LoadError::Disabled));
        assert!(matches!(explain(Errno::EKEYREJECTED, &s, true), LoadError::Signature { .. }));
        assert!(matches!(explain(Errno::ENOKEY, &s, true), LoadError::Signature { .. }));
        assert!(matches!(explain(Errno::ENOEXEC, &s, true), LoadError::Format));
        assert!(explain(Errno::ENOSYS, &s, true).to_string().contains("kexec-tools"));
        assert!(matches!(explain(Errno::EBUSY, &s, true), LoadError::Busy));
        assert!(matches!(explain(Errno::EIO, &s, true), LoadError::Syscall(Errno::EIO)));
    }

    #[test]
    fn a_refused_load_reports_the_explained_cause() {
        let m = machine();
        let mut fake = Fake { load_error: Some(Errno::ENOEXEC), ..Fake::default() };
        let prepared = prepare(&m.root(), &plan("6.1.0-9-amd64")).unwrap();
        assert!(matches!(load(&m.root(), &mut fake, &prepared, &KexecState::read(&m.root())), Err(LoadError::Format)));
        assert!(!fake.loaded);
    }
}
