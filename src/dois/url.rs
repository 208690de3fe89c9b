//! DOI target URLs: the schemes DataCite accepts and a client's `domains` patterns (CONTRACT §1, §4).

/// DataCite's wording for a URL that is not `http`, `https` or `ftp`.
pub const INVALID_URL: &str = "Not a valid HTTP(S) or FTP URL";

/// The host of an absolute `http`, `https` or `ftp` URL as a browser would connect to it;
/// `None` for anything else (other schemes, relative URLs, white space, no host).
///
/// The form is DataCite's (`(ftp|http|https)://` and no white space); the host is the
/// WHATWG URL parser's, as browsers (and the DOI resolver's visitors) see it: `\` counts
/// as `/`, so `https://evil.example\@repo.example.org/x` goes to `evil.example`; hosts are
/// percent-decoded, IDNA-mapped and lower-cased, and numeric IPv4 forms normalised
/// (`0x7f.1` is `127.0.0.1`). Userinfo is allowed, as DataCite allows it.
pub fn host_of(url: &str) -> Option<String> {
    if url.is_empty() || url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if !["http", "https", "ftp"].iter().any(|s| scheme.eq_ignore_ascii_case(s)) {
        return None;
    }
    // `https:///x` and `https://\\x` have no authority to a reader; a browser would skip
    // the extra slashes and take `x` as the host. Refused, as before.
    if rest.starts_with(['/', '\\']) {
        return None;
    }
    let parsed = ::url::Url::parse(url).ok()?;
    match parsed.host()? {
        ::url::Host::Domain(d) if !d.is_empty() => Some(d.to_ascii_lowercase()),
        ::url::Host::Domain(_) => None,
        ::url::Host::Ipv4(a) => Some(a.to_string()),
        ::url::Host::Ipv6(a) => Some(format!("[{a}]")),
    }
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

    #[test]
    fn hosts_are_the_ones_browsers_use() {
        // A backslash ends the authority for a browser: this goes to evil.example.
        assert_eq!(
            host_of("https://evil.example\\@repo.example.org/x").as_deref(),
            Some("evil.example")
        );
        assert!(!url_allowed(
            "repo.example.org",
            "https://evil.example\\@repo.example.org/x"
        ));
        // Percent-encoded in the host: decoded, and `\` and `@` are not host characters.
        assert!(!is_valid("https://evil.example%5C%40repo.example.org/x"));
        assert!(!url_allowed(
            "*.example.org",
            "https://evil.example%5C%40repo.example.org/x"
        ));
        // Percent-encoded in the userinfo: still userinfo, the host is repo.example.org.
        assert!(url_allowed(
            "repo.example.org",
            "https://evil.example%5C@repo.example.org/x"
        ));
        assert!(url_allowed("repo.example.org", "https://user:pw@repo.example.org/x"));
        assert_eq!(host_of("http://0x7f.1/").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            host_of("https://REPO.example.org.:443/").as_deref(),
            Some("repo.example.org.")
        );
        assert!(!is_valid("https://\\evil.example/"));
    }
}
