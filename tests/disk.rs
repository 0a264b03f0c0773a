//! Integration tests of `disk`: the binary against df, against tmpfs mounts
//! filled to known levels, against a FUSE mount that never answers, and its
//! Nagios and Prometheus outputs against their real grammars and parsers.
//!
//! Everything that mounts runs in `unshare -m --propagation private`, so no
//! mount reaches the host; the namespace ends with its last process, and with
//! it every mount made in it (the hung FUSE one included).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, bin, stderr, stdout};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn json(o: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&stdout(o))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr: {}", stdout(o), stderr(o)));
    v.as_array().expect("a JSON array").clone()
}

fn row<'a>(rows: &'a [serde_json::Value], mount: &str) -> &'a serde_json::Value {
    rows.iter().find(|r| r["mount"] == mount).unwrap_or_else(|| panic!("no row for {mount} in {rows:#?}"))
}

fn require_root() {
    assert!(common::is_root(), "this test mounts filesystems: run it as root (CI does)");
}

/// Run `script` with bash inside a private mount namespace; `$1` is the
/// binary, `$2..` are `args`. Arguments are passed, never pasted into the script.
fn in_namespace(script: &str, args: &[&str]) -> Output {
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-euc", script, "bash"])
        .arg(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run unshare (util-linux)")
}

// ------------------------------------------------------------ arguments and exit codes

#[test]
fn a_bad_limit_is_unknown() {
    let o = common::run(&["disk", "--warn", "lots"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("lots"), "the error names the value: {}", stderr(&o));
}

#[test]
fn a_warning_below_the_critical_limit_is_refused_as_unknown() {
    let o = common::run(&["disk", "--warn", "5%", "--crit", "10%", "/"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("--warn 5% is below --crit 10%"), "{}", stderr(&o));
}

/// `disk` first on the line and after a global option (`--root / disk`)
/// must help and refuse alike, with disk's own usage exit code 3.
#[test]
fn disk_helps_and_refuses_alike_with_or_without_a_global_option_before_it() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["--bogus"],
        &["--warn", "lots"],
        &["--json", "--cron"],
        &["--timeout"],
        &["--root"],
        &["--version"],
    ] {
        let first = common::run(&[&["disk"][..], args].concat());
        let full = common::run(&[&["--root", "/", "disk"][..], args].concat());
        assert_eq!(code(&first), code(&full), "disk {args:?}: {}", stderr(&first));
        assert_eq!(stdout(&first), stdout(&full), "disk {args:?}");
        assert_eq!(stderr(&first), stderr(&full), "disk {args:?}");
    }
    let help = stdout(&common::run(&["disk", "--help"]));
    assert!(help.starts_with("Check free disk space (statvfs) for people, cron and monitoring\n"), "{help}");
    assert!(help.contains("Usage: kexec-chooser disk [OPTIONS] [PATH]..."), "{help}");
    assert!(help.contains("--root <DIR>"), "{help}");
}

#[test]
fn two_output_formats_at_once_are_unknown() {
    let o = common::run(&["disk", "--json", "--nagios"]);
    assert_eq!(code(&o), 3);
}

#[test]
fn a_missing_path_is_critical_and_named() {
    let o = common::run(&["disk", "--nagios", "/nonexistent/kexec-chooser-disk"]);
    assert_eq!(code(&o), 2, "{}", stdout(&o));
    let line = stdout(&o);
    assert!(line.starts_with("DISK CRITICAL - "), "{line}");
    assert!(line.contains("/nonexistent/kexec-chooser-disk CRITICAL (No such file or directory)"), "{line}");
}

#[test]
fn cron_is_silent_when_all_is_ok_and_speaks_when_not() {
    let quiet = ["--warn", "0%", "--crit", "0%", "--warn-inodes", "0%", "--crit-inodes", "0%"];
    let o = common::run(&[&["disk", "--cron"][..], &quiet[..], &["/"]].concat());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing to say when all is OK");

    // A root filesystem in use is never 100% free: a 100% warning limit fires.
    let o = common::run(&["disk", "--cron", "--warn", "100%", "--crit", "0%", "/"]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("WARNING /: "), "{out}");
}

#[test]
fn critical_wins_over_warning_in_the_exit_code() {
    let o = common::run(&["disk", "--json", "--warn", "100%", "--crit", "100%", "/"]);
    assert_eq!(code(&o), 2);
    assert_eq!(json(&o)[0]["state"], "critical");
}

// ------------------------------------------------------------ figures

/// `df -B1 --output=target,size,used,avail`, keyed by mount point.
fn df() -> HashMap<String, [u64; 3]> {
    let o = Command::new("df")
        .args(["-B1", "--output=target,size,used,avail"])
        .env("LC_ALL", "C")
        .output()
        .expect("run df");
    // df exits 1 when some mount cannot be read but still prints the others.
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut out = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let n = f.len();
        let nums: Vec<u64> = f[n - 3..].iter().filter_map(|x| x.parse().ok()).collect();
        if let [size, used, avail] = nums[..] {
            out.insert(f[..n - 3].join(" "), [size, used, avail]);
        }
    }
    out
}

