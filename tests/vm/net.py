#!/usr/bin/env python3
"""QEMU proof of the safety net where there is no chipset watchdog
(issue 23): a BMC's watchdog, or the software net (x86_64, run as root).

Two Debian 12 guests, each one QEMU run without -no-reboot under -icount
(the guest's clock, and so every watchdog's countdown, is guest time: a
busy host slows the guest without firing anything early). A reset or a
reboot boots the same -kernel again: release A, the running kernel, comes
back. tests/vm/net-test.sh runs in every boot after the confirm unit and
walks through the scenarios in order; kct-early.service runs it before the
confirm unit to see the warm boot before confirm touches it.

  * bmc: generic kernel, QEMU's simulated BMC (ipmi-bmc-sim on a KCS
    interface) and no other watchdog. A warm reboot into B whose root does
    not exist: its initramfs gives up and waits on its shell, the BMC's
    watchdog resets the guest at the timeout, A comes back, confirm says
    fell-back, status says so (watchdog kind ipmi). Then a healthy warm
    reboot: the BMC's timer runs in B before confirm as armed (SMS/OS, hard
    reset, the countdown asked for), ipmi_watchdog blacklisted; confirm
    stops it and B stays up past the timeout (same boot id, no new kernel).
  * soft: Debian's cloud kernel (A and B both cloud flavour: no watchdog
    driver, no watchdog device). Warm reboots into a B that panics (no
    initrd, so no root; with a short --watchdog, as a panic's delay before
    the reboot is a busy loop with interrupts off, and under -icount
    shift=0 each of its guest seconds costs about 20 host seconds), one
    whose root does not exist (its initramfs gives up and reboots for
    panic=), and one that hangs before confirm (a unit ordered before it,
    on kct.hang= only, until softdog fires): each comes back to A,
    fell-back. Then a healthy one: softdog runs in B before confirm,
    confirm stops it, B stays up past its margin, and kernel.panic is A's
    value again.
  * probe-bmc, probe-soft: the guests' watchdogs without kexec-chooser:
    ipmitool sets the BMC's watchdog, or softdog is loaded as the net
    loads it, nothing feeds it, and the guest is reset.

Each prints its timings; `--jobs 2` runs the guests side by side.
"""

import argparse
import os
import re
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ of the harness in the tree
import harness  # noqa: E402
import safety  # noqa: E402
from harness import Failure, Suite, boot, log  # noqa: E402
from safety import armed_handover, boot_of, expect_record, status_of  # noqa: E402

# What the guests have besides the disk: QEMU's simulated BMC on a KCS
# interface (ipmi_si finds it through SMBIOS and ACPI), or nothing; -icount
# as safety.WATCHDOG has it, and no -no-reboot.
BMC_DEVICES = ["ipmi-bmc-sim,id=bmc0", "isa-ipmi-kcs,bmc=bmc0"]
GUEST = dict(reboot=True, args=["-icount", "shift=0"])
# ipmitool and what the bookworm root lacks of its dependencies.
IPMITOOL = [("freeipmi-common", "all"), ("libfreeipmi17", "amd64"), ("ipmitool", "amd64")]
# ipmitool's event daemon would read the BMC's event log at every boot.
IPMI_UNITS = ["ipmievd.service"]
# The scenarios of each guest, in the order net-test.sh runs them.
STEPS = {"bmc": ["noroot", "healthy"], "soft": ["panic", "noroot", "hang", "healthy"]}
# The words the software net puts on the new kernel's command line.
SOFT_WORDS = [r"panic=[1-9]\d*", r"modules_load=(\S+,)?softdog(,\S+)?", r"softdog\.soft_margin=[1-9]\d*",
              r"softdog\.soft_active_on_boot=1", r"watchdog\.handle_boot_enabled=0"]
# What a reboot through the kernel prints; a reset prints nothing.
REBOOT_LINE = safety.REBOOT_LINE
# Images are made one at a time (I/O), even when guests run side by side.
PREPARE = threading.Lock()


def releases(net):
    """(A, B): safety's generic pair, or for the software net their cloud
    flavours (the root has A's; with_kernel installs B's)."""
    a, b = safety.releases()
    if net == "soft":
        a, b = (r.replace("-amd64", "-cloud-amd64") for r in (a, b))
    return a, b


