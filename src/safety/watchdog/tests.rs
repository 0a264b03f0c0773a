//! Tests of discovery and choice on made-up sysfs and /proc trees, shaped
//! like what Debian's 6.1 and 6.12 kernels show in QEMU guests
//! (docs/watchdog.md has the real listings).

use std::os::unix::fs::symlink;
use std::path::Path;

use super::discover::valid_module_name;
use super::*;
use crate::testing::TempRoot;

/// A machine's sysfs and /proc as the watchdog code reads them.
struct Tree(TempRoot);

impl std::ops::Deref for Tree {
    type Target = TempRoot;
    fn deref(&self) -> &TempRoot {
        &self.0
    }
}

impl Tree {
    fn new() -> Tree {
        Tree(TempRoot::new())
    }

    /// The watchdog core as a loaded module with `stop_on_reboot` and the given users.
    fn core(&self, stop_on_reboot: &str, users: &[&str]) {
        self.write("sys/module/watchdog/initstate", "live\n");
        self.write("sys/module/watchdog/parameters/stop_on_reboot", format!("{stop_on_reboot}\n"));
        self.write("sys/module/watchdog/parameters/handle_boot_enabled", "Y\n");
        std::fs::create_dir_all(self.at("sys/module/watchdog/holders")).unwrap();
        for u in users {
            self.link(format!("sys/module/watchdog/holders/{u}"), Path::new("/sys/module").join(u));
            self.write(format!("sys/module/{u}/initstate"), "live\n");
        }
    }

    /// A device as the core's sysfs shows it; `driver` is (driver, module)
    /// behind a parent device, or none (i6300esb registers no parent).
    fn device(&self, n: u32, identity: &str, state: &str, timeout: u32, max: u32, driver: Option<(&str, &str)>) {
        let d = format!("sys/class/watchdog/watchdog{n}");
        self.write(format!("{d}/identity"), format!("{identity}\n"));
        self.write(format!("{d}/state"), format!("{state}\n"));
        self.write(format!("{d}/timeout"), format!("{timeout}\n"));
        self.write(format!("{d}/min_timeout"), "1\n");
        self.write(format!("{d}/max_timeout"), format!("{max}\n"));
        self.write(format!("{d}/nowayout"), "0\n");
        self.write(format!("{d}/bootstatus"), "0\n");
        if let Some((drv, module)) = driver {
            let dev = self.at(format!("sys/devices/platform/{drv}.{n}"));
            let drvdir = self.at(format!("sys/bus/platform/drivers/{drv}"));
            std::fs::create_dir_all(&dev).unwrap();
            std::fs::create_dir_all(&drvdir).unwrap();
            // Links as sysfs makes them, resolved inside the root.
            std::fs::create_dir_all(self.at("sys/module").join(module)).unwrap();
            if std::fs::symlink_metadata(drvdir.join("module")).is_err() {
                symlink(Path::new("/sys/module").join(module), drvdir.join("module")).unwrap();
            }
            symlink(format!("/sys/bus/platform/drivers/{drv}"), dev.join("driver")).unwrap();
            self.link(format!("{d}/device"), Path::new(&format!("/sys/devices/platform/{drv}.{n}")));
        }
    }

    fn process(&self, pid: i32, comm: &str, fds: &[&str]) {
        self.write(format!("proc/{pid}/comm"), format!("{comm}\n"));
        std::fs::create_dir_all(self.at(format!("proc/{pid}/fd"))).unwrap();
        for (i, target) in fds.iter().enumerate() {
            self.link(format!("proc/{pid}/fd/{i}"), Path::new(target));
        }
    }
}

