//! Integration tests of `mkpatch` with the real `hg` (Debian's mercurial, mq
//! enabled by the test's own HGRCPATH) and the real `git`, in temporary
//! repositories with a temporary HOME. A missing `hg` or `git` fails these
//! tests: scripts/setup.d/30-mkpatch.sh installs both.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::{bin, stderr, stdout};

/// A sandbox: HOME, an hgrc with mq, a Git identity, nothing from the host.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("temp dir");
        fs::create_dir(tmp.path().join("home")).unwrap();
        fs::write(tmp.path().join("hgrc"), "[extensions]\nmq =\n[ui]\nusername = Test <test@example.invalid>\n")
            .unwrap();
        let s = Sandbox { tmp };
        assert!(
            !s.path().ancestors().skip(1).any(|d| d.join(".git").exists() || d.join(".hg").is_dir()),
            "a repository encloses {}: the tests need a TMPDIR outside any repository",
            s.path().display()
        );
        s
    }

    fn path(&self) -> &Path {
        self.tmp.path()
    }

    fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    fn patches(&self) -> PathBuf {
        self.home().join("patches")
    }

    fn env(&self, cmd: &mut Command) {
        for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "HGPLAIN", "HGPLAINEXCEPT", "HGUSER"] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("HGRCPATH", self.path().join("hgrc"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
            .env("LC_ALL", "C")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
    }

    /// Run a VCS command and require success; a missing program fails the test.
    fn tool(&self, program: &str, dir: &Path, args: &[&str]) -> Vec<u8> {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir).args(args);
        self.env(&mut cmd);
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} ({e}): install it with scripts/setup.d/30-mkpatch.sh"));
        assert!(out.status.success(), "{program} {args:?} in {}: {}", dir.display(), stderr(&out));
        out.stdout
    }

    fn hg(&self, dir: &Path, args: &[&str]) -> Vec<u8> {
        self.tool("hg", dir, args)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Vec<u8> {
        self.tool("git", dir, args)
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.current_dir(dir).arg("mkpatch").args(args);
        self.env(&mut cmd);
        cmd
    }

    fn mkpatch(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(dir, args).output().expect("run kexec-chooser mkpatch")
    }

    fn spawn(&self, dir: &Path, args: &[&str]) -> Child {
        self.command(dir, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn mkpatch")
    }

    /// `upstream` (one commit) and `work` cloned from it, with an applied MQ
    /// patch `bug468731` holding a refreshed and an unrefreshed change.
    fn hg_repos(&self, upstream_name: &str) -> (PathBuf, PathBuf) {
        let up = self.path().join(upstream_name);
        fs::create_dir(&up).unwrap();
        self.hg(&up, &["init"]);
        fs::write(up.join("a.txt"), "one\ntwo\nthree\n").unwrap();
        fs::write(up.join("gone.txt"), "to be removed\n").unwrap();
        self.hg(&up, &["commit", "-Am", "init", "-q"]);
        let work = self.path().join("work");
        self.hg(self.path(), &["clone", "-q", upstream_name, "work"]);
        self.hg(&work, &["qnew", "bug468731"]);
        fs::write(work.join("a.txt"), "one\n2\nthree\n").unwrap();
        self.hg(&work, &["qrefresh"]);
        fs::write(work.join("new.txt"), "added\n").unwrap();
        self.hg(&work, &["add", "new.txt"]);
        self.hg(&work, &["rm", "-q", "gone.txt"]);
        (up, work)
    }

    /// A bare `tool.git`, a clone `work` on branch `bug42` tracking
    /// origin/main, with a commit, a staged change and an unstaged change.
    fn git_repos(&self) -> (PathBuf, PathBuf) {
        let seed = self.path().join("seed");
        fs::create_dir(&seed).unwrap();
        self.git(&seed, &["init", "-q", "-b", "main"]);
        fs::write(seed.join("a.txt"), "one\ntwo\nthree\n").unwrap();
        fs::write(seed.join("gone.txt"), "to be removed\n").unwrap();
        self.git(&seed, &["add", "."]);
        self.git(&seed, &["commit", "-qm", "init"]);
        self.git(self.path(), &["clone", "-q", "--bare", "seed", "tool.git"]);
        self.git(self.path(), &["clone", "-q", "tool.git", "work"]);
        let work = self.path().join("work");
        self.git(&work, &["checkout", "-q", "-b", "bug42", "--track", "origin/main"]);
        fs::write(work.join("a.txt"), "one\n2\nthree\n").unwrap();
        self.git(&work, &["commit", "-qam", "committed change"]);
        fs::write(work.join("bin.dat"), [0u8, 1, 2, 255, 0, 10, 13]).unwrap();
        self.git(&work, &["add", "bin.dat"]);
        self.git(&work, &["rm", "-q", "gone.txt"]);
        fs::write(work.join("a.txt"), "one\n2\nthree\nfour (unstaged)\n").unwrap();
        (self.path().join("tool.git"), work)
    }
}

/// Every file under `dir` but the VCS metadata, path → content.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == ".hg" || name == ".git" {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "mkpatch failed: {}{}", stdout(o), stderr(o));
    stdout(o)
}

