//! The original Talos analysis (`--method window`): an expected value from
//! the most recent stable window of history, a tolerance of so many standard
//! deviations, and runs of points outside it sorted into spikes, confirmed
//! changes ("regressions") and machine problems.
//!
//! Each point looks back at one new candidate window only (the one ending
//! just before it), so the cost is O(n * window) time and O(n) memory.

use std::collections::VecDeque;

use super::{mean_sd, Analysis, Change, ChangeKind, Class, Direction, MachineProblem, Point};

/// Settings of the window method (the CLI flags of the same names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Points in a window of history (`--window`, 20).
    pub window: usize,
    /// Tolerance, in standard deviations (`--threshold`, 2.5).
    pub threshold: f64,
    /// Consecutive points out of tolerance that confirm a change (`--confirm`, 3).
    pub confirm: usize,
    /// Last points of one machine out of tolerance that make a machine
    /// problem (`--machine-points`, 2); 0 turns the check off.
    pub machine_points: usize,
    /// Changes smaller than this many percent are dropped (`--min-change`;
    /// 0 by default, on every series: this method never had a floor).
    pub min_change: f64,
}

impl Default for Params {
    fn default() -> Params {
        Params { window: 20, threshold: 2.5, confirm: 3, machine_points: 2, min_change: 0.0 }
    }
}

/// The expected value and the tolerance around it.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    mean: f64,
    sd: f64,
    tol: f64,
}

/// Consecutive points out of tolerance in one direction, not yet a change.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    len: usize,
    dir: Direction,
}

/// A confirmed change still waiting for the data to level off.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// Index of the change in `Analysis::changes`.
    change: usize,
    start: usize,
    dir: Direction,
    old: Baseline,
}

/// The recent out-of-tolerance points of one machine.
#[derive(Debug, Default)]
struct MachineTrack {
    last: Option<usize>,
    /// Indices of its latest consecutive bad points (at most `machine_points`).
    bad: VecDeque<usize>,
    dir: Option<Direction>,
    streak: usize,
}

/// After a change, a window counts as the data levelling off only if its
/// spread is at most this many times the old one. A window's own standard
/// deviation alone accepts a window where a fifth of the points are a burst
/// (their distance inflates the deviation they are measured with).
const LEVEL_SD_FACTOR: f64 = 2.0;

/// Tolerance floor relative to the mean, so that a perfectly flat window
/// does not turn rounding noise into spikes: the mean of 20 equal values is
/// off by a few units of the last place (1e-15), while a change of one unit
/// of a count of a billion (an instruction count) is 1e-9 and must show.
const REL_EPSILON: f64 = 1e-12;

/// The window `xs` as a baseline if no point is more than `threshold`
/// standard deviations from its mean.
fn stable(xs: &[f64], threshold: f64) -> Option<Baseline> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    // One pass for the spread and the farthest point (two-pass variance:
    // exact for values with a large offset and little noise).
    let (mut ss, mut far) = (0.0f64, 0.0f64);
    for x in xs {
        let d = (x - mean).abs();
        ss += d * d;
        far = far.max(d);
    }
    let sd = if xs.len() > 1 { (ss / (n - 1.0)).sqrt() } else { 0.0 };
    let tol = (threshold * sd).max(REL_EPSILON * mean.abs());
    (far <= tol).then_some(Baseline { mean, sd, tol })
}

