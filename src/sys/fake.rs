//! A recording fake of [`System`] for unit tests: it acts on nothing, keeps a
//! log of every call in order, and can be told to fail chosen calls, so the
//! load and shutdown logic is tested without root and without risk.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;
use std::io::{self, Read, Seek};
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::watchdog::ArmError;
use super::{MountEntry, Process, System};

/// What `kexec_file_load` was given, read back from the descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadCall {
    pub kernel: Vec<u8>,
    pub initrd: Option<Vec<u8>>,
    /// The command line with its NUL, as `cmdline_len` counts it.
    pub cmdline: Vec<u8>,
    pub flags: u32,
}

/// What `kexec_load` was given: each segment's bytes, address and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeLoadCall {
    pub entry: u64,
    pub segments: Vec<(Vec<u8>, u64, u64)>,
    pub flags: u64,
}

/// One side effect, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Load(LoadCall),
    NativeLoad(NativeLoadCall),
    Unload,
    Sync,
    IgnoreHangups,
    Kill(i32, Signal),
    Sleep(Duration),
    Swapoff(PathBuf),
    Umount(PathBuf),
    RemountReadOnly(PathBuf),
    RebootKexec,
    RebootFirmware,
    Run(String, Vec<String>),
    /// Device, timeout.
    WatchdogArm(PathBuf, u32),
    WatchdogDisarm(PathBuf),
    /// Name, attributes and data.
    EfiVarSet(String, Vec<u8>),
    EfiVarRemove(String),
    HoldSignals,
    ReleaseSignals,
    /// NetFn, command, data: what went to the BMC.
    Ipmi(u8, u8, Vec<u8>),
    SetSysctl(PathBuf, String),
}

/// A BMC's watchdog as IPMI 2.0 (section 27) describes it, enough to
/// answer Set, Reset and Get Watchdog Timer as QEMU's ipmi-bmc-sim does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeBmc {
    /// Byte 1 of Set Watchdog Timer: timer use (bits 2..0), don't stop (6).
    pub timer_use: u8,
    pub actions: u8,
    /// The initial countdown, in 100 ms units.
    pub countdown: u16,
    pub running: bool,
    /// Set Watchdog Timer ignores its countdown (a broken BMC), to test the read-back.
    pub ignores_countdown: bool,
}

impl FakeBmc {
    fn answer(&mut self, netfn: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
        match (netfn, cmd, data) {
            (0x06, 0x24, [timer_use, actions, _, _, lsb, msb]) => {
                let running = self.running && timer_use & 0x40 != 0;
                self.timer_use = *timer_use;
                self.actions = *actions;
                if !self.ignores_countdown {
                    self.countdown = u16::from_le_bytes([*lsb, *msb]);
                }
                self.running = running;
                vec![0x00]
            }
            (0x06, 0x22, []) if self.timer_use == 0 => vec![0x80],
            (0x06, 0x22, []) => {
                self.running = true;
                vec![0x00]
            }
            (0x06, 0x25, []) => {
                let [lsb, msb] = self.countdown.to_le_bytes();
                let running = if self.running { 0x40 } else { 0x00 };
                vec![0x00, (self.timer_use & 0x07) | running, self.actions, 0, 0, lsb, msb, lsb, msb]
            }
            _ => vec![0xc1],
        }
    }
}

