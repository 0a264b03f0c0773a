#!/bin/bash
# Benchmark of `kexec-chooser upload` against `curl -F`, side by side: both
# upload the same 1 GiB file as multipart/form-data to the same local server
# (tests/upload/server.py /discard: reads and discards, in 1 MiB reads, so it
# is not the bottleneck), alternating runs. Reports the median throughput of
# each, their ratio, and the peak resident memory of each (/usr/bin/time -v).
# Run by hand, as root (it may apt-get install curl and time):
#
#   benches/upload/run.sh            # 1 GiB, 5 runs each, http
#   SIZE_MIB=256 RUNS=3 TLS=1 benches/upload/run.sh   # also over https
#
# Targets: peak RSS < 20 MiB; throughput >= 0.9 x curl's.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB="${SIZE_MIB:-1024}"
RUNS="${RUNS:-5}"
TLS="${TLS:-0}"
WORK="${CACHE_DIR:-/var/cache/kexec-chooser-tests}/upload-bench"
mkdir -p "$WORK"

need=()
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
command -v openssl >/dev/null || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi
python3 -c 'import multipart' 2>/dev/null || bash scripts/setup.d/70-upload.sh

cargo build --release --quiet
BIN="$PWD/target/release/kexec-chooser"

DATA="$WORK/data-${SIZE_MIB}M.bin"
if [ ! -s "$DATA" ]; then
    echo "making $DATA" >&2
    head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$DATA.tmp" && mv "$DATA.tmp" "$DATA"
fi
cat "$DATA" >/dev/null # both clients read it from the page cache

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_server() { # $@: server.py arguments; sets PORT
    local portfile="$WORK/port.$$"
    python3 tests/upload/server.py "$@" >"$portfile" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
    PORT="$(head -1 "$portfile")"
    rm -f "$portfile"
}

# One timed run: prints "wall_seconds max_rss_kib cpu_seconds"; the upload
# must succeed. CPU time (user + system) is printed too: on a shared machine
# it is steadier than wall time.
timed() {
    local log="$WORK/time.log"
    /usr/bin/time -v -o "$log" "$@" >/dev/null
    local wall rss user sys
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")"
    rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
    user="$(awk -F': ' '/User time/ {print $2}' "$log")"
    sys="$(awk -F': ' '/System time/ {print $2}' "$log")"
    # m:ss.cc or h:mm:ss -> seconds
    awk -v w="$wall" -v r="$rss" -v u="$user" -v y="$sys" \
        'BEGIN { n = split(w, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s, r, u + y }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

bench() { # $1: label, $2: URL, then extra arguments for each client
    local label="$1" url="$2"
    shift 2
    local k_times=() c_times=() k_cpu=() c_cpu=() k_rss=0 c_rss=0 t r c
    for i in $(seq "$RUNS"); do
        read -r t r c < <(timed curl -sS --fail -o /dev/null "$@" -F "file=@$DATA" "$url")
        c_times+=("$t"); c_cpu+=("$c"); [ "$r" -gt "$c_rss" ] && c_rss="$r"
        read -r t r c < <(timed "$BIN" upload --no-progress "$@" -F "file=@$DATA" "$url")
        k_times+=("$t"); k_cpu+=("$c"); [ "$r" -gt "$k_rss" ] && k_rss="$r"
        echo "  run $i: curl ${c_times[-1]} s (cpu ${c_cpu[-1]} s), kexec-chooser ${k_times[-1]} s (cpu ${k_cpu[-1]} s)" >&2
    done
    local kt ct kc cc
    kt="$(printf '%s\n' "${k_times[@]}" | median)"
    ct="$(printf '%s\n' "${c_times[@]}" | median)"
    kc="$(printf '%s\n' "${k_cpu[@]}" | median)"
    cc="$(printf '%s\n' "${c_cpu[@]}" | median)"
    awk -v l="$label" -v s="$SIZE_MIB" -v kt="$kt" -v ct="$ct" -v kr="$k_rss" -v cr="$c_rss" -v kc="$kc" -v cc="$cc" 'BEGIN {
        printf "%s, %d MiB, median of runs:\n", l, s
        printf "  kexec-chooser upload  %8.1f MiB/s  cpu %5.2f s  peak RSS %6.1f MiB\n", s / kt, kc, kr / 1024
        printf "  curl -F               %8.1f MiB/s  cpu %5.2f s  peak RSS %6.1f MiB\n", s / ct, cc, cr / 1024
        printf "  throughput ratio kexec-chooser/curl = %.2f (target >= 0.90); cpu ratio curl/kexec-chooser = %.2f\n", ct / kt, (kc > 0) ? cc / kc : 0
        printf "  peak RSS target < 20 MiB: %s\n", (kr < 20 * 1024) ? "met" : "MISSED"
    }'
}

start_server serve
bench "http" "http://127.0.0.1:$PORT/discard"

if [ "$TLS" = 1 ]; then
    cd "$WORK"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null
    openssl req -new "${ec[@]}" -keyout leaf.key -out leaf.csr -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile leaf.ext 2>/dev/null
    cd - >/dev/null
    start_server serve --tls "$WORK/leaf.pem" "$WORK/leaf.key"
    bench "https" "https://127.0.0.1:$PORT/discard" --cacert "$WORK/ca.pem"
fi
