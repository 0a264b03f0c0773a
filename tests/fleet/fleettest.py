#!/usr/bin/env python3
"""End-to-end proof of contrib/ansible (issue 11), run as root.

One Debian 12 systemd guest under QEMU (-accel tcg), reached by Ansible over
SSH on a loopback port forward (hostfwd=tcp:127.0.0.1:PORT-:22):

  1. rolling-kexec.yml installs the .deb built by `cargo deb`, warm-reboots
     the guest from release A (the one QEMU booted) into release B (pinned
     with kexec_chooser_kernel) and asserts B runs. The test checks the
     playbook succeeded, the result file says A -> B, the boot id changed,
     the kernel logged exactly one kexec, and `uname -r` over SSH is B.
  2. disk-report.yml gathers `kexec-chooser disk --json` into one report on
     the controller: rows for / when the package has `disk`, else the guest
     kept in the report with state "error" and the message.
  3. The test sets kernel.kexec_load_disabled=1 in the running guest (one
     way: it stays 1 until the next boot) and runs rolling-kexec.yml again,
     serial 1, with a second host after it in the inventory: the guest must
     fail with the reason from `status --json`, the boot id must not change,
     the kernel must log no further kexec, and the roll-out must stop before
     the second host's batch (it never appears in the recap).

The guest, its QEMU command line and its serial console come from
tests/vm/vmtest.py (imported, not copied); only its package list differs
(openssh-server, python3 and python3-apt for Ansible, sudo for `become`, and
a second kernel release, linux-image-cloud-amd64, to choose). The root tree
is made once with debootstrap and cached under
${CACHE_DIR:-/var/cache/kexec-chooser-tests}/fleet/debian12. Ansible comes
from the venv of scripts/setup.d/80-fleet.sh. Only the standard library.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # importing vmtest must not litter the tree
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "vm"))
import vmtest  # noqa: E402
from vmtest import Failure, run  # noqa: E402

CACHE = Path(os.environ.get("CACHE_DIR", "/var/cache/kexec-chooser-tests")) / "fleet"
VENV = CACHE / "venv"
# The serial log of vmtest.Console goes beside this test's Ansible logs.
vmtest.LOGS = CACHE / "logs"
ROOT = CACHE / "debian12"
ANSIBLE_DIR = REPO / "contrib" / "ansible"
INCLUDE = ["systemd-sysv", "udev", "dbus", "linux-image-amd64", "linux-image-cloud-amd64",
           "initramfs-tools", "openssh-server", "python3", "python3-apt", "sudo"]
# systemd-networkd with QEMU's user-mode network: a fixed address, no DHCP wait.
NETWORK = """[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
"""
KEXEC_LINE = r"kexec_core: Starting new kernel"
DISABLED_REASON = "kexec_load_disabled is 1 until the next boot"


def log(msg):
    print(f"fleettest: {msg}", file=sys.stderr, flush=True)


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


def build_root():
    """debootstrap once (cached), then the test's own files (every run)."""
    if not (ROOT / ".done").exists():
        tmp = CACHE / "debian12.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        log("debootstrap of the Debian 12 guest with openssh-server and python3 (a few minutes)")
        run(["debootstrap", "--variant=minbase", "--include=" + ",".join(INCLUDE),
             "bookworm", str(tmp), "http://deb.debian.org/debian"], stdout=subprocess.DEVNULL)
        shutil.rmtree(ROOT, ignore_errors=True)
        tmp.rename(ROOT)
        (ROOT / ".done").touch()
    (ROOT / "etc/fstab").write_text("/dev/vda / ext4 rw,errors=remount-ro 0 1\n")
    (ROOT / "etc/hostname").write_text("fleet-guest\n")
    # sudo (become) looks its own host name up.
    (ROOT / "etc/hosts").write_text("127.0.0.1 localhost\n127.0.1.1 fleet-guest\n")
    (ROOT / "etc/systemd/network/10-qemu.network").write_text(NETWORK)
    systemd = ROOT / "etc/systemd/system"
    wants = systemd / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "systemd-networkd.service"
    if not link.is_symlink():
        link.symlink_to("/lib/systemd/system/systemd-networkd.service")
    # Speed under TCG: no gettys, no timers starting jobs during the run.
    for unit in ["serial-getty@ttyS0.service", "getty@tty1.service", "apt-daily.timer",
                 "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"]:
        mask = systemd / unit
        if not mask.is_symlink():
            mask.symlink_to("/dev/null")
    # The package is what the role installs: the cached tree never has it.
    if (ROOT / "usr/sbin/kexec-chooser").exists():
        run(["chroot", str(ROOT), "dpkg", "--purge", "kexec-chooser"], stdout=subprocess.DEVNULL)
    releases = sorted(p.name for p in (ROOT / "lib/modules").iterdir())
    generic = [r for r in releases if not r.endswith("-cloud-amd64")]
    cloud = [r for r in releases if r.endswith("-cloud-amd64")]
    if not generic or not cloud:
        raise Failure(f"the guest needs a generic and a cloud release, it has {releases}")
    return generic[-1], cloud[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Guest:
    """The QEMU guest, its console drained by a thread (a full pipe would
    stop QEMU), and SSH to it with the test's key and known host key."""

    def __init__(self, work, key, release, port):
        self.work, self.key, self.port = work, key, port
        self.img = work / "fleet.img"
        vmtest.mke2fs(self.img, vmtest.dir_mb(ROOT) + 512, ROOT, "root")
        append = "console=ttyS0 root=/dev/vda ro panic=-1 no_timer_check"
        argv = vmtest.qemu_argv(ROOT / "boot" / f"vmlinuz-{release}", ROOT / "boot" / f"initrd.img-{release}",
                                append, [self.img], memory=1024)
        argv += ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
                 "-device", "virtio-net-pci,netdev=n0"]
        self.known_hosts = work / "known_hosts"
        hostkey = (ROOT / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{port} {hostkey[0]} {hostkey[1]}\n")
        self.console = vmtest.Console(argv, "fleet")
        self.stop = threading.Event()
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        while not self.stop.is_set():
            if not self.console._read(time.monotonic() + 1):
                return

    def ssh_args(self):
        return ["-i", str(self.key), "-p", str(self.port), "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10"]

    def ssh(self, *cmd, check=True):
        r = subprocess.run(["ssh", *self.ssh_args(), "root@127.0.0.1", *cmd],
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise Failure(f"ssh {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout.strip()

    def wait_ssh(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.console.proc.poll() is not None:
                raise Failure("QEMU exited before SSH answered")
            r = subprocess.run(["ssh", *self.ssh_args(), "root@127.0.0.1", "true"],
                               capture_output=True, timeout=60)
            if r.returncode == 0:
                return
            time.sleep(3)
        raise Failure(f"SSH did not answer within {timeout}s")

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

    def close(self):
        self.stop.set()
        self.console.close()
        self.drain.join(timeout=5)
        return self.console.save()


def inventory(guest, deb, kernel, report_dir, name="inventory.json", next_batch_port=None):
    """The test inventory: one host, root over SSH with the test's key, and
    host key checking kept on against the guest's own host key."""
    inv = guest.work / name
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": guest.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(guest.key),
        "ansible_ssh_common_args": " ".join(guest.ssh_args()[4:]),
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
    (CACHE / "logs").mkdir(parents=True, exist_ok=True)
    path = CACHE / "logs" / f"{log_name}.ansible.log"
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

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--disk-bin", help="by hand: a kexec-chooser binary with `disk`, used for the "
                    "disk report when the package has none")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("fleettest: run as root (debootstrap, chroot)", file=sys.stderr)
        return 2
    if not (VENV / "bin/ansible-playbook").exists():
        print(f"fleettest: no {VENV}: run scripts/setup.d/80-fleet.sh", file=sys.stderr)
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=CACHE))
    guest = None
    t_all = time.monotonic()
    try:
        deb = build_deb()
        release_a, release_b = build_root()
        key = work / "id_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleettest", "-f", str(key)])
        ssh_dir = ROOT / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text((work / "id_ed25519.pub").read_text())
        os.chmod(ssh_dir / "authorized_keys", 0o600)
        log(f"booting {release_a}; the playbook is to warm-reboot it into {release_b}")
        guest = Guest(work, key, release_a, free_port())
        t_boot = time.monotonic()
        guest.wait_ssh(600)
        log(f"SSH answers after {time.monotonic() - t_boot:.0f} s of boot")
        if guest.ssh("uname", "-r") != release_a:
            raise Failure(f"the guest did not boot {release_a}")
        boot_id = guest.ssh("cat", "/proc/sys/kernel/random/boot_id")
        reports = work / "reports"
        reports.mkdir()
        inv = inventory(guest, deb, release_b, reports)

        # 1. The warm reboot.
        rc, out, secs, path = playbook("rolling-kexec.yml", inv, "rolling-kexec")
        if rc != 0:
            raise Failure(f"rolling-kexec.yml exited {rc}; log in {path}:\n{out[-3000:]}")
        r = recap(out)
        if r["failed"] or r["unreachable"]:
            raise Failure(f"rolling-kexec.yml: {r}")
        result = json.loads((reports / "guest.json").read_text())
        if (result["release_before"], result["release_after"], result["rebooted"]) != (release_a, release_b, True):
            raise Failure(f"the result file says {result}, wanted {release_a} -> {release_b}, rebooted")
        if guest.ssh("uname", "-r") != release_b:
            raise Failure(f"after the playbook the guest does not run {release_b}")
        new_id = guest.ssh("cat", "/proc/sys/kernel/random/boot_id")
        if new_id == boot_id:
            raise Failure("the boot id did not change: the guest did not reboot")
        if guest.kexecs() != 1:
            raise Failure(f"the kernel logged {guest.kexecs()} kexecs, wanted exactly 1")
        if guest.console.proc.poll() is not None:
            raise Failure("QEMU exited (-no-reboot): the guest rebooted through the firmware")
        up = guest.kexec_to_sshd()
        log(f"PASS warm reboot {release_a} -> {release_b}: playbook {secs:.1f} s, "
            f"warm reboot inside it {float(result['seconds']):.1f} s (ansible.builtin.reboot's elapsed)")
        print(f"fleet: playbook {secs:.1f} s, warm reboot {float(result['seconds']):.1f} s "
              f"(of which kexec to sshd up {up if up is None else round(up, 1)} s) "
              f"({release_a} -> {release_b})", flush=True)

        # 2. The disk report.
        disk_extra = []
        if not has_disk(guest) and args.disk_bin:
            # By hand only: a binary that has `disk` stands in for the package's.
            run(["scp", *guest.ssh_args()[:2], "-P", str(guest.port), *guest.ssh_args()[4:],
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
        inv2 = inventory(guest, deb, release_b, reports, "inventory-disabled.json", free_port())
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
    except (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as e:
        log(f"FAIL: {e}")
        if guest is not None:
            tail = guest.console.text().splitlines()[-30:]
            log(f"serial log saved to {guest.close()}; its tail:")
            guest = None
            for line in tail:
                print(f"    | {line}", file=sys.stderr)
        return 1
    finally:
        if guest is not None:
            guest.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        log(f"whole fleet test {time.monotonic() - t_all:.0f} s")
    print("fleet: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
