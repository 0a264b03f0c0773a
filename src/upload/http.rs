//! The HTTP/1.1 exchange, a small client over std's TcpStream and rustls:
//! one request whose body streams from a [`Body`] in 64 KiB writes with a
//! fixed Content-Length, over a fresh connection (direct, through the proxy
//! of [`proxy`], with the TLS of [`tls`]), 307/308 redirects followed by
//! re-reading the body, and socket timeouts that catch a stall. How the
//! request and the answer are framed is [`framing`](super::framing)'s.
//! (ureq 2 was tried first: it copies a body in 8 KiB slices, which halved
//! the throughput of curl's, and it loses an answer sent before the body ends.)

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use super::framing::Answer;
use super::framing::{authority, read_answer, request_head};
use super::multipart::Body;
use super::{proxy, tls, Link, Phase, UploadError};

/// Redirects followed at most (curl's default is 50; an upload needs few).
pub const MAX_REDIRECTS: u32 = 5;

/// The size of each write of the body: large enough that syscalls cost
/// little next to the copy, small enough to stay in the CPU's cache (256 KiB
/// took twice the CPU time of 64 KiB in benches/upload/run.sh).
const WRITE_BUFFER: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// Everything about the request except its body.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: Url,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// The longest a single read or write on the socket may wait.
    pub stall_timeout: Duration,
    pub insecure: bool,
    /// The CA bundle (PEM) to trust; [`tls::SYSTEM_CA_BUNDLE`] when `None`.
    pub ca_bundle: Option<PathBuf>,
}

/// A connection, plain or TLS.
trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// Send `body` to `req.url`, following 307/308 redirects by re-sending it.
/// `on_hop` is called before each (re-)send with the URL, so the caller can
/// restart its progress bar; `progress` gets the bytes handed to the socket.
pub fn send(
    req: &Request,
    body: &mut Body,
    env: &dyn Fn(&str) -> Option<String>,
    on_hop: &mut dyn FnMut(&Url),
    progress: &mut dyn FnMut(u64),
) -> Result<Answer, UploadError> {
    let mut url = req.url.clone();
    let mut headers = req.headers.clone();
    let mut tls: Option<Arc<rustls::ClientConfig>> = None;
    let mut hops = 0u32;
    let mut buf = vec![0u8; WRITE_BUFFER];
    loop {
        check_scheme(&url)?;
        let tls_config = if url.scheme() == "https" {
            match &tls {
                Some(c) => Some(c.clone()),
                None => {
                    let c = tls::config(req.insecure, req.ca_bundle.as_deref(), env)?;
                    tls = Some(c.clone());
                    Some(c)
                }
            }
        } else {
            None
        };
        let proxy = proxy::proxy_for(&url, env).map(|p| proxy::parse(&p)).transpose()?;
        on_hop(&url);
        let answer = exchange(req, &url, proxy.as_ref(), tls_config, &headers, body, &mut buf, progress)?;
        if matches!(answer.status, 307 | 308) {
            if let Some(loc) = &answer.location {
                if hops >= MAX_REDIRECTS {
                    return Err(UploadError::TooManyRedirects { max: MAX_REDIRECTS });
                }
                hops = hops.saturating_add(1);
                let next =
                    url.join(loc).map_err(|source| UploadError::BadRedirect { location: loc.clone(), source })?;
                if next.origin() != url.origin() {
                    // Credentials meant for one site do not follow to another (curl does the same).
                    headers.retain(|(n, _)| {
                        !["authorization", "cookie", "proxy-authorization"].contains(&n.to_ascii_lowercase().as_str())
                    });
                }
                url = next;
                continue;
            }
        }
        return Ok(answer);
    }
}

