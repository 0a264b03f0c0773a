#!/bin/bash
# The QEMU proof of the native kexec_load path on arm64 (tests/vm/arm64.py):
# refusals, then a direct warm reboot from one Debian arm64 kernel release
# into another, and the same from a gzip-compressed Image. Software
# emulation (TCG); about two minutes when cached, a few more when the arm64
# packages are downloaded first.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec timeout 900 python3 tests/vm/arm64.py refusals direct gzip
