//! kexec-chooser's own clean shutdown, for machines without systemd as PID 1
//! (sysvinit, busybox, an initramfs, a rescue shell): stop every process,
//! turn swap off, unmount deepest first, then `reboot(LINUX_REBOOT_CMD_KEXEC)`
//! into the loaded kernel — or, when `confirm` finds a warm boot unhealthy,
//! `reboot(LINUX_REBOOT_CMD_RESTART)` through the firmware to the boot
//! loader's default. Each step is reported, since nothing else will tell
//! what happened.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::sys::{MountEntry, Process, System};

use super::ShutdownError;

/// How often the remaining processes are looked at while waiting, at most.
const POLL: Duration = Duration::from_millis(100);
/// The first look after a signal: most processes are gone within a few
/// milliseconds, and a first look only after 100 ms made every hand-over wait
/// that long. The interval then doubles up to [`POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
/// How long killed processes get to vanish before the shutdown goes on.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Kernel interfaces rather than storage: nothing to flush, and unmounting
/// them would only take away what a failed hand-over needs to carry on.
const API_FILESYSTEMS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "securityfs",
    "cgroup",
    "cgroup2",
    "pstore",
    "efivarfs",
    "debugfs",
    "tracefs",
    "bpf",
    "mqueue",
    "hugetlbfs",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "autofs",
    "rpc_pipefs",
    "nsfs",
    "selinuxfs",
];

#[derive(Debug, Clone)]
pub struct Options {
    /// Between SIGTERM and SIGKILL.
    pub timeout: Duration,
}

fn say(log: &mut dyn Write, msg: std::fmt::Arguments<'_>) {
    // The terminal may be gone (its shell was just stopped): never fail on it.
    // The time since the process started shows which step a slow hand-over waits on.
    let t = START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64();
    let _ = crate::say!(log, "[{t:.2}] {msg}");
}

/// Start the clock of the step reports (before loading, so they show it).
pub fn start_clock() {
    START.get_or_init(std::time::Instant::now);
}

/// Since when the steps are timed.
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The processes to stop: all but this one, PID 1, kernel threads and zombies.
fn targets(sys: &dyn System) -> Result<Vec<Process>, ShutdownError> {
    let own = sys.own_pid();
    Ok(sys
        .processes()
        .map_err(ShutdownError::Processes)?
        .into_iter()
        .filter(|p| p.pid != own && p.pid != 1 && !p.kernel_thread && !p.zombie)
        .collect())
}

fn names(ps: &[Process]) -> String {
    let mut s: Vec<String> = ps.iter().take(8).map(|p| format!("{}[{}]", p.comm, p.pid)).collect();
    if ps.len() > 8 {
        s.push(format!("and {} more", ps.len() - 8));
    }
    s.join(", ")
}

/// Poll until no target is left or `limit` has passed; `show` says who is left once a second.
fn wait_for_exit(
    sys: &mut dyn System,
    log: &mut dyn Write,
    limit: Duration,
    show: bool,
) -> Result<Vec<Process>, ShutdownError> {
    let second = Duration::from_secs(1);
    let mut waited = Duration::ZERO;
    let mut step = FIRST_POLL;
    let mut next_show = second;
    loop {
        let left = targets(sys)?;
        if left.is_empty() || waited >= limit {
            return Ok(left);
        }
        if show && waited >= next_show {
            say(log, format_args!("waiting for {} process(es): {}", left.len(), names(&left)));
            next_show = next_show.saturating_add(second);
        }
        let nap = step.min(limit.saturating_sub(waited));
        sys.sleep(nap);
        waited = waited.saturating_add(nap);
        step = step.saturating_mul(2).min(POLL);
    }
}

fn signal_all(sys: &mut dyn System, ps: &[Process], sig: Signal) {
    for p in ps {
        // ESRCH: it exited meanwhile, which is the point.
        let _ = sys.kill(p.pid, sig);
    }
}

