//! The `upload` utility: streaming multipart/form-data uploads (RFC 7578) of
//! files of any size with a Content-Length known up front, over http or https.
//!
//! [`form`] parses the curl-like `-F`/`-H` arguments, [`multipart`] opens the
//! parts and streams the body, [`http`] sends it (with [`framing`] for the
//! wire format, [`proxy`] and [`tls`] for the way there), [`progress`] draws
//! the bar.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    #[error("connecting to {target} timed out after {} s (--connect-timeout)", seconds(*after))]
    ConnectTimeout { target: String, after: Duration },
    #[error("{target} stalled {phase}: no progress for {} s (--stall-timeout)", seconds(*after))]
    Stalled { target: String, phase: Phase, after: Duration },
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

/// What the upload was doing when the connection stopped moving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Asking the proxy for a CONNECT tunnel.
    Tunnel,
    Handshake,
    /// Writing the request (its head and body).
    Sending,
    /// The body is sent; no final answer has begun.
    Waiting,
    /// Reading the answer's body.
    Reading,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Tunnel => "while the proxy opened the tunnel",
            Phase::Handshake => "during the TLS handshake",
            Phase::Sending => "while sending the body",
            Phase::Waiting => "while waiting for the answer",
            Phase::Reading => "while reading the answer",
        })
    }
}

/// The other end of a connection and the longest it may stay silent: what
/// every failure on the connection names.
#[derive(Debug, Clone)]
pub struct Link {
    /// `host:port`, for messages.
    pub target: String,
    /// `--stall-timeout`.
    pub stall: Duration,
}

impl Link {
    /// An io::Error met in `phase`, as the failure it is: a timeout of the
    /// socket is a stall of the whole `stall` time.
    pub(crate) fn failure(&self, phase: Phase, e: io::Error) -> UploadError {
        let target = self.target.clone();
        if let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return UploadError::Tls { target, reason: r.to_string() };
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.stalled(phase),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => UploadError::ServerClosed { target },
            _ => UploadError::Transfer { target, source: e },
        }
    }

    pub(crate) fn stalled(&self, phase: Phase) -> UploadError {
        UploadError::Stalled { target: self.target.clone(), phase, after: self.stall }
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

/// `1`, `0.5`, `2.25`: seconds as given, without trailing zeros.
fn seconds(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_says_who_when_and_how_long() {
        let link = Link { target: "example.org:443".into(), stall: Duration::from_millis(2500) };
        let e = link.failure(Phase::Waiting, io::ErrorKind::WouldBlock.into());
        assert_eq!(
            e.to_string(),
            "example.org:443 stalled while waiting for the answer: no progress for 2.5 s (--stall-timeout)"
        );
        assert_eq!(seconds(Duration::from_secs(120)), "120");
    }
}
