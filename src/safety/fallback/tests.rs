//! The one-time entry on made-up machines: GRUB menus as grub-mkconfig
//! writes them on Debian, systemd-boot's EFI variables as efivarfs shows
//! them, and the mount tables that decide whether GRUB could clear it.

use super::*;
use crate::kexec::preflight::tests::entry;
use crate::sys::fake::{Call, Fake};
use crate::testing::TempRoot;

const A: &str = "6.1.0-47-amd64";
const B: &str = "6.1.0-57-amd64";

/// A grub.cfg as Debian 12's grub-mkconfig writes it (00_header, 10_linux)
/// for kernels B (newest, the top entry) and A, each with its recovery entry.
fn debian_cfg(root_arg: &str) -> String {
    let entry = |release: &str, kind: &str, extra: &str| {
        format!(
            "\tmenuentry 'Debian GNU/Linux, with Linux {release}{extra}' --class debian --class gnu-linux \
             --class gnu --class os $menuentry_id_option 'gnulinux-{release}-{kind}-u1' {{\n\
             \t\tload_video\n\t\tinsmod ext2\n\
             \t\tlinux\t/boot/vmlinuz-{release} root={root_arg} ro {}\n\
             \t\tinitrd\t/boot/initrd.img-{release}\n\t}}\n",
            if kind == "recovery" { "single dis_ucode_ldr" } else { "quiet" }
        )
    };
    format!(
        "### BEGIN /etc/grub.d/00_header ###\n\
         if [ -s $prefix/grubenv ]; then\n  set have_grubenv=true\n  load_env\nfi\n\
         if [ \"${{next_entry}}\" ] ; then\n   set default=\"${{next_entry}}\"\n   set next_entry=\n\
         \x20  save_env next_entry\n   set boot_once=true\nelse\n   set default=\"0\"\nfi\n\
         function savedefault {{\n  if [ -z \"${{boot_once}}\" ]; then\n    saved_entry=\"${{chosen}}\"\n\
         \x20   save_env saved_entry\n  fi\n}}\n\
         menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-u1' {{\n\
         \tlinux\t/boot/vmlinuz-{B} root={root_arg} ro quiet\n\tinitrd\t/boot/initrd.img-{B}\n}}\n\
         submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-u1' {{\n\
         {}{}{}{}}}\n",
        entry(B, "advanced", ""),
        entry(B, "recovery", " (recovery mode)"),
        entry(A, "advanced", ""),
        entry(A, "recovery", " (recovery mode)"),
    )
}

/// An empty grubenv as `grub-editenv create` writes it.
fn grubenv(vars: &str) -> Vec<u8> {
    let mut b = crate::boot::grubenv::SIGNATURE.to_vec();
    b.extend_from_slice(vars.as_bytes());
    b.resize(1024, b'#');
    b
}

/// A Debian machine booted by GRUB, running A, /boot on the ext4 root.
fn grub_machine() -> TempRoot {
    let m = TempRoot::new();
    m.write("/boot/grub/grub.cfg", debian_cfg("UUID=u1"));
    m.write("/boot/grub/grubenv", grubenv(""));
    m.write("/proc/self/mountinfo", "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
    m
}

/// Discovery's entries of such a machine: A running, B the default.
fn entries() -> Vec<BootEntry> {
    let mut a = entry(A);
    a.running = true;
    let mut b = entry(B);
    b.default = true;
    vec![b, a]
}

fn running(cmdline: &str) -> Running<'_> {
    Running { release: Some(A), cmdline: Some(cmdline) }
}

fn grub_one_time(path: &str) -> Choice {
    Choice::OneTime(OneTime { loader: Loader::Grub, entry: path.into(), release: A.into() })
}

#[test]
fn grub_gets_the_running_kernels_advanced_entry_never_a_recovery_one() {
    let m = grub_machine();
    let c = choose(&m.root(), running("BOOT_IMAGE=/boot/vmlinuz root=UUID=u1 ro quiet"), &entries());
    assert_eq!(c, grub_one_time("gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1"));
    assert_eq!(c.describe(), "6.1.0-47-amd64 (GRUB next_entry)");
    // B running: its own entry in the submenu, not the top entry.
    let mut e = entries();
    e[0].running = true;
    e[1].running = false;
    let c = choose(&m.root(), Running { release: Some(B), cmdline: Some("root=UUID=u1") }, &e);
    assert_eq!(c.one_time().unwrap().entry, "gnulinux-advanced-u1>gnulinux-6.1.0-57-amd64-advanced-u1");
}

