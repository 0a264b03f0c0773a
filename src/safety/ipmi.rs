//! The BMC's watchdog, one kind of guard of the safety net ([`super::net`]).
//!
//! Rack servers carry a BMC (iDRAC, iLO, XClarity, Supermicro's) whose IPMI
//! watchdog runs outside the host: it keeps counting across a kexec without
//! any help, and resets the machine through the BMC even when the host's
//! chipset is wedged — which is why it is preferred over a chipset watchdog
//! (docs/watchdog.md, "Which watchdog"). kexec-chooser drives it with three
//! commands of IPMI 2.0 (section 27, NetFn App) over `/dev/ipmiN`:
//!
//! * Set Watchdog Timer (0x24): timer use SMS/OS, action hard reset, the
//!   countdown in 100 ms units;
//! * Reset Watchdog Timer (0x22): start it;
//! * Get Watchdog Timer (0x25): read it back before saying it is armed.
//!
//! The new kernel must neither stop nor feed it before `confirm`: its
//! command line gets `modprobe.blacklist=ipmi_watchdog`. Where the running
//! kernel's `ipmi_watchdog` drives it and nobody holds `/dev/watchdog`, that
//! driver is unloaded before arming and loaded again after the confirmation
//! (its reboot handler would otherwise reprogram the timer on the way into
//! the kexec); where a process holds it, the BMC is passed over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::paths;
use crate::root::Root;
use crate::sys::{run_checked, System};
use crate::text;

use super::watchdog::{self, TargetModules};

const NETFN_APP: u8 = 0x06;
const SET_WATCHDOG: u8 = 0x24;
const RESET_WATCHDOG: u8 = 0x22;
const GET_WATCHDOG: u8 = 0x25;
/// Timer use: SMS/OS (bits 2..0).
const SMS_OS: u8 = 0x04;
/// Timer use bit 6: in Set, "don't stop" a running timer; in Get, running.
const RUNNING: u8 = 0x40;
/// Timer actions: hard reset on expiry (bits 2..0), no pre-timeout interrupt.
const HARD_RESET: u8 = 0x01;
/// Expiration flags to clear: SMS/OS (bit 4).
const CLEAR_SMS_OS: u8 = 0x10;
/// The countdown is 16 bits of 100 ms: 6553.5 s at the most.
pub const MAX_TIMEOUT: u32 = 6553;
/// The module that gives `/dev/ipmiN`.
pub const DEVINTF: &str = "ipmi_devintf";
/// The driver that runs the BMC's watchdog as `/dev/watchdog`.
pub const WATCHDOG_DRIVER: &str = "ipmi_watchdog";
/// How long the device node may take to appear after `modprobe ipmi_devintf`.
const APPEAR_WAIT: Duration = Duration::from_secs(5);
const APPEAR_POLL: Duration = Duration::from_millis(100);

/// The BMC's watchdog to arm, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// `/dev/ipmi0`.
    pub device: PathBuf,
    pub timeout: u32,
    /// The interface exists but its device node does not: `modprobe
    /// ipmi_devintf` first.
    pub load_devintf: bool,
    /// `ipmi_watchdog` runs it, unheld: unloaded before arming, loaded back
    /// after the confirmation.
    pub unload_driver: bool,
}

/// Whether the machine has an IPMI system interface the kernel drives, and
/// its device node if there is one.
fn interface(root: &Root) -> (bool, Option<PathBuf>) {
    let node = Path::new(paths::DEV).join("ipmi0");
    let has_node = root.metadata(&node).is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_char_device(&m.file_type()));
    let in_class = root.read_dir(paths::SYS_CLASS_IPMI).is_ok_and(|n| !n.is_empty());
    let bound = paths::IPMI_INTERFACE_DRIVERS.iter().any(|d| {
        root.read_dir(d).is_ok_and(|names| {
            names
                .iter()
                .any(|n| !matches!(n.to_str(), Some("bind" | "unbind" | "uevent" | "module" | "new_id" | "remove_id")))
        })
    });
    (has_node || in_class || bound, has_node.then_some(node))
}

fn module_loaded(root: &Root, name: &str) -> bool {
    root.is_dir(Path::new(paths::SYS_MODULE).join(name))
}

