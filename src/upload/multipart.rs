//! The multipart/form-data body (RFC 7578): opened parts, the boundary, the
//! exact length computed before sending, and a reader that streams the body
//! without holding any file in memory and fails when a file changes size.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::form::{FormSpec, Source};
use super::{mime, UploadError};

/// How many random characters a boundary carries (RFC 2046 allows 70 in all).
pub const BOUNDARY_RANDOM_CHARS: usize = 32;
const BOUNDARY_PREFIX: &str = "kexec-chooser-";
const BOUNDARY_ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The content of one part, ready to stream.
#[derive(Debug)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A seekable file (regular file, block device or the spool of a pipe).
    File(FilePart),
}

#[derive(Debug)]
pub struct FilePart {
    file: File,
    len: u64,
    /// Only regular files can be re-checked with fstat before a re-send.
    regular: bool,
    /// What the person named it (a path, or `-`), for messages.
    label: PathBuf,
}

/// A form part with its content opened.
#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub content: Content,
}

/// Open every part. Files are opened and measured now, before any connection,
/// so a missing file is reported before a byte is sent. Standard input (and
/// any other pipe-like file) is spooled to an unnamed temporary file so that
/// its length is known; `spool.dir` is where (TMPDIR by default).
pub fn open_parts(specs: Vec<FormSpec>, stdin: &mut dyn Read, spool: &Spool) -> Result<Vec<Part>, UploadError> {
    let mut stdin_used = false;
    let mut parts = Vec::with_capacity(specs.len());
    for spec in specs {
        let content = match &spec.source {
            Source::Text(bytes) => Content::Bytes(bytes.clone()),
            Source::Stdin => {
                if stdin_used {
                    return Err(UploadError::StdinTwice);
                }
                stdin_used = true;
                Content::File(spool.copy(stdin, Path::new("-"))?)
            }
            Source::Path(path) => Content::File(open_file(path, spool)?),
        };
        let filename = match (&spec.filename, &spec.source, spec.is_file) {
            (_, _, false) => None,
            (Some(f), _, true) => Some(f.clone()),
            (None, Source::Path(p), true) => Some(
                p.file_name().map_or_else(|| p.to_string_lossy().into_owned(), |n| n.to_string_lossy().into_owned()),
            ),
            (None, _, true) => Some("stdin".to_owned()),
        };
        let content_type = match (&spec.content_type, &filename) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(f)) => Some(mime::guess(f).to_owned()),
            (None, None) => None,
        };
        parts.push(Part { name: spec.name, filename, content_type, content });
    }
    Ok(parts)
}

