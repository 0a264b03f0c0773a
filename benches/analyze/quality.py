"""Quality of `kexec-chooser analyze` (its three methods) side by side with
ruptures' binary segmentation and PELT (l2 cost, penalty 3 sigma^2 ln n) and Apache
Otava (its defaults), in one run; with --before, the same three methods of
an earlier build too (columns `before:METHOD`), so that a change is measured
against what it replaces on the same data in the same run:

0. the series of issue 24: exact, near-exact and quantised metrics;
1. the seed's example: one regression at point 150, 43.59 %;
2. the synthetic suite (synth.CASES): precision and recall per case, a
   detection counting when it is within 3 points of a true change;
3. real-world series with human annotations (tcpd/tcpd.json, a part of the
   Turing Change Point Dataset): F1 with a 5-point margin averaged over
   annotators as TCPDBench's metrics.py computes it, the development part
   and the held-out part apart, beside TCPDBench's published figures;
4. real benchmark series made on this machine with a known injected
   slowdown (real/, made by realbench.py).

Run with the Python of the venv that holds apache-otava and ruptures (run.sh):
    python quality.py --bin target/release/kexec-chooser [--before OLD-BINARY] [--series 100] [--seed 1]
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = ("window", "ttest", "segment")
PEERS = ("ruptures-binseg", "ruptures-pelt", "otava")
# The binaries: "now" is the build measured, "before" the earlier one (--before).
BINARIES = {}


def ours_method(m):
    """(binary, method) of a column of ours (`segment`, `before:segment`), else None."""
    when, _, method = m.rpartition(":")
    if method not in OURS:
        return None
    return BINARIES[when or "now"], method
MARGIN_SYNTH = 3
MARGIN_TCPD = 5


def ours_json(series, column):
    """The JSON document of one run of the binary of that column over the
    series (test `s<k>` is series k)."""
    binary, method = ours_method(column)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "in.csv")
        synth.write_csv(path, [(f"s{i}", v, m) for i, (v, m) in enumerate(series)])
        out = subprocess.run([binary, "analyze", "--json", "--method", method, path],
                             capture_output=True, check=False)
    if out.returncode not in (0, 1):
        sys.exit(f"analyze --method {method} failed: {out.stderr.decode()}")
    return json.loads(out.stdout)


def ours(series, column):
    """(index, percent, kind) of every change per series."""
    return changes_of(ours_json(series, column), len(series))


def changes_of(doc, n_series):
    found = [[] for _ in range(n_series)]
    for c in doc["changes"]:
        found[int(c["series"]["test"][1:])].append((c["index"], c["percent"], c["kind"]))
    return found


def noise_sd(values):
    d = sorted(abs(b - a) for a, b in zip(values, values[1:]))
    s = d[len(d) // 2] * 1.4826 / math.sqrt(2) if d else 0.0
    return s if s > 0 else (max(values) - min(values)) / 10 or 1.0


def ruptures_cps(values, algo):
    import numpy as np
    import ruptures as rpt
    x = np.asarray(values, dtype=float).reshape(-1, 1)
    # The MBIC-like penalty of R changepoint's defaults (TCPDBench's default
    # experiment): 3 ln(n) per change, in units of the noise variance.
    pen = 3 * noise_sd(values) ** 2 * math.log(len(values))
    model = (rpt.Binseg if algo == "binseg" else rpt.Pelt)(model="l2", min_size=2, jump=1).fit(x)
    return [b for b in model.predict(pen=pen) if b < len(values)]


def otava_cps(values):
    from otava.analysis import compute_change_points
    cps, _weak = compute_change_points(list(values))
    return [cp.index for cp in cps]


def detect(series, method):
    if ours_method(method):
        return [[i for i, _, _ in f] for f in ours(series, method)]
    if method == "otava":
        return [otava_cps(v) for v, _ in series]
    return [ruptures_cps(v, method.split("-")[1]) for v, _ in series]


def shortened(found):
    """The first six indices, and how many more."""
    return ", ".join(str(i) for i in found[:6]) + (f" (+{len(found) - 6})" if len(found) > 6 else "")


# --- 0. the series of issue 24 ---------------------------------------------

def issue_series():
    """(name, values, index of the change or None): 200 points, one change
    at point 120 unless said otherwise."""
    rng = random.Random(24)

    def step(n, at, old, new):
        return [old if i < at else new for i in range(n)]

    spike = [1_048_576] * 200
    spike[80] = 1_048_577
    return [
        ("size, exact, +0.4 %", step(200, 120, 4_812_736, 4_831_987), 120),
        ("instruction count, ±1e-6 jitter, +2 %",
         [round((1.5e9 if i < 120 else 1.53e9) * (1 + rng.uniform(-1e-6, 1e-6))) for i in range(200)], 120),
        ("exact 100 → 200, 100 points", step(100, 50, 100, 200), 50),
        ("integer milliseconds 10/11 → 12/13", [rng.choice((10, 11) if i < 120 else (12, 13)) for i in range(200)], 120),
        ("constant", [1234] * 200, None),
        ("a count that leaves zero", step(200, 120, 0, 3), 120),
        ("exact, one point off and back", spike, None),
        ("integer milliseconds 10/11, 30 % of 11, no change",
         [11 if rng.random() < 0.3 else 10 for _ in range(200)], None),
    ]


def issue_table(methods):
    print("\n### Exact, near-exact and quantised series (issue 24)\n")
    print("The changes each method reports (`nothing` when none), with their size. For ours, `+N spikes` "
          "counts the points classed spike (with `window`, the two points before the one that confirms a "
          "change are spikes, as in the original graph).\n")
    print("| series | truth | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    rows = issue_series()
    series = [(v, [0] * len(v)) for _, v, _ in rows]
    cells = {m: [] for m in methods}
    for m in methods:
        if ours_method(m):
            doc = ours_json(series, m)
            spikes = [0] * len(series)
            for s in doc["series"]:
                spikes[int(s["test"][1:])] = sum(1 for p in s["points"] if p["class"] == "spike")
            for f, sp in zip(changes_of(doc, len(series)), spikes):
                shown = ", ".join(f"{i} ({p:.3g} %)" if p is not None else f"{i} (from 0)" for i, p, _ in f)
                cells[m].append((shown or "nothing") + (f" +{sp} spike{'s' if sp > 1 else ''}" if sp else ""))
        else:
            for f in detect(series, m):
                cells[m].append(shortened(f) or "nothing")
    for k, (name, _, at) in enumerate(rows):
        truth = "none" if at is None else str(at)
        print(f"| {name} | {truth} | " + " | ".join(cells[m][k] for m in methods) + " |")


# --- 1. the seed's example -------------------------------------------------

def seed_example(methods):
    rng = random.Random(150)
    v = [(417.974 if i < 150 else 235.778) + rng.gauss(0, 0.5) for i in range(250)]
    print("\n### The seed's example (one regression at point 150, 43.59 %)\n")
    print("| method | changes found | verdict |")
    print("|---|---|---|")
    for m in methods:
        if ours_method(m):
            f = ours([(v, [i % 3 for i in range(250)])], m)[0]
            desc = ", ".join(f"{i} ({p:.2f} %, {k})" for i, p, k in f) or "none"
            ok = len(f) == 1 and f[0][0] == 150 and abs(f[0][1] - 43.59) < 0.1
        else:
            f = detect([(v, None)], m)[0]
            desc = ", ".join(str(i) for i in f) or "none"
            ok = f == [150]
        print(f"| {m} | {desc} | {'right' if ok else 'WRONG'} |")


# --- 2. synthetic suite ----------------------------------------------------

def score(truth, found, margin):
    """(true positives, detections, true changes, true changes found)."""
    used, tp = set(), 0
    for d in sorted(found):
        match = [t for t in truth if abs(t - d) <= margin and t not in used]
        if match:
            used.add(min(match, key=lambda t: abs(t - d)))
            tp += 1
    return tp, len(found), len(truth), len(used)


def synthetic(methods, n_series, seed):
    print(f"\n### Synthetic suite: {n_series} series of 300 points per case, seed {seed}, "
          f"margin {MARGIN_SYNTH} points\n")
    print("precision / recall; for `noise` (no change at all), false alarms per 100 series.\n")
    print("| case | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    totals = {m: [0, 0, 0, 0] for m in methods}
    for case in synth.CASES:
        rng = random.Random(f"{case.__name__}-{seed}")
        data = [case(rng) for _ in range(n_series)]
        series = [(v, m) for v, m, _ in data]
        cells = []
        for m in methods:
            found = detect(series, m)
            r = [score(t, f, MARGIN_SYNTH) for (_, _, t), f in zip(data, found)]
            tp, det, true, hit = (sum(x[i] for x in r) for i in range(4))
            for i, x in enumerate((tp, det, true, hit)):
                totals[m][i] += x
            if true == 0:
                cells.append(f"{100 * det / n_series:.0f} false alarms")
            else:
                p = tp / det if det else float("nan")
                cells.append(f"{p:.3f} / {hit / true:.3f}")
        print(f"| {case.__name__} | " + " | ".join(cells) + " |")
    cells = []
    for m in methods:
        tp, det, true, hit = totals[m]
        p, r = (tp / det if det else 0.0), hit / true
        cells.append(f"{p:.3f} / {r:.3f} (F1 {2 * p * r / (p + r) if p + r else 0:.3f})")
    print("| all cases | " + " | ".join(cells) + " |")


# --- 3. TCPD --------------------------------------------------------------

def true_positives(T, X, margin):
    X, TP = set(X), set()
    for tau in T:
        close = sorted((abs(tau - x), x) for x in X if abs(tau - x) <= margin)
        if close:
            TP.add(tau)
            X.remove(close[0][1])
    return TP


def f_measure(annotations, predictions, margin=MARGIN_TCPD):
    """TCPDBench's analysis/scripts/metrics.py f_measure (alpha 0.5)."""
    Tks = {k: set(v) | {0} for k, v in annotations.items()}
    X = set(predictions) | {0}
    Tstar = set().union(*Tks.values())
    P = len(true_positives(Tstar, X, margin)) / len(X)
    R = sum(len(true_positives(T, X, margin)) / len(T) for T in Tks.values()) / len(Tks)
    return 0.0 if P + R == 0 else 2 * P * R / (P + R)


