#!/bin/bash
# Tools the Debian-package check needs: cargo-deb builds the .deb (with
# dpkg-shlibdeps from dpkg-dev for its Depends, and strip from binutils),
# lintian judges it, debootstrap makes the Debian 12 root it is installed
# into, systemd (systemd-analyze) and man-db are what the check uses.
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    binutils debootstrap dpkg-dev lintian man-db systemd >/dev/null
# The version the packaging was written against (systemd-units with unit-name).
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
    cargo install --quiet --locked cargo-deb --version "$CARGO_DEB_VERSION"
fi
