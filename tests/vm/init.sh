#!/bin/busybox sh
# PID 1 of the busybox initramfs guest (tests/vm/vmtest.py builds it in).
# It prints what the host checks on the serial console, every line starting
# with "KCT: ", and runs the scenario named by kct.test= on the kernel command
# line. A boot whose command line has kct.marker= is the one after a warm
# reboot: it only reports and powers off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /boot /mnt/data /run /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run

say() { echo "KCT: $*"; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}" ;; esac; done; }
stop() { say "done"; sync; poweroff -f; sleep 60; }

r=$(uname -r)
while read -r m; do insmod "/lib/modules/$r/$m" 2>/dev/null; done < "/lib/modules/$r/load-order"
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done

say "booted release=$r"
say "cmdline=$(cat /proc/cmdline)"
say "kexec_loaded=$(cat /sys/kernel/kexec_loaded)"
marker=$(arg kct.marker)
if [ -n "$marker" ]; then
    say "marker=$marker"
    stop
fi

mount -t ext4 /dev/vda /boot || say "cannot mount /boot"
mount -t ext4 /dev/vdb /mnt/data || say "cannot mount /mnt/data"
target=$(arg kct.target)
new_marker() { echo "m$(cut -c1-8 /proc/sys/kernel/random/uuid)"; }

# Runs a command that must refuse, and reports its exit code, whether a
# kernel got loaded, and its message on one line.
refusal() {
    name=$1
    shift
    "$@" >/tmp/out 2>&1
    rc=$?
    say "refusal $name rc=$rc loaded=$(cat /sys/kernel/kexec_loaded) msg=$(tr '\n' ' ' </tmp/out)"
}

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
    m=$(new_marker)
    say "appending marker=$m"
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "$target" --mode direct --yes --timeout 2 --append "kct.marker=$m"
    say "kexec-chooser returned rc=$? without rebooting"
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
bench-ours)
    # The time from the command to the reboot syscall: the kernel prints
    # "Starting new kernel" (with its timestamp) when reboot(KEXEC) runs.
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "$target" --mode direct --yes --timeout 2 --append kct.marker=bench
    ;;
bench-kexec-tools)
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec -s -l "/boot/vmlinuz-$target" --initrd="/boot/initrd.img-$target" \
        --command-line="$(cat /proc/cmdline) kct.marker=bench" && kexec -e
    ;;
demo)
    say "the kernels in /boot:"
    ls /boot/vmlinuz-* | sed 's/^/KCT:   /'
    say "running: kexec-chooser reboot $target --mode direct --yes --append kct.marker=demo"
    kexec-chooser reboot "$target" --mode direct --yes --timeout 2 --append kct.marker=demo
    ;;
esac
stop
