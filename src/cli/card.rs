//! Glue of `kexec-chooser card`: read numbers (stdin by default), check each
//! with `crate::card`, print masked results, and turn the tally into the
//! contractual exit code.

use std::ffi::OsString;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;

use clap::Args;

use super::{Ctx, ExitError};
use crate::card::{self, Digits, Line, LineError, Lines};

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
    let mut out = Output {
        out: BufWriter::with_capacity(1 << 16, stdout.lock()),
        json: args.json,
        reveal: args.reveal,
        tally: Tally::default(),
        digits: String::with_capacity(card::LINE_LIMIT),
        line: Vec::with_capacity(card::LINE_LIMIT),
    };
    if args.numbers.is_empty() {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            warn("reading card numbers from the terminal, one per line; end with Ctrl-D");
        }
        let mut lines = Lines::new(stdin.lock());
        loop {
            let next = lines
                .next_line()
                .map_err(|e| ExitError::new(EXIT_UNUSABLE, format!("card: reading standard input: {e}")));
            let Some((number, line)) = next? else { break };
            match line {
                Line::Text(bytes) => out.one(Source::Line(number), bytes)?,
                Line::TooLong => out.unusable(Source::Line(number), &LineError::TooLong),
            }
        }
    } else {
        warn(
            "card numbers given as arguments are visible to other users (ps, /proc) \
             and stay in shell history; pipe them on stdin instead",
        );
        for (i, arg) in args.numbers.iter().enumerate() {
            let source = Source::Argument(i.saturating_add(1));
            if arg.len() > card::LINE_LIMIT {
                out.unusable(source, &LineError::TooLong);
            } else {
                out.one(source, arg.as_bytes())?;
            }
        }
    }
    out.out.flush()?;
    let tally = out.tally;
    if tally.checked == 0 && tally.unusable == 0 {
        return Err(ExitError::new(EXIT_UNUSABLE, "card: no card numbers in the input").into());
    }
    Ok(tally.exit_code())
}