/// Open a named file and learn its length: regular files from fstat, block
/// devices (a disk to upload) by seeking to their end, anything else (a FIFO,
/// /dev/stdin on a pipe) by spooling it.
fn open_file(path: &Path, spool: &Spool) -> Result<FilePart, UploadError> {
    let file_err = |source| UploadError::FileOpen { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(file_err)?;
    let meta = file.metadata().map_err(file_err)?;
    if meta.is_dir() {
        return Err(UploadError::IsADirectory { path: path.to_owned() });
    }
    if meta.is_file() {
        return Ok(FilePart { file, len: meta.len(), regular: true, label: path.to_owned() });
    }
    if let Ok(len) = file.seek(SeekFrom::End(0)) {
        if len > 0 && file.seek(SeekFrom::Start(0)).is_ok() {
            return Ok(FilePart { file, len, regular: false, label: path.to_owned() });
        }
    }
    spool.copy(&mut file, path)
}

/// Where sources that are not regular files (pipes, FIFOs, character
/// devices) are copied to learn their length, and the most each may hold:
/// without a bound, `</dev/zero` or a runaway pipe would fill TMPDIR
/// (memory, when it is a tmpfs).
#[derive(Debug, Clone)]
pub struct Spool {
    pub dir: PathBuf,
    pub limit: u64,
}

impl Spool {
    /// Copy `input` to an unnamed temporary file (gone when closed, whatever
    /// happens), refusing it once it holds more than the limit.
    fn copy(&self, input: &mut dyn Read, label: &Path) -> Result<FilePart, UploadError> {
        let spool_err = |source| UploadError::Spool { path: label.to_owned(), dir: self.dir.clone(), source };
        let mut file = tempfile::tempfile_in(&self.dir).map_err(spool_err)?;
        let len = io::copy(&mut Read::take(input, self.limit.saturating_add(1)), &mut file).map_err(spool_err)?;
        if len > self.limit {
            return Err(UploadError::SpoolLimit { path: label.to_owned(), limit: self.limit });
        }
        file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
        Ok(FilePart { file, len, regular: false, label: label.to_owned() })
    }
}

/// Quote a name or file name for Content-Disposition as browsers do (WHATWG
/// HTML, "multipart/form-data encoding algorithm"): `"`, CR and LF become
/// `%22`, `%0D`, `%0A`; everything else, UTF-8 included, goes as is.
pub fn encode_disposition_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

fn part_header(boundary: &str, part: &Part) -> String {
    let mut h =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"", encode_disposition_value(&part.name));
    if let Some(f) = &part.filename {
        h.push_str(&format!("; filename=\"{}\"", encode_disposition_value(f)));
    }
    h.push_str("\r\n");
    if let Some(t) = &part.content_type {
        h.push_str(&format!("Content-Type: {t}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// A random boundary from the kernel's generator (getrandom).
pub fn random_boundary() -> Result<String, UploadError> {
    let mut out = String::from(BOUNDARY_PREFIX);
    let mut buf = [0u8; 64];
    while out.len() < BOUNDARY_PREFIX.len() + BOUNDARY_RANDOM_CHARS {
        crate::sys::random::fill(&mut buf).map_err(|e| UploadError::Random { reason: e.to_string() })?;
        // Rejection sampling keeps every character equally likely.
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() >= BOUNDARY_PREFIX.len() + BOUNDARY_RANDOM_CHARS {
                break;
            }
            if let Some(c) = BOUNDARY_ALPHABET.get(usize::from(*b % 62)) {
                out.push(char::from(*c));
            }
        }
    }
    Ok(out)
}

/// Whether `boundary` appears in anything the body holds in memory: the
/// parts' headers and text values. (File contents are streamed and cannot be
/// scanned ahead; 32 random characters make a collision there negligible.)
fn boundary_collides(boundary: &str, parts: &[Part]) -> bool {
    let needle = boundary.as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    parts.iter().any(|p| {
        contains(p.name.as_bytes())
            || p.filename.as_ref().is_some_and(|f| contains(f.as_bytes()))
            || p.content_type.as_ref().is_some_and(|t| contains(t.as_bytes()))
            || matches!(&p.content, Content::Bytes(b) if contains(b))
    })
}

/// One stretch of the body: bytes in memory or a file's contents.
#[derive(Debug)]
enum Segment {
    Bytes(Vec<u8>),
    File(FilePart),
}

/// The whole request body, with its length known before sending.
#[derive(Debug)]
pub struct Body {
    boundary: String,
    segments: Vec<Segment>,
    len: u64,
}

impl Body {
    /// Lay out the body with a boundary from `next_boundary`, drawing again
    /// while the boundary collides with the parts' headers or text values.
    pub fn new(
        parts: Vec<Part>,
        mut next_boundary: impl FnMut() -> Result<String, UploadError>,
    ) -> Result<Body, UploadError> {
        let mut boundary = next_boundary()?;
        let mut tries = 1u32;
        while boundary_collides(&boundary, &parts) {
            if tries >= 16 {
                return Err(UploadError::BoundaryCollision);
            }
            boundary = next_boundary()?;
            tries = tries.saturating_add(1);
        }
        let mut segments = Vec::with_capacity(parts.len().saturating_mul(3).saturating_add(1));
        let mut len: u64 = 0;
        let mut add = |n: u64| -> Result<(), UploadError> {
            len = len.checked_add(n).ok_or(UploadError::TooLarge)?;
            Ok(())
        };
        let mut pending = Vec::new();
        for part in parts {
            pending.extend_from_slice(part_header(&boundary, &part).as_bytes());
            match part.content {
                Content::Bytes(b) => pending.extend_from_slice(&b),
                Content::File(f) => {
                    add(f.len)?;
                    segments.push(Segment::Bytes(std::mem::take(&mut pending)));
                    segments.push(Segment::File(f));
                }
            }
            pending.extend_from_slice(b"\r\n");
        }
        pending.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        segments.push(Segment::Bytes(pending));
        for s in &segments {
            if let Segment::Bytes(b) = s {
                add(b.len() as u64)?;
            }
        }
        Ok(Body { boundary, segments, len })
    }

    /// The exact number of bytes the body has.
    pub fn content_length(&self) -> u64 {
        self.len
    }

    /// The Content-Type header of the request.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// A reader over the whole body from its first byte. Every file is
    /// rewound, and a regular file whose size differs from the one the
    /// Content-Length was computed from is refused (a re-send after a
    /// redirect must send the same bytes). The first failure while reading
    /// is stored in `failure` so the caller can report it as itself.
    pub fn reader<'a>(
        &'a mut self,
        failure: &'a mut Option<UploadError>,
        progress: &'a mut dyn FnMut(u64),
    ) -> Result<BodyReader<'a>, UploadError> {
        for s in &mut self.segments {
            if let Segment::File(f) = s {
                f.file
                    .seek(SeekFrom::Start(0))
                    .map_err(|source| UploadError::NotRereadable { path: f.label.clone(), source })?;
                if f.regular {
                    let now = f
                        .file
                        .metadata()
                        .map_err(|source| UploadError::FileRead { path: f.label.clone(), source })?
                        .len();
                    if now != f.len {
                        return Err(UploadError::FileChanged { path: f.label.clone(), expected: f.len, now });
                    }
                }
            }
        }
        Ok(BodyReader { segments: &mut self.segments, index: 0, offset: 0, sent: 0, failure, progress })
    }
}

/// Streams a [`Body`]; see [`Body::reader`].
pub struct BodyReader<'a> {
    segments: &'a mut [Segment],
    index: usize,
    /// Bytes already read from the current segment.
    offset: u64,
    sent: u64,
    failure: &'a mut Option<UploadError>,
    progress: &'a mut dyn FnMut(u64),
}

