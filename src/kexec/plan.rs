//! The plan: exactly what would be loaded and how, built from a chosen entry
//! and the command-line options, before any syscall. `--dry-run` prints it.

use std::path::PathBuf;

use serde::Serialize;

use crate::boot::{cmdline, paths, BootEntry, Error, Root};

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
    /// Where the base of the command line came from.
    pub cmdline_source: String,
    /// The load syscall that will be used: `kexec_file_load`, or `kexec_load`
    /// on arm64 kernels without CONFIG_KEXEC_FILE.
    pub syscall: super::syscall::Syscall,
    /// Why that syscall.
    pub syscall_reason: String,
    /// The hand-over `--mode` resolved (`systemd` or `direct`), when rebooting.
    pub mode: Option<String>,
    /// The entry the plan was made from.
    #[serde(skip)]
    pub entry: BootEntry,
}

/// The command-line options that shape a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub append: Vec<String>,
    pub remove: Vec<String>,
    pub cmdline: Option<String>,
    pub initrds: Vec<PathBuf>,
    pub no_initrd: bool,
}

/// The base command line for `entry`: its own, else `/etc/kernel/cmdline`,
/// else `/proc/cmdline` without the boot loader's words. Gives the text and
/// where it came from.
pub fn base_cmdline(root: &Root, entry: &BootEntry) -> (String, String) {
    if let Some(c) = &entry.cmdline {
        return (cmdline::split(c).join(" "), format!("the {} entry", source_word(entry)));
    }
    if let Ok(t) = std::fs::read_to_string(root.path(paths::KERNEL_CMDLINE)) {
        return (cmdline::from_etc(&t), paths::KERNEL_CMDLINE.into());
    }
    match std::fs::read_to_string(root.path(paths::PROC_CMDLINE)) {
        Ok(t) => (cmdline::from_proc(&t), paths::PROC_CMDLINE.into()),
        Err(_) => (String::new(), "nowhere (no /etc/kernel/cmdline, no /proc/cmdline)".into()),
    }
}

fn source_word(e: &BootEntry) -> &'static str {
    match e.source {
        crate::boot::Source::Bls => "BLS",
        crate::boot::Source::Uki => "UKI",
        crate::boot::Source::Vmlinuz => "boot",
    }
}

impl Plan {
    /// Make the plan for `entry`; fails when the command line is too long for
    /// the image.
    pub fn build(root: &Root, entry: &BootEntry, opts: &PlanOptions) -> Result<Plan, Error> {
        let (base, source) = base_cmdline(root, entry);
        let line = cmdline::edit(&base, opts.cmdline.as_deref(), &opts.remove, &opts.append);
        let source = if opts.cmdline.is_some() { "--cmdline".to_owned() } else { source };
        if let Some(max) = entry.cmdline_size {
            if line.len() > max as usize {
                return Err(Error::CmdlineTooLong { len: line.len(), max, kernel: entry.kernel.clone() });
            }
        }
        let initrds = if opts.no_initrd {
            Vec::new()
        } else if !opts.initrds.is_empty() {
            opts.initrds.clone()
        } else {
            entry.initrds.clone()
        };
        let choice = super::syscall::predict(&super::KexecState::read(root), super::preflight::running_arch().0);
        Ok(Plan {
            syscall: choice.syscall,
            syscall_reason: choice.reason,
            id: entry.id.clone(),
            version: entry.version.clone(),
            kernel: entry.kernel.clone(),
            initrds,
            cmdline: line,
            cmdline_source: source,
            mode: None,
            entry: entry.clone(),
        })
    }
}
