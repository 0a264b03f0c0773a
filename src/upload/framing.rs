//! HTTP/1.1 framing (RFC 9112): how the request's head is written, and how
//! an answer is read: its status line and headers, the interim (1xx)
//! answers before it, and the length of its body (Content-Length, chunked,
//! or the end of the connection).

use std::io::{self, BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use url::Url;

use super::multipart::Body;
use super::{proxy, Link, Phase, UploadError};

/// The most an answer's status line and headers may take.
pub(super) const MAX_HEAD: usize = 64 * 1024;

/// Interim (1xx) answers taken before the final one. A server sends one
/// `100 Continue`, perhaps a `103 Early Hints` or a few `102 Processing`;
/// a server that sends more will not answer.
pub(super) const MAX_INTERIM: u32 = 16;

/// The server's answer, its body not yet read.
pub struct Answer {
    pub status: u16,
    /// `HTTP/1.1 404 Not Found`.
    pub status_line: String,
    pub location: Option<String>,
    pub body: Box<dyn Read + Send>,
}

/// `host:port` of a URL, for messages and CONNECT (IPv6 in brackets).
pub(super) fn authority(url: &Url, default_port: u16) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(default_port))
}

/// The request's head: the request line, `Host`, our defaults unless `-H`
/// gave them, the `-H` headers, and the framing headers the upload owns.
pub(super) fn request_head(
    method: &str,
    url: &Url,
    proxy: Option<&Url>,
    headers: &[(String, String)],
    body: &Body,
) -> String {
    // Via an http proxy, a plain-http request names the whole URL.
    let request_target = match (proxy, url.scheme()) {
        (Some(_), "http") => url[..url::Position::AfterQuery].to_owned(),
        _ => {
            let t = &url[url::Position::BeforePath..url::Position::AfterQuery];
            if t.is_empty() {
                "/".to_owned()
            } else {
                t.to_owned()
            }
        }
    };
    let mut head = format!("{method} {request_target} HTTP/1.1\r\n");
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    head.push_str(&format!("Host: {host}\r\n"));
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("user-agent") {
        head.push_str(concat!("User-Agent: kexec-chooser/", env!("CARGO_PKG_VERSION"), "\r\n"));
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    if let (Some(p), "http") = (proxy, url.scheme()) {
        if let Some(auth) = proxy::authorization(p) {
            head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Type: {}\r\n", body.content_type()));
    head.push_str(&format!("Content-Length: {}\r\n", body.content_length()));
    head.push_str("Connection: close\r\n\r\n");
    head
}

/// `HTTP/1.1 200 OK` → 200.
pub(super) fn parse_status_line(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    let version = words.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let code: u16 = words.next()?.parse().ok()?;
    (100..=999).contains(&code).then_some(code)
}

/// Read the answer's head (after at most [`MAX_INTERIM`] interim answers)
/// and frame its body. `set_read_timeout` sets the connection's read
/// timeout: interim answers are not progress, so the final answer must begin
/// within the stall time of this call however many come before it.
pub(super) fn read_answer(
    conn: impl Read + Send + 'static,
    link: &Link,
    set_read_timeout: &dyn Fn(Duration) -> io::Result<()>,
) -> Result<Answer, UploadError> {
    let bad = |reason: String| UploadError::BadAnswer { target: link.target.clone(), reason };
    let mut reader = BufReader::with_capacity(64 * 1024, conn);
    let waiting = Instant::now();
    let mut interim = 0u32;
    let head = loop {
        let left = link.stall.saturating_sub(waiting.elapsed());
        if left.is_zero() {
            return Err(link.stalled(Phase::Waiting));
        }
        set_read_timeout(left).map_err(|e| link.failure(Phase::Waiting, e))?;
        let head = read_head(&mut reader, link)?;
        match head.status {
            101 => return Err(bad("it switched protocols (101), which the upload never asks for".into())),
            100..=199 => {
                interim = interim.saturating_add(1);
                if interim > MAX_INTERIM {
                    return Err(bad(format!("more than {MAX_INTERIM} interim (1xx) answers and no final one")));
                }
            }
            _ => break head,
        }
    };
    set_read_timeout(link.stall).map_err(|e| link.failure(Phase::Reading, e))?;
    let body: Box<dyn Read + Send> = match body_length(&head).map_err(bad)? {
        BodyLength::None => Box::new(io::empty()),
        BodyLength::Chunked => Box::new(Chunked { inner: reader, left: 0, started: false, done: false }),
        BodyLength::Exactly(len) => Box::new(Delimited(reader.take(len))),
        BodyLength::UntilClose => Box::new(reader),
    };
    let location = head.values("location").last().map(str::to_owned);
    let body = Box::new(Watched { inner: body, link: link.clone() });
    Ok(Answer { status: head.status, status_line: head.status_line, location, body })
}

/// One answer's head.
#[derive(Debug)]
struct Head {
    status_line: String,
    status: u16,
    /// Header fields in order, names in lower case, folded lines joined.
    fields: Vec<(String, String)>,
}

impl Head {
    /// The values of every field called `name` (lower case), in order.
    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Read one head: the status line, the fields, the blank line.
fn read_head(reader: &mut impl BufRead, link: &Link) -> Result<Head, UploadError> {
    let bad = |reason: String| UploadError::BadAnswer { target: link.target.clone(), reason };
    let mut lines = Vec::new();
    let mut total = 0usize;
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take((MAX_HEAD.saturating_sub(total) as u64).saturating_add(1))
            .read_until(b'\n', &mut line)
            .map_err(|e| link.failure(Phase::Waiting, e))?;
        total = total.saturating_add(n);
        if n == 0 {
            return Err(bad(if lines.is_empty() {
                "the connection closed without an answer".into()
            } else {
                "the answer's head ends early".into()
            }));
        }
        if total > MAX_HEAD {
            return Err(bad("the answer's head is too long".into()));
        }
        let text = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_owned();
        if text.is_empty() {
            break;
        }
        lines.push(text);
    }
    let mut it = lines.into_iter();
    let status_line = it.next().unwrap_or_default();
    let status = parse_status_line(&status_line).ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in it {
        if line.starts_with([' ', '\t']) {
            // An obsolete folded line continues the field before it (RFC
            // 9112, 5.2), it is not a field of its own; before any field
            // there is nothing it could continue, and it is dropped.
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Ok(Head { status_line, status, fields })
}

/// How an answer's body ends.
#[derive(Debug, PartialEq, Eq)]
enum BodyLength {
    None,
    Chunked,
    Exactly(u64),
    UntilClose,
}

/// The body's length by RFC 9112, 6.3, strictly: the framing of an answer
/// that could be read two ways is refused, not guessed.
fn body_length(head: &Head) -> Result<BodyLength, String> {
    if matches!(head.status, 204 | 304) {
        return Ok(BodyLength::None);
    }
    let lengths: Vec<&str> = head.values("content-length").flat_map(|v| v.split(',')).map(str::trim).collect();
    if head.values("transfer-encoding").next().is_some() {
        // "ought to be handled as an error": the two say different things,
        // and which one the server meant cannot be known.
        if !lengths.is_empty() {
            return Err("both Transfer-Encoding and Content-Length (RFC 9112, 6.3)".into());
        }
        if head.status_line.starts_with("HTTP/1.0") {
            return Err("Transfer-Encoding in an HTTP/1.0 answer (RFC 9112, 6.1)".into());
        }
        let codings: Vec<String> = head
            .values("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        // The request sends no TE field: chunked is the only coding a
        // server may apply (RFC 9110, 10.1.4).
        if codings != ["chunked"] {
            return Err(format!("transfer coding {:?}, where only chunked may be used", codings.join(", ")));
        }
        return Ok(BodyLength::Chunked);
    }
    let mut length = None;
    for value in lengths {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad Content-Length {value:?}"));
        }
        let n: u64 = value.parse().map_err(|_| format!("bad Content-Length {value:?}"))?;
        match length {
            // Identical values are one length written twice (RFC 9110, 8.6).
            Some(first) if first != n => return Err(format!("differing Content-Length values {first} and {n}")),
            _ => length = Some(n),
        }
    }
    Ok(length.map_or(BodyLength::UntilClose, BodyLength::Exactly))
}

/// An answer body whose stall is reported as one: a read that times out
/// fails with [`UploadError::Stalled`] inside its io::Error, instead of
/// "Resource temporarily unavailable".
struct Watched {
    inner: Box<dyn Read + Send>,
    link: Link,
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                io::Error::new(io::ErrorKind::TimedOut, self.link.stalled(Phase::Reading))
            }
            _ => e,
        })
    }
}

/// An answer body delimited by its Content-Length: ending early is an
/// error, not a silently short answer.
struct Delimited<R>(io::Take<R>);

impl<R: Read> Read for Delimited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        if n == 0 && !buf.is_empty() && self.0.limit() > 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the answer is shorter than its Content-Length"));
        }
        Ok(n)
    }
}

