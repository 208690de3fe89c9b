//! Cross-site request refusal: a state-changing request that a browser marks as coming
//! from another site is refused unless a script set a Bearer credential on it.
//!
//! tinydoi reads JSON bodies whatever their Content-Type, so a page on another site could
//! make a visitor's browser POST (a form, or a `fetch` with a "simple" content type, which
//! needs no CORS preflight) with the Basic credentials the browser has cached for tinydoi:
//! browsers attach those to cross-site requests as an ordinary `Authorization: Basic`
//! header, so Basic proves nothing about who built the request. A `Bearer` header, in
//! contrast, is never added by a browser on its own: only a script that holds the key sets
//! it (and a cross-origin script can only do so after a CORS preflight, which tinydoi
//! does not grant, or from a same-origin page).
//!
//! The rule, on POST, PUT, PATCH and DELETE (and any other unsafe method):
//! - `Sec-Fetch-Site: cross-site` → refused (any other value passes);
//! - without `Sec-Fetch-Site` (older browsers), an `Origin` whose host (and port) is not
//!   the request's `Host`, or `Origin: null` (sandboxed frames, some redirects) → refused;
//! - unless `Authorization` is a `Bearer` credential.
//!
//! Clients that are not browsers (curl, client libraries) send neither header and are
//! never affected. `same-site` and `same-origin` pass: only another site is the threat.

use super::request::{Method, Request};
use crate::error::Error;

/// The refusal for a cross-site state-changing request, if this is one.
pub fn refusal(request: &Request) -> Option<Error> {
    if matches!(request.method, Method::Get | Method::Head | Method::Options) {
        return None;
    }
    let bearer = request
        .header("authorization")
        .and_then(|a| a.trim_start().get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "));
    if bearer || !is_cross_site(request) {
        return None;
    }
    Some(Error::Forbidden(Some(
        "Cross-site requests that change data are refused unless they carry an API key as \
         Authorization: Bearer"
            .into(),
    )))
}

fn is_cross_site(request: &Request) -> bool {
    // Browsers that send `Sec-Fetch-Site` (all current ones) say exactly where a request
    // comes from; it is believed over `Origin`, which a `no-referrer` page sends as `null`
    // even to its own origin.
    if let Some(site) = request.header("sec-fetch-site") {
        return site.trim().eq_ignore_ascii_case("cross-site");
    }
    match request.header("origin").map(str::trim) {
        None => false,
        Some(origin) => match (origin_host(origin), request.header("host")) {
            (Some(from), Some(host)) => !from.eq_ignore_ascii_case(host.trim()),
            // `null`, an unreadable Origin, or no Host to compare with.
            _ => true,
        },
    }
}

/// `host[:port]` of an `Origin` value (`scheme://host[:port]`), as `Host` carries it.
fn origin_host(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    Some(host.strip_suffix(default_port).unwrap_or(host)).filter(|h| !h.is_empty() && !h.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut r = Request::new(method, "/dois");
        r.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn the_rule() {
        let host = ("Host", "repo.example.org:8080");
        let refused = |m, h: &[(&str, &str)]| refusal(&request(m, h)).is_some();
        assert!(refused(Method::Post, &[host, ("Sec-Fetch-Site", "cross-site")]));
        assert!(refused(Method::Delete, &[host, ("Origin", "https://evil.example")]));
        assert!(refused(Method::Put, &[host, ("Origin", "null")]));
        assert!(refused(
            Method::Post,
            &[host, ("Origin", "http://repo.example.org:9090")]
        ));
        assert!(refused(
            Method::Post,
            &[
                host,
                ("Origin", "https://evil.example"),
                ("Authorization", "Basic eDp5")
            ]
        ));
        assert!(!refused(
            Method::Post,
            &[
                host,
                ("Origin", "https://evil.example"),
                ("Authorization", "Bearer DC.x")
            ]
        ));
        assert!(!refused(Method::Get, &[host, ("Sec-Fetch-Site", "cross-site")]));
        assert!(!refused(
            Method::Post,
            &[host, ("Origin", "http://repo.example.org:8080")]
        ));
        assert!(!refused(
            Method::Post,
            &[("Host", "x.org"), ("Origin", "https://x.org")]
        ));
        assert!(!refused(
            Method::Post,
            &[("Host", "x.org"), ("Origin", "http://x.org:80")]
        ));
        assert!(!refused(Method::Post, &[host, ("Sec-Fetch-Site", "same-origin")]));
        assert!(!refused(
            Method::Post,
            &[host, ("Origin", "null"), ("Sec-Fetch-Site", "same-origin")]
        ));
        assert!(!refused(Method::Post, &[host]));
    }
}
