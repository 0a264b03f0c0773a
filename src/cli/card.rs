//! Glue of `kexec-chooser card`: card-number validation.

use clap::Args;

use super::Ctx;

/// Arguments of `card` (to be filled in by its issue).
#[derive(Debug, Args)]
pub struct CardArgs {}

pub fn run(_ctx: &Ctx, _args: &CardArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`card` is not implemented yet")
}
