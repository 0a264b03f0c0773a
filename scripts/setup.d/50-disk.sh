#!/bin/bash
# Tools the disk tests use: fuse3 (the kernel side of the hung-statfs test
# needs /dev/fuse; fusermount3 is its fallback unmount), coreutils' df is
# already there; prometheus_client parses the textfile the check writes.
set -euo pipefail
apt-get install -y -qq -o DPkg::Lock::Timeout=600 fuse3 >/dev/null
python3 -m pip install -q --disable-pip-version-check prometheus-client==0.21.1
