//! Generates the packaging assets that come from the clap definitions — the
//! man page `man/kexec-chooser.8` and the bash, zsh and fish completions — so
//! they are committed and shipped by the `.deb` (cargo-deb cannot read OUT_DIR).
//! Run it as `scripts/gen-assets`; `tests/package.rs` includes this file and
//! fails when the committed files differ from what it renders.
//!
//! The output is deterministic: the man page's date is the date of the newest
//! `debian/changelog` entry, never today's.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

/// Where the generated files live, relative to the crate root, in the order
/// they are generated.
pub const MAN_PAGE: &str = "man/kexec-chooser.8";
pub const BASH: &str = "man/completions/kexec-chooser.bash";
pub const ZSH: &str = "man/completions/_kexec-chooser";
pub const FISH: &str = "man/completions/kexec-chooser.fish";

const BIN: &str = "kexec-chooser";

/// The first comment of every generated file.
const GENERATED: &str =
    "Generated from the clap definitions by scripts/gen-assets (examples/gen-assets.rs); do not edit.";

/// Written after the one-line summary: the crate's clap definitions say what
/// each subcommand does, not how the pieces of the program fit together.
const DESCRIPTION: &str = "\
kexec-chooser finds the kernels this machine can boot (kernels and initrds in /boot, \
Boot Loader Specification entries, unified kernel images), lets you pick one from a \
menu or by a selector, loads it with kexec_file_load(2), and hands over to a clean \
shutdown that ends in a warm reboot into that kernel, skipping firmware and boot loader.

Without a subcommand it runs kexec-chooser reboot: on a terminal a menu, then a \
confirmation that shows the plan. Without a terminal it never asks: it needs --yes, \
or it stops and touches nothing. Use --dry-run to print the plan only.

The other subcommands are small administration utilities shipped with it: disk \
checks free space for people, cron and monitoring; analyze, mkpatch, upload and card \
are described below.

Every file is read under --root (default /), so all steps before loading a kernel \
can be tried on a copy of another machine's tree without privileges.";

/// What the package adds around the binary, in the after-help format (see
/// [`after_help`]); the units name this page in their Documentation=.
const PACKAGING: &str = "\
Systemd units and cron:
  kexec-chooser-disk.timer  runs kexec-chooser-disk.service every hour, which runs `kexec-chooser disk --cron $DISK_ARGS`; enabled on install
  kexec-chooser-confirm.service  runs `kexec-chooser confirm --check=$CHECK` after multi-user.target and boot-complete.target when a warm reboot is pending: confirms it (stopping its watchdog, removing the boot loader's one-time entry), or records that it fell back, or reboots through the firmware into the kernel it came from when CHECK fails; enabled on install
  kexec-chooser-boot-failed.service  runs `kexec-chooser confirm --boot-failed` when the confirm unit cannot start because boot-complete.target failed (a unit RequiredBy=boot-complete.target failed): the warm boot is check-failed; static, started by OnFailure=
  kexec-chooser-load.service  loads the kernel KERNEL names (default latest) at boot with --append=$APPEND, so that a later `systemctl kexec` uses it; disabled until `systemctl enable kexec-chooser-load.service`
  /etc/cron.d/kexec-chooser  the same disk check, hourly, for machines without systemd; it does nothing where /run/systemd/system exists
  /etc/default/kexec-chooser  KERNEL, APPEND, DISK_ARGS and CHECK, read by the units (EnvironmentFile=) and the cron line
  /usr/lib/modprobe.d/kexec-chooser.conf  keeps an armed hardware watchdog running through a kexec (options watchdog stop_on_reboot=0)
  /var/lib/kexec-chooser  the pending warm reboot and the history of the last ones, which status shows";

/// A generated file: its path relative to the crate root and its bytes.
pub struct Asset {
    pub path: &'static str,
    pub bytes: Vec<u8>,
}

/// Render every asset from the clap definitions; `crate_root` is where
/// `debian/changelog` is read from (for the man page's date).
pub fn render_all(crate_root: &Path) -> Result<Vec<Asset>, String> {
    let changelog_path = crate_root.join("debian/changelog");
    let changelog =
        std::fs::read_to_string(&changelog_path).map_err(|e| format!("{}: {e}", changelog_path.display()))?;
    let date = changelog_date(&changelog)
        .ok_or_else(|| format!("{}: no trailer line with a date", changelog_path.display()))?;
    let mut assets = vec![Asset { path: MAN_PAGE, bytes: man_page(&date)? }];
    for (path, shell) in [(BASH, Shell::Bash), (ZSH, Shell::Zsh), (FISH, Shell::Fish)] {
        let mut cmd = kexec_chooser::cli::command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, BIN, &mut script);
        let script = String::from_utf8(script).map_err(|e| e.to_string())?;
        let note = format!("# {GENERATED}\n");
        // zsh reads `#compdef` from the first line, so the note goes after it.
        let bytes = match (shell, script.split_once('\n')) {
            (Shell::Zsh, Some((compdef, rest))) => format!("{compdef}\n{note}{rest}"),
            _ => format!("{note}{script}"),
        };
        assets.push(Asset { path, bytes: bytes.into_bytes() });
    }
    Ok(assets)
}

