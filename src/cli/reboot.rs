//! Arguments of `kexec-chooser reboot` and `load`: turned into a request,
//! handed to [`crate::warm`], and the plan printed for `--dry-run`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::kexec::{acted, HandoverArgs, WatchdogArgs};
use super::{exit, Ctx};
use crate::kexec::plan::{Mode, ModeChoice, Plan, PlanOptions};
use crate::kexec::preflight::Allow;
use crate::sys::Real;
use crate::text;
use crate::ui::Console;
use crate::warm::{self, Request};

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
    #[command(flatten)]
    pub watchdog: WatchdogArgs,
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
    /// The request these arguments make; `mode` is the hand-over for a
    /// reboot, `None` for a load alone.
    fn request(&self, mode: Option<ModeChoice>) -> Request {
        Request {
            selector: self.selector.clone(),
            options: PlanOptions {
                append: self.append.clone(),
                remove: self.remove.clone(),
                cmdline: self.cmdline.clone(),
                initrds: self.initrd.clone(),
                allow: Allow { force: self.force, no_initrd: self.no_initrd },
                mode,
                watchdog: self.watchdog.request(),
            },
        }
    }
}

/// Print the plan for people or as JSON, with what preflight would refuse.
pub fn write_plan(out: &mut impl Write, plan: &Plan, problems: &[String], json: bool) -> anyhow::Result<()> {
    if json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            plan: &'a Plan,
            problems: &'a [String],
        }
        serde_json::to_writer_pretty(&mut *out, &Json { plan, problems }).context("writing JSON")?;
        writeln!(out)?;
        return Ok(());
    }
    let initrds = if plan.initrds.is_empty() {
        "(none)".to_owned()
    } else {
        plan.initrds.iter().map(|p| text::path(p)).collect::<Vec<_>>().join(" ")
    };
    let e = &plan.entry;
    writeln!(out, "version:   {}  (id {})", text::escape(&e.version), text::escape(&e.id))?;
    writeln!(out, "kernel:    {}", text::path(&e.kernel))?;
    writeln!(out, "initrds:   {initrds}")?;
    writeln!(out, "cmdline:   {}", text::escape(plan.cmdline.as_str()))?;
    writeln!(out, "           (from {})", plan.cmdline_source)?;
    writeln!(out, "syscall:   {} ({})", plan.syscall.syscall, plan.syscall.reason)?;
    match plan.mode {
        Some(Mode::Systemd) => writeln!(out, "hand-over: systemd (systemctl kexec)")?,
        Some(Mode::Direct) => writeln!(out, "hand-over: direct (kexec-chooser shuts down by itself)")?,
        None => writeln!(out, "hand-over: none (load only)")?,
    }
    writeln!(out, "safety:    {}", plan.net.describe())?;
    for why in &plan.net.passed_over {
        writeln!(out, "           (passed over {})", text::escape(why))?;
    }
    for p in problems {
        writeln!(out, "problem:   {}", text::escape(p))?;
    }
    Ok(())
}

fn print_plan_in(ctx: &Ctx, plan: &Plan, json: bool) -> anyhow::Result<u8> {
    let problems = warm::problems(&ctx.root, &Real, plan);
    let mut out = std::io::stdout().lock();
    write_plan(&mut out, plan, &problems, json)?;
    out.flush()?;
    Ok(exit::OK)
}

pub fn run(ctx: &Ctx, args: &RebootArgs) -> anyhow::Result<u8> {
    let mut console = Console::new(args.handover.yes);
    let req = args.plan.request(Some(args.handover.mode));
    let plan = acted(warm::plan(&ctx.root, &mut console, &req))?;
    if args.plan.dry_run {
        return print_plan_in(ctx, &plan, args.plan.json);
    }
    acted(warm::reboot(&ctx.root, &mut Real, &mut console, &plan, &args.handover.handover()))?;
    Ok(exit::OK)
}

pub fn load(ctx: &Ctx, args: &LoadArgs) -> anyhow::Result<u8> {
    let mut console = Console::new(false);
    let plan = acted(warm::plan(&ctx.root, &mut console, &args.plan.request(None)))?;
    if args.plan.dry_run {
        return print_plan_in(ctx, &plan, args.plan.json);
    }
    acted(warm::load(&ctx.root, &mut Real, &mut console, &plan))?;
    Ok(exit::OK)
}