/// A chunked answer body (RFC 9112, 7.1), trailers skipped.
struct Chunked<R> {
    inner: R,
    left: u64,
    started: bool,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn line(&mut self) -> io::Result<String> {
        let mut line = Vec::new();
        (&mut self.inner).take(4096).read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a chunk's size line ends early"));
        }
        Ok(String::from_utf8_lossy(&line).trim().to_owned())
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            if self.started {
                // The CRLF that ends the previous chunk's data.
                let end = self.line()?;
                if !end.is_empty() {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "a chunk is longer than announced"));
                }
            }
            self.started = true;
            let size_line = self.line()?;
            let hex = size_line.split(';').next().unwrap_or_default().trim();
            let size = u64::from_str_radix(hex, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {hex:?}")))?;
            if size == 0 {
                while !self.line()?.is_empty() {}
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let want = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(buf.get_mut(..want).unwrap_or_default())?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the answer ends inside a chunk"));
        }
        self.left = self.left.saturating_sub(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link { target: "h:80".into(), stall: Duration::from_secs(5) }
    }

    fn answer(wire: &'static [u8]) -> Result<Answer, UploadError> {
        read_answer(wire, &link(), &|_| Ok(()))
    }

    fn length(head: &'static str) -> Result<BodyLength, String> {
        let mut wire = head.as_bytes();
        body_length(&read_head(&mut wire, &link()).unwrap())
    }

    #[test]
    fn body_lengths_follow_rfc_9112_and_conflicts_are_refused() {
        assert_eq!(length("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), Ok(BodyLength::Exactly(5)));
        assert_eq!(
            length("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\n\r\n"),
            Ok(BodyLength::Exactly(5))
        );
        assert_eq!(length("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"), Ok(BodyLength::Chunked));
        assert_eq!(length("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), Ok(BodyLength::None));
        assert_eq!(length("HTTP/1.1 200 OK\r\n\r\n"), Ok(BodyLength::UntilClose));
        for (head, says) in [
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "differing"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 5,6\r\n\r\n", "differing"),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
            ("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "bad Content-Length"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "bad Content-Length"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "both"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "transfer coding"),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "transfer coding"),
            ("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0"),
        ] {
            let e = length(head).unwrap_err();
            assert!(e.contains(says), "{head:?}: {e}");
        }
    }

    #[test]
    fn a_folded_line_continues_its_field_and_is_no_field_of_its_own() {
        let wire = "HTTP/1.1 200 OK\r\nX-A: one\r\n\tContent-Length: 9\r\n Length: 7\r\n\r\n";
        let head = read_head(&mut wire.as_bytes(), &link()).unwrap();
        assert_eq!(head.fields, [("x-a".to_owned(), "one Content-Length: 9 Length: 7".to_owned())]);
    }

    #[test]
    fn interim_answers_are_skipped_up_to_a_bound() {
        let mut a = answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert_eq!(a.status, 201);
        let mut body = String::new();
        a.body.read_to_string(&mut body).unwrap();
        assert_eq!(body, "ok");
        let flood: &'static [u8] = "HTTP/1.1 100 Continue\r\n\r\n".repeat(17).leak().as_bytes();
        let e = answer(flood).err().unwrap().to_string();
        assert!(e.contains("more than 16 interim (1xx) answers"), "{e}");
        let e = answer(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").err().unwrap().to_string();
        assert!(e.contains("switched protocols"), "{e}");
    }

    #[test]
    fn a_stalled_answer_body_says_so() {
        struct Silent;
        impl Read for Silent {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
        let mut watched = Watched { inner: Box::new(Silent), link: link() };
        let e = watched.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "h:80 stalled while reading the answer: no progress for 5 s (--stall-timeout)");
    }

    #[test]
    fn chunked_answers_are_decoded_and_trailers_skipped() {
        let wire = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
        let mut r = Chunked { inner: &wire[..], left: 0, started: false, done: false };
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
    }

    #[test]
    fn chunked_answers_that_lie_are_errors() {
        for wire in [&b"5\r\nhel"[..], b"zz\r\n", b"2\r\nhello\r\n0\r\n\r\n"] {
            let mut r = Chunked { inner: wire, left: 0, started: false, done: false };
            assert!(r.read_to_end(&mut Vec::new()).is_err(), "{:?}", String::from_utf8_lossy(wire));
        }
    }

    #[test]
    fn an_answer_shorter_than_its_content_length_is_an_error() {
        let mut short = Delimited((&b"abc"[..]).take(5));
        assert!(short.read_to_end(&mut Vec::new()).is_err());
        let mut exact = Delimited((&b"abcdef"[..]).take(5));
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcde");
    }

    #[test]
    fn status_lines_parse_or_are_refused() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(parse_status_line("HTTP/1.0 404"), Some(404));
        assert_eq!(parse_status_line("SIP/2.0 200 OK"), None);
        assert_eq!(parse_status_line("HTTP/1.1 abc"), None);
        assert_eq!(parse_status_line(""), None);
    }
}
