//! HTTP/1.1 framing (RFC 9112): how the request's head is written, and how
//! an answer is read: its status line and headers, the interim (1xx)
//! answers before it, and the length of its body (Content-Length, chunked,
//! or the end of the connection).

use std::io::{self, BufRead, BufReader, Read};

use url::Url;

use super::multipart::Body;
use super::{proxy, UploadError};

/// The most an answer's status line and headers may take.
pub(super) const MAX_HEAD: usize = 64 * 1024;

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
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
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

/// Read the answer's head (skipping 1xx interim answers) and frame its body.
pub(super) fn read_answer(conn: impl Read + Send + 'static, target: &str) -> Result<Answer, UploadError> {
    let bad = |reason: String| UploadError::BadAnswer { target: target.to_owned(), reason };
    let mut reader = BufReader::with_capacity(64 * 1024, conn);
    loop {
        let mut lines = Vec::new();
        let mut total = 0usize;
        loop {
            let mut line = Vec::new();
            let n = (&mut reader)
                .take((MAX_HEAD.saturating_sub(total) as u64).saturating_add(1))
                .read_until(b'\n', &mut line)
                .map_err(|e| UploadError::from_io(target, e))?;
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
        let headers: Vec<(String, String)> = it
            .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned())))
            .collect();
        if (100..200).contains(&status) {
            continue;
        }
        let get = |name: &str| headers.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let location = get("location");
        let chunked = get("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        let body: Box<dyn Read + Send> = if status == 204 || status == 304 {
            Box::new(io::empty())
        } else if chunked {
            Box::new(Chunked { inner: reader, left: 0, started: false, done: false })
        } else if let Some(len) = get("content-length") {
            let len: u64 = len.parse().map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
            Box::new(Delimited(reader.take(len)))
        } else {
            Box::new(reader)
        };
        return Ok(Answer { status, status_line, location, body });
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
