"""Synthetic benchmark series with known changes, shared by the speed and
the quality benchmarks of `kexec-chooser analyze` (stdlib only, seeded).

Each case returns (values, machines, truth): the machine of each point
(an index) and the indices where a change a person would want to hear
about starts. The cases are the shapes real benchmark series take: noisy
timings first, then exact sizes, near-exact instruction counts and timings
in whole milliseconds (issue 24)."""

import math
import random

T0 = 1_231_761_600  # 2009-01-12T12:00:00Z


def _steps(rng, n, k_max=2, min_gap=40):
    k = rng.randint(1, k_max)
    while True:
        steps = sorted(rng.sample(range(min_gap, n - min_gap + 1), k))
        if all(b - a >= min_gap for a, b in zip(steps, steps[1:])):
            return steps


def _levels(rng, n, steps, lo=0.06, hi=0.30, level=None):
    """The level at each point: from `level` (50-500 when none), moved by
    lo-hi (either way) at each step."""
    level = rng.uniform(50.0, 500.0) if level is None else level
    out, nxt = [], 0
    for i in range(n):
        if nxt < len(steps) and i == steps[nxt]:
            size = rng.uniform(lo, hi)
            level *= 1.0 + size if rng.random() < 0.5 else 1.0 - size
            nxt += 1
        out.append(level)
    return out


def steps(rng, n=300):
    """One or two steps of 6-30 % (either way), Gaussian noise of 1 %."""
    truth = _steps(rng, n)
    lv = _levels(rng, n, truth)
    return [x + rng.gauss(0, 0.01 * x) for x in lv], [i % 3 for i in range(n)], truth


