//! Glue of `kexec-chooser disk`: read the mount table, pick the filesystems,
//! statvfs each under a deadline, judge, and print in the chosen format.
//!
//! Exit codes follow the monitoring-plugins convention in every mode:
//! 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments included).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{ArgGroup, Args};

use super::{Ctx, ExitError};
use crate::boot::Root;
use crate::disk::guard::{self, Outcome};
use crate::disk::mountinfo::{self, MountEntry};
use crate::disk::report::{self, Row};
use crate::disk::select::{self, Filters};
use crate::disk::threshold::{judge, Limit, State, Thresholds};
use crate::disk::usage::{self, Usage};

/// Bad arguments are UNKNOWN (3) by the monitoring-plugins convention.
pub const USAGE_EXIT_CODE: u8 = 3;

/// The mount table. Always the running system's (even with `--root`): the
/// kernel, not a file under the root, knows what is mounted.
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Longest `--timeout` accepted: monitoring systems give up long before.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

const AFTER_HELP: &str = "\
Limits are on what is FREE for ordinary users (f_bavail): a percentage of
used + available (20%, 12.5%) or a size (500M, 5G; powers of 1024). Inode
limits are a percentage or a count.

Exit status (all modes): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (a mount that
did not answer in time, or bad arguments). A PATH that does not exist is CRITICAL.

Examples:
  kexec-chooser disk                              table of the real filesystems
  kexec-chooser disk --cron                       silent unless something is wrong
  kexec-chooser disk --nagios --warn 10% --crit 5% /srv
  kexec-chooser disk --prometheus /var/lib/prometheus/node-exporter/disk.prom";

/// Arguments of `disk`.
#[derive(Debug, Args)]
#[command(
    after_help = AFTER_HELP,
    group(ArgGroup::new("format").args(["cron", "nagios", "json"]).multiple(false))
)]
pub struct DiskArgs {
    /// Check the filesystems holding these paths instead of every real one.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// WARNING when free space is below this.
    #[arg(long, value_name = "LIMIT", default_value = "20%", value_parser = Limit::parse_space)]
    pub warn: Limit,

    /// CRITICAL when free space is below this.
    #[arg(long, value_name = "LIMIT", default_value = "10%", value_parser = Limit::parse_space)]
    pub crit: Limit,

    /// WARNING when free inodes are below this.
    #[arg(long, value_name = "LIMIT", default_value = "10%", value_parser = Limit::parse_inodes)]
    pub warn_inodes: Limit,

    /// CRITICAL when free inodes are below this.
    #[arg(long, value_name = "LIMIT", default_value = "5%", value_parser = Limit::parse_inodes)]
    pub crit_inodes: Limit,

    /// Leave out filesystems of this type (repeat, or separate with commas).
    #[arg(long, value_name = "TYPE", value_delimiter = ',')]
    pub exclude_type: Vec<String>,

    /// Leave out this mount point or device (repeat).
    #[arg(long, value_name = "PATH")]
    pub exclude: Vec<PathBuf>,

    /// Also check memory-backed filesystems (tmpfs, devtmpfs).
    #[arg(long)]
    pub all: bool,

    /// Give up on a filesystem that has not answered after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Print nothing when all is OK, else one line per problem.
    #[arg(long)]
    pub cron: bool,

    /// Print one Nagios/Icinga plugin line with performance data.
    #[arg(long)]
    pub nagios: bool,

    /// Print a JSON array, one object per filesystem.
    #[arg(long)]
    pub json: bool,

    /// Also write the node_exporter textfile FILE (atomically, by rename).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "{s:?} is not a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(ctx: &Ctx, args: &DiskArgs) -> anyhow::Result<u8> {
    let thresholds = Thresholds {
        warn: args.warn,
        crit: args.crit,
        warn_inodes: args.warn_inodes,
        crit_inodes: args.crit_inodes,
    };
    if let Err(msg) = check_limits(&thresholds) {
        return Err(ExitError::new(USAGE_EXIT_CODE, msg).into());
    }
    let nagios = args.nagios;
    let job = match Job::new(ctx, args, thresholds) {
        Ok(job) => Arc::new(job),
        Err(err) => return conclude(nagios, Err(err)),
    };

