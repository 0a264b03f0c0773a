//! The warm reboot, top to bottom: choose the kernel, make the plan, then
//! act on it in the one order that keeps a machine safe —
//!
//! consent (a terminal or `--yes`) → preflight → confirmation → load →
//! safety net (the hardware watchdog armed, the pending record written) →
//! hand-over (systemd or direct) → `reboot(LINUX_REBOOT_CMD_KEXEC)`,
//! and when the hand-over fails, disarm, forget the record and unload so
//! that the machine keeps running.
//!
//! The side effects go through [`System`] and the person is reached through
//! [`Terminal`], both passed in: the command line passes the real ones, the
//! tests a recording fake and a scripted terminal. `load`, `exec`, `unload`
//! and `status` are the same steps taken apart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::boot::{self, BootEntry};
use crate::kexec::load::{self, LoadError};
use crate::kexec::plan::{CmdlineError, Mode, ModeChoice, Net, Plan, PlanOptions};
use crate::kexec::preflight::{self, PreflightError};
use crate::kexec::state::Config;
use crate::kexec::syscall::{self, Syscall};
use crate::kexec::KexecState;
use crate::paths;
use crate::root::Root;
use crate::safety::record::{LastWarmReboot, Outcome, Record, RecordError, Store, WatchdogUsed};
use crate::shutdown::{direct, systemd, ShutdownError};
use crate::sys::watchdog::ArmError;
use crate::sys::System;
use crate::text;
use crate::ui::confirm::{self, Answer, Consent};
use crate::ui::menu::MenuError;
use crate::watchdog::{self, Arming, Refusal, Survival};

/// Where the person is: asked for consent and confirmation, shown the menu,
/// told what happens.
pub trait Terminal {
    /// Whether a person can be asked anything (stdin and stderr are terminals).
    fn interactive(&self) -> bool;
    /// `--yes`, a person to ask, or neither.
    fn consent(&self) -> Consent;
    /// The menu: the index of the chosen entry in `entries`.
    fn choose(&mut self, entries: &[BootEntry]) -> Result<usize, MenuError>;
    /// A yes/no question; anything but a clear yes is no.
    fn ask(&mut self, question: &str) -> Answer;
    /// Where progress and the plan go for the person (stderr).
    fn log(&mut self) -> &mut dyn Write;
}

