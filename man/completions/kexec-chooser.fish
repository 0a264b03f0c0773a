# Generated from the clap definitions by scripts/gen-assets (examples/gen-assets.rs); do not edit.
# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kexec_chooser_global_optspecs
    string join \n root= append= remove= cmdline= initrd= no-initrd force dry-run json mode= y/yes timeout= h/help V/version
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
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l mode -d 'How to hand over to the loaded kernel' -r -f -a "auto\t'`systemd` when /run/systemd/system exists, else `direct`'
systemd\t'`systemctl kexec`: systemd stops every unit and unmounts'
direct\t'kexec-chooser\'s own clean shutdown, for machines without systemd'"
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL in direct mode' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l no-initrd -d 'Load no initrd at all'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l force -d 'Go on despite a missing modules directory or a command line without root='
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l dry-run -d 'Print the plan and touch nothing'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -l json -d 'With --dry-run, print the plan as JSON'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -s V -l version -d 'Print version'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "reboot" -d 'Choose a kernel, load it and warm-reboot into it (the default)'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "load" -d 'Load the chosen kernel only; a later `systemctl kexec` or `exec` uses it'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "unload" -d 'Unload whatever kernel is loaded for kexec'
complete -c kexec-chooser -n "__fish_kexec_chooser_needs_command" -a "exec" -d 'Hand over to the kernel that is already loaded'
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
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l mode -d 'How to hand over to the loaded kernel' -r -f -a "auto\t'`systemd` when /run/systemd/system exists, else `direct`'
systemd\t'`systemctl kexec`: systemd stops every unit and unmounts'
direct\t'kexec-chooser\'s own clean shutdown, for machines without systemd'"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL in direct mode' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l no-initrd -d 'Load no initrd at all'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l force -d 'Go on despite a missing modules directory or a command line without root='
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l dry-run -d 'Print the plan and touch nothing'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -l json -d 'With --dry-run, print the plan as JSON'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand reboot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l append -d 'Add words to the command line (a later key=value replaces an earlier one)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l remove -d 'Drop every word with this key from the command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l cmdline -d 'Replace the whole command line' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l initrd -d 'Use this initrd instead of the entry\'s (repeat for several, in order)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l no-initrd -d 'Load no initrd at all'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l force -d 'Go on despite a missing modules directory or a command line without root='
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l dry-run -d 'Print the plan and touch nothing'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -l json -d 'With --dry-run, print the plan as JSON'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand load" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand unload" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand unload" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l mode -d 'How to hand over to the loaded kernel' -r -f -a "auto\t'`systemd` when /run/systemd/system exists, else `direct`'
systemd\t'`systemctl kexec`: systemd stops every unit and unmounts'
direct\t'kexec-chooser\'s own clean shutdown, for machines without systemd'"
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l timeout -d 'Seconds that processes get between SIGTERM and SIGKILL in direct mode' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -s y -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand status" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand status" -l json -d 'Print JSON for programs'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand status" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand list" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand list" -l json -d 'Print a JSON array, newest first'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand list" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand disk" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand analyze" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l patchdir -d 'Save into DIR (default: `mkpatch.patchdir` from the hg/git config, else ~/patches)' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l name -d 'Patch name instead of the MQ patch or Git branch (needed on a detached HEAD)' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l base -d 'Git: diff from the merge base with REV instead of the upstream' -r
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l uncommitted -d 'Git: only what is not committed (`git diff HEAD`)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l staged -d 'Git: only what is staged (`git diff --cached`)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -l list -d 'List the saved versions of the current patch, newest first, instead of saving'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand mkpatch" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand upload" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand card" -l root -d 'Treat DIR as the root of the machine: every file is read under it' -r -F
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand card" -s h -l help -d 'Print help'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "reboot" -d 'Choose a kernel, load it and warm-reboot into it (the default)'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "load" -d 'Load the chosen kernel only; a later `systemctl kexec` or `exec` uses it'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "unload" -d 'Unload whatever kernel is loaded for kexec'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "exec" -d 'Hand over to the kernel that is already loaded'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "status" -d 'Tell whether kexec is possible here, what is loaded, how `auto` hands over'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "list" -d 'List every kernel this machine can warm-reboot into, newest first'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "disk" -d 'Check free disk space (statvfs) for people, cron and monitoring'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "analyze" -d 'Detect performance regressions in benchmark series'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "mkpatch" -d 'Save the current patch as <patch>-<repo>.patch in the patch directory'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "upload" -d 'Upload files as multipart/form-data, streaming them'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "card" -d 'Validate payment card numbers without printing them'
complete -c kexec-chooser -n "__fish_kexec_chooser_using_subcommand help; and not __fish_seen_subcommand_from reboot load unload exec status list disk analyze mkpatch upload card help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
