#!/usr/bin/env python3
"""QEMU proof of kexec-chooser's native kexec_load path on arm64, run as root.

Debian's arm64 kernels have no kexec_file_load. This boots
`qemu-system-aarch64 -M virt -cpu max -accel tcg` with Debian's arm64 kernel A
and a busybox-static:arm64 initramfs (tests/vm/arm64-init.sh as PID 1); a
virtio ext4 disk mounted on /boot holds kernels A and B with their initrds
and configs, a gzip-compressed copy of B, and a garbage "kernel".
kexec-chooser is cross-built for aarch64-unknown-linux-musl (linked with
rust-lld). The guest, QEMU and the console come from tests/vm/harness.py;
downloads are cached under ${CACHE_DIR:-/var/cache/kexec-chooser-tests}.

Tests: direct (A warm-reboots into B with a marker, through kexec_load),
gzip (the same from the compressed copy, chosen by path), refusals (garbage
kernel, missing initrd, lockdown, kexec_load_disabled: non-zero exit,
message, nothing loaded, guest keeps running). `bench` times kexec-chooser
against Debian's kexec-tools (`kexec -l; kexec -e`).
"""

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ of the harness in the tree
import harness  # noqa: E402
from harness import ARM64, BusyboxGuest, Failure, Suite, boot, log, run  # noqa: E402

# kexec-tools:arm64 and the libraries its binary needs (libxenctrl pulls in
# the Xen tool libraries), for the speed peer.
KEXEC_TOOLS_DEBS = ["kexec-tools", "libc6", "zlib1g", "libxenmisc4.17", "libxencall1",
                    "libxendevicemodel1", "libxenevtchn1", "libxenforeignmemory1",
                    "libxengnttab1", "libxentoollog1", "libxentoolcore1"]
# Generous: everything is emulated instruction by instruction.
BOOT_TIMEOUT = 300


def needed(path):
    out = run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


class Arm64Guest(BusyboxGuest):
    """The arm64 busybox guest, with kexec-tools:arm64 in the initramfs and
    a gzip-compressed copy of B in /boot/alt."""

    arch = ARM64
    init = "arm64-init.sh"

    def add_to_initramfs(self, stage):
        """kexec-tools:arm64 and the closure of its libraries."""
        roots = [harness.unpacked(p, "arm64") for p in KEXEC_TOOLS_DEBS]
        libdirs = [r / d for r in roots for d in ("lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib")]
        harness.install(harness.unpacked("kexec-tools", "arm64") / "sbin/kexec", stage / "sbin/kexec")
        dest = stage / "lib/aarch64-linux-gnu"
        dest.mkdir(parents=True, exist_ok=True)
        todo, seen = needed(stage / "sbin/kexec"), set()
        while todo:
            lib = todo.pop()
            if lib in seen:
                continue
            seen.add(lib)
            src = next((d / lib for d in libdirs if (d / lib).exists()), None)
            if src is None:
                raise Failure(f"kexec-tools:arm64 needs {lib}, found in none of {KEXEC_TOOLS_DEBS}")
            real = Path(os.path.realpath(src))
            shutil.copy2(real, dest / lib)
            todo.extend(needed(real))
        # The interpreter the binary names.
        os.symlink("aarch64-linux-gnu/ld-linux-aarch64.so.1", stage / "lib/ld-linux-aarch64.so.1")

    def add_to_boot(self, boot):
        (boot / "alt").mkdir()
        # Named like B so that its version (and modules directory) is B's.
        with open(boot / "alt" / f"vmlinuz-{self.b.release}", "wb") as out:
            run(["gzip", "-1", "-n", "-c", str(self.b.vmlinuz)], stdout=out)


def test_direct(guest, scenario="direct"):
    """A warm-reboots into B through kexec_load, with the marker on B's command
    line; `gzip` does it from a gzip-compressed Image chosen by path."""
    a, b = guest.a.release, guest.b.release

    def body(c):
        i, m, _ = c.kct(r"booted release=(\S+)", BOOT_TIMEOUT)
        if m.group(1) != a:
            raise Failure(f"first boot ran {m.group(1)}, not {a}")
        if scenario == "direct":
            status_and_plan(c, i)
        i, m, _ = c.kct(r"appending marker=(\w+)", 60, i)
        marker = m.group(1)
        i, _, t0 = c.kct(r"uptime-before", 30, i)
        i, t1 = c.marker_boot(b, marker, BOOT_TIMEOUT, i + 1)
        c.kct(r"done", 60, i)
        c.wait_exit(60)
        if c.count(r"Starting new kernel") != 1:
            raise Failure("the kernel did not report exactly one kexec")
        if not any("with kexec_load" in l for _, l in c.lines):
            raise Failure("kexec-chooser did not say it loaded with kexec_load")
        return t1 - t0

    secs = boot(guest.qemu(scenario), f"arm64-{scenario}", body)
    log(f"{scenario}: {a} -> {b} warm through kexec_load, marker seen "
        f"({secs:.1f} s from the command to the second kernel's first KCT line)")


