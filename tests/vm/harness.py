#!/usr/bin/env python3
"""What every QEMU guest of the tests needs, written once, run as root.

The x86_64 busybox and systemd tests (tests/vm/vmtest.py), the arm64 test
(tests/vm/arm64.py) and the fleet test (tests/fleet/fleettest.py) import it:

  * the cache and the Debian mirror, named here and nowhere else (shell
    scripts ask `python3 tests/vm/harness.py path SUBDIR` and `... mirror`);
  * Debian packages, fetched once with apt-get download and dpkg-deb -x; the
    two kernel releases a busybox guest warm-reboots between;
  * guest images: the busybox initramfs guest (its PID 1 script sources
    guest-lib.sh), and Debian systemd roots made once per suite with
    debootstrap, shared by every test, copied per test and written to an
    ext4 image with mke2fs -d;
  * QEMU with -accel tcg only (KVM hangs on the development machines), its
    serial console read by a thread, markers waited for with deadlines,
    kernel starts counted across resets, the log saved and, when a run
    fails, its tail printed; SSH into a systemd guest;
  * the loop that runs named tests and prints PASS/FAIL and a summary.

Only the Python standard library.
"""

import contextlib
import hashlib
import lzma
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VM = Path(__file__).resolve().parent  # the guest scripts live beside this file
CACHE = Path(os.environ.get("CACHE_DIR") or "/var/cache/kexec-chooser-tests")
LOGS = CACHE / "logs"

# The prefix of this process's log lines; Suite sets it.
_prefix = Path(sys.argv[0]).stem


class Failure(Exception):
    pass


def log(msg):
    print(f"{_prefix}: {msg}", file=sys.stderr, flush=True)


def run(argv, **kw):
    """Run a command (an argument vector, never a shell) and fail loudly."""
    kw.setdefault("check", True)
    return subprocess.run(argv, **kw)


def mirror():
    """The Debian mirror guests are bootstrapped from: DEBIAN_MIRROR, else
    the one this machine's apt uses (deb822 sources), else Debian's own."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    try:
        sources = Path("/etc/apt/sources.list.d/debian.sources").read_text()
    except OSError:
        sources = ""
    for line in sources.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "URIs:" and "security" not in words[1]:
            return words[1]
    return "http://deb.debian.org/debian"


# ---------------------------------------------------------------- packages

def deb(pkg, arch):
    """The .deb of PKG for the dpkg architecture ARCH, downloaded once."""
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pattern = f"{pkg}_*_{arch}.deb"
    found = sorted(debs.glob(pattern))
    if not found:
        log(f"downloading {pkg}:{arch}")
        # As root into a root-owned cache: apt need not drop to _apt (and warn).
        run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{pkg}:{arch}"],
            cwd=debs, stdout=subprocess.DEVNULL)
        found = sorted(debs.glob(pattern))
    if not found:
        raise Failure(f"apt-get download {pkg}:{arch} gave no .deb")
    return found[-1]


def unpacked(pkg, arch):
    """PKG for ARCH unpacked with dpkg-deb -x, once."""
    dest = CACHE / "pkgs" / arch / pkg
    if not (dest / ".done").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb(pkg, arch)), str(dest)])
        (dest / ".done").touch()
    return dest


@dataclass(frozen=True)
class Kernel:
    """An unpacked Debian kernel package and its release (`uname -r`)."""
    release: str
    root: Path

    @property
    def vmlinuz(self):
        return self.root / "boot" / f"vmlinuz-{self.release}"


def kernel(pkg, arch):
    root = unpacked(pkg, arch)
    return Kernel(next((root / "lib/modules").iterdir()).name, root)


def _abi(name):
    m = re.search(r"linux-image-([0-9.]+)-(\d+)-", name)
    return ([int(x) for x in m.group(1).split(".")], int(m.group(2))) if m else ([], 0)


def kernel_pair(arch):
    """Two Debian kernels of ARCH with different releases, (booted first,
    target): the packages the archive's linux-image-ARCH versions depend on
    (a release's and its security update's), or, when there is only one, the
    cloud flavour of that ABI first (its `uname -r` differs)."""
    out = run(["apt-cache", "show", f"linux-image-{arch}:{arch}"],
              capture_output=True, text=True, check=False).stdout
    names = sorted(set(re.findall(rf"^Depends: (linux-image-[0-9.]+-\d+-{arch})\b", out, re.M)), key=_abi)
    if not names:
        # Offline: the kernels an earlier run unpacked.
        cached = sorted((p.name for p in (CACHE / "pkgs" / arch).glob(f"linux-image-*-{arch}")
                         if (p / ".done").exists()), key=lambda n: (_abi(n), "-cloud-" not in n))
        if len(cached) < 2:
            raise Failure(f"apt-cache knows no linux-image-{arch}: run apt-get update"
                          + (" (and dpkg --add-architecture arm64)" if arch == "arm64" else ""))
        names = cached
    if len(names) == 1:
        names = [names[0].replace(f"-{arch}", f"-cloud-{arch}"), names[0]]
    a, b = (kernel(n, arch) for n in names[-2:])
    if a.release == b.release:
        raise Failure(f"the two kernels have the same release {a.release}")
    return a, b


def _module_depends(data):
    m = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def module_closure(k, wanted):
    """The modules `wanted` needs, in load order, as (name, bytes), read from
    each module's own `depends=` (no modules.dep ships in the package)."""
    index = {}
    for p in (k.root / "lib/modules" / k.release / "kernel").rglob("*.ko*"):
        index[p.name.split(".ko")[0].replace("-", "_")] = p
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            raise Failure(f"{k.release}: no module {name}")
        data = index[name].read_bytes()
        if index[name].name.endswith(".xz"):
            data = lzma.decompress(data)
        for dep in _module_depends(data):
            visit(dep)
        order.append((name, data))

    for w in wanted:
        visit(w)
    return order


