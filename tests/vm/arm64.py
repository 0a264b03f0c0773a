#!/usr/bin/env python3
"""QEMU proof of kexec-chooser's native kexec_load path on arm64 (issue 10),
run as root.

Debian's arm64 kernels have no kexec_file_load. This boots
`qemu-system-aarch64 -M virt -cpu max -accel tcg` with Debian's arm64 kernel A
and a busybox-static:arm64 initramfs (tests/vm/arm64-init.sh as PID 1); a
virtio ext4 disk mounted on /boot holds kernels A and B with their initrds
and configs, and a garbage "kernel". kexec-chooser is cross-built for
aarch64-unknown-linux-musl (linked with rust-lld).

Tests: direct (A warm-reboots into B with a marker, through kexec_load),
refusals (garbage kernel, missing initrd, lockdown, kexec_load_disabled: non-zero
exit, message, nothing loaded, guest keeps running). `bench` times
kexec-chooser against Debian's kexec-tools (`kexec -l; kexec -e`).
Downloads and images are cached under ${CACHE_DIR:-/var/cache/kexec-chooser-tests}/arm64.
The console machinery is the x86_64 harness's (tests/vm/vmtest.py).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# No __pycache__ of the imported harness in the source tree.
sys.dont_write_bytecode = True
import vmtest  # noqa: E402
from vmtest import Failure, kct, log, mke2fs, dir_mb, pack_cpio, run, with_console  # noqa: E402

REPO = vmtest.REPO
HERE = vmtest.HERE
CACHE = Path(os.environ.get("CACHE_DIR", "/var/cache/kexec-chooser-tests")) / "arm64"
TARGET = "aarch64-unknown-linux-musl"
GUEST_MODULES = vmtest.GUEST_MODULES
GARBAGE = vmtest.GARBAGE
# kexec-tools:arm64 and the libraries its binary needs (libxenctrl pulls in
# the Xen tool libraries), for the speed peer.
KEXEC_TOOLS_DEBS = ["kexec-tools", "libc6", "zlib1g", "libxenmisc4.17", "libxencall1",
                    "libxendevicemodel1", "libxenevtchn1", "libxenforeignmemory1",
                    "libxengnttab1", "libxentoollog1", "libxentoolcore1"]
# Generous: everything is emulated instruction by instruction.
BOOT_TIMEOUT = 300

# vmtest's helpers cache under their own CACHE; point them at ours.
vmtest.CACHE = CACHE
vmtest.LOGS = CACHE / "logs"


def kernel_packages():
    """Two Debian arm64 kernel releases (different ABI numbers, so different
    `uname -r`): the two newest linux-image-6.1.0-NN-arm64 the archive has."""
    out = run(["apt-cache", "search", r"linux-image-6\.1\.0-.*-arm64"],
              capture_output=True, text=True, check=False).stdout
    names = sorted({l.split()[0] for l in out.splitlines()
                    if re.fullmatch(r"linux-image-6\.1\.0-\d+-arm64", l.split(" ")[0])},
                   key=lambda n: int(re.search(r"-(\d+)-arm64", n).group(1)))
    if len(names) < 2:
        cached = sorted({p.name.split("_")[0] for p in (CACHE / "debs").glob("linux-image-6.1.0-*-arm64_*.deb")},
                        key=lambda n: int(re.search(r"-(\d+)-arm64", n).group(1)))
        if len(cached) >= 2:
            return cached[-2:]
        raise Failure("apt-cache knows fewer than two linux-image-6.1.0-NN-arm64: "
                      "run scripts/setup.d/25-arm64.sh (dpkg --add-architecture arm64; apt-get update)")
    return names[-2:]


def download(pkg):
    """The .deb of an arm64 package, downloaded once into the cache."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{pkg}_*_arm64.deb"))
    if not found:
        log(f"downloading {pkg}:arm64")
        run(["apt-get", "download", "-q", f"{pkg}:arm64"], cwd=debs, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        found = sorted(debs.glob(f"{pkg}_*_arm64.deb"))
    if not found:
        raise Failure(f"apt-get download {pkg}:arm64 gave no .deb")
    return found[-1]


def unpacked(pkg):
    dest = CACHE / "pkgs" / pkg
    if not (dest / ".done").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(download(pkg)), str(dest)])
        (dest / ".done").touch()
    return dest


def fetch_kernel(pkg):
    dest = unpacked(pkg)
    release = next((dest / "lib/modules").iterdir()).name
    return release, dest


