//! Entry point: parse the command line, run it, map the outcome to an exit code.
//!
//! Everything else lives in the library so that tests can drive it.
//!
//! This is a C `main` rather than Rust's `fn main`: std's start-up (a guard
//! page for its stack-overflow message, found by reading `/proc/self/maps`)
//! cost about 120 µs of every run, which matters to `disk` run from cron and
//! monitoring on every host (docs/disk.md, Speed). `sys::start::init` does
//! the parts of it that matter (closed standard descriptors, SIGPIPE). A stack
//! overflow still ends the process, by SIGSEGV instead of std's message.
#![no_main]

use std::ffi::{c_char, c_int};

#[allow(unsafe_code)] // `no_mangle` on the C entry point, and reading its argv.
#[no_mangle]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    kexec_chooser::sys::start::init();
    // SAFETY: argc and argv are the C runtime's, as `args` requires.
    let args = unsafe { kexec_chooser::sys::start::args(argc, argv) };
    let code = std::panic::catch_unwind(|| kexec_chooser::cli::main_code(args))
        // The panic message is printed already; 101 is what Rust's main gives.
        .unwrap_or(101);
    // exit() flushes std's stdout buffer, as returning from Rust's main does.
    std::process::exit(c_int::from(code))
}