/// The date (YYYY-MM-DD) of the newest entry of a Debian changelog, from its
/// first trailer line ` -- Name <mail>  Wed, 25 Nov 2026 18:30:00 +0000`.
pub fn changelog_date(changelog: &str) -> Option<String> {
    let trailer = changelog.lines().find(|l| l.starts_with(" -- "))?;
    let (_, date) = trailer.split_once(">  ")?;
    let (_, rest) = date.split_once(", ")?;
    let mut words = rest.split_whitespace();
    let day: u8 = words.next()?.parse().ok()?;
    let month = words.next()?;
    let year: u16 = words.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| *m == month)?.checked_add(1)?;
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// The man page: the top command as clap_mangen renders it, a COMMANDS
/// section with every subcommand's synopsis, description and options, and
/// EXIT STATUS, FILES and EXAMPLES from the command's after-help text.
fn man_page(date: &str) -> Result<Vec<u8>, String> {
    // The `help` subcommand is clap's, not ours: the page documents --help.
    // Left unbuilt, so that the subcommands do not inherit the global options
    // and --help, which the top of the page documents once.
    let cmd = kexec_chooser::cli::command().disable_help_subcommand(true);
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let man = Man::new(cmd.clone())
        .section("8")
        .date(date)
        .source(format!("{BIN} {version}"))
        .manual("System Administration");

    let mut page = Vec::new();
    let io = |e: std::io::Error| e.to_string();
    man.render_title(&mut page).map_err(io)?;
    man.render_name_section(&mut page).map_err(io)?;
    man.render_synopsis_section(&mut page).map_err(io)?;
    man.render_description_section(&mut page).map_err(io)?;
    let mut roff = Roff::new();
    for para in DESCRIPTION.split("\n\n") {
        roff.control("PP", []);
        roff.text([roman(para)]);
    }
    roff.to_writer(&mut page).map_err(io)?;
    man.render_options_section(&mut page).map_err(io)?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    roff.to_writer(&mut page).map_err(io)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommand_section(&mut page, sub, &[])?;
    }

    if let Some(after) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        let mut roff = Roff::new();
        after_help(&mut roff, &after.to_string(), Heading::Section);
        roff.to_writer(&mut page).map_err(io)?;
    }
    let mut roff = Roff::new();
    after_help(&mut roff, PACKAGING, Heading::Section);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("kexec"),
        roman("(8), "),
        bold("kexec_file_load"),
        roman("(2), "),
        bold("systemctl"),
        roman("(1), "),
        bold("systemd.timer"),
        roman("(5), "),
        bold("crontab"),
        roman("(5)"),
    ]);
    roff.to_writer(&mut page).map_err(io)?;

    // Every rendered piece starts with roff's preamble (the definition of
    // the apostrophe string); the page needs it once, at the top.
    let preamble = Roff::new().render();
    let page = String::from_utf8(page).map_err(|e| e.to_string())?;
    let body = page.replace(&preamble, "");
    Ok(format!(".\\\" {GENERATED}\n{preamble}{body}").into_bytes())
}

