//! One run of `disk`, from the mount table to judged rows: look up the paths
//! asked about, pick the filesystems, statvfs each under a deadline, judge.
//! Nothing is printed here; the command line chooses the format.
//!
//! Path lookups and statvfs can both hang on a dead mount, so both go through
//! [`guard`]: the thread that calls [`run`] never enters the kernel for a
//! filesystem, and always returns.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::guard::{self, Outcome, Skipped};
use super::report::{self, Row};
use super::select::{self, Filters};
use super::threshold::{judge, State, Thresholds};
use super::usage::{self, Counters, Usage, UsageError};
use crate::mountinfo::{self, BadLine, MountEntry};
use crate::root::Root;

/// What to check and how.
#[derive(Debug, Clone)]
pub struct Job {
    /// The system looked at: only mounts at or under its directory are listed.
    pub root: Root,
    /// Paths asked about (absolute ones are the system's, under `root`);
    /// empty: every real filesystem.
    pub paths: Vec<PathBuf>,
    /// The mount table, from [`mount_table`].
    pub mounts: Vec<MountEntry>,
    pub filters: Filters,
    pub thresholds: Thresholds,
    /// The deadline of each lookup and each statvfs, from its start.
    pub timeout: Duration,
}

/// The judged filesystems of one run, in the order they are shown.
#[derive(Debug, Clone)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// The state of the whole run (its exit code).
    pub fn state(&self) -> State {
        report::overall(&self.rows)
    }
}

/// Why a run could not check anything.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot read {path}: {error}")]
    MountTable { path: PathBuf, error: io::Error },
    #[error("--root {dir}: {reason}")]
    Root { dir: String, reason: String },
}

/// Where lookups and statvfs go: the kernel, or a fake in tests. Calls may
/// hang for ever; [`run_with`] makes them under a deadline.
pub trait Probe: Send + Sync + 'static {
    /// The canonical path of `path`, links resolved.
    fn lookup(&self, path: &Path) -> io::Result<PathBuf>;
    /// statvfs(3) of the filesystem holding `path`.
    fn statvfs(&self, path: &Path) -> Result<Counters, UsageError>;
}

/// The running kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kernel;

