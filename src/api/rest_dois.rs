//! REST DOIs (CONTRACT §7): JSON:API `/dois` — create, update, read, list, delete — over
//! the shared DOI operations of `crate::dois`.

use serde_json::{json, Value};

use super::dois_list::{self, Paging};
use super::members;

use crate::api::negotiation;
use crate::app::Ctx;
use crate::dois::json as doc;
use crate::dois::resource::{self, Metadata, View, Xml};
use crate::dois::{self, doi, Doi, Mode};
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
    let flag = |name: &str| request.query(name) == Some("true");
    View {
        publisher: flag("publisher"),
        affiliation: flag("affiliation"),
        detail: detail || flag("detail"),
        for_owner: ctx.principal.client() == Some(d.client.as_str()),
    }
}

/// A DOI just written, in detail, as lupo answers a create or update.
fn written(ctx: &Ctx, request: &Request, d: &Doi, status: u16) -> Result<Reply, Error> {
    let provider = dois::provider_of(ctx.db, &d.client)?;
    let metadata = Metadata::Parsed(d.attributes.as_ref());
    let view = view(ctx, request, d, true);
    let body = resource::document(d, d.xml.as_deref().map(Xml::Plain), metadata, view, provider.as_deref())?;
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

/// `POST /dois`: a new DOI from `doi` (or `prefix` + `suffix`), or from `prefix` alone
/// with a random suffix.
pub fn create(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let input = doc::parse_input(&request.body)?;
    let joined = match (&input.prefix, &input.suffix) {
        (Some(prefix), Some(suffix)) => Some(format!("{prefix}/{suffix}")),
        _ => None,
    };
    let given = match (input.doi.as_ref().or(joined.as_ref()), &input.prefix) {
        (Some(name), _) => Some(doi::parse(name).ok_or_else(|| invalid_doi(name))?),
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
    if let Some(xml) = &changes.xml {
        let replaced = crate::metadata::with_identifier(xml, name)
            .map_err(|e| dois::metadata_error(name, e))?
            .into_owned();
        changes.xml = Some(replaced);
    }
    Ok(changes)
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

fn invalid_doi(name: &str) -> Error {
    Error::unprocessable(Problem::at_property(format!("{name} is not a valid DOI"), "doi"))
}

/// `PUT`/`PATCH /dois/{doi}`: merges the attributes sent into the DOI, creating it when unknown.
pub fn update(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let name = params.get("doi");
    let name = doi::parse(name).ok_or_else(|| invalid_doi(name))?;
    let changes = naming(doc::changes(doc::parse_input(&request.body)?)?, &name)?;
    let saved = dois::save(ctx.db, &ctx.actor()?, &name, changes, Mode::Upsert).map_err(lupo_titles)?;
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
    dois::with_in_row(ctx.db, &ctx.principal, params.get("doi"), |row| {
        let metadata = Metadata::Stored {
            attributes: row.attributes,
            derived: row.derived,
            attributes_index: row.attributes_index,
            derived_index: row.derived_index,
        };
        let view = view(ctx, request, &row.doi, true);
        // The Base64 stored at write time; rows from before it are encoded now.
        let xml = row.xml_base64.map(Xml::Encoded).or(row.xml.map(Xml::Plain));
        let body = resource::document(&row.doi, xml, metadata, view, row.provider.as_deref())?;
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
    if !owner.is_empty() {
        if request.path.starts_with("/providers/") {
            filter.providers = vec![owner];
        } else {
            filter.clients = vec![owner];
        }
    }
    let facets = if request.query("disable-facets") == Some("true") {
        None
    } else {
        Some(dois_list::facets(ctx, &filter)?)
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
    let total_pages = if size == 0 { 0 } else { total.div_ceil(size as u64) };
    let next = if cursor_mode {
        if found.len() > size as usize {
            found.truncate(size as usize);
            found.last().map(|d| {
                next_link(
                    request,
                    &[
                        ("page[cursor]", dois::encode_cursor(d)),
                        ("page[size]", size.to_string()),
                    ],
                )
            })
        } else {
            None
        }
    } else if size > 0 && number.saturating_mul(size as u64) < total {
        Some(next_link(
            request,
            &[
                ("page[number]", (number + 1).to_string()),
                ("page[size]", size.to_string()),
            ],
        ))
    } else {
        None
    };
    let mut body = b"{\"data\":[".to_vec();
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
        resource::write_resource(
            &mut body,
            d,
            d.xml.as_deref().map(Xml::Plain),
            metadata,
            view,
            provider.as_deref(),
        )?;
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
fn next_link(request: &Request, paging: &[(&str, String)]) -> String {
    let kept = request
        .query
        .iter()
        .filter(|(k, _)| !k.starts_with("page["))
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
