//! Glue of `kexec-chooser disk`: read the mount table, pick the filesystems,
//! statvfs each under a deadline, judge, and print in the chosen format.
//!
//! Exit codes follow the monitoring-plugins convention in every mode:
//! 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments included).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{ArgGroup, Args};

use super::{Ctx, ExitError};
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
    let secs: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(format!("{s:?} is not between 0 and {MAX_TIMEOUT_SECS} seconds"));
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
    let checked = match check(ctx, args, &thresholds) {
        Ok(c) => c,
        Err(err) if args.nagios => {
            // A plugin's output is its stdout: say UNKNOWN there too.
            let mut out = std::io::stdout().lock();
            writeln!(out, "DISK UNKNOWN - {err:#}")?;
            out.flush()?;
            return Ok(State::Unknown.code());
        }
        Err(err) => return Err(err),
    };
    let state = report::overall(&checked.rows);

    if let Some(path) = &args.prometheus {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        report::write_atomically(path, &report::prometheus(&checked.rows, now))
            .map_err(|e| ExitError::new(State::Unknown.code(), e.to_string()))?;
    }

    let text = if args.json {
        report::json(&checked.rows).context("cannot render JSON")?
    } else if args.nagios {
        report::nagios(&checked.rows, &thresholds)
    } else if args.cron {
        report::cron(&checked.rows)
    } else if args.prometheus.is_some() {
        String::new()
    } else {
        report::table(&checked.rows, use_colour())
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    drop(out);

    if checked.abandoned > 0 {
        // Threads stuck in the kernel cannot be joined; end now, which kills
        // them (the kernel's waits for FUSE and NFS are killable) rather than
        // leave anything after us that could wait on them.
        std::process::exit(i32::from(state.code()));
    }
    Ok(state.code())
}