    // Phase 1: resolve --root and the paths. The lookups can hang like
    // statvfs, so they run under the same deadline.
    let mut to_resolve = Vec::new();
    if !job.root.is_host() {
        to_resolve.push(job.root.dir().to_path_buf());
    }
    // Absolute paths are the system's, under --root; relative ones are ours.
    to_resolve.extend(job.paths.iter().map(|p| {
        if p.is_absolute() {
            job.root.path(p)
        } else {
            p.clone()
        }
    }));
    if to_resolve.is_empty() {
        return conclude(nagios, after_resolve(&job, None));
    }
    let rescue_job = Arc::clone(&job);
    let resolved = guard::run(
        to_resolve,
        job.timeout,
        |p: &PathBuf| std::fs::canonicalize(p),
        move |r| {
            exit_with(conclude(
                rescue_job.nagios,
                after_resolve(&rescue_job, Some(r)),
            ))
        },
    );
    conclude(nagios, after_resolve(&job, Some(resolved)))
}

/// Everything a run needs after parsing, owned, so that a watchdog thread
/// can finish the run when this one is stuck in the kernel.
struct Job {
    root: Root,
    paths: Vec<PathBuf>,
    entries: Vec<MountEntry>,
    filters: Filters,
    thresholds: Thresholds,
    timeout: Duration,
    format: Format,
    nagios: bool,
    prometheus: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Cron,
    Nagios,
    Json,
    /// `--prometheus` alone: nothing on stdout.
    Silent,
}

impl Job {
    fn new(ctx: &Ctx, args: &DiskArgs, thresholds: Thresholds) -> anyhow::Result<Job> {
        let text = mountinfo::read(Path::new(MOUNTINFO)).map_err(|e| {
            ExitError::new(
                State::Unknown.code(),
                format!("cannot read {MOUNTINFO}: {e}"),
            )
        })?;
        let (entries, bad) = mountinfo::parse(&text);
        for b in &bad {
            eprintln!("kexec-chooser: disk: ignoring {MOUNTINFO} {b}");
        }
        let format = if args.json {
            Format::Json
        } else if args.nagios {
            Format::Nagios
        } else if args.cron {
            Format::Cron
        } else if args.prometheus.is_some() {
            Format::Silent
        } else {
            Format::Table
        };
        Ok(Job {
            root: ctx.root.clone(),
            paths: args.paths.clone(),
            entries,
            filters: Filters {
                all: args.all,
                exclude_types: args.exclude_type.clone(),
                exclude: args.exclude.clone(),
            },
            thresholds,
            timeout: args.timeout,
            format,
            nagios: args.nagios,
            prometheus: args.prometheus.clone(),
        })
    }
}

/// A monitoring plugin's output is its stdout: in `--nagios` mode an error
/// is said there too, as UNKNOWN.
fn conclude(nagios: bool, result: anyhow::Result<u8>) -> anyhow::Result<u8> {
    match result {
        Err(err) if nagios && !is_broken_pipe(&err) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "DISK UNKNOWN - {err:#}")?;
            out.flush()?;
            Ok(State::Unknown.code())
        }
        other => other,
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The end of a run finished by the watchdog: the thread that started it is
/// stuck in the kernel, so end the process here (that kills the stuck thread)
/// with the code main would have chosen.
fn exit_with(result: anyhow::Result<u8>) {
    let code = match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => 0,
        Err(err) => {
            eprintln!("kexec-chooser: {err:#}");
            err.chain()
                .find_map(|c| c.downcast_ref::<ExitError>().map(|e| e.code))
                .unwrap_or(State::Unknown.code())
        }
    };
    std::process::exit(i32::from(code));
}

/// Phase 2: plan the filesystems from the resolved paths, statvfs them under
/// the deadline, and finish.
fn after_resolve(
    job: &Arc<Job>,
    resolved: Option<guard::Report<std::io::Result<PathBuf>>>,
) -> anyhow::Result<u8> {
    let mut outcomes = resolved.map(|r| r.outcomes).unwrap_or_default().into_iter();
    let root_dir = if job.root.is_host() {
        PathBuf::from("/")
    } else {
        let dir = job.root.dir().display();
        match outcomes.next() {
            Some(Outcome::Done(Ok(p))) => p,
            Some(Outcome::Done(Err(e))) => {
                return Err(ExitError::new(
                    State::Unknown.code(),
                    format!("--root {dir}: {}", io_reason(&e)),
                )
                .into())
            }
            _ => {
                let msg = format!("--root {dir}: did not answer within {}", secs(job.timeout));
                return Err(ExitError::new(State::Unknown.code(), msg).into());
            }
        }
    };
    let host = root_dir == Path::new("/");
    let shown = |p: &Path| -> Option<PathBuf> {
        if host {
            return Some(p.to_path_buf());
        }
        p.strip_prefix(&root_dir)
            .ok()
            .map(|rel| Path::new("/").join(rel))
    };
    let plan: Vec<Planned> = if job.paths.is_empty() {
        select::listing(&job.entries, &job.filters, shown)
            .into_iter()
            .map(|(mount, e)| Planned::Stat(Target::new(mount, e)))
            .collect()
    } else {
        plan_paths(job, outcomes.collect(), &shown)
    };
    let plan = Arc::new(plan);
    let stat_paths: Vec<PathBuf> = plan
        .iter()
        .filter_map(|p| match p {
            Planned::Stat(t) => Some(t.stat_path.clone()),
            Planned::Done(_) => None,
        })
        .collect();
    let (rescue_job, rescue_plan) = (Arc::clone(job), Arc::clone(&plan));
    let answers = guard::run(
        stat_paths,
        job.timeout,
        |p: &PathBuf| usage::statvfs(p),
        move |r| {
            exit_with(conclude(
                rescue_job.nagios,
                finish(&rescue_job, &rescue_plan, r),
            ))
        },
    );
    finish(job, &plan, answers)
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
        Target {
            shown,
            stat_path: e.mount_point.clone(),
            device: e.source.clone(),
            fstype: e.fstype.clone(),
        }
    }
}

