//! Glue of `kexec-chooser card`: its arguments, the streams it reads and
//! writes, and the tally of [`card::report`] turned into the contractual
//! exit code.

use std::ffi::OsString;
use std::io::{self, BufWriter, IsTerminal, Write};

use clap::Args;

use super::{Ctx, ExitError};
use crate::card::{
    self,
    report::{Overall, Report, RunError, Unusable},
};

/// Every number was valid.
pub const EXIT_VALID: u8 = 0;
/// At least one number was invalid (and the input was otherwise usable).
pub const EXIT_INVALID: u8 = 1;
/// Some input was unusable: a bad character, an overlong line, no numbers at
/// all, unreadable stdin (clap's usage errors share the code).
pub const EXIT_UNUSABLE: u8 = 2;

const AFTER_HELP: &str = "\
Input:
  One number per line on stdin (the default: numbers stay out of shell
  history and ps). Spaces and dashes are ignored; blank lines are skipped;
  any other character is an error naming its line and position.

Output (one line per number, tab-separated):
  MASKED  NETWORK  valid | invalid: REASON
  MASKED shows the first 6 and last 4 digits (fewer for numbers under 13
  digits); NETWORK is - when the prefix is unknown. --json prints one JSON
  object per line instead: {\"line\", \"number\", \"network\", \"valid\", \"reason\"}.

Exit status:
  0  every number is valid
  1  at least one number is invalid
  2  unusable input (bad character, overlong line, no numbers, bad usage)

Examples:
  printf '%s\\n' 4111-1111-1111-1111 | kexec-chooser card
  kexec-chooser card --json < numbers.txt";

/// Validate payment card numbers (Luhn, network, length) without printing them.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct CardArgs {
    /// Numbers to check instead of stdin (warned against: arguments are visible
    /// to other users in ps and /proc, and stay in shell history).
    #[arg(value_name = "NUMBER")]
    pub numbers: Vec<OsString>,

    /// One JSON object per number, one per line, for programs.
    #[arg(long)]
    pub json: bool,

    /// Print the full numbers instead of masking them.
    #[arg(long)]
    pub reveal: bool,
}

pub fn run(_ctx: &Ctx, args: &CardArgs) -> anyhow::Result<u8> {
    let stdout = io::stdout();
    let mut report = Report::new(BufWriter::with_capacity(1 << 16, stdout.lock()), args.json, args.reveal);
    let mut say_unusable = |bad: &Unusable| warn(&bad.to_string());
    let done = if args.numbers.is_empty() {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            warn("reading card numbers from the terminal, one per line; end with Ctrl-D");
        }
        report.lines(stdin.lock(), &mut say_unusable)
    } else {
        warn(
            "card numbers given as arguments are visible to other users (ps, /proc) \
             and stay in shell history; pipe them on stdin instead",
        );
        report.arguments(&args.numbers, &mut say_unusable)
    };
    match done {
        Ok(()) => {}
        Err(e @ RunError::Read(_)) => return Err(ExitError::new(EXIT_UNUSABLE, format!("card: {e}")).into()),
        // The io::Error itself, so that a closed pipe is recognised as one.
        Err(RunError::Write(e)) => return Err(e.into()),
    }
    Ok(match report.tally().overall() {
        Overall::Valid => EXIT_VALID,
        Overall::Invalid => EXIT_INVALID,
        Overall::Unusable => EXIT_UNUSABLE,
        Overall::NoNumbers => {
            return Err(ExitError::new(EXIT_UNUSABLE, "card: no card numbers in the input").into());
        }
    })
}

/// `text` (an argument parser's message) with every run of six or more
/// digits masked as the output masks numbers: see [`card::redact`].
pub fn redact_numbers(text: &str) -> String {
    card::redact::numbers(text)
}

/// A diagnostic on stderr; a failure to write it is not worth failing for.
fn warn(message: &str) {
    let _ = crate::say!(io::stderr().lock(), "card: {message}");
}
