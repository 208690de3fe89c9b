//! The route table and the handlers behind it, one module per API area.

pub mod datafile;
pub mod dois_list;
pub mod dois_tools;
pub mod keys;
pub mod leaked;
pub mod mds;
pub mod members;
pub mod negotiation;
pub mod openapi;
pub mod payload;
pub mod render;
pub mod reports;
pub mod rest_dois;

use crate::app::{Ctx, Handler};
use crate::error::Error;
use crate::http::request::Method::{self, *};
use crate::http::router::{Family, Params, Route};
use crate::http::{Reply, Request};

fn rest(method: Method, pattern: &'static str, handler: Handler) -> Route<Handler> {
    Route {
        method,
        pattern,
        family: Family::Rest,
        handler,
    }
}

/// An MDS route: poodle (Rails) answers errors in plain text and ignores a trailing
/// slash, which is what `http`'s plain-text family does. The DataCite meaning is set here.
fn mds(method: Method, pattern: &'static str, handler: Handler) -> Route<Handler> {
    Route {
        method,
        pattern,
        family: Family::PlainText,
        handler,
    }
}

/// Every route of the APIs (the console adds its own, `console::routes`).
pub fn routes() -> Vec<Route<Handler>> {
    vec![
        rest(Get, "/heartbeat", heartbeat),
        rest(Get, "/openapi.json", openapi::document),
        rest(Get, "/clients/{symbol}", members::client),
        rest(Get, "/clients/{symbol}/prefixes", members::client_prefixes),
        rest(Get, "/providers/{symbol}", members::provider),
        rest(Get, "/prefixes/{prefix}", members::prefix),
        rest(Post, "/credentials/api-keys", keys::create),
        rest(Get, "/credentials/api-keys", keys::list),
        rest(Delete, "/credentials/api-keys/{id}", keys::revoke),
        rest(Post, "/credentials/api-keys/{id}/rotate", keys::rotate),
        rest(Post, "/credentials/api-keys/revoke-leaked", leaked::revoke_leaked),
        rest(Post, "/credentials/secret-scanning", leaked::secret_scanning),
        rest(Get, "/credentials/audit-events", keys::audit_events),
        mds(Put, "/metadata/{doi*}", mds::put_metadata),
        mds(Post, "/metadata/{doi*}", mds::put_metadata),
        mds(Post, "/metadata", mds::put_metadata),
        mds(Get, "/metadata/{doi*}", mds::get_metadata),
        mds(Get, "/metadata", mds::get_metadata),
        mds(Delete, "/metadata/{doi*}", mds::delete_metadata),
        mds(Get, "/doi/{doi*}/media/{id}", mds::get_media_item),
        mds(Delete, "/doi/{doi*}/media/{id}", mds::delete_media_item),
        mds(Get, "/doi/{doi*}/media", mds::get_media),
        mds(Post, "/doi/{doi*}/media", mds::post_media),
        mds(Put, "/doi/{doi*}", mds::put_doi),
        mds(Post, "/doi", mds::put_doi),
        mds(Get, "/doi/{doi*}", mds::get_doi),
        mds(Get, "/doi", mds::list_dois),
        mds(Delete, "/doi/{doi*}", mds::delete_doi),
        mds(Post, "/media/{doi*}", mds::post_media),
        mds(Get, "/media/{doi*}", mds::get_media),
        rest(Post, "/dois", rest_dois::create),
        rest(Get, "/dois", rest_dois::list),
        // lupo's link form of content negotiation, one route per media type (LINK_TYPES).
        rest(
            Get,
            "/dois/application/vnd.datacite.datacite+xml/{doi*}",
            negotiation::link,
        ),
        rest(
            Get,
            "/dois/application/vnd.datacite.datacite+json/{doi*}",
            negotiation::link,
        ),
        rest(
            Get,
            "/dois/application/vnd.crosscite.crosscite+json/{doi*}",
            negotiation::link,
        ),
        rest(Get, "/dois/application/vnd.schemaorg.ld+json/{doi*}", negotiation::link),
        rest(Get, "/dois/application/ld+json/{doi*}", negotiation::link),
        rest(
            Get,
            "/dois/application/vnd.citationstyles.csl+json/{doi*}",
            negotiation::link,
        ),
        rest(Get, "/dois/application/vnd.jats+xml/{doi*}", negotiation::link),
        rest(Get, "/dois/application/x-bibtex/{doi*}", negotiation::link),
        rest(
            Get,
            "/dois/application/x-research-info-systems/{doi*}",
            negotiation::link,
        ),
        rest(Get, "/dois/text/csv/{doi*}", negotiation::link),
        rest(Get, "/dois/text/x-bibliography/{doi*}", negotiation::link),
        rest(Post, "/dois/validate", dois_tools::validate),
        rest(Get, "/dois/random", dois_tools::random),
        rest(Get, "/dois/{doi*}/get-url", dois_tools::get_url),
        rest(Get, "/providers/{symbol}/dois", rest_dois::list),
        rest(Get, "/clients/{symbol}/dois", rest_dois::list),
        rest(Get, "/dois/{doi*}", rest_dois::show),
        rest(Put, "/dois/{doi*}", rest_dois::update),
        rest(Patch, "/dois/{doi*}", rest_dois::update),
        rest(Delete, "/dois/{doi*}", rest_dois::delete),
        rest(Get, "/credentials/datafile", datafile::link),
        rest(Get, "/datafile/{name}", datafile::download),
        rest(Post, "/reports", reports::create),
        rest(Get, "/reports", reports::list),
        rest(Get, "/reports/{id}", reports::show),
        rest(Put, "/reports/{id}", reports::update),
        rest(Delete, "/reports/{id}", reports::delete),
    ]
}

fn heartbeat(_: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    Ok(Reply::text(200, "OK"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route that changes something needs a scope, except key management (which API
    /// keys cannot do at all), the leaked-key endpoints (which take no credentials) and the
    /// web console (which acts for a password sign-in, never for a key).
    #[test]
    fn every_write_route_needs_a_scope() {
        for route in routes() {
            let exempt = route.pattern.starts_with("/credentials/api-keys")
                || route.pattern.starts_with("/credentials/secret")
                || route.pattern.starts_with("/console");
            if !matches!(route.method, Get | Head) && !exempt {
                assert!(
                    crate::app::scope_needed(route.method, route.pattern).is_some(),
                    "{} {}",
                    route.method.as_str(),
                    route.pattern
                );
            }
        }
        assert_eq!(
            crate::app::scope_needed(Get, "/dois/{doi*}"),
            Some(crate::limits::Scope::DoisRead)
        );
        assert_eq!(crate::app::scope_needed(Get, "/reports"), None);
        assert_eq!(crate::app::scope_needed(Get, "/datafile/{name}"), None);
        assert_eq!(
            crate::app::scope_needed(Get, "/credentials/datafile"),
            Some(crate::limits::Scope::DatafileRead)
        );
    }
}