def stage_modules(stage, kernels, sets):
    """Put, for each kernel, the module closure of every set into
    stage/lib/modules/RELEASE, with one file per set (its name) listing the
    modules in load order; guest-lib.sh's load_modules reads it."""
    for k in kernels:
        mdir = stage / "lib/modules" / k.release
        mdir.mkdir(parents=True)
        for order_file, wanted in sets.items():
            names = []
            for name, data in module_closure(k, wanted):
                (mdir / f"{name}.ko").write_bytes(data)
                names.append(f"{name}.ko")
            (mdir / order_file).write_text("\n".join(names) + "\n")


def index_modules(stage, kernels):
    """modules.dep (busybox depmod) and the package's modules.builtin and
    modules.order beside the staged modules, for `modprobe` in the guest and
    for kexec-chooser, which reads the target's modules.dep and
    modules.builtin to know whether a driver can be loaded there."""
    busybox = unpacked("busybox-static", AMD64.name) / "bin/busybox"
    for k in kernels:
        mdir = stage / "lib/modules" / k.release
        for name in ["modules.builtin", "modules.order"]:
            shutil.copy2(k.root / "lib/modules" / k.release / name, mdir / name)
        run([str(busybox), "depmod", "-b", str(stage), k.release])


# ---------------------------------------------------------------- machines

@dataclass(frozen=True)
class Arch:
    """What differs between the emulated machines: dpkg's name, the emulator
    and its board, the serial console, the guest binary's Rust target."""
    name: str
    qemu: str
    machine: str | None
    cpu: str | None
    console: str
    append: str
    rust_target: str
    bin_env: str  # names a prebuilt guest binary, instead of a build
    strip: str


AMD64 = Arch("amd64", "qemu-system-x86_64", None, None, "ttyS0", "no_timer_check",
             "x86_64-unknown-linux-gnu", "KC_BIN", "strip")
ARM64 = Arch("arm64", "qemu-system-aarch64", "virt", "max,pauth-impdef=on", "ttyAMA0", "",
             "aarch64-unknown-linux-musl", "KC_ARM64_BIN", "aarch64-linux-gnu-strip")


def build_binary(arch, profile="dev"):
    """The static kexec-chooser a busybox guest runs: the file named by
    arch.bin_env if set, else a build (crt-static glibc for x86_64; musl for
    aarch64, linked with the rust-lld that ships with rustup)."""
    if os.environ.get(arch.bin_env):
        return Path(os.environ[arch.bin_env])
    t = arch.rust_target
    argv = ["cargo", "build", "--quiet", "--locked", "--target", t, "--bin", "kexec-chooser"]
    env = dict(os.environ)
    if arch is AMD64:
        env["RUSTFLAGS"] = "-C target-feature=+crt-static"
    else:
        argv += ["--config", f'target.{t}.linker="rust-lld"']
        # ring (rustls) has C and assembly: Debian's aarch64 cross gcc builds
        # it (freestanding code, so the glibc-targeted compiler serves musl).
        env.setdefault("CC_aarch64_unknown_linux_musl", "aarch64-linux-gnu-gcc")
        env.setdefault("AR_aarch64_unknown_linux_musl", "aarch64-linux-gnu-ar")
    if profile == "release":
        argv.append("--release")
    log(f"building the static kexec-chooser for {t} ({profile})")
    run(argv, cwd=REPO, env=env)
    return REPO / "target" / t / ("release" if profile == "release" else "debug") / "kexec-chooser"


