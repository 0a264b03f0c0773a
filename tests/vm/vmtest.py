#!/usr/bin/env python3
"""QEMU proof of kexec-chooser's warm reboot (issue 3), run as root.

Guests, built from Debian's packages and cached under
${CACHE_DIR:-/var/cache/kexec-chooser-tests}/vm (rebuilt when missing):
  * a busybox-static initramfs guest whose /boot (a virtio ext4 disk) holds two
    Debian kernel releases with their initrds, plus a virtio ext4 data disk;
  * a Debian 12 guest made with debootstrap --variant=minbase, booted under
    systemd from an ext4 root made with mke2fs -d.
Tests: direct (test 1), systemd (test 2), refusals (test 3). `demo` shows the
warm reboot of the busybox guest live; `bench` measures the speed figures.

QEMU runs with -accel tcg only (KVM hangs on the development machines), with a
timeout on every run; the serial log of a failed run is saved and its tail printed.
Only the Python standard library is used.
"""

import argparse
import hashlib
import lzma
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("CACHE_DIR", "/var/cache/kexec-chooser-tests")) / "vm"
LOGS = CACHE / "logs"
TARGET = "x86_64-unknown-linux-gnu"
# Modules the initramfs guest loads to reach its disks (ext4 wants crc32c
# through the crypto API, which modules.dep does not list).
GUEST_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"]
GARBAGE = "9.9.9-garbage"


class Failure(Exception):
    pass


def log(msg):
    print(f"vmtest: {msg}", file=sys.stderr, flush=True)


def run(argv, **kw):
    """Run a command (an argument vector, never a shell) and fail loudly."""
    kw.setdefault("check", True)
    return subprocess.run(argv, **kw)


# ---------------------------------------------------------------- artefacts

def kernel_packages():
    """Two Debian kernel packages with different releases: the ones the
    linux-image-amd64 versions in the archive depend on, or, when there is
    only one, the cloud flavour of the same ABI (its `uname -r` differs)."""
    out = run(["apt-cache", "show", "linux-image-amd64"], capture_output=True, text=True, check=False).stdout
    names = sorted(set(re.findall(r"^Depends: (linux-image-[0-9.]+-\d+-amd64)\b", out, re.M)))
    if not names:
        cached = sorted(p.name for p in (CACHE / "kernels").glob("linux-image-*") if p.is_dir())
        if len(cached) >= 2:
            return cached[-2:]
        raise Failure("apt-cache knows no linux-image-amd64: run apt-get update")
    if len(names) >= 2:
        return names[-2:]
    return [names[0].replace("-amd64", "-cloud-amd64"), names[0]]


def fetch_kernel(pkg):
    """Download and unpack a kernel package once; return (release, root dir)."""
    dest = CACHE / "kernels" / pkg
    if not (dest / ".done").exists():
        debs = CACHE / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        log(f"downloading {pkg}")
        run(["apt-get", "download", "-q", pkg], cwd=debs, stdout=subprocess.DEVNULL)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb), str(dest)])
        (dest / ".done").touch()
    release = next((dest / "lib/modules").iterdir()).name
    return release, dest


def modinfo_depends(data):
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def read_module(path):
    data = path.read_bytes()
    return lzma.decompress(data) if path.name.endswith(".xz") else data


def module_closure(kroot, release, wanted):
    """The .ko files `wanted` needs, in load order, read from each module's
    own `depends=` (no modules.dep ships in the package)."""
    index = {}
    for p in (kroot / "lib/modules" / release / "kernel").rglob("*.ko*"):
        index[p.name.split(".ko")[0].replace("-", "_")] = p
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            raise Failure(f"{release}: no module {name}")
        data = read_module(index[name])
        for dep in modinfo_depends(data):
            visit(dep)
        order.append((name, data))

    for w in wanted:
        visit(w)
    return order


def build_binary(profile="dev"):
    """The static guest binary: KC_BIN if given, else a crt-static build."""
    if os.environ.get("KC_BIN"):
        return Path(os.environ["KC_BIN"])
    env = dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static")
    argv = ["cargo", "build", "--quiet", "--locked", "--target", TARGET, "--bin", "kexec-chooser"]
    if profile == "release":
        argv.append("--release")
    log(f"building the static kexec-chooser ({profile})")
    run(argv, cwd=REPO, env=env)
    out = REPO / "target" / TARGET / ("release" if profile == "release" else "debug") / "kexec-chooser"
    return out


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


