//! The HTTP/1.1 exchange: one request whose body streams from a [`Body`] with
//! a fixed Content-Length (ureq 2 sends a reader as is when the length is
//! set), TLS by rustls over the system's CA bundle, the proxy from the
//! environment, 307/308 redirects followed by re-reading the body, and
//! socket timeouts that catch a stalled transfer.

use std::io::Read;
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
    pub body: Box<dyn Read + Send + Sync>,
}

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
    loop {
        check_scheme(&url)?;
        let mut agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(req.connect_timeout)
            .timeout_read(req.stall_timeout)
            .timeout_write(req.stall_timeout)
            .user_agent(concat!("kexec-chooser/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(0);
        if url.scheme() == "https" {
            let config = match &tls {
                Some(c) => c.clone(),
                None => {
                    let c = tls_config(req.insecure, req.ca_bundle.as_deref(), env)?;
                    tls = Some(c.clone());
                    c
                }
            };
            agent = agent.tls_config(config);
        }
        if let Some(p) = proxy::proxy_for(&url, env) {
            let parsed =
                ureq::Proxy::new(&p).map_err(|e| UploadError::BadProxy { proxy: p.clone(), reason: e.to_string() })?;
            agent = agent.proxy(parsed);
        }
        let agent = agent.build();
        let mut request = agent.request_url(req.method.as_str(), &url);
        for (name, value) in &headers {
            request = request.set(name, value);
        }
        request = request.set("Content-Type", &body.content_type()).set("Content-Length", &body.len().to_string());

        on_hop(&url);
        let mut failure = None;
        let reader = body.reader(&mut failure, progress)?;
        let result = request.send(reader);
        if let Some(err) = failure {
            return Err(err);
        }
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(transport_error(&url, t)),
        };
        let status = response.status();
        let location = response.header("location").map(str::to_owned);
        if matches!(status, 307 | 308) {
            if let Some(loc) = &location {
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
                // The answer's body is dropped unread: this connection is not reused.
                url = next;
                continue;
            }
        }
        let status_line = format!("{} {} {}", response.http_version(), status, response.status_text());
        return Ok(Answer { status, status_line, location, body: response.into_reader() });
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

/// Turn ureq's transport failure into the failure it is.
fn transport_error(url: &Url, t: ureq::Transport) -> UploadError {
    let target = format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0));
    let mut io_kind = None;
    let mut tls = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&t);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            tls = Some(r.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
            if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                tls = Some(r.to_string());
            }
        }
        source = e.source();
    }
    if let Some(reason) = tls {
        return UploadError::Tls { target, reason };
    }
    use std::io::ErrorKind as K;
    match (t.kind(), io_kind) {
        (_, Some(K::TimedOut | K::WouldBlock)) => UploadError::Timeout { target },
        (ureq::ErrorKind::Dns | ureq::ErrorKind::ConnectionFailed, _) => {
            UploadError::Connect { target, source: Box::new(t) }
        }
        (ureq::ErrorKind::ProxyConnect | ureq::ErrorKind::ProxyUnauthorized | ureq::ErrorKind::InvalidProxyUrl, _) => {
            UploadError::ProxyFailed { source: Box::new(t) }
        }
        (_, Some(K::BrokenPipe | K::ConnectionReset)) => UploadError::ServerClosed { target },
        _ => UploadError::Transfer { target, source: Box::new(t) },
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
        let path = match (ca_bundle, env("SSL_CERT_FILE").filter(|v| !v.is_empty())) {
            (Some(p), _) => p.to_owned(),
            (None, Some(v)) => PathBuf::from(v),
            (None, None) => PathBuf::from(SYSTEM_CA_BUNDLE),
        };
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
    fn the_system_bundle_loads() {
        // ca-certificates is installed by scripts/setup.d/70-upload.sh.
        assert!(tls_config(false, None, &|_| None).is_ok());
    }
}
