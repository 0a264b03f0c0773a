//! The only module with `unsafe`, raw syscalls and libc: everything that touches
//! the running kernel goes through here.
//!
//! The root-only side effects (load, unload, kill, unmount, swapoff, sync,
//! reboot, running systemctl) sit behind the [`System`] trait so that the
//! kexec and shutdown logic can be tested with the recording fake in
//! [`fake`]; [`Real`] is the one implementation that acts, and only ever runs
//! inside QEMU guests in this project's tests.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;

pub mod efivar;
pub mod in_root;
pub mod interrupt;
pub mod ipmi;
pub mod kexec_load;
pub mod proc;
pub mod random;
pub mod watchdog;

#[cfg(test)]
pub mod fake;

pub use crate::mountinfo::MountEntry;
pub use proc::Process;

/// `kexec_file_load(2)` flags, from include/uapi/linux/kexec.h.
pub const KEXEC_FILE_UNLOAD: u32 = 0x0000_0001;
pub const KEXEC_FILE_NO_INITRAMFS: u32 = 0x0000_0004;

/// The syscall number of `kexec_file_load`: from libc where it has one (x86_64,
/// and aarch64 with glibc); musl's aarch64 table lacks it, so there it is the
/// number of the kernel's generic table (include/uapi/asm-generic/unistd.h,
/// `__NR_kexec_file_load 294`). `None` on architectures not built for.
#[cfg(any(target_arch = "x86_64", all(target_arch = "aarch64", not(target_env = "musl"))))]
pub const SYS_KEXEC_FILE_LOAD: Option<libc::c_long> = Some(libc::SYS_kexec_file_load);
#[cfg(all(target_arch = "aarch64", target_env = "musl"))]
pub const SYS_KEXEC_FILE_LOAD: Option<libc::c_long> = Some(294);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const SYS_KEXEC_FILE_LOAD: Option<libc::c_long> = None;

/// `CAP_SYS_BOOT` from include/uapi/linux/capability.h.
pub const CAP_SYS_BOOT: u32 = 22;

