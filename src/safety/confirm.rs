//! `kexec-chooser confirm`: run once at boot, it judges the pending warm
//! reboot against this boot and ends it — confirmed (after the health
//! check, with the net released: the watchdog stopped or handed back, the
//! boot loader's one-time entry removed), fell back, or check-failed (then
//! the machine is rebooted through the firmware, into the kernel it came
//! from where the boot loader allows it). docs/confirm.md says what each
//! outcome means to the person and to the fleet.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::paths;
use crate::root::Root;
use crate::shutdown::{self, direct, ShutdownError};
use crate::sys::{run_checked, System};
use crate::text;

use super::fallback::Cleared;
use super::net::{back_to_running, release, release_one_time, Released};
use super::record::{Outcome, Record, RecordError, Store};
use super::{ended, instant, judge, this_boot, Verdict};

/// What `confirm` is told besides the machine.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The health check: a command line for `sh -c`; `None` or empty: none.
    pub check: Option<String>,
    /// Between SIGTERM and SIGKILL, should the direct shutdown be needed.
    pub timeout: Duration,
    /// systemd's boot assessment failed in this boot (`boot-complete.target`
    /// did not start: a unit it requires failed): a warm boot is not
    /// confirmed, whatever the check says.
    pub boot_failed: bool,
}

/// How `confirm` ended.
#[derive(Debug)]
pub enum Confirmation {
    /// No warm reboot waits for its confirmation.
    NothingPending,
    /// The pending record is from this very boot: the hand-over has not happened.
    SameBoot(Record),
    /// The warm boot came up and passed its check; `record` is in the
    /// history. `one_time`: what became of the boot loader's one-time entry.
    Confirmed { record: Record, watchdog: Option<Released>, one_time: Option<Result<Cleared, String>> },
    /// The machine came back some other way; `record` says why. When the
    /// warm boot did happen (into another release than planned), its
    /// watchdog was released too, or could not be (the text says why).
    FellBack {
        record: Record,
        running: Option<String>,
        watchdog: Option<Result<Released, String>>,
        one_time: Option<Result<Cleared, String>>,
    },
    /// The check failed (or the watchdog could not be stopped): `record` is
    /// in the history and the reboot through the firmware was asked for,
    /// into `back_to`; `reboot` is its failure, if it failed.
    CheckFailed { record: Record, back_to: String, reboot: Result<(), ShutdownError> },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "confirm would act on this machine (health check, watchdog, reboot) for the system under {}; \
         only --root / acts",
        text::path(.0)
    )]
    ForeignRoot(PathBuf),
}

fn say(log: &mut dyn Write, msg: std::fmt::Arguments<'_>) {
    // The console may be gone; the outcome is in the record either way.
    let _ = crate::say!(log, "{msg}");
}

