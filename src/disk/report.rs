//! The outputs of `disk`: a table for people, problem lines for cron, the
//! Nagios plugin line, JSON, and the Prometheus textfile. Each is a pure
//! function from rows to text, so tests can read them without a terminal.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::threshold::{human, percent_text, State, Thresholds};
use super::usage::Usage;

/// One checked filesystem (or path that could not be checked).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The mount point as the system sees it, or the path given when it has no mount.
    pub mount: PathBuf,
    pub device: String,
    pub fstype: String,
    /// `None` when statvfs failed or did not answer.
    pub usage: Option<Usage>,
    pub state: State,
    /// Why the state is not OK.
    pub reason: Option<String>,
}

/// The state of a whole run: the worst row, UNKNOWN when nothing was checked.
pub fn overall(rows: &[Row]) -> State {
    if rows.is_empty() {
        return State::Unknown;
    }
    rows.iter().fold(State::Ok, |s, r| s.worst(r.state))
}

/// A mount point as one line of text (a newline in a mount point would
/// split a Nagios line): see [`crate::text::path`].
pub fn printable(p: &Path) -> String {
    crate::text::path(p)
}

/// Text for the Nagios status line: escaped as for a person, and with `|`,
/// which starts the perfdata, written `\174` as the other escapes are.
pub fn nagios_text(s: &str) -> String {
    crate::text::escape(s).replace('|', "\\174")
}

/// A perfdata label, quoted: as [`nagios_text`], with `=` (which ends a
/// label) written `\075` and `'` doubled, the plugin guidelines' escape.
fn nagios_label(s: &str) -> String {
    format!("'{}'", nagios_text(s).replace('=', "\\075").replace('\'', "''"))
}

// ---------------------------------------------------------------- table

/// ANSI colours of the states, for a terminal.
fn colour(state: State) -> &'static str {
    match state {
        State::Ok => "\x1b[32m",
        State::Warning => "\x1b[33m",
        State::Critical => "\x1b[1;31m",
        State::Unknown => "\x1b[35m",
    }
}

