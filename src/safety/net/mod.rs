//! The safety net's protocol, whole, in the order a warm reboot meets it:
//!
//! 1. **choose**, when the plan is made: which guard can catch a new kernel
//!    that does not come up ([`choose`], [`choose_for_loaded`]), or why none;
//! 2. **words**: what the new kernel's command line must carry for it
//!    ([`Net::words`]): the boot mark, and what keeps the new kernel from
//!    stopping or feeding an armed watchdog before `confirm`;
//! 3. **arm**, just before the hand-over and after the load: the guard set
//!    and the pending record written, fsynced ([`arm`]);
//! 4. **undo**, on any way out that keeps this machine running: everything
//!    armed taken down ([`Armed::undo`]), so that nothing resets it later;
//! 5. **release**, in the confirmed warm boot: `confirm` stops the guard or
//!    hands it back to whoever held it before ([`release`]).
//!
//! Each kind of guard adds to these five steps. The kinds: a hardware
//! watchdog ([`super::watchdog`]), armed by kexec-chooser or by systemd,
//! that resets a new kernel which does not confirm its boot; and the boot
//! loader's one-time entry back to the running kernel
//! ([`super::fallback`]), so that the reset brings back a kernel known to
//! boot here rather than the default, often the very kernel that failed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::boot::BootEntry;
use crate::kexec::plan::Mode;
use crate::kexec::KexecState;
use crate::paths;
use crate::root::Root;
use crate::sys::watchdog::ArmError;
use crate::sys::{run_checked, CommandError, System};
use crate::text;

use super::fallback::{self, FallbackError, Placed};
use super::record::{Outcome, Record, RecordError, Store, WatchdogUsed};
use super::watchdog::{self, ArmedBy, DiscoverError, Refusal, Survival};

pub use super::watchdog::Request;

/// What the plan says when there is no watchdog (docs/reboot.md).
pub const NO_WATCHDOG: &str = "no watchdog: if the new kernel hangs, the machine stays down until someone resets it";

/// The safety net chosen for a warm reboot: the hardware watchdog to arm,
/// or why there is none, and what comes back after a reset.
#[derive(Debug, Clone, Default)]
pub struct Net {
    /// The release warm-rebooted into; empty when not known (`exec` of a
    /// kernel another program loaded).
    pub target: String,
    pub watchdog: Option<watchdog::Choice>,
    /// Why no device (or why each other device) was passed over, for people.
    pub passed_over: Vec<String>,
    /// `--no-watchdog` was given.
    pub declined: bool,
    /// The boot loader's one-time entry back to the running kernel, or why
    /// the default comes back.
    pub fallback: fallback::Choice,
}

impl Net {
    /// One line for people: the watchdog and its timeout (or
    /// [`NO_WATCHDOG`]), and where the machine goes if the new kernel does
    /// not come up.
    pub fn describe(&self) -> String {
        let then = self.fallback.describe();
        match &self.watchdog {
            Some(w) => {
                let reset = if w.reset_after == w.timeout {
                    String::new()
                } else {
                    format!(" (reset after {} s)", w.reset_after)
                };
                let by = match w.armed_by {
                    ArmedBy::KexecChooser => "",
                    ArmedBy::Systemd => ", armed by systemd (KExecWatchdogSec)",
                };
                let target = if self.target.is_empty() { "the new kernel".into() } else { text::escape(&self.target) };
                format!(
                    "{} ({}) {} s{reset}{by}; if {target} does not come up: reset, then {then}",
                    text::path(&w.device),
                    text::escape(&w.module),
                    w.timeout,
                )
            }
            None if self.declined => format!("{NO_WATCHDOG} (--no-watchdog); a reset then boots {then}"),
            None => format!("{NO_WATCHDOG}; a reset then boots {then}"),
        }
    }

    /// The words the new kernel's command line must carry: the mark that
    /// names this warm reboot's record, and each guard's own.
    pub fn words(&self, mark: &str) -> Vec<String> {
        let mut words = vec![super::boot_mark_word(mark)];
        if let Some(w) = &self.watchdog {
            words.extend(watchdog::new_kernel_words(w));
        }
        words
    }
}

