#!/bin/bash
# The QEMU proof that a warm reboot which does not come up falls back to the
# kernel that was running (tests/vm/fallback.py): Debian 12 guests booted by
# real boot loaders — GRUB from the disk under SeaBIOS, systemd-boot under
# OVMF — through a watchdog reset, a failed boot check and a cold reboot.
# Its guest images are made once and cached (tests/vm/harness.py names where).
# The GRUB guest's confirmed warm boot stays up 150 s past the watchdog's
# 120 s: it stands in for safety.py's Debian guest (see 30-safety.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
# The guests install the .deb that 10-deb.sh built and checked (or one built now).
deb=$(ls target/debian/kexec-chooser_*_amd64.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || { cargo deb --locked >/dev/null && deb=$(ls target/debian/kexec-chooser_*_amd64.deb | head -n1); }
# The two guests run side by side, one core each (--jobs 2).
exec timeout 1800 python3 tests/vm/fallback.py --jobs 2 --stay 150 --artifact "$deb" grub sdboot