/// The table for people; `colour` only when stdout is a terminal and
/// `NO_COLOR` is unset (decided by the caller).
pub fn table(rows: &[Row], use_colour: bool) -> String {
    if rows.is_empty() {
        return "no filesystem to check\n".to_string();
    }
    let header = ["Mounted on", "Type", "Size", "Used", "Avail", "Use%", "IUse%", "State"];
    let mut cells: Vec<[String; 8]> = Vec::with_capacity(rows.len().saturating_add(1));
    cells.push(header.map(String::from));
    for r in rows {
        let (size, used, avail, pct, ipct) = match &r.usage {
            Some(u) => (
                human(u.size),
                human(u.used),
                human(u.avail),
                pct_text(u.use_percent()),
                pct_text(u.inodes.and_then(|i| i.use_percent())),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        // The type of a FUSE mount (`fuse.NAME`) is named by the program that mounted it.
        let fstype = crate::text::escape(&r.fstype).into_owned();
        cells.push([printable(&r.mount), fstype, size, used, avail, pct, ipct, r.state.name().into()]);
    }
    let mut width = [0usize; 8];
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (n, row) in cells.iter().enumerate() {
        let mut line = String::new();
        for (k, (cell, w)) in row.iter().zip(width.iter()).enumerate() {
            match k {
                0 | 1 => {
                    let _ = write!(line, "{cell:<w$}  ");
                }
                7 => {
                    let state = n.checked_sub(1).and_then(|i| rows.get(i));
                    match state {
                        Some(r) if use_colour => {
                            let _ = write!(line, "{}{cell}\x1b[0m", colour(r.state));
                        }
                        _ => line.push_str(cell),
                    }
                }
                _ => {
                    let _ = write!(line, "{cell:>w$}  ");
                }
            }
        }
        if let Some(reason) = n.checked_sub(1).and_then(|i| rows.get(i)).and_then(|r| r.reason.as_ref()) {
            let _ = write!(line, "  {}", crate::text::escape(reason));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn pct_text(p: Option<u8>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{p}%"))
}

// ---------------------------------------------------------------- cron

/// One line per filesystem that is not OK; nothing when all are.
pub fn cron(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows.iter().filter(|r| r.state != State::Ok) {
        let reason = r.reason.as_deref().unwrap_or("");
        let _ = writeln!(out, "{} {}: {}", r.state.name(), printable(&r.mount), crate::text::escape(reason));
    }
    if rows.is_empty() {
        out.push_str("UNKNOWN: no filesystem to check\n");
    }
    out
}

// ---------------------------------------------------------------- nagios

/// The monitoring-plugins line in check_disk 2.4's format:
/// `DISK OK - free space: / 543MiB (58.0% inode=98%);| '/'=412090368B;826277888;929562624;0;1032847360`
/// Perfdata is used bytes, with the warning and critical limits turned into
/// used-byte limits, min 0 and max the size; inodes likewise under `'/ (inodes)'`.
/// A mount point can forge neither: see [`nagios_text`] and [`nagios_label`].
pub fn nagios(rows: &[Row], t: &Thresholds) -> String {
    let state = overall(rows);
    if rows.is_empty() {
        return format!("DISK {} - no filesystem to check\n", state.name());
    }
    let mut text = String::new();
    let mut perf = String::new();
    for r in rows {
        let mount = r.mount.to_string_lossy();
        let name = nagios_text(&mount);
        match &r.usage {
            Some(u) => {
                let mib = u.avail.saturating_add(1 << 19) >> 20;
                let inode = match u.inodes.and_then(|i| i.use_percent()) {
                    Some(p) => format!("{}%", 100u8.saturating_sub(p)),
                    None => "-".to_string(),
                };
                let _ = write!(text, " {name} {mib}MiB ({} inode={inode});", percent_text(u.free_fraction()));
                let _ = write!(
                    perf,
                    " {}={}B;{};{};0;{}",
                    nagios_label(&mount),
                    u.used,
                    t.warn.used_limit(u.size),
                    t.crit.used_limit(u.size),
                    u.size
                );
                if let Some(i) = &u.inodes {
                    let _ = write!(
                        perf,
                        " {}={};{};{};0;{}",
                        nagios_label(&format!("{mount} (inodes)")),
                        i.used,
                        t.warn_inodes.used_limit(i.total),
                        t.crit_inodes.used_limit(i.total),
                        i.total
                    );
                }
            }
            None => {
                let reason = nagios_text(r.reason.as_deref().unwrap_or("no figures"));
                let _ = write!(text, " {name} {} ({reason});", r.state.name());
            }
        }
    }
    if perf.is_empty() {
        format!("DISK {} - free space:{text}\n", state.name())
    } else {
        format!("DISK {} - free space:{text}|{perf}\n", state.name())
    }
}

// ---------------------------------------------------------------- json

#[derive(Serialize)]
struct JsonRow<'a> {
    mount: String,
    device: &'a str,
    fstype: &'a str,
    size_bytes: Option<u64>,
    used_bytes: Option<u64>,
    avail_bytes: Option<u64>,
    use_percent: Option<u8>,
    inodes: Option<u64>,
    inodes_free: Option<u64>,
    state: State,
    reason: Option<&'a str>,
}

/// An array with one object per row, each on a line of its own.
pub fn json(rows: &[Row]) -> Result<String, serde_json::Error> {
    let list: Vec<JsonRow> = rows
        .iter()
        .map(|r| {
            let u = r.usage.as_ref();
            let i = u.and_then(|u| u.inodes.as_ref());
            JsonRow {
                mount: r.mount.to_string_lossy().into_owned(),
                device: &r.device,
                fstype: &r.fstype,
                size_bytes: u.map(|u| u.size),
                used_bytes: u.map(|u| u.used),
                avail_bytes: u.map(|u| u.avail),
                use_percent: u.and_then(Usage::use_percent),
                inodes: i.map(|i| i.total),
                inodes_free: i.map(|i| i.avail),
                state: r.state,
                reason: r.reason.as_deref(),
            }
        })
        .collect();
    // One object per line: readable, greppable, and a fraction of the size
    // (and time) of pretty-printing hundreds of mounts.
    let mut s = String::from("[");
    for (k, item) in list.iter().enumerate() {
        s.push_str(if k == 0 { "\n" } else { ",\n" });
        s.push_str(&serde_json::to_string(item)?);
    }
    s.push_str("\n]\n");
    Ok(s)
}

// ---------------------------------------------------------------- prometheus

/// The node_exporter textfile-collector format. `now` is the Unix time of the run.
pub fn prometheus(rows: &[Row], now: f64) -> String {
    type Get = fn(&Row) -> Option<u64>;
    let families: [(&str, &str, Get); 7] = [
        ("size_bytes", "Filesystem size in bytes (f_blocks * f_frsize).", |r| r.usage.map(|u| u.size)),
        ("used_bytes", "Used bytes ((f_blocks - f_bfree) * f_frsize).", |r| r.usage.map(|u| u.used)),
        ("avail_bytes", "Bytes available to unprivileged users (f_bavail * f_frsize).", |r| r.usage.map(|u| u.avail)),
        ("inodes", "Inodes in all (f_files).", |r| r.usage.and_then(|u| u.inodes).map(|i| i.total)),
        ("inodes_free", "Inodes available to unprivileged users (f_favail).", |r| {
            r.usage.and_then(|u| u.inodes).map(|i| i.avail)
        }),
        ("state", "Check state: 0 ok, 1 warning, 2 critical, 3 unknown.", |r| Some(u64::from(r.state.code()))),
        ("device_error", "1 when the filesystem could not be checked (statvfs failed or hung).", |r| {
            Some(u64::from(r.usage.is_none()))
        }),
    ];
    let mut out = String::new();
    for (name, help, get) in families {
        let _ = writeln!(out, "# HELP kexec_chooser_disk_{name} {help}");
        let _ = writeln!(out, "# TYPE kexec_chooser_disk_{name} gauge");
        for r in rows {
            if let Some(v) = get(r) {
                let _ = writeln!(
                    out,
                    "kexec_chooser_disk_{name}{{mountpoint=\"{}\",device=\"{}\",fstype=\"{}\"}} {v}",
                    label(&r.mount.to_string_lossy()),
                    label(&r.device),
                    label(&r.fstype)
                );
            }
        }
    }
    let _ = writeln!(out, "# HELP kexec_chooser_disk_last_run_timestamp_seconds When the check last ran (Unix time).");
    let _ = writeln!(out, "# TYPE kexec_chooser_disk_last_run_timestamp_seconds gauge");
    let _ = writeln!(out, "kexec_chooser_disk_last_run_timestamp_seconds {now:.3}");
    out
}

/// A label value in the text exposition format: `\`, `"` and newline escaped.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::threshold::Limit;
    use crate::disk::usage::Inodes;

    fn defaults() -> Thresholds {
        Thresholds {
            warn: Limit::parse_space("20%").unwrap(),
            crit: Limit::parse_space("10%").unwrap(),
            warn_inodes: Limit::parse_inodes("10%").unwrap(),
            crit_inodes: Limit::parse_inodes("5%").unwrap(),
        }
    }

    /// The filesystem of check_disk's example line in docs/disk.md.
    fn example() -> Row {
        let size = 1_032_847_360;
        let used = 412_090_368;
        Row {
            mount: PathBuf::from("/"),
            device: "/dev/sda1".into(),
            fstype: "ext4".into(),
            usage: Some(Usage {
                size,
                used,
                avail: 543 << 20,
                inodes: Some(Inodes { total: 65536, used: 1100, avail: 64436 }),
            }),
            state: State::Ok,
            reason: None,
        }
    }

    fn hung() -> Row {
        Row {
            mount: PathBuf::from("/mnt/nfs"),
            device: "srv:/x".into(),
            fstype: "nfs4".into(),
            usage: None,
            state: State::Unknown,
            reason: Some("statvfs did not answer within 2s".into()),
        }
    }

    #[test]
    fn nagios_line_is_check_disks_example() {
        let line = nagios(&[example()], &defaults());
        assert_eq!(
            line,
            "DISK OK - free space: / 543MiB (58.0% inode=98%);| '/'=412090368B;826277888;929562624;0;1032847360 \
             '/ (inodes)'=1100;58982;62259;0;65536\n"
        );
    }

    #[test]
    fn nagios_names_an_unanswered_mount_and_the_worst_state_wins() {
        let line = nagios(&[example(), hung()], &defaults());
        assert!(line.starts_with("DISK UNKNOWN - free space: / 543MiB"), "{line}");
        assert!(line.contains(" /mnt/nfs UNKNOWN (statvfs did not answer within 2s);|"), "{line}");
    }

    #[test]
    fn nagios_quotes_labels_and_keeps_one_line() {
        let mut r = example();
        r.mount = PathBuf::from("/mnt/it's\nhere");
        let line = nagios(&[r], &defaults());
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.contains("'/mnt/it''s\\012here'="), "{line}");
    }

    #[test]
    fn a_mount_point_cannot_forge_the_status_line_or_the_perfdata() {
        let mut r = example();
        r.mount = PathBuf::from("/mnt/x|DISK OK - y;| 'z'=1B;2;3;0;4 a=b\x1b[2J");
        let mut hung = hung();
        hung.mount = PathBuf::from("/mnt/p|q");
        hung.reason = Some("odd | reason".into());
        let line = nagios(&[r, hung], &defaults());
        assert_eq!(line.matches('|').count(), 1, "only the perfdata separator: {line}");
        assert!(!line.contains('\x1b'), "{line:?}");
        let (text, perf) = line.trim_end().split_once('|').unwrap();
        assert!(text.contains(" /mnt/x\\174DISK OK - y;\\174 'z'=1B;2;3;0;4 a=b\\033[2J 543MiB"), "{text}");
        assert!(text.contains(" /mnt/p\\174q UNKNOWN (odd \\174 reason);"), "{text}");
        // One quoted label per item: '' is a quote, and no = or | inside.
        let label = "'/mnt/x\\174DISK OK - y;\\174 ''z''\\0751B;2;3;0;4 a\\075b\\033[2J'";
        assert_eq!(
            perf,
            format!(
                " {label}=412090368B;826277888;929562624;0;1032847360 {}=1100;58982;62259;0;65536",
                label.replace("J'", "J (inodes)'")
            )
        );
    }

    #[test]
    fn the_table_escapes_what_the_mounting_program_named() {
        let mut r = example();
        r.fstype = "fuse.\x1b]0;owned\x07x".into();
        r.reason = Some("a\nb".into());
        let t = table(&[r], false);
        assert!(!t.contains('\x1b') && !t.contains('\x07'), "{t:?}");
        assert!(t.contains("fuse.\\033]0;owned\\007x"), "{t}");
        assert!(t.contains("a\\012b"), "the reason stays on its row: {t}");
        assert_eq!(t.lines().count(), 2);
    }

    #[test]
    fn cron_is_silent_when_all_is_well() {
        assert_eq!(cron(&[example()]), "");
        let out = cron(&[example(), hung()]);
        assert_eq!(out, "UNKNOWN /mnt/nfs: statvfs did not answer within 2s\n");
    }

    #[test]
    fn json_has_the_contract_fields_and_nulls_for_unknown() {
        let v: serde_json::Value = serde_json::from_str(&json(&[example(), hung()]).unwrap()).unwrap();
        let a = v.as_array().unwrap();
        let keys: Vec<&str> = a[0].as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "mount",
            "device",
            "fstype",
            "size_bytes",
            "used_bytes",
            "avail_bytes",
            "use_percent",
            "inodes",
            "inodes_free",
            "state",
            "reason",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert_eq!(a[0]["use_percent"], 42);
        assert_eq!(a[0]["state"], "ok");
        assert!(a[0]["reason"].is_null());
        assert_eq!(a[1]["state"], "unknown");
        assert!(a[1]["size_bytes"].is_null());
    }

    #[test]
    fn prometheus_escapes_labels_and_has_the_timestamp() {
        let mut r = example();
        r.mount = PathBuf::from("/a\"b\\c");
        let text = prometheus(&[r, hung()], 1700000000.5);
        assert!(text.contains("kexec_chooser_disk_size_bytes{mountpoint=\"/a\\\"b\\\\c\",device=\"/dev/sda1\",fstype=\"ext4\"} 1032847360"));
        assert!(text
            .contains("kexec_chooser_disk_device_error{mountpoint=\"/mnt/nfs\",device=\"srv:/x\",fstype=\"nfs4\"} 1"));
        assert!(!text.contains("kexec_chooser_disk_size_bytes{mountpoint=\"/mnt/nfs\""));
        assert!(text.ends_with("kexec_chooser_disk_last_run_timestamp_seconds 1700000000.500\n"));
    }

    #[test]
    fn table_has_no_escape_codes_without_colour() {
        let t = table(&[example(), hung()], false);
        assert!(!t.contains('\x1b'));
        assert!(t.lines().next().unwrap().starts_with("Mounted on"));
        assert!(t.contains("statvfs did not answer"));
        assert!(table(&[hung()], true).contains("\x1b[35mUNKNOWN"));
    }
}