def guest(work, artifact, net, timeout, name, extra=""):
    """The guest of NET ("bmc" or "soft") made in WORK/NAME: its Qemu, A, B."""
    a, b = releases(net)
    with PREPARE:
        (work / name).mkdir()
        image = safety.quick_image(work / name, b, artifact, hostname=f"kct-{net}")
        if net == "bmc":
            image.install_debs(IPMITOOL)
            for unit in IPMI_UNITS:
                image.link(f"etc/systemd/system/{unit}", "/dev/null")
        image.add_test("net-test.sh", after="kexec-chooser-confirm.service multi-user.target",
                       target="graphical.target")
        image.add_early(after="local-fs.target systemd-modules-load.service")
        image.image(name)
    devices = BMC_DEVICES if net == "bmc" else []
    append = f"kct.net={net} kct.target={b} kct.watchdog={timeout} kct.steps={','.join(STEPS[net])} {extra}"
    return image.qemu(a, append.strip(), devices=devices, **GUEST), a, b


# ---------------------------------------------------------------- reading

def fields(line):
    """ipmitool's "Name: value;" pairs of a `bmc` line as a dict."""
    return {k.strip(): v.strip() for k, _, v in (p.partition(":") for p in line.split(";")) if v}


def bmc_line(c, after, timeout=120):
    i, m, _ = c.kct(r"bmc (.*)", timeout, after)
    return i, fields(m.group(1))


def countdown(bmc, name):
    """A countdown of a `bmc` line ("29.8 sec"), in seconds; -1 if none."""
    m = re.match(r"\d+(\.\d+)?", bmc.get(name, ""))
    return float(m.group(0)) if m else -1.0


def running(bmc):
    """Whether the BMC's watchdog counts down. Its Present Countdown says
    it: QEMU's simulated BMC answers Get Watchdog Timer with the timer use
    byte of the last Set, whose bit 6 ("running", what ipmitool's "Watchdog
    Timer Is" reads) it never sets by itself, and a stopped timer reads 0."""
    return countdown(bmc, "Present Countdown") > 0


def net_line(c, after, timeout=120):
    """kernel.panic and the watchdog devices of a `net` line."""
    i, m, _ = c.kct(r"net panic=(-?\d+) watchdogs=(.*)", timeout, after)
    devices = dict(re.findall(r"(watchdog\d+):(\S.*?)(?= watchdog\d+:|$)", m.group(2).strip()))
    return i, int(m.group(1)), {d: dict(kv.split("=", 1) for kv in v.split(",")) for d, v in devices.items()}


def kernel_words(c, j):
    """The command line that the kernel started at line J printed."""
    i, m, _ = c.expect(r"Kernel command line: (.*)", 120, j + 1)
    if any(re.search(harness.BANNER, l) for _, l in c.lines[j + 1:i]):
        raise Failure("a kernel started without printing its command line")
    return m.group(1).split()


def word(words, pattern):
    """The first word that is all PATTERN, or None."""
    return next((w for w in words if re.fullmatch(pattern, w)), None)


def confirm_unit(c, after, want):
    """The confirm unit's properties and journal as net-test.sh reports
    them, then status: (index, last_warm_reboot, the journal). WANT: None,
    not run (nothing pending), else the exit status it must have had."""
    i, m, _ = c.kct(r"confirm-unit (.*)", 600, after)
    props = dict(w.split("=", 1) for w in m.group(1).split())
    ran = props.get("ConditionResult") == "yes"
    if want is None and ran:
        raise Failure(f"kexec-chooser-confirm.service ran with nothing pending: {props}")
    if want is not None and (not ran or props.get("ExecMainStatus") != want):
        raise Failure(f"kexec-chooser-confirm.service: {props}, wanted a run that exited {want}")
    j, w = status_of(c, i)
    said = [l[len("KCT: confirm-log "):] for _, l in c.lines[i:j] if l.startswith("KCT: confirm-log ")]
    return j, w, said


def first_boot(c, a):
    """A's first boot: nothing pending, no warm reboot recorded, and no
    watchdog device (the guest's only watchdog is the BMC, or none)."""
    i = boot_of(c, 1, a, 600)
    i, w, _ = confirm_unit(c, i, None)
    if w is not None:
        raise Failure(f"status --json before any warm reboot: {w}")
    i, _, wds = net_line(c, i)
    if wds:
        raise Failure(f"a watchdog device before any warm reboot: {wds}")
    return i