/// The root-only side effects of loading and handing over, so that the logic
/// above them can run against a recording fake.
pub trait System {
    /// Whether this implementation acts on the running kernel (the fake does not).
    fn acts_on_host(&self) -> bool;
    /// `kexec_file_load(kernel, initrd, cmdline, flags)`; `cmdline` goes to the
    /// kernel with its trailing NUL counted in `cmdline_len`.
    fn kexec_file_load(
        &mut self,
        kernel: BorrowedFd<'_>,
        initrd: Option<BorrowedFd<'_>>,
        cmdline: &CStr,
        flags: u32,
    ) -> Result<(), Errno>;
    /// `kexec_load(entry, segments, flags)`: the segments already placed in
    /// physical memory (the arm64 path, where kexec_file_load is missing).
    fn kexec_load(&mut self, entry: u64, segments: &[kexec_load::Segment<'_>], flags: u64) -> Result<(), Errno>;
    /// Unload the kernel loaded for kexec (not the crash kernel).
    fn kexec_unload(&mut self) -> Result<(), Errno>;
    /// Whether a kernel is loaded (`/sys/kernel/kexec_loaded`).
    fn kexec_loaded(&self) -> io::Result<bool>;
    /// Whether this process holds `CAP_SYS_BOOT` in its effective set.
    fn has_cap_sys_boot(&self) -> bool;
    /// This process's id, spared by the direct shutdown.
    fn own_pid(&self) -> i32;
    fn sync(&mut self);
    /// Ignore SIGHUP, SIGTERM and SIGPIPE: the direct shutdown kills the
    /// shell and terminal it may have been started from, and must survive that.
    fn ignore_hangups(&mut self) -> Result<(), Errno>;
    fn processes(&self) -> io::Result<Vec<Process>>;
    fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), Errno>;
    fn sleep(&mut self, duration: Duration);
    /// Active swap areas, from /proc/swaps.
    fn swaps(&self) -> io::Result<Vec<PathBuf>>;
    fn swapoff(&mut self, path: &Path) -> Result<(), Errno>;
    /// The mount table of this process, from /proc/self/mountinfo, in its order.
    fn mounts(&self) -> io::Result<Vec<MountEntry>>;
    fn umount(&mut self, target: &Path) -> Result<(), Errno>;
    fn remount_read_only(&mut self, target: &Path) -> Result<(), Errno>;
    /// `reboot(LINUX_REBOOT_CMD_KEXEC)`: returns only when it failed.
    fn reboot_kexec(&mut self) -> Errno;
    /// `reboot(LINUX_REBOOT_CMD_RESTART)`: through the firmware, to the boot
    /// loader's default. Returns only when it failed.
    fn reboot_firmware(&mut self) -> Errno;
    /// Run a program (never through a shell) and wait for it.
    fn run(&mut self, program: &str, args: &[&str]) -> io::Result<ExitStatus>;
    /// Arm the hardware watchdog `device` with `timeout` seconds and leave it
    /// running (closed without the magic character), after checking that it
    /// is still `identity`. Returns the timeout the driver took.
    fn watchdog_arm(&mut self, device: &Path, timeout: u32, identity: &str) -> Result<u32, watchdog::ArmError>;
    /// Stop the hardware watchdog `device`.
    fn watchdog_disarm(&mut self, device: &Path) -> Result<(), watchdog::ArmError>;
    /// Write the EFI variable `name` (`NAME-GUID`): `bytes` are its
    /// attributes and data, as efivarfs takes them.
    fn efi_var_set(&mut self, name: &str, bytes: &[u8]) -> Result<(), Errno>;
    /// Remove the EFI variable `name`; none there is no error.
    fn efi_var_remove(&mut self, name: &str) -> Result<(), Errno>;
    /// From the moment the safety net is set until the hand-over is over:
    /// Ctrl-C, a closed terminal and `kill` (SIGINT, SIGHUP, SIGTERM,
    /// SIGQUIT) no longer stop this process, so that it can never leave a
    /// net set behind it (docs/reboot.md, "Signals").
    fn hold_signals(&mut self) -> Result<(), Errno>;
    /// The hand-over failed and the net is down: those signals act again.
    fn release_signals(&mut self);
    /// One IPMI request to the BMC through `device` (`/dev/ipmiN`): the
    /// response's data, its completion code first.
    fn ipmi(&mut self, device: &Path, netfn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, ipmi::IpmiError>;
    /// Write `value` to the sysctl at `path` (under /proc/sys).
    fn set_sysctl(&mut self, path: &Path, value: &str) -> io::Result<()>;
}

/// The signals [`System::hold_signals`] holds.
pub const HELD_SIGNALS: [Signal; 4] = [Signal::SIGINT, Signal::SIGHUP, Signal::SIGTERM, Signal::SIGQUIT];

/// Why a program run through [`System::run`] did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("`{command}` could not be run: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("`{command}` failed ({status})")]
    Failed { command: String, status: ExitStatus },
}

/// Run `argv` (a program and its arguments, never through a shell) and
/// judge its exit: the one way commands are run and judged.
pub fn run_checked(sys: &mut dyn System, argv: &[&str]) -> Result<(), CommandError> {
    let command = crate::text::escape(&argv.join(" ")).into_owned();
    let Some((program, args)) = argv.split_first() else {
        return Err(CommandError::Spawn { command, source: io::Error::from(io::ErrorKind::InvalidInput) });
    };
    match sys.run(program, args) {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(CommandError::Failed { command, status }),
        Err(source) => Err(CommandError::Spawn { command, source }),
    }
}

/// The implementation that acts on the running kernel.
#[derive(Debug, Default)]
pub struct Real;

impl System for Real {
    fn acts_on_host(&self) -> bool {
        true
    }

