//! Glue of `kexec-chooser list`: every boot entry, for people or as JSON.
//!
//! Names, releases and problems come from files anyone with write access to
//! /boot (or the tree under `--root`) controls: the table shows them escaped
//! (`crate::text`), so a newline or an ESC sequence cannot add rows or drive
//! the terminal; `--json` keeps them exact.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use super::Ctx;
use crate::boot::{self, BootEntry};
use crate::paths;
use crate::text;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array, newest first.
    #[arg(long)]
    pub json: bool,
}

fn marks(e: &BootEntry) -> String {
    let mut m = String::new();
    m.push(if e.running { 'R' } else { ' ' });
    m.push(if e.default { 'D' } else { ' ' });
    m.push(if e.usable { ' ' } else { '!' });
    m
}

fn paths_text(v: &[std::path::PathBuf]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.iter().map(|p| text::path(p)).collect::<Vec<_>>().join(",")
    }
}

/// The table for people: one line per entry, problems indented below it.
pub fn write_table(out: &mut impl Write, entries: &[BootEntry]) -> std::io::Result<()> {
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                text::escape(&e.id).into_owned(),
                text::escape(&e.version).into_owned(),
                format!("{}/{}", e.source, e.format),
                text::path(&e.kernel),
                paths_text(&e.initrds),
                marks(e),
            ]
        })
        .collect();
    let head = ["ID", "VERSION", "SOURCE", "KERNEL", "INITRDS", ""];
    let mut w = [0usize; 5];
    for r in rows.iter().map(|r| &r[..5]).chain(std::iter::once(&head.map(String::from)[..5])) {
        for (i, c) in r.iter().enumerate().take(5) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    // Four padded columns and the last as it is, after a mark column.
    let line = |mark: &str, c: &[String]| {
        let cell = |i: usize| c.get(i).map_or("", String::as_str);
        let pad = |i: usize| format!("{:w$}", cell(i), w = w.get(i).copied().unwrap_or(0));
        format!("{mark} {}  {}  {}  {}  {}", pad(0), pad(1), pad(2), pad(3), cell(4))
    };
    writeln!(out, "{}", line("   ", &head.map(String::from)).trim_end())?;
    for (r, e) in rows.iter().zip(entries) {
        let line = line(&r[5], r);
        writeln!(out, "{}", line.trim_end())?;
        for p in &e.problems {
            writeln!(out, "      problem: {}", text::escape(p))?;
        }
    }
    writeln!(out, "R = running, D = default, ! = not usable")?;
    Ok(())
}

pub fn run(ctx: &Ctx, args: &ListArgs) -> anyhow::Result<u8> {
    let d = boot::discover(&ctx.root);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &d.entries).context("writing JSON")?;
        writeln!(out)?;
    } else if d.entries.is_empty() {
        let _ = crate::say!(std::io::stderr(), "no kernels found in {}", text::path(&ctx.root.path(paths::BOOT)));
    } else {
        write_table(&mut out, &d.entries)?;
    }
    out.flush()?;
    for note in &d.notes {
        let _ = crate::say!(std::io::stderr(), "note: {}", text::escape(note));
    }
    if let Some(note) = &d.default_note {
        let _ = crate::say!(std::io::stderr(), "no default marked: {}", text::escape(note));
    }
    Ok(super::exit::OK)
}
