//! Names: the repository name from a remote URL or a directory, and the one
//! file-name component `<patch>-<repo>.patch` built from the two names.

use std::fmt;
use std::path::Path;

use super::{Error, Result};

/// Which URL forms the VCS accepts, since they differ on `host:path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// Mercurial: `scheme://...`, local paths, and a `#branch` fragment.
    Mercurial,
    /// Git: `scheme://...`, local paths, and scp-like `[user@]host:path`.
    Git,
}

impl UrlKind {
    fn suffix(self) -> &'static str {
        match self {
            UrlKind::Mercurial => ".hg",
            UrlKind::Git => ".git",
        }
    }
}

/// The repository name a remote URL points at: its last path component,
/// without trailing `/`, without the VCS suffix (`repo.git`, `repo/.git`).
/// None when the URL has no usable component (e.g. `https://host/`).
pub fn repo_name_from_url(url: &str, kind: UrlKind) -> Option<String> {
    let url = url.trim();
    let path = if let Some(pos) = url.find("://") {
        let rest = url.get(pos + 3..)?;
        // The path starts after the authority; a URL without one has no name.
        let rest = rest.get(rest.find('/')?..)?;
        cut_at(cut_at(rest, '#'), '?')
    } else if kind == UrlKind::Git && is_scp_like(url) {
        url.split_once(':').map(|(_, p)| p)?
    } else if kind == UrlKind::Mercurial {
        cut_at(url, '#')
    } else {
        url
    };
    let suffix = kind.suffix();
    let mut parts = path.split('/').filter(|p| !p.is_empty() && *p != ".");
    let mut last = parts.next_back()?;
    if last == suffix {
        // `/srv/repo/.git`: the repository is the directory holding it.
        last = parts.next_back()?;
    }
    let name = last.strip_suffix(suffix).filter(|n| !n.is_empty()).unwrap_or(last);
    usable(name).then(|| name.to_owned())
}

/// Git's rule: `host:path` is scp-like when a colon comes before any slash.
fn is_scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(c), Some(s)) => c < s,
        (Some(_), None) => true,
        _ => false,
    }
}

fn cut_at(s: &str, c: char) -> &str {
    s.split_once(c).map_or(s, |(head, _)| head)
}

/// The repository name when there is no remote: the root directory's name.
pub fn repo_name_from_dir(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    usable(name).then(|| name.to_owned())
}

fn usable(name: &str) -> bool {
    !name.is_empty() && name != ".." && !name.contains('\0')
}

/// Which of the two names a [`Renamed`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePart {
    Patch,
    Repository,
}

impl fmt::Display for NamePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NamePart::Patch => "patch name",
            NamePart::Repository => "repository name",
        })
    }
}

/// A name that had to change to go into a file name, for the person to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub part: NamePart,
    pub from: String,
    pub to: String,
}

/// The file name to save under, and the names that were changed to make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub name: String,
    pub renamed: Vec<Renamed>,
}

