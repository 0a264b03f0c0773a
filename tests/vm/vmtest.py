#!/usr/bin/env python3
"""QEMU proof of kexec-chooser's warm reboot on x86_64, run as root.

Guests (built by tests/vm/harness.py, from Debian's packages, cached under
${CACHE_DIR:-/var/cache/kexec-chooser-tests}):
  * a busybox initramfs guest whose /boot (a virtio ext4 disk) holds two
    Debian kernel releases with their initrds, plus a virtio ext4 data disk;
    PID 1 is tests/vm/init.sh;
  * a Debian systemd guest (bookworm, or --suite trixie) from the shared
    debootstrap root, with tests/vm/kct-test.sh as a oneshot unit.
Tests (scripts/check.d/20-vm.sh runs the first four, and assess with
--suite trixie): refusals, direct, systemd, reset (the harness's own check
that a watchdog reset boots the guest again and the console reads on),
assess (systemd's boot assessment gates confirm: a confirmed warm boot,
then one whose boot check fails, in one run of the systemd guest with
tests/vm/assess-test.sh as its unit). `demo` shows the warm reboot of the
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
import safety  # noqa: E402
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


def test_assess(work, artifact, suite="trixie"):
    """systemd's boot assessment gates the confirmation (assess-test.sh), in
    one run of a guest with no hardware watchdog (the software net), A its
    generic release and B its cloud one: A warm-reboots into B, which is
    confirmed; B sets a boot check (RequiredBy=boot-complete.target) to fail
    once and warm-reboots into A; in that boot boot-complete.target fails,
    so kexec-chooser-confirm.service fails as a dependency, its OnFailure=
    unit says check-failed and reboots through the firmware; A, cold, has no
    record pending and status says check-failed. Run on Debian 13 (systemd
    257) by 20-vm.sh; fallback.py proves the same on Debian 12 (252)."""
    image = DebianImage(work, suite, hostname="kct")
    generic = [r for r in image.releases() if "-cloud-" not in r]
    cloud = [r for r in image.releases() if "-cloud-" in r]
    if not generic or not cloud:
        raise Failure(f"the {suite} root has no generic and cloud release: {image.releases()}")
    a, b = generic[-1], cloud[-1]
    image.install_kexec_chooser(artifact)
    image.add_test("assess-test.sh", after="kexec-chooser-confirm.service multi-user.target",
                   target="graphical.target")
    image.add_failing_check()
    image.write("var/lib/kct/env", f"A={a}\nB={b}\n")
    image.write("var/lib/kct/phase", "start\n")
    image.image()

    def boot_in(c, n, release, phase):
        """The n-th kernel's boot: its test unit names RELEASE and PHASE."""
        j = c.kernel_start(n, 600)
        i, m, _ = c.kct(r"booted release=(\S+) phase=(\S+)", 400, j)
        if (m.group(1), m.group(2)) != (release, phase):
            raise Failure(f"boot {n}: {m.group(1)} in phase {m.group(2)}, wanted {release} in {phase}")
        return i

    def body(c):
        i = boot_in(c, 1, a, "start")
        _, m, _ = c.kct(r"systemd=(\d*)", 30, i)
        version = m.group(1)
        i, m, _ = c.kct(r"file sha256=(\w+)", 60, i)
        sha = m.group(1)
        i, _, _ = c.kct(rf"warm reboot into {re.escape(b)}$", 60, i)
        # B, warm and healthy: confirmed under the software net.
        i = boot_in(c, 2, b, "healthy")
        i, w, _, _ = safety.confirm_unit(c, i, "0")
        safety.expect_record(w, "confirmed", b, a, "software")
        i, m, _ = c.kct(r"file sha256=(\w+)", 60, i)
        if m.group(1) != sha:
            raise Failure("the file written before the warm reboot is not the same after it")
        i, _, _ = c.kct(rf"warm reboot into {re.escape(a)}$", 60, i)
        # A, warm: the check fails, and kexec-chooser reboots through the
        # firmware (this boot's test unit may be cancelled by the reboot).
        j = c.kernel_start(3, 600)
        m = re.search(r"Linux version (\S+)", c.lines[j][1])
        if not m or m.group(1) != a:
            raise Failure(f"the warm reboot into {a} started {c.lines[j][1]!r}")
        j, m, _ = c.expect(r"^KCT: (boot check fails|confirm-unit .*)", 400, j)
        if m.group(1) != "boot check fails":
            _, w = safety.status_of(c, j)
            raise Failure(f"the boot check did not gate confirm in {a}'s warm boot: {m.group(1)}; "
                          f"status says {(w or {}).get('result')}")
        k, _, _ = c.expect(r"CHECK FAILED.*boot-complete\.target", 300, j)
        _, m, _ = c.expect(rf"{safety.REBOOT_LINE}|KCT: checkfail: this boot went on", 300, k)
        if "went on" in m.group(0) or "Starting new kernel" in m.group(0):
            raise Failure(f"the warm boot whose check failed was not rebooted through the firmware: {m.group(0)}")
        # A, cold: nothing pending, the record says check-failed.
        i = boot_in(c, 4, a, "checkfail")
        i, w, _, _ = safety.confirm_unit(c, i, None)
        safety.expect_record(w, "check-failed", a, b, "software")
        c.kct(r"done", 60, i)
        c.wait_exit(120)
        if c.count(r"Starting new kernel") != 2:
            raise Failure(f"{c.count(r'Starting new kernel')} kexecs, wanted the two warm reboots")
        return version, c.lines[k][1]

    version, line = boot(image.qemu(a, reboot=True), f"assess-{suite}", body)
    log(f"assess ({suite}, systemd {version}): {b} confirmed under the software net; the failed boot check "
        f"in {a}'s warm boot made it check-failed and a firmware reboot: {line.strip()}")


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
                    help="refusals, direct, systemd, reset, assess, demo, bench, bench-direct, bench-systemd "
                    "(default: refusals direct systemd reset)")
    ap.add_argument("--artifact", help="binary or .deb to install in the systemd guest "
                    "(default: the static build; KC_DEB may name a .deb)")
    ap.add_argument("--suite", default="bookworm", choices=harness.SUITES,
                    help="Debian suite of the systemd and assess guests (default: bookworm)")
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
        "assess": lambda: test_assess(suite.work, artifact(), args.suite),
        "reset": lambda: test_reset(guest()),
        "demo": lambda: demo(guest()),
        "bench": lambda: (bench_direct(guest(), 3), bench_systemd(suite.work, artifact(), rounds=1)),
        "bench-direct": lambda: bench_direct(guest(), rounds=7),
        "bench-systemd": lambda: bench_systemd(suite.work, artifact()),
    }
    return suite.run(args.tests, tests)


if __name__ == "__main__":
    sys.exit(main())
