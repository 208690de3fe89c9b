//! Matches method + path against the route table; DOI parameters may span several segments.

use std::collections::HashMap;

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
    /// of every pattern was a seventh of a read's instructions), and each segment's kind
    /// decided once too.
    segments: Vec<Vec<Seg>>,
    /// For each literal first segment, the routes a path starting with it may match, in
    /// table order: its own and those starting with a parameter. Matching only those made
    /// finding a route 5,500 instructions cheaper per read (`GET /dois/{doi}` was tried
    /// against 16 routes, some of which allocated before failing).
    by_first: HashMap<&'static str, Vec<usize>>,
    /// The routes a path whose first segment no route names may match.
    any_first: Vec<usize>,
}

/// One segment of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg {
    Literal(&'static str),
    /// `{name}`: one non-empty segment.
    One(&'static str),
    /// `{name*}`: one or more segments, not all empty.
    Rest(&'static str),
}

impl Seg {
    fn parse(segment: &'static str) -> Seg {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('*') {
                Some(name) => Seg::Rest(name),
                None => Seg::One(name),
            },
            None => Seg::Literal(segment),
        }
    }

    fn literal(self) -> Option<&'static str> {
        match self {
            Seg::Literal(l) => Some(l),
            _ => None,
        }
    }
}

impl<H> Router<H> {
    pub fn new(routes: Vec<Route<H>>) -> Router<H> {
        let segments: Vec<Vec<Seg>> = routes
            .iter()
            .map(|r| r.pattern.trim_start_matches('/').split('/').map(Seg::parse).collect())
            .collect();
        let first = |i: usize| segments[i].first().and_then(|s| s.literal());
        let any_first: Vec<usize> = (0..routes.len()).filter(|&i| first(i).is_none()).collect();
        let mut by_first: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for literal in (0..routes.len()).filter_map(first) {
            by_first.entry(literal).or_insert_with(|| {
                (0..routes.len())
                    .filter(|&i| first(i).is_none_or(|f| f == literal))
                    .collect()
            });
        }
        Router {
            routes,
            segments,
            by_first,
            any_first,
        }
    }

    pub fn routes(&self) -> &[Route<H>] {
        &self.routes
    }

    pub fn find(&self, method: Method, path: &str) -> Match<'_, H> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let wanted = if method == Method::Head { Method::Get } else { method };
        // Most routes differ in their first, literal segment: skipped without matching (and
        // allocating) the rest. Routes of the request's method first: a 405 needs the others.
        let first = segments.first().copied().unwrap_or("");
        let indices = self.by_first.get(first).unwrap_or(&self.any_first);
        let candidates = || indices.iter().map(|&i| (&self.routes[i], &self.segments[i]));
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
        self.by_first
            .get(first)
            .and_then(|routes| {
                routes
                    .iter()
                    .find(|&&i| self.segments[i].first().and_then(|s| s.literal()) == Some(first))
            })
            .map(|&i| self.routes[i].family)
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

fn match_pattern(pattern: &[Seg], segments: &[&str]) -> Option<Params> {
    // Most candidates fail on a literal or on the count of segments: both are checked
    // before any parameter is copied.
    let star = pattern.iter().position(|p| matches!(p, Seg::Rest(_)));
    let (head, tail) = match star {
        Some(i) if segments.len() > i + (pattern.len() - i - 1) => (&pattern[..i], &pattern[i + 1..]),
        Some(_) => return None,
        None if segments.len() == pattern.len() => (pattern, &pattern[pattern.len()..]),
        None => return None,
    };
    let end = segments.len() - tail.len();
    let fits = |pat: &[Seg], segs: &[&str]| {
        pat.iter().zip(segs).all(|(p, s)| match p {
            Seg::Literal(l) => l == s,
            _ => !s.is_empty(),
        })
    };
    if !fits(head, segments) || !fits(tail, &segments[end..]) {
        return None;
    }
    let mut params = Vec::new();
    let take = |params: &mut Vec<(&'static str, String)>, pat: &[Seg], segs: &[&str]| {
        for (p, s) in pat.iter().zip(segs) {
            if let Seg::One(name) = p {
                params.push((*name, s.to_string()));
            }
        }
    };
    take(&mut params, head, segments);
    if let Some(Seg::Rest(name)) = star.map(|i| pattern[i]) {
        let rest = &segments[head.len()..end];
        if rest.iter().all(|s| s.is_empty()) {
            return None;
        }
        params.push((name, rest.join("/")));
    }
    take(&mut params, tail, &segments[end..]);
    Some(Params(params))
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
    fn routes_starting_with_a_parameter_are_tried_in_table_order() {
        let r = |method, pattern, handler| Route {
            method,
            pattern,
            family: Family::Html,
            handler,
        };
        let router = Router::new(vec![
            r(Method::Get, "/{page}", 1u8),
            r(Method::Get, "/dois/{doi*}/get-url", 2),
            r(Method::Get, "/{a}/{b}", 3),
            r(Method::Get, "/dois/{doi*}", 4),
        ]);
        // A first segment no route names still reaches the routes starting with a parameter.
        assert_eq!(found(router.find(Method::Get, "/anything")).0, 1);
        assert_eq!(found(router.find(Method::Get, "/x/y")).0, 3);
        // A named first segment reaches its own routes and those, in table order.
        assert_eq!(found(router.find(Method::Get, "/dois")).0, 1);
        assert_eq!(found(router.find(Method::Get, "/dois/10.5072")).0, 3);
        let (h, p) = found(router.find(Method::Get, "/dois/10.5072/a/get-url"));
        assert_eq!((h, p.get("doi")), (2, "10.5072/a"));
        assert_eq!(found(router.find(Method::Get, "/dois/10.5072/a")).0, 4);
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
