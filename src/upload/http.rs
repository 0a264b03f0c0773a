//! The HTTP/1.1 exchange, a small client over std's TcpStream and rustls:
//! one request whose body streams from a [`Body`] in 64 KiB writes with a
//! fixed Content-Length, TLS over the system's CA bundle, the proxy from the
//! environment (CONNECT for https, absolute-form for http), 307/308 redirects
//! followed by re-reading the body, and socket timeouts that catch a stall.
//! (ureq 2 was tried first: it copies a body in 8 KiB slices, which halved
//! the throughput of curl's, and it loses an answer sent before the body ends.)

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use url::Url;

use super::multipart::Body;
use super::{proxy, UploadError};

/// Debian's ca-certificates bundle, read unless `--cacert` or SSL_CERT_FILE says otherwise.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Redirects followed at most (curl's default is 50; an upload needs few).
pub const MAX_REDIRECTS: u32 = 5;

/// The size of each write of the body: large enough that syscalls cost
/// little next to the copy, small enough to stay in the CPU's cache (256 KiB
/// took twice the CPU time of 64 KiB in benches/upload/run.sh).
const WRITE_BUFFER: usize = 64 * 1024;

/// The most an answer's status line and headers may take.
const MAX_HEAD: usize = 64 * 1024;

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
    /// The CA bundle (PEM) to trust; [`SYSTEM_CA_BUNDLE`] when `None`.
    pub ca_bundle: Option<PathBuf>,
}

/// The server's answer, its body not yet read.
pub struct Answer {
    pub status: u16,
    /// `HTTP/1.1 404 Not Found`.
    pub status_line: String,
    pub location: Option<String>,
    pub body: Box<dyn Read + Send>,
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
                    let c = tls_config(req.insecure, req.ca_bundle.as_deref(), env)?;
                    tls = Some(c.clone());
                    Some(c)
                }
            }
        } else {
            None
        };
        let proxy = proxy::proxy_for(&url, env).map(|p| parse_proxy(&p)).transpose()?;
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

/// A proxy URL from the environment; `host:port` alone means http.
fn parse_proxy(p: &str) -> Result<Url, UploadError> {
    let bad = |reason: String| UploadError::BadProxy { proxy: p.to_owned(), reason };
    let with_scheme = if p.contains("://") { p.to_owned() } else { format!("http://{p}") };
    let url = Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad(format!("only http:// proxies are supported, not {}://", url.scheme())));
    }
    if url.host_str().is_none() {
        return Err(bad("it has no host".into()));
    }
    Ok(url)
}

