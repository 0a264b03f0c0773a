#!/bin/bash
# Benchmarks of `kexec-chooser analyze`, run by hand (not in CI):
#   benches/analyze/run.sh [--remake-real]   speed, memory, Otava side by side, quality
# Apache Otava and ruptures (pinned) go into a venv under the cache dir, never
# the system Python. Generated long series are cached there too. The real
# benchmark series in real/ were made on the development machine by
# realbench.py; --remake-real makes them again on this one (about 5 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${CACHE_DIR:-/var/cache/kexec-chooser-tests}/analyze"
OTAVA_VERSION=0.8.0
RUPTURES_VERSION=1.1.10
mkdir -p "$CACHE"
if [ ! -x "$CACHE/venv/bin/python" ] || ! "$CACHE/venv/bin/python" -c "import otava, ruptures" 2>/dev/null; then
    python3 -m venv "$CACHE/venv"
    "$CACHE/venv/bin/pip" install -q "apache-otava==$OTAVA_VERSION" "ruptures==$RUPTURES_VERSION"
fi
cargo build --release --locked -q
BIN=target/release/kexec-chooser
if [ "${1:-}" = "--remake-real" ]; then
    shift
    python3 benches/analyze/realbench.py
fi
echo "== speed and memory (release build, $(nproc) cores) =="
"$CACHE/venv/bin/python" benches/analyze/speed.py --bin "$BIN" --cache "$CACHE" "$@"
echo
echo "== quality: the seed's example, synthetic suite, TCPD, real series =="
"$CACHE/venv/bin/python" benches/analyze/quality.py --bin "$BIN"
