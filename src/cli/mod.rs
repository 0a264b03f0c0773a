//! The command line: clap types, dispatch to each subcommand's glue, and the
//! mapping from outcomes to exit codes. `anyhow` is used here and nowhere below.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::boot::Root;

pub mod analyze;
pub mod card;
pub mod disk;
pub mod kexec;
pub mod list;
pub mod mkpatch;
pub mod reboot;
pub mod upload;

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
    #[command(about = REBOOT_ABOUT)]
    Reboot(reboot::RebootArgs),
    /// Load the chosen kernel only; a later `systemctl kexec` or `exec` uses it.
    Load(reboot::LoadArgs),
    /// Unload whatever kernel is loaded for kexec.
    Unload,
    /// Hand over to the kernel that is already loaded.
    Exec(kexec::ExecArgs),
    /// Tell whether kexec is possible here, what is loaded, how `auto` hands over.
    Status(kexec::StatusArgs),
    /// List every kernel this machine can warm-reboot into, newest first.
    List(list::ListArgs),
    #[command(about = DISK_ABOUT)]
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

/// Parse `args`, run, print any error on stderr, and give the exit code.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    ExitCode::from(main_code(args))
}

/// [`main_with_args`] with the exit code as a number, for the C `main`.
pub fn main_code<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("disk") => {
            return run_alone(&args, "disk", DISK_ABOUT, disk::USAGE_EXIT_CODE, disk::run);
        }
        Some("reboot") => {
            return run_alone(&args, "reboot", REBOOT_ABOUT, exit::USAGE, reboot::run);
        }
        _ => {}
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { usage_exit_code(&args) } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// `kexec-chooser disk ...` or `kexec-chooser reboot ...`, parsed with a
/// command line holding only the global options and that subcommand. Cron
/// and monitoring run `disk` every few minutes on every host, and building
/// the clap tree of all eleven subcommands took more than half of its run
/// time (docs/disk.md, Speed); `reboot` is the main job, timed against
/// kexec-tools in an emulated guest where every page of code and heap the
/// tree touches costs (docs/reboot.md, Speed). The help and the errors are
/// the full tree's: tests/disk.rs and tests/reboot.rs compare them.
fn run_alone<A: clap::Args + clap::FromArgMatches>(
    args: &[OsString],
    name: &'static str,
    about: &'static str,
    usage_code: u8,
    run: impl FnOnce(&Ctx, &A) -> anyhow::Result<u8>,
) -> u8 {
    use clap::{Args, FromArgMatches};
    // The tree with this one subcommand, built as the full one is (global
    // options copied down in the same order, names set), then the subcommand
    // alone parses the words after the program's name: one level, not two.
    let sub = A::augment_args(clap::Command::new(name)).about(about);
    let mut tree = GlobalArgs::augment_args(clap::Command::new("kexec-chooser")).subcommand(sub);
    tree.build();
    let mut cmd = tree
        .find_subcommand_mut(name)
        .map(std::mem::take)
        .unwrap_or_default();
    std::mem::forget(tree);
    let parsed = cmd.try_get_matches_from_mut(args.iter().skip(1)).and_then(|mut m| {
        let global = GlobalArgs::from_arg_matches_mut(&mut m)?;
        let own = A::from_arg_matches_mut(&mut m)?;
        // Freed when the process ends; taking the tree apart piece by piece
        // was 3% of a `disk` run.
        std::mem::forget(m);
        Ok((global, own))
    });
    std::mem::forget(cmd);
    match parsed {
        Ok((global, own)) => {
            let ctx = Ctx { root: Root::new(global.root) };
            run(&ctx, &own).unwrap_or_else(|err| report(&err))
        }
        Err(e) => {
            let code = if e.use_stderr() { usage_code } else { exit::OK };
            let _ = e.print();
            code
        }
    }
}

/// The one-line helps of the subcommands parsed alone, shared with the full tree.
const DISK_ABOUT: &str = "Check free disk space (statvfs) for people, cron and monitoring";
const REBOOT_ABOUT: &str = "Choose a kernel, load it and warm-reboot into it (the default)";

/// Usage errors exit 2, except where a subcommand's convention says otherwise
/// (monitoring plugins: bad arguments are UNKNOWN, 3).
fn usage_exit_code(args: &[OsString]) -> u8 {
    // The subcommand is the first word that is neither an option nor the
    // value of the one global option that takes a value (`--root DIR`).
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--root" {
            words.next();
        } else if w == "disk" {
            return disk::USAGE_EXIT_CODE;
        } else if !w.starts_with('-') {
            break;
        }
    }
    exit::USAGE
}

/// Whether the error is a broken pipe, alone or inside a serde_json error:
/// the reader of stdout went away with all it wanted.
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
/// stdout is not a failure: the reader has all it wanted.
fn report(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return exit::OK;
    }
    let code = err
        .chain()
        .find_map(|c| c.downcast_ref::<ExitError>().map(|e| e.code))
        .unwrap_or(exit::FAILURE);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "kexec-chooser: {err:#}");
    code
}

/// Run a parsed command line; `Ok` carries the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let ctx = Ctx { root: Root::new(cli.global.root.clone()) };
    if cli.command.is_some() && cli.reboot.given() {
        return Err(ExitError::new(
            exit::USAGE,
            "options of `reboot` were given before a subcommand; put them after `reboot`",
        )
        .into());
    }
    match cli.command {
        None => reboot::run(&ctx, &cli.reboot),
        Some(Command::Reboot(args)) => reboot::run(&ctx, &args),
        Some(Command::Load(args)) => reboot::load(&ctx, &args),
        Some(Command::Unload) => kexec::unload(&ctx),
        Some(Command::Exec(args)) => kexec::exec(&ctx, &args),
        Some(Command::Status(args)) => kexec::status(&ctx, &args),
        Some(Command::List(args)) => list::run(&ctx, &args),
        Some(Command::Disk(args)) => disk::run(&ctx, &args),
        Some(Command::Analyze(args)) => analyze::run(&ctx, &args),
        Some(Command::Mkpatch(args)) => mkpatch::run(&ctx, &args),
        Some(Command::Upload(args)) => upload::run(&ctx, &args),
        Some(Command::Card(args)) => card::run(&ctx, &args),
    }
}
