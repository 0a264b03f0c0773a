//! Reading card numbers: bounded lines from a stream, and the normalisation
//! of one line into its digits (spaces and dashes dropped, anything else an
//! error that names its position but never echoes the number).

use std::io::{self, BufRead};

/// The longest line kept, in bytes (19 digits with separators need under 40).
/// Longer lines are reported and skipped without being stored, so a binary
/// file or a missing newline cannot make the program grow without bound.
pub const LINE_LIMIT: usize = 256;

/// Why a line is not a usable card number. Messages never contain the
/// digits of the line; a bad character is shown only when it is not a digit.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("character {character:?} at position {position} is not a digit, space or dash")]
    BadCharacter { position: usize, character: char },
    #[error("a non-ASCII digit at position {position}; only 0-9 are card digits")]
    NonAsciiDigit { position: usize },
    #[error("byte 0x{byte:02x} at position {position} is not UTF-8 text")]
    NotUtf8 { position: usize, byte: u8 },
    #[error("no digits, only spaces and dashes")]
    NoDigits,
    #[error("longer than {LINE_LIMIT} bytes")]
    TooLong,
}

/// The digits of a card number: ASCII `0-9` only, at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digits<'a>(&'a str);

impl<'a> Digits<'a> {
    pub fn as_str(&self) -> &'a str {
        self.0
    }
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Never true (a `Digits` has at least one digit); here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The digits of `line`, written into `buf` (reused between lines so the
/// hot loop does not allocate). `Ok(None)` for a blank line (empty or only
/// spaces), which callers skip.
pub fn digits_of<'b>(line: &[u8], buf: &'b mut String) -> Result<Option<Digits<'b>>, LineError> {
    buf.clear();
    let mut dash = false;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'0'..=b'9' => buf.push(char::from(b)),
            b' ' => {}
            b'-' => dash = true,
            _ => return Err(bad_character(line, i)),
        }
    }
    if buf.is_empty() {
        return if dash { Err(LineError::NoDigits) } else { Ok(None) };
    }
    Ok(Some(Digits(buf.as_str())))
}

/// The error for the byte at `at`, the first one that is not a digit, space
/// or dash. Every byte before it is ASCII, so the 1-based character position
/// is `at + 1`.
fn bad_character(line: &[u8], at: usize) -> LineError {
    let position = at.saturating_add(1);
    let rest = line.get(at..).unwrap_or_default();
    let first = rest.utf8_chunks().next();
    match first.and_then(|chunk| chunk.valid().chars().next()) {
        Some(c) if c.is_numeric() => LineError::NonAsciiDigit { position },
        Some(character) => LineError::BadCharacter { position, character },
        None => LineError::NotUtf8 { position, byte: rest.first().copied().unwrap_or(0) },
    }
}

/// One line of input as [`Lines`] hands it out.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The bytes of the line, without its `\n` or `\r\n`.
    Text(&'a [u8]),
    /// The line was longer than [`LINE_LIMIT`]; its bytes were not kept.
    TooLong,
}

