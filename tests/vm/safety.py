#!/usr/bin/env python3
"""QEMU proof of the safety net under a warm reboot (x86_64, run as root).

Each guest runs with `-device i6300esb -action watchdog=reset` and without
-no-reboot: a watchdog reset boots the same -kernel/-append again, as
firmware would boot the boot loader's default (release A). The console is
read across every kexec and reset (tests/vm/harness.py).

  * direct: the busybox guest (PID 1 tests/vm/safety-init.sh), direct mode.
    A arms the watchdog and warm-reboots into B, which confirms from its
    init and stays up past the timeout; B warm-reboots into B again with an
    init that hangs before confirming; the watchdog resets the guest, A
    comes back and its confirm reports the fall-back, recorded in status.
  * systemd: the Debian 12 guest with the project's .deb (and so
    kexec-chooser-confirm.service), a second generic kernel release B and
    tests/vm/safety-test.sh as a unit after the confirm unit. A runs
    `kexec-chooser --yes B --watchdog 120`; B confirms and stays up 150 s;
    B warm-reboots into B with root=/dev/nonexistent, whose initramfs gives
    up; the watchdog resets, A comes back, confirm says fell-back naming B,
    status says so, and a file written and synced before is intact.

Each prints what arming and the record took (kexec-chooser's own line in
the hand-over log) and what confirm took (guest clock).
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ of the harness in the tree
import harness  # noqa: E402
from harness import BusyboxGuest, DebianImage, Failure, Suite, boot, log  # noqa: E402

# The watchdog of every guest here, and what its expiry does. -icount ties
# the guest's clocks, and so the watchdog's countdown, to the instructions
# the guest runs (one a nanosecond; idle time passes as on the host): a
# host loaded by other work slows the guest without eating its timeout (in
# host time, on a loaded host, the Debian guest was still in the new
# kernel's initramfs when 120 s after arming ran out).
WATCHDOG = dict(reboot=True, devices=["i6300esb"], args=["-action", "watchdog=reset", "-icount", "shift=0"])
# kexec-chooser's line in the hand-over log: arming and the pending record.
SAFETY_NET = r"safety net set in ([\d.]+) ?ms"
# The kernel's timestamp of a guest-lib.sh `stamp` line.
STAMP = r"\[\s*([\d.]+)\] kct-stamp {}"
# A reboot through the kernel, which a watchdog reset does not print.
REBOOT_LINE = r"reboot: (Restarting system|Power down)|Starting new kernel"


def status_of(c, after, timeout=60):
    """The last_warm_reboot of the guest's `status --json` (status_report)."""
    i, m, _ = c.kct(r"status (.*)", timeout, after)
    try:
        return i, json.loads(m.group(1))["last_warm_reboot"]
    except (ValueError, KeyError, TypeError) as e:
        raise Failure(f"status --json gave no last_warm_reboot ({e}): {m.group(1)[:300]}") from None


def expect_record(w, result, target, origin, kind="hardware", timeout=None):
    """status --json's last_warm_reboot: RESULT of the warm reboot ORIGIN ->
    TARGET, guarded by a watchdog of KIND (a hardware one on a
    /dev/watchdog* device) and TIMEOUT, when given."""
    if not w:
        raise Failure(f"status --json: no last_warm_reboot, wanted {result}")
    got = (w.get("result"), w.get("target"), w.get("from"))
    if got != (result, target, origin):
        raise Failure(f"status --json: result/target/from {got}, wanted {(result, target, origin)}")
    wd = w.get("watchdog") or {}
    device_ok = kind != "hardware" or str(wd.get("device", "")).startswith("/dev/watchdog")
    if wd.get("kind") != kind or not device_ok or (timeout is not None and wd.get("timeout") != timeout):
        want = f"kind {kind}" + (f", timeout {timeout}" if timeout is not None else "")
        raise Failure(f"status --json: watchdog {w.get('watchdog')}, wanted {want}")