/// The device an i6300esb gives, as chosen: armed by kexec-chooser for
/// `timeout` seconds, kept by a core with `stop_on_reboot=0`.
pub(crate) fn esb_choice(timeout: u32) -> Choice {
    Choice {
        name: "watchdog0".into(),
        device: "/dev/watchdog0".into(),
        identity: "i6300ESB timer".into(),
        module: "i6300esb".into(),
        timeout,
        reset_after: timeout,
        survival: Survival::Kept,
        armed_by: ArmedBy::KexecChooser,
        known: true,
        heartbeat_param: Some("heartbeat"),
    }
}

fn esb_guest() -> Tree {
    let t = Tree::new();
    t.core("-1", &["i6300esb"]);
    t.device(0, "i6300ESB timer", "inactive", 30, 2046, None);
    t
}

/// A new kernel whose modules are not known: nothing is refused for it.
fn any() -> TargetModules {
    TargetModules::default()
}

fn inventory(t: &Tree) -> Inventory {
    let mut inv = discover(&t.root()).unwrap();
    find_holders(&t.root(), &mut inv);
    inv
}

#[test]
fn no_class_directory_is_no_watchdog() {
    let t = Tree::new();
    let inv = discover(&t.root()).unwrap();
    assert!(inv.devices.is_empty());
    assert!(!inv.core.present);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.choice, None);
    let refused = choose(&inv, &any(), Request::Seconds(120), Mode::Direct).unwrap_err();
    assert_eq!(refused.wanted, 120);
    assert!(refused.to_string().contains("no usable hardware watchdog"), "{refused}");
}

#[test]
fn i6300esb_without_parent_is_found_by_identity() {
    let t = esb_guest();
    let inv = inventory(&t);
    let d = &inv.devices[0];
    assert_eq!(d.name, "watchdog0");
    assert_eq!(d.device, Path::new("/dev/watchdog0"));
    assert_eq!(d.identity, "i6300ESB timer");
    assert_eq!(d.active, Some(false));
    assert_eq!((d.timeout, d.max_timeout), (Some(30), Some(2046)));
    assert_eq!(d.driver, None);
    let m = d.module.as_ref().unwrap();
    assert_eq!((m.name.as_str(), m.loadable, m.source), ("i6300esb", true, ModuleSource::Identity));
    assert_eq!(inv.core.stop_on_reboot, Some(-1));
    assert_eq!(inv.core.handle_boot_enabled, Some(true));
    assert_eq!(inv.core.users, ["i6300esb"]);
}

#[test]
fn module_comes_from_the_driver_link() {
    let t = Tree::new();
    t.core("0", &["iTCO_wdt"]);
    // iTCO_wdt publishes no max_timeout: the known maximum stands in.
    t.device(0, "iTCO_wdt", "inactive", 30, 0, Some(("iTCO_wdt", "iTCO_wdt")));
    let inv = inventory(&t);
    let d = &inv.devices[0];
    assert_eq!(d.driver.as_deref(), Some("iTCO_wdt"));
    assert_eq!(d.module.as_ref().unwrap().source, ModuleSource::DriverLink);
    assert_eq!(d.max_timeout, None);
    assert_eq!(d.max(), Some(614));
    let c = choose(&inv, &any(), Request::Default, Mode::Systemd).unwrap().choice.unwrap();
    assert_eq!((c.timeout, c.reset_after), (600, 1200));
    assert_eq!(c.survival, Survival::Kept);
    assert_eq!(
        new_kernel_words(&c),
        ["watchdog.handle_boot_enabled=0", "modprobe.blacklist=iTCO_wdt", "iTCO_wdt.heartbeat=600"]
    );
}

#[test]
fn unknown_parentless_driver_falls_back_to_the_sole_core_user() {
    let t = Tree::new();
    t.core("0", &["wdat_wdt"]);
    t.device(0, "WDAT Watchdog", "inactive", 30, 600, None);
    let inv = inventory(&t);
    let m = inv.devices[0].module.as_ref().unwrap();
    assert_eq!((m.name.as_str(), m.source), ("wdat_wdt", ModuleSource::CoreUser));
    let c = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap().choice.unwrap();
    assert!(!c.known);
    assert_eq!(c.heartbeat_param, None);
}