fn saved(o: &Output) -> PathBuf {
    let out = ok(o);
    let path = out.trim_end().strip_prefix("Patch saved to ").unwrap_or_else(|| panic!("not a save message: {out:?}"));
    PathBuf::from(path)
}

/// The run failed with exit 1, said `needle`, and wrote no patch directory.
fn refused(s: &Sandbox, o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(1), "stdout {} stderr {}", stdout(o), stderr(o));
    assert!(stderr(o).contains(needle), "stderr lacks {needle:?}: {}", stderr(o));
    assert!(stdout(o).is_empty(), "nothing on stdout: {}", stdout(o));
    assert!(!s.patches().exists(), "nothing may be written on error");
}

// ---------------------------------------------------------------- Mercurial

#[test]
fn hg_patch_is_named_after_qtop_and_default_path_and_applies_to_a_fresh_clone() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("buildbot-configs");
    let file = saved(&s.mkpatch(&work, &[]));
    assert_eq!(file, s.patches().join("bug468731-buildbot-configs.patch"));
    let content = fs::read(&file).unwrap();
    assert!(String::from_utf8_lossy(&content).contains("+2\n"), "qdiff content: {}", String::from_utf8_lossy(&content));

    s.hg(s.path(), &["clone", "-q", "buildbot-configs", "fresh"]);
    let fresh = s.path().join("fresh");
    s.hg(&fresh, &["import", "--no-commit", file.to_str().unwrap()]);
    assert_eq!(tree(&fresh), tree(&work));
}

#[test]
fn hg_options_after_double_dash_reach_qdiff_and_binary_git_patch_applies() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("upstream");
    fs::write(work.join("bin.dat"), [0u8, 1, 2, 255, 0, 10]).unwrap();
    s.hg(&work, &["add", "bin.dat"]);
    let file = saved(&s.mkpatch(&work, &["--", "--git", "-U", "8"]));
    let content = String::from_utf8_lossy(&fs::read(&file).unwrap()).into_owned();
    assert!(content.starts_with("diff --git "), "{content}");
    assert!(content.contains("GIT binary patch"), "{content}");

    s.hg(s.path(), &["clone", "-q", "upstream", "fresh"]);
    let fresh = s.path().join("fresh");
    s.hg(&fresh, &["import", "--no-commit", file.to_str().unwrap()]);
    assert_eq!(tree(&fresh), tree(&work));
}

#[test]
fn hg_file_pattern_limits_the_patch() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("upstream");
    let file = saved(&s.mkpatch(&work, &["--", "new.txt"]));
    let content = String::from_utf8_lossy(&fs::read(&file).unwrap()).into_owned();
    assert!(content.contains("new.txt") && !content.contains("a.txt"), "{content}");
}