/// Why no net could be chosen for an explicit request.
#[derive(Debug, thiserror::Error)]
pub enum ChooseError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("--watchdog: the watchdogs cannot be read")]
    Unreadable(#[source] DiscoverError),
    #[error(
        "--watchdog: the loaded kernel's command line does not hold a watchdog's driver back; \
         load it again with `kexec-chooser load --watchdog SECONDS`"
    )]
    NotPlanned,
}

/// What a net is chosen for: the warm reboot into `target`, handed over in
/// `mode`, from the running kernel, with the boot entries discovery found.
#[derive(Debug, Clone, Copy)]
pub struct For<'a> {
    pub target: &'a str,
    pub mode: Mode,
    pub running: fallback::Running<'a>,
    pub entries: &'a [BootEntry],
}

/// The net for `r`: the first usable watchdog for the request, and the
/// running kernel's one-time entry. An explicit `--watchdog` that no device
/// can take is refused; without it, no usable device is no watchdog, and the
/// plan says why.
pub fn choose(root: &Root, r: &For<'_>, request: Request) -> Result<Net, ChooseError> {
    let mut net = choose_watchdog(root, r.target, request, r.mode)?;
    net.target = r.target.to_string();
    net.fallback = fallback::choose(root, r.running, r.entries);
    Ok(net)
}

fn choose_watchdog(root: &Root, release: &str, request: Request, mode: Mode) -> Result<Net, ChooseError> {
    if request == Request::Off {
        return Ok(Net { declined: true, ..Net::default() });
    }
    let mut inventory = match watchdog::discover(root) {
        Ok(i) => i,
        Err(e) => {
            return match request {
                Request::Seconds(_) => Err(ChooseError::Unreadable(e)),
                _ => Ok(Net { passed_over: vec![e.to_string()], ..Net::default() }),
            };
        }
    };
    watchdog::find_holders(root, &mut inventory);
    let target = watchdog::read_target_modules(root, release);
    let selection = watchdog::choose(&inventory, &target, request, mode)?;
    Ok(Net { watchdog: selection.choice, passed_over: passed_over(&selection.skipped), ..Net::default() })
}

fn passed_over(skipped: &[(String, watchdog::Unusable)]) -> Vec<String> {
    skipped.iter().map(|(name, why)| format!("{}: {why}", text::escape(name))).collect()
}

/// What `load` planned for the kernel it loaded: the driver its command
/// line holds back, if any, and the timeout asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Planned<'a> {
    pub module: Option<&'a str>,
    pub timeout: Option<u32>,
}

/// The net for handing over to a kernel loaded earlier: only the watchdog
/// whose driver its command line holds back can be armed, so that is what
/// `request` may choose from.
pub fn choose_for_loaded(root: &Root, r: &For<'_>, planned: Planned<'_>, request: Request) -> Result<Net, ChooseError> {
    let fallback = fallback::choose(root, r.running, r.entries);
    let target = r.target.to_string();
    let explicit = matches!(request, Request::Seconds(_));
    let Some(module) = planned.module else {
        return match request {
            Request::Seconds(_) => Err(ChooseError::NotPlanned),
            _ => Ok(Net { declined: request == Request::Off, target, fallback, ..Net::default() }),
        };
    };
    let request = match (request, planned.timeout) {
        (Request::Default, Some(t)) => Request::Seconds(t),
        (r, _) => r,
    };
    let mut net = match choose(root, r, request) {
        Ok(net) => net,
        // Without --watchdog, a device no longer usable means no net, as
        // for a reboot; an explicit --watchdog is refused.
        Err(ChooseError::Refused(refusal)) if !explicit => {
            Net { passed_over: passed_over(&refusal.skipped), target, fallback, ..Net::default() }
        }
        Err(e) => return Err(e),
    };
    if net.watchdog.as_ref().is_some_and(|w| w.module != module) {
        if explicit {
            return Err(ChooseError::NotPlanned);
        }
        net.watchdog = None;
        net.passed_over
            .push(format!("the loaded command line holds back {}, not this device's driver", text::escape(module)));
    }
    Ok(net)
}