/// One `.SS` subsection per subcommand (nested ones get their own, named by
/// the full path). `sub` comes from an unbuilt command, so it lacks the
/// global options, which the top of the page documents.
fn subcommand_section(page: &mut Vec<u8>, sub: &clap::Command, parents: &[&str]) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let mut path: Vec<&str> = parents.to_vec();
    path.push(sub.get_name());
    let title = format!("{BIN} {}", path.join(" "));
    let sub = sub.clone().bin_name(&title).disable_help_flag(true).disable_help_subcommand(true);
    let man = Man::new(sub.clone());

    let mut roff = Roff::new();
    roff.control("SS", [title.as_str()]);
    roff.to_writer(page).map_err(io)?;
    // Each renderer starts with its own `.SH`; inside a subsection the
    // headings become paragraphs.
    let mut body = Vec::new();
    man.render_synopsis_section(&mut body).map_err(io)?;
    man.render_description_section(&mut body).map_err(io)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut body).map_err(io)?;
    }
    let body = String::from_utf8(body).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for line in body.lines() {
        match line.strip_prefix(".SH ") {
            Some("SYNOPSIS") => {}
            Some("DESCRIPTION") | Some("OPTIONS") => out.push_str(".PP\n"),
            Some(heading) => {
                let _ = writeln!(out, ".PP\n\\fI{}\\fR", heading.trim_matches('"'));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    page.extend_from_slice(out.as_bytes());
    if let Some(after) = sub.get_after_long_help().or_else(|| sub.get_after_help()) {
        let mut roff = Roff::new();
        after_help(&mut roff, &after.to_string(), Heading::Paragraph);
        roff.to_writer(page).map_err(io)?;
    }
    for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommand_section(page, nested, &path)?;
    }
    Ok(())
}

/// How a heading of the after-help text is rendered: a section of the page
/// (`Exit status:` becomes EXIT STATUS) or, inside a subcommand, a paragraph.
#[derive(Clone, Copy)]
pub enum Heading {
    Section,
    Paragraph,
}

/// Render after-help text as it is written for `--help`: an unindented line
/// ending in `:` is a heading; other unindented lines are prose, joined into
/// paragraphs at blank lines; an indented line whose term and text are
/// separated by two or more spaces is a tagged paragraph (a file, an exit
/// code, an example and what it does), and so is a command alone; any other
/// indented line is an indented paragraph of its own. One source for `--help` and the man page.
pub fn after_help(roff: &mut Roff, text: &str, heading: Heading) {
    let mut prose: Vec<&str> = Vec::new();
    let flush = |roff: &mut Roff, prose: &mut Vec<&str>| {
        if !prose.is_empty() {
            roff.control("PP", []);
            roff.text([roman(prose.join(" "))]);
            prose.clear();
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(roff, &mut prose);
            continue;
        }
        if !line.starts_with(' ') {
            match line.strip_suffix(':') {
                Some(name) => {
                    flush(roff, &mut prose);
                    match heading {
                        Heading::Section => {
                            roff.control("SH", [name.to_uppercase().as_str()]);
                        }
                        Heading::Paragraph => {
                            roff.control("PP", []);
                            roff.text([bold(name)]);
                        }
                    }
                }
                None => prose.push(line.trim_end()),
            }
            continue;
        }
        flush(roff, &mut prose);
        let item = line.trim();
        match item.split_once("  ") {
            Some((term, text)) => {
                roff.control("TP", []);
                roff.text([bold(term)]);
                roff.text([roman(text.trim_start())]);
            }
            // A command alone (an example without a comment) is set like
            // the examples that have one.
            None if item.starts_with(BIN) || item.starts_with("sudo ") => {
                roff.control("TP", []);
                roff.text([bold(item)]);
            }
            None => {
                roff.control("IP", []);
                roff.text([roman(item)]);
            }
        }
    }
    flush(roff, &mut prose);
}

/// The crate root, where the assets are written.
fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[allow(dead_code)] // unused when tests/package.rs includes this file
fn main() -> std::process::ExitCode {
    let root = crate_root();
    let assets = match render_all(&root) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gen-assets: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for asset in assets {
        let path = root.join(asset.path);
        let written =
            path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &asset.bytes));
        if let Err(e) = written {
            eprintln!("gen-assets: {}: {e}", path.display());
            return std::process::ExitCode::FAILURE;
        }
        eprintln!("gen-assets: wrote {}", asset.path);
    }
    std::process::ExitCode::SUCCESS
}
