//! The hardware watchdogs, one kind of guard of the safety net
//! ([`super::net`]): which device can be armed before the hand-over and
//! keep counting through the kexec, with which timeout, and what the new
//! kernel's command line must say so that it neither stops nor feeds the
//! timer before the boot is confirmed.
//!
//! The facts this rests on, per driver and per kernel, are in
//! docs/watchdog.md. In short: an armed watchdog survives a kexec only when
//! the watchdog core was loaded with `stop_on_reboot=0` (its reboot notifier
//! stops every device whose driver asked for it, and i6300esb, iTCO_wdt,
//! sp5100_tco and softdog all do); the new kernel must not load the driver
//! before confirmation (i6300esb and sp5100_tco stop a running timer when
//! they probe, iTCO_wdt's is then fed by the core); softdog lives in the old
//! kernel's memory and cannot survive at all.

pub mod discover;

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::kexec::plan::Mode;

pub use discover::{discover, find_holders, open_files, read_target_modules, DiscoverError};

/// The module name of the watchdog core (drivers/watchdog/Makefile:
/// `watchdog-objs += watchdog_core.o watchdog_dev.o`).
pub const CORE_MODULE: &str = "watchdog";

/// The watchdog daemons of Debian's `watchdog` package, as /proc names them.
const DAEMONS: [&str; 2] = ["watchdog", "wd_keepalive"];

/// The default timeout, when the device allows it: ten minutes, systemd's
/// own default for `RebootWatchdogSec=`. It has to cover, without a false
/// fall-back, a slow but healthy run from the arming to `confirm`: the clean
/// shutdown when the watchdog is armed before it (systemd's
/// `DefaultTimeoutStopSec=` is 90 s for a unit that does not stop), the new
/// kernel's initramfs waiting for its root device (initramfs-tools'
/// `ROOTDELAY` defaults to 180 s), then systemd reaching `multi-user.target`
/// (a device job may take `DefaultDeviceTimeoutSec=` 90 s, and
/// `systemd-networkd-wait-online` up to 120 s) before the confirm unit runs.
/// Those add up to about 480 s. Waiting longer for a hung machine costs
/// minutes; a false fall-back costs a second reboot. 600 also fits iTCO_wdt's
/// 614 s maximum.
pub const DEFAULT_TIMEOUT: u32 = 600;

/// Below this a device is not armed by default: a boot cannot be counted on
/// to confirm in time (iTCO version 1 tops out at 76 s). An explicit
/// `--watchdog SECONDS` may still use it.
pub const MIN_DEFAULT_TIMEOUT: u32 = 120;

/// The text of the modprobe.d file the package ships (see
/// debian/kexec-chooser.modprobe.conf, which must say the same).
#[cfg(test)]
pub const MODPROBE_CONF: &str = include_str!("../../../debian/kexec-chooser.modprobe.conf");

/// What is known about a driver from its source (docs/watchdog.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDriver {
    /// The module name, as `modprobe` and `modprobe.blacklist=` spell it.
    pub module: &'static str,
    /// `watchdog_info.identity`, which is also the sysfs `identity`.
    pub identity: &'static str,
    /// The largest timeout the driver accepts, when its sysfs `max_timeout`
    /// does not say (iTCO_wdt sets none).
    pub max_timeout: Option<u32>,
    /// How many times the timer runs down before the reset (the TCO timer
    /// of Intel chipsets resets on its second expiry).
    pub expiries: u32,
    /// Whether an armed timer can outlive the kernel at all.
    pub survives_kexec: bool,
    /// A module parameter the probe writes to a timer it finds running, so
    /// that the new kernel's command line can keep the armed timeout should
    /// the driver be loaded before confirmation despite the blacklist.
    pub heartbeat_param: Option<&'static str>,
}

