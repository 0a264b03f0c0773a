//! Which proxy a URL goes through, from the usual environment variables, as
//! curl reads them: `https_proxy`/`HTTPS_PROXY` for https, `http_proxy`
//! (lowercase only: an uppercase HTTP_PROXY can be set by a CGI request
//! header) for http, `all_proxy`/`ALL_PROXY` for both, and `no_proxy`/
//! `NO_PROXY` to skip it.

use url::Url;

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
}