#[test]
fn sizes_match_df_to_the_byte() {
    // Other programs write while we look. A mount counts as matching when df
    // saw the same figures just before and just after and disk saw exactly
    // those, or, when it changed in between, disk's figures lie between df's.
    // Any formula off by reserved blocks or a block size misses both.
    let mut unverified: Option<Vec<String>> = None;
    for _ in 0..20 {
        let before = df();
        let o = common::run(&["disk", "--all", "--json"]);
        let after = df();
        assert!(code(&o) != 3, "no mount should be unknown here: {}", stdout(&o));
        let rows = json(&o);
        let mut left = Vec::new();
        for r in &rows {
            let mount = r["mount"].as_str().unwrap().to_string();
            let (Some(b), Some(a)) = (before.get(&mount), after.get(&mount)) else {
                continue;
            };
            if unverified.as_ref().is_some_and(|u| !u.contains(&mount)) {
                continue;
            }
            let ours = [&r["size_bytes"], &r["used_bytes"], &r["avail_bytes"]].map(|v| v.as_u64().unwrap());
            assert_eq!(ours[0], b[0], "size of {mount}: disk vs df -B1");
            let matches = if a == b {
                ours == *b
            } else {
                (1..3).all(|k| ours[k] >= b[k].min(a[k]) && ours[k] <= b[k].max(a[k]))
            };
            if !matches {
                left.push(mount);
            }
        }
        if unverified.is_none() {
            assert!(
                rows.iter().any(|r| before.contains_key(r["mount"].as_str().unwrap())),
                "nothing in common with df"
            );
        }
        if left.is_empty() {
            return;
        }
        unverified = Some(left);
    }
    panic!("disk's figures never matched df's for {unverified:?}");
}

#[test]
fn the_root_filesystem_has_the_contract_fields_and_the_listing_no_pseudo_ones() {
    // By path: a container's root may be an overlay, which the listing hides.
    let rows = json(&common::run(&["disk", "--json", "/"]));
    let root = row(&rows, "/");
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
        assert!(root.get(k).is_some(), "field {k} missing: {root}");
    }
    let rows = json(&common::run(&["disk", "--json"]));
    assert!(rows
        .iter()
        .all(|r| !["proc", "sysfs", "cgroup2", "devpts", "tmpfs"].contains(&r["fstype"].as_str().unwrap())));
}

// ------------------------------------------------------------ nagios

/// Check one perfdata item against the monitoring-plugins grammar
/// (`'label'=value[UOM];[warn];[crit];[min];[max]`, guidelines section 2.6).
fn perfdata_item(item: &str) -> Result<(String, f64, String), String> {
    let (label, rest) = if let Some(q) = item.strip_prefix('\'') {
        // A quoted label: '' stands for one quote.
        let mut label = String::new();
        let mut chars = q.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|&(_, c)| c) == Some('\'') {
                    chars.next();
                    label.push('\'');
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                label.push(c);
            }
        }
        let end = end.ok_or("unterminated label")?;
        (label, &q[end..])
    } else {
        let eq = item.find('=').ok_or("no =")?;
        let label = &item[..eq];
        if label.contains([' ', '\'']) {
            return Err(format!("unquoted label {label:?} with a space or quote"));
        }
        (label.to_string(), &item[eq..])
    };
    let rest = rest.strip_prefix('=').ok_or("no = after the label")?;
    let fields: Vec<&str> = rest.split(';').collect();
    if fields.len() > 5 {
        return Err("more than five fields".into());
    }
    let num = |s: &str| -> Result<f64, String> { s.parse::<f64>().map_err(|_| format!("{s:?} is not a number")) };
    let value_end = fields[0].find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(fields[0].len());
    let (value, uom) = fields[0].split_at(value_end);
    let value = num(value)?;
    if !["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"].contains(&uom) {
        return Err(format!("unit {uom:?} is not one of the grammar's"));
    }
    for range in fields.iter().skip(1).take(2) {
        // warn/crit are ranges: [@][start:][end], start may be ~.
        let r = range.strip_prefix('@').unwrap_or(range);
        let (start, end) = r.split_once(':').unwrap_or(("", r));
        if !start.is_empty() && start != "~" {
            num(start)?;
        }
        if !end.is_empty() {
            num(end)?;
        }
    }
    for m in fields.iter().skip(3) {
        if !m.is_empty() {
            num(m)?;
        }
    }
    Ok((label, value, uom.to_string()))
}