/// The drivers looked at for docs/watchdog.md.
pub const KNOWN_DRIVERS: [KnownDriver; 4] = [
    KnownDriver {
        module: "i6300esb",
        identity: "i6300ESB timer",
        max_timeout: Some(2046),
        expiries: 1,
        survives_kexec: true,
        heartbeat_param: None,
    },
    KnownDriver {
        module: "iTCO_wdt",
        identity: "iTCO_wdt",
        // TCO version 2 and later: 10 bits of 0.6 s ticks, so 3..614 s
        // (iTCO_wdt.c, `iTCO_wdt_set_timeout` and its `heartbeat` parameter);
        // version 3 counts seconds and allows more, version 1 only 76.
        max_timeout: Some(614),
        expiries: 2,
        survives_kexec: true,
        heartbeat_param: Some("heartbeat"),
    },
    KnownDriver {
        module: "sp5100_tco",
        identity: "SP5100 TCO timer",
        max_timeout: Some(0xffff),
        expiries: 1,
        survives_kexec: true,
        heartbeat_param: None,
    },
    KnownDriver {
        module: "softdog",
        identity: "Software Watchdog",
        max_timeout: Some(65535),
        expiries: 1,
        survives_kexec: false,
        heartbeat_param: None,
    },
];

/// The known driver of an identity or module name.
pub fn known_driver(identity_or_module: &str) -> Option<&'static KnownDriver> {
    KNOWN_DRIVERS.iter().find(|k| k.identity == identity_or_module || k.module == identity_or_module)
}

/// How the module of a device was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleSource {
    /// `device/driver/module` in sysfs.
    DriverLink,
    /// The identity of a driver in [`KNOWN_DRIVERS`] (its device has no parent).
    Identity,
    /// The only module using the watchdog core.
    CoreUser,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    /// A loadable module (it can be kept from loading and reloaded), not built in.
    pub loadable: bool,
    pub source: ModuleSource,
}

/// A process that has the device open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: i32,
    pub comm: String,
}

/// One device of /sys/class/watchdog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watchdog {
    /// `watchdogN`.
    pub name: String,
    /// `/dev/watchdogN`.
    pub device: PathBuf,
    pub identity: String,
    /// sysfs `state`: armed by a user (the core's `WDOG_ACTIVE`). A timer the
    /// firmware left running before the driver loaded reads inactive.
    pub active: Option<bool>,
    pub timeout: Option<u32>,
    pub min_timeout: Option<u32>,
    /// `None` when the driver gives no maximum (sysfs says 0).
    pub max_timeout: Option<u32>,
    pub nowayout: Option<bool>,
    /// `WDIOF_*` bits about the last reset, where the driver knows.
    pub bootstatus: Option<u32>,
    /// The driver's name, from the device's parent; `None` without a parent.
    pub driver: Option<String>,
    pub module: Option<Module>,
    /// Filled by [`find_holders`].
    pub holders: Vec<Holder>,
}

impl Watchdog {
    pub fn known(&self) -> Option<&'static KnownDriver> {
        known_driver(&self.identity).or_else(|| self.module.as_ref().and_then(|m| known_driver(&m.name)))
    }

    /// The largest timeout: sysfs, else what the driver is known to take.
    pub fn max(&self) -> Option<u32> {
        self.max_timeout.or_else(|| self.known().and_then(|k| k.max_timeout))
    }
}

/// The watchdog core, as /sys/module/watchdog shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Core {
    /// /sys/module/watchdog exists (a loaded module, or built in with parameters).
    pub present: bool,
    pub loadable: bool,
    /// -1 (the driver decides), 0 (keep running) or 1 (stop).
    pub stop_on_reboot: Option<i32>,
    pub handle_boot_enabled: Option<bool>,
    /// The modules registered with the core (`holders/`).
    pub users: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub devices: Vec<Watchdog>,
    pub core: Core,
    /// Whether every process's descriptors could be read by [`find_holders`].
    pub holders_complete: bool,
}

/// The modules of the kernel to warm-reboot into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetModules {
    /// Its modules.dep was found; without it nothing is known and nothing refused.
    pub known: bool,
    pub loadable: BTreeSet<String>,
    pub builtin: BTreeSet<String>,
}

/// What the person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Request {
    /// `--no-watchdog`.
    Off,
    /// Neither flag: a usable device with the default timeout, else none.
    #[default]
    Default,
    /// `--watchdog SECONDS`: this timeout, or a refusal.
    Seconds(u32),
}

