//! The proxy: which one a URL goes through, from the usual environment
//! variables as curl reads them (`https_proxy`/`HTTPS_PROXY` for https,
//! `http_proxy` (lowercase only: an uppercase HTTP_PROXY can be set by a CGI
//! request header) for http, `all_proxy`/`ALL_PROXY` for both, and
//! `no_proxy`/`NO_PROXY` to skip it), its URL, its credentials, and the
//! CONNECT tunnel that carries https through it.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use url::Url;

use super::framing::{authority, parse_status_line, MAX_HEAD};
use super::{Link, Phase, UploadError};

/// The proxy URL for `url`, if any; `env` reads a variable (the process
/// environment in use, a map in tests). Empty variables count as unset.
pub fn proxy_for(url: &Url, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let get = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|v| !v.trim().is_empty()));
    let host = url.host_str()?;
    if let Some(no_proxy) = get(&["no_proxy", "NO_PROXY"]) {
        if bypasses(&no_proxy, host, url.port_or_known_default()) {
            return None;
        }
    }
    match url.scheme() {
        "https" => get(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
        "http" => get(&["http_proxy", "all_proxy", "ALL_PROXY"]),
        _ => None,
    }
}

/// Whether a NO_PROXY list names `host`: `*` names every host; an entry names
/// itself and its subdomains (a leading `.` or `*.` is ignored); an entry
/// with `:PORT` names only that port.
fn bypasses(list: &str, host: &str, port: Option<u16>) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let (name, entry_port) = split_port(entry);
        if entry_port.is_some() && entry_port != port {
            return false;
        }
        let name = name.trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
        let name = name.trim_start_matches('[').trim_end_matches(']');
        !name.is_empty() && (host == name || host.strip_suffix(name).is_some_and(|h| h.ends_with('.')))
    })
}

/// `host:port` → (`host`, Some(port)); IPv6 literals need brackets for a port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some((name, port)) = entry.rsplit_once(':') {
        let bracketed_or_plain = name.ends_with(']') || !name.contains(':');
        if bracketed_or_plain {
            if let Ok(p) = port.parse() {
                return (name, Some(p));
            }
        }
    }
    (entry, None)
}

/// A proxy URL from the environment; `host:port` alone means http.
pub(super) fn parse(p: &str) -> Result<Url, UploadError> {
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

/// Open a CONNECT tunnel through an http proxy to `target` (host:port).
/// A proxy that stops answering for `stall` is a stall at the proxy.
pub(super) fn tunnel(tcp: &mut TcpStream, proxy: &Url, target: &str, stall: Duration) -> Result<(), UploadError> {
    let link = Link { target: authority(proxy, 1080), stall };
    let fail = |reason: String| UploadError::ProxyFailed { proxy: link.target.clone(), reason };
    let io_fail = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => link.stalled(Phase::Tunnel),
        _ => fail(e.to_string()),
    };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = authorization(proxy) {
        req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).map_err(io_fail)?;
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
            Err(e) => return Err(io_fail(e)),
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
pub(super) fn authorization(proxy: &Url) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        move |k| map.get(k).cloned()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn https_uses_https_proxy_and_http_only_lowercase() {
        let env = with(&[("HTTPS_PROXY", "http://p:3128"), ("HTTP_PROXY", "http://evil:1")]);
        assert_eq!(proxy_for(&url("https://example.org/"), &env).as_deref(), Some("http://p:3128"));
        assert_eq!(proxy_for(&url("http://example.org/"), &env), None);
        let env = with(&[("http_proxy", "http://p:80")]);
        assert_eq!(proxy_for(&url("http://example.org/"), &env).as_deref(), Some("http://p:80"));
    }

    #[test]
    fn no_proxy_matches_hosts_domains_and_ports() {
        let env = with(&[("HTTPS_PROXY", "http://p:3128"), ("NO_PROXY", "localhost, .corp.example,10.0.0.1:8443")]);
        assert_eq!(proxy_for(&url("https://localhost/"), &env), None);
        assert_eq!(proxy_for(&url("https://a.corp.example/"), &env), None);
        assert_eq!(proxy_for(&url("https://corp.example/"), &env), None);
        assert_eq!(proxy_for(&url("https://10.0.0.1:8443/"), &env), None);
        assert!(proxy_for(&url("https://10.0.0.1/"), &env).is_some());
        assert!(proxy_for(&url("https://notcorp.example/"), &env).is_some());
        assert!(proxy_for(&url("https://example.org/"), &env).is_some());
    }

    #[test]
    fn no_proxy_star_and_ipv6() {
        let env = with(&[("https_proxy", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(proxy_for(&url("https://x.y/"), &env), None);
        let env = with(&[("https_proxy", "http://p:1"), ("no_proxy", "::1")]);
        assert_eq!(proxy_for(&url("https://[::1]:8443/"), &env), None);
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let env = with(&[("https_proxy", ""), ("HTTPS_PROXY", "http://p:1")]);
        assert_eq!(proxy_for(&url("https://x.y/"), &env).as_deref(), Some("http://p:1"));
    }
    #[test]
    fn proxy_credentials_become_basic_authorization() {
        assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        let p = parse("http://us%40er:p%3Ass@proxy:3128").unwrap();
        assert_eq!(authorization(&p).unwrap(), format!("Basic {}", base64(b"us@er:p:ss")));
        assert_eq!(authorization(&parse("proxy:3128").unwrap()), None);
        assert!(parse("socks5://proxy:1080").is_err());
    }
}
