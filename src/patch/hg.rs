//! Mercurial with Mercurial Queues, the original home of mkpatch: the patch
//! is the top applied MQ patch and its content is `hg qdiff`.

use std::ffi::OsString;

use super::name::{self, UrlKind};
use super::repo::{Identity, Repo};
use super::tool::Tool;
use super::{Error, Result};

/// The top applied patch (always asked, so that a saved file is always the
/// diff of an applied patch), the repository name and `mkpatch.patchdir`.
pub(crate) fn identify(repo: &Repo, name: Option<&str>) -> Result<Identity> {
    let hg = Tool::hg(&repo.cwd);
    // Each hg run is mostly Python start-up, so the three questions are asked
    // at once; qtop's answer is looked at first, as its failure says most.
    let (top, default_path, configured_patchdir) = std::thread::scope(|s| {
        let default_path = s.spawn(|| hg.optional_line(["paths", "default"]));
        let configured = s.spawn(|| hg.optional_line(["config", "mkpatch.patchdir"]));
        let top = qtop(repo, &hg);
        (top, joined(default_path.join()), joined(configured.join()))
    });
    let patch_name = name.map_or(top?, str::to_owned);
    // `hg paths default` gives the path expanded as Mercurial uses it; exit 1
    // ("not found!") means there is no default path.
    let repo_name = default_path?
        .and_then(|url| name::repo_name_from_url(&url, UrlKind::Mercurial))
        .or_else(|| name::repo_name_from_dir(&repo.root))
        .ok_or_else(|| Error::NoRepoName { root: repo.root.clone() })?;
    Ok(Identity { patch_name, repo_name, configured_patchdir: configured_patchdir? })
}

/// The result of a scoped thread; a panic there is carried on, not hidden.
fn joined<T>(r: std::thread::Result<T>) -> T {
    r.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

/// `hg qtop`: exit 1 is "no patches applied", and an unknown command means
/// the mq extension is off (the one case where hg's own message is unclear).
fn qtop(repo: &Repo, hg: &Tool<'_>) -> Result<String> {
    let ran = hg.run(["qtop"])?;
    match ran.code {
        Some(0) => {
            let top = ran.first_line()?;
            if top.is_empty() {
                Err(Error::NoAppliedPatch { root: repo.root.clone() })
            } else {
                Ok(top)
            }
        }
        Some(1) => Err(Error::NoAppliedPatch { root: repo.root.clone() }),
        _ if String::from_utf8_lossy(&ran.stderr).contains("unknown command 'qtop'") => Err(Error::MqNotEnabled),
        _ => Err(ran.failure()),
    }
}

/// `hg qdiff [EXTRA...]`: the applied patch plus what is not refreshed yet.
pub(crate) fn diff(repo: &Repo, extra: &[OsString]) -> Result<Vec<u8>> {
    let mut args: Vec<OsString> = vec!["qdiff".into()];
    args.extend(extra.iter().cloned());
    Tool::hg(&repo.cwd).stdout(&args)
}
