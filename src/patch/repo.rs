//! Which repository we are in, and what it knows: the patch name, the
//! repository name, the configured patch directory and the patch content.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{git, hg, Error, Result};

/// The version control system of a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vcs {
    Mercurial,
    Git,
}

impl Vcs {
    pub fn name(self) -> &'static str {
        match self {
            Vcs::Mercurial => "Mercurial",
            Vcs::Git => "Git",
        }
    }
}

/// What a Git patch contains (Mercurial always takes `hg qdiff`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GitSelection {
    /// Everything since the merge base with the upstream, or with `--base REV`,
    /// committed or not: `git diff $(git merge-base BASE HEAD)`.
    #[default]
    Branch,
    /// Like `Branch`, against `git merge-base REV HEAD`.
    Base(String),
    /// Only what is not committed: `git diff HEAD`.
    Uncommitted,
    /// Only the index: `git diff --cached`.
    Staged,
}

/// A repository found above a directory; commands run in that directory so
/// that file patterns given after `--` mean what the person meant.
#[derive(Debug, Clone)]
pub struct Repo {
    pub vcs: Vcs,
    /// The directory holding `.hg` or `.git`.
    pub root: PathBuf,
    /// Where the person ran us.
    pub cwd: PathBuf,
}

/// The names a repository knows, asked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub patch_name: String,
    pub repo_name: String,
    /// `mkpatch.patchdir` from the VCS configuration, unexpanded.
    pub configured_patchdir: Option<String>,
}

impl Repo {
    /// The innermost repository at or above `cwd`: the nearest directory with
    /// `.hg` (a directory) or `.git` (a directory, or a file for worktrees
    /// and submodules). When both are in one directory Mercurial wins, as
    /// mkpatch began as a Mercurial Queues tool.
    pub fn detect(cwd: &Path) -> Result<Repo> {
        for dir in cwd.ancestors() {
            if dir.join(".hg").is_dir() {
                return Ok(Repo { vcs: Vcs::Mercurial, root: dir.to_owned(), cwd: cwd.to_owned() });
            }
            if dir.join(".git").exists() {
                return Ok(Repo { vcs: Vcs::Git, root: dir.to_owned(), cwd: cwd.to_owned() });
            }
        }
        Err(Error::NoRepository { dir: cwd.to_owned() })
    }

    /// Ask the repository for its names. `name` overrides the patch name (for
    /// a detached Git HEAD, or to file an MQ patch under another name).
    pub fn identify(&self, name: Option<&str>) -> Result<Identity> {
        match self.vcs {
            Vcs::Mercurial => hg::identify(self, name),
            Vcs::Git => git::identify(self, name),
        }
    }

    /// The patch content, never empty. `extra` goes to `hg qdiff` / `git diff`
    /// after our own options (e.g. `--git -U 8`, file patterns).
    pub fn diff(&self, selection: &GitSelection, extra: &[OsString]) -> Result<Vec<u8>> {
        let content = match self.vcs {
            Vcs::Mercurial => hg::diff(self, extra)?,
            Vcs::Git => git::diff(self, selection, extra)?,
        };
        if content.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::EmptyDiff);
        }
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn innermost_repository_wins() {
        let t = tempfile::tempdir().unwrap();
        let outer = t.path();
        let inner = outer.join("vendor/lib");
        std::fs::create_dir_all(inner.join(".hg")).unwrap();
        std::fs::create_dir_all(outer.join(".git")).unwrap();
        std::fs::create_dir_all(inner.join("src")).unwrap();
        let r = Repo::detect(&inner.join("src")).unwrap();
        assert_eq!((r.vcs, r.root.as_path()), (Vcs::Mercurial, inner.as_path()));
        let r = Repo::detect(&outer.join("vendor")).unwrap();
        assert_eq!((r.vcs, r.root.as_path()), (Vcs::Git, outer));
    }

    #[test]
    fn git_worktree_file_counts_as_a_repository() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join(".git"), "gitdir: /elsewhere\n").unwrap();
        assert_eq!(Repo::detect(t.path()).unwrap().vcs, Vcs::Git);
    }

    #[test]
    fn plain_directory_is_no_repository() {
        let t = tempfile::tempdir().unwrap();
        // Guard: the claim only holds when nothing above the temp dir is a repository.
        if t.path().ancestors().any(|d| d.join(".git").exists() || d.join(".hg").is_dir()) {
            panic!("a repository encloses {}; set TMPDIR elsewhere", t.path().display());
        }
        assert!(matches!(Repo::detect(t.path()), Err(Error::NoRepository { .. })));
    }
}
