#!/bin/bash
# Tools of the fall-back proof (tests/vm/fallback.py) beyond 20-vm.sh's:
# OVMF, the UEFI firmware its systemd-boot guest boots with (GRUB and
# systemd-boot themselves are installed inside the guests).
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 ovmf >/dev/null
