//! REST DOIs (CONTRACT §7): JSON:API `/dois` — create, update, read, list, delete — over
//! the shared DOI operations of `crate::dois`.

use serde_json::{json, Value};

use super::dois_list::{self, Paging};
use super::members;

use crate::api::negotiation;
use crate::app::Ctx;
use crate::auth::Principal;
use crate::dois::json as doc;
use crate::dois::resource::{self, Metadata, View, Xml};
use crate::dois::{self, doi, rendered, Actor, Doi, Mode};
use crate::error::{Error, Problem, Source};
use crate::http::reply::JSON_API;
use crate::http::router::Params;
use crate::http::{Reply, Request};

/// What a DOI that cannot be deleted still allows.
const ALLOW_NOT_DRAFT: &str = "GET, HEAD, PUT, PATCH";
/// Minting retries when a random suffix is taken (40 bits: practically never).
const MINT_ATTEMPTS: usize = 5;

fn location(request: &Request, doi: &str) -> String {
    format!("{}/dois/{doi}", request.base_url())
}

/// lupo's serializer params from the query (`publisher`, `affiliation`, `detail`).
fn view(ctx: &Ctx, request: &Request, d: &Doi, detail: bool) -> View {
    view_of_client(ctx, request, &d.client, detail)
}

/// [`view`] of a DOI of `client`.
fn view_of_client(ctx: &Ctx, request: &Request, client: &str, detail: bool) -> View {
    let flag = |name: &str| request.query(name) == Some("true");
    View {
        publisher: flag("publisher"),
        affiliation: flag("affiliation"),
        detail: detail || flag("detail"),
        // lupo's `read_landing_page_results`: the DOI's client, and staff.
        for_owner: ctx.principal.client() == Some(client) || ctx.principal == Principal::Staff,
    }
}

/// A DOI just written, in detail, as lupo answers a create or update.
fn written(ctx: &Ctx, request: &Request, d: &Doi, status: u16) -> Result<Reply, Error> {
    let provider = dois::provider_of(ctx.db, &d.client)?;
    let metadata = Metadata::Parsed(d.attributes.as_ref());
    let view = view(ctx, request, d, true);
    let media = dois::media_ids(ctx.db, &d.doi)?;
    let body = resource::document(
        d,
        d.xml.as_deref().map(Xml::Plain),
        metadata,
        view,
        provider.as_deref(),
        Some(&media),
    )?;
    Ok(Reply::new(
        status,
        JSON_API,
        included(ctx, request, body, &[&d.client])?,
    ))
}

/// lupo's `?include=client`: the clients of the resources in `included`, appended to the
/// document `body` (whose last byte closes it).
fn included(ctx: &Ctx, request: &Request, mut body: Vec<u8>, clients: &[&str]) -> Result<Vec<u8>, Error> {
    let wanted = request
        .query("include")
        .is_some_and(|i| i.split(',').any(|r| r.trim() == "client"));
    if !wanted || body.last() != Some(&b'}') {
        return Ok(body);
    }
    body.pop();
    let mut seen: Vec<&str> = Vec::new();
    let mut resources = Vec::new();
    for client in clients {
        if !seen.contains(client) {
            seen.push(client);
            resources.extend(members::client_resource(ctx, client)?);
        }
    }
    body.extend_from_slice(b",\"included\":");
    body.extend_from_slice(Value::Array(resources).to_string().as_bytes());
    body.push(b'}');
    Ok(body)
}

