//! Git: the patch is the current branch and its content a `git diff` against
//! the merge base with the upstream (or `--base`), the HEAD, or the index.

use std::ffi::OsString;
use std::path::PathBuf;

use super::name::{self, UrlKind};
use super::repo::{GitSelection, Identity, Repo};
use super::tool::Tool;
use super::{Error, Result};

/// Options that make `git diff` output the same whatever the person's
/// configuration says: a patch that `git apply` takes, with a/ b/ prefixes,
/// whole-tree paths, binary hunks, no colour, no external diff driver.
const DIFF_OPTIONS: [&str; 7] =
    ["--binary", "--no-color", "--no-ext-diff", "--no-textconv", "--no-relative", "--src-prefix=a/", "--dst-prefix=b/"];

pub(crate) fn identify(repo: &Repo, name: Option<&str>) -> Result<Identity> {
    let git = Tool::git(&repo.cwd);
    let top = PathBuf::from(git.line(["rev-parse", "--show-toplevel"])?);
    let patch_name = match name {
        Some(n) => n.to_owned(),
        None => git
            .optional_line(["symbolic-ref", "--short", "-q", "HEAD"])?
            .ok_or_else(|| Error::DetachedHead { root: top.clone() })?,
    };
    let repo_name = git
        .optional_line(["config", "--get", "remote.origin.url"])?
        .and_then(|url| name::repo_name_from_url(&url, UrlKind::Git))
        .or_else(|| name::repo_name_from_dir(&top))
        .ok_or_else(|| Error::NoRepoName { root: top.clone() })?;
    let configured_patchdir = git.optional_line(["config", "--get", "mkpatch.patchdir"])?;
    Ok(Identity { patch_name, repo_name, configured_patchdir })
}

pub(crate) fn diff(repo: &Repo, selection: &GitSelection, extra: &[OsString]) -> Result<Vec<u8>> {
    let git = Tool::git(&repo.cwd);
    let mut args: Vec<OsString> = vec!["diff".into()];
    args.extend(DIFF_OPTIONS.iter().map(OsString::from));
    match selection {
        GitSelection::Branch => {
            // Without an upstream there is no honest default base: say so
            // rather than guess at origin/main.
            let upstream = git.run(["rev-parse", "--verify", "--quiet", "@{upstream}"])?;
            if upstream.code != Some(0) {
                let branch =
                    git.optional_line(["symbolic-ref", "--short", "-q", "HEAD"])?.unwrap_or_else(|| "HEAD".to_owned());
                return Err(Error::NoUpstream { branch });
            }
            args.push(merge_base(&git, "@{upstream}")?.into());
        }
        GitSelection::Base(rev) => args.push(merge_base(&git, rev)?.into()),
        GitSelection::Uncommitted => args.push("HEAD".into()),
        GitSelection::Staged => args.push("--cached".into()),
    }
    args.extend(extra.iter().cloned());
    git.stdout(&args)
}

/// `git merge-base REV HEAD`; `--end-of-options` keeps a REV that starts
/// with `-` from being read as an option.
fn merge_base(git: &Tool<'_>, rev: &str) -> Result<String> {
    git.line(["merge-base", "--end-of-options", rev, "HEAD"])
}