#[test]
fn unknown_driver_among_several_core_users_is_unusable() {
    let t = Tree::new();
    t.core("0", &["softdog", "wdat_wdt"]);
    t.device(0, "WDAT Watchdog", "inactive", 30, 600, None);
    let inv = inventory(&t);
    assert_eq!(inv.devices[0].module, None);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.choice, None);
    assert_eq!(sel.skipped, [("watchdog0".to_string(), Unusable::NoModule)]);
}

#[test]
fn devices_are_ordered_by_number_not_by_name() {
    let t = Tree::new();
    t.core("0", &["i6300esb", "softdog"]);
    for n in [10, 2, 1] {
        t.device(n, "Software Watchdog", "inactive", 60, 65535, None);
    }
    t.write("sys/class/watchdog/not-a-watchdog/identity", "x\n");
    let inv = inventory(&t);
    let names: Vec<_> = inv.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["watchdog1", "watchdog2", "watchdog10"]);
}

#[test]
fn softdog_is_passed_over_for_the_hardware_one() {
    let t = Tree::new();
    t.core("0", &["i6300esb", "softdog"]);
    t.device(0, "Software Watchdog", "inactive", 60, 65535, None);
    t.device(1, "i6300ESB timer", "inactive", 30, 2046, None);
    let inv = inventory(&t);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.choice.unwrap().name, "watchdog1");
    assert_eq!(sel.skipped, [("watchdog0".to_string(), Unusable::Software)]);
}

#[test]
fn default_is_ten_minutes_capped_by_the_device() {
    assert_eq!(default_timeout(1, None), Some(600));
    assert_eq!(default_timeout(1, Some(2046)), Some(600));
    assert_eq!(default_timeout(1, Some(600)), Some(600));
    assert_eq!(default_timeout(1, Some(300)), Some(300));
    assert_eq!(default_timeout(1, Some(120)), Some(120));
    assert_eq!(default_timeout(1, Some(76)), None);
    // The device's own minimum counts: a longer wait, never a refused arming.
    assert_eq!(default_timeout(900, Some(2046)), Some(900));
    assert_eq!(default_timeout(900, None), Some(900));
    assert_eq!(default_timeout(700, Some(650)), None);
}

#[test]
fn short_maximum_is_no_default_but_an_explicit_timeout_fits() {
    let t = Tree::new();
    t.core("0", &["iTCO_wdt"]);
    t.device(0, "TCO v1", "inactive", 30, 76, Some(("iTCO_wdt", "iTCO_wdt")));
    let inv = inventory(&t);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.choice, None);
    assert_eq!(sel.skipped[0].1, Unusable::TooShort { max: 76 });
    let c = choose(&inv, &any(), Request::Seconds(70), Mode::Direct).unwrap().choice.unwrap();
    assert_eq!(c.timeout, 70);
}

#[test]
fn explicit_timeout_outside_the_range_is_refused_with_the_reason() {
    let inv = inventory(&esb_guest());
    let refused = choose(&inv, &any(), Request::Seconds(3000), Mode::Direct).unwrap_err();
    assert_eq!(refused.skipped[0].1, Unusable::OutOfRange { wanted: 3000, min: 1, max: 2046 });
    assert!(refused.to_string().contains("3000 s is outside its range 1..2046 s"), "{refused}");
    assert!(choose(&inv, &any(), Request::Seconds(0), Mode::Direct).is_err());
    assert_eq!(choose(&inv, &any(), Request::Seconds(2046), Mode::Direct).unwrap().choice.unwrap().timeout, 2046);
}

#[test]
fn off_chooses_nothing_even_with_a_device() {
    let inv = inventory(&esb_guest());
    assert_eq!(choose(&inv, &any(), Request::Off, Mode::Direct).unwrap(), Selection { choice: None, skipped: vec![] });
}

