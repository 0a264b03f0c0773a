#!/usr/bin/env python3
"""QEMU proof of kexec-chooser's warm reboot on x86_64, run as root.

Guests (built by tests/vm/harness.py, from Debian's packages, cached under
${CACHE_DIR:-/var/cache/kexec-chooser-tests}):
  * a busybox initramfs guest whose /boot (a virtio ext4 disk) holds two
    Debian kernel releases with their initrds, plus a virtio ext4 data disk;
    PID 1 is tests/vm/init.sh;
  * a Debian systemd guest (bookworm, or --suite trixie) from the shared
    debootstrap root, with tests/vm/kct-test.sh as a oneshot unit.
Tests (scripts/check.d/20-vm.sh runs the first four): refusals, direct,
systemd, reset (the harness's own check that a watchdog reset boots the
guest again and the console reads on). `demo` shows the warm reboot of the
busybox guest live; `bench`, `bench-direct`, `bench-systemd` measure the
speed figures (benches/reboot/run.sh).
"""

import argparse
import hashlib
import os
import re
import shutil
import statistics
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ of the harness in the tree
import harness  # noqa: E402
from harness import LOGS, BusyboxGuest, DebianImage, Failure, Suite, boot, log, run  # noqa: E402


class X86Guest(BusyboxGuest):
    """The x86_64 busybox guest: a data disk (/dev/vdb) besides /boot, the
    i6300esb watchdog's modules (loaded by the scenarios that want them), and
    Debian's kexec-tools when the host has it (the peer of the benchmark)."""

    module_sets = {"load-order": harness.GUEST_MODULES, "watchdog-order": ["i6300esb"]}

    def add_to_initramfs(self, stage):
        if Path("/sbin/kexec").exists():
            copy_with_libs(Path("/sbin/kexec").resolve(), stage)
            (stage / "sbin").mkdir(exist_ok=True)
            if not (stage / "sbin/kexec").exists():
                os.symlink(str(Path("/sbin/kexec").resolve()), stage / "sbin/kexec")

    def extra_disks(self):
        self.data_img = self.work / "data.img"
        harness.mke2fs(self.data_img, 64, None, "data")
        return [self.data_img]


def copy_with_libs(binary, root):
    """Copy a dynamic program and the libraries ldd names into `root`."""
    dest = root / str(binary).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, dest)
    out = run(["ldd", str(binary)], capture_output=True, text=True).stdout
    for lib in re.findall(r"(/\S+) \(0x", out):
        d = root / lib.lstrip("/")
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), d)


# ---------------------------------------------------------------- the busybox guest

def test_direct(guest):
    """Warm reboot from release A into B in direct mode; marker on the next
    command line; the data disk clean and the unsynced file complete."""
    a, b = guest.a.release, guest.b.release

    def body(c):
        i, m, _ = c.kct(r"booted release=(\S+)", 120)
        if m.group(1) != a:
            raise Failure(f"first boot ran {m.group(1)}, not {a}")
        i, m, _ = c.kct(r"file sha256=(\w+)", 60, i)
        sha = m.group(1)
        i, m, _ = c.kct(r"appending marker=(\w+)", 30, i)
        i, _ = c.marker_boot(b, m.group(1), 120, i + 1)
        c.kct(r"done", 30, i)
        c.wait_exit(30)
        if c.count(r"Starting new kernel") != 1:
            raise Failure("the kernel did not report exactly one kexec")
        return sha

    sha = boot(guest.qemu("direct"), "direct", body)
    fsck = run(["e2fsck", "-fn", str(guest.data_img)], capture_output=True, text=True, check=False)
    if fsck.returncode != 0:
        raise Failure(f"e2fsck -fn on the data disk: exit {fsck.returncode}\n{fsck.stdout}{fsck.stderr}")
    head = run(["dumpe2fs", "-h", str(guest.data_img)], capture_output=True, text=True).stdout
    if "needs_recovery" in head or not re.search(r"^Filesystem state:\s+clean$", head, re.M):
        raise Failure("the data disk was not cleanly unmounted:\n" + head)
    data = run(["debugfs", "-R", "cat /file", str(guest.data_img)], capture_output=True).stdout
    if hashlib.sha256(data).hexdigest() != sha or len(data) != 4 << 20:
        raise Failure(f"the file on the data disk is not what was written ({len(data)} bytes)")
    log(f"direct: {a} -> {b} warm, marker seen, data disk clean, file complete")


