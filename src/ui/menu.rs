//! The menu of boot entries shown when no selector is given on a terminal.
//!
//! Each line is built from a release, a path and a title that files control:
//! all are escaped (`crate::text`), so an ESC sequence cannot drive the
//! terminal and a newline cannot split a line and break the menu's redraw,
//! which counts one terminal line per item.

use crate::boot::BootEntry;
use crate::text;

/// Why the menu gave no choice.
#[derive(Debug, thiserror::Error)]
pub enum MenuError {
    #[error("no kernel was chosen")]
    Cancelled,
    #[error("no usable kernel to choose from")]
    Empty,
    #[error("interrupted")]
    Interrupted,
    #[error("the menu failed: {0}")]
    Terminal(dialoguer::Error),
}

/// One menu line: version, marks, kernel, and what is wrong with it.
pub fn label(e: &BootEntry) -> String {
    let mut marks = Vec::new();
    if e.running {
        marks.push("running");
    }
    if e.default {
        marks.push("default");
    }
    let marks = if marks.is_empty() { String::new() } else { format!(" [{}]", marks.join(", ")) };
    let title = e.title.as_deref().map(|t| format!("  {}", text::escape(t))).unwrap_or_default();
    format!("{}{}  {}{}", text::escape(&e.version), marks, text::path(&e.kernel), title)
}

/// Show the usable entries (newest first, as given) and return the index of
/// the chosen one in `entries`. Esc or `q` cancels.
pub fn choose(entries: &[BootEntry]) -> Result<usize, MenuError> {
    let usable: Vec<usize> = (0..entries.len()).filter(|&i| entries[i].usable).collect();
    if usable.is_empty() {
        return Err(MenuError::Empty);
    }
    let items: Vec<String> = usable.iter().map(|&i| label(&entries[i])).collect();
    let start = usable.iter().position(|&i| entries[i].default).unwrap_or(0);
    let term = dialoguer::console::Term::stderr();
    let _ = crate::sys::interrupt::restore_cursor_on_interrupt();
    let picked = dialoguer::Select::new()
        .with_prompt("Warm-reboot into which kernel? (Esc to cancel)")
        .items(&items)
        .default(start)
        .interact_on_opt(&term)
        .map_err(|e| {
            // The terminal is raw while the menu runs, so Ctrl-C arrives as a
            // key, not a signal: give the cursor back before leaving.
            let _ = term.show_cursor();
            if is_interrupt(&e) {
                MenuError::Interrupted
            } else {
                MenuError::Terminal(e)
            }
        })?;
    picked.and_then(|p| usable.get(p).copied()).ok_or(MenuError::Cancelled)
}

fn is_interrupt(e: &dialoguer::Error) -> bool {
    match e {
        dialoguer::Error::IO(io) => io.kind() == std::io::ErrorKind::Interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_line_without_control_characters() {
        let d = crate::boot::discover(&crate::root::Root::new(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fedora"),
        ));
        let mut e = d.entries.first().cloned().expect("an entry");
        e.version = "6.1\x1b[2J".into();
        e.kernel = "/boot/vmlinuz\nrow".into();
        e.title = Some("Evil\x1b]0;owned\x07".into());
        let l = label(&e);
        assert!(!l.chars().any(char::is_control), "{l:?}");
        assert!(
            l.contains("6.1\\033[2J") && l.contains("/boot/vmlinuz\\012row") && l.contains("Evil\\033]0;owned\\007"),
            "{l}"
        );
    }
}
