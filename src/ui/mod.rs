//! Talking to a person: whether a terminal is there, the menu, prompts.

use std::io::IsTerminal;

pub mod confirm;
pub mod menu;

/// Whether kexec-chooser may ask a person anything: only when both stdin
/// (where the answer comes from) and stderr (where the question goes) are
/// terminals. Cron, Ansible and pipes get no prompt.
pub fn is_interactive(stdin_is_tty: bool, stderr_is_tty: bool) -> bool {
    stdin_is_tty && stderr_is_tty
}

/// [`is_interactive`] for this process.
pub fn interactive() -> bool {
    is_interactive(std::io::stdin().is_terminal(), std::io::stderr().is_terminal())
}

/// The terminal of this process, as the warm reboot talks to a person:
/// the menu and the question on stderr, answers from stdin.
pub struct Console {
    /// `--yes` was given.
    pub yes: bool,
    stderr: std::io::Stderr,
}

impl Console {
    pub fn new(yes: bool) -> Self {
        Console { yes, stderr: std::io::stderr() }
    }
}

impl crate::warm::Terminal for Console {
    fn interactive(&self) -> bool {
        interactive()
    }

    fn consent(&self) -> confirm::Consent {
        confirm::consent_here(self.yes)
    }

    fn choose(&mut self, entries: &[crate::boot::BootEntry]) -> Result<usize, menu::MenuError> {
        menu::choose(entries)
    }

    fn ask(&mut self, question: &str) -> confirm::Answer {
        confirm::ask(question)
    }

    fn log(&mut self) -> &mut dyn std::io::Write {
        &mut self.stderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_need_both_stdin_and_stderr_terminals() {
        assert!(is_interactive(true, true));
        assert!(!is_interactive(false, true));
        assert!(!is_interactive(true, false));
        assert!(!is_interactive(false, false));
    }
}