/// Whether a kernel whose modules are `m` has `name`, loadable or built in
/// (unknown modules: assume so, as for the other watchdogs).
fn has_module(m: &TargetModules, name: &str) -> bool {
    !m.known || m.loadable.contains(name) || m.builtin.contains(name)
}

/// The BMC's watchdog for a warm reboot into a kernel with `target`'s
/// modules, the running kernel's being `running`: `Ok(None)` when the
/// machine has no IPMI interface, `Err` why it cannot be used.
pub fn choose(
    root: &Root,
    running: &TargetModules,
    target: &TargetModules,
    wanted: Option<u32>,
) -> Result<Option<Choice>, String> {
    let (present, node) = interface(root);
    if !present {
        return Ok(None);
    }
    let load_devintf = node.is_none();
    if load_devintf && !has_module(running, DEVINTF) {
        return Err(format!("there is no /dev/ipmi0 and the running kernel has no {DEVINTF} module"));
    }
    if !has_module(target, DEVINTF) {
        return Err(format!("the new kernel has no {DEVINTF} module, so confirm could not stop it"));
    }
    let unload_driver = module_loaded(root, WATCHDOG_DRIVER);
    if unload_driver {
        if !root.exists(Path::new(paths::SYS_MODULE).join(WATCHDOG_DRIVER).join("initstate")) {
            return Err(format!("{WATCHDOG_DRIVER} is built into the running kernel and drives it"));
        }
        let (holders, _) = watchdog::open_files(root, |t| t == Path::new(paths::LEGACY_WATCHDOG));
        if !holders.is_empty() {
            let who: Vec<String> =
                holders.iter().map(|(h, _)| format!("{} (pid {})", text::escape(&h.comm), h.pid)).collect();
            return Err(format!("{WATCHDOG_DRIVER} drives it and {} holds /dev/watchdog", who.join(", ")));
        }
    }
    let timeout = match wanted {
        Some(w) if !(1..=MAX_TIMEOUT).contains(&w) => {
            return Err(format!("{w} s is outside its range 1..{MAX_TIMEOUT} s"));
        }
        Some(w) => w,
        None => watchdog::DEFAULT_TIMEOUT,
    };
    let device = node.unwrap_or_else(|| Path::new(paths::DEV).join("ipmi0"));
    Ok(Some(Choice { device, timeout, load_devintf, unload_driver }))
}

/// The words the new kernel's command line needs: its `ipmi_watchdog` must
/// not take the timer over before `confirm`.
pub fn new_kernel_words() -> Vec<String> {
    vec![format!("modprobe.blacklist={WATCHDOG_DRIVER}")]
}

/// Set Watchdog Timer's data: use SMS/OS (`RUNNING`: don't stop it), the
/// action, no pre-timeout, clear the SMS/OS expiration flag, the countdown.
pub fn set_data(timeout: u32, keep_running: bool, action: u8) -> [u8; 6] {
    let tenths = u16::try_from(timeout.saturating_mul(10)).unwrap_or(u16::MAX);
    let [lsb, msb] = tenths.to_le_bytes();
    let timer_use = if keep_running { SMS_OS | RUNNING } else { SMS_OS };
    [timer_use, action, 0x00, CLEAR_SMS_OS, lsb, msb]
}

/// What Get Watchdog Timer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub running: bool,
    pub sms_os: bool,
    pub hard_reset: bool,
    /// The initial countdown, in 100 ms units.
    pub countdown: u16,
}

/// A response's data checked: completion code 0, then the rest.
fn completed(what: &str, response: &[u8]) -> Result<Vec<u8>, String> {
    match response.split_first() {
        Some((0, rest)) => Ok(rest.to_vec()),
        Some((cc, _)) => Err(format!("{what}: the BMC answered completion code {cc:#04x}")),
        None => Err(format!("{what}: the BMC answered nothing")),
    }
}

fn call(sys: &mut dyn System, device: &Path, what: &str, cmd: u8, data: &[u8]) -> Result<Vec<u8>, String> {
    let r = sys.ipmi(device, NETFN_APP, cmd, data).map_err(|e| format!("{what}: {e}"))?;
    completed(what, &r)
}

