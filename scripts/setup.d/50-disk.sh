#!/bin/bash
# Tools the disk tests use: fuse3 (the hung-statfs test mounts a FUSE
# filesystem by hand; the package also makes sure /dev/fuse and the module are
# there), and prometheus_client, whose parser reads the textfile disk writes.
# df (coreutils) and unshare (util-linux) come with every Debian system.
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 fuse3 >/dev/null
modprobe fuse 2>/dev/null || true
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore prometheus-client==0.21.1
