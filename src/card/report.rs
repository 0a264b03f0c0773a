//! Checking a stream of numbers and writing one result line each: the text
//! and JSON records, the tally that decides the exit code, and the messages
//! about unusable lines, so that the CLI only has to open the streams and
//! print what it is given.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::os::unix::ffi::OsStrExt;

use super::{check, digits_of, mask, Digits, Line, LineError, Lines, LINE_LIMIT};

/// Where a number came from, for messages and the JSON `line` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
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

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Line(n) => write!(f, "line {n}"),
            Source::Argument(n) => write!(f, "argument {n}"),
        }
    }
}

/// A line (or argument) that could not be checked: what the person is told
/// on stderr. It names the place and the reason, never the content.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {error}")]
pub struct Unusable {
    pub at: Source,
    pub error: LineError,
}

/// What was seen, counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub checked: u64,
    pub invalid: u64,
    pub unusable: u64,
}

/// The verdict on a whole run, from which the exit code follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every number was valid.
    Valid,
    /// At least one number was invalid, and every line was usable.
    Invalid,
    /// At least one line was unusable (this wins over `Invalid`).
    Unusable,
    /// Not a single number, nor an unusable line: an empty input must not
    /// read as "all valid".
    NoNumbers,
}

impl Tally {
    pub fn overall(&self) -> Overall {
        if self.unusable > 0 {
            Overall::Unusable
        } else if self.checked == 0 {
            Overall::NoNumbers
        } else if self.invalid > 0 {
            Overall::Invalid
        } else {
            Overall::Valid
        }
    }
}