#[derive(Debug)]
pub struct Fake {
    pub calls: Vec<Call>,
    /// What `acts_on_host` says: true plays the real system, for the
    /// refusals that protect it.
    pub acts_on_host: bool,
    pub loaded: bool,
    pub cap_sys_boot: bool,
    pub pid: i32,
    pub procs: Vec<Process>,
    /// Processes that exit on SIGTERM; the others only on SIGKILL.
    pub exits_on_term: BTreeSet<i32>,
    pub swaps: Vec<PathBuf>,
    pub mounts: Vec<MountEntry>,
    pub load_error: Option<Errno>,
    /// What `kexec_load` fails with.
    pub native_load_error: Option<Errno>,
    pub umount_errors: BTreeMap<PathBuf, Errno>,
    pub remount_errors: BTreeMap<PathBuf, Errno>,
    pub reboot_error: Errno,
    /// Exit code of every program run not in `run_codes`.
    pub run_code: i32,
    /// Exit code of a program by name.
    pub run_codes: BTreeMap<String, i32>,
    /// What arming a watchdog fails with.
    pub watchdog_arm_error: Option<Errno>,
    /// What disarming a watchdog fails with.
    pub watchdog_disarm_error: Option<Errno>,
    /// What writing an EFI variable fails with.
    pub efi_var_error: Option<Errno>,
    /// The BMC behind `/dev/ipmiN`; `None`: no response (a timeout).
    pub bmc: Option<FakeBmc>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            calls: Vec::new(),
            acts_on_host: false,
            loaded: false,
            cap_sys_boot: true,
            pid: 100,
            procs: Vec::new(),
            exits_on_term: BTreeSet::new(),
            swaps: Vec::new(),
            mounts: Vec::new(),
            load_error: None,
            native_load_error: None,
            umount_errors: BTreeMap::new(),
            remount_errors: BTreeMap::new(),
            reboot_error: Errno::EPERM,
            run_code: 0,
            run_codes: BTreeMap::new(),
            watchdog_arm_error: None,
            watchdog_disarm_error: None,
            efi_var_error: None,
            bmc: None,
        }
    }
}

impl Fake {
    pub fn proc(pid: i32, comm: &str) -> Process {
        Process { pid, comm: comm.into(), kernel_thread: false, zombie: false }
    }

    pub fn mount(target: &str, fstype: &str, source: &str) -> MountEntry {
        MountEntry {
            id: 0,
            parent_id: 0,
            major: 0,
            minor: 0,
            root: "/".into(),
            mount_point: target.into(),
            fstype: fstype.into(),
            source: source.into(),
            read_only: false,
        }
    }

    /// The kexec_load calls only.
    pub fn native_loads(&self) -> Vec<&NativeLoadCall> {
        self.calls.iter().filter_map(|c| if let Call::NativeLoad(l) = c { Some(l) } else { None }).collect()
    }

    /// The load calls only.
    pub fn loads(&self) -> Vec<&LoadCall> {
        self.calls.iter().filter_map(|c| if let Call::Load(l) = c { Some(l) } else { None }).collect()
    }
}

fn read_fd(fd: BorrowedFd<'_>) -> Vec<u8> {
    let mut f = std::fs::File::from(fd.try_clone_to_owned().expect("dup"));
    let mut v = Vec::new();
    f.rewind().expect("rewind");
    f.read_to_end(&mut v).expect("read");
    v
}

impl System for Fake {
    fn acts_on_host(&self) -> bool {
        self.acts_on_host
    }

    fn kexec_file_load(
        &mut self,
        kernel: BorrowedFd<'_>,
        initrd: Option<BorrowedFd<'_>>,
        cmdline: &CStr,
        flags: u32,
    ) -> Result<(), Errno> {
        self.calls.push(Call::Load(LoadCall {
            kernel: read_fd(kernel),
            initrd: initrd.map(read_fd),
            cmdline: cmdline.to_bytes_with_nul().to_vec(),
            flags,
        }));
        match self.load_error {
            Some(e) => Err(e),
            None => {
                self.loaded = true;
                Ok(())
            }
        }
    }

    fn kexec_load(&mut self, entry: u64, segments: &[super::kexec_load::Segment<'_>], flags: u64) -> Result<(), Errno> {
        self.calls.push(Call::NativeLoad(NativeLoadCall {
            entry,
            segments: segments.iter().map(|s| (s.buf.to_vec(), s.mem, s.memsz)).collect(),
            flags,
        }));
        match self.native_load_error {
            Some(e) => Err(e),
            None => {
                self.loaded = true;
                Ok(())
            }
        }
    }

    fn kexec_unload(&mut self) -> Result<(), Errno> {
        self.calls.push(Call::Unload);
        self.loaded = false;
        Ok(())
    }

    fn kexec_loaded(&self) -> io::Result<bool> {
        Ok(self.loaded)
    }

    fn has_cap_sys_boot(&self) -> bool {
        self.cap_sys_boot
    }

    fn own_pid(&self) -> i32 {
        self.pid
    }

    fn sync(&mut self) {
        self.calls.push(Call::Sync);
    }

    fn ignore_hangups(&mut self) -> Result<(), Errno> {
        self.calls.push(Call::IgnoreHangups);
        Ok(())
    }

    fn processes(&self) -> io::Result<Vec<Process>> {
        Ok(self.procs.clone())
    }

    fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), Errno> {
        self.calls.push(Call::Kill(pid, signal));
        if signal == Signal::SIGKILL || (signal == Signal::SIGTERM && self.exits_on_term.contains(&pid)) {
            self.procs.retain(|p| p.pid != pid);
        }
        Ok(())
    }

