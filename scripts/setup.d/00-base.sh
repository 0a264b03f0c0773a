#!/bin/bash
# Tools the core tests use: binutils (objcopy builds a UKI fixture),
# systemd-boot-efi (the EFI stub for it), linux-base (linux-version, the peer
# of the list benchmark).
set -euo pipefail
apt-get install -y -qq binutils systemd-boot-efi linux-base >/dev/null
