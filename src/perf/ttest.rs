//! Perfherder's change detector (`--method ttest`), after treeherder's
//! `perf/alerts` `detect_changes`: at each point, a back window of 12 to 24
//! points and a fore window of 12, linearly weighted means, a Welch t
//! statistic; a change where t passes the threshold and is a local maximum,
//! and the means differ by at least `min_change` percent (on a noisy
//! series; on a precise one, by default, by anything: see [`noise::floor`]).
//!
//! The windows are bounded (at most 36 points), so each point costs a
//! constant amount of work: O(n) time. The window sums are recomputed rather
//! than taken from series-wide prefix sums, which on ten million points lose
//! the digits a variance needs (index-weighted sums reach 1e16 and more).
//! Each point is one "revision" with one value (treeherder groups replicates
//! of one push; here every row is its own datum).

use super::noise::{self, Kind, Noise};
use super::segment::{rolling_median, HALF_WINDOW};
use super::{Analysis, Change, ChangeKind, Class, Direction, Point};

/// Settings of the t-test method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub min_back_window: usize,
    pub max_back_window: usize,
    pub fore_window: usize,
    /// `--t-threshold`, 7.
    pub t_threshold: f64,
    /// `--min-change`, in percent; `None`: none on a precise series, 2 on
    /// others (Perfherder's).
    pub min_change: Option<f64>,
}

impl Default for Params {
    fn default() -> Params {
        Params { min_back_window: 12, max_back_window: 24, fore_window: 12, t_threshold: 7.0, min_change: None }
    }
}

/// Linearly weighted mean, sample variance around it, and plain mean of a
/// window whose point nearest the tested point weighs most: weight
/// `(n - k) / n` for the point `k` places away (the common `1/n` cancels
/// in the mean and is left out). `nearest_last` says which end is nearest.
fn stats(xs: &[f64], nearest_last: bool) -> (f64, f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let nf = n as f64;
    let (mut sum, mut weighted, mut weights) = (0.0, 0.0, 0.0);
    for (j, &x) in xs.iter().enumerate() {
        let w = if nearest_last { (j + 1) as f64 } else { (n - j) as f64 };
        sum += x;
        weighted += w * x;
        weights += w;
    }
    let avg = weighted / weights;
    let var = if n > 1 { xs.iter().map(|x| (x - avg) * (x - avg)).sum::<f64>() / (nf - 1.0) } else { 0.0 };
    (avg, var, sum / nf)
}

/// On an exact series, the points off the median of their neighbours
/// (by more than the resolution: there is no noise) take that median. A
/// spike would otherwise be its windows' whole variance, and hide a change
/// beside it that is certain; Perfherder's windows, made for timings, have
/// no such case.
fn set_spikes_aside(values: &mut [f64], resolution: f64) {
    let med = rolling_median(values, HALF_WINDOW, resolution);
    for (v, m) in values.iter_mut().zip(med) {
        if (*v - m).abs() > resolution {
            *v = m;
        }
    }
}

