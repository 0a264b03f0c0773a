//! Integration tests of `list` and of discovery on the fixture trees
//! (tests/fixtures/README.md says where each comes from).

use crate::common::{self, list_json, run, stderr, stdout, tree_copy};
use serde_json::Value;

fn versions(v: &[Value]) -> Vec<&str> {
    v.iter().map(|e| e["version"].as_str().unwrap()).collect()
}

fn by_id<'a>(v: &'a [Value], id: &str) -> &'a Value {
    v.iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("no entry {id} in {v:#?}"))
}

#[test]
fn debian_is_listed_newest_first_as_linux_version_sorts() {
    let v = list_json(&common::root("debian"));
    assert_eq!(versions(&v), ["6.12.9+bpo-amd64", "6.1.0-13-amd64", "6.1.0-10-amd64", "6.1.0-9-amd64"]);
}

#[test]
fn symlinks_and_backups_do_not_make_entries() {
    let v = list_json(&common::root("debian"));
    assert_eq!(v.len(), 4, "{v:#?}");
    for e in &v {
        let k = e["kernel"].as_str().unwrap();
        assert!(k.starts_with("/boot/vmlinuz-"), "{k}");
        assert!(!k.contains(".dpkg-") && !k.ends_with(".bak") && !k.ends_with('~'), "{k}");
    }
}

#[test]
fn json_objects_carry_every_documented_field() {
    let v = list_json(&common::root("debian"));
    for e in &v {
        for key in ["id", "version", "kernel", "initrds", "cmdline", "source", "format", "running", "default", "problems"] {
            assert!(e.get(key).is_some(), "missing {key} in {e}");
        }
        assert!(e["initrds"].is_array() && e["problems"].is_array());
        assert!(e["running"].is_boolean() && e["default"].is_boolean());
    }
    let e = by_id(&v, "6.1.0-13-amd64");
    assert_eq!(e["source"], "vmlinuz");
    assert_eq!(e["format"], "bzimage");
    assert_eq!(e["kernel"], "/boot/vmlinuz-6.1.0-13-amd64");
    assert_eq!(e["initrds"], serde_json::json!(["/boot/initrd.img-6.1.0-13-amd64"]));
    assert_eq!(e["cmdline"], Value::Null);
}

#[test]
fn running_and_grub_default_are_marked_once_each() {
    let v = list_json(&common::root("debian"));
    let running: Vec<&str> = v.iter().filter(|e| e["running"] == true).map(|e| e["id"].as_str().unwrap()).collect();
    let default: Vec<&str> = v.iter().filter(|e| e["default"] == true).map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(running, ["6.1.0-13-amd64"]);
    assert_eq!(default, ["6.1.0-9-amd64"], "grubenv's saved_entry names the 6.1.0-9 submenu entry");
}

#[test]
fn missing_modules_directory_is_a_problem() {
    let v = list_json(&common::root("debian"));
    let p = by_id(&v, "6.1.0-10-amd64")["problems"].to_string();
    assert!(p.contains("/lib/modules/6.1.0-10-amd64"), "{p}");
    assert_eq!(by_id(&v, "6.1.0-13-amd64")["problems"], serde_json::json!([]));
}

#[test]
fn table_shows_marks_and_problems() {
    let o = run(&["list", "--root", common::root("debian").to_str().unwrap()]);
    assert!(o.status.success());
    let out = stdout(&o);
    let line = out.lines().find(|l| l.contains("6.1.0-13-amd64 ")).unwrap();
    assert!(line.starts_with('R'), "{line}");
    let line = out.lines().find(|l| l.contains("/boot/vmlinuz-6.1.0-9-amd64")).unwrap();
    assert!(line.starts_with(" D"), "{line}");
    assert!(out.contains("problem: no modules directory /lib/modules/6.1.0-10-amd64"), "{out}");
}