/// Who arms the device just before the hand-over (and so who held it
/// before: the one it is handed back to after the confirmation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ArmedBy {
    /// kexec-chooser opens it, sets the timeout and closes it without `V`.
    #[serde(rename = "kexec-chooser")]
    KexecChooser,
    /// systemd holds it (`RuntimeWatchdogSec=`): kexec-chooser sets the
    /// manager's `KExecWatchdogUSec` and systemd arms it on its way down.
    #[serde(rename = "systemd")]
    Systemd,
}

impl std::fmt::Display for ArmedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ArmedBy::KexecChooser => "kexec-chooser",
            ArmedBy::Systemd => "systemd",
        })
    }
}

/// Whether the armed timer will get through the kexec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Survival {
    /// The core runs with `stop_on_reboot=0`.
    Kept,
    /// The core must be reloaded with `stop_on_reboot=0` first: unload these
    /// modules (the core's users, then the core), load the core, load them again.
    ReloadCore { users: Vec<String> },
}

/// The device to arm and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub name: String,
    pub device: PathBuf,
    pub identity: String,
    pub module: String,
    pub timeout: u32,
    /// The seconds from the arming to the reset (timeout × expiries).
    pub reset_after: u32,
    pub survival: Survival,
    pub armed_by: ArmedBy,
    /// The driver is one of [`KNOWN_DRIVERS`]; an unknown one may stop or
    /// feed the timer in ways not looked at.
    pub known: bool,
    pub heartbeat_param: Option<&'static str>,
}

/// Why a device is passed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("a software watchdog lives in the old kernel's memory and cannot outlive a kexec")]
    Software,
    #[error("nowayout is set: it could not be stopped after the boot is confirmed")]
    NoWayOut,
    #[error("its driver module is not known, so the new kernel cannot be kept from loading it")]
    NoModule,
    #[error("its driver {} is built into the kernel: the new kernel would take the watchdog over at boot", crate::text::escape(.0))]
    BuiltIn(String),
    #[error("{wanted} s is outside its range {min}..{max} s")]
    OutOfRange { wanted: u32, min: u32, max: u32 },
    #[error("its largest timeout, {max} s, is too short to cover a boot (at least {MIN_DEFAULT_TIMEOUT} s)")]
    TooShort { max: u32 },
    #[error("it is held open by {}", holders_text(.0))]
    Held(Vec<Holder>),
    /// Debian's watchdog daemon (or its wd_keepalive): on its way down in
    /// any shutdown, the kexec's included, it closes the device with the
    /// magic character and so stops the timer, and it holds the device
    /// until then: no one else can arm it (docs/watchdog.md, "Daemons").
    #[error(
        "it is held open by the watchdog daemon {}, which stops it on its way down: it cannot guard the warm \
         reboot (its own boot in the new kernel watches it again)",
        holders_text(.0)
    )]
    HeldByDaemon(Vec<Holder>),
    #[error("the new kernel has no {} module, so confirm could not stop the watchdog", crate::text::escape(.0))]
    MissingInTarget(String),
    #[error("{} is built into the new kernel: it would take the watchdog over at boot", crate::text::escape(.0))]
    BuiltInTarget(String),
    #[error("the watchdog core is built in with stop_on_reboot={0}: the kexec would stop it")]
    StoppedByKexec(i32),
    #[error(
        "the watchdog core runs with stop_on_reboot={0}, so the kexec would stop it, and it cannot be \
         reloaded while the watchdog is running or held open"
    )]
    CoreBusy(i32),
}

fn holders_text(holders: &[Holder]) -> String {
    holders.iter().map(|h| format!("{} (pid {})", crate::text::escape(&h.comm), h.pid)).collect::<Vec<_>>().join(", ")
}

/// The outcome of [`choose`]: the device to arm, if any, and why each other
/// device was passed over (for the plan's "no watchdog" line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub choice: Option<Choice>,
    pub skipped: Vec<(String, Unusable)>,
}

