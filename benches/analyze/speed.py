"""Speed and memory of `kexec-chooser analyze`, and the side-by-side run
against Apache Otava on a 100,000-point series.

    python speed.py --bin target/release/kexec-chooser [--before OLD-BINARY] --cache DIR [--sizes 1000000,10000000]

Our figure is the whole process (reading the CSV, analysing, writing the
text) under /usr/bin/time -v; Otava's is its `compute_change_points` call
alone on values already in memory (interpreter start and CSV reading not
counted), which favours Otava. With --before, an earlier build is timed
beside this one, run for run (`build` column: now, before).
"""

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402


def ensure_csv(cache, n):
    path = os.path.join(cache, f"series-{n}.csv")
    if not os.path.exists(path):
        rng = random.Random(n)
        tmp = path + ".tmp"
        synth.write_csv(tmp, [("Tp3", synth.long_series(rng, n))])
        os.replace(tmp, path)
    return path


def timed(binary, method, path):
    """(CPU seconds, wall seconds, peak RSS in KiB, exit code) of one run.

    CPU time (user + system) is the figure to compare: the benchmark machine
    is shared, so wall time also counts waiting for a core."""
    out = subprocess.run(
        ["/usr/bin/time", "-v", binary, "analyze", "--method", method, path],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
    )
    err = out.stderr.decode()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", err)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    code = re.search(r"Exit status: (\d+)", err)
    user = re.search(r"User time \(seconds\): ([\d.]+)", err)
    system = re.search(r"System time \(seconds\): ([\d.]+)", err)
    if not (wall and rss):
        sys.exit(f"could not read /usr/bin/time output:\n{err}")
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    cpu = float(user.group(1)) + float(system.group(1)) if user and system else seconds
    return cpu, seconds, int(rss.group(1)), int(code.group(1)) if code else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--before", help="an earlier build of the binary, timed beside it")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--sizes", default="1000000,3000000,10000000")
    ap.add_argument("--otava-size", type=int, default=100_000)
    ap.add_argument("--no-otava", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)

    builds = [("now", args.bin)] + ([("before", args.before)] if args.before else [])
    print("points      method  build   CPU s   wall s  points/CPU-s   peak RSS  RSS bytes/point  exit")
    for n in [int(x) for x in args.sizes.split(",")]:
        path = ensure_csv(args.cache, n)
        for method in ("window", "ttest", "segment"):
            for build, binary in builds:
                cpu, wall, rss, code = timed(binary, method, path)
                print(f"{n:<11} {method:<7} {build:<7} {cpu:6.2f}  {wall:6.2f}  {n / cpu:>12.0f}  "
                      f"{rss / 1024:6.0f} MiB  {rss * 1024 / n:8.0f}         {code}")

    if args.no_otava:
        return
    n = args.otava_size
    path = ensure_csv(args.cache, n)
    truth = list(range(5000, n, 5000))
    with open(path) as f:
        next(f)
        values = [float(line.split(",")[3]) for line in f]
    from otava.analysis import compute_change_points
    t, c = time.perf_counter(), time.process_time()
    cps, _ = compute_change_points(values)
    otava, wall = time.process_time() - c, time.perf_counter() - t
    found = [cp.index for cp in cps]
    # Otava as a whole process too (interpreter, imports, reading the CSV,
    # the analysis), to compare like with like.
    script = ("import sys\nfrom otava.analysis import compute_change_points\n"
              "with open(sys.argv[1]) as f:\n    next(f)\n"
              "    v = [float(l.split(',')[3]) for l in f]\ncompute_change_points(v)\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", script, path], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    otava_process = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"\n{n} points, {len(truth)} true steps of 10 %, 1 % noise")
    print(f"otava compute_change_points (defaults): {otava:.3f} CPU s ({wall:.2f} wall s), "
          f"{len(found)} change points, {hits(truth, found)} within 3 points of a true step")
    print(f"otava, whole process (python, imports, CSV, analysis): {otava_process:.3f} CPU s")
    runs = 10
    for m in ("window", "ttest", "segment"):
        for build, binary in builds:
            start = resource.getrusage(resource.RUSAGE_CHILDREN)
            for _ in range(runs):
                out = subprocess.run([binary, "analyze", "--method", m, path],
                                     stdout=subprocess.PIPE, check=False)
            end = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime) / runs
            # Text mode, like Otava's answer: the changes only. Build id = index.
            changes = [int(x) for x in re.findall(r"^Regression: .* build (\d+)$", out.stdout.decode(), re.M)]
            print(f"analyze --method {m} ({build}, whole process, mean of {runs}): {cpu:.4f} CPU s, "
                  f"{len(changes)} changes, {hits(truth, changes)} within 3 points of a true step: "
                  f"{otava / cpu:.0f}x less CPU than otava's call alone, "
                  f"{otava_process / cpu:.0f}x less than otava's whole process")


def hits(truth, found):
    return sum(1 for d in found if any(abs(d - t) <= 3 for t in truth))


if __name__ == "__main__":
    main()
