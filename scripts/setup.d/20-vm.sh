#!/bin/bash
# Tools the QEMU guests of tests/vm need: the emulator, a static busybox for
# the initramfs guest, debootstrap and e2fsprogs for the Debian guest and the
# disk images, cpio to pack initramfs archives, kexec-tools as the speed peer,
# and the static glibc the guest binary links against.
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    qemu-system-x86 busybox-static debootstrap e2fsprogs cpio kexec-tools \
    libc6-dev >/dev/null
# The static guest binary is built for the explicit target triple so that its
# objects stay apart from the host build.
if command -v rustup >/dev/null; then
    rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-gnu \
        || rustup target add x86_64-unknown-linux-gnu >/dev/null 2>&1 || true
fi
