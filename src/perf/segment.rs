//! Robust segmentation (`--method segment`): change points searched over
//! the whole series, for benchmark series as they come from real machines
//! (outliers, bimodal noise, noise that grows or shrinks, slow drifts,
//! machines with their own offsets, newest points that cannot be judged).
//!
//! 1. The noise scale is robust: the median absolute difference of
//!    consecutive points, which neither a step nor a drift moves; for
//!    quantised and exact series what [`Noise`] makes of them (an exact
//!    series has none: every move is a spike or a change).
//! 2. Points far from the median of their neighbours are set aside: a
//!    machine whose latest points are all off while the others are not is a
//!    machine problem; other isolated points are spikes; those among the
//!    newest few, which cannot be told from the start of a change yet, are
//!    pending.
//! 3. Binary segmentation (a step over a linear trend, fitted in closed
//!    form from prefix sums, over the remaining points; seeded intervals
//!    first on long series) proposes change points generously; each is then tested against its neighbouring
//!    segments, the weakest removed first, until every one left is
//!    significant on a step-over-trend model (a slow drift explains its
//!    staircase away; over whole segments the trend may bend at the step,
//!    so that a slow curve explains its steps away too), lasts `confirm`
//!    points on both sides, and moves the level by at least `min_change`
//!    percent.
//! 4. Within each level segment, a change in the spread of consecutive
//!    differences (drift and level do not move it) is a variance change.
//!
//! Cost: O(n log n) time on long series (seeded intervals over prefix sums,
//! then plain binary segmentation of pieces of at most 16,384 points; each
//! test is O(1), the pruning O(k log k)), memory linear in n.

use super::noise::{self, median, Noise};
use super::{Analysis, Change, ChangeKind, Class, Direction, MachineProblem, Pending, Point};

/// Settings of the segmentation method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// A point further than this many noise SDs from the median of its
    /// neighbours is set aside as an outlier (`--threshold`, 5).
    pub threshold: f64,
    /// A change must be this significant: the t statistic of the step
    /// over a linear trend across both neighbouring segments
    /// (`--t-threshold`, 6).
    pub t_threshold: f64,
    /// Points on each side that a change needs (`--confirm`, 3); fewer
    /// after the newest change make it pending.
    pub confirm: usize,
    /// Latest points of one machine off, while the others are not, that
    /// make a machine problem (`--machine-points`, 2); 0 turns it off.
    pub machine_points: usize,
    /// Smallest change of level reported, in percent (`--min-change`);
    /// `None`: none on a precise series, [`DEFAULT_MIN_CHANGE`] on others.
    pub min_change: Option<f64>,
}

/// The floor of a noisy series, in percent: the shifts a machine makes on
/// its own (a kernel update, a warmer room) are seldom larger.
pub const DEFAULT_MIN_CHANGE: f64 = 2.0;

impl Default for Params {
    fn default() -> Params {
        Params { threshold: 5.0, t_threshold: 6.0, confirm: 3, machine_points: 2, min_change: None }
    }
}

/// Neighbours on each side of a point whose median it is judged against.
pub(super) const HALF_WINDOW: usize = 3;

/// A proposed split's χ² must exceed this many times ln n: generous, the
/// pruning decides.
const SPLIT_LOG_FACTOR: f64 = 2.0;

/// Longest series segmented by plain binary segmentation alone.
const CLASSIC_MAX: usize = 1 << 14;

/// A variance change: the likelihood ratio must pass this many times ln n,
/// and the spread move by at least this factor either way.
const VARIANCE_LOG_FACTOR: f64 = 6.0;
const VARIANCE_MIN_RATIO: f64 = 1.5;

/// Points on each side of a change that its test reads, at most: over a
/// few dozen points a slow curve is close to a line, over hundreds it is not.
const LOCAL: usize = 24;

/// Longest excursion that counts as a burst when the level comes back.
const BURST: usize = LOCAL;

/// Fewest points on each side of a variance change.
const VARIANCE_MIN_SIDE: usize = 10;