/// Find the changes of one series (already ordered by build id).
pub fn analyze(points: &[Point], p: &Params) -> Analysis {
    let n = points.len();
    let mut values: Vec<f64> = points.iter().map(|pt| pt.value).collect();
    let mut a = Analysis::with_len(n);
    let noise = Noise::of(&values);
    a.min_change = noise::floor(p.min_change, 2.0, &noise);
    if noise.kind == Kind::Exact {
        set_spikes_aside(&mut values, noise.resolution);
    }
    // The first pass keeps t and the back window's length of each point
    // (12 bytes a point); the second recomputes the means of the few alerts.
    let mut ts = vec![0.0f64; n];
    let mut back_lens = vec![0u32; n];
    let mut last_seen_regression = 0usize;
    let max_back = p.max_back_window.max(1);

    for i in 1..n {
        // Back window: nearest point first; it grows after a regression was
        // last seen, from min_back_window up to max_back_window.
        let span = last_seen_regression.max(p.min_back_window).min(max_back);
        let back_len = span.min(i);
        let fore_len = p.fore_window.max(1).min(n - i);
        let (Some(back), Some(fore)) = (values.get(i - back_len..i), values.get(i..i + fore_len)) else {
            continue;
        };
        let (w1, v1, back_avg) = stats(back, true);
        let (w2, v2, _) = stats(fore, false);
        let (n1, n2) = (back.len(), fore.len());
        let se = if n1 > 0 && n2 > 0 { (v1 / n1 as f64 + v2 / n2 as f64).sqrt() } else { f64::NAN };
        let delta = w2 - w1;
        let t = if n1 == 0 || n2 == 0 || delta == 0.0 {
            0.0
        } else if v1 == 0.0 && v2 == 0.0 {
            f64::INFINITY
        } else {
            (delta / se).abs()
        };
        if t > p.t_threshold {
            last_seen_regression = 0;
        } else {
            last_seen_regression = last_seen_regression.saturating_add(1);
        }
        if let (Some(t_slot), Some(len_slot)) = (ts.get_mut(i), back_lens.get_mut(i)) {
            *t_slot = t;
            *len_slot = u32::try_from(back_len).unwrap_or(u32::MAX);
        }
        if let (Some(e), Some(tol)) = (a.expected.get_mut(i), a.tolerance.get_mut(i)) {
            *e = back_avg;
            *tol = p.t_threshold * se;
        }
    }

    // Second pass: a change where t passes the threshold with enough data on
    // both sides and no neighbour has a higher t.
    let fore_window = p.fore_window.max(1);
    for i in 1..n {
        let (Some(&t), Some(&back_len)) = (ts.get(i), back_lens.get(i)) else { continue };
        let back_len = back_len as usize;
        // `t <= threshold` written so that a NaN t never alerts either.
        if back_len < p.min_back_window || n - i < fore_window || t.is_nan() || t <= p.t_threshold {
            continue;
        }
        let prev_t = ts.get(i - 1).copied().unwrap_or(0.0);
        let next_t = ts.get(i + 1).copied().unwrap_or(0.0);
        if prev_t > t || next_t > t {
            continue;
        }
        let (Some(back), Some(fore)) = (values.get(i - back_len..i), values.get(i..i + fore_window)) else {
            continue;
        };
        let back_avg = back.iter().sum::<f64>() / back_len as f64;
        let fore_avg = fore.iter().sum::<f64>() / fore_window as f64;
        let change = Change {
            index: i,
            old: back_avg,
            new: fore_avg,
            direction: Direction::of(fore_avg - back_avg),
            kind: ChangeKind::Level,
        };
        // treeherder counts a zero old value as no change at all; here it
        // is the largest change there is (a count that leaves zero).
        if change.percent() < a.min_change {
            continue;
        }
        if let Some(c) = a.classes.get_mut(i) {
            *c = Class::Regression;
        }
        a.changes.push(change);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::test_points::{pts, wobble};

    #[test]
    fn step_alerts_at_the_step_only() {
        let v = (0..100).map(|i| if i < 50 { 100.0 } else { 110.0 } + wobble(i));
        let a = analyze(&pts(v), &Params::default());
        assert_eq!(a.changes.len(), 1, "{:?}", a.changes);
        assert_eq!(a.changes[0].index, 50);
        assert_eq!(a.changes[0].direction, Direction::Increase);
        assert_eq!(a.classes[50], Class::Regression);
    }

    #[test]
    fn small_change_below_min_change_is_ignored() {
        // A clear step statistically, but only 1 %, on a timing's noise (0.1 %).
        let v = || (0..100).map(|i| if i < 50 { 100.0 } else { 101.0 } + wobble(i) / 4.0);
        let a = analyze(&pts(v()), &Params::default());
        assert!(a.changes.is_empty(), "{:?}", a.changes);
        let a = analyze(&pts(v()), &Params { min_change: Some(0.5), ..Params::default() });
        assert_eq!(a.changes.len(), 1);
    }

    #[test]
    fn every_change_of_an_exact_series_is_reported_even_from_zero() {
        // A size that grows by 0.4 %, a count that leaves zero, a doubling:
        // no floor applies to exact series, and a zero old value is the
        // largest change there is, not (as in treeherder) none.
        for (old, new) in [(4_812_736.0, 4_831_987.0), (0.0, 3.0), (100.0, 200.0)] {
            let a = analyze(&pts((0..200).map(|i| if i < 120 { old } else { new })), &Params::default());
            assert_eq!(a.min_change, 0.0);
            assert_eq!(a.changes.len(), 1, "{old} → {new}: {:?}", a.changes);
            assert_eq!(a.changes[0].index, 120);
        }
    }

    #[test]
    fn a_spike_beside_a_change_of_an_exact_series_does_not_hide_it() {
        // The spike, 50 times the change, 5 points after it: in the fore
        // window it would be that window's whole variance.
        let mut v: Vec<f64> = (0..200).map(|i| if i < 120 { 1000.0 } else { 1001.0 }).collect();
        v[125] = 1050.0;
        let a = analyze(&pts(&v), &Params::default());
        assert_eq!(a.changes.len(), 1, "{:?}", a.changes);
        assert_eq!((a.changes[0].index, a.changes[0].old, a.changes[0].new), (120, 1000.0, 1001.0));
    }

    #[test]
    fn a_constant_series_and_a_lone_spike_are_no_change() {
        let mut v = vec![1000.0; 200];
        assert!(analyze(&pts(&v), &Params::default()).changes.is_empty());
        v[80] = 1500.0;
        assert!(analyze(&pts(&v), &Params::default()).changes.is_empty());
    }

    #[test]
    fn weighted_stats_match_treeherder() {
        // analyze([1, 2, 3], linear_weights), nearest first: weights 1, 2/3, 1/3.
        let want = (1.0 + 2.0 * 2.0 / 3.0 + 3.0 / 3.0) / 2.0;
        let want_var = [1.0f64, 2.0, 3.0].iter().map(|x| (x - want) * (x - want)).sum::<f64>() / 2.0;
        for (xs, nearest_last) in [([1.0, 2.0, 3.0], false), ([3.0, 2.0, 1.0], true)] {
            let (avg, var, mean) = stats(&xs, nearest_last);
            assert!((avg - want).abs() < 1e-12, "{avg}");
            assert!((var - want_var).abs() < 1e-12);
            assert!((mean - 2.0).abs() < 1e-12);
        }
    }

    #[test]
    fn short_series_do_not_panic() {
        for n in 0..30 {
            let a = analyze(&pts((0..n).map(|i| i as f64)), &Params::default());
            assert_eq!(a.classes.len(), n);
        }
    }
}