/// Judge the pending warm reboot and end it. `log` gets the steps as they
/// happen; the caller prints the outcome.
pub fn confirm(
    root: &Root,
    sys: &mut dyn System,
    log: &mut dyn Write,
    opts: &Options,
    now: SystemTime,
) -> Result<Confirmation, ConfirmError> {
    let store = Store::new(root);
    let Some(pending) = store.pending()? else {
        return Ok(Confirmation::NothingPending);
    };
    let boot = this_boot(root);
    // Only `--root /` (or the fake) may act on the running kernel.
    let acts = !sys.acts_on_host() || root.is_host();
    match judge(Some(&pending), &boot) {
        Verdict::NothingPending => Ok(Confirmation::NothingPending),
        Verdict::SameBoot => Ok(Confirmation::SameBoot(pending)),
        Verdict::FellBack { reason } => {
            // The warm boot happened but into another release: its watchdog
            // is still counting, and a machine that stays up must not be
            // reset minutes later.
            let warm = boot.cmdline.as_deref().and_then(super::boot_mark).as_deref() == Some(pending.id.as_str());
            let watchdog = match (&pending.watchdog, warm, acts) {
                (Some(w), true, true) => Some(release(root, sys, log, w)),
                (Some(_), true, false) => Some(Err(ConfirmError::ForeignRoot(root.dir().into()).to_string())),
                _ => None,
            };
            // A one-time entry the boot loader could not clear would send
            // every later boot back: removed too.
            let one_time = if acts { release_one_time(root, sys, log, &pending) } else { None };
            let (secs, text) = instant(now);
            let mut record = ended(&pending, Outcome::FellBack, secs, text, Some(reason));
            record.came_back = boot.release.clone();
            store.end(&record)?;
            Ok(Confirmation::FellBack { record, running: boot.release, watchdog, one_time })
        }
        Verdict::WarmBoot => {
            if !acts {
                return Err(ConfirmError::ForeignRoot(root.dir().into()));
            }
            let checked = if opts.boot_failed {
                Err("systemd's boot assessment failed: boot-complete.target did not start because a unit it \
                     requires failed (systemctl --failed lists it)"
                    .to_string())
            } else {
                check(sys, log, opts.check.as_deref())
            };
            let verdict = match checked {
                Err(why) => Err(why),
                Ok(()) => match &pending.watchdog {
                    None => Ok(None),
                    Some(w) => {
                        release(root, sys, log, w).map(Some).map_err(|why| format!("{why}; it would reset the machine"))
                    }
                },
            };
            let (secs, text) = instant(now);
            match verdict {
                Ok(watchdog) => {
                    let one_time = release_one_time(root, sys, log, &pending);
                    let record = ended(&pending, Outcome::Confirmed, secs, text, None);
                    store.end(&record)?;
                    Ok(Confirmation::Confirmed { record, watchdog, one_time })
                }
                Err(reason) => {
                    say(log, format_args!("{}", text::escape(&reason)));
                    let record = ended(&pending, Outcome::CheckFailed, secs, text, Some(reason));
                    // Recorded before the reboot: the next boot finds nothing
                    // pending, and status tells what happened.
                    store.end(&record)?;
                    let back_to = back_to_running(root, sys, &record);
                    let reboot = reboot_firmware(root, sys, log, opts);
                    Ok(Confirmation::CheckFailed { record, back_to, reboot })
                }
            }
        }
    }
}

/// Run the health check; `Err` says why it failed.
fn check(sys: &mut dyn System, log: &mut dyn Write, command: Option<&str>) -> Result<(), String> {
    let Some(command) = command.filter(|c| !c.trim().is_empty()) else {
        return Ok(());
    };
    say(log, format_args!("health check: sh -c '{}'", text::escape(command)));
    run_checked(sys, &["sh", "-c", command]).map_err(|e| format!("the health check failed: {e}"))
}

