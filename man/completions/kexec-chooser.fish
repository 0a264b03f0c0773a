# Generated from the clap definitions by scripts/gen-assets (examples/gen-assets.rs); do not edit.
# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kexec_chooser_global_optspecs
    string join \n root= append= remove= cmdline= initrd= no-initrd force dry-run json watchdog= no-watchdog mode= y/yes timeout= h/help V/version
end

function __fish_kexec_chooser_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kexec_chooser_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kexec_chooser_using_subcommand
    set -l cmd (__fish_kexec_chooser_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l append -d 'Add words to the command line (a later key=value replaces an earlier one)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l remove -d 'Drop every word with this key from the command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l cmdline -d 'Replace the whole command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l initrd -d 'Use this initrd instead of the entry\'s (repeat for several, in order)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l watchdog -d 'Guard the hand-over for SECONDS: a new kernel that does not confirm its boot in time is reset, and the boot loader brings back the running kernel (else its default). The BMC\'s watchdog (IPMI) where there is one, else a chipset watchdog, else the software net (panic= and softdog on the new kernel\'s command line; never on `load`, which refuses --watchdog where only the software net could take it). [default: 600 s, or a chipset watchdog\'s largest timeout when shorter]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l mode -d 'How to hand over to the loaded kernel' -r -f -a "auto\t'`systemd` when /run/systemd/system exists, else `direct`'
systemd\t'`systemctl kexec`: systemd stops every unit and unmounts'
direct\t'kexec-chooser\'s own clean shutdown, for machines without systemd'"
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL in direct mode' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l no-initrd -d 'Load no initrd at all'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l force -d 'Go on despite a missing modules directory or a command line without root='
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l dry-run -d 'Print the plan and touch nothing'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l json -d 'With --dry-run, print the plan as JSON'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l no-watchdog -d 'Arm no watchdog and set no software net (the boot loader\'s one-time entry back to the running kernel is still set)'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -s V -l version -d 'Print version'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "reboot" -d 'Choose a kernel, load it and warm-reboot into it (the default)'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "load" -d 'Load the chosen kernel only; a later `systemctl kexec` or `exec` uses it'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "unload" -d 'Unload whatever kernel is loaded for kexec'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "exec" -d 'Hand over to the kernel that is already loaded'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "confirm" -d 'Confirm the warm reboot this boot came from (run at boot by a unit)'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "status" -d 'Tell whether kexec is possible here, what is loaded, how `auto` hands over'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "list" -d 'List every kernel this machine can warm-reboot into, newest first'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "disk" -d 'Check free disk space (statvfs) for people, cron and monitoring'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "analyze" -d 'Detect performance regressions in benchmark series'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "mkpatch" -d 'Save the current patch as <patch>-<repo>.patch in the patch directory'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "upload" -d 'Upload files as multipart/form-data, streaming them'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "card" -d 'Validate payment card numbers without printing them'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l append -d 'Add words to the command line (a later key=value replaces an earlier one)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l remove -d 'Drop every word with this key from the command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l cmdline -d 'Replace the whole command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l initrd -d 'Use this initrd instead of the entry\'s (repeat for several, in order)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l watchdog -d 'Guard the hand-over for SECONDS: a new kernel that does not confirm its boot in time is reset, and the boot loader brings back the running kernel (else its default). The BMC\'s watchdog (IPMI) where there is one, else a chipset watchdog, else the software net (panic= and softdog on the new kernel\'s command line; never on `load`, which refuses --watchdog where only the software net could take it). [default: 600 s, or a chipset watchdog\'s largest timeout when shorter]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l mode -d 'How to hand over to the loaded kernel' -r -f -a "auto\t'`systemd` when /run/systemd/system exists, else `direct`'
systemd\t'`systemctl kexec`: systemd stops every unit and unmounts'
direct\t'kexec-chooser\'s own clean shutdown, for machines without systemd'"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL in direct mode' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l no-initrd -d 'Load no initrd at all'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l force -d 'Go on despite a missing modules directory or a command line without root='
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l dry-run -d 'Print the plan and touch nothing'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l json -d 'With --dry-run, print the plan as JSON'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l no-watchdog -d 'Arm no watchdog and set no software net (the boot loader\'s one-time entry back to the running kernel is still set)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l append -d 'Add words to the command line (a later key=value replaces an earlier one)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l remove -d 'Drop every word with this key from the command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l cmdline -d 'Replace the whole command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l initrd -d 'Use this initrd instead of the entry\'s (repeat for several, in order)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l watchdog -d 'Guard the hand-over for SECONDS: a new kernel that does not confirm its boot in time is reset, and the boot loader brings back the running kernel (else its default). The BMC\'s watchdog (IPMI) where there is one, else a chipset watchdog, else the software net (panic= and softdog on the new kernel\'s command line; never on `load`, which refuses --watchdog where only the software net could take it). [default: 600 s, or a chipset watchdog\'s largest timeout when shorter]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l no-initrd -d 'Load no initrd at all'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l force -d 'Go on despite a missing modules directory or a command line without root='
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l dry-run -d 'Print the plan and touch nothing'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l json -d 'With --dry-run, print the plan as JSON'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l no-watchdog -d 'Arm no watchdog and set no software net (the boot loader\'s one-time entry back to the running kernel is still set)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand unload" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand unload" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l mode -d 'How to hand over to the loaded kernel' -r -f -a "auto\t'`systemd` when /run/systemd/system exists, else `direct`'
systemd\t'`systemctl kexec`: systemd stops every unit and unmounts'
direct\t'kexec-chooser\'s own clean shutdown, for machines without systemd'"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL in direct mode' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l watchdog -d 'Guard the hand-over for SECONDS: a new kernel that does not confirm its boot in time is reset, and the boot loader brings back the running kernel (else its default). The BMC\'s watchdog (IPMI) where there is one, else a chipset watchdog, else the software net (panic= and softdog on the new kernel\'s command line; never on `load`, which refuses --watchdog where only the software net could take it). [default: 600 s, or a chipset watchdog\'s largest timeout when shorter]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l no-watchdog -d 'Arm no watchdog and set no software net (the boot loader\'s one-time entry back to the running kernel is still set)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand confirm" -l check -d 'A health command (run by `sh -c`) that must succeed before the warm boot is confirmed; when it fails, the machine reboots through the firmware to the boot loader\'s default. Empty: no check' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand confirm" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL, should a failed check reboot a machine without systemd' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand confirm" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand confirm" -l boot-failed -d 'systemd\'s boot assessment failed (boot-complete.target could not start): a warm boot is check-failed. kexec-chooser-boot-failed.service passes it when kexec-chooser-confirm.service\'s dependency fails'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand confirm" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand status" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand status" -l json -d 'Print JSON for programs'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand status" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand list" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand list" -l json -d 'Print a JSON array, newest first'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand list" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l warn -d 'WARNING when free space is below this' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l crit -d 'CRITICAL when free space is below this' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l warn-inodes -d 'WARNING when free inodes are below this' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l crit-inodes -d 'CRITICAL when free inodes are below this' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l exclude-type -d 'Leave out filesystems of this type (repeat, or separate with commas)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l exclude -d 'Leave out this mount point or device (repeat)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l timeout -d 'Give up on a filesystem that has not answered after this many seconds' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l prometheus -d 'Also write the node_exporter textfile FILE (atomically, by rename)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l all -d 'Also check memory-backed filesystems (tmpfs, devtmpfs)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l cron -d 'Print nothing when all is OK, else one line per problem'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l nagios -d 'Print one Nagios/Icinga plugin line with performance data'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l json -d 'Print a JSON array, one object per filesystem'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l method -d 'Detection method' -r -f -a "window\t'The original Talos analysis: stable windows, tolerance, spikes'
ttest\t'Perfherder\'s detector: weighted means and a Welch t statistic'
segment\t'Robust segmentation of the whole series: level and variance changes, spikes, machine problems, pending newest points'"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l format -d 'Input format' -r -f -a "auto\t'JSON lines if the first line starts with `{`, else CSV'
csv\t''
json\t''"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l confirm -d 'Window: consecutive points out of tolerance that confirm a change; segment: points a change needs on each side' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l machine-points -d 'Window: last points of one machine out of tolerance, while the other machines are not, that make a machine problem (0 turns it off)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l threshold -d 'Window: tolerance, in standard deviations of the reference window [default: 2.5]; segment: outliers, in noise SDs from the median of their neighbours [default: 5]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l window -d 'Window: points in the reference window' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l t-threshold -d 'T-test: t statistic above which a change is reported [default: 7]; segment: t statistic of a step over the trend [default: 6]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l min-change -d 'Smallest change reported, in percent [default: 0 on exact or precise series (sizes, counts); on others 2 for ttest and segment, 0 for window]' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l plot -d 'Draw the charts to FILE.svg (one file per series) or FILE.html (one page)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l lower-is-better -d 'Lower values are better (times; the default)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l higher-is-better -d 'Higher values are better (scores, throughput)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l json -d 'Print JSON: every point with its class, every change and machine problem'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l skip-bad -d 'Skip rows that do not parse (their count goes to stderr) instead of stopping'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l patchdir -d 'Save into DIR (default: `mkpatch.patchdir` from the hg/git config, else ~/patches)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l name -d 'Patch name instead of the MQ patch or Git branch (needed on a detached HEAD)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l base -d 'Git: diff from the merge base with REV instead of the upstream' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l uncommitted -d 'Git: only what is not committed (`git diff HEAD`)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l staged -d 'Git: only what is staged (`git diff --cached`)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l list -d 'List the saved versions of the current patch, newest first, instead of saving'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s F -l form -d 'A form part, as curl\'s -F (see below); repeat for more parts' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s H -l header -d 'An extra request header, \'Name: value\'; repeat for more' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s X -l method -d 'The request method' -r -f -a "POST\t''
PUT\t''"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s o -l output -d 'Write the answer\'s body to FILE instead of stdout (only on success)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l cacert -d 'Trust the CA certificates of this PEM file instead of the system\'s' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l connect-timeout -d 'Give up connecting after SECS seconds' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l stall-timeout -d 'Give up when no byte moves for SECS seconds, either way' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l spool-limit -d 'The most standard input, a pipe or a device may hold when it is spooled to learn its length (512M, 4G; powers of 1024)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l progress -d 'Draw a progress bar on stderr even when it is not a terminal'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l no-progress -d 'Never draw a progress bar (the default when stderr is not a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s k -l insecure -d 'Do not verify the server\'s certificate (a warning says so)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand card" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand card" -l json -d 'One JSON object per number, one per line, for programs'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand card" -l reveal -d 'Print the full numbers instead of masking them'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand card" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "reboot" -d 'Choose a kernel, load it and warm-reboot into it (the default)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "load" -d 'Load the chosen kernel only; a later `systemctl kexec` or `exec` uses it'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "unload" -d 'Unload whatever kernel is loaded for kexec'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "exec" -d 'Hand over to the kernel that is already loaded'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "confirm" -d 'Confirm the warm reboot this boot came from (run at boot by a unit)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "status" -d 'Tell whether kexec is possible here, what is loaded, how `auto` hands over'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "list" -d 'List every kernel this machine can warm-reboot into, newest first'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "disk" -d 'Check free disk space (statvfs) for people, cron and monitoring'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "analyze" -d 'Detect performance regressions in benchmark series'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "mkpatch" -d 'Save the current patch as <patch>-<repo>.patch in the patch directory'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "upload" -d 'Upload files as multipart/form-data, streaming them'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "card" -d 'Validate payment card numbers without printing them'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec confirm status list disk analyze mkpatch upload card help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