@dataclass
class Qemu:
    """One QEMU command line, always -accel tcg. With -no-reboot (the
    default) any reset ends QEMU, so a firmware reboot fails a test; with
    `reboot=True` a reset (a watchdog, `reboot -f`) boots the same -kernel
    and -append again, as firmware would boot the boot loader's default,
    and the console reads on."""
    arch: Arch
    kernel: Path
    initrd: Path
    append: str
    disks: list = field(default_factory=list)
    memory: int = 1024
    machine: str | None = None  # e.g. "q35"; None: the arch's default
    devices: list = field(default_factory=list)  # -device values, e.g. "i6300esb"
    args: list = field(default_factory=list)  # e.g. "-action", "watchdog=reset"
    reboot: bool = False
    ssh_port: int | None = None  # user-mode network with 127.0.0.1:PORT forwarded to port 22

    def argv(self):
        machine = self.machine or self.arch.machine
        argv = [self.arch.qemu]
        if machine:
            argv += ["-M", machine]
        if self.arch.cpu:
            argv += ["-cpu", self.arch.cpu]
        argv += ["-accel", "tcg", "-m", str(self.memory), "-smp", "1",
                "-nodefaults", "-display", "none", "-serial", "stdio", "-monitor", "none"]
        if self.kernel is not None:  # None: the firmware boots from the disks (firmware_qemu)
            argv += ["-kernel", str(self.kernel), "-initrd", str(self.initrd), "-append", self.append]
        for d in self.disks:
            argv += ["-drive", f"file={d},if=virtio,format=raw"]
        if self.ssh_port is not None:
            argv += ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
                     "-device", "virtio-net-pci,netdev=n0"]
        for d in self.devices:
            argv += ["-device", d]
        argv += self.args
        if not self.reboot:
            argv.append("-no-reboot")
        return argv


# What every kernel prints first: one per kernel start (boot, kexec, reset).
BANNER = r"Linux version \d"


