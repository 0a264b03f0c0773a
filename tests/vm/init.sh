#!/bin/busybox sh
# PID 1 of the x86_64 busybox initramfs guest (tests/vm/vmtest.py builds it
# in): runs the scenario named by kct.test= on the kernel command line, on top
# of guest-lib.sh (the boot report, the marker boot after a warm reboot, the
# helpers). /dev/vdb is a data disk.
. /lib/kct/guest-lib.sh
guest_init /dev/vdb
mount -t ext4 /dev/vdb /mnt/data || say "cannot mount /mnt/data"

case "$(arg kct.test)" in
direct)
    # Processes the direct shutdown must stop: one that leaves on SIGTERM,
    # one that ignores it (SIGKILL), one holding a file open on the data disk.
    sleep 1000 &
    sh -c 'trap "" TERM; while :; do sleep 1; done' &
    sh -c 'exec 3>>/mnt/data/log; while :; do echo tick >&3; sleep 1; done' &
    # Written without sync: the hand-over must flush it.
    dd if=/dev/urandom of=/mnt/data/file bs=64k count=64 2>/dev/null
    say "file sha256=$(sha256sum /mnt/data/file | cut -d' ' -f1)"
    warm_reboot "$target"
    ;;
refusals)
    refusal notty kexec-chooser reboot "$target" --mode direct </dev/null
    # On the console (a terminal) it asks; the host answers "n", then Ctrl-C.
    say "prompt no"
    kexec-chooser reboot "$target" --mode direct --append kct.extra=1
    say "refusal answered-no rc=$? loaded=$(cat /sys/kernel/kexec_loaded) msg=-"
    say "prompt ctrl-c"
    kexec-chooser reboot "$target" --mode direct
    say "refusal ctrl-c rc=$? loaded=$(cat /sys/kernel/kexec_loaded) msg=-"
    refusal garbage kexec-chooser reboot 9.9.9-garbage --mode direct --yes
    mv "/boot/initrd.img-$target" /tmp/initrd.away
    refusal noinitrd kexec-chooser reboot "$target" --mode direct --yes
    mv /tmp/initrd.away "/boot/initrd.img-$target"
    echo 1 >/proc/sys/kernel/kexec_load_disabled
    refusal disabled kexec-chooser reboot "$target" --mode direct --yes
    say "alive after refusals"
    ;;
reset)
    # The harness's own check of a guest reset: an i6300esb watchdog armed
    # with a 2 s timeout and never fed resets the machine, and QEMU (started
    # without -no-reboot) boots the same kernel and command line again. The
    # device's boot status tells the two boots apart: WDIOF_CARDRESET (32)
    # after a watchdog reset.
    load_modules watchdog-order
    status=$(cat /sys/class/watchdog/watchdog0/bootstatus)
    say "watchdog bootstatus=$status"
    [ "$status" = 0 ] || stop
    watchdog -T 2 -t 600 /dev/watchdog
    say "watchdog armed"
    sleep 600
    ;;
bench-ours)
    direct_reboot bench "$target"
    ;;
bench-kexec-tools)
    peer_reboot -s
    ;;
demo)
    say "the kernels in /boot:"
    ls /boot/vmlinuz-* | sed 's/^/KCT:   /'
    say "running: kexec-chooser reboot $target --mode direct --yes --append kct.marker=demo"
    direct_reboot demo "$target"
    ;;
esac
stop