fn split_perfdata(perf: &str) -> Vec<String> {
    // Items are separated by spaces; spaces inside quoted labels do not count.
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in perf.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            ' ' if !quoted => {
                if !cur.is_empty() {
                    items.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    items
}

#[test]
fn the_nagios_line_parses_with_the_perfdata_grammar() {
    let o = common::run(&["disk", "--nagios", "--all"]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "one line: {out}");
    let (text, perf) = out.trim_end().split_once('|').expect("a | before the perfdata");
    let state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][usize::try_from(code(&o)).unwrap()];
    assert!(text.starts_with(&format!("DISK {state} - free space: ")), "{text}");
    let items = split_perfdata(perf);
    assert!(!items.is_empty());
    for item in &items {
        let (label, _, uom) = perfdata_item(item).unwrap_or_else(|e| panic!("{item:?}: {e}"));
        if label.ends_with(" (inodes)") {
            assert_eq!(uom, "", "inode counts have no unit");
        } else {
            assert_eq!(uom, "B", "space is in bytes: {item}");
        }
    }

    // The root filesystem by path: its labels, and figures that agree with its JSON.
    let out = stdout(&common::run(&["disk", "--nagios", "/"]));
    let items = split_perfdata(out.trim_end().split_once('|').expect("perfdata").1);
    let labels: Vec<String> = items.iter().map(|i| perfdata_item(i).unwrap().0).collect();
    assert_eq!(labels, ["/", "/ (inodes)"], "{out}");
    let rows = json(&common::run(&["disk", "--json", "/"]));
    let root = &items.iter().find(|i| i.starts_with("'/'=")).unwrap();
    let fields: Vec<&str> = root.trim_start_matches("'/'=").split(';').collect();
    assert_eq!(fields[4], rows[0]["size_bytes"].as_u64().unwrap().to_string());
    assert_eq!(fields[3], "0");
}

#[test]
fn an_error_in_nagios_mode_cannot_forge_perfdata() {
    let o = common::run(&["--root", "/nonexistent/kc|'x'=1B;2;3;0;4\r", "disk", "--nagios"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let line = stdout(&o);
    assert!(line.starts_with("DISK UNKNOWN - "), "{line}");
    assert!(!line.contains('|') && !line.contains('\r'), "no perfdata, no raw control character: {line:?}");
    assert!(line.contains("/nonexistent/kc\\174'x'=1B;2;3;0;4\\015"), "{line}");
}

/// Mounts a tmpfs at a directory named to forge a Nagios line, and a FUSE
/// filesystem (whose daemon never answers) of a type named with a terminal
/// sequence, then runs `disk "$@"` on both.
const HOSTILE: &str = r#"
bin=$1; dir=$2; shift 2
forged="$dir/x|DISK OK - y;| 'z'=1B;2;3;0;4 a=b"
mkdir -p "$forged" "$dir/fuse"
mount -t tmpfs -o size=1m kc-forged "$forged"
exec {fd}<>/dev/fuse
mount -i -t "fuse.$(printf '\033')]0;owned$(printf '\007')" -o "fd=$fd,rootmode=40000,user_id=0,group_id=0" kc-fuse "$dir/fuse"
exec "$bin" disk --timeout 0.3 "$@" "$forged" "$dir/fuse"
"#;

/// [`HOSTILE`] in a fresh directory: that directory and what `disk ARGS` printed.
fn among_hostile_names(args: &[&str]) -> (String, String) {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let o = in_namespace(HOSTILE, &[&[d.as_str()][..], args].concat());
    (d, stdout(&o))
}

#[test]
#[ignore = "needs root"]
fn a_mount_point_cannot_forge_the_nagios_line_and_its_perfdata_parses() {
    let (d, line) = among_hostile_names(&["--nagios"]);
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert_eq!(line.matches('|').count(), 1, "only the perfdata separator: {line}");
    let (text, perf) = line.trim_end().split_once('|').unwrap();
    assert!(text.contains(&format!("{d}/x\\174DISK OK - y;\\174 'z'=1B;2;3;0;4 a=b 1MiB")), "{text}");
    let labels: Vec<String> = split_perfdata(perf)
        .iter()
        .map(|item| perfdata_item(item).unwrap_or_else(|e| panic!("{item:?}: {e}")).0)
        .collect();
    let forged = format!("{d}/x\\174DISK OK - y;\\174 'z'\\0751B;2;3;0;4 a\\075b");
    assert_eq!(labels, [forged.clone(), format!("{forged} (inodes)")]);
}

#[test]
#[ignore = "needs root"]
fn the_table_escapes_a_fuse_type_named_by_its_daemon() {
    let (_, table) = among_hostile_names(&[]);
    assert!(!table.contains('\x1b') && !table.contains('\x07'), "{table:?}");
    let fuse = table.lines().find(|l| l.contains("/fuse ")).unwrap_or_else(|| panic!("no FUSE row: {table}"));
    assert!(fuse.contains(" fuse.\\033]0;owned\\007 "), "{fuse}");
    assert!(fuse.contains("UNKNOWN"), "{fuse}");
}

#[test]
fn the_perfdata_checker_rejects_what_the_grammar_does() {
    // The checker above must be able to fail, or the test proves nothing.
    for bad in ["'/'=12XB;1;2;0;3", "/ x=1B", "'/=1B", "'/'=abc", "'/'=1;2;3;4;5;6", "'/'=1B;x;;0;1"] {
        assert!(perfdata_item(bad).is_err(), "{bad:?} was accepted");
    }
    assert!(perfdata_item("'a b'=1B;~:2;@1:3;0;4").is_ok());
}

// ------------------------------------------------------------ prometheus

const PROM_PARSER: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
seen = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        seen.setdefault(s.name, []).append((s.labels, s.value))
for name in sorted(seen):
    for labels, value in seen[name]:
        print(name, labels.get("mountpoint", ""), labels.get("fstype", ""), repr(value))
"#;

#[test]
fn the_prometheus_file_parses_with_prometheus_client() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("disk.prom");
    let o = common::run(&["disk", "--prometheus", file.to_str().unwrap(), "/"]);
    assert!(code(&o) != 3, "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "with --prometheus alone nothing goes to stdout");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["disk.prom"], "no temporary file is left");

    let p = Command::new("python3").args(["-c", PROM_PARSER]).arg(&file).output().expect("run python3");
    assert!(
        p.status.success(),
        "prometheus_client could not parse the file (setup: scripts/setup.d/50-disk.sh): {}",
        stderr(&p)
    );
    let parsed = stdout(&p);
    let json_rows = json(&common::run(&["disk", "--all", "--json", "/"]));
    let size = json_rows[0]["size_bytes"].as_u64().unwrap();
    assert!(
        parsed.contains(&format!(
            "kexec_chooser_disk_size_bytes / {} {}.0",
            json_rows[0]["fstype"].as_str().unwrap(),
            size
        )),
        "{parsed}"
    );
    assert!(parsed.lines().any(|l| l.starts_with("kexec_chooser_disk_last_run_timestamp_seconds ")), "{parsed}");
    for metric in ["used_bytes", "avail_bytes", "inodes", "inodes_free", "state", "device_error"] {
        assert!(parsed.contains(&format!("kexec_chooser_disk_{metric} / ")), "no {metric}: {parsed}");
    }
}

/// A file others may plant links next to, as in a textfile collector's
/// directory: the victim, readable by its owner only, and the target name.
fn victim_and_target() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let target = dir.path().join("disk.prom");
    (dir, victim, target)
}

fn assert_untouched(victim: &Path) {
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "precious\n", "the victim was overwritten");
    let mode = std::fs::metadata(victim).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "the victim's mode was changed");
}