/// grub.cfg files written by the real tools (tests/fixtures/README.md says
/// how): Debian 12's update-grub in a QEMU guest, Debian 13's grub-mkconfig
/// 2.12. Each running kernel gets its own "Advanced options" entry by the
/// id path grub-reboot takes, never the top entry or a recovery one.
#[test]
fn real_grub_mkconfig_menus_give_the_running_kernels_id_path() {
    let cases = [
        (
            include_str!("../../../tests/fixtures/grub/bookworm-update-grub.cfg"),
            "eedca8b9-8f2c-4d69-9a68-e3e969e5e80d",
            ["6.1.0-57-amd64", "6.1.0-50-amd64"],
        ),
        (
            include_str!("../../../tests/fixtures/grub/trixie-grub-mkconfig.cfg"),
            "3f6c1a2e-9d0b-4c55-8e21-7a4b0c9d1e2f",
            ["6.12.117+deb13-cloud-amd64", "6.12.117+deb13-amd64"],
        ),
    ];
    for (cfg, uuid, [newest, older]) in cases {
        let m = TempRoot::new();
        m.write("/boot/grub/grub.cfg", cfg);
        m.write("/boot/grub/grubenv", grubenv(""));
        m.write("/proc/self/mountinfo", "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n");
        for running_release in [newest, older] {
            let mut e = vec![entry(newest), entry(older)];
            e[0].default = true;
            e.iter_mut().for_each(|e| e.running = e.version == running_release);
            let cmdline = format!("BOOT_IMAGE=/boot/vmlinuz-{running_release} root=UUID={uuid} ro quiet");
            let c = choose(&m.root(), Running { release: Some(running_release), cmdline: Some(&cmdline) }, &e);
            let want = format!("gnulinux-advanced-{uuid}>gnulinux-{running_release}-advanced-{uuid}");
            assert_eq!(c.one_time().map(|o| o.entry.as_str()), Some(want.as_str()), "{running_release}: {c:?}");
            // Another root's kernel of the same release is not this machine's entry.
            let other =
                choose(&m.root(), Running { release: Some(running_release), cmdline: Some("root=/dev/sdz9") }, &e);
            assert!(other.one_time().is_none(), "{running_release} on another root: {other:?}");
        }
    }
}

#[test]
fn every_reason_for_the_default_is_said_with_the_defaults_release() {
    let expect = |m: &TempRoot, cmdline: &str, why: &str| {
        let c = choose(&m.root(), running(cmdline), &entries());
        let Choice::Default { why: got, release } = &c else { panic!("{c:?}") };
        assert!(got.contains(why), "{got:?} wanted {why:?}");
        assert_eq!(release.as_deref(), Some(B));
        assert!(c.describe().starts_with("the boot loader's default, 6.1.0-57-amd64 ("), "{}", c.describe());
    };
    // Another system's entries (os-prober) for the same release: other root.
    expect(&grub_machine(), "root=UUID=other ro", "has no GRUB entry");
    let m = grub_machine();
    m.write("/boot/grub/grub.cfg", debian_cfg("UUID=u1").replace(A, "6.1.0-46-amd64"));
    expect(&m, "root=UUID=u1", "the running kernel 6.1.0-47-amd64 has no GRUB entry");
    let m = grub_machine();
    std::fs::remove_file(m.at("/boot/grub/grubenv")).unwrap();
    expect(&m, "root=UUID=u1", "there is no /boot/grub/grubenv");
    let m = grub_machine();
    std::fs::remove_file(m.at("/boot/grub/grubenv")).unwrap();
    m.write("/boot/efi/grubenv", grubenv(""));
    m.link("/boot/grub/grubenv", "/boot/efi/grubenv");
    expect(&m, "root=UUID=u1", "/boot/grub/grubenv is a link");
    let m = grub_machine();
    m.write("/boot/grub/grubenv", b"saved_entry=0\n");
    expect(&m, "root=UUID=u1", "signature");
    let m = grub_machine();
    m.write("/boot/grub/grub.cfg", debian_cfg("UUID=u1").replace("save_env next_entry", ""));
    expect(&m, "root=UUID=u1", "does not boot next_entry once");
    for (table, why) in [
        ("22 1 0:31 / / rw - btrfs /dev/vda1 rw\n", "on btrfs"),
        ("22 1 0:31 / / rw - zfs rpool/ROOT rw\n", "on zfs"),
        ("22 1 254:1 / / rw - ext4 /dev/mapper/vg-root rw\n", "LVM or device-mapper"),
        ("22 1 9:0 / / rw - ext4 /dev/md0 rw\n", "md RAID"),
        // A separate /boot decides, not the root.
        ("22 1 254:1 / / rw - ext4 /dev/vda1 rw\n30 22 0:40 / /boot rw - btrfs /dev/vda2 rw\n", "on btrfs"),
    ] {
        let m = grub_machine();
        m.write("/proc/self/mountinfo", table);
        expect(&m, "root=UUID=u1", why);
    }
    let m = grub_machine();
    m.write(
        "/proc/self/mountinfo",
        "22 1 254:1 / / rw - btrfs /dev/vda1 rw\n30 22 8:1 / /boot rw - ext4 /dev/vda2 rw\n",
    );
    assert!(choose(&m.root(), running("root=UUID=u1"), &entries()).one_time().is_some(), "ext4 /boot on a btrfs root");
    let nothing = TempRoot::new();
    let c = choose(&nothing.root(), running("root=/dev/vda"), &[]);
    assert_eq!(c, Choice::Default { why: "no GRUB or systemd-boot was found".into(), release: None });
    assert_eq!(c.describe(), "the boot loader's default (no GRUB or systemd-boot was found)");
}

