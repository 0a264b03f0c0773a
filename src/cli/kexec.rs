//! Glue of the kexec side: `load`, `unload`, `exec`, `status`, and the hand-over
//! that ends `reboot`.

use clap::{Args, ValueEnum};

use super::Ctx;
use crate::kexec::Plan;

/// How the loaded kernel is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `systemd` when /run/systemd/system exists, else `direct`.
    Auto,
    /// `systemctl kexec`: systemd stops every unit and unmounts.
    Systemd,
    /// kexec-chooser's own clean shutdown, for machines without systemd.
    Direct,
}

/// Seconds processes get between SIGTERM and SIGKILL in direct mode.
pub const DEFAULT_TIMEOUT: u64 = 10;

/// Options of the hand-over, shared by `reboot` and `exec`.
#[derive(Debug, Clone, Args)]
pub struct HandoverArgs {
    /// How to hand over to the loaded kernel.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Seconds that processes get between SIGTERM and SIGKILL in direct mode.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub handover: HandoverArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for programs.
    #[arg(long)]
    pub json: bool,
}

/// Load `plan` and, unless `load_only`, hand over to it.
pub fn load_and_handover(
    _ctx: &Ctx,
    _plan: &Plan,
    _handover: Option<&HandoverArgs>,
) -> anyhow::Result<u8> {
    anyhow::bail!("loading a kernel is not implemented yet")
}

pub fn unload(_ctx: &Ctx) -> anyhow::Result<u8> {
    anyhow::bail!("`unload` is not implemented yet")
}

pub fn exec(_ctx: &Ctx, _args: &ExecArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`exec` is not implemented yet")
}

pub fn status(_ctx: &Ctx, _args: &StatusArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`status` is not implemented yet")
}

/// The mode `auto` resolves to under `root`.
pub fn resolve_mode(ctx: &Ctx, mode: Mode) -> Mode {
    match mode {
        Mode::Auto if ctx.root.path("/run/systemd/system").is_dir() => Mode::Systemd,
        Mode::Auto => Mode::Direct,
        m => m,
    }
}
