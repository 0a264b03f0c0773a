# Developer shortcuts. The one test command stays `sudo scripts/test-all`.

# Root is needed to build the guests (debootstrap, mke2fs -d of root-owned files).
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo vm-test bench-reboot

# Build the busybox guest of tests/vm (two Debian kernel releases in /boot),
# boot it in QEMU (TCG, no risk to this machine) and show on the terminal the
# menu-free warm reboot from one release into the other, as its serial
# console prints it. The first run downloads two kernels (about 140 MB).
demo:
	$(SUDO) python3 tests/vm/vmtest.py demo

# The QEMU proof of the warm reboot (what scripts/check.d/20-vm.sh runs).
vm-test:
	$(SUDO) python3 tests/vm/vmtest.py refusals direct systemd reset

# Speed figures of the warm reboot against its peers (by hand, not in CI).
bench-reboot:
	$(SUDO) benches/reboot/run.sh
