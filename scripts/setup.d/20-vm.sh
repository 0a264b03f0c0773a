#!/bin/bash
# Tools the QEMU guests of tests/vm need: the emulator, a static busybox for
# the initramfs guest, debootstrap and e2fsprogs for the Debian guest and the
# disk images, cpio to pack initramfs archives, and the static glibc the
# guest binary links against. (kexec-tools, the speed peer, is installed by
# benches/reboot/run.sh only.)
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    qemu-system-x86 busybox-static debootstrap e2fsprogs cpio \
    libc6-dev >/dev/null
