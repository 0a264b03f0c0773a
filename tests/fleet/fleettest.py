#!/usr/bin/env python3
"""End-to-end proof of contrib/ansible, run as root.

One Debian 12 systemd guest under QEMU (-accel tcg), reached by Ansible over
SSH on a loopback port forward (hostfwd=tcp:127.0.0.1:PORT-:22):

  1. rolling-kexec.yml installs the .deb built by `cargo deb`, warm-reboots
     the guest from release A (the one QEMU booted) into release B (pinned
     with kexec_chooser_kernel), waits for kexec-chooser-confirm.service to
     confirm it and asserts B runs. The test checks the playbook succeeded,
     the result file says A -> B, confirmed, with the seconds to the
     confirmation, the boot id changed, the kernel logged exactly one kexec,
     and `uname -r` over SSH is B.
  2. disk-report.yml gathers `kexec-chooser disk --json` into one report on
     the controller: rows for / when the package has `disk`, else the guest
     kept in the report with state "error" and the message.
  3. The test sets kernel.kexec_load_disabled=1 in the running guest (one
     way: it stays 1 until the next boot) and runs rolling-kexec.yml again,
     serial 1, with a second host after it in the inventory: the guest must
     fail with the reason from `status --json`, the boot id must not change,
     the kernel must log no further kexec, and the roll-out must stop before
     the second host's batch (it never appears in the recap).

The guest comes from tests/vm/harness.py (imported, not copied): the
shared Debian 12 systemd root (with openssh-server, python3, python3-apt
and sudo for Ansible, and the generic and cloud kernel releases to choose
between), copied and written to an image for this run, with SSH on a
loopback port forward; QEMU, its serial console and the cache
(${CACHE_DIR:-/var/cache/kexec-chooser-tests}) are the harness's too.
Ansible comes from the venv of scripts/setup.d/80-fleet.sh. Only the
standard library.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ of the harness in the tree
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "vm"))
import harness  # noqa: E402
from harness import Failure, log, run  # noqa: E402

CACHE = harness.CACHE / "fleet"
VENV = CACHE / "venv"
ANSIBLE_DIR = REPO / "contrib" / "ansible"
KEXEC_LINE = r"kexec_core: Starting new kernel"
DISABLED_REASON = "kexec_load_disabled is 1 until the next boot"


# ---------------------------------------------------------------- artefacts

def build_deb():
    """The package the role installs: KC_DEB if given, else `cargo deb`."""
    if os.environ.get("KC_DEB"):
        return Path(os.environ["KC_DEB"]).resolve()  # ansible-playbook runs in contrib/ansible
    log("building the .deb with cargo deb")
    out = run(["cargo", "deb", "--locked", "--quiet"], cwd=REPO, capture_output=True, text=True).stdout
    deb = Path(out.strip().splitlines()[-1])
    if not deb.is_file():
        raise Failure(f"cargo deb did not name a .deb (got {out!r})")
    return deb


class Guest:
    """The Debian 12 guest booted in release A, its console, and SSH to it.
    The package is not in the image: installing it is the role's job."""

    def __init__(self, work):
        self.work = work
        image = harness.DebianImage(work, "bookworm", hostname="fleet-guest")
        releases = image.releases()
        generic = [r for r in releases if not r.endswith("-cloud-amd64")]
        cloud = [r for r in releases if r.endswith("-cloud-amd64")]
        if not generic or not cloud:
            raise Failure(f"the guest needs a generic and a cloud release, it has {releases}")
        self.release_a, self.release_b = generic[-1], cloud[-1]
        self.ssh = harness.Ssh(work, image)
        image.image("fleet")
        log(f"booting {self.release_a}; the playbook is to warm-reboot it into {self.release_b}")
        self.console = harness.Console(image.qemu(self.release_a, ssh_port=self.ssh.port).argv(), "fleet")

    def kexecs(self):
        return self.console.count(KEXEC_LINE)

    def kexec_to_sshd(self):
        """Host seconds from the kernel's kexec line to sshd started again."""
        lines = list(self.console.lines)
        k = next((i for i, (_, l) in enumerate(lines) if KEXEC_LINE in l), None)
        if k is None:
            return None
        s = next((t for t, l in lines[k:] if re.search(r"Started .*ssh\.service", l)), None)
        return None if s is None else s - lines[k][0]


