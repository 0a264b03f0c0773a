//! The warm reboot, top to bottom: choose the kernel, make the plan, then
//! act on it in the one order that keeps a machine safe —
//!
//! consent (a terminal or `--yes`) → preflight → confirmation → load →
//! safety net set ([`net::arm`]) → hand-over (systemd or direct) →
//! `reboot(LINUX_REBOOT_CMD_KEXEC)`, and when the hand-over fails, the net
//! undone and the kernel unloaded, so that the machine keeps running.
//!
//! The side effects go through [`System`] and the person is reached through
//! [`Terminal`], both passed in: the command line passes the real ones, the
//! tests a recording fake and a scripted terminal. `load`, `exec` and
//! `unload` are the same steps taken apart.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::boot::{self, BootEntry};
use crate::kexec::load::{self, LoadError};
use crate::kexec::note::LoadNote;
use crate::kexec::plan::{CmdlineError, Mode, ModeChoice, Plan, PlanOptions};
use crate::kexec::preflight::{self, PreflightError};
use crate::kexec::syscall::Syscall;
use crate::kexec::KexecState;
use crate::root::Root;
use crate::safety::fallback;
use crate::safety::net::{self, Armed, ChooseError, Net, SetError, Target};
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
    #[error(transparent)]
    Net(#[from] ChooseError),
    #[error("the safety net could not be set; the loaded kernel was unloaded and the machine keeps running")]
    NetNotSet(#[source] SetError),
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
    let d = boot::discover(root);
    let entry = choose(root, term, &d, req.selector.as_deref())?;
    let state = KexecState::read(root);
    // A load alone (no mode) is handed over later, by `exec` in its
    // default mode or by `systemctl kexec`.
    let later = req.options.mode.is_none();
    let mode = req.options.mode.unwrap_or(ModeChoice::Auto).resolve(&state);
    let net = net::choose(root, &net_for(&entry.version, mode, later, &state, &d.entries), req.options.watchdog)?;
    Ok(Plan::build(root, entry, &req.options, state, net)?)
}

/// What the net is chosen for: a warm reboot into `target` from the running
/// kernel `state` describes.
fn net_for<'a>(
    target: &'a str,
    mode: Mode,
    later: bool,
    state: &'a KexecState,
    entries: &'a [BootEntry],
) -> net::For<'a> {
    let running = fallback::Running { release: state.release.as_deref(), cmdline: state.cmdline.as_deref() };
    net::For { target, mode, later, running, entries }
}

fn choose(
    root: &Root,
    term: &mut dyn Terminal,
    d: &boot::Discovery,
    selector: Option<&str>,
) -> Result<BootEntry, Error> {
    // What discovery passed over (a file too large, unreadable) may be why
    // a kernel is missing: say it before choosing.
    for note in &d.notes {
        let _ = crate::say!(term.log(), "note: {}", text::escape(note));
    }
    if let Some(sel) = selector {
        return Ok(boot::select::select(root, d, sel)?);
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
    let started = SystemTime::now();
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
    let target = Target { mark: &plan.mark, id: &plan.entry.id, release: plan.version(), mode, started };
    let armed = set_net(root, sys, term, &plan.net, &target, &plan.state)?;
    hand_over(root, sys, term, mode, handover, &plan.state, Some(armed))
}

/// Set the net; when it cannot be set, unload: the machine keeps running.
/// From here until the hand-over is over, the signals that could stop this
/// process (Ctrl-C while direct mode waits for processes, a closed SSH
/// session, `kill`) are held: it cannot die with the net set and leave a
/// machine that keeps running to be reset, or to boot the old kernel at its
/// next cold reboot. A failed hand-over takes the net down, then lets them
/// act again.
fn set_net(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    net: &Net,
    target: &Target<'_>,
    state: &KexecState,
) -> Result<Armed, Error> {
    let unload = |sys: &mut dyn System, e: SetError| {
        let _ = load::unload(sys, state);
        sys.release_signals();
        Error::NetNotSet(e)
    };
    if let Err(errno) = sys.hold_signals() {
        return Err(unload(sys, SetError::Signals(errno)));
    }
    let _ = crate::say!(term.log(), "Ctrl-C, hang-ups and SIGTERM are ignored until the hand-over is over");
    net::arm(root, sys, term.log(), net, target, state).map_err(|e| unload(sys, e))
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
        "loaded {} with {used}; `kexec-chooser exec` boots it with the safety net (`systemctl kexec` boots it \
         without)",
        text::escape(plan.version())
    );
    let note = LoadNote {
        mark: plan.mark.clone(),
        id: plan.entry.id.clone(),
        release: plan.entry.version.clone(),
        kind: plan.net.watchdog.as_ref().map(net::Guard::kind),
        module: plan.net.watchdog.as_ref().and_then(|g| g.module().map(str::to_string)),
        timeout: plan.net.watchdog.as_ref().map(net::Guard::timeout),
    };
    if let Err(e) = note.write(root) {
        let _ = crate::say!(term.log(), "warning: {e:#}: `exec` will hand over without the safety net");
    }
    Ok(used)
}