/// `text` (an argument parser's message) with every run of six or more
/// digits — spaces and dashes between them allowed, as in a card number —
/// masked as the output masks numbers: an error never shows a full number.
pub fn redact_numbers(text: &str) -> String {
    /// Runs shorter than this are versions, counts and positions, not numbers.
    const MIN_DIGITS: usize = 6;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        // The run: digits, with single separators between two digits.
        let bytes = from.as_bytes();
        let mut end = 0;
        let mut digits = String::new();
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii_digit() {
                digits.push(char::from(b));
                end += 1;
            } else if matches!(b, b' ' | b'-') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                end += 1;
            } else {
                break;
            }
        }
        let (run, after) = from.split_at(end);
        if digits.len() >= MIN_DIGITS {
            out.push_str(&card::Masked(&digits).to_string());
        } else {
            out.push_str(run);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Where a number came from, for messages and the JSON `line` field.
#[derive(Debug, Clone, Copy)]
enum Source {
    Line(u64),
    Argument(usize),
}

impl Source {
    fn index(self) -> u64 {
        match self {
            Source::Line(n) => n,
            Source::Argument(n) => u64::try_from(n).unwrap_or(u64::MAX),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Line(n) => write!(f, "line {n}"),
            Source::Argument(n) => write!(f, "argument {n}"),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    checked: u64,
    invalid: u64,
    unusable: u64,
}

impl Tally {
    fn exit_code(&self) -> u8 {
        if self.unusable > 0 {
            EXIT_UNUSABLE
        } else if self.invalid > 0 {
            EXIT_INVALID
        } else {
            EXIT_VALID
        }
    }
}

/// The output side: where results go, how they look, and what was seen.
struct Output<W: Write> {
    out: W,
    json: bool,
    reveal: bool,
    tally: Tally,
    /// Reused digit buffer, so that checking a line does not allocate.
    digits: String,
    /// Reused buffer of one text output line.
    line: Vec<u8>,
}

impl<W: Write> Output<W> {
    /// Check one line (or argument) and print its result. Only output errors
    /// are returned; a bad line is reported on stderr and counted.
    fn one(&mut self, source: Source, bytes: &[u8]) -> io::Result<()> {
        let digits = match card::digits_of(bytes, &mut self.digits) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(()), // blank line: skipped
            Err(e) => {
                self.unusable(source, &e);
                return Ok(());
            }
        };
        let verdict = card::check(digits);
        self.tally.checked = self.tally.checked.saturating_add(1);
        if !verdict.is_valid() {
            self.tally.invalid = self.tally.invalid.saturating_add(1);
        }
        // The line is assembled in a reused buffer and written once: going
        // through fmt or serde for its pieces cost more than the check itself.
        let line = &mut self.line;
        line.clear();
        let network = verdict.network.map(|n| n.name);
        if self.json {
            // Every string of a record is digits, '*', a network name or a
            // reason made of those: none needs JSON escaping (unit-tested
            // below), so the record is written directly.
            write!(line, "{{\"line\":{},\"number\":\"", source.index())?;
            push_number(line, digits, self.reveal);
            line.extend_from_slice(b"\",\"network\":");
            match network {
                Some(name) => write!(line, "\"{name}\"")?,
                None => line.extend_from_slice(b"null"),
            }
            match verdict.outcome {
                Ok(()) => line.extend_from_slice(b",\"valid\":true,\"reason\":null}\n"),
                Err(reason) => writeln!(line, ",\"valid\":false,\"reason\":\"{reason}\"}}")?,
            }
        } else {
            push_number(line, digits, self.reveal);
            line.push(b'\t');
            line.extend_from_slice(network.unwrap_or("-").as_bytes());
            match verdict.outcome {
                Ok(()) => line.extend_from_slice(b"\tvalid\n"),
                Err(reason) => writeln!(line, "\tinvalid: {reason}")?,
            }
        }
        self.out.write_all(line)
    }

    /// Report an unusable line on stderr (never its content) and count it.
    fn unusable(&mut self, source: Source, error: &LineError) {
        self.tally.unusable = self.tally.unusable.saturating_add(1);
        warn(&format!("{source}: {error}"));
    }
}

/// A diagnostic on stderr; a failure to write it is not worth failing for.
fn warn(message: &str) {
    let _ = crate::say!(io::stderr().lock(), "card: {message}");
}

/// Append the number as printed: masked, or whole with `--reveal`.
fn push_number(line: &mut Vec<u8>, digits: Digits<'_>, reveal: bool) {
    if reveal {
        line.extend_from_slice(digits.as_bytes());
    } else {
        card::mask::push_masked(digits.as_str(), line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_never_show_a_full_number() {
        let e = "error: unexpected value '4111111111111111' for '--json' found";
        assert_eq!(redact_numbers(e), "error: unexpected value '411111******1111' for '--json' found");
        let r = redact_numbers("a 4111 1111-1111 1111 b");
        assert!(!r.contains("4111 1111-1111 1111") && r.contains("411111******1111"), "{r}");
        // Short runs (versions, counts, positions) stay as they are.
        assert_eq!(redact_numbers("--timeout 10, 6.1.0-13"), "--timeout 10, 6.1.0-13");
    }

    fn output(json: bool, reveal: bool) -> Output<Vec<u8>> {
        Output { out: Vec::new(), json, reveal, tally: Tally::default(), digits: String::new(), line: Vec::new() }
    }

    #[test]
    fn text_lines_are_masked_network_and_verdict() {
        let mut o = output(false, false);
        o.one(Source::Line(1), b"4111-1111-1111-1111").unwrap();
        o.one(Source::Line(2), b"4111 1111 1111 1112").unwrap();
        o.one(Source::Line(3), b"").unwrap();
        o.one(Source::Line(4), b"9111111111111111").unwrap();
        assert_eq!(
            String::from_utf8(o.out).unwrap(),
            "411111******1111\tVisa\tvalid\n\
             411111******1112\tVisa\tinvalid: checksum\n\
             911111******1111\t-\tinvalid: unknown prefix\n"
        );
        assert_eq!((o.tally.checked, o.tally.invalid, o.tally.unusable), (3, 2, 0));
        assert_eq!(o.tally.exit_code(), EXIT_INVALID);
    }

    #[test]
    fn json_is_one_object_per_line() {
        let mut o = output(true, true);
        o.one(Source::Argument(2), b"411111111111111").unwrap();
        let text = String::from_utf8(o.out).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["line"], 2);
        assert_eq!(v["number"], "411111111111111");
        assert_eq!(v["network"], "Visa");
        assert_eq!(v["valid"], false);
        assert_eq!(v["reason"], "length 15 not allowed for Visa");
    }

    /// The JSON records are written without an escaper: this holds only while
    /// no network name or reason contains a character JSON must escape.
    #[test]
    fn no_network_name_or_reason_needs_json_escaping() {
        use crate::card::{networks::NETWORKS, Invalid};
        let mut texts = vec![Invalid::UnknownPrefix.to_string(), Invalid::Checksum.to_string()];
        for n in NETWORKS {
            texts.push(n.name.to_owned());
            texts.push(Invalid::Length { length: 15, network: n }.to_string());
        }
        for t in texts {
            assert!(!t.chars().any(|c| c == '"' || c == '\\' || c.is_control()), "{t}");
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
        }
    }

    #[test]
    fn json_records_for_every_outcome_parse_back() {
        let mut o = output(true, false);
        for (i, n) in ["4111111111111111", "4111111111111112", "411111111111111", "9111111111111111"].iter().enumerate()
        {
            o.one(Source::Line(i as u64 + 1), n.as_bytes()).unwrap();
        }
        let text = String::from_utf8(o.out).unwrap();
        let records: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(records.len(), 4);
        assert_eq!(records[0]["reason"], serde_json::Value::Null);
        assert_eq!(records[1]["reason"], "checksum");
        assert_eq!(records[2]["reason"], "length 15 not allowed for Visa");
        assert_eq!(records[3]["network"], serde_json::Value::Null);
        assert_eq!(records[3]["number"], "911111******1111");
        assert_eq!(records[3]["line"], 4);
    }

    #[test]
    fn an_unusable_line_wins_over_invalid_in_the_exit_code() {
        let mut o = output(false, false);
        o.one(Source::Line(1), b"4111111111111112").unwrap();
        o.one(Source::Line(2), b"4111x").unwrap();
        // Only the usable line has a record; the bad one went to stderr alone.
        assert_eq!(String::from_utf8(o.out).unwrap(), "411111******1112\tVisa\tinvalid: checksum\n");
        assert_eq!(o.tally.unusable, 1);
        assert_eq!(o.tally.exit_code(), EXIT_UNUSABLE);
    }
}