def inventory(guest, deb, kernel, report_dir, name="inventory.json", next_batch_port=None):
    """The test inventory: one host, root over SSH with the test's key, and
    host key checking kept on against the guest's own host key."""
    inv = guest.work / name
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": guest.ssh.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(guest.ssh.key),
        "ansible_ssh_common_args": " ".join(guest.ssh.options()),
        "ansible_python_interpreter": "/usr/bin/python3",
        "kexec_chooser_deb": str(deb),
        "kexec_chooser_kernel": kernel,
        "kexec_chooser_report_dir": str(report_dir),
    }
    hosts = {"guest": host}
    if next_batch_port is not None:
        # A host after the guest in inventory order, so in the next batch with
        # serial 1; nothing listens on its port, so reaching it at all would
        # show in the recap as unreachable.
        hosts["next-batch"] = dict(host, ansible_port=next_batch_port)
    inv.write_text(json.dumps({"all": {"hosts": hosts}}, indent=1))
    return inv


def playbook(name, inv, log_name, extra=()):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"), ANSIBLE_HOST_KEY_CHECKING="True",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{VENV / 'bin'}:{os.environ['PATH']}")
    started = time.monotonic()
    r = subprocess.run([str(VENV / "bin/ansible-playbook"), "-i", str(inv), name, *extra],
                       cwd=ANSIBLE_DIR, env=env, capture_output=True, text=True, timeout=1200)
    secs = time.monotonic() - started
    harness.LOGS.mkdir(parents=True, exist_ok=True)
    path = harness.LOGS / f"fleet-{log_name}.ansible.log"
    path.write_text(r.stdout + r.stderr)
    return r.returncode, r.stdout + r.stderr, secs, path