#[test]
fn hg_without_default_path_uses_the_root_directory_name_even_from_a_subdirectory() {
    let s = Sandbox::new();
    let repo = s.path().join("widget");
    fs::create_dir_all(repo.join("src")).unwrap();
    s.hg(&repo, &["init"]);
    fs::write(repo.join("src/x.c"), "int x;\n").unwrap();
    s.hg(&repo, &["commit", "-Am", "init", "-q"]);
    s.hg(&repo, &["qnew", "sub/bug7"]);
    fs::write(repo.join("src/x.c"), "int x = 1;\n").unwrap();
    let file = saved(&s.mkpatch(&repo.join("src"), &[]));
    assert_eq!(file, s.patches().join("sub-bug7-widget.patch"));
}

#[test]
fn hg_name_flag_renames_the_file() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("upstream");
    let file = saved(&s.mkpatch(&work, &["--name", "bug1"]));
    assert_eq!(file, s.patches().join("bug1-upstream.patch"));
}

#[test]
fn hg_same_patch_is_not_saved_twice_and_changes_get_numbered_versions() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    let first = saved(&s.mkpatch(&work, &[]));
    assert_eq!(first, s.patches().join("bug468731-repo.patch"));

    // hg stamps the working side with the current time; a later run (here:
    // a saved copy whose stamp is a day off) is still the same patch.
    let text = fs::read_to_string(&first).unwrap();
    let restamped: String = text
        .lines()
        .map(|l| match l.split_once('\t') {
            Some((head, _)) if l.starts_with("+++ ") => {
                format!("{head}\tMon Jan 05 10:00:00 2026 +0000\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    assert_ne!(restamped, text, "the header carries a date to ignore");
    fs::write(&first, &restamped).unwrap();
    let again = s.mkpatch(&work, &[]);
    assert_eq!(ok(&again), format!("Patch is identical to {}; not saving\n", first.display()));

    fs::write(work.join("new.txt"), "added, then changed\n").unwrap();
    assert_eq!(saved(&s.mkpatch(&work, &[])), s.patches().join("bug468731-repo.patch.0"));
    fs::write(work.join("new.txt"), "added\n").unwrap();
    let back = s.mkpatch(&work, &[]);
    assert_eq!(ok(&back), format!("Patch is identical to {}; not saving\n", first.display()));
    fs::write(work.join("new.txt"), "third\n").unwrap();
    assert_eq!(saved(&s.mkpatch(&work, &[])), s.patches().join("bug468731-repo.patch.1"));
    let mut names: Vec<_> = fs::read_dir(s.patches()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["bug468731-repo.patch", "bug468731-repo.patch.0", "bug468731-repo.patch.1"]);
}

#[test]
fn hg_patchdir_comes_from_flag_then_hg_config_then_home() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    let mut hgrc = fs::read_to_string(work.join(".hg/hgrc")).unwrap();
    hgrc.push_str("\n[mkpatch]\npatchdir = ~/from-config/deeper\n");
    fs::write(work.join(".hg/hgrc"), hgrc).unwrap();
    assert_eq!(saved(&s.mkpatch(&work, &[])), s.home().join("from-config/deeper/bug468731-repo.patch"));
    // `~` given literally to the flag is expanded too.
    assert_eq!(saved(&s.mkpatch(&work, &["--patchdir", "~/flag"])), s.home().join("flag/bug468731-repo.patch"));
    let abs = s.path().join("abs");
    assert_eq!(saved(&s.mkpatch(&work, &["--patchdir", abs.to_str().unwrap()])), abs.join("bug468731-repo.patch"));
    assert!(!s.patches().exists(), "the default is not used when configured");
}

#[test]
fn hg_without_applied_patch_is_an_error_and_writes_nothing() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    s.hg(&work, &["qpop", "-a", "-f", "-q"]);
    refused(&s, &s.mkpatch(&work, &[]), "no MQ patch is applied");
    refused(&s, &s.mkpatch(&work, &["--name", "x"]), "no MQ patch is applied");
}

#[test]
fn hg_without_mq_extension_says_how_to_enable_it() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    fs::write(s.path().join("hgrc"), "[ui]\nusername = Test <t@example.invalid>\n").unwrap();
    refused(&s, &s.mkpatch(&work, &[]), "add `mq =` under [extensions]");
}