#[test]
fn default_core_parameter_needs_a_reload_when_nothing_holds_it() {
    let inv = inventory(&esb_guest());
    let c = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap().choice.unwrap();
    assert_eq!(c.survival, Survival::ReloadCore { users: vec!["i6300esb".into()] });
    assert_eq!(c.armed_by, ArmedBy::KexecChooser);
    assert_eq!((c.timeout, c.reset_after), (600, 600));
    assert_eq!(new_kernel_words(&c), ["watchdog.handle_boot_enabled=0", "modprobe.blacklist=i6300esb"]);
}

#[test]
fn built_in_core_with_stop_on_reboot_cannot_keep_it() {
    let t = esb_guest();
    std::fs::remove_file(t.at("sys/module/watchdog/initstate")).unwrap();
    let inv = inventory(&t);
    assert!(inv.core.present && !inv.core.loadable);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::StoppedByKexec(-1));
}

#[test]
fn built_in_driver_cannot_be_kept_from_loading() {
    let t = Tree::new();
    t.core("0", &[]);
    std::fs::create_dir_all(t.at("sys/module/iTCO_wdt/parameters")).unwrap();
    t.device(0, "iTCO_wdt", "inactive", 30, 0, Some(("iTCO_wdt", "iTCO_wdt")));
    let inv = inventory(&t);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::BuiltIn("iTCO_wdt".into()));
}

#[test]
fn nowayout_is_unusable() {
    let t = esb_guest();
    t.write("sys/class/watchdog/watchdog0/nowayout", "1\n");
    let sel = choose(&inventory(&t), &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::NoWayOut);
}

#[test]
fn holders_are_found_through_proc_including_the_legacy_node() {
    let t = esb_guest();
    t.process(1, "systemd", &["/dev/null", "/dev/watchdog0"]);
    t.process(812, "watchdog", &["/dev/watchdog"]);
    t.process(900, "bash", &["/dev/pts/0", "/dev/watchdog1"]);
    t.write("proc/self/comm", "x\n");
    let inv = inventory(&t);
    assert!(inv.holders_complete);
    assert_eq!(
        inv.devices[0].holders,
        [Holder { pid: 1, comm: "systemd".into() }, Holder { pid: 812, comm: "watchdog".into() }]
    );
}

#[test]
fn device_held_by_systemd_is_armed_through_systemd_in_systemd_mode_only() {
    let t = Tree::new();
    t.core("0", &["i6300esb"]);
    t.device(0, "i6300ESB timer", "active", 30, 2046, None);
    t.process(1, "systemd", &["/dev/watchdog0"]);
    let inv = inventory(&t);
    let c = choose(&inv, &any(), Request::Default, Mode::Systemd).unwrap().choice.unwrap();
    assert_eq!(c.armed_by, ArmedBy::Systemd);
    let sel = choose(&inv, &any(), Request::Default, Mode::Direct).unwrap();
    assert!(matches!(&sel.skipped[0].1, Unusable::Held(h) if h[0].pid == 1));
}

#[test]
fn held_device_cannot_wait_for_a_core_reload() {
    let t = esb_guest();
    t.process(1, "systemd", &["/dev/watchdog0"]);
    let sel = choose(&inventory(&t), &any(), Request::Default, Mode::Systemd).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::CoreBusy(-1));
}

#[test]
fn running_device_cannot_wait_for_a_core_reload() {
    let t = esb_guest();
    t.write("sys/class/watchdog/watchdog0/state", "active\n");
    let sel = choose(&inventory(&t), &any(), Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::CoreBusy(-1));
    assert!(sel.skipped[0].1.to_string().contains("stop_on_reboot=-1"));
}

