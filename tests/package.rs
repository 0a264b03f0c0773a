//! Checks of the packaging files that need neither root nor a built .deb: the
//! committed man page and completions are what the clap definitions generate
//! now, the units' and the cron file's command lines are accepted by the CLI
//! with the settings of /etc/default/kexec-chooser, and the changelog matches
//! the package version. scripts/check.d/10-deb.sh checks the .deb itself.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Parser;
use kexec_chooser::cli::Cli;

// The generator itself, so that the test renders exactly what
// `scripts/gen-assets` writes (its `main` is unused here).
#[path = "../examples/gen-assets.rs"]
#[allow(dead_code)]
mod gen_assets;

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = crate_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn committed_man_page_and_completions_are_not_stale() {
    let assets = gen_assets::render_all(&crate_root()).expect("render the assets");
    let mut stale = Vec::new();
    for asset in &assets {
        let committed = std::fs::read(crate_root().join(asset.path)).unwrap_or_default();
        if committed != asset.bytes {
            stale.push(asset.path);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: the CLI changed since they were made; \
         run scripts/gen-assets and commit the result"
    );
}

#[test]
fn generating_twice_gives_the_same_bytes() {
    let a = gen_assets::render_all(&crate_root()).expect("render");
    let b = gen_assets::render_all(&crate_root()).expect("render");
    assert_eq!(a.len(), 4);
    for (a, b) in a.iter().zip(&b) {
        assert!(a.bytes == b.bytes, "{} differs between two runs", a.path);
    }
}

/// The man page as generated (not as committed: the staleness test covers that).
fn man_page() -> String {
    let assets = gen_assets::render_all(&crate_root()).expect("render the assets");
    let page = assets.into_iter().find(|a| a.path == gen_assets::MAN_PAGE).expect("man page");
    String::from_utf8(page.bytes).expect("UTF-8 man page")
}

#[test]
fn man_page_has_a_section_for_every_subcommand_with_all_its_options() {
    let page = man_page();
    let cmd = kexec_chooser::cli::command();
    let mut subcommands = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommands += 1;
        let title = format!(".SS \"kexec-chooser {}\"", sub.get_name());
        let start = page.find(&title).unwrap_or_else(|| panic!("no section {title} in the man page"));
        let section = &page[start..];
        let end = section[1..].find("\n.S").map_or(section.len(), |e| e + 1);
        let section = &section[..end];
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                // roff writes a hyphen as \-.
                let long = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(section.contains(&long), "{title} lacks {long}");
            }
        }
    }
    assert!(subcommands >= 10, "only {subcommands} subcommands found");
}

#[test]
fn man_page_has_exit_status_files_and_the_examples_of_the_issue() {
    let page = man_page();
    let title = page.lines().find(|l| l.starts_with(".TH ")).unwrap_or_default();
    assert!(title.starts_with(".TH kexec-chooser 8 "), "not a section 8 page: {title}");
    assert_eq!(page.matches(".ds Aq").count(), 2, "roff's preamble (.ie/.el) once");
    for heading in [".SH NAME", ".SH SYNOPSIS", ".SH \"EXIT STATUS\"", ".SH FILES", ".SH EXAMPLES"] {
        assert!(page.contains(heading), "no {heading}");
    }
    for example in ["sudo kexec\\-chooser", "kexec\\-chooser list \\-\\-json", "kexec\\-chooser disk \\-\\-cron"] {
        assert!(page.contains(&format!("\\fB{example}\\fR")), "no example {example}");
    }
    assert!(page.contains("/etc/default/kexec\\-chooser"), "FILES lacks /etc/default/kexec-chooser");
}

#[test]
fn man_page_names_every_packaged_unit_and_the_cron_file() {
    let page = man_page();
    assert!(page.contains(".SH \"SYSTEMD UNITS AND CRON\""));
    let mut units = 0;
    for entry in std::fs::read_dir(crate_root().join("systemd")).expect("systemd/") {
        let name = entry.expect("entry").file_name().to_string_lossy().replace('-', "\\-");
        assert!(page.contains(&name), "the man page does not name {name}");
        units += 1;
    }
    assert_eq!(units, 5);
    assert!(page.contains("\\fB/etc/cron.d/kexec\\-chooser\\fR"));
}

#[test]
fn man_page_date_is_the_newest_changelog_entry_not_today() {
    let date = gen_assets::changelog_date(&read("debian/changelog")).expect("changelog date");
    let page = man_page();
    let title = page.lines().find(|l| l.starts_with(".TH ")).unwrap_or_default();
    assert!(title.contains(&format!(" {date} ")), "{title}");
}