/// Warnings must fire before criticals when they are comparable.
fn check_limits(t: &Thresholds) -> Result<(), String> {
    if !t.warn.is_not_below(t.crit) {
        return Err(format!("--warn {} is below --crit {}: the warning could never come first", t.warn, t.crit));
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

struct Checked {
    rows: Vec<Row>,
    /// Worker threads left stuck in a call.
    abandoned: usize,
}

/// What to statvfs, and how to show it.
struct Target {
    shown: PathBuf,
    stat_path: PathBuf,
    device: String,
    fstype: String,
}

/// A planned row: a filesystem to statvfs, or a path already judged.
enum Planned {
    Stat(Target),
    Done(Row),
}

fn check(ctx: &Ctx, args: &DiskArgs, t: &Thresholds) -> anyhow::Result<Checked> {
    let text = std::fs::read(MOUNTINFO)
        .map_err(|e| ExitError::new(State::Unknown.code(), format!("cannot read {MOUNTINFO}: {e}")))?;
    let (entries, bad) = mountinfo::parse(&text);
    for b in &bad {
        eprintln!("kexec-chooser: disk: ignoring {MOUNTINFO} {b}");
    }
    let filters = Filters {
        all: args.all,
        exclude_types: args.exclude_type.clone(),
        exclude: args.exclude.clone(),
    };
    let mut abandoned = 0usize;

    // The root directory itself could sit on a hung mount: resolve it under the deadline too.
    let root_dir = if ctx.root.is_host() {
        PathBuf::from("/")
    } else {
        let r = resolve_all(vec![ctx.root.dir().to_path_buf()], args.timeout);
        abandoned = abandoned.saturating_add(r.abandoned);
        match r.outcomes.into_iter().next() {
            Some(Outcome::Done(Ok(p))) => p,
            Some(Outcome::Done(Err(e))) => {
                return Err(ExitError::new(
                    State::Unknown.code(),
                    format!("--root {}: {e}", ctx.root.dir().display()),
                )
                .into())
            }
            _ => {
                return Err(ExitError::new(
                    State::Unknown.code(),
                    format!("--root {}: did not answer within {}", ctx.root.dir().display(), secs(args.timeout)),
                )
                .into())
            }
        }
    };
    let shown = |p: &Path| -> Option<PathBuf> {
        let rel = p.strip_prefix(&root_dir).ok()?;
        Some(Path::new("/").join(rel))
    };

    let plan: Vec<Planned> = if args.paths.is_empty() {
        select::listing(&entries, &filters, shown)
            .into_iter()
            .map(|(mount, e)| {
                Planned::Stat(Target {
                    shown: mount,
                    stat_path: e.mount_point.clone(),
                    device: e.source.clone(),
                    fstype: e.fstype.clone(),
                })
            })
            .collect()
    } else {
        let (plan, left) = plan_paths(&entries, &filters, args, &root_dir, &shown);
        abandoned = abandoned.saturating_add(left);
        plan
    };

    let stat_paths: Vec<PathBuf> = plan
        .iter()
        .filter_map(|p| match p {
            Planned::Stat(t) => Some(t.stat_path.clone()),
            Planned::Done(_) => None,
        })
        .collect();
    let report = guard::run(stat_paths, args.timeout, |p: &PathBuf| usage::statvfs(p));
    abandoned = abandoned.saturating_add(report.abandoned);
    let mut answers = report.outcomes.into_iter();

    let explicit = !args.paths.is_empty();
    let mut rows = Vec::with_capacity(plan.len());
    for p in plan {
        let target = match p {
            Planned::Done(row) => {
                rows.push(row);
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
                    let (s, r) = judge(t, &u);
                    (Some(u), s, r)
                }
                Err(e) => (None, State::Unknown, Some(e.to_string())),
            },
            Outcome::Done(Err(e)) => (None, State::Unknown, Some(e.to_string())),
            Outcome::TimedOut => {
                (None, State::Unknown, Some(format!("statvfs did not answer within {}", secs(args.timeout))))
            }
            Outcome::NotStarted => (
                None,
                State::Unknown,
                Some(format!("not checked: {} filesystems before it did not answer", guard::MAX_WORKERS)),
            ),
        };
        rows.push(Row { mount: target.shown, device: target.device, fstype: target.fstype, usage, state, reason });
    }
    Ok(Checked { rows, abandoned })
}

/// Paths given on the command line: each resolved (under the deadline, since
/// the lookup itself can hang), mapped to the mount holding it, once per mount.
fn plan_paths(
    entries: &[MountEntry],
    filters: &Filters,
    args: &DiskArgs,
    root_dir: &Path,
    shown: &dyn Fn(&Path) -> Option<PathBuf>,
) -> (Vec<Planned>, usize) {
    let on_disk: Vec<PathBuf> = args
        .paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix("/").unwrap_or(p);
            if p.is_absolute() {
                root_dir.join(rel)
            } else {
                p.clone()
            }
        })
        .collect();
    let resolved = resolve_all(on_disk, args.timeout);
    let visible = select::visible(entries);
    let mut seen: Vec<u64> = Vec::new();
    let mut plan = Vec::new();
    for (given, outcome) in args.paths.iter().zip(resolved.outcomes) {
        let missing = |state: State, reason: String| {
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
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => State::Critical,
                    _ => State::Unknown,
                };
                plan.push(missing(state, io_reason(&e)));
                continue;
            }
            Outcome::TimedOut | Outcome::NotStarted => {
                plan.push(missing(State::Unknown, format!("the path did not answer within {}", secs(args.timeout))));
                continue;
            }
        };
        let Some(e) = select::holder(&visible, &path) else {
            plan.push(missing(State::Unknown, "no mount holds it".into()));
            continue;
        };
        let shown_mount = shown(&e.mount_point).unwrap_or_else(|| e.mount_point.clone());
        if seen.contains(&e.id) || filters.excludes(&shown_mount, e) {
            continue;
        }
        seen.push(e.id);
        plan.push(Planned::Stat(Target {
            shown: shown_mount,
            stat_path: e.mount_point.clone(),
            device: e.source.clone(),
            fstype: e.fstype.clone(),
        }));
    }
    (plan, resolved.abandoned)
}

fn resolve_all(paths: Vec<PathBuf>, timeout: Duration) -> guard::Report<std::io::Result<PathBuf>> {
    guard::run(paths, timeout, |p: &PathBuf| std::fs::canonicalize(p))
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

