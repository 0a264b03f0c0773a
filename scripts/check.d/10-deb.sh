#!/bin/bash
# Checks the Debian package the way a Debian maintainer and a user would meet
# it: build it with cargo-deb, run lintian (errors and warnings fail), check
# that it installs on Debian 12, then install, upgrade, remove and purge it in
# a Debian 12 minbase chroot made with debootstrap (cached as a tarball) and
# check what each step leaves behind. Needs root (chroot, dpkg in the root).
# Tools come from scripts/setup.d/40-deb.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

PKG=kexec-chooser
SUITE=bookworm
CACHE=$(python3 tests/vm/harness.py path deb)
# What the chroot holds besides minbase: man-db for `man -w`, systemd for
# `systemctl is-enabled` and `systemd-analyze verify` (and deb-systemd-helper,
# which enables the timer), kexec-tools to show that both packages install
# side by side without file conflicts. No cron: the cron line is run by sh.
INCLUDE=man-db,systemd,kexec-tools
TARBALL="$CACHE/$SUITE-minbase-$(echo "$INCLUDE" | tr ',' '+').tar.gz"
UNITS=(kexec-chooser-disk.service kexec-chooser-disk.timer kexec-chooser-load.service kexec-chooser-confirm.service
    kexec-chooser-boot-failed.service)
start=$(date +%s)

say() { printf '10-deb: [%3ss] %s\n' "$(($(date +%s) - start))" "$*"; }
fail() {
    printf '10-deb: FAIL: %s\n' "$*" >&2
    exit 1
}

if [ "$(id -u)" -ne 0 ]; then
    fail "run as root (it uses chroot and dpkg inside a Debian 12 root)"
fi

# --- build and lint -------------------------------------------------------
say "building the .deb with cargo-deb $(cargo deb --version | awk '{print $2}')"
deb=$(cargo deb --locked --quiet) || fail "cargo deb failed"
deb=$(tail -n 1 <<<"$deb")
[ -f "$deb" ] || fail "cargo deb did not print the path of a .deb (got: $deb)"
say "built $deb"

say "lintian --fail-on error,warning"
# Overrides, if any, are only those shipped in the package, each with a why.
lintian --fail-on error,warning --info "$deb" ||
    fail "lintian reported errors or warnings on $deb"

