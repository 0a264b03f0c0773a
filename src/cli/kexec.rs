//! Arguments of `load`'s companions — `unload`, `exec`, `status` — and the
//! hand-over options shared with `reboot`; each handed to [`crate::warm`],
//! whose outcome is printed here.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use super::{exit, Ctx, ExitError};
use crate::kexec::plan::ModeChoice;
use crate::kexec::state::Config;
use crate::safety::record::LastWarmReboot;
use crate::safety::watchdog;
use crate::sys::Real;
use crate::ui::Console;
use crate::warm;

/// Seconds processes get between SIGTERM and SIGKILL in direct mode.
pub const DEFAULT_TIMEOUT: u64 = 10;

/// Options of the hand-over, shared by `reboot` and `exec`.
#[derive(Debug, Clone, Args)]
pub struct HandoverArgs {
    /// How to hand over to the loaded kernel.
    #[arg(long, value_enum, default_value_t = ModeChoice::Auto)]
    pub mode: ModeChoice,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds that processes get between SIGTERM and SIGKILL in direct mode.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT)]
    pub timeout: u64,
}

impl HandoverArgs {
    pub fn handover(&self) -> warm::Handover {
        warm::Handover { timeout: Duration::from_secs(self.timeout) }
    }
}

/// The safety net: the watchdog armed just before the hand-over.
#[derive(Debug, Clone, Args)]
pub struct WatchdogArgs {
    /// Guard the hand-over for SECONDS: a new kernel that does not confirm
    /// its boot in time is reset, and the boot loader brings back the
    /// running kernel (else its default). The BMC's watchdog (IPMI) where
    /// there is one, else a chipset watchdog, else the software net (panic=
    /// and softdog on the new kernel's command line; never on `load`, which
    /// refuses --watchdog where only the software net could take it).
    /// [default: 600 s, or a chipset watchdog's largest timeout when shorter]
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..))]
    pub watchdog: Option<u32>,
    /// Arm no watchdog and set no software net (the boot loader's one-time
    /// entry back to the running kernel is still set).
    #[arg(long, conflicts_with = "watchdog")]
    pub no_watchdog: bool,
}

impl WatchdogArgs {
    pub fn request(&self) -> watchdog::Request {
        match (self.no_watchdog, self.watchdog) {
            (true, _) => watchdog::Request::Off,
            (false, Some(s)) => watchdog::Request::Seconds(s),
            (false, None) => watchdog::Request::Default,
        }
    }
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub handover: HandoverArgs,
    #[command(flatten)]
    pub watchdog: WatchdogArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for programs.
    #[arg(long)]
    pub json: bool,
}

/// The outcome of a step of the warm reboot, with Ctrl-C's exit code.
pub fn acted<T>(result: Result<T, warm::Error>) -> anyhow::Result<T> {
    result.map_err(|e| match e {
        warm::Error::Interrupted => ExitError::new(exit::INTERRUPTED, "interrupted").into(),
        e => anyhow::Error::new(e),
    })
}

pub fn unload(ctx: &Ctx) -> anyhow::Result<u8> {
    acted(warm::unload(&ctx.root, &mut Real))?;
    let mut err = std::io::stderr().lock();
    crate::say!(err, "nothing is loaded for kexec now")?;
    Ok(exit::OK)
}

pub fn exec(ctx: &Ctx, args: &ExecArgs) -> anyhow::Result<u8> {
    let h = &args.handover;
    let mut console = Console::new(h.yes);
    acted(warm::exec(&ctx.root, &mut Real, &mut console, h.mode, &h.handover(), args.watchdog.request()))?;
    Ok(exit::OK)
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
    let s = crate::kexec::status::status(&ctx.root, &Real);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &s)?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    let st = &s.state;
    writeln!(out, "kexec possible:          {}", if s.possible { "yes" } else { "no" })?;
    for r in &s.reasons {
        writeln!(out, "  {}", crate::text::escape(r))?;
    }
    writeln!(out, "running release:         {}", crate::text::escape(st.release.as_deref().unwrap_or("unknown")))?;
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
        crate::text::escape(st.lockdown.as_deref().unwrap_or("not available"))
    )?;
    let sb = match st.secure_boot {
        Some(true) => "on",
        Some(false) => "off",
        None => "no EFI variable",
    };
    writeln!(out, "Secure Boot:             {sb}")?;
    writeln!(out, "CONFIG_KEXEC_FILE:       {}", config_str(st.config_kexec_file))?;
    writeln!(out, "CONFIG_KEXEC_SIG:        {}", config_str(st.config_kexec_sig))?;
    writeln!(out, "load syscall:            {} ({})", s.syscall, s.syscall_reason)?;
    writeln!(out, "hand-over of auto:       {}", s.auto_mode)?;
    match &s.last_warm_reboot {
        Some(LastWarmReboot::Damaged { error, .. }) => {
            writeln!(out, "last warm reboot:        damaged record ({})", crate::text::escape(error))?
        }
        None => writeln!(out, "last warm reboot:        none")?,
        Some(LastWarmReboot::Recorded(w)) => {
            let t = crate::text::escape;
            let seconds = w.seconds.map(|s| format!(", {s:.1} s to confirmation")).unwrap_or_default();
            writeln!(
                out,
                "last warm reboot:        {} ({} -> {}, started {}{seconds})",
                w.result,
                t(&w.from),
                t(&w.target),
                t(&w.started)
            )?;
            match &w.watchdog {
                Some(d) => match &d.device {
                    Some(device) => {
                        writeln!(out, "  {} watchdog {} armed for {} s", d.kind, crate::text::path(device), d.timeout)?
                    }
                    None => writeln!(out, "  software net (panic=, softdog) for {} s", d.timeout)?,
                },
                None => writeln!(out, "  no watchdog guarded it")?,
            }
            match &w.fallback {
                Some(f) => {
                    writeln!(out, "  after a reset: {} ({} {})", t(&f.release), f.loader.mechanism(), t(&f.entry))?
                }
                None => writeln!(out, "  after a reset: the boot loader's default")?,
            }
            if let Some(back) = &w.came_back {
                writeln!(out, "  came back: {}", t(back))?;
            }
        }
    }
    Ok(exit::OK)
}