#[test]
fn hg_empty_patch_is_an_error() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    s.hg(&work, &["qrefresh"]);
    s.hg(&work, &["qnew", "empty"]);
    refused(&s, &s.mkpatch(&work, &[]), "the diff is empty");
}

#[test]
fn hg_failing_qdiff_is_an_error_quoting_hg() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    refused(&s, &s.mkpatch(&work, &["--", "--no-such-option"]), "option --no-such-option not recognized");
}

#[test]
fn git_only_options_are_usage_errors_in_hg() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    for args in [&["--base", "tip"][..], &["--uncommitted"], &["--staged"]] {
        let o = s.mkpatch(&work, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("only applies to Git"), "{}", stderr(&o));
    }
    assert!(!s.patches().exists());
}

// ---------------------------------------------------------------------- Git

#[test]
fn git_patch_is_branch_since_upstream_with_work_tree_and_applies_to_a_fresh_clone() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    let file = saved(&s.mkpatch(&work, &[]));
    assert_eq!(file, s.patches().join("bug42-tool.patch"));
    let content = String::from_utf8_lossy(&fs::read(&file).unwrap()).into_owned();
    assert!(content.contains("GIT binary patch"), "{content}");

    s.git(s.path(), &["clone", "-q", "tool.git", "fresh"]);
    let fresh = s.path().join("fresh");
    s.git(&fresh, &["apply", file.to_str().unwrap()]);
    assert_eq!(tree(&fresh), tree(&work));
}

#[test]
fn git_uncommitted_and_staged_take_only_their_part() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    let head = String::from_utf8(s.git(&work, &["rev-parse", "HEAD"])).unwrap();
    s.git(s.path(), &["clone", "-q", "work", "fresh"]);
    let fresh = s.path().join("fresh");
    s.git(&fresh, &["checkout", "-q", "--detach", head.trim()]);

    let staged = saved(&s.mkpatch(&work, &["--staged"]));
    let text = String::from_utf8_lossy(&fs::read(&staged).unwrap()).into_owned();
    assert!(text.contains("bin.dat") && !text.contains("unstaged"), "{text}");
    s.git(&fresh, &["apply", "--index", staged.to_str().unwrap()]);
    let index_tree = String::from_utf8(s.git(&work, &["write-tree"])).unwrap();
    let fresh_tree = String::from_utf8(s.git(&fresh, &["write-tree"])).unwrap();
    assert_eq!(fresh_tree, index_tree, "the staged patch rebuilds the index");

    s.git(&fresh, &["reset", "-q", "--hard"]);
    let uncommitted = saved(&s.mkpatch(&work, &["--uncommitted"]));
    assert_eq!(uncommitted, s.patches().join("bug42-tool.patch.0"));
    let text = String::from_utf8_lossy(&fs::read(&uncommitted).unwrap()).into_owned();
    assert!(text.contains("unstaged") && !text.contains("-two"), "{text}");
    s.git(&fresh, &["apply", uncommitted.to_str().unwrap()]);
    assert_eq!(tree(&fresh), tree(&work));
}

#[test]
fn git_base_flag_replaces_the_upstream_and_a_branch_without_one_is_refused() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    s.git(&work, &["branch", "-q", "--unset-upstream"]);
    let o = s.mkpatch(&work, &[]);
    refused(&s, &o, "has no upstream: give --base REV");
    let file = saved(&s.mkpatch(&work, &["--base", "origin/main"]));
    s.git(s.path(), &["clone", "-q", "tool.git", "fresh"]);
    let fresh = s.path().join("fresh");
    s.git(&fresh, &["apply", file.to_str().unwrap()]);
    assert_eq!(tree(&fresh), tree(&work));
}

