//! The `upload` utility: streaming multipart/form-data uploads (RFC 7578) of
//! files of any size with a Content-Length known up front, over http or https.
//!
//! [`form`] parses the curl-like `-F`/`-H` arguments, [`multipart`] opens the
//! parts and streams the body, [`http`] sends it (with [`framing`] for the
//! wire format, [`proxy`] and [`tls`] for the way there), [`progress`] draws
//! the bar.

use std::io;
use std::path::{Path, PathBuf};

pub mod form;
pub mod framing;
pub mod http;
pub mod mime;
pub mod multipart;
pub mod progress;
pub mod proxy;
pub mod tls;

/// Every way an upload can fail before the server answers.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("bad -F {spec:?}: {reason}")]
    FormSyntax { spec: String, reason: String },
    #[error("bad -H {header:?}: {reason}")]
    HeaderSyntax { header: String, reason: String },
    #[error("bad URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot read {}", path.display())]
    FileOpen { path: PathBuf, source: std::io::Error },
    #[error("{} is a directory, not a file", path.display())]
    IsADirectory { path: PathBuf },
    #[error("standard input can feed only one -F part")]
    StdinTwice,
    #[error("cannot spool {} to a temporary file in {}", path.display(), dir.display())]
    Spool { path: PathBuf, dir: PathBuf, source: std::io::Error },
    #[error(
        "{} is not a regular file, so it is spooled to learn its length, and it holds more than the spool \
         limit of {}: --spool-limit SIZE raises it (TMPDIR says where it is spooled)",
        source_name(path), progress::human_bytes(*limit)
    )]
    SpoolLimit { path: PathBuf, limit: u64 },
    #[error("cannot draw a random boundary: {reason}")]
    Random { reason: String },
    #[error("no boundary that avoids the parts' headers was found")]
    BoundaryCollision,
    #[error("the body is larger than 2^64 bytes")]
    TooLarge,
    #[error("error reading {}", path.display())]
    FileRead { path: PathBuf, source: std::io::Error },
    #[error("{} shrank while it was sent: expected {expected} bytes, it ended after {got}", path.display())]
    FileShrank { path: PathBuf, expected: u64, got: u64 },
    #[error("{} grew while it was sent: it has more than the {expected} bytes announced", path.display())]
    FileGrew { path: PathBuf, expected: u64 },
    #[error("{} changed size ({expected} bytes announced, {now} now): not sending it again", path.display())]
    FileChanged { path: PathBuf, expected: u64, now: u64 },
    #[error("cannot re-read {} to follow the redirect", path.display())]
    NotRereadable { path: PathBuf, source: std::io::Error },
    #[error("bad CA bundle {}: {reason}", path.display())]
    CaBundle { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {reason}")]
    TlsSetup { reason: String },
    #[error("bad proxy {proxy:?}: {reason}")]
    BadProxy { proxy: String, reason: String },
    #[error("the proxy {proxy} failed: {reason}")]
    ProxyFailed { proxy: String, reason: String },
    #[error("cannot connect to {target}")]
    Connect { target: String, source: std::io::Error },
    #[error("TLS with {target} failed: {reason} (--cacert FILE trusts another CA; --insecure skips verification)")]
    Tls { target: String, reason: String },
    #[error("timed out talking to {target} (see --connect-timeout, --stall-timeout)")]
    Timeout { target: String },
    #[error("{target} closed the connection before taking the whole body (it may refuse the upload)")]
    ServerClosed { target: String },
    #[error("transfer with {target} failed")]
    Transfer { target: String, source: std::io::Error },
    #[error("{target} sent a malformed answer: {reason}")]
    BadAnswer { target: String, reason: String },
    #[error("more than {max} redirects")]
    TooManyRedirects { max: u32 },
    #[error("bad redirect Location {location:?}")]
    BadRedirect { location: String, source: url::ParseError },
}

impl UploadError {
    /// An io::Error met while talking to `target`, as the failure it is.
    pub(crate) fn from_io(target: &str, e: io::Error) -> UploadError {
        if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return UploadError::Tls { target: target.to_owned(), reason: r.to_string() };
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => UploadError::Timeout { target: target.to_owned() },
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                UploadError::ServerClosed { target: target.to_owned() }
            }
            _ => UploadError::Transfer { target: target.to_owned(), source: e },
        }
    }
}

/// A `-F` source as a person named it: `-` is standard input.
fn source_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}