def fell_back(c, n, a, b, kind):
    """A is back as kernel start N, its confirm unit says the warm reboot
    into B fell back, and status says so; (index, what confirm said)."""
    i = boot_of(c, n, a, 600)
    i, w, said = confirm_unit(c, after=i, want="1")
    if not any(b in l and re.search(r"(?i)fell.back", l) for l in said):
        raise Failure(f"the confirm unit did not report a fall-back from {b}: {said}")
    expect_record(w, "fell-back", b, a, kind)
    return i, " | ".join(l for l in said if l.startswith("kexec-chooser:"))


def plan(c, after, step):
    """The safety line of the dry run that net-test.sh prints before the
    warm reboot of STEP, and the index of its "warm reboot into" line."""
    i, _, _ = c.kct(rf"scenario {step} panic=", 600, after)
    j, _, _ = c.kct(rf"warm reboot into \S+ \({step}\)", 120, i)
    lines = [l[len("KCT: plan "):] for _, l in c.lines[i:j] if l.startswith("KCT: plan ")]
    safety_line = next((l for l in lines if re.match(r"\s*safety:", l)), None)
    if safety_line is None:
        raise Failure(f"the dry run before {step}: wanted a plan with a 'safety:' line, got {lines}")
    return j, safety_line.strip()


def timeline(c):
    """The host seconds of each kernel start since QEMU's first line, and
    of the last line: where a run's time goes."""
    t0 = c.lines[0][0]
    starts = [t - t0 for t, l in c.lines if re.search(harness.BANNER, l)]
    return " / ".join(f"{t:.0f}" for t in starts) + f", end {c.lines[-1][0] - t0:.0f}"


def came_back(c, n, since, why):
    """Kernel start N (A again) came after WHY (a pattern) in kernel start
    N-1, and after a reset (no reboot line) unless WHY is a reboot's; the
    host seconds from line SINCE to it."""
    prev = c.kernel_start(n - 1, 10)
    j = c.kernel_start(n, 900)
    if not any(re.search(why, l) for _, l in c.lines[prev:j]):
        raise Failure(f"kernel start {n - 1} ended without a line matching {why!r}")
    reboot = [l for _, l in c.lines[prev:j] if re.search(REBOOT_LINE, l)]
    if reboot and not re.search(why, reboot[0]):
        raise Failure(f"kernel start {n} followed a reboot, not a reset: {reboot[0]}")
    return c.lines[j][0] - c.lines[since][0]


# ---------------------------------------------------------------- bmc

def test_bmc(work, artifact, timeout):
    q, a, b = guest(work, artifact, "bmc", timeout, "bmc")

    def body(c):
        i = first_boot(c, a)
        i, m, _ = c.kct(r"ipmi si=(\S+) dev=(\S+)", 30, i)
        if m.group(1) != "yes":
            raise Failure("ipmi_si is not loaded: the guest found no IPMI interface")
        had_dev = m.group(2)

        # B whose root does not exist, its initramfs waiting on a shell:
        # the BMC resets the guest at the timeout, A comes back.
        i, said_plan = plan(c, i, "noroot")
        if not re.search(r"(?i)\b(ipmi|bmc)\b", said_plan) or not re.search(rf"\b{timeout} s\b", said_plan):
            raise Failure(f"the plan does not name the BMC's watchdog with {timeout} s: {said_plan!r}")
        i, arm_ms, armed_at = armed_handover(c, i)
        j = c.kernel_start(2, 900)
        words = kernel_words(c, j)
        bmc_words(words)
        j3, reset_secs = safety.watchdog_reset(c, 3, armed_at, timeout)
        if not any(re.search(r"Gave up waiting for root|ALERT!", l) for _, l in c.lines[j:j3]):
            raise Failure("B's initramfs never gave up waiting for the root that does not exist")
        i, said = fell_back(c, 3, a, b, "ipmi")
        i, bmc = bmc_line(c, i)
        if running(bmc) or not re.search(r"SMS/OS|0x10", bmc.get("Timer Expiration Flags", "")):
            raise Failure(f"after the reset the BMC's watchdog is not stopped with its SMS/OS timer expired: {bmc}")

        # A healthy B: the BMC's timer runs until confirm stops it.
        i, said_plan2 = plan(c, i, "healthy")
        i, arm2_ms, armed_at2 = armed_handover(c, i)
        j = c.kernel_start(4, 900)
        bmc_words(kernel_words(c, j))
        i, m, _ = c.kct(r"early release=(\S+)", 900, j)
        i, early = bmc_line(c, i)
        if (not running(early) or "SMS/OS" not in early.get("Watchdog Timer Use", "")
                or "Hard Reset" not in early.get("Watchdog Timer Action", "")
                or countdown(early, "Initial Countdown") != timeout or countdown(early, "Present Countdown") >= timeout):
            raise Failure(f"before confirm the BMC's watchdog is not running as armed (SMS/OS, hard reset, "
                          f"{timeout} s, counting down): {early}")
        i = boot_of(c, 4, b, 900)
        i, w, _ = confirm_unit(c, i, "0")
        expect_record(w, "confirmed", b, a, "ipmi", timeout)
        i, after = bmc_line(c, i)
        if running(after):
            raise Failure(f"after confirm the BMC's watchdog still runs: {after}")
        i, up = safety.stayed_up(c, i, r"^KCT: done")
        c.wait_exit(180)
        return had_dev, said_plan, arm_ms, arm2_ms, reset_secs, said, early, w.get("seconds"), up, timeline(c)

    (had_dev, said_plan, arm_ms, arm2_ms, reset_secs, said, early, seconds, up,
     starts) = boot(q, "net-bmc", body)
    log(f"bmc: plan: {said_plan}")
    log(f"bmc: {a} -> {b} root=/dev/nonexistent: reset by the BMC {reset_secs:.0f} s after arming, "
        f"{a} back; confirm said: {said}")
    log(f"bmc: {a} -> {b}: BMC timer before confirm: {early.get('Watchdog Timer Use')}, "
        f"{early.get('Watchdog Timer Action')}, {early.get('Present Countdown')} of "
        f"{early.get('Initial Countdown')}; confirmed ({seconds} s from "
        f"the command), stopped, up past the timeout ({up}); /dev/ipmi0 before arming: {had_dev}")
    log(f"bmc: kernel starts at {starts} s")
    print(f"bmc: safety net set in {arm_ms:.1f} / {arm2_ms:.1f} ms (arm + record)", flush=True)


