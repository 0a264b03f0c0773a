#!/bin/sh
# The units of the Debian 12 guests of the net test (tests/vm/net.py): a
# guest whose only watchdog is QEMU's simulated BMC (kct.net=bmc, generic
# kernel), or one on Debian's cloud kernel with no watchdog device at all
# (kct.net=soft). One QEMU run without -no-reboot walks through the
# scenarios named by kct.steps= in order; every reset or reboot boots
# release A again (-kernel), as firmware would boot the running kernel
# back. /var/lib/kct/todo holds the scenarios still to run.
#
# In A (a cold boot), after kexec-chooser-confirm.service: report, then the
# next scenario's warm reboot into B (kct.target=, --watchdog kct.watchdog=):
#   healthy  B as it is: confirmed, it stays up past the timeout, powers off
#   noroot   root=/dev/nonexistent: B's initramfs gives up waiting for it
#   panic    --no-initrd: B's kernel cannot mount its root and panics;
#            --watchdog kct.panic_watchdog= instead (net.py says why)
#   hang     kct.hang=1: the early unit hangs in B before confirm
# Every warm reboot drops A's panic=-1 (--remove panic): with it a panic
# in B would reboot at once, with or without a net.
#
# With "early" (kct-early.service, ordered before the confirm unit) it
# reports the armed net as the warm boot sees it before confirm, and hangs
# there when kct.hang= is on the command line.
# With "probe" (kct.probe= on the command line) it only shows that the
# guest's watchdog resets it: no kexec-chooser involved (net.py's probe-*).
. /usr/local/lib/kct/guest-lib.sh
kct=/var/lib/kct
net=$(arg kct.net)
target=$(arg kct.target)
timeout=$(arg kct.watchdog)

# The watchdog devices of /sys/class/watchdog on one line, or "none".
watchdogs() {
    found=none
    for d in /sys/class/watchdog/watchdog*; do
        [ -e "$d" ] || continue
        found=
        printf '%s:identity=%s,state=%s,timeout=%s ' "${d##*/}" "$(cat "$d/identity")" \
            "$(cat "$d/state")" "$(cat "$d/timeout")"
    done
    echo $found
}

# The BMC's watchdog as ipmitool reads it (Get Watchdog Timer) on one line,
# "Name: value; ...". /dev/ipmi0 comes with ipmi_devintf, which the kernel
# loads after ipmi_msghandler (its softdep) once ipmi_si has probed, late in
# a boot; loaded here only if it never comes, which leaves kexec-chooser's
# own loading of it to kexec-chooser.
bmc_watchdog() {
    i=0
    while [ ! -e /dev/ipmi0 ] && [ $i -lt 60 ]; do
        sleep 0.5
        i=$((i + 1))
    done
    [ -e /dev/ipmi0 ] || { modprobe ipmi_devintf && sleep 2 && echo "ipmi_devintf loaded by the test;"; }
    ipmitool mc watchdog get 2>&1 | sed 's/[[:space:]][[:space:]]*/ /g' | tr '\n' ';'
}

# What a boot reports of the nets: kernel.panic, the watchdog devices, and
# for the BMC guest whether ipmi_si and /dev/ipmi0 are there ($1: "bmc"
# adds the BMC's watchdog, which loads ipmi_devintf).
nets() {
    say "net panic=$(cat /proc/sys/kernel/panic) watchdogs=$(watchdogs)"
    if [ "$net" = bmc ]; then
        say "ipmi si=$([ -d /sys/module/ipmi_si ] && echo yes || echo no) dev=$([ -e /dev/ipmi0 ] && echo yes || echo no)"
        [ "$1" = bmc ] && say "bmc $(bmc_watchdog)"
    fi
}

if [ "$1" = early ]; then
    if [ -n "$(arg kexec_chooser.boot)" ]; then
        say "early release=$(uname -r) cmdline=$(cat /proc/cmdline)"
        nets bmc
        if [ -n "$(arg kct.hang)" ]; then
            say "early hangs before confirm"
            while :; do sleep 3600; done
        fi
    fi
    exit 0
fi

say "booted release=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime) boot_id=$(cat /proc/sys/kernel/random/boot_id)"
say "cmdline=$(cat /proc/cmdline)"

# The probes: the BMC's watchdog set with ipmitool (timer use SMS/OS,
# action hard reset, 30 s in 100 ms units, then Reset Watchdog Timer to
# start it), or softdog loaded as the software net loads it; nothing
# feeds either. The next boot says what the BMC recorded and powers off.
probe=$(arg kct.probe)
if [ -n "$probe" ]; then
    if [ -e $kct/probed ]; then
        nets bmc
        say "done"
        systemctl poweroff --no-block
        exit 0
    fi
    touch $kct/probed
    sync
    nets
    case "$probe" in
    bmc)
        say "bmc $(bmc_watchdog)"
        ipmitool raw 0x06 0x24 0x04 0x01 0x00 0x10 0x2c 0x01 >/dev/null && ipmitool raw 0x06 0x22 >/dev/null ||
            say "ipmitool could not set the BMC's watchdog"
        say "bmc $(bmc_watchdog)"
        ;;
    soft)
        modprobe watchdog handle_boot_enabled=0 && modprobe softdog soft_margin=30 soft_active_on_boot=1 ||
            say "modprobe softdog failed"
        say "handle_boot_enabled=$(cat /sys/module/watchdog/parameters/handle_boot_enabled)"
        nets
        ;;
    esac
    say "probe armed: 30 s"
    exit 0
fi

say "confirm-unit $(systemctl show -p Result -p ExecMainStatus -p ConditionResult kexec-chooser-confirm.service | tr '\n' ' ')"
journalctl -b -u kexec-chooser-confirm.service -o cat --no-pager | sed 's/^/KCT: confirm-log /'
status_report

if [ -n "$(arg kexec_chooser.boot)" ]; then
    # B, the healthy warm boot: released, and up past the watchdog's
    # timeout and softdog's margin.
    nets bmc
    margin=$(arg softdog.soft_margin)
    [ "${margin:-0}" -gt "$timeout" ] || margin=$timeout
    stay_up $(((margin / 30 + 1) * 30))
    say "done"
    systemctl poweroff --no-block
    exit 0
fi

# A: the first boot reports without touching the BMC (kexec-chooser must
# open it itself); after a fall-back, what the BMC recorded.
if [ -e $kct/todo ]; then
    nets bmc
else
    echo "$(arg kct.steps)" | tr ',' ' ' >$kct/todo
    nets
fi
set -- $(cat $kct/todo)
if [ $# -eq 0 ]; then
    say "no scenario left"
    say "done"
    systemctl poweroff --no-block
    exit 0
fi
step=$1
shift
echo "$*" >$kct/todo
sync
seconds=$timeout
case "$step" in
healthy)
    # A value of A's own, not its command line's: what confirm must put back.
    sysctl -q -w kernel.panic=17
    set -- ;;
noroot) set -- --append root=/dev/nonexistent ;;
panic)
    seconds=$(arg kct.panic_watchdog)
    set -- --no-initrd
    ;;
hang) set -- --append kct.hang=1 ;;
*)
    say "no scenario $step"
    exit 1
    ;;
esac
say "scenario $step panic=$(cat /proc/sys/kernel/panic)"
kexec-chooser --dry-run "$target" --watchdog "$seconds" --remove panic "$@" 2>&1 | sed 's/^/KCT: plan /'
say "warm reboot into $target ($step)"
kexec-chooser --yes "$target" --watchdog "$seconds" --remove panic "$@"
say "kexec-chooser returned rc=$?"