/// Find the changes of one series (already ordered by build id).
pub fn analyze(points: &[Point], p: &Params) -> Analysis {
    let n = points.len();
    let x: Vec<f64> = points.iter().map(|pt| pt.value).collect();
    let mut a = Analysis::with_len(n);
    if n == 0 {
        return a;
    }
    let confirm = p.confirm.max(1);
    let noise = Noise::of(&x);
    let sigma = noise.scale();
    let tol = p.threshold * sigma;
    a.min_change = noise::floor(p.min_change, DEFAULT_MIN_CHANGE, &noise);
    let min_rel = a.min_change / 100.0;

    // 2. Outliers against the median of their neighbours.
    let mut med = rolling_median(&x, HALF_WINDOW, tol);
    // The newest points have too few neighbours after them: they are judged
    // against the points before them alone, or a new level that has reached
    // half of a window would count as its own median.
    let young = n.saturating_sub(HALF_WINDOW);
    let mut buf = Vec::with_capacity(2 * HALF_WINDOW + 1);
    for i in young..n {
        buf.clear();
        buf.extend_from_slice(x.get(i.saturating_sub(2 * HALF_WINDOW + 1)..i).unwrap_or_default());
        if !buf.is_empty() {
            set(&mut med, i, median(&mut buf));
        }
    }
    let mut off: Vec<bool> = x.iter().zip(&med).map(|(v, m)| (v - m).abs() > tol).collect();
    // Newest points all off in one direction, `confirm` of them or more,
    // are no outliers but a new level: the segmentation judges them.
    let side = |i: usize| x.get(i).zip(med.get(i)).map(|(v, m)| v > m);
    let run = (young..n).rev().take_while(|&i| off.get(i) == Some(&true) && side(i) == side(n - 1)).count();
    if run >= confirm && run == n - young {
        for i in n - run..n {
            set(&mut off, i, false);
        }
    }
    machine_problems(points, &x, &med, &off, p.machine_points, &mut a);
    let mut first_young_off = None;
    for (i, &is_off) in off.iter().enumerate() {
        if !is_off || a.classes.get(i) == Some(&Class::Machine) {
            continue;
        }
        if i >= young {
            first_young_off.get_or_insert(i);
        }
        set(&mut a.classes, i, Class::Spike);
    }

    // 3. The level segmentation over the points kept.
    let keep: Vec<usize> = (0..n).filter(|&i| !off.get(i).copied().unwrap_or(true)).collect();
    let y: Vec<f64> = keep.iter().filter_map(|&i| x.get(i).copied()).collect();
    let sums = Sums::new(&y);
    // An exact series is segmented at the resolution of the points kept,
    // which a spike set aside no longer widens.
    let mut cps = binary_segmentation(&sums, noise.sd.max(sums.resolution));
    let mut pending_cp = None;
    prune(&sums, &mut cps, &mut pending_cp, p, confirm, min_rel);
    let bursts = withdraw_bursts(&sums, &mut cps, p.t_threshold, min_rel);

    // Expected values: the mean of each point's level segment.
    let bounds: Vec<usize> = std::iter::once(0).chain(cps.iter().copied()).chain(std::iter::once(y.len())).collect();
    for w in bounds.windows(2) {
        let (lo, hi) = match w {
            [lo, hi] => (*lo, *hi),
            _ => continue,
        };
        let mean = sums.mean(lo, hi);
        let from = keep.get(lo).copied().unwrap_or(n);
        let to = keep.get(hi).copied().unwrap_or(n);
        for i in from..to {
            set(&mut a.expected, i, mean);
            set(&mut a.tolerance, i, tol);
        }
    }
    // Points before the first kept one take the first segment's level.
    if let (Some(&first), Some(&level)) = (keep.first(), a.expected.get(keep.first().copied().unwrap_or(0))) {
        for i in 0..first {
            set(&mut a.expected, i, level);
            set(&mut a.tolerance, i, tol);
        }
    }

    // A burst that came back: its points are spikes, as outliers are.
    for &(lo, hi) in &bursts {
        for &i in keep.get(lo..hi).unwrap_or_default() {
            set(&mut a.classes, i, Class::Spike);
        }
    }

    for (j, &cp) in cps.iter().enumerate() {
        let lo = if j == 0 { 0 } else { cps.get(j - 1).copied().unwrap_or(0) };
        let hi = cps.get(j + 1).copied().unwrap_or(y.len());
        // The levels just before and just after: under a drift the means
        // of whole segments are apart by the drift as well.
        let (old, new) = near_means(&sums, lo, cp, hi);
        let Some(&index) = keep.get(cp) else { continue };
        a.changes.push(Change { index, old, new, direction: Direction::of(new - old), kind: ChangeKind::Level });
        set(&mut a.classes, index, Class::Regression);
    }

    // 4. Variance changes within each level segment.
    for w in bounds.windows(2) {
        if let [lo, hi] = *w {
            variance_changes(&y, &keep, (lo, hi), confirm, tol, &mut a);
        }
    }
    a.changes.sort_by_key(|c| c.index);

    // The newest points: a change too young to confirm, or outliers that
    // may be its first points, are pending rather than an early alarm.
    let young_cp = pending_cp.and_then(|cp| keep.get(cp).copied());
    let start = match (young_cp, first_young_off) {
        (Some(c), Some(o)) => Some(c.min(o)),
        (c, o) => c.or(o),
    };
    if let Some(start) = start {
        let level = a.expected.get(start.saturating_sub(1)).copied().unwrap_or(f64::NAN);
        let seen = n - start;
        a.pending =
            Some(Pending { index: start, points: seen, needed: confirm.saturating_sub(seen).max(1), expected: level });
        for i in start..n {
            if a.classes.get(i) != Some(&Class::Machine) {
                set(&mut a.classes, i, Class::Pending);
            }
        }
    }
    a
}

fn set<T>(v: &mut [T], i: usize, x: T) {
    if let Some(slot) = v.get_mut(i) {
        *slot = x;
    }
}

/// The median of each point's window of `h` points on each side (fewer at
/// the ends), the point itself included, where the point may be further
/// than `tol` from it; the point itself elsewhere. Most points need no
/// sorting: when at most half the window lies beyond `tol` on either side
/// of the point, the median is within `tol` of it. The others' windows are
/// small and sorted by insertion in a fixed buffer.
pub(super) fn rolling_median(x: &[f64], h: usize, tol: f64) -> Vec<f64> {
    let mut buf = vec![0.0f64; 2 * h + 1];
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let w = x.get(i.saturating_sub(h)..(i + h + 1).min(x.len())).unwrap_or_default();
            let below = w.iter().filter(|&&u| u < v - tol).count();
            let above = w.iter().filter(|&&u| u > v + tol).count();
            let mid = w.len() / 2;
            if below <= mid && above < w.len() - mid {
                return v;
            }
            let Some(buf) = buf.get_mut(..w.len()) else { return f64::NAN };
            buf.copy_from_slice(w);
            for j in 1..buf.len() {
                let mut k = j;
                while k > 0 && buf.get(k - 1) > buf.get(k) {
                    buf.swap(k - 1, k);
                    k -= 1;
                }
            }
            buf.get(mid).copied().unwrap_or(f64::NAN)
        })
        .collect()
}