def bmc_words(words):
    """The warm boot's command line keeps ipmi_watchdog away from the
    BMC's timer and carries no software net (the BMC is preferred)."""
    missing = [p for p in [r"modprobe\.blacklist=(\S+,)?ipmi_watchdog(,\S+)?", r"kexec_chooser\.boot=\S+"]
               if not word(words, p)]
    if missing or word(words, SOFT_WORDS[1]):
        raise Failure(f"the warm boot's command line (wanted /{'/ and /'.join(missing)}/, no softdog): "
                      f"{' '.join(words)}")


# ---------------------------------------------------------------- soft

def soft_words(words, release):
    """The software net's words on a warm boot's command line, A's
    panic=-1 gone; (N, S): panic=N, softdog.soft_margin=S."""
    missing = [p for p in SOFT_WORDS if not word(words, p)]
    panics = [w for w in words if w.startswith("panic=")]
    if missing or len(panics) != 1:
        raise Failure(f"the warm boot into {release} lacks the software net (/{'/, /'.join(missing)}/, "
                      f"one panic=): {' '.join(words)}")
    return int(panics[0][len("panic="):]), int(word(words, SOFT_WORDS[2]).split("=")[1])


def test_soft(work, artifact, timeout, panic_timeout):
    q, a, b = guest(work, artifact, "soft", timeout, "soft", f"kct.panic_watchdog={panic_timeout}")
    said_plan = {}
    results = {}

    def warm(c, i, n, step):
        """STEP's plan and warm reboot from A, up to B's kernel start N:
        (index of B's banner, N, S, host time of arming)."""
        i, said_plan[step] = plan(c, i, step)
        m = re.search(r"software only \(no hardware watchdog\): a panic, a missing root or a hang after the "
                      r"root is mounted reboots after (\d+) s", said_plan[step])
        if not m:
            raise Failure(f"the plan before {step} does not name the software net: {said_plan[step]!r}")
        i, _, armed_at = armed_handover(c, i)
        j = c.kernel_start(n, 900)
        panic, margin = soft_words(kernel_words(c, j), b)
        wanted = panic_timeout if step == "panic" else timeout
        if not int(m.group(1)) == panic == margin == wanted:
            raise Failure(f"--watchdog {wanted}: the plan says {m.group(1)} s, the warm boot has panic={panic} "
                          f"and softdog.soft_margin={margin}")
        return j, panic, margin, armed_at

    def body(c):
        i = first_boot(c, a)

        # (a) B's kernel cannot mount its root without an initrd and panics.
        j, panic, margin, _ = warm(c, i, 2, "panic")
        _, m, _ = c.expect(r"Kernel panic - not syncing: (.*)", 600, j)
        _, r, _ = c.expect(r"Rebooting in (\d+) seconds", 60, j)
        if int(r.group(1)) != panic:
            raise Failure(f"B's panic reboots in {r.group(1)} s, not the net's {panic}")
        results["panic"] = (m.group(1), came_back(c, 3, j, r"Rebooting in \d+ seconds"))
        i, results["panic-said"] = fell_back(c, 3, a, b, "software")

        # (b) B's initramfs gives up waiting for a root that does not exist
        # and, told panic=, reboots.
        j, panic, margin, _ = warm(c, i, 4, "noroot")
        c.expect(r"Gave up waiting for root|ALERT!", 900, j)
        results["noroot"] = came_back(c, 5, j, r"Rebooting automatically due to panic= boot argument|"
                                               r"reboot: Restarting system")
        if not any("Rebooting automatically due to panic=" in l for _, l in c.lines[j:c.kernel_start(5, 0)]):
            raise Failure("B's initramfs did not reboot for panic= (initramfs-tools' panic)")
        i, results["noroot-said"] = fell_back(c, 5, a, b, "software")

        # (c) B hangs in user space before confirm; softdog resets it,
        # its margin after it started (the kernel's timestamps: guest time).
        j, panic, margin, _ = warm(c, i, 6, "hang")
        k, _, _ = c.kct(r"early hangs before confirm", 900, j)
        secs = came_back(c, 7, k, r"softdog: Initiating system reboot")
        _, m0, _ = c.expect(r"\[\s*([\d.]+)\] softdog: initialized\..* soft_margin=(\d+)", 10, j)
        _, m1, _ = c.expect(r"\[\s*([\d.]+)\] softdog: Initiating system reboot", 10, k)
        fired = float(m1.group(1)) - float(m0.group(1))
        if int(m0.group(2)) != margin or not margin - 1 <= fired <= margin + 2:
            raise Failure(f"softdog started with margin {m0.group(2)} s and fired {fired:.1f} s later; wanted {margin} s")
        results["hang"] = (margin, fired, secs)
        i, results["hang-said"] = fell_back(c, 7, a, b, "software")

        # (d) B healthy: softdog runs before confirm, confirm stops it and
        # puts A's kernel.panic back; B stays up past the margin.
        _, m, _ = c.kct(r"scenario healthy panic=(-?\d+)", 600, i)
        before = int(m.group(1))
        j, panic, margin, _ = warm(c, i, 8, "healthy")
        k, _, _ = c.kct(r"early release=", 900, j)
        k, panic_b, wds = net_line(c, k)
        soft = [d for d, v in wds.items() if v.get("identity") == "Software Watchdog"]
        if panic_b != panic or not soft or wds[soft[0]].get("timeout") != str(margin):
            raise Failure(f"before confirm: kernel.panic {panic_b}, watchdogs {wds}; wanted panic {panic} "
                          f"and softdog with the margin {margin} s")
        i = boot_of(c, 8, b, 900)
        i, w, _ = confirm_unit(c, i, "0")
        expect_record(w, "confirmed", b, a, "software")
        i, panic_after, _ = net_line(c, i)
        if panic_after != before:
            raise Failure(f"after confirm kernel.panic is {panic_after}, not {before} as before the warm reboot "
                          f"(it was {panic_b} in B before confirm)")
        i, up = safety.stayed_up(c, i, r"^KCT: done")
        c.wait_exit(180)
        results["healthy"] = (before, panic_b, panic_after, margin, w.get("seconds"), up)
        results["timeline"] = timeline(c)

    boot(q, "net-soft", body)
    log(f"soft: plan: {said_plan['healthy']}")
    why, secs = results["panic"]
    log(f"soft: (a) {a} -> {b} --no-initrd: \"Kernel panic - not syncing: {why}\", back in {secs:.0f} s; "
        f"confirm said: {results['panic-said']}")
    log(f"soft: (b) {a} -> {b} root=/dev/nonexistent: initramfs gave up and rebooted, back "
        f"{results['noroot']:.0f} s later; confirm said: {results['noroot-said']}")
    margin, fired, secs = results["hang"]
    log(f"soft: (c) {a} -> {b} hanging before confirm: softdog ({margin} s) fired {fired:.1f} s after it "
        f"started (guest clock), {secs:.0f} s after the hang began (host); confirm said: {results['hang-said']}")
    before, panic_b, after, margin, seconds, up = results["healthy"]
    log(f"soft: (d) {a} -> {b}: confirmed ({seconds} s from the command), kernel.panic {before} -> {panic_b} "
        f"-> {after}, up past the {margin} s margin ({up})")
    log(f"soft: kernel starts at {results['timeline']} s")


