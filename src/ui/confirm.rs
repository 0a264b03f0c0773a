//! The confirmation before a warm reboot: whether to ask at all (a pure
//! decision on `--yes` and the terminals), what to show (the plan, with the
//! command line as a diff against the running one), and the question itself.

use std::io::IsTerminal;

/// Whether the person consented, may be asked, or cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--yes`: go on without asking.
    Given,
    /// A person is at a terminal: show the plan and ask.
    Ask,
    /// Nobody to ask and no `--yes`: stop before touching anything.
    Refused,
}

/// Ask only when both stdin (the answer) and stderr (the question) are
/// terminals; `--yes` wins over everything.
pub fn consent(yes: bool, stdin_is_tty: bool, stderr_is_tty: bool) -> Consent {
    match (yes, stdin_is_tty && stderr_is_tty) {
        (true, _) => Consent::Given,
        (false, true) => Consent::Ask,
        (false, false) => Consent::Refused,
    }
}

/// [`consent`] for this process's own stdin and stderr.
pub fn consent_here(yes: bool) -> Consent {
    consent(yes, std::io::stdin().is_terminal(), std::io::stderr().is_terminal())
}

/// The answer at the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    /// No, Escape, or end of input: anything but a yes.
    No,
    /// Ctrl-C: the caller exits 130.
    Interrupted,
}

/// The words taken away (`-`) and added (`+`) going from `running` to `next`,
/// in the order they appear in each.
pub fn cmdline_diff(running: &str, next: &str) -> Vec<String> {
    let old = crate::boot::cmdline::split(running);
    let new = crate::boot::cmdline::split(next);
    let mut out: Vec<String> = old.iter().filter(|w| !new.contains(w)).map(|w| format!("- {w}")).collect();
    out.extend(new.iter().filter(|w| !old.contains(w)).map(|w| format!("+ {w}")));
    out
}

/// What the confirmation shows.
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    pub version: &'a str,
    pub kernel: &'a str,
    pub initrds: Vec<String>,
    pub cmdline: &'a str,
    /// The command line of the running kernel, when known.
    pub running_cmdline: Option<&'a str>,
    pub mode: &'a str,
}

/// The plan as the person reads it before saying yes.
pub fn render(s: &Summary<'_>) -> String {
    let mut out = format!("Warm reboot into {}\n  kernel:   {}\n", s.version, s.kernel);
    if s.initrds.is_empty() {
        out.push_str("  initrd:   (none)\n");
    }
    for (i, initrd) in s.initrds.iter().enumerate() {
        let label = if i == 0 { "initrd:  " } else { "         " };
        out.push_str(&format!("  {label} {initrd}\n"));
    }
    out.push_str(&format!("  cmdline:  {}\n", s.cmdline));
    match s.running_cmdline {
        Some(running) => {
            let diff = cmdline_diff(running, s.cmdline);
            if diff.is_empty() {
                out.push_str("            (the same as the running kernel's)\n");
            } else {
                out.push_str("            against the running kernel's:\n");
                for d in diff {
                    out.push_str(&format!("              {d}\n"));
                }
            }
        }
        None => out.push_str("            (the running command line is unknown)\n"),
    }
    out.push_str(&format!("  hand-over: {}\n", s.mode));
    out
}

/// Ask `question` on the terminal (stderr), No by default. Any failure to
/// read, end of input included, is a no; the cursor is restored on every path.
pub fn ask(question: &str) -> Answer {
    let term = dialoguer::console::Term::stderr();
    let r = crate::sys::with_sigint_ignored(|| {
        dialoguer::Confirm::new().with_prompt(question).default(false).interact_on_opt(&term)
    });
    let _ = term.show_cursor();
    match r {
        Ok(Some(true)) => Answer::Yes,
        Ok(_) => Answer::No,
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            // The prompt line was left unfinished.
            let _ = term.write_line("");
            Answer::Interrupted
        }
        Err(_) => Answer::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_is_consent_even_without_a_terminal() {
        assert_eq!(consent(true, false, false), Consent::Given);
        assert_eq!(consent(true, true, true), Consent::Given);
    }

    #[test]
    fn both_stdin_and_stderr_must_be_terminals_to_ask() {
        assert_eq!(consent(false, true, true), Consent::Ask);
        assert_eq!(consent(false, true, false), Consent::Refused);
        assert_eq!(consent(false, false, true), Consent::Refused);
        assert_eq!(consent(false, false, false), Consent::Refused);
    }

    #[test]
    fn diff_shows_removed_then_added_words() {
        let d = cmdline_diff("root=/dev/sda1 ro quiet splash", "root=/dev/sda1 ro quiet kct=1");
        assert_eq!(d, ["- splash", "+ kct=1"]);
        assert!(cmdline_diff("a b", "b a").is_empty());
    }

    #[test]
    fn summary_shows_version_kernel_initrds_diff_and_mode() {
        let s = Summary {
            version: "6.1.0-9-amd64",
            kernel: "/boot/vmlinuz-6.1.0-9-amd64",
            initrds: vec!["/boot/ucode.img".into(), "/boot/initrd.img-6.1.0-9-amd64".into()],
            cmdline: "root=/dev/vda ro marker",
            running_cmdline: Some("root=/dev/vda ro"),
            mode: "direct",
        };
        let r = render(&s);
        for want in [
            "6.1.0-9-amd64",
            "/boot/vmlinuz-6.1.0-9-amd64",
            "/boot/ucode.img",
            "initrd.img-6.1.0-9",
            "+ marker",
            "hand-over: direct",
        ] {
            assert!(r.contains(want), "{want} missing in {r}");
        }
    }
}
