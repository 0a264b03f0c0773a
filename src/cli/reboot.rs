//! Glue of `kexec-chooser reboot` and `load`: pick an entry (selector or menu),
//! make the plan, then print it (`--dry-run`) or hand it to the kexec side.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::kexec::{resolve_mode, HandoverArgs, Mode};
use super::Ctx;
use crate::boot::{self, BootEntry};
use crate::kexec::plan::{Plan, PlanOptions};
use crate::ui;

/// What to load: the entry and the changes to its initrds and command line.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The kernel: a version, an id from `list`, `latest`, `running`, `default`,
    /// or a path to a kernel file. Without it, a menu on a terminal.
    #[arg(value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Add words to the command line (a later key=value replaces an earlier one).
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub append: Vec<String>,
    /// Drop every word with this key from the command line.
    #[arg(long, value_name = "KEY")]
    pub remove: Vec<String>,
    /// Replace the whole command line.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub cmdline: Option<String>,
    /// Use this initrd instead of the entry's (repeat for several, in order).
    #[arg(long, value_name = "PATH", conflicts_with = "no_initrd")]
    pub initrd: Vec<PathBuf>,
    /// Load no initrd at all.
    #[arg(long)]
    pub no_initrd: bool,
    /// Go on despite a missing modules directory or a command line without root=.
    #[arg(long)]
    pub force: bool,
    /// Print the plan and touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run, print the plan as JSON.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RebootArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub handover: HandoverArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
}

impl PlanArgs {
    /// What preflight may let pass because the person said so.
    fn allow(&self) -> crate::kexec::Allow {
        crate::kexec::Allow { force: self.force, no_initrd: self.no_initrd }
    }

    fn options(&self) -> PlanOptions {
        PlanOptions {
            append: self.append.clone(),
            remove: self.remove.clone(),
            cmdline: self.cmdline.clone(),
            initrds: self.initrd.clone(),
            no_initrd: self.no_initrd,
        }
    }
}

/// Pick the entry: the selector, else the menu on a terminal, else an error.
pub fn choose(ctx: &Ctx, args: &PlanArgs) -> anyhow::Result<BootEntry> {
    let d = boot::discover(&ctx.root);
    if let Some(sel) = &args.selector {
        return Ok(boot::select::select(&ctx.root, &d, sel)?);
    }
    if !ui::interactive() {
        anyhow::bail!(
            "no kernel named and no terminal for the menu: name one, for example `latest` \
             (see `kexec-chooser list`)"
        );
    }
    if let Some(note) = &d.default_note {
        eprintln!("kexec-chooser: no default marked: {note}");
    }
    let i = match ui::menu::choose(&d.entries) {
        Err(ui::menu::MenuError::Interrupted) => {
            return Err(super::ExitError::new(super::exit::INTERRUPTED, "interrupted").into())
        }
        r => r?,
    };
    d.entries.get(i).cloned().context("the menu returned no entry")
}

/// Build the plan for `args` (selector or menu, then the edits).
pub fn plan(ctx: &Ctx, args: &PlanArgs, mode: Option<Mode>) -> anyhow::Result<Plan> {
    let entry = choose(ctx, args)?;
    let mut plan = Plan::build(&ctx.root, &entry, &args.options())?;
    plan.mode = mode.map(|m| mode_name(resolve_mode(ctx, m)).to_owned());
    Ok(plan)
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Auto => "auto",
        Mode::Systemd => "systemd",
        Mode::Direct => "direct",
    }
}

/// Print the plan for people or as JSON.
pub fn write_plan(out: &mut impl Write, plan: &Plan, json: bool) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, plan).context("writing JSON")?;
        writeln!(out)?;
        return Ok(());
    }
    let initrds = if plan.initrds.is_empty() {
        "(none)".to_owned()
    } else {
        plan.initrds.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
    };
    writeln!(out, "version:   {}  (id {})", plan.version, plan.id)?;
    writeln!(out, "kernel:    {}", plan.kernel.display())?;
    writeln!(out, "initrds:   {initrds}")?;
    writeln!(out, "cmdline:   {}", plan.cmdline)?;
    writeln!(out, "           (from {})", plan.cmdline_source)?;
    writeln!(out, "syscall:   {} ({})", plan.syscall.as_str(), plan.syscall_reason)?;
    match plan.mode.as_deref() {
        Some("systemd") => writeln!(out, "hand-over: systemd (systemctl kexec)")?,
        Some("direct") => writeln!(out, "hand-over: direct (kexec-chooser shuts down by itself)")?,
        Some(m) => writeln!(out, "hand-over: {m}")?,
        None => writeln!(out, "hand-over: none (load only)")?,
    }
    for p in &plan.entry.problems {
        writeln!(out, "problem:   {p}")?;
    }
    Ok(())
}

pub fn run(ctx: &Ctx, args: &RebootArgs) -> anyhow::Result<u8> {
    let plan = plan(ctx, &args.plan, Some(args.handover.mode))?;
    if args.plan.dry_run {
        let mut out = std::io::stdout().lock();
        write_plan(&mut out, &plan, args.plan.json)?;
        out.flush()?;
        return Ok(super::exit::OK);
    }
    super::kexec::load_and_handover(ctx, &plan, args.plan.allow(), Some(&args.handover))
}

pub fn load(ctx: &Ctx, args: &LoadArgs) -> anyhow::Result<u8> {
    let plan = plan(ctx, &args.plan, None)?;
    if args.plan.dry_run {
        let mut out = std::io::stdout().lock();
        write_plan(&mut out, &plan, args.plan.json)?;
        out.flush()?;
        return Ok(super::exit::OK);
    }
    super::kexec::load_and_handover(ctx, &plan, args.plan.allow(), None)
}
