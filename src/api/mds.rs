//! The MDS API (CONTRACT §5): `/metadata`, `/doi`, `/media` with DataCite's status codes and
//! plain-text bodies, on top of the shared DOI operations in `crate::dois`.

use crate::app::Ctx;
use crate::dois::{self, doi, url, Changes, Event, Mode, State};
use crate::error::{Error, Problem};
use crate::http::request::parse_form;
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::metadata::{self, MetadataError};

const UNKNOWN_TO_MDS: &str = "DOI is unknown to MDS";
const DOI_NOT_FOUND: &str = "DOI not found";
const NO_MEDIA: &str = "No media for the DOI";
const NO_PREFIX: &str = "No valid prefix found";
const FORM: &str = "application/x-www-form-urlencoded";

/// Turns the DOI core's REST-ready errors into MDS ones: a plain 404 gets `not_found`,
/// metadata problems read `DOI <doi>: <message>` as DataCite's MDS words them.
fn mds_error(not_found: &'static str) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::NotFound(None) => Error::NotFound(Some(not_found.into())),
        Error::Unprocessable(problems) => Error::Unprocessable(
            problems
                .into_iter()
                .map(|p| match &p.uid {
                    Some(uid) => Problem::new(format!("DOI {uid}: {}", p.title)),
                    None => p,
                })
                .collect(),
        ),
        other => other,
    }
}

fn ok_doi(status: u16, request: &Request, doi: &str) -> Reply {
    let upper = doi::upper(doi);
    Reply::text(status, format!("OK ({upper})"))
        .with_header("Location", format!("{}/metadata/{upper}", request.base_url()))
}

/// A schema failure of an uploaded record: 415 when it is no XML at all, else 422.
fn upload_error(doi: &str, e: MetadataError) -> Error {
    match e {
        MetadataError::NotXml(m) => Error::UnsupportedMediaType(format!("Metadata must be XML: {m}")),
        other => Error::Unprocessable(other.messages(doi).into_iter().map(Problem::new).collect()),
    }
}

/// `PUT`/`POST /metadata/{doi}` (a bare prefix mints a DOI) and `POST /metadata` (the DOI
/// from the record): stores the record, 201 `OK (DOI)`. New DOIs are drafts.
pub fn put_metadata(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    if request.content_type().as_deref() == Some(FORM) {
        return Err(Error::UnsupportedMediaType(format!(
            "Content type {FORM} is not supported; send the metadata as application/xml"
        )));
    }
    let xml = &request.body;
    let path = params.get("doi");
    // One parse gives the record's DOI, its problems and its attributes.
    let record = metadata::read_record(xml).map_err(|e| upload_error(&doi::parse(path).unwrap_or_default(), e))?;
    let in_record = record.doi.clone();
    enum Target {
        Given(String),
        Mint(String),
    }
    let target = if path.is_empty() {
        Target::Given(in_record.as_deref().and_then(doi::parse).ok_or_else(no_prefix)?)
    } else if let Some(d) = doi::parse(path) {
        if in_record.as_ref().is_some_and(|r| !r.eq_ignore_ascii_case(&d)) {
            return Err(Error::BadRequest(dois::DOI_MISMATCH.into()));
        }
        Target::Given(d)
    } else if doi::is_prefix(path) {
        Target::Mint(path.to_string())
    } else {
        return Err(no_prefix());
    };
    let shown = match &target {
        Target::Given(d) => d.clone(),
        Target::Mint(_) => in_record.clone().unwrap_or_default().to_ascii_lowercase(),
    };
    if !record.problems.is_empty() {
        return Err(upload_error(&shown, MetadataError::Invalid(record.problems)));
    }
    let saved = match target {
        Target::Given(d) => {
            let changes = Changes {
                xml: Some(xml.clone()),
                record: Some(record),
                ..Changes::default()
            };
            dois::save(ctx.db, &ctx.actor()?, &d, changes, Mode::Upsert)
        }
        // The record names some other DOI (or none): the minted DOI gets the record's
        // metadata with its own identifier, so the stored XML is regenerated.
        Target::Mint(prefix) => {
            let changes = Changes {
                attributes: Some(record.attributes),
                ..Changes::default()
            };
            dois::save(ctx.db, &ctx.actor()?, &doi::mint(&prefix)?, changes, Mode::Create)
        }
    }
    .map_err(mds_error(UNKNOWN_TO_MDS))?;
    Ok(ok_doi(201, request, &saved.doi.doi))
}