/// `--watchdog SECONDS` where no device can take it: refused before anything is loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--watchdog {wanted}: no usable hardware watchdog{}", skipped_text(.skipped))]
pub struct Refusal {
    pub wanted: u32,
    pub skipped: Vec<(String, Unusable)>,
}

fn skipped_text(skipped: &[(String, Unusable)]) -> String {
    skipped.iter().map(|(name, why)| format!("; {}: {why}", crate::text::escape(name))).collect()
}

/// The default timeout for a device that takes `min..=max` seconds (`max`
/// `None`: not known, the default is tried and the driver has the last
/// word): [`DEFAULT_TIMEOUT`] brought into the range, and none when the
/// range allows nothing long enough to cover a boot.
pub fn default_timeout(min: u32, max: Option<u32>) -> Option<u32> {
    let t = DEFAULT_TIMEOUT.max(min);
    let t = max.map_or(t, |m| t.min(m));
    (t >= MIN_DEFAULT_TIMEOUT && t >= min).then_some(t)
}

/// Whether a kexec now would stop an armed timer, and what keeps it.
fn survival(core: &Core, busy: bool) -> Result<Survival, Unusable> {
    let param = core.stop_on_reboot.unwrap_or(-1);
    if param == 0 {
        return Ok(Survival::Kept);
    }
    if busy {
        // An open device, or a running one, pins its driver and so the
        // core (drivers/watchdog/watchdog_dev.c: `watchdog_open` and
        // `watchdog_release` keep a module reference while it runs).
        return Err(Unusable::CoreBusy(param));
    }
    if !core.loadable {
        return Err(Unusable::StoppedByKexec(param));
    }
    Ok(Survival::ReloadCore { users: core.users.clone() })
}

/// Judge one device for `timeout` (`None`: the default for it).
fn judge(
    d: &Watchdog,
    core: &Core,
    target: &TargetModules,
    wanted: Option<u32>,
    mode: Mode,
) -> Result<Choice, Unusable> {
    let known = d.known();
    if known.is_some_and(|k| !k.survives_kexec) {
        return Err(Unusable::Software);
    }
    if d.nowayout == Some(true) {
        return Err(Unusable::NoWayOut);
    }
    let module = d.module.as_ref().ok_or(Unusable::NoModule)?;
    if !module.loadable {
        return Err(Unusable::BuiltIn(module.name.clone()));
    }
    if target.known {
        let name = module.name.replace('-', "_");
        if target.builtin.contains(&name) {
            return Err(Unusable::BuiltInTarget(module.name.clone()));
        }
        if !target.loadable.contains(&name) {
            return Err(Unusable::MissingInTarget(module.name.clone()));
        }
    }
    let max = d.max();
    let min = d.min_timeout.unwrap_or(1).max(1);
    let timeout = match wanted {
        Some(w) => {
            if w < min || max.is_some_and(|m| w > m) {
                return Err(Unusable::OutOfRange { wanted: w, min, max: max.unwrap_or(u32::MAX) });
            }
            w
        }
        None => default_timeout(min, max).ok_or(match max {
            Some(max) if max < min => Unusable::OutOfRange { wanted: DEFAULT_TIMEOUT, min, max },
            _ => Unusable::TooShort { max: max.unwrap_or(0) },
        })?,
    };
    let by_systemd = d.holders.iter().all(|h| h.pid == 1) && !d.holders.is_empty();
    let armed_by = match (d.holders.is_empty(), by_systemd, mode) {
        (true, _, _) => ArmedBy::KexecChooser,
        (false, true, Mode::Systemd) => ArmedBy::Systemd,
        _ if d.holders.iter().all(|h| DAEMONS.contains(&h.comm.as_str())) => {
            return Err(Unusable::HeldByDaemon(d.holders.clone()))
        }
        _ => return Err(Unusable::Held(d.holders.clone())),
    };
    let survival = survival(core, !d.holders.is_empty() || d.active == Some(true))?;
    let expiries = known.map_or(1, |k| k.expiries);
    Ok(Choice {
        name: d.name.clone(),
        device: d.device.clone(),
        identity: d.identity.clone(),
        module: module.name.clone(),
        timeout,
        reset_after: timeout.saturating_mul(expiries),
        survival,
        armed_by,
        known: known.is_some(),
        heartbeat_param: known.and_then(|k| k.heartbeat_param),
    })
}

