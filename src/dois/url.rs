//! DOI target URLs: the schemes DataCite accepts and a client's `domains` patterns (CONTRACT §1, §4).

/// DataCite's wording for a URL that is not `http`, `https` or `ftp`.
pub const INVALID_URL: &str = "Not a valid HTTP(S) or FTP URL";

/// The lower-case host of an absolute `http`, `https` or `ftp` URL; `None` for anything
/// else (other schemes, relative URLs, white space, no host).
pub fn host_of(url: &str) -> Option<String> {
    if url.is_empty() || url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if !["http", "https", "ftp"].iter().any(|s| scheme.eq_ignore_ascii_case(s)) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        let (inside, after) = v6.split_once(']')?;
        if !after.is_empty() && !is_port(after) {
            return None;
        }
        format!("[{inside}]")
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        };
        if port.is_some_and(|p| !is_port(&format!(":{p}"))) {
            return None;
        }
        host.to_string()
    };
    let well_formed = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~[]:%".contains(&b));
    well_formed.then(|| host.to_ascii_lowercase())
}

fn is_port(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// True when `url` is an `http`, `https` or `ftp` URL.
pub fn is_valid(url: &str) -> bool {
    host_of(url).is_some()
}

/// Whether `host` matches a client's `domains`: a comma list of patterns, each `*` (any
/// host), `*.example.org` (any subdomain, not `example.org` itself) or an exact host.
pub fn domain_allowed(domains: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    domains
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .any(|d| {
            if d == "*" {
                true
            } else if let Some(parent) = d.strip_prefix('*') {
                // `parent` keeps its dot: `*.example.org` → `.example.org`.
                host.ends_with(parent) && host.len() > parent.len()
            } else {
                host == d
            }
        })
}

/// Whether a DOI may point at `url` under the client's `domains`.
pub fn url_allowed(domains: &str, url: &str) -> bool {
    host_of(url).is_some_and(|h| domain_allowed(domains, &h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(host_of("https://Example.org/a?b#c").as_deref(), Some("example.org"));
        assert_eq!(host_of("HTTP://example.org").as_deref(), Some("example.org"));
        assert_eq!(
            host_of("ftp://user:pw@ftp.example.org:21/x").as_deref(),
            Some("ftp.example.org")
        );
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("[::1]"));
        for bad in [
            "",
            "example.org",
            "/relative",
            "mailto:a@example.org",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "gopher://example.org",
            "https://",
            "https:///path",
            "https://exa mple.org",
            "https://example.org/a b",
            "https://example.org:http/",
            "https://exa<mple.org/",
        ] {
            assert!(!is_valid(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn domains() {
        assert!(domain_allowed("*", "anything.net"));
        assert!(domain_allowed("example.org", "EXAMPLE.org"));
        assert!(!domain_allowed("example.org", "www.example.org"));
        assert!(domain_allowed("example.org, *.example.org", "www.example.org"));
        assert!(domain_allowed("*.example.org", "a.b.example.org"));
        assert!(!domain_allowed("*.example.org", "example.org"));
        assert!(!domain_allowed("*.example.org", "badexample.org"));
        assert!(!domain_allowed("", "example.org"));
        assert!(url_allowed("*.example.org", "https://data.example.org/x"));
        assert!(!url_allowed("*.example.org", "https://data.example.org.evil.net/x"));
        assert!(!url_allowed("*", "mailto:x"));
    }
}
