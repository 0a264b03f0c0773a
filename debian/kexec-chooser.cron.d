# /etc/cron.d/kexec-chooser: the hourly disk-space check of kexec-chooser, for
# machines without systemd. Where systemd runs (/run/systemd/system exists),
# kexec-chooser-disk.timer does the check and this line does nothing, so the
# two never both run. The check's options are DISK_ARGS in
# /etc/default/kexec-chooser. `disk --cron` prints nothing while every
# filesystem is fine; cron mails whatever it prints.
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

17 * * * *	root	[ ! -d /run/systemd/system ] && test -x /usr/sbin/kexec-chooser && { [ ! -r /etc/default/kexec-chooser ] || . /etc/default/kexec-chooser; } && /usr/sbin/kexec-chooser disk --cron $DISK_ARGS