def status_and_plan(c, i):
    """`status --json` and the `--dry-run --json` plan both say kexec_load."""
    for what in ["status", "plan"]:
        i, m, _ = c.kct(rf"{what} (.*)", 60, i)
        if '"syscall":"kexec_load"' not in m.group(1):
            raise Failure(f"{what} does not say kexec_load: {m.group(1)}")


REFUSALS = {
    "garbage": r"not a kernel|cannot be loaded|unusable|not usable",
    "noinitrd": r"initrd",
    "lockdown": r"locked down \(integrity\).*refuses kexec_load",
    "disabled": r"kexec_load_disabled",
}


def test_refusals(guest):
    def body(c):
        c.kct(r"booted release=", BOOT_TIMEOUT)
        results = c.refusals(REFUSALS, 120)
        _, m, _ = c.kct(r"load-unload rc=(\S+) loaded=(\d) after=(\d) msg=(.*)", 10)
        if (m.group(1), m.group(2), m.group(3)) != ("0/0", "1", "0") or "with kexec_load" not in m.group(4):
            raise Failure(f"load then unload: {m.group(0)}")
        log(f"load then unload through kexec_load: {m.group(4).strip()}")
        return results

    for name, msg in boot(guest.qemu("refusals"), "arm64-refusals", body).items():
        log(f"refusals: {name}: {msg}")


def bench(guest, rounds):
    """Seconds from the command to the second kernel's marker line (host
    clock), and guest seconds from the command to "Starting new kernel"."""
    results = {}
    for name in ["bench-ours", "bench-kexec-tools"]:
        host, guest_s = [], []
        for _ in range(rounds):
            def body(c):
                i, m, t0 = c.kct(r"uptime-before=([\d.]+)", BOOT_TIMEOUT)
                before = float(m.group(1))
                _, m2, _ = c.expect(r"\[\s*([\d.]+)\].*Starting new kernel", 300, i)
                _, _, t1 = c.kct(r"marker=bench", BOOT_TIMEOUT, i)
                c.wait_exit(60)
                return t1 - t0, float(m2.group(1)) - before
            h, g = boot(guest.qemu(name), f"arm64-{name}", body)
            host.append(h)
            guest_s.append(g)
        results[name] = (sorted(host)[len(host) // 2], sorted(guest_s)[len(guest_s) // 2])
        print(f"{name}: command -> marker median {results[name][0]:.1f} s {['%.1f' % t for t in host]}; "
              f"command -> reboot(KEXEC) median {results[name][1]:.2f} s {['%.2f' % t for t in guest_s]}",
              flush=True)
    o, k = results["bench-ours"], results["bench-kexec-tools"]
    print(f"arm64: kexec-chooser {o[0]:.1f} s vs kexec -l && kexec -e {k[0]:.1f} s to the marker "
          f"(ratio {k[0] / o[0]:.2f}); to reboot(KEXEC): {o[1]:.2f} s vs {k[1]:.2f} s "
          f"(ratio {k[1] / o[1]:.2f})", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["refusals", "direct", "gzip"],
                    help="refusals, direct, gzip, bench (default: refusals direct gzip)")
    ap.add_argument("--release", action="store_true", help="build the guest binary with --release")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per tool in bench")
    args = ap.parse_args()
    suite = Suite("arm64", "arm64 vm")
    release = args.release or "bench" in args.tests
    guest = harness.once(lambda: Arm64Guest(suite.work, harness.build_binary(ARM64, "release" if release else "dev")))
    tests = {
        "refusals": lambda: test_refusals(guest()),
        "direct": lambda: test_direct(guest(), "direct"),
        "gzip": lambda: test_direct(guest(), "gzip"),
        "bench": lambda: bench(guest(), args.rounds),
    }
    return suite.run(args.tests, tests)


if __name__ == "__main__":
    sys.exit(main())