class Console:
    """A running QEMU and its serial console. A thread reads the console into
    lines, each with the host time it arrived, so that QEMU never stops on a
    full pipe while the test does something else; every wait has a deadline.
    The console goes on across resets and kexecs: `kernel_start(n)` finds the
    n-th kernel's banner."""

    def __init__(self, argv, name, echo=False):
        self.name = name
        self.echo = echo
        self.lines = []  # (host seconds, text)
        self.buf = b""  # the line being written (a prompt has no newline)
        self.eof = False
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            if self.echo:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            now = time.monotonic()
            with self.cond:
                *done, self.buf = (self.buf + chunk).split(b"\n")
                self.lines.extend((now, l.decode(errors="replace").rstrip("\r")) for l in done)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def expect(self, pattern, timeout, after=0, partial=False):
        """Wait for a line matching `pattern` (at index >= `after`); return
        (index, match, host time). `partial` also looks at the line being
        written."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = after
        with self.cond:
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
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"{self.name}: no line matching {pattern!r} within {timeout}s")
                if self.eof:
                    raise Failure(f"{self.name}: QEMU exited before {pattern!r}")
                self.cond.wait(left)

    def kct(self, key, timeout, after=0):
        """Wait for a "KCT: KEY..." line, what the guest scripts print."""
        return self.expect(rf"^KCT: {key}", timeout, after)

    def marker_boot(self, release, marker, timeout, after):
        """The boot after a warm reboot: its report names RELEASE and its
        command line holds kct.marker=MARKER. Returns the index and host time
        of the report's first line."""
        i, m, t = self.kct(r"booted release=(\S+)", timeout, after)
        if m.group(1) != release:
            raise Failure(f"after the warm reboot {m.group(1)} runs, not {release}")
        i, m, _ = self.kct(r"cmdline=(.*)", 30, i)
        if f"kct.marker={marker}" not in m.group(1).split():
            raise Failure(f"marker {marker} not in the next command line: {m.group(1)}")
        return i, t

    def refusals(self, wanted, timeout):
        """The lines of guest-lib.sh's `refusal`, in the order of `wanted`
        (name: the pattern its message must match): each exited non-zero with
        its message and loaded nothing; then the guest said it is alive and
        powered off, never rebooted. Returns {name: message}."""
        after, results = 0, {}
        for name, want in wanted.items():
            i, m, _ = self.kct(rf"refusal {name} rc=(\d+) loaded=(\d) msg=(.*)", timeout, after)
            after = i + 1
            rc, loaded, msg = int(m.group(1)), m.group(2), m.group(3)
            if rc == 0 or loaded != "0" or not re.search(want, msg):
                raise Failure(f"refusal {name}: rc={rc} loaded={loaded} msg={msg!r} (wanted /{want}/)")
            results[name] = msg.strip()
        self.kct(r"alive after refusals", 30, after)
        self.kct(r"done", 30, after)
        self.wait_exit(60)
        if self.count(r"booted release=") != 1:
            raise Failure("the guest rebooted during the refusals")
        return results

    def kernel_start(self, n, timeout):
        """The index of the n-th kernel's banner (1: the first boot); the
        next boot's lines follow it."""
        deadline = time.monotonic() + timeout
        i = -1
        for _ in range(n):
            i, _, _ = self.expect(BANNER, max(0.0, deadline - time.monotonic()), i + 1)
        return i

    def send(self, data):
        """Type on the serial console, after a pause: a key that arrives
        before the prompt has put the terminal in raw mode is handled by the
        line discipline (Ctrl-C would become a signal to nobody)."""
        time.sleep(3)
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"{self.name}: QEMU still running after {timeout}s") from None
        self.reader.join(timeout=10)

    def count(self, pattern):
        rx = re.compile(pattern)
        return sum(1 for _, l in list(self.lines) if rx.search(l))

    def text(self):
        with self.cond:
            return "\n".join(l for _, l in self.lines) + "\n" + self.buf.decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(timeout=10)

    def save(self):
        LOGS.mkdir(parents=True, exist_ok=True)
        path = LOGS / f"{self.name}.serial.log"
        path.write_text(self.text())
        return path

    def report(self, tail=40):
        """What a failed run shows: the log saved, its tail printed."""
        path = self.save()
        log(f"{self.name}: serial log saved to {path}; its tail:")
        for l in self.text().splitlines()[-tail:]:
            print(f"    | {l}", file=sys.stderr)


def boot(qemu, name, body, echo=False):
    """Start `qemu` (a Qemu), give its console to body(console) and return
    what the body returns; QEMU is stopped and the serial log saved either
    way, and its tail printed when the body fails."""
    c = Console(qemu.argv(), name, echo=echo)
    try:
        result = body(c)
    except BaseException:
        c.close()
        c.report()
        raise
    c.close()
    c.save()
    return result


# ---------------------------------------------------------------- images

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


def install(src, dest, mode=0o755):
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    os.chmod(dest, mode)


# Modules every busybox guest loads to reach its disks (ext4 wants crc32c
# through the crypto API, which modules.dep does not list).
GUEST_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"]
# A kernel "release" whose vmlinuz is garbage: refused for its format.
GARBAGE = "9.9.9-garbage"