    fn sleep(&mut self, duration: Duration) {
        self.calls.push(Call::Sleep(duration));
    }

    fn swaps(&self) -> io::Result<Vec<PathBuf>> {
        Ok(self.swaps.clone())
    }

    fn swapoff(&mut self, path: &Path) -> Result<(), Errno> {
        self.calls.push(Call::Swapoff(path.to_path_buf()));
        self.swaps.retain(|s| s != path);
        Ok(())
    }

    fn mounts(&self) -> io::Result<Vec<MountEntry>> {
        Ok(self.mounts.clone())
    }

    fn umount(&mut self, target: &Path) -> Result<(), Errno> {
        self.calls.push(Call::Umount(target.to_path_buf()));
        if let Some(e) = self.umount_errors.get(target) {
            return Err(*e);
        }
        self.mounts.retain(|m| m.mount_point != target);
        Ok(())
    }

    fn remount_read_only(&mut self, target: &Path) -> Result<(), Errno> {
        self.calls.push(Call::RemountReadOnly(target.to_path_buf()));
        match self.remount_errors.get(target) {
            Some(e) => Err(*e),
            None => Ok(()),
        }
    }

    fn reboot_kexec(&mut self) -> Errno {
        self.calls.push(Call::RebootKexec);
        self.reboot_error
    }

    fn reboot_firmware(&mut self) -> Errno {
        self.calls.push(Call::RebootFirmware);
        self.reboot_error
    }

    fn run(&mut self, program: &str, args: &[&str]) -> io::Result<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        self.calls.push(Call::Run(program.into(), args.iter().map(|a| a.to_string()).collect()));
        let code = self.run_codes.get(program).copied().unwrap_or(self.run_code);
        Ok(ExitStatus::from_raw(code << 8))
    }

    fn watchdog_arm(&mut self, device: &Path, timeout: u32, _identity: &str) -> Result<u32, ArmError> {
        self.calls.push(Call::WatchdogArm(device.to_path_buf(), timeout));
        match self.watchdog_arm_error {
            Some(errno) => Err(ArmError::Request { path: device.to_path_buf(), request: "WDIOC_SETTIMEOUT", errno }),
            None => Ok(timeout),
        }
    }

    fn watchdog_disarm(&mut self, device: &Path) -> Result<(), ArmError> {
        self.calls.push(Call::WatchdogDisarm(device.to_path_buf()));
        match self.watchdog_disarm_error {
            Some(errno) => Err(ArmError::Request { path: device.to_path_buf(), request: "WDIOC_SETOPTIONS", errno }),
            None => Ok(()),
        }
    }

    fn efi_var_set(&mut self, name: &str, bytes: &[u8]) -> Result<(), Errno> {
        self.calls.push(Call::EfiVarSet(name.to_string(), bytes.to_vec()));
        self.efi_var_error.map_or(Ok(()), Err)
    }

    fn efi_var_remove(&mut self, name: &str) -> Result<(), Errno> {
        self.calls.push(Call::EfiVarRemove(name.to_string()));
        self.efi_var_error.map_or(Ok(()), Err)
    }

    fn hold_signals(&mut self) -> Result<(), Errno> {
        self.calls.push(Call::HoldSignals);
        Ok(())
    }

    fn release_signals(&mut self) {
        self.calls.push(Call::ReleaseSignals);
    }

    fn ipmi(&mut self, _device: &Path, netfn: u8, cmd: u8, data: &[u8]) -> Result<Vec<u8>, super::ipmi::IpmiError> {
        self.calls.push(Call::Ipmi(netfn, cmd, data.to_vec()));
        match &mut self.bmc {
            Some(bmc) => Ok(bmc.answer(netfn, cmd, data)),
            None => Err(super::ipmi::IpmiError::Timeout(Duration::from_secs(5))),
        }
    }

    fn set_sysctl(&mut self, path: &Path, value: &str) -> io::Result<()> {
        self.calls.push(Call::SetSysctl(path.to_path_buf(), value.to_string()));
        Ok(())
    }
}
