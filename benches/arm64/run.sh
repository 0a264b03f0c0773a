#!/bin/bash
# Speed of the arm64 warm reboot, by hand (not in CI), as root: in the
# qemu-system-aarch64 TCG guest of tests/vm/arm64.py, seconds from the command
# to the second kernel's marker with `kexec-chooser reboot B --mode direct`
# (native kexec_load path) versus Debian's kexec-tools (`kexec -l ...;
# kexec -e`) on the same kernel, initrd and command line. Medians of ROUNDS
# boots each (default 3); the guest binary is a --release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/vm/arm64.py bench --rounds "${ROUNDS:-3}"