fn assert_written_in_place(target: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(target).unwrap();
    assert!(meta.file_type().is_file(), "{} is not a regular file", target.display());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o644);
    let text = std::fs::read_to_string(target).unwrap();
    assert!(text.contains("kexec_chooser_disk_size_bytes{"), "{text}");
    let names: Vec<String> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .filter(|n| !std::fs::symlink_metadata(target.with_file_name(n)).unwrap().file_type().is_symlink())
        .collect();
    assert!(names.is_empty(), "temporary files left: {names:?}");
}

#[test]
fn the_prometheus_file_replaces_a_symlink_at_its_name_instead_of_following_it() {
    let (_dir, victim, target) = victim_and_target();
    std::os::unix::fs::symlink(&victim, &target).unwrap();
    let o = common::run(&["disk", "--prometheus", target.to_str().unwrap(), "/"]);
    assert!(code(&o) != 3, "{}", stderr(&o));
    assert_untouched(&victim);
    assert_written_in_place(&target);
}

#[test]
fn a_symlink_planted_at_a_pid_named_temporary_is_not_written_through() {
    // `exec` keeps the shell's pid, so `$$` is the pid disk runs with: the
    // link sits exactly where a `.FILE.PID.tmp` temporary would be opened.
    let (dir, victim, target) = victim_and_target();
    let o = Command::new("bash")
        .args(["-c", r#"ln -s "$2" "$1/.disk.prom.$$.tmp" && exec "$3" disk --prometheus "$1/disk.prom" /"#, "bash"])
        .arg(dir.path())
        .arg(&victim)
        .arg(bin())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(code(&o) != 3, "{}", stderr(&o));
    assert_untouched(&victim);
    assert_written_in_place(&target);
}

#[test]
fn a_prometheus_file_that_cannot_be_written_is_unknown_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/disk.prom");
    let o = common::run(&["disk", "--nagios", "--prometheus", target.to_str().unwrap(), "/"]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    let line = stdout(&o);
    assert!(line.starts_with("DISK UNKNOWN - "), "{line}");
    assert!(line.contains(target.to_str().unwrap()), "the error names the file: {line}");
}

// ------------------------------------------------------------ colour

#[test]
fn no_colour_in_a_pipe_even_without_no_color() {
    let o = Command::new(bin()).args(["disk", "--all"]).env_remove("NO_COLOR").output().unwrap();
    assert!(!stdout(&o).contains('\x1b'), "{}", stdout(&o));
}

/// Run the binary on a pseudo-terminal (Python's pty module) and return what it printed.
fn on_a_terminal(no_color: Option<&str>) -> String {
    let mut c = Command::new("python3");
    c.args(["-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)"])
        .arg(bin())
        .args(["disk", "--warn", "100%", "--crit", "0%", "/"])
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let o = c.output().expect("run python3 pty");
    stdout(&o)
}

#[test]
fn colour_on_a_terminal_and_none_with_no_color() {
    assert!(on_a_terminal(None).contains("\x1b[33mWARNING"), "{:?}", on_a_terminal(None));
    assert!(!on_a_terminal(Some("1")).contains('\x1b'));
}

// ------------------------------------------------------------ tmpfs filled to known levels

const FILL: &str = r#"
bin=$1; dir=$2; opts=$3; bytes=$4; files=$5; shift 5
mkdir -p "$dir/t"
mount -t tmpfs -o "$opts" kc-test "$dir/t"
if [ "$bytes" -gt 0 ]; then head -c "$bytes" /dev/zero > "$dir/t/fill"; fi
i=0; while [ "$i" -lt "$files" ]; do : > "$dir/t/f$i"; i=$((i + 1)); done
exec "$bin" disk --json "$@" "$dir/t"
"#;

/// Mount a 10 MiB tmpfs with `opts`, write `bytes` into it and create `files`
/// empty files, then run `disk --json EXTRA... <mount>`.
fn filled(opts: &str, bytes: u64, files: u32, extra: &[&str]) -> (i32, serde_json::Value) {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let (bytes, files) = (bytes.to_string(), files.to_string());
    let args = [&[dir.path().to_str().unwrap(), opts, &bytes, &files][..], extra].concat();
    let o = in_namespace(FILL, &args);
    let rows = json(&o);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    (code(&o), rows[0].clone())
}

const MIB: u64 = 1 << 20;

#[test]
#[ignore = "needs root"]
fn a_tmpfs_filled_to_known_levels_crosses_each_threshold() {
    // size=10m: 20% is 2 MiB, 10% is 1 MiB free; tmpfs reserves nothing.
    for (used, state, exit) in [
        (7 * MIB, "ok", 0),
        (8 * MIB, "ok", 0), // exactly 20% free is not below 20%
        (8 * MIB + MIB / 2, "warning", 1),
        (9 * MIB, "warning", 1), // exactly 10% free is not below 10%
        (9 * MIB + MIB / 2, "critical", 2),
    ] {
        let (code, r) = filled("size=10m", used, 0, &[]);
        assert_eq!(r["size_bytes"], 10 * MIB, "{r}");
        assert_eq!(r["used_bytes"], used, "{r}");
        assert_eq!(r["avail_bytes"], 10 * MIB - used, "{r}");
        assert_eq!((r["state"].as_str().unwrap(), code), (state, exit), "{used} bytes used: {r}");
    }
}

#[test]
#[ignore = "needs root"]
fn a_percent_limit_keeps_every_decimal_given() {
    // 5 MiB used of 10 MiB: exactly 50% free, not below 50% but below 50.0001%.
    let quiet = ["--crit", "0%", "--warn-inodes", "0%", "--crit-inodes", "0%"];
    let (code, r) = filled("size=10m", 5 * MIB, 0, &[&["--warn", "50%"][..], &quiet].concat());
    assert_eq!((r["state"].as_str().unwrap(), code), ("ok", 0), "{r}");
    let (code, r) = filled("size=10m", 5 * MIB, 0, &[&["--warn", "50.0001%"][..], &quiet].concat());
    assert_eq!((r["state"].as_str().unwrap(), code), ("warning", 1), "{r}");
    assert!(r["reason"].as_str().unwrap().contains("below the warning limit 50.0001%"), "{r}");
}

#[test]
#[ignore = "needs root"]
fn size_limits_cross_like_percentages() {
    let (code, r) = filled("size=10m", 7 * MIB, 0, &["--warn", "4M", "--crit", "2M"]);
    assert_eq!((r["state"].as_str().unwrap(), code), ("warning", 1), "{r}");
    let (code, r) = filled("size=10m", 9 * MIB, 0, &["--warn", "4M", "--crit", "2M"]);
    assert_eq!((r["state"].as_str().unwrap(), code), ("critical", 2), "{r}");
    assert!(r["reason"].as_str().unwrap().contains("below the critical limit 2.0M"), "{r}");
}

#[test]
#[ignore = "needs root"]
fn inode_thresholds_cross_on_a_tmpfs_with_few_inodes() {
    // nr_inodes=100; the root directory takes one (no fill file: 0 bytes).
    let limits = ["--warn-inodes", "20%", "--crit-inodes", "10%"];
    for (files, state, exit) in [(70, "ok", 0), (85, "warning", 1), (95, "critical", 2)] {
        let (code, r) = filled("size=10m,nr_inodes=100", 0, files, &limits);
        assert_eq!(r["inodes"], 100, "{r}");
        assert_eq!(r["inodes_free"], 100 - 1 - u64::from(files), "{r}");
        assert_eq!((r["state"].as_str().unwrap(), code), (state, exit), "{files} files: {r}");
    }
    let (code, r) = filled("size=10m,nr_inodes=100", 0, 85, &["--warn-inodes", "20", "--crit-inodes", "5"]);
    assert_eq!((r["state"].as_str().unwrap(), code), ("warning", 1), "counts work too: {r}");
}

#[test]
#[ignore = "needs root"]
fn the_nagios_line_of_a_known_tmpfs_is_exact() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let script = FILL.replace("--json", "--nagios");
    let o = in_namespace(&script, &[d, "size=10m,nr_inodes=1000", &(6 * MIB).to_string(), "9"]);
    assert_eq!(
        stdout(&o),
        format!(
            "DISK OK - free space: {d}/t 4MiB (40.0% inode=98%);| '{d}/t'=6291456B;8388608;9437184;0;10485760 \
             '{d}/t (inodes)'=11;900;950;0;1000\n"
        )
    );
}

// ------------------------------------------------------------ duplicates and hidden mounts

const BINDS: &str = r#"
bin=$1; dir=$2
mkdir -p "$dir/a" "$dir/b/deeper/still" "$dir/c"
mount -t tmpfs -o size=1m kc-a "$dir/a"
mount --bind "$dir/a" "$dir/b/deeper/still"
mount -t tmpfs -o size=2m kc-under "$dir/c"
mount -t tmpfs -o size=3m kc-over "$dir/c"
exec "$bin" disk --all --json
"#;

#[test]
#[ignore = "needs root"]
fn bind_mounts_show_once_and_covered_mounts_not_at_all() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = in_namespace(BINDS, &[d]);
    let rows = json(&o);
    let ours: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["mount"].as_str().unwrap().starts_with(d))
        .map(|r| (r["mount"].as_str().unwrap(), r["device"].as_str().unwrap()))
        .collect();
    let a = format!("{d}/a");
    let c = format!("{d}/c");
    assert_eq!(ours, [(a.as_str(), "kc-a"), (c.as_str(), "kc-over")]);
    assert_eq!(row(&rows, &c)["size_bytes"], 3 * MIB);
}

