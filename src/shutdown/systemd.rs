//! Hand-over through systemd: the kernel is loaded already, and `systemctl
//! kexec` makes systemd stop every unit, unmount, and jump into it. This works
//! where systemd alone could not find a kernel to load (GRUB on BIOS). And
//! the way back when `confirm` finds a warm boot unhealthy: `systemctl
//! reboot`, through the firmware to the boot loader's default.

use std::io::Write;

use crate::sys::{run_checked, System};

use super::ShutdownError;

/// Ask systemd to kexec into the loaded kernel. It returns once the job is
/// queued; the shutdown then goes on without this process.
pub fn handover(sys: &mut dyn System, log: &mut dyn Write) -> Result<(), ShutdownError> {
    let _ = crate::say!(log, "handing over to systemd: systemctl kexec");
    Ok(run_checked(sys, &["systemctl", "kexec"])?)
}

/// Ask systemd for a clean reboot through the firmware. It returns once the
/// job is queued.
pub fn reboot(sys: &mut dyn System, log: &mut dyn Write) -> Result<(), ShutdownError> {
    let _ = crate::say!(log, "rebooting through the firmware: systemctl reboot");
    Ok(run_checked(sys, &["systemctl", "reboot"])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, Fake};

    #[test]
    fn systemd_mode_runs_systemctl_kexec_and_nothing_else() {
        let mut fake = Fake::default();
        handover(&mut fake, &mut Vec::new()).unwrap();
        assert_eq!(fake.calls, vec![Call::Run("systemctl".into(), vec!["kexec".into()])]);
    }

    #[test]
    fn the_way_back_is_systemctl_reboot() {
        let mut fake = Fake::default();
        reboot(&mut fake, &mut Vec::new()).unwrap();
        assert_eq!(fake.calls, vec![Call::Run("systemctl".into(), vec!["reboot".into()])]);
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        let e = reboot(&mut fake, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("systemctl reboot"), "{e}");
    }

    #[test]
    fn failing_systemctl_is_an_error() {
        let mut fake = Fake { run_code: 1, ..Fake::default() };
        assert!(matches!(
            handover(&mut fake, &mut Vec::new()),
            Err(ShutdownError::Systemctl(crate::sys::CommandError::Failed { .. }))
        ));
    }
}
