#!/bin/busybox sh
# PID 1 of the busybox guest of the safety-net test (tests/vm/safety.py):
# kexec-chooser in direct mode over an i6300esb watchdog, in one QEMU run
# without -no-reboot, so that a reset boots release A again as firmware
# would. A machine without systemd runs `kexec-chooser confirm` from its
# init, and so does this one, on every boot. /dev/vdb holds
# /var/lib/kexec-chooser (the records) and the phase across the boots:
#   A, cold, no phase:  armed warm reboot into B (kct.then=confirm)
#   B, warm, confirm:   confirmed; stays up past the timeout; armed warm
#                       reboot into B again with kct.then=hang
#   B, warm, hang:      init hangs before confirm; the watchdog resets
#   A, cold, hang:      confirm finds that the warm reboot fell back
. /lib/kct/guest-lib.sh
guest_init /dev/vdb
state=/var/lib/kexec-chooser
mkdir -p $state
mount -t ext4 /dev/vdb $state || say "cannot mount the state disk"
timeout=$(arg kct.watchdog)

# Armed direct warm reboot into $target; "$@" are more options.
armed_reboot() {
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "$target" --mode direct --yes --timeout 2 --watchdog "$timeout" "$@"
    say "kexec-chooser returned rc=$? without rebooting"
}

# `kexec-chooser confirm`, timed between two kct-stamp lines, with its exit
# code and output.
confirm_report() {
    stamp confirm-start
    kexec-chooser confirm >/tmp/confirm.out 2>&1
    rc=$?
    stamp confirm-end
    say "confirm rc=$rc out=$(tr '\n' ' ' </tmp/confirm.out)"
}

if [ -n "$(arg kexec_chooser.boot)" ] && [ "$(arg kct.then)" = hang ]; then
    say "target init hangs"
    while :; do sleep 3600; done
fi
if [ -z "$(arg kexec_chooser.boot)" ]; then
    # A cold boot loads the watchdog driver as udev would, with the core's
    # default parameters: kexec-chooser must reload the core itself.
    modprobe i6300esb || say "modprobe i6300esb failed"
    say "watchdog bootstatus=$(cat /sys/class/watchdog/watchdog0/bootstatus 2>/dev/null)"
fi
confirm_report
status_report
phase=$(cat $state/kct-phase 2>/dev/null)
say "phase=${phase:-none} then=$(arg kct.then)"
case "${phase:-none}:$(arg kct.then)" in
none:*)
    echo confirm >$state/kct-phase
    armed_reboot --append kct.then=confirm
    ;;
confirm:confirm)
    say "watchdog state=$(cat /sys/class/watchdog/watchdog0/state 2>/dev/null)"
    stay_up "$timeout"
    echo hang >$state/kct-phase
    armed_reboot --append kct.then=hang
    ;;
esac
stop