// ------------------------------------------------------------ a FUSE mount that never answers

/// Mounts healthy tmpfs filesystems around `$4` FUSE filesystems whose daemon
/// never reads /dev/fuse (so statfs waits for ever), then execs `disk` in
/// this same process: the test watches it by the pid it spawned.
const HUNG: &str = r#"
bin=$1; dir=$2; timeout=$3; hung=$4
for i in 1 2 3 4 5 6 7 8; do
    mkdir -p "$dir/ok$i"
    mount -t tmpfs -o size=1m "kc-ok$i" "$dir/ok$i"
done
for i in $(seq 1 "$hung"); do
    mkdir -p "$dir/hung$i"
    exec {fd}<>/dev/fuse
    mount -i -t fuse -o "fd=$fd,rootmode=40000,user_id=0,group_id=0" "kc-hung$i" "$dir/hung$i"
done
mkdir -p "$dir/ok9"
mount -t tmpfs -o size=1m kc-ok9 "$dir/ok9"
exec "$bin" disk --all --json --timeout "$timeout"
"#;

/// Kills the child if the test ends early; its death ends the namespace, the
/// FUSE connections (it holds the only /dev/fuse descriptors) and the mounts.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a run of `disk` among `hung` hung FUSE mounts did.
struct HungRun {
    dir: tempfile::TempDir,
    code: Option<i32>,
    /// From the moment kexec-chooser ran to its exit.
    took: Duration,
    most_threads: usize,
    rows: Vec<serde_json::Value>,
}

