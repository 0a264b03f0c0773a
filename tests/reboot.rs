//! Integration tests of the plan: selectors, command-line edits and
//! `reboot --dry-run` on the fixture trees. Nothing here loads a kernel.

use crate::common::{self, run, stderr, stdout};
use serde_json::Value;

fn plan(root: &str, extra: &[&str]) -> Result<Value, String> {
    let r = common::root(root);
    let mut args = vec!["reboot", "--dry-run", "--json", "--root", r.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args);
    if o.status.success() {
        Ok(common::plan_json(&o.stdout))
    } else {
        assert_eq!(o.status.code(), Some(1), "failures exit 1: {}", stderr(&o));
        Err(stderr(&o))
    }
}

#[test]
fn latest_is_the_newest_usable_kernel() {
    let p = plan("debian", &["latest"]).unwrap();
    assert_eq!(p["version"], "6.12.9+bpo-amd64");
    assert_eq!(p["kernel"], "/boot/vmlinuz-6.12.9+bpo-amd64");
    assert_eq!(p["initrds"], serde_json::json!(["/boot/initrd.img-6.12.9+bpo-amd64"]));
}

#[test]
fn every_selector_kind_names_its_entry() {
    assert_eq!(plan("debian", &["running"]).unwrap()["version"], "6.1.0-13-amd64");
    assert_eq!(plan("debian", &["default"]).unwrap()["version"], "6.1.0-9-amd64");
    assert_eq!(plan("debian", &["6.1.0-10-amd64"]).unwrap()["version"], "6.1.0-10-amd64");
    assert_eq!(plan("arch", &["linux-fallback"]).unwrap()["initrds"][2], "/boot/initramfs-linux-fallback.img");
    assert_eq!(plan("debian", &["/boot/vmlinuz-6.1.0-9-amd64"]).unwrap()["version"], "6.1.0-9-amd64");
    // Debian's /vmlinuz symlink resolves inside the root, to the newest kernel.
    assert_eq!(plan("debian", &["/vmlinuz.old"]).unwrap()["kernel"], "/boot/vmlinuz-6.1.0-13-amd64");
}

#[test]
fn unknown_selector_lists_the_candidates() {
    let e = plan("debian", &["5.10.0-1-amd64"]).unwrap_err();
    assert!(e.contains("5.10.0-1-amd64") && e.contains("6.1.0-13-amd64") && e.contains("6.12.9+bpo-amd64"), "{e}");
}

#[test]
fn a_shared_release_takes_the_entry_the_boot_loader_boots() {
    // Fedora's rescue kernel is a copy of the installed one: same release.
    // systemd-boot orders entries without sort-key by file name, newest first.
    let p = plan("fedora", &["6.5.6-300.fc39.x86_64"]).unwrap();
    assert_eq!(p["id"], "8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b-6.5.6-300.fc39.x86_64");
    let p = plan("fedora", &["8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b-0-rescue"]).unwrap();
    assert_eq!(p["kernel"], "/boot/vmlinuz-0-rescue-8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b", "its id still names it");
}

#[test]
fn a_kernel_that_is_not_one_is_refused_by_name() {
    let e = plan("garbage", &["6.1.0-99-amd64"]).unwrap_err();
    assert!(e.contains("/boot/vmlinuz-6.1.0-99-amd64") && e.contains("not usable"), "{e}");
}

#[test]
fn cmdline_comes_from_proc_without_boot_loader_words() {
    let p = plan("debian", &["latest"]).unwrap();
    assert_eq!(p["cmdline"], "root=UUID=1c5b7a7e-0f43-4c0e-9b43-5f0b7f1c2a11 ro quiet");
}

#[test]
fn cmdline_prefers_the_entry_then_etc_kernel_cmdline() {
    let p = plan("fedora", &["6.6.2-201.fc39.x86_64"]).unwrap();
    assert!(p["cmdline"].as_str().unwrap().starts_with("root=UUID=4d2b0e52-5d1f-4b8e-a1a4-1f3c9d7e8b20 ro"));
    assert_eq!(plan("arch", &["linux"]).unwrap()["cmdline"], "root=/dev/nvme0n1p2 rw");
}

#[test]
fn append_remove_and_cmdline_edit_the_line() {
    let p = plan("debian", &["latest", "--append", "quiet=no console=ttyS0", "--remove", "ro"]).unwrap();
    assert_eq!(p["cmdline"], "root=UUID=1c5b7a7e-0f43-4c0e-9b43-5f0b7f1c2a11 quiet=no console=ttyS0");
    let p = plan("debian", &["latest", "--cmdline", "root=/dev/vda", "--append", "MARKER"]).unwrap();
    assert_eq!(p["cmdline"], "root=/dev/vda MARKER");
}

#[test]
fn initrd_options_replace_or_drop_the_initrds() {
    let p = plan("debian", &["latest", "--initrd", "/boot/a.img", "--initrd", "/boot/b.img"]).unwrap();
    assert_eq!(p["initrds"], serde_json::json!(["/boot/a.img", "/boot/b.img"]));
    let p = plan("debian", &["latest", "--no-initrd"]).unwrap();
    assert_eq!(p["initrds"], serde_json::json!([]));
}

