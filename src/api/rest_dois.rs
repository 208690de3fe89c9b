//! REST DOIs (CONTRACT §7): JSON:API `/dois` — create, update, read, list, delete — over
//! the shared DOI operations of `crate::dois`.

use serde_json::json;

use crate::api::negotiation;
use crate::app::Ctx;
use crate::dois::json::{self as doc, Metadata};
use crate::dois::{self, doi, Doi, Filter, Mode, State};
use crate::error::{Error, Problem};
use crate::http::reply::JSON_API;
use crate::http::router::Params;
use crate::http::{Reply, Request};

/// What a DOI that cannot be deleted still allows.
const ALLOW_NOT_DRAFT: &str = "GET, HEAD, PUT, PATCH";
const DEFAULT_PAGE_SIZE: u32 = 25;
const MAX_PAGE_SIZE: u32 = 1000;
/// Keeps offsets far inside SQLite's integers; deeper walks use `page[cursor]`.
const MAX_PAGE_NUMBER: u64 = 1_000_000;
/// Minting retries when a random suffix is taken (40 bits: practically never).
const MINT_ATTEMPTS: usize = 5;

fn location(request: &Request, doi: &str) -> String {
    format!("{}/dois/{doi}", request.base_url())
}

fn one(ctx: &Ctx, d: &Doi, xml: Option<&[u8]>, metadata: Metadata, status: u16) -> Result<Reply, Error> {
    let for_owner = ctx.principal.client() == Some(d.client.as_str());
    Ok(Reply::new(
        status,
        JSON_API,
        doc::document(d, xml, metadata, for_owner)?,
    ))
}

fn written(ctx: &Ctx, d: &Doi, status: u16) -> Result<Reply, Error> {
    one(
        ctx,
        d,
        d.xml.as_deref(),
        Metadata::Parsed(d.attributes.as_ref()),
        status,
    )
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
        Some(name) => dois::save(ctx.db, &ctx.actor()?, &name, changes, Mode::Create)?,
        None => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match dois::save(
                    ctx.db,
                    &ctx.actor()?,
                    &doi::mint(&prefix)?,
                    changes.clone(),
                    Mode::Create,
                ) {
                    Err(Error::Conflict(_)) if attempt < MINT_ATTEMPTS => continue,
                    other => break other?,
                }
            }
        }
    };
    Ok(written(ctx, &saved.doi, 201)?.with_header("Location", location(request, &saved.doi.doi)))
}

fn invalid_doi(name: &str) -> Error {
    Error::unprocessable(Problem::at_property(format!("{name} is not a valid DOI"), "doi"))
}

/// `PUT`/`PATCH /dois/{doi}`: merges the attributes sent into the DOI, creating it when unknown.
pub fn update(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    ctx.writing_client()?;
    let name = params.get("doi");
    let name = doi::parse(name).ok_or_else(|| invalid_doi(name))?;
    let changes = doc::changes(doc::parse_input(&request.body)?)?;
    let saved = dois::save(ctx.db, &ctx.actor()?, &name, changes, Mode::Upsert)?;
    if saved.created {
        Ok(written(ctx, &saved.doi, 201)?.with_header("Location", location(request, &saved.doi.doi)))
    } else {
        written(ctx, &saved.doi, 200)
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
        one(ctx, &row.doi, row.xml, Metadata::Stored(row.attributes), 200)
    })
}

/// `DELETE /dois/{doi}`: drafts only.
pub fn delete(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    dois::delete_draft(ctx.db, &ctx.actor()?, params.get("doi"), ALLOW_NOT_DRAFT)?;
    Ok(Reply::empty(204))
}

