//! The command line: clap types, dispatch to each subcommand's glue, and the
//! mapping from outcomes to exit codes. `anyhow` is used here and nowhere below.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::root::Root;

pub(crate) mod analyze;
pub(crate) mod card;
pub(crate) mod confirm;
pub(crate) mod disk;
pub(crate) mod kexec;
pub(crate) mod list;
pub(crate) mod mkpatch;
pub(crate) mod reboot;
pub(crate) mod upload;

/// Exit codes of the main job (the utilities document their own).
pub mod exit {
    /// Success, or `--dry-run` printed its plan.
    pub const OK: u8 = 0;
    /// A runtime failure: nothing matched, preflight refused, a syscall failed.
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage.
    pub const USAGE: u8 = 2;
    /// Interrupted by Ctrl-C at a prompt.
    pub const INTERRUPTED: u8 = 130;
}

const AFTER_HELP: &str = "\
Exit status:
  0    success (or a --dry-run plan was printed)
  1    failure: no such kernel, preflight refused, the load or hand-over failed
  2    bad usage
  130  interrupted at a prompt
  The disk, analyze and card subcommands document their own codes.

Files:
  /boot/vmlinuz-*, /boot/initrd.img-*, /boot/initramfs-*   kernels and initrds
  /boot/loader/entries/*.conf, /efi/..., /boot/efi/...     Boot Loader Spec entries
  EFI/Linux/*.efi                                          unified kernel images
  /boot/grub/grubenv, /boot/grub/grub.cfg                  the GRUB default
  /etc/kernel/cmdline, /proc/cmdline                       the command line
  /proc/sys/kernel/osrelease, /lib/modules/VERSION         running kernel, modules
  /sys/kernel/kexec_loaded, /proc/sys/kernel/kexec_load_disabled   kexec state
  /etc/default/kexec-chooser                               settings of the units

Examples:
  sudo kexec-chooser                      menu, confirmation, warm reboot
  kexec-chooser list --json               every kernel as JSON
  kexec-chooser reboot --dry-run latest   print the plan for the newest kernel
  kexec-chooser disk --cron               silent unless a filesystem is filling up

Fleet:
  contrib/ansible/rolling-kexec.yml  Ansible playbook (role kexec_chooser): warm-reboots hosts a few at a time, stops at the first that fails
  contrib/ansible/disk-report.yml    Ansible playbook: disk --json from every host into one report on the controller
  The JSON of status, list, the plan and disk is stable: docs/fleet.md in the source lists every field.";

/// Warm-reboot into a chosen kernel with kexec, skipping firmware and boot loader.
///
/// Without a subcommand it is `kexec-chooser reboot`: a menu on a terminal,
/// a confirmation showing the plan, then load and hand over to a clean shutdown.
#[derive(Debug, Parser)]
#[command(
    name = "kexec-chooser",
    version,
    about,
    long_about = None,
    subcommand_precedence_over_arg = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub reboot: reboot::RebootArgs,
}

/// The options every subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Treat DIR as the root of the machine: every file is read under it.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Choose a kernel, load it and warm-reboot into it (the default).
    Reboot(reboot::RebootArgs),
    /// Load the chosen kernel only; a later `systemctl kexec` or `exec` uses it.
    Load(reboot::LoadArgs),
    /// Unload whatever kernel is loaded for kexec.
    Unload,
    /// Hand over to the kernel that is already loaded.
    Exec(kexec::ExecArgs),
    /// Confirm the warm reboot this boot came from (run at boot by a unit).
    Confirm(confirm::ConfirmArgs),
    /// Tell whether kexec is possible here, what is loaded, how `auto` hands over.
    Status(kexec::StatusArgs),
    /// List every kernel this machine can warm-reboot into, newest first.
    List(list::ListArgs),
    /// Check free disk space (statvfs) for people, cron and monitoring.
    Disk(disk::DiskArgs),
    /// Detect performance regressions in benchmark series.
    Analyze(analyze::AnalyzeArgs),
    /// Save the current patch as <patch>-<repo>.patch in the patch directory.
    Mkpatch(mkpatch::MkpatchArgs),
    /// Upload files as multipart/form-data, streaming them.
    Upload(upload::UploadArgs),
    /// Validate payment card numbers without printing them.
    Card(card::CardArgs),
}

/// What every subcommand gets besides its own arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub root: Root,
}

/// An error that carries its own exit code, for subcommands whose codes are a
/// contract (disk's monitoring codes, analyze's and card's "bad input").
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    pub code: u8,
    pub message: String,
}

impl ExitError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        ExitError { code, message: message.into() }
    }
}

/// The clap command, for the man page and completion generators.
pub fn command() -> clap::Command {
    Cli::command()
}

/// The program: parse this process's arguments, run, print any error on
/// stderr, and give the exit code.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match parse(&args) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage_error(&e, &args)),
    };
    ExitCode::from(match run(cli) {
        Ok(code) => code,
        Err(err) => report(&err),
    })
}

/// Parse with clap, then apply the one rule clap cannot say for us: the bare
/// command's options (those of `reboot`) do not mix with a subcommand.
/// (`args_conflicts_with_subcommands` would also turn `--root DIR list`
/// into a selector named "list": clap counts the global option too.)
fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    use clap::parser::ValueSource;
    use clap::FromArgMatches;
    let mut cmd = Cli::command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    if let Some((sub, _)) = matches.subcommand() {
        let misplaced = cmd.get_arguments().find(|a| {
            !a.is_global_set() && matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        });
        if let Some(arg) = misplaced {
            let name = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map_or_else(|| arg.get_id().to_string(), ToString::to_string),
            };
            return Err(cmd.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("{name} belongs to `reboot`: its options cannot come before a subcommand ('{sub}'); put them after `reboot`"),
            ));
        }
    }
    Cli::from_arg_matches(&matches)
}

/// Print clap's message (help and version go to stdout with 0) and pick the
/// code: 2, or what the subcommand's convention says.
fn usage_error(e: &clap::Error, args: &[OsString]) -> u8 {
    if !e.use_stderr() {
        let _ = e.print();
        return exit::OK;
    }
    let sub = subcommand_word(args);
    if sub.as_deref() == Some("card") {
        // clap quotes the offending word; `card --json=4111...` must not
        // echo a card number, whatever the argument.
        let text = card::redact_numbers(&e.render().to_string());
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    } else {
        let _ = e.print();
    }
    match sub.as_deref() {
        // Monitoring plugins: bad arguments are UNKNOWN, 3.
        Some("disk") => disk::USAGE_EXIT_CODE,
        _ => exit::USAGE,
    }
}

/// The subcommand: the first word that is neither an option nor the value
/// of the one global option that takes a value (`--root DIR`).
fn subcommand_word(args: &[OsString]) -> Option<String> {
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--root" {
            words.next();
        } else if !w.starts_with('-') {
            return Some(w.into_owned());
        }
    }
    None
}

/// Whether `err` is, somewhere in its chain, a write to a closed pipe
/// (a plain I/O error, or one inside a serde_json error).
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Print the error as one line and pick its exit code. A broken pipe on
/// stdout is not a failure: the reader has all it wanted. The message names
/// files, releases and titles read from disk: control characters in them
/// are escaped, so an error cannot rewrite the terminal.
fn report(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return exit::OK;
    }
    let code = err.chain().find_map(|c| c.downcast_ref::<ExitError>().map(|e| e.code)).unwrap_or(exit::FAILURE);
    let mut stderr = std::io::stderr().lock();
    let _ = crate::say!(stderr, "{}", crate::text::escape(&format!("{err:#}")));
    code
}

/// Run a parsed command line; `Ok` carries the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let ctx = Ctx { root: Root::new(cli.global.root.clone()) };
    match cli.command {
        None => reboot::run(&ctx, &cli.reboot),
        Some(Command::Reboot(args)) => reboot::run(&ctx, &args),
        Some(Command::Load(args)) => reboot::load(&ctx, &args),
        Some(Command::Unload) => kexec::unload(&ctx),
        Some(Command::Exec(args)) => kexec::exec(&ctx, &args),
        Some(Command::Confirm(args)) => confirm::run(&ctx, &args),
        Some(Command::Status(args)) => kexec::status(&ctx, &args),
        Some(Command::List(args)) => list::run(&ctx, &args),
        Some(Command::Disk(args)) => disk::run(&ctx, &args),
        Some(Command::Analyze(args)) => analyze::run(&ctx, &args),
        Some(Command::Mkpatch(args)) => mkpatch::run(&ctx, &args),
        Some(Command::Upload(args)) => upload::run(&ctx, &args),
        Some(Command::Card(args)) => card::run(&ctx, &args),
    }
}