def stage_modules(stage, kernels, wanted):
    """Put the module closure of `wanted` for each (release, unpacked kernel
    package) into stage/lib/modules/RELEASE, with the order to load them."""
    for release, kroot in kernels:
        mdir = stage / "lib/modules" / release
        mdir.mkdir(parents=True)
        names = []
        for name, data in module_closure(kroot, release, wanted):
            (mdir / f"{name}.ko").write_bytes(data)
            names.append(f"{name}.ko")
        (mdir / "load-order").write_text("\n".join(names) + "\n")


def boot_dir(work, kernels, initrd):
    """A fresh work/boot holding each kernel, its config and `initrd` named
    as Debian names them."""
    boot = work / "boot"
    shutil.rmtree(boot, ignore_errors=True)
    boot.mkdir()
    for release, kroot in kernels:
        shutil.copy2(kroot / "boot" / f"vmlinuz-{release}", boot)
        shutil.copy2(kroot / "boot" / f"config-{release}", boot)
        shutil.copy2(initrd, boot / f"initrd.img-{release}")
    return boot


def pack_cpio(src, dest):
    files = sorted(str(p.relative_to(src)) for p in src.rglob("*"))
    with open(dest, "wb") as out:
        cpio = subprocess.Popen(["cpio", "--quiet", "-o", "-H", "newc", "-R", "+0:+0"],
                                cwd=src, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1", "-n"], stdin=cpio.stdout, stdout=out)
        cpio.stdout.close()
        cpio.communicate(("\n".join(files) + "\n").encode())
        gz.wait()
        if cpio.returncode or gz.returncode:
            raise Failure(f"packing {dest} failed")


def mke2fs(image, size_mb, src=None, label="disk"):
    image.unlink(missing_ok=True)
    argv = ["mke2fs", "-q", "-F", "-t", "ext4", "-L", label]
    if src is not None:
        argv += ["-d", str(src)]
    run(argv + [str(image), f"{size_mb}M"])


def dir_mb(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) // (1 << 20)


class BusyboxGuest:
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
        shutil.copy2("/bin/busybox", stage / "bin/busybox")
        shutil.copy2(HERE / "init.sh", stage / "init")
        os.chmod(stage / "init", 0o755)
        (stage / "usr/sbin").mkdir(parents=True)
        shutil.copy2(binary, stage / "usr/sbin/kexec-chooser")
        run(["strip", str(stage / "usr/sbin/kexec-chooser")])
        if Path("/sbin/kexec").exists():
            # kexec-tools, the peer of the speed benchmark (benches/reboot).
            copy_with_libs(Path("/sbin/kexec").resolve(), stage)
            (stage / "sbin").mkdir(exist_ok=True)
            if not (stage / "sbin/kexec").exists():
                os.symlink(str(Path("/sbin/kexec").resolve()), stage / "sbin/kexec")
        kernels = [(self.a, self.a_root), (self.b, self.b_root)]
        stage_modules(stage, kernels, GUEST_MODULES)
        # Preflight wants a modules directory for the garbage kernel too, so
        # that it is refused for its format and nothing else.
        (stage / "lib/modules" / GARBAGE).mkdir(parents=True)
        self.initrd = work / "initramfs.cpio.gz"
        pack_cpio(stage, self.initrd)

        boot = boot_dir(work, kernels, self.initrd)
        (boot / f"vmlinuz-{GARBAGE}").write_bytes(hashlib.sha256(b"garbage").digest() * 4096)
        (boot / f"initrd.img-{GARBAGE}").write_bytes(b"not an initrd")
        self.kernel = kroot_kernel(self.a_root, self.a)
        self.boot_img = work / "boot.img"
        mke2fs(self.boot_img, dir_mb(boot) + 64, boot, "boot")
        self.data_img = work / "data.img"
        mke2fs(self.data_img, 64, None, "data")

    def qemu(self, test, extra=""):
        append = f"console=ttyS0 root=/dev/vda panic=-1 no_timer_check kct.test={test} kct.target={self.b} {extra}".strip()
        return qemu_argv(self.kernel, self.initrd, append,
                         [self.boot_img, self.data_img], memory=1024)


def kroot_kernel(kroot, release):
    return kroot / "boot" / f"vmlinuz-{release}"


def qemu_argv(kernel, initrd, append, disks, memory=1024, reboot=False):
    argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(memory), "-smp", "1",
            "-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", append]
    for d in disks:
        argv += ["-drive", f"file={d},if=virtio,format=raw"]
    if not reboot:
        argv.append("-no-reboot")
    return argv