# ---------------------------------------------------------------- probes

def test_probe(work, artifact, net):
    """The guest's own watchdog, set without kexec-chooser and not fed,
    resets the guest: the BMC's through ipmitool, or softdog as the
    software net loads it (soft_active_on_boot, handle_boot_enabled=0)."""
    q, a, _ = guest(work, artifact, net, 60, f"probe-{net}", f"kct.probe={net}")

    def body(c):
        i = boot_of(c, 1, a, 600)
        i, _, wds = net_line(c, i)
        if wds:
            raise Failure(f"a watchdog device before the probe: {wds}")
        if net == "bmc":
            i, m, _ = c.kct(r"ipmi si=(\S+) dev=(\S+)", 30, i)
            if m.group(1) != "yes":
                raise Failure("ipmi_si is not loaded: the guest found no IPMI interface")
            i, before = bmc_line(c, i)
            i, armed = bmc_line(c, i + 1)
            if running(before) or not running(armed) or countdown(armed, "Initial Countdown") != 30:
                raise Failure(f"ipmitool did not start the BMC's watchdog for 30 s: {before} then {armed}")
            why = r"^KCT: probe armed"
        else:
            i, m, _ = c.kct(r"handle_boot_enabled=(\S+)", 30, i)
            i, _, wds = net_line(c, i)
            if m.group(1) not in ("0", "N") or [v.get("identity") for v in wds.values()] != ["Software Watchdog"]:
                raise Failure(f"softdog: handle_boot_enabled={m.group(1)}, devices {wds}")
            why = r"softdog: Initiating system reboot"
        i, _, armed_at = c.kct(r"probe armed: 30 s", 60, i)
        secs = came_back(c, 2, i, why)
        if secs < 25:
            raise Failure(f"reset {secs:.0f} s after the 30 s watchdog was started")
        i = boot_of(c, 2, a, 600)
        i, _, _ = net_line(c, i)
        last = None
        if net == "bmc":
            i, last = bmc_line(c, i)
            if not re.search(r"SMS/OS|0x10", last.get("Timer Expiration Flags", "")):
                raise Failure(f"the BMC does not say its SMS/OS timer expired: {last}")
        c.kct(r"done", 60, i)
        c.wait_exit(180)
        return secs, armed if net == "bmc" else wds, last

    secs, armed, last = boot(q, f"net-probe-{net}", body)
    log(f"probe-{net}: {armed}; reset {secs:.0f} s after it was started (30 s of guest time)"
        + (f"; then {last}" if last else ""))


