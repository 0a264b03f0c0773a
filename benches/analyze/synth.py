"""Synthetic benchmark series with known steps, shared by the speed and the
quality benchmarks of `kexec-chooser analyze` (stdlib only, seeded)."""

import random

T0 = 1_231_761_600  # 2009-01-12T12:00:00Z


def series(rng, n=300, noise=0.01, min_gap=40, lo=0.06, hi=0.30, max_steps=2):
    """Values of one series and the indices of its true steps.

    One or two steps of 6 % to 30 % (either direction), at least `min_gap`
    points apart and at least `min_gap` from either end; Gaussian noise of
    `noise` times the current level.
    """
    k = rng.randint(1, max_steps)
    while True:
        steps = sorted(rng.sample(range(min_gap, n - min_gap + 1), k))
        if all(b - a >= min_gap for a, b in zip(steps, steps[1:])):
            break
    level = rng.uniform(50.0, 500.0)
    values = []
    nxt = 0
    for i in range(n):
        if nxt < len(steps) and i == steps[nxt]:
            size = rng.uniform(lo, hi)
            level *= 1.0 + size if rng.random() < 0.5 else 1.0 - size
            nxt += 1
        values.append(level + rng.gauss(0.0, noise * level))
    return values, steps


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
    """CSV for `analyze`: one test per series, machines in turn, an hour apart."""
    with open(path, "w") as f:
        f.write("test,machine,buildid,value,timestamp\n")
        for name, values in named_series:
            lines = [
                f"{name},m{i % machines},{i},{v:.6f},{T0 + 3600 * i}\n"
                for i, v in enumerate(values)
            ]
            f.writelines(lines)
