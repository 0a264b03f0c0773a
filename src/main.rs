//! Entry point: parse the command line, run it, map the outcome to an exit code.
//!
//! Everything else lives in the library so that tests can drive it.

fn main() -> std::process::ExitCode {
    kexec_chooser::cli::main()
}