/// The request body, inflated when sent with `Content-Encoding: gzip` (lupo's
/// `datacite_dois_gzip_spec`), at most the server's body limit once inflated (413 past it).
fn body<'r>(ctx: &Ctx, request: &'r Request) -> Result<std::borrow::Cow<'r, [u8]>, Error> {
    use std::io::Read;
    let gzipped = request
        .header("content-encoding")
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("gzip"));
    if !gzipped {
        return Ok(std::borrow::Cow::Borrowed(&request.body));
    }
    let limit = ctx.app.config.body_limit as u64;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&request.body[..])
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|_| Error::BadRequest(doc::NOT_JSON_API.into()))?;
    if out.len() as u64 > limit {
        return Err(Error::TooLarge(format!(
            "The body is larger than {limit} bytes once decompressed"
        )));
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// `POST /dois`: a new DOI from `doi` (or `prefix` + `suffix`), or from `prefix` alone
/// with a random suffix.
pub fn create(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let input = doc::parse_input(&body(ctx, request)?)?;
    let joined = match (&input.prefix, &input.suffix) {
        (Some(prefix), Some(suffix)) => Some(format!("{prefix}/{suffix}")),
        _ => None,
    };
    let given = match (input.doi.as_ref().or(joined.as_ref()), &input.prefix) {
        (Some(name), _) => Some(doi::parse(name).ok_or_else(|| refused_doi(name))?),
        (None, Some(prefix)) if doi::is_prefix(prefix) => None,
        (None, Some(prefix)) => {
            return Err(Error::unprocessable(Problem::at_property(
                format!("Prefix {prefix} is not a DOI prefix"),
                "prefix",
            )))
        }
        (None, None) => {
            return Err(Error::unprocessable(Problem::at_property("Can't be blank", "doi")));
        }
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    let changes = doc::changes(input)?;
    let saved = match given {
        Some(name) => {
            dois::save(ctx.db, &ctx.actor()?, &name, naming(changes, &name)?, Mode::Create).map_err(lupo_titles)?
        }
        None => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let name = doi::mint(&prefix)?;
                match dois::save(
                    ctx.db,
                    &ctx.actor()?,
                    &name,
                    naming(changes.clone(), &name)?,
                    Mode::Create,
                ) {
                    Err(e) if dois::is_taken(&e) && attempt < MINT_ATTEMPTS => continue,
                    other => break other.map_err(lupo_titles)?,
                }
            }
        }
    };
    Ok(written(ctx, request, &saved.doi, 201)?.with_header("Location", location(request, &saved.doi.doi)))
}

/// The changes with the XML's `<identifier>` replaced by `name`, as lupo's `replace_doi`
/// does: the DOI of the request wins over another DOI or a placeholder in the record.
fn naming(mut changes: dois::Changes, name: &str) -> Result<dois::Changes, Error> {
    if let Some(xml) = changes.xml.take() {
        let (xml, content_url) = read_xml(xml, name)?;
        changes.xml = Some(xml);
        // A record's `contentUrl` (schema.org) unless the request gave one, as lupo merges.
        if changes.content_url.is_none() {
            changes.content_url = content_url;
        }
    }
    if let Some(xml) = &changes.xml {
        let replaced = crate::metadata::with_identifier(xml, name)
            .map_err(|e| dois::metadata_error(name, e))?
            .into_owned();
        changes.xml = Some(replaced);
    }
    Ok(changes)
}

/// lupo reads the `xml` attribute in any format bolognese reads (`find_from_format`,
/// `parse_xml`): DataCite JSON, Crosscite, Citeproc, schema.org JSON, codemeta, BibTeX, RIS
/// and Crossref XML become a kernel-4 record naming `name`; anything else is kept as sent (DataCite XML, or
/// refused as not XML).
pub fn converted(xml: Vec<u8>, name: &str) -> Result<Vec<u8>, Error> {
    Ok(read_xml(xml, name)?.0)
}

/// [`converted`], and the record's `contentUrl` when it has one.
fn read_xml(xml: Vec<u8>, name: &str) -> Result<(Vec<u8>, Option<Value>), Error> {
    use crate::formats::Format;
    let Ok(text) = std::str::from_utf8(&xml) else {
        return Ok((xml, None));
    };
    let read = match crate::formats::detect(text) {
        Some(
            f @ (Format::DataciteJson
            | Format::CrossciteJson
            | Format::Citeproc
            | Format::SchemaOrg
            | Format::Bibtex
            | Format::Ris),
        ) => crate::formats::to_attributes(f, text),
        _ if crate::metadata::detect(&xml) == Some(crate::metadata::Format::Codemeta) => {
            crate::formats::codemeta_to_attributes(text)
        }
        // lupo's Crossref test is bolognese's (`crossref_result/…/doi_record/crossref`), not poodle's.
        _ if crate::formats::is_crossref(text) => crate::formats::crossref_to_attributes(text),
        _ => return Ok((xml, None)),
    };
    let (_, attributes) =
        read.map_err(|e| Error::unprocessable(Problem::at_property(format!("DOI {name}: {e}"), "xml")))?;
    let content_url = attributes.get("contentUrl").cloned();
    let record = crate::metadata::json_to_xml(&name.to_uppercase(), &attributes);
    Ok((record.into_bytes(), content_url))
}

