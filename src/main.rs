//! Entry point: parse the command line, run it, map the outcome to an exit code.
//!
//! Everything else lives in the library so that tests can drive it.

use std::process::ExitCode;

fn main() -> ExitCode {
    kexec_chooser::cli::main_with_args(std::env::args_os())
}
