#!/bin/bash
# Benchmarks of `kexec-chooser analyze`, run by hand (not in CI):
#   benches/analyze/run.sh            speed, memory, Otava side by side, quality
# Apache Otava (pinned) goes into a venv under the cache dir, never the system
# Python. Generated series are cached there too.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${CACHE_DIR:-/var/cache/kexec-chooser-tests}/analyze"
OTAVA_VERSION=0.8.0
mkdir -p "$CACHE"
if [ ! -x "$CACHE/venv/bin/python" ] || ! "$CACHE/venv/bin/python" -c "import otava" 2>/dev/null; then
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q "apache-otava==$OTAVA_VERSION"
fi
cargo build --release --locked -q
BIN=target/release/kexec-chooser
echo "== speed and memory (release build, $(nproc) cores) =="
"$CACHE/venv/bin/python" benches/analyze/speed.py --bin "$BIN" --cache "$CACHE" "$@"
echo
echo "== quality: synthetic series with known steps =="
for seed in 1 2 3; do
    "$CACHE/venv/bin/python" benches/analyze/quality.py --bin "$BIN" --seed "$seed"
done
