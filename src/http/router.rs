//! Matches method + path against the route table; DOI parameters may span several segments.

use super::request::Method;

/// The style of errors a route answers with, as the route table (`api::routes`) assigns
/// it; the router only carries it, `api::render` gives it meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// JSON:API error documents (the default).
    #[default]
    Rest,
    /// Plain-text bodies, and Rails-style routing: a trailing slash is ignored (some
    /// clients of the routes the table marks so send `/metadata/`). Which API that is,
    /// is the route table's business.
    PlainText,
    /// The web console: HTML pages.
    Html,
}

/// One route. `pattern` segments are literals, `{name}` (one segment) or `{name*}`
/// (the rest of the path, at least one segment: DOIs contain `/`).
pub struct Route<H> {
    pub method: Method,
    pub pattern: &'static str,
    pub family: Family,
    pub handler: H,
}

#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of a parameter the pattern declares; empty when the route has no such name.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

pub enum Match<'r, H> {
    Found(&'r Route<H>, Params),
    /// The path exists with other methods.
    WrongMethod {
        allow: String,
        family: Family,
    },
    NotFound(Family),
}

pub struct Router<H> {
    routes: Vec<Route<H>>,
    /// Each route's pattern split into segments once, not at every request (the split
    /// of every pattern was a seventh of a read's instructions).
    segments: Vec<Vec<&'static str>>,
}

impl<H> Router<H> {
    pub fn new(routes: Vec<Route<H>>) -> Router<H> {
        let segments = routes
            .iter()
            .map(|r| r.pattern.trim_start_matches('/').split('/').collect())
            .collect();
        Router { routes, segments }
    }

    pub fn routes(&self) -> &[Route<H>] {
        &self.routes
    }

    pub fn find(&self, method: Method, path: &str) -> Match<'_, H> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let wanted = if method == Method::Head { Method::Get } else { method };
        // Most routes differ in their first, literal segment: skipped without matching (and
        // allocating) the rest. Routes of the request's method first: a 405 needs the others.
        let candidates = || {
            self.routes
                .iter()
                .zip(&self.segments)
                .filter(|(_, pattern)| match (pattern.first(), segments.first()) {
                    (Some(first), Some(seg)) => first.starts_with('{') || first == seg,
                    _ => true,
                })
        };
        for (route, pattern) in candidates().filter(|(route, _)| route.method == wanted) {
            if let Some(params) = match_pattern(pattern, &segments) {
                return Match::Found(route, params);
            }
        }
        let mut allowed: Vec<&'static str> = Vec::new();
        let mut family = None;
        for (route, pattern) in candidates() {
            if match_pattern(pattern, &segments).is_some() {
                family.get_or_insert(route.family);
                if !allowed.contains(&route.method.as_str()) {
                    allowed.push(route.method.as_str());
                }
            }
        }
        match family {
            Some(family) => Match::WrongMethod {
                allow: allowed.join(", "),
                family,
            },
            // Routes of the plain-text family ignore a trailing slash (see `Family::PlainText`). Only
            // where nothing matched: a DOI ending in `/` is refused, not silently renamed.
            None if self.family_of_unmatched(&segments) == Family::PlainText
                && path.len() > 1
                && path.ends_with('/') =>
            {
                self.find(method, &path[..path.len() - 1])
            }
            None => Match::NotFound(self.family_of_unmatched(&segments)),
        }
    }

    /// The family of a path no route matches: that of the routes starting with the same
    /// literal segment (so even a 404 speaks its API's language), else the default.
    fn family_of_unmatched(&self, segments: &[&str]) -> Family {
        let first = segments.first().copied().unwrap_or("");
        self.routes
            .iter()
            .zip(&self.segments)
            .find(|(_, pattern)| pattern.first() == Some(&first))
            .map(|(r, _)| r.family)
            .unwrap_or_default()
    }

    /// The family of whatever `method` `path` finds (matched, wrong method or unmatched).
    pub fn family(&self, method: Method, path: &str) -> Family {
        match self.find(method, path) {
            Match::Found(route, _) => route.family,
            Match::WrongMethod { family, .. } | Match::NotFound(family) => family,
        }
    }
}

