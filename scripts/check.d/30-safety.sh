#!/bin/bash
# The QEMU proof of the safety net (tests/vm/safety.py) in the busybox guest
# (direct mode, confirm from init): an armed warm reboot confirmed by the
# new kernel, and one into a kernel that cannot come up, reset by the
# i6300esb watchdog and reported as fallen back. After 20-vm, whose caches
# it shares. safety.py's Debian 12 guest (`systemd`, booted by -kernel) is
# not run here: 35-fallback.sh's GRUB guest proves all it proved with real
# boot loaders — the confirm unit confirms and the watchdog is disarmed
# (the warm boot stays up 150 s past its 120 s timeout), a new kernel that
# cannot come up is reset and reported fell-back with status naming it,
# a file written and synced before is intact, the timings are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec timeout 900 python3 tests/vm/safety.py direct