def outliers(rng, n=300):
    """Steps as above, and 3 % of the points spikes of 20-50 % that return."""
    v, m, truth = steps(rng, n)
    for i in rng.sample(range(n), n * 3 // 100):
        v[i] *= 1 + rng.choice([-1, 1]) * rng.uniform(0.2, 0.5)
    return v, m, truth


def bimodal(rng, n=300):
    """Steps; each run takes a second code path (+8 %) three times in ten."""
    truth = _steps(rng, n)
    lv = _levels(rng, n, truth)
    v = [x * (1.08 if rng.random() < 0.3 else 1.0) + rng.gauss(0, 0.01 * x) for x in lv]
    return v, [i % 3 for i in range(n)], truth


def variance(rng, n=300):
    """No change of level; the noise grows from 1 % to 4 % (or shrinks)."""
    t = rng.randint(80, n - 80)
    level = rng.uniform(50.0, 500.0)
    lo, hi = (0.01, 0.04) if rng.random() < 0.5 else (0.04, 0.01)
    v = [level + rng.gauss(0, (lo if i < t else hi) * level) for i in range(n)]
    return v, [i % 3 for i in range(n)], [t]


def drift(rng, n=300):
    """A slow drift of 5-15 % over the series and one step of 6-30 % on it."""
    truth = _steps(rng, n, k_max=1)
    lv = _levels(rng, n, truth)
    slope = rng.choice([-1, 1]) * rng.uniform(0.05, 0.15) / n
    v = [x * (1 + slope * i) + rng.gauss(0, 0.01 * x) for i, x in enumerate(lv)]
    return v, [i % 3 for i in range(n)], truth


def machines(rng, n=300):
    """Three machines in turn with offsets of -3, 0 and +3 %; steps move all."""
    truth = _steps(rng, n)
    lv = _levels(rng, n, truth)
    off = [0.97, 1.0, 1.03]
    v = [x * off[i % 3] + rng.gauss(0, 0.01 * x) for i, x in enumerate(lv)]
    return v, [i % 3 for i in range(n)], truth


def quiet(rng, n=300):
    """A quiet machine (0.1 % noise): a 1 % shift nobody wants to hear
    about, and one real step of 6-30 %."""
    truth = _steps(rng, n, k_max=1)
    small = rng.choice([i for i in range(40, n - 40) if abs(i - truth[0]) >= 40])
    lv = _levels(rng, n, truth)
    v = [x * (1.01 if i >= small else 1.0) + rng.gauss(0, 0.001 * x) for i, x in enumerate(lv)]
    return v, [i % 3 for i in range(n)], truth


def noise(rng, n=300):
    """Nothing happens: Gaussian noise of 1 %."""
    level = rng.uniform(50.0, 500.0)
    return [level + rng.gauss(0, 0.01 * level) for _ in range(n)], [i % 3 for i in range(n)], []


def _exact_levels(rng, n, steps, level, lo, hi):
    """Levels as _levels gives them, rounded to a unit."""
    return [round(x) for x in _levels(rng, n, steps, lo, hi, level)]


def sizes(rng, n=300):
    """A size in bytes, exact: one or two changes of 0.05-5 %, and 1 % of the
    points a spike (another build's size) that returns."""
    truth = _steps(rng, n)
    v = _exact_levels(rng, n, truth, rng.uniform(1e5, 1e8), 0.0005, 0.05)
    for i in rng.sample(range(n), n // 100):
        if all(abs(i - t) > 3 for t in truth):
            v[i] = round(v[i] * rng.uniform(1.1, 1.5))
    return v, [i % 3 for i in range(n)], truth


def counts(rng, n=300):
    """An instruction count (cachegrind, callgrind): a jitter of a few in a
    million, one or two changes of 0.1-5 %."""
    truth = _steps(rng, n)
    lv = _exact_levels(rng, n, truth, rng.uniform(1e8, 1e10), 0.001, 0.05)
    return [round(x * (1 + rng.uniform(-2e-6, 2e-6))) for x in lv], [i % 3 for i in range(n)], truth


def millis(rng, n=300):
    """A timing of 8-30 ms with 3 % noise, in whole milliseconds: one or
    two steps of 10-30 %."""
    truth = _steps(rng, n)
    lv = _levels(rng, n, truth, lo=0.10, hi=0.30)
    level = rng.uniform(8.0, 30.0) / lv[0]
    return [round(x * level * (1 + rng.gauss(0, 0.03))) for x in lv], [i % 3 for i in range(n)], truth


def still(rng, n=300):
    """Nothing happens to an exact count, but for 2 % of the points a spike
    that returns, and whole milliseconds that sit on two or three levels."""
    if rng.random() < 0.5:
        level = round(rng.uniform(1e3, 1e7))
        v = [level] * n
        for i in rng.sample(range(n), n // 50):
            v[i] = level + rng.choice([-1, 1]) * rng.randint(1, level // 10)
    else:
        level = rng.uniform(5.0, 12.0)
        v = [round(level + rng.gauss(0, 0.5)) for _ in range(n)]
    return v, [i % 3 for i in range(n)], []


def curve(rng, n=300):
    """No step: a smooth curve of 5-15 % over the series (as `drift`), 1 %
    noise: a rise that saturates (a cache warming) or one that accelerates
    (a leak). A rise that stops at a knee is left out: its knee is a change
    of trend, which a person may well want to hear about."""
    level, rise = rng.uniform(50.0, 500.0), rng.uniform(0.05, 0.15) * rng.choice([-1, 1])
    if rng.random() < 0.5:
        v = [level * (1 + rise * (1 - math.exp(-4 * i / n))) for i in range(n)]
    else:
        v = [level * (1 + rise * (i / n) ** 3) for i in range(n)]
    return [x + rng.gauss(0, 0.01 * level) for x in v], [i % 3 for i in range(n)], []


CASES = [steps, outliers, bimodal, variance, drift, machines, quiet, noise, curve, sizes, counts, millis, still]


def long_series(rng, n, every=5000):
    """A long series with a step of 10 % every `every` points, 1 % noise."""
    level = 100.0
    values = []
    for i in range(n):
        if i and i % every == 0:
            level *= 1.1 if (i // every) % 2 else 1 / 1.1
        values.append(level + rng.gauss(0.0, 0.01 * level))
    return values


def write_csv(path, named_series, machines=3):
    """CSV for `analyze`: one test per series, an hour apart. Each series is
    (name, values) with machines in turn, or (name, values, machine list)."""
    with open(path, "w") as f:
        f.write("test,machine,buildid,value,timestamp\n")
        for s in named_series:
            name, values = s[0], s[1]
            ms = s[2] if len(s) > 2 else [i % machines for i in range(len(values))]
            f.writelines(
                f"{name},m{m},{i},{v!r},{T0 + 3600 * i}\n" for i, (v, m) in enumerate(zip(values, ms))
            )