fn match_pattern(pattern_segments: &[&'static str], segments: &[&str]) -> Option<Params> {
    let mut params = Vec::new();
    for (i, pat) in pattern_segments.iter().enumerate() {
        if let Some(name) = pat.strip_prefix('{').and_then(|p| p.strip_suffix("*}")) {
            // The segments after the star's match the rest of the pattern, from the end.
            let tail = &pattern_segments[i + 1..];
            let end = segments.len().checked_sub(tail.len())?;
            let rest = segments.get(i..end)?;
            if rest.is_empty() || rest.iter().all(|s| s.is_empty()) {
                return None;
            }
            params.push((name, rest.join("/")));
            for (pat, seg) in tail.iter().zip(&segments[end..]) {
                match_segment(pat, seg, &mut params)?;
            }
            return Some(Params(params));
        }
        match_segment(pat, segments.get(i)?, &mut params)?;
    }
    if segments.len() == pattern_segments.len() {
        Some(Params(params))
    } else {
        None
    }
}

/// One literal or `{name}` pattern segment against one path segment.
fn match_segment(pat: &'static str, seg: &str, params: &mut Vec<(&'static str, String)>) -> Option<()> {
    if let Some(name) = pat.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        if seg.is_empty() {
            return None;
        }
        params.push((name, seg.to_string()));
        Some(())
    } else {
        (pat == seg).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router<u8> {
        let r = |method, pattern, handler| Route {
            method,
            pattern,
            family: Family::Rest,
            handler,
        };
        Router::new(vec![
            r(Method::Get, "/dois", 1),
            r(Method::Get, "/dois/{doi*}", 2),
            r(Method::Delete, "/dois/{doi*}", 3),
            r(Method::Post, "/credentials/api-keys/{id}/rotate", 4),
            r(Method::Get, "/clients/{symbol}/prefixes", 5),
            r(Method::Get, "/clients/{symbol}", 6),
            Route {
                method: Method::Get,
                pattern: "/metadata/{doi*}",
                family: Family::PlainText,
                handler: 7,
            },
        ])
    }

    fn found(m: Match<'_, u8>) -> (u8, Params) {
        match m {
            Match::Found(route, params) => (route.handler, params),
            _ => panic!("no match"),
        }
    }

    #[test]
    fn doi_spans_segments() {
        let (h, p) = found(router().find(Method::Get, "/dois/10.5072/abc/def"));
        assert_eq!(h, 2);
        assert_eq!(p.get("doi"), "10.5072/abc/def");
        assert_eq!(found(router().find(Method::Get, "/dois")).0, 1);
    }

    #[test]
    fn literal_segments_and_params() {
        let (h, p) = found(router().find(Method::Post, "/credentials/api-keys/x-1/rotate"));
        assert_eq!((h, p.get("id")), (4, "x-1"));
        assert_eq!(found(router().find(Method::Get, "/clients/DEMO.REPO/prefixes")).0, 5);
        assert_eq!(found(router().find(Method::Get, "/clients/DEMO.REPO")).0, 6);
    }

    #[test]
    fn segments_after_a_doi() {
        let r = |method, pattern, handler| Route {
            method,
            pattern,
            family: Family::PlainText,
            handler,
        };
        let router = Router::new(vec![
            r(Method::Get, "/doi/{doi*}/media/{id}", 1u8),
            r(Method::Get, "/doi/{doi*}/media", 2),
            r(Method::Get, "/doi/{doi*}", 3),
            r(Method::Get, "/metadata", 4),
        ]);
        let (h, p) = found(router.find(Method::Get, "/doi/10.5072/a/b/media/0000-0001"));
        assert_eq!((h, p.get("doi"), p.get("id")), (1, "10.5072/a/b", "0000-0001"));
        let (h, p) = found(router.find(Method::Get, "/doi/10.5072/a/media"));
        assert_eq!((h, p.get("doi")), (2, "10.5072/a"));
        assert_eq!(found(router.find(Method::Get, "/doi/10.5072/a")).0, 3);
        assert_eq!(found(router.find(Method::Get, "/doi/media")).0, 3);
        assert_eq!(found(router.find(Method::Get, "/metadata/")).0, 4);
    }

    #[test]
    fn wrong_method_lists_allowed() {
        match router().find(Method::Put, "/dois/10.5072/x") {
            Match::WrongMethod { allow, .. } => assert_eq!(allow, "GET, DELETE"),
            _ => panic!("expected 405"),
        }
    }

    #[test]
    fn unknown_paths() {
        assert!(matches!(
            router().find(Method::Get, "/nope"),
            Match::NotFound(Family::Rest)
        ));
        assert!(matches!(router().find(Method::Get, "/dois/"), Match::NotFound(_)));
        // Unmatched paths take the family of the routes sharing their first segment.
        assert!(matches!(
            router().find(Method::Get, "/metadata"),
            Match::NotFound(Family::PlainText)
        ));
    }
}