#[test]
fn device_held_by_a_daemon_is_unusable_and_named() {
    let t = Tree::new();
    t.core("0", &["i6300esb"]);
    t.device(0, "i6300ESB timer", "active", 30, 2046, None);
    t.process(4242, "watch\x1bdog", &["/dev/watchdog0"]);
    let refused = choose(&inventory(&t), &any(), Request::Seconds(300), Mode::Systemd).unwrap_err();
    let text = refused.to_string();
    assert!(text.contains("held open by watch"), "{text}");
    assert!(text.contains("(pid 4242)"), "{text}");
    assert!(!text.contains('\x1b'), "control character shown raw: {text:?}");
}

#[test]
fn unreadable_proc_leaves_holders_unknown() {
    let t = esb_guest();
    let mut inv = discover(&t.root()).unwrap();
    find_holders(&t.root(), &mut inv);
    // No /proc in the tree at all.
    assert!(!inv.holders_complete);
}

#[test]
fn armed_device_is_found_again_by_module_then_identity() {
    let t = Tree::new();
    t.core("0", &["iTCO_wdt", "softdog"]);
    t.device(0, "Software Watchdog", "inactive", 60, 65535, None);
    t.device(1, "iTCO_wdt", "inactive", 30, 0, Some(("iTCO_wdt", "iTCO_wdt")));
    let inv = inventory(&t);
    assert_eq!(find_armed(&inv, "iTCO_wdt", "x").unwrap().name, "watchdog1");
    assert_eq!(find_armed(&inv, "nope", "Software Watchdog").unwrap().name, "watchdog0");
    assert!(find_armed(&inv, "nope", "nope").is_none());
}

#[test]
fn modprobe_conf_sets_only_stop_on_reboot() {
    let options: Vec<&str> =
        MODPROBE_CONF.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(options, ["options watchdog stop_on_reboot=0"]);
}

#[test]
fn oversized_or_odd_attributes_do_not_panic() {
    let t = esb_guest();
    t.write("sys/class/watchdog/watchdog0/timeout", "9".repeat(10_000));
    t.write("sys/class/watchdog/watchdog0/state", "weird\n");
    t.write("sys/class/watchdog/watchdog0/max_timeout", "-5\n");
    t.write("sys/module/watchdog/parameters/handle_boot_enabled", "maybe\n");
    let inv = inventory(&t);
    let d = &inv.devices[0];
    assert_eq!((d.timeout, d.active, d.max_timeout), (None, None, None));
    assert_eq!(inv.core.handle_boot_enabled, None);
    // The known maximum stands in for the unreadable one.
    assert_eq!(d.max(), Some(2046));
}

fn target_tree(release: &str, dep: &str, builtin: Option<&str>) -> Tree {
    let t = esb_guest();
    t.write("sys/module/watchdog/parameters/stop_on_reboot", "0\n");
    t.write(format!("lib/modules/{release}/modules.dep"), dep);
    if let Some(b) = builtin {
        t.write(format!("lib/modules/{release}/modules.builtin"), b);
    }
    t
}

const DEP: &str = "kernel/drivers/watchdog/watchdog.ko.xz:\n\
kernel/drivers/watchdog/i6300esb.ko.xz: kernel/drivers/watchdog/watchdog.ko.xz\n\
kernel/drivers/mfd/lpc-ich.ko.zst:\n";

#[test]
fn target_modules_are_read_from_modules_dep_and_builtin() {
    let t = target_tree("6.1.0-50-amd64", DEP, Some("kernel/drivers/watchdog/softdog.ko\n"));
    let m = read_target_modules(&t.root(), "6.1.0-50-amd64");
    assert!(m.known);
    assert_eq!(m.loadable.iter().map(String::as_str).collect::<Vec<_>>(), ["i6300esb", "lpc_ich", "watchdog"]);
    assert_eq!(m.builtin.iter().map(String::as_str).collect::<Vec<_>>(), ["softdog"]);
    assert!(!read_target_modules(&t.root(), "9.9.9").known);
}