/// Why the warm reboot, or one of its steps, stopped. Every variant before
/// [`Error::Handover`] leaves the machine exactly as it was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Select(#[from] boot::Error),
    #[error("no kernel named and no terminal for the menu: name one, for example `latest` (see `kexec-chooser list`)")]
    NoSelector,
    #[error(transparent)]
    Menu(MenuError),
    #[error(transparent)]
    Cmdline(#[from] CmdlineError),
    #[error("refusing to {0} without confirmation: there is no terminal to ask on; pass --yes")]
    NoConsent(&'static str),
    #[error("preflight refused; nothing was loaded")]
    Preflight(#[source] PreflightError),
    #[error("--root {} is for looking only: load, exec and unload act on the running kernel; use --root /", .0.display())]
    ForeignRoot(PathBuf),
    #[error("nothing was loaded")]
    Prepare(#[source] LoadError),
    #[error("not confirmed: nothing was loaded and the machine keeps running")]
    NotConfirmed,
    /// Ctrl-C at a prompt or in the menu: the command exits 130.
    #[error("interrupted")]
    Interrupted,
    #[error("loading failed; the machine keeps running")]
    Load(#[source] LoadError),
    #[error("hand-over failed; {unloaded} and the machine keeps running")]
    Handover {
        #[source]
        source: ShutdownError,
        /// What happened to the loaded kernel.
        unloaded: String,
    },
    #[error("cannot read /sys/kernel/kexec_loaded")]
    LoadedUnknown(#[source] std::io::Error),
    #[error("no kernel is loaded for kexec: run `kexec-chooser load` first")]
    NothingLoaded,
    #[error("cannot unload")]
    Unload(#[source] LoadError),
    #[error(transparent)]
    Watchdog(#[from] Refusal),
    #[error(
        "--watchdog: the loaded kernel's command line does not hold a watchdog's driver back; \
         load it again with `kexec-chooser load --watchdog SECONDS`"
    )]
    NotPlannedForWatchdog,
    #[error("--watchdog: the watchdogs cannot be read")]
    WatchdogUnreadable(#[source] watchdog::DiscoverError),
    #[error("the safety net could not be set; the loaded kernel was unloaded and the machine keeps running")]
    Net(#[source] NetError),
}

/// Why the watchdog could not be armed or the record not written.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot arm the watchdog")]
    Arm(#[source] ArmError),
    #[error("`{command}` failed: {why}")]
    Command { command: String, why: String },
    #[error("cannot write the record of the warm reboot")]
    Record(#[source] RecordError),
}

/// What the person asked for: the kernel (a selector, or the menu when
/// `None`) and what to change.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub selector: Option<String>,
    pub options: PlanOptions,
}

/// How the hand-over goes, beyond its mode.
#[derive(Debug, Clone)]
pub struct Handover {
    /// Between SIGTERM and SIGKILL in direct mode.
    pub timeout: Duration,
}

/// Choose the entry (by selector, or on the menu) and make the plan, reading
/// the running kernel's state once. Nothing acts yet.
pub fn plan(root: &Root, term: &mut dyn Terminal, req: &Request) -> Result<Plan, Error> {
    let entry = choose(root, term, req.selector.as_deref())?;
    let state = KexecState::read(root);
    // A load alone is handed over later, by `exec` in its default mode.
    let mode = req.options.mode.unwrap_or(ModeChoice::Auto).resolve(&state);
    let net = net(root, &entry.version, req.options.watchdog, mode)?;
    Ok(Plan::build(root, entry, &req.options, state, net)?)
}

/// The watchdog for a warm reboot into `release`: the first usable device
/// for the request; an explicit `--watchdog` that none can take is refused.
fn net(root: &Root, release: &str, request: watchdog::Request, mode: Mode) -> Result<Net, Error> {
    if request == watchdog::Request::Off {
        return Ok(Net { declined: true, ..Net::default() });
    }
    let mut inventory = match watchdog::discover(root) {
        Ok(i) => i,
        Err(e) => {
            return match request {
                watchdog::Request::Seconds(_) => Err(Error::WatchdogUnreadable(e)),
                _ => Ok(Net { passed_over: vec![e.to_string()], ..Net::default() }),
            };
        }
    };
    watchdog::find_holders(root, &mut inventory);
    let target = watchdog::read_target_modules(root, release);
    let hand_over = match mode {
        Mode::Systemd => watchdog::HandOver::Systemd,
        Mode::Direct => watchdog::HandOver::Direct,
    };
    let selection = watchdog::choose(&inventory, &target, request, hand_over)?;
    Ok(Net {
        watchdog: selection.choice,
        passed_over: selection.skipped.iter().map(|(name, why)| format!("{}: {why}", text::escape(name))).collect(),
        declined: false,
    })
}

fn choose(root: &Root, term: &mut dyn Terminal, selector: Option<&str>) -> Result<BootEntry, Error> {
    let d = boot::discover(root);
    // What discovery passed over (a file too large, unreadable) may be why
    // a kernel is missing: say it before choosing.
    for note in &d.notes {
        let _ = crate::say!(term.log(), "note: {}", text::escape(note));
    }
    if let Some(sel) = selector {
        return Ok(boot::select::select(root, &d, sel)?);
    }
    if !term.interactive() {
        return Err(Error::NoSelector);
    }
    if let Some(note) = &d.default_note {
        let _ = crate::say!(term.log(), "no default marked: {}", text::escape(note));
    }
    match term.choose(&d.entries) {
        Ok(i) => d.entries.get(i).cloned().ok_or(Error::Menu(MenuError::Cancelled)),
        Err(MenuError::Interrupted) => Err(Error::Interrupted),
        Err(e) => Err(Error::Menu(e)),
    }
}

/// What preflight would refuse in `plan`, as a dry run shows it.
pub fn problems(root: &Root, sys: &dyn System, plan: &Plan) -> Vec<String> {
    let mut all = plan.entry.problems.clone();
    all.extend(preflight::findings(root, sys, plan).iter().map(ToString::to_string));
    all.dedup();
    all
}

/// The warm reboot of `plan` (whose mode is set: a plan made for `load` is
/// handed over in direct mode). Returns only when it failed, or when systemd
/// has taken over.
pub fn reboot(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    plan: &Plan,
    handover: &Handover,
) -> Result<(), Error> {
    let consent = term.consent();
    if consent == Consent::Refused {
        return Err(Error::NoConsent("reboot"));
    }
    let started = std::time::SystemTime::now();
    direct::start_clock();
    preflight::check(root, sys, plan).map_err(Error::Preflight)?;
    refuse_foreign_root(root, sys)?;
    let prepared = load::prepare(root, plan).map_err(Error::Prepare)?;
    let mode = plan.mode.unwrap_or(Mode::Direct);
    if consent == Consent::Ask {
        let summary = summary(plan, mode);
        let _ = write!(term.log(), "{summary}");
        let _ = writeln!(term.log(), "  safety:   {}", plan.net.describe());
        confirm(term, &format!("Warm-reboot into {} now?", text::escape(plan.version())))?;
    }
    let used = load::load(root, sys, &prepared, &plan.state).map_err(Error::Load)?;
    // The kernel holds its own copy now; open files would keep /boot busy.
    drop(prepared);
    let _ =
        crate::say!(term.log(), "loaded {} ({}) with {used}", text::escape(plan.version()), text::path(plan.kernel()));
    let target = Target { mark: &plan.mark, id: &plan.entry.id, release: plan.version() };
    let armed = set_net(root, sys, term, &target, &plan.net, mode, &plan.state, started)?;
    hand_over(root, sys, term, mode, handover, &plan.state, armed.as_ref())
}

/// The warm reboot the safety net is set for.
struct Target<'a> {
    mark: &'a str,
    id: &'a str,
    release: &'a str,
}

/// Set the safety net just before the hand-over: reload the watchdog core
/// if the kexec would stop the device, arm it, and write the pending record
/// (fsynced: the hand-over may end this boot at any moment). On failure
/// nothing stays armed and the loaded kernel is unloaded.
#[allow(clippy::too_many_arguments)]
fn set_net(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    target: &Target<'_>,
    net: &Net,
    mode: Mode,
    state: &KexecState,
    started: std::time::SystemTime,
) -> Result<Option<WatchdogUsed>, Error> {
    let t0 = Instant::now();
    let fail = |sys: &mut dyn System, armed: Option<&WatchdogUsed>, e: NetError| {
        if let Some(w) = armed {
            disarm(sys, w);
        }
        let _ = load::unload(sys, state);
        Error::Net(e)
    };
    let (started_unix, started_text) = crate::safety::instant(started);
    let mut armed = None;
    if let Some(w) = &net.watchdog {
        if let Survival::ReloadCore { users } = &w.survival {
            for argv in watchdog::reload_commands(users) {
                if let Err(e) = run(sys, &argv) {
                    // A driver left unloaded would leave the machine without
                    // its watchdog: load the users again whatever happened.
                    if !users.is_empty() {
                        let mut again = vec!["modprobe".to_string(), "-a".into(), "--".into()];
                        again.extend(users.iter().cloned());
                        let _ = run(sys, &again);
                    }
                    return Err(fail(sys, None, e));
                }
            }
        }
        let (timeout, armed_by) = match w.arming {
            Arming::Device => match sys.watchdog_arm(&w.device, w.timeout, &w.identity) {
                Ok(took) => (took, "kexec-chooser"),
                Err(e) => return Err(fail(sys, None, NetError::Arm(e))),
            },
            Arming::SystemdKexecWatchdog => {
                let usec = u64::from(w.timeout) * 1_000_000;
                if let Err(e) = run(sys, &watchdog::systemd_set_watchdog_command("KExecWatchdogUSec", usec)) {
                    return Err(fail(sys, None, e));
                }
                (w.timeout, "systemd")
            }
        };
        armed = Some(WatchdogUsed {
            device: w.device.clone(),
            timeout,
            module: Some(w.module.clone()),
            identity: w.identity.clone(),
            armed_by: armed_by.to_string(),
        });
    }
    let record = Record {
        id: target.mark.to_string(),
        result: Outcome::Pending,
        target_id: target.id.to_string(),
        target: target.release.to_string(),
        from: state.release.clone().unwrap_or_default(),
        from_boot_id: crate::safety::this_boot(root).boot_id.unwrap_or_default(),
        started: started_text,
        started_unix,
        seconds: None,
        ended: None,
        reason: None,
        mode: mode.to_string(),
        watchdog: armed.clone(),
    };
    if let Err(e) = Store::new(root).set_pending(&record) {
        return Err(fail(sys, armed.as_ref(), NetError::Record(e)));
    }
    let what = match &armed {
        Some(w) => format!("{} armed for {} s by {}", w.device.display(), w.timeout, w.armed_by),
        None => net.describe(),
    };
    let _ = crate::say!(
        term.log(),
        "safety net set in {} ms: {what}; record {}/{}",
        t0.elapsed().as_millis(),
        paths::STATE_DIR,
        crate::safety::record::PENDING
    );
    Ok(armed)
}

/// Run `argv` (a program and its arguments) through the System.
fn run(sys: &mut dyn System, argv: &[String]) -> Result<(), NetError> {
    let command = argv.join(" ");
    let (program, args) =
        argv.split_first().ok_or_else(|| NetError::Command { command: command.clone(), why: "empty".into() })?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match sys.run(program, &args) {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(NetError::Command { command, why: status.to_string() }),
        Err(e) => Err(NetError::Command { command, why: e.to_string() }),
    }
}

/// Take back what [`set_net`] armed: a machine that keeps running must not
/// be reset minutes later.
fn disarm(sys: &mut dyn System, w: &WatchdogUsed) {
    if w.armed_by == "systemd" {
        let _ = run(sys, &watchdog::systemd_set_watchdog_command("KExecWatchdogUSec", 0));
    } else {
        let _ = sys.watchdog_disarm(&w.device);
    }
}

/// Load `plan` only: a later `systemctl kexec` or `kexec-chooser exec` boots it.
pub fn load(root: &Root, sys: &mut dyn System, term: &mut dyn Terminal, plan: &Plan) -> Result<Syscall, Error> {
    direct::start_clock();
    preflight::check(root, sys, plan).map_err(Error::Preflight)?;
    refuse_foreign_root(root, sys)?;
    let prepared = load::prepare(root, plan).map_err(Error::Prepare)?;
    let used = load::load(root, sys, &prepared, &plan.state).map_err(Error::Load)?;
    let _ = crate::say!(
        term.log(),
        "loaded {} with {used}; `kexec-chooser exec` boots it with the safety net \
         (`systemctl kexec` boots it without)",
        text::escape(plan.version())
    );
    let note = Loaded {
        mark: plan.mark.clone(),
        id: plan.entry.id.clone(),
        release: plan.entry.version.clone(),
        module: plan.net.watchdog.as_ref().map(|w| w.module.clone()),
        timeout: plan.net.watchdog.as_ref().map(|w| w.timeout),
    };
    if let Err(e) = note.write(root) {
        let _ = crate::say!(term.log(), "warning: {e:#}: `exec` will hand over without the safety net");
    }
    Ok(used)
}

/// What `load` leaves for `exec` in /run (gone at the next boot): the mark
/// on the loaded command line, and the watchdog whose driver it holds back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Loaded {
    mark: String,
    id: String,
    release: String,
    module: Option<String>,
    timeout: Option<u32>,
}

impl Loaded {
    const FILE: &'static str = "loaded.json";

    fn system_path() -> PathBuf {
        Path::new(paths::RUN_DIR).join(Self::FILE)
    }

    fn write(&self, root: &Root) -> anyhow::Result<()> {
        use anyhow::Context;
        let dir = root.path(paths::RUN_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = serde_json::to_vec(self)?;
        crate::atomic_file::write(&dir.join(Self::FILE), 0o644, &text)?;
        Ok(())
    }

    /// The note, if `load` left one; an unreadable one is none.
    fn read(root: &Root) -> Option<Loaded> {
        let bytes = root.read(Self::system_path(), 64 * 1024).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn remove(root: &Root) {
        let _ = std::fs::remove_file(root.path(Self::system_path()));
    }
}

/// Hand over to the kernel loaded already, with the safety net `load`
/// planned for it (`request` may change its timeout or decline it).
pub fn exec(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    mode: ModeChoice,
    handover: &Handover,
    request: watchdog::Request,
) -> Result<(), Error> {
    let consent = term.consent();
    if consent == Consent::Refused {
        return Err(Error::NoConsent("reboot"));
    }
    let started = std::time::SystemTime::now();
    refuse_foreign_root(root, sys)?;
    if !sys.kexec_loaded().map_err(Error::LoadedUnknown)? {
        return Err(Error::NothingLoaded);
    }
    let state = KexecState::read(root);
    let mode = mode.resolve(&state);
    let note = Loaded::read(root);
    let net = match &note {
        Some(n) => exec_net(root, n, request, mode)?,
        None if matches!(request, watchdog::Request::Seconds(_)) => return Err(Error::NotPlannedForWatchdog),
        None => Net::default(),
    };
    if consent == Consent::Ask {
        let _ = writeln!(term.log(), "safety:    {}", net.describe());
        confirm(term, &format!("Hand over to the loaded kernel ({mode} mode) now?"))?;
    }
    let armed = match &note {
        Some(n) => {
            let target = Target { mark: &n.mark, id: &n.id, release: &n.release };
            set_net(root, sys, term, &target, &net, mode, &state, started)?
        }
        None => {
            let _ = crate::say!(
                term.log(),
                "the loaded kernel was not loaded by `kexec-chooser load`: no record, {}",
                net.describe()
            );
            None
        }
    };
    hand_over(root, sys, term, mode, handover, &state, armed.as_ref())
}

/// The net for `exec`: only the watchdog whose driver the loaded command
/// line holds back can be armed.
fn exec_net(root: &Root, note: &Loaded, request: watchdog::Request, mode: Mode) -> Result<Net, Error> {
    let Some(module) = &note.module else {
        return match request {
            watchdog::Request::Seconds(_) => Err(Error::NotPlannedForWatchdog),
            _ => Ok(Net { declined: request == watchdog::Request::Off, ..Net::default() }),
        };
    };
    let explicit = matches!(request, watchdog::Request::Seconds(_));
    let request = match (request, note.timeout) {
        (watchdog::Request::Default, Some(t)) => watchdog::Request::Seconds(t),
        (r, _) => r,
    };
    let mut net = match net(root, &note.release, request, mode) {
        Ok(net) => net,
        // Without --watchdog, a device no longer usable means no net, as
        // for a reboot; an explicit --watchdog is refused.
        Err(Error::Watchdog(refusal)) if !explicit => Net {
            passed_over: refusal.skipped.iter().map(|(n, why)| format!("{}: {why}", text::escape(n))).collect(),
            ..Net::default()
        },
        Err(e) => return Err(e),
    };
    if net.watchdog.as_ref().is_some_and(|w| &w.module != module) {
        if explicit {
            return Err(Error::NotPlannedForWatchdog);
        }
        net.watchdog = None;
        net.passed_over
            .push(format!("the loaded command line holds back {}, not this device's driver", text::escape(module)));
    }
    Ok(net)
}

/// Unload whatever kernel is loaded for kexec.
pub fn unload(root: &Root, sys: &mut dyn System) -> Result<(), Error> {
    refuse_foreign_root(root, sys)?;
    load::unload(sys, &KexecState::read(root)).map_err(Error::Unload)?;
    Loaded::remove(root);
    Ok(())
}

/// `--root DIR` reads another system's files; acting on the running kernel
/// from them would be a surprise, so only `--root /` may act.
fn refuse_foreign_root(root: &Root, sys: &dyn System) -> Result<(), Error> {
    if sys.acts_on_host() && !root.is_host() {
        return Err(Error::ForeignRoot(root.dir().to_path_buf()));
    }
    Ok(())
}

fn confirm(term: &mut dyn Terminal, question: &str) -> Result<(), Error> {
    match term.ask(question) {
        Answer::Yes => Ok(()),
        Answer::No => Err(Error::NotConfirmed),
        Answer::Interrupted => Err(Error::Interrupted),
    }
}

/// The confirmation screen: the plan with the command line as a diff
/// against the running one.
fn summary(plan: &Plan, mode: Mode) -> String {
    let kernel = text::path(plan.kernel());
    let running = plan.state.cmdline.as_deref().map(|c| text::escape(c.trim()).into_owned());
    let cmdline = text::escape(plan.cmdline.as_str());
    confirm::render(&confirm::Summary {
        version: &text::escape(plan.version()),
        kernel: &kernel,
        initrds: plan.initrds.iter().map(|p| text::path(p)).collect(),
        cmdline: &cmdline,
        running_cmdline: running.as_deref(),
        mode: &mode.to_string(),
    })
}

/// Hand over in `mode`; on failure disarm the watchdog, forget the pending
/// record, unload and report, leaving the machine up.
fn hand_over(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    mode: Mode,
    handover: &Handover,
    state: &KexecState,
    armed: Option<&WatchdogUsed>,
) -> Result<(), Error> {
    let result = match mode {
        Mode::Systemd => systemd::handover(sys, term.log()),
        Mode::Direct => direct::handover(sys, &direct::Options { timeout: handover.timeout }, term.log()),
    };
    result.map_err(|source| {
        if let Some(w) = armed {
            disarm(sys, w);
        }
        let _ = Store::new(root).drop_pending();
        let unloaded = match load::unload(sys, state) {
            Ok(()) => "the loaded kernel was unloaded".to_string(),
            Err(u) => format!("unloading failed too ({u})"),
        };
        Error::Handover { source, unloaded }
    })
}

/// What `status` tells: whether kexec is possible here and why not, the
/// running kernel's state, and how a warm reboot would go.
#[derive(Debug, serde::Serialize)]
pub struct Status {
    pub possible: bool,
    pub reasons: Vec<String>,
    pub cap_sys_boot: bool,
    #[serde(flatten)]
    pub state: KexecState,
    pub auto_mode: Mode,
    /// The load syscall (`kexec_file_load` or `kexec_load`) and why.
    pub syscall: Syscall,
    pub syscall_reason: String,
    /// The newest warm reboot and how it ended; `None` when there never was one.
    pub last_warm_reboot: Option<LastWarmReboot>,
    /// Why the record of the last warm reboot could not be read.
    #[serde(skip)]
    pub record_error: Option<String>,
}

/// Read the running kernel's state once and judge it.
pub fn status(root: &Root, sys: &dyn System) -> Status {
    let state = KexecState::read(root);
    let cap = sys.has_cap_sys_boot();
    let mut reasons = Vec::new();
    if !cap {
        reasons.push("no CAP_SYS_BOOT: run as root".to_string());
    }
    if state.load_disabled == Some(true) {
        reasons.push("kexec_load_disabled is 1 until the next boot".to_string());
    }
    if state.limit_used_up() {
        reasons.push("kexec_load_limit_reboot is used up".to_string());
    }
    if state.config_kexec_file == Config::No {
        // arm64 has the native kexec_load path, refused only under lockdown.
        if let Some(why) = syscall::native_refused(&state, state.arch) {
            reasons.push(format!("the running kernel has no CONFIG_KEXEC_FILE and {why}"));
        }
    }
    let possible = reasons.is_empty();
    if state.locked_down() {
        reasons.push(format!(
            "lockdown is {}: only kernels signed with a trusted key load",
            state.lockdown.as_deref().unwrap_or("on")
        ));
    }
    if state.config_kexec_sig_force == Config::Yes {
        reasons.push("CONFIG_KEXEC_SIG_FORCE: only signed kernels load".to_string());
    }
    let choice = syscall::predict(&state);
    let (last_warm_reboot, record_error) = match Store::new(root).last() {
        Ok(r) => (r.as_ref().map(LastWarmReboot::from), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Status {
        last_warm_reboot,
        record_error,
        possible,
        reasons,
        cap_sys_boot: cap,
        auto_mode: ModeChoice::Auto.resolve(&state),
        syscall: choice.syscall,
        syscall_reason: choice.reason,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kexec::preflight::tests::{on, plan, Machine};
    use crate::kexec::preflight::Allow;
    use crate::sys::fake::{Call, Fake};
    use nix::errno::Errno;

    /// A terminal that answers as told and keeps what was written to it.
    struct Scripted {
        consent: Consent,
        answer: Answer,
        asked: Vec<String>,
        out: Vec<u8>,
    }

    impl Scripted {
        fn new(consent: Consent, answer: Answer) -> Self {
            Scripted { consent, answer, asked: Vec::new(), out: Vec::new() }
        }
    }

    impl Terminal for Scripted {
        fn interactive(&self) -> bool {
            self.consent == Consent::Ask
        }
        fn consent(&self) -> Consent {
            self.consent
        }
        fn choose(&mut self, _: &[BootEntry]) -> Result<usize, MenuError> {
            Ok(0)
        }
        fn ask(&mut self, question: &str) -> Answer {
            self.asked.push(question.to_string());
            self.answer
        }
        fn log(&mut self) -> &mut dyn Write {
            &mut self.out
        }
    }

    fn handover() -> Handover {
        Handover { timeout: Duration::from_secs(1) }
    }

    fn reboot_plan(m: &Machine, mode: Mode) -> Plan {
        let mut p = on(m, &plan("6.1.0-9-amd64"), Allow::default());
        p.mode = Some(mode);
        p
    }

    fn run(m: &Machine, fake: &mut Fake, mode: Mode, consent: Consent, answer: Answer) -> Result<(), Error> {
        let mut term = Scripted::new(consent, answer);
        reboot(&m.root(), fake, &mut term, &reboot_plan(m, mode), &handover())
    }

    #[test]
    fn without_terminal_and_yes_nothing_is_touched() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Refused, Answer::Yes).unwrap_err();
        assert!(e.to_string().contains("pass --yes"), "{e}");
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
    }

    #[test]
    fn eof_is_not_consent() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Ask, Answer::No).unwrap_err();
        assert!(matches!(e, Error::NotConfirmed), "{e}");
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn ctrl_c_at_the_prompt_is_interrupted_and_loads_nothing() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Ask, Answer::Interrupted).unwrap_err();
        assert!(matches!(e, Error::Interrupted));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn the_person_sees_the_plan_before_the_question() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Ask, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &reboot_plan(&m, Mode::Systemd), &handover()).unwrap();
        let shown = String::from_utf8_lossy(&term.out);
        assert!(shown.starts_with("Warm reboot into 6.1.0-9-amd64"), "{shown}");
        assert_eq!(term.asked, ["Warm-reboot into 6.1.0-9-amd64 now?"]);
        assert_eq!(fake.loads().len(), 1);
    }

    #[test]
    fn load_only_loads_and_never_reboots() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Refused, Answer::No);
        load(&m.root(), &mut fake, &mut term, &on(&m, &plan("6.1.0-9-amd64"), Allow::default())).unwrap();
        assert_eq!(fake.loads().len(), 1);
        assert_eq!(fake.calls.len(), 1);
        assert!(term.asked.is_empty());
    }

    #[test]
    fn preflight_refusal_loads_nothing() {
        let m = Machine::new();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Given, Answer::Yes).unwrap_err();
        assert!(format!("{:#}", anyhow::Error::new(e)).contains("kexec_load_disabled"));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn systemd_mode_loads_then_runs_systemctl_kexec() {
        let m = Machine::new();
        let mut fake = Fake::default();
        run(&m, &mut fake, Mode::Systemd, Consent::Given, Answer::Yes).unwrap();
        assert!(matches!(fake.calls[0], Call::Load(_)));
        assert_eq!(fake.calls[1], Call::Run("systemctl".into(), vec!["kexec".into()]));
    }

    #[test]
    fn failed_handover_unloads_and_keeps_running() {
        let m = Machine::new();
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let e = run(&m, &mut fake, Mode::Systemd, Consent::Given, Answer::Yes).unwrap_err();
        assert!(e.to_string().contains("unloaded and the machine keeps running"), "{e}");
        assert_eq!(fake.calls.last(), Some(&Call::Unload));
        assert!(!fake.loaded);
    }

    #[test]
    fn direct_mode_ends_in_reboot_kexec_and_unloads_when_it_fails() {
        let m = Machine::new();
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        let e = run(&m, &mut fake, Mode::Direct, Consent::Given, Answer::Yes).unwrap_err();
        assert!(format!("{:#}", anyhow::Error::new(e)).contains("reboot(LINUX_REBOOT_CMD_KEXEC) failed"));
        let n = fake.calls.len();
        assert_eq!(&fake.calls[n - 2..], &[Call::RebootKexec, Call::Unload]);
    }

    #[test]
    fn a_failed_load_hands_nothing_over() {
        let m = Machine::new();
        let mut fake = Fake { load_error: Some(Errno::ENOEXEC), ..Fake::default() };
        let e = run(&m, &mut fake, Mode::Systemd, Consent::Given, Answer::Yes).unwrap_err();
        assert!(matches!(e, Error::Load(LoadError::Format)), "{e}");
        assert!(fake.calls.iter().all(|c| matches!(c, Call::Load(_))), "{:?}", fake.calls);
    }

    #[test]
    fn exec_needs_a_loaded_kernel() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Given, Answer::No);
        let e = exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), watchdog::Request::Default)
            .unwrap_err();
        assert!(matches!(e, Error::NothingLoaded), "{e}");
        fake.loaded = true;
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), watchdog::Request::Default).unwrap();
        assert_eq!(fake.calls, vec![Call::Run("systemctl".into(), vec!["kexec".into()])]);
        assert!(term.asked.is_empty());
    }

    #[test]
    fn status_says_why_kexec_is_impossible() {
        let m = Machine::new();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        let s = status(&m.root(), &Fake { cap_sys_boot: false, ..Fake::default() });
        assert!(!s.possible);
        assert_eq!(s.reasons.len(), 2, "{:?}", s.reasons);
        let s = status(&Machine::new().root(), &Fake::default());
        assert!(s.possible, "{:?}", s.reasons);
    }

    #[test]
    fn a_dry_run_shows_what_preflight_would_refuse() {
        let m = Machine::new();
        let mut p = on(&m, &plan("6.1.0-9-amd64"), Allow::default());
        p.initrds = vec!["/boot/nothing-here.img".into()];
        let found = problems(&m.root(), &Fake::default(), &p);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("/boot/nothing-here.img is missing"), "{found:?}");
    }

    /// The watchdog an i6300esb gives: armed by kexec-chooser, kept by the core.
    fn esb(timeout: u32) -> watchdog::Choice {
        watchdog::Choice {
            name: "watchdog0".into(),
            device: "/dev/watchdog0".into(),
            identity: "i6300ESB timer".into(),
            module: "i6300esb".into(),
            timeout,
            reset_after: timeout,
            survival: Survival::Kept,
            arming: Arming::Device,
            known: true,
            heartbeat_param: Some("heartbeat"),
        }
    }

    fn armed_plan(m: &Machine, mode: Mode, w: watchdog::Choice) -> Plan {
        let mut p = reboot_plan(m, mode);
        p.net = Net { watchdog: Some(w), ..Net::default() };
        p
    }

    fn pending(m: &Machine) -> Option<Record> {
        Store::new(&m.root()).pending().unwrap()
    }

    #[test]
    fn the_watchdog_is_armed_after_the_load_just_before_the_hand_over() {
        let m = Machine::new();
        m.write("/proc/sys/kernel/osrelease", b"6.1.0-8-amd64\n");
        m.write("/proc/sys/kernel/random/boot_id", b"b0\n");
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Ask, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, esb(120)), &handover()).unwrap();
        assert!(matches!(fake.calls[0], Call::Load(_)), "{:?}", fake.calls);
        assert_eq!(fake.calls[1], Call::WatchdogArm("/dev/watchdog0".into(), 120));
        assert_eq!(fake.calls[2], Call::Run("systemctl".into(), vec!["kexec".into()]));
        assert_eq!(fake.calls.len(), 3);
        let shown = String::from_utf8_lossy(&term.out);
        assert!(shown.contains("safety:   /dev/watchdog0 (i6300ESB timer), 120 s"), "{shown}");
        assert!(shown.contains("kexec-chooser: safety net set in "), "{shown}");
        let r = pending(&m).expect("a pending record");
        assert_eq!((r.id.as_str(), r.target.as_str(), r.from.as_str()), ("ab12", "6.1.0-9-amd64", "6.1.0-8-amd64"));
        assert_eq!(r.from_boot_id, "b0");
        assert_eq!(r.result, Outcome::Pending);
        let w = r.watchdog.expect("the watchdog in the record");
        assert_eq!((w.timeout, w.module.as_deref(), w.armed_by.as_str()), (120, Some("i6300esb"), "kexec-chooser"));
    }

    #[test]
    fn nothing_is_armed_before_preflight_and_confirmation_pass() {
        for (consent, answer, disabled) in [
            (Consent::Ask, Answer::No, false),
            (Consent::Refused, Answer::Yes, false),
            (Consent::Given, Answer::Yes, true),
        ] {
            let m = Machine::new();
            if disabled {
                m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
            }
            let mut fake = Fake::default();
            let mut term = Scripted::new(consent, answer);
            reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Direct, esb(600)), &handover()).unwrap_err();
            assert!(fake.calls.is_empty(), "{:?}", fake.calls);
            assert!(pending(&m).is_none());
        }
    }

    #[test]
    fn a_failed_hand_over_disarms_forgets_the_record_and_unloads() {
        let m = Machine::new();
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Direct, esb(600)), &handover()).unwrap_err();
        let arm = fake.calls.iter().position(|c| matches!(c, Call::WatchdogArm(..))).expect("armed");
        let kexec = fake.calls.iter().position(|c| c == &Call::RebootKexec).expect("tried");
        assert!(arm < kexec);
        assert_eq!(&fake.calls[kexec + 1..], [Call::WatchdogDisarm("/dev/watchdog0".into()), Call::Unload]);
        assert!(pending(&m).is_none());
    }

    #[test]
    fn a_failed_load_arms_nothing_and_writes_no_record() {
        let m = Machine::new();
        let mut fake = Fake { load_error: Some(Errno::ENOEXEC), ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, esb(600)), &handover()).unwrap_err();
        assert!(fake.calls.iter().all(|c| matches!(c, Call::Load(_))), "{:?}", fake.calls);
        assert!(pending(&m).is_none());
    }

    #[test]
    fn a_watchdog_that_cannot_be_armed_unloads_and_keeps_running() {
        let m = Machine::new();
        let mut fake = Fake { watchdog_arm_error: Some(Errno::EINVAL), ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        let e =
            reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, esb(600)), &handover()).unwrap_err();
        assert!(matches!(e, Error::Net(NetError::Arm(_))), "{e}");
        assert_eq!(fake.calls.last(), Some(&Call::Unload));
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::Run(..) | Call::RebootKexec)));
        assert!(pending(&m).is_none());
    }

    #[test]
    fn without_a_watchdog_the_record_is_still_written_and_the_plan_says_so() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Ask, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &reboot_plan(&m, Mode::Systemd), &handover()).unwrap();
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogArm(..))));
        let shown = String::from_utf8_lossy(&term.out);
        assert!(shown.contains(crate::kexec::plan::NO_WATCHDOG), "{shown}");
        assert_eq!(pending(&m).expect("record").watchdog, None);
    }

    #[test]
    fn a_device_held_by_systemd_is_armed_through_kexec_watchdog_sec_and_given_back_on_failure() {
        let m = Machine::new();
        let mut w = esb(600);
        w.arming = Arming::SystemdKexecWatchdog;
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        // busctl "fails" too in this fake: arming through systemd is an error before any hand-over.
        let e = reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, w.clone()), &handover())
            .unwrap_err();
        assert!(matches!(e, Error::Net(NetError::Command { .. })), "{e}");
        assert_eq!(fake.calls.last(), Some(&Call::Unload));
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Direct, w), &handover()).unwrap_err();
        let set = |usec: &str| {
            Call::Run(
                "busctl".into(),
                ["set-property", watchdog::SYSTEMD_BUS[0], watchdog::SYSTEMD_BUS[1], watchdog::SYSTEMD_BUS[2]]
                    .iter()
                    .map(|s| s.to_string())
                    .chain(["KExecWatchdogUSec".into(), "t".into(), usec.into()])
                    .collect(),
            )
        };
        assert_eq!(fake.calls[1], set("600000000"));
        assert!(fake.calls.contains(&set("0")), "{:?}", fake.calls);
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogArm(..))));
    }

    #[test]
    fn an_explicit_watchdog_without_a_device_is_refused_before_the_plan() {
        let m = Machine::new();
        let e = net(&m.root(), "6.1.0-9-amd64", watchdog::Request::Seconds(120), Mode::Direct).unwrap_err();
        assert!(matches!(e, Error::Watchdog(_)), "{e}");
        assert!(e.to_string().starts_with("--watchdog 120: no usable hardware watchdog"), "{e}");
        let n = net(&m.root(), "6.1.0-9-amd64", watchdog::Request::Default, Mode::Direct).unwrap();
        assert!(n.watchdog.is_none());
        assert!(net(&m.root(), "x", watchdog::Request::Off, Mode::Direct).unwrap().declined);
    }

    #[test]
    fn exec_arms_what_load_planned_and_refuses_a_watchdog_load_did_not_plan() {
        let m = Machine::new();
        let mut fake = Fake { loaded: true, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        let e = exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), watchdog::Request::Seconds(60))
            .unwrap_err();
        assert!(matches!(e, Error::NotPlannedForWatchdog), "{e}");
        assert!(fake.calls.is_empty());
        // A load with no watchdog: exec writes the record and hands over.
        let note = Loaded {
            mark: "cd34".into(),
            id: "x".into(),
            release: "6.1.0-9-amd64".into(),
            module: None,
            timeout: None,
        };
        note.write(&m.root()).unwrap();
        assert_eq!(Loaded::read(&m.root()), Some(note));
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), watchdog::Request::Default).unwrap();
        assert_eq!(pending(&m).expect("record").id, "cd34");
        // A load planned with a watchdog that is gone since: exec without
        // --watchdog goes on without the net; with --watchdog it is refused.
        let planned = Loaded {
            module: Some("i6300esb".into()),
            timeout: Some(600),
            mark: "ef56".into(),
            ..Loaded::read(&m.root()).unwrap()
        };
        planned.write(&m.root()).unwrap();
        let before = fake.calls.len();
        let e = exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), watchdog::Request::Seconds(60))
            .unwrap_err();
        assert!(matches!(e, Error::Watchdog(_)), "{e}");
        assert_eq!(fake.calls.len(), before);
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), watchdog::Request::Default).unwrap();
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogArm(..))));
        assert_eq!(pending(&m).expect("record").id, "ef56");
        unload(&m.root(), &mut fake).unwrap();
        assert_eq!(Loaded::read(&m.root()), None);
    }
}