#[test]
fn a_command_line_longer_than_cmdline_size_is_refused() {
    let long = "x".repeat(5000);
    let e = plan("debian", &["latest", "--append", &long]).unwrap_err();
    assert!(e.contains("longer than") && e.contains("/boot/vmlinuz-6.12.9+bpo-amd64"), "{e}");
}

#[test]
fn no_selector_and_no_terminal_is_an_error() {
    let r = common::root("debian");
    let o = run(&["reboot", "--dry-run", "--root", r.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no terminal"), "{}", stderr(&o));
}

#[test]
fn dry_run_text_names_kernel_initrds_cmdline_and_hand_over() {
    let r = common::root("debian");
    let o = run(&["reboot", "--dry-run", "latest", "--mode", "direct", "--root", r.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("kernel:    /boot/vmlinuz-6.12.9+bpo-amd64"), "{out}");
    assert!(out.contains("initrds:   /boot/initrd.img-6.12.9+bpo-amd64"), "{out}");
    assert!(out.contains("cmdline:   root=UUID="), "{out}");
    assert!(out.contains("hand-over: direct"), "{out}");
}

#[test]
fn auto_mode_is_systemd_only_where_systemd_runs() {
    let t = crate::common::tree_copy("debian");
    let root = t.path().to_str().unwrap();
    let p = |root: &str| {
        let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", root]);
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["mode"].clone()
    };
    assert_eq!(p(root), "direct");
    std::fs::create_dir_all(t.path().join("run/systemd/system")).unwrap();
    assert_eq!(p(root), "systemd");
}

#[test]
fn bare_command_is_reboot_and_takes_its_flags() {
    let r = common::root("debian");
    let o = run(&["--root", r.to_str().unwrap(), "--dry-run", "--json", "latest", "--append", "M=1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = common::plan_json(&o.stdout);
    assert!(p["cmdline"].as_str().unwrap().ends_with("M=1"));
}

#[test]
fn json_without_dry_run_is_a_usage_error() {
    let o = run(&["reboot", "--json", "latest", "--root", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_dry_run_shows_the_problem_of_an_initrd_that_is_not_a_file() {
    let t = common::tree_copy("debian");
    let r = t.path().to_str().unwrap();
    std::fs::create_dir(t.path().join("boot/dir.img")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(t.path().join("boot/fifo.img")).status().unwrap().success());
    for (p, want) in
        [("/boot/dir.img", "a directory"), ("/boot/fifo.img", "a FIFO"), ("/boot/missing.img", "is missing")]
    {
        let o = run(&["reboot", "--dry-run", "--root", r, "latest", "--initrd", p]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let line = out.lines().find(|l| l.starts_with("problem:") && l.contains(p));
        assert!(line.is_some_and(|l| l.contains(want)), "{p}: {out}");
        let o = run(&["reboot", "--dry-run", "--json", "--root", r, "latest", "--initrd", p]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let problems = v["problems"].as_array().unwrap();
        assert!(problems.iter().any(|x| x.as_str().unwrap().contains(want)), "{p}: {v}");
    }
}

/// The plan says what guards the hand-over: an i6300esb as the core's
/// sysfs shows it (core with stop_on_reboot=0) is armed for 600 s by
/// default, for SECONDS with --watchdog, not at all with --no-watchdog;
/// without a device the software net guards it (panic= and softdog on the
/// new kernel's command line), for SECONDS with --watchdog too.
#[test]
fn the_plan_says_whether_a_watchdog_guards_the_hand_over() {
    let t = common::tree_copy("debian");
    let r = t.path().to_str().unwrap();
    let none = run(&["reboot", "--dry-run", "latest", "--root", r]);
    assert!(none.status.success(), "{}", stderr(&none));
    assert!(
        stdout(&none).contains(
            "safety:    software only (no hardware watchdog): a panic, a missing root or a hang after the root is \
             mounted reboots after 600 s into "
        ),
        "{}",
        stdout(&none)
    );
    let soft = run(&["reboot", "--dry-run", "--json", "latest", "--watchdog", "120", "--root", r]);
    assert!(soft.status.success(), "{}", stderr(&soft));
    let p = common::plan_json(&soft.stdout);
    assert_eq!((p["watchdog"]["kind"].as_str(), p["watchdog"]["timeout"].as_u64()), (Some("software"), Some(120)));
    assert_eq!(p["watchdog"]["device"], Value::Null);
    let off = stdout(&run(&["reboot", "--dry-run", "latest", "--no-watchdog", "--root", r]));
    assert!(off.contains("safety:    no watchdog: if the new kernel hangs"), "{off}");
    assert!(!off.contains("softdog"), "{off}");

    let w = |rel: &str, text: &str| {
        let p = t.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w("sys/module/watchdog/initstate", "live\n");
    w("sys/module/watchdog/parameters/stop_on_reboot", "0\n");
    w("sys/module/i6300esb/initstate", "live\n");
    std::fs::create_dir_all(t.path().join("sys/module/watchdog/holders")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("sys/module/i6300esb"),
        t.path().join("sys/module/watchdog/holders/i6300esb"),
    )
    .unwrap();
    for (f, v) in [
        ("identity", "i6300ESB timer"),
        ("state", "inactive"),
        ("timeout", "30"),
        ("min_timeout", "1"),
        ("max_timeout", "2046"),
        ("nowayout", "0"),
        ("bootstatus", "0"),
    ] {
        w(&format!("sys/class/watchdog/watchdog0/{f}"), &format!("{v}\n"));
    }
    let armed = run(&["reboot", "--dry-run", "--json", "latest", "--root", r]);
    assert!(armed.status.success(), "{}", stderr(&armed));
    let p = common::plan_json(&armed.stdout);
    assert_eq!(p["watchdog"]["device"], "/dev/watchdog0");
    assert_eq!(p["watchdog"]["timeout"], 600);
    let line = p["cmdline"].as_str().unwrap();
    assert!(line.contains("watchdog.handle_boot_enabled=0 modprobe.blacklist=i6300esb"), "{line}");
    let given =
        common::plan_json(&run(&["reboot", "--dry-run", "--json", "latest", "--watchdog", "120", "--root", r]).stdout);
    assert_eq!(given["watchdog"]["timeout"], 120);
    let off =
        common::plan_json(&run(&["reboot", "--dry-run", "--json", "latest", "--no-watchdog", "--root", r]).stdout);
    assert_eq!(off["watchdog"], serde_json::Value::Null);
    assert!(!off["cmdline"].as_str().unwrap().contains("modprobe.blacklist"), "{off}");
    assert!(off["watchdog_note"].as_str().unwrap().contains("(--no-watchdog)"), "{off}");
}

/// The plan names the running kernel's GRUB entry as where a reset leads,
/// changing nothing (a dry run); where GRUB could not clear it, the default.
#[test]
fn the_plan_says_a_reset_brings_back_the_running_kernel_through_grub() {
    let t = common::tree_copy("debian");
    let r = t.path().to_str().unwrap();
    let mountinfo = t.path().join("proc/self/mountinfo");
    std::fs::create_dir_all(mountinfo.parent().unwrap()).unwrap();
    std::fs::write(&mountinfo, "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n").unwrap();
    let env_before = std::fs::read(t.path().join("boot/grub/grubenv")).unwrap();
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = common::plan_json(&o.stdout);
    assert_eq!(p["version"], "6.12.9+bpo-amd64");
    assert_eq!(
        p["fallback"],
        serde_json::json!({"loader": "grub", "entry": "gnulinux-advanced-1c5b>gnulinux-6.1.0-13-amd64-advanced-1c5b", "release": "6.1.0-13-amd64"})
    );
    assert_eq!(p["fallback_note"], "6.1.0-13-amd64 (GRUB next_entry)");
    let text = stdout(&run(&["reboot", "--dry-run", "latest", "--root", r]));
    assert!(text.contains("reboots after 600 s into 6.1.0-13-amd64 (GRUB next_entry)"), "{text}");
    assert_eq!(std::fs::read(t.path().join("boot/grub/grubenv")).unwrap(), env_before, "a dry run changes nothing");
    // /boot/grub on btrfs: GRUB could never clear next_entry.
    std::fs::write(&mountinfo, "22 1 0:31 / / rw - btrfs /dev/vda1 rw\n").unwrap();
    let p = common::plan_json(&run(&["reboot", "--dry-run", "--json", "latest", "--root", r]).stdout);
    assert_eq!(p["fallback"], Value::Null);
    let note = p["fallback_note"].as_str().unwrap();
    assert!(note.starts_with("the boot loader's default, 6.1.0-9-amd64 (/boot/grub is on btrfs"), "{note}");
}

/// A kernel loaded for a later `systemctl kexec` never carries the software
/// net: softdog would start by itself in the new kernel, and no record
/// would be pending for `confirm` to stop it.
#[test]
fn a_load_for_later_carries_no_software_net() {
    let t = common::tree_copy("debian");
    let r = t.path().to_str().unwrap();
    let o = run(&["load", "--dry-run", "--json", "latest", "--root", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = common::plan_json(&o.stdout);
    assert_eq!(p["watchdog"], Value::Null);
    let line = p["cmdline"].as_str().unwrap();
    assert!(!line.contains("softdog") && !line.contains("panic="), "{line}");
}

/// ... and an explicit --watchdog that only the software net could take is
/// refused before anything is loaded, saying what to run instead.
#[test]
fn a_load_for_later_refuses_a_watchdog_only_the_software_net_could_take() {
    let t = common::tree_copy("debian");
    let r = t.path().to_str().unwrap();
    let o = run(&["load", "--dry-run", "latest", "--watchdog", "60", "--root", r]);
    assert!(!o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let err = stderr(&o);
    assert!(err.contains("--watchdog 60: no hardware watchdog can guard a kernel loaded for later"), "{err}");
    assert!(err.contains("kexec-chooser reboot --watchdog 60"), "{err}");
}
