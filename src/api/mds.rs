//! The MDS API (CONTRACT §5): `/metadata`, `/doi`, `/media` with DataCite's status codes and
//! plain-text bodies, on top of the shared DOI operations in `crate::dois`.

use crate::app::Ctx;
use crate::dois::{self, doi, url, Changes, Event, Mode};
use crate::error::{Error, Problem};
use crate::formats;
use crate::http::request::{parse_form, percent_decode};
use crate::http::router::Params;
use crate::http::{Body, Reply, Request};
use crate::metadata::{self, Format, MetadataError};

const UNKNOWN_TO_MDS: &str = "DOI is unknown to MDS";
const DOI_NOT_FOUND: &str = "DOI not found";
const NO_MEDIA: &str = "No media for the DOI";
const FORM: &str = "application/x-www-form-urlencoded";
const NOT_RECOGNIZED: &str = "Metadata format not recognized";
/// How many random DOIs minting tries before giving up (each is new with odds of 2^30:1).
const MINT_ATTEMPTS: usize = 8;

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

/// `201 OK (10.5072/ABC)` with poodle's `Location` (the DOI as it validated it, lower case).
fn ok_doi(request: &Request, doi: &str) -> Reply {
    Reply::text(201, format!("OK ({})", doi::upper(doi)))
        .with_header("Location", format!("{}/metadata/{doi}", request.base_url()))
}

/// A schema failure of an uploaded record: 415 when it is no XML at all, else 422.
fn upload_error(doi: &str, e: MetadataError) -> Error {
    match e {
        MetadataError::NotXml(m) => Error::UnsupportedMediaType(format!("Metadata must be XML: {m}")),
        other => Error::Unprocessable(other.messages(doi).into_iter().map(Problem::new).collect()),
    }
}

fn blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// `PUT`/`POST /metadata/{doi}` and `POST /metadata`, as poodle's `MetadataController#create`:
/// the body's format is detected (415 `Metadata format not recognized`), the DOI is the
/// path's, else the record's, else minted under the path's prefix (`?number=` makes it
/// deterministic); the stored record carries that DOI as its identifier. 201 `OK (DOI)`.
/// New DOIs are drafts; a registered one becomes findable again (lupo's event `show`).
pub fn put_metadata(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    if request.content_type().as_deref() == Some(FORM) {
        return Err(Error::UnsupportedMediaType(format!(
            "Content type {FORM} is not supported"
        )));
    }
    let body = &request.body;
    let number = request.query("number").and_then(doi::number_param);
    // The common upload (DataCite XML naming its DOI, or none) in one parse; the steps
    // below, one parse each, for every other case, with their errors.
    if !blank(body) {
        let named =
            metadata::read_named_datacite(body, |in_record| target_doi(ctx, params.get("doi"), in_record, number))?;
        if let Some((d, record)) = named {
            return save_record(ctx, request, d, body.to_vec(), record);
        }
    }
    let format = if blank(body) {
        Format::Datacite
    } else {
        metadata::detect(body).ok_or_else(|| Error::UnsupportedMediaType(NOT_RECOGNIZED.into()))?
    };
    let in_record = if format == Format::Datacite && !blank(body) {
        metadata::identifier_of(body).map_err(|e| upload_error("", e))?
    } else {
        None
    };
    let d = target_doi(ctx, params.get("doi"), in_record.as_deref(), number)?;
    if blank(body) {
        return Err(Error::unprocessable(Problem::new("Can't be blank")));
    }
    let xml = kernel4(format, body, &d)?;
    let record = metadata::read_record(&xml).map_err(|e| upload_error(&d, e))?;
    save_record(ctx, request, d, xml, record)
}

