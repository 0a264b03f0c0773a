//! The software net, for machines with no usable hardware watchdog — most
//! virtual machines, and every one on Debian's cloud kernels, which build
//! no watchdog driver but softdog. One kind of guard of the safety net
//! ([`super::net`]), set entirely on the new kernel's command line for this
//! warm boot only:
//!
//! * `panic=N`: a kernel panic reboots after N seconds instead of hanging;
//!   Debian's initramfs-tools also reboots (after N s) instead of dropping
//!   to a shell when `panic=` is set, so a missing root comes back;
//! * `modules_load=softdog softdog.soft_margin=S softdog.soft_active_on_boot=1`
//!   with `watchdog.handle_boot_enabled=0`: systemd-modules-load loads
//!   softdog early in the boot (it reads `modules_load=` from the command
//!   line), softdog starts its timer as it loads, and the watchdog core does
//!   not feed it, so a boot that hangs after the root is mounted and before
//!   `confirm` is reset after S seconds.
//!
//! `confirm` stops softdog and puts `kernel.panic` back to its value before
//! the warm reboot. What it cannot catch (docs/watchdog.md, "The software
//! net"): a hang with interrupts off before softdog is loaded, a hang in
//! the firmware-less jump itself (purgatory), a boot that never runs
//! systemd-modules-load (no systemd: then only a panic comes back), and a
//! kernel so wedged that softdog's timer never runs. `softlockup_panic`
//! and `hung_task_panic` are not set: under a loaded hypervisor a healthy
//! boot can trip either, and a false reset is worse than a later one.

use crate::paths;
use crate::root::Root;
use crate::sys::System;

use super::watchdog::{TargetModules, CORE_MODULE};

/// The module and its identity (`watchdog_info.identity`).
pub const SOFTDOG: &str = "softdog";
pub const SOFTDOG_IDENTITY: &str = "Software Watchdog";

/// The software net for one warm reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// softdog's margin and panic's delay, in seconds.
    pub timeout: u32,
    /// The new kernel has softdog: a hang after the root is mounted comes back too.
    pub softdog: bool,
    /// `kernel.panic` of the running kernel, put back by `confirm`.
    pub panic_before: Option<String>,
}

/// The software net into a kernel with `target`'s modules.
pub fn choose(root: &Root, target: &TargetModules, timeout: u32) -> Choice {
    let softdog = !target.known || target.loadable.contains(SOFTDOG) || target.builtin.contains(SOFTDOG);
    let panic_before = root.read_to_string(paths::SYSCTL_PANIC, 4096).ok().map(|s| s.trim().to_string());
    Choice { timeout, softdog, panic_before }
}

/// What the new kernel's command line gets.
pub fn new_kernel_words(c: &Choice) -> Vec<String> {
    let mut words = vec![format!("panic={}", c.timeout)];
    if c.softdog {
        words.extend([
            format!("modules_load={SOFTDOG}"),
            format!("{SOFTDOG}.soft_margin={}", c.timeout),
            format!("{SOFTDOG}.soft_active_on_boot=1"),
            format!("{CORE_MODULE}.handle_boot_enabled=0"),
        ]);
    }
    words
}

/// What the plan says.
pub fn describe(c: &Choice, then: &str) -> String {
    let what = if c.softdog {
        "a panic, a missing root or a hang after the root is mounted"
    } else {
        "a panic or a missing root (the new kernel has no softdog: a hang is not caught)"
    };
    format!("software only (no hardware watchdog): {what} reboots after {} s into {then}", c.timeout)
}

/// Put `kernel.panic` back as it was before the warm reboot.
pub fn restore_panic(sys: &mut dyn System, before: &str) -> Result<(), String> {
    sys.set_sysctl(std::path::Path::new(paths::SYSCTL_PANIC), before)
        .map_err(|e| format!("cannot put kernel.panic back to {before}: {e}"))
}
