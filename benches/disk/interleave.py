#!/usr/bin/env python3
"""Run commands round-robin, so a machine whose load changes during the
benchmark slows every command alike (hyperfine runs them one after another).
Prints min, median and mean wall time and the mean CPU time (user + system)
of each, and the ratio of each command to the last one (the peer).

usage: interleave.py RUNS 'cmd args' 'cmd args' ... 'peer args'
"""
import resource
import shlex
import subprocess
import sys
import time

runs = int(sys.argv[1])
cmds = sys.argv[2:]
wall = {c: [] for c in cmds}
cpu = {c: 0.0 for c in cmds}
for _ in range(runs):
    for c in cmds:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(shlex.split(c), stdout=subprocess.DEVNULL)
        wall[c].append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[c] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

peer = cmds[-1]
def stats(c):
    v = sorted(wall[c])
    return v[0], v[len(v) // 2], sum(v) / len(v), cpu[c] / runs
p = stats(peer)
for c in cmds:
    s = stats(c)
    print(f"{c}\n    wall min {s[0]*1e3:.2f} ms, median {s[1]*1e3:.2f} ms, mean {s[2]*1e3:.2f} ms; cpu {s[3]*1e3:.3f} ms"
          f"  | peer/this: min {p[0]/s[0]:.2f}x, median {p[1]/s[1]:.2f}x, cpu {p[3]/s[3]:.2f}x")