fn no_prefix() -> Error {
    Error::BadRequest(NO_PREFIX.into())
}

/// The DOI of a read or delete path; an impossible DOI is simply unknown.
fn path_doi(params: &Params, not_found: &'static str) -> Result<String, Error> {
    doi::parse(params.get("doi")).ok_or_else(|| Error::NotFound(Some(not_found.into())))
}

/// `GET /metadata/{doi}`: the record as uploaded.
pub fn get_metadata(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params, UNKNOWN_TO_MDS)?;
    let found = dois::get(ctx.db, &ctx.principal, &d).map_err(mds_error(UNKNOWN_TO_MDS))?;
    let xml = found.xml.ok_or_else(|| Error::NotFound(Some(UNKNOWN_TO_MDS.into())))?;
    Ok(Reply::xml(200, xml))
}

/// `DELETE /metadata/{doi}`: hides a findable DOI (it becomes registered).
pub fn delete_metadata(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params, UNKNOWN_TO_MDS)?;
    let changes = Changes {
        event: Some(Event::Hide),
        ..Changes::default()
    };
    dois::save(ctx.db, &ctx.actor()?, &d, changes, Mode::Update).map_err(mds_error(UNKNOWN_TO_MDS))?;
    Ok(Reply::text(200, "OK"))
}

/// `key=value` pairs of an MDS body: one a line (LF or CRLF), or form-encoded; query
/// parameters count too. The first occurrence of a key wins.
fn body_params(request: &Request) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(&request.body);
    let mut out: Vec<(String, String)> = if request.content_type().as_deref() == Some(FORM) {
        parse_form(text.trim())
    } else {
        text.lines()
            .filter_map(|line| line.trim().split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    };
    out.extend(request.query.iter().cloned());
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `PUT /doi/{doi}` and `POST /doi`: sets the URL and publishes a draft (a DOI hidden with
/// `DELETE /metadata` stays registered). Needs valid metadata. 201 `OK`.
pub fn put_doi(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let body = body_params(request);
    let given = param(&body, "doi").ok_or_else(|| Error::BadRequest("param 'doi' required".into()))?;
    let target_url = param(&body, "url").ok_or_else(|| Error::BadRequest("param 'url' required".into()))?;
    let path = params.get("doi");
    if !path.is_empty() && !given.eq_ignore_ascii_case(path) {
        return Err(Error::BadRequest(dois::DOI_MISMATCH.into()));
    }
    let d = doi::parse(given).ok_or_else(no_prefix)?;
    if !url::is_valid(target_url) {
        return Err(Error::BadRequest(url::INVALID_URL.into()));
    }
    let state = dois::get(ctx.db, &ctx.principal, &d).ok().map(|found| found.state);
    let changes = Changes {
        url: Some(target_url.to_string()),
        event: matches!(state, None | Some(State::Draft)).then_some(Event::Publish),
        ..Changes::default()
    };
    dois::save(ctx.db, &ctx.actor()?, &d, changes, Mode::Upsert).map_err(mds_error(DOI_NOT_FOUND))?;
    Ok(Reply::text(201, "OK"))
}

/// `GET /doi/{doi}`: the URL, 204 when it has none yet.
pub fn get_doi(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params, DOI_NOT_FOUND)?;
    let found = dois::get(ctx.db, &ctx.principal, &d).map_err(mds_error(DOI_NOT_FOUND))?;
    Ok(match found.url {
        Some(u) => Reply::text(200, u),
        None => Reply::empty(204),
    })
}

/// `GET /doi`: the caller's minted DOIs, one a line, upper case; 204 when none.
pub fn list_dois(ctx: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    let names = dois::minted_names_of_client(ctx.db, ctx.client()?)?;
    if names.is_empty() {
        return Ok(Reply::empty(204));
    }
    let lines: Vec<String> = names.iter().map(|n| doi::upper(n)).collect();
    Ok(Reply::text(200, lines.join("\n")))
}

/// `DELETE /doi/{doi}`: deletes a draft; 405 for registered and findable DOIs.
pub fn delete_doi(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params, DOI_NOT_FOUND)?;
    dois::delete_draft(ctx.db, &ctx.actor()?, &d, "GET, PUT").map_err(mds_error(DOI_NOT_FOUND))?;
    Ok(Reply::text(200, "OK"))
}

