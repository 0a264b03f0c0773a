#!/bin/bash
# Why: the speed target of `kexec-chooser card` (issue 9): 10 million numbers
# on stdin, release build, side by side with python-stdnum's Luhn validation
# of the same file. Run by hand (not in CI): benches/card/run.sh [COUNT] [RUNS]
# Prints the best wall time and peak RSS of each, and the ratio.
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
# /dev/null; print the best wall time and the peak RSS of that run.
best_of() {
    local name="$1"; shift
    local best="" rss="" t m
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %M' -o "$CACHE/time.out" "$@" < "$INPUT" > /dev/null 2> "$CACHE/stderr.out" || true
        read -r t m < "$CACHE/time.out"
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best="$t"; rss="$m"; fi
    done
    printf '%-28s %8.2f s  %8d KiB\n' "$name" "$best" "$rss" >&2
    echo "$best"
}

lines=$(wc -l < "$INPUT")
size=$(du -h "$INPUT" | cut -f1)
echo "input: $lines lines, $size; best of $RUNS runs; $(nproc) cores" >&2
t_text=$(best_of "kexec-chooser card" "$BIN" card)
t_json=$(best_of "kexec-chooser card --json" "$BIN" card --json)
t_py=$(best_of "python-stdnum $STDNUM_VERSION luhn" "$VENV/bin/python" benches/card/stdnum_luhn.py)
awk -v a="$t_text" -v j="$t_json" -v p="$t_py" 'BEGIN {
    printf "ratio stdnum / card:        %.1fx\n", p / a
    printf "ratio stdnum / card --json: %.1fx\n", p / j
}' >&2
