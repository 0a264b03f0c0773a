//! `mkpatch`: save the current patch of a Mercurial (MQ) or Git repository as
//! `<patch>-<repo>.patch` in a patch directory, without typing either name.
//!
//! The flow is: [`Repo::detect`] finds the innermost repository above a
//! directory; [`Repo::identify`] asks the VCS for the patch name, the
//! repository name and the configured patch directory; [`Repo::diff`] gets the
//! content; [`store`] resolves the directory, deduplicates against the saved
//! versions and saves with create-new semantics. Every step before
//! [`store::save`] only reads, so a failure anywhere writes nothing.
//!
//! `hg` and `git` are always run with argument vectors, never through a shell.

use std::io;
use std::path::PathBuf;

pub mod compare;
mod git;
mod hg;
pub mod name;
mod repo;
pub mod store;
mod tool;

pub use repo::{GitSelection, Repo, Vcs};
pub use store::Saved;

/// Every way `mkpatch` can fail, one variant per failure point.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the current directory")]
    CurrentDir(#[source] io::Error),

    #[error("not inside a Mercurial or Git repository: no .hg or .git in {dir} or above")]
    NoRepository { dir: PathBuf },

    #[error("cannot run `{program}` (is it installed?)")]
    Spawn {
        program: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("`{command}` failed ({status}): {message}")]
    ToolFailed { command: String, status: String, message: String },

    #[error("`{command}` printed a {what} that is not UTF-8")]
    NotUtf8 { command: String, what: &'static str },

    #[error("the Mercurial Queues extension is not enabled: add `mq =` under [extensions] in your hgrc")]
    MqNotEnabled,

    #[error("no MQ patch is applied in {root} (push one with `hg qpush`)")]
    NoAppliedPatch { root: PathBuf },

    #[error("HEAD is detached in {root}: give the patch name with --name")]
    DetachedHead { root: PathBuf },

    #[error(
        "branch {branch:?} has no upstream: give --base REV (e.g. --base origin/main), \
         or use --uncommitted or --staged"
    )]
    NoUpstream { branch: String },

    #[error("the patch name {name:?} cannot be used in a file name")]
    BadPatchName { name: String },

    #[error("cannot tell the repository name from {root}")]
    NoRepoName { root: PathBuf },

    #[error("the diff is empty: nothing to save")]
    EmptyDiff,

    #[error("HOME is not set, so {path} cannot be expanded: give --patchdir")]
    NoHome { path: PathBuf },

    #[error("the patch directory {path} exists and is not a directory")]
    NotADirectory { path: PathBuf },

    #[error("cannot read the patch directory {path}")]
    Inspect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot create the patch directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot read the saved version {path}")]
    ReadVersion {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot write the temporary file {path}")]
    WriteTemp {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot save {path}")]
    Publish {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("no free version number left for {path}")]
    NoFreeSlot { path: PathBuf },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