/// `GET /dois`: filters `client-id`, `prefix`, `state`, `query`; paging by `page[number]`
/// or, for walking everything, `page[cursor]` (start with `1`, then follow `links.next`).
pub fn list(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let query = ListQuery::parse(ctx, request)?;
    let (mut found, total) = dois::list(ctx.db, &ctx.principal, query.filter.clone())?;
    let next = query.next_link(request, &mut found, total);
    let mut body = b"{\"data\":[".to_vec();
    for (i, d) in found.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let for_owner = ctx.principal.client() == Some(d.client.as_str());
        let metadata = Metadata::Parsed(d.attributes.as_ref());
        doc::write_resource(&mut body, d, d.xml.as_deref(), metadata, for_owner)?;
    }
    let mut meta = json!({"total": total, "totalPages": total.div_ceil(query.size as u64)});
    if let Paging::Number(number) = query.paging {
        meta["page"] = json!(number);
    }
    let mut links = json!({"self": format!("{}{}", request.base_url(), self_target(request))});
    if let Some(next) = next {
        links["next"] = json!(next);
    }
    // The keys in byte order, as a `Value` object would write them.
    body.extend_from_slice(format!(r#"],"links":{links},"meta":{meta}}}"#).as_bytes());
    Ok(Reply::new(200, JSON_API, body))
}

/// How a list is paged: by page number, or by cursor (`page[cursor]` given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paging {
    Number(u64),
    Cursor,
}

/// A `GET /dois` query, read from the request's parameters.
struct ListQuery {
    size: u32,
    paging: Paging,
    filter: Filter,
}

/// `name`'s value as a number from 1 to `max` (400 otherwise), `default` when absent.
fn bounded<T: std::str::FromStr + PartialOrd + From<u8> + std::fmt::Display + Copy>(
    value: Option<&str>,
    name: &str,
    max: T,
    default: T,
) -> Result<T, Error> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<T>()
            .ok()
            .filter(|n| *n >= T::from(1) && *n <= max)
            .ok_or_else(|| Error::BadRequest(format!("{name} must be a number from 1 to {max}"))),
    }
}

impl ListQuery {
    /// Reads the parameters in the order their errors are reported: size, number, state, cursor.
    fn parse(ctx: &Ctx, request: &Request) -> Result<ListQuery, Error> {
        let param = |name: &str| request.query(name).map(str::trim).filter(|v| !v.is_empty());
        let size = bounded(param("page[size]"), "page[size]", MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
        let number = bounded(param("page[number]"), "page[number]", MAX_PAGE_NUMBER, 1)?;
        let mut filter = Filter::new(dois::visibility(&ctx.principal));
        filter.client = param("client-id").map(str::to_ascii_uppercase);
        filter.prefix = param("prefix").map(str::to_string);
        filter.query = param("query").map(str::to_string);
        for s in param("state")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let state = State::parse(&s.to_ascii_lowercase())
                .ok_or_else(|| Error::BadRequest(format!("state {s} is not draft, registered or findable")))?;
            filter.states.push(state);
        }
        let paging = if request.query("page[cursor]").is_some() {
            filter.cursor = match param("page[cursor]") {
                None | Some("1") => None,
                Some(c) => {
                    Some(dois::decode_cursor(c).ok_or_else(|| Error::BadRequest("page[cursor] is not valid".into()))?)
                }
            };
            // One more than asked tells whether there is a next page.
            filter.limit = size + 1;
            Paging::Cursor
        } else {
            filter.limit = size;
            filter.offset = (number - 1).saturating_mul(size as u64);
            Paging::Number(number)
        };
        Ok(ListQuery { size, paging, filter })
    }

    /// `links.next`, if there is a next page; drops the extra DOI a cursor page fetched.
    fn next_link(&self, request: &Request, found: &mut Vec<Doi>, total: u64) -> Option<String> {
        let size = self.size.to_string();
        match self.paging {
            Paging::Cursor if found.len() > self.size as usize => {
                found.truncate(self.size as usize);
                let last = found.last()?;
                Some(next_link(
                    request,
                    &[("page[cursor]", dois::encode_cursor(last)), ("page[size]", size)],
                ))
            }
            Paging::Number(number) if number.saturating_mul(self.size as u64) < total => Some(next_link(
                request,
                &[("page[number]", (number + 1).to_string()), ("page[size]", size)],
            )),
            _ => None,
        }
    }
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
