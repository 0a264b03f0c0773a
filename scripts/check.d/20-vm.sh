#!/bin/bash
# The QEMU proof of the warm reboot (tests/vm/vmtest.py): refusals, direct
# mode in a busybox initramfs guest, systemd mode in a Debian 12 guest.
# Guests are cached under ${CACHE_DIR:-/var/cache/kexec-chooser-tests}/vm.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec timeout 1500 python3 tests/vm/vmtest.py refusals direct systemd
