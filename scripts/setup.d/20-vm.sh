#!/bin/bash
# Tools the QEMU guests of tests/vm need: the emulator, debootstrap and
# e2fsprogs for the Debian guests and the disk images, cpio to pack initramfs
# archives, and the static glibc the guest binary links against. (busybox
# and the kernels are fetched by the harness into its cache; kexec-tools,
# the speed peer, is installed by benches/reboot/run.sh only.)
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    qemu-system-x86 debootstrap e2fsprogs cpio \
    libc6-dev >/dev/null