#[test]
fn root_is_accepted_before_and_after_the_subcommand() {
    let r = common::root("debian");
    let a = run(&["--root", r.to_str().unwrap(), "list", "--json"]);
    let b = run(&["list", "--json", "--root", r.to_str().unwrap()]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn fedora_bls_entries_replace_the_same_kernels_by_name() {
    let v = list_json(&common::root("fedora"));
    assert_eq!(v.len(), 3, "{v:#?}");
    assert!(v.iter().all(|e| e["source"] == "bls"), "{v:#?}");
    let e = &v[0];
    assert_eq!(e["version"], "6.6.2-201.fc39.x86_64");
    assert_eq!(e["kernel"], "/boot/vmlinuz-6.6.2-201.fc39.x86_64");
    assert_eq!(e["initrds"], serde_json::json!(["/boot/initramfs-6.6.2-201.fc39.x86_64.img"]));
    assert!(e["cmdline"].as_str().unwrap().contains("rootflags=subvol=root"));
}

#[test]
fn fedora_default_is_the_bls_id_grubenv_names() {
    let v = list_json(&common::root("fedora"));
    let d: Vec<&Value> = v.iter().filter(|e| e["default"] == true).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["id"], "8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b-6.5.6-300.fc39.x86_64");
}

#[test]
fn arch_puts_microcode_first_and_lists_the_fallback() {
    let v = list_json(&common::root("arch"));
    assert_eq!(v.len(), 2, "{v:#?}");
    let e = by_id(&v, "linux");
    assert_eq!(e["version"], "6.6.1-arch1-1", "the header's release, not the name");
    assert_eq!(
        e["initrds"],
        serde_json::json!(["/boot/intel-ucode.img", "/boot/amd-ucode.img", "/boot/initramfs-linux.img"])
    );
    let f = by_id(&v, "linux-fallback");
    assert_eq!(f["initrds"][2], "/boot/initramfs-linux-fallback.img");
    assert_eq!(e["problems"], serde_json::json!([]), "a flavour name is not a disagreeing version");
}

#[test]
fn alpine_lts_pairs_with_initramfs_lts() {
    let v = list_json(&common::root("alpine"));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["version"], "6.6.3-0-lts");
    assert_eq!(v[0]["initrds"], serde_json::json!(["/boot/initramfs-lts"]));
}

#[test]
fn garbage_is_listed_with_problems_and_never_latest() {
    let v = list_json(&common::root("garbage"));
    for bad in ["6.1.0-99-amd64", "6.1.0-98-amd64", "6.1.0-97-amd64"] {
        let e = by_id(&v, bad);
        assert_eq!(e["format"], "unknown", "{e}");
        assert!(!e["problems"].as_array().unwrap().is_empty(), "{e}");
    }
    assert!(by_id(&v, "6.1.0-98-amd64")["problems"].to_string().contains("truncated"));
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", common::root("garbage").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["kernel"], "/boot/vmlinuz-6.1.0-13-amd64");
}

#[test]
fn header_wins_over_a_disagreeing_name() {
    let v = list_json(&common::root("garbage"));
    let e = by_id(&v, "7.0.0-amd64");
    assert_eq!(e["version"], "6.1.0-12-amd64");
    let p = e["problems"].to_string();
    assert!(p.contains("7.0.0-amd64") && p.contains("6.1.0-12-amd64"), "{p}");
}

#[test]
fn dangling_symlinks_are_skipped() {
    let v = list_json(&common::root("garbage"));
    assert!(v.iter().all(|e| !e["kernel"].as_str().unwrap().contains("dangling")));
}

#[test]
fn empty_root_lists_nothing_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&["list", "--root", d.path().to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("no kernels found"), "{}", stderr(&o));
    assert_eq!(list_json(d.path()).len(), 0);
}

fn set_grubenv(root: &std::path::Path, body: &str) {
    std::fs::write(root.join("boot/grub/grubenv"), format!("# GRUB Environment Block\n{body}\n")).unwrap();
}

fn default_id(root: &std::path::Path) -> Option<String> {
    list_json(root).into_iter().find(|e| e["default"] == true).map(|e| e["id"].as_str().unwrap().to_owned())
}

#[test]
fn grub_next_entry_wins_over_saved_entry() {
    let t = tree_copy("debian");
    set_grubenv(t.path(), "saved_entry=0\nnext_entry=1>2");
    // 1 = the submenu; its third item is 6.1.0-13's normal entry (0: 6.12.9, 1: its recovery).
    assert_eq!(default_id(t.path()).as_deref(), Some("6.1.0-13-amd64"));
}

#[test]
fn grub_default_by_titles_and_by_index() {
    let t = tree_copy("debian");
    set_grubenv(t.path(), "saved_entry=Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-10-amd64");
    assert_eq!(default_id(t.path()).as_deref(), Some("6.1.0-10-amd64"));
    set_grubenv(t.path(), "saved_entry=");
    assert_eq!(default_id(t.path()).as_deref(), Some("6.12.9+bpo-amd64"), "empty saved_entry: the first entry");
}