    fn kexec_file_load(
        &mut self,
        kernel: BorrowedFd<'_>,
        initrd: Option<BorrowedFd<'_>>,
        cmdline: &CStr,
        flags: u32,
    ) -> Result<(), Errno> {
        let Some(nr) = SYS_KEXEC_FILE_LOAD else {
            return Err(Errno::ENOSYS);
        };
        let initrd_fd = initrd.map_or(-1, |fd| fd.as_raw_fd());
        // The kernel reads cmdline_len bytes and checks the last is NUL.
        let cmdline_len = cmdline.to_bytes_with_nul().len() as libc::c_ulong;
        // SAFETY: both descriptors are borrowed and stay open for the call;
        // `cmdline` points to `cmdline_len` readable bytes ending in NUL, which
        // the kernel copies before returning; no memory is written.
        let ret = unsafe {
            libc::syscall(
                nr,
                kernel.as_raw_fd() as libc::c_long,
                initrd_fd as libc::c_long,
                cmdline_len,
                cmdline.as_ptr(),
                libc::c_ulong::from(flags),
            )
        };
        Errno::result(ret).map(drop)
    }

    fn kexec_load(&mut self, entry: u64, segments: &[kexec_load::Segment<'_>], flags: u64) -> Result<(), Errno> {
        kexec_load::kexec_load(entry, segments, flags)
    }

    fn kexec_unload(&mut self) -> Result<(), Errno> {
        // A kernel without kexec_file_load (Debian's arm64) unloads through
        // kexec_load with no segments.
        let unload_native = || match kexec_load::arch_flag() {
            Some(arch) => kexec_load::kexec_load(0, &[], arch),
            None => Err(Errno::ENOSYS),
        };
        let Some(nr) = SYS_KEXEC_FILE_LOAD else {
            return unload_native();
        };
        // SAFETY: with KEXEC_FILE_UNLOAD the kernel ignores the descriptors
        // and reads no command line (length 0, null pointer).
        let ret = unsafe {
            libc::syscall(
                nr,
                -1 as libc::c_long,
                -1 as libc::c_long,
                0 as libc::c_ulong,
                std::ptr::null::<libc::c_char>(),
                libc::c_ulong::from(KEXEC_FILE_UNLOAD),
            )
        };
        match Errno::result(ret) {
            Err(Errno::ENOSYS) => unload_native(),
            r => r.map(drop),
        }
    }

    fn kexec_loaded(&self) -> io::Result<bool> {
        let s = std::fs::read_to_string(crate::paths::KEXEC_LOADED)?;
        Ok(s.trim() == "1")
    }

    fn has_cap_sys_boot(&self) -> bool {
        std::fs::read_to_string(crate::paths::SELF_STATUS)
            .ok()
            .and_then(|s| proc::effective_capability(&s, CAP_SYS_BOOT))
            .unwrap_or(false)
    }

    fn own_pid(&self) -> i32 {
        nix::unistd::getpid().as_raw()
    }

    fn sync(&mut self) {
        nix::unistd::sync();
    }

    fn ignore_hangups(&mut self) -> Result<(), Errno> {
        use nix::sys::signal::{signal, SigHandler};
        for sig in [Signal::SIGHUP, Signal::SIGTERM, Signal::SIGPIPE] {
            // SAFETY: SIG_IGN installs no handler code, so nothing can run in
            // signal context and no async-signal-safety rule is at stake.
            unsafe { signal(sig, SigHandler::SigIgn) }?;
        }
        Ok(())
    }

    fn processes(&self) -> io::Result<Vec<Process>> {
        proc::read_processes(Path::new(crate::paths::PROC))
    }

    fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), Errno> {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn swaps(&self) -> io::Result<Vec<PathBuf>> {
        Ok(proc::parse_swaps(&std::fs::read_to_string(crate::paths::SWAPS)?))
    }

    fn swapoff(&mut self, path: &Path) -> Result<(), Errno> {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        let ret = unsafe { libc::swapoff(c.as_ptr()) };
        Errno::result(ret).map(drop)
    }

    fn mounts(&self) -> io::Result<Vec<MountEntry>> {
        // A line that does not parse is left out, as the kernel never writes one.
        Ok(crate::mountinfo::parse(&crate::mountinfo::read(Path::new(crate::paths::SELF_MOUNTINFO))?).0)
    }

    fn umount(&mut self, target: &Path) -> Result<(), Errno> {
        nix::mount::umount2(target, nix::mount::MntFlags::empty())
    }

    fn remount_read_only(&mut self, target: &Path) -> Result<(), Errno> {
        use nix::mount::MsFlags;
        nix::mount::mount(None::<&str>, target, None::<&str>, MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, None::<&str>)
    }

    fn reboot_kexec(&mut self) -> Errno {
        match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_KEXEC) {
            Err(e) => e,
            Ok(never) => match never {},
        }
    }