impl Probe for Kernel {
    fn lookup(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn statvfs(&self, path: &Path) -> Result<Counters, UsageError> {
        usage::statvfs(path)
    }
}

/// Read and parse the running system's mount table. Lines that do not parse
/// come back beside the mounts, for the caller to mention.
pub fn mount_table() -> Result<(Vec<MountEntry>, Vec<BadLine>), DiskError> {
    // Always the running system's mount table (even with `--root`): the
    // kernel, not a file under the root, knows what is mounted.
    let text = mountinfo::read(Path::new(crate::paths::SELF_MOUNTINFO))
        .map_err(|error| DiskError::MountTable { path: PathBuf::from(crate::paths::SELF_MOUNTINFO), error })?;
    Ok(mountinfo::parse(&text))
}

/// Check the filesystems of `job` on the running kernel.
pub fn run(job: &Job) -> Result<Report, DiskError> {
    run_with(job, &Arc::new(Kernel))
}

/// Check the filesystems of `job` through `probe`.
pub fn run_with<P: Probe>(job: &Job, probe: &Arc<P>) -> Result<Report, DiskError> {
    let (root_dir, resolved) = resolve(job, probe)?;
    let host = root_dir == Path::new("/");
    let shown = |p: &Path| -> Option<PathBuf> {
        if host {
            return Some(p.to_path_buf());
        }
        p.strip_prefix(&root_dir).ok().map(|rel| Path::new("/").join(rel))
    };
    let plan: Vec<Planned> = if job.paths.is_empty() {
        select::listing(&job.mounts, &job.filters, shown)
            .into_iter()
            .map(|(mount, e)| Planned::Stat(Target::new(mount, e)))
            .collect()
    } else {
        plan_paths(job, resolved, &shown)
    };
    let stat_paths: Vec<PathBuf> = plan
        .iter()
        .filter_map(|p| match p {
            Planned::Stat(t) => Some(t.stat_path.clone()),
            Planned::Done(_) => None,
        })
        .collect();
    let p = Arc::clone(probe);
    let answers = guard::run(stat_paths, job.timeout, guard::MAX_WORKERS, move |path: &PathBuf| p.statvfs(path));
    Ok(Report { rows: judge_all(job, plan, answers.outcomes) })
}

/// What a lookup under the deadline came to.
type Lookup = Outcome<io::Result<PathBuf>>;

/// Look up `--root` and the paths under the deadline. Gives the root as the
/// kernel names it, and one outcome per path.
fn resolve<P: Probe>(job: &Job, probe: &Arc<P>) -> Result<(PathBuf, Vec<Lookup>), DiskError> {
    let mut to_resolve = Vec::new();
    if !job.root.is_host() {
        to_resolve.push(job.root.dir().to_path_buf());
    }
    // Absolute paths are the system's, under the root; relative ones are ours.
    to_resolve.extend(job.paths.iter().map(|p| if p.is_absolute() { job.root.path(p) } else { p.clone() }));
    let p = Arc::clone(probe);
    let mut outcomes = guard::run(to_resolve, job.timeout, guard::MAX_WORKERS, move |path: &PathBuf| p.lookup(path))
        .outcomes
        .into_iter();
    if job.root.is_host() {
        return Ok((PathBuf::from("/"), outcomes.collect()));
    }
    let root_error = |reason: String| DiskError::Root { dir: crate::text::path(job.root.dir()), reason };
    match outcomes.next() {
        Some(Outcome::Done(Ok(dir))) => Ok((dir, outcomes.collect())),
        Some(Outcome::Done(Err(e))) => Err(root_error(io_reason(&e))),
        _ => Err(root_error(format!("did not answer within {}", secs(job.timeout)))),
    }
}

/// What to statvfs, and how to show it.
struct Target {
    shown: PathBuf,
    stat_path: PathBuf,
    device: String,
    fstype: String,
}

impl Target {
    fn new(shown: PathBuf, e: &MountEntry) -> Target {
        Target { shown, stat_path: e.mount_point.clone(), device: e.source.clone(), fstype: e.fstype.clone() }
    }
}

/// A planned row: a filesystem to statvfs, or a path already judged.
enum Planned {
    Stat(Target),
    Done(Row),
}

/// Paths given on the command line, mapped to the mount holding each, once per mount.
fn plan_paths(job: &Job, resolved: Vec<Lookup>, shown: &dyn Fn(&Path) -> Option<PathBuf>) -> Vec<Planned> {
    let visible = select::visible(&job.mounts);
    let mut seen: Vec<u64> = Vec::new();
    let mut plan = Vec::new();
    for (given, outcome) in job.paths.iter().zip(resolved) {
        let unchecked = |state: State, reason: String| {
            Planned::Done(Row {
                mount: given.clone(),
                device: String::new(),
                fstype: String::new(),
                usage: None,
                state,
                reason: Some(reason),
            })
        };
        let path = match outcome {
            Outcome::Done(Ok(p)) => p,
            Outcome::Done(Err(e)) => {
                // A path that is not there is the check failing (CRITICAL); one
                // we may not look at is a check we could not make (UNKNOWN).
                let state = match e.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => State::Critical,
                    _ => State::Unknown,
                };
                plan.push(unchecked(state, io_reason(&e)));
                continue;
            }
            Outcome::TimedOut => {
                plan.push(unchecked(State::Unknown, format!("the path did not answer within {}", secs(job.timeout))));
                continue;
            }
            Outcome::NotStarted(why) => {
                plan.push(unchecked(State::Unknown, not_checked(why, "path", "paths")));
                continue;
            }
        };
        let Some(e) = select::holder(&visible, &path) else {
            plan.push(unchecked(State::Unknown, "no mount holds it".into()));
            continue;
        };
        let shown_mount = shown(&e.mount_point).unwrap_or_else(|| e.mount_point.clone());
        if seen.contains(&e.id) || job.filters.excludes(&shown_mount, e) {
            continue;
        }
        seen.push(e.id);
        plan.push(Planned::Stat(Target::new(shown_mount, e)));
    }
    plan
}