#[test]
fn changelog_date_reads_the_trailer_line() {
    let entry = "pkg (1.0-1) unstable; urgency=medium\n\n  * x\n\n \
                 -- A B <a@b.example>  Tue, 03 Feb 2026 09:08:07 +0000\n";
    assert_eq!(gen_assets::changelog_date(entry).as_deref(), Some("2026-02-03"));
    assert_eq!(gen_assets::changelog_date("pkg (1.0-1) unstable\n"), None);
    let bad_month = entry.replace("Feb", "Fbr");
    assert_eq!(gen_assets::changelog_date(&bad_month), None);
}

#[test]
fn after_help_headings_become_sections_and_prose_stays_prose() {
    let text = "Exit status:\n  0    fine\n  Some prose line.\n\nLimits are on what is FREE:\n\
                a percentage\nor a size.\n\nExamples:\n  kexec-chooser disk --cron   silent\n  kexec-chooser disk /srv\n";
    let mut roff = clap_mangen::roff::Roff::new();
    gen_assets::after_help(&mut roff, text, gen_assets::Heading::Section);
    let out = roff.to_roff();
    assert!(out.contains(".SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\nfine\n"), "{out}");
    assert!(out.contains(".IP\nSome prose line.\n"), "{out}");
    // A heading ends in ':'; an unindented line that does not is prose.
    assert!(out.contains(".SH \"LIMITS ARE ON WHAT IS FREE\"\n.PP\na percentage or a size.\n"), "{out}");
    assert!(out.contains(".TP\n\\fBkexec\\-chooser disk \\-\\-cron\\fR\nsilent\n"), "{out}");
    assert!(out.contains(".TP\n\\fBkexec\\-chooser disk /srv\\fR\n"), "{out}");
}

#[test]
fn changelog_version_is_the_package_version() {
    let changelog = read("debian/changelog");
    let first = changelog.lines().next().unwrap_or_default();
    let version = first
        .strip_prefix("kexec-chooser (")
        .and_then(|r| r.split_once(')'))
        .map(|(v, _)| v)
        .unwrap_or_else(|| panic!("first changelog line: {first}"));
    let cargo = read("Cargo.toml");
    let revision = cargo
        .lines()
        .find_map(|l| l.strip_prefix("revision = \""))
        .and_then(|r| r.strip_suffix('"'))
        .expect("revision in [package.metadata.deb]");
    assert_eq!(version, format!("{}-{revision}", env!("CARGO_PKG_VERSION")));
}

/// The assignments of /etc/default/kexec-chooser. Each must mean the same to
/// systemd's EnvironmentFile= and to sh (the cron line sources it):
/// `NAME="value"` with nothing in the value that either would expand.
fn default_settings() -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in read("debian/kexec-chooser.default").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {line}"));
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "bad name in {line}");
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("value not in double quotes: {line}"));
        assert!(!value.contains(['"', '$', '`', '\\']), "value that sh would expand: {line}");
        vars.insert(name.to_owned(), value.to_owned());
    }
    vars
}

/// A unit's `Key=` values, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    read(&format!("systemd/{unit}"))
        .lines()
        .filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .map(str::to_owned)
        .collect()
}

/// The arguments systemd passes for an ExecStart= line with `env`: `$NAME`
/// alone is split at whitespace (empty gives no argument), `${NAME}` is
/// replaced inside its word, which stays one argument (systemd.service(5),
/// "Command lines"). Our units use no quotes.
fn expand_exec(line: &str, env: &HashMap<String, String>) -> Vec<String> {
    let mut args = Vec::new();
    for word in line.split_whitespace() {
        if let Some(name) = word.strip_prefix('$').filter(|n| !n.starts_with('{')) {
            let value = env.get(name).unwrap_or_else(|| panic!("${name} is not set"));
            args.extend(value.split_whitespace().map(str::to_owned));
            continue;
        }
        let mut word = word.to_owned();
        while let Some(start) = word.find("${") {
            let end = word[start..].find('}').map(|e| start + e).expect("closing brace");
            let name = &word[start + 2..end];
            let value = env.get(name).unwrap_or_else(|| panic!("${{{name}}} is not set"));
            word.replace_range(start..=end, value);
        }
        args.push(word);
    }
    args
}