/// The warm reboot a net is set for.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The record id, on the new kernel's command line.
    pub mark: &'a str,
    /// The entry's id and release.
    pub id: &'a str,
    pub release: &'a str,
    pub mode: Mode,
    /// When the command began.
    pub started: SystemTime,
}

/// Why the net could not be set; nothing of it is left armed.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("cannot arm the watchdog")]
    Arm(#[source] ArmError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("cannot set the boot loader's one-time entry")]
    OneTime(#[source] FallbackError),
    #[error("cannot hold the signals that would stop the hand-over")]
    Signals(#[source] nix::errno::Errno),
    #[error("cannot write the record of the warm reboot")]
    Record(#[source] RecordError),
}

/// The net as set: what [`Armed::undo`] takes down when the machine keeps
/// running after all.
#[derive(Debug)]
#[must_use = "a net that is set must be undone if the hand-over fails"]
pub struct Armed {
    pub watchdog: Option<WatchdogUsed>,
    pub one_time: Option<Placed>,
}

/// Set `net` for `target`, just before the hand-over: reload the watchdog
/// core if the kexec would stop the device, arm it, set the boot loader's
/// one-time entry, and write the pending record, fsynced (the hand-over may
/// end this boot at any moment). On failure nothing stays set; unloading the
/// kernel is the caller's.
pub fn arm(
    root: &Root,
    sys: &mut dyn System,
    log: &mut dyn Write,
    net: &Net,
    target: &Target<'_>,
    state: &KexecState,
) -> Result<Armed, SetError> {
    let t0 = Instant::now();
    let mut armed = Armed { watchdog: None, one_time: None };
    if let Some(w) = &net.watchdog {
        armed.watchdog = Some(arm_watchdog(sys, w)?);
    }
    if let Some(o) = net.fallback.one_time() {
        match fallback::set(root, sys, o) {
            Ok(placed) => armed.one_time = Some(placed),
            Err(e) => {
                armed.undo(root, sys);
                return Err(SetError::OneTime(e));
            }
        }
    }
    let (started_unix, started) = super::instant(target.started);
    let record = Record {
        id: target.mark.to_string(),
        result: Outcome::Pending,
        target_id: target.id.to_string(),
        target: target.release.to_string(),
        from: state.release.clone().unwrap_or_default(),
        from_boot_id: super::this_boot(root).boot_id.unwrap_or_default(),
        started,
        started_unix,
        seconds: None,
        ended: None,
        reason: None,
        mode: target.mode,
        watchdog: armed.watchdog.clone(),
        fallback: armed.one_time.as_ref().map(|p| p.one_time.clone()),
        came_back: None,
    };
    if let Err(e) = Store::new(root).set_pending(&record) {
        armed.undo(root, sys);
        return Err(SetError::Record(e));
    }
    let mut what = match &armed.watchdog {
        Some(w) => format!("{} armed for {} s by {}", text::path(&w.device), w.timeout, w.armed_by),
        None => NO_WATCHDOG.to_string(),
    };
    if let Some(p) = &armed.one_time {
        what.push_str(&format!(
            ", {} set to {} ({})",
            p.one_time.loader.mechanism(),
            text::escape(&p.one_time.entry),
            text::escape(&p.one_time.release)
        ));
    }
    let _ =
        crate::say!(log, "safety net set in {} ms: {what}; record {}", t0.elapsed().as_millis(), paths::PENDING_RECORD);
    Ok(armed)
}

/// Arm the chosen watchdog; on failure nothing is left armed.
fn arm_watchdog(sys: &mut dyn System, w: &watchdog::Choice) -> Result<WatchdogUsed, SetError> {
    if let Survival::ReloadCore { users } = &w.survival {
        for argv in watchdog::reload_commands(users) {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            if let Err(e) = run_checked(sys, &argv) {
                // A driver left unloaded would leave the machine without
                // its watchdog: load the users again whatever happened.
                if !users.is_empty() {
                    let mut again = vec!["modprobe", "-a", "--"];
                    again.extend(users.iter().map(String::as_str));
                    let _ = run_checked(sys, &again);
                }
                return Err(e.into());
            }
        }
    }
    let timeout = match w.armed_by {
        ArmedBy::KexecChooser => sys.watchdog_arm(&w.device, w.timeout, &w.identity).map_err(SetError::Arm)?,
        ArmedBy::Systemd => {
            let usec = u64::from(w.timeout) * 1_000_000;
            run_checked(sys, &borrowed(&watchdog::systemd_set_watchdog_command("KExecWatchdogUSec", usec)))?;
            w.timeout
        }
    };
    Ok(WatchdogUsed {
        device: w.device.clone(),
        timeout,
        module: Some(w.module.clone()),
        identity: w.identity.clone(),
        armed_by: w.armed_by,
    })
}

fn borrowed(argv: &[String]) -> Vec<&str> {
    argv.iter().map(String::as_str).collect()
}

impl Armed {
    /// Take down everything that was set — the watchdog stopped (or
    /// systemd's kexec watchdog dropped), the one-time entry put back as it
    /// was, the pending record forgotten — so that a machine that keeps
    /// running is never reset later nor boots the old kernel at its next
    /// cold reboot. Each step is tried whatever became of the others.
    pub fn undo(self, root: &Root, sys: &mut dyn System) {
        if let Some(p) = &self.one_time {
            let _ = fallback::undo(root, sys, p);
        }
        if let Some(w) = &self.watchdog {
            match w.armed_by {
                ArmedBy::Systemd => {
                    let _ =
                        run_checked(sys, &borrowed(&watchdog::systemd_set_watchdog_command("KExecWatchdogUSec", 0)));
                }
                ArmedBy::KexecChooser => {
                    let _ = sys.watchdog_disarm(&w.device);
                }
            }
        }
        let _ = Store::new(root).drop_pending();
    }
}

/// How long the watchdog device may take to appear after `modprobe`, and
/// how often it is looked for. Probing is synchronous in the drivers looked
/// at; the wait is for a slow one.
pub(crate) const APPEAR_WAIT: Duration = Duration::from_secs(5);
const APPEAR_POLL: Duration = Duration::from_millis(100);
/// How long PID 1 gets to take over a device it held before the warm
/// reboot (`RuntimeWatchdogSec=`). It retries its open on every turn of its
/// main loop (docs/watchdog.md, "Confirming"); measured: within a second.
pub(crate) const SYSTEMD_WAIT: Duration = Duration::from_secs(10);
const SYSTEMD_POLL: Duration = Duration::from_millis(500);

/// What became of the watchdog that guarded the warm reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// Disarmed by `confirm`.
    Stopped(PathBuf),
    /// PID 1 holds it for its own runtime watchdog and feeds it.
    HandedToSystemd(PathBuf),
}

impl std::fmt::Display for Released {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Released::Stopped(d) => write!(f, "watchdog {} stopped", text::path(d)),
            Released::HandedToSystemd(d) => write!(f, "watchdog {} handed to systemd", text::path(d)),
        }
    }
}

