#!/bin/sh
# The oneshot test unit of the Debian (systemd) guests; tests/vm/vmtest.py
# reads its "KCT: " lines on the serial console. kct.test= on the kernel
# command line picks the scenario; a boot with kct.marker= is the one after
# the warm reboot and only reports.
. /usr/local/lib/kct/guest-lib.sh
file=/var/lib/kct/file

say "booted release=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
say "cmdline=$(cat /proc/cmdline)"
marker=$(arg kct.marker)
if [ -n "$marker" ] || [ -e /var/lib/kct/cold-flag ]; then
    [ -n "$marker" ] && say "marker=$marker"
    [ -e /var/lib/kct/cold-flag ] && rm -f /var/lib/kct/cold-flag && say "cold-booted"
    # ext4 logs "recovery complete" when it had to replay the journal.
    if dmesg | grep -q 'EXT4-fs (vda).*recovery complete'; then say "recovery=yes"; else say "recovery=no"; fi
    say "file sha256=$(sha256sum "$file" | cut -d' ' -f1)"
    say "done"
    systemctl poweroff --no-block
    exit 0
fi

# Written without sync: the hand-over must flush it.
head -c 4194304 /dev/urandom >"$file"
say "file sha256=$(sha256sum "$file" | cut -d' ' -f1)"
case "$(arg kct.test)" in
systemd)
    m=$(new_marker)
    say "appending marker=$m"
    kexec-chooser --yes latest --append "kct.marker=$m"
    say "kexec-chooser returned rc=$?"
    ;;
cold)
    touch /var/lib/kct/cold-flag
    say "cold reboot now"
    systemctl reboot
    ;;
esac
