//! The one call `analyze` makes once its input is read: the chosen detector,
//! its settings resolved from what was given and each method's defaults,
//! run over every series of a dataset; and what the outcome means for the
//! exit status. The command line only parses into [`Settings`] and prints
//! the [`Report`].

use super::{segment, ttest, window, Analysis, ChangeKind, Dataset};

/// Which detector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// The original Talos analysis: stable windows, tolerance, spikes.
    Window,
    /// Perfherder's detector: weighted means and a Welch t statistic.
    Ttest,
    /// Robust segmentation of the whole series: level and variance
    /// changes, spikes, machine problems, pending newest points.
    Segment,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Window => "window",
            Method::Ttest => "ttest",
            Method::Segment => "segment",
        }
    }
}

/// The settings of a run, as given: `None` where the method's own default
/// applies (the flags mean different things, with different defaults, for
/// different methods).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub method: Method,
    /// Points in the reference window (window).
    pub window: usize,
    /// Tolerance (window) or outlier threshold (segment), in SDs.
    pub threshold: Option<f64>,
    /// The t statistic a change needs (ttest, segment).
    pub t_threshold: Option<f64>,
    /// Points that confirm a change (window) or that it needs on each side (segment).
    pub confirm: usize,
    /// Latest points of one machine off that make a machine problem; 0 is off.
    pub machine_points: usize,
    /// Smallest change of level reported, in percent.
    pub min_change: Option<f64>,
}

impl Settings {
    /// The given method with every other setting at its default.
    pub fn new(method: Method) -> Settings {
        Settings {
            method,
            window: window::Params::default().window,
            threshold: None,
            t_threshold: None,
            confirm: 3,
            machine_points: 2,
            min_change: None,
        }
    }
}

/// What the detector said about each series, in input order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The index of each series in [`Dataset::series`], and its analysis.
    pub results: Vec<(usize, Analysis)>,
}

impl Report {
    /// Whether any series changed level: what turns the run red. Variance
    /// changes, machine problems and pending points alone do not.
    pub fn level_changed(&self) -> bool {
        self.results.iter().any(|(_, a)| a.changes.iter().any(|c| c.kind == ChangeKind::Level))
    }
}

/// Run the chosen detector on every series of `ds`.
pub fn run(ds: &Dataset, s: &Settings) -> Report {
    let results = ds
        .series
        .iter()
        .enumerate()
        .map(|(i, series)| (i, super::analyze_scaled(&series.points, |points| one(points, s))))
        .collect();
    Report { results }
}

/// One series through the chosen detector.
fn one(points: &[super::Point], s: &Settings) -> Analysis {
    match s.method {
        Method::Window => {
            let d = window::Params::default();
            window::analyze(
                points,
                &window::Params {
                    window: s.window,
                    threshold: s.threshold.unwrap_or(d.threshold),
                    confirm: s.confirm,
                    machine_points: s.machine_points,
                    min_change: s.min_change.unwrap_or(d.min_change),
                },
            )
        }
        Method::Ttest => {
            let d = ttest::Params::default();
            ttest::analyze(
                points,
                &ttest::Params { t_threshold: s.t_threshold.unwrap_or(d.t_threshold), min_change: s.min_change, ..d },
            )
        }
        Method::Segment => {
            let d = segment::Params::default();
            segment::analyze(
                points,
                &segment::Params {
                    threshold: s.threshold.unwrap_or(d.threshold),
                    t_threshold: s.t_threshold.unwrap_or(d.t_threshold),
                    confirm: s.confirm,
                    machine_points: s.machine_points,
                    min_change: s.min_change,
                },
            )
        }
    }
}
