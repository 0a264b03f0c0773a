#!/bin/bash
# The QEMU proof of the warm reboot (tests/vm/vmtest.py): refusals, direct
# mode in a busybox initramfs guest, systemd mode in a Debian 12 guest, the
# harness's own check that a watchdog reset boots the guest again, and the
# boot assessment (a failing check unit) in a Debian 13 guest.
# Downloads and guest roots are cached (tests/vm/harness.py names where).
set -euo pipefail
cd "$(dirname "$0")/../.."
# The systemd guest installs the project's .deb, as users do: the one
# 10-deb.sh built and checked, else one built here.
deb=$(ls target/debian/kexec-chooser_*_amd64.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
    cargo deb --locked >/dev/null
    deb=$(ls target/debian/kexec-chooser_*_amd64.deb | head -n1)
fi
timeout 1500 python3 tests/vm/vmtest.py --artifact "$deb" refusals direct systemd reset
# systemd 257's boot assessment, in Debian 13 (35-fallback.sh's GRUB guest
# proves it on Debian 12's 252).
exec timeout 1200 python3 tests/vm/vmtest.py --artifact "$deb" --suite trixie assess