/// Why a run stopped before its input ended.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("reading standard input: {0}")]
    Read(#[source] io::Error),
    /// Writing a result failed (a closed pipe, a full disk): kept as the
    /// io::Error itself so that the caller can tell a closed pipe.
    #[error("writing the results: {0}")]
    Write(#[source] io::Error),
}

/// The output side: where results go, how they look, and what was seen.
pub struct Report<W: Write> {
    out: W,
    json: bool,
    reveal: bool,
    tally: Tally,
    /// Reused digit buffer, so that checking a line does not allocate.
    digits: String,
    /// Reused buffer of one text output line.
    line: Vec<u8>,
}

impl<W: Write> Report<W> {
    /// Results go to `out`: text lines, or JSON records with `json`; numbers
    /// masked unless `reveal`.
    pub fn new(out: W, json: bool, reveal: bool) -> Self {
        Report {
            out,
            json,
            reveal,
            tally: Tally::default(),
            digits: String::with_capacity(LINE_LIMIT),
            line: Vec::with_capacity(LINE_LIMIT),
        }
    }

    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// Check every line of `input`; `on_unusable` hears of each bad one.
    pub fn lines(&mut self, input: impl BufRead, on_unusable: &mut dyn FnMut(&Unusable)) -> Result<(), RunError> {
        let mut lines = Lines::new(input);
        while let Some((number, line)) = lines.next_line().map_err(RunError::Read)? {
            let source = Source::Line(number);
            let bad = match line {
                Line::Text(bytes) => self.one(source, bytes).map_err(RunError::Write)?,
                Line::TooLong => Some(self.unusable(source, LineError::TooLong)),
            };
            if let Some(bad) = bad {
                on_unusable(&bad);
            }
        }
        self.flush()
    }

    /// Check each argument as if it were a line; `on_unusable` hears of each bad one.
    pub fn arguments(&mut self, args: &[OsString], on_unusable: &mut dyn FnMut(&Unusable)) -> Result<(), RunError> {
        for (i, arg) in args.iter().enumerate() {
            let source = Source::Argument(i.saturating_add(1));
            let bad = if arg.len() > LINE_LIMIT {
                Some(self.unusable(source, LineError::TooLong))
            } else {
                self.one(source, arg.as_bytes()).map_err(RunError::Write)?
            };
            if let Some(bad) = bad {
                on_unusable(&bad);
            }
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), RunError> {
        self.out.flush().map_err(RunError::Write)
    }

    /// Check one line (or argument) and write its result. A bad line is
    /// counted and given back for the person; only output errors fail.
    pub fn one(&mut self, source: Source, bytes: &[u8]) -> io::Result<Option<Unusable>> {
        let digits = match digits_of(bytes, &mut self.digits) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(None), // blank line: skipped
            Err(e) => return Ok(Some(self.unusable(source, e))),
        };
        let verdict = check(digits);
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
        self.out.write_all(line)?;
        Ok(None)
    }

    /// Count an unusable line and give its message back.
    pub fn unusable(&mut self, source: Source, error: LineError) -> Unusable {
        self.tally.unusable = self.tally.unusable.saturating_add(1);
        Unusable { at: source, error }
    }

    /// The writer, for tests that read what was written.
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Append the number as printed: masked, or whole with `--reveal`.
fn push_number(line: &mut Vec<u8>, digits: Digits<'_>, reveal: bool) {
    if reveal {
        line.extend_from_slice(digits.as_bytes());
    } else {
        mask::push_masked(digits.as_str(), line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_are_masked_network_and_verdict() {
        let mut o = Report::new(Vec::new(), false, false);
        for (n, line) in [(1, "4111-1111-1111-1111"), (2, "4111 1111 1111 1112"), (3, ""), (4, "9111111111111111")] {
            assert_eq!(o.one(Source::Line(n), line.as_bytes()).unwrap(), None);
        }
        let tally = o.tally();
        assert_eq!(
            String::from_utf8(o.into_inner()).unwrap(),
            "411111******1111\tVisa\tvalid\n\
             411111******1112\tVisa\tinvalid: checksum\n\
             911111******1111\t-\tinvalid: unknown prefix\n"
        );
        assert_eq!((tally.checked, tally.invalid, tally.unusable), (3, 2, 0));
        assert_eq!(tally.overall(), Overall::Invalid);
    }

    #[test]
    fn json_is_one_object_per_line() {
        let mut o = Report::new(Vec::new(), true, true);
        o.one(Source::Argument(2), b"411111111111111").unwrap();
        let text = String::from_utf8(o.into_inner()).unwrap();
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
        let mut o = Report::new(Vec::new(), true, false);
        let input = "4111111111111111\n4111111111111112\n411111111111111\n9111111111111111\n";
        o.lines(input.as_bytes(), &mut |bad| panic!("{bad}")).unwrap();
        let text = String::from_utf8(o.into_inner()).unwrap();
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
    fn an_unusable_line_wins_over_invalid_and_is_reported_without_its_content() {
        let mut o = Report::new(Vec::new(), false, false);
        let mut said = Vec::new();
        let args = [OsString::from("4111111111111112"), OsString::from("4111x"), OsString::from("1".repeat(300))];
        o.arguments(&args, &mut |bad| said.push(bad.to_string())).unwrap();
        let tally = o.tally();
        // Only the usable line has a record; the bad ones went to the callback alone.
        assert_eq!(String::from_utf8(o.into_inner()).unwrap(), "411111******1112\tVisa\tinvalid: checksum\n");
        assert_eq!(
            said,
            [
                "argument 2: character 'x' at position 5 is not a digit, space or dash",
                "argument 3: longer than 256 bytes"
            ]
            .map(String::from)
        );
        assert_eq!(tally.unusable, 2);
        assert_eq!(tally.overall(), Overall::Unusable);
    }

    #[test]
    fn blank_input_is_no_numbers_not_all_valid() {
        let mut o = Report::new(Vec::new(), false, false);
        o.lines(&b"\n  \n"[..], &mut |bad| panic!("{bad}")).unwrap();
        assert_eq!(o.tally().overall(), Overall::NoNumbers);
    }

    #[test]
    fn a_failed_write_is_a_write_error_keeping_the_io_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut o = Report::new(Closed, false, false);
        let err = o.lines(&b"4111111111111111\n"[..], &mut |_| {}).unwrap_err();
        assert!(matches!(err, RunError::Write(e) if e.kind() == io::ErrorKind::BrokenPipe));
    }
}