def boot_of(c, n, release, timeout):
    """The n-th kernel start runs RELEASE and reports; the index of its report."""
    j = c.kernel_start(n, timeout)
    i, m, t = c.kct(r"booted release=(\S+)", 400, j)
    later = [k for k in range(j + 1, i) if re.search(harness.BANNER, c.lines[k][1])]
    if later:
        raise Failure(f"kernel start {n} ({release}) never reported: another kernel started "
                      f"{c.lines[later[0]][0] - c.lines[j][0]:.0f} s after it (a reset?)")
    if m.group(1) != release:
        raise Failure(f"kernel start {n} runs {m.group(1)}, not {release}")
    return i


def armed_handover(c, after, timeout=300):
    """kexec-chooser's safety-net line, then the kexec; (index of the
    kexec's line, ms, host time of the safety-net line)."""
    i, m, t = c.expect(SAFETY_NET, timeout, after)
    i, _, _ = c.expect(r"Starting new kernel", 300, i)
    return i, float(m.group(1)), t


def since(c, t0, *indices):
    """Host seconds from t0 to each console line, for the timing lines."""
    return " / ".join(f"{c.lines[i][0] - t0:.0f}" for i in indices)


def watchdog_reset(c, n, armed_at, timeout):
    """Kernel start n came from a reset, not a reboot or kexec, no sooner
    than the watchdog's timeout after arming; its banner index and the
    host seconds since arming."""
    prev = c.kernel_start(n - 1, 60)
    j = c.kernel_start(n, timeout + 600)
    between = [l for _, l in c.lines[prev:j] if re.search(REBOOT_LINE, l)]
    if between:
        raise Failure(f"kernel start {n} followed a reboot, not a reset: {between[0]}")
    secs = c.lines[j][0] - armed_at
    if secs < timeout - 5:
        raise Failure(f"reset {secs:.0f} s after arming, before the {timeout} s timeout")
    return j, secs


def stayed_up(c, after, until):
    """Between the guest's "staying up" line and pattern `until`, the same
    boot id throughout and no kernel start."""
    i, m, _ = c.kct(r"staying up \d+ s boot_id=(\S+)", 400, after)
    boot_id = m.group(1)
    j, _, _ = c.expect(until, 600, i)
    for _, l in c.lines[i:j]:
        if re.search(harness.BANNER, l):
            raise Failure(f"a kernel started while the guest should have stayed up: {l}")
        m = re.search(r"^KCT: up \d+ s .*boot_id=(\S+)", l)
        if m and m.group(1) != boot_id:
            raise Failure(f"the boot id changed while staying up: {boot_id} -> {m.group(1)}")
    ups = [l for _, l in c.lines[i:j] if l.startswith("KCT: up ")]
    if not ups:
        raise Failure("no 'up' line while staying up")
    return j, ups[-1]


def confirm_unit(c, after, want_status):
    """The confirm unit's run as guest-lib.sh's confirm_unit_report tells it, then status:
    (index, last_warm_reboot, milliseconds the unit ran, its log). With
    `want_status` None the unit must have been skipped: nothing pending."""
    i, m, _ = c.kct(r"confirm-unit load=(\S*) condition=(\S*) result=(\S*) status=(\S*) "
                    r"start=(\d+) exit=(\d+)", 400, after)
    load, condition, result, status, start, end = m.groups()
    if load != "loaded":
        raise Failure("no kexec-chooser-confirm.service in the guest")
    ran = condition != "no" and end != "0"
    if want_status is None and ran:
        raise Failure(f"kexec-chooser-confirm.service ran with nothing pending: status={status}")
    if want_status is not None and (not ran or status != want_status):
        raise Failure(f"kexec-chooser-confirm.service: condition={condition} result={result} "
                      f"status={status}, wanted a run with status {want_status}")
    j, w = status_of(c, i)
    said = [l[len("KCT: confirm-log "):] for _, l in c.lines[i:j] if l.startswith("KCT: confirm-log ")]
    return j, w, (int(end) - int(start)) / 1000, said


# ---------------------------------------------------------------- direct mode

