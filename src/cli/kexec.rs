//! Glue of the kexec side: `load`, `unload`, `exec`, `status`, and the hand-over
//! that ends `reboot`.
//!
//! The order is the contract: refuse without consent, preflight, confirm,
//! load, hand over; a failed hand-over unloads and leaves the machine running.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::{exit, Ctx, ExitError};
use crate::boot::paths;
use crate::kexec::{load, preflight, state::Config, Allow, KexecState, Plan};
use crate::shutdown::{direct, systemd};
use crate::sys::{Real, System};
use crate::ui::confirm::{self, Answer, Consent, Summary};

/// How the loaded kernel is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `systemd` when /run/systemd/system exists, else `direct`.
    Auto,
    /// `systemctl kexec`: systemd stops every unit and unmounts.
    Systemd,
    /// kexec-chooser's own clean shutdown, for machines without systemd.
    Direct,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Systemd => "systemd",
            Mode::Direct => "direct",
        }
    }
}

/// Seconds processes get between SIGTERM and SIGKILL in direct mode.
pub const DEFAULT_TIMEOUT: u64 = 10;

/// Options of the hand-over, shared by `reboot` and `exec`.
#[derive(Debug, Clone, Args)]
pub struct HandoverArgs {
    /// How to hand over to the loaded kernel.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds that processes get between SIGTERM and SIGKILL in direct mode.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub handover: HandoverArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for programs.
    #[arg(long)]
    pub json: bool,
}

/// How the person is asked; a seam for tests.
type Asker<'a> = &'a mut dyn FnMut(&str) -> Answer;

/// Load `plan` and, with `handover`, hand over to it; `allow` carries what
/// `--force` and `--no-initrd` let preflight pass.
pub fn load_and_handover(
    ctx: &Ctx,
    plan: &Plan,
    allow: Allow,
    handover: Option<&HandoverArgs>,
) -> anyhow::Result<u8> {
    let consent = confirm::consent_here(handover.is_some_and(|h| h.yes));
    let mut ask = confirm::ask;
    drive(ctx, &mut Real, plan, allow, handover, consent, &mut ask, &mut std::io::stderr())
}

fn refuse_without_consent(consent: Consent, what: &str) -> anyhow::Result<()> {
    if consent == Consent::Refused {
        bail!(
            "refusing to {what} without confirmation: there is no terminal to ask on; pass --yes"
        );
    }
    Ok(())
}

/// `--root DIR` reads another system's files; acting on the running kernel
/// from them would be a surprise, so only `--root /` may act.
fn refuse_foreign_root(ctx: &Ctx, sys: &dyn System) -> anyhow::Result<()> {
    if sys.acts_on_host() && !ctx.root.is_host() {
        bail!(
            "--root {} is for looking only: load, exec and unload act on the running kernel; use --root /",
            ctx.root.dir().display()
        );
    }
    Ok(())
}

fn confirm_or_stop(consent: Consent, ask: Asker<'_>, question: &str) -> anyhow::Result<()> {
    if consent != Consent::Ask {
        return Ok(());
    }
    match ask(question) {
        Answer::Yes => Ok(()),
        Answer::No => bail!("not confirmed: nothing was loaded and the machine keeps running"),
        Answer::Interrupted => Err(ExitError::new(exit::INTERRUPTED, "interrupted").into()),
    }
}

fn summary_text(ctx: &Ctx, plan: &Plan, mode: Mode) -> String {
    let running = std::fs::read_to_string(ctx.root.path(paths::PROC_CMDLINE)).ok();
    let kernel = plan.kernel.display().to_string();
    confirm::render(&Summary {
        version: &plan.version,
        kernel: &kernel,
        initrds: plan.initrds.iter().map(|p| p.display().to_string()).collect(),
        cmdline: &plan.cmdline,
        running_cmdline: running.as_deref().map(str::trim),
        mode: mode.as_str(),
    })
}

