//! Renders an `Error` as a reply: JSON:API errors on REST routes, DataCite's plain text on MDS routes.

use crate::error::{Error, Problem, Source};
use crate::http::router::Family;
use crate::http::Reply;
use serde_json::{json, Value};

pub const MDS_NO_AUTH: &str = "An Authentication object was not found in the SecurityContext";

fn standard_text(error: &Error, family: Family) -> String {
    let rest = family != Family::PlainText;
    match error {
        Error::Unauthenticated if rest => "Bad credentials.".into(),
        Error::Unauthenticated => MDS_NO_AUTH.into(),
        Error::BadCredentials if rest => "Bad credentials.".into(),
        Error::BadCredentials => "Bad credentials".into(),
        Error::Forbidden(Some(m)) | Error::NotFound(Some(m)) => m.clone(),
        Error::Forbidden(None) if rest => "You are not authorized to access this resource.".into(),
        Error::Forbidden(None) => "Access is denied".into(),
        Error::NotFound(None) if rest => "The resource you are looking for doesn't exist.".into(),
        // poodle's `route_not_found`: the MDS handlers name their own 404s.
        Error::NotFound(None) => "Resource not found".into(),
        Error::MethodNotAllowed { message: Some(m), .. } => m.clone(),
        Error::MethodNotAllowed { message: None, .. } => "Method not allowed".into(),
        Error::BadRequest(m) | Error::Conflict(m) | Error::UnsupportedMediaType(m) | Error::TooLarge(m) => m.clone(),
        Error::PayloadTooLarge => "Request body too large".into(),
        Error::NotAcceptable => "The content type is not recognized.".into(),
        Error::Unprocessable(problems) => problems.iter().map(|p| p.title.clone()).collect::<Vec<_>>().join("\n"),
        Error::TooManyRequests { .. } => "Too many requests, please slow down".into(),
        Error::Internal(_) | Error::Database(_) | Error::Io(_) => "Internal server error".into(),
    }
}

pub fn problem_json(problem: &Problem) -> Value {
    match &problem.source {
        // DataCite's metadata errors: {"source":"creators","title":…,"uid":…}
        Some(Source::Property(property)) => {
            let mut v = json!({"source": property, "title": problem.title});
            if let Some(uid) = &problem.uid {
                v["uid"] = json!(uid);
            }
            v
        }
        Some(Source::Pointer(pointer)) => {
            json!({"status": "422", "title": problem.title, "source": {"pointer": pointer}})
        }
        None => {
            let mut v = json!({"status": "422", "title": problem.title});
            if let Some(uid) = &problem.uid {
                v["uid"] = json!(uid);
            }
            v
        }
    }
}

/// A console error page: what went wrong and the way back, in the console's style.
fn html_error(status: u16, message: &str) -> Reply {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Error " (status) " · tinydoi console" }
                link rel="stylesheet" href="/console/static/style.css";
                link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml";
            }
            body {
                header { p.brand { a href="/console" { "tinydoi" } } }
                main #main {
                    h1 { "Error " (status) }
                    p role="alert" { (message) }
                    p { a href="/console" { "Back to the console" } }
                }
            }
        }
    };
    Reply::html(status, page.into_string())
}

pub fn render(error: &Error, family: Family) -> Reply {
    let status = error.status();
    let mut reply = match (family, error) {
        (Family::Rest, Error::Unprocessable(problems)) => Reply::json(
            status,
            &json!({"errors": problems.iter().map(problem_json).collect::<Vec<_>>()}),
        ),
        (Family::Rest, _) => Reply::json(
            status,
            &json!({"errors": [{"status": status.to_string(), "title": standard_text(error, family)}]}),
        ),
        (Family::PlainText, _) => Reply::text(status, standard_text(error, family)),
        (Family::Html, _) => html_error(status, &standard_text(error, family)),
    };
    match error {
        // A browser would pop up its own password dialog; the console has a sign-in page.
        Error::Unauthenticated | Error::BadCredentials if family == Family::Html => {}
        Error::Unauthenticated | Error::BadCredentials => {
            reply.set_header("WWW-Authenticate", "Basic realm=\"tinydoi\"")
        }
        Error::MethodNotAllowed { allow, .. } => reply.set_header("Allow", allow.clone()),
        Error::TooManyRequests { retry_after_secs } => reply.set_header("Retry-After", retry_after_secs.to_string()),
        _ => {}
    }
    reply
}
