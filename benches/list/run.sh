#!/bin/bash
# Benchmark: `kexec-chooser list` over a /boot with 40 kernels and 40 initrds,
# side by side with Debian's `linux-version list` (linux-base) on the same
# files. linux-version only reads the real /boot, so both run inside one mount
# namespace where the tree's boot/ is bind-mounted on /boot.
#
# The kernels are the real Debian vmlinuz (full size) with the header's
# kernel_version rewritten per release, so kexec-chooser reads a real header
# of every one of them. Run as root: bash benches/list/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${CACHE_DIR:-/var/cache/kexec-chooser-tests}/bench-list"
PKG=linux-image-6.1.0-56-amd64
mkdir -p "$CACHE"
command -v linux-version >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 linux-base
command -v hyperfine >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 hyperfine
if [ ! -f "$CACHE/vmlinuz" ]; then
    (cd "$CACHE" && apt-get download "$PKG" >/dev/null && dpkg-deb -x ${PKG}_*.deb x &&
        cp x/boot/vmlinuz-* vmlinuz && rm -rf x ${PKG}_*.deb)
fi
ROOT="$CACHE/root"
if [ ! -d "$ROOT/boot" ] || [ "$(ls "$ROOT"/boot/vmlinuz-* | wc -l)" -ne 40 ]; then
    rm -rf "$ROOT"
    mkdir -p "$ROOT/boot" "$ROOT/proc/sys/kernel"
    python3 - "$CACHE/vmlinuz" "$ROOT" <<'PY'
import os, struct, sys
src, root = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
ptr = struct.unpack_from("<H", data, 0x20E)[0] + 0x200
end = data.index(b"\0", ptr)
for n in range(1, 41):
    rel = f"6.1.0-{n}-amd64"
    b = bytearray(data)
    b[ptr:end] = rel.encode().ljust(end - ptr, b"\0")
    open(f"{root}/boot/vmlinuz-{rel}", "wb").write(b)
    with open(f"{root}/boot/initrd.img-{rel}", "wb") as f:
        f.truncate(32 << 20)  # sparse 32 MiB: initrds are stat'ed, never read by list
    os.makedirs(f"{root}/lib/modules/{rel}", exist_ok=True)
open(f"{root}/proc/sys/kernel/osrelease", "w").write("6.1.0-40-amd64\n")
PY
fi
cargo build --release --locked --bin kexec-chooser
BIN="$PWD/target/release/kexec-chooser"
test "$("$BIN" list --json --root "$ROOT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 40
OUT="$CACHE/result.json"
unshare -m --propagation private sh -c "
    mount --bind '$ROOT/boot' /boot &&
    test \"\$(linux-version list | wc -l)\" = 40 &&
    hyperfine -N --warmup 20 --runs 300 --export-json '$OUT' \
        'linux-version list' \
        '$BIN list --root $ROOT' \
        '$BIN list --json --root $ROOT'"
python3 - "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["mean"]
for x in r:
    print(f"{x['command']:60s} mean {x['mean']*1000:7.2f} ms  ratio to linux-version {x['mean']/base:5.3f}")
PY
