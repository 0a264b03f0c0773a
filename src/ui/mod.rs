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