/// Stores an upload read as `record`: 422 when it is invalid.
fn save_record(
    ctx: &Ctx,
    request: &Request,
    d: String,
    xml: Vec<u8>,
    record: metadata::Record,
) -> Result<Reply, Error> {
    if !record.problems.is_empty() {
        return Err(upload_error(&d, MetadataError::Invalid(record.problems)));
    }
    let changes = Changes {
        xml: Some(xml),
        record: Some(record),
        event: Some(Event::Show),
        ..Changes::default()
    };
    dois::save(ctx.db, &ctx.actor()?, &d, changes, Mode::Upsert).map_err(mds_error(UNKNOWN_TO_MDS))?;
    Ok(ok_doi(request, &d))
}

/// The upload as a kernel-4 record naming `doi`: DataCite XML with its identifier
/// rewritten, the JSON formats through the readers of `formats` (bolognese's `read_*`).
fn kernel4(format: Format, body: &[u8], doi: &str) -> Result<Vec<u8>, Error> {
    let reader = match format {
        Format::Datacite => {
            return Ok(metadata::with_identifier(body, doi)
                .map_err(|e| upload_error(doi, e))?
                .into_owned())
        }
        Format::SchemaOrg => formats::Format::SchemaOrg,
        Format::Citeproc => formats::Format::Citeproc,
        Format::Crosscite => formats::Format::CrossciteJson,
        Format::DataciteJson => formats::Format::DataciteJson,
        other => {
            return Err(Error::UnsupportedMediaType(format!(
                "Metadata format {} is not supported yet",
                other.name()
            )))
        }
    };
    let text = std::str::from_utf8(body).map_err(|_| Error::UnsupportedMediaType(NOT_RECOGNIZED.into()))?;
    formats::to_kernel4(reader, text, Some(doi))
        .map(String::into_bytes)
        .map_err(|e| Error::unprocessable(Problem::new(format!("DOI {doi}: {e}"))))
}

/// poodle's `generate_unique_doi` around [`doi::extract_doi`]: 404 `DOI not found` when
/// there is no DOI and no prefix; with `number`, 400 when that DOI exists; without, random
/// DOIs until one is unused.
fn target_doi(ctx: &Ctx, path: &str, in_record: Option<&str>, number: Option<u64>) -> Result<String, Error> {
    let not_found = || Error::NotFound(Some(DOI_NOT_FOUND.into()));
    let named = doi::validate_doi(path).is_some() || in_record.and_then(doi::validate_doi).is_some();
    let number = number.filter(|n| *n > 0);
    if named || number.is_some() {
        let d = doi::extract_doi(path, in_record, number)?.ok_or_else(not_found)?;
        if !named && dois::exists(ctx.db, &d)? {
            return Err(Error::BadRequest(format!("doi:{d} has already been registered")));
        }
        return Ok(d);
    }
    for _ in 0..MINT_ATTEMPTS {
        let d = doi::extract_doi(path, None, None)?.ok_or_else(not_found)?;
        if !dois::exists(ctx.db, &d)? {
            return Ok(d);
        }
    }
    Err(Error::Internal("no unused random DOI found".into()))
}

/// The DOI of a path; one that is no DOI is 404 `DOI not found` (poodle's `ActionNotFound`).
fn path_doi(params: &Params) -> Result<String, Error> {
    doi::validate_doi(params.get("doi")).ok_or_else(|| Error::NotFound(Some(DOI_NOT_FOUND.into())))
}

/// `GET /metadata/{doi}`: the record as stored.
pub fn get_metadata(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params)?;
    let found = dois::get(ctx.db, &ctx.principal, &d).map_err(mds_error(UNKNOWN_TO_MDS))?;
    let xml = found.xml.ok_or_else(|| Error::NotFound(Some(UNKNOWN_TO_MDS.into())))?;
    Ok(Reply::xml(200, xml))
}

/// `DELETE /metadata/{doi}`: hides a findable DOI (it becomes registered).
pub fn delete_metadata(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params)?;
    let changes = Changes {
        event: Some(Event::Hide),
        ..Changes::default()
    };
    dois::save(ctx.db, &ctx.actor()?, &d, changes, Mode::Update).map_err(mds_error(UNKNOWN_TO_MDS))?;
    Ok(Reply::text(200, "OK"))
}