class BusyboxGuest:
    """The initramfs guest: busybox, PID 1 from tests/vm/INIT on top of
    guest-lib.sh, the static kexec-chooser, both kernels' modules; a virtio
    ext4 disk for /boot (/dev/vda) holds kernels A (booted first) and B (the
    target) with their configs and initrds (this initramfs), and a garbage
    kernel. Subclasses add what their tests need in `add_to_initramfs`,
    `add_to_boot` and `extra_disks`."""

    arch = AMD64
    init = "init.sh"
    module_sets = {"load-order": GUEST_MODULES}
    modules_dep = False  # True: modules.dep for modprobe (index_modules)

    def __init__(self, work, binary):
        self.work = work
        self.a, self.b = kernel_pair(self.arch.name)
        stage = work / "initramfs"
        shutil.rmtree(stage, ignore_errors=True)
        install(self.busybox(), stage / "bin/busybox")
        install(VM / self.init, stage / "init")
        install(VM / "guest-lib.sh", stage / "lib/kct/guest-lib.sh", 0o644)
        install(binary, stage / "usr/sbin/kexec-chooser")
        run([self.arch.strip, str(stage / "usr/sbin/kexec-chooser")])
        self.add_to_initramfs(stage)
        stage_modules(stage, [self.a, self.b], self.module_sets)
        if self.modules_dep:
            index_modules(stage, [self.a, self.b])
        # Preflight wants a modules directory for the garbage kernel too, so
        # that it is refused for its format and nothing else.
        (stage / "lib/modules" / GARBAGE).mkdir(parents=True)
        self.initrd = work / "initramfs.cpio.gz"
        pack_cpio(stage, self.initrd)

        boot = work / "boot"
        shutil.rmtree(boot, ignore_errors=True)
        boot.mkdir()
        for k in (self.a, self.b):
            shutil.copy2(k.vmlinuz, boot)
            shutil.copy2(k.root / "boot" / f"config-{k.release}", boot)
            shutil.copy2(self.initrd, boot / f"initrd.img-{k.release}")
        (boot / f"vmlinuz-{GARBAGE}").write_bytes(hashlib.sha256(b"garbage").digest() * 4096)
        (boot / f"initrd.img-{GARBAGE}").write_bytes(b"not an initrd")
        self.add_to_boot(boot)
        self.boot_img = work / "boot.img"
        mke2fs(self.boot_img, dir_mb(boot) + 64, boot, "boot")
        self.disks = [self.boot_img, *self.extra_disks()]

    def busybox(self):
        return unpacked("busybox-static", self.arch.name) / "bin/busybox"

    def add_to_initramfs(self, stage):
        pass

    def add_to_boot(self, boot):
        pass

    def extra_disks(self):
        return []

    def qemu(self, test, extra="", **kw):
        """Kernel A with kct.test=TEST and kct.target=B; `kw` are Qemu's
        (reboot, machine, devices, args)."""
        append = " ".join(w for w in [f"console={self.arch.console}", "root=/dev/vda", "panic=-1",
                                      self.arch.append, f"kct.test={test}", f"kct.target={self.b.release}",
                                      extra] if w)
        return Qemu(self.arch, self.a.vmlinuz, self.initrd, append, list(self.disks), **kw)


# ------------------------------------------------------- Debian systemd guests

# One package set for every systemd guest, so that one root per suite serves
# all tests: systemd and udev to boot, dbus for systemctl, two kernel releases
# to warm-reboot between (the generic and the cloud flavour) with
# initramfs-tools for their initrds, openssh-server to run commands in the
# guest (and for Ansible, with python3 and python3-apt for its modules and
# sudo for `become`).
SYSTEMD_PACKAGES = ["systemd-sysv", "udev", "dbus", "linux-image-amd64", "linux-image-cloud-amd64",
                    "initramfs-tools", "openssh-server", "python3", "python3-apt", "sudo"]
SUITES = ["bookworm", "trixie"]


def debian_root(suite="bookworm"):
    """The root tree of a Debian SUITE systemd guest (SYSTEMD_PACKAGES), made
    once with debootstrap --variant=minbase and then never changed: a test
    changes its own copy (DebianImage). A new package set makes a new tree."""
    if suite not in SUITES:
        raise Failure(f"no Debian suite {suite!r} (known: {', '.join(SUITES)})")
    tag = hashlib.sha256(",".join(SYSTEMD_PACKAGES).encode()).hexdigest()[:8]
    root = CACHE / "debian" / f"{suite}-{tag}"
    if not (root / ".done").exists():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        log(f"debootstrap of the Debian {suite} guest root (a few minutes, once)")
        started = time.monotonic()
        run(["debootstrap", "--variant=minbase", "--include=" + ",".join(SYSTEMD_PACKAGES),
             suite, str(tmp), mirror()], stdout=subprocess.DEVNULL)
        # Nothing downloaded stays in the image.
        for p in (tmp / "var/cache/apt/archives").glob("*.deb"):
            p.unlink()
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        (root / ".done").touch()
        log(f"debootstrap of {suite}: {time.monotonic() - started:.0f} s")
    return root


def derived_root(suite, name, prepare):
    """A root made once from debian_root(SUITE) by prepare(root) (in a copy,
    cached beside it as SUITE-TAG-NAME), for tests that need more than the
    shared package set, e.g. a second kernel. Never changed afterwards."""
    base = debian_root(suite)
    root = base.with_name(f"{base.name}-{name}")
    if not (root / ".done").exists():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        started = time.monotonic()
        run(["cp", "-a", str(base), str(tmp)])
        (tmp / ".done").unlink()
        prepare(tmp)
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
        (root / ".done").touch()
        log(f"{root.name}: derived from {base.name} in {time.monotonic() - started:.0f} s")
    return root