#[test]
fn git_broken_base_is_an_error_quoting_git() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    refused(&s, &s.mkpatch(&work, &["--base", "no-such-rev"]), "git merge-base");
    // A REV that looks like an option stays a REV: git writes no --output file.
    let out = s.path().join("written-by-git");
    let arg = format!("--base=--output={}", out.display());
    refused(&s, &s.mkpatch(&work, &[&arg]), "git merge-base");
    assert!(!out.exists());
}

#[test]
fn git_detached_head_needs_a_name() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    s.git(&work, &["checkout", "-q", "--detach"]);
    refused(&s, &s.mkpatch(&work, &["--uncommitted"]), "give the patch name with --name");
    let file = saved(&s.mkpatch(&work, &["--uncommitted", "--name", "bug9"]));
    assert_eq!(file, s.patches().join("bug9-tool.patch"));
}

#[test]
fn git_without_remote_names_the_top_level_and_slashes_in_branch_stay_in_one_file() {
    let s = Sandbox::new();
    let repo = s.path().join("gadget");
    fs::create_dir_all(repo.join("deep/er")).unwrap();
    s.git(&repo, &["init", "-q", "-b", "main"]);
    fs::write(repo.join("deep/er/f"), "x\n").unwrap();
    s.git(&repo, &["add", "."]);
    s.git(&repo, &["commit", "-qm", "i"]);
    s.git(&repo, &["checkout", "-q", "-b", "feature/x"]);
    fs::write(repo.join("deep/er/f"), "y\n").unwrap();
    let file = saved(&s.mkpatch(&repo.join("deep/er"), &["--uncommitted"]));
    assert_eq!(file, s.patches().join("feature-x-gadget.patch"));
    // The path is from the top level even when run from a subdirectory.
    let text = String::from_utf8_lossy(&fs::read(&file).unwrap()).into_owned();
    assert!(text.contains("+++ b/deep/er/f"), "{text}");
}

#[test]
fn git_scp_like_origin_names_the_repository() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    s.git(&work, &["remote", "set-url", "origin", "git@example.invalid:team/widget.git/"]);
    s.git(&work, &["config", "mkpatch.patchdir", "~/git-config"]);
    let file = saved(&s.mkpatch(&work, &["--uncommitted"]));
    assert_eq!(file, s.home().join("git-config/bug42-widget.patch"));
}

#[test]
fn git_empty_diff_is_an_error() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    s.git(&work, &["commit", "-qam", "everything"]);
    refused(&s, &s.mkpatch(&work, &["--uncommitted"]), "the diff is empty");
    refused(&s, &s.mkpatch(&work, &["--staged"]), "the diff is empty");
    s.git(&work, &["reset", "-q", "--hard", "origin/main"]);
    refused(&s, &s.mkpatch(&work, &[]), "the diff is empty");
}

#[test]
fn git_dedup_matches_any_numbered_version() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    let first = saved(&s.mkpatch(&work, &["--uncommitted"]));
    fs::create_dir_all(s.patches()).unwrap();
    // A version saved long ago under a later number, with other content at .0.
    fs::write(s.patches().join("bug42-tool.patch.0"), "other\n").unwrap();
    fs::rename(&first, s.patches().join("bug42-tool.patch.3")).unwrap();
    let o = s.mkpatch(&work, &["--uncommitted"]);
    let want = s.patches().join("bug42-tool.patch.3");
    assert_eq!(ok(&o), format!("Patch is identical to {}; not saving\n", want.display()));
    // Different content takes the first free name, .patch itself.
    fs::write(work.join("a.txt"), "changed again\n").unwrap();
    assert_eq!(saved(&s.mkpatch(&work, &["--uncommitted"])), s.patches().join("bug42-tool.patch"));
    assert_eq!(fs::read(s.patches().join("bug42-tool.patch.0")).unwrap(), b"other\n", "never overwritten");
}