/// `host:port` of a URL, for messages and CONNECT (IPv6 in brackets).
fn authority(url: &Url, default_port: u16) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(default_port))
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
                    UploadError::Timeout { target: hop_target.clone() }
                }
                _ => UploadError::Connect { target: hop_target.clone(), source },
            },
        )?;
    let setup = |e: io::Error| UploadError::Connect { target: hop_target.clone(), source: e };
    tcp.set_read_timeout(Some(req.stall_timeout)).map_err(setup)?;
    tcp.set_write_timeout(Some(req.stall_timeout)).map_err(setup)?;
    tcp.set_nodelay(true).map_err(setup)?;
    let mut tcp = tcp;

    let mut conn: Box<dyn Conn> = match tls {
        Some(config) => {
            if let Some(p) = proxy {
                tunnel(&mut tcp, p, &target)?;
            }
            Box::new(tls_handshake(tcp, url, config, &target)?)
        }
        None => Box::new(tcp),
    };

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
    let mut head = format!("{} {request_target} HTTP/1.1\r\n", req.method.as_str());
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
        if let Some(auth) = proxy_authorization(p) {
            head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Type: {}\r\n", body.content_type()));
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    head.push_str("Connection: close\r\n\r\n");

    let mut failure = None;
    let sent = write_request(&mut conn, head.as_bytes(), body, &mut failure, buf, progress);
    if let Some(err) = failure {
        return Err(err);
    }
    match sent {
        Ok(()) => read_answer(conn, &target),
        Err(e) => {
            let kind = e.kind();
            if matches!(kind, io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) {
                // The server may have answered (413, say) before closing: show that answer.
                if let Ok(answer) = read_answer(conn, &target) {
                    return Ok(answer);
                }
                return Err(UploadError::ServerClosed { target });
            }
            Err(io_failure(&target, e))
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

/// An io::Error met while talking to `target`, as the failure it is.
fn io_failure(target: &str, e: io::Error) -> UploadError {
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

/// Open a CONNECT tunnel through an http proxy to `target` (host:port).
fn tunnel(tcp: &mut TcpStream, proxy: &Url, target: &str) -> Result<(), UploadError> {
    let proxy_name = authority(proxy, 1080);
    let fail = |reason: String| UploadError::ProxyFailed { proxy: proxy_name.clone(), reason };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = proxy_authorization(proxy) {
        req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).map_err(|e| fail(e.to_string()))?;
    // Read the answer byte by byte: nothing past its blank line may be taken
    // from the socket, it belongs to TLS.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() > MAX_HEAD {
            return Err(fail("its answer is too long".into()));
        }
        match tcp.read(&mut byte) {
            Ok(0) => return Err(fail("it closed the connection".into())),
            Ok(_) => head.extend_from_slice(&byte),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or_default().trim().to_owned();
    match parse_status_line(&status_line) {
        Some(code) if (200..300).contains(&code) => Ok(()),
        _ => Err(fail(format!("it answered {status_line:?} to CONNECT {target}"))),
    }
}

/// `Basic base64(user:password)` from a proxy URL's user information.
fn proxy_authorization(proxy: &Url) -> Option<String> {
    if proxy.username().is_empty() {
        return None;
    }
    let user = percent_decode(proxy.username());
    let pass = percent_decode(proxy.password().unwrap_or_default());
    let mut raw = user;
    raw.push(b':');
    raw.extend_from_slice(&pass);
    Some(format!("Basic {}", base64(&raw)))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes.get(i.saturating_add(1)..i.saturating_add(3)).and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i = i.saturating_add(3);
            }
            _ => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| char::from(ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let v = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(v >> 18));
        out.push(sym(v >> 12));
        out.push(if chunk.len() > 1 { sym(v >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(v) } else { '=' });
    }
    out
}

/// Run the TLS handshake now, so that a certificate problem is reported as
/// such before any byte of the body.
fn tls_handshake(
    mut tcp: TcpStream,
    url: &Url,
    config: Arc<rustls::ClientConfig>,
    target: &str,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, UploadError> {
    let tls_err = |reason: String| UploadError::Tls { target: target.to_owned(), reason };
    let name = match url.host() {
        Some(url::Host::Domain(d)) => ServerName::try_from(d.to_owned()).map_err(|e| tls_err(e.to_string()))?,
        Some(url::Host::Ipv4(a)) => ServerName::IpAddress(std::net::IpAddr::V4(a).into()),
        Some(url::Host::Ipv6(a)) => ServerName::IpAddress(std::net::IpAddr::V6(a).into()),
        None => return Err(tls_err("the URL has no host".into())),
    };
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| tls_err(e.to_string()))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return Err(match io_failure(target, e) {
                UploadError::Transfer { source, .. } => tls_err(source.to_string()),
                other => other,
            });
        }
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    let version = words.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let code: u16 = words.next()?.parse().ok()?;
    (100..=999).contains(&code).then_some(code)
}

/// Read the answer's head (skipping 1xx interim answers) and frame its body.
fn read_answer(conn: Box<dyn Conn>, target: &str) -> Result<Answer, UploadError> {
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
                .map_err(|e| io_failure(target, e))?;
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

fn check_scheme(url: &Url) -> Result<(), UploadError> {
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(()),
        "http" | "https" => Err(UploadError::BadUrl { url: url.to_string(), reason: "it has no host".into() }),
        other => {
            Err(UploadError::BadUrl { url: url.to_string(), reason: format!("scheme {other:?} is not http or https") })
        }
    }
}

/// The rustls client configuration: the system's CA bundle (or the one named),
/// or no verification at all with `insecure`.
fn tls_config(
    insecure: bool,
    ca_bundle: Option<&std::path::Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<rustls::ClientConfig>, UploadError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| UploadError::TlsSetup { reason: e.to_string() })?;
    let config = if insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerifier(provider))).with_no_client_auth()
    } else {
        let path = ca_bundle_path(ca_bundle, env);
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(&path)
            .map_err(|e| UploadError::CaBundle { path: path.clone(), reason: e.to_string() })?;
        for cert in certs {
            let cert = cert.map_err(|e| UploadError::CaBundle { path: path.clone(), reason: e.to_string() })?;
            // A certificate the parser rejects is skipped, as OpenSSL does.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(UploadError::CaBundle { path, reason: "it holds no usable certificate".into() });
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The bundle to trust: `--cacert`, else `SSL_CERT_FILE`, else the system's.
fn ca_bundle_path(ca_bundle: Option<&std::path::Path>, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match (ca_bundle, env("SSL_CERT_FILE").filter(|v| !v.is_empty())) {
        (Some(p), _) => p.to_owned(),
        (None, Some(v)) => PathBuf::from(v),
        (None, None) => PathBuf::from(SYSTEM_CA_BUNDLE),
    }
}

/// `--insecure`: any certificate is accepted, but the handshake signatures
/// are still checked so the session itself is sound.
#[derive(Debug)]
struct NoVerifier(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
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

    #[test]
    fn an_empty_ca_bundle_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "").unwrap();
        let err = tls_config(false, Some(&path), &|_| None).unwrap_err();
        assert!(err.to_string().contains("empty.pem"), "{err}");
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

    #[test]
    fn proxy_credentials_become_basic_authorization() {
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        let p = parse_proxy("http://us%40er:p%3Ass@proxy:3128").unwrap();
        assert_eq!(proxy_authorization(&p).unwrap(), format!("Basic {}", base64(b"us@er:p:ss")));
        assert_eq!(proxy_authorization(&parse_proxy("proxy:3128").unwrap()), None);
        assert!(parse_proxy("socks5://proxy:1080").is_err());
    }

    /// A self-signed CA made for these tests (EC P-256, valid until 2126).
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBljCCAT2gAwIBAgIUZLj7SIjf1zpRR2UtXhx1uSYtzIcwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVa2V4ZWMtY2hvb3NlciB0ZXN0IENBMCAXDTI2MTIwMjE5NDgx
N1oYDzIxMjYxMTA4MTk0ODE3WjAgMR4wHAYDVQQDDBVrZXhlYy1jaG9vc2VyIHRl
c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARAMQySQ5N387ZglNpXmBnO
TeT90OQgLc9VRGLeA+Q2P2hqmbq8vw0a+lNZHgqNKQgIlT0Awj+Si06UvjIpazJY
o1MwUTAdBgNVHQ4EFgQUwA7De643sInPECwLwISNAkjoLPowHwYDVR0jBBgwFoAU
wA7De643sInPECwLwISNAkjoLPowDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNHADBEAiATdT/R+xhtUV2cfKSnCNb8bDlZKdeQ224tIUtqhj85cgIgQDj6wek0
/d3oNwDAeWC8Oa9dqRKwRk3dv23y5JEpXlc=
-----END CERTIFICATE-----
";

    #[test]
    fn the_bundle_is_cacert_then_ssl_cert_file_then_the_systems() {
        let given = std::path::Path::new("/x/given.pem");
        let env = |k: &str| (k == "SSL_CERT_FILE").then(|| "/x/env.pem".to_string());
        assert_eq!(ca_bundle_path(Some(given), &env), given);
        assert_eq!(ca_bundle_path(None, &env), std::path::Path::new("/x/env.pem"));
        assert_eq!(ca_bundle_path(None, &|_| Some(String::new())), std::path::Path::new(SYSTEM_CA_BUNDLE));
        assert_eq!(ca_bundle_path(None, &|_| None), std::path::Path::new(SYSTEM_CA_BUNDLE));
    }

    #[test]
    fn a_bundle_with_a_certificate_loads_and_garbage_around_it_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, format!("comment line\n{TEST_CA}\ntrailing text\n")).unwrap();
        assert!(tls_config(false, Some(&path), &|_| None).is_ok());
        let env = |k: &str| (k == "SSL_CERT_FILE").then(|| path.to_string_lossy().into_owned());
        assert!(tls_config(false, None, &env).is_ok());
    }
}
