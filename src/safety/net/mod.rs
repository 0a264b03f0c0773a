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
//! Each kind of guard adds to these five steps. What resets a new kernel
//! that does not confirm its boot, in this order of preference (docs/
//! watchdog.md, "Which watchdog"): the BMC's watchdog ([`super::ipmi`]),
//! which counts outside the host and resets it even when its chipset is
//! wedged; a chipset watchdog ([`super::watchdog`]), armed by kexec-chooser
//! or by systemd; else the software net ([`super::software`]): `panic=` and
//! softdog on the new kernel's command line. And what the reset brings
//! back: the boot loader's one-time entry to the running kernel
//! ([`super::fallback`]), known to boot here, rather than the default,
//! often the very kernel that failed.

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
use super::record::{Kind, Outcome, Record, RecordError, Store, WatchdogUsed};
use super::watchdog::{self, ArmedBy, DiscoverError, Survival};
use super::{ipmi, software};

pub use super::watchdog::Request;

/// What the plan says when there is no watchdog (docs/reboot.md).
pub const NO_WATCHDOG: &str = "no watchdog: if the new kernel hangs, the machine stays down until someone resets it";

/// What resets a new kernel that does not confirm its boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    Ipmi(ipmi::Choice),
    Hardware(watchdog::Choice),
    Software(software::Choice),
}

impl Guard {
    pub fn kind(&self) -> Kind {
        match self {
            Guard::Ipmi(_) => Kind::Ipmi,
            Guard::Hardware(_) => Kind::Hardware,
            Guard::Software(_) => Kind::Software,
        }
    }

    pub fn timeout(&self) -> u32 {
        match self {
            Guard::Ipmi(c) => c.timeout,
            Guard::Hardware(w) => w.timeout,
            Guard::Software(c) => c.timeout,
        }
    }

    /// The driver the new kernel's command line holds back, if any.
    pub fn module(&self) -> Option<&str> {
        match self {
            Guard::Ipmi(_) => Some(ipmi::WATCHDOG_DRIVER),
            Guard::Hardware(w) => Some(&w.module),
            Guard::Software(c) => c.softdog.then_some(software::SOFTDOG),
        }
    }
}

/// The safety net chosen for a warm reboot: what resets a new kernel that
/// does not come up, or why nothing does, and what comes back after a reset.
#[derive(Debug, Clone, Default)]
pub struct Net {
    /// The release warm-rebooted into; empty when not known (`exec` of a
    /// kernel another program loaded).
    pub target: String,
    pub watchdog: Option<Guard>,
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
        let target = if self.target.is_empty() { "the new kernel".into() } else { text::escape(&self.target) };
        match &self.watchdog {
            Some(Guard::Ipmi(c)) => format!(
                "the BMC's watchdog ({}, IPMI) {} s; if {target} does not come up: reset, then {then}",
                text::path(&c.device),
                c.timeout
            ),
            Some(Guard::Software(c)) => software::describe(c, &then),
            Some(Guard::Hardware(w)) => {
                let reset = if w.reset_after == w.timeout {
                    String::new()
                } else {
                    format!(" (reset after {} s)", w.reset_after)
                };
                let by = match w.armed_by {
                    ArmedBy::KexecChooser => "",
                    ArmedBy::Systemd => ", armed by systemd (KExecWatchdogSec)",
                };
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
        match &self.watchdog {
            Some(Guard::Ipmi(_)) => words.extend(ipmi::new_kernel_words()),
            Some(Guard::Hardware(w)) => words.extend(watchdog::new_kernel_words(w)),
            Some(Guard::Software(c)) => words.extend(software::new_kernel_words(c)),
            None => {}
        }
        words
    }
}

/// Why no net could be chosen for an explicit request.
#[derive(Debug, thiserror::Error)]
pub enum ChooseError {
    #[error(
        "--watchdog: the loaded kernel's command line does not hold a watchdog's driver back; \
         load it again with `kexec-chooser load --watchdog SECONDS`"
    )]
    NotPlanned,
    #[error(
        "--watchdog {seconds}: no hardware watchdog can guard a kernel loaded for later ({passed}), and the \
         software net is never put on one; warm-reboot with `kexec-chooser reboot --watchdog {seconds}`, or \
         load without --watchdog"
    )]
    NoneForLater { seconds: u32, passed: String },
}