class SafetyGuest(BusyboxGuest):
    """The busybox guest with the watchdog's modules indexed for modprobe
    (confirm loads the driver by name; kexec-chooser reloads the core) and
    a state disk (/dev/vdb) for /var/lib/kexec-chooser across resets."""

    init = "safety-init.sh"
    # virtio_rng: the record's id comes from the kernel's random pool, which
    # a busybox guest (no seed, no RDRAND under TCG) would not have ready.
    module_sets = {"load-order": harness.GUEST_MODULES + ["virtio_rng"], "watchdog-order": ["i6300esb"]}
    modules_dep = True

    def extra_disks(self):
        self.state_img = self.work / "state.img"
        harness.mke2fs(self.state_img, 32, None, "state")
        return [self.state_img]


def test_direct(guest, timeout):
    a, b = guest.a.release, guest.b.release
    q = guest.qemu("safety", f"kct.watchdog={timeout}", **dict(WATCHDOG, devices=[*WATCHDOG["devices"], "virtio-rng-pci"]))

    def body(c):
        i = boot_of(c, 1, a, 120)
        i, m, _ = c.kct(r"confirm rc=(\d+) out=(.*)", 60, i)
        if m.group(1) != "0" or m.group(2).strip():
            raise Failure(f"confirm with nothing pending: rc={m.group(1)} out={m.group(2)!r}, wanted 0 and silence")
        i, w = status_of(c, i)
        if w is not None:
            raise Failure(f"status --json before any warm reboot: {w}")
        i, arm_ms, _ = armed_handover(c, i)

        # B, the warm boot: confirmed, and the watchdog no longer armed.
        i = boot_of(c, 2, b, 300)
        i, m, _ = c.kct(r"cmdline=(.*)", 30, i)
        if "kexec_chooser.boot=" not in m.group(1):
            raise Failure(f"no kexec_chooser.boot= on the warm boot's command line: {m.group(1)}")
        k = i
        i, m, _ = c.kct(r"confirm rc=(\d+) out=(.*)", 120, i)
        if m.group(1) != "0":
            raise Failure(f"confirm in the warm boot: rc={m.group(1)} out={m.group(2)!r}")
        _, s0, _ = c.expect(STAMP.format("confirm-start"), 5, k)
        _, s1, _ = c.expect(STAMP.format("confirm-end"), 5, k)
        confirm_ms = (float(s1.group(1)) - float(s0.group(1))) * 1000
        i, w = status_of(c, i)
        expect_record(w, "confirmed", b, a, timeout=timeout)
        i, up = stayed_up(c, i, SAFETY_NET)

        # B again, whose init hangs: reset by the watchdog, A back.
        i, arm2_ms, armed_at = armed_handover(c, i - 1)
        boot_of(c, 3, b, 300)
        c.kct(r"target init hangs", 120, c.kernel_start(3, 10))
        j, reset_secs = watchdog_reset(c, 4, armed_at, timeout)
        i, _, _ = c.kct(rf"booted release={re.escape(a)}", 300, j)
        i, m, _ = c.kct(r"confirm rc=(\d+) out=(.*)", 120, i)
        if m.group(1) != "1" or b not in m.group(2) or not re.search(r"(?i)fell.back", m.group(2)):
            raise Failure(f"confirm after the reset: rc={m.group(1)} out={m.group(2)!r}, "
                          f"wanted 1 and a fall-back from {b}")
        said = m.group(2).strip()
        i, w = status_of(c, i)
        expect_record(w, "fell-back", b, b, timeout=timeout)
        c.kct(r"done", 60, i)
        c.wait_exit(60)
        return arm_ms, arm2_ms, confirm_ms, reset_secs, w, said, up

    arm_ms, arm2_ms, confirm_ms, reset_secs, w, said, up = boot(q, "safety-direct", body)
    log(f"direct: {a} -> {b} armed ({timeout} s) and confirmed, stayed up ({up}); "
        f"{b} -> {b} with a hanging init: reset {reset_secs:.0f} s after arming, {a} back, "
        f"confirm said: {said}; status: {w['result']} (target {w['target']})")
    print(f"direct: safety net set in {arm_ms:.1f} / {arm2_ms:.1f} ms (arm + record), "
          f"confirm {confirm_ms:.1f} ms (guest clock, incl. modprobe of the driver)", flush=True)


