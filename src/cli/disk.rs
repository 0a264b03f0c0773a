//! Glue of `kexec-chooser disk`: disk-space checks.

use clap::Args;

use super::Ctx;

/// Bad arguments are UNKNOWN (3) by the monitoring-plugins convention.
pub const USAGE_EXIT_CODE: u8 = 3;

/// Arguments of `disk` (to be filled in by its issue).
#[derive(Debug, Args)]
pub struct DiskArgs {}

pub fn run(_ctx: &Ctx, _args: &DiskArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`disk` is not implemented yet")
}