def build_binary(profile="dev"):
    """The guest binary: KC_ARM64_BIN if given, else a musl cross-build."""
    if os.environ.get("KC_ARM64_BIN"):
        return Path(os.environ["KC_ARM64_BIN"])
    argv = ["cargo", "build", "--quiet", "--locked", "--target", TARGET, "--bin", "kexec-chooser",
            "--config", f'target.{TARGET}.linker="rust-lld"']
    if profile == "release":
        argv.append("--release")
    log(f"cross-building kexec-chooser for {TARGET} ({profile})")
    # ring (rustls) has C and assembly: Debian's aarch64 cross gcc builds it
    # (freestanding code, so the glibc-targeted compiler serves musl too).
    env = dict(os.environ)
    env.setdefault("CC_aarch64_unknown_linux_musl", "aarch64-linux-gnu-gcc")
    env.setdefault("AR_aarch64_unknown_linux_musl", "aarch64-linux-gnu-ar")
    run(argv, cwd=REPO, env=env)
    return REPO / "target" / TARGET / ("release" if profile == "release" else "debug") / "kexec-chooser"


def needed(path):
    out = run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def install_kexec_tools(stage):
    """kexec-tools:arm64 and the closure of its libraries into the initramfs."""
    roots = [unpacked(p) for p in KEXEC_TOOLS_DEBS]
    libdirs = [r / d for r in roots for d in ("lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib")]
    (stage / "sbin").mkdir(exist_ok=True)
    shutil.copy2(unpacked("kexec-tools") / "sbin/kexec", stage / "sbin/kexec")
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


class Arm64Guest:
    """The initramfs guest: kernels A (booted first) and B (the target)."""

    def __init__(self, work, binary):
        self.work = work
        pkgs = kernel_packages()
        (self.a, self.a_root), (self.b, self.b_root) = [fetch_kernel(p) for p in pkgs]
        if self.a == self.b:
            raise Failure(f"the two kernels have the same release {self.a}")
        stage = work / "initramfs"
        shutil.rmtree(stage, ignore_errors=True)
        (stage / "bin").mkdir(parents=True)
        shutil.copy2(unpacked("busybox-static") / "bin/busybox", stage / "bin/busybox")
        shutil.copy2(HERE / "arm64-init.sh", stage / "init")
        os.chmod(stage / "init", 0o755)
        (stage / "usr/sbin").mkdir(parents=True)
        shutil.copy2(binary, stage / "usr/sbin/kexec-chooser")
        run(["llvm-strip" if shutil.which("llvm-strip") else "true", str(stage / "usr/sbin/kexec-chooser")],
            check=False)
        install_kexec_tools(stage)
        kernels = [(self.a, self.a_root), (self.b, self.b_root)]
        vmtest.stage_modules(stage, kernels, GUEST_MODULES)
        (stage / "lib/modules" / GARBAGE).mkdir(parents=True)
        self.initrd = work / "initramfs.cpio.gz"
        pack_cpio(stage, self.initrd)

        boot = vmtest.boot_dir(work, kernels, self.initrd)
        (boot / "alt").mkdir()
        # Named like B so that its version (and modules directory) is B's.
        with open(boot / "alt" / f"vmlinuz-{self.b}", "wb") as out:
            run(["gzip", "-1", "-n", "-c", str(boot / f"vmlinuz-{self.b}")], stdout=out)
        (boot / f"vmlinuz-{GARBAGE}").write_bytes(os.urandom(1 << 20))
        (boot / f"initrd.img-{GARBAGE}").write_bytes(b"not an initrd")
        self.kernel = self.a_root / "boot" / f"vmlinuz-{self.a}"
        self.boot_img = work / "boot.img"
        mke2fs(self.boot_img, dir_mb(boot) + 64, boot, "boot")

    def qemu(self, test):
        append = (f"console=ttyAMA0 root=/dev/vda panic=-1 kct.test={test} kct.target={self.b}")
        return ["qemu-system-aarch64", "-M", "virt", "-cpu", "max,pauth-impdef=on", "-accel", "tcg",
                "-m", "1024", "-smp", "1", "-nodefaults", "-display", "none", "-serial", "stdio",
                "-monitor", "none", "-kernel", str(self.kernel), "-initrd", str(self.initrd),
                "-append", append, "-drive", f"file={self.boot_img},if=virtio,format=raw", "-no-reboot"]


