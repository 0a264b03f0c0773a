//! Integration tests of `confirm` on fixture roots: the verdicts that need
//! no action on the machine (nothing pending, a fall-back, a damaged record)
//! and the refusal to act on this machine for a foreign `--root`. The warm
//! boot's check, watchdog and reboot are unit-tested with the fake System
//! (src/safety/confirm.rs) and proven in QEMU guests by tests/vm/.

use std::path::Path;

use crate::common::{run, stderr, stdout};

const PENDING: &str = "/var/lib/kexec-chooser/pending.json";

/// A pending record of a warm reboot from 6.1.0-9-amd64 (boot b0) into
/// 6.1.0-10-amd64, marked `kexec_chooser.boot=a1`.
const RECORD: &str = r#"{"id":"a1","result":"pending","target_id":"6.1.0-10-amd64","target":"6.1.0-10-amd64",
    "from":"6.1.0-9-amd64","from_boot_id":"b0","started":"2026-12-02T10:00:00Z","started_unix":1796205600.0,
    "seconds":null,"ended":null,"reason":null,"mode":"systemd","watchdog":{"device":"/dev/watchdog0",
    "timeout":600,"module":"i6300esb","identity":"i6300ESB timer","armed_by":"kexec-chooser"}}"#;

/// A machine booted into `release` with `cmdline`, in boot b1.
fn machine(release: &str, cmdline: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let base = [
        ("/proc/sys/kernel/osrelease", format!("{release}\n")),
        ("/proc/cmdline", format!("{cmdline}\n")),
        ("/proc/sys/kernel/random/boot_id", "b1\n".to_string()),
        ("/sys/kernel/kexec_loaded", "0\n".to_string()),
    ];
    let extra = files.iter().map(|(p, t)| (*p, t.to_string()));
    for (path, text) in base.into_iter().chain(extra) {
        let p = d.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn last_warm_reboot(root: &Path) -> serde_json::Value {
    let o = run(&["status", "--json", "--root", arg(root)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v["last_warm_reboot"].clone()
}

#[test]
fn nothing_pending_is_silent_success() {
    let d = machine("6.1.0-10-amd64", "root=/dev/vda", &[]);
    let o = run(&["confirm", "--check", "false", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert_eq!(stderr(&o), "");
    assert!(last_warm_reboot(d.path()).is_null());
}

#[test]
fn a_firmware_boot_is_a_fall_back_in_status_and_exit_1() {
    let d = machine("6.1.0-9-amd64", "root=/dev/vda", &[(PENDING, RECORD)]);
    assert_eq!(last_warm_reboot(d.path())["result"], "pending");
    let o = run(&["confirm", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("FELL BACK") && err.contains("6.1.0-10-amd64") && err.contains("6.1.0-9-amd64 runs"), "{err}");
    assert_eq!(stdout(&o), "");
    let w = last_warm_reboot(d.path());
    assert_eq!(w["result"], "fell-back", "{w}");
    assert_eq!(w["target"], "6.1.0-10-amd64");
    assert!(w["seconds"].is_null());
    assert!(!d.path().join(PENDING.trim_start_matches('/')).exists());
    // Judged once: a second run finds nothing pending.
    let o = run(&["confirm", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn the_warm_boot_of_a_foreign_root_is_not_acted_on() {
    let d = machine("6.1.0-10-amd64", "root=/dev/vda kexec_chooser.boot=a1", &[(PENDING, RECORD)]);
    let o = run(&["confirm", "--check", "true", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("only --root / acts"), "{}", stderr(&o));
    assert_eq!(last_warm_reboot(d.path())["result"], "pending");
}

#[test]
fn a_damaged_record_is_an_error_naming_it() {
    let d = machine("6.1.0-10-amd64", "root=/dev/vda", &[(PENDING, "{\"id\": \"a1\"\x1b[2J")]);
    let o = run(&["confirm", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("/var/lib/kexec-chooser/pending.json"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}