/// `POST /media/{doi}`: `mime/type=url` lines, added to (or updating) the DOI's media.
pub fn post_media(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params, UNKNOWN_TO_MDS)?;
    let media: Vec<(String, String)> = body_params(request)
        .into_iter()
        .filter(|(t, u)| !u.is_empty() && is_media_type(t))
        .collect();
    if media.is_empty() {
        return Err(Error::BadRequest("Media type and URL missing".into()));
    }
    if media.iter().any(|(_, u)| !url::is_valid(u)) {
        return Err(Error::BadRequest(url::INVALID_URL.into()));
    }
    dois::media_put(ctx.db, &ctx.actor()?, &d, &media).map_err(mds_error(UNKNOWN_TO_MDS))?;
    Ok(Reply::text(200, "OK"))
}

/// `type/subtype`, as media types are written.
fn is_media_type(s: &str) -> bool {
    s.split_once('/')
        .is_some_and(|(t, sub)| !t.is_empty() && !sub.is_empty() && !s.contains(char::is_whitespace))
}

/// `GET /media/{doi}`: the media as `mime/type=url` lines; 404 when there are none.
pub fn get_media(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params, UNKNOWN_TO_MDS)?;
    let media = dois::media_get(ctx.db, &ctx.principal, &d).map_err(mds_error(UNKNOWN_TO_MDS))?;
    if media.is_empty() {
        return Err(Error::NotFound(Some(NO_MEDIA.into())));
    }
    let lines: Vec<String> = media.iter().map(|(t, u)| format!("{t}={u}")).collect();
    Ok(Reply::text(200, lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut r = Request::new(Method::Put, "/doi/10.5072/abc?x=1");
        if let Some(ct) = content_type {
            r.headers.push(("Content-Type".into(), ct.into()));
        }
        r.body = body.as_bytes().to_vec();
        r
    }

    #[test]
    fn body_params_take_lf_crlf_form_and_query() {
        for r in [
            request(
                Some("text/plain;charset=UTF-8"),
                "doi=10.5072/abc\r\nurl=https://example.org/a?b=c\r\n",
            ),
            request(None, "doi=10.5072/abc\nurl=https://example.org/a?b=c"),
            request(
                Some(FORM),
                "doi=10.5072%2Fabc&url=https%3A%2F%2Fexample.org%2Fa%3Fb%3Dc",
            ),
        ] {
            let p = body_params(&r);
            assert_eq!(param(&p, "doi"), Some("10.5072/abc"));
            assert_eq!(param(&p, "url"), Some("https://example.org/a?b=c"));
            assert_eq!(param(&p, "x"), Some("1"));
        }
        assert_eq!(param(&body_params(&request(None, "doi=\n")), "doi"), None);
    }

    #[test]
    fn media_types() {
        assert!(is_media_type("application/pdf"));
        assert!(!is_media_type("pdf"));
        assert!(!is_media_type("/pdf"));
        assert!(!is_media_type("text /plain"));
    }
}
