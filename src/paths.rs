//! The one place where the well-known paths of a Linux system are spelled.

/// Kernels and initrds.
pub const BOOT: &str = "/boot";
/// Places a Boot Loader Specification partition (ESP or XBOOTLDR) is mounted.
pub const BLS_ROOTS: [&str; 3] = ["/boot", "/efi", "/boot/efi"];
/// Below a BLS root: Type 1 entries.
pub const BLS_ENTRIES: &str = "loader/entries";
/// Below a BLS root: Type 2 unified kernel images.
pub const UKI_DIR: &str = "EFI/Linux";
/// GRUB's directories: Debian's, then Fedora's. Each holds `grub.cfg` and `grubenv`.
pub const GRUB_DIRS: [&str; 2] = ["/boot/grub", "/boot/grub2"];
pub const KERNEL_CMDLINE: &str = "/etc/kernel/cmdline";
pub const PROC_CMDLINE: &str = "/proc/cmdline";
pub const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
pub const MODULE_DIRS: [&str; 2] = ["/lib/modules", "/usr/lib/modules"];
pub const RUN_SYSTEMD: &str = "/run/systemd/system";
pub const KEXEC_LOADED: &str = "/sys/kernel/kexec_loaded";
pub const KEXEC_LOAD_DISABLED: &str = "/proc/sys/kernel/kexec_load_disabled";
pub const KEXEC_LOAD_LIMIT_REBOOT: &str = "/proc/sys/kernel/kexec_load_limit_reboot";
/// The device tree the running kernel was booted with (arm64 kexec_load path).
pub const FDT: &str = "/sys/firmware/fdt";
/// The physical memory map (arm64 kexec_load path).
pub const IOMEM: &str = "/proc/iomem";
pub const LOCKDOWN: &str = "/sys/kernel/security/lockdown";
pub const EFIVARS: &str = "/sys/firmware/efi/efivars";
pub const DEFAULTS: &str = "/etc/default/kexec-chooser";
/// This boot's random id, which tells one boot from the next.
pub const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
/// kexec-chooser's own state that outlives a boot: the pending warm reboot
/// and the history of the last ones.
pub const STATE_DIR: &str = "/var/lib/kexec-chooser";
/// In [`STATE_DIR`]: the warm reboot waiting for its confirmation
/// (kexec-chooser-confirm.service runs only when it exists).
pub const PENDING_RECORD: &str = "/var/lib/kexec-chooser/pending.json";
/// In [`STATE_DIR`]: the last warm reboots that ended, oldest first.
pub const HISTORY_RECORD: &str = "/var/lib/kexec-chooser/history.json";
/// kexec-chooser's state of this boot only: what `load` loaded.
pub const RUN_DIR: &str = "/run/kexec-chooser";
/// The hardware watchdogs the kernel knows.
pub const SYS_CLASS_WATCHDOG: &str = "/sys/class/watchdog";
/// Where drivers of an IPMI system interface list the devices they bound:
/// KCS, SMIC and BT (`ipmi_si`, from ACPI or SMBIOS), SSIF (`ipmi_ssif`, I2C).
pub const IPMI_INTERFACE_DRIVERS: [&str; 2] = ["/sys/bus/platform/drivers/ipmi_si", "/sys/bus/i2c/drivers/ipmi_ssif"];
/// The legacy watchdog node, which `ipmi_watchdog` registers.
pub const LEGACY_WATCHDOG: &str = "/dev/watchdog";
/// The IPMI interfaces that have a device node (`ipmi_devintf`).
pub const SYS_CLASS_IPMI: &str = "/sys/class/ipmi";
/// What the kernel does after a panic (`kernel.panic`).
pub const SYSCTL_PANIC: &str = "/proc/sys/kernel/panic";
/// The kernel's modules, loaded and built in, with their parameters.
pub const SYS_MODULE: &str = "/sys/module";
/// Processes, each with its descriptors under `PID/fd`.
pub const PROC: &str = "/proc";
/// Device nodes (`/dev/watchdogN`).
pub const DEV: &str = "/dev";
/// This process's mount table.
pub const SELF_MOUNTINFO: &str = "/proc/self/mountinfo";
/// This process's status, for its capabilities.
pub const SELF_STATUS: &str = "/proc/self/status";
/// The active swap areas.
pub const SWAPS: &str = "/proc/swaps";
/// The certificate authorities Debian's ca-certificates trusts.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[cfg(test)]
mod tests {
    #[test]
    fn the_records_are_in_the_state_directory() {
        for record in [super::PENDING_RECORD, super::HISTORY_RECORD] {
            assert_eq!(std::path::Path::new(record).parent(), Some(std::path::Path::new(super::STATE_DIR)));
        }
    }
}