REFUSALS = {
    "notty": r"no terminal to ask on",
    "garbage": r"not a kernel|cannot be loaded|no kernel|unusable|not usable",
    "noinitrd": r"initrd",
    "disabled": r"kexec_load_disabled",
}


def test_refusals(guest):
    """Each refusal exits non-zero with its message, nothing is loaded and
    the guest keeps running."""
    def body(c):
        c.kct(r"booted release=", 400)
        i, _, _ = c.kct(r"refusal notty", 120)
        # The prompt on a terminal: the plan with the command-line diff, then
        # the question; "n" is a no, Ctrl-C exits 130; neither loads anything.
        i, _, _ = c.kct(r"prompt no", 60, i)
        i, _, _ = c.expect(r"\+ kct\.extra=1", 60, i)
        c.expect(r"hand-over: direct", 10, i)
        c.expect(r"Warm-reboot into \S+ now\?", 30, i, partial=True)
        c.send(b"n")
        i, m, _ = c.kct(r"refusal answered-no rc=(\d+) loaded=(\d)", 60, i)
        if (m.group(1), m.group(2)) != ("1", "0"):
            raise Failure(f"answering n: rc={m.group(1)} loaded={m.group(2)}")
        if not any("not confirmed" in l for _, l in c.lines):
            raise Failure("answering n did not say 'not confirmed'")
        i, _, _ = c.kct(r"prompt ctrl-c", 60, i)
        c.expect(r"Warm-reboot into \S+ now\?", 60, i, partial=True)
        c.send(b"\x03")
        i, m, _ = c.kct(r"refusal ctrl-c rc=(\d+) loaded=(\d)", 60, i)
        if (m.group(1), m.group(2)) != ("130", "0"):
            raise Failure(f"Ctrl-C at the prompt: rc={m.group(1)} loaded={m.group(2)}, wanted 130 and 0")
        return c.refusals(REFUSALS, 60)

    for name, msg in boot(guest.qemu("refusals"), "refusals", body).items():
        log(f"refusals: {name}: {msg}")


def test_reset(guest):
    """The harness itself: a q35 guest with an i6300esb watchdog, started
    without -no-reboot, arms the watchdog and stops feeding it; the reset
    boots the same kernel and command line again, and the console, read on
    across the reset, shows the second boot with the watchdog's boot status
    saying it was a watchdog reset."""
    q = guest.qemu("reset", reboot=True, machine="q35", devices=["i6300esb"],
                   args=["-action", "watchdog=reset", "-global", "ICH9-LPC.noreboot=off"])

    def body(c):
        i = c.kernel_start(1, 60)
        i, m, _ = c.kct(r"watchdog bootstatus=(\d+)", 120, i)
        if m.group(1) != "0":
            raise Failure(f"first boot: watchdog boot status {m.group(1)}, wanted 0")
        i, _, t0 = c.kct(r"watchdog armed", 30, i)
        j = c.kernel_start(2, 120)
        if c.count(r"Starting new kernel") != 0:
            raise Failure("the second boot came from a kexec, not a reset")
        i, m, t1 = c.kct(r"booted release=(\S+)", 120, j)
        if m.group(1) != guest.a.release:
            raise Failure(f"after the reset {m.group(1)} runs, not {guest.a.release}")
        i, m, _ = c.kct(r"watchdog bootstatus=(\d+)", 60, i)
        if int(m.group(1)) & 32 == 0:
            raise Failure(f"second boot: watchdog boot status {m.group(1)}, wanted WDIOF_CARDRESET (32)")
        c.kct(r"done", 30, i)
        c.wait_exit(30)
        return t1 - t0

    secs = boot(q, "reset", body)
    log(f"reset: armed, reset by the watchdog, {guest.a.release} booted again ({secs:.1f} s)")