# ---------------------------------------------------------------- systemd

# The target's initramfs holds just what reaches the virtio root: under TCG
# the purgatory's hash of the loaded segments runs at about a megabyte a
# second, so Debian's MODULES=most initrd alone would take longer than the
# watchdog's timeout before the new kernel prints a line.
SMALL_INITRAMFS = "MODULES=list\n"
SMALL_MODULES = "virtio_pci\nvirtio_blk\ncrc32c_generic\next4\n"
# The confirm unit runs after multi-user.target, and the watchdog counts
# host seconds: units and drivers this test has no use for, each of which
# takes seconds under TCG, do not delay it (e2scrub_reap alone took 40 s).
SLOW_UNITS = ["ssh.service", "e2scrub_reap.service"]
SLOW_MODULES = ["floppy", "pcspkr", "i2c_piix4", "ata_piix", "kvm", "kvm_amd", "kvm_intel", "powernow_k8"]


def releases():
    """(A, B): the generic release the Debian root boots, and another
    generic release of the archive to install as the target (the cloud
    flavour lacks i6300esb, so the new kernel could not disarm it)."""
    root = harness.debian_root("bookworm")
    a = next(r.name for r in sorted((root / "lib/modules").iterdir()) if "-cloud-" not in r.name)
    b = next(k for k in reversed(harness.kernel_pair("amd64")) if k.release != a)
    return a, b.release


def with_kernel(release):
    """derived_root's preparation: RELEASE installed with dpkg, its initrd
    made with SMALL_INITRAMFS (the root's own initramfs settings restored)."""
    def prepare(root):
        shutil.copy2(harness.deb(f"linux-image-{release}", "amd64"), root / "tmp/kernel.deb")
        conf = root / "etc/initramfs-tools/conf.d/kct-small"
        modules = root / "etc/initramfs-tools/modules"
        saved = modules.read_text()
        conf.write_text(SMALL_INITRAMFS)
        modules.write_text(saved + SMALL_MODULES)
        try:
            harness.run(["chroot", str(root), "dpkg", "-i", "/tmp/kernel.deb"], stdout=subprocess.DEVNULL)
        finally:
            conf.unlink()
            modules.write_text(saved)
            (root / "tmp/kernel.deb").unlink()
        initrd = root / "boot" / f"initrd.img-{release}"
        log(f"target {release}: initrd {initrd.stat().st_size >> 20} MB")
    return prepare


def quick_image(work, target, artifact, hostname="kct"):
    """A DebianImage in WORK of the bookworm root with the warm reboot's
    TARGET release installed (with_kernel, a derived root cached once per
    release) and ARTIFACT, without SLOW_UNITS and SLOW_MODULES."""
    tag = hashlib.sha256((SMALL_INITRAMFS + SMALL_MODULES).encode()).hexdigest()[:6]
    base = harness.derived_root("bookworm", f"{target}-{tag}", with_kernel(target))
    image = DebianImage(work, "bookworm", hostname=hostname, base=base)
    for unit in SLOW_UNITS:
        image.link(f"etc/systemd/system/{unit}", "/dev/null")
    image.write("etc/modprobe.d/kct-tcg.conf", "".join(f"blacklist {m}\n" for m in SLOW_MODULES))
    image.install_kexec_chooser(artifact)
    return image