/// Lines of a stream, at most [`LINE_LIMIT`] bytes each, numbered from 1.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines { reader, buf: Vec::with_capacity(LINE_LIMIT), number: 0 }
    }

    /// The next line and its 1-based number, or `None` at the end. A last
    /// line without a newline still counts.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut too_long = false;
        let mut started = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !started {
                    return Ok(None);
                }
                break;
            }
            started = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let end = newline.unwrap_or(available.len());
            let part = available.get(..end).unwrap_or_default();
            if !too_long {
                if self.buf.len().saturating_add(part.len()) > LINE_LIMIT.saturating_add(1) {
                    // One byte of slack for a '\r' that the line may end in.
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let consumed = newline.map_or(end, |n| n.saturating_add(1));
            self.reader.consume(consumed);
            if newline.is_some() {
                break;
            }
        }
        self.number = self.number.saturating_add(1);
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if too_long || self.buf.len() > LINE_LIMIT {
            return Ok(Some((self.number, Line::TooLong)));
        }
        Ok(Some((self.number, Line::Text(&self.buf))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(line: &str) -> Result<Option<String>, LineError> {
        let mut buf = String::new();
        digits_of(line.as_bytes(), &mut buf).map(|d| d.map(|d| d.as_str().to_owned()))
    }

    #[test]
    fn spaces_and_dashes_are_dropped() {
        assert_eq!(digits("4111-1111-1111-1111"), Ok(Some("4111111111111111".into())));
        assert_eq!(digits("4111 1111 1111 1112"), Ok(Some("4111111111111112".into())));
        assert_eq!(digits(" 41--11 "), Ok(Some("4111".into())));
    }

    #[test]
    fn blank_lines_are_none_and_separator_only_lines_are_errors() {
        assert_eq!(digits(""), Ok(None));
        assert_eq!(digits("    "), Ok(None));
        assert_eq!(digits(" - "), Err(LineError::NoDigits));
    }

    #[test]
    fn a_bad_character_is_named_with_its_position() {
        assert_eq!(digits("4111x1111"), Err(LineError::BadCharacter { position: 5, character: 'x' }));
        assert_eq!(digits("41\t11"), Err(LineError::BadCharacter { position: 3, character: '\t' }));
        assert_eq!(digits("é"), Err(LineError::BadCharacter { position: 1, character: 'é' }));
    }

    #[test]
    fn a_non_ascii_digit_is_not_shown() {
        let e = digits("4111٣1111").unwrap_err();
        assert_eq!(e, LineError::NonAsciiDigit { position: 5 });
        assert!(!e.to_string().contains('٣'));
    }

    #[test]
    fn invalid_utf8_names_the_byte() {
        let mut buf = String::new();
        assert_eq!(digits_of(b"41\xff1", &mut buf), Err(LineError::NotUtf8 { position: 3, byte: 0xff }));
    }

    #[test]
    fn error_messages_do_not_contain_the_digits() {
        for line in ["4111111111111111x", "41111111111111111\u{0}", "4111111111111111١"] {
            let e = digits(line).unwrap_err().to_string();
            assert!(!e.contains("4111"), "{e}");
        }
    }

    fn all_lines(input: &[u8], capacity: usize) -> Vec<(u64, Option<Vec<u8>>)> {
        let reader = io::BufReader::with_capacity(capacity, input);
        let mut lines = Lines::new(reader);
        let mut out = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            out.push((
                n,
                match line {
                    Line::Text(t) => Some(t.to_vec()),
                    Line::TooLong => None,
                },
            ));
        }
        out
    }

    #[test]
    fn lines_are_numbered_and_split_on_newlines_and_crlf() {
        for capacity in [1, 2, 3, 7, 8192] {
            let got = all_lines(b"12\r\n\n34\nlast", capacity);
            assert_eq!(
                got,
                vec![
                    (1, Some(b"12".to_vec())),
                    (2, Some(b"".to_vec())),
                    (3, Some(b"34".to_vec())),
                    (4, Some(b"last".to_vec())),
                ],
                "capacity {capacity}"
            );
        }
        assert!(all_lines(b"", 8).is_empty());
        assert_eq!(all_lines(b"\n", 8), vec![(1, Some(vec![]))]);
    }

    /// A reader that hands out its bytes, then fails (after one `Interrupted`,
    /// which must be retried, not reported).
    struct Failing {
        data: &'static [u8],
        interrupted: bool,
    }

    impl io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("used through BufRead")
        }
    }

    impl BufRead for Failing {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if !self.data.is_empty() {
                return Ok(self.data);
            }
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            Err(io::Error::other("device gone"))
        }
        fn consume(&mut self, n: usize) {
            self.data = &self.data[n..];
        }
    }

    #[test]
    fn a_read_error_is_returned_and_interrupted_reads_are_retried() {
        let mut lines = Lines::new(Failing { data: b"12\n34", interrupted: false });
        assert_eq!(lines.next_line().unwrap(), Some((1, Line::Text(b"12"))));
        let e = lines.next_line().unwrap_err();
        assert_eq!(e.to_string(), "device gone");
    }

    #[test]
    fn overlong_lines_are_reported_and_skipped() {
        let mut input = vec![b'1'; LINE_LIMIT + 1];
        input.extend_from_slice(b"\n");
        input.extend_from_slice(&vec![b'2'; LINE_LIMIT]);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(&vec![b'3'; 100_000]);
        input.extend_from_slice(b"\n4\n");
        for capacity in [1, 5, 8192] {
            let got = all_lines(&input, capacity);
            assert_eq!(got.len(), 4);
            assert_eq!(got[0], (1, None));
            assert_eq!(got[1], (2, Some(vec![b'2'; LINE_LIMIT])));
            assert_eq!(got[2], (3, None));
            assert_eq!(got[3], (4, Some(b"4".to_vec())));
        }
    }
}