#[test]
fn list_shows_saved_versions_newest_first() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    let empty = s.mkpatch(&work, &["--list"]);
    assert_eq!(ok(&empty), "");
    assert!(stderr(&empty).contains("no saved version"), "{}", stderr(&empty));
    assert!(!s.patches().exists(), "--list creates nothing");

    let mut files = Vec::new();
    for i in 0..3 {
        fs::write(work.join("a.txt"), format!("version {i}\n")).unwrap();
        files.push(saved(&s.mkpatch(&work, &["--uncommitted"])));
    }
    let when = |secs| std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    // .patch.0 is the newest by time, .patch and .patch.1 share an older time.
    for (file, secs) in files.iter().zip([1_000_000, 2_000_000, 1_000_000]) {
        fs::File::options().write(true).open(file).unwrap().set_modified(when(secs)).unwrap();
    }
    fs::write(s.patches().join("other-tool.patch"), "x").unwrap();
    let listed = ok(&s.mkpatch(&work, &["--list"]));
    let want: String = [&files[1], &files[2], &files[0]].iter().map(|p| format!("{}\n", p.display())).collect();
    assert_eq!(listed, want);
}

// -------------------------------------------------------------- both / misc

#[test]
fn outside_any_repository_is_an_error() {
    let s = Sandbox::new();
    let dir = s.path().join("plain");
    fs::create_dir(&dir).unwrap();
    refused(&s, &s.mkpatch(&dir, &[]), "not inside a Mercurial or Git repository");
}

#[test]
fn patchdir_that_is_a_file_is_an_error_and_stays_untouched() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    fs::write(s.patches(), "I am a file\n").unwrap();
    let o = s.mkpatch(&work, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not a directory"), "{}", stderr(&o));
    assert_eq!(fs::read(s.patches()).unwrap(), b"I am a file\n");
}

#[test]
fn symlinks_planted_in_the_patch_directory_are_never_written_through() {
    use std::os::unix::fs::symlink;
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    fs::create_dir(s.patches()).unwrap();
    let victim = s.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let dangling = s.path().join("would-be-created");
    symlink(&victim, s.patches().join("bug42-tool.patch")).unwrap();
    symlink(&dangling, s.patches().join("bug42-tool.patch.0")).unwrap();
    // And at this run's temporary name: `exec` keeps the shell's pid, so
    // `$$` is the pid mkpatch runs with.
    let mut cmd = Command::new("bash");
    cmd.current_dir(&work)
        .args(["-c", r#"ln -s "$1" "$2/.bug42-tool.patch.tmp-$$-0" && exec "$3" mkpatch"#, "bash"])
        .arg(&victim)
        .arg(s.patches())
        .arg(bin());
    s.env(&mut cmd);
    let file = saved(&cmd.output().unwrap());
    assert_eq!(file, s.patches().join("bug42-tool.patch.1"));
    assert!(fs::symlink_metadata(&file).unwrap().file_type().is_file());
    assert!(String::from_utf8_lossy(&fs::read(&file).unwrap()).contains("GIT binary patch"));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n", "written through a link");
    assert!(!dangling.exists(), "a dangling link was followed");
}

#[test]
fn concurrent_runs_with_different_content_never_overwrite_each_other() {
    let s = Sandbox::new();
    // Six repositories that all map to bug-tool.patch, each with its own change.
    let mut repos = Vec::new();
    for i in 0..6 {
        let r = s.path().join(format!("r{i}/tool"));
        fs::create_dir_all(&r).unwrap();
        s.git(&r, &["init", "-q", "-b", "bug"]);
        fs::write(r.join("f"), "base\n").unwrap();
        s.git(&r, &["add", "f"]);
        s.git(&r, &["commit", "-qm", "i"]);
        fs::write(r.join("f"), format!("change {i}\n").repeat(2000)).unwrap();
        repos.push(r);
    }
    for round in 0..3 {
        let children: Vec<Child> = repos.iter().map(|r| s.spawn(r, &["--uncommitted"])).collect();
        let outs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
        let paths: Vec<PathBuf> = outs.iter().map(saved).collect();
        for (r, p) in repos.iter().zip(&paths) {
            let mut cmd = Command::new("git");
            cmd.current_dir(r).args(["diff", "--binary", "HEAD"]);
            s.env(&mut cmd);
            let want = cmd.output().unwrap().stdout;
            assert_eq!(fs::read(p).unwrap(), want, "round {round}: {} holds its own run's patch", p.display());
        }
        let mut unique = paths.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), repos.len(), "round {round}: every run has its own file: {paths:?}");
        for r in &repos {
            let text = fs::read_to_string(r.join("f")).unwrap();
            fs::write(r.join("f"), format!("{text}round {round}\n")).unwrap();
        }
    }
    let count = fs::read_dir(s.patches()).unwrap().count();
    assert_eq!(count, 18, "no temporary file left and nothing lost");
}

