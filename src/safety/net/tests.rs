//! The protocol as a whole, on made-up machines and the recording fake:
//! what is chosen and said, what arming sets and in what order, what undo
//! takes down, what release removes.

use super::*;
use crate::kexec::preflight::tests::{entry, machine};
use crate::safety::fallback::{Cleared, Loader, OneTime};
use crate::safety::watchdog::tests::esb_choice;
use crate::sys::fake::{Call, Fake};
use crate::testing::TempRoot;

const A: &str = "6.1.0-47-amd64";
const B: &str = "6.1.0-57-amd64";

fn for_b<'a>(entries: &'a [BootEntry], cmdline: &'a str) -> For<'a> {
    For {
        target: B,
        mode: Mode::Systemd,
        later: false,
        running: fallback::Running { release: Some(A), cmdline: Some(cmdline) },
        entries,
    }
}

fn grub_fallback() -> fallback::Choice {
    fallback::Choice::OneTime(OneTime {
        loader: Loader::Grub,
        entry: "gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1".into(),
        release: A.into(),
    })
}

/// A kernel loaded for later never gets the software net (softdog would
/// start in it whoever hands over); an explicit --watchdog that only the
/// software net could take is refused, with what was passed over.
#[test]
fn a_load_for_later_gets_no_software_net_and_refuses_an_explicit_watchdog() {
    let m = machine();
    m.write("/proc/sys/kernel/panic", "0\n");
    let later = For { later: true, ..for_b(&[], "root=/dev/vda") };
    let n = choose(&m.root(), &later, Request::Default).unwrap();
    assert!(n.watchdog.is_none(), "{n:?}");
    assert!(n.passed_over.iter().any(|p| p.starts_with("the software net: not on a kernel loaded for later")));
    let e = choose(&m.root(), &later, Request::Seconds(60)).unwrap_err();
    assert!(matches!(e, ChooseError::NoneForLater { seconds: 60, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.starts_with("--watchdog 60: no hardware watchdog can guard a kernel loaded for later ("), "{msg}");
    assert!(msg.contains("`kexec-chooser reboot --watchdog 60`"), "{msg}");
}

#[test]
fn without_a_hardware_watchdog_the_software_net_guards_it_even_when_asked_for_one() {
    let m = machine();
    m.write("/proc/sys/kernel/panic", "0\n");
    let n = choose(&m.root(), &for_b(&[], "root=/dev/vda"), Request::Seconds(120)).unwrap();
    let Some(Guard::Software(c)) = &n.watchdog else { panic!("{n:?}") };
    assert_eq!((c.timeout, c.softdog, c.panic_before.as_deref()), (120, true, Some("0")));
    assert_eq!(n.target, B);
    let n = choose(&m.root(), &for_b(&[], "root=/dev/vda"), Request::Default).unwrap();
    assert_eq!(n.watchdog.as_ref().map(Guard::timeout), Some(600));
    let off = choose(&m.root(), &for_b(&[], "root=/dev/vda"), Request::Off).unwrap();
    assert!(off.declined && off.watchdog.is_none());
}

#[test]
fn the_plan_says_where_the_machine_goes_if_the_new_kernel_does_not_come_up() {
    let mut net = Net {
        target: B.into(),
        watchdog: Some(Guard::Hardware(esb_choice(600))),
        fallback: grub_fallback(),
        ..Net::default()
    };
    assert_eq!(
        net.describe(),
        "/dev/watchdog0 (i6300esb) 600 s; if 6.1.0-57-amd64 does not come up: reset, then 6.1.0-47-amd64 (GRUB next_entry)"
    );
    net.fallback =
        fallback::Choice::Default { why: "the running kernel has no GRUB entry".into(), release: Some(B.into()) };
    assert_eq!(
        net.describe(),
        "/dev/watchdog0 (i6300esb) 600 s; if 6.1.0-57-amd64 does not come up: reset, then the boot loader's \
         default, 6.1.0-57-amd64 (the running kernel has no GRUB entry)"
    );
    let mut w = esb_choice(300);
    (w.reset_after, w.armed_by) = (600, ArmedBy::Systemd);
    net.watchdog = Some(Guard::Hardware(w));
    assert!(net.describe().starts_with("/dev/watchdog0 (i6300esb) 300 s (reset after 600 s), armed by systemd"));
    let none = Net { target: B.into(), fallback: grub_fallback(), ..Net::default() };
    assert_eq!(none.describe(), format!("{NO_WATCHDOG}; a reset then boots 6.1.0-47-amd64 (GRUB next_entry)"));
}

/// A GRUB machine running A whose grub.cfg has A's entry (see fallback's tests).
fn grub_machine() -> TempRoot {
    let m = machine();
    m.write(
        "/boot/grub/grub.cfg",
        "if [ \"${next_entry}\" ] ; then\n set default=\"${next_entry}\"\n set next_entry=\n save_env next_entry\nfi\n\
         submenu 'Advanced' $menuentry_id_option 'gnulinux-advanced-u1' {\n\
         menuentry 'A' $menuentry_id_option 'gnulinux-6.1.0-47-amd64-advanced-u1' {\n\
         linux /boot/vmlinuz-6.1.0-47-amd64 root=/dev/vda ro\n}\n}\n",
    );
    let mut env = crate::boot::grubenv::SIGNATURE.to_vec();
    env.resize(1024, b'#');
    m.write("/boot/grub/grubenv", env);
    m.write("/proc/self/mountinfo", "22 1 254:1 / / rw - ext4 /dev/vda rw\n");
    m.write("/proc/sys/kernel/osrelease", format!("{A}\n"));
    m.write("/proc/sys/kernel/random/boot_id", "b0\n");
    m
}

fn target() -> Target<'static> {
    Target { mark: "ab12", id: B, release: B, mode: Mode::Systemd, started: SystemTime::UNIX_EPOCH }
}

fn next_entry(m: &TempRoot) -> Option<String> {
    fallback::current(&m.root(), Loader::Grub).unwrap()
}

#[test]
fn arming_sets_the_watchdog_then_the_one_time_entry_then_the_record() {
    let m = grub_machine();
    let mut a = entry(A);
    a.running = true;
    let entries = [entry(B), a];
    let net = choose(&m.root(), &for_b(&entries, "root=/dev/vda ro"), Request::Default).unwrap();
    assert_eq!(net.fallback, grub_fallback(), "{net:?}");
    let net = Net { watchdog: Some(Guard::Hardware(esb_choice(600))), ..net };
    let mut fake = Fake::default();
    let mut log = Vec::new();
    let armed = arm(&m.root(), &mut fake, &mut log, &net, &target(), &KexecState::default()).unwrap();
    assert_eq!(fake.calls, [Call::WatchdogArm("/dev/watchdog0".into(), 600)]);
    assert_eq!(next_entry(&m).as_deref(), Some("gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1"));
    let record = Store::new(&m.root()).pending().unwrap().unwrap();
    assert_eq!(record.fallback.as_ref(), net.fallback.one_time());
    let said = String::from_utf8(log).unwrap();
    assert!(
        said.contains(
            "GRUB next_entry set to gnulinux-advanced-u1>gnulinux-6.1.0-47-amd64-advanced-u1 (6.1.0-47-amd64)"
        ),
        "{said}"
    );
    // The machine keeps running after all: everything comes down.
    armed.undo(&m.root(), &mut fake);
    assert_eq!(fake.calls[1], Call::WatchdogDisarm("/dev/watchdog0".into()));
    assert_eq!(next_entry(&m), None);
    assert_eq!(Store::new(&m.root()).pending().unwrap(), None);
}

#[test]
fn a_one_time_entry_that_cannot_be_set_leaves_nothing_armed() {
    let m = grub_machine();
    let net = Net {
        target: B.into(),
        watchdog: Some(Guard::Hardware(esb_choice(600))),
        fallback: grub_fallback(),
        ..Net::default()
    };
    // grubenv became a link between the plan and the hand-over.
    m.write("/boot/other", b"x");
    std::fs::remove_file(m.at("/boot/grub/grubenv")).unwrap();
    m.link("/boot/grub/grubenv", "/boot/other");
    let mut fake = Fake::default();
    let e = arm(&m.root(), &mut fake, &mut Vec::new(), &net, &target(), &KexecState::default()).unwrap_err();
    assert!(matches!(e, SetError::OneTime(_)), "{e}");
    assert_eq!(
        fake.calls,
        [Call::WatchdogArm("/dev/watchdog0".into(), 600), Call::WatchdogDisarm("/dev/watchdog0".into())]
    );
    assert_eq!(Store::new(&m.root()).pending().unwrap(), None);
}

#[test]
fn release_removes_only_its_own_one_time_entry() {
    let m = grub_machine();
    let o = grub_fallback().one_time().cloned().unwrap();
    let mut record = crate::safety::record::tests::record("a1");
    record.fallback = Some(o.clone());
    let mut fake = Fake::default();
    fallback::set(&m.root(), &mut fake, &o).unwrap();
    let mut log = Vec::new();
    assert_eq!(release_one_time(&m.root(), &mut fake, &mut log, &record), Some(Ok(Cleared::Removed)));
    assert_eq!(next_entry(&m), None);
    assert!(String::from_utf8(log).unwrap().contains("GRUB next_entry to gnulinux-advanced-u1>"));
    assert_eq!(release_one_time(&m.root(), &mut fake, &mut Vec::new(), &record), Some(Ok(Cleared::Gone)));
    record.fallback = None;
    assert_eq!(release_one_time(&m.root(), &mut fake, &mut Vec::new(), &record), None);
    // Before a failed check reboots: set again, and named.
    record.fallback = Some(o);
    assert_eq!(back_to_running(&m.root(), &mut fake, &record), "6.1.0-47-amd64 (GRUB next_entry)");
    assert!(next_entry(&m).is_some());
}

/// A machine with a BMC (its node there), an i6300esb, and the new
/// kernel's modules: the BMC is preferred.
#[test]
fn the_bmc_is_preferred_over_a_chipset_watchdog_which_is_preferred_over_software() {
    let m = machine();
    m.write("/sys/class/watchdog/watchdog0/identity", "i6300ESB timer\n");
    m.write("/sys/class/watchdog/watchdog0/state", "inactive\n");
    m.write("/sys/module/i6300esb/initstate", "live\n");
    m.write("/sys/module/watchdog/initstate", "live\n");
    m.write("/sys/module/watchdog/parameters/stop_on_reboot", "0\n");
    let esb = choose(&m.root(), &for_b(&[], "root=/dev/vda"), Request::Default).unwrap();
    assert_eq!(esb.watchdog.as_ref().map(Guard::kind), Some(Kind::Hardware), "{esb:?}");
    m.mkdir("/sys/class/ipmi/ipmi0");
    let bmc = choose(&m.root(), &for_b(&[], "root=/dev/vda"), Request::Default).unwrap();
    assert_eq!(bmc.watchdog.as_ref().map(Guard::kind), Some(Kind::Ipmi), "{bmc:?}");
    assert!(bmc
        .describe()
        .starts_with("the BMC's watchdog (/dev/ipmi0, IPMI) 600 s; if 6.1.0-57-amd64 does not come up"));
    let line = bmc.words("ab12");
    assert_eq!(line, ["kexec_chooser.boot=ab12", "modprobe.blacklist=ipmi_watchdog"]);
}

#[test]
fn the_software_net_is_recorded_and_released_by_stopping_softdog_and_putting_panic_back() {
    let m = machine();
    let c = software::Choice { timeout: 90, softdog: true, panic_before: Some("0".into()) };
    let net = Net { target: B.into(), watchdog: Some(Guard::Software(c)), ..Net::default() };
    assert_eq!(
        net.describe(),
        "software only (no hardware watchdog): a panic, a missing root or a hang after the root is mounted reboots \
         after 90 s into the boot loader's default (no boot loader was looked at)"
    );
    let mut fake = Fake::default();
    let armed = arm(&m.root(), &mut fake, &mut Vec::new(), &net, &target(), &KexecState::default()).unwrap();
    assert!(fake.calls.is_empty(), "nothing to arm: it is all on the command line: {:?}", fake.calls);
    let w = armed.watchdog.clone().unwrap();
    assert_eq!((w.kind, w.timeout, w.panic_before.as_deref()), (Kind::Software, 90, Some("0")));
    // In the warm boot: softdog runs as watchdog0, kernel.panic is 90.
    m.write("/sys/class/watchdog/watchdog0/identity", "Software Watchdog\n");
    let r = release(&m.root(), &mut fake, &mut Vec::new(), &w).unwrap();
    assert_eq!(r, Released::Software { softdog: Some("/dev/watchdog0".into()), panic: Some("0".into()) });
    assert_eq!(r.to_string(), "softdog /dev/watchdog0 stopped, kernel.panic back to 0");
    assert_eq!(
        fake.calls,
        [Call::WatchdogDisarm("/dev/watchdog0".into()), Call::SetSysctl("/proc/sys/kernel/panic".into(), "0".into())]
    );
}

#[test]
fn the_bmc_is_armed_in_the_net_and_undone_with_it() {
    let m = machine();
    m.write("/dev/ipmi0", "");
    let c = ipmi::Choice { device: "/dev/ipmi0".into(), timeout: 120, load_devintf: false, unload_driver: false };
    let net = Net { target: B.into(), watchdog: Some(Guard::Ipmi(c)), ..Net::default() };
    let mut fake = Fake { bmc: Some(crate::sys::fake::FakeBmc::default()), ..Fake::default() };
    let armed = arm(&m.root(), &mut fake, &mut Vec::new(), &net, &target(), &KexecState::default()).unwrap();
    let w = Store::new(&m.root()).pending().unwrap().unwrap().watchdog.unwrap();
    assert_eq!((w.kind, w.timeout, w.device.to_str()), (Kind::Ipmi, 120, Some("/dev/ipmi0")));
    assert!(fake.bmc.as_ref().unwrap().running);
    armed.undo(&m.root(), &mut fake);
    assert!(!fake.bmc.as_ref().unwrap().running, "a machine that keeps running is never reset by its BMC");
}
