#!/bin/busybox sh
# PID 1 of the arm64 busybox initramfs guest (tests/vm/arm64.py builds it
# in): runs the scenario named by kct.test= on the kernel command line, on top
# of guest-lib.sh (the boot report, the marker boot after a warm reboot, the
# helpers).
. /lib/kct/guest-lib.sh
guest_init /dev/vda

case "$(arg kct.test)" in
direct)
    say "status $(kexec-chooser status --json | tr -d '\n ')"
    say "plan $(kexec-chooser reboot "$target" --dry-run --json | tr -d '\n ')"
    warm_reboot "$target"
    ;;
gzip)
    # A gzip-compressed Image chosen by path: unpacked in memory, then kexec_load.
    warm_reboot "/boot/alt/vmlinuz-$target" --initrd "/boot/initrd.img-$target"
    ;;
refusals)
    refusal garbage kexec-chooser reboot 9.9.9-garbage --mode direct --yes
    mv "/boot/initrd.img-$target" /boot/initrd.away
    refusal noinitrd kexec-chooser reboot "$target" --mode direct --yes
    mv /boot/initrd.away "/boot/initrd.img-$target"
    # Load without hand-over, then unload: on this kernel the unload, too,
    # goes through kexec_load (no segments), kexec_file_load being missing.
    kexec-chooser load "$target" >/tmp/out 2>&1
    rc=$?
    l1=$(cat /sys/kernel/kexec_loaded)
    kexec-chooser unload >>/tmp/out 2>&1
    say "load-unload rc=$rc/$? loaded=$l1 after=$(cat /sys/kernel/kexec_loaded) msg=$(tr '\n' ' ' </tmp/out)"
    # Lockdown can be raised at run time (never lowered): kexec_load is refused.
    echo integrity >/sys/kernel/security/lockdown
    say "lockdown=$(cat /sys/kernel/security/lockdown)"
    refusal lockdown kexec-chooser reboot "$target" --mode direct --yes
    echo 1 >/proc/sys/kernel/kexec_load_disabled
    refusal disabled kexec-chooser reboot "$target" --mode direct --yes
    say "alive after refusals"
    ;;
bench-ours)
    direct_reboot bench "$target"
    ;;
bench-kexec-tools)
    peer_reboot
    ;;
esac
stop