/// The environment a unit's command sees: its Environment= defaults, then
/// /etc/default/kexec-chooser (EnvironmentFile=), as shipped.
fn unit_env(unit: &str) -> HashMap<String, String> {
    let mut env = HashMap::new();
    for line in unit_values(unit, "Environment") {
        for assignment in line.split_whitespace() {
            let (k, v) = assignment.split_once('=').expect("NAME=value");
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    assert_eq!(
        unit_values(unit, "EnvironmentFile"),
        ["-/etc/default/kexec-chooser"],
        "{unit} must read /etc/default/kexec-chooser, and start without it"
    );
    env.extend(default_settings());
    env
}

/// Parse `args` (without the program) as the CLI would, or fail naming `what`.
fn assert_cli_accepts(what: &str, args: &[String]) {
    let mut argv = vec!["kexec-chooser".to_owned()];
    argv.extend(args.iter().cloned());
    if let Err(e) = Cli::try_parse_from(&argv) {
        panic!("{what}: the CLI rejects {argv:?}: {e}");
    }
}

fn exec_start(unit: &str) -> (String, Vec<String>) {
    let lines = unit_values(unit, "ExecStart");
    assert_eq!(lines.len(), 1, "{unit}: one ExecStart=");
    let args = expand_exec(&lines[0], &unit_env(unit));
    let (program, rest) = args.split_first().expect("a program");
    (program.clone(), rest.to_vec())
}

#[test]
fn load_unit_runs_load_of_the_configured_kernel_and_the_cli_accepts_it() {
    let (program, args) = exec_start("kexec-chooser-load.service");
    assert_eq!(program, "/usr/sbin/kexec-chooser");
    assert_eq!(args.first().map(String::as_str), Some("load"), "{args:?}");
    assert_eq!(args.get(1).map(String::as_str), Some("latest"), "default kernel: {args:?}");
    assert_cli_accepts("kexec-chooser-load.service", &args);

    // With a kernel and extra words set, each stays one argument.
    let mut env = unit_env("kexec-chooser-load.service");
    env.insert("KERNEL".into(), "6.1.0-28-amd64".into());
    env.insert("APPEND".into(), "quiet loglevel=3".into());
    let line = &unit_values("kexec-chooser-load.service", "ExecStart")[0];
    let args = expand_exec(line, &env);
    assert_eq!(args[1..], ["load", "6.1.0-28-amd64", "--append=quiet loglevel=3"]);
    assert_cli_accepts("kexec-chooser-load.service with APPEND", &args[1..]);

    // The unit always passes `--append=${APPEND}`: empty, it must change nothing.
    let base = "root=/dev/vda1 ro quiet";
    assert_eq!(kexec_chooser::boot::cmdline::edit(base, None, &[], &[String::new()]), base);
}

#[test]
fn disk_unit_runs_the_cron_mode_check_and_the_cli_accepts_it() {
    let (program, args) = exec_start("kexec-chooser-disk.service");
    assert_eq!(program, "/usr/sbin/kexec-chooser");
    assert_eq!(args[..2], ["disk", "--cron"]);
    assert_cli_accepts("kexec-chooser-disk.service", &args);
    // The commented example of /etc/default/kexec-chooser is accepted too.
    let mut env = unit_env("kexec-chooser-disk.service");
    env.insert("DISK_ARGS".into(), "--warn 15% --crit 5G --crit-inodes 5% --exclude-type nfs4".into());
    let line = &unit_values("kexec-chooser-disk.service", "ExecStart")[0];
    assert_cli_accepts("DISK_ARGS example", &expand_exec(line, &env)[1..]);
}

#[test]
fn confirm_unit_passes_check_as_one_argument_and_the_cli_accepts_it() {
    let unit = "kexec-chooser-confirm.service";
    let (program, args) = exec_start(unit);
    assert_eq!(program, "/usr/sbin/kexec-chooser");
    // CHECK unset: `--check=`, which confirm reads as no check.
    assert_eq!(args, ["confirm", "--check="]);
    assert_cli_accepts(unit, &args);
    let mut env = unit_env(unit);
    env.insert("CHECK".into(), "systemctl is-active --quiet nginx && curl -fsS http://localhost/".into());
    let args = expand_exec(&unit_values(unit, "ExecStart")[0], &env);
    assert_eq!(args[1..], ["confirm", "--check=systemctl is-active --quiet nginx && curl -fsS http://localhost/"]);
    assert_cli_accepts(unit, &args[1..]);
    assert_eq!(unit_values(unit, "After"), ["multi-user.target boot-complete.target"]);
    assert_eq!(unit_values(unit, "Requires"), ["boot-complete.target"]);
    assert_eq!(unit_values(unit, "OnFailure"), ["kexec-chooser-boot-failed.service"]);
    assert_eq!(unit_values(unit, "WantedBy"), ["multi-user.target"]);
    assert_eq!(unit_values(unit, "StandardOutput"), ["journal+console"]);
    assert_eq!(unit_values(unit, "StandardError"), ["journal+console"]);
    assert_eq!(unit_values(unit, "ConditionPathExists"), [kexec_chooser::paths::PENDING_RECORD]);
}

#[test]
fn a_failed_boot_assessment_runs_confirm_boot_failed_and_the_cli_accepts_it() {
    let unit = "kexec-chooser-boot-failed.service";
    let (program, args) = exec_start(unit);
    assert_eq!(program, "/usr/sbin/kexec-chooser");
    assert_eq!(args, ["confirm", "--boot-failed"]);
    assert_cli_accepts(unit, &args);
    assert_eq!(unit_values(unit, "ConditionPathExists"), [kexec_chooser::paths::PENDING_RECORD]);
    assert!(unit_values(unit, "WantedBy").is_empty(), "static: only OnFailure= starts it");
}

#[test]
fn disk_timer_is_hourly_persistent_and_spread() {
    assert_eq!(unit_values("kexec-chooser-disk.timer", "OnCalendar"), ["hourly"]);
    assert_eq!(unit_values("kexec-chooser-disk.timer", "Persistent"), ["true"]);
    assert_eq!(unit_values("kexec-chooser-disk.timer", "RandomizedDelaySec").len(), 1);
    assert_eq!(unit_values("kexec-chooser-disk.timer", "WantedBy"), ["timers.target"]);
}

#[test]
fn cron_line_is_guarded_and_runs_what_the_timer_runs() {
    let cron = read("debian/kexec-chooser.cron.d");
    let jobs: Vec<&str> = cron
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter(|l| !l.split_whitespace().next().is_some_and(|w| w.contains('=')))
        .collect();
    assert_eq!(jobs.len(), 1, "one job line: {jobs:?}");
    // Fields are separated by runs of blanks; the 7th is the command.
    let mut fields = Vec::new();
    let mut rest = jobs[0];
    for _ in 0..6 {
        let (field, tail) = rest.trim_start().split_once(char::is_whitespace).expect("7 fields");
        fields.push(field);
        rest = tail;
    }
    fields.push(rest.trim());
    assert_eq!(fields[5], "root", "the user field");
    let command = fields[6];
    assert!(!command.contains('%'), "cron turns % into a newline: {command}");
    assert!(command.starts_with("[ ! -d /run/systemd/system ] && "), "skipped under systemd: {command}");
    assert!(command.contains("test -x /usr/sbin/kexec-chooser && "), "guarded: {command}");
    assert!(command.contains(". /etc/default/kexec-chooser"), "reads the settings: {command}");
    // The same check as the timer's service, with the same settings.
    let (unit_program, _) = exec_start("kexec-chooser-disk.service");
    let unit_line = &unit_values("kexec-chooser-disk.service", "ExecStart")[0];
    let tail = command.rsplit("&& ").next().unwrap_or_default();
    assert_eq!(tail, unit_line.as_str());
    assert_eq!(tail.split_whitespace().next(), Some(unit_program.as_str()));
}

#[test]
fn settings_file_names_every_variable_the_units_and_cron_use() {
    let vars = default_settings();
    assert_eq!(vars.get("KERNEL").map(String::as_str), Some("latest"));
    let mut used = Vec::new();
    for unit in ["kexec-chooser-disk.service", "kexec-chooser-load.service"] {
        for line in unit_values(unit, "ExecStart") {
            used.extend(
                line.split(['$', '{', '}', '=', ' '])
                    .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                    .map(str::to_owned),
            );
        }
    }
    assert!(used.len() >= 3, "{used:?}");
    for name in used {
        assert!(vars.contains_key(&name), "/etc/default/kexec-chooser lacks {name}");
    }
}

#[test]
fn maintainer_scripts_carry_the_debhelper_marker_once() {
    for script in ["postinst", "prerm", "postrm"] {
        let text = read(&format!("debian/{script}"));
        assert!(text.starts_with("#!/bin/sh\n"), "{script}");
        assert_eq!(text.matches("#DEBHELPER#").count(), 1, "{script}: cargo-deb fills every marker");
    }
}