impl HungRun {
    fn mount(&self, name: &str) -> String {
        format!("{}/{name}", self.dir.path().display())
    }
}

fn run_among_hung_mounts(hung: usize, timeout: f64) -> HungRun {
    require_root();
    assert!(Path::new("/dev/fuse").exists(), "/dev/fuse is missing (modprobe fuse)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-euc", HUNG, "bash"])
        .arg(bin())
        .args([&d, &timeout.to_string(), &hung.to_string()])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run unshare");
    let pid = child.id();
    let mut child = KillOnDrop(child);
    let mut out = child.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });

    // unshare and bash exec in place, so `pid` becomes kexec-chooser itself.
    let proc_dir = format!("/proc/{pid}");
    let mut started: Option<Instant> = None;
    let mut most_threads = 0;
    let give_up = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < give_up, "disk did not return at all");
        let comm = std::fs::read_to_string(format!("{proc_dir}/comm")).unwrap_or_default();
        if comm.trim_end() == "kexec-chooser" {
            started.get_or_insert_with(Instant::now);
            if let Ok(tasks) = std::fs::read_dir(format!("{proc_dir}/task")) {
                most_threads = most_threads.max(tasks.count());
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let took = started.expect("never saw kexec-chooser run").elapsed();
    let stdout_text = reader.join().unwrap();
    let rows = serde_json::from_str(&stdout_text).unwrap_or_else(|e| panic!("no JSON on stdout ({e}): {stdout_text}"));
    drop(child);
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!host.contains("kc-hung"), "the hung mounts leaked onto the host");
    HungRun { dir, code: status.code(), took, most_threads, rows }
}

