"""Real benchmark series, made on this machine: real workloads timed over a
sequence of 250 "builds", with a slowdown injected at a known build, so that
the noise is the machine's own (other processes, frequency, caches).

    python realbench.py [--out real/series.csv] [--builds 250]

Each build runs every workload in turn, so that a busy moment of the
machine touches all series alike, as it does on a shared CI machine; a
build's result is the fastest of five runs of its process CPU time, as a
benchmark harness on a shared machine would take it (wall time there is
mostly the wait for a core, and the fastest run the least disturbed). The slowdown is more work of the same kind (a
longer input), not a sleep.
Writes the CSV that `analyze` reads, with the truth in real/truth.json.
"""

import argparse
import hashlib
import json
import os
import random
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_700_000_000

rng = random.Random(42)
BLOB = bytes(rng.getrandbits(8) for _ in range(1 << 19)) + b"benchmark " * (1 << 16)
ITEMS = [rng.random() for _ in range(100_000)]
DOC = json.dumps([{"id": i, "name": f"n{i}", "tags": ["a", "b"], "v": i * 0.5} for i in range(10_000)])


def grown(seq, k):
    """`seq` with its first (k - 1) of itself appended: k times the work."""
    return seq + seq[: int(len(seq) * (k - 1.0))]


# Each workload takes its input, made before the clock starts.
def zlib_work(blob):
    zlib.compress(blob, 6)


def sha_work(blob):
    hashlib.sha256(blob).digest()


def sort_work(items):
    sorted(items)


def json_work(doc):
    json.loads(doc)


INPUTS = {"zlib": BLOB, "sha256": BLOB * 4, "sort": ITEMS, "json": DOC}


# name, workload, build of the slowdown (None: none), size of the slowdown
SERIES = [
    ("zlib", zlib_work, 120, 0.25),
    ("sha256", sha_work, 80, 0.10),
    ("sort", sort_work, 170, 0.50),
    ("json", json_work, None, 0.0),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "real", "series.csv"))
    ap.add_argument("--builds", type=int, default=250)
    args = ap.parse_args()
    rows = []
    slowed = {name: grown(INPUTS[name], 1.0 + size) for name, _, _, size in SERIES}
    for b in range(args.builds):
        for name, work, at, size in SERIES:
            data = slowed[name] if at is not None and b >= at else INPUTS[name]
            runs = []
            for _ in range(5):
                t = time.process_time()
                work(data)
                runs.append((time.process_time() - t) * 1000)
            ms = min(runs)
            rows.append(f"{name},local,{b},{ms:.4f},{T0 + 3600 * b}\n")
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("test,machine,buildid,value,timestamp\n")
        f.writelines(rows)
    os.replace(tmp, args.out)
    truth = {name: ([at] if at is not None else []) for name, _, at, _ in SERIES}
    with open(os.path.join(os.path.dirname(args.out), "truth.json"), "w") as f:
        json.dump({"truth": truth, "slowdowns": {n: s for n, _, _, s in SERIES},
                   "builds": args.builds, "made": time.strftime("%Y-%m-%d"), "host_cores": os.cpu_count()}, f, indent=1)
    print(f"wrote {args.out}: {len(rows)} rows")


if __name__ == "__main__":
    main()