/// The rows of the plan, the statvfs answers judged against the thresholds.
fn judge_all(job: &Job, plan: Vec<Planned>, answers: Vec<Outcome<Result<Counters, UsageError>>>) -> Vec<Row> {
    let explicit = !job.paths.is_empty();
    let mut answers = answers.into_iter();
    let mut rows = Vec::with_capacity(plan.len());
    for p in plan {
        let target = match p {
            Planned::Done(row) => {
                rows.push(row);
                continue;
            }
            Planned::Stat(target) => target,
        };
        let answer = answers.next().unwrap_or(Outcome::NotStarted(Skipped::NoThread));
        let (usage, state, reason) = match answer {
            Outcome::Done(Ok(c)) => match Usage::from_counters(&c) {
                // Zero blocks: a pseudo filesystem of a type not known as one.
                Ok(u) if u.size == 0 && !explicit => continue,
                Ok(u) => {
                    let (s, r) = judge(&job.thresholds, &u);
                    (Some(u), s, r)
                }
                Err(e) => (None, State::Unknown, Some(e.to_string())),
            },
            Outcome::Done(Err(e)) => (None, State::Unknown, Some(e.to_string())),
            Outcome::TimedOut => {
                (None, State::Unknown, Some(format!("statvfs did not answer within {}", secs(job.timeout))))
            }
            Outcome::NotStarted(why) => (None, State::Unknown, Some(not_checked(why, "filesystem", "filesystems"))),
        };
        rows.push(Row { mount: target.shown, device: target.device, fstype: target.fstype, usage, state, reason });
    }
    rows
}

/// Why a call was never made, counted as it happened.
fn not_checked(why: Skipped, one: &str, many: &str) -> String {
    match why {
        Skipped::AfterHung(1) => format!("not checked: 1 {one} before it did not answer"),
        Skipped::AfterHung(n) => format!("not checked: {n} {many} before it did not answer"),
        Skipped::NoThread => "not checked: no thread could be started to check it".to_string(),
    }
}