def tcpd(methods):
    with open(os.path.join(HERE, "tcpd", "tcpd.json")) as f:
        data = json.load(f)["datasets"]
    names = sorted(data)
    series = [(data[n]["values"], [0] * len(data[n]["values"])) for n in names]
    found = {m: detect(series, m) for m in methods}
    found["zero"] = [[] for _ in names]
    cols = list(methods) + ["zero"]
    published = ["binseg", "pelt", "bocpd", "amoc", "zero"]
    print(f"\n### Real-world annotated series (TCPD, {len(names)} univariate series), "
          f"F1 with a {MARGIN_TCPD}-point margin\n")
    print("`zero` reports nothing. `pub:` columns are TCPDBench's published default F1 "
          "(R changepoint's binseg/PELT/AMOC with the MBIC penalty, BOCPD, zero) for the same series.\n")
    print("| series | part | " + " | ".join(cols) + " | " + " | ".join(f"pub: {p}" for p in published) + " |")
    print("|---|---|" + "---|" * (len(cols) + len(published)))
    sums = {part: {c: 0.0 for c in cols + [f"pub:{p}" for p in published]} for part in ("dev", "held-out")}
    counts = {"dev": 0, "held-out": 0}
    for k, n in enumerate(names):
        d = data[n]
        part = "held-out" if d["held_out"] else "dev"
        counts[part] += 1
        row = []
        for c in cols:
            f1 = f_measure(d["annotations"], found[c][k])
            sums[part][c] += f1
            row.append(f"{f1:.3f}")
        for p in published:
            f1 = d["published_default_f1"][p]
            sums[part][f"pub:{p}"] += f1
            row.append(f"{f1:.3f}")
        print(f"| {n} | {part} | " + " | ".join(row) + " |")
    for part in ("dev", "held-out"):
        cells = [f"**{sums[part][c] / counts[part]:.3f}**" for c in cols]
        cells += [f"{sums[part][f'pub:{p}'] / counts[part]:.3f}" for p in published]
        print(f"| mean | {part} | " + " | ".join(cells) + " |")
    both = {c: (sums["dev"][c] + sums["held-out"][c]) / len(names) for c in sums["dev"]}
    print("| mean | all | " + " | ".join(f"{both[c]:.3f}" for c in cols) + " | "
          + " | ".join(f"{both[f'pub:{p}']:.3f}" for p in published) + " |")