def demo(guest):
    a, b = guest.a.release, guest.b.release
    print(f"\n=== booting {a}; /boot also holds {b}; the guest will run\n"
          f"===   kexec-chooser reboot {b} --mode direct --yes --append kct.marker=demo\n"
          f"=== and warm-reboot into {b}. Serial console:\n", flush=True)

    def body(c):
        i, _, _ = c.kct(rf"booted release={re.escape(a)}", 180)
        i, _, _ = c.kct(rf"booted release={re.escape(b)}", 180, i + 1)
        c.kct(r"marker=demo", 30, i)
        c.wait_exit(60)

    boot(guest.qemu("demo"), "demo", body, echo=True)
    print(f"\n=== {a} warm-rebooted into {b} without the firmware.", flush=True)


# ------------------------------------------------------- the systemd guest

def debian_image(work, artifact, suite):
    """The systemd guest with kexec-chooser installed and kct-test.sh as its
    test unit; booted in the newest of its releases, which is what `latest`
    picks."""
    image = DebianImage(work, suite, hostname="kct")
    image.install_kexec_chooser(artifact)
    image.add_test("kct-test.sh")
    image.image()
    return image, image.releases()[-1]


def test_systemd(work, artifact, suite="bookworm"):
    """`kexec-chooser --yes latest --append MARKER` from a oneshot unit under
    systemd; the next boot shows the marker, the release, no journal recovery
    and the file written before."""
    image, release = debian_image(work, artifact, suite)

    def body(c):
        i, m, _ = c.kct(r"booted release=(\S+)", 400)
        i, m, _ = c.kct(r"file sha256=(\w+)", 30, i)
        sha = m.group(1)
        i, m, t0 = c.kct(r"appending marker=(\w+)", 30, i)
        i, t1 = c.marker_boot(release, m.group(1), 400, i + 1)
        if c.count(r"Starting new kernel") != 1:
            raise Failure("no kexec: the guest rebooted some other way")
        i, m, _ = c.kct(r"recovery=(\w+)", 30, i)
        if m.group(1) != "no":
            raise Failure("the root filesystem needed journal recovery after the warm reboot")
        i, m, _ = c.kct(r"file sha256=(\w+)", 30, i)
        if m.group(1) != sha:
            raise Failure("the file written before the warm reboot is not the same after it")
        c.kct(r"done", 30, i)
        c.wait_exit(120)
        return t1 - t0

    secs = boot(image.qemu(release, "kct.test=systemd"), "systemd", body)
    log(f"systemd ({suite}): warm reboot into {release} with marker, no journal recovery, "
        f"file intact ({secs:.1f} s)")
    return secs


def test_cold(work, artifact, suite="bookworm"):
    """The peer of the speed figure: `systemctl reboot` through the firmware."""
    image, release = debian_image(work, artifact, suite)

    def body(c):
        i, _, _ = c.kct(r"booted release=", 400)
        i, _, t0 = c.kct(r"cold reboot now", 60, i)
        i, _, t1 = c.kct(r"cold-booted", 400, i + 1)
        c.kct(r"done", 30, i)
        c.wait_exit(120)
        return t1 - t0

    return boot(image.qemu(release, "kct.test=cold", reboot=True), "cold", body)


# ---------------------------------------------------------------- speed

def bench_systemd(work, artifact, rounds=2):
    """Warm (`kexec-chooser --yes latest`) and cold (`systemctl reboot`)
    alternately; host seconds from the command to the next boot's marker,
    and the guest's own part: old kernel from the command to the reboot
    syscall (printk clock), new kernel from 0 to the marker (its uptime)."""
    warm, cold = [], []
    for _ in range(rounds):
        warm.append(test_systemd(work, artifact))
        cold.append(test_cold(work, artifact))
    med = statistics.median
    print(f"systemd guest: command -> next boot's marker (host s): kexec-chooser --yes latest "
          f"median {med(warm):.1f} of {['%.1f' % t for t in warm]}, systemctl reboot median {med(cold):.1f} "
          f"of {['%.1f' % t for t in cold]} (cold/warm {med(cold) / med(warm):.2f})", flush=True)
    for name in ["systemd", "cold"]:
        text = (LOGS / f"{name}.serial.log").read_text()
        ups = re.findall(r"KCT: booted release=\S+ uptime=([\d.]+)", text)
        end = re.search(r"\[\s*([\d.]+)\].*(Starting new kernel|reboot: Restarting system)", text)
        if len(ups) >= 2 and end:
            print(f"  {name} (last round, guest clocks): next boot reached the marker at uptime {ups[1]} s; "
                  f"old kernel ended at {end.group(1)} s", flush=True)