class Console:
    """A running QEMU and its serial console, read with deadlines."""

    def __init__(self, argv, name, echo=False):
        self.name = name
        self.echo = echo
        self.buf = b""
        self.lines = []  # (host seconds, text)
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def _read(self, until):
        fd = self.proc.stdout.fileno()
        while time.monotonic() < until:
            r, _, _ = select.select([fd], [], [], max(0.0, min(1.0, until - time.monotonic())))
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            if self.echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            self.buf += chunk
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.append((time.monotonic(), line.decode(errors="replace").rstrip("\r")))
            return True
        return True

    def expect(self, pattern, timeout, after=0, partial=False):
        """Wait for a line matching `pattern` (at index >= `after`); return
        (index, match, host time). `partial` also looks at the line being
        written (a prompt has no newline)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = after
        while True:
            while i < len(self.lines):
                m = rx.search(self.lines[i][1])
                if m:
                    return i, m, self.lines[i][0]
                i += 1
            if partial:
                m = rx.search(self.buf.decode(errors="replace"))
                if m:
                    return len(self.lines), m, time.monotonic()
            if time.monotonic() >= deadline:
                raise Failure(f"{self.name}: no line matching {pattern!r} within {timeout}s")
            if not self._read(deadline) and i >= len(self.lines):
                raise Failure(f"{self.name}: QEMU exited before {pattern!r}")

    def send(self, data):
        """Type on the serial console, after a pause: a key that arrives
        before the prompt has put the terminal in raw mode is handled by the
        line discipline (Ctrl-C would become a signal to nobody)."""
        time.sleep(3)
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            if time.monotonic() >= deadline:
                raise Failure(f"{self.name}: QEMU still running after {timeout}s")
        self.proc.wait(timeout=10)

    def count(self, pattern):
        rx = re.compile(pattern)
        return sum(1 for _, l in self.lines if rx.search(l))

    def text(self):
        return "\n".join(l for _, l in self.lines) + "\n" + self.buf.decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def save(self):
        LOGS.mkdir(parents=True, exist_ok=True)
        path = LOGS / f"{self.name}.serial.log"
        path.write_text(self.text())
        return path


def with_console(argv, name, body, echo=False):
    c = Console(argv, name, echo=echo)
    try:
        result = body(c)
        c.save()
        return result
    except Failure:
        path = c.save()
        tail = c.text().splitlines()[-40:]
        log(f"{name}: serial log saved to {path}; its tail:")
        for l in tail:
            print(f"    | {l}", file=sys.stderr)
        raise
    finally:
        c.close()


def kct(c, key, timeout, after=0):
    return c.expect(rf"^KCT: {key}", timeout, after)


# ---------------------------------------------------------------- tests

def test_direct(guest):
    """Test 1: warm reboot from release A into B in direct mode; marker on the
    next command line; the data disk clean and the unsynced file complete."""
    def body(c):
        i, m, _ = kct(c, rf"booted release=(\S+)", 120)
        if m.group(1) != guest.a:
            raise Failure(f"first boot ran {m.group(1)}, not {guest.a}")
        i, m, _ = kct(c, r"file sha256=(\w+)", 60, i)
        sha = m.group(1)
        i, m, _ = kct(c, r"appending marker=(\w+)", 30, i)
        marker = m.group(1)
        i, m, _ = kct(c, r"booted release=(\S+)", 120, i + 1)
        if m.group(1) != guest.b:
            raise Failure(f"after the warm reboot {m.group(1)} runs, not {guest.b}")
        i, m, _ = kct(c, r"cmdline=(.*)", 10, i)
        if f"kct.marker={marker}" not in m.group(1).split():
            raise Failure(f"marker {marker} not in the next command line: {m.group(1)}")
        kct(c, r"done", 30, i)
        c.wait_exit(30)
        if c.count(r"Starting new kernel") != 1:
            raise Failure("the kernel did not report exactly one kexec")
        return sha

    sha = with_console(guest.qemu("direct"), "direct", body)
    fsck = run(["e2fsck", "-fn", str(guest.data_img)], capture_output=True, text=True, check=False)
    if fsck.returncode != 0:
        raise Failure(f"e2fsck -fn on the data disk: exit {fsck.returncode}\n{fsck.stdout}{fsck.stderr}")
    head = run(["dumpe2fs", "-h", str(guest.data_img)], capture_output=True, text=True).stdout
    if "needs_recovery" in head or not re.search(r"^Filesystem state:\s+clean$", head, re.M):
        raise Failure("the data disk was not cleanly unmounted:\n" + head)
    data = run(["debugfs", "-R", "cat /file", str(guest.data_img)], capture_output=True).stdout
    if hashlib.sha256(data).hexdigest() != sha or len(data) != 4 << 20:
        raise Failure(f"the file on the data disk is not what was written ({len(data)} bytes)")
    log(f"direct: {guest.a} -> {guest.b} warm, marker seen, data disk clean, file complete")


REFUSALS = {
    "notty": r"no terminal to ask on",
    "garbage": r"not a kernel|cannot be loaded|no kernel|unusable|not usable",
    "noinitrd": r"initrd",
    "disabled": r"kexec_load_disabled",
}


def test_refusals(guest):
    """Test 3: each refusal exits non-zero with its message, nothing is loaded
    and the guest keeps running."""
    def body(c):
        kct(c, r"booted release=", 400)
        results = {}
        i, _, _ = kct(c, r"refusal notty", 120)
        # The prompt on a terminal: the plan with the command-line diff, then
        # the question; "n" is a no, Ctrl-C exits 130; neither loads anything.
        i, _, _ = kct(c, r"prompt no", 60, i)
        i, _, _ = c.expect(r"\+ kct\.extra=1", 60, i)
        c.expect(r"hand-over: direct", 10, i)
        c.expect(r"Warm-reboot into \S+ now\?", 30, i, partial=True)
        c.send(b"n")
        i, m, _ = kct(c, r"refusal answered-no rc=(\d+) loaded=(\d)", 60, i)
        if (m.group(1), m.group(2)) != ("1", "0"):
            raise Failure(f"answering n: rc={m.group(1)} loaded={m.group(2)}")
        if not any("not confirmed" in l for _, l in c.lines):
            raise Failure("answering n did not say 'not confirmed'")
        i, _, _ = kct(c, r"prompt ctrl-c", 60, i)
        c.expect(r"Warm-reboot into \S+ now\?", 60, i, partial=True)
        c.send(b"\x03")
        i, m, _ = kct(c, r"refusal ctrl-c rc=(\d+) loaded=(\d)", 60, i)
        if (m.group(1), m.group(2)) != ("130", "0"):
            raise Failure(f"Ctrl-C at the prompt: rc={m.group(1)} loaded={m.group(2)}, wanted 130 and 0")
        after = 0
        for name, want in REFUSALS.items():
            i, m, _ = kct(c, rf"refusal {name} rc=(\d+) loaded=(\d) msg=(.*)", 60, after)
            after = i + 1
            rc, loaded, msg = int(m.group(1)), m.group(2), m.group(3)
            if rc == 0 or loaded != "0" or not re.search(want, msg):
                raise Failure(f"refusal {name}: rc={rc} loaded={loaded} msg={msg!r} (wanted /{want}/)")
            results[name] = msg.strip()
        kct(c, r"alive after refusals", 30, after)
        kct(c, r"done", 30, after)
        c.wait_exit(30)
        if c.count(r"booted release=") != 1:
            raise Failure("the guest rebooted during the refusals")
        return results

    for name, msg in with_console(guest.qemu("refusals"), "refusals", body).items():
        log(f"refusals: {name}: {msg}")


# ------------------------------------------------------- the systemd guest

DEBIAN = CACHE / "debian12"
UNIT = """[Unit]
Description=kexec-chooser VM test
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/kct-test
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy=multi-user.target
"""


def build_debian():
    """debootstrap once; customised (idempotently) on every run."""
    if not (DEBIAN / ".done").exists():
        tmp = CACHE / "debian12.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        log("debootstrap of the Debian 12 guest (about two minutes)")
        run(["debootstrap", "--variant=minbase",
             "--include=systemd-sysv,udev,linux-image-amd64,initramfs-tools",
             "bookworm", str(tmp), "http://deb.debian.org/debian"], stdout=subprocess.DEVNULL)
        shutil.rmtree(DEBIAN, ignore_errors=True)
        tmp.rename(DEBIAN)
        (DEBIAN / ".done").touch()
    (DEBIAN / "etc/fstab").write_text("/dev/vda / ext4 rw,errors=remount-ro 0 1\n")
    (DEBIAN / "etc/hostname").write_text("kct\n")
    (DEBIAN / "var/lib/kct").mkdir(parents=True, exist_ok=True)
    script = DEBIAN / "usr/local/sbin/kct-test"
    shutil.copy2(HERE / "kct-test.sh", script)
    os.chmod(script, 0o755)
    (DEBIAN / "etc/systemd/system/kct-test.service").write_text(UNIT)
    wants = DEBIAN / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "kct-test.service"
    if not link.is_symlink():
        link.symlink_to("/etc/systemd/system/kct-test.service")
    # Speed: no getty on the serial console competing for the test's output.
    for unit in ["serial-getty@ttyS0.service", "getty@tty1.service"]:
        mask = DEBIAN / "etc/systemd/system" / unit
        if not mask.is_symlink():
            mask.symlink_to("/dev/null")


def install_kexec_chooser(root, artifact):
    """Put kexec-chooser into the guest root: a .deb is installed with the
    guest's own dpkg (chroot), anything else is taken as the binary."""
    artifact = Path(artifact)
    if artifact.suffix == ".deb":
        shutil.copy2(artifact, root / "tmp/kexec-chooser.deb")
        run(["chroot", str(root), "dpkg", "-i", "/tmp/kexec-chooser.deb"], stdout=subprocess.DEVNULL)
        (root / "tmp/kexec-chooser.deb").unlink()
    else:
        dest = root / "usr/sbin/kexec-chooser"
        shutil.copy2(artifact, dest)
        os.chmod(dest, 0o755)