/// The filesystems to unmount, deepest first; later mounts before earlier
/// ones at the same depth, so stacked mounts come off top first.
pub fn unmount_order(mounts: &[MountEntry]) -> Vec<MountEntry> {
    let mut ms: Vec<(usize, MountEntry)> = mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| m.mount_point != Path::new("/") && !API_FILESYSTEMS.contains(&m.fstype.as_str()))
        .map(|(i, m)| (i, m.clone()))
        .collect();
    ms.sort_by(|(ia, a), (ib, b)| {
        b.mount_point.components().count().cmp(&a.mount_point.components().count()).then(ib.cmp(ia))
    });
    ms.into_iter().map(|(_, m)| m).collect()
}

/// Whether losing writes on this filesystem would lose data: it is backed by
/// a device or an image file rather than memory or the network.
fn holds_data(m: &MountEntry) -> bool {
    m.source.starts_with('/')
}

fn unmount_all(sys: &mut dyn System, log: &mut dyn Write) -> Result<(), ShutdownError> {
    let mounts = sys.mounts().map_err(ShutdownError::Mounts)?;
    for m in unmount_order(&mounts) {
        let t = m.mount_point.display();
        match sys.umount(&m.mount_point) {
            Ok(()) => say(log, format_args!("unmounted {t}")),
            Err(e) => match sys.remount_read_only(&m.mount_point) {
                Ok(()) => say(log, format_args!("{t} is busy ({e}): remounted read-only")),
                Err(e2) if holds_data(&m) && !m.read_only => {
                    return Err(ShutdownError::StillWritable { target: m.mount_point.clone(), errno: e2 });
                }
                Err(e2) => say(log, format_args!("{t} ({}) left mounted: {e}, read-only remount: {e2}", m.fstype)),
            },
        }
    }
    Ok(())
}

fn remount_root(sys: &mut dyn System, log: &mut dyn Write) -> Result<(), ShutdownError> {
    let root = PathBuf::from("/");
    let mounts = sys.mounts().map_err(ShutdownError::Mounts)?;
    let entry = mounts.iter().rev().find(|m| m.mount_point == root);
    match sys.remount_read_only(&root) {
        Ok(()) => say(log, format_args!("remounted / read-only")),
        Err(e) => match entry {
            Some(m) if holds_data(m) && !m.read_only => {
                return Err(ShutdownError::StillWritable { target: root, errno: e });
            }
            _ => say(log, format_args!("/ stays as it is ({e}): it holds no disk data")),
        },
    }
    Ok(())
}

/// How the clean shutdown ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `reboot(LINUX_REBOOT_CMD_KEXEC)`: into the loaded kernel.
    Kexec,
    /// `reboot(LINUX_REBOOT_CMD_RESTART)`: through the firmware, to the boot
    /// loader's default.
    Firmware,
}

/// Shut down and jump into the loaded kernel. Returns only on failure.
pub fn handover(sys: &mut dyn System, opts: &Options, log: &mut dyn Write) -> Result<(), ShutdownError> {
    shutdown(sys, opts, log, End::Kexec)
}