/// Classify every point of one series (already ordered by build id).
pub fn analyze(points: &[Point], p: &Params) -> Analysis {
    let n = points.len();
    let values: Vec<f64> = points.iter().map(|pt| pt.value).collect();
    let mut a = Analysis::with_len(n);
    a.min_change = p.min_change;
    let w = p.window.max(2);
    let confirm = p.confirm.max(1);

    let mut base: Option<Baseline> = None;
    // Windows must start at or after this index: the start of the last
    // confirmed change, so that no window mixes the old and new levels.
    let mut floor = 0usize;
    let mut run: Option<Run> = None;
    let mut pending: Option<Pending> = None;
    // Machine ids are small dense integers: one track per id.
    let machine_count = points.iter().map(|pt| pt.machine as usize + 1).max().unwrap_or(0);
    let mut machines: Vec<MachineTrack> = Vec::new();
    machines.resize_with(machine_count, MachineTrack::default);
    let mut last_out: Option<usize> = None;

    for i in 0..n {
        // 1. The expected value: try the one window ending just before i,
        // unless an unconfirmed run is open (its points are suspects).
        let run_open = matches!(run, Some(r) if Some(r.end) == i.checked_sub(1));
        if !run_open && i >= w && i - w >= floor {
            let found = values.get(i - w..i).and_then(|xs| stable(xs, p.threshold));
            let levels_off = |b: &Baseline| match pending {
                Some(pd) => b.sd <= LEVEL_SD_FACTOR * pd.old.sd || b.tol <= pd.old.tol,
                None => true,
            };
            if let Some(b) = found.filter(levels_off) {
                if let Some(pd) = pending.take() {
                    settle(&mut a, pd, b.mean, i, p.min_change);
                }
                base = Some(b);
            }
        }
        let (Some(b), Some(&x)) = (base, values.get(i)) else { continue };
        set(&mut a.expected, i, b.mean);
        set(&mut a.tolerance, i, b.tol);

        // 2. While a change waits to level off, points are judged against
        // the old expected value: beyond it in the change's direction they
        // carry the change on.
        let machine = points.get(i).map_or(0, |pt| pt.machine);
        let Some(track) = machines.get_mut(machine as usize) else { continue };
        if let Some(pd) = pending {
            set(&mut a.expected, i, pd.old.mean);
            set(&mut a.tolerance, i, pd.old.tol);
            // Every machine moves with a change: no machine streak survives it.
            track.last = Some(i);
            track.streak = 0;
            track.bad.clear();
            let d = x - pd.old.mean;
            if d.abs() > pd.old.tol {
                last_out = Some(i);
                let class = if Direction::of(d) == pd.dir { Class::Regression } else { Class::Spike };
                set(&mut a.classes, i, class);
            }
            continue;
        }

        let d = x - b.mean;
        if d.abs() <= b.tol {
            track.streak = 0;
            track.bad.clear();
            track.last = Some(i);
            continue;
        }
        let dir = Direction::of(d);

        // 3. A machine problem: this machine's previous point was bad in the
        // same direction, other machines ran in between, and all of those
        // were within tolerance.
        let clean_gap = matches!(track.last, Some(j) if last_out == Some(j) && i > j + 1);
        if clean_gap && track.streak > 0 && track.dir == Some(dir) {
            track.streak += 1;
        } else {
            track.streak = 1;
            track.bad.clear();
        }
        track.dir = Some(dir);
        track.last = Some(i);
        track.bad.push_back(i);
        while track.bad.len() > p.machine_points.max(1) {
            track.bad.pop_front();
        }
        last_out = Some(i);
        if p.machine_points > 0 && track.streak >= p.machine_points {
            for &j in &track.bad {
                set(&mut a.classes, j, Class::Machine);
            }
            if track.streak == p.machine_points {
                a.machine_problems.push(MachineProblem { machine, index: i, expected: b.mean });
            }
            run = None;
            continue;
        }

        // 4. Spikes, and the confirmation of a change.
        let r = match run {
            Some(r) if r.dir == dir && Some(r.end) == i.checked_sub(1) => Run { end: i, len: r.len + 1, ..r },
            _ => Run { start: i, end: i, len: 1, dir },
        };
        if r.len < confirm {
            set(&mut a.classes, i, Class::Spike);
            run = Some(r);
            continue;
        }
        set(&mut a.classes, i, Class::Regression);
        a.changes.push(Change { index: r.start, old: b.mean, new: f64::NAN, direction: dir, kind: ChangeKind::Level });
        pending = Some(Pending { change: a.changes.len() - 1, start: r.start, dir, old: b });
        floor = r.start;
        run = None;
    }

    // A change the data never levelled off after: its new value is the mean
    // of everything since it started.
    if let Some(pd) = pending {
        let mean = values.get(pd.start..).map_or(f64::NAN, |xs| mean_sd(xs).0);
        settle(&mut a, pd, mean, n, p.min_change);
    }
    a.changes.retain(|c| !c.new.is_nan());
    a
}

