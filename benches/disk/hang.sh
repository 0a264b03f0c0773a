#!/bin/bash
# How long `kexec-chooser disk --all --json --timeout T` takes among K dead
# mounts: FUSE filesystems whose daemon never reads /dev/fuse, so statfs on
# them waits for ever, next to 10 healthy tmpfs mounts. Everything happens
# in a private mount namespace and ends with it. Run by hand as root:
#   sudo benches/disk/hang.sh [TIMEOUT] [K...]     (default: 2, and 1 2 9)
# Prints the wall time of 5 runs per K and what the rows said.
set -euo pipefail
cd "$(dirname "$0")/../.."
timeout=${1:-2}
shift || true
counts=(1 2 9)
[ "$#" -gt 0 ] && counts=("$@")
cargo build --release --locked --quiet
bin=$PWD/target/release/kexec-chooser
for hung in "${counts[@]}"; do
    unshare -m --propagation private bash -euc '
        bin=$1; hung=$2; timeout=$3
        base=$(mktemp -d)
        mount -t tmpfs -o size=1m kc-base "$base"
        for i in 1 2 3 4 5 6 7 8; do
            mkdir "$base/ok$i"; mount -t tmpfs -o size=1m "kc-ok$i" "$base/ok$i"
        done
        for i in $(seq 1 "$hung"); do
            mkdir "$base/hung$i"; exec {fd}<>/dev/fuse
            mount -i -t fuse -o "fd=$fd,rootmode=40000,user_id=0,group_id=0" "kc-hung$i" "$base/hung$i"
        done
        mkdir "$base/ok9"; mount -t tmpfs -o size=1m kc-ok9 "$base/ok9"
        out=$(mktemp)
        times=()
        for run in 1 2 3 4 5; do
            start=$(date +%s%N)
            "$bin" disk --all --json --timeout "$timeout" >"$out" || true
            times+=("$(( ($(date +%s%N) - start) / 1000000 ))")
        done
        echo "$hung hung, --timeout $timeout: ${times[*]} ms;" \
            "$(grep -c "did not answer within" "$out" || true) did not answer," \
            "$(grep -c "not checked" "$out" || true) not checked"
    ' bash "$bin" "$hung" "$timeout"
done