/// Metadata problems as lupo's `xml_schema` validator titles them: `DOI <uid>: <message>`,
/// a line number followed by `, column 0`. Other problems (`doi`, `url`) keep their titles.
pub fn lupo_titles(e: Error) -> Error {
    match e {
        Error::Unprocessable(problems) => Error::Unprocessable(
            problems
                .into_iter()
                .map(|mut p| {
                    let property = matches!(&p.source, Some(Source::Property(s)) if s != "doi" && s != "url");
                    if let (true, Some(uid)) = (property, &p.uid) {
                        let at_line = p
                            .title
                            .rsplit_once(" at line ")
                            .is_some_and(|(_, n)| n.parse::<u32>().is_ok());
                        let column = if at_line { ", column 0" } else { "" };
                        p.title = format!("DOI {uid}: {}{column}", p.title);
                    }
                    p
                })
                .collect(),
        ),
        other => other,
    }
}

/// A new DOI that is no DOI, as lupo answers it: under a prefix, its suffix's characters
/// are `Is invalid` (422); without one, no client owns its prefix (403).
fn refused_doi(name: &str) -> Error {
    match name.split_once('/') {
        Some((prefix, _)) if doi::is_prefix(prefix) => Error::unprocessable(Problem {
            uid: Some(name.to_ascii_lowercase()),
            ..Problem::at_property("Is invalid", "doi")
        }),
        _ => Error::forbidden(),
    }
}

fn invalid_doi(name: &str) -> Error {
    Error::unprocessable(Problem::at_property(format!("{name} is not a valid DOI"), "doi"))
}

/// `PUT`/`PATCH /dois/{doi}`: merges the attributes sent into the DOI, creating it when
/// unknown; with `mode: transfer`, moves it to the client of `relationships` instead.
/// Staff write any DOI as its client (lupo's `staff_admin` manages every DOI), a new one as
/// the client `relationships` names.
pub fn update(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let name = params.get("doi");
    let name = doi::parse(name).ok_or_else(|| invalid_doi(name))?;
    let input = match doc::parse_input(&body(ctx, request)?) {
        Ok(input) => input,
        // Who may only transfer (a provider) or not write at all is refused as such first,
        // as lupo authorizes before it reads the attributes.
        Err(_) if !matches!(ctx.principal, Principal::Client { .. } | Principal::Staff) => {
            return Err(if ctx.principal.is_authenticated() {
                Error::forbidden()
            } else {
                Error::Unauthenticated
            });
        }
        Err(e) => return Err(doc::with_uid(e, Some(&name))),
    };
    if input.mode.as_deref() == Some("transfer") {
        if let Some(to) = &input.client {
            if !ctx.principal.is_authenticated() {
                return Err(Error::Unauthenticated);
            }
            let d = dois::transfer(ctx.db, &ctx.principal, &name, to, ctx.now)?;
            return written(ctx, request, &d, 200);
        }
    }
    let actor = match ctx.principal {
        Principal::Staff => {
            let client = dois::staff_writes_as(ctx.db, &name, input.client.as_deref())?;
            Actor {
                client: client.ok_or_else(Error::forbidden)?,
                credential: ctx.principal.changed_by(),
                now: ctx.now,
                prefixes: None,
            }
        }
        _ => ctx.actor()?,
    };
    let changes = naming(doc::changes(input)?, &name)?;
    let saved = dois::save(ctx.db, &actor, &name, changes, Mode::Upsert).map_err(lupo_titles)?;
    if saved.created {
        Ok(written(ctx, request, &saved.doi, 201)?.with_header("Location", location(request, &saved.doi.doi)))
    } else {
        written(ctx, request, &saved.doi, 200)
    }
}

