//! The BMC's watchdog against the recording fake's model of a BMC (IPMI 2.0,
//! section 27, as QEMU's ipmi-bmc-sim answers): the bytes on the wire, the
//! read-back, the stop, and when the BMC is passed over.

use super::*;
use crate::sys::fake::{Call, Fake, FakeBmc};
use crate::testing::TempRoot;

const RUNNING_RELEASE: &str = "6.1.0-47-amd64";

/// A machine whose BMC is bound by ipmi_si (SMBIOS), without /dev/ipmi0 yet.
fn bmc_machine() -> TempRoot {
    let m = TempRoot::new();
    m.mkdir("/sys/bus/platform/drivers/ipmi_si/dmi-ipmi-si.0");
    m.write("/sys/bus/platform/drivers/ipmi_si/bind", "");
    m.write(
        format!("/lib/modules/{RUNNING_RELEASE}/modules.dep"),
        "kernel/drivers/char/ipmi/ipmi_devintf.ko.xz: kernel/drivers/char/ipmi/ipmi_msghandler.ko.xz\n",
    );
    m
}

fn modules(names: &[&str]) -> TargetModules {
    TargetModules { known: true, loadable: names.iter().map(|s| s.to_string()).collect(), ..TargetModules::default() }
}

fn running(m: &TempRoot) -> TargetModules {
    watchdog::read_target_modules(&m.root(), RUNNING_RELEASE)
}

#[test]
fn no_interface_is_no_bmc() {
    let m = TempRoot::new();
    m.write("/sys/bus/platform/drivers/ipmi_si/bind", "");
    assert_eq!(choose(&m.root(), &modules(&[]), &modules(&[]), None), Ok(None));
}

#[test]
fn a_bound_interface_without_a_node_is_used_through_ipmi_devintf() {
    let m = bmc_machine();
    let c = choose(&m.root(), &running(&m), &modules(&[DEVINTF, "ipmi_si"]), None).unwrap().unwrap();
    assert_eq!(c, Choice { device: "/dev/ipmi0".into(), timeout: 600, load_devintf: true, unload_driver: false });
    let e = choose(&m.root(), &modules(&["ipmi_si"]), &modules(&[DEVINTF]), None).unwrap_err();
    assert!(e.contains("running kernel has no ipmi_devintf"), "{e}");
    let e = choose(&m.root(), &running(&m), &modules(&["ipmi_si"]), None).unwrap_err();
    assert!(e.contains("the new kernel has no ipmi_devintf"), "{e}");
    let e = choose(&m.root(), &running(&m), &modules(&[DEVINTF]), Some(7000)).unwrap_err();
    assert!(e.contains("outside its range 1..6553"), "{e}");
    let c = choose(&m.root(), &running(&m), &modules(&[DEVINTF]), Some(90)).unwrap().unwrap();
    assert_eq!(c.timeout, 90);
}

#[test]
fn ipmi_watchdog_is_unloaded_when_free_and_the_bmc_passed_over_when_held() {
    let m = bmc_machine();
    m.write("/sys/module/ipmi_watchdog/initstate", "live\n");
    let c = choose(&m.root(), &running(&m), &modules(&[DEVINTF]), None).unwrap().unwrap();
    assert!(c.unload_driver);
    m.write("/proc/812/comm", "watchdog\n");
    m.link("/proc/812/fd/3", "/dev/watchdog");
    let e = choose(&m.root(), &running(&m), &modules(&[DEVINTF]), None).unwrap_err();
    assert!(e.contains("ipmi_watchdog drives it and watchdog (pid 812) holds /dev/watchdog"), "{e}");
    let m = bmc_machine();
    m.mkdir("/sys/module/ipmi_watchdog/parameters");
    let e = choose(&m.root(), &running(&m), &modules(&[DEVINTF]), None).unwrap_err();
    assert!(e.contains("built into the running kernel"), "{e}");
}

fn choice(load_devintf: bool, unload_driver: bool) -> Choice {
    Choice { device: "/dev/ipmi0".into(), timeout: 600, load_devintf, unload_driver }
}

/// Set Watchdog Timer for 600 s: SMS/OS, don't stop, hard reset, no
/// pre-timeout, clear SMS/OS's flag, 6000 × 100 ms little endian.
const SET_600: [u8; 6] = [0x44, 0x01, 0x00, 0x10, 0x70, 0x17];

#[test]
fn arming_sends_set_reset_and_get_and_reads_the_timer_back() {
    let m = bmc_machine();
    m.write("/dev/ipmi0", "");
    let mut fake = Fake { bmc: Some(FakeBmc::default()), ..Fake::default() };
    assert_eq!(arm(&m.root(), &mut fake, &choice(true, true)), Ok(600));
    assert_eq!(
        fake.calls,
        [
            Call::Run("modprobe".into(), vec!["--".into(), "ipmi_devintf".into()]),
            Call::Run("modprobe".into(), vec!["-r".into(), "--".into(), "ipmi_watchdog".into()]),
            Call::Ipmi(0x06, 0x24, SET_600.to_vec()),
            Call::Ipmi(0x06, 0x22, vec![]),
            Call::Ipmi(0x06, 0x25, vec![]),
        ]
    );
    assert!(fake.bmc.as_ref().unwrap().running);
}

#[test]
fn a_timer_that_does_not_read_back_as_set_is_stopped_and_the_driver_loaded_again() {
    let m = bmc_machine();
    m.write("/dev/ipmi0", "");
    let bmc = FakeBmc { ignores_countdown: true, countdown: 300, ..FakeBmc::default() };
    let mut fake = Fake { bmc: Some(bmc), ..Fake::default() };
    let e = arm(&m.root(), &mut fake, &choice(false, true)).unwrap_err();
    assert!(e.contains("countdown 30000 ms"), "{e}");
    let tail = &fake.calls[fake.calls.len() - 3..];
    assert_eq!(tail[0], Call::Ipmi(0x06, 0x24, vec![0x04, 0x00, 0x00, 0x10, 0x70, 0x17]), "stopped: {tail:?}");
    assert_eq!(tail[2], Call::Run("modprobe".into(), vec!["--".into(), "ipmi_watchdog".into()]));
    assert!(!fake.bmc.as_ref().unwrap().running);
    // A BMC that does not answer: an error, nothing left running.
    let mut silent = Fake::default();
    assert!(arm(&m.root(), &mut silent, &choice(false, false)).unwrap_err().contains("no response"));
}

#[test]
fn release_stops_the_timer_and_gives_it_back() {
    let m = bmc_machine();
    m.write("/dev/ipmi0", "");
    let running = FakeBmc { timer_use: 0x44, actions: 0x01, countdown: 6000, running: true, ..FakeBmc::default() };
    let mut fake = Fake { bmc: Some(running), ..Fake::default() };
    release(&m.root(), &mut fake, Path::new("/dev/ipmi0"), Some("ipmi_watchdog")).unwrap();
    assert!(!fake.bmc.as_ref().unwrap().running);
    assert_eq!(fake.calls[0], Call::Ipmi(0x06, 0x24, vec![0x04, 0x00, 0x00, 0x10, 0x70, 0x17]));
    assert_eq!(fake.calls.last(), Some(&Call::Run("modprobe".into(), vec!["--".into(), "ipmi_watchdog".into()])));
    // No node in the new boot yet: ipmi_devintf is loaded first; one that
    // never appears is an error.
    let m = bmc_machine();
    let e = release(&m.root(), &mut Fake::default(), Path::new("/dev/ipmi0"), None).unwrap_err();
    assert!(e.contains("did not appear after modprobe ipmi_devintf"), "{e}");
}