/// A machine whose latest `need` points are all off in the same direction,
/// with points of other machines between them that are not.
fn machine_problems(points: &[Point], x: &[f64], med: &[f64], off: &[bool], need: usize, a: &mut Analysis) {
    if need == 0 {
        return;
    }
    #[derive(Clone, Default)]
    struct Track {
        last: Option<usize>,
        streak: Vec<usize>,
        up: bool,
    }
    let count = points.iter().map(|pt| pt.machine as usize + 1).max().unwrap_or(0);
    let mut tracks = vec![Track::default(); count];
    let mut last_off: Option<usize> = None;
    for (i, pt) in points.iter().enumerate() {
        let Some(t) = tracks.get_mut(pt.machine as usize) else { continue };
        let (Some(&v), Some(&m), Some(&is_off)) = (x.get(i), med.get(i), off.get(i)) else { continue };
        if !is_off {
            t.streak.clear();
            t.last = Some(i);
            continue;
        }
        let up = v > m;
        // Other machines ran since this one's previous point, and none of
        // their points was off.
        let clean_gap = matches!(t.last, Some(j) if last_off == Some(j) && i > j + 1);
        if !(clean_gap && !t.streak.is_empty() && t.up == up) {
            t.streak.clear();
        }
        t.up = up;
        t.streak.push(i);
        t.last = Some(i);
        last_off = Some(i);
        if t.streak.len() >= need {
            for &j in &t.streak {
                set(&mut a.classes, j, Class::Machine);
            }
            if t.streak.len() == need {
                a.machine_problems.push(MachineProblem { machine: pt.machine, index: i, expected: m });
            }
        }
    }
}

/// Prefix sums of a series (centred on its first value, which keeps the
/// digits of series with a large offset and little noise).
struct Sums {
    s1: Vec<f64>,
    s2: Vec<f64>,
    /// Σ i·y_i, for the trend regression.
    st: Vec<f64>,
    origin: f64,
    /// The smallest difference of the series that is not rounding.
    resolution: f64,
}

impl Sums {
    fn new(y: &[f64]) -> Sums {
        let origin = y.first().copied().unwrap_or(0.0);
        let mut s1 = Vec::with_capacity(y.len() + 1);
        let mut s2 = Vec::with_capacity(y.len() + 1);
        let mut st = Vec::with_capacity(y.len() + 1);
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        s1.push(a);
        s2.push(b);
        st.push(c);
        for (i, v) in y.iter().enumerate() {
            let d = v - origin;
            a += d;
            b += d * d;
            c += i as f64 * d;
            s1.push(a);
            s2.push(b);
            st.push(c);
        }
        Sums { s1, s2, st, origin, resolution: noise::resolution(y) }
    }
    fn len(&self) -> usize {
        self.s1.len().saturating_sub(1)
    }
    fn diff(v: &[f64], lo: usize, hi: usize) -> f64 {
        v.get(hi).copied().unwrap_or(0.0) - v.get(lo).copied().unwrap_or(0.0)
    }
    /// Σ (y - origin) over [lo, hi).
    fn sum(&self, lo: usize, hi: usize) -> f64 {
        Self::diff(&self.s1, lo, hi)
    }
    /// The SD of a noise whose variance is `var`, never below the
    /// resolution: the residuals of an exact series are rounding, and a step
    /// of rounding over rounding would pass any test.
    fn floored_sd(&self, var: f64) -> f64 {
        var.max(self.resolution * self.resolution).sqrt()
    }
    fn mean(&self, lo: usize, hi: usize) -> f64 {
        if hi <= lo {
            return f64::NAN;
        }
        self.origin + self.sum(lo, hi) / (hi - lo) as f64
    }
}

/// Time t = i - lo over [lo, hi): how many points, its mean, and the sum
/// of its centred squares, what every fit over a trend needs.
fn time_frame(lo: usize, hi: usize) -> (f64, f64, f64) {
    let n = (hi - lo) as f64;
    (n, (n - 1.0) / 2.0, n * (n * n - 1.0) / 12.0)
}

/// The step γ at `cp` in the least-squares fit y = α + β·i + γ·[i ≥ cp]
/// over [lo, hi), with the trend partialled out in closed form:
/// γ = ⟨r, y⟩ / ⟨r, d⟩ where d is the step's indicator and r its residual
/// after regression on [1, i]. Returns (⟨r, y⟩, ⟨r, d⟩, the residual sum of
/// squares of the whole fit), all from prefix sums in O(1).
fn step_fit(sums: &Sums, lo: usize, cp: usize, hi: usize) -> Option<(f64, f64, f64)> {
    if hi < lo + 4 || cp <= lo || cp >= hi {
        return None;
    }
    let (n, tbar, scc) = time_frame(lo, hi);
    let n2 = (hi - cp) as f64;
    // Σ over [cp, hi) of (t - tbar), t = i - lo.
    let (a, b) = ((cp - lo) as f64, n);
    let scd = (a + b - 1.0) * (b - a) / 2.0 - n2 * tbar;
    let sy = sums.sum(lo, hi);
    let ybar = sy / n;
    let sty = Sums::diff(&sums.st, lo, hi) - lo as f64 * sy;
    let scy = sty - tbar * sy;
    let syy = Sums::diff(&sums.s2, lo, hi) - sy * ybar;
    let rd = n2 - n2 * n2 / n - scd * scd / scc;
    let ry = sums.sum(cp, hi) - n2 * ybar - scd * scy / scc;
    if rd <= 0.0 || !rd.is_finite() {
        return None;
    }
    let rss = (syy - scy * scy / scc - ry * ry / rd).max(0.0);
    Some((ry, rd, rss))
}

/// Change points proposed by binary segmentation: split a segment where a
/// step over a linear trend explains most (its χ² with the global noise),
/// while that passes a generous threshold. A drift has no such step, so it
/// is not cut into a staircase.
///
/// Plain binary segmentation costs O(n·k) when its splits are lopsided (a
/// square wave of k steps is cut one step at a time from its ends). Series
/// longer than [`CLASSIC_MAX`] points are first cut at the strongest splits
/// of seeded intervals (Kovács et al., 2020) of [`CLASSIC_MAX`] points and
/// more, O(n log n), and only the pieces are segmented plainly.
fn binary_segmentation(sums: &Sums, sigma: f64) -> Vec<usize> {
    let n = sums.len();
    let threshold = SPLIT_LOG_FACTOR * (n.max(8) as f64).ln() * sigma * sigma;
    let mut cps = if n > CLASSIC_MAX { seeded(sums, threshold, CLASSIC_MAX) } else { Vec::new() };
    let bounds: Vec<usize> = std::iter::once(0).chain(cps.iter().copied()).chain(std::iter::once(n)).collect();
    for w in bounds.windows(2) {
        if let [lo, hi] = *w {
            plain(sums, lo, hi, threshold, &mut cps);
        }
    }
    cps.sort_unstable();
    cps.dedup();
    cps
}