    fn reboot_firmware(&mut self) -> Errno {
        match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT) {
            Err(e) => e,
            Ok(never) => match never {},
        }
    }

    fn run(&mut self, program: &str, args: &[&str]) -> io::Result<ExitStatus> {
        std::process::Command::new(program).args(args).status()
    }

    fn watchdog_arm(&mut self, device: &Path, timeout: u32, identity: &str) -> Result<u32, watchdog::ArmError> {
        watchdog::arm(device, timeout, Some(identity)).map(|armed| armed.timeout)
    }

    fn watchdog_disarm(&mut self, device: &Path) -> Result<(), watchdog::ArmError> {
        watchdog::disarm(device)
    }

    fn efi_var_set(&mut self, name: &str, bytes: &[u8]) -> Result<(), Errno> {
        efivar::set(name, bytes)
    }

    fn efi_var_remove(&mut self, name: &str) -> Result<(), Errno> {
        efivar::remove(name)
    }

    fn hold_signals(&mut self) -> Result<(), Errno> {
        use nix::sys::signal::{signal, SigHandler};
        for sig in HELD_SIGNALS {
            // SAFETY: SIG_IGN installs no handler code, so nothing can run in
            // signal context.
            unsafe { signal(sig, SigHandler::SigIgn) }?;
        }
        Ok(())
    }

    fn release_signals(&mut self) {
        use nix::sys::signal::{signal, SigHandler};
        for sig in HELD_SIGNALS {
            // SAFETY: SIG_DFL installs no handler code either.
            let _ = unsafe { signal(sig, SigHandler::SigDfl) };
        }
    }

    fn ipmi(&mut self, device: &Path, netfn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, ipmi::IpmiError> {
        // A BMC answers in milliseconds; a busy one within seconds.
        ipmi::request(device, netfn, cmd, data, Duration::from_secs(5))
    }

    fn set_sysctl(&mut self, path: &Path, value: &str) -> io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
        f.write_all(value.as_bytes())
    }
}

/// Run `f` with SIGINT ignored, then put the previous disposition back.
///
/// The prompt library turns a Ctrl-C it reads in raw mode into
/// `raise(SIGINT)`, which would kill the process with the cursor hidden;
/// ignored, the raise is a no-op and the prompt returns an `Interrupted`
/// error instead, so the caller restores the terminal and exits 130.
pub fn with_sigint_ignored<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::signal::{signal, SigHandler};
    // SAFETY: SIG_IGN installs no handler code, so nothing runs in signal context.
    let previous = unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) };
    let out = f();
    if let Ok(previous) = previous {
        // SAFETY: `previous` is the disposition that was in place before, put back as it was.
        let _ = unsafe { signal(Signal::SIGINT, previous) };
    }
    out
}

/// An anonymous in-memory file for what has no file of its own: several
/// initrds concatenated, a UKI's sections, an unpacked image.
pub fn memfd(name: &CStr) -> Result<OwnedFd, Errno> {
    nix::sys::memfd::memfd_create(name, nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfd_holds_what_is_written() {
        use std::io::{Read, Seek, Write};
        let fd = memfd(c"t").unwrap();
        let mut f = std::fs::File::from(fd);
        f.write_all(b"abc").unwrap();
        f.rewind().unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
    }
}