/// `key=value` pairs of a media body: one a line (LF or CRLF), or form-encoded; query
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

/// Request parameters as Rails sees them: the query and a form-encoded body.
fn form_params(request: &Request) -> Vec<(String, String)> {
    let mut out = request.query.clone();
    if request.content_type().as_deref() == Some(FORM) {
        out.extend(parse_form(String::from_utf8_lossy(&request.body).trim()));
    }
    out
}

fn present<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

/// poodle's `extract_url`: `doi=…` and `url=…` lines of an MDS body (a later line wins; a
/// line without `=` counts as the key `value`), values trimmed and URL-unescaped as
/// `CGI.unescape` does. `path_doi` (already validated) must match the body's DOI and wins.
pub fn extract_url(path_doi: Option<&str>, data: &str) -> Result<(String, String), Error> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for line in data.split('\n') {
        let (k, v) = line.split_once('=').unwrap_or((line, "value"));
        fields.retain(|(key, _)| *key != k);
        fields.push((k, v));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let given = field("doi").ok_or_else(|| Error::BadRequest("param 'doi' required".into()))?;
    let given = percent_decode(given, true);
    if path_doi.is_some_and(|p| !p.eq_ignore_ascii_case(&given)) {
        return Err(Error::BadRequest(dois::DOI_MISMATCH.into()));
    }
    let target = field("url").ok_or_else(|| Error::BadRequest("param 'url' required".into()))?;
    Ok((path_doi.map_or(given, str::to_string), percent_decode(target, true)))
}

/// `PUT /doi/{doi}` and `POST /doi`, as poodle's `DoisController#update`: the DOI and URL
/// from parameters (path, query, form), else from the body's lines ([`extract_url`]); no
/// body at all is an empty 400. Sets the URL and publishes (draft or registered → findable:
/// lupo's event `publish`). Needs valid metadata. 201 `OK`.
pub fn put_doi(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let path = params.get("doi");
    let fields = form_params(request);
    let path_or_field = Some(path)
        .filter(|p| !p.trim().is_empty())
        .or_else(|| present(&fields, "doi"));
    let (given, target_url) = match (path_or_field, present(&fields, "url")) {
        (Some(d), Some(u)) => (d.to_string(), u.to_string()),
        _ if !request.body.is_empty() => extract_url(
            doi::validate_doi(path).as_deref(),
            &String::from_utf8_lossy(&request.body),
        )?,
        _ => return Err(Error::BadRequest(String::new())),
    };
    if !url::is_valid(&target_url) {
        return Err(Error::BadRequest(url::INVALID_URL.into()));
    }
    let d = doi::validate_doi(&given).ok_or_else(|| Error::NotFound(Some(DOI_NOT_FOUND.into())))?;
    let changes = Changes {
        url: Some(target_url),
        event: Some(Event::Publish),
        ..Changes::default()
    };
    dois::save(ctx.db, &ctx.actor()?, &d, changes, Mode::Upsert).map_err(mds_error(DOI_NOT_FOUND))?;
    Ok(Reply::text(201, "OK"))
}

/// `GET /doi/{doi}`: the URL, 204 when it has none yet.
pub fn get_doi(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params)?;
    let found = dois::get(ctx.db, &ctx.principal, &d).map_err(mds_error(DOI_NOT_FOUND))?;
    Ok(match found.url {
        Some(u) => Reply::text(200, u),
        None => Reply::empty(204),
    })
}

const TEXT: &str = "text/plain;charset=UTF-8";

