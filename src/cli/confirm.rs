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
use crate::safety::fallback::Cleared;
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
    /// systemd's boot assessment failed (boot-complete.target could not
    /// start): a warm boot is check-failed. kexec-chooser-boot-failed.service
    /// passes it when kexec-chooser-confirm.service's dependency fails.
    #[arg(long)]
    pub boot_failed: bool,
}

pub fn run(ctx: &Ctx, args: &ConfirmArgs) -> anyhow::Result<u8> {
    let opts = Options {
        check: args.check.clone(),
        timeout: Duration::from_secs(args.timeout),
        boot_failed: args.boot_failed,
    };
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
            crate::say!(err, "the warm reboot into {} is still to happen in this boot", t(&r.target))?;
            Ok(exit::OK)
        }
        Confirmation::Confirmed { record, watchdog, one_time } => {
            let seconds = record.seconds.map(|s| format!(" in {s:.1} s")).unwrap_or_default();
            let watchdog = watchdog.as_ref().map(|w| format!("; {w}")).unwrap_or_default();
            crate::say!(
                out,
                "confirmed: warm reboot from {} into {}{seconds}{watchdog}",
                t(&record.from),
                t(&record.target)
            )?;
            say_one_time(err, one_time)?;
            Ok(exit::OK)
        }
        Confirmation::FellBack { record, running, watchdog, one_time } => {
            let why = record.reason.as_deref().map(|r| format!(": {}", t(r))).unwrap_or_default();
            crate::say!(
                err,
                "FELL BACK: the warm reboot into {} did not come up; {} runs{why}",
                t(&record.target),
                running.as_deref().map_or_else(|| "another kernel".to_string(), t),
            )?;
            match watchdog {
                Some(Ok(w)) => crate::say!(err, "{w}")?,
                Some(Err(e)) => crate::say!(err, "the watchdog is still armed: {}", t(e))?,
                None => {}
            }
            say_one_time(err, one_time)?;
            Ok(exit::FAILURE)
        }
        Confirmation::CheckFailed { record, back_to, reboot } => {
            let why = record.reason.as_deref().map(t).unwrap_or_default();
            crate::say!(err, "CHECK FAILED: the warm boot into {} is not confirmed: {why}", t(&record.target))?;
            match reboot {
                Ok(()) => crate::say!(err, "rebooting through the firmware into {back_to}")?,
                Err(e) => {
                    crate::say!(err, "the reboot through the firmware failed: {}; reboot this machine", t(&chain(e)))?
                }
            }
            Ok(exit::FAILURE)
        }
    }
}

/// What became of the boot loader's one-time entry, when it is news: one
/// that could not be removed would send the next cold boot back.
fn say_one_time(err: &mut dyn Write, one_time: &Option<Result<Cleared, String>>) -> std::io::Result<()> {
    match one_time {
        Some(Err(e)) => {
            crate::say!(err, "warning: {}; the next cold boot goes back to the old kernel", text::escape(e))
        }
        Some(Ok(Cleared::Other(v))) => {
            crate::say!(
                err,
                "the boot loader's one-time entry is now {}, set by someone else: left alone",
                text::escape(v)
            )
        }
        _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::net::Released;
    use crate::safety::record::{Outcome, Record};

    fn record(result: Outcome, seconds: Option<f64>, reason: Option<&str>) -> Record {
        Record {
            id: "a1".into(),
            result,
            target_id: "t".into(),
            target: "6.1.0-10-amd64".into(),
            from: "6.1.0-9-amd64".into(),
            from_boot_id: "b0".into(),
            started: "2026-12-02T10:00:00Z".into(),
            started_unix: 0.0,
            seconds,
            ended: None,
            reason: reason.map(Into::into),
            mode: crate::kexec::plan::Mode::Systemd,
            watchdog: None,
            fallback: None,
            came_back: None,
        }
    }

    fn printed(c: &Confirmation) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = report(c, &mut out, &mut err).unwrap();
        (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    #[test]
    fn confirmed_is_one_line_on_stdout_with_the_seconds_and_the_watchdog() {
        let c = Confirmation::Confirmed {
            record: record(Outcome::Confirmed, Some(42.04), None),
            watchdog: Some(Released::Stopped("/dev/watchdog1".into())),
            one_time: Some(Ok(Cleared::Removed)),
        };
        let (code, out, err) = printed(&c);
        assert_eq!(code, exit::OK);
        assert_eq!(
            out,
            "kexec-chooser: confirmed: warm reboot from 6.1.0-9-amd64 into 6.1.0-10-amd64 in 42.0 s; \
             watchdog /dev/watchdog1 stopped\n"
        );
        assert_eq!(err, "");
        assert_eq!(printed(&Confirmation::NothingPending), (exit::OK, String::new(), String::new()));
    }

    #[test]
    fn failures_are_loud_on_stderr_and_exit_1_with_text_from_disk_escaped() {
        let c = Confirmation::FellBack {
            record: record(Outcome::FellBack, None, Some("came back\x1b[2J")),
            running: Some("6.1.0-9-amd64".into()),
            watchdog: Some(Err("cannot stop it".into())),
            one_time: Some(Err("cannot remove the GRUB next_entry: read-only".into())),
        };
        let (code, out, err) = printed(&c);
        assert_eq!(code, exit::FAILURE);
        assert_eq!(out, "");
        assert!(
            err.starts_with(
                "kexec-chooser: FELL BACK: the warm reboot into 6.1.0-10-amd64 did not come up; 6.1.0-9-amd64 runs"
            ),
            "{err}"
        );
        assert!(err.contains("still armed: cannot stop it"), "{err}");
        assert!(err.contains("warning: cannot remove the GRUB next_entry: read-only; the next cold boot"), "{err}");
        assert!(!err.contains('\x1b'), "{err:?}");
        let c = Confirmation::CheckFailed {
            record: record(Outcome::CheckFailed, None, Some("the health check `false` failed")),
            back_to: "6.1.0-9-amd64 (GRUB next_entry)".into(),
            reboot: Err(crate::shutdown::ShutdownError::RebootFirmware(nix::errno::Errno::EPERM)),
        };
        let (code, _, err) = printed(&c);
        assert_eq!(code, exit::FAILURE);
        assert!(err.contains("CHECK FAILED") && err.contains("`false` failed"), "{err}");
        assert!(err.contains("reboot(LINUX_REBOOT_CMD_RESTART) failed: EPERM"), "{err}");
    }
}