/// A planned row: a filesystem to statvfs, or a path already judged.
enum Planned {
    Stat(Target),
    Done(Row),
}

/// Judge the answers, write the Prometheus file, print, and give the exit code.
fn finish(
    job: &Job,
    plan: &[Planned],
    answers: guard::Report<Result<usage::Counters, usage::UsageError>>,
) -> anyhow::Result<u8> {
    let explicit = !job.paths.is_empty();
    let mut answers = answers.outcomes.into_iter();
    let mut rows = Vec::with_capacity(plan.len());
    for p in plan {
        let target = match p {
            Planned::Done(row) => {
                rows.push(row.clone());
                continue;
            }
            Planned::Stat(target) => target,
        };
        let answer = answers.next().unwrap_or(Outcome::NotStarted);
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
            Outcome::TimedOut => (
                None,
                State::Unknown,
                Some(format!(
                    "statvfs did not answer within {}",
                    secs(job.timeout)
                )),
            ),
            Outcome::NotStarted => (
                None,
                State::Unknown,
                Some(format!(
                    "not checked: {} filesystems before it did not answer",
                    guard::MAX_WORKERS
                )),
            ),
        };
        rows.push(Row {
            mount: target.shown.clone(),
            device: target.device.clone(),
            fstype: target.fstype.clone(),
            usage,
            state,
            reason,
        });
    }
    let state = report::overall(&rows);

    if let Some(path) = &job.prometheus {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        report::write_atomically(path, &report::prometheus(&rows, now))
            .map_err(|e| ExitError::new(State::Unknown.code(), e.to_string()))?;
    }
    let text = match job.format {
        Format::Json => report::json(&rows).context("cannot render JSON")?,
        Format::Nagios => report::nagios(&rows, &job.thresholds),
        Format::Cron => report::cron(&rows),
        Format::Silent => String::new(),
        Format::Table => report::table(&rows, use_colour()),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(state.code())
}

/// Warnings must fire before criticals when they are comparable.
fn check_limits(t: &Thresholds) -> Result<(), String> {
    if !t.warn.is_not_below(t.crit) {
        return Err(format!(
            "--warn {} is below --crit {}: the warning could never come first",
            t.warn, t.crit
        ));
    }
    if !t.warn_inodes.is_not_below(t.crit_inodes) {
        return Err(format!(
            "--warn-inodes {} is below --crit-inodes {}: the warning could never come first",
            t.warn_inodes, t.crit_inodes
        ));
    }
    Ok(())
}

/// Colour only for a person at a terminal who has not asked for none
/// (<https://no-color.org>: any non-empty `NO_COLOR`).
fn use_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// Paths given on the command line, mapped to the mount holding each, once per mount.
fn plan_paths(
    job: &Job,
    resolved: Vec<Outcome<std::io::Result<PathBuf>>>,
    shown: &dyn Fn(&Path) -> Option<PathBuf>,
) -> Vec<Planned> {
    let visible = select::visible(&job.entries);
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
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
                        State::Critical
                    }
                    _ => State::Unknown,
                };
                plan.push(unchecked(state, io_reason(&e)));
                continue;
            }
            Outcome::TimedOut | Outcome::NotStarted => {
                plan.push(unchecked(
                    State::Unknown,
                    format!("the path did not answer within {}", secs(job.timeout)),
                ));
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

/// An I/O error as a short phrase, without Rust's "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