#[test]
fn new_kernel_without_the_driver_is_not_armed_for() {
    // Debian's cloud kernels have no i6300esb: confirm could not stop it.
    let t = target_tree("6.1.0-50-cloud-amd64", "kernel/drivers/watchdog/watchdog.ko:\n", None);
    let inv = inventory(&t);
    let target = read_target_modules(&t.root(), "6.1.0-50-cloud-amd64");
    let sel = choose(&inv, &target, Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::MissingInTarget("i6300esb".into()));
    let refused = choose(&inv, &target, Request::Seconds(300), Mode::Direct).unwrap_err();
    assert!(refused.to_string().contains("no i6300esb module"), "{refused}");
}

#[test]
fn new_kernel_with_the_driver_built_in_is_not_armed_for() {
    let t = target_tree("6.9", DEP, Some("kernel/drivers/watchdog/i6300esb.ko\n"));
    let inv = inventory(&t);
    let target = read_target_modules(&t.root(), "6.9");
    let sel = choose(&inv, &target, Request::Default, Mode::Direct).unwrap();
    assert_eq!(sel.skipped[0].1, Unusable::BuiltInTarget("i6300esb".into()));
}

#[test]
fn new_kernel_with_the_driver_module_is_armed_for() {
    let t = target_tree("6.1.0-57-amd64", DEP, None);
    let target = read_target_modules(&t.root(), "6.1.0-57-amd64");
    let c = choose(&inventory(&t), &target, Request::Default, Mode::Direct).unwrap().choice.unwrap();
    assert_eq!(c.module, "i6300esb");
}

#[test]
fn odd_modules_dep_lines_are_skipped() {
    let t = target_tree("x", "\n:\nnot-a-module\n.ko:\nkernel/a/b-c.ko.gz: x\n", None);
    let m = read_target_modules(&t.root(), "x");
    assert_eq!(m.loadable.iter().map(String::as_str).collect::<Vec<_>>(), ["b_c"]);
}

#[test]
fn reload_unloads_users_then_core_and_loads_them_back() {
    let cmds = reload_commands(&["i6300esb".to_string(), "softdog".to_string()]);
    assert_eq!(
        cmds,
        [
            vec!["modprobe", "-r", "--", "i6300esb", "softdog", "watchdog"],
            vec!["modprobe", "--", "watchdog", "stop_on_reboot=0"],
            vec!["modprobe", "-a", "--", "i6300esb", "softdog"],
        ]
    );
    assert_eq!(reload_commands(&[]).len(), 2);
}

#[test]
fn busctl_commands_and_output() {
    assert_eq!(
        systemd_set_watchdog_command("KExecWatchdogUSec", 600_000_000),
        [
            "busctl",
            "set-property",
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "KExecWatchdogUSec",
            "t",
            "600000000"
        ]
    );
}

