//! Integration tests of `list` and of discovery on the fixture trees
//! (tests/fixtures/README.md says where each comes from).

use crate::common::{self, fixture, list_json, run, stderr, stdout, tree_copy};
use serde_json::Value;

fn versions(v: &[Value]) -> Vec<&str> {
    v.iter().map(|e| e["version"].as_str().unwrap()).collect()
}

fn by_id<'a>(v: &'a [Value], id: &str) -> &'a Value {
    v.iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("no entry {id} in {v:#?}"))
}

#[test]
fn debian_is_listed_newest_first_as_linux_version_sorts() {
    let v = list_json(&fixture("debian"));
    assert_eq!(versions(&v), ["6.12.9+bpo-amd64", "6.1.0-13-amd64", "6.1.0-10-amd64", "6.1.0-9-amd64"]);
}

#[test]
fn symlinks_and_backups_do_not_make_entries() {
    let v = list_json(&fixture("debian"));
    assert_eq!(v.len(), 4, "{v:#?}");
    for e in &v {
        let k = e["kernel"].as_str().unwrap();
        assert!(k.starts_with("/boot/vmlinuz-"), "{k}");
        assert!(!k.contains(".dpkg-") && !k.ends_with(".bak") && !k.ends_with('~'), "{k}");
    }
}

#[test]
fn json_objects_carry_every_documented_field() {
    let v = list_json(&fixture("debian"));
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
    let v = list_json(&fixture("debian"));
    let running: Vec<&str> = v.iter().filter(|e| e["running"] == true).map(|e| e["id"].as_str().unwrap()).collect();
    let default: Vec<&str> = v.iter().filter(|e| e["default"] == true).map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(running, ["6.1.0-13-amd64"]);
    assert_eq!(default, ["6.1.0-9-amd64"], "grubenv's saved_entry names the 6.1.0-9 submenu entry");
}

#[test]
fn missing_modules_directory_is_a_problem() {
    let v = list_json(&fixture("debian"));
    let p = by_id(&v, "6.1.0-10-amd64")["problems"].to_string();
    assert!(p.contains("/lib/modules/6.1.0-10-amd64"), "{p}");
    assert_eq!(by_id(&v, "6.1.0-13-amd64")["problems"], serde_json::json!([]));
}

#[test]
fn table_shows_marks_and_problems() {
    let o = run(&["list", "--root", fixture("debian").to_str().unwrap()]);
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
    let r = fixture("debian");
    let a = run(&["--root", r.to_str().unwrap(), "list", "--json"]);
    let b = run(&["list", "--json", "--root", r.to_str().unwrap()]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn fedora_bls_entries_replace_the_same_kernels_by_name() {
    let v = list_json(&fixture("fedora"));
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
    let v = list_json(&fixture("fedora"));
    let d: Vec<&Value> = v.iter().filter(|e| e["default"] == true).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["id"], "8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b-6.5.6-300.fc39.x86_64");
}

#[test]
fn arch_puts_microcode_first_and_lists_the_fallback() {
    let v = list_json(&fixture("arch"));
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
    let v = list_json(&fixture("alpine"));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["version"], "6.6.3-0-lts");
    assert_eq!(v[0]["initrds"], serde_json::json!(["/boot/initramfs-lts"]));
}

#[test]
fn garbage_is_listed_with_problems_and_never_latest() {
    let v = list_json(&fixture("garbage"));
    for bad in ["6.1.0-99-amd64", "6.1.0-98-amd64", "6.1.0-97-amd64"] {
        let e = by_id(&v, bad);
        assert_eq!(e["format"], "unknown", "{e}");
        assert!(!e["problems"].as_array().unwrap().is_empty(), "{e}");
    }
    assert!(by_id(&v, "6.1.0-98-amd64")["problems"].to_string().contains("truncated"));
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", fixture("garbage").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plan["kernel"], "/boot/vmlinuz-6.1.0-13-amd64");
}

#[test]
fn header_wins_over_a_disagreeing_name() {
    let v = list_json(&fixture("garbage"));
    let e = by_id(&v, "7.0.0-amd64");
    assert_eq!(e["version"], "6.1.0-12-amd64");
    let p = e["problems"].to_string();
    assert!(p.contains("7.0.0-amd64") && p.contains("6.1.0-12-amd64"), "{p}");
}

#[test]
fn dangling_symlinks_are_skipped() {
    let v = list_json(&fixture("garbage"));
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
        let mut args = vec!["list", "--root", fixture("debian").to_str().unwrap().to_owned().leak()];
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
    let o = run(&["--yes", "list", "--root", fixture("debian").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("before a subcommand"), "{}", stderr(&o));
}
