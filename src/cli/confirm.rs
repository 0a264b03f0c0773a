//! Arguments of `kexec-chooser confirm`, run at boot by
//! kexec-chooser-confirm.service (or by init on machines without systemd),
//! and what it prints: one line on stdout when a warm reboot is confirmed,
//! a loud one on stderr when it fell back or failed its check, nothing when
//! nothing was pending. Both streams go to the journal and the console.

use std::io::Write;
use std::time::{Duration, SystemTime};

use clap::Args;

use super::kexec::DEFAULT_TIMEOUT;
use super::{exit, Ctx};
use crate::safety::confirm::{self, Confirmation, Options};
use crate::sys::Real;
use crate::text;

#[derive(Debug, Clone, Args)]
pub struct ConfirmArgs {
    /// A health command (run by `sh -c`) that must succeed before the warm
    /// boot is confirmed; when it fails, the machine reboots through the
    /// firmware to the boot loader's default. Empty: no check.
    #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
    pub check: Option<String>,
    /// Seconds that processes get between SIGTERM and SIGKILL, should a
    /// failed check reboot a machine without systemd.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT)]
    pub timeout: u64,
}

pub fn run(ctx: &Ctx, args: &ConfirmArgs) -> anyhow::Result<u8> {
    let opts = Options { check: args.check.clone(), timeout: Duration::from_secs(args.timeout) };
    let mut err = std::io::stderr().lock();
    let outcome = confirm::confirm(&ctx.root, &mut Real, &mut err, &opts, SystemTime::now())?;
    drop(err);
    report(&outcome, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())
}

/// Print `outcome` and give the exit code.
fn report(outcome: &Confirmation, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let t = |s: &str| text::escape(s).into_owned();
    match outcome {
        Confirmation::NothingPending => Ok(exit::OK),
        Confirmation::SameBoot(r) => {
            // Only seen when run by hand between a load and its hand-over.
            writeln!(err, "kexec-chooser: the warm reboot into {} is still to happen in this boot", t(&r.target))?;
            Ok(exit::OK)
        }
        Confirmation::Confirmed { record, watchdog } => {
            let seconds = record.seconds.map(|s| format!(" in {s:.1} s")).unwrap_or_default();
            let watchdog = watchdog.as_ref().map(|w| format!("; {w}")).unwrap_or_default();
            writeln!(
                out,
                "kexec-chooser: confirmed: warm reboot from {} into {}{seconds}{watchdog}",
                t(&record.from),
                t(&record.target)
            )?;
            Ok(exit::OK)
        }
        Confirmation::FellBack { record, running, watchdog } => {
            let why = record.reason.as_deref().map(|r| format!(": {}", t(r))).unwrap_or_default();
            writeln!(
                err,
                "kexec-chooser: FELL BACK: the warm reboot into {} did not come up; {} runs{why}",
                t(&record.target),
                running.as_deref().map_or_else(|| "another kernel".to_string(), t),
            )?;
            match watchdog {
                Some(Ok(w)) => writeln!(err, "kexec-chooser: {w}")?,
                Some(Err(e)) => writeln!(err, "kexec-chooser: the watchdog is still armed: {}", t(e))?,
                None => {}
            }
            Ok(exit::FAILURE)
        }
        Confirmation::CheckFailed { record, reboot } => {
            let why = record.reason.as_deref().map(t).unwrap_or_default();
            writeln!(err, "kexec-chooser: CHECK FAILED: the warm boot into {} is not confirmed: {why}", t(&record.target))?;
            match reboot {
                Ok(()) => writeln!(err, "kexec-chooser: rebooting through the firmware to the boot loader's default")?,
                Err(e) => writeln!(
                    err,
                    "kexec-chooser: the reboot through the firmware failed: {}; reboot this machine",
                    t(&chain(e))
                )?,
            }
            Ok(exit::FAILURE)
        }
    }
}

/// An error with its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
