//! How much a series varies when nothing changes, read from its consecutive
//! differences (a step or a drift moves few of them). Timings are noisy;
//! sizes, counts and instruction counts are exact or nearly so; timings in
//! whole milliseconds sit on a few levels. A detector that took the second
//! kind for the first would call every change noise, and the third fools
//! the usual robust estimate (most differences are zero, so their median
//! is), hence one estimate that knows all three.

/// 1 / Φ⁻¹(3/4): a median absolute deviation times this estimates the SD
/// of normal noise.
pub(crate) const MAD_TO_SD: f64 = 1.482_602_218_505_602;

/// √π / 2: two normal draws of SD σ differ by 2σ/√π on average. Rounding
/// both to a grid keeps that average (over where the grid falls), which is
/// what makes it the estimate for quantised values.
const MEAN_DIFF_TO_SD: f64 = 0.886_226_925_452_758;

/// Fewer nonzero consecutive differences than this share make a series
/// exact: its moves are events (a step moves one difference, a spike two),
/// not noise. Below it, the noise a grid would imply (√π/2 × share × step of
/// the grid) is under a fifth of the grid step, so a move of one step is an
/// outlier (5 SDs) either way; reading the series as exact keeps a few
/// events from passing for noise that would hide the smaller ones.
const EXACT_SHARE: f64 = 0.2;

/// A noise under this fraction of the level is no timing's (the quietest
/// machines measure to 0.1 %), but counts and sizes with a little jitter
/// (cachegrind, callgrind) are there: such a series is precise.
const PRECISE_RELATIVE: f64 = 1e-4;

/// A series whose median difference is shared by at least one difference
/// in this many is quantised.
const TIED: usize = 10;

/// Differences under this fraction of a series' range are rounding in the
/// detectors' sums, not changes.
const RESOLUTION: f64 = 1e-9;

/// What kind of variation a series shows between changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Consecutive points mostly differ: timings, noisy counts.
    Continuous,
    /// Most consecutive points are equal and many are not, by a step or two
    /// of a grid: timings in whole milliseconds, counts that wobble.
    Quantised,
    /// Consecutive points are equal except where something happened.
    Exact,
}

/// The noise of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// Its robust standard deviation; 0 for an exact series.
    pub sd: f64,
    pub kind: Kind,
    /// The smallest difference that is not rounding (see [`resolution`]).
    pub resolution: f64,
    /// The median magnitude of the values, which `sd` is relative to.
    pub level: f64,
}

impl Noise {
    /// The noise of `x`, from the absolute differences of consecutive
    /// points:
    /// - as a rule, their median (times 1.4826/√2);
    /// - when many share the median value, the values lie on a grid (whole
    ///   milliseconds) and that median is a step of it, too coarse: the
    ///   median of grouped data instead, each value standing for the
    ///   interval half a grid step either side (the plain median of the
    ///   differences of a 10-or-11 ms series is 0 or 1 whatever the
    ///   proportions; the grouped one moves with them);
    /// - when most are zero but at least [`EXACT_SHARE`] are not, the share
    ///   of nonzero ones times their median size (a grid step) times √π/2:
    ///   the mean difference of normal noise as the grid lets it through;
    /// - when fewer are nonzero, the series is exact: 0.
    pub fn of(x: &[f64]) -> Noise {
        let mut buf: Vec<f64> = x
            .windows(2)
            .map(|w| match w {
                [a, b] => (b - a).abs(),
                _ => 0.0,
            })
            .collect();
        let (sd, kind) = spread_of_differences(&mut buf);
        buf.clear();
        buf.extend(x.iter().map(|v| v.abs()));
        let level = median(&mut buf);
        Noise { sd, kind, resolution: resolution(x), level }
    }

    /// Whether the series is precise: exact, or with a noise under 0.01 %
    /// of its level. Every change of such a series is real, so no floor
    /// (`--min-change`) applies to it by default.
    pub fn precise(&self) -> bool {
        self.kind == Kind::Exact || self.sd <= PRECISE_RELATIVE * self.level
    }

    /// The SD a detector measures against: the noise, or the resolution
    /// where there is none (exact series), so that rounding in sums is not
    /// taken for a change.
    pub fn scale(&self) -> f64 {
        self.sd.max(self.resolution)
    }
}