#[allow(clippy::too_many_arguments)]
fn drive(
    ctx: &Ctx,
    sys: &mut dyn System,
    plan: &Plan,
    allow: Allow,
    handover: Option<&HandoverArgs>,
    consent: Consent,
    ask: Asker<'_>,
    log: &mut dyn Write,
) -> anyhow::Result<u8> {
    if handover.is_some() {
        refuse_without_consent(consent, "reboot")?;
    }
    crate::shutdown::direct::start_clock();
    preflight::check(&ctx.root, sys, plan, allow)
        .context("preflight refused; nothing was loaded")?;
    refuse_foreign_root(ctx, sys)?;
    let prepared = load::prepare(&ctx.root, plan).context("nothing was loaded")?;

    let Some(h) = handover else {
        let used = load::load(&ctx.root, sys, &prepared).context("loading failed")?;
        writeln!(
            log,
            "kexec-chooser: loaded {} with {}; `systemctl kexec` or `kexec-chooser exec` boots it",
            plan.version,
            used.as_str()
        )?;
        return Ok(exit::OK);
    };
    let mode = resolve_mode(ctx, h.mode);
    if consent == Consent::Ask {
        write!(log, "{}", summary_text(ctx, plan, mode))?;
    }
    confirm_or_stop(consent, ask, &format!("Warm-reboot into {} now?", plan.version))?;
    let used = load::load(&ctx.root, sys, &prepared).context("loading failed; the machine keeps running")?;
    // The kernel holds its own copy now; open files would keep /boot busy.
    drop(prepared);
    writeln!(log, "kexec-chooser: loaded {} ({}) with {}", plan.version, plan.kernel.display(), used.as_str())?;
    hand_over(ctx, sys, h, mode, log)
}

/// Hand over in `mode`; on failure unload and report, leaving the machine up.
fn hand_over(
    ctx: &Ctx,
    sys: &mut dyn System,
    h: &HandoverArgs,
    mode: Mode,
    log: &mut dyn Write,
) -> anyhow::Result<u8> {
    let result = match mode {
        Mode::Systemd => systemd::handover(sys, log),
        _ => {
            direct::handover(sys, &direct::Options { timeout: Duration::from_secs(h.timeout) }, log)
        }
    };
    match result {
        Ok(()) => Ok(exit::OK),
        Err(e) => {
            let unloaded = match load::unload(&ctx.root, sys) {
                Ok(()) => "the loaded kernel was unloaded".to_string(),
                Err(u) => format!("unloading failed too ({u})"),
            };
            Err(anyhow::Error::new(e)
                .context(format!("hand-over failed; {unloaded} and the machine keeps running")))
        }
    }
}

pub fn unload(ctx: &Ctx) -> anyhow::Result<u8> {
    let mut sys = Real;
    refuse_foreign_root(ctx, &sys)?;
    load::unload(&ctx.root, &mut sys).context("cannot unload")?;
    let mut err = std::io::stderr().lock();
    writeln!(err, "kexec-chooser: nothing is loaded for kexec now")?;
    Ok(exit::OK)
}

pub fn exec(ctx: &Ctx, args: &ExecArgs) -> anyhow::Result<u8> {
    let consent = confirm::consent_here(args.handover.yes);
    let mut ask = confirm::ask;
    exec_with(ctx, &mut Real, &args.handover, consent, &mut ask, &mut std::io::stderr())
}

fn exec_with(
    ctx: &Ctx,
    sys: &mut dyn System,
    h: &HandoverArgs,
    consent: Consent,
    ask: Asker<'_>,
    log: &mut dyn Write,
) -> anyhow::Result<u8> {
    refuse_without_consent(consent, "reboot")?;
    refuse_foreign_root(ctx, sys)?;
    if !sys.kexec_loaded().context("cannot read /sys/kernel/kexec_loaded")? {
        bail!("no kernel is loaded for kexec: run `kexec-chooser load` first");
    }
    let mode = resolve_mode(ctx, h.mode);
    confirm_or_stop(
        consent,
        ask,
        &format!("Hand over to the loaded kernel ({} mode) now?", mode.as_str()),
    )?;
    hand_over(ctx, sys, h, mode, log)
}

/// What `status` prints.
#[derive(Debug, serde::Serialize)]
struct Status {
    possible: bool,
    reasons: Vec<String>,
    cap_sys_boot: bool,
    #[serde(flatten)]
    state: KexecState,
    auto_mode: Mode,
    /// The load syscall (`kexec_file_load` or `kexec_load`) and why.
    syscall: crate::kexec::syscall::Syscall,
    syscall_reason: String,
}