# --- 4. real benchmark series made on this machine -------------------------

def real(methods):
    base = os.path.join(HERE, "real")
    with open(os.path.join(base, "truth.json")) as f:
        meta = json.load(f)
    values = {}
    with open(os.path.join(base, "series.csv")) as f:
        next(f)
        for line in f:
            name, _machine, _build, value, _ts = line.rstrip("\n").split(",")
            values.setdefault(name, []).append(float(value))
    names = list(values)
    series = [(values[n], [0] * len(values[n])) for n in names]
    print(f"\n### Real benchmark series made on this machine ({meta['builds']} builds, "
          f"made {meta['made']}), margin {MARGIN_SYNTH} points\n")
    print("| series | injected | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    totals = {m: [0, 0, 0, 0] for m in methods}
    found = {m: detect(series, m) for m in methods}
    for k, n in enumerate(names):
        truth = meta["truth"][n]
        what = f"+{meta['slowdowns'][n] * 100:.0f} % at {truth[0]}" if truth else "none"
        cells = []
        for m in methods:
            f = found[m][k]
            r = score(truth, f, MARGIN_SYNTH)
            for i, x in enumerate(r):
                totals[m][i] += x
            cells.append(shortened(f) or "none")
        print(f"| {n} | {what} | " + " | ".join(cells) + " |")
    cells = []
    for m in methods:
        tp, det, true, hit = totals[m]
        cells.append(f"P {tp / det if det else float('nan'):.2f} / R {hit / true:.2f}")
    print("| precision / recall | | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--before", help="an earlier build of the binary, run beside it")
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-otava", action="store_true")
    ap.add_argument("--only", choices=["issue", "seed", "synthetic", "tcpd", "real"])
    ap.add_argument("--methods", help="comma-separated subset of " + ",".join(OURS + PEERS))
    args = ap.parse_args()
    BINARIES["now"] = args.bin
    before = []
    if args.before:
        BINARIES["before"] = args.before
        before = [f"before:{m}" for m in OURS]
    methods = list(OURS) + before + [p for p in PEERS if not (args.no_otava and p == "otava")]
    if args.methods:
        methods = [m for m in methods if m in args.methods.split(",")]
    if args.only in (None, "issue"):
        issue_table(methods)
    if args.only in (None, "seed"):
        seed_example(methods)
    if args.only in (None, "synthetic"):
        synthetic(methods, args.series, args.seed)
    if args.only in (None, "tcpd"):
        tcpd(methods)
    if args.only in (None, "real"):
        real(methods)


if __name__ == "__main__":
    main()