/// The device to arm for `request` before a warm reboot into a kernel with
/// `target`'s modules: the first usable one in the order of their numbers.
/// `--watchdog SECONDS` that no device can take is a [`Refusal`]; the
/// default quietly finds none (the plan says so).
pub fn choose(
    inventory: &Inventory,
    target: &TargetModules,
    request: Request,
    mode: Mode,
) -> Result<Selection, Refusal> {
    let wanted = match request {
        Request::Off => return Ok(Selection { choice: None, skipped: Vec::new() }),
        Request::Default => None,
        Request::Seconds(s) => Some(s),
    };
    let mut skipped = Vec::new();
    for d in &inventory.devices {
        match judge(d, &inventory.core, target, wanted, mode) {
            Ok(choice) => return Ok(Selection { choice: Some(choice), skipped }),
            Err(why) => skipped.push((d.name.clone(), why)),
        }
    }
    match wanted {
        Some(wanted) => Err(Refusal { wanted, skipped }),
        None => Ok(Selection { choice: None, skipped }),
    }
}

/// The words to add to the new kernel's command line for an armed `choice`:
/// the watchdog core must not feed a timer it finds running, the driver must
/// not load before `confirm` loads it, and should it load anyway, a driver
/// that reprograms a running timer is told the armed timeout.
pub fn new_kernel_words(choice: &Choice) -> Vec<String> {
    let mut words =
        vec![format!("{}.handle_boot_enabled=0", CORE_MODULE), format!("modprobe.blacklist={}", choice.module)];
    if let Some(param) = choice.heartbeat_param {
        words.push(format!("{}.{param}={}", choice.module, choice.timeout));
    }
    words
}

/// The commands that reload the watchdog core with `stop_on_reboot=0`
/// (argument vectors for `System::run`): unload the core's users and the
/// core, load the core with the parameter, load the users again. They fail
/// while a device is open or running, which pins the modules.
pub fn reload_commands(users: &[String]) -> Vec<Vec<String>> {
    let argv = |head: &[&str], tail: &[String]| -> Vec<String> {
        head.iter().map(|s| s.to_string()).chain(tail.iter().cloned()).collect()
    };
    let mut unload = users.to_vec();
    unload.push(CORE_MODULE.to_string());
    let mut commands =
        vec![argv(&["modprobe", "-r", "--"], &unload), argv(&["modprobe", "--", CORE_MODULE, "stop_on_reboot=0"], &[])];
    if !users.is_empty() {
        commands.push(argv(&["modprobe", "-a", "--"], users));
    }
    commands
}

/// systemd's manager object and interface, for `busctl`.
pub const SYSTEMD_BUS: [&str; 3] =
    ["org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"];

/// `busctl set-property` of a manager watchdog property (`KExecWatchdogUSec`,
/// `RuntimeWatchdogUSec`) to `usec`; 0 drops kexec-chooser's override for
/// the configured value (src/core/manager.c, `manager_get_watchdog`).
pub fn systemd_set_watchdog_command(property: &str, usec: u64) -> Vec<String> {
    let mut argv = vec!["busctl".to_string(), "set-property".to_string()];
    argv.extend(SYSTEMD_BUS.iter().map(|s| s.to_string()));
    argv.extend([property.to_string(), "t".to_string(), usec.to_string()]);
    argv
}

/// The device armed before the hand-over, found again after the boot: by
/// module, then by identity (its number may differ in the new kernel).
pub fn find_armed<'a>(inventory: &'a Inventory, module: &str, identity: &str) -> Option<&'a Watchdog> {
    let by_module = inventory.devices.iter().find(|d| d.module.as_ref().is_some_and(|m| m.name == module));
    by_module.or_else(|| inventory.devices.iter().find(|d| d.identity == identity))
}

#[cfg(test)]
pub(crate) mod tests;