fn status_of(ctx: &Ctx, sys: &dyn System) -> Status {
    let state = KexecState::read(&ctx.root);
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
    let arch = crate::kexec::preflight::running_arch().0;
    let choice = crate::kexec::syscall::predict(&state, arch);
    if state.config_kexec_file == Config::No {
        // arm64 has the native kexec_load path, refused only under lockdown.
        if let Some(why) = crate::kexec::syscall::native_refused(&state, arch) {
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
    Status {
        possible,
        reasons,
        cap_sys_boot: cap,
        auto_mode: resolve_mode(ctx, Mode::Auto),
        syscall: choice.syscall,
        syscall_reason: choice.reason,
        state,
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn config_str(c: Config) -> &'static str {
    match c {
        Config::Yes => "y",
        Config::No => "n",
        Config::Unknown => "unknown (no /boot/config of the running kernel)",
    }
}

pub fn status(ctx: &Ctx, args: &StatusArgs) -> anyhow::Result<u8> {
    let s = status_of(ctx, &Real);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &s)?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    let st = &s.state;
    writeln!(out, "kexec possible:          {}", if s.possible { "yes" } else { "no" })?;
    for r in &s.reasons {
        writeln!(out, "  {r}")?;
    }
    writeln!(out, "running release:         {}", st.release.as_deref().unwrap_or("unknown"))?;
    writeln!(out, "CAP_SYS_BOOT:            {}", if s.cap_sys_boot { "yes" } else { "no" })?;
    writeln!(out, "kernel loaded:           {}", yes_no(st.loaded))?;
    writeln!(out, "kexec_load_disabled:     {}", yes_no(st.load_disabled))?;
    let limit = match st.load_limit_reboot {
        Some(-1) => "unlimited".to_string(),
        Some(n) => n.to_string(),
        None => "not in this kernel".to_string(),
    };
    writeln!(out, "kexec_load_limit_reboot: {limit}")?;
    writeln!(
        out,
        "lockdown:                {}",
        st.lockdown.as_deref().unwrap_or("not available")
    )?;
    let sb = match st.secure_boot {
        Some(true) => "on",
        Some(false) => "off",
        None => "no EFI variable",
    };
    writeln!(out, "Secure Boot:             {sb}")?;
    writeln!(out, "CONFIG_KEXEC_FILE:       {}", config_str(st.config_kexec_file))?;
    writeln!(out, "CONFIG_KEXEC_SIG:        {}", config_str(st.config_kexec_sig))?;
    writeln!(out, "load syscall:            {} ({})", s.syscall.as_str(), s.syscall_reason)?;
    writeln!(out, "hand-over of auto:       {}", s.auto_mode.as_str())?;
    Ok(exit::OK)
}

/// The mode `auto` resolves to under `root`.
pub fn resolve_mode(ctx: &Ctx, mode: Mode) -> Mode {
    match mode {
        Mode::Auto if ctx.root.path(paths::RUN_SYSTEMD).is_dir() => Mode::Systemd,
        Mode::Auto => Mode::Direct,
        m => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::Root;
    use crate::kexec::preflight::tests::{plan, Machine};
    use crate::sys::fake::{Call, Fake};
    use nix::errno::Errno;

    fn ctx(m: &Machine) -> Ctx {
        Ctx { root: Root::new(m.dir.path()) }
    }

    fn args(mode: Mode) -> HandoverArgs {
        HandoverArgs { mode, yes: true, timeout: 1 }
    }

    fn never_asked(_: &str) -> Answer {
        panic!("asked although it must not")
    }

    fn run(
        m: &Machine,
        fake: &mut Fake,
        h: Option<&HandoverArgs>,
        consent: Consent,
        answer: Answer,
    ) -> anyhow::Result<u8> {
        let mut ask = |_: &str| answer;
        drive(
            &ctx(m),
            fake,
            &plan("6.1.0-9-amd64"),
            Allow::default(),
            h,
            consent,
            &mut ask,
            &mut Vec::new(),
        )
    }

    #[test]
    fn without_terminal_and_yes_nothing_is_touched() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Some(&args(Mode::Direct)), Consent::Refused, Answer::Yes)
            .unwrap_err();
        assert!(e.to_string().contains("pass --yes"), "{e}");
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
    }

    #[test]
    fn eof_is_not_consent() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let e =
            run(&m, &mut fake, Some(&args(Mode::Direct)), Consent::Ask, Answer::No).unwrap_err();
        assert!(e.to_string().contains("not confirmed"));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn ctrl_c_at_the_prompt_exits_130_and_loads_nothing() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let e = run(&m, &mut fake, Some(&args(Mode::Direct)), Consent::Ask, Answer::Interrupted)
            .unwrap_err();
        assert_eq!(e.downcast_ref::<ExitError>().map(|e| e.code), Some(exit::INTERRUPTED));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn load_only_loads_and_never_reboots() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let mut ask = never_asked;
        let code = drive(
            &ctx(&m),
            &mut fake,
            &plan("6.1.0-9-amd64"),
            Allow::default(),
            None,
            Consent::Refused,
            &mut ask,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(code, 0);
        assert_eq!(fake.loads().len(), 1);
        assert_eq!(fake.calls.len(), 1);
    }

    #[test]
    fn preflight_refusal_loads_nothing() {
        let m = Machine::new();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        let mut fake = Fake::default();
        let e =
            run(&m, &mut fake, Some(&args(Mode::Direct)), Consent::Given, Answer::Yes).unwrap_err();
        assert!(format!("{e:#}").contains("kexec_load_disabled"));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn systemd_mode_loads_then_runs_systemctl_kexec() {
        let m = Machine::new();
        let mut fake = Fake::default();
        run(&m, &mut fake, Some(&args(Mode::Systemd)), Consent::Given, Answer::Yes).unwrap();
        assert!(matches!(fake.calls[0], Call::Load(_)));
        assert_eq!(fake.calls[1], Call::Run("systemctl".into(), vec!["kexec".into()]));
    }

    #[test]
    fn failed_handover_unloads_and_keeps_running() {
        let m = Machine::new();
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let e = run(&m, &mut fake, Some(&args(Mode::Systemd)), Consent::Given, Answer::Yes)
            .unwrap_err();
        assert!(format!("{e:#}").contains("unloaded and the machine keeps running"), "{e:#}");
        assert_eq!(fake.calls.last(), Some(&Call::Unload));
        assert!(!fake.loaded);
    }

    #[test]
    fn direct_mode_ends_in_reboot_kexec_and_unloads_when_it_fails() {
        let m = Machine::new();
        let mut fake = Fake { reboot_error: Errno::EINVAL, ..Fake::default() };
        let e =
            run(&m, &mut fake, Some(&args(Mode::Direct)), Consent::Given, Answer::Yes).unwrap_err();
        assert!(format!("{e:#}").contains("reboot(LINUX_REBOOT_CMD_KEXEC) failed"));
        let n = fake.calls.len();
        assert_eq!(&fake.calls[n - 2..], &[Call::RebootKexec, Call::Unload]);
    }

    #[test]
    fn confirmed_prompt_goes_on() {
        let m = Machine::new();
        let mut fake = Fake::default();
        run(&m, &mut fake, Some(&args(Mode::Systemd)), Consent::Ask, Answer::Yes).unwrap();
        assert_eq!(fake.loads().len(), 1);
    }

    #[test]
    fn exec_needs_a_loaded_kernel() {
        let m = Machine::new();
        let mut fake = Fake::default();
        let mut ask = never_asked;
        let e = exec_with(
            &ctx(&m),
            &mut fake,
            &args(Mode::Systemd),
            Consent::Given,
            &mut ask,
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no kernel is loaded"));
        fake.loaded = true;
        exec_with(
            &ctx(&m),
            &mut fake,
            &args(Mode::Systemd),
            Consent::Given,
            &mut ask,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(fake.calls, vec![Call::Run("systemctl".into(), vec!["kexec".into()])]);
    }

    #[test]
    fn auto_mode_follows_run_systemd_system() {
        let m = Machine::new();
        assert_eq!(resolve_mode(&ctx(&m), Mode::Auto), Mode::Direct);
        std::fs::create_dir_all(m.dir.path().join("run/systemd/system")).unwrap();
        assert_eq!(resolve_mode(&ctx(&m), Mode::Auto), Mode::Systemd);
        assert_eq!(resolve_mode(&ctx(&m), Mode::Direct), Mode::Direct);
    }

    #[test]
    fn status_says_why_kexec_is_impossible() {
        let m = Machine::new();
        m.write("/proc/sys/kernel/kexec_load_disabled", b"1\n");
        let s = status_of(&ctx(&m), &Fake { cap_sys_boot: false, ..Fake::default() });
        assert!(!s.possible);
        assert_eq!(s.reasons.len(), 2, "{:?}", s.reasons);
        let s = status_of(&ctx(&Machine::new()), &Fake::default());
        assert!(s.possible, "{:?}", s.reasons);
    }
}
