//! Integration tests of `list` and of discovery on the fixture trees
//! (tests/fixtures/README.md says where each comes from).

use crate::common::{self, list_json, run, stderr, stdout, tree_copy};
use serde_json::Value;
use std::path::{Path, PathBuf};

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
        for key in
            ["id", "version", "kernel", "initrds", "cmdline", "source", "format", "running", "default", "problems"]
        {
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
    set_grubenv(
        t.path(),
        "saved_entry=Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-10-amd64",
    );
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
    let o = run(&[
        "reboot",
        "--dry-run",
        "--json",
        "6.1.0-56-amd64",
        "--append",
        "M",
        "--root",
        t.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = common::plan_json(&o.stdout);
    assert_eq!(p["cmdline"], "root=UUID=0a1b2c3d-0000-4000-8000-000000000001 ro quiet M");
}

#[test]
fn bls_entry_that_names_a_missing_kernel_is_unusable() {
    let t = tree_copy("fedora");
    let e = t.path().join("boot/loader/entries/gone.conf");
    std::fs::write(
        &e,
        "title Gone\nversion 6.7.0-1.fc39.x86_64\nlinux /vmlinuz-6.7.0-1.fc39.x86_64\ninitrd /nope.img\n",
    )
    .unwrap();
    let v = list_json(t.path());
    let g = by_id(&v, "gone");
    assert_eq!(g["usable"], false);
    assert!(g["problems"].to_string().contains("does not exist"), "{g}");
    assert_eq!(v[0]["id"], "gone", "listed by its version, newest");
    let o = run(&["reboot", "--dry-run", "--json", "latest", "--root", t.path().to_str().unwrap()]);
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["version"], "6.6.2-201.fc39.x86_64");
}

// ---- Hostile trees: everything under --root resolves inside it, only
// regular files are read, each within a limit, and list says what it ignored.

/// `list` (with `args`) on `root`, killed and failed after 20 s: a FIFO that
/// blocks must fail the test, not hang it.
fn list_within(root: &Path, args: &[&str]) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::bin())
        .arg("list")
        .args(args)
        .args(["--root", root.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            panic!("list --root {} hung", root.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn json_within(root: &Path) -> (Vec<Value>, String) {
    let o = list_within(root, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    (serde_json::from_slice(&o.stdout).unwrap(), stderr(&o))
}

fn fifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// `host` joined under `root`: where an absolute link to `host` lands when
/// it is resolved inside the root.
fn under(root: &Path, host: &Path) -> PathBuf {
    root.join(host.strip_prefix("/").unwrap())
}

fn write_under(root: &Path, host: &Path, body: &[u8]) {
    let p = under(root, host);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

fn running_id(v: &[Value]) -> Option<&str> {
    v.iter().find(|e| e["running"] == true).map(|e| e["id"].as_str().unwrap())
}

#[test]
fn bls_paths_that_climb_out_of_the_root_stay_inside() {
    let t = tree_copy("fedora");
    let outside = tree_copy("debian"); // a real kernel, outside the root
    let kern = outside.path().join("boot/vmlinuz-6.12.9+bpo-amd64");
    let climb = format!("/../../../../../../../../..{}", kern.display());
    std::fs::write(
        t.path().join("boot/loader/entries/evil.conf"),
        format!("title Evil\nlinux {climb}\ninitrd {climb}\n"),
    )
    .unwrap();
    let v = list_json(t.path());
    let e = by_id(&v, "evil");
    assert_ne!(e["version"], "6.12.9+bpo-amd64", "the host's kernel was read: {e}");
    assert_eq!(e["usable"], false, "{e}");
    assert_eq!(e["kernel"], kern.to_str().unwrap(), "the path as the system under the root sees it");
    assert!(e["problems"].to_string().contains("does not exist"), "{e}");
    // The same path resolved inside the root finds what is there.
    write_under(t.path(), &kern, &std::fs::read(&kern).unwrap());
    std::fs::OpenOptions::new()
        .write(true)
        .open(under(t.path(), &kern))
        .unwrap()
        .set_len(std::fs::metadata(&kern).unwrap().len())
        .unwrap();
    let v = list_json(t.path());
    assert_eq!(by_id(&v, "evil")["version"], "6.12.9+bpo-amd64");
}

#[test]
fn a_symlinked_loader_directory_pointing_out_is_read_inside() {
    let t = tree_copy("fedora");
    let outside = tempfile::tempdir().unwrap();
    let entries = outside.path().join("loader/entries");
    std::fs::create_dir_all(&entries).unwrap();
    std::fs::write(entries.join("evil.conf"), "title Evil\nlinux /vmlinuz-6.6.2-201.fc39.x86_64\n").unwrap();
    std::fs::remove_dir_all(t.path().join("boot/loader")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("loader"), t.path().join("boot/loader")).unwrap();
    let v = list_json(t.path());
    assert!(v.iter().all(|e| e["id"] != "evil"), "an entry of the host was read: {v:#?}");
    assert!(v.iter().all(|e| e["source"] == "vmlinuz"), "{v:#?}");
    // Inside the root, the same absolute link finds the root's own entries.
    let inside = under(t.path(), &entries);
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::write(inside.join("mine.conf"), "title Mine\nlinux /vmlinuz-6.6.2-201.fc39.x86_64\n").unwrap();
    let v = list_json(t.path());
    assert_eq!(by_id(&v, "mine")["source"], "bls");
}

#[test]
fn absolute_links_at_osrelease_grub_cfg_and_grubenv_resolve_inside() {
    let t = tree_copy("debian");
    let host = tempfile::tempdir().unwrap();
    let (osrel, env, cfg) = (host.path().join("osrelease"), host.path().join("grubenv"), host.path().join("grub.cfg"));
    // On the host: what a read that followed the links out of the root would take.
    std::fs::write(&osrel, "6.1.0-10-amd64\n").unwrap();
    // grubenv as GRUB reads it: its signature line first.
    let block = |vars: &str| format!("# GRUB Environment Block\n{vars}{}", "#".repeat(900));
    std::fs::write(&env, block("saved_entry=gnulinux-advanced-1c5b>gnulinux-6.1.0-10-amd64-advanced-1c5b\n")).unwrap();
    std::fs::copy(t.path().join("boot/grub/grub.cfg"), &cfg).unwrap();
    // Inside the root, at the same paths: what must be taken.
    write_under(t.path(), &osrel, b"6.1.0-9-amd64\n");
    write_under(
        t.path(),
        &env,
        block("saved_entry=gnulinux-advanced-1c5b>gnulinux-6.1.0-13-amd64-advanced-1c5b\n").as_bytes(),
    );
    std::fs::copy(t.path().join("boot/grub/grub.cfg"), under(t.path(), &cfg)).unwrap();
    for (link, target) in
        [("proc/sys/kernel/osrelease", &osrel), ("boot/grub/grubenv", &env), ("boot/grub/grub.cfg", &cfg)]
    {
        std::fs::remove_file(t.path().join(link)).unwrap();
        std::os::unix::fs::symlink(target, t.path().join(link)).unwrap();
    }
    let v = list_json(t.path());
    assert_eq!(running_id(&v), Some("6.1.0-9-amd64"));
    assert_eq!(default_id(t.path()).as_deref(), Some("6.1.0-13-amd64"));
    // Without the copies inside, nothing of the host's is taken.
    std::fs::remove_dir_all(under(t.path(), host.path())).unwrap();
    let v = list_json(t.path());
    assert_eq!(running_id(&v), None);
    assert_eq!(default_id(t.path()), None, "no grub.cfg inside the root: GRUB is not the boot loader");
}

#[test]
fn dev_zero_links_at_grub_files_are_the_roots_own_dev_zero() {
    let t = tree_copy("debian");
    for f in ["grub.cfg", "grubenv"] {
        std::fs::remove_file(t.path().join("boot/grub").join(f)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", t.path().join("boot/grub").join(f)).unwrap();
    }
    let (v, err) = json_within(t.path());
    assert_eq!(v.len(), 4);
    assert!(v.iter().all(|e| e["default"] == false));
    assert!(!err.contains("default"), "no grub.cfg in the root is no GRUB: {err}");
}

#[test]
#[ignore = "needs root"]
fn a_device_at_grub_cfg_or_grubenv_is_refused_unopened() {
    assert!(common::is_root(), "run with --include-ignored as root");
    let t = tree_copy("debian");
    let zero = nix::sys::stat::makedev(1, 5);
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o600);
    std::fs::remove_file(t.path().join("boot/grub/grubenv")).unwrap();
    nix::sys::stat::mknod(&t.path().join("boot/grub/grubenv"), nix::sys::stat::SFlag::S_IFCHR, mode, zero).unwrap();
    let (_, err) = json_within(t.path());
    assert!(err.contains("/boot/grub/grubenv is a character device, not a regular file"), "{err}");
    std::fs::remove_file(t.path().join("boot/grub/grub.cfg")).unwrap();
    nix::sys::stat::mknod(&t.path().join("boot/grub/grub.cfg"), nix::sys::stat::SFlag::S_IFCHR, mode, zero).unwrap();
    let o = list_within(t.path(), &[]);
    assert!(stderr(&o).contains("no default marked: /boot/grub/grub.cfg is a character device"), "{}", stderr(&o));
}

#[test]
fn fifos_at_grub_cfg_grubenv_and_osrelease_neither_hang_nor_go_unsaid() {
    let t = tree_copy("debian");
    fifo(&t.path().join("boot/grub/grubenv"));
    fifo(&t.path().join("proc/sys/kernel/osrelease"));
    let (v, err) = json_within(t.path());
    assert!(err.contains("ignored: /boot/grub/grubenv is a FIFO, not a regular file"), "{err}");
    assert!(err.contains("ignored: /proc/sys/kernel/osrelease is a FIFO, not a regular file"), "{err}");
    assert_eq!(running_id(&v), None);
    // Without its environment block GRUB boots grub.cfg's own default: the first entry.
    assert_eq!(default_id(t.path()).as_deref(), Some("6.12.9+bpo-amd64"));
    fifo(&t.path().join("boot/grub/grub.cfg"));
    let o = list_within(t.path(), &[]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("no default marked: /boot/grub/grub.cfg is a FIFO, not a regular file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn fifos_named_as_kernels_initrds_entries_and_ukis_are_ignored_with_a_reason() {
    let t = tree_copy("fedora");
    fifo(&t.path().join("boot/vmlinuz-6.9.9-100.fc39.x86_64"));
    fifo(&t.path().join("boot/loader/entries/fifo.conf"));
    fifo(&t.path().join("boot/initramfs-6.6.2-201.fc39.x86_64.img"));
    std::fs::create_dir_all(t.path().join("boot/EFI/Linux")).unwrap();
    fifo(&t.path().join("boot/EFI/Linux/fifo.efi"));
    let (v, err) = json_within(t.path());
    assert!(err.contains("ignored: /boot/vmlinuz-6.9.9-100.fc39.x86_64 is a FIFO, not a regular file"), "{err}");
    assert!(v.iter().all(|e| e["kernel"] != "/boot/vmlinuz-6.9.9-100.fc39.x86_64"), "{v:#?}");
    let e = by_id(&v, "fifo");
    assert_eq!(e["source"], "bls");
    assert_eq!(e["usable"], false);
    assert_eq!(e["problems"], serde_json::json!(["/boot/loader/entries/fifo.conf is a FIFO, not a regular file"]));
    let u = v.iter().find(|e| e["source"] == "uki").unwrap();
    assert_eq!(u["usable"], false);
    assert!(u["problems"].to_string().contains("/boot/EFI/Linux/fifo.efi is a FIFO"), "{u}");
    let k = by_id(&v, "8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b-6.6.2-201.fc39.x86_64");
    assert!(k["problems"].to_string().contains("/boot/initramfs-6.6.2-201.fc39.x86_64.img is a FIFO"), "{k}");
}

#[test]
fn directories_and_oversized_files_are_refused_with_their_limit() {
    let t = tree_copy("fedora");
    let grub = t.path().join("boot/grub2");
    std::fs::OpenOptions::new().write(true).open(grub.join("grubenv")).unwrap().set_len(1025).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(t.path().join("proc/sys/kernel/osrelease"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let big = t.path().join("boot/loader/entries/big.conf");
    std::fs::write(&big, "title Big\nlinux /vmlinuz-6.6.2-201.fc39.x86_64\n").unwrap();
    std::fs::OpenOptions::new().write(true).open(&big).unwrap().set_len(1 << 20).unwrap();
    std::fs::create_dir(t.path().join("boot/loader/entries/dir.conf")).unwrap();
    let (v, err) = json_within(t.path());
    assert!(err.contains("ignored: /boot/grub2/grubenv is larger than 1024 bytes, the most read from it"), "{err}");
    assert!(err.contains("ignored: /proc/sys/kernel/osrelease is larger than 4096 bytes"), "{err}");
    assert_eq!(
        by_id(&v, "big")["problems"],
        serde_json::json!(["/boot/loader/entries/big.conf is larger than 65536 bytes, the most read from it"])
    );
    assert_eq!(
        by_id(&v, "dir")["problems"],
        serde_json::json!(["/boot/loader/entries/dir.conf is a directory, not a regular file"])
    );
    // A grub.cfg of 1.5 GB (sparse) is refused at once, not read.
    let cfg = grub.join("grub.cfg");
    std::fs::OpenOptions::new().write(true).open(&cfg).unwrap().set_len(1536 << 20).unwrap();
    let start = std::time::Instant::now();
    let o = list_within(t.path(), &[]);
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(stderr(&o).contains("/boot/grub2/grub.cfg is larger than 4194304 bytes"), "{}", stderr(&o));
    std::fs::remove_file(&cfg).unwrap();
    std::fs::create_dir(&cfg).unwrap();
    let o = list_within(t.path(), &[]);
    assert!(stderr(&o).contains("/boot/grub2/grub.cfg is a directory, not a regular file"), "{}", stderr(&o));
}

// ---- BLS entries that share a kernel: every entry file is an entry.

const F662: &str = "8f3a1c0e2b5d4e6f8a9b0c1d2e3f4a5b-6.6.2-201.fc39.x86_64";

/// Fedora's tree with one more entry file `name` booting the 6.6.2 kernel
/// and initrd with `options`.
fn fedora_with_entry(name: &str, options: &str) -> tempfile::TempDir {
    let t = tree_copy("fedora");
    std::fs::write(
        t.path().join("boot/loader/entries").join(name),
        format!(
            "title Copy\nversion 6.6.2-201.fc39.x86_64\nlinux /vmlinuz-6.6.2-201.fc39.x86_64\n\
             initrd /initramfs-6.6.2-201.fc39.x86_64.img\noptions {options}\n"
        ),
    )
    .unwrap();
    t
}

fn plan_of(root: &Path, selector: &str) -> Value {
    let o = run(&["reboot", "--dry-run", "--json", selector, "--root", root.to_str().unwrap()]);
    assert!(o.status.success(), "{selector}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_rescue_entry_for_the_same_kernel_is_listed_but_never_taken_unnamed() {
    // One file name sorts before the installed entry's, one after: both orders.
    for name in ["0-rescue-copy.conf", "zz-rescue-copy.conf"] {
        let t = fedora_with_entry(name, "root=UUID=4d2b0e52 ro single systemd.unit=rescue.target");
        let id = name.trim_end_matches(".conf");
        let v = list_json(t.path());
        assert_eq!(v.len(), 4, "{name}: {v:#?}");
        assert_eq!(by_id(&v, id)["kernel"], "/boot/vmlinuz-6.6.2-201.fc39.x86_64");
        assert_eq!(by_id(&v, F662)["kernel"], "/boot/vmlinuz-6.6.2-201.fc39.x86_64");
        for selector in ["latest", "6.6.2-201.fc39.x86_64", F662] {
            assert_eq!(plan_of(t.path(), selector)["id"], F662, "{name}: {selector}");
        }
        let p = plan_of(t.path(), id);
        assert!(p["cmdline"].as_str().unwrap().contains("systemd.unit=rescue.target"), "{p}");
    }
}

#[test]
fn copies_with_other_options_or_odd_file_names_are_entries_of_their_own() {
    for name in ["6.6.2 copy.conf", "copy\r\n.conf", "a\r.conf"] {
        let t = fedora_with_entry(name, "root=UUID=4d2b0e52 ro debug");
        let v = list_json(t.path());
        assert_eq!(v.len(), 4, "{name:?}: {v:#?}");
        let id = name.trim_end_matches(".conf");
        assert_eq!(by_id(&v, id)["cmdline"], "root=UUID=4d2b0e52 ro debug");
        assert_eq!(plan_of(t.path(), id)["id"], id);
        assert_eq!(plan_of(t.path(), F662)["id"], F662);
    }
}

#[test]
fn the_shared_release_takes_the_boot_loaders_default_by_sort_key() {
    let t = fedora_with_entry("zz-copy.conf", "root=UUID=4d2b0e52 ro debug");
    // No sort-key anywhere: by file name, newest first ("8f3a..." has a number: newer than "zz").
    assert_eq!(plan_of(t.path(), "latest")["id"], F662);
    // An entry with a sort-key goes before those without.
    let copy = t.path().join("boot/loader/entries/zz-copy.conf");
    let body = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, format!("{body}sort-key fedora\n")).unwrap();
    assert_eq!(plan_of(t.path(), "latest")["id"], "zz-copy");
    assert_eq!(plan_of(t.path(), "6.6.2-201.fc39.x86_64")["id"], "zz-copy");
    let v = list_json(t.path());
    assert_eq!(v[0]["id"], "zz-copy", "listed in the order the boot loader shows them");
}

#[test]
fn only_rescue_entries_for_a_release_must_be_named_by_id() {
    let t = fedora_with_entry("rescue.conf", "root=UUID=4d2b0e52 ro emergency");
    std::fs::remove_file(t.path().join("boot/loader/entries").join(format!("{F662}.conf"))).unwrap();
    let o = run(&["reboot", "--dry-run", "6.6.2-201.fc39.x86_64", "--root", t.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("only entries for single-user, rescue or emergency mode") && e.contains("rescue"), "{e}");
    assert_eq!(plan_of(t.path(), "latest")["version"], "6.5.6-300.fc39.x86_64", "latest skips it");
    assert_eq!(plan_of(t.path(), "rescue")["id"], "rescue");
}

// ---- Control characters in names reach the table escaped, JSON exact.

#[test]
fn control_characters_in_names_and_headers_are_escaped_in_the_table() {
    let t = tree_copy("debian");
    let evil = "vmlinuz-6.1.0-13-amd64\n\x1b[2J\x1b]0;owned\x07";
    std::fs::rename(t.path().join("boot/vmlinuz-6.1.0-9-amd64"), t.path().join("boot").join(evil)).unwrap();
    let o = run(&["list", "--root", t.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("vmlinuz-6.1.0-13-amd64\\012\\033[2J\\033]0;owned\\007"), "{out}");
    // One line per entry, one per problem, the header and the legend.
    let problems = out.lines().filter(|l| l.trim_start().starts_with("problem:")).count();
    assert_eq!(out.lines().count(), 4 + problems + 2, "{out}");
    let v = list_json(t.path());
    assert!(v.iter().any(|e| e["kernel"] == format!("/boot/{evil}")), "JSON keeps the exact name: {v:#?}");
}

/// Rewrite the release inside the bzImage header of `kernel` (the string at
/// the `kernel_version` pointer + 0x200, boot.rst) to `release`, same length.
pub fn set_header_release(kernel: &Path, old: &str, release: &[u8]) {
    assert_eq!(old.len(), release.len());
    let mut data = std::fs::read(kernel).unwrap();
    let ptr = usize::from(u16::from_le_bytes([data[0x20E], data[0x20F]])) + 0x200;
    assert_eq!(&data[ptr..ptr + old.len()], old.as_bytes());
    data[ptr..ptr + old.len()].copy_from_slice(release);
    std::fs::write(kernel, data).unwrap();
}

#[test]
fn a_release_with_control_characters_in_a_header_is_escaped_in_the_table() {
    let t = tree_copy("debian");
    set_header_release(&t.path().join("boot/vmlinuz-6.1.0-10-amd64"), "6.1.0-10-amd64", b"6.1.0-10\x1b[31m\x07");
    let o = run(&["list", "--root", t.path().to_str().unwrap()]);
    let out = stdout(&o);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("6.1.0-10\\033[31m\\007"), "{out}");
    let v = list_json(t.path());
    assert!(v.iter().any(|e| e["version"] == "6.1.0-10\x1b[31m\x07"), "{v:#?}");
}
