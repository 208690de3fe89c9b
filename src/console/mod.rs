//! The web console (`/console`): server-rendered pages to sign in with an account's
//! password, manage API keys, browse DOIs and validate metadata. Handlers resolve the
//! session cookie to a principal and call the same domain functions as the API
//! (`keys::manage`, `dois`, `metadata`); HTML is built with maud, which escapes every value.

mod dois;
mod form;
mod keys;
mod layout;
mod session;
mod signin;
mod validate;

use crate::app::{Ctx, Handler};
use crate::error::Error;
use crate::http::request::Method::{self, *};
use crate::http::router::{Family, Params, Route};
use crate::http::{Reply, Request};

pub use session::{signed_in, COOKIE, FORM_REFUSED};

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/console.js");
const ICON: &str = include_str!("assets/favicon.svg");

fn html(method: Method, pattern: &'static str, handler: Handler) -> Route<Handler> {
    Route {
        method,
        pattern,
        family: Family::Html,
        handler,
    }
}

/// The console's routes (part of `api::routes`).
pub fn routes() -> Vec<Route<Handler>> {
    vec![
        html(Get, "/console", signin::home),
        html(Post, "/console/sign-in", signin::sign_in),
        html(Post, "/console/sign-out", signin::sign_out),
        html(Get, "/console/static/{file}", asset),
        html(Get, "/console/keys", keys::list),
        html(Post, "/console/keys", keys::create),
        html(Get, "/console/keys/{id}/revoke", keys::confirm_revoke),
        html(Post, "/console/keys/{id}/revoke", keys::revoke),
        html(Post, "/console/keys/{id}/rotate", keys::rotate),
        html(Get, "/console/dois", dois::list),
        html(Get, "/console/dois/{doi*}", dois::show),
        html(Get, "/console/xml/{doi*}", dois::xml),
        html(Post, "/console/actions/{doi*}", dois::action),
        html(Get, "/console/validate", validate::show),
        html(Post, "/console/validate", validate::check),
    ]
}

/// `GET /` from a browser (it accepts `text/html`) goes to the console; API clients keep
/// their 404.
pub fn root_redirect(request: &Request) -> Option<Reply> {
    let get = matches!(request.method, Get | Head);
    let browser = request.header("accept").is_some_and(|a| a.contains("text/html"));
    (get && browser && request.path == "/").then(|| Reply::see_other("/console"))
}

/// The embedded stylesheet and script (CSP allows only what this server sends).
fn asset(_: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let (content_type, body) = match params.get("file") {
        "style.css" => ("text/css; charset=utf-8", STYLE),
        "console.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "favicon.svg" => ("image/svg+xml", ICON),
        _ => return Err(Error::not_found()),
    };
    Ok(Reply::new(200, content_type, body)
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Cache-Control", "public, max-age=3600"))
}

/// The sign-in page, for a request without a live session.
fn to_sign_in() -> Reply {
    Reply::see_other("/console")
}
