//! The command line of `kexec-chooser disk`: its arguments become a
//! [`disk::Job`], and the [`disk::Report`] becomes the chosen output and the
//! exit code. The check itself is [`disk::run`].
//!
//! Exit codes follow the monitoring-plugins convention in every mode:
//! 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad arguments included).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{ArgGroup, Args};

use super::{is_broken_pipe, Ctx, ExitError};
use crate::disk::report;
use crate::disk::select::Filters;
use crate::disk::threshold::{Limit, State, Thresholds};
use crate::disk::{self, Job};

/// Bad arguments are UNKNOWN (3) by the monitoring-plugins convention.
pub const USAGE_EXIT_CODE: u8 = 3;

/// Mode of the Prometheus textfile: the exporter runs as another user.
const PROMETHEUS_MODE: u32 = 0o644;

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
        return Err(format!("{s:?} is not a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(ctx: &Ctx, args: &DiskArgs) -> anyhow::Result<u8> {
    let thresholds =
        Thresholds { warn: args.warn, crit: args.crit, warn_inodes: args.warn_inodes, crit_inodes: args.crit_inodes };
    check_limits(&thresholds).map_err(|msg| ExitError::new(USAGE_EXIT_CODE, msg))?;
    match check(ctx, args, thresholds) {
        // A monitoring plugin's output is its stdout: in `--nagios` mode an
        // error is said there too, as UNKNOWN, and a path in it cannot
        // start perfdata.
        Err(err) if args.nagios && !is_broken_pipe(&err) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "DISK UNKNOWN - {}", report::nagios_text(&format!("{err:#}")))?;
            out.flush()?;
            Ok(State::Unknown.code())
        }
        other => other,
    }
}

/// Run the check, write the Prometheus file, print, and give the exit code.
fn check(ctx: &Ctx, args: &DiskArgs, thresholds: Thresholds) -> anyhow::Result<u8> {
    let unknown = |e: &dyn std::fmt::Display| ExitError::new(State::Unknown.code(), e.to_string());
    let (mounts, ignored) = disk::mount_table().map_err(|e| unknown(&e))?;
    for b in &ignored {
        let _ = crate::say!(std::io::stderr(), "disk: ignoring {} {b}", crate::paths::SELF_MOUNTINFO);
    }
    let job = Job {
        root: ctx.root.clone(),
        paths: args.paths.clone(),
        mounts,
        filters: Filters { all: args.all, exclude_types: args.exclude_type.clone(), exclude: args.exclude.clone() },
        thresholds,
        timeout: args.timeout,
    };
    let report = disk::run(&job).map_err(|e| unknown(&e))?;
    let rows = &report.rows;

    if let Some(path) = &args.prometheus {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        crate::atomic_file::write(path, PROMETHEUS_MODE, report::prometheus(rows, now).as_bytes())
            .map_err(|e| unknown(&e))?;
    }
    let text = if args.json {
        report::json(rows).context("cannot render JSON")?
    } else if args.nagios {
        report::nagios(rows, &thresholds)
    } else if args.cron {
        report::cron(rows)
    } else if args.prometheus.is_some() {
        // `--prometheus` alone: nothing on stdout.
        String::new()
    } else {
        report::table(rows, use_colour())
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(report.state().code())
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
