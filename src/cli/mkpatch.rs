//! Glue of `kexec-chooser mkpatch`: save the current patch of the Mercurial
//! (MQ) or Git repository we are in as `<patch>-<repo>.patch`.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Args};

use super::{exit, Ctx, ExitError};
use crate::patch::{self, store, GitSelection, Repo, Saved, Vcs};
use crate::text;

const AFTER_HELP: &str = "\
Mercurial: the patch is the top applied MQ patch (hg qtop), the content is
`hg qdiff` with the options after `--`. Git: the patch is the current branch,
the content is everything since the merge base with the upstream (or --base),
committed or not; untracked files are not part of a Git diff (git add -N them).

Exit status:
  0  saved, or identical to a saved version (nothing written), or listed
  1  no repository, no applied MQ patch, detached HEAD, no upstream, empty
     diff, hg/git failed, the patch directory is unusable
  2  bad usage (e.g. a Git-only option in a Mercurial repository)

Examples:
  kexec-chooser mkpatch                     save bug123-repo.patch in ~/patches
  kexec-chooser mkpatch -- --git -U 8       hg qdiff --git -U 8
  kexec-chooser mkpatch --base origin/main  Git branch without an upstream
  kexec-chooser mkpatch --list              saved versions, newest first";

/// Arguments of `mkpatch`.
#[derive(Debug, Args)]
#[command(
    after_help = AFTER_HELP,
    group = ArgGroup::new("git_content").args(["base", "uncommitted", "staged"]).multiple(false)
)]
pub struct MkpatchArgs {
    /// Save into DIR (default: `mkpatch.patchdir` from the hg/git config, else ~/patches).
    #[arg(long, value_name = "DIR")]
    pub patchdir: Option<PathBuf>,

    /// Patch name instead of the MQ patch or Git branch (needed on a detached HEAD).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Git: diff from the merge base with REV instead of the upstream.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Git: only what is not committed (`git diff HEAD`).
    #[arg(long)]
    pub uncommitted: bool,

    /// Git: only what is staged (`git diff --cached`).
    #[arg(long)]
    pub staged: bool,

    /// List the saved versions of the current patch, newest first, instead of saving.
    #[arg(long, conflicts_with_all = ["git_content", "diff_args"])]
    pub list: bool,

    /// Options and file patterns for `hg qdiff` (or `git diff`), after `--`.
    #[arg(last = true, value_name = "DIFF-ARGS", allow_hyphen_values = true)]
    pub diff_args: Vec<OsString>,
}

impl MkpatchArgs {
    fn git_selection(&self) -> GitSelection {
        match (&self.base, self.uncommitted, self.staged) {
            (Some(rev), _, _) => GitSelection::Base(rev.clone()),
            (None, true, _) => GitSelection::Uncommitted,
            (None, false, true) => GitSelection::Staged,
            (None, false, false) => GitSelection::Branch,
        }
    }

    /// The first Git-only option given, to refuse it in a Mercurial repository.
    fn git_only_option(&self) -> Option<&'static str> {
        if self.base.is_some() {
            Some("--base")
        } else if self.uncommitted {
            Some("--uncommitted")
        } else if self.staged {
            Some("--staged")
        } else {
            None
        }
    }
}

pub fn run(_ctx: &Ctx, args: &MkpatchArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().map_err(patch::Error::CurrentDir)?;
    let repo = Repo::detect(&cwd)?;
    if repo.vcs == Vcs::Mercurial {
        if let Some(opt) = args.git_only_option() {
            return Err(ExitError::new(
                exit::USAGE,
                format!("{opt} only applies to Git repositories; {} is a Mercurial repository", repo.root.display()),
            )
            .into());
        }
    }
    let id = repo.identify(args.name.as_deref()).with_context(|| {
        format!("cannot name the patch of the {} repository {}", repo.vcs.name(), repo.root.display())
    })?;
    let file = patch::name::file_name(&id.patch_name, &id.repo_name)?;
    for r in &file.renamed {
        let _ = crate::say!(
            std::io::stderr(),
            "the {} \"{}\" holds control characters, which are not put in a file name: it is written \"{}\"",
            r.part,
            text::escape(&r.from),
            r.to
        );
    }
    let base = file.name;
    let home = std::env::var_os("HOME");
    let dir = store::resolve_patchdir(args.patchdir.as_deref(), id.configured_patchdir.as_deref(), home.as_deref())?;

    let mut out = std::io::stdout().lock();
    if args.list {
        let versions = store::versions(&dir, &base)?;
        if versions.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = crate::say!(err, "no saved version of {}", text::path(&dir.join(&base)));
        }
        for v in versions {
            writeln!(out, "{}", text::path(&v.path))?;
        }
        return Ok(exit::OK);
    }

    // Everything up to here only read; fail on a bad directory before the diff runs.
    store::check_patchdir(&dir)?;
    let content = repo.diff(&args.git_selection(), &args.diff_args)?;
    store::ensure_patchdir(&dir)?;
    match store::save(&dir, &base, &content)? {
        Saved::New(path) => writeln!(out, "Patch saved to {}", text::path(&path))?,
        Saved::Identical(path) => writeln!(out, "Patch is identical to {}; not saving", text::path(&path))?,
    }
    Ok(exit::OK)
}