#[test]
#[ignore = "needs root"]
fn a_hung_fuse_mount_is_unknown_by_name_and_the_check_still_returns() {
    let timeout = 1.0;
    let run = run_among_hung_mounts(1, timeout);
    assert_eq!(run.code, Some(3), "a mount that did not answer is UNKNOWN: {:#?}", run.rows);
    assert!(
        run.took < Duration::from_secs_f64(timeout + 0.5),
        "took {:?} with --timeout {timeout}: should be within the timeout plus half a second",
        run.took
    );
    // main + the worker stuck in the hung statfs + its one replacement.
    assert!(run.most_threads <= 3, "{} threads at once: a thread per mount?", run.most_threads);
    let hung = row(&run.rows, &run.mount("hung1"));
    assert_eq!(hung["state"], "unknown", "{hung}");
    assert_eq!(hung["device"], "kc-hung1");
    assert!(hung["reason"].as_str().unwrap().contains("did not answer within 1s"), "{hung}");
    for i in 1..=9 {
        let ok = row(&run.rows, &run.mount(&format!("ok{i}")));
        assert_eq!(ok["state"], "ok", "{ok}");
        assert_eq!(ok["size_bytes"], MIB);
    }
}

#[test]
#[ignore = "needs root"]
fn two_hung_fuse_mounts_are_waited_for_side_by_side() {
    let timeout = 1.0;
    let run = run_among_hung_mounts(2, timeout);
    assert_eq!(run.code, Some(3));
    // One timeout and a fraction for the second worker to start, not two.
    assert!(run.took < Duration::from_secs_f64(timeout + 0.8), "took {:?} with --timeout {timeout}", run.took);
    for i in 1..=2 {
        let hung = row(&run.rows, &run.mount(&format!("hung{i}")));
        assert_eq!(hung["reason"], "statvfs did not answer within 1s", "{hung}");
    }
    let ok = row(&run.rows, &run.mount("ok9"));
    assert_eq!(ok["state"], "ok", "the mount behind both hung ones is checked: {ok}");
}

