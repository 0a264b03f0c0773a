//! The warm reboot, top to bottom: choose the kernel, make the plan, then
//! act on it in the one order that keeps a machine safe —
//!
//! consent (a terminal or `--yes`) → preflight → confirmation → load →
//! hand-over (systemd or direct) → `reboot(LINUX_REBOOT_CMD_KEXEC)`,
//! and when the hand-over fails, unload so that the machine keeps running.
//!
//! The side effects go through [`System`] and the person is reached through
//! [`Terminal`], both passed in: the command line passes the real ones, the
//! tests a recording fake and a scripted terminal. `load`, `exec`, `unload`
//! and `status` are the same steps taken apart.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::boot::{self, BootEntry, Root};
use crate::kexec::load::{self, LoadError};
use crate::kexec::plan::{CmdlineError, Mode, ModeChoice, Plan, PlanOptions};
use crate::kexec::preflight::{self, PreflightError};
use crate::kexec::state::Config;
use crate::kexec::syscall::{self, Syscall};
use crate::kexec::KexecState;
use crate::safety::record::{LastWarmReboot, Store};
use crate::shutdown::{direct, systemd, ShutdownError};
use crate::sys::System;
use crate::text;
use crate::ui::confirm::{self, Answer, Consent};
use crate::ui::menu::MenuError;

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
    Ok(Plan::build(root, entry, &req.options, KexecState::read(root))?)
}

fn choose(root: &Root, term: &mut dyn Terminal, selector: Option<&str>) -> Result<BootEntry, Error> {
    let d = boot::discover(root);
    if let Some(sel) = selector {
        return Ok(boot::select::select(root, &d, sel)?);
    }
    if !term.interactive() {
        return Err(Error::NoSelector);
    }
    if let Some(note) = &d.default_note {
        let _ = writeln!(term.log(), "kexec-chooser: no default marked: {}", text::escape(note));
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
    direct::start_clock();
    preflight::check(root, sys, plan).map_err(Error::Preflight)?;
    refuse_foreign_root(root, sys)?;
    let prepared = load::prepare(root, plan).map_err(Error::Prepare)?;
    let mode = plan.mode.unwrap_or(Mode::Direct);
    if consent == Consent::Ask {
        let summary = summary(plan, mode);
        let _ = write!(term.log(), "{summary}");
        confirm(term, &format!("Warm-reboot into {} now?", text::escape(plan.version())))?;
    }
    let used = load::load(root, sys, &prepared, &plan.state).map_err(Error::Load)?;
    // The kernel holds its own copy now; open files would keep /boot busy.
    drop(prepared);
    let _ = writeln!(
        term.log(),
        "kexec-chooser: loaded {} ({}) with {used}",
        text::escape(plan.version()),
        text::path(plan.kernel())
    );
    hand_over(sys, term, mode, handover, &plan.state)
}

/// Load `plan` only: a later `systemctl kexec` or `kexec-chooser exec` boots it.
pub fn load(root: &Root, sys: &mut dyn System, term: &mut dyn Terminal, plan: &Plan) -> Result<Syscall, Error> {
    direct::start_clock();
    preflight::check(root, sys, plan).map_err(Error::Preflight)?;
    refuse_foreign_root(root, sys)?;
    let prepared = load::prepare(root, plan).map_err(Error::Prepare)?;
    let used = load::load(root, sys, &prepared, &plan.state).map_err(Error::Load)?;
    let _ = writeln!(
        term.log(),
        "kexec-chooser: loaded {} with {used}; `systemctl kexec` or `kexec-chooser exec` boots it",
        text::escape(plan.version())
    );
    Ok(used)
}

/// Hand over to the kernel loaded already.
pub fn exec(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    mode: ModeChoice,
    handover: &Handover,
) -> Result<(), Error> {
    let consent = term.consent();
    if consent == Consent::Refused {
        return Err(Error::NoConsent("reboot"));
    }
    refuse_foreign_root(root, sys)?;
    if !sys.kexec_loaded().map_err(Error::LoadedUnknown)? {
        return Err(Error::NothingLoaded);
    }
    let state = KexecState::read(root);
    let mode = mode.resolve(&state);
    if consent == Consent::Ask {
        confirm(term, &format!("Hand over to the loaded kernel ({mode} mode) now?"))?;
    }
    hand_over(sys, term, mode, handover, &state)
}

/// Unload whatever kernel is loaded for kexec.
pub fn unload(root: &Root, sys: &mut dyn System) -> Result<(), Error> {
    refuse_foreign_root(root, sys)?;
    load::unload(sys, &KexecState::read(root)).map_err(Error::Unload)
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

/// Hand over in `mode`; on failure unload and report, leaving the machine up.
fn hand_over(
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    mode: Mode,
    handover: &Handover,
    state: &KexecState,
) -> Result<(), Error> {
    let result = match mode {
        Mode::Systemd => systemd::handover(sys, term.log()),
        Mode::Direct => direct::handover(sys, &direct::Options { timeout: handover.timeout }, term.log()),
    };
    result.map_err(|source| {
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
        let e = exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover()).unwrap_err();
        assert!(matches!(e, Error::NothingLoaded), "{e}");
        fake.loaded = true;
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover()).unwrap();
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
}