/// The split of [lo, hi) where a step over the trend explains most, and
/// its χ² (times the noise variance).
fn best_split(sums: &Sums, lo: usize, hi: usize) -> (f64, usize) {
    let mut best = (0.0f64, 0usize);
    for t in lo + 2..hi.saturating_sub(1) {
        if let Some((ry, rd, _)) = step_fit(sums, lo, t, hi) {
            let stat = ry * ry / rd;
            if stat > best.0 {
                best = (stat, t);
            }
        }
    }
    best
}

/// Plain binary segmentation of [lo, hi), adding its splits to `out`.
fn plain(sums: &Sums, lo: usize, hi: usize, threshold: f64, out: &mut Vec<usize>) {
    let mut stack = vec![(lo, hi)];
    while let Some((lo, hi)) = stack.pop() {
        if hi < lo + 4 {
            continue;
        }
        let (stat, t) = best_split(sums, lo, hi);
        if t > lo && stat > threshold {
            out.push(t);
            stack.push((lo, t));
            stack.push((t, hi));
        }
    }
}

/// The strongest splits of seeded intervals: every length from n down to
/// `min_len`, halving, each scale's intervals starting every half length;
/// an interval holding a split already taken is passed over.
fn seeded(sums: &Sums, threshold: f64, min_len: usize) -> Vec<usize> {
    let n = sums.len();
    let mut over: Vec<(f64, usize, usize, usize)> = Vec::new();
    let mut len = n;
    while len >= min_len {
        let step = (len / 2).max(1);
        let mut lo = 0;
        loop {
            let hi = (lo + len).min(n);
            let (stat, t) = best_split(sums, lo, hi);
            if t > lo && stat > threshold {
                over.push((stat, lo, hi, t));
            }
            if hi >= n {
                break;
            }
            lo += step;
        }
        len /= 2;
    }
    over.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen = std::collections::BTreeSet::new();
    for (_, lo, hi, t) in over {
        if chosen.range(lo + 1..hi).next().is_none() {
            chosen.insert(t);
        }
    }
    chosen.into_iter().collect()
}

/// How strongly a change at `cp` stands out between the segments
/// [lo, cp) and [cp, hi): the t statistic of the step in the regression
/// y = α + β·i + γ·[i ≥ cp] over [lo, hi) (its own residual noise), and
/// the relative size of the step in the means.
fn step_over_trend(sums: &Sums, lo: usize, cp: usize, hi: usize) -> (f64, f64) {
    let rel = relative_step(sums, lo, cp, hi);
    let Some((ry, rd, rss)) = step_fit(sums, lo, cp, hi) else { return (0.0, rel) };
    let dof = (hi - lo) as f64 - 3.0;
    if dof < 1.0 {
        return (0.0, rel);
    }
    (t_stat(ry / rd, sums.floored_sd(rss / dof) / rd.sqrt()), rel)
}

/// As [`step_over_trend`], over a line that may bend at `cp`:
/// y = α + β·i + δ·|i - cp| + γ·[i ≥ cp]. Over whole segments, hundreds of
/// points, a slowly curving series is no line, and the step that best
/// follows its bend passes as significant; the bend explains it away. A
/// step that is one costs little: the bend is even around `cp`, the step
/// odd, and they hardly share what they explain.
fn step_over_bent_trend(sums: &Sums, lo: usize, cp: usize, hi: usize) -> (f64, f64) {
    let rel = relative_step(sums, lo, cp, hi);
    let Some((gamma, factor, rss, dof)) = bent_step_fit(sums, lo, cp, hi) else { return (0.0, rel) };
    (t_stat(gamma, sums.floored_sd(rss / dof) * factor.sqrt()), rel)
}

/// The relative size of a step at `cp` in the means of the points near it.
fn relative_step(sums: &Sums, lo: usize, cp: usize, hi: usize) -> f64 {
    let (m1, m2) = near_means(sums, lo, cp, hi);
    if m1 == 0.0 {
        f64::INFINITY
    } else {
        (m2 / m1 - 1.0).abs()
    }
}

/// Σ k and Σ k² over the integers k in [a, b).
fn power_sums(a: f64, b: f64) -> (f64, f64) {
    let s1 = |m: f64| m * (m - 1.0) / 2.0;
    let s2 = |m: f64| (m - 1.0) * m * (2.0 * m - 1.0) / 6.0;
    (s1(b) - s1(a), s2(b) - s2(a))
}

