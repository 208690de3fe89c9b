//! The route table and the handlers behind it, one module per API area.

pub mod members;
pub mod openapi;

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

#[allow(dead_code)]
fn mds(method: Method, pattern: &'static str, handler: Handler) -> Route<Handler> {
    Route {
        method,
        pattern,
        family: Family::Mds,
        handler,
    }
}

/// Every route tinydoi serves.
pub fn routes() -> Vec<Route<Handler>> {
    vec![
        rest(Get, "/heartbeat", heartbeat),
        rest(Get, "/openapi.json", openapi::document),
        rest(Get, "/clients/{symbol}", members::client),
        rest(Get, "/clients/{symbol}/prefixes", members::client_prefixes),
        rest(Get, "/providers/{symbol}", members::provider),
        rest(Get, "/prefixes/{prefix}", members::prefix),
    ]
}

fn heartbeat(_: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    Ok(Reply::text(200, "OK"))
}
