#!/bin/sh
# The test unit of the fall-back guests (tests/vm/fallback.py): a Debian 12
# guest booted by its firmware and boot loader (GRUB from the disk under
# SeaBIOS, or systemd-boot under OVMF) on every boot of one QEMU run, reset
# by an i6300esb watchdog. /var/lib/kct/env names A (the kernel running
# when a warm reboot starts), B (the target, the boot loader's default),
# the loader, the watchdog's timeout and the scenarios to walk through, in
# order; /var/lib/kct/phase says which step this boot is:
#   loader          A: the one-time entry set to A here; a watchdog reset
#   loader-back     A again: next scenario
#   fallback        A: B's initrd cannot find the root; warm reboot into B
#   fallback-back   A again after the watchdog's reset: next scenario
#   checkfail       A: B healthy, a boot check that fails once; warm reboot
#   checkfail-back  A again after confirm's firmware reboot: next scenario
#   healthy         A: B healthy; warm reboot into B
#   healthy-warm    B, warm: confirmed; stays up; a cold reboot
#   cold            B, cold (the default): next scenario
# With "early" it only says the one-time entry: kct-early.service runs it
# before kexec-chooser-confirm.service.
. /usr/local/lib/kct/guest-lib.sh
kct=/var/lib/kct
. $kct/env

if [ "$1" = early ]; then
    say "early release=$(uname -r) $(loader_report)"
    exit 0
fi

say "booted release=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime) boot_id=$(cat /proc/sys/kernel/random/boot_id)"
say "cmdline=$(cat /proc/cmdline)"
confirm_unit_report
status_report
say "loader $(loader_report)"

# B's initrd: "good", or "broken" (made without the root's disk driver):
# the one file that both the boot loader and kexec-chooser read (the ESP's
# copy through kernel-install, as Debian's kernel hooks do).
use_initrd() {
    cp "$kct/initrd-$1" "/boot/initrd.img-$B"
    if [ "$LOADER" = sdboot ]; then
        kernel-install add "$B" "/boot/vmlinuz-$B" "/boot/initrd.img-$B" || say "kernel-install add $B failed"
    fi
    sync
    say "initrd of $B: $1"
}

# The plan on one line each ("KCT: plan ..."), then the warm reboot.
warm_reboot() {
    kexec-chooser --dry-run "$B" --watchdog "$TIMEOUT" 2>&1 | sed 's/^/KCT: plan /'
    say "warm reboot into $B"
    kexec-chooser --yes "$B" --watchdog "$TIMEOUT"
    say "kexec-chooser returned rc=$?"
}

# The next scenario of the list, in this boot; after the last, power off.
next_scenario() {
    set -- $(cat $kct/todo)
    if [ $# -eq 0 ]; then
        say "done"
        systemctl poweroff --no-block
        exit 0
    fi
    next=$1
    shift
    echo "$*" >$kct/todo
    run_phase "$next"
}

run_phase() {
    echo "$1" >$kct/phase
    sync
    say "phase=$1"
    case "$1" in
    loader)
        case "$LOADER" in
        grub) grub-reboot "$(cat $kct/entry-A)" ;;
        sdboot) bootctl set-oneshot "$(cat $kct/entry-A)" ;;
        esac
        echo loader-back >$kct/phase
        sync
        say "one-time entry $(one_time_entry)"
        # Opened and closed without the magic character: the device counts
        # on (its driver's default timeout) and resets the idle guest.
        exec 3>/dev/watchdog0
        exec 3>&-
        say "watchdog armed by hand"
        ;;
    loader-back)
        next_scenario
        ;;
    fallback)
        use_initrd broken
        head -c 1048576 /dev/urandom >$kct/file
        echo fallback-back >$kct/phase
        sync
        say "file sha256=$(sha256sum $kct/file | cut -d' ' -f1)"
        warm_reboot
        ;;
    fallback-back)
        say "file sha256=$(sha256sum $kct/file | cut -d' ' -f1)"
        next_scenario
        ;;
    checkfail)
        use_initrd good
        touch $kct/fail-check
        echo checkfail-back >$kct/phase
        sync
        warm_reboot
        ;;
    checkfail-back)
        if [ -e $kct/fail-check ] || [ "$(uname -r)" = "$B" ]; then
            checkfail_went_on
            exit 0
        fi
        next_scenario
        ;;
    healthy)
        use_initrd good
        echo healthy-warm >$kct/phase
        sync
        warm_reboot
        ;;
    healthy-warm)
        [ "${STAY:-0}" -gt 0 ] && stay_up "$STAY"
        echo cold >$kct/phase
        sync
        say "cold reboot"
        systemctl reboot --no-block
        ;;
    cold)
        next_scenario
        ;;
    *)
        say "no phase $1"
        ;;
    esac
}

run_phase "$(cat $kct/phase)"