def debian_image(work, artifact):
    build_debian()
    install_kexec_chooser(DEBIAN, artifact)
    img = work / "debian.img"
    mke2fs(img, dir_mb(DEBIAN) + 512, DEBIAN, "root")
    release = sorted(p.name for p in (DEBIAN / "lib/modules").iterdir())[-1]
    return img, release


def debian_qemu(img, release, test, reboot=False):
    append = f"console=ttyS0 root=/dev/vda ro panic=-1 no_timer_check kct.test={test}"
    return qemu_argv(DEBIAN / "boot" / f"vmlinuz-{release}", DEBIAN / "boot" / f"initrd.img-{release}",
                     append, [img], memory=1024, reboot=reboot)


def test_systemd(work, artifact):
    """Test 2: `kexec-chooser --yes latest --append MARKER` from a oneshot unit
    under systemd; the next boot shows the marker, the release, no journal
    recovery and the file written before."""
    img, release = debian_image(work, artifact)

    def body(c):
        i, m, _ = kct(c, r"booted release=(\S+)", 400)
        i, m, _ = kct(c, r"file sha256=(\w+)", 30, i)
        sha = m.group(1)
        i, m, t0 = kct(c, r"appending marker=(\w+)", 30, i)
        marker = m.group(1)
        i, m, t1 = kct(c, r"booted release=(\S+)", 400, i + 1)
        if m.group(1) != release:
            raise Failure(f"after the warm reboot {m.group(1)} runs, not {release}")
        if c.count(r"Starting new kernel") != 1:
            raise Failure("no kexec: the guest rebooted some other way")
        i, m, _ = kct(c, r"cmdline=(.*)", 30, i)
        if f"kct.marker={marker}" not in m.group(1).split():
            raise Failure(f"marker {marker} not in the next command line: {m.group(1)}")
        i, m, _ = kct(c, r"recovery=(\w+)", 30, i)
        if m.group(1) != "no":
            raise Failure("the root filesystem needed journal recovery after the warm reboot")
        i, m, _ = kct(c, r"file sha256=(\w+)", 30, i)
        if m.group(1) != sha:
            raise Failure("the file written before the warm reboot is not the same after it")
        kct(c, r"done", 30, i)
        c.wait_exit(120)
        return t1 - t0

    secs = with_console(debian_qemu(img, release, "systemd"), "systemd", body)
    log(f"systemd: warm reboot into {release} with marker, no journal recovery, file intact ({secs:.1f} s)")
    return secs


