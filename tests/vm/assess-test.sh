#!/bin/sh
# The test unit of the boot-assessment guest (tests/vm/vmtest.py assess): a
# Debian systemd guest started by -kernel in A, with no hardware watchdog,
# so the warm reboots carry the software net. /var/lib/kct/env names A and B
# (its two releases); /var/lib/kct/phase says which step this boot is:
#   start      A: a warm reboot into B
#   healthy    B, warm: confirmed; a boot check that fails once, then a
#              warm reboot back into A
#   checkfail  A, warm: the check failed, confirm's firmware reboot is under
#              way (this unit is ordered after confirm, not required by it);
#              or A, cold, after that reboot: report and power off
# Ordered after kexec-chooser-confirm.service: every boot says how the
# confirm unit ran and what `status --json` says.
. /usr/local/lib/kct/guest-lib.sh
kct=/var/lib/kct
. $kct/env
phase=$(cat $kct/phase)

say "booted release=$(uname -r) phase=$phase"
say "cmdline=$(cat /proc/cmdline)"
say "systemd=$(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"
confirm_unit_report
status_report

# A warm reboot into $1, the next phase $2 written (and synced) first.
warm_reboot() {
    echo "$2" >$kct/phase
    sync
    say "warm reboot into $1"
    kexec-chooser --yes "$1"
    say "kexec-chooser returned rc=$?"
}

case "$phase" in
start)
    # Written without sync: the hand-over must flush it.
    head -c 1048576 /dev/urandom >$kct/file
    say "file sha256=$(sha256sum $kct/file | cut -d' ' -f1)"
    warm_reboot "$B" healthy
    ;;
healthy)
    say "file sha256=$(sha256sum $kct/file | cut -d' ' -f1)"
    touch $kct/fail-check
    warm_reboot "$A" checkfail
    ;;
checkfail)
    # The warm boot (its command line has the record's mark): the reboot
    # is kexec-chooser's to make.
    if grep -q 'kexec_chooser\.boot=' /proc/cmdline; then
        checkfail_went_on
        exit 0
    fi
    say "done"
    systemctl poweroff --no-block
    ;;
*)
    say "no phase $phase"
    ;;
esac
