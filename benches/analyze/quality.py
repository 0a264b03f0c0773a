"""Precision and recall of `kexec-chooser analyze` (both methods) and of
Apache Otava (its defaults) on synthetic series with known steps.

Run with the Python of the venv that holds apache-otava (see run.sh):
    python quality.py --bin target/release/kexec-chooser [--series 200] [--seed 1]
A detected change is a true positive when it is dated within 3 points of a
true step (each true step matches at most one detection).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

TOLERANCE = 3


def score(truth, found):
    """(true positives, detections, true steps, true steps found)."""
    used = set()
    tp = 0
    for d in sorted(found):
        match = [t for t in truth if abs(t - d) <= TOLERANCE and t not in used]
        if match:
            used.add(min(match, key=lambda t: abs(t - d)))
            tp += 1
    return tp, len(found), len(truth), len(used)


def ours(binary, path, method, n_series):
    out = subprocess.run(
        [binary, "analyze", "--json", "--method", method, path],
        capture_output=True, check=False,
    )
    if out.returncode not in (0, 1):
        sys.exit(f"analyze failed: {out.stderr.decode()}")
    doc = json.loads(out.stdout)
    found = {f"s{i}": [] for i in range(n_series)}
    for c in doc["changes"]:
        found[c["series"]["test"]].append(c["index"])
    return found


def otava_changes(values):
    from otava.analysis import compute_change_points
    cps, _weak = compute_change_points(values)
    return [cp.index for cp in cps]


def report(name, results, seconds):
    tp = sum(r[0] for r in results)
    det = sum(r[1] for r in results)
    true = sum(r[2] for r in results)
    hit = sum(r[3] for r in results)
    precision = tp / det if det else float("nan")
    recall = hit / true if true else float("nan")
    print(f"{name:<22} precision {precision:.3f}  recall {recall:.3f}  "
          f"(detections {det}, true positives {tp}, steps {true}, found {hit})  {seconds:.2f} s")
    return precision, recall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-otava", action="store_true")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    data = [synth.series(rng) for _ in range(args.series)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "quality.csv")
        synth.write_csv(path, [(f"s{i}", v) for i, (v, _) in enumerate(data)])
        print(f"{args.series} series of 300 points, 1 % noise, "
              f"{sum(len(s) for _, s in data)} steps of 6-30 %, seed {args.seed}")
        for method in ("window", "ttest"):
            t = time.perf_counter()
            found = ours(args.bin, path, method, args.series)
            dt = time.perf_counter() - t
            results = [score(steps, found[f"s{i}"]) for i, (_, steps) in enumerate(data)]
            report(f"analyze --method {method}", results, dt)
    if not args.no_otava:
        t = time.perf_counter()
        results = [score(steps, otava_changes(v)) for v, steps in data]
        report("otava (defaults)", results, time.perf_counter() - t)


if __name__ == "__main__":
    main()