/// Release the watchdog that guarded the warm reboot, in the new boot: load
/// its driver, find the device again and stop it, or leave it to systemd
/// when systemd held it before. `Err` says why it is still armed.
pub fn release(root: &Root, sys: &mut dyn System, log: &mut dyn Write, w: &WatchdogUsed) -> Result<Released, String> {
    let module = w.module.as_deref();
    if let Some(m) = module {
        // An explicit name is loaded despite `modprobe.blacklist=` (kmod).
        let _ = crate::say!(log, "loading the watchdog driver: modprobe {}", text::escape(m));
        run_checked(sys, &["modprobe", "--", m]).map_err(|e| e.to_string())?;
    }
    let what = || format!("the watchdog \"{}\"", text::escape(&w.identity));
    let device = find(root, sys, module.unwrap_or(""), &w.identity)
        .map_err(|e| format!("cannot look for {}: {e}", what()))?
        .ok_or_else(|| format!("{} did not appear after its driver was loaded", what()))?;
    // The number may differ from the one armed: say which one it is now.
    if device != w.device {
        let _ = crate::say!(log, "{} is {} in this boot", what(), text::path(&device));
    }
    let systemd = root.is_dir(paths::RUN_SYSTEMD);
    if held_by_pid1(root, &device) {
        return Ok(Released::HandedToSystemd(device));
    }
    if systemd && w.armed_by == ArmedBy::Systemd {
        // PID 1 held it before the warm reboot: it opens it again by itself.
        let mut waited = Duration::ZERO;
        while waited < SYSTEMD_WAIT {
            sys.sleep(SYSTEMD_POLL);
            waited += SYSTEMD_POLL;
            if held_by_pid1(root, &device) {
                return Ok(Released::HandedToSystemd(device));
            }
        }
        let _ = crate::say!(log, "systemd did not take {} over: stopping it", text::path(&device));
    }
    match sys.watchdog_disarm(&device) {
        Ok(()) => Ok(Released::Stopped(device)),
        // PID 1 opened it in between: one process at a time (EBUSY).
        Err(_) if held_by_pid1(root, &device) => Ok(Released::HandedToSystemd(device)),
        Err(e) => Err(format!("cannot stop {}: {e}", what())),
    }
}

