#!/bin/bash
# The QEMU proof of the safety net (tests/vm/safety.py): an armed warm
# reboot confirmed by the new kernel, and one into a kernel that cannot come
# up, reset by the i6300esb watchdog and reported as fallen back — in the
# busybox guest (direct mode, confirm from init) and in a Debian 12 guest
# (the .deb's confirm unit). After 20-vm, whose caches it shares.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The Debian guest installs the .deb that 10-deb.sh built and checked (or
# one built now): the confirm unit comes with it.
deb=$(ls target/debian/kexec-chooser_*_amd64.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || { cargo deb --locked >/dev/null && deb=$(ls target/debian/kexec-chooser_*_amd64.deb | head -n1); }
exec timeout 1500 python3 tests/vm/safety.py --artifact "$deb" direct systemd
