#!/usr/bin/env python3
"""QEMU proof that a warm reboot which does not come up falls back to the
kernel that was running (issue 22), with real boot loaders (run as root).

Two Debian 12 guests, each booted by its firmware and boot loader on every
boot of one QEMU run (no -kernel), `-device i6300esb -action watchdog=reset`
and -icount as in safety.py; kernels A < B installed, B the boot loader's
default (the newest, as on Debian), the first boot into A by the loader's
one-time entry:

  * grub: SeaBIOS, GRUB on the unpartitioned ext4 root /dev/vda
    (grub-install --force, update-grub, GRUB_DEFAULT=0, serial console);
  * sdboot: OVMF (a per-run copy of its variable store), systemd-boot on a
    GPT ESP on /dev/vdb (bootctl install --no-variables, kernel-install).

The disks are made bootable in a boot of the guest itself
(tests/vm/fallback-install.sh; on the host grub-probe cannot see through a
loop device) and cached; each run copies them and loop-mounts the root to
install the .deb and tests/vm/fallback-test.sh. The scenarios, in one run
(the guest walks through them with /var/lib/kct/phase):

  loader    A sets the one-time entry to A itself (grub-reboot, bootctl
            set-oneshot) and lets the watchdog reset: A comes back. The
            harness's own proof that resets go through the boot loader.
  fallback  B's initrd cannot find the root (made without virtio_blk; the
            same file GRUB, systemd-boot's ESP copy and kexec-chooser read):
            `kexec-chooser --yes B --watchdog T` in A → the watchdog resets
            → the loader boots A (the one-time entry kexec-chooser set), not
            its default B → confirm says fell-back; status names B as target,
            the fallback entry, and A as what came back; a file written and
            synced before is intact.
  checkfail (grub) a unit RequiredBy=boot-complete.target fails once in the
            warm boot → check-failed → a reboot through the firmware → A.
  healthy   warm reboot into a healthy B: the one-time entry names A before
            confirm runs (kct-early.service), confirm confirms and removes
            it (grubenv stays 1024 bytes); with --stay B stays up past the
            watchdog's timeout (grub); a cold reboot boots B, the default.

scripts/check.d/35-fallback.sh runs both guests side by side (--jobs 2)
with --stay 150: the GRUB guest stands in for safety.py's -kernel Debian
guest in test-all. Contract checks (the plan's "then A" line, the one-time
entry before confirm, status's fallback) are judged after the behaviour
they describe, so that a failure says first what the machine did.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ of the harness in the tree
import harness  # noqa: E402
import safety  # noqa: E402
from harness import DebianImage, Failure, Suite, log  # noqa: E402

LOADERS = {
    # loader: (packages installed in the root, status --json's name, QEMU's disks)
    "grub": (["grub-pc"], "grub", ["root.img"]),
    "sdboot": (["systemd-boot", "dosfstools", "fdisk"], "systemd-boot", ["root.img", "esp.img"]),
}
# The scenarios in the order the guest walks through them: each starts in A;
# healthy ends in B, so it comes last.
SCENARIOS = ["loader", "fallback", "checkfail", "healthy"]
DEFAULT = {"grub": ["loader", "fallback", "checkfail", "healthy"], "sdboot": ["fallback", "healthy"]}

# GRUB as Debian installs it, with a serial console and no menu (GRUB still
# says "Booting `TITLE'" there, which names the entry it chose).
GRUB_DEFAULTS = """GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_TIMEOUT_STYLE=hidden
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0,115200 no_timer_check"
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
"""
# systemd-boot's entries (kernel-install) boot the root with this line.
KERNEL_CMDLINE = "root=/dev/vda ro console=ttyS0,115200 no_timer_check\n"
ESP_MB = 256
# What SeaBIOS and OVMF say when no boot loader starts.
NOTHING_TO_BOOT = r"UEFI Interactive Shell|No bootable device|Boot failed: not a bootable disk|error: no such device"


def version_key(release):
    return [int(x) for x in re.findall(r"\d+", release)]


def releases():
    """(A, B): the two generic releases, older first (B is then the
    boot loader's default, as the newest kernel is on Debian)."""
    a, b = sorted(safety.releases(), key=version_key)
    return a, b


def chroot(root, *argv):
    harness.run(["chroot", str(root), *argv], stdout=subprocess.DEVNULL,
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C"))


def prepare(loader, a, b):
    """derived_root's preparation of a fall-back guest's root: the loader's
    packages, the kernel the root lacks, every initrd small (safety.py's
    SMALL_INITRAMFS, kept: this root is the test's own), and B's broken
    initrd beside its good one in /var/lib/kct."""
    def prep(root):
        (root / "etc/initramfs-tools/conf.d/kct-small").write_text(safety.SMALL_INITRAMFS)
        modules = root / "etc/initramfs-tools/modules"
        saved = modules.read_text()
        modules.write_text(saved + safety.SMALL_MODULES)
        chroot(root, "apt-get", "update", "-qq")
        chroot(root, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *LOADERS[loader][0])
        # The cloud flavour lacks i6300esb and would only lengthen the menu.
        cloud = f"linux-image-{a.replace('-amd64', '-cloud-amd64')}"
        chroot(root, "apt-get", "purge", "-y", "-qq", "linux-image-cloud-amd64", cloud)
        chroot(root, "apt-get", "clean")
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        (root / "var/lib/apt/lists/partial").mkdir(parents=True)
        have = {p.name for p in (root / "lib/modules").iterdir()}
        for release in (a, b):
            if release not in have:
                shutil.copy2(harness.deb(f"linux-image-{release}", "amd64"), root / "tmp/kernel.deb")
                chroot(root, "dpkg", "-i", "/tmp/kernel.deb")
                (root / "tmp/kernel.deb").unlink()
            else:
                chroot(root, "update-initramfs", "-u", "-k", release)
        kct = root / "var/lib/kct"
        kct.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / "boot" / f"initrd.img-{b}", kct / "initrd-good")
        modules.write_text(saved + safety.SMALL_MODULES.replace("virtio_blk\n", ""))
        chroot(root, "mkinitramfs", "-o", "/var/lib/kct/initrd-broken", b)
        modules.write_text(saved + safety.SMALL_MODULES)
        if loader == "grub":
            (root / "etc/default/grub").write_text(GRUB_DEFAULTS)
        else:
            (root / "etc/kernel/cmdline").write_text(KERNEL_CMDLINE)
            (root / "etc/kernel/install.conf").write_text("layout=bls\n")
        log(f"{loader} root: initrd of {b} {(kct / 'initrd-good').stat().st_size >> 20} MB, "
            f"without virtio_blk {(kct / 'initrd-broken').stat().st_size >> 20} MB")
    return prep


def env_text(loader, a, b, timeout=0, stay=0):
    return f"LOADER={loader}\nA={a}\nB={b}\nTIMEOUT={timeout}\nSTAY={stay}\n"


def tag(*parts):
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def cached_disks(work, loader):
    """This run's copies of the loader's disks, made once (installed_disks)
    by an install boot: the root image (and ESP and OVMF variables)."""
    a, b = releases()
    root_tag = tag(loader, a, b, " ".join(LOADERS[loader][0]), safety.SMALL_INITRAMFS, safety.SMALL_MODULES,
                   GRUB_DEFAULTS, KERNEL_CMDLINE)
    devices = " ".join(safety.WATCHDOG["devices"])
    # A new install script makes new disks (guest-lib.sh, which it sources,
    # does not: the test installs its own copy).
    name = f"fallback-{loader}-{tag(root_tag, devices, (harness.VM / 'fallback-install.sh').read_text())}"

    def make(dest):
        base = harness.derived_root("bookworm", f"fallback-{loader}-{root_tag}", prepare(loader, a, b))
        image = DebianImage(work, "bookworm", hostname=f"kct-{loader}", base=base)
        for unit in safety.SLOW_UNITS:
            image.link(f"etc/systemd/system/{unit}", "/dev/null")
        image.write("etc/modprobe.d/kct-tcg.conf", "".join(f"blacklist {m}\n" for m in safety.SLOW_MODULES))
        image.write("var/lib/kct/env", env_text(loader, a, b))
        image.add_test("fallback-install.sh")
        img = image.image("root")
        # The install boot starts A by -kernel (no boot loader yet).
        for f, name in ((f"vmlinuz-{a}", "vmlinuz"), (f"initrd.img-{a}", "initrd")):
            shutil.copy2(image.root / "boot" / f, work / name)
        shutil.rmtree(image.root)
        # The test's devices in every boot: OVMF's boot options name the ESP
        # by its PCI slot, which the i6300esb would otherwise move.
        kernel = dict(kernel=work / "vmlinuz", initrd=work / "initrd", devices=safety.WATCHDOG["devices"],
                      append=f"console=ttyS0 root=/dev/vda ro panic=-1 {harness.AMD64.append}")
        if loader == "grub":
            q = harness.Qemu(harness.AMD64, disks=[img], **kernel)
            harness.boot(q, "fallback-grub-install", lambda c: installed(c, "grub", a))
        else:
            esp = work / "esp.img"
            harness.run(["truncate", "-s", f"{ESP_MB}M", str(esp)])
            efi_vars = work / "efivars.fd"
            shutil.copy2(harness.OVMF_VARS, efi_vars)
            q = harness.Qemu(harness.AMD64, disks=[img, esp], args=harness.ovmf_args(efi_vars), **kernel)
            harness.boot(q, "fallback-sdboot-install", lambda c: installed(c, "systemd-boot", a))
            # Booted by OVMF and systemd-boot: its default, B, sets the one-time entry.
            q = harness.firmware_qemu([img, esp], efi_vars, devices=safety.WATCHDOG["devices"])
            harness.boot(q, "fallback-sdboot-oneshot", lambda c: installed(c, "set-oneshot", b))
            shutil.move(esp, dest / "esp.img")
            shutil.move(efi_vars, dest / "efivars.fd")
        shutil.move(img, dest / "root.img")

    if not (harness.CACHE / "images" / name / ".done").exists():
        # What earlier scripts made for this loader is of no use any more
        # (a few GB each): only the current root and disks are kept.
        keep = {name, f"{name}.tmp", f"fallback-{loader}-{root_tag}", f"fallback-{loader}-{root_tag}.tmp"}
        for old in [*(harness.CACHE / "images").glob(f"fallback-{loader}-*"),
                    *(harness.CACHE / "debian").glob(f"*-fallback-{loader}-*")]:
            if not any(old.name == k or old.name.endswith(f"-{k}") for k in keep):
                log(f"removing the stale {old}")
                shutil.rmtree(old, ignore_errors=True)
    return harness.installed_disks(name, make, work / f"disks-{loader}")


def installed(c, what, release):
    """An install boot ran RELEASE, said `installed WHAT` (or `set-oneshot`)
    and powered off."""
    i, m, _ = c.kct(r"install booted release=(\S+)", 900)
    if m.group(1) != release:
        raise Failure(f"the install boot runs {m.group(1)}, not {release}")
    i, m, _ = c.expect(rf"^KCT: (install failed.*|installed {what}.*|{what} .*)", 1200, i)
    if "install failed" in m.group(1):
        raise Failure(f"install boot: {m.group(1)}")
    log(f"install boot ({what}): {m.group(1)}")
    c.wait_exit(300)


def prepare_run(disks, artifact, loader, timeout, stay, scenarios):
    """Installs the .deb and the test into this run's root image; returns
    the entry ids of A and B that the install boot found."""
    a, b = releases()
    with harness.mounted(disks / "root.img") as mnt:
        root = harness.MountedRoot(mnt)
        root.install_kexec_chooser(artifact)
        root.add_test("fallback-test.sh", after="kexec-chooser-confirm.service multi-user.target",
                      target="graphical.target")
        # The one-time entry as it is before confirm can touch it.
        root.add_early()
        root.add_failing_check()
        root.write("var/lib/kct/env", env_text(loader, a, b, timeout, stay))
        root.write("var/lib/kct/phase", f"{scenarios[0]}\n")
        root.write("var/lib/kct/todo", " ".join(scenarios[1:]) + "\n")
        return tuple((mnt / f"var/lib/kct/entry-{r}").read_text().strip() for r in "AB")


# ---------------------------------------------------------------- the run

class Run:
    """One QEMU run's console and what the scenarios share: the kernel
    starts seen so far, A, B, the loader, A's and B's entries."""

    def __init__(self, c, loader, entries, timeout):
        self.c = c
        self.loader = loader
        self.a, self.b = releases()
        self.entry_a, self.entry_b = entries
        self.timeout = timeout
        self.n = 0
        self.said = []  # one line per scenario, for the summary

    def banner(self, why, timeout=900):
        """The next kernel start; (its index, release, what the boot loader
        said it chose since the previous kernel)."""
        prev = self.c.kernel_start(self.n, 10) if self.n else 0
        # A firmware that finds nothing to boot waits forever: fail at once.
        _, m, _ = self.c.expect(rf"{harness.BANNER}|{NOTHING_TO_BOOT}", timeout, prev + 1)
        if not re.search(harness.BANNER, m.group(0)):
            raise Failure(f"{why}: the firmware found nothing to boot: {m.group(0)!r}")
        self.n += 1
        j = self.c.kernel_start(self.n, timeout)
        m = re.search(r"Linux version (\S+)", self.c.lines[j][1])
        chose = [m2.group(1) for _, l in self.c.lines[prev:j] for m2 in [re.search(r"Booting `(.*)'", l)] if m2]
        if not m:
            raise Failure(f"{why}: no release in the banner {self.c.lines[j][1]!r}")
        return j, m.group(1), (f" (GRUB: booting {chose[-1]!r})" if chose else "")

    def boot(self, release, why, timeout=900):
        """The next kernel start runs RELEASE (else a failure saying WHY it
        should have) and reports: the index of its loader line, its loader
        report (kind, next, selected, grubenv)."""
        j, got, chose = self.banner(why, timeout)
        if got != release:
            raise Failure(f"{why}: {got} booted, not {release}{chose}")
        i = safety.boot_of(self.c, self.n, release, 30)
        return i

    def loader_line(self, after, prefix="loader", timeout=120):
        i, m, _ = self.c.kct(rf"{prefix} (?:release=\S+ )?kind=(\S+) next=(\S*) selected=(\S*) grubenv=(\S*)",
                             timeout, after)
        return i, dict(zip(["kind", "next", "selected", "grubenv"], m.groups()))

    def no_one_time_entry(self, loader, when):
        if loader["next"]:
            raise Failure(f"{when}: the one-time entry is still set: {loader['next']!r}")
        if self.loader == "grub" and loader["grubenv"] != "1024":
            raise Failure(f"{when}: /boot/grub/grubenv is {loader['grubenv']} bytes, not GRUB's 1024")

    def phase(self, name, after, timeout=120):
        i, _, _ = self.c.kct(rf"phase={re.escape(name)}$", timeout, after)
        return i

    def plan(self, after):
        """The dry run's lines before the warm reboot: (index of the warm
        reboot's line, the plan's safety line). Judged by plan_says_a once
        the scenario's behaviour was seen."""
        i, _, _ = self.c.kct(r"warm reboot into", 300, after)
        lines = [l[len("KCT: plan "):] for _, l in self.c.lines[after:i] if l.startswith("KCT: plan ")]
        safety_line = next((l for l in lines if "does not come up" in l), None)
        return i, (safety_line or " | ".join(l for l in lines if "watchdog" in l or "safety" in l)
                   or " | ".join(lines[-5:]))

    def plan_says_a(self, line):
        if not re.search(rf"does not come up.*then {re.escape(self.a)}\b", line):
            raise Failure(f"the plan does not say that {self.a} comes back if {self.b} does not come up: {line}")

    def record(self, w, result):
        """status --json's last_warm_reboot after a warm reboot A → B."""
        safety.expect_record(w, result, self.b, self.a, timeout=self.timeout)
        want = {"loader": LOADERS[self.loader][1], "entry": self.entry_a, "release": self.a}
        got = w.get("fallback")
        if not isinstance(got, dict) or {k: got.get(k) for k in want} != want:
            raise Failure(f"status --json: fallback {got!r}, wanted {want}")

    def warm_boot(self, after):
        """kexec-chooser's hand-over and B's warm start; (index of its
        banner, host time of arming, ms the net took)."""
        i, arm_ms, armed_at = safety.armed_handover(self.c, after)
        j, got, _ = self.banner("the warm reboot", 600)
        if got != self.b:
            raise Failure(f"the warm reboot started {got}, not {self.b}")
        return j, armed_at, arm_ms

    def early(self, after):
        """kct-early's line in the warm boot: the one-time entry before
        confirm runs. Judged by early_names_a once the scenario's behaviour
        was seen."""
        return self.loader_line(after, "early", 600)

    def early_names_a(self, loader):
        if loader["next"] != self.entry_a:
            raise Failure(f"in the warm boot, before confirm: one-time entry {loader['next']!r}, "
                          f"wanted A's entry {self.entry_a!r} (set by kexec-chooser before the jump)")


def kexec_chooser_said(lines):
    """kexec-chooser's own messages among console lines (or (time, line)
    pairs), without the kernel's or journal's prefix."""
    texts = [l[1] if isinstance(l, tuple) else l for l in lines]
    return [t[t.index("kexec-chooser: "):].strip() for t in texts if "kexec-chooser: " in t]


def first_boot(r):
    """A, booted by the loader's one-time entry that the install boot set."""
    i = r.boot(r.a, "the first boot, by the one-time entry the install boot set")
    i, _, _, _ = safety.confirm_unit(r.c, i, None)
    i, loader = r.loader_line(i)
    r.no_one_time_entry(loader, "in the first boot")
    if r.loader == "sdboot" and loader["selected"] != r.entry_a:
        raise Failure(f"systemd-boot selected {loader['selected']!r}, not A's entry {r.entry_a!r}")
    return i


def scenario_loader(r, i):
    i = r.phase("loader", i)
    i, _, _ = r.c.kct(r"watchdog armed by hand", 120, i)
    armed_at = r.c.lines[i][0]
    j, secs = safety.watchdog_reset(r.c, r.n + 1, armed_at, 25)
    j, got, chose = r.banner("the reset after grub-reboot/set-oneshot A")
    if got != r.a:
        raise Failure(f"the loader's one-time entry A was not honoured after a watchdog reset: {got} booted{chose}")
    i = safety.boot_of(r.c, r.n, r.a, 30)
    i, loader = r.loader_line(i)
    r.no_one_time_entry(loader, "after the reset into the one-time entry")
    r.said.append(f"loader: one-time entry A set in the guest, watchdog reset {secs:.0f} s later, {got} back{chose}")
    return i


def scenario_fallback(r, i):
    i = r.phase("fallback", i)
    _, m, _ = r.c.kct(r"file sha256=(\w+)", 60, i)
    sha = m.group(1)
    i, plan = r.plan(i)
    j, armed_at, arm_ms = r.warm_boot(i)
    gave_up_at = j
    j, secs = safety.watchdog_reset(r.c, r.n + 1, armed_at, r.timeout)
    gave_up = any(re.search(r"Gave up waiting for root|ALERT!", l) for _, l in r.c.lines[gave_up_at:j])
    j, got, chose = r.banner("after the watchdog's reset")
    if got != r.a:
        raise Failure(f"after the watchdog's reset the boot loader booted {got}, its default, not {r.a}, "
                      f"the kernel that was running{chose}: {r.b} cannot boot, so the machine stays down")
    i = safety.boot_of(r.c, r.n, r.a, 30)
    i, w, _, said = safety.confirm_unit(r.c, i, "1")
    if not any(r.b in l and re.search(r"(?i)fell.back", l) for l in said):
        raise Failure(f"the confirm unit did not report a fall-back from {r.b}: {said}")
    r.record(w, "fell-back")
    if w.get("came_back") != r.a:
        raise Failure(f"status --json: came_back {w.get('came_back')!r}, wanted {r.a}")
    i, loader = r.loader_line(i)
    r.no_one_time_entry(loader, "after the fall-back")
    i = r.phase("fallback-back", i)
    i, m, _ = r.c.kct(r"file sha256=(\w+)", 60, i)
    if m.group(1) != sha:
        raise Failure("the file written and synced before the warm reboot changed")
    r.plan_says_a(plan)
    r.said.append(f"fallback: plan said '{plan}'; {r.b} without its disk driver "
                  f"({'its initramfs gave up' if gave_up else 'reset before its initramfs gave up'}), "
                  f"reset {secs:.0f} s after arming, {got} back{chose}; "
                  f"confirm said: {' | '.join(kexec_chooser_said(said))}; "
                  f"net set in {arm_ms:.1f} ms; file intact")
    return i


def scenario_checkfail(r, i):
    i = r.phase("checkfail", i)
    i, plan = r.plan(i)
    j, armed_at, _ = r.warm_boot(i)
    _, early = r.early(j)
    i, m, _ = r.c.expect(r"^KCT: (boot check fails|booted release)", 900, j)
    if m.group(1) != "boot check fails":
        raise Failure("the boot check RequiredBy=boot-complete.target never ran in the warm boot: "
                      "nothing pulled boot-complete.target in (kexec-chooser-confirm.service should Require it)")
    _, m, _ = r.c.expect(rf"{harness.BANNER}|^KCT: checkfail: this boot went on", 900, i)
    if "went on" in m.group(0):
        _, w = safety.status_of(r.c, i)
        told = kexec_chooser_said(r.c.lines[j:])
        raise Failure(f"the warm boot went on after its boot check failed: confirm recorded "
                      f"{(w or {}).get('result')!r}, wanted check-failed and a reboot; said: {' | '.join(told)}")
    k, got, chose = r.banner("after the failed boot check", 900)
    prev = r.c.kernel_start(r.n - 1, 10)
    told = kexec_chooser_said(r.c.lines[prev:k])
    if not any(re.search(safety.REBOOT_LINE, l) for _, l in r.c.lines[prev:k]):
        raise Failure(f"after the failed boot check, a kernel started without a reboot (a watchdog reset?): "
                      f"{' | '.join(told) or 'confirm said nothing'}")
    if got != r.a:
        raise Failure(f"after check-failed the boot loader booted {got}, not {r.a} (the running kernel's entry)"
                      f"{chose}; confirm said: {' | '.join(told)}")
    i = safety.boot_of(r.c, r.n, r.a, 30)
    i, w, _, _ = safety.confirm_unit(r.c, i, None)
    r.record(w, "check-failed")
    i, loader = r.loader_line(i)
    r.no_one_time_entry(loader, "back in A after check-failed")
    i = r.phase("checkfail-back", i)
    r.early_names_a(early)
    r.plan_says_a(plan)
    r.said.append(f"checkfail: the check failed in the warm boot, firmware reboot, {got} back{chose}; "
                  f"said: {' | '.join(told[-3:])}")
    return i


def scenario_healthy(r, i, stay):
    i = r.phase("healthy", i)
    i, plan = r.plan(i)
    j, armed_at, arm_ms = r.warm_boot(i)
    _, early = r.early(j)
    i = safety.boot_of(r.c, r.n, r.b, 600)
    i, w, confirm_ms, _ = safety.confirm_unit(r.c, i, "0")
    r.record(w, "confirmed")
    seconds = w.get("seconds")
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        raise Failure(f"status --json: seconds {seconds!r} for a confirmed warm reboot")
    i, loader = r.loader_line(i)
    r.no_one_time_entry(loader, "after the confirmation")
    i = r.phase("healthy-warm", i)
    up = ""
    if stay:
        i, up = safety.stayed_up(r.c, i, r"^KCT: cold reboot")
        up = f", stayed up ({up})"
    r.c.kct(r"cold reboot", 60, i)
    j, got, chose = r.banner("the cold reboot after the confirmation")
    prev = r.c.kernel_start(r.n - 1, 10)
    if not any(re.search(safety.REBOOT_LINE, l) for _, l in r.c.lines[prev:j]):
        raise Failure("the cold reboot came by a reset, not by systemctl reboot (was the watchdog left armed?)")
    if got != r.b:
        raise Failure(f"a cold reboot after the confirmed warm reboot booted {got}, not the default {r.b}{chose}")
    i = safety.boot_of(r.c, r.n, r.b, 30)
    i, _, _, _ = safety.confirm_unit(r.c, i, None)
    i, loader = r.loader_line(i)
    if r.loader == "sdboot" and loader["selected"] != r.entry_b:
        raise Failure(f"systemd-boot selected {loader['selected']!r}, not B's entry {r.entry_b!r}")
    i = r.phase("cold", i)
    r.early_names_a(early)
    r.plan_says_a(plan)
    r.said.append(f"healthy: confirmed in {seconds} s, one-time entry gone{up}; cold reboot: {got}{chose}; "
                  f"net set in {arm_ms:.1f} ms, confirm unit {confirm_ms:.1f} ms")
    return i


def setup(work, loader, artifact, timeout, stay, scenarios):
    """This run's disks, with the .deb and the test installed, and its
    QEMU; (Qemu, A's and B's entries)."""
    disks = cached_disks(work, loader)
    entries = prepare_run(disks, artifact, loader, timeout, stay, scenarios)
    names = LOADERS[loader][2]
    q = harness.firmware_qemu([disks / n for n in names],
                              disks / "efivars.fd" if loader == "sdboot" else None, **safety.WATCHDOG)
    return q, entries


def test(loader, prepared, timeout, stay, scenarios, echo=False):
    """The guest's one QEMU run through SCENARIOS."""
    q, entries = prepared

    def body(c):
        r = Run(c, loader, entries, timeout)
        i = first_boot(r)
        for s in scenarios:
            if s == "healthy":
                i = scenario_healthy(r, i, stay)
            else:
                i = globals()[f"scenario_{s}"](r, i)
        c.kct(r"done", 120, i)
        c.wait_exit(300)
        return r.said

    said = harness.boot(q, f"fallback-{loader}", body, echo=echo)
    for line in said:
        log(f"{loader}: {line}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["grub", "sdboot"], help="grub, sdboot (default: both)")
    ap.add_argument("--scenarios", help=f"comma-separated, of {','.join(SCENARIOS)} "
                    "(default: grub all, sdboot fallback,healthy)")
    ap.add_argument("--artifact", help="the .deb (default: KC_DEB)")
    ap.add_argument("--timeout", type=int, default=120, help="--watchdog SECONDS (default: 120)")
    ap.add_argument("--stay", type=int, default=0,
                    help="seconds the GRUB guest's confirmed warm boot stays up, past the watchdog's timeout: "
                    "the watchdog was disarmed (default: 0)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--echo", action="store_true", help="copy the serial consoles to stdout")
    ap.add_argument("--jobs", type=int, default=1, help="guests run at once (default: 1)")
    args = ap.parse_args()
    suite = Suite("fallback", "fallback")
    artifact = args.artifact or os.environ.get("KC_DEB")
    if not artifact:
        log("give the .deb with --artifact or KC_DEB (cargo deb)")
        return 2

    def scenarios(loader):
        chosen = args.scenarios.split(",") if args.scenarios else DEFAULT[loader]
        bad = [s for s in chosen if s not in SCENARIOS]
        if bad:
            raise Failure(f"no scenario {', '.join(bad)}")
        return [s for s in SCENARIOS if s in chosen]

    def stay(loader):
        return args.stay if loader == "grub" else 0

    # The guests' disks are made and changed one at a time (they share the
    # cache); with --jobs 2 their QEMU runs then go side by side, one host
    # core each: with -icount a busy host slows a guest's clock with it,
    # not its timeouts.
    setting_up = threading.Lock()

    def one(loader):
        with setting_up:
            prepared = setup(suite.work, loader, artifact, args.timeout, stay(loader), scenarios(loader))
        test(loader, prepared, args.timeout, stay(loader), scenarios(loader), args.echo)

    tests = {loader: (lambda loader=loader: one(loader)) for loader in LOADERS}
    return suite.run(args.tests, tests, keep=args.keep, jobs=args.jobs)


if __name__ == "__main__":
    sys.exit(main())