/// Reboot through the firmware, cleanly: through systemd where it runs,
/// else by kexec-chooser's own shutdown. Returns `Ok` once systemd has the
/// job; the direct shutdown returns only when it failed.
fn reboot_firmware(
    root: &Root,
    sys: &mut dyn System,
    log: &mut dyn Write,
    opts: &Options,
) -> Result<(), ShutdownError> {
    if root.is_dir(paths::RUN_SYSTEMD) {
        shutdown::systemd::reboot(sys, log)
    } else {
        direct::shutdown(sys, &direct::Options { timeout: opts.timeout }, log, direct::End::Firmware)
    }
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::super::record::tests::record;
    use super::*;
    use crate::safety::fallback::{Loader, OneTime};
    use crate::sys::fake::{Call, Fake};
    use crate::testing::TempRoot;

    /// A machine after a warm reboot: /proc says what boot this is.
    struct Machine(TempRoot);

    impl std::ops::Deref for Machine {
        type Target = TempRoot;
        fn deref(&self) -> &TempRoot {
            &self.0
        }
    }

    impl Machine {
        fn new(release: &str, cmdline: &str, boot_id: &str) -> Machine {
            let m = Machine(TempRoot::new());
            m.write("proc/sys/kernel/osrelease", format!("{release}\n"));
            m.write("proc/cmdline", format!("{cmdline}\n"));
            m.write("proc/sys/kernel/random/boot_id", format!("{boot_id}\n"));
            m
        }

        /// The warm boot of record `a1` (see [`record`]).
        fn warm() -> Machine {
            Machine::new("6.1.0-10-amd64", "root=/dev/vda kexec_chooser.boot=a1", "b1")
        }

        fn systemd(&self) {
            self.mkdir("run/systemd/system");
        }

        fn pending(&self, r: &Record) {
            Store::new(&self.root()).set_pending(r).unwrap();
        }

        /// An i6300esb device as `watchdogN` (no parent device, as in QEMU).
        fn esb(&self, n: u32) {
            let d = format!("sys/class/watchdog/watchdog{n}");
            self.write(format!("{d}/identity"), "i6300ESB timer\n");
            self.write(format!("{d}/state"), "inactive\n");
            self.write("sys/module/i6300esb/initstate", "live\n");
        }

        /// PID 1 with `device` open.
        fn pid1_holds(&self, device: &str) {
            self.write("proc/1/comm", "systemd\n");
            self.link("proc/1/fd/3", device);
        }

        fn store(&self) -> Store {
            Store::new(&self.root())
        }
    }

    fn now(r: &Record, after: f64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs_f64(r.started_unix + after)
    }

    fn run(m: &Machine, fake: &mut Fake, check: Option<&str>) -> (Result<Confirmation, ConfirmError>, String) {
        let mut log = Vec::new();
        let opts = Options { check: check.map(Into::into), timeout: Duration::from_secs(1), boot_failed: false };
        let r = confirm(&m.root(), fake, &mut log, &opts, now(&record("a1"), 42.0));
        (r, String::from_utf8(log).unwrap())
    }

    fn without_watchdog(id: &str) -> Record {
        Record { watchdog: None, ..record(id) }
    }

    #[test]
    fn nothing_pending_touches_nothing_and_says_nothing() {
        let m = Machine::warm();
        let mut fake = Fake::default();
        let (r, log) = run(&m, &mut fake, Some("false"));
        assert!(matches!(r, Ok(Confirmation::NothingPending)), "{r:?}");
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
        assert_eq!(log, "");
        assert!(m.store().history().unwrap().is_empty());
    }

    #[test]
    fn a_record_of_this_boot_is_left_pending() {
        let m = Machine::new("6.1.0-9-amd64", "root=/dev/vda", "b0");
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        let (r, _) = run(&m, &mut fake, None);
        assert!(matches!(r, Ok(Confirmation::SameBoot(ref rec)) if rec.id == "a1"), "{r:?}");
        assert!(fake.calls.is_empty());
        assert_eq!(m.store().pending().unwrap().unwrap().result, Outcome::Pending);
    }

    #[test]
    fn the_warm_boot_is_confirmed_with_its_seconds() {
        let m = Machine::warm();
        m.pending(&without_watchdog("a1"));
        let mut fake = Fake::default();
        let (r, log) = run(&m, &mut fake, None);
        let Ok(Confirmation::Confirmed { record, watchdog: None, one_time: None }) = r else { panic!("{r:?}") };
        assert_eq!(record.result, Outcome::Confirmed);
        assert_eq!(record.seconds, Some(42.0));
        assert!(record.ended.as_deref().is_some_and(|e| e.ends_with('Z')), "{:?}", record.ended);
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
        assert_eq!(log, "");
        assert_eq!(m.store().pending().unwrap(), None);
        assert_eq!(m.store().last().unwrap().unwrap().result, Outcome::Confirmed);
    }

    #[test]
    fn the_health_check_runs_through_sh_before_the_confirmation() {
        let m = Machine::warm();
        m.pending(&without_watchdog("a1"));
        let mut fake = Fake::default();
        let (r, log) = run(&m, &mut fake, Some("systemctl is-active nginx"));
        assert!(matches!(r, Ok(Confirmation::Confirmed { .. })), "{r:?}");
        assert_eq!(fake.calls, vec![Call::Run("sh".into(), vec!["-c".into(), "systemctl is-active nginx".into()])]);
        assert!(log.contains("health check"), "{log}");
        // An empty check (CHECK= unset in /etc/default) is no check.
        let m = Machine::warm();
        m.pending(&without_watchdog("a1"));
        let mut fake = Fake::default();
        assert!(matches!(run(&m, &mut fake, Some("  ")).0, Ok(Confirmation::Confirmed { .. })));
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn a_failed_check_is_recorded_then_systemd_reboots_through_the_firmware() {
        let m = Machine::warm();
        m.systemd();
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        fake.run_codes.insert("sh".into(), 3);
        let (r, log) = run(&m, &mut fake, Some("curl -fs http://localhost/"));
        let Ok(Confirmation::CheckFailed { record, reboot: Ok(()), .. }) = r else { panic!("{r:?}") };
        assert_eq!(record.result, Outcome::CheckFailed);
        let reason = record.reason.clone().unwrap();
        assert!(reason.contains("curl -fs http://localhost/") && reason.contains('3'), "{reason}");
        assert_eq!(
            fake.calls,
            vec![
                Call::Run("sh".into(), vec!["-c".into(), "curl -fs http://localhost/".into()]),
                Call::Run("systemctl".into(), vec!["reboot".into()]),
            ]
        );
        // The watchdog is left armed: should the clean reboot hang, it resets.
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogDisarm(_))));
        assert!(log.contains("systemctl reboot"), "{log}");
        assert_eq!(m.store().pending().unwrap(), None);
        assert_eq!(m.store().last().unwrap().unwrap().result, Outcome::CheckFailed);
    }

    #[test]
    fn without_systemd_a_failed_check_ends_in_the_direct_shutdown_and_a_firmware_reboot() {
        let m = Machine::warm();
        m.pending(&without_watchdog("a1"));
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let (r, _) = run(&m, &mut fake, Some("false"));
        let Ok(Confirmation::CheckFailed { reboot, .. }) = r else { panic!("{r:?}") };
        assert!(matches!(reboot, Err(ShutdownError::RebootFirmware(Errno::EPERM))), "{reboot:?}");
        assert_eq!(fake.calls.last(), Some(&Call::RebootFirmware));
        assert!(fake.calls.contains(&Call::IgnoreHangups));
        assert!(!fake.calls.contains(&Call::RebootKexec));
    }

    #[test]
    fn the_watchdog_is_found_under_its_new_number_and_stopped() {
        let m = Machine::warm();
        m.systemd();
        m.esb(1);
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        let (r, log) = run(&m, &mut fake, Some("true"));
        let Ok(Confirmation::Confirmed { watchdog: Some(w), record, .. }) = r else { panic!("{r:?}") };
        assert_eq!(w, Released::Stopped("/dev/watchdog1".into()));
        assert_eq!(record.result, Outcome::Confirmed);
        assert_eq!(
            fake.calls,
            vec![
                Call::Run("sh".into(), vec!["-c".into(), "true".into()]),
                Call::Run("modprobe".into(), vec!["--".into(), "i6300esb".into()]),
                Call::WatchdogDisarm("/dev/watchdog1".into()),
            ]
        );
        assert!(log.contains("/dev/watchdog1 in this boot"), "{log}");
    }

    #[test]
    fn a_device_pid1_holds_is_left_to_systemd() {
        let m = Machine::warm();
        m.systemd();
        m.esb(0);
        m.pid1_holds("/dev/watchdog0");
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::Confirmed { watchdog: Some(w), .. }) = r else { panic!("{r:?}") };
        assert_eq!(w, Released::HandedToSystemd("/dev/watchdog0".into()));
        assert!(!fake.calls.iter().any(|c| matches!(c, Call::WatchdogDisarm(_))), "{:?}", fake.calls);
    }

    #[test]
    fn systemd_that_armed_it_gets_a_bounded_wait_then_it_is_stopped() {
        let m = Machine::warm();
        m.systemd();
        m.esb(0);
        let mut r = record("a1");
        r.watchdog.as_mut().unwrap().armed_by = crate::safety::watchdog::ArmedBy::Systemd;
        m.pending(&r);
        let mut fake = Fake::default();
        let (res, log) = run(&m, &mut fake, None);
        let Ok(Confirmation::Confirmed { watchdog: Some(w), .. }) = res else { panic!("{res:?}") };
        assert_eq!(w, Released::Stopped("/dev/watchdog0".into()));
        let waited: Duration =
            fake.calls.iter().filter_map(|c| if let Call::Sleep(d) = c { Some(*d) } else { None }).sum();
        assert_eq!(waited, crate::safety::net::SYSTEMD_WAIT);
        assert!(log.contains("systemd did not take"), "{log}");
    }

    #[test]
    fn a_watchdog_that_does_not_appear_fails_the_boot_and_reboots() {
        let m = Machine::warm();
        m.systemd();
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::CheckFailed { record, reboot: Ok(()), .. }) = r else { panic!("{r:?}") };
        let reason = record.reason.unwrap();
        assert!(reason.contains("did not appear") && reason.contains("reset the machine"), "{reason}");
        let waited: Duration =
            fake.calls.iter().filter_map(|c| if let Call::Sleep(d) = c { Some(*d) } else { None }).sum();
        assert_eq!(waited, crate::safety::net::APPEAR_WAIT);
        assert_eq!(fake.calls.last(), Some(&Call::Run("systemctl".into(), vec!["reboot".into()])));
    }

    #[test]
    fn a_watchdog_that_cannot_be_stopped_fails_the_boot() {
        let m = Machine::warm();
        m.systemd();
        m.esb(0);
        m.pending(&record("a1"));
        let mut fake = Fake { watchdog_disarm_error: Some(Errno::EIO), ..Fake::default() };
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::CheckFailed { record: ended, .. }) = r else { panic!("{r:?}") };
        assert!(ended.reason.unwrap().contains("cannot stop"));
        // A failed modprobe is the same.
        let m = Machine::warm();
        m.systemd();
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        fake.run_codes.insert("modprobe".into(), 1);
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::CheckFailed { record, .. }) = r else { panic!("{r:?}") };
        assert!(record.reason.unwrap().contains("`modprobe -- i6300esb` failed"));
    }

    #[test]
    fn the_firmware_boot_is_a_fall_back_naming_both_releases() {
        let m = Machine::new("6.1.0-9-amd64", "root=/dev/vda", "b1");
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        let (r, log) = run(&m, &mut fake, Some("true"));
        let Ok(Confirmation::FellBack { record, running, watchdog: None, one_time: None }) = r else { panic!("{r:?}") };
        assert_eq!(record.result, Outcome::FellBack);
        assert_eq!(running.as_deref(), Some("6.1.0-9-amd64"));
        let reason = record.reason.clone().unwrap();
        assert!(reason.contains("6.1.0-9-amd64") && reason.contains("6.1.0-10-amd64"), "{reason}");
        // Neither the check nor anything else runs in the fallen-back boot.
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
        assert_eq!(log, "");
        assert_eq!(m.store().last().unwrap().unwrap().result, Outcome::FellBack);
        assert_eq!(m.store().pending().unwrap(), None);
    }

    #[test]
    fn a_warm_boot_into_another_release_falls_back_but_stops_its_watchdog() {
        let m = Machine::new("6.1.0-11-amd64", "kexec_chooser.boot=a1", "b1");
        m.esb(0);
        m.pending(&record("a1"));
        let mut fake = Fake::default();
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::FellBack { record, watchdog: Some(Ok(w)), .. }) = r else { panic!("{r:?}") };
        assert_eq!(w, Released::Stopped("/dev/watchdog0".into()));
        assert!(record.reason.unwrap().contains("6.1.0-11-amd64"));
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let m = Machine::warm();
        m.write("var/lib/kexec-chooser/pending.json", "{\"id\": 1");
        let mut fake = Fake::default();
        let (r, _) = run(&m, &mut fake, None);
        let e = r.unwrap_err();
        assert!(e.to_string().contains("/var/lib/kexec-chooser/pending.json"), "{e}");
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn a_foreign_root_is_never_acted_on() {
        let m = Machine::warm();
        m.systemd();
        m.pending(&record("a1"));
        let mut fake = Fake { acts_on_host: true, ..Fake::default() };
        let (r, _) = run(&m, &mut fake, Some("true"));
        assert!(matches!(r, Err(ConfirmError::ForeignRoot(_))), "{r:?}");
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
        assert_eq!(m.store().pending().unwrap().unwrap().result, Outcome::Pending);
    }

    /// GRUB's files with the one-time entry of record `a1` still set (a
    /// warm boot never goes through GRUB).
    fn with_next_entry(m: &Machine) -> Record {
        let mut env = crate::boot::grubenv::SIGNATURE.to_vec();
        env.extend_from_slice(b"next_entry=gnulinux-advanced-u1>a\n");
        env.resize(1024, b'#');
        m.write("boot/grub/grub.cfg", "set default=\"${next_entry}\"\nsave_env next_entry\n");
        m.write("boot/grub/grubenv", env);
        let o =
            OneTime { loader: Loader::Grub, entry: "gnulinux-advanced-u1>a".into(), release: "6.1.0-9-amd64".into() };
        Record { fallback: Some(o), ..without_watchdog("a1") }
    }

    fn next_entry(m: &Machine) -> Option<String> {
        crate::safety::fallback::current(&m.root(), Loader::Grub).unwrap()
    }

    #[test]
    fn the_confirmed_warm_boot_removes_the_one_time_entry() {
        let m = Machine::warm();
        m.pending(&with_next_entry(&m));
        let (r, _) = run(&m, &mut Fake::default(), None);
        let Ok(Confirmation::Confirmed { one_time: Some(Ok(Cleared::Removed)), .. }) = r else { panic!("{r:?}") };
        assert_eq!(next_entry(&m), None, "the next cold reboot boots the default again");
        let last = m.store().last().unwrap().unwrap();
        assert_eq!(last.fallback.map(|f| f.release).as_deref(), Some("6.1.0-9-amd64"));
    }

    #[test]
    fn a_fall_back_records_what_came_back_and_removes_an_entry_grub_could_not_clear() {
        let m = Machine::new("6.1.0-9-amd64", "root=/dev/vda", "b1");
        m.pending(&with_next_entry(&m));
        let (r, _) = run(&m, &mut Fake::default(), None);
        let Ok(Confirmation::FellBack { record, one_time: Some(Ok(Cleared::Removed)), .. }) = r else {
            panic!("{r:?}")
        };
        assert_eq!(record.came_back.as_deref(), Some("6.1.0-9-amd64"));
        assert_eq!(next_entry(&m), None);
        // GRUB cleared it itself, as it does on ext4: nothing to do.
        let m = Machine::new("6.1.0-9-amd64", "root=/dev/vda", "b1");
        let r = with_next_entry(&m);
        let mut env = crate::boot::grubenv::SIGNATURE.to_vec();
        env.resize(1024, b'#');
        m.write("boot/grub/grubenv", env);
        m.pending(&r);
        let (r, _) = run(&m, &mut Fake::default(), None);
        assert!(matches!(r, Ok(Confirmation::FellBack { one_time: Some(Ok(Cleared::Gone)), .. })), "{r:?}");
    }

    #[test]
    fn a_failed_check_reboots_into_the_kernel_it_came_from() {
        let m = Machine::warm();
        m.systemd();
        let record = with_next_entry(&m);
        m.pending(&record);
        // Someone cleared it meanwhile: set again before the reboot.
        m.write("boot/grub/grubenv", {
            let mut env = crate::boot::grubenv::SIGNATURE.to_vec();
            env.resize(1024, b'#');
            env
        });
        let mut fake = Fake::default();
        fake.run_codes.insert("sh".into(), 1);
        let (r, _) = run(&m, &mut fake, Some("false"));
        let Ok(Confirmation::CheckFailed { back_to, reboot: Ok(()), .. }) = r else { panic!("{r:?}") };
        assert_eq!(back_to, "6.1.0-9-amd64 (GRUB next_entry)");
        assert_eq!(next_entry(&m).as_deref(), Some("gnulinux-advanced-u1>a"));
        assert_eq!(fake.calls.last(), Some(&Call::Run("systemctl".into(), vec!["reboot".into()])));
    }

    #[test]
    fn a_failed_boot_assessment_is_a_failed_check() {
        let m = Machine::warm();
        m.systemd();
        m.pending(&with_next_entry(&m));
        let mut log = Vec::new();
        let opts = Options { check: Some("true".into()), timeout: Duration::from_secs(1), boot_failed: true };
        let mut fake = Fake::default();
        let r = confirm(&m.root(), &mut fake, &mut log, &opts, now(&record("a1"), 42.0));
        let Ok(Confirmation::CheckFailed { record: failed, .. }) = r else { panic!("{r:?}") };
        assert!(failed.reason.unwrap().contains("boot-complete.target"));
        assert!(!fake.calls.contains(&Call::Run("sh".into(), vec!["-c".into(), "true".into()])), "{:?}", fake.calls);
        assert_eq!(next_entry(&m).as_deref(), Some("gnulinux-advanced-u1>a"));
        // With nothing pending (the unit runs after confirm ended it), nothing happens.
        let mut fake = Fake::default();
        let r = confirm(&m.root(), &mut fake, &mut log, &opts, now(&record("a1"), 42.0));
        assert!(matches!(r, Ok(Confirmation::NothingPending)), "{r:?}");
        assert!(fake.calls.is_empty());
    }

    #[test]
    fn the_confirmed_warm_boot_releases_each_kind_of_watchdog() {
        use crate::safety::record::{Kind, WatchdogUsed};
        use crate::safety::watchdog::ArmedBy;
        let used = |kind, device: &str| WatchdogUsed {
            kind,
            device: device.into(),
            timeout: 120,
            module: None,
            identity: String::new(),
            armed_by: ArmedBy::KexecChooser,
            hand_back: None,
            panic_before: Some("0".into()),
        };
        // The BMC's: stopped through IPMI.
        let m = Machine::warm();
        m.write("dev/ipmi0", "");
        m.pending(&Record { watchdog: Some(used(Kind::Ipmi, "/dev/ipmi0")), ..record("a1") });
        let bmc = crate::sys::fake::FakeBmc {
            timer_use: 0x44,
            actions: 1,
            countdown: 1200,
            running: true,
            ..Default::default()
        };
        let mut fake = Fake { bmc: Some(bmc), ..Fake::default() };
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::Confirmed { watchdog: Some(w), .. }) = r else { panic!("{r:?}") };
        assert_eq!(w, Released::BmcStopped { device: "/dev/ipmi0".into(), handed_back: None });
        assert!(!fake.bmc.unwrap().running);
        // The software net: softdog stopped, kernel.panic back.
        let m = Machine::warm();
        m.write("sys/class/watchdog/watchdog0/identity", "Software Watchdog\n");
        m.pending(&Record { watchdog: Some(used(Kind::Software, "")), ..record("a1") });
        let mut fake = Fake::default();
        let (r, _) = run(&m, &mut fake, None);
        let Ok(Confirmation::Confirmed { watchdog: Some(w), .. }) = r else { panic!("{r:?}") };
        assert_eq!(w, Released::Software { softdog: Some("/dev/watchdog0".into()), panic: Some("0".into()) });
        assert!(fake.calls.contains(&Call::SetSysctl("/proc/sys/kernel/panic".into(), "0".into())), "{:?}", fake.calls);
    }
}