/// Hand over to the kernel loaded already, with the safety net `load`
/// planned for it (`request` may change its timeout or decline it).
pub fn exec(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    mode: ModeChoice,
    handover: &Handover,
    request: net::Request,
) -> Result<(), Error> {
    let consent = term.consent();
    if consent == Consent::Refused {
        return Err(Error::NoConsent("reboot"));
    }
    let started = SystemTime::now();
    refuse_foreign_root(root, sys)?;
    if !sys.kexec_loaded().map_err(Error::LoadedUnknown)? {
        return Err(Error::NothingLoaded);
    }
    let state = KexecState::read(root);
    let mode = mode.resolve(&state);
    let note = LoadNote::read(root);
    let net = match &note {
        Some(n) => {
            let planned = net::Planned { kind: n.kind, module: n.module.as_deref(), timeout: n.timeout };
            let d = boot::discover(root);
            net::choose_for_loaded(root, &net_for(&n.release, mode, false, &state, &d.entries), planned, request)?
        }
        None if matches!(request, net::Request::Seconds(_)) => return Err(ChooseError::NotPlanned.into()),
        None => Net::default(),
    };
    if consent == Consent::Ask {
        let _ = writeln!(term.log(), "safety:    {}", net.describe());
        confirm(term, &format!("Hand over to the loaded kernel ({mode} mode) now?"))?;
    }
    let armed = match &note {
        Some(n) => {
            let target = Target { mark: &n.mark, id: &n.id, release: &n.release, mode, started };
            Some(set_net(root, sys, term, &net, &target, &state)?)
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
    hand_over(root, sys, term, mode, handover, &state, armed)
}

/// Unload whatever kernel is loaded for kexec.
pub fn unload(root: &Root, sys: &mut dyn System) -> Result<(), Error> {
    refuse_foreign_root(root, sys)?;
    load::unload(sys, &KexecState::read(root)).map_err(Error::Unload)?;
    LoadNote::remove(root);
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

/// Hand over in `mode`; on failure undo the net and unload, leaving the
/// machine up, and report.
fn hand_over(
    root: &Root,
    sys: &mut dyn System,
    term: &mut dyn Terminal,
    mode: Mode,
    handover: &Handover,
    state: &KexecState,
    armed: Option<Armed>,
) -> Result<(), Error> {
    let result = match mode {
        Mode::Systemd => systemd::handover(sys, term.log()),
        Mode::Direct => direct::handover(sys, &direct::Options { timeout: handover.timeout }, term.log()),
    };
    result.map_err(|source| {
        if let Some(armed) = armed {
            armed.undo(root, sys);
        }
        let unloaded = match load::unload(sys, state) {
            Ok(()) => "the loaded kernel was unloaded".to_string(),
            Err(u) => format!("unloading failed too ({u})"),
        };
        sys.release_signals();
        Error::Handover { source, unloaded }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kexec::preflight::tests::{machine, on, plan};
    use crate::kexec::preflight::Allow;
    use crate::safety::record::{Outcome, Record, Store};
    use crate::safety::watchdog::{self, ArmedBy};
    use crate::sys::fake::{Call, Fake};
    use crate::testing::TempRoot;
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

    fn reboot_plan(m: &TempRoot, mode: Mode) -> Plan {
        let mut p = on(m, &plan("6.1.0-9-amd64"), Allow::default());
        p.mode = Some(mode);
        p
    }

    fn run(m: &TempRoot, fake: &mut Fake, mode: Mode, consent: Consent, answer: Answer) -> Result<(), Error> {
        let mut term = Scripted::new(consent, answer);
        reboot(&m.root(), fake, &mut term, &reboot_plan(m, mode), &handover())
    }

    #[test]
    fn without_terminal_and_yes_nothing_is_touched() {
        let m = machine();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Refused, Answer::Yes).unwrap_err();
        assert!(e.to_string().contains("pass --yes"), "{e}");
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
    }

    #[test]
    fn eof_is_not_consent() {
        let m = machine();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Ask, Answer::No).unwrap_err();
        assert!(matches!(e, Error::NotConfirmed), "{e}");
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn ctrl_c_at_the_prompt_is_interrupted_and_loads_nothing() {
        let m = machine();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Ask, Answer::Interrupted).unwrap_err();
        assert!(matches!(e, Error::Interrupted));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn the_person_sees_the_plan_before_the_question() {
        let m = machine();
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
        let m = machine();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Refused, Answer::No);
        load(&m.root(), &mut fake, &mut term, &on(&m, &plan("6.1.0-9-amd64"), Allow::default())).unwrap();
        assert_eq!(fake.loads().len(), 1);
        assert_eq!(fake.calls.len(), 1);
        assert!(term.asked.is_empty());
    }

    #[test]
    fn preflight_refusal_loads_nothing() {
        let m = machine();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Mode::Direct, Consent::Given, Answer::Yes).unwrap_err();
        assert!(format!("{:#}", anyhow::Error::new(e)).contains("kexec_load_disabled"));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn systemd_mode_loads_then_runs_systemctl_kexec() {
        let m = machine();
        let mut fake = Fake::default();
        run(&m, &mut fake, Mode::Systemd, Consent::Given, Answer::Yes).unwrap();
        assert!(matches!(fake.calls[0], Call::Load(_)));
        assert_eq!(fake.calls[1..], [Call::HoldSignals, Call::Run("systemctl".into(), vec!["kexec".into()])]);
    }

    #[test]
    fn failed_handover_unloads_and_keeps_running() {
        let m = machine();
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let e = run(&m, &mut fake, Mode::Systemd, Consent::Given, Answer::Yes).unwrap_err();
        assert!(e.to_string().contains("unloaded and the machine keeps running"), "{e}");
        assert_eq!(fake.calls[fake.calls.len() - 2..], [Call::Unload, Call::ReleaseSignals]);
        assert!(!fake.loaded);
    }

    #[test]
    fn direct_mode_ends_in_reboot_kexec_and_unloads_when_it_fails() {
        let m = machine();
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        let e = run(&m, &mut fake, Mode::Direct, Consent::Given, Answer::Yes).unwrap_err();
        assert!(format!("{:#}", anyhow::Error::new(e)).contains("reboot(LINUX_REBOOT_CMD_KEXEC) failed"));
        let n = fake.calls.len();
        assert_eq!(&fake.calls[n - 3..], &[Call::RebootKexec, Call::Unload, Call::ReleaseSignals]);
    }

    #[test]
    fn a_failed_load_hands_nothing_over() {
        let m = machine();
        let mut fake = Fake { load_error: Some(Errno::ENOEXEC), ..Fake::default() };
        let e = run(&m, &mut fake, Mode::Systemd, Consent::Given, Answer::Yes).unwrap_err();
        assert!(matches!(e, Error::Load(LoadError::Format)), "{e}");
        assert!(fake.calls.iter().all(|c| matches!(c, Call::Load(_))), "{:?}", fake.calls);
    }

    #[test]
    fn exec_needs_a_loaded_kernel() {
        let m = machine();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Given, Answer::No);
        let e =
            exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), net::Request::Default).unwrap_err();
        assert!(matches!(e, Error::NothingLoaded), "{e}");
        fake.loaded = true;
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), net::Request::Default).unwrap();
        assert_eq!(fake.calls, vec![Call::Run("systemctl".into(), vec!["kexec".into()])]);
        assert!(term.asked.is_empty());
    }

    #[test]
    fn a_dry_run_shows_what_preflight_would_refuse() {
        let m = machine();
        let mut p = on(&m, &plan("6.1.0-9-amd64"), Allow::default());
        p.initrds = vec!["/boot/nothing-here.img".into()];
        let found = problems(&m.root(), &Fake::default(), &p);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("/boot/nothing-here.img is missing"), "{found:?}");
    }

    /// The watchdog an i6300esb gives: armed by kexec-chooser, kept by the core.
    fn esb(timeout: u32) -> watchdog::Choice {
        watchdog::tests::esb_choice(timeout)
    }

    fn armed_plan(m: &TempRoot, mode: Mode, w: watchdog::Choice) -> Plan {
        let mut p = reboot_plan(m, mode);
        p.net = Net { watchdog: Some(net::Guard::Hardware(w)), target: p.entry.version.clone(), ..Net::default() };
        p
    }

    fn pending(m: &TempRoot) -> Option<Record> {
        Store::new(&m.root()).pending().unwrap()
    }

    #[test]
    fn the_watchdog_is_armed_after_the_load_just_before_the_hand_over() {
        let m = machine();
        m.write("/proc/sys/kernel/osrelease", b"6.1.0-8-amd64\n");
        m.write("/proc/sys/kernel/random/boot_id", b"b0\n");
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Ask, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, esb(120)), &handover()).unwrap();
        assert!(matches!(fake.calls[0], Call::Load(_)), "{:?}", fake.calls);
        assert_eq!(
            fake.calls[1..],
            [
                Call::HoldSignals,
                Call::WatchdogArm("/dev/watchdog0".into(), 120),
                Call::Run("systemctl".into(), vec!["kexec".into()])
            ]
        );
        let shown = String::from_utf8_lossy(&term.out);
        assert!(
            shown.contains("safety:   /dev/watchdog0 (i6300esb) 120 s; if 6.1.0-9-amd64 does not come up: reset, then"),
            "{shown}"
        );
        assert!(shown.contains("kexec-chooser: safety net set in "), "{shown}");
        let r = pending(&m).expect("a pending record");
        assert_eq!((r.id.as_str(), r.target.as_str(), r.from.as_str()), ("ab12", "6.1.0-9-amd64", "6.1.0-8-amd64"));
        assert_eq!(r.from_boot_id, "b0");
        assert_eq!(r.result, Outcome::Pending);
        let w = r.watchdog.expect("the watchdog in the record");
        assert_eq!((w.timeout, w.module.as_deref(), w.armed_by), (120, Some("i6300esb"), ArmedBy::KexecChooser));
    }

    #[test]
    fn nothing_is_armed_before_preflight_and_confirmation_pass() {
        for (consent, answer, disabled) in [
            (Consent::Ask, Answer::No, false),
            (Consent::Refused, Answer::Yes, false),
            (Consent::Given, Answer::Yes, true),
        ] {
            let m = machine();
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
        let m = machine();
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Direct, esb(600)), &handover()).unwrap_err();
        let arm = fake.calls.iter().position(|c| matches!(c, Call::WatchdogArm(..))).expect("armed");
        let kexec = fake.calls.iter().position(|c| c == &Call::RebootKexec).expect("tried");
        assert!(arm < kexec);
        assert_eq!(
            &fake.calls[kexec + 1..],
            [Call::WatchdogDisarm("/dev/watchdog0".into()), Call::Unload, Call::ReleaseSignals]
        );
        assert!(pending(&m).is_none());
    }

    /// Ctrl-C while direct mode waits for processes, a closed SSH session:
    /// from just before the net is set until the hand-over is over, they
    /// cannot stop the tool; a failed hand-over takes the whole net down
    /// (watchdog, one-time entry, record, loaded kernel) before they act again.
    #[test]
    fn signals_are_held_from_before_arming_until_the_net_is_down_again() {
        let m = machine();
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Direct, esb(600)), &handover()).unwrap_err();
        let at =
            |c: &Call| fake.calls.iter().position(|x| x == c).unwrap_or_else(|| panic!("no {c:?}: {:?}", fake.calls));
        let hold = at(&Call::HoldSignals);
        let armed = at(&Call::WatchdogArm("/dev/watchdog0".into(), 600));
        let jump = at(&Call::RebootKexec);
        let release = at(&Call::ReleaseSignals);
        assert!(hold < armed && armed < jump && jump < release, "{:?}", fake.calls);
        let down = [at(&Call::WatchdogDisarm("/dev/watchdog0".into())), at(&Call::Unload)];
        assert!(down.iter().all(|&d| jump < d && d < release), "{:?}", fake.calls);
        assert!(pending(&m).is_none());
        assert_eq!(fake.calls.iter().filter(|c| **c == Call::ReleaseSignals).count(), 1);
        assert!(String::from_utf8_lossy(&term.out).contains("Ctrl-C, hang-ups and SIGTERM are ignored"));
        // Before the net: nothing held (a refusal or a failed load can still be interrupted).
        let mut fake = Fake { load_error: Some(Errno::ENOEXEC), ..Fake::default() };
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Direct, esb(600)), &handover()).unwrap_err();
        assert!(!fake.calls.contains(&Call::HoldSignals), "{:?}", fake.calls);
    }

    #[test]
    fn a_failed_load_arms_nothing_and_writes_no_record() {
        let m = machine();
        let mut fake = Fake { load_error: Some(Errno::ENOEXEC), ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, esb(600)), &handover()).unwrap_err();
        assert!(fake.calls.iter().all(|c| matches!(c, Call::Load(_))), "{:?}", fake.calls);
        assert!(pending(&m).is_none());
    }

    #[test]
    fn a_watchdog_that_cannot_be_armed_unloads_and_keeps_running() {
        let m = machine();
        let mut fake = Fake { watchdog_arm_error: Some(Errno::EINVAL), ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        let e =
            reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, esb(600)), &handover()).unwrap_err();
        assert!(matches!(e, Error::NetNotSet(SetError::Arm(_))), "{e}");
        assert_eq!(fake.calls[fake.calls.len() - 2..], [Call::Unload, Call::ReleaseSignals]);
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::Run(..) | Call::RebootKexec)));
        assert!(pending(&m).is_none());
    }

    #[test]
    fn without_a_watchdog_the_record_is_still_written_and_the_plan_says_so() {
        let m = machine();
        let mut fake = Fake::default();
        let mut term = Scripted::new(Consent::Ask, Answer::Yes);
        reboot(&m.root(), &mut fake, &mut term, &reboot_plan(&m, Mode::Systemd), &handover()).unwrap();
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogArm(..))));
        let shown = String::from_utf8_lossy(&term.out);
        assert!(shown.contains(net::NO_WATCHDOG), "{shown}");
        assert_eq!(pending(&m).expect("record").watchdog, None);
    }

    #[test]
    fn a_device_held_by_systemd_is_armed_through_kexec_watchdog_sec_and_given_back_on_failure() {
        let m = machine();
        let mut w = esb(600);
        w.armed_by = ArmedBy::Systemd;
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        // busctl "fails" too in this fake: arming through systemd is an error before any hand-over.
        let e = reboot(&m.root(), &mut fake, &mut term, &armed_plan(&m, Mode::Systemd, w.clone()), &handover())
            .unwrap_err();
        assert!(matches!(e, Error::NetNotSet(SetError::Command(_))), "{e}");
        assert_eq!(fake.calls[fake.calls.len() - 2..], [Call::Unload, Call::ReleaseSignals]);
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
        assert_eq!(fake.calls[1..3], [Call::HoldSignals, set("600000000")]);
        assert!(fake.calls.contains(&set("0")), "{:?}", fake.calls);
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogArm(..))));
    }

    #[test]
    fn exec_arms_what_load_planned_and_refuses_a_watchdog_load_did_not_plan() {
        let m = machine();
        let mut fake = Fake { loaded: true, ..Fake::default() };
        let mut term = Scripted::new(Consent::Given, Answer::Yes);
        let e = exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), net::Request::Seconds(60))
            .unwrap_err();
        assert!(matches!(e, Error::Net(ChooseError::NotPlanned)), "{e}");
        assert!(fake.calls.is_empty());
        // A load with no watchdog: exec writes the record and hands over.
        let note = LoadNote {
            mark: "cd34".into(),
            id: "x".into(),
            release: "6.1.0-9-amd64".into(),
            kind: None,
            module: None,
            timeout: None,
        };
        note.write(&m.root()).unwrap();
        assert_eq!(LoadNote::read(&m.root()), Some(note));
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), net::Request::Default).unwrap();
        assert_eq!(pending(&m).expect("record").id, "cd34");
        // A load planned with a watchdog that is gone since: exec without
        // --watchdog goes on without it; with --watchdog it is refused.
        let planned = LoadNote {
            kind: Some(crate::safety::record::Kind::Hardware),
            module: Some("i6300esb".into()),
            timeout: Some(600),
            mark: "ef56".into(),
            ..LoadNote::read(&m.root()).unwrap()
        };
        planned.write(&m.root()).unwrap();
        let before = fake.calls.len();
        let e = exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), net::Request::Seconds(60))
            .unwrap_err();
        assert!(matches!(e, Error::Net(ChooseError::NotPlanned)), "{e}");
        assert_eq!(fake.calls.len(), before);
        exec(&m.root(), &mut fake, &mut term, ModeChoice::Systemd, &handover(), net::Request::Default).unwrap();
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogArm(..))));
        assert_eq!(pending(&m).expect("record").id, "ef56");
        unload(&m.root(), &mut fake).unwrap();
        assert_eq!(LoadNote::read(&m.root()), None);
    }
}
