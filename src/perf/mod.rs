//! Performance regression detection over benchmark series (`analyze`): the
//! data model shared by the input parser, the three detectors (the original
//! Talos window method, Perfherder's t-test, and a robust segmentation)
//! and the outputs. [`detect`] runs a detector over a dataset; [`noise`]
//! tells timings from exact and quantised series for the detectors.

pub(crate) mod date;
pub(crate) mod detect;
pub mod input;
pub(crate) mod noise;
pub(crate) mod plot;
pub(crate) mod report;
pub mod segment;
pub mod ttest;
pub mod window;

use std::ops::Range;

pub use detect::{Method, Report, Settings};
pub use input::{parse, Format, InputError, Parsed};

/// One benchmark result. Text (build id, revision) lives in the dataset's
/// arena so that ten million points cost a few tens of bytes each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub value: f64,
    /// The build id as a number, NaN when it is not one.
    pub key: f64,
    /// Unix seconds, [`NO_TIME`] when the row had none.
    pub timestamp: i64,
    /// Start in the arena of the build id, followed by the revision.
    pub text_start: usize,
    pub buildid_len: u32,
    pub revision_len: u32,
    /// Index into [`Dataset::machines`].
    pub machine: u32,
}

/// The timestamp of a point that has none.
pub const NO_TIME: i64 = i64::MIN;

impl Point {
    pub fn time(&self) -> Option<i64> {
        (self.timestamp != NO_TIME).then_some(self.timestamp)
    }
    fn buildid_range(&self) -> Range<usize> {
        self.text_start..self.text_start.saturating_add(self.buildid_len as usize)
    }
    fn revision_range(&self) -> Range<usize> {
        let start = self.buildid_range().end;
        start..start.saturating_add(self.revision_len as usize)
    }
}

/// The points of one (test, branch, platform), merged across machines and
/// ordered by build id.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub test: String,
    pub branch: String,
    pub platform: String,
    pub points: Vec<Point>,
}

impl Series {
    /// `Tp3 Linux 1.9.2`, the non-empty parts, for messages and titles.
    pub fn label(&self) -> String {
        [self.test.as_str(), self.platform.as_str(), self.branch.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Every series of an input, with the strings their points refer to.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub series: Vec<Series>,
    pub arena: String,
    pub machines: Vec<String>,
}

impl Dataset {
    pub fn buildid(&self, p: &Point) -> &str {
        self.arena.get(p.buildid_range()).unwrap_or("")
    }
    pub fn revision(&self, p: &Point) -> Option<&str> {
        self.arena.get(p.revision_range()).filter(|s| !s.is_empty())
    }
    pub fn machine(&self, p: &Point) -> &str {
        self.machines.get(p.machine as usize).map(String::as_str).unwrap_or("")
    }
}

/// The bucket each point falls in (the original analysis' four colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Good,
    Spike,
    Regression,
    Machine,
    /// Among the newest points, not yet known to be a spike or a change.
    Pending,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Good => "good",
            Class::Spike => "spike",
            Class::Regression => "regression",
            Class::Machine => "machine",
            Class::Pending => "pending",
        }
    }
}

/// JSON spells a class as [`Class::name`] does.
impl serde::Serialize for Class {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which way the values moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Increase,
    Decrease,
}

impl Direction {
    pub fn of(delta: f64) -> Direction {
        if delta < 0.0 {
            Direction::Decrease
        } else {
            Direction::Increase
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Direction::Increase => "increase",
            Direction::Decrease => "decrease",
        }
    }
}

/// JSON spells a direction as [`Direction::name`] does.
impl serde::Serialize for Direction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The level: `old` and `new` are values of the series.
    Level,
    /// The noise: `old` and `new` are its standard deviations.
    Variance,
}

/// A confirmed change in a series ("regression" in the original's sense:
/// faster or slower), of its level or of its noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// Index in the series of the first point of the change (its date).
    pub index: usize,
    pub old: f64,
    pub new: f64,
    pub direction: Direction,
    pub kind: ChangeKind,
}

impl Change {
    /// Size of the change relative to the old value, in percent (positive).
    /// A ratio, not a difference: `new - old` overflows for values of
    /// opposite signs near `f64::MAX`.
    pub fn percent(&self) -> f64 {
        if self.old == 0.0 {
            if self.new == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (self.new / self.old - 1.0).abs() * 100.0
        }
    }
}

