//! Glue of `kexec-chooser mkpatch`: saving the current patch.

use clap::Args;

use super::Ctx;

/// Arguments of `mkpatch` (to be filled in by its issue).
#[derive(Debug, Args)]
pub struct MkpatchArgs {}

pub fn run(_ctx: &Ctx, _args: &MkpatchArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`mkpatch` is not implemented yet")
}