#[test]
#[ignore = "needs root"]
fn past_the_cap_of_hung_mounts_the_rest_is_not_checked_and_the_count_is_exact() {
    // Nine hung mounts, eight workers at most: the ninth and the healthy one
    // behind it are not checked, and the message counts the eight that hung.
    let timeout = 1.0;
    let run = run_among_hung_mounts(9, timeout);
    assert_eq!(run.code, Some(3));
    for i in 1..=8 {
        let hung = row(&run.rows, &run.mount(&format!("hung{i}")));
        assert_eq!(hung["reason"], "statvfs did not answer within 1s", "{hung}");
    }
    for name in ["hung9", "ok9"] {
        let r = row(&run.rows, &run.mount(name));
        assert_eq!(r["state"], "unknown", "{r}");
        assert_eq!(r["reason"], "not checked: 8 filesystems before it did not answer", "{r}");
    }
    for i in 1..=8 {
        assert_eq!(row(&run.rows, &run.mount(&format!("ok{i}")))["state"], "ok");
    }
    assert!(run.most_threads <= 9, "{} threads at once: main and one per hung mount at most", run.most_threads);
    assert!(run.took < Duration::from_secs_f64(timeout + 2.5), "took {:?}", run.took);
}

// ------------------------------------------------------------ --root

const ROOTED: &str = r#"
bin=$1; dir=$2
mkdir -p "$dir/sys/srv"
mount -t tmpfs -o size=1m kc-srv "$dir/sys/srv"
"$bin" --root "$dir/sys" disk --all --json
exec "$bin" --root "$dir/sys" disk --json /srv/missing /srv
"#;

#[test]
#[ignore = "needs root"]
fn with_root_only_mounts_under_it_are_listed_as_that_system_sees_them() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let o = in_namespace(ROOTED, &[dir.path().to_str().unwrap()]);
    let text = stdout(&o);
    let (listing, by_path) = text.split_once("]\n").expect("two JSON arrays");
    let listing: Vec<serde_json::Value> = serde_json::from_str(&format!("{listing}]")).unwrap();
    let mounts: Vec<&str> = listing.iter().map(|r| r["mount"].as_str().unwrap()).collect();
    assert_eq!(mounts, ["/srv"], "{text}");
    let by_path: Vec<serde_json::Value> = serde_json::from_str(by_path).unwrap();
    assert_eq!(by_path[0]["mount"], "/srv/missing");
    assert_eq!(by_path[0]["state"], "critical");
    assert_eq!(by_path[1]["mount"], "/srv");
    assert_eq!(by_path[1]["size_bytes"], MIB);
    assert_eq!(code(&o), 2);
}

#[test]
fn disk_usage_errors_are_unknown_even_after_root() {
    for args in [&["disk", "--warn", "bogus"][..], &["--root", "/", "disk", "--warn", "bogus"][..]] {
        let o = crate::common::run(args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", crate::common::stderr(&o));
    }
    assert_eq!(crate::common::run(&["--root", "/", "list", "--bogus"]).status.code(), Some(2));
}