/// One request and its answer on a fresh connection.
#[allow(clippy::too_many_arguments)]
fn exchange(
    req: &Request,
    url: &Url,
    proxy: Option<&Url>,
    tls: Option<Arc<rustls::ClientConfig>>,
    headers: &[(String, String)],
    body: &mut Body,
    buf: &mut [u8],
    progress: &mut dyn FnMut(u64),
) -> Result<Answer, UploadError> {
    let target = authority(url, 80);
    let hop = proxy.unwrap_or(url);
    let hop_target = authority(hop, 1080);
    let tcp =
        connect_tcp(hop, if proxy.is_some() { 1080 } else { 80 }, req.connect_timeout).map_err(
            |source| match source.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    UploadError::ConnectTimeout { target: hop_target.clone(), after: req.connect_timeout }
                }
                _ => UploadError::Connect { target: hop_target.clone(), source },
            },
        )?;
    let setup = |e: io::Error| UploadError::Connect { target: hop_target.clone(), source: e };
    tcp.set_read_timeout(Some(req.stall_timeout)).map_err(setup)?;
    tcp.set_write_timeout(Some(req.stall_timeout)).map_err(setup)?;
    tcp.set_nodelay(true).map_err(setup)?;
    // A second handle on the socket, to change its read timeout once the
    // stream has gone into TLS and into the answer's reader.
    let control = tcp.try_clone().map_err(setup)?;
    let mut tcp = tcp;
    let link = Link { target, stall: req.stall_timeout };

    let mut conn: Box<dyn Conn> = match tls {
        Some(config) => {
            if let Some(p) = proxy {
                proxy::tunnel(&mut tcp, p, &link.target, req.stall_timeout)?;
            }
            Box::new(tls::handshake(tcp, url, config, &link)?)
        }
        None => Box::new(tcp),
    };

    let head = request_head(req.method.as_str(), url, proxy, headers, body);
    let mut failure = None;
    let sent = write_request(&mut conn, head.as_bytes(), body, &mut failure, buf, progress);
    if let Some(err) = failure {
        return Err(err);
    }
    let set_read_timeout = |t: Duration| control.set_read_timeout(Some(t));
    match sent {
        Ok(()) => read_answer(conn, &link, &set_read_timeout),
        Err(e) => {
            let kind = e.kind();
            if matches!(kind, io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) {
                // The server may have answered (413, say) before closing: show that answer.
                if let Ok(answer) = read_answer(conn, &link, &set_read_timeout) {
                    return Ok(answer);
                }
                return Err(UploadError::ServerClosed { target: link.target });
            }
            Err(link.failure(Phase::Sending, e))
        }
    }
}

fn write_request(
    conn: &mut Box<dyn Conn>,
    head: &[u8],
    body: &mut Body,
    failure: &mut Option<UploadError>,
    buf: &mut [u8],
    progress: &mut dyn FnMut(u64),
) -> io::Result<()> {
    conn.write_all(head)?;
    let mut reader = match body.reader(failure, progress) {
        Ok(r) => r,
        Err(e) => {
            *failure = Some(e);
            return Err(io::Error::other("the body cannot be read"));
        }
    };
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        conn.write_all(buf.get(..n).unwrap_or_default())?;
    }
    conn.flush()
}

/// Resolve and connect to the URL's host, trying each address in turn.
fn connect_tcp(url: &Url, default_port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let port = url.port_or_known_default().unwrap_or(default_port);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Domain(d)) => (d, port).to_socket_addrs()?.collect(),
        Some(url::Host::Ipv4(a)) => vec![SocketAddr::from((a, port))],
        Some(url::Host::Ipv6(a)) => vec![SocketAddr::from((a, port))],
        None => Vec::new(),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn check_scheme(url: &Url) -> Result<(), UploadError> {
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(()),
        "http" | "https" => Err(UploadError::BadUrl { url: url.to_string(), reason: "it has no host".into() }),
        other => {
            Err(UploadError::BadUrl { url: url.to_string(), reason: format!("scheme {other:?} is not http or https") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_are_accepted() {
        assert!(check_scheme(&Url::parse("ftp://h/x").unwrap()).is_err());
        assert!(check_scheme(&Url::parse("https://h/x").unwrap()).is_ok());
    }
}
