#!/bin/bash
# Speed of the warm reboot, run by hand as root (not in CI), in QEMU guests:
#  * systemd guest: seconds from the command to the next boot's marker for
#    `kexec-chooser --yes latest` versus `systemctl reboot` (cold, via firmware);
#  * busybox guest: guest seconds from the command to reboot(KEXEC) for
#    `kexec-chooser reboot V --mode direct --yes` versus
#    `kexec -s -l ... && kexec -e` (Debian's kexec-tools), same kernel and initrd.
# Both use the release build. Figures are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The peer, copied into the guest. Told not to take over this machine's reboots.
if ! command -v kexec >/dev/null; then
    echo "kexec-tools kexec-tools/load_kexec boolean false" | debconf-set-selections
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 kexec-tools >/dev/null
fi
# An argument (bench-direct, bench-systemd) replaces the default `bench`.
exec python3 tests/vm/vmtest.py --release "${@:-bench}"