/// The SD of the noise and its kind from the absolute differences `d` of
/// consecutive points (reordered), as [`Noise::of`] says.
fn spread_of_differences(d: &mut [f64]) -> (f64, Kind) {
    let n = d.len();
    let m = median(d);
    if !m.is_finite() {
        return (if m.is_nan() { 0.0 } else { m }, Kind::Continuous);
    }
    let (mut below, mut at, mut nonzero) = (0usize, 0usize, 0usize);
    let mut under = 0.0f64;
    for &v in d.iter() {
        if v < m {
            below += 1;
            under = under.max(v);
        } else if v == m {
            at += 1;
        }
        nonzero += usize::from(v > 0.0);
    }
    let share = nonzero as f64 / n.max(1) as f64;
    let to_sd = MAD_TO_SD / std::f64::consts::SQRT_2;
    if m > 0.0 {
        // The median value stands for [m - w/2, m + w/2], w the step down
        // to the next value below (or m itself); the median falls in it
        // as far as the count says.
        let w = if below > 0 { m - under } else { m };
        let grouped = if at > 1 { m - w / 2.0 + (n as f64 / 2.0 - below as f64) / at as f64 * w } else { m };
        let kind = if at * TIED >= n { Kind::Quantised } else { Kind::Continuous };
        return (grouped.max(0.0) * to_sd, kind);
    }
    if share < EXACT_SHARE {
        return (0.0, Kind::Exact);
    }
    let mut moves: Vec<f64> = d.iter().copied().filter(|&v| v > 0.0).collect();
    (MEAN_DIFF_TO_SD * share * median(&mut moves), Kind::Quantised)
}

/// The smallest change of level, in percent, that a detector reports on a
/// series: the floor given (`--min-change`); else none on a precise series,
/// where every change is real, and the method's `default` on a noisy one,
/// where it keeps the machine's own shifts out.
pub fn floor(given: Option<f64>, default: f64, noise: &Noise) -> f64 {
    given.unwrap_or(if noise.precise() { 0.0 } else { default })
}

/// The smallest difference of `x` that counts: [`RESOLUTION`] times its
/// range (a sum of squares over the series is exact to about 1e-13 of it),
/// never zero.
pub fn resolution(x: &[f64]) -> f64 {
    let (lo, hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let range = hi - lo;
    if range.is_finite() && range > 0.0 {
        (range * RESOLUTION).max(f64::MIN_POSITIVE)
    } else {
        f64::MIN_POSITIVE
    }
}

/// The median (upper of the two middle values for an even count); NaN when
/// empty. Reorders `v`.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_level_exact_series_is_exact_whatever_the_step() {
        // The spread around the median of this series is the step itself:
        // what the former estimate fell back on.
        for (lo, hi) in [(100.0, 200.0), (4_812_736.0, 4_832_987.0), (0.0, 3.0)] {
            let x: Vec<f64> = (0..100).map(|i| if i < 50 { lo } else { hi }).collect();
            let n = Noise::of(&x);
            assert_eq!((n.kind, n.sd), (Kind::Exact, 0.0), "{lo} → {hi}");
            assert!(n.precise());
            assert!(n.scale() > 0.0 && n.scale() < (hi - lo) * 1e-6, "{}", n.scale());
        }
    }

    #[test]
    fn spikes_and_steps_do_not_make_an_exact_series_noisy() {
        let mut x = vec![1000.0; 200];
        for (i, v) in x.iter_mut().enumerate().skip(120) {
            *v = 1001.0 + (i >= 160) as u8 as f64;
        }
        for i in [10, 11, 40, 90, 170] {
            x[i] = 5000.0;
        }
        assert_eq!(Noise::of(&x).kind, Kind::Exact);
    }

    #[test]
    fn whole_milliseconds_are_quantised_with_a_spread_of_the_order_of_the_grid() {
        // 10 or 11 ms, in several proportions: the SD of the values is
        // between 0.36 (15 % of 11) and 0.5 (half and half).
        for share_of_11 in [0.15, 0.3, 0.5, 0.7] {
            let mut u = crate::perf::test_points::uniform(7);
            let x: Vec<f64> = (0..400).map(|_| if u() < share_of_11 { 11.0 } else { 10.0 }).collect();
            let n = Noise::of(&x);
            assert!(n.kind != Kind::Exact, "{share_of_11}: {n:?}");
            assert!((0.2..=1.1).contains(&n.sd), "{share_of_11}: {n:?}");
            assert!(!n.precise());
        }
    }

    #[test]
    fn a_tiny_jitter_is_continuous_noise_but_precise() {
        let mut u = crate::perf::test_points::uniform(3);
        let jitter: Vec<f64> = (0..200).map(|_| u() - 0.5).collect();
        let x: Vec<f64> = jitter.iter().map(|e| 1.5e9 * (1.0 + 2e-6 * e)).collect();
        let n = Noise::of(&x);
        assert_eq!(n.kind, Kind::Continuous);
        assert!(n.precise(), "{n:?}");
        let timing: Vec<f64> = jitter.iter().map(|e| 100.0 + 0.2 * e).collect();
        assert!(!Noise::of(&timing).precise(), "a quiet timing (0.1 %) is not");
    }

    #[test]
    fn constant_empty_and_extreme_series_have_a_finite_scale() {
        for x in [vec![], vec![7.0], vec![7.0; 50], vec![0.0; 50], vec![1e-300, 0.0, 1e-300]] {
            let n = Noise::of(&x);
            assert!(n.scale() > 0.0 && n.scale().is_finite(), "{x:?}: {n:?}");
        }
        // Values this far apart are scaled down before any detector runs
        // (analyze_scaled); here they must only not panic.
        let _ = Noise::of(&[f64::MAX, -f64::MAX, f64::MAX]);
    }
}
