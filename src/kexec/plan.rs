//! The plan: exactly what would be loaded and how, built from a chosen entry
//! and the command-line options, before any syscall. `--dry-run` prints it.

use std::path::PathBuf;

use serde::Serialize;

use crate::boot::BootEntry;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The id of the chosen entry.
    pub id: String,
    pub version: String,
    /// The kernel as the system sees it.
    pub kernel: PathBuf,
    /// Initrds in load order, as the system sees them; empty with `--no-initrd`.
    pub initrds: Vec<PathBuf>,
    /// The command line the next kernel gets.
    pub cmdline: String,
    /// The hand-over `--mode` resolved (`systemd` or `direct`), when rebooting.
    pub mode: Option<String>,
    /// The entry the plan was made from.
    #[serde(skip)]
    pub entry: BootEntry,
}