# The binary must install on Debian 12 and later: its libc6 dependency,
# computed by cargo-deb from the symbols it uses, must not ask for more than
# bookworm's glibc 2.36.
depends=$(dpkg-deb -f "$deb" Depends)
say "Depends: $depends"
libc=$(printf '%s\n' "$depends" | sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p')
[ -n "$libc" ] || fail "Depends has no 'libc6 (>= 2.x)': $depends"
dpkg --compare-versions "$libc" le 2.36 ||
    fail "Depends asks for libc6 >= $libc; Debian 12 has 2.36"
[ "$(dpkg-deb -f "$deb" Suggests)" = "kexec-tools" ] || fail "Suggests is not kexec-tools"
[ "$(dpkg-deb -f "$deb" Section)" = "admin" ] || fail "Section is not admin"

# --- the Debian 12 root -----------------------------------------------------
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
    say "making the Debian 12 minbase root with debootstrap (cached in $TARBALL)"
    build=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
    if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$build" "$(python3 tests/vm/harness.py mirror)" \
        >"$build.log" 2>&1; then
        tail -n 30 "$build.log" >&2
        rm -rf "$build" "$build.log"
        fail "debootstrap failed"
    fi
    # Smaller tarball, and a root that holds nothing downloaded.
    rm -rf "$build"/var/cache/apt/archives/*.deb "$build"/var/lib/apt/lists/*
    # Fast compression: the tarball is written once and read every run.
    tar -C "$build" -I 'gzip -1' -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$build" "$build.log"
fi

root=$(mktemp -d "$CACHE/root.XXXXXX")
cleanup() { rm -rf "$root"; }
trap cleanup EXIT
tar -C "$root" -xzf "$TARBALL"
# mktemp made it 0700; man-db's triggers run as the user man, who must get in.
chmod 755 "$root"
in_root() { chroot "$root" "$@" </dev/null; }
cp "$deb" "$root/tmp/$PKG.deb"

# --- install ---------------------------------------------------------------
say "dpkg -i into the Debian 12 root (kexec-tools already installed there)"
in_root dpkg -i "/tmp/$PKG.deb" || fail "dpkg -i failed"
in_root dpkg-query -W kexec-tools >/dev/null || fail "kexec-tools is not installed in the root"

version=$(in_root /usr/sbin/kexec-chooser --version) || fail "kexec-chooser --version failed"
[ "$version" = "kexec-chooser $(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" ] ||
    fail "kexec-chooser --version says '$version'"
say "installed: $version"

man=$(in_root man -w kexec-chooser) || fail "man -w kexec-chooser finds no page"
[ "$man" = /usr/share/man/man8/kexec-chooser.8.gz ] || fail "man -w gives $man"
in_root man -w 8 kexec-chooser >/dev/null || fail "the page is not in section 8"

for unit in "${UNITS[@]}"; do
    [ -f "$root/usr/lib/systemd/system/$unit" ] || fail "$unit is not installed"
done
# verify exits 0 on unknown keys and bad values ("ignoring"): any output fails.
verify=$(in_root systemd-analyze verify "${UNITS[@]/#//usr/lib/systemd/system/}" 2>&1) ||
    fail "systemd-analyze verify rejects the units: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
[ "$(in_root systemctl is-enabled kexec-chooser-disk.timer)" = enabled ] ||
    fail "kexec-chooser-disk.timer is not enabled after install"
[ -L "$root/etc/systemd/system/timers.target.wants/kexec-chooser-disk.timer" ] ||
    fail "no timers.target.wants link for kexec-chooser-disk.timer"
[ "$(in_root systemctl is-enabled kexec-chooser-confirm.service)" = enabled ] ||
    fail "kexec-chooser-confirm.service is not enabled after install"
[ -L "$root/etc/systemd/system/multi-user.target.wants/kexec-chooser-confirm.service" ] ||
    fail "no multi-user.target.wants link for kexec-chooser-confirm.service"
grep -qx 'options watchdog stop_on_reboot=0' "$root/usr/lib/modprobe.d/kexec-chooser.conf" ||
    fail "/usr/lib/modprobe.d/kexec-chooser.conf is not installed, or lacks stop_on_reboot=0"
state=$(in_root systemctl is-enabled kexec-chooser-load.service || true)
[ "$state" = disabled ] || fail "kexec-chooser-load.service is '$state', not disabled"

cron="$root/etc/cron.d/kexec-chooser"
[ -f "$cron" ] || fail "/etc/cron.d/kexec-chooser is missing"
[ "$(stat -c '%a %U %G' "$cron")" = "644 root root" ] ||
    fail "/etc/cron.d/kexec-chooser is $(stat -c '%a %U %G' "$cron"), not 644 root root"
[ -f "$root/etc/default/kexec-chooser" ] || fail "/etc/default/kexec-chooser is missing"
conffiles=$(in_root dpkg-query -W -f '${Conffiles}' "$PKG")
for f in /etc/cron.d/kexec-chooser /etc/default/kexec-chooser; do
    grep -q "^ $f " <<<"$conffiles" || fail "$f is not a conffile"
done
# The cron line, as cron's sh runs it: valid syntax, and silent where
# systemd runs (the timer does the check there).
cron_cmd=$(awk '/^[0-9*]/ { for (i = 1; i <= 6; i++) $i = ""; sub(/^ +/, ""); print }' "$cron")
[ -n "$cron_cmd" ] || fail "no job line in /etc/cron.d/kexec-chooser"
in_root sh -n -c "$cron_cmd" || fail "the cron line is not valid sh: $cron_cmd"
mkdir -p "$root/run/systemd/system"
out=$(in_root sh -c "$cron_cmd" 2>&1) || true
rmdir "$root/run/systemd/system"
[ -z "$out" ] || fail "the cron line ran where systemd runs: $out"
# The bash completion loads and registers the command.
in_root bash -c 'source /usr/share/bash-completion/completions/kexec-chooser && complete -p kexec-chooser' \
    >/dev/null || fail "the bash completion does not load"

# --- upgrade keeps a changed conffile -----------------------------------------
say "upgrade: a changed /etc/default/kexec-chooser survives"
sed -i 's/^APPEND=.*/APPEND="kexec_chooser_upgrade_marker"/' "$root/etc/default/kexec-chooser"
next="$(dpkg-deb -f "$deb" Version).1"
# The same package under a higher version, repacked with dpkg-deb (a second
# cargo-deb run would delete the first .deb from target/debian).
repack=$(mktemp -d "$root/tmp/upgrade.XXXXXX")
dpkg-deb -R "$deb" "$repack/tree"
sed -i "s/^Version: .*/Version: $next/" "$repack/tree/DEBIAN/control"
dpkg-deb --root-owner-group -b "$repack/tree" "$repack/$PKG.deb" >/dev/null
in_root dpkg -i "${repack#"$root"}/$PKG.deb" || fail "dpkg -i of $next failed"
[ "$(in_root dpkg-query -W -f '${Version}' "$PKG")" = "$next" ] || fail "the upgrade to $next did not happen"
grep -q '^APPEND="kexec_chooser_upgrade_marker"$' "$root/etc/default/kexec-chooser" ||
    fail "the upgrade lost the change to /etc/default/kexec-chooser"
[ ! -e "$root/etc/default/kexec-chooser.dpkg-new" ] && [ ! -e "$root/etc/default/kexec-chooser.dpkg-old" ] ||
    fail "the upgrade left a .dpkg-new or .dpkg-old file"
[ "$(in_root systemctl is-enabled kexec-chooser-disk.timer)" = enabled ] ||
    fail "kexec-chooser-disk.timer is not enabled after the upgrade"
rm -rf "$repack"

# --- remove, then purge ---------------------------------------------------------
say "dpkg --remove keeps the conffiles, dpkg --purge leaves nothing"
in_root dpkg --remove "$PKG" || fail "dpkg --remove failed"
[ ! -e "$root/usr/sbin/kexec-chooser" ] || fail "dpkg --remove left the binary"
[ -f "$root/etc/default/kexec-chooser" ] || fail "dpkg --remove took the conffile away"
# The cron file stays until purge; without the binary its line is silent
# (cron would otherwise mail an error every hour).
out=$(in_root sh -c "$cron_cmd" 2>&1) || true
[ -z "$out" ] || fail "the cron line is not silent once the package is removed: $out"
in_root dpkg --purge "$PKG" || fail "dpkg --purge failed"
rm -f "$root/tmp/$PKG.deb"
if in_root dpkg-query -W "$PKG" >/dev/null 2>&1; then
    fail "dpkg still knows $PKG after purge"
fi
# Every file the package shipped is gone ...
shipped=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }')
[ -n "$shipped" ] || fail "no file list from dpkg-deb -c $deb"
while read -r path; do
    [ ! -e "$root/$path" ] && [ ! -L "$root/$path" ] || fail "$path is still there after purge"
done <<<"$shipped"
# ... and so is anything else named after it: enablement links, masks,
# deb-systemd-helper state. Not counted: dpkg's log, and man-db's cache of
# formatted pages, which `systemd-analyze verify` filled when it ran
# `man kexec-chooser(8)` for the units' Documentation= (man-db's, not ours).
left=$(find "$root" \( -path "$root/var/log" -o -path "$root/var/cache/man" \) -prune -o \
    -name '*kexec-chooser*' -print)
[ -z "$left" ] || fail "left after purge: ${left//$root/}"
[ -z "$(in_root systemctl list-unit-files 'kexec-chooser*' --no-legend)" ] ||
    fail "systemd still lists kexec-chooser units after purge"

say "OK in $(($(date +%s) - start)) s"
