#!/bin/bash
# Benchmarks of `kexec-chooser analyze`, run by hand (not in CI):
#   benches/analyze/run.sh [--before REV] [--remake-real] [speed.py options]
# speed, memory, Otava side by side, quality. With --before REV, the build of
# git revision REV (exported with git archive into the cache dir and built
# there, release) runs beside this one in every table, so that a change is
# measured against what it replaces in the same run on the same data.
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
BEFORE=()
REMAKE=no
while [ $# -gt 0 ]; do
    case "$1" in
        --before)
            REV=$(git rev-parse --short "$2")
            DIR="$CACHE/before-$REV"
            if [ ! -x "$DIR/target/release/kexec-chooser" ]; then
                rm -rf "$DIR"
                mkdir -p "$DIR"
                git archive "$REV" | tar -x -C "$DIR"
                (cd "$DIR" && cargo build --release --locked -q)
            fi
            BEFORE=(--before "$DIR/target/release/kexec-chooser")
            shift 2
            ;;
        --remake-real) REMAKE=yes; shift ;;
        *) break ;;
    esac
done
if [ "$REMAKE" = yes ]; then
    python3 benches/analyze/realbench.py
fi
echo "== speed and memory (release build, $(nproc) cores) =="
"$CACHE/venv/bin/python" benches/analyze/speed.py --bin "$BIN" "${BEFORE[@]}" --cache "$CACHE" "$@"
echo
echo "== quality: issue 24's series, the seed's example, synthetic suite, TCPD, real series =="
"$CACHE/venv/bin/python" benches/analyze/quality.py --bin "$BIN" "${BEFORE[@]}"
