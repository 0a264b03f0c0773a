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
exec python3 tests/vm/vmtest.py --release bench