const ONE_SHOT: &str = "/sys/firmware/efi/efivars/LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

fn efivar(m: &TempRoot, var: &str, value: &str) {
    m.write(format!("/sys/firmware/efi/efivars/{var}-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"), efivar_bytes(value));
}

/// A machine booted by systemd-boot from BLS entries (kernel-install's
/// names), A's booted first by the firmware.
fn systemd_boot_machine() -> (TempRoot, Vec<BootEntry>) {
    let m = TempRoot::new();
    efivar(&m, "LoaderInfo", "systemd-boot 252.39-1~deb12u2");
    efivar(&m, "LoaderEntrySelected", "4f1c-6.1.0-47-amd64.conf");
    let bls = |release: &str, file: &str, options: &str| {
        let mut e = entry(release);
        e.source = Source::Bls;
        e.loader_id = Some(file.to_lowercase());
        e.cmdline = Some(options.into());
        e
    };
    let entries = vec![
        bls(B, "4F1C-6.1.0-57-amd64.conf", "root=/dev/vda ro"),
        bls(A, "4f1c-6.1.0-47-amd64-rescue.conf", "root=/dev/vda ro systemd.unit=rescue.target"),
        bls(A, "4f1c-6.1.0-47-amd64.conf", "root=/dev/vda ro"),
    ];
    (m, entries)
}

#[test]
fn systemd_boot_gets_the_running_kernels_entry_by_its_loader_id() {
    let (m, entries) = systemd_boot_machine();
    let c = choose(&m.root(), running("initrd=\\initrd root=/dev/vda ro"), &entries);
    let expected = OneTime { loader: Loader::SystemdBoot, entry: "4f1c-6.1.0-47-amd64.conf".into(), release: A.into() };
    assert_eq!(c, Choice::OneTime(expected));
    assert_eq!(c.describe(), "6.1.0-47-amd64 (systemd-boot LoaderEntryOneShot)");
    // Booted without an entry of its own (kexec'd in from a path, say).
    let c = choose(&m.root(), running("root=/dev/vda"), &entries[..2]);
    assert!(matches!(&c, Choice::Default { why, .. } if why.contains("has no systemd-boot entry")), "{c:?}");
}

#[test]
fn efi_string_variables_are_encoded_as_bootctl_writes_them() {
    assert_eq!(efivar_bytes("ab"), [7, 0, 0, 0, b'a', 0, b'b', 0, 0, 0]);
    let m = TempRoot::new();
    efivar(&m, "LoaderEntryOneShot", "x.conf");
    assert_eq!(efivar_string(&m.root(), "LoaderEntryOneShot").as_deref(), Some("x.conf"));
    m.write(ONE_SHOT, [7u8, 0, 0]);
    assert_eq!(efivar_string(&m.root(), "LoaderEntryOneShot"), None, "too short: none");
}

