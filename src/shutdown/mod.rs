//! The hand-over to the loaded kernel: through systemd, or a clean shutdown of
//! kexec-chooser's own for machines without systemd.
//!
//! Both go through [`System`](crate::sys::System), so the sequence is tested
//! with the recording fake; the caller unloads the kernel when they fail.

use std::path::PathBuf;

use nix::errno::Errno;

pub mod direct;
pub mod systemd;

#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    #[error(transparent)]
    Systemctl(#[from] crate::sys::CommandError),
    #[error("cannot ignore hang-up signals")]
    Signals(#[source] Errno),
    #[error("cannot list processes")]
    Processes(#[source] std::io::Error),
    #[error("cannot read the mount table")]
    Mounts(#[source] std::io::Error),
    #[error("{} could be neither unmounted nor remounted read-only ({errno}): handing over now would lose data", target.display())]
    StillWritable { target: PathBuf, errno: Errno },
    #[error("reboot(LINUX_REBOOT_CMD_KEXEC) failed")]
    Reboot(#[source] Errno),
    #[error("reboot(LINUX_REBOOT_CMD_RESTART) failed")]
    RebootFirmware(#[source] Errno),
}