# ---------------------------------------------------------------- entry

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["bmc", "soft"],
                    help="bmc, soft, probe-bmc, probe-soft (default: bmc soft)")
    ap.add_argument("--artifact", help="the .deb (or binary) the guests install "
                    "(default: KC_DEB, else the static build)")
    ap.add_argument("--timeout", type=int, default=60, help="--watchdog SECONDS of the warm reboots (default: 60)")
    ap.add_argument("--panic-timeout", type=int, default=3,
                    help="--watchdog SECONDS of the soft guest's panicking target (default: 3)")
    ap.add_argument("--jobs", type=int, default=1, help="guests run at once (default: 1)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    suite = Suite("net", "net")
    binary = harness.once(lambda: harness.build_binary(harness.AMD64))

    def artifact():
        return args.artifact or os.environ.get("KC_DEB") or binary()

    tests = {
        "bmc": lambda: test_bmc(suite.work, artifact(), args.timeout),
        "soft": lambda: test_soft(suite.work, artifact(), args.timeout, args.panic_timeout),
        "probe-bmc": lambda: test_probe(suite.work, artifact(), "bmc"),
        "probe-soft": lambda: test_probe(suite.work, artifact(), "soft"),
    }
    return suite.run(args.tests, tests, keep=args.keep, jobs=args.jobs)


if __name__ == "__main__":
    sys.exit(main())