def test_systemd(work, artifact, timeout):
    a, b = releases()
    image = quick_image(work, b, artifact)
    image.add_test("safety-test.sh", after="kexec-chooser-confirm.service multi-user.target",
                   target="graphical.target")
    image.image()
    q = image.qemu(a, f"kct.target={b} kct.watchdog={timeout}", **WATCHDOG)

    def body(c):
        i = boot_of(c, 1, a, 120)
        i, w, _, _ = confirm_unit(c, i, None)
        if w is not None:
            raise Failure(f"status --json before any warm reboot: {w}")
        i, arm_ms, armed_at = armed_handover(c, i)
        kexec = i

        # B, the warm boot: confirmed by the unit, up 150 s without a reset.
        i = boot_of(c, 2, b, 900)
        steps = since(c, armed_at, kexec, c.kernel_start(2, 0), i)
        i, w, confirm_ms, _ = confirm_unit(c, i, "0")
        expect_record(w, "confirmed", b, a, timeout=timeout)
        seconds = w.get("seconds")
        if not isinstance(seconds, (int, float)) or seconds <= 0:
            raise Failure(f"status --json: seconds {seconds!r} for a confirmed warm reboot")
        i, up = stayed_up(c, i, r"^KCT: file sha256=")
        _, m, _ = c.kct(r"file sha256=(\w+)", 10, i - 1)
        sha = m.group(1)

        # B into B with a root that does not exist: reset, A back, fell-back.
        i, arm2_ms, armed_at2 = armed_handover(c, i)
        j3 = c.kernel_start(3, 900)
        j, reset_secs = watchdog_reset(c, 4, armed_at2, timeout)
        gave_up = any(re.search(r"Gave up waiting for root|ALERT!", l) for _, l in c.lines[j3:j])
        i, _, _ = c.kct(rf"booted release={re.escape(a)}", 400, j)
        i, w2, _, said2 = confirm_unit(c, i, "1")
        if not any(b in l and re.search(r"(?i)fell.back", l) for l in said2):
            raise Failure(f"the confirm unit did not report a fall-back from {b}: {said2}")
        expect_record(w2, "fell-back", b, b, timeout=timeout)
        i, m, _ = c.kct(r"file sha256=(\w+)", 30, i)
        if m.group(1) != sha:
            raise Failure("the file written and synced before the warm reboot changed")
        c.kct(r"done", 30, i)
        c.wait_exit(180)
        return (arm_ms, arm2_ms, confirm_ms, steps, seconds, up, reset_secs, gave_up, said2, w2)

    (arm_ms, arm2_ms, confirm_ms, steps, seconds, up, reset_secs, gave_up, said2,
     w2) = boot(q, "safety-systemd", body)
    log(f"systemd: {a} -> {b} --watchdog {timeout}: confirmed ({seconds} s from the command, "
        f"kexec / B's banner / B's report {steps} s after arming), up 150 s ({up}); "
        f"{b} -> {b} root=/dev/nonexistent ({'its initramfs gave up' if gave_up else 'reset before its initramfs gave up'}): "
        f"reset {reset_secs:.0f} s after arming, {a} back, status {w2['result']} (target {w2['target']}), "
        f"file intact; confirm said: {' | '.join(said2)}")
    print(f"systemd: safety net set in {arm_ms:.1f} / {arm2_ms:.1f} ms (arm + record), "
          f"confirm unit {confirm_ms:.1f} ms (ExecMainStart to exit)", flush=True)


# ---------------------------------------------------------------- entry

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["direct", "systemd"],
                    help="direct, systemd (default: both)")
    ap.add_argument("--artifact", help="the .deb (or binary) for the systemd guest "
                    "(default: KC_DEB, else the static build)")
    ap.add_argument("--timeout", type=int, default=120,
                    help="--watchdog SECONDS of the systemd guest (default: 120)")
    ap.add_argument("--direct-timeout", type=int, default=60,
                    help="--watchdog SECONDS of the busybox guest (default: 60)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    suite = Suite("safety", "safety")
    binary = harness.once(lambda: harness.build_binary(harness.AMD64))

    def artifact():
        return args.artifact or os.environ.get("KC_DEB") or binary()

    tests = {
        "direct": lambda: test_direct(SafetyGuest(suite.work, binary()), args.direct_timeout),
        "systemd": lambda: test_systemd(suite.work, artifact(), args.timeout),
    }
    return suite.run(args.tests, tests, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