/// `GET /dois/{doi}`: findable DOIs for anyone, others for their client only.
pub fn show(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    // Another format than JSON:API by `Accept` (content negotiation).
    let wanted = negotiation::wanted(request.header("accept"));
    if wanted != negotiation::Wanted::JsonApi {
        return negotiation::show(ctx, request, params.get("doi"), wanted);
    }
    let doi = params.get("doi");
    // `include=client` shows the client as it is now, which no DOI revision tracks.
    let cached = ctx.app.rendered.enabled() && request.query("include").is_none();
    if cached {
        // A cached rendering is served only if built from the revision the DOI has now.
        let stamp = dois::visible_stamp(ctx.db, &ctx.counters, &ctx.app.rendered, &ctx.principal, doi)?;
        let key = rendered::Key::new(doi, view_of_client(ctx, request, &stamp.client, true));
        if let Some(body) = ctx.app.rendered.get(&key, stamp.revision, stamp.provider.as_deref()) {
            return Ok(Reply::shared(200, JSON_API, body));
        }
    }
    dois::with_in_row(ctx.db, &ctx.principal, doi, |row| {
        let metadata = Metadata::Stored {
            attributes: row.attributes,
            derived: row.derived,
            attributes_index: row.attributes_index,
            derived_index: row.derived_index,
        };
        let view = view(ctx, request, &row.doi, true);
        let media = dois::media_ids_in_row(&row)?;
        // Encoded now; a row an earlier build stored its Base64 beside is copied as stored.
        let xml = row.xml_base64.map(Xml::Encoded).or(row.xml.map(Xml::Plain));
        let body = resource::document(&row.doi, xml, metadata, view, row.provider.as_deref(), Some(&media))?;
        if cached {
            // Kept under what it was built from: this row's revision, view and provider.
            let body: std::sync::Arc<[u8]> = body.into();
            let key = rendered::Key::new(&row.doi.doi, view);
            ctx.app
                .rendered
                .put(key, row.revision, row.provider.clone(), body.clone());
            return Ok(Reply::shared(200, JSON_API, body));
        }
        Ok(Reply::new(
            200,
            JSON_API,
            included(ctx, request, body, &[&row.doi.client])?,
        ))
    })
}

/// `DELETE /dois/{doi}`: drafts only.
pub fn delete(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    dois::delete_draft(ctx.db, &ctx.actor()?, params.get("doi"), ALLOW_NOT_DRAFT)?;
    Ok(Reply::empty(204))
}

