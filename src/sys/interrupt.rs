//! Ctrl-C at a prompt: the menu and the confirmation hide the cursor, and a
//! SIGINT would leave the person's terminal without one. The handler gives
//! it back and exits 130, as shells report an interrupted command.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Show the cursor (`CSI ? 25 h`) on a fresh line.
const SHOW_CURSOR: &[u8] = b"\x1b[?25h\n";

extern "C" fn on_interrupt(_sig: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a
    // static with the length passed alongside.
    unsafe {
        libc::write(libc::STDERR_FILENO, SHOW_CURSOR.as_ptr().cast(), SHOW_CURSOR.len());
        libc::_exit(130);
    }
}

/// From now on, SIGINT restores the cursor and exits 130. Called before a
/// prompt is shown; failing to install it only loses the nicety.
pub fn restore_cursor_on_interrupt() -> nix::Result<()> {
    let action = SigAction::new(SigHandler::Handler(on_interrupt), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only calls async-signal-safe functions.
    unsafe { sigaction(Signal::SIGINT, &action) }.map(|_| ())
}
