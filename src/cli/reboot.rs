//! Glue of `kexec-chooser reboot` and `load`: pick an entry (selector or menu),
//! make the plan, then print it (`--dry-run`) or hand it to the kexec side.

use std::path::PathBuf;

use clap::Args;

use super::kexec::HandoverArgs;
use super::Ctx;

/// What to load: the entry and the changes to its initrds and command line.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The kernel: a version, an id from `list`, `latest`, `running`, `default`,
    /// or a path to a kernel file. Without it, a menu on a terminal.
    #[arg(value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Add words to the command line (a later key=value replaces an earlier one).
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub append: Vec<String>,
    /// Drop every word with this key from the command line.
    #[arg(long, value_name = "KEY")]
    pub remove: Vec<String>,
    /// Replace the whole command line.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub cmdline: Option<String>,
    /// Use this initrd instead of the entry's (repeat for several, in order).
    #[arg(long, value_name = "PATH", conflicts_with = "no_initrd")]
    pub initrd: Vec<PathBuf>,
    /// Load no initrd at all.
    #[arg(long)]
    pub no_initrd: bool,
    /// Go on despite a missing modules directory or a command line without root=.
    #[arg(long)]
    pub force: bool,
    /// Print the plan and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run, print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RebootArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub handover: HandoverArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
}

pub fn run(_ctx: &Ctx, _args: &RebootArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`reboot` is not implemented yet")
}

pub fn load(_ctx: &Ctx, _args: &LoadArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`load` is not implemented yet")
}