def test_cold(work, artifact):
    """The peer of the speed figure: `systemctl reboot` through the firmware."""
    img, release = debian_image(work, artifact)

    def body(c):
        i, _, _ = kct(c, r"booted release=", 400)
        i, _, t0 = kct(c, r"cold reboot now", 60, i)
        i, _, t1 = kct(c, r"cold-booted", 400, i + 1)
        kct(c, r"done", 30, i)
        c.wait_exit(120)
        return t1 - t0

    return with_console(debian_qemu(img, release, "cold", reboot=True), "cold", body)


# ---------------------------------------------------------------- entry

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tests", nargs="*", default=["refusals", "direct", "systemd"],
                    help="refusals, direct, systemd, demo, bench (default: the three tests)")
    ap.add_argument("--artifact", help="binary or .deb to install in the systemd guest "
                    "(default: the static build; KC_DEB may name a .deb)")
    ap.add_argument("--release", action="store_true", help="build the guest binary with --release")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("vmtest: run as root (debootstrap, chroot)", file=sys.stderr)
        return 2
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=CACHE))
    failed = []
    try:
        binary = build_binary("release" if args.release or any(t.startswith("bench") for t in args.tests) else "dev")
        artifact = args.artifact or os.environ.get("KC_DEB") or binary
        guest = None
        for t in args.tests:
            started = time.monotonic()
            try:
                if t in ("refusals", "direct", "demo", "bench", "bench-direct") and guest is None:
                    guest = BusyboxGuest(work, binary)
                if t == "direct":
                    test_direct(guest)
                elif t == "refusals":
                    test_refusals(guest)
                elif t == "systemd":
                    test_systemd(work, artifact)
                elif t == "demo":
                    demo(guest)
                elif t == "bench":
                    bench(work, guest, artifact)
                elif t == "bench-direct":
                    bench_direct(guest, rounds=7)
                elif t == "bench-systemd":
                    bench_systemd(work, artifact)
                else:
                    raise Failure(f"no test {t}")
                log(f"PASS {t} ({time.monotonic() - started:.0f} s)")
            except (Failure, subprocess.CalledProcessError, OSError) as e:
                log(f"FAIL {t}: {e}")
                failed.append(t)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    passed = len(args.tests) - len(failed)
    print(f"vm: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


def demo(guest):
    print(f"\n=== booting {guest.a}; /boot also holds {guest.b}; the guest will run\n"
          f"===   kexec-chooser reboot {guest.b} --mode direct --yes --append kct.marker=demo\n"
          f"=== and warm-reboot into {guest.b}. Serial console:\n", flush=True)

    def body(c):
        i, _, _ = kct(c, rf"booted release={re.escape(guest.a)}", 180)
        i, _, _ = kct(c, rf"booted release={re.escape(guest.b)}", 180, i + 1)
        kct(c, r"marker=demo", 30, i)
        c.wait_exit(60)

    with_console(guest.qemu("demo"), "demo", body, echo=True)
    print(f"\n=== {guest.a} warm-rebooted into {guest.b} without the firmware.", flush=True)


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
    _, m, _ = kct(c, r"uptime-before=([\d.]+)", 120)
    before = float(m.group(1))
    _, m, _ = c.expect(r"\[\s*([\d.]+)\].*Starting new kernel", 120)
    return float(m.group(1)) - before


def bench(work, guest, artifact, rounds=3):
    bench_direct(guest, rounds)
    bench_systemd(work, artifact, rounds=1)


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
                kct(c, r"marker=bench", 120)
                c.wait_exit(60)
                return t
            times[name].append(with_console(guest.qemu(name), name, body))
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


if __name__ == "__main__":
    sys.exit(main())