/// The step γ at `cp` in the least-squares fit
/// y = α + β·t + δ·|t - c| + γ·[t ≥ c] over [lo, hi) (t = i - lo, c = cp - lo):
/// a step over a line that may bend at the step. Returns γ, the factor
/// that turns the noise variance into γ's variance, the residual sum of
/// squares and its degrees of freedom.
fn bent_step_fit(sums: &Sums, lo: usize, cp: usize, hi: usize) -> Option<(f64, f64, f64, f64)> {
    if hi < lo + 6 || cp <= lo || cp >= hi {
        return None;
    }
    let (n, tbar, scc) = time_frame(lo, hi);
    let c = (cp - lo) as f64;
    // Sums of the regressors d = [t ≥ c] and v = |t - c|, and of their
    // products, in closed form.
    let (sd, sdt) = (n - c, power_sums(c, n).0);
    let (left1, left2) = power_sums(1.0, c + 1.0); // Σ (c - t), Σ (c - t)² for t < c
    let (right1, right2) = power_sums(0.0, n - c); // Σ (t - c), Σ (t - c)² for t ≥ c
    let sv = left1 + right1;
    let svv = left2 + right2;
    let svd = right1;
    // Σ v·t = Σ_{t<c} (c - t)·t + Σ_{t≥c} (t - c)·t.
    let (t_left1, t_left2) = power_sums(0.0, c);
    let (t_right1, t_right2) = power_sums(c, n);
    let svt = c * t_left1 - t_left2 + t_right2 - c * t_right1;
    // Sums with y (centred on the origin), t counted from lo.
    let sy = sums.sum(lo, hi);
    let ty = |a: usize, b: usize| Sums::diff(&sums.st, a, b) - lo as f64 * sums.sum(a, b);
    let sty = ty(lo, hi);
    let syy = Sums::diff(&sums.s2, lo, hi) - sy * sy / n;
    let scy = sty - tbar * sy;
    let sdy = sums.sum(cp, hi);
    let svy = c * sums.sum(lo, cp) - ty(lo, cp) + ty(cp, hi) - c * sums.sum(cp, hi);
    // Inner products after the line [1, t] is partialled out.
    let stu = |su: f64, stu: f64| stu - tbar * su;
    let (cd, cv) = (stu(sd, sdt), stu(sv, svt));
    let a = sd - sd * sd / n - cd * cd / scc;
    let b = svd - sv * sd / n - cv * cd / scc;
    let cc = svv - sv * sv / n - cv * cv / scc;
    let p = sdy - sd * sy / n - cd * scy / scc;
    let q = svy - sv * sy / n - cv * scy / scc;
    let det = a * cc - b * b;
    if !(det > 0.0 && det.is_finite() && cc > 0.0) {
        return None;
    }
    let gamma = (cc * p - b * q) / det;
    let delta = (a * q - b * p) / det;
    let rss = (syy - scy * scy / scc - gamma * p - delta * q).max(0.0);
    Some((gamma, cc / det, rss, n - 4.0))
}

/// |effect| / se; an effect with no noise at all is infinitely significant,
/// no effect not at all.
fn t_stat(effect: f64, se: f64) -> f64 {
    if se > 0.0 {
        (effect / se).abs()
    } else if effect != 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// The means of the (at most) [`LOCAL`] points before and after `cp`
/// within [lo, hi).
fn near_means(sums: &Sums, lo: usize, cp: usize, hi: usize) -> (f64, f64) {
    (sums.mean(lo.max(cp.saturating_sub(LOCAL)), cp), sums.mean(cp, hi.min(cp + LOCAL)))
}

/// Remove proposed change points, the weakest first, until every one left
/// passes; a last change with fewer than `confirm` points after it is kept
/// aside as pending.
fn prune(sums: &Sums, cps: &mut Vec<usize>, pending: &mut Option<usize>, p: &Params, confirm: usize, min_rel: f64) {
    let n = sums.len();
    let k = cps.len();
    // A doubly linked list over the proposals, and a heap of the failing
    // ones by score: removing one only changes the test of its two
    // neighbours, so the whole pruning costs O(k log k).
    let mut prev: Vec<Option<usize>> = (0..k).map(|j| j.checked_sub(1)).collect();
    let mut next: Vec<Option<usize>> = (0..k).map(|j| Some(j + 1).filter(|&x| x < k)).collect();
    let mut alive = vec![true; k];
    let mut version = vec![0u32; k];
    let at = |j: Option<usize>, default: usize| j.and_then(|j| cps.get(j).copied()).unwrap_or(default);
    // The score of a proposal that fails, None when it passes.
    let failing = |j: usize, prev: &[Option<usize>], next: &[Option<usize>]| -> Option<f64> {
        let cp = cps.get(j).copied()?;
        let lo = at(prev.get(j).copied().flatten(), 0);
        let nx = next.get(j).copied().flatten();
        let hi = at(nx, n);
        // The newest change, too young: left for the pending check.
        if nx.is_none() && hi - cp < confirm && cp - lo >= confirm {
            return None;
        }
        if cp - lo < confirm || hi - cp < confirm {
            // Short segments go first.
            return Some(-1.0);
        }
        // Significant over the whole neighbouring segments (a trend that
        // may bend at the change), or over the nearest points alone (where
        // a slow curve is close to a line).
        let (t_all, rel) = step_over_bent_trend(sums, lo, cp, hi);
        let (t_near, _) = step_over_trend(sums, lo.max(cp.saturating_sub(LOCAL)), cp, hi.min(cp + LOCAL));
        let t = t_all.max(t_near);
        let ok = t >= p.t_threshold && rel >= min_rel;
        (!ok).then(|| t.min(p.t_threshold * rel / min_rel.max(1e-12)))
    };
    let mut heap = std::collections::BinaryHeap::new();
    for j in 0..k {
        if let Some(score) = failing(j, &prev, &next) {
            heap.push(Weakest { score, j, version: 0 });
        }
    }
    while let Some(w) = heap.pop() {
        if !alive.get(w.j).copied().unwrap_or(false) || version.get(w.j) != Some(&w.version) {
            continue;
        }
        set(&mut alive, w.j, false);
        let (pj, nj) = (prev.get(w.j).copied().flatten(), next.get(w.j).copied().flatten());
        if let Some(pj) = pj {
            set(&mut next, pj, nj);
        }
        if let Some(nj) = nj {
            set(&mut prev, nj, pj);
        }
        for nb in [pj, nj].into_iter().flatten() {
            let v = version.get(nb).copied().unwrap_or(0).wrapping_add(1);
            set(&mut version, nb, v);
            if let Some(score) = failing(nb, &prev, &next) {
                heap.push(Weakest { score, j: nb, version: v });
            }
        }
    }
    let kept: Vec<usize> = cps.iter().zip(&alive).filter(|(_, &a)| a).map(|(&c, _)| c).collect();
    *cps = kept;
    // A last change point with too few points after it is not a change yet.
    if let Some(&last) = cps.last() {
        if n - last < confirm {
            let lo = if cps.len() >= 2 { cps.get(cps.len() - 2).copied().unwrap_or(0) } else { 0 };
            let (t, rel) = step_over_trend(sums, lo, last, n);
            cps.pop();
            // Only a step that would already pass with its few points is
            // worth announcing as pending.
            if rel >= min_rel && t >= p.t_threshold / 2.0 {
                *pending = Some(last);
            }
        }
    }
}

/// Two changes that go and come back within [`BURST`] points are a burst,
/// not two changes: a busy moment of the machine, or a slowdown fixed
/// before anyone could act on it. They are withdrawn when the level after
/// the second is no significant step from the level before the first.
/// Returns the bursts' ranges of kept points.
fn withdraw_bursts(sums: &Sums, cps: &mut Vec<usize>, t_threshold: f64, min_rel: f64) -> Vec<(usize, usize)> {
    let n = sums.len();
    let mut bursts = Vec::new();
    let mut j = 0;
    while j + 1 < cps.len() {
        let (Some(&a), Some(&b)) = (cps.get(j), cps.get(j + 1)) else { break };
        let before = if j == 0 { 0 } else { cps.get(j - 1).copied().unwrap_or(0) };
        let after = cps.get(j + 2).copied().unwrap_or(n);
        if b - a <= BURST {
            // The segments around the burst, joined as if it were not there.
            let lo = before.max(a.saturating_sub(LOCAL));
            let hi = after.min(b + LOCAL);
            let (m1, m2) = (sums.mean(lo, a), sums.mean(b, hi));
            let rel = if m1 == 0.0 { f64::INFINITY } else { (m2 / m1 - 1.0).abs() };
            let left = sums.sum(lo, a);
            let right = sums.sum(b, hi);
            let (n1, n2) = ((a - lo) as f64, (hi - b) as f64);
            let spread = |lo: usize, hi: usize, mean: f64| {
                let k = (hi - lo) as f64;
                let m = mean - sums.origin;
                ((Sums::diff(&sums.s2, lo, hi) - 2.0 * m * sums.sum(lo, hi) + k * m * m) / (k - 1.0).max(1.0)).max(0.0)
            };
            let se = sums.floored_sd(spread(lo, a, m1) / n1 + spread(b, hi, m2) / n2);
            let t = t_stat(right / n2 - left / n1, se);
            if rel < min_rel || t < t_threshold {
                bursts.push((a, b));
                cps.drain(j..j + 2);
                continue;
            }
        }
        j += 1;
    }
    bursts
}

/// A failing proposal in the pruning heap: the lowest score on top.
struct Weakest {
    score: f64,
    j: usize,
    version: u32,
}

impl PartialEq for Weakest {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Weakest {}

impl PartialOrd for Weakest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Weakest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed, so that the max-heap yields the weakest; ties by index.
        other.score.total_cmp(&self.score).then(other.j.cmp(&self.j))
    }
}

