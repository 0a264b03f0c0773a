//! The record of a warm reboot: written and fsynced before the hand-over
//! (`pending.json`), judged by `confirm` in the next boot, then kept in a
//! short history (`history.json`), both under /var/lib/kexec-chooser. It is
//! how the machine, the person and the fleet learn afterwards whether the
//! warm reboot came back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fallback::OneTime;
use super::watchdog::ArmedBy;
use crate::atomic_file::AtomicFileError;
use crate::kexec::plan::Mode;
use crate::paths;
use crate::root::Root;
use crate::root::RootError;

/// How many ended warm reboots the history keeps.
pub const HISTORY_LEN: usize = 20;
/// The most read from either file (a record is a few hundred bytes).
const LIMIT: u64 = 1024 * 1024;

/// How a warm reboot ended, as `status` and the fleet read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Handed over; the next boot has not confirmed it yet.
    Pending,
    /// The new kernel booted and passed its check.
    Confirmed,
    /// The machine came back through the firmware instead (the watchdog or a
    /// person reset it): the new kernel did not come up.
    FellBack,
    /// The new kernel booted but its health check failed: the machine was
    /// rebooted through the firmware, to the boot loader's default.
    CheckFailed,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Pending => "pending",
            Outcome::Confirmed => "confirmed",
            Outcome::FellBack => "fell-back",
            Outcome::CheckFailed => "check-failed",
        })
    }
}

/// Which kind of watchdog guarded a warm reboot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A chipset watchdog through the watchdog core (`/dev/watchdogN`).
    #[default]
    Hardware,
    /// The BMC's watchdog through IPMI (`/dev/ipmiN`).
    Ipmi,
    /// `panic=` and softdog on the new kernel's command line.
    Software,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Hardware => "hardware",
            Kind::Ipmi => "ipmi",
            Kind::Software => "software",
        })
    }
}

/// The watchdog that guarded the hand-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogUsed {
    /// Records from before the BMC and the software net are hardware ones.
    #[serde(default)]
    pub kind: Kind,
    /// The device, e.g. `/dev/watchdog0`.
    pub device: PathBuf,
    /// Seconds until it resets the machine unless fed.
    pub timeout: u32,
    /// The kernel module that drives it, held back in the new kernel until
    /// `confirm` (none when it is built in).
    pub module: Option<String>,
    /// The device's identity (`WDIOC_GETSUPPORT`), to find it again after boot.
    pub identity: String,
    /// Who armed it: `kexec-chooser`, or `systemd` (through KExecWatchdogSec).
    pub armed_by: ArmedBy,
    /// The driver that ran it before and gets it back after the
    /// confirmation (`ipmi_watchdog`).
    #[serde(default)]
    pub hand_back: Option<String>,
    /// The running kernel's `kernel.panic`, put back after the confirmation
    /// (the software net's `panic=` changed it for the warm boot).
    #[serde(default)]
    pub panic_before: Option<String>,
}