/// `GET /dois`: lupo's filters, sort, paging and facets (`api::dois_list`); paging by
/// `page[number]` or, for walking everything, `page[cursor]` (start with `1`, then follow
/// `links.next`).
/// Also `GET /providers/{symbol}/dois` and `GET /clients/{symbol}/dois`, lupo's nested
/// routes: the list filtered by that provider or client.
pub fn list(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let Paging { size, number } = dois_list::paging(request);
    let cursor_mode = request.query("page[cursor]").is_some();
    let mut filter = dois_list::filter(ctx, request);
    let owner = params.get("symbol").to_ascii_uppercase();
    // The owner of a nested list (`/providers|clients/{id}/dois`) as lupo's next link
    // names it: `/dois?provider-id=…` or `client-id=…`.
    let mut nested: Vec<(&str, String)> = Vec::new();
    if !owner.is_empty() {
        if request.path.starts_with("/providers/") {
            nested.push(("provider-id", owner.to_ascii_lowercase()));
            filter.providers = vec![owner];
        } else {
            nested.push(("client-id", owner.to_ascii_lowercase()));
            filter.clients = vec![owner];
        }
    }
    let facets = if request.query("disable-facets") == Some("true") {
        None
    } else {
        let (facets, total) = dois_list::facets(ctx, &filter)?;
        filter.total = Some(total);
        Some(facets)
    };
    if cursor_mode {
        // An undecodable cursor starts from the beginning, as lupo's `page_from_params`.
        filter.cursor = request
            .query("page[cursor]")
            .filter(|c| *c != "1")
            .and_then(dois::decode_cursor);
        // One more than asked tells whether there is a next page.
        filter.limit = if size == 0 { 0 } else { size + 1 };
    } else {
        filter.limit = size;
        filter.offset = (number - 1).saturating_mul(size as u64);
    }
    let (mut found, total) = dois::list(ctx.db, &ctx.principal, filter)?;
    // lupo counts pages of numbered paging within the 10,000 results it can reach.
    let reachable = if cursor_mode {
        total
    } else {
        total.min(dois_list::MAX_RESULTS)
    };
    let total_pages = if size == 0 { 0 } else { reachable.div_ceil(size as u64) };
    let next = if cursor_mode {
        if found.len() > size as usize {
            found.truncate(size as usize);
            found.last().map(|d| {
                let paging = [
                    ("page[cursor]", dois::encode_cursor(d)),
                    ("page[size]", size.to_string()),
                ];
                next_link(request, &[&nested[..], &paging[..]].concat())
            })
        } else {
            None
        }
    } else if size > 0 && number.saturating_mul(size as u64) < total && number < total_pages {
        let paging = [
            ("page[number]", (number + 1).to_string()),
            ("page[size]", size.to_string()),
        ];
        Some(next_link(request, &[&nested[..], &paging[..]].concat()))
    } else {
        None
    };
    let fieldset = dois_list::fieldset(request);
    let mut body = b"{\"data\":[".to_vec();
    let mut one = Vec::new();
    for (i, d) in found.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let view = view(ctx, request, d, false);
        let provider = if view.detail {
            dois::provider_of(ctx.db, &d.client)?
        } else {
            None
        };
        let metadata = Metadata::Parsed(d.attributes.as_ref());
        let xml = d.xml.as_deref().map(Xml::Plain);
        match &fieldset {
            None => resource::write_resource(&mut body, d, xml, metadata, view, provider.as_deref(), None)?,
            // lupo's sparse fieldsets: the resource as written, then narrowed.
            Some(names) => {
                one.clear();
                resource::write_resource(&mut one, d, xml, metadata, view, provider.as_deref(), None)?;
                body.extend_from_slice(&dois_list::sparse(&one, names)?);
            }
        }
    }
    let mut meta = json!({"total": total, "totalPages": total_pages});
    if !cursor_mode {
        meta["page"] = json!(number);
    }
    if let (Some(facets), Value::Object(m)) = (facets, &mut meta) {
        if total > 0 {
            m.extend(facets);
        }
    }
    let mut links = json!({"self": format!("{}{}", request.base_url(), self_target(request))});
    if let Some(next) = next {
        links["next"] = json!(next);
    }
    // The keys in byte order, as a `Value` object would write them.
    body.extend_from_slice(format!(r#"],"links":{links},"meta":{meta}}}"#).as_bytes());
    let clients: Vec<&str> = found.iter().map(|d| d.client.as_str()).collect();
    Ok(Reply::new(200, JSON_API, included(ctx, request, body, &clients)?))
}

/// The request's own target (`/dois?…`), for `links.self`.
fn self_target(request: &Request) -> String {
    query_target(request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The request's URL with the paging parameters replaced.
/// The `/dois` link with the request's parameters, its paging replaced by `paging` (and
/// any other parameter `paging` names).
fn next_link(request: &Request, paging: &[(&str, String)]) -> String {
    let kept = request
        .query
        .iter()
        .filter(|(k, _)| !k.starts_with("page[") && !paging.iter().any(|(p, _)| p == k))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let target = query_target(kept.chain(paging.iter().map(|(k, v)| (*k, v.as_str()))));
    format!("{}{target}", request.base_url())
}

fn query_target<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let query: Vec<String> = pairs.map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if query.is_empty() {
        "/dois".to_string()
    } else {
        format!("/dois?{}", query.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn next_link_replaces_paging_and_encodes() {
        let mut r = Request::new(Method::Get, "/dois?query=a%20b&page%5Bnumber%5D=1&prefix=10.5072");
        r.headers.push(("Host".into(), "h:1".into()));
        assert_eq!(
            next_link(&r, &[("page[number]", "2".into())]),
            "http://h:1/dois?query=a%20b&prefix=10.5072&page%5Bnumber%5D=2"
        );
        assert_eq!(self_target(&Request::new(Method::Get, "/dois")), "/dois");
    }
}