#[test]
fn unresolvable_grub_default_marks_nothing_and_says_why() {
    let t = tree_copy("debian");
    set_grubenv(t.path(), "saved_entry=gnulinux-6.0.0-1-amd64-advanced-gone");
    assert_eq!(default_id(t.path()), None);
    let o = run(&["list", "--root", t.path().to_str().unwrap()]);
    assert!(stderr(&o).contains("gnulinux-6.0.0-1-amd64-advanced-gone"), "{}", stderr(&o));
    let o = run(&["reboot", "--dry-run", "default", "--root", t.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no kernel is marked default"), "{}", stderr(&o));
}

#[test]
fn without_grub_nothing_is_default_and_nothing_is_said() {
    let t = tree_copy("debian");
    std::fs::remove_dir_all(t.path().join("boot/grub")).unwrap();
    assert_eq!(default_id(t.path()), None);
    let o = run(&["list", "--root", t.path().to_str().unwrap()]);
    assert!(!stderr(&o).contains("default"), "{}", stderr(&o));
}

#[test]
fn broken_pipe_exits_zero() {
    use std::process::{Command, Stdio};
    for json in [false, true] {
        let mut args = vec!["list", "--root", common::root("debian").to_str().unwrap().to_owned().leak()];
        if json {
            args.push("--json");
        }
        let mut child =
            Command::new(common::bin()).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn reboot_options_before_a_subcommand_are_refused() {
    let o = run(&["--yes", "list", "--root", common::root("debian").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("before a subcommand"), "{}", stderr(&o));
}

#[test]
fn a_kernel_cut_short_is_a_problem_and_never_latest() {
    let t = tree_copy("debian");
    let k = t.path().join("boot/vmlinuz-6.12.9+bpo-amd64");
    std::fs::OpenOptions::new().write(true).open(&k).unwrap().set_len(1 << 20).unwrap();
    let v = list_json(t.path());
    let e = by_id(&v, "6.12.9+bpo-amd64");
    assert!(e["problems"].to_string().contains("truncated"), "{e}");
    assert_eq!(e["usable"], false);
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", t.path().to_str().unwrap()]);
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["version"], "6.1.0-13-amd64");
}

/// A root whose ESP (mounted on /boot/efi, with /efi a symlink to it) holds
/// the fixture UKI.
fn uki_root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let linux = t.path().join("boot/efi/EFI/Linux");
    std::fs::create_dir_all(&linux).unwrap();
    std::fs::copy(common::fixture("uki/debian-6.1.0-56-amd64.efi"), linux.join("debian-6.1.0-56-amd64.efi")).unwrap();
    std::os::unix::fs::symlink("boot/efi", t.path().join("efi")).unwrap();
    std::fs::create_dir_all(t.path().join("usr/lib/modules/6.1.0-56-amd64")).unwrap();
    std::fs::create_dir_all(t.path().join("proc")).unwrap();
    std::fs::write(t.path().join("proc/cmdline"), "root=/dev/other ro\n").unwrap();
    t
}

#[test]
fn uki_is_found_once_with_its_sections() {
    let t = uki_root();
    let v = list_json(t.path());
    assert_eq!(v.len(), 1, "/efi and /boot/efi are one partition: {v:#?}");
    let e = &v[0];
    assert_eq!(e["source"], "uki");
    assert_eq!(e["format"], "uki");
    assert_eq!(e["id"], "debian-6.1.0-56-amd64");
    assert_eq!(e["version"], "6.1.0-56-amd64");
    assert_eq!(e["kernel"], "/boot/efi/EFI/Linux/debian-6.1.0-56-amd64.efi");
    assert_eq!(e["initrds"], serde_json::json!([]));
    assert_eq!(e["cmdline"], "root=UUID=0a1b2c3d-0000-4000-8000-000000000001 ro quiet");
    assert_eq!(e["title"], "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(e["cmdline_size"], 2047);
    assert_eq!(e["problems"], serde_json::json!([]), "modules under /usr/lib/modules count");
}

#[test]
fn uki_plan_uses_its_own_command_line() {
    let t = uki_root();
    let o = run(&["reboot", "--dry-run", "--json", "6.1.0-56-amd64", "--append", "M", "--root", t.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["cmdline"], "root=UUID=0a1b2c3d-0000-4000-8000-000000000001 ro quiet M");
}

#[test]
fn bls_entry_that_names_a_missing_kernel_is_unusable() {
    let t = tree_copy("fedora");
    let e = t.path().join("boot/loader/entries/gone.conf");
    std::fs::write(&e, "title Gone\nversion 6.7.0-1.fc39.x86_64\nlinux /vmlinuz-6.7.0-1.fc39.x86_64\ninitrd /nope.img\n").unwrap();
    let v = list_json(t.path());
    let g = by_id(&v, "gone");
    assert_eq!(g["usable"], false);
    assert!(g["problems"].to_string().contains("does not exist"), "{g}");
    assert_eq!(v[0]["id"], "gone", "listed by its version, newest");
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", t.path().to_str().unwrap()]);
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["version"], "6.6.2-201.fc39.x86_64");
}
