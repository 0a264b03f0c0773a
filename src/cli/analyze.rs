//! Glue of `kexec-chooser analyze`: performance regression detection.

use clap::Args;

use super::Ctx;

/// Arguments of `analyze` (to be filled in by its issue).
#[derive(Debug, Args)]
pub struct AnalyzeArgs {}

pub fn run(_ctx: &Ctx, _args: &AnalyzeArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`analyze` is not implemented yet")
}