/// A hostile `--root` tree: a FIFO where an attribute should be does not
/// hang discovery, and a link that leads outside the root is not read.
#[test]
fn a_fifo_or_a_link_outside_the_root_is_not_read() {
    let t = esb_guest();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("timeout"), "77\n").unwrap();
    let dir = t.at("sys/class/watchdog/watchdog0");
    std::fs::remove_file(dir.join("identity")).unwrap();
    nix::unistd::mkfifo(&dir.join("identity"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::fs::remove_file(dir.join("timeout")).unwrap();
    symlink(outside.path().join("timeout"), dir.join("timeout")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let root = t.root();
    std::thread::spawn(move || tx.send(discover(&root).unwrap()).unwrap());
    let inv = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("discovery returns");
    assert_eq!(inv.devices.len(), 1);
    assert_eq!(inv.devices[0].identity, "");
    assert_eq!(inv.devices[0].timeout, None);
}

#[test]
fn holders_are_read_inside_the_root_even_through_a_linked_proc_entry() {
    let t = esb_guest();
    // /proc/1 is a link to an absolute path: inside the root it leads to a
    // process holding /dev/null; on the host, to one holding the watchdog.
    let outside = t.outside().join("p1");
    std::fs::create_dir_all(outside.join("fd")).unwrap();
    std::fs::write(outside.join("comm"), "host\n").unwrap();
    symlink("/dev/watchdog0", outside.join("fd/0")).unwrap();
    let inside = outside.strip_prefix("/").unwrap();
    t.write(format!("{}/comm", inside.display()), "inside\n");
    t.link(format!("{}/fd/0", inside.display()), Path::new("/dev/null"));
    t.link("proc/1", &outside);
    let inv = inventory(&t);
    assert!(inv.devices[0].holders.is_empty(), "{:?}", inv.devices[0].holders);
}

#[test]
fn module_names_that_could_add_kernel_words_are_not_taken() {
    let t = Tree::new();
    t.core("0", &["i6300esb", "evil quiet"]);
    t.device(0, "Some timer", "inactive", 30, 2046, Some(("wdt", "wdt init=/bin/sh")));
    let inv = inventory(&t);
    assert_eq!(inv.core.users, ["i6300esb"]);
    // Not the module from the link, and no guess from the core's users either.
    let m = inv.devices[0].module.as_ref().map(|m| m.name.as_str());
    assert!(m.is_none_or(valid_module_name), "{m:?}");
    for bad in ["", "a b", "a,b", "a\"b", "a\nb", "a=b", &"x".repeat(56)] {
        assert!(!valid_module_name(bad), "{bad:?}");
    }
    for good in ["i6300esb", "iTCO_wdt", "sp5100-tco", "ipmi_watchdog"] {
        assert!(valid_module_name(good), "{good}");
    }
}

#[test]
fn reasons_shown_to_people_carry_no_raw_control_characters() {
    for why in [
        Unusable::BuiltIn("a\x1b[2Jb".into()),
        Unusable::MissingInTarget("a\x1b[2Jb".into()),
        Unusable::BuiltInTarget("a\x1b[2Jb".into()),
        Unusable::Held(vec![Holder { pid: 7, comm: "a\x1b[2Jb".into() }]),
    ] {
        let text = why.to_string();
        assert!(!text.contains('\x1b') && text.contains("a\\033[2Jb"), "{text:?}");
    }
}

#[test]
fn the_default_timeout_respects_the_devices_minimum() {
    let t = Tree::new();
    t.core("0", &["i6300esb"]);
    t.device(0, "i6300ESB timer", "inactive", 900, 2046, None);
    t.write("sys/class/watchdog/watchdog0/min_timeout", "900\n");
    let c = choose(&inventory(&t), &any(), Request::Default, Mode::Direct).unwrap().choice.unwrap();
    assert_eq!(c.timeout, 900);
    // A range that holds no usable timeout is passed over with the reason.
    t.write("sys/class/watchdog/watchdog0/min_timeout", "2100\n");
    let sel = choose(&inventory(&t), &any(), Request::Default, Mode::Direct).unwrap();
    assert!(sel.choice.is_none());
    assert!(matches!(sel.skipped[0].1, Unusable::OutOfRange { min: 2100, max: 2046, .. }), "{:?}", sel.skipped);
}

#[test]
fn debians_watchdog_daemon_is_named_as_what_stops_the_timer_on_its_way_down() {
    let t = Tree::new();
    t.core("0", &["i6300esb"]);
    t.device(0, "i6300ESB timer", "active", 60, 2046, None);
    t.process(700, "watchdog", &["/dev/watchdog"]);
    let sel = choose(&inventory(&t), &any(), Request::Default, Mode::Systemd).unwrap();
    assert!(matches!(&sel.skipped[0].1, Unusable::HeldByDaemon(h) if h[0].pid == 700), "{:?}", sel.skipped);
    assert!(sel.skipped[0].1.to_string().contains("the watchdog daemon watchdog (pid 700), which stops it"));
}