/// Points of one machine out of tolerance while the others are not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineProblem {
    /// The machine, an index into [`Dataset::machines`].
    pub machine: u32,
    /// The point (series index) where the problem was recognised.
    pub index: usize,
    /// The expected value there.
    pub expected: f64,
}

/// The newest points of a series, out of line with what came before but
/// too few to call a change: neither change nor no change yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pending {
    /// The first of them.
    pub index: usize,
    /// How many points there are from it to the end.
    pub points: usize,
    /// How many more points it takes to decide, at least.
    pub needed: usize,
    /// The level before them.
    pub expected: f64,
}

/// What a detector says about one series: a class, an expected value and a
/// tolerance (NaN where there is none yet) for every point, and the changes
/// and machine problems found.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub classes: Vec<Class>,
    pub expected: Vec<f64>,
    pub tolerance: Vec<f64>,
    pub changes: Vec<Change>,
    pub machine_problems: Vec<MachineProblem>,
    /// Set when the newest points cannot be judged yet.
    pub pending: Option<Pending>,
    /// The smallest change of level reported, in percent: `--min-change`,
    /// or the floor chosen for this series (see [`noise::floor`]).
    pub min_change: f64,
}

impl Analysis {
    fn with_len(n: usize) -> Analysis {
        Analysis {
            classes: vec![Class::Good; n],
            expected: vec![f64::NAN; n],
            tolerance: vec![f64::NAN; n],
            changes: Vec::new(),
            machine_problems: Vec::new(),
            pending: None,
            min_change: 0.0,
        }
    }
}

/// Values above this (2^400) are scaled down before analysis: the detectors
/// square deviations and add values, which must stay far from `f64::MAX`.
const SCALE_ABOVE: f64 = 2.582_249_878_086_908_6e120;

/// Run `detect` over `points`, first divided by a power of two (exact)
/// when their magnitude would let squares or sums overflow, and give the
/// values of the result back in the input's units. Ordinary series are
/// passed through untouched.
pub fn analyze_scaled(points: &[Point], detect: impl Fn(&[Point]) -> Analysis) -> Analysis {
    let max = points.iter().map(|p| p.value.abs()).fold(0.0f64, f64::max);
    if !(max > SCALE_ABOVE && max.is_finite()) {
        return detect(points);
    }
    // 2^-e with 2^e >= max: every scaled value is at most 1 in magnitude.
    // 2^e itself may not be a finite f64 (e = 1024), hence two halves.
    let e = max.log2().ceil() as i32;
    let times_pow2 = |x: f64, e: i32| x * 2f64.powi(e / 2) * 2f64.powi(e - e / 2);
    let up = |x: f64| times_pow2(x, e);
    let scaled: Vec<Point> = points.iter().map(|p| Point { value: times_pow2(p.value, -e), ..*p }).collect();
    let mut a = detect(&scaled);
    for x in a.expected.iter_mut().chain(a.tolerance.iter_mut()) {
        *x = up(*x);
    }
    for c in &mut a.changes {
        (c.old, c.new) = (up(c.old), up(c.new));
    }
    for m in &mut a.machine_problems {
        m.expected = up(m.expected);
    }
    if let Some(p) = &mut a.pending {
        p.expected = up(p.expected);
    }
    a
}

/// Mean and sample standard deviation of a non-empty slice, computed in two
/// passes (exact enough for values with a large offset and little noise).
pub(crate) fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// Series for the tests of both analysis methods.
#[cfg(test)]
pub(crate) mod test_points {
    use std::borrow::Borrow;

    use super::{Point, NO_TIME};

    /// Points with these values and nothing else.
    pub fn pts<T: Borrow<f64>>(values: impl IntoIterator<Item = T>) -> Vec<Point> {
        values
            .into_iter()
            .map(|value| Point {
                value: *value.borrow(),
                key: 0.0,
                timestamp: NO_TIME,
                text_start: 0,
                buildid_len: 0,
                revision_len: 0,
                machine: 0,
            })
            .collect()
    }

    /// Uniform numbers in (0, 1) from a seeded xorshift*, no crate needed.
    pub fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
    }

    /// A small deterministic wobble, enough to give windows a spread.
    pub fn wobble(i: usize) -> f64 {
        [0.0, 0.3, -0.2, 0.1, -0.4, 0.2, -0.1, 0.4, -0.3, 0.05][i % 10]
    }
}
