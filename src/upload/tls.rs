//! TLS for the upload: which CA certificates are trusted (the system's
//! bundle, `--cacert`, `SSL_CERT_FILE`), the `--insecure` verifier that still
//! checks the handshake's signatures, and the handshake itself, run before
//! any byte of the body so that a certificate problem is reported as one.

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use url::Url;

use super::{Link, Phase, UploadError};

/// Debian's ca-certificates bundle, read unless `--cacert` or SSL_CERT_FILE says otherwise.
pub const SYSTEM_CA_BUNDLE: &str = crate::paths::SYSTEM_CA_BUNDLE;

/// Run the TLS handshake now, so that a certificate problem is reported as
/// such before any byte of the body.
pub(super) fn handshake(
    mut tcp: TcpStream,
    url: &Url,
    config: Arc<rustls::ClientConfig>,
    link: &Link,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, UploadError> {
    let tls_err = |reason: String| UploadError::Tls { target: link.target.clone(), reason };
    let name = match url.host() {
        Some(url::Host::Domain(d)) => ServerName::try_from(d.to_owned()).map_err(|e| tls_err(e.to_string()))?,
        Some(url::Host::Ipv4(a)) => ServerName::IpAddress(std::net::IpAddr::V4(a).into()),
        Some(url::Host::Ipv6(a)) => ServerName::IpAddress(std::net::IpAddr::V6(a).into()),
        None => return Err(tls_err("the URL has no host".into())),
    };
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| tls_err(e.to_string()))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return Err(match link.failure(Phase::Handshake, e) {
                UploadError::Transfer { source, .. } => tls_err(source.to_string()),
                other => other,
            });
        }
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// The rustls client configuration: the system's CA bundle (or the one named),
/// or no verification at all with `insecure`.
pub(super) fn config(
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
    fn an_empty_ca_bundle_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "").unwrap();
        let err = config(false, Some(&path), &|_| None).unwrap_err();
        assert!(err.to_string().contains("empty.pem"), "{err}");
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
        assert!(config(false, Some(&path), &|_| None).is_ok());
        let env = |k: &str| (k == "SSL_CERT_FILE").then(|| path.to_string_lossy().into_owned());
        assert!(config(false, None, &env).is_ok());
    }
}