/// `<patch>-<repo>.patch`, a single file-name component. A `/` in the patch
/// name (MQ `sub/bug1`, Git `feature/x`) becomes `-` so the file stays in the
/// patch directory instead of a subdirectory that may not exist. Control
/// characters (which the remote's URL or the repository's directory can
/// hold: they would drive a terminal in every `ls`) become `_`, and the
/// change is given back in [`FileName::renamed`].
pub fn file_name(patch: &str, repo: &str) -> Result<FileName> {
    let patch_part = patch.trim().replace('/', "-");
    if patch_part.is_empty() || patch_part.contains('\0') {
        return Err(Error::BadPatchName { name: patch.to_owned() });
    }
    let mut renamed = Vec::new();
    let mut fit = |part: NamePart, name: String| {
        if !name.chars().any(crate::text::needs_escape) {
            return name;
        }
        let to: String = name.chars().map(|c| if crate::text::needs_escape(c) { '_' } else { c }).collect();
        renamed.push(Renamed { part, from: name, to: to.clone() });
        to
    };
    let patch_part = fit(NamePart::Patch, patch_part);
    let repo_part = fit(NamePart::Repository, repo.replace('/', "-"));
    Ok(FileName { name: format!("{patch_part}-{repo_part}.patch"), renamed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(url: &str) -> Option<String> {
        repo_name_from_url(url, UrlKind::Git)
    }
    fn hg(url: &str) -> Option<String> {
        repo_name_from_url(url, UrlKind::Mercurial)
    }

    #[test]
    fn git_url_forms_all_give_the_last_component_without_dot_git() {
        assert_eq!(git("https://github.com/owner/tool.git").as_deref(), Some("tool"));
        assert_eq!(git("https://github.com/owner/tool").as_deref(), Some("tool"));
        assert_eq!(git("git@github.com:owner/tool.git").as_deref(), Some("tool"));
        assert_eq!(git("host:tool.git").as_deref(), Some("tool"));
        assert_eq!(git("host:tool.git/").as_deref(), Some("tool"));
        assert_eq!(git("ssh://git@host:2222/srv/tool.git/").as_deref(), Some("tool"));
        assert_eq!(git("/srv/git/tool.git//").as_deref(), Some("tool"));
        assert_eq!(git("/home/me/tool/.git").as_deref(), Some("tool"));
        assert_eq!(git("file:///home/me/tool").as_deref(), Some("tool"));
        assert_eq!(git("../tool").as_deref(), Some("tool"));
    }

    #[test]
    fn url_without_a_path_has_no_name() {
        assert_eq!(git("https://host/"), None);
        assert_eq!(git("https://host"), None);
        assert_eq!(git("host:"), None);
        assert_eq!(git(""), None);
        assert_eq!(hg("/"), None);
    }

    #[test]
    fn dot_git_alone_is_kept_as_a_name_not_emptied() {
        assert_eq!(git("/srv/.git.git").as_deref(), Some(".git"));
    }

    #[test]
    fn hg_urls_drop_trailing_slash_dot_hg_and_branch_fragment() {
        assert_eq!(hg("https://hg.mozilla.org/build/buildbot-configs/").as_deref(), Some("buildbot-configs"));
        assert_eq!(hg("https://hg.example.org/repo#stable").as_deref(), Some("repo"));
        assert_eq!(hg("ssh://hg@host//abs/path/repo.hg").as_deref(), Some("repo"));
        assert_eq!(hg("/home/me/src/repo/.hg").as_deref(), Some("repo"));
        // Mercurial has no scp-like syntax: a colon is part of the name.
        assert_eq!(hg("odd:name").as_deref(), Some("odd:name"));
    }

    fn plain(patch: &str, repo: &str) -> Option<String> {
        file_name(patch, repo).ok().filter(|f| f.renamed.is_empty()).map(|f| f.name)
    }

    #[test]
    fn slash_in_patch_name_stays_in_one_component() {
        assert_eq!(plain("feature/x", "tool").as_deref(), Some("feature-x-tool.patch"));
        assert_eq!(plain("bug468731", "buildbotcustom").as_deref(), Some("bug468731-buildbotcustom.patch"));
    }

    #[test]
    fn control_characters_never_reach_the_file_name_and_the_change_is_told() {
        let f = file_name("bug\u{9b}1", &git("https://h/to\x1b]0;x\x07ol.git").unwrap()).unwrap();
        assert_eq!(f.name, "bug_1-to_]0;x_ol.patch");
        assert_eq!(
            f.renamed,
            [
                Renamed { part: NamePart::Patch, from: "bug\u{9b}1".into(), to: "bug_1".into() },
                Renamed { part: NamePart::Repository, from: "to\x1b]0;x\x07ol".into(), to: "to_]0;x_ol".into() },
            ]
        );
    }

    #[test]
    fn empty_patch_name_is_refused() {
        assert!(matches!(file_name("  ", "tool"), Err(Error::BadPatchName { .. })));
        assert!(matches!(file_name("a\0b", "tool"), Err(Error::BadPatchName { .. })));
    }

    #[test]
    fn dir_name_is_the_last_component() {
        assert_eq!(repo_name_from_dir(Path::new("/home/me/src/tool")).as_deref(), Some("tool"));
        assert_eq!(repo_name_from_dir(Path::new("/")), None);
    }
}