/// Get Watchdog Timer, parsed.
pub fn get(sys: &mut dyn System, device: &Path) -> Result<State, String> {
    let d = call(sys, device, "Get Watchdog Timer", GET_WATCHDOG, &[])?;
    let (Some(&timer_use), Some(&actions), Some(&lsb), Some(&msb)) = (d.first(), d.get(1), d.get(4), d.get(5)) else {
        return Err(format!("Get Watchdog Timer: {} bytes of data, not 8", d.len()));
    };
    Ok(State {
        running: timer_use & RUNNING != 0,
        sms_os: timer_use & 0x07 == SMS_OS,
        hard_reset: actions & 0x07 == HARD_RESET,
        countdown: u16::from_le_bytes([lsb, msb]),
    })
}

/// Wait for `device` to appear after its module was loaded.
fn appear(root: &Root, sys: &mut dyn System, device: &Path) -> Result<(), String> {
    let mut waited = Duration::ZERO;
    while !root.exists(device) {
        if waited >= APPEAR_WAIT {
            return Err(format!("{} did not appear after modprobe {DEVINTF}", text::path(device)));
        }
        sys.sleep(APPEAR_POLL);
        waited += APPEAR_POLL;
    }
    Ok(())
}

/// Arm the BMC's watchdog for the hand-over, and read it back; on failure
/// nothing stays armed and `ipmi_watchdog` is loaded again.
pub fn arm(root: &Root, sys: &mut dyn System, c: &Choice) -> Result<u32, String> {
    if c.load_devintf {
        run_checked(sys, &["modprobe", "--", DEVINTF]).map_err(|e| e.to_string())?;
        appear(root, sys, &c.device)?;
    }
    if c.unload_driver {
        run_checked(sys, &["modprobe", "-r", "--", WATCHDOG_DRIVER]).map_err(|e| e.to_string())?;
    }
    let armed = (|| {
        call(sys, &c.device, "Set Watchdog Timer", SET_WATCHDOG, &set_data(c.timeout, true, HARD_RESET))?;
        call(sys, &c.device, "Reset Watchdog Timer", RESET_WATCHDOG, &[])?;
        let s = get(sys, &c.device)?;
        let want = u16::try_from(c.timeout.saturating_mul(10)).unwrap_or(u16::MAX);
        if !(s.running && s.sms_os && s.hard_reset && s.countdown == want) {
            return Err(format!(
                "the BMC's watchdog reads back {} ({}, {} reset, countdown {} ms), not running for {} s with a hard reset",
                if s.running { "running" } else { "stopped" },
                if s.sms_os { "SMS/OS" } else { "another timer use" },
                if s.hard_reset { "a hard" } else { "no hard" },
                u32::from(s.countdown) * 100,
                c.timeout
            ));
        }
        Ok(c.timeout)
    })();
    if armed.is_err() {
        let _ = stop(sys, &c.device);
        if c.unload_driver {
            let _ = run_checked(sys, &["modprobe", "--", WATCHDOG_DRIVER]);
        }
    }
    armed
}

/// Stop the BMC's watchdog: Set Watchdog Timer without "don't stop" and
/// with no action, then read back that it stopped.
pub fn stop(sys: &mut dyn System, device: &Path) -> Result<(), String> {
    call(sys, device, "Set Watchdog Timer", SET_WATCHDOG, &set_data(super::watchdog::DEFAULT_TIMEOUT, false, 0x00))?;
    if get(sys, device)?.running {
        return Err("the BMC's watchdog still runs after Set Watchdog Timer".into());
    }
    Ok(())
}

/// In the confirmed boot: reach the BMC again (its device node may need
/// `ipmi_devintf`), stop its watchdog, and give it back to `ipmi_watchdog`
/// when that driver ran it before.
pub fn release(root: &Root, sys: &mut dyn System, device: &Path, hand_back: Option<&str>) -> Result<(), String> {
    if !root.exists(device) {
        run_checked(sys, &["modprobe", "--", DEVINTF]).map_err(|e| e.to_string())?;
        appear(root, sys, device)?;
    }
    stop(sys, device)?;
    if let Some(module) = hand_back {
        run_checked(sys, &["modprobe", "--", module]).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