/// One warm reboot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Random, and on the new kernel's command line as `kexec_chooser.boot=ID`:
    /// what tells the warm boot from a cold boot of the same release.
    pub id: String,
    pub result: Outcome,
    /// The entry's id and release warm-rebooted into.
    pub target_id: String,
    pub target: String,
    /// The release and boot id it came from.
    pub from: String,
    pub from_boot_id: String,
    /// When the command began (RFC 3339, UTC).
    pub started: String,
    /// The same instant, for arithmetic: seconds since the Unix epoch.
    pub started_unix: f64,
    /// Seconds from the command to the confirmation; `None` until confirmed.
    pub seconds: Option<f64>,
    /// When `confirm` judged it (RFC 3339).
    pub ended: Option<String>,
    /// Why it fell back or failed its check, for people.
    pub reason: Option<String>,
    /// The hand-over: `systemd` or `direct`.
    pub mode: Mode,
    pub watchdog: Option<WatchdogUsed>,
    /// The boot loader's one-time entry back to the kernel it came from;
    /// `None` when the boot loader's default was to come back.
    #[serde(default)]
    pub fallback: Option<OneTime>,
    /// The release that came back instead, for a fell-back record.
    #[serde(default)]
    pub came_back: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Read(#[from] RootError),
    #[error("{}: not a record kexec-chooser wrote: {source}", path.display())]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error(transparent)]
    Write(#[from] AtomicFileError),
}

/// The record files of the machine under `root`.
#[derive(Debug, Clone)]
pub struct Store {
    root: Root,
}

impl Store {
    pub fn new(root: &Root) -> Store {
        Store { root: root.clone() }
    }

    /// The pending record, if a warm reboot is waiting for its confirmation.
    pub fn pending(&self) -> Result<Option<Record>, RecordError> {
        self.read(paths::PENDING_RECORD)
    }

    /// The ended records, oldest first.
    pub fn history(&self) -> Result<Vec<Record>, RecordError> {
        Ok(self.read(paths::HISTORY_RECORD)?.unwrap_or_default())
    }

    /// The newest warm reboot: the pending one, else the last ended one.
    pub fn last(&self) -> Result<Option<Record>, RecordError> {
        match self.pending()? {
            Some(r) => Ok(Some(r)),
            None => Ok(self.history()?.pop()),
        }
    }

    fn read<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, RecordError> {
        let path = PathBuf::from(path);
        match self.root.read(&path, LIMIT) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| RecordError::Parse { path, source }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write<T: Serialize>(&self, path: &str, value: &T) -> Result<(), RecordError> {
        let path = PathBuf::from(path);
        let mut text =
            serde_json::to_vec_pretty(value).map_err(|source| RecordError::Parse { path: path.clone(), source })?;
        text.push(b'\n');
        // Readable by all (status is for everyone), written by root only;
        // inside the root like every read, whatever links it holds.
        self.root.write_file(&path, 0o644, &text)?;
        Ok(())
    }

    /// Write `record` as the pending one, durably (fsynced, renamed, the
    /// directory fsynced): the hand-over may end this boot at any moment.
    pub fn set_pending(&self, record: &Record) -> Result<(), RecordError> {
        self.write(paths::PENDING_RECORD, record)
    }

    /// Forget the pending record: the hand-over failed, or the kernel was
    /// unloaded, and the machine keeps running.
    pub fn drop_pending(&self) -> Result<(), RecordError> {
        self.root.remove_file(paths::PENDING_RECORD)?;
        Ok(())
    }

    /// End the pending record as `record` says: append it to the history
    /// (keeping the last [`HISTORY_LEN`]), then remove the pending file. A
    /// crash in between leaves both, and the next `confirm` ends it again
    /// without adding it twice.
    pub fn end(&self, record: &Record) -> Result<(), RecordError> {
        let mut history = self.history()?;
        history.retain(|r| r.id != record.id);
        history.push(record.clone());
        let excess = history.len().saturating_sub(HISTORY_LEN);
        history.drain(..excess);
        self.write(paths::HISTORY_RECORD, &history)?;
        self.drop_pending()
    }
}

/// What `status --json` says of the last warm reboot (docs/fleet.md): the
/// record, or that the record cannot be read (which is not "never": that
/// is `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LastWarmReboot {
    Recorded(Summary),
    Damaged {
        /// Always `damaged`.
        result: &'static str,
        /// Which file, and why it cannot be read.
        error: String,
    },
}

impl LastWarmReboot {
    pub fn damaged(e: &RecordError) -> LastWarmReboot {
        LastWarmReboot::Damaged { result: "damaged", error: e.to_string() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub result: Outcome,
    pub target: String,
    pub from: String,
    pub started: String,
    pub seconds: Option<f64>,
    pub watchdog: Option<WatchdogSummary>,
    /// The one-time entry back to `from`, `{loader, entry, release}`.
    pub fallback: Option<OneTime>,
    /// What came back instead of `target` (fell-back records).
    pub came_back: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchdogSummary {
    pub kind: Kind,
    /// None for the software net.
    pub device: Option<PathBuf>,
    pub timeout: u32,
}

impl From<&Record> for LastWarmReboot {
    fn from(r: &Record) -> Self {
        LastWarmReboot::Recorded(Summary {
            result: r.result,
            target: r.target.clone(),
            from: r.from.clone(),
            started: r.started.clone(),
            seconds: r.seconds,
            watchdog: r.watchdog.as_ref().map(|w| WatchdogSummary {
                kind: w.kind,
                device: (w.kind != Kind::Software).then(|| w.device.clone()),
                timeout: w.timeout,
            }),
            fallback: r.fallback.clone(),
            came_back: r.came_back.clone(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(id: &str) -> Record {
        Record {
            id: id.into(),
            result: Outcome::Pending,
            target_id: "6.1.0-10-amd64".into(),
            target: "6.1.0-10-amd64".into(),
            from: "6.1.0-9-amd64".into(),
            from_boot_id: "b0".into(),
            started: "2026-12-02T10:00:00Z".into(),
            started_unix: 1_796_205_600.0,
            seconds: None,
            ended: None,
            reason: None,
            mode: Mode::Direct,
            watchdog: Some(WatchdogUsed {
                device: "/dev/watchdog0".into(),
                timeout: 120,
                module: Some("i6300esb".into()),
                identity: "i6300ESB timer".into(),
                armed_by: ArmedBy::KexecChooser,
                kind: Kind::Hardware,
                hand_back: None,
                panic_before: None,
            }),
            fallback: None,
            came_back: None,
        }
    }

    #[test]
    fn a_pending_record_survives_the_round_trip_and_ends_in_the_history() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::new(&Root::new(d.path()));
        assert_eq!(store.last().unwrap(), None);
        let r = record("a1");
        store.set_pending(&r).unwrap();
        assert_eq!(store.pending().unwrap(), Some(r.clone()));
        assert_eq!(store.last().unwrap().unwrap().result, Outcome::Pending);
        let mut done = r.clone();
        done.result = Outcome::Confirmed;
        done.seconds = Some(42.5);
        store.end(&done).unwrap();
        store.end(&done).unwrap();
        assert_eq!(store.pending().unwrap(), None);
        assert_eq!(store.history().unwrap(), vec![done.clone()]);
        assert_eq!(store.last().unwrap(), Some(done));
        let mode = std::fs::metadata(d.path().join("var/lib/kexec-chooser/history.json")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o644);
    }

    #[test]
    fn the_history_keeps_the_last_ones() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::new(&Root::new(d.path()));
        for i in 0..HISTORY_LEN + 5 {
            store.end(&record(&format!("r{i}"))).unwrap();
        }
        let h = store.history().unwrap();
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h[0].id, "r5");
        assert_eq!(h[HISTORY_LEN - 1].id, format!("r{}", HISTORY_LEN + 4));
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("var/lib/kexec-chooser")).unwrap();
        std::fs::write(d.path().join("var/lib/kexec-chooser/pending.json"), "{not json").unwrap();
        let e = Store::new(&Root::new(d.path())).pending().unwrap_err();
        assert!(e.to_string().contains("/var/lib/kexec-chooser/pending.json"), "{e}");
    }

    #[test]
    fn status_json_has_the_documented_fields() {
        let mut r = record("x");
        r.result = Outcome::FellBack;
        let v = serde_json::to_value(LastWarmReboot::from(&r)).unwrap();
        assert_eq!(v["result"], "fell-back");
        assert_eq!(v["target"], "6.1.0-10-amd64");
        assert_eq!(v["from"], "6.1.0-9-amd64");
        assert_eq!(v["started"], "2026-12-02T10:00:00Z");
        assert!(v["seconds"].is_null());
        assert_eq!(v["watchdog"], serde_json::json!({"kind": "hardware", "device": "/dev/watchdog0", "timeout": 120}));
    }

    #[test]
    fn a_state_directory_linked_outside_the_root_is_never_written_through() {
        const PENDING: &str = "pending.json";
        const HISTORY: &str = "history.json";
        let t = crate::testing::TempRoot::new();
        let (root, outside) = (t.dir().to_path_buf(), t.outside().to_path_buf());
        std::fs::create_dir_all(root.join("var/lib")).unwrap();
        std::fs::write(outside.join(PENDING), "precious pending").unwrap();
        std::fs::write(outside.join(HISTORY), "precious history").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("var/lib/kexec-chooser")).unwrap();
        let store = Store::new(&Root::new(&root));
        // Read inside the root, where the link leads nowhere: nothing pending.
        assert_eq!(store.pending().unwrap(), None);
        assert!(store.set_pending(&record("a1")).is_err());
        assert!(store.end(&record("a1")).is_err());
        store.drop_pending().unwrap();
        assert_eq!(std::fs::read_to_string(outside.join(PENDING)).unwrap(), "precious pending");
        assert_eq!(std::fs::read_to_string(outside.join(HISTORY)).unwrap(), "precious history");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 2, "nothing new outside");
        // A relative link that climbs out stays inside too, and is written there.
        std::fs::remove_file(root.join("var/lib/kexec-chooser")).unwrap();
        std::fs::create_dir_all(root.join("srv/state")).unwrap();
        std::os::unix::fs::symlink("../../../../../../srv/state", root.join("var/lib/kexec-chooser")).unwrap();
        store.set_pending(&record("a2")).unwrap();
        assert!(root.join("srv/state").join(PENDING).is_file());
        store.drop_pending().unwrap();
        assert!(!root.join("srv/state").join(PENDING).exists());
        assert_eq!(std::fs::read_to_string(outside.join(PENDING)).unwrap(), "precious pending");
    }
}