def recap(out):
    m = re.search(r"^guest\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)
    if not m:
        raise Failure("no PLAY RECAP line for the guest in the output")
    return dict(zip(["ok", "changed", "unreachable", "failed"], map(int, m.groups())))


def has_disk(guest):
    """Whether the installed package has `disk` (its branch may not be merged)."""
    return guest.ssh("kexec-chooser", "disk", "--json", "/", check=False).startswith("[")


# ---------------------------------------------------------------- the test

def test_fleet(work, args):
    deb = build_deb()
    guest = Guest(work)
    try:
        steps(guest, deb, args)
    except BaseException:
        guest.console.close()
        guest.console.report(tail=30)
        raise
    guest.console.close()
    guest.console.save()


def steps(guest, deb, args):
    work = guest.work
    t_boot = time.monotonic()
    guest.ssh.wait(guest.console, 600)
    log(f"SSH answers after {time.monotonic() - t_boot:.0f} s of boot")
    if guest.ssh("uname", "-r") != guest.release_a:
        raise Failure(f"the guest did not boot {guest.release_a}")
    boot_id = guest.ssh("cat", "/proc/sys/kernel/random/boot_id")
    reports = work / "reports"
    reports.mkdir()
    inv = inventory(guest, deb, guest.release_b, reports)

    # 1. The warm reboot.
    rc, out, secs, path = playbook("rolling-kexec.yml", inv, "rolling-kexec")
    if rc != 0:
        raise Failure(f"rolling-kexec.yml exited {rc}; log in {path}:\n{out[-3000:]}")
    r = recap(out)
    if r["failed"] or r["unreachable"]:
        raise Failure(f"rolling-kexec.yml: {r}")
    result = json.loads((reports / "guest.json").read_text())
    if (result["release_before"], result["release_after"], result["rebooted"]) != (guest.release_a, guest.release_b, True):
        raise Failure(f"the result file says {result}, wanted {guest.release_a} -> {guest.release_b}, rebooted")
    confirmed = result.get("confirmed_seconds")
    if result.get("warm_reboot") != "confirmed" or not isinstance(confirmed, (int, float)) or confirmed <= 0:
        raise Failure(f"the result file says {result}, wanted warm_reboot confirmed with its seconds")
    if guest.ssh("uname", "-r") != guest.release_b:
        raise Failure(f"after the playbook the guest does not run {guest.release_b}")
    new_id = guest.ssh("cat", "/proc/sys/kernel/random/boot_id")
    if new_id == boot_id:
        raise Failure("the boot id did not change: the guest did not reboot")
    if guest.kexecs() != 1:
        raise Failure(f"the kernel logged {guest.kexecs()} kexecs, wanted exactly 1")
    if guest.console.proc.poll() is not None:
        raise Failure("QEMU exited (-no-reboot): the guest rebooted through the firmware")
    up = guest.kexec_to_sshd()
    log(f"PASS warm reboot {guest.release_a} -> {guest.release_b}: playbook {secs:.1f} s, "
        f"warm reboot inside it {float(result['seconds']):.1f} s (ansible.builtin.reboot's elapsed), "
        f"confirmed {confirmed:.1f} s after the command")
    print(f"fleet: playbook {secs:.1f} s, warm reboot {float(result['seconds']):.1f} s "
          f"(of which kexec to sshd up {up if up is None else round(up, 1)} s) "
          f"({guest.release_a} -> {guest.release_b})", flush=True)

    # 2. The disk report.
    disk_extra = []
    if not has_disk(guest) and args.disk_bin:
        # By hand only: a binary that has `disk` stands in for the package's.
        run(["scp", "-i", str(guest.ssh.key), "-P", str(guest.ssh.port), *guest.ssh.options(),
             args.disk_bin, "root@127.0.0.1:/usr/local/sbin/kexec-chooser-disk"], capture_output=True)
        disk_extra = ["-e", "kexec_chooser_bin=/usr/local/sbin/kexec-chooser-disk"]
        log(f"the package has no `disk`: using {args.disk_bin} for the disk report")
    report = work / "disk-report.json"
    rc, out, _, path = playbook("disk-report.yml", inv, "disk-report",
                                ["-e", f"kexec_chooser_disk_report={report}", *disk_extra])
    entry = json.loads(report.read_text())["hosts"]["guest"]
    if disk_extra or has_disk(guest):
        if rc != 0:
            raise Failure(f"disk-report.yml exited {rc}; log in {path}")
        rows = entry["filesystems"]
        if entry["state"] not in ("ok", "warning", "critical", "unknown") or not any(
                row.get("mount") == "/" and isinstance(row.get("size_bytes"), int) for row in rows):
            raise Failure(f"the disk report has no row for / with a size: {entry}")
        log(f"PASS disk report: {len(rows)} filesystem(s) of the guest on the controller, state {entry['state']}")
    else:
        # Without `disk`, the report must still name the host and why.
        if rc == 0 or entry["state"] != "error" or not entry["error"]:
            raise Failure(f"disk-report.yml without `disk`: exit {rc}, entry {entry}; log in {path}")
        log(f"PASS disk report without `disk` in the package: the guest is reported as error: "
            f"{entry['error'].splitlines()[0]}")

    # 3. kexec_load_disabled=1: the host fails with the reason, nothing reboots.
    guest.ssh("sysctl", "-q", "-w", "kernel.kexec_load_disabled=1")
    inv2 = inventory(guest, deb, guest.release_b, reports, "inventory-disabled.json",
                     harness.free_port())
    rc, out, _, path = playbook("rolling-kexec.yml", inv2, "rolling-kexec-disabled",
                                ["-e", "kexec_chooser_serial=1"])
    if rc == 0:
        raise Failure(f"rolling-kexec.yml passed on a guest with kexec_load_disabled=1; log in {path}")
    r = recap(out)
    if r["failed"] != 1:
        raise Failure(f"the disabled guest is not failed in the recap: {r}")
    if re.search(r"^next-batch\s+:", out, re.M):
        raise Failure(f"the roll-out went on to the next batch after a failed host; log in {path}")
    if DISABLED_REASON not in out:
        raise Failure(f"the failure does not give the reason {DISABLED_REASON!r}; log in {path}")
    if guest.ssh("cat", "/proc/sys/kernel/random/boot_id") != new_id:
        raise Failure("the boot id changed: the guest rebooted")
    if guest.kexecs() != 1 or guest.ssh("cat", "/sys/kernel/kexec_loaded") != "0":
        raise Failure("a kernel was loaded or a kexec happened on the disabled guest")
    log(f"PASS kexec_load_disabled=1: the host failed with {DISABLED_REASON!r}, boot id unchanged, "
        "the next batch (serial 1) never started")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--disk-bin", help="by hand: a kexec-chooser binary with `disk`, used for the "
                    "disk report when the package has none")
    args = ap.parse_args()
    if not (VENV / "bin/ansible-playbook").exists():
        log(f"no {VENV}: run scripts/setup.d/80-fleet.sh")
        return 2
    suite = harness.Suite("fleettest", "fleet")
    started = time.monotonic()
    rc = suite.run(["fleet"], {"fleet": lambda: test_fleet(suite.work, args)}, keep=args.keep)
    log(f"whole fleet test {time.monotonic() - started:.0f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
