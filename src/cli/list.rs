//! Glue of `kexec-chooser list`: every boot entry, for people or as JSON.

use clap::Args;

use super::Ctx;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array, newest first.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_ctx: &Ctx, _args: &ListArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`list` is not implemented yet")
}