/// What a net is chosen for: the warm reboot into `target`, handed over in
/// `mode`, from the running kernel, with the boot entries discovery found.
#[derive(Debug, Clone, Copy)]
pub struct For<'a> {
    pub target: &'a str,
    pub mode: Mode,
    /// A load alone, handed over later: by `exec`, or by a `systemctl
    /// kexec` that sets no record for `confirm` to end.
    pub later: bool,
    pub running: fallback::Running<'a>,
    pub entries: &'a [BootEntry],
}

/// The net for `r`: the first usable watchdog for the request — the BMC's,
/// then a chipset's, else the software net — and the running kernel's
/// one-time entry. Each watchdog passed over is said with its reason.
pub fn choose(root: &Root, r: &For<'_>, request: Request) -> Result<Net, ChooseError> {
    let mut net = choose_watchdog(root, r, request)?;
    net.target = r.target.to_string();
    net.fallback = fallback::choose(root, r.running, r.entries);
    Ok(net)
}

fn choose_watchdog(root: &Root, r: &For<'_>, request: Request) -> Result<Net, ChooseError> {
    let wanted = match request {
        Request::Off => return Ok(Net { declined: true, ..Net::default() }),
        Request::Default => None,
        Request::Seconds(s) => Some(s),
    };
    let target = watchdog::read_target_modules(root, r.target);
    let running = r.running.release.map(|rel| watchdog::read_target_modules(root, rel)).unwrap_or_default();
    let mut passed = Vec::new();
    let found = |g: Guard, passed: Vec<String>| Net { watchdog: Some(g), passed_over: passed, ..Net::default() };
    match ipmi::choose(root, &running, &target, wanted) {
        Ok(Some(c)) => return Ok(found(Guard::Ipmi(c), passed)),
        Ok(None) => {}
        Err(why) => passed.push(format!("the BMC's watchdog: {why}")),
    }
    match watchdog::discover(root) {
        Err(e) => passed.push(e.to_string()),
        Ok(mut inventory) => {
            watchdog::find_holders(root, &mut inventory);
            let (choice, skipped) = match watchdog::choose(&inventory, &target, request, r.mode) {
                Ok(sel) => (sel.choice, sel.skipped),
                Err(refusal) => (None, refusal.skipped),
            };
            passed.extend(passed_over(&skipped));
            if let Some(c) = choice {
                return Ok(found(Guard::Hardware(c), passed));
            }
        }
    }
    if r.later {
        // The software net acts by itself in the new kernel (softdog starts
        // as it loads): on a kernel loaded for a later `systemctl kexec`,
        // which sets no record that `confirm` would end, it would reset a
        // healthy machine. Only a watchdog that `exec` arms goes with `load`.
        if let Some(seconds) = wanted {
            let passed = if passed.is_empty() { "none found".into() } else { passed.join("; ") };
            return Err(ChooseError::NoneForLater { seconds, passed });
        }
        passed.push(
            "the software net: not on a kernel loaded for later, as it would act even when `systemctl kexec` \
             hands over without kexec-chooser"
                .into(),
        );
        return Ok(Net { passed_over: passed, ..Net::default() });
    }
    let timeout = wanted.unwrap_or(watchdog::DEFAULT_TIMEOUT);
    Ok(found(Guard::Software(software::choose(root, &target, timeout)), passed))
}

fn passed_over(skipped: &[(String, watchdog::Unusable)]) -> Vec<String> {
    skipped.iter().map(|(name, why)| format!("{}: {why}", text::escape(name))).collect()
}