#[test]
fn a_grub_one_time_entry_is_set_undone_and_cleared_byte_exact() {
    let m = grub_machine();
    let before = grubenv("saved_entry=gnulinux-simple-u1\n");
    m.write("/boot/grub/grubenv", &before);
    let o = OneTime { loader: Loader::Grub, entry: "gnulinux-advanced-u1>x".into(), release: A.into() };
    let mut fake = Fake::default();
    let placed = set(&m.root(), &mut fake, &o).unwrap();
    assert_eq!(placed.before, None);
    let env = std::fs::read(m.at("/boot/grub/grubenv")).unwrap();
    assert_eq!(env, grubenv("saved_entry=gnulinux-simple-u1\nnext_entry=gnulinux-advanced-u1>x\n"));
    undo(&m.root(), &mut fake, &placed).unwrap();
    assert_eq!(std::fs::read(m.at("/boot/grub/grubenv")).unwrap(), before);
    // An administrator's own grub-reboot is put back, not erased.
    m.write("/boot/grub/grubenv", grubenv("next_entry=theirs\n"));
    let placed = set(&m.root(), &mut fake, &o).unwrap();
    assert_eq!(placed.before.as_deref(), Some("theirs"));
    undo(&m.root(), &mut fake, &placed).unwrap();
    assert_eq!(std::fs::read(m.at("/boot/grub/grubenv")).unwrap(), grubenv("next_entry=theirs\n"));
    // Cleared only while it is ours.
    assert_eq!(clear(&m.root(), &mut fake, &o).unwrap(), Cleared::Other("theirs".into()));
    set(&m.root(), &mut fake, &o).unwrap();
    assert_eq!(clear(&m.root(), &mut fake, &o).unwrap(), Cleared::Removed);
    assert_eq!(std::fs::read(m.at("/boot/grub/grubenv")).unwrap(), grubenv(""));
    assert_eq!(clear(&m.root(), &mut fake, &o).unwrap(), Cleared::Gone);
    ensure(&m.root(), &mut fake, &o).unwrap();
    assert_eq!(current(&m.root(), Loader::Grub).unwrap().as_deref(), Some("gnulinux-advanced-u1>x"));
    assert!(fake.calls.is_empty(), "GRUB's entry is a file: {:?}", fake.calls);
}

#[test]
fn a_grubenv_that_became_a_link_is_never_written_through() {
    let m = grub_machine();
    m.write("/boot/elsewhere", grubenv(""));
    std::fs::remove_file(m.at("/boot/grub/grubenv")).unwrap();
    m.link("/boot/grub/grubenv", "/boot/elsewhere");
    let o = OneTime { loader: Loader::Grub, entry: "e".into(), release: A.into() };
    let e = set(&m.root(), &mut Fake::default(), &o).unwrap_err();
    assert!(matches!(e, FallbackError::Link { .. }), "{e}");
    assert_eq!(std::fs::read(m.at("/boot/elsewhere")).unwrap(), grubenv(""));
    assert!(std::fs::symlink_metadata(m.at("/boot/grub/grubenv")).unwrap().file_type().is_symlink());
}

#[test]
fn the_systemd_boot_one_shot_goes_through_the_system() {
    let (m, _) = systemd_boot_machine();
    let o = OneTime { loader: Loader::SystemdBoot, entry: "4f1c-6.1.0-47-amd64.conf".into(), release: A.into() };
    let mut fake = Fake::default();
    let placed = set(&m.root(), &mut fake, &o).unwrap();
    let name = "LoaderEntryOneShot-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f".to_string();
    assert_eq!(fake.calls, [Call::EfiVarSet(name.clone(), efivar_bytes("4f1c-6.1.0-47-amd64.conf"))]);
    undo(&m.root(), &mut fake, &placed).unwrap();
    assert_eq!(fake.calls[1], Call::EfiVarRemove(name.clone()));
    // In the confirmed warm boot the variable is still there: removed.
    efivar(&m, "LoaderEntryOneShot", "4f1c-6.1.0-47-amd64.conf");
    assert_eq!(clear(&m.root(), &mut fake, &o).unwrap(), Cleared::Removed);
    assert_eq!(fake.calls[2], Call::EfiVarRemove(name));
    let failing = &mut Fake { efi_var_error: Some(nix::errno::Errno::EROFS), ..Fake::default() };
    assert!(matches!(set(&m.root(), failing, &o), Err(FallbackError::EfiVar { .. })));
}
