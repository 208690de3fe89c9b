//! Content negotiation for one DOI, as lupo does it: `GET /dois/{doi}` with an `Accept`
//! header naming a metadata format, or the link form `GET /dois/{media type}/{doi}`.
//! The formats themselves are `crate::formats`; this module only picks one and replies.

use serde_json::{Map, Value};

use crate::app::Ctx;
use crate::dois;
use crate::error::Error;
use crate::formats::{self, CitationOptions, Format, Source};
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::time::rfc3339;

/// The media types of lupo's link routes (`/dois/{type}/{doi}`), in its order.
pub const LINK_TYPES: &[&str] = &[
    "application/vnd.datacite.datacite+xml",
    "application/vnd.datacite.datacite+json",
    "application/vnd.crosscite.crosscite+json",
    "application/vnd.schemaorg.ld+json",
    "application/ld+json",
    "application/vnd.citationstyles.csl+json",
    "application/vnd.jats+xml",
    "application/x-bibtex",
    "application/x-research-info-systems",
    "text/csv",
    "text/x-bibliography",
];

/// What an `Accept` header asks of `GET /dois/{doi}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The JSON:API document (no `Accept`, `*/*`, JSON).
    JsonApi,
    Format(Format),
    /// Only types DataCite does not serve: 406.
    Unknown,
}

/// Media types that mean the JSON:API document, as lupo's `format.json` and Rails' wildcards.
const JSON_TYPES: &[&str] = &[
    "*/*",
    "application/*",
    "application/json",
    "application/vnd.api+json",
    "text/x-json",
    "application/jsonrequest",
];

/// The first type of `accept` that tinydoi serves, by quality (`q`) and then order.
pub fn wanted(accept: Option<&str>) -> Wanted {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Wanted::JsonApi;
    };
    let mut ranges: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!media.is_empty() && q > 0.0).then_some((q, media))
        })
        .collect();
    // Stable: equal qualities keep the client's order.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, media) in ranges {
        if JSON_TYPES.iter().any(|j| j.eq_ignore_ascii_case(media)) {
            return Wanted::JsonApi;
        }
        if let Some(f) = Format::from_media_type(media) {
            return Wanted::Format(f);
        }
    }
    Wanted::Unknown
}

/// `GET /dois/{doi}` for an `Accept` other than JSON:API: the format, or lupo's 406 for a
/// DOI that exists (an unknown or invisible DOI stays 404).
pub fn show(ctx: &Ctx, request: &Request, doi: &str, wanted: Wanted) -> Result<Reply, Error> {
    match wanted {
        Wanted::Format(format) => serve(ctx, request, doi, format),
        _ => dois::with_in_row(ctx.db, &ctx.principal, doi, |_| Err(Error::NotAcceptable)),
    }
}

/// `GET /dois/{type}/{subtype}/{doi}`: the format named by the path, whatever `Accept` says.
pub fn link(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let rest = request.path.trim_start_matches('/').strip_prefix("dois/").unwrap_or("");
    let mut parts = rest.splitn(3, '/');
    let media = format!("{}/{}", parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    // The route table only sends paths of LINK_TYPES here.
    let format = Format::from_media_type(&media).ok_or_else(Error::not_found)?;
    serve(ctx, request, params.get("doi"), format)
}

/// One visible DOI in `format`; `style` and `locale` choose a citation's CSL style.
fn serve(ctx: &Ctx, request: &Request, doi: &str, format: Format) -> Result<Reply, Error> {
    dois::with_in_row(ctx.db, &ctx.principal, doi, |row| {
        let attributes: Map<String, Value> = match row.attributes {
            Some(text) => serde_json::from_slice(text)
                .map_err(|e| Error::Internal(format!("stored attributes of {}: {e}", row.doi.doi)))?,
            None => Map::new(),
        };
        let registered = row.doi.registered.map(rfc3339);
        let source = Source {
            doi: &row.doi.doi,
            attributes: &attributes,
            xml: row.xml,
            url: row.doi.url.as_deref(),
            state: Some(row.doi.state.as_str()),
            registered: registered.as_deref(),
            client_id: Some(&row.doi.client),
        };
        // As lupo's index controller: the query first, then `Accept` parameters
        // (`text/x-bibliography; style=apa; locale=de`, what doi.org passes on).
        let accept = request.header("accept").unwrap_or("");
        let citation = CitationOptions {
            style: request.query("style").or_else(|| accept_param(accept, "style")),
            locale: request.query("locale").or_else(|| accept_param(accept, "locale")),
        };
        let body = formats::write(format, &source, citation);
        Ok(Reply::new(200, &format.content_type(), body))
    })
}

/// The value of parameter `name` anywhere in an `Accept` header.
fn accept_param<'a>(accept: &'a str, name: &str) -> Option<&'a str> {
    accept
        .split([';', ','])
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_best_served_type() {
        assert_eq!(wanted(None), Wanted::JsonApi);
        assert_eq!(wanted(Some("  ")), Wanted::JsonApi);
        assert_eq!(wanted(Some("application/vnd.jats+xml")), Wanted::Format(Format::Jats));
        assert_eq!(wanted(Some("application/ld+json")), Wanted::Format(Format::SchemaOrg));
        assert_eq!(
            wanted(Some("text/x-bibliography; style=apa; charset=utf-8")),
            Wanted::Format(Format::Citation)
        );
        assert_eq!(wanted(Some("application/vnd.ms-excel")), Wanted::Unknown);
        assert_eq!(wanted(Some("text/html")), Wanted::Unknown);
        assert_eq!(
            wanted(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Wanted::JsonApi
        );
        assert_eq!(wanted(Some("application/vnd.api+json")), Wanted::JsonApi);
        // Quality first, then the client's order.
        assert_eq!(
            wanted(Some("application/x-bibtex;q=0.5, application/x-research-info-systems")),
            Wanted::Format(Format::Ris)
        );
        assert_eq!(wanted(Some("text/csv, application/json")), Wanted::Format(Format::Csv));
        assert_eq!(wanted(Some("text/csv;q=0, foo/bar")), Wanted::Unknown);
    }

    #[test]
    fn citation_options_from_accept_parameters() {
        let accept = "text/x-bibliography; style=ieee; locale=\"de-DE\"";
        assert_eq!(accept_param(accept, "style"), Some("ieee"));
        assert_eq!(accept_param(accept, "locale"), Some("de-DE"));
        assert_eq!(accept_param("text/x-bibliography", "style"), None);
        assert_eq!(accept_param("text/x-bibliography;style=", "style"), None);
    }

    #[test]
    fn every_link_type_is_a_format() {
        for t in LINK_TYPES {
            assert!(Format::from_media_type(t).is_some(), "{t}");
        }
    }
}