#[test]
fn missing_vcs_program_is_named_in_the_error() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("repo");
    let empty_path = s.path().join("no-programs");
    fs::create_dir(&empty_path).unwrap();
    let o = s.command(&work, &[]).env("PATH", &empty_path).output().unwrap();
    refused(&s, &o, "cannot run `hg` (is it installed?)");
}

// -------------------------------------------------------------- hostile names

/// The names in `dir`, none of which may hold a control character.
fn clean_names(dir: &Path) -> Vec<String> {
    let names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    for n in &names {
        assert!(!n.chars().any(char::is_control), "a file name with a control character: {n:?}");
    }
    names
}

#[test]
fn git_origin_with_control_characters_gives_a_clean_file_name_and_says_so() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    s.git(&work, &["remote", "set-url", "origin", "https://example.invalid/team/to\x1b]0;owned\x07ol\r.git"]);
    let o = s.mkpatch(&work, &["--uncommitted"]);
    let want = s.patches().join("bug42-to_]0;owned_ol_.patch");
    assert_eq!(ok(&o), format!("Patch saved to {}\n", want.display()));
    assert!(want.is_file());
    assert_eq!(clean_names(&s.patches()), ["bug42-to_]0;owned_ol_.patch"]);
    let err = stderr(&o);
    assert!(!err.contains(['\x1b', '\x07', '\r']), "{err:?}");
    assert!(
        err.contains("the repository name \"to\\033]0;owned\\007ol\\015\" holds control characters")
            && err.contains("\"to_]0;owned_ol_\""),
        "the rename is said: {err}"
    );
    // --list finds it under the same name.
    assert_eq!(ok(&s.mkpatch(&work, &["--list"])), format!("{}\n", want.display()));
}

#[test]
fn hg_default_path_with_control_characters_gives_a_clean_file_name() {
    let s = Sandbox::new();
    let (_up, work) = s.hg_repos("upstream");
    fs::write(work.join(".hg/hgrc"), "[paths]\ndefault = /srv/hg/wid\x1b[2Jget\n").unwrap();
    let o = s.mkpatch(&work, &[]);
    assert_eq!(saved(&o), s.patches().join("bug468731-wid_[2Jget.patch"));
    assert_eq!(clean_names(&s.patches()), ["bug468731-wid_[2Jget.patch"]);
    assert!(stderr(&o).contains("\"wid\\033[2Jget\""), "{}", stderr(&o));
}

#[test]
fn paths_are_printed_escaped() {
    let s = Sandbox::new();
    let (_bare, work) = s.git_repos();
    let dir = s.path().join("p\x1b]0;owned\x07");
    let dir_arg = dir.to_str().unwrap();
    for args in [
        &["--uncommitted", "--patchdir", dir_arg][..],
        &["--uncommitted", "--patchdir", dir_arg],
        &["--list", "--patchdir", dir_arg],
    ] {
        let o = s.mkpatch(&work, args);
        let out = ok(&o);
        assert!(!out.contains(['\x1b', '\x07']), "{args:?}: {out:?}");
        assert!(out.contains(&format!("{}/p\\033]0;owned\\007/bug42-tool.patch", s.path().display())), "{out}");
    }
    let o = s.mkpatch(&work, &["--list", "--patchdir", &format!("{dir_arg}/none")]);
    assert!(!stderr(&o).contains('\x1b') && stderr(&o).contains("no saved version of"), "{:?}", stderr(&o));
}