/// What `load` planned for the kernel it loaded: the kind of watchdog, the
/// driver its command line holds back, if any, and the timeout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Planned<'a> {
    pub kind: Option<Kind>,
    pub module: Option<&'a str>,
    pub timeout: Option<u32>,
}

/// The net for handing over to a kernel loaded earlier: only what its
/// command line was made for can guard it. The software net is in that
/// line already (it cannot be taken back); a chipset watchdog can be armed
/// only if the line holds its driver back; the BMC's, if the line holds
/// ipmi_watchdog back.
pub fn choose_for_loaded(root: &Root, r: &For<'_>, planned: Planned<'_>, request: Request) -> Result<Net, ChooseError> {
    let fallback = fallback::choose(root, r.running, r.entries);
    let target = r.target.to_string();
    let explicit = matches!(request, Request::Seconds(_));
    let Some(kind) = planned.kind else {
        return match request {
            Request::Seconds(_) => Err(ChooseError::NotPlanned),
            _ => Ok(Net { declined: request == Request::Off, target, fallback, ..Net::default() }),
        };
    };
    let planned_timeout = planned.timeout.unwrap_or(watchdog::DEFAULT_TIMEOUT);
    if kind == Kind::Software {
        if matches!(request, Request::Seconds(s) if s != planned_timeout) {
            return Err(ChooseError::NotPlanned);
        }
        let modules = watchdog::read_target_modules(root, r.target);
        let mut net = Net {
            watchdog: Some(Guard::Software(software::choose(root, &modules, planned_timeout))),
            target,
            fallback,
            ..Net::default()
        };
        if request == Request::Off {
            net.passed_over.push("--no-watchdog cannot take the software net off a command line already loaded".into());
        }
        return Ok(net);
    }
    let request = match request {
        Request::Default => Request::Seconds(planned_timeout),
        r => r,
    };
    let mut net = choose(root, r, request)?;
    let fits = match &net.watchdog {
        Some(g) => g.kind() == kind && g.module() == planned.module,
        None => true,
    };
    if !fits {
        if explicit {
            return Err(ChooseError::NotPlanned);
        }
        net.watchdog = None;
        let held = planned.module.map(text::escape).unwrap_or_default();
        net.passed_over.push(format!("the loaded command line holds back {held}, not this watchdog's driver"));
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
    #[error("cannot arm the BMC's watchdog: {0}")]
    Bmc(String),
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
    armed.watchdog = match &net.watchdog {
        Some(Guard::Hardware(w)) => Some(arm_watchdog(sys, w)?),
        Some(Guard::Ipmi(c)) => Some(arm_bmc(root, sys, c)?),
        Some(Guard::Software(c)) => Some(software_used(c)),
        None => None,
    };
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
        Some(w) if w.kind == Kind::Software => {
            format!("software net ({} s) on the new kernel's command line", w.timeout)
        }
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
        kind: Kind::Hardware,
        device: w.device.clone(),
        timeout,
        module: Some(w.module.clone()),
        identity: w.identity.clone(),
        armed_by: w.armed_by,
        hand_back: None,
        panic_before: None,
    })
}

/// What the BMC's watchdog is called in the record.
const BMC_IDENTITY: &str = "BMC (IPMI)";

/// Arm the BMC's watchdog; on failure nothing is left armed.
fn arm_bmc(root: &Root, sys: &mut dyn System, c: &ipmi::Choice) -> Result<WatchdogUsed, SetError> {
    let timeout = ipmi::arm(root, sys, c).map_err(SetError::Bmc)?;
    Ok(WatchdogUsed {
        kind: Kind::Ipmi,
        device: c.device.clone(),
        timeout,
        module: None,
        identity: BMC_IDENTITY.into(),
        armed_by: ArmedBy::KexecChooser,
        hand_back: c.unload_driver.then(|| ipmi::WATCHDOG_DRIVER.to_string()),
        panic_before: None,
    })
}