/// Changes of the spread within the level segment [lo, hi) of the kept
/// points: binary segmentation of consecutive differences by their
/// likelihood ratio (normal, zero mean, variance before and after). Each
/// difference is clipped at the outlier tolerance, so that one jump (a step
/// too small to report) does not pass for a burst of noise.
fn variance_changes(y: &[f64], keep: &[usize], (lo, hi): (usize, usize), confirm: usize, tol: f64, a: &mut Analysis) {
    let cap = 2.0 * tol * tol;
    let d: Vec<f64> = y
        .get(lo..hi)
        .unwrap_or_default()
        .windows(2)
        .map(|w| match w {
            [u, v] => ((v - u) * (v - u)).min(cap),
            _ => 0.0,
        })
        .collect();
    let mut pre = Vec::with_capacity(d.len() + 1);
    let mut acc = 0.0;
    pre.push(acc);
    for v in &d {
        acc += v;
        pre.push(acc);
    }
    let sum = |a: usize, b: usize| pre.get(b).copied().unwrap_or(0.0) - pre.get(a).copied().unwrap_or(0.0);
    let min_side = VARIANCE_MIN_SIDE.max(2 * confirm);
    let total_n = y.len().max(8) as f64;
    let mut stack = vec![(0usize, d.len())];
    while let Some((s, e)) = stack.pop() {
        if e < s + 2 * min_side {
            continue;
        }
        let whole = sum(s, e) / (e - s) as f64;
        if whole <= 0.0 {
            continue;
        }
        let lr_at = |t: usize| {
            let (n1, n2) = ((t - s) as f64, (e - t) as f64);
            let (v1, v2) = (sum(s, t) / n1, sum(t, e) / n2);
            if v1 <= 0.0 || v2 <= 0.0 {
                return (f64::NEG_INFINITY, v1, v2);
            }
            ((n1 + n2) * whole.ln() - n1 * v1.ln() - n2 * v2.ln(), v1, v2)
        };
        // The ratio is smooth in t: on long segments it is scanned at a
        // stride (three logarithms a point add up), then around the best.
        let (first, last) = (s + min_side, e - min_side);
        let stride = ((last - first) / 512).max(1);
        let mut best = (0.0f64, 0usize, 0.0f64, 0.0f64);
        let consider = |t: usize, best: &mut (f64, usize, f64, f64)| {
            let (lr, v1, v2) = lr_at(t);
            if lr > best.0 {
                *best = (lr, t, v1, v2);
            }
        };
        for t in (first..=last).step_by(stride) {
            consider(t, &mut best);
        }
        if stride > 1 && best.1 > 0 {
            let around = best.1;
            for t in around.saturating_sub(stride).max(first)..=(around + stride).min(last) {
                consider(t, &mut best);
            }
        }
        let (lr, t, v1, v2) = best;
        let ratio = (v2 / v1).sqrt();
        if t > s
            && lr > VARIANCE_LOG_FACTOR * total_n.ln()
            && (ratio >= VARIANCE_MIN_RATIO || ratio <= 1.0 / VARIANCE_MIN_RATIO)
        {
            // Difference t is y[lo+t+1] - y[lo+t]: the new spread starts at
            // the later point.
            if let Some(&index) = keep.get(lo + t + 1) {
                let (old, new) = ((v1 / 2.0).sqrt(), (v2 / 2.0).sqrt());
                a.changes.push(Change {
                    index,
                    old,
                    new,
                    direction: Direction::of(new - old),
                    kind: ChangeKind::Variance,
                });
            }
            stack.push((s, t));
            stack.push((t, e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::test_points::{pts, uniform, wobble};

    /// Normal noise from a seeded xorshift (Box-Muller), no crate needed.
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut u = uniform(seed);
        (0..n).map(|_| (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos()).collect()
    }

    fn levels(a: &Analysis) -> Vec<&Change> {
        a.changes.iter().filter(|c| c.kind == ChangeKind::Level).collect()
    }

    #[test]
    fn step_is_one_change_at_its_first_point() {
        let v: Vec<f64> =
            noise(1, 200).iter().enumerate().map(|(i, e)| if i < 120 { 100.0 } else { 110.0 } + e).collect();
        let a = analyze(&pts(&v), &Params::default());
        let c = levels(&a);
        assert_eq!(c.len(), 1, "{:?}", a.changes);
        assert_eq!(c[0].index, 120);
        assert_eq!(c[0].direction, Direction::Increase);
        assert!((c[0].percent() - 10.0).abs() < 1.5, "{}", c[0].percent());
        assert!(a.pending.is_none());
    }

    #[test]
    fn noise_alone_has_nothing_to_report() {
        for seed in 0..20 {
            let v: Vec<f64> = noise(seed, 400).iter().map(|e| 50.0 + e).collect();
            let a = analyze(&pts(&v), &Params::default());
            assert!(a.changes.is_empty(), "seed {seed}: {:?}", a.changes);
        }
    }

    #[test]
    fn slow_drift_is_no_staircase() {
        for seed in 0..10 {
            let v: Vec<f64> = noise(seed, 600).iter().enumerate().map(|(i, e)| 100.0 + 0.05 * i as f64 + e).collect();
            let a = analyze(&pts(&v), &Params::default());
            assert!(levels(&a).is_empty(), "seed {seed}: {:?}", a.changes);
        }
    }

    #[test]
    fn step_on_a_drift_is_found_alone() {
        let v: Vec<f64> = noise(3, 400)
            .iter()
            .enumerate()
            .map(|(i, e)| 100.0 + 0.05 * i as f64 + if i < 250 { 0.0 } else { 8.0 } + e)
            .collect();
        let a = analyze(&pts(&v), &Params::default());
        let c = levels(&a);
        assert_eq!(c.len(), 1, "{:?}", a.changes);
        assert!((249..=251).contains(&c[0].index), "{}", c[0].index);
    }

    #[test]
    fn spikes_stay_spikes() {
        let mut v: Vec<f64> = (0..100).map(|i| 100.0 + wobble(i)).collect();
        v[40] = 180.0;
        v[41] = 175.0;
        v[70] = 20.0;
        let a = analyze(&pts(&v), &Params::default());
        assert!(a.changes.is_empty(), "{:?}", a.changes);
        let spikes: Vec<usize> = (0..100).filter(|&i| a.classes[i] == Class::Spike).collect();
        assert_eq!(spikes, [40, 41, 70]);
    }

    #[test]
    fn variance_change_is_its_own_kind() {
        let v: Vec<f64> =
            noise(5, 400).iter().enumerate().map(|(i, e)| 100.0 + e * if i < 200 { 0.5 } else { 3.0 }).collect();
        let a = analyze(&pts(&v), &Params::default());
        assert!(levels(&a).is_empty(), "{:?}", a.changes);
        let var: Vec<&Change> = a.changes.iter().filter(|c| c.kind == ChangeKind::Variance).collect();
        assert_eq!(var.len(), 1, "{:?}", a.changes);
        assert!((190..=210).contains(&var[0].index), "{}", var[0].index);
        assert!(var[0].new > 4.0 * var[0].old);
    }

    #[test]
    fn a_step_in_the_newest_points_is_pending() {
        let mut v: Vec<f64> = (0..100).map(|i| 100.0 + wobble(i)).collect();
        v.extend([130.0, 131.0]);
        let a = analyze(&pts(&v), &Params::default());
        assert!(a.changes.is_empty(), "{:?}", a.changes);
        let p = a.pending.expect("pending");
        assert_eq!((p.index, p.points, p.needed), (100, 2, 1));
        assert_eq!(&a.classes[100..], [Class::Pending, Class::Pending]);
        v.push(130.5);
        let a = analyze(&pts(&v), &Params::default());
        assert_eq!(a.changes.len(), 1, "three points confirm it: {:?}", a.changes);
        assert!(a.pending.is_none());
    }

    #[test]
    fn small_shift_on_a_quiet_machine_is_below_min_change() {
        // A noise of 0.1 %, as the quietest timings have: the floor keeps
        // the 1 % shift out.
        let v: Vec<f64> = (0..200).map(|i| if i < 100 { 100.0 } else { 101.0 } + wobble(i) / 4.0).collect();
        let a = analyze(&pts(&v), &Params::default());
        assert!(a.changes.is_empty(), "{:?}", a.changes);
        assert_eq!(a.min_change, DEFAULT_MIN_CHANGE);
        let a = analyze(&pts(&v), &Params { min_change: Some(0.5), ..Params::default() });
        assert_eq!(a.changes.len(), 1);
    }

    #[test]
    fn the_same_shift_of_a_count_is_reported() {
        // Exact, and with a jitter of a millionth of the level: every
        // change of such a series is real, so no floor applies.
        for jitter in [0.0, 1e-4] {
            let v: Vec<f64> = (0..200).map(|i| if i < 100 { 100.0 } else { 101.0 } + wobble(i) * jitter).collect();
            let a = analyze(&pts(&v), &Params::default());
            assert_eq!(a.min_change, 0.0, "jitter {jitter}");
            let c = levels(&a);
            assert_eq!(c.len(), 1, "jitter {jitter}: {:?}", a.changes);
            assert_eq!(c[0].index, 100);
            assert!((c[0].percent() - 1.0).abs() < 1e-3, "{}", c[0].percent());
            let a = analyze(&pts(&v), &Params { min_change: Some(2.0), ..Params::default() });
            assert!(a.changes.is_empty(), "a floor given still applies: {:?}", a.changes);
        }
    }

    #[test]
    fn long_square_wave_is_cut_at_every_step() {
        // Longer than CLASSIC_MAX: the seeded pass cuts it first.
        let v: Vec<f64> = noise(9, 40_000)
            .iter()
            .enumerate()
            .map(|(i, e)| if (i / 1000) % 2 == 0 { 100.0 } else { 110.0 } + e)
            .collect();
        let a = analyze(&pts(&v), &Params::default());
        let found: Vec<usize> = levels(&a).iter().map(|c| c.index).collect();
        let want: Vec<usize> = (1..40).map(|k| k * 1000).collect();
        assert_eq!(found.len(), want.len(), "{found:?}");
        for (f, w) in found.iter().zip(&want) {
            assert!(f.abs_diff(*w) <= 2, "{f} for {w}");
        }
    }

    /// Least squares by the normal equations, for a handful of regressors.
    fn ols(columns: &[Vec<f64>], y: &[f64]) -> (Vec<f64>, f64) {
        let k = columns.len();
        let mut m: Vec<Vec<f64>> = (0..k)
            .map(|r| {
                let mut row: Vec<f64> =
                    (0..k).map(|c| columns[r].iter().zip(&columns[c]).map(|(a, b)| a * b).sum()).collect();
                row.push(columns[r].iter().zip(y).map(|(a, b)| a * b).sum());
                row
            })
            .collect();
        for i in 0..k {
            let pivot: Vec<f64> = m[i].iter().map(|x| x / m[i][i]).collect();
            for (r, row) in m.iter_mut().enumerate() {
                let f = if r == i { 0.0 } else { row[i] };
                for (x, p) in row.iter_mut().zip(&pivot) {
                    *x = if r == i { *p } else { *x - f * p };
                }
            }
        }
        let beta: Vec<f64> = m.iter().map(|row| row[k]).collect();
        let rss =
            (0..y.len()).map(|i| y[i] - (0..k).map(|c| beta[c] * columns[c][i]).sum::<f64>()).map(|e| e * e).sum();
        (beta, rss)
    }

    #[test]
    fn bent_step_fit_is_the_least_squares_fit() {
        let e = noise(4, 60);
        let y: Vec<f64> = (0..60).map(|i| 50.0 + 0.3 * i as f64 + if i >= 25 { 4.0 } else { 0.0 } + e[i]).collect();
        let sums = Sums::new(&y);
        for (lo, cp, hi) in [(0, 25, 60), (5, 30, 47), (10, 12, 40), (0, 57, 60)] {
            let (gamma, factor, rss, dof) = bent_step_fit(&sums, lo, cp, hi).unwrap();
            let t: Vec<f64> = (lo..hi).map(|i| i as f64).collect();
            let columns = vec![
                vec![1.0; hi - lo],
                t.clone(),
                t.iter().map(|&i| (i - cp as f64).abs()).collect(),
                t.iter().map(|&i| if i >= cp as f64 { 1.0 } else { 0.0 }).collect(),
            ];
            let (beta, want_rss) = ols(&columns, &y[lo..hi]);
            assert!((gamma - beta[3]).abs() < 1e-6, "{lo} {cp} {hi}: {gamma} vs {}", beta[3]);
            assert!((rss - want_rss).abs() < 1e-6 * want_rss.max(1.0), "{rss} vs {want_rss}");
            assert_eq!(dof, (hi - lo - 4) as f64);
            // γ's variance factor is the last diagonal entry of (X'X)⁻¹: one
            // over what is left of the step once the other three explain it.
            let (_, left) = ols(&columns[..3], &columns[3]);
            assert!((factor * left - 1.0).abs() < 1e-9, "{factor} vs 1/{left}");
        }
    }

    #[test]
    fn slow_curves_are_seldom_cut_into_steps() {
        // No step at all: a rise that saturates (a warming cache), and one
        // that accelerates (a leak). A straight trend over whole segments
        // found 49 steps in these 20 series; one that may bend at the step,
        // 13.
        let mut found = 0;
        for seed in 0..10 {
            let e = noise(100 + seed, 300);
            let saturating: Vec<f64> =
                (0..300).map(|i| 100.0 + 40.0 * (1.0 - (-(i as f64) / 60.0).exp()) + 0.8 * e[i]).collect();
            let accelerating: Vec<f64> = (0..300).map(|i| 100.0 + 2e-5 * (i as f64).powi(3) + e[i]).collect();
            for v in [saturating, accelerating] {
                found += levels(&analyze(&pts(&v), &Params::default())).len();
            }
        }
        assert!(found <= 20, "{found} steps in 20 curves");
    }

    #[test]
    fn tiny_and_odd_series_do_not_panic() {
        for n in 0..12 {
            let a = analyze(&pts((0..n).map(|i| (i % 3) as f64)), &Params::default());
            assert_eq!(a.classes.len(), n);
        }
        let v = [f64::MAX, -f64::MAX, 0.0, 1e-300, 5.0, 5.0, 5.0, f64::MIN_POSITIVE];
        let a = analyze(&pts(v.iter().cycle().take(100)), &Params { confirm: 0, ..Params::default() });
        assert_eq!(a.classes.len(), 100);
        let a = analyze(&pts([7.0; 50]), &Params::default());
        assert!(a.changes.is_empty() && a.pending.is_none());
    }
}