/// Shut down cleanly and end as `end` says. Returns only on failure.
pub fn shutdown(sys: &mut dyn System, opts: &Options, log: &mut dyn Write, end: End) -> Result<(), ShutdownError> {
    sys.ignore_hangups().map_err(ShutdownError::Signals)?;
    let what = match end {
        End::Kexec => "direct hand-over",
        End::Firmware => "direct reboot through the firmware",
    };
    say(log, format_args!("{what}: syncing"));
    sys.sync();

    let ps = targets(sys)?;
    say(log, format_args!("sending SIGTERM to {} process(es)", ps.len()));
    signal_all(sys, &ps, Signal::SIGTERM);
    let left = wait_for_exit(sys, log, opts.timeout, true)?;
    if !left.is_empty() {
        say(log, format_args!("sending SIGKILL to {} process(es): {}", left.len(), names(&left)));
        signal_all(sys, &left, Signal::SIGKILL);
        let stuck = wait_for_exit(sys, log, KILL_GRACE, false)?;
        if !stuck.is_empty() {
            say(log, format_args!("still there after SIGKILL (in the kernel): {}", names(&stuck)));
        }
    } else {
        say(log, format_args!("every process has exited"));
    }

    match sys.swaps() {
        Ok(swaps) => {
            for s in swaps {
                match sys.swapoff(&s) {
                    Ok(()) => say(log, format_args!("swap off: {}", s.display())),
                    Err(e) => say(log, format_args!("swap off {} failed: {e}", s.display())),
                }
            }
        }
        Err(e) => say(log, format_args!("cannot read /proc/swaps: {e}")),
    }

    unmount_all(sys, log)?;
    remount_root(sys, log)?;
    sys.sync();
    match end {
        End::Kexec => {
            say(log, format_args!("reboot(LINUX_REBOOT_CMD_KEXEC)"));
            Err(ShutdownError::Reboot(sys.reboot_kexec()))
        }
        End::Firmware => {
            say(log, format_args!("reboot(LINUX_REBOOT_CMD_RESTART)"));
            Err(ShutdownError::RebootFirmware(sys.reboot_firmware()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, Fake};
    use nix::errno::Errno;

    fn opts() -> Options {
        Options { timeout: Duration::from_secs(1) }
    }

    fn machine() -> Fake {
        Fake {
            procs: vec![
                Fake::proc(1, "init"),
                Process { pid: 2, comm: "kthreadd".into(), kernel_thread: true, zombie: false },
                Fake::proc(100, "kexec-chooser"),
                Fake::proc(200, "sshd"),
                Fake::proc(300, "stubborn"),
                Process { pid: 400, comm: "dead".into(), kernel_thread: false, zombie: true },
            ],
            exits_on_term: [200].into(),
            swaps: vec!["/dev/vda2".into()],
            mounts: vec![
                Fake::mount("/", "ext4", "/dev/vda1"),
                Fake::mount("/proc", "proc", "proc"),
                Fake::mount("/mnt", "ext4", "/dev/vdb"),
                Fake::mount("/mnt/deep/er", "ext4", "/dev/vdc"),
                Fake::mount("/run", "tmpfs", "tmpfs"),
            ],
            ..Fake::default()
        }
    }

    fn pos(f: &Fake, c: &Call) -> usize {
        f.calls.iter().position(|x| x == c).unwrap_or_else(|| panic!("no {c:?} in {:?}", f.calls))
    }

    #[test]
    fn sequence_is_sync_term_wait_kill_swapoff_unmount_deepest_first_remount_sync_reboot() {
        let mut f = machine();
        let mut log = Vec::new();
        let r = handover(&mut f, &opts(), &mut log);
        assert!(matches!(r, Err(ShutdownError::Reboot(Errno::EPERM))));
        let first_sync = pos(&f, &Call::Sync);
        let term200 = pos(&f, &Call::Kill(200, Signal::SIGTERM));
        let term300 = pos(&f, &Call::Kill(300, Signal::SIGTERM));
        let kill300 = pos(&f, &Call::Kill(300, Signal::SIGKILL));
        let swapoff = pos(&f, &Call::Swapoff("/dev/vda2".into()));
        let deep = pos(&f, &Call::Umount("/mnt/deep/er".into()));
        let mnt = pos(&f, &Call::Umount("/mnt".into()));
        let root_ro = pos(&f, &Call::RemountReadOnly("/".into()));
        let reboot = pos(&f, &Call::RebootKexec);
        assert_eq!(f.calls[0], Call::IgnoreHangups);
        assert!(first_sync < term200 && term200 < kill300 && term300 < kill300);
        assert!(kill300 < swapoff && swapoff < deep && deep < mnt && mnt < root_ro && root_ro < reboot);
        assert_eq!(f.calls[reboot - 1], Call::Sync);
        // sshd exited on SIGTERM, so it never got SIGKILL.
        assert!(!f.calls.contains(&Call::Kill(200, Signal::SIGKILL)));
        // The timeout was waited out before SIGKILL, exactly, in polls that
        // start at 10 ms and double up to 100 ms.
        let naps: Vec<Duration> = f.calls[..kill300]
            .iter()
            .filter_map(|c| match c {
                Call::Sleep(d) => Some(*d),
                _ => None,
            })
            .collect();
        assert_eq!(naps.iter().sum::<Duration>(), opts().timeout, "{naps:?}");
        let ms: Vec<u128> = naps.iter().map(Duration::as_millis).collect();
        assert_eq!(ms[..5], [10, 20, 40, 80, 100], "{ms:?}");
        assert!(ms.iter().all(|&m| m <= 100), "{ms:?}");
    }

    #[test]
    fn self_pid1_kernel_threads_and_zombies_are_spared() {
        let mut f = machine();
        let _ = handover(&mut f, &opts(), &mut Vec::new());
        for pid in [1, 2, 100, 400] {
            assert!(!f.calls.iter().any(|c| matches!(c, Call::Kill(p, _) if *p == pid)), "{pid} was signalled");
        }
        assert!(!f.calls.contains(&Call::Umount("/proc".into())));
        assert!(!f.calls.contains(&Call::Umount("/".into())));
    }

    #[test]
    fn who_is_left_is_shown_while_waiting() {
        let mut f = machine();
        f.exits_on_term.clear();
        let mut log = Vec::new();
        let _ = handover(&mut f, &Options { timeout: Duration::from_secs(2) }, &mut log);
        let log = String::from_utf8(log).unwrap();
        assert!(log.contains("waiting for 2 process(es): sshd[200], stubborn[300]"), "{log}");
        assert!(log.contains("sending SIGKILL to 2 process(es)"), "{log}");
    }

    #[test]
    fn busy_filesystem_is_remounted_read_only() {
        let mut f = machine();
        f.umount_errors.insert("/mnt".into(), Errno::EBUSY);
        let mut log = Vec::new();
        let _ = handover(&mut f, &opts(), &mut log);
        assert!(f.calls.contains(&Call::RemountReadOnly("/mnt".into())));
        assert!(String::from_utf8(log).unwrap().contains("/mnt is busy"));
        assert!(f.calls.contains(&Call::RebootKexec));
    }

    #[test]
    fn disk_that_stays_writable_stops_the_handover_before_reboot() {
        let mut f = machine();
        f.umount_errors.insert("/mnt".into(), Errno::EBUSY);
        f.remount_errors.insert("/mnt".into(), Errno::EBUSY);
        let r = handover(&mut f, &opts(), &mut Vec::new());
        assert!(matches!(r, Err(ShutdownError::StillWritable { .. })));
        assert!(!f.calls.contains(&Call::RebootKexec));
    }

    #[test]
    fn memory_filesystem_that_stays_mounted_is_reported_not_fatal() {
        let mut f = machine();
        f.umount_errors.insert("/run".into(), Errno::EBUSY);
        f.remount_errors.insert("/run".into(), Errno::EINVAL);
        let mut log = Vec::new();
        let _ = handover(&mut f, &opts(), &mut log);
        assert!(String::from_utf8(log).unwrap().contains("/run (tmpfs) left mounted"));
        assert!(f.calls.contains(&Call::RebootKexec));
    }

    #[test]
    fn the_firmware_end_is_the_same_clean_shutdown_then_a_restart() {
        let mut kexec = machine();
        let _ = handover(&mut kexec, &opts(), &mut Vec::new());
        let mut f = machine();
        let mut log = Vec::new();
        let r = shutdown(&mut f, &opts(), &mut log, End::Firmware);
        assert!(matches!(r, Err(ShutdownError::RebootFirmware(Errno::EPERM))), "{r:?}");
        assert_eq!(f.calls.last(), Some(&Call::RebootFirmware));
        assert!(!f.calls.contains(&Call::RebootKexec));
        // Everything before the last call is the kexec hand-over's sequence.
        assert_eq!(f.calls[..f.calls.len() - 1], kexec.calls[..kexec.calls.len() - 1]);
        let log = String::from_utf8(log).unwrap();
        assert!(log.contains("reboot(LINUX_REBOOT_CMD_RESTART)"), "{log}");
    }

    #[test]
    fn unmount_order_is_deepest_first_and_top_of_stack_first() {
        let ms = vec![
            Fake::mount("/a", "ext4", "/dev/1"),
            Fake::mount("/a/b", "ext4", "/dev/2"),
            Fake::mount("/c", "ext4", "/dev/3"),
            Fake::mount("/a", "ext4", "/dev/4"),
        ];
        let order: Vec<String> = unmount_order(&ms).iter().map(|m| m.source.clone()).collect();
        assert_eq!(order, ["/dev/2", "/dev/4", "/dev/3", "/dev/1"]);
    }
}