impl BodyReader<'_> {
    fn fail(&mut self, err: UploadError) -> io::Error {
        let io = io::Error::other(err.to_string());
        *self.failure = Some(err);
        io
    }

    fn advance(&mut self, n: usize) -> usize {
        self.offset = self.offset.saturating_add(n as u64);
        self.sent = self.sent.saturating_add(n as u64);
        (self.progress)(self.sent);
        n
    }

    fn next_segment(&mut self) {
        self.index = self.index.saturating_add(1);
        self.offset = 0;
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let offset = self.offset;
            let step = match self.segments.get_mut(self.index) {
                None => return Ok(0),
                Some(Segment::Bytes(bytes)) => {
                    let rest = usize::try_from(offset).ok().and_then(|o| bytes.get(o..)).unwrap_or_default();
                    let n = rest.len().min(buf.len());
                    match (rest.get(..n), buf.get_mut(..n)) {
                        (Some(src), Some(dst)) if n > 0 => {
                            dst.copy_from_slice(src);
                            Step::Read(n)
                        }
                        _ => Step::Next,
                    }
                }
                Some(Segment::File(f)) => {
                    let remaining = f.len.saturating_sub(offset);
                    if remaining == 0 {
                        // The file should end here; one more byte means it grew.
                        let mut one = [0u8; 1];
                        match f.file.read(&mut one) {
                            Ok(0) => Step::Next,
                            Ok(_) => Step::Fail(UploadError::FileGrew { path: f.label.clone(), expected: f.len }),
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(source) => Step::Fail(UploadError::FileRead { path: f.label.clone(), source }),
                        }
                    } else {
                        let want = usize::try_from(remaining).unwrap_or(usize::MAX).min(buf.len());
                        let dst = buf.get_mut(..want).unwrap_or_default();
                        match f.file.read(dst) {
                            Ok(0) => Step::Fail(UploadError::FileShrank {
                                path: f.label.clone(),
                                expected: f.len,
                                got: offset,
                            }),
                            Ok(n) => Step::Read(n),
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(source) => Step::Fail(UploadError::FileRead { path: f.label.clone(), source }),
                        }
                    }
                }
            };
            match step {
                Step::Read(n) => return Ok(self.advance(n)),
                Step::Next => self.next_segment(),
                Step::Fail(e) => return Err(self.fail(e)),
            }
        }
    }
}