/// `GET /doi`: the caller's minted DOIs, one a line, upper case; 204 when none. A list
/// longer than a page is streamed as it is read (chunked), never held whole.
pub fn list_dois(ctx: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let mut names = dois::MintedNames::first_page(ctx.db, &ctx.principal)?;
    if names.is_empty() {
        return Ok(Reply::empty(204));
    }
    if names.is_complete() {
        return Ok(Reply::new(200, TEXT, names.take_buffered()));
    }
    let mut reply = Reply::new(200, TEXT, Vec::new());
    reply.body = Body::Stream(Box::new(names));
    Ok(reply)
}

/// `DELETE /doi/{doi}`: deletes a draft; 405 for registered and findable DOIs.
pub fn delete_doi(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params)?;
    dois::delete_draft(ctx.db, &ctx.actor()?, &d, "GET, PUT").map_err(mds_error(DOI_NOT_FOUND))?;
    Ok(Reply::text(200, "OK"))
}

/// `POST /media/{doi}` and `POST /doi/{doi}/media`: `mime/type=url` lines, added to (or
/// updating) the DOI's media. 404 `No media for the DOI` for a DOI it cannot see, as poodle.
pub fn post_media(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params)?;
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
    dois::media_put(ctx.db, &ctx.actor()?, &d, &media).map_err(mds_error(NO_MEDIA))?;
    Ok(Reply::text(200, "OK"))
}

/// `type/subtype`, as media types are written.
fn is_media_type(s: &str) -> bool {
    s.split_once('/')
        .is_some_and(|(t, sub)| !t.is_empty() && !sub.is_empty() && !s.contains(char::is_whitespace))
}

/// `GET /media/{doi}` and `GET /doi/{doi}/media`: the media as `mime/type=url` lines; 404
/// `No media for the DOI` when there are none.
pub fn get_media(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params)?;
    let media = dois::media_get(ctx.db, &ctx.principal, &d).map_err(mds_error(UNKNOWN_TO_MDS))?;
    if media.is_empty() {
        return Err(Error::NotFound(Some(NO_MEDIA.into())));
    }
    let lines: Vec<String> = media.iter().map(|m| format!("{}={}", m.media_type, m.url)).collect();
    Ok(Reply::text(200, lines.join("\n")))
}

/// A media id as lupo shows it: Base32, 16 characters in groups of 4 (`0000-0000-0000-n07c`).
pub fn media_id(id: i64) -> String {
    doi::base32_url(u64::try_from(id).unwrap_or_default(), 4, 16, false)
}

fn media_id_param(params: &Params) -> Result<i64, Error> {
    doi::base32_url_decode(params.get("id"))
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| Error::NotFound(Some(NO_MEDIA.into())))
}

/// `GET /doi/{doi}/media/{id}`: one media entry as `mime/type=url`.
pub fn get_media_item(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.client()?;
    let d = path_doi(params)?;
    let id = media_id_param(params)?;
    let media = dois::media_get(ctx.db, &ctx.principal, &d).map_err(mds_error(NO_MEDIA))?;
    let m = media
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| Error::NotFound(Some(NO_MEDIA.into())))?;
    Ok(Reply::text(200, format!("{}={}", m.media_type, m.url)))
}

/// `DELETE /doi/{doi}/media/{id}`: removes one media entry, 200 `OK`.
pub fn delete_media_item(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let d = path_doi(params)?;
    let id = media_id_param(params)?;
    dois::media_delete(ctx.db, &ctx.actor()?, &d, id).map_err(mds_error(NO_MEDIA))?;
    Ok(Reply::text(200, "OK"))
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
            assert_eq!(present(&p, "doi"), Some("10.5072/abc"));
            assert_eq!(present(&p, "url"), Some("https://example.org/a?b=c"));
            assert_eq!(present(&p, "x"), Some("1"));
        }
        assert_eq!(present(&body_params(&request(None, "doi=\n")), "doi"), None);
    }

    #[test]
    fn media_types() {
        assert!(is_media_type("application/pdf"));
        assert!(!is_media_type("pdf"));
        assert!(!is_media_type("/pdf"));
        assert!(!is_media_type("text /plain"));
    }
}