# Speed under TCG: no gettys competing for the console, no timers starting
# jobs during a run.
MASKED = ["serial-getty@ttyS0.service", "getty@tty1.service", "apt-daily.timer",
          "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"]
# systemd-networkd with QEMU's user-mode network: a fixed address, no DHCP wait.
NETWORK = """[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
"""
TEST_UNIT = """[Unit]
Description=kexec-chooser VM test{what}
After={after}
Before={before}

[Service]
Type=oneshot
# A scenario may block a unit on purpose, until a watchdog resets the guest.
TimeoutStartSec=infinity
ExecStart=/usr/local/sbin/kct-test{argument}
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy={target}
"""


# A boot check as an administrator adds one (docs/confirm.md), failing once:
# in the boot after the test script created its flag
# (DebianImage.add_failing_check).
CHECK_UNIT = """[Unit]
Description=kexec-chooser VM test: a boot check that fails once
ConditionPathExists=/var/lib/kct/fail-check
Before=boot-complete.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'rm -f /var/lib/kct/fail-check; sync; echo "KCT: boot check fails"; exit 1'
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
RequiredBy=boot-complete.target
"""


class DebianImage:
    """One test's Debian systemd guest: a copy of the suite's root (or of
    `base`, a derived_root), changed for the test, then written to an ext4
    image (/dev/vda) by `image()`."""

    def __init__(self, work, suite="bookworm", hostname="kct", base=None):
        self.suite = suite
        base = base or debian_root(suite)
        self.started = time.monotonic()
        self.root = work / f"root-{suite}"
        shutil.rmtree(self.root, ignore_errors=True)
        run(["cp", "-a", str(base), str(self.root)])
        (self.root / ".done").unlink()
        self.write("etc/fstab", "/dev/vda / ext4 rw,errors=remount-ro 0 1\n")
        self.write("etc/hostname", f"{hostname}\n")
        # sudo (become) looks its own host name up.
        self.write("etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {hostname}\n")
        for unit in MASKED:
            self.link(f"etc/systemd/system/{unit}", "/dev/null")
        self.img = None

    def write(self, path, text, mode=0o644):
        dest = self.root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        os.chmod(dest, mode)

    def link(self, path, target):
        dest = self.root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        dest.symlink_to(target)

    def enable(self, unit, target="multi-user.target"):
        """Enable a unit by its path in the guest, as `systemctl enable`."""
        self.link(f"etc/systemd/system/{target}.wants/{Path(unit).name}", unit)

    def releases(self):
        return sorted(p.name for p in (self.root / "lib/modules").iterdir())

    def install_kexec_chooser(self, artifact):
        """A .deb is installed with the guest's own dpkg (chroot); anything
        else is taken as the binary."""
        artifact = Path(artifact)
        if artifact.suffix == ".deb":
            shutil.copy2(artifact, self.root / "tmp/kexec-chooser.deb")
            run(["chroot", str(self.root), "dpkg", "-i", "/tmp/kexec-chooser.deb"], stdout=subprocess.DEVNULL)
            (self.root / "tmp/kexec-chooser.deb").unlink()
        else:
            install(artifact, self.root / "usr/sbin/kexec-chooser")

    def add_test(self, script, after="local-fs.target", target="multi-user.target"):
        """tests/vm/SCRIPT as a oneshot unit at boot, its output on the
        serial console, with guest-lib.sh beside it; ordered after AFTER
        (units), wanted by TARGET (a test that waits for a unit ordered
        after multi-user.target must itself be wanted by a later target)."""
        install(VM / script, self.root / "usr/local/sbin/kct-test")
        install(VM / "guest-lib.sh", self.root / "usr/local/lib/kct/guest-lib.sh", 0o644)
        (self.root / "var/lib/kct").mkdir(parents=True, exist_ok=True)
        self.write("etc/systemd/system/kct-test.service",
                   TEST_UNIT.format(what="", after=after, before="", argument="", target=target))
        self.enable("/etc/systemd/system/kct-test.service", target)

    def add_early(self, after="local-fs.target"):
        """The script of add_test run again with the argument `early`, as a
        oneshot unit ordered before kexec-chooser-confirm.service (and wanted
        by multi-user.target): the warm boot as it is before confirm touches
        it. It may block, holding confirm back."""
        self.write("etc/systemd/system/kct-early.service",
                   TEST_UNIT.format(what=": before confirm", after=after, before="kexec-chooser-confirm.service",
                                    argument=" early", target="multi-user.target"))
        self.enable("/etc/systemd/system/kct-early.service")

    def add_failing_check(self):
        """CHECK_UNIT, enabled as a unit RequiredBy=boot-complete.target."""
        self.write("etc/systemd/system/kct-check.service", CHECK_UNIT)
        self.link("etc/systemd/system/boot-complete.target.requires/kct-check.service",
                  "/etc/systemd/system/kct-check.service")

    def install_debs(self, pkgs):
        """Debian packages, (name, dpkg architecture) pairs that name every
        dependency the root lacks, installed with the root's own dpkg
        (chroot) from the cache's downloads."""
        copies = []
        for pkg, arch in pkgs:
            copies.append(self.root / "tmp" / f"{pkg}.deb")
            shutil.copy2(deb(pkg, arch), copies[-1])
        try:
            run(["chroot", str(self.root), "dpkg", "-i", *(f"/tmp/{c.name}" for c in copies)],
                stdout=subprocess.DEVNULL)
        finally:
            for c in copies:
                c.unlink()

    def add_network(self):
        self.write("etc/systemd/network/10-qemu.network", NETWORK)
        self.enable("/lib/systemd/system/systemd-networkd.service")

    def image(self, name="debian", spare_mb=512):
        self.img = self.root.parent / f"{name}.img"
        size = dir_mb(self.root) + spare_mb
        mke2fs(self.img, size, self.root, "root")
        log(f"{self.img.name}: {size} MB from the {self.suite} root, copied, changed and written "
            f"in {time.monotonic() - self.started:.0f} s")
        return self.img

    def qemu(self, release, extra="", **kw):
        """The image booted in RELEASE; `kw` are Qemu's."""
        append = " ".join(w for w in ["console=ttyS0 root=/dev/vda ro panic=-1", AMD64.append, extra] if w)
        return Qemu(AMD64, self.root / "boot" / f"vmlinuz-{release}", self.root / "boot" / f"initrd.img-{release}",
                    append, [self.img], **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ssh:
    """SSH as root into a systemd guest on a forwarded loopback port: a key
    made for the test, and host key checking kept on against the guest's own
    host key, read from its image. Made before `image.image()`; boot the
    guest with `image.qemu(..., ssh_port=ssh.port)`."""

    def __init__(self, work, image):
        self.key = work / "id_ed25519"
        self.key.unlink(missing_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kct", "-f", str(self.key)])
        ssh_dir = image.root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        image.write("root/.ssh/authorized_keys", Path(f"{self.key}.pub").read_text(), 0o600)
        image.add_network()
        self.port = free_port()
        hostkey = (image.root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        self.known_hosts = work / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {hostkey[0]} {hostkey[1]}\n")

    def options(self):
        return ["-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10"]

    def argv(self, *cmd):
        return ["ssh", "-i", str(self.key), "-p", str(self.port), *self.options(), "root@127.0.0.1", *cmd]

    def __call__(self, *cmd, check=True, timeout=120):
        """Run CMD in the guest; its stdout, stripped."""
        r = subprocess.run(self.argv(*cmd), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise Failure(f"ssh {' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout.strip()

    def wait(self, console, timeout):
        """Until sshd answers; fails early when QEMU exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if console.proc.poll() is not None:
                raise Failure("QEMU exited before SSH answered")
            if subprocess.run(self.argv("true"), capture_output=True, timeout=60).returncode == 0:
                return
            time.sleep(3)
        raise Failure(f"SSH did not answer within {timeout}s")


# ---------------------------------------- Debian guests booted by their firmware

# Debian's ovmf package (scripts/setup.d/35-fallback.sh): the code read-only,
# the variables a copy per run, so that EFI variables (LoaderEntryOneShot)
# live across the resets of one run and never leak into another.
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")


def ovmf_args(efi_vars):
    """QEMU's arguments for OVMF as the firmware, with EFI_VARS (a copy of
    OVMF_VARS) as its variable store."""
    return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={efi_vars}"]


def firmware_qemu(disks, efi_vars=None, **kw):
    """A guest without -kernel: the firmware boots the boot loader on its
    disks and boots it again on every reset, as on a real machine: SeaBIOS
    and GRUB from the first disk's boot sector, or with EFI_VARS OVMF and
    the EFI boot loader of an ESP. `kw` are Qemu's (reboot, devices, args)."""
    args = list(kw.pop("args", []))
    if efi_vars is not None:
        args = ovmf_args(efi_vars) + args
    return Qemu(AMD64, None, None, "", list(disks), args=args, **kw)


@contextlib.contextmanager
def mounted(image):
    """IMAGE (an ext4 file system image) loop-mounted on a new directory
    beside it. For an image that must keep its blocks where they are (GRUB's
    core.img, found by block list), where mke2fs -d would write a new one."""
    mnt = Path(tempfile.mkdtemp(prefix="mnt-", dir=image.parent))
    run(["mount", "-o", "loop", str(image), str(mnt)])
    try:
        yield mnt
    finally:
        run(["umount", str(mnt)])
        mnt.rmdir()


class MountedRoot(DebianImage):
    """DebianImage's changes (write, link, enable, add_test,
    install_kexec_chooser) made in a root that is already an image, mounted
    (`mounted`), instead of a copy that becomes one."""

    def __init__(self, root, suite="bookworm"):  # pylint: disable=super-init-not-called
        self.suite = suite
        self.root = Path(root)
        self.img = None


def installed_disks(name, make, dest):
    """The disk images (and EFI variable store) of a guest that made itself
    bootable in a boot of its own (grub-install, bootctl install), made once
    by make(DIR) into the cache as images/NAME and never changed there;
    each file copied, sparse, into DEST for one run. Returns DEST."""
    cached = CACHE / "images" / name
    if not (cached / ".done").exists():
        tmp = cached.with_name(cached.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        started = time.monotonic()
        make(tmp)
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)
        (cached / ".done").touch()
        log(f"images/{name}: made in {time.monotonic() - started:.0f} s")
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(cached.iterdir()):
        if f.name != ".done":
            run(["cp", "--sparse=always", str(f), str(dest / f.name)])
    return dest


# ---------------------------------------------------------------- the run

ERRORS = (Failure, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, KeyError, ValueError)


def once(make):
    """`make()` the first time, the same result (or failure) after: a guest
    several tests share is built once, and not retried when it failed."""
    memo = []

    def get():
        if not memo:
            try:
                memo.append((make(), None))
            except ERRORS as e:
                memo.append((None, e))
        value, error = memo[0]
        if error is not None:
            raise error
        return value
    return get


class Suite:
    """One run of a harness: as root, in a work directory under the cache
    (removed at the end unless kept), each named test in turn, a PASS or FAIL
    line with its seconds, then "SUMMARY: N passed, M failed"."""

    def __init__(self, name, summary):
        global _prefix
        _prefix = name
        self.summary = summary
        self.work = None

    def run(self, selected, tests, keep=False, jobs=1):
        """`tests` maps names to functions of no argument; returns the exit
        code. With `jobs` > 1 that many tests run at once, each in a thread
        (tests whose guests are slowed, not falsified, by a busy host)."""
        if os.geteuid() != 0:
            log("run as root (debootstrap, chroot, mke2fs -d of root-owned trees)")
            return 2
        unknown = [t for t in selected if t not in tests]
        if unknown:
            log(f"no test {', '.join(unknown)} (there are: {', '.join(tests)})")
            return 2
        CACHE.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="work-", dir=CACHE))
        failed = []

        def one(t):
            started = time.monotonic()
            try:
                tests[t]()
                log(f"PASS {t} ({time.monotonic() - started:.0f} s)")
            except ERRORS as e:
                why = e if isinstance(e, Failure) else f"{type(e).__name__}: {e}"
                log(f"FAIL {t}: {why}")
                failed.append(t)
        try:
            if jobs > 1:
                gate = threading.BoundedSemaphore(jobs)

                def gated(t):
                    with gate:
                        try:
                            one(t)
                        except BaseException as e:  # a bug in a test: failed, its traceback printed
                            log(f"FAIL {t}: {type(e).__name__}: {e}")
                            failed.append(t)
                            raise
                threads = [threading.Thread(target=gated, args=(t,)) for t in selected]
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
            else:
                for t in selected:
                    one(t)
        finally:
            if keep:
                log(f"work directory kept: {self.work}")
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        print(f"{self.summary}: {len(selected) - len(failed)} passed, {len(failed)} failed", flush=True)
        return 1 if failed else 0


def main():
    """For shell scripts: `path [SUBDIR]` prints the cache (or a directory
    in it), `mirror` the Debian mirror."""
    if sys.argv[1:2] == ["path"] and len(sys.argv) <= 3:
        print(CACHE / (sys.argv[2] if len(sys.argv) == 3 else ""))
    elif sys.argv[1:] == ["mirror"]:
        print(mirror())
    else:
        print("usage: harness.py path [SUBDIR] | mirror", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
