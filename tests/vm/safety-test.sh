#!/bin/sh
# The test unit of the Debian 12 guest of the safety-net test
# (tests/vm/safety.py), run after kexec-chooser-confirm.service on every
# boot of one QEMU run without -no-reboot (a reset boots release A again,
# as firmware would boot the boot loader's default). The phase in
# /var/lib/kct says which boot this is:
#   A, cold, no phase:  warm reboot into B with --watchdog kct.watchdog=
#   B, warm, confirm:   the unit confirmed; stays up 150 s; a file written
#                       and synced; warm reboot into B again with a root
#                       device that does not exist, so that its initramfs
#                       gives up and the watchdog resets the guest
#   A, cold, fallback:  the unit found that the warm reboot fell back
. /usr/local/lib/kct/guest-lib.sh
kct=/var/lib/kct
target=$(arg kct.target)
timeout=$(arg kct.watchdog)

say "booted release=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime) boot_id=$(cat /proc/sys/kernel/random/boot_id)"
say "cmdline=$(cat /proc/cmdline)"
confirm_unit_report
status_report

phase=$(cat $kct/phase 2>/dev/null)
say "phase=${phase:-none}"
case "${phase:-none}" in
none)
    echo confirm >$kct/phase
    sync
    say "warm reboot into $target"
    kexec-chooser --yes "$target" --watchdog "$timeout"
    say "kexec-chooser returned rc=$?"
    ;;
confirm)
    stay_up 150
    head -c 1048576 /dev/urandom >$kct/file
    echo fallback >$kct/phase
    sync
    say "file sha256=$(sha256sum $kct/file | cut -d' ' -f1)"
    say "warm reboot into $target with root=/dev/nonexistent"
    kexec-chooser --yes "$target" --watchdog "$timeout" --append root=/dev/nonexistent --remove panic
    say "kexec-chooser returned rc=$?"
    ;;
fallback)
    say "file sha256=$(sha256sum $kct/file | cut -d' ' -f1)"
    say "done"
    systemctl poweroff --no-block
    ;;
esac
