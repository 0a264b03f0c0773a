#!/bin/bash
# The fleet check: ansible-lint (production profile) on
# contrib/ansible, then the end-to-end run of tests/fleet/fleettest.py, in
# which ansible-playbook warm-reboots a Debian 12 QEMU guest over SSH and is
# refused on a guest with kexec_load_disabled=1. Tools come from
# scripts/setup.d/80-fleet.sh (a venv under the cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=$(python3 tests/vm/harness.py path fleet/venv)
export PATH="$VENV/bin:$PATH"

echo "80-fleet: ansible-lint $(ansible-lint --nocolor --version 2>/dev/null | head -n 1 | awk '{print $2}') --profile production"
(cd contrib/ansible && ansible-lint --offline --nocolor --profile production .)

echo "80-fleet: end-to-end run (QEMU, tcg)"
exec timeout 1200 python3 tests/fleet/fleettest.py
