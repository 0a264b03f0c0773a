//! Glue of `kexec-chooser upload`: streaming multipart uploads.

use clap::Args;

use super::Ctx;

/// Arguments of `upload` (to be filled in by its issue).
#[derive(Debug, Args)]
pub struct UploadArgs {}

pub fn run(_ctx: &Ctx, _args: &UploadArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`upload` is not implemented yet")
}
