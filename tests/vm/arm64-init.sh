#!/bin/busybox sh
# PID 1 of the arm64 busybox initramfs guest (tests/vm/arm64.py builds it in).
# Like tests/vm/init.sh for x86_64: it prints what the host checks on the
# serial console, each line starting with "KCT: ", and runs the scenario named
# by kct.test=. A boot whose command line has kct.marker= is the one after a
# warm reboot: it only reports and powers off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /boot /run /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null

say() { echo "KCT: $*"; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}" ;; esac; done; }
stop() { say "done"; sync; poweroff -f; sleep 60; }

r=$(uname -r)
while read -r m; do insmod "/lib/modules/$r/$m" 2>/dev/null; done < "/lib/modules/$r/load-order"
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done

say "booted release=$r"
say "cmdline=$(cat /proc/cmdline)"
say "kexec_loaded=$(cat /sys/kernel/kexec_loaded)"
marker=$(arg kct.marker)
if [ -n "$marker" ]; then
    say "marker=$marker"
    stop
fi

mount -t ext4 /dev/vda /boot || say "cannot mount /boot"
target=$(arg kct.target)
new_marker() { echo "m$(cut -c1-8 /proc/sys/kernel/random/uuid)"; }

refusal() {
    name=$1
    shift
    "$@" >/tmp/out 2>&1
    rc=$?
    say "refusal $name rc=$rc loaded=$(cat /sys/kernel/kexec_loaded) msg=$(tr '\n' ' ' </tmp/out)"
}

case "$(arg kct.test)" in
direct)
    say "status $(kexec-chooser status --json | tr -d '\n ')"
    say "plan $(kexec-chooser reboot "$target" --dry-run --json | tr -d '\n ')"
    m=$(new_marker)
    say "appending marker=$m"
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "$target" --mode direct --yes --timeout 2 --append "kct.marker=$m"
    say "kexec-chooser returned rc=$? without rebooting"
    ;;
gzip)
    # A gzip-compressed Image chosen by path: unpacked in memory, then kexec_load.
    m=$(new_marker)
    say "appending marker=$m"
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "/boot/alt/vmlinuz-$target" --initrd "/boot/initrd.img-$target" \
        --mode direct --yes --timeout 2 --append "kct.marker=$m"
    say "kexec-chooser returned rc=$? without rebooting"
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
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "$target" --mode direct --yes --timeout 2 --append kct.marker=bench
    ;;
bench-kexec-tools)
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec -l "/boot/vmlinuz-$target" --initrd="/boot/initrd.img-$target" \
        --command-line="$(cat /proc/cmdline) kct.marker=bench" && kexec -e
    ;;
esac
stop