/// Remove the one-time entry of a warm reboot that is over, in the boot it
/// led to: the warm boot never went through the boot loader, so the entry
/// is still there; a boot loader that could not clear it leaves it too.
/// `None` when the record set none; `Err` says why it is still there.
pub fn release_one_time(
    root: &Root,
    sys: &mut dyn System,
    log: &mut dyn Write,
    record: &Record,
) -> Option<Result<fallback::Cleared, String>> {
    let o = record.fallback.as_ref()?;
    let result = fallback::clear(root, sys, o).map_err(|e| format!("cannot remove the {}: {e}", o.loader.mechanism()));
    if let Ok(fallback::Cleared::Removed) = &result {
        let _ = crate::say!(log, "{} to {} removed", o.loader.mechanism(), text::escape(&o.entry));
    }
    Some(result)
}

/// Before a failed warm boot is rebooted through the firmware: make sure the
/// boot loader boots the kernel the warm reboot came from. The text names
/// where the reboot goes.
pub fn back_to_running(root: &Root, sys: &mut dyn System, record: &Record) -> String {
    match &record.fallback {
        Some(o) => match fallback::ensure(root, sys, o) {
            Ok(()) => format!("{} ({})", text::escape(&o.release), o.loader.mechanism()),
            Err(e) => format!("the boot loader's default (the {} could not be set: {e})", o.loader.mechanism()),
        },
        None => "the boot loader's default".to_string(),
    }
}

/// The armed device, looked for until it appears or [`APPEAR_WAIT`] passed.
fn find(root: &Root, sys: &mut dyn System, module: &str, identity: &str) -> Result<Option<PathBuf>, DiscoverError> {
    let mut waited = Duration::ZERO;
    loop {
        let inventory = watchdog::discover(root)?;
        if let Some(d) = watchdog::find_armed(&inventory, module, identity) {
            return Ok(Some(d.device.clone()));
        }
        if waited >= APPEAR_WAIT {
            return Ok(None);
        }
        sys.sleep(APPEAR_POLL);
        waited += APPEAR_POLL;
    }
}

/// Whether PID 1 has `device` open.
fn held_by_pid1(root: &Root, device: &Path) -> bool {
    let Ok(mut inventory) = watchdog::discover(root) else { return false };
    watchdog::find_holders(root, &mut inventory);
    inventory.devices.iter().any(|d| d.device == device && d.holders.iter().any(|h| h.pid == 1))
}

#[cfg(test)]
mod tests;
