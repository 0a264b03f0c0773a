# What the guest scripts share, sourced (not run) by the PID 1 scripts of the
# busybox guests (init.sh, arm64-init.sh; busybox sh) and by the test unit of
# the Debian guests (kct-test.sh; dash). Functions only: sourcing does
# nothing by itself. Everything the host checks is a serial console line
# starting with "KCT: " (tests/vm/harness.py waits for them).

say() { printf 'KCT: %s\n' "$*"; }
# The value of NAME= on the kernel command line.
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1"=*) echo "${w#*=}" ;; esac; done; }
new_marker() { echo "m$(cut -c1-8 /proc/sys/kernel/random/uuid)"; }
stop() {
    say "done"
    sync
    poweroff -f
    sleep 60
}

# Loads the modules listed, in order, in /lib/modules/RELEASE/$1 (the
# harness writes one list per module set).
load_modules() {
    while read -r m; do insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null; done <"/lib/modules/$(uname -r)/$1"
}

# PID 1 of a busybox guest, up to its scenario: the kernel's file systems,
# the disk modules, then the boot reported once disk $1 is there. A boot
# whose command line has kct.marker= is the one after a warm reboot: it only
# reports and powers off. Otherwise /boot is mounted and $target set from
# kct.target=.
guest_init() {
    /bin/busybox mkdir -p /proc /sys /dev /tmp /boot /mnt/data /run /sbin /usr/bin /usr/sbin
    /bin/busybox --install -s /bin
    export PATH=/usr/sbin:/usr/bin:/sbin:/bin
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    mount -t tmpfs tmpfs /run
    mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
    load_modules load-order
    i=0
    while [ ! -b "$1" ] && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    say "booted release=$(uname -r)"
    say "cmdline=$(cat /proc/cmdline)"
    say "kexec_loaded=$(cat /sys/kernel/kexec_loaded)"
    marker=$(arg kct.marker)
    if [ -n "$marker" ]; then
        say "marker=$marker"
        stop
    fi
    mount -t ext4 /dev/vda /boot || say "cannot mount /boot"
    target=$(arg kct.target)
}

# Runs a command that must refuse, and reports its exit code, whether a
# kernel got loaded, and its message on one line.
refusal() {
    name=$1
    shift
    "$@" >/tmp/out 2>&1
    rc=$?
    say "refusal $name rc=$rc loaded=$(cat /sys/kernel/kexec_loaded) msg=$(tr '\n' ' ' </tmp/out)"
}

# kexec-chooser's direct warm reboot into "$@" (after $1, the marker put on
# the next command line as kct.marker=); the host times it from the
# uptime-before line to the kernel's "Starting new kernel".
direct_reboot() {
    m=$1
    shift
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec-chooser reboot "$@" --mode direct --yes --timeout 2 --append "kct.marker=$m"
    say "kexec-chooser returned rc=$? without rebooting"
}

# The same with a fresh marker, announced for the host to look for.
warm_reboot() {
    m=$(new_marker)
    say "appending marker=$m"
    direct_reboot "$m" "$@"
}

# The speed peer: kexec-tools ("$@": its load options) into $target, same
# initrd and command line, with the marker "bench".
peer_reboot() {
    say "uptime-before=$(cut -d' ' -f1 /proc/uptime)"
    kexec "$@" -l "/boot/vmlinuz-$target" --initrd="/boot/initrd.img-$target" \
        --command-line="$(cat /proc/cmdline) kct.marker=bench" && kexec -e
}

# A line in the kernel's log, printed on the console with its timestamp
# (microseconds of the guest's clock): "kct-stamp NAME". Two of them time
# what runs between them more finely than /proc/uptime.
stamp() { echo "kct-stamp $*" >/dev/kmsg; }

# `kexec-chooser status --json` on one line: "KCT: status {...}".
status_report() {
    say "status $(kexec-chooser status --json 2>&1 | tr -d '\n')"
}

# Stays up $1 seconds, saying so every 30 s with the boot id: the host
# checks that no reset came in between.
stay_up() {
    say "staying up $1 s boot_id=$(cat /proc/sys/kernel/random/boot_id)"
    i=0
    while [ $i -lt "$1" ]; do
        sleep 30
        i=$((i + 30))
        say "up $i s uptime=$(cut -d' ' -f1 /proc/uptime) boot_id=$(cat /proc/sys/kernel/random/boot_id)"
    done
}

# How kexec-chooser-confirm.service ran in this boot (Debian guests; the
# host reads it with safety.py's confirm_unit): "KCT: confirm-unit ..." and
# its journal as "KCT: confirm-log" lines. The caller's unit is ordered after
# the confirm unit; should the package order it otherwise, it waits all the
# same until the unit ran or was skipped (it runs only when a record is
# pending).
confirm_unit_report() {
    if [ "$(unit_show LoadState)" = loaded ]; then
        i=0
        while [ "$(unit_show ExecMainExitTimestampMonotonic)" = 0 ] && [ "$(unit_show ConditionResult)" != no ] &&
            [ $i -lt 300 ]; do
            sleep 1
            i=$((i + 1))
        done
    fi
    say "confirm-unit load=$(unit_show LoadState) condition=$(unit_show ConditionResult) result=$(unit_show Result) status=$(unit_show ExecMainStatus) start=$(unit_show ExecMainStartTimestampMonotonic) exit=$(unit_show ExecMainExitTimestampMonotonic)"
    journalctl -b -u kexec-chooser-confirm.service -o cat --no-pager | sed 's/^/KCT: confirm-log /'
}
unit_show() { systemctl show -P "$1" kexec-chooser-confirm.service; }

# A warm boot whose boot check failed gets here only when that did not stop
# it: once kexec-chooser's units have no jobs left (whatever unit acts on a
# failed boot-complete.target), say that this boot went on; the host fails
# the test when it sees this before the next kernel starts.
checkfail_went_on() {
    i=0
    while systemctl list-jobs --no-legend | grep -q kexec-chooser && [ $i -lt 300 ]; do
        sleep 1
        i=$((i + 1))
    done
    say "checkfail: this boot went on"
}

# The boot loader's state as the fall-back guests (fallback-test.sh) see it
# with their own tools, $LOADER naming theirs: the one-time entry (GRUB's
# next_entry in grubenv; systemd-boot's LoaderEntryOneShot EFI variable),
# empty when unset; the entry the firmware boot chose (systemd-boot's
# LoaderEntrySelected); grubenv's size, which GRUB needs to stay 1024.
efi_loader_var() {
    f=/sys/firmware/efi/efivars/$1-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
    # Read whole (efivarfs is no file to seek in), then past the 4 bytes of
    # attributes; the UTF-16 of an ASCII id less its zero bytes.
    [ -e "$f" ] && cat "$f" | tail -c +5 | tr -d '\000'
}
one_time_entry() {
    case "$LOADER" in
    grub) grub-editenv /boot/grub/grubenv list | sed -n 's/^next_entry=//p' ;;
    sdboot) efi_loader_var LoaderEntryOneShot ;;
    esac
}
loader_report() {
    case "$LOADER" in
    grub) echo "kind=grub next=$(one_time_entry) selected= grubenv=$(stat -c %s /boot/grub/grubenv)" ;;
    sdboot) echo "kind=sdboot next=$(one_time_entry) selected=$(efi_loader_var LoaderEntrySelected) grubenv=" ;;
    esac
}