/// An I/O error as a short phrase, without Rust's "(os error N)" suffix.
fn io_reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// A duration as `--timeout` takes it: `2s`, `0.5s`.
fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::threshold::Limit;

    /// Answers every lookup with the path itself and every statvfs with a
    /// half-full filesystem, except at the mount points listed as hung,
    /// where the call never returns (as on a dead NFS server).
    struct Fake {
        hung: Vec<PathBuf>,
    }

    impl Probe for Fake {
        fn lookup(&self, path: &Path) -> io::Result<PathBuf> {
            if self.hung.iter().any(|h| h == path) {
                std::thread::sleep(Duration::from_secs(60));
            }
            if path.ends_with("missing") {
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
            Ok(path.to_path_buf())
        }

        fn statvfs(&self, path: &Path) -> Result<Counters, UsageError> {
            if self.hung.iter().any(|h| h == path) {
                std::thread::sleep(Duration::from_secs(60));
            }
            Ok(Counters { frsize: 4096, blocks: 1000, bfree: 500, bavail: 500, files: 100, ffree: 50, favail: 50 })
        }
    }

    /// A mount table of ext4 filesystems at `points`, each its own device.
    fn mounts(points: &[&str]) -> Vec<MountEntry> {
        let text: String = points
            .iter()
            .enumerate()
            .map(|(k, p)| format!("{} 1 8:{k} / {p} rw - ext4 /dev/d{k} rw\n", k + 2))
            .collect();
        let (entries, bad) = mountinfo::parse(format!("1 0 8:99 / / rw - ext4 /dev/root rw\n{text}").as_bytes());
        assert!(bad.is_empty(), "{bad:?}");
        entries
    }

    fn job(mounts: Vec<MountEntry>, timeout: Duration) -> Job {
        Job {
            root: Root::new("/"),
            paths: Vec::new(),
            mounts,
            filters: Filters::default(),
            thresholds: Thresholds {
                warn: Limit::parse_space("20%").unwrap(),
                crit: Limit::parse_space("10%").unwrap(),
                warn_inodes: Limit::parse_inodes("10%").unwrap(),
                crit_inodes: Limit::parse_inodes("5%").unwrap(),
            },
            timeout,
        }
    }

    fn reason<'a>(report: &'a Report, mount: &str) -> Option<&'a str> {
        let row = report.rows.iter().find(|r| r.mount == Path::new(mount));
        row.unwrap_or_else(|| panic!("no row for {mount}: {:#?}", report.rows)).reason.as_deref()
    }

    #[test]
    fn hung_mounts_are_unknown_and_the_not_checked_ones_count_them_exactly() {
        let timeout = Duration::from_millis(100);
        for hung in [1usize, 2, 9] {
            // The hung mounts first, then two healthy ones.
            let points: Vec<String> = (1..=hung + 2).map(|k| format!("/m{k}")).collect();
            let refs: Vec<&str> = points.iter().map(String::as_str).collect();
            let fake = Fake { hung: points.iter().take(hung).map(PathBuf::from).collect() };
            let report = run_with(&job(mounts(&refs), timeout), &Arc::new(fake)).unwrap();
            assert_eq!(report.state(), State::Unknown, "{hung} hung");
            let answered = hung.min(guard::MAX_WORKERS);
            for p in &points[..answered] {
                assert_eq!(reason(&report, p), Some("statvfs did not answer within 0.1s"), "{hung} hung, {p}");
            }
            for p in &points[answered..] {
                // Past the cap: the hung mounts left and the healthy ones
                // behind them; below it, only healthy ones, all checked.
                let want = (hung > guard::MAX_WORKERS).then_some("not checked: 8 filesystems before it did not answer");
                assert_eq!(reason(&report, p), want, "{hung} hung, {p}");
            }
            assert_eq!(reason(&report, "/"), None, "{hung} hung: the root filesystem is OK");
        }
    }

    #[test]
    fn a_hung_root_is_an_error_naming_it_and_the_timeout() {
        let mut j = job(mounts(&["/sys1", "/sys1/srv"]), Duration::from_millis(50));
        j.root = Root::new("/sys1");
        let fake = Fake { hung: vec![PathBuf::from("/sys1")] };
        let err = run_with(&j, &Arc::new(fake)).unwrap_err();
        assert_eq!(err.to_string(), "--root /sys1: did not answer within 0.05s");
    }

    #[test]
    fn under_a_root_mounts_are_shown_as_that_system_sees_them_and_paths_are_judged() {
        let mut j = job(mounts(&["/sys1", "/sys1/srv", "/elsewhere"]), Duration::from_secs(5));
        j.root = Root::new("/sys1");
        let report = run_with(&j, &Arc::new(Fake { hung: Vec::new() })).unwrap();
        let shown: Vec<&Path> = report.rows.iter().map(|r| r.mount.as_path()).collect();
        assert_eq!(shown, [Path::new("/"), Path::new("/srv")]);

        j.paths = vec![PathBuf::from("/srv/missing"), PathBuf::from("/srv/data")];
        let report = run_with(&j, &Arc::new(Fake { hung: Vec::new() })).unwrap();
        assert_eq!(report.rows.len(), 2, "{:#?}", report.rows);
        assert_eq!(report.rows[0].mount, Path::new("/srv/missing"));
        assert_eq!(report.rows[0].state, State::Critical);
        assert_eq!(report.rows[1].mount, Path::new("/srv"));
        assert_eq!(report.rows[1].state, State::Ok);
        assert_eq!(report.state(), State::Critical);
    }

    #[test]
    fn a_hung_path_lookup_is_unknown_and_the_others_are_checked() {
        let mut j = job(mounts(&["/a", "/b"]), Duration::from_millis(100));
        j.paths = vec![PathBuf::from("/a/x"), PathBuf::from("/b/y")];
        let report = run_with(&j, &Arc::new(Fake { hung: vec![PathBuf::from("/a/x")] })).unwrap();
        assert_eq!(reason(&report, "/a/x"), Some("the path did not answer within 0.1s"));
        assert_eq!(reason(&report, "/b"), None);
        assert_eq!(report.state(), State::Unknown);
    }

    #[test]
    fn the_counting_words_agree_with_the_count() {
        assert_eq!(not_checked(Skipped::AfterHung(1), "path", "paths"), "not checked: 1 path before it did not answer");
        assert_eq!(
            not_checked(Skipped::AfterHung(2), "filesystem", "filesystems"),
            "not checked: 2 filesystems before it did not answer"
        );
    }
}
