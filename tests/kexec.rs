//! Integration tests of `status`, `exec`, `unload` and the refusals that
//! guard them. Nothing here may load or reboot: every case stops before the
//! kernel is touched (no terminal and no --yes, or a foreign --root); the
//! real load and hand-over are proven in QEMU guests by tests/vm/.

use std::path::Path;

use crate::common::{run, stderr, stdout};

fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = d.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn status_tells_that_disabled_kexec_is_impossible() {
    let d = root_with(&[
        ("/proc/sys/kernel/kexec_load_disabled", "1\n"),
        ("/proc/sys/kernel/osrelease", "6.1.0-9-amd64\n"),
        ("/boot/config-6.1.0-9-amd64", "CONFIG_KEXEC_FILE=y\nCONFIG_KEXEC_SIG=y\n"),
        ("/sys/kernel/kexec_loaded", "0\n"),
    ]);
    let o = run(&["status", "--root", arg(d.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("kexec possible:          no"), "{out}");
    assert!(out.contains("kexec_load_disabled is 1"), "{out}");
    assert!(out.contains("running release:         6.1.0-9-amd64"), "{out}");
    assert!(out.contains("CONFIG_KEXEC_FILE:       y"), "{out}");
    assert!(out.contains("hand-over of auto:       direct"), "{out}");
}

#[test]
fn status_json_reports_state_and_auto_mode() {
    let d = root_with(&[
        ("/sys/kernel/kexec_loaded", "1\n"),
        ("/sys/kernel/security/lockdown", "none [integrity] confidentiality\n"),
        ("/run/systemd/system/.keep", ""),
    ]);
    let o = run(&["status", "--json", "--root", arg(d.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["loaded"], true);
    assert_eq!(v["lockdown"], "integrity");
    assert_eq!(v["auto_mode"], "systemd");
    assert_eq!(v["config_kexec_file"], "unknown");
    let reasons = v["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r.as_str().unwrap().contains("lockdown is integrity")), "{reasons:?}");
}

#[test]
fn exec_without_terminal_or_yes_refuses_and_touches_nothing() {
    let o = run(&["exec", "--mode", "direct"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no terminal to ask on; pass --yes"), "{}", stderr(&o));
}

#[test]
fn exec_under_a_foreign_root_refuses() {
    let d = root_with(&[("/sys/kernel/kexec_loaded", "1\n")]);
    let o = run(&["exec", "--yes", "--mode", "direct", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is for looking only"), "{}", stderr(&o));
}

#[test]
fn unload_under_a_foreign_root_refuses() {
    let d = root_with(&[]);
    let o = run(&["unload", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is for looking only"), "{}", stderr(&o));
}

#[test]
fn bad_mode_is_a_usage_error() {
    let o = run(&["exec", "--mode", "sideways", "--yes"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn status_says_a_damaged_record_is_damaged_not_absent() {
    let d = root_with(&[("/sys/kernel/kexec_loaded", "0\n"), ("/var/lib/kexec-chooser/history.json", "[{\"id\":")]);
    let o = run(&["status", "--json", "--root", arg(d.path())]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["last_warm_reboot"]["result"], "damaged", "{v}");
    assert!(v["last_warm_reboot"]["error"].as_str().unwrap().contains("/var/lib/kexec-chooser/history.json"), "{v}");
    let o = run(&["status", "--root", arg(d.path())]);
    assert!(
        stdout(&o).contains("last warm reboot:        damaged record (/var/lib/kexec-chooser/history.json"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn status_tells_the_last_warm_reboot_or_null() {
    let d = root_with(&[("/sys/kernel/kexec_loaded", "0\n")]);
    let o = run(&["status", "--json", "--root", arg(d.path())]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["last_warm_reboot"].is_null(), "{v}");
    let record = r#"[{"id":"ab","result":"fell-back","target_id":"6.1.0-10-amd64","target":"6.1.0-10-amd64",
        "from":"6.1.0-9-amd64","from_boot_id":"b0","started":"2026-12-02T10:00:00Z","started_unix":1796205600.0,
        "seconds":null,"ended":"2026-12-02T10:05:00Z","reason":"the machine came back on 6.1.0-9-amd64",
        "mode":"systemd","watchdog":{"device":"/dev/watchdog0","timeout":120,"module":"i6300esb",
        "identity":"i6300ESB timer","armed_by":"kexec-chooser"}}]"#;
    let d = root_with(&[("/sys/kernel/kexec_loaded", "0\n"), ("/var/lib/kexec-chooser/history.json", record)]);
    let o = run(&["status", "--json", "--root", arg(d.path())]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let w = &v["last_warm_reboot"];
    assert_eq!(w["result"], "fell-back", "{v}");
    assert_eq!(w["target"], "6.1.0-10-amd64");
    assert_eq!(w["from"], "6.1.0-9-amd64");
    assert_eq!(w["started"], "2026-12-02T10:00:00Z");
    assert!(w["seconds"].is_null());
    assert_eq!(w["watchdog"], serde_json::json!({"kind": "hardware", "device": "/dev/watchdog0", "timeout": 120}));
    let o = run(&["status", "--root", arg(d.path())]);
    assert!(
        stdout(&o).contains("last warm reboot:        fell-back (6.1.0-9-amd64 -> 6.1.0-10-amd64"),
        "{}",
        stdout(&o)
    );
}
