#!/bin/sh
# The boot that makes a fall-back guest's disk boot by itself
# (tests/vm/fallback.py), run once per cached image as the test unit. On the
# host the root is an unpartitioned ext4 image on a loop device, where
# grub-probe sees nothing; in the guest it is /dev/vda, as on a machine.
#   grub:         booted with -kernel: grub-install onto /dev/vda's boot
#                 sector (--force: no partition table, so a block list),
#                 update-grub, grub-reboot into A for the first test boot
#   sdboot (1/2): booted with -kernel under OVMF: a GPT ESP on /dev/vdb,
#                 bootctl install --no-variables, kernel-install add A, B
#   sdboot (2/2): booted by OVMF and systemd-boot (its default, B):
#                 bootctl set-oneshot A for the first test boot
# Each ends by powering off, the last one also by removing its own unit.
# /var/lib/kct/env (written by the host) names A, B and the loader.
. /usr/local/lib/kct/guest-lib.sh
kct=/var/lib/kct
. $kct/env

# Runs "$@", its output as KCT lines; a failure is said and ends the boot.
step() {
    out=$("$@" 2>&1)
    rc=$?
    [ -z "$out" ] || printf '%s\n' "$out" | sed "s|^|KCT: $1: |"
    if [ $rc -ne 0 ]; then
        say "install failed: $* (exit $rc)"
        finish
    fi
}
# Powers off; the unit stays enabled only while a step is left for the next boot.
finish() {
    [ -e $kct/install-step ] || rm -f /etc/systemd/system/*.wants/kct-test.service
    sync
    systemctl poweroff --no-block
    exit 0
}

say "install booted release=$(uname -r) loader=$LOADER step=$(cat $kct/install-step 2>/dev/null)"
case "$LOADER:$(cat $kct/install-step 2>/dev/null)" in
grub:)
    step grub-install --target=i386-pc --force /dev/vda
    step update-grub
    sub=$(grep -o "gnulinux-advanced-[0-9a-f-]*" /boot/grub/grub.cfg | head -n1)
    for r in A B; do
        eval "release=\$$r"
        id=$(grep -o "gnulinux-$release-advanced-[0-9a-f-]*" /boot/grub/grub.cfg | head -n1)
        [ -n "$sub" ] && [ -n "$id" ] || {
            say "install failed: no menu entry for $release in grub.cfg"
            finish
        }
        echo "$sub>$id" >"$kct/entry-$r"
    done
    step grub-reboot "$(cat $kct/entry-A)"
    say "grubenv: $(grub-editenv /boot/grub/grubenv list | tr '\n' ' ')"
    say "installed grub, entry A $(cat $kct/entry-A)"
    ;;
sdboot:)
    printf 'label: gpt\ntype=U\n' >/tmp/esp.sfdisk
    sfdisk -q /dev/vdb </tmp/esp.sfdisk || {
        say "install failed: sfdisk /dev/vdb"
        finish
    }
    udevadm settle
    step mkfs.vfat -F 32 -n ESP /dev/vdb1
    mkdir -p /boot/efi
    echo "/dev/vdb1 /boot/efi vfat umask=0077 0 1" >>/etc/fstab
    step mount /boot/efi
    step bootctl install --no-variables
    printf 'timeout 0\nconsole-mode keep\n' >/boot/efi/loader/loader.conf
    for r in A B; do
        eval "release=\$$r"
        step kernel-install add "$release" "/boot/vmlinuz-$release" "/boot/initrd.img-$release"
        id=$(cd /boot/efi/loader/entries && ls | grep -- "-$release.conf\$")
        [ -n "$id" ] || {
            say "install failed: kernel-install made no entry for $release"
            finish
        }
        echo "$id" >"$kct/entry-$r"
    done
    say "esp: $(cd /boot/efi && find . -type f | sort | tr '\n' ' ')"
    echo oneshot >$kct/install-step
    sync
    say "installed systemd-boot, entries $(cat $kct/entry-A) $(cat $kct/entry-B)"
    ;;
sdboot:oneshot)
    say "loader $(loader_report)"
    step bootctl set-oneshot "$(cat $kct/entry-A)"
    rm -f $kct/install-step
    say "set-oneshot $(cat $kct/entry-A): $(one_time_entry)"
    ;;
*)
    say "install failed: no step for $LOADER:$(cat $kct/install-step 2>/dev/null)"
    ;;
esac
finish
