#!/bin/bash
# Benchmark of `kexec-chooser disk --json` against its peer `df -B1`, side by
# side with hyperfine: over this machine's mounts, then over 500 extra tmpfs
# mounts made in a private mount namespace (nothing reaches the host).
# Run by hand as root (the mounts need it), not in CI:
#   sudo benches/disk/run.sh [N_TMPFS]        (RUNS=300 round-robin rounds)
# hyperfine runs each command's runs in one block; on a machine whose load
# changes that skews the ratio, so interleave.py also runs them round-robin.
# `disk --json` hides tmpfs, so it skips the 500 without a statvfs; `disk
# --all --json` checks them as df does and is the fair comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-500}
cargo build --release --locked --quiet
bin=$PWD/target/release/kexec-chooser
out=${OUT_DIR:-$PWD/target/bench-disk}
mkdir -p "$out"

echo "== this machine's mounts ($(wc -l </proc/self/mountinfo) in mountinfo)"
hyperfine -N --warmup 20 --min-runs 300 \
    --export-markdown "$out/host.md" \
    "$bin disk --json" "$bin disk --all --json" "df -B1"
echo "-- the same, round-robin (ratios are df's time over disk's: >1 means disk is faster)"
python3 benches/disk/interleave.py "${RUNS:-300}" "$bin disk --json" "$bin disk --all --json" "df -B1"

echo "== with $n more tmpfs mounts, in a private mount namespace"
unshare -m --propagation private bash -euc '
    bin=$1; n=$2; out=$3
    base=$(mktemp -d)
    mount -t tmpfs -o size=64m kc-bench-base "$base"
    for i in $(seq 1 "$n"); do
        mkdir "$base/m$i"
        mount -t tmpfs -o size=1m "kc-bench-$i" "$base/m$i"
    done
    echo "$(wc -l </proc/self/mountinfo) mounts in mountinfo"
    hyperfine -N --warmup 10 --min-runs 200 \
        --export-markdown "$out/tmpfs.md" \
        "$bin disk --json" "$bin disk --all --json" "df -B1"
    echo "-- the same, round-robin"
    python3 benches/disk/interleave.py "${RUNS:-300}" "$bin disk --json" "$bin disk --all --json" "df -B1"
' bash "$bin" "$n" "$out"
