//! What makes a warm reboot safe to try: a guard set just before the
//! hand-over that brings back a machine whose new kernel does not come up,
//! a record of the attempt written before it, and the judgement `confirm`
//! makes in the next boot — the warm boot came up (confirmed), the machine
//! came back through the firmware instead (fell back), or the new kernel
//! failed its health check.
//!
//! [`net`] is the protocol (choose, arm, undo, release); [`watchdog`] the
//! hardware watchdogs it arms; [`record`] the record; [`confirm`] the
//! judgement. This file holds what they share: the boot mark on the new
//! kernel's command line and what a boot says of itself.

pub mod confirm;
pub mod fallback;
pub mod ipmi;
pub mod net;
pub mod record;
pub mod software;
pub mod watchdog;

use std::time::SystemTime;

use crate::paths;
use crate::root::Root;
use record::{Outcome, Record};

/// The word on the new kernel's command line that names its record, so that
/// `confirm` tells the warm boot from a cold boot of the same release. A word
/// with a dot is a module parameter to the kernel: an unknown one is ignored
/// (init/main.c, `unknown_bootoption`), neither passed to init nor reported.
pub const BOOT_MARK: &str = "kexec_chooser.boot";

/// The word carrying `id` for the new kernel's command line.
pub fn boot_mark_word(id: &str) -> String {
    format!("{BOOT_MARK}={id}")
}

/// The record id a command line carries, if it is a warm boot of ours: the
/// value the kernel took for [`BOOT_MARK`] (its last, before any `--`).
pub fn boot_mark(cmdline: &str) -> Option<String> {
    crate::boot::cmdline::kernel_view(cmdline).last(BOOT_MARK)?.value.clone()
}

/// A new record id: 16 hex digits, unique per run (never waiting for the
/// kernel's entropy: a plan is made early in a boot too).
pub fn new_id() -> String {
    format!("{:016x}", crate::sys::random::unique_u64())
}

/// What the running boot says of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThisBoot {
    /// `/proc/sys/kernel/osrelease`.
    pub release: Option<String>,
    /// `/proc/cmdline`.
    pub cmdline: Option<String>,
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: Option<String>,
}

/// The most read from one /proc file here.
const PROC_LIMIT: u64 = 64 * 1024;

/// What this boot says of itself, read under `root`.
pub fn this_boot(root: &Root) -> ThisBoot {
    let read = |p: &str| root.read_to_string(p, PROC_LIMIT).ok().map(|s| s.trim().to_string());
    ThisBoot { release: read(paths::OSRELEASE), cmdline: read(paths::PROC_CMDLINE), boot_id: read(paths::BOOT_ID) }
}

/// `now` as seconds since the epoch and as RFC 3339 (UTC, whole seconds),
/// as the records keep it.
pub fn instant(now: SystemTime) -> (f64, String) {
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let text = jiff::Timestamp::from_second(secs as i64).map_or_else(|_| String::new(), |t| t.to_string());
    (secs, text)
}

/// What `confirm` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No warm reboot is waiting: nothing to say.
    NothingPending,
    /// The record was written in this very boot: the hand-over has not
    /// happened (or is under way); too early to judge.
    SameBoot,
    /// This is the warm boot the record names: check its health, then confirm.
    WarmBoot,
    /// The machine came back some other way: the warm reboot fell back.
    FellBack { reason: String },
}

/// Judge the pending record against this boot.
pub fn judge(pending: Option<&Record>, boot: &ThisBoot) -> Verdict {
    let Some(r) = pending else {
        return Verdict::NothingPending;
    };
    if boot.boot_id.as_deref().is_some_and(|b| b == r.from_boot_id) {
        return Verdict::SameBoot;
    }
    let mark = boot.cmdline.as_deref().and_then(boot_mark);
    let release = boot.release.as_deref().unwrap_or("an unknown release");
    match mark {
        Some(m) if m == r.id && release == r.target => Verdict::WarmBoot,
        Some(m) if m == r.id => {
            Verdict::FellBack { reason: format!("the warm boot runs {release}, not {} as planned", r.target) }
        }
        _ if release == r.target => {
            Verdict::FellBack { reason: format!("{release} was booted through the firmware, not by the warm reboot") }
        }
        _ => Verdict::FellBack {
            reason: format!("the machine came back on {release} through the firmware instead of {}", r.target),
        },
    }
}