def test_direct(guest, scenario="direct"):
    """A warm-reboots into B through kexec_load, with the marker on B's command
    line; `gzip` does it from a gzip-compressed Image chosen by path."""
    def body(c):
        i, m, _ = kct(c, r"booted release=(\S+)", BOOT_TIMEOUT)
        if m.group(1) != guest.a:
            raise Failure(f"first boot ran {m.group(1)}, not {guest.a}")
        if scenario == "direct":
            status_and_plan(c, i)
        i, m, _ = kct(c, r"appending marker=(\w+)", 60, i)
        marker = m.group(1)
        i, m, t0 = kct(c, r"uptime-before", 30, i)
        i, m, t1 = kct(c, r"booted release=(\S+)", BOOT_TIMEOUT, i + 1)
        if m.group(1) != guest.b:
            raise Failure(f"after the warm reboot {m.group(1)} runs, not {guest.b}")
        i, m, _ = kct(c, r"cmdline=(.*)", 10, i)
        if f"kct.marker={marker}" not in m.group(1).split():
            raise Failure(f"marker {marker} not in the next command line: {m.group(1)}")
        kct(c, r"done", 60, i)
        c.wait_exit(60)
        if c.count(r"Starting new kernel") != 1:
            raise Failure("the kernel did not report exactly one kexec")
        if not any("with kexec_load" in l for _, l in c.lines):
            raise Failure("kexec-chooser did not say it loaded with kexec_load")
        return t1 - t0

    secs = with_console(guest.qemu(scenario), f"arm64-{scenario}", body)
    log(f"arm64 {scenario}: {guest.a} -> {guest.b} warm through kexec_load, marker seen "
        f"({secs:.1f} s from the command to the second kernel's first KCT line)")


def status_and_plan(c, i):
    """`status --json` and the `--dry-run --json` plan both say kexec_load."""
    for what in ["status", "plan"]:
        i, m, _ = kct(c, rf"{what} (.*)", 60, i)
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
        kct(c, r"booted release=", BOOT_TIMEOUT)
        after, results = 0, {}
        for name, want in REFUSALS.items():
            i, m, _ = kct(c, rf"refusal {name} rc=(\d+) loaded=(\d) msg=(.*)", 120, after)
            after = i + 1
            rc, loaded, msg = int(m.group(1)), m.group(2), m.group(3)
            if rc == 0 or loaded != "0" or not re.search(want, msg):
                raise Failure(f"refusal {name}: rc={rc} loaded={loaded} msg={msg!r} (wanted /{want}/)")
            results[name] = msg.strip()
        i, m, _ = kct(c, r"load-unload rc=(\S+) loaded=(\d) after=(\d) msg=(.*)", 120)
        if (m.group(1), m.group(2), m.group(3)) != ("0/0", "1", "0") or "with kexec_load" not in m.group(4):
            raise Failure(f"load then unload: {m.group(0)}")
        log(f"arm64: load then unload through kexec_load: {m.group(4).strip()}")
        kct(c, r"alive after refusals", 30, after)
        kct(c, r"done", 30, after)
        c.wait_exit(60)
        if c.count(r"booted release=") != 1:
            raise Failure("the guest rebooted during the refusals")
        return results

    for name, msg in with_console(guest.qemu("refusals"), "arm64-refusals", body).items():
        log(f"arm64 refusals: {name}: {msg}")


def bench(guest, rounds):
    """Seconds from the command to the second kernel's marker line (host
    clock), and guest seconds from the command to "Starting new kernel"."""
    results = {}
    for name in ["bench-ours", "bench-kexec-tools"]:
        host, guest_s = [], []
        for _ in range(rounds):
            def body(c):
                i, m, t0 = kct(c, r"uptime-before=([\d.]+)", BOOT_TIMEOUT)
                before = float(m.group(1))
                _, m2, _ = c.expect(r"\[\s*([\d.]+)\].*Starting new kernel", 300, i)
                _, _, t1 = kct(c, r"marker=bench", BOOT_TIMEOUT, i)
                c.wait_exit(60)
                return t1 - t0, float(m2.group(1)) - before
            h, g = with_console(guest.qemu(name), f"arm64-{name}", body)
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
    if os.geteuid() != 0:
        print("arm64: run as root", file=sys.stderr)
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=CACHE))
    failed = []
    try:
        binary = build_binary("release" if args.release or "bench" in args.tests else "dev")
        guest = Arm64Guest(work, binary)
        for t in args.tests:
            started = time.monotonic()
            try:
                if t in ("direct", "gzip"):
                    test_direct(guest, t)
                elif t == "refusals":
                    test_refusals(guest)
                elif t == "bench":
                    bench(guest, args.rounds)
                else:
                    raise Failure(f"no test {t}")
                log(f"PASS arm64 {t} ({time.monotonic() - started:.0f} s)")
            except (Failure, subprocess.CalledProcessError, OSError) as e:
                log(f"FAIL arm64 {t}: {e}")
                failed.append(t)
    except (Failure, subprocess.CalledProcessError, OSError) as e:
        log(f"FAIL arm64 setup: {e}")
        failed.append("setup")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"arm64 vm: {len(args.tests) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
