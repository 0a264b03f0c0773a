#!/bin/bash
# Tools the core tests use: binutils (objcopy builds a UKI fixture),
# systemd-boot-efi (the EFI stub for it), linux-base (linux-version, the peer
# of the list benchmark), grub-common (grub-editenv, whose bytes the grubenv
# edits are compared with; it installs no boot loader).
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 binutils systemd-boot-efi linux-base grub-common >/dev/null
