#!/bin/bash
# Why: the speed target of `kexec-chooser card`: 10 million numbers
# on stdin, release build, side by side with python-stdnum's Luhn validation
# of the same file. Run by hand (not in CI): benches/card/run.sh [COUNT] [RUNS]
# Prints CPU time, wall time and peak RSS of the best run of each, and the
# ratio of CPU times.
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNT="${1:-10000000}"
RUNS="${2:-3}"
STDNUM_VERSION="2.2"   # pinned: python-stdnum on PyPI, 2026-01
CACHE="${CACHE_DIR:-/var/cache/kexec-chooser-tests}/card"
mkdir -p "$CACHE"

INPUT="$CACHE/numbers-$COUNT.txt"
if [ ! -s "$INPUT" ]; then
    echo "generating $COUNT numbers into $INPUT" >&2
    python3 benches/card/gen.py "$COUNT" > "$INPUT.tmp"
    mv "$INPUT.tmp" "$INPUT"
fi

VENV="$CACHE/venv-stdnum-$STDNUM_VERSION"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "python-stdnum==$STDNUM_VERSION"
fi

cargo build --release --locked --quiet
BIN="target/release/kexec-chooser"

# best_of NAME CMD...: run CMD RUNS times with stdin from INPUT and stdout to
# /dev/null; keep the run with the least CPU time (user + system: on a
# shared machine wall time mostly measures the neighbours) and print its CPU
# time, wall time and peak RSS. Echoes the CPU seconds for the ratio.
best_of() {
    local name="$1"; shift
    local best="" wall="" rss="" e u s m cpu
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S %M' -o "$CACHE/time.out" "$@" < "$INPUT" > /dev/null 2> "$CACHE/stderr.out" || true
        # time(1) puts "Command exited with non-zero status N" first: exit 1 is
        # a normal outcome here (some numbers are invalid), so read the last line.
        read -r e u s m < <(tail -n 1 "$CACHE/time.out")
        cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        if [ -z "$best" ] || awk "BEGIN{exit !($cpu < $best)}"; then best="$cpu"; wall="$e"; rss="$m"; fi
    done
    printf '%-30s cpu %7.2f s  wall %7.2f s  peak RSS %7d KiB\n' "$name" "$best" "$wall" "$rss" >&2
    echo "$best"
}

lines=$(wc -l < "$INPUT")
size=$(du -h "$INPUT" | cut -f1)
echo "input: $lines lines, $size; best of $RUNS runs; $(nproc) cores, load $(cut -d" " -f1 /proc/loadavg)" >&2
t_text=$(best_of "kexec-chooser card" "$BIN" card)
t_json=$(best_of "kexec-chooser card --json" "$BIN" card --json)
t_py=$(best_of "python-stdnum $STDNUM_VERSION luhn" "$VENV/bin/python" benches/card/stdnum_luhn.py)
awk -v a="$t_text" -v j="$t_json" -v p="$t_py" 'BEGIN {
    printf "ratio stdnum / card:        %.1fx\n", p / a
    printf "ratio stdnum / card --json: %.1fx\n", p / j
}' >&2
