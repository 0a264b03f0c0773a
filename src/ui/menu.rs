//! The menu of boot entries shown when no selector is given on a terminal.

use crate::boot::BootEntry;

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
    let title = e.title.as_deref().map(|t| format!("  {t}")).unwrap_or_default();
    format!("{}{}  {}{}", e.version, marks, e.kernel.display(), title)
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