def uptime_to_kexec(c):
    """Seconds from the guest's uptime before the command to the kernel's
    "Starting new kernel" (its printk timestamp)."""
    _, m, _ = c.kct(r"uptime-before=([\d.]+)", 120)
    before = float(m.group(1))
    _, m, _ = c.expect(r"\[\s*([\d.]+)\].*Starting new kernel", 120)
    return float(m.group(1)) - before


def bench_direct(guest, rounds=3):
    """Guest seconds from the command to reboot(KEXEC): kexec-chooser in
    direct mode against `kexec -s -l ... && kexec -e`, same kernel and initrd.
    The two alternate, round after round, so that a host whose load changes
    during the benchmark slows both alike; each round's ratio is printed."""
    names = ["bench-ours", "bench-kexec-tools"]
    times = {n: [] for n in names}
    for r in range(rounds):
        for name in names:
            def body(c):
                t = uptime_to_kexec(c)
                c.kct(r"marker=bench", 120)
                c.wait_exit(60)
                return t
            times[name].append(boot(guest.qemu(name), name, body))
        ours, peer = (times[n][-1] for n in names)
        print(f"round {r + 1}: kexec-chooser {ours:.2f} s, kexec-tools {peer:.2f} s "
              f"(ratio {peer / ours:.2f})", flush=True)
    med = {n: statistics.median(times[n]) for n in names}
    ratios = [p / o for o, p in zip(times["bench-ours"], times["bench-kexec-tools"])]
    for n in names:
        print(f"{n}: median {med[n]:.2f} s of {['%.2f' % t for t in times[n]]} "
              f"(guest seconds from the command to reboot(KEXEC))", flush=True)
    print(f"direct: kexec-chooser {med['bench-ours']:.2f} s vs kexec -s -l && kexec -e "
          f"{med['bench-kexec-tools']:.2f} s (ratio of medians "
          f"{med['bench-kexec-tools'] / med['bench-ours']:.2f}, median of the rounds' ratios "
          f"{statistics.median(ratios):.2f})", flush=True)


# ---------------------------------------------------------------- entry

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["refusals", "direct", "systemd", "reset"],
                    help="refusals, direct, systemd, reset, demo, bench, bench-direct, bench-systemd "
                    "(default: refusals direct systemd reset)")
    ap.add_argument("--artifact", help="binary or .deb to install in the systemd guest "
                    "(default: the static build; KC_DEB may name a .deb)")
    ap.add_argument("--suite", default="bookworm", choices=harness.SUITES,
                    help="Debian suite of the systemd guest (default: bookworm)")
    ap.add_argument("--release", action="store_true", help="build the guest binary with --release")
    args = ap.parse_args()
    suite = Suite("vmtest", "vm")
    release = args.release or any(t.startswith("bench") for t in args.tests)
    binary = harness.once(lambda: harness.build_binary(harness.AMD64, "release" if release else "dev"))
    guest = harness.once(lambda: X86Guest(suite.work, binary()))

    def artifact():
        return args.artifact or os.environ.get("KC_DEB") or binary()

    tests = {
        "refusals": lambda: test_refusals(guest()),
        "direct": lambda: test_direct(guest()),
        "systemd": lambda: test_systemd(suite.work, artifact(), args.suite),
        "reset": lambda: test_reset(guest()),
        "demo": lambda: demo(guest()),
        "bench": lambda: (bench_direct(guest(), 3), bench_systemd(suite.work, artifact(), rounds=1)),
        "bench-direct": lambda: bench_direct(guest(), rounds=7),
        "bench-systemd": lambda: bench_systemd(suite.work, artifact()),
    }
    return suite.run(args.tests, tests)


if __name__ == "__main__":
    sys.exit(main())