enum Step {
    Read(usize),
    Next,
    Fail(UploadError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::form::parse_form;
    use std::io::Write;

    fn spool_in(dir: &Path) -> Spool {
        Spool { dir: dir.to_owned(), limit: 1 << 30 }
    }

    fn fixed(b: &str) -> impl FnMut() -> Result<String, UploadError> + '_ {
        move || Ok(b.to_owned())
    }

    fn read_all(body: &mut Body) -> (Vec<u8>, Option<UploadError>) {
        let mut failure = None;
        let mut out = Vec::new();
        let mut progress = |_| {};
        let mut r = body.reader(&mut failure, &mut progress).unwrap();
        let _ = r.read_to_end(&mut out);
        (out, failure)
    }

    #[test]
    fn body_layout_matches_rfc7578_and_length_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"hello\n").unwrap();
        let specs = vec![
            parse_form("field=va\"lue").unwrap(),
            parse_form(&format!("up=@{};filename=n\"a\r\nme.txt", path.display())).unwrap(),
        ];
        let parts = open_parts(specs, &mut io::empty(), &spool_in(dir.path())).unwrap();
        let mut body = Body::new(parts, fixed("BOUNDARYxxxxxxxxxxxxxxxxxxxxxxxx")).unwrap();
        let (bytes, failure) = read_all(&mut body);
        assert!(failure.is_none());
        let expected = "--BOUNDARYxxxxxxxxxxxxxxxxxxxxxxxx\r\n\
            Content-Disposition: form-data; name=\"field\"\r\n\r\n\
            va\"lue\r\n\
            --BOUNDARYxxxxxxxxxxxxxxxxxxxxxxxx\r\n\
            Content-Disposition: form-data; name=\"up\"; filename=\"n%22a%0D%0Ame.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            hello\n\r\n\
            --BOUNDARYxxxxxxxxxxxxxxxxxxxxxxxx--\r\n";
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        assert_eq!(body.content_length(), bytes.len() as u64);
    }

    #[test]
    fn boundary_is_drawn_again_when_it_appears_in_a_header_or_value() {
        let specs = vec![parse_form("f=has BAD inside").unwrap()];
        let parts = open_parts(specs, &mut io::empty(), &spool_in(Path::new("/tmp"))).unwrap();
        let mut draws = vec!["GOODgoodGOODgoodGOODgood", "BAD"];
        let body = Body::new(parts, || Ok(draws.pop().unwrap().to_owned())).unwrap();
        assert_eq!(body.boundary, "GOODgoodGOODgoodGOODgood");
    }

    #[test]
    fn random_boundary_is_long_and_fresh() {
        let a = random_boundary().unwrap();
        let b = random_boundary().unwrap();
        assert_ne!(a, b);
        let random = a.strip_prefix(BOUNDARY_PREFIX).unwrap();
        assert!(random.len() >= 24);
        assert!(random.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(a.len() <= 70, "RFC 2046 caps boundaries at 70 characters");
    }

    #[test]
    fn stdin_is_spooled_and_measured() {
        let dir = tempfile::tempdir().unwrap();
        let parts =
            open_parts(vec![parse_form("f=@-").unwrap()], &mut &b"piped data"[..], &spool_in(dir.path())).unwrap();
        let part = parts.first().unwrap();
        assert_eq!(part.filename.as_deref(), Some("stdin"));
        assert!(matches!(&part.content, Content::File(f) if f.len == 10));
    }

    #[test]
    fn a_spooled_source_over_the_limit_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool { dir: dir.path().to_owned(), limit: 10 };
        let just = open_parts(vec![parse_form("f=@-").unwrap()], &mut &[1u8; 10][..], &spool).unwrap();
        assert!(matches!(&just[0].content, Content::File(f) if f.len == 10));
        let err = open_parts(vec![parse_form("f=@-").unwrap()], &mut io::repeat(0), &spool).unwrap_err();
        assert!(matches!(err, UploadError::SpoolLimit { limit: 10, .. }), "{err:?}");
        assert!(err.to_string().starts_with("standard input is not a regular file"), "{err}");
    }

    #[test]
    fn stdin_cannot_feed_two_parts() {
        let specs = vec![parse_form("a=@-").unwrap(), parse_form("b=<-").unwrap()];
        let err = open_parts(specs, &mut io::empty(), &spool_in(Path::new("/tmp"))).unwrap_err();
        assert!(matches!(err, UploadError::StdinTwice));
    }

    #[test]
    fn missing_file_is_an_open_error_naming_it() {
        let err =
            open_parts(vec![parse_form("f=@/nonexistent/x").unwrap()], &mut io::empty(), &spool_in(Path::new("/tmp")))
                .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x"), "{err}");
    }

    fn body_over(dir: &Path, content: &[u8]) -> (PathBuf, Body) {
        let path = dir.join("f.bin");
        std::fs::write(&path, content).unwrap();
        let specs = vec![parse_form(&format!("f=@{}", path.display())).unwrap()];
        let parts = open_parts(specs, &mut io::empty(), &spool_in(dir)).unwrap();
        (path, Body::new(parts, fixed("BOUNDARYxxxxxxxxxxxxxxxxxxxxxxxx")).unwrap())
    }

    #[test]
    fn a_file_that_shrinks_while_sent_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut body) = body_over(dir.path(), &[7u8; 100_000]);
        let mut failure = None;
        let mut progress = |_| {};
        let mut r = body.reader(&mut failure, &mut progress).unwrap();
        let mut buf = [0u8; 1000];
        r.read_exact(&mut buf).unwrap();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(10).unwrap();
        let mut sink = Vec::new();
        assert!(r.read_to_end(&mut sink).is_err());
        assert!(matches!(failure, Some(UploadError::FileShrank { expected: 100_000, .. })), "{failure:?}");
    }

    #[test]
    fn a_file_that_grows_while_sent_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut body) = body_over(dir.path(), b"abc");
        let mut failure = None;
        let mut progress = |_| {};
        let mut r = body.reader(&mut failure, &mut progress).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"more").unwrap();
        let mut sink = Vec::new();
        assert!(r.read_to_end(&mut sink).is_err());
        assert!(matches!(failure, Some(UploadError::FileGrew { expected: 3, .. })), "{failure:?}");
    }

    #[test]
    fn rereading_refuses_a_file_whose_size_changed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut body) = body_over(dir.path(), b"abc");
        let (first, _) = read_all(&mut body);
        let (second, _) = read_all(&mut body);
        assert_eq!(first, second, "a re-read sends the same bytes");
        std::fs::write(&path, b"abcd").unwrap();
        let mut failure = None;
        let mut progress = |_| {};
        assert!(matches!(
            body.reader(&mut failure, &mut progress),
            Err(UploadError::FileChanged { expected: 3, now: 4, .. })
        ));
    }

    #[test]
    fn disposition_values_are_encoded_as_browsers_do() {
        assert_eq!(encode_disposition_value("a\"b\r\nc é"), "a%22b%0D%0Ac é");
        assert_eq!(encode_disposition_value("100%"), "100%");
    }
}
