//! The command line of `kexec-chooser analyze`: its arguments, reading the
//! input, printing the text lines or JSON, writing the charts, and the
//! contractual exit code (0 none, 1 change, 2 bad input). The analysis
//! itself is [`perf::detect::run`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::{Ctx, ExitError};
use crate::atomic_file::AtomicFile;
use crate::perf::report::{self, Better, JsonReport};
use crate::perf::{self, plot, Analysis, Dataset, Format, Method, Settings};

/// Exit codes of `analyze`.
pub mod exit {
    pub const NO_CHANGE: u8 = 0;
    pub const CHANGE: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
}

const AFTER_HELP: &str = "\
Input columns: buildid, value, machine (required); test, branch, platform,
timestamp (Unix seconds or RFC 3339), revision (optional). Series are
grouped by (test, branch, platform), merged across machines and ordered by
buildid. Dates are printed in UTC.

Exit status:
  0  no change found
  1  at least one change (regression or improvement) found
  2  bad input or bad arguments";

/// How the input is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// JSON lines if the first line starts with `{`, else CSV.
    Auto,
    Csv,
    Json,
}

/// Arguments of `analyze`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct AnalyzeArgs {
    /// Results to analyse: CSV with a header row or JSON lines; `-` is stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,

    /// Detection method.
    #[arg(long, value_enum, default_value_t = Method::Segment)]
    pub method: Method,

    /// Input format.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,

    /// Window: consecutive points out of tolerance that confirm a change;
    /// segment: points a change needs on each side.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub confirm: u32,

    /// Window: last points of one machine out of tolerance, while the other
    /// machines are not, that make a machine problem (0 turns it off).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = machine_points)]
    pub machine_points: u32,

    /// Window: tolerance, in standard deviations of the reference window
    /// [default: 2.5]; segment: outliers, in noise SDs from the median of
    /// their neighbours [default: 5].
    #[arg(long, value_name = "SD", value_parser = positive)]
    pub threshold: Option<f64>,

    /// Window: points in the reference window.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..))]
    pub window: u32,

    /// T-test: t statistic above which a change is reported [default: 7];
    /// segment: t statistic of a step over the trend [default: 6].
    #[arg(long, value_name = "T", value_parser = positive)]
    pub t_threshold: Option<f64>,

    /// Smallest change reported, in percent [default: 0 on exact or precise
    /// series (sizes, counts); on others 2 for ttest and segment, 0 for window].
    #[arg(long, value_name = "PERCENT", value_parser = non_negative)]
    pub min_change: Option<f64>,

    /// Lower values are better (times; the default).
    #[arg(long, conflicts_with = "higher_is_better")]
    pub lower_is_better: bool,

    /// Higher values are better (scores, throughput).
    #[arg(long)]
    pub higher_is_better: bool,

    /// Print JSON: every point with its class, every change and machine problem.
    #[arg(long)]
    pub json: bool,

    /// Draw the charts to FILE.svg (one file per series) or FILE.html (one page).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// Skip rows that do not parse (their count goes to stderr) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number >= 0")),
    }
}

fn machine_points(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n != 1 => Ok(n),
        _ => Err(format!("{s:?}: give 0 (off) or at least 2 points")),
    }
}

/// Where the charts go.
enum PlotTarget {
    Svg(PathBuf),
    Html(PathBuf),
}

fn plot_target(path: &Path) -> Result<PlotTarget, ExitError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => Ok(PlotTarget::Svg(path.to_owned())),
        Some("html" | "htm") => Ok(PlotTarget::Html(path.to_owned())),
        _ => Err(ExitError::new(
            exit::BAD_INPUT,
            format!("--plot {}: the name must end in .svg or .html", crate::text::path(path)),
        )),
    }
}