fn set<T>(v: &mut [T], i: usize, x: T) {
    if let Some(slot) = v.get_mut(i) {
        *slot = x;
    }
}

/// Give a pending change its new level; withdraw it (its points become
/// spikes again) when the level came back within the old tolerance or moved
/// less than `min_change` percent, or turned the other way.
fn settle(a: &mut Analysis, pd: Pending, new: f64, end: usize, min_change: f64) {
    let Some(change) = a.changes.get_mut(pd.change) else { return };
    change.new = new;
    let delta = new - pd.old.mean;
    let keep = delta.abs() > pd.old.tol && Direction::of(delta) == pd.dir && change.percent() >= min_change;
    if keep {
        return;
    }
    change.new = f64::NAN; // removed by the caller's retain
    for c in a.classes.get_mut(pd.start..end).into_iter().flatten() {
        if *c == Class::Regression {
            *c = Class::Spike;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::test_points::{pts, wobble};

    #[test]
    fn points_without_history_are_good() {
        let a = analyze(&pts([1.0, 100.0, 1.0, 100.0]), &Params::default());
        assert!(a.classes.iter().all(|&c| c == Class::Good));
        assert!(a.changes.is_empty());
    }

    #[test]
    fn step_is_one_change_at_its_first_point() {
        let v: Vec<f64> = (0..80).map(|i| if i < 40 { 100.0 } else { 120.0 } + wobble(i)).collect();
        let a = analyze(&pts(&v), &Params::default());
        assert_eq!(a.changes.len(), 1, "{:?}", a.changes);
        let c = a.changes[0];
        assert_eq!(c.index, 40);
        assert_eq!(c.direction, Direction::Increase);
        assert!((c.percent() - 20.0).abs() < 0.5, "{}", c.percent());
        assert_eq!(&a.classes[40..43], &[Class::Spike, Class::Spike, Class::Regression]);
        assert!(a.classes[..40].iter().all(|&c| c == Class::Good));
        assert_eq!(*a.classes.last().unwrap(), Class::Good, "levels off before the end");
    }

    #[test]
    fn short_burst_that_returns_is_withdrawn() {
        let v: Vec<f64> = (0..90).map(|i| if (40..44).contains(&i) { 130.0 } else { 100.0 } + wobble(i)).collect();
        let a = analyze(&pts(&v), &Params::default());
        assert!(a.changes.is_empty(), "{:?}", a.changes);
        assert_eq!(a.classes.iter().filter(|&&c| c == Class::Spike).count(), 4);
        assert!(!a.classes.contains(&Class::Regression));
    }

    #[test]
    fn flat_series_has_nothing_to_report() {
        let a = analyze(&pts([5.0; 100]), &Params::default());
        assert!(a.classes.iter().all(|&c| c == Class::Good));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let v: Vec<f64> = (0..200)
            .map(|i| match i % 7 {
                0 => f64::MAX,
                1 => -f64::MAX,
                2 => 0.0,
                3 => f64::MIN_POSITIVE,
                _ => 1e300 * (i as f64),
            })
            .collect();
        let a = analyze(&pts(&v), &Params::default());
        assert_eq!(a.classes.len(), 200);
        let b = crate::perf::ttest::analyze(&pts(&v), &crate::perf::ttest::Params::default());
        assert_eq!(b.classes.len(), 200);
    }

    #[test]
    fn empty_and_tiny_series_do_not_panic() {
        for n in 0..4 {
            let a = analyze(&pts(vec![1.0; n]), &Params { window: 0, confirm: 0, ..Params::default() });
            assert_eq!(a.classes.len(), n);
        }
    }
}
