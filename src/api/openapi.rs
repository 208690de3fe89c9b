//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, kept in the repo as
//! `openapi.json` and embedded in the binary so it always matches the build that serves it.

use crate::app::Ctx;
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};

pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub fn document(_: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    Ok(Reply::new(200, "application/json", DOCUMENT))
}