pub fn run(_ctx: &Ctx, args: &AnalyzeArgs) -> anyhow::Result<u8> {
    let target = args.plot.as_deref().map(plot_target).transpose()?;
    let name = if args.input == Path::new("-") { "<stdin>".to_owned() } else { crate::text::path(&args.input) };
    let format = match args.format {
        InputFormat::Auto => Format::Auto,
        InputFormat::Csv => Format::Csv,
        InputFormat::Json => Format::Json,
    };
    let parsed = if args.input == Path::new("-") {
        read(io::stdin().lock(), format, args.skip_bad, &name)?
    } else {
        let f = File::open(&args.input).map_err(|e| ExitError::new(exit::BAD_INPUT, format!("{name}: {e}")))?;
        read(BufReader::with_capacity(1 << 20, f), format, args.skip_bad, &name)?
    };
    if parsed.skipped > 0 {
        let first = parsed.first_skipped.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default();
        let mut err = io::stderr().lock();
        let _ = crate::say!(err, "{name}: skipped {} bad rows{first}", parsed.skipped);
    }
    let ds = parsed.dataset;

    let settings = Settings {
        method: args.method,
        window: args.window as usize,
        threshold: args.threshold,
        t_threshold: args.t_threshold,
        confirm: args.confirm as usize,
        machine_points: args.machine_points as usize,
        min_change: args.min_change,
    };
    let report = perf::detect::run(&ds, &settings);
    let results = &report.results;
    let better = if args.higher_is_better { Better::Higher } else { Better::Lower };

    if let Some(target) = target {
        draw(&ds, results, &target)?;
    }

    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    if args.json {
        let doc = JsonReport { method: args.method.name(), better, data: &ds, results };
        serde_json::to_writer(&mut out, &doc).map_err(io::Error::from).context("writing the JSON")?;
        writeln!(out)?;
    } else {
        for (i, a) in results {
            if let Some(s) = ds.series.get(*i) {
                report::write_text(&mut out, &ds, s, a, args.machine_points as usize)?;
            }
        }
    }
    out.flush()?;
    Ok(if report.level_changed() { exit::CHANGE } else { exit::NO_CHANGE })
}

fn read<R: BufRead>(r: R, format: Format, skip_bad: bool, name: &str) -> anyhow::Result<perf::Parsed> {
    // A read failure of the file is as much bad input as a bad row: exit 2.
    perf::parse(r, format, skip_bad).map_err(|e| ExitError::new(exit::BAD_INPUT, format!("{name}: {e}")).into())
}

/// Charts are written whole or not at all, through a temporary that cannot
/// be redirected by a planted link (the directory may be shared).
fn draw(ds: &Dataset, results: &[(usize, Analysis)], target: &PlotTarget) -> anyhow::Result<()> {
    let charts: Vec<_> = results.iter().filter_map(|(i, a)| ds.series.get(*i).map(|s| (s, a))).collect();
    let write = |path: &Path, body: &dyn Fn(&mut BufWriter<&mut AtomicFile>) -> io::Result<()>| {
        let refuse = |e: &dyn std::fmt::Display| {
            ExitError::new(exit::BAD_INPUT, format!("--plot {}: {e}", crate::text::path(path)))
        };
        let mut file = AtomicFile::create(path, 0o644).map_err(|e| refuse(&e.io()))?;
        let mut out = BufWriter::new(&mut file);
        body(&mut out).and_then(|()| out.flush()).with_context(|| format!("writing {}", crate::text::path(path)))?;
        drop(out);
        file.commit().map_err(|e| refuse(&e))?;
        anyhow::Ok(())
    };
    match target {
        PlotTarget::Html(path) => write(path, &|out| plot::write_html(out, &charts))?,
        PlotTarget::Svg(base) => {
            let several = charts.len() > 1;
            for (k, (s, a)) in charts.iter().enumerate() {
                let path = plot::svg_path(base, k, &s.label(), several);
                write(&path, &|out| plot::write_svg(out, s, a))?;
                if several {
                    let mut err = io::stderr().lock();
                    let _ = crate::say!(err, "wrote {}", crate::text::path(&path));
                }
            }
        }
    }
    Ok(())
}