/// The software net is set by the command line alone: only recorded.
fn software_used(c: &software::Choice) -> WatchdogUsed {
    WatchdogUsed {
        kind: Kind::Software,
        device: PathBuf::new(),
        timeout: c.timeout,
        module: c.softdog.then(|| software::SOFTDOG.to_string()),
        identity: software::SOFTDOG_IDENTITY.into(),
        armed_by: ArmedBy::KexecChooser,
        hand_back: None,
        panic_before: c.panic_before.clone(),
    }
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
            match (w.kind, w.armed_by) {
                (Kind::Software, _) => {}
                (Kind::Ipmi, _) => {
                    let _ = ipmi::stop(sys, &w.device);
                    if let Some(module) = &w.hand_back {
                        let _ = run_checked(sys, &["modprobe", "--", module]);
                    }
                }
                (Kind::Hardware, ArmedBy::Systemd) => {
                    let _ =
                        run_checked(sys, &borrowed(&watchdog::systemd_set_watchdog_command("KExecWatchdogUSec", 0)));
                }
                (Kind::Hardware, ArmedBy::KexecChooser) => {
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
    /// The BMC's watchdog stopped, and given back to the driver named.
    BmcStopped { device: PathBuf, handed_back: Option<String> },
    /// The software net taken down: softdog stopped (where it was loaded)
    /// and `kernel.panic` put back (where it was recorded).
    Software { softdog: Option<PathBuf>, panic: Option<String> },
}

impl std::fmt::Display for Released {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Released::Stopped(d) => write!(f, "watchdog {} stopped", text::path(d)),
            Released::HandedToSystemd(d) => write!(f, "watchdog {} handed to systemd", text::path(d)),
            Released::BmcStopped { device, handed_back } => {
                write!(f, "the BMC's watchdog ({}) stopped", text::path(device))?;
                match handed_back {
                    Some(m) => write!(f, " and given back to {}", text::escape(m)),
                    None => Ok(()),
                }
            }
            Released::Software { softdog, panic } => {
                match softdog {
                    Some(d) => write!(f, "softdog {} stopped", text::path(d))?,
                    None => f.write_str("software net down (softdog was not loaded)")?,
                }
                match panic {
                    Some(p) => write!(f, ", kernel.panic back to {}", text::escape(p)),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Release the watchdog that guarded the warm reboot, in the new boot: load
/// its driver, find the device again and stop it, or leave it to systemd
/// when systemd held it before. `Err` says why it is still armed.
pub fn release(root: &Root, sys: &mut dyn System, log: &mut dyn Write, w: &WatchdogUsed) -> Result<Released, String> {
    match w.kind {
        Kind::Hardware => {}
        Kind::Ipmi => {
            ipmi::release(root, sys, &w.device, w.hand_back.as_deref())?;
            return Ok(Released::BmcStopped { device: w.device.clone(), handed_back: w.hand_back.clone() });
        }
        Kind::Software => return release_software(root, sys, w),
    }
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

/// Take the software net down in the confirmed boot: stop softdog (found by
/// its identity; not loaded where systemd-modules-load never ran) unless
/// PID 1 took it for its runtime watchdog, and put `kernel.panic` back.
fn release_software(root: &Root, sys: &mut dyn System, w: &WatchdogUsed) -> Result<Released, String> {
    let inventory = watchdog::discover(root).map_err(|e| format!("cannot look for softdog: {e}"))?;
    let device = inventory.devices.iter().find(|d| d.identity == software::SOFTDOG_IDENTITY).map(|d| d.device.clone());
    if let Some(d) = &device {
        if !held_by_pid1(root, d) {
            sys.watchdog_disarm(d).map_err(|e| format!("cannot stop softdog: {e}"))?;
        }
    }
    if let Some(p) = &w.panic_before {
        software::restore_panic(sys, p)?;
    }
    Ok(Released::Software { softdog: device, panic: w.panic_before.clone() })
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