/// `record` ended with `outcome` at `now` (seconds since the epoch, and as
/// RFC 3339).
pub fn ended(record: &Record, outcome: Outcome, now: f64, now_text: String, reason: Option<String>) -> Record {
    let mut r = record.clone();
    r.result = outcome;
    r.ended = Some(now_text);
    r.reason = reason;
    if outcome == Outcome::Confirmed {
        r.seconds = Some(((now - r.started_unix) * 100.0).round() / 100.0);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::record::tests::record;
    use super::*;

    fn boot(release: &str, cmdline: &str, boot_id: &str) -> ThisBoot {
        ThisBoot { release: Some(release.into()), cmdline: Some(cmdline.into()), boot_id: Some(boot_id.into()) }
    }

    #[test]
    fn the_mark_is_the_last_word_of_its_name() {
        assert_eq!(boot_mark("root=/dev/vda kexec_chooser.boot=ab12 quiet").as_deref(), Some("ab12"));
        assert_eq!(boot_mark("kexec_chooser.boot=1 kexec_chooser.boot=2").as_deref(), Some("2"));
        assert_eq!(boot_mark("root=/dev/vda xkexec_chooser.boot=1"), None);
        assert_eq!(
            boot_mark("kexec_chooser.boot=1 -- kexec_chooser.boot=2").as_deref(),
            Some("1"),
            "init's, not the kernel's"
        );
        assert_eq!(boot_mark(&boot_mark_word("f00d")).as_deref(), Some("f00d"));
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }

    #[test]
    fn the_warm_boot_is_told_from_a_cold_boot_of_the_same_release() {
        let r = record("a1");
        assert_eq!(judge(None, &boot("x", "", "b1")), Verdict::NothingPending);
        assert_eq!(judge(Some(&r), &boot("6.1.0-9-amd64", "root=/dev/vda", "b0")), Verdict::SameBoot);
        assert_eq!(
            judge(Some(&r), &boot("6.1.0-10-amd64", "root=/dev/vda kexec_chooser.boot=a1", "b1")),
            Verdict::WarmBoot
        );
        // Same release, but booted by the firmware: no mark.
        let v = judge(Some(&r), &boot("6.1.0-10-amd64", "root=/dev/vda", "b1"));
        assert!(matches!(v, Verdict::FellBack { ref reason } if reason.contains("through the firmware")), "{v:?}");
        // The default kernel came back after a reset.
        let v = judge(Some(&r), &boot("6.1.0-9-amd64", "root=/dev/vda", "b1"));
        assert!(matches!(v, Verdict::FellBack { ref reason } if reason.contains("6.1.0-9-amd64")), "{v:?}");
        // A mark of an older record is not this one's.
        let v = judge(Some(&r), &boot("6.1.0-10-amd64", "kexec_chooser.boot=old", "b1"));
        assert!(matches!(v, Verdict::FellBack { .. }), "{v:?}");
    }

    #[test]
    fn seconds_are_counted_from_the_command_to_the_confirmation() {
        let r = record("a1");
        let c = ended(&r, Outcome::Confirmed, r.started_unix + 61.234, "later".into(), None);
        assert_eq!(c.seconds, Some(61.23));
        assert_eq!(c.result, Outcome::Confirmed);
        let f = ended(&r, Outcome::FellBack, r.started_unix + 300.0, "later".into(), Some("why".into()));
        assert_eq!(f.seconds, None);
        assert_eq!(f.reason.as_deref(), Some("why"));
    }
}
