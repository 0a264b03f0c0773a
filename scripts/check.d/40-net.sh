#!/bin/bash
# The QEMU proof of the safety net where there is no chipset watchdog
# (tests/vm/net.py): a Debian 12 guest whose only watchdog is a BMC's
# (QEMU's simulated IPMI BMC), and one on Debian's cloud kernel with none,
# guarded by the software net; each comes back to the running kernel from
# a warm reboot that fails, and stays up after one that is confirmed. The
# two guests run side by side (guest clocks: a busy host slows them and
# fires nothing early). After 30-safety, whose target root it shares.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The guests install the .deb that 10-deb.sh built and checked (or one built now).
deb=$(ls target/debian/kexec-chooser_*_amd64.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || { cargo deb --locked >/dev/null && deb=$(ls target/debian/kexec-chooser_*_amd64.deb | head -n1); }
exec timeout 1800 python3 tests/vm/net.py --artifact "$deb" --jobs 2 bmc soft
