//! lupo's DOI helper routes: `GET /dois/random` (suggested DOIs under a prefix),
//! `GET /dois/{doi}/get-url` (the URL a DOI resolves to) and `POST /dois/validate`
//! (a DOI checked as a create would check it, nothing stored).

use serde_json::json;

use super::render::problem_json;
use crate::app::Ctx;
use crate::dois::json as doc;
use crate::dois::resource::{self, Metadata, View};
use crate::dois::{self, doi, Doi, State};
use crate::error::{Error, Problem};
use crate::http::reply::JSON_API;
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::metadata;

/// Most suggestions one request gets (lupo takes `size` as it comes).
const MAX_SUGGESTIONS: usize = 1000;

/// `GET /dois/random?prefix=10.x[/shoulder]&number=n&size=k`: `{"dois": [...]}`.
pub fn random(_: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let Some(given) = request.query("prefix").map(str::trim).filter(|p| !p.is_empty()) else {
        return Err(Error::unprocessable(Problem {
            title: "Parameter prefix is required".into(),
            source: None,
            uid: None,
        }));
    };
    let number = request.query("number").and_then(doi::number_param);
    let size = request
        .query("size")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_SUGGESTIONS);
    let mut found: Vec<String> = Vec::with_capacity(size);
    for _ in 0..size {
        let name = doi::generate_random_doi(given, number)?
            .ok_or_else(|| Error::unprocessable(Problem::at_property("No valid prefix found", "prefix")))?;
        if !found.contains(&name) {
            found.push(name);
        }
    }
    Ok(Reply::json(200, &json!({ "dois": found })))
}

/// `GET /dois/{doi}/get-url`: `{"url": …}` for the DOI's client (its provider, staff);
/// 204 when it has none yet.
pub fn get_url(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let d = dois::get(ctx.db, &ctx.principal, params.get("doi"))?;
    let provider = dois::provider_of(ctx.db, &d.client)?.unwrap_or_default();
    if !ctx.principal.may_read_client(&d.client, &provider) {
        return Err(if ctx.principal.is_authenticated() {
            Error::forbidden()
        } else {
            Error::Unauthenticated
        });
    }
    match d.url {
        Some(url) => Ok(Reply::json(200, &json!({ "url": url }))),
        None => Ok(Reply::empty(204)),
    }
}

/// `POST /dois/validate`: 200 with the DOI as it would be stored, or 200 with lupo's
/// `errors` list (lupo answers both with 200).
pub fn validate(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let client = ctx.writing_client()?.to_string();
    let input = doc::parse_input(&request.body)?;
    let given = input.doi.clone().unwrap_or_default();
    let name = match doi::parse(&given) {
        Some(name) => name,
        None => {
            return Ok(problems(vec![Problem {
                uid: Some(given),
                ..Problem::at_property("Is invalid", "doi")
            }]))
        }
    };
    let changes = doc::changes(input)?;
    let mut attributes = match changes.xml {
        Some(xml) => {
            let xml = super::rest_dois::converted(xml, &name)?;
            let xml = metadata::with_identifier(&xml, &name)
                .map_err(|e| dois::metadata_error(&name, e))?
                .into_owned();
            match metadata::read_record(&xml) {
                Ok(record) if record.problems.is_empty() => record.attributes,
                Ok(record) => {
                    return Ok(errors(dois::metadata_error(
                        &name,
                        metadata::MetadataError::Invalid(record.problems),
                    )))
                }
                Err(e) => return Ok(errors(dois::metadata_error(&name, e))),
            }
        }
        None => Default::default(),
    };
    attributes.extend(changes.attributes.unwrap_or_default());
    metadata::normalise(&mut attributes);
    let d = Doi {
        prefix: doi::prefix_of(&name).to_string(),
        doi: name,
        client,
        state: State::Draft,
        url: changes.url,
        xml: None,
        attributes: Some(attributes),
        created: ctx.now,
        updated: ctx.now,
        registered: None,
        updated_by: None,
    };
    let view = View {
        publisher: request.query("publisher") == Some("true"),
        affiliation: request.query("affiliation") == Some("true"),
        ..View::default()
    };
    let body = resource::document(&d, None, Metadata::Parsed(d.attributes.as_ref()), view, None, None)?;
    Ok(Reply::new(200, JSON_API, body))
}

fn problems(list: Vec<Problem>) -> Reply {
    Reply::json(
        200,
        &json!({"errors": list.iter().map(problem_json).collect::<Vec<_>>()}),
    )
}

/// A 422 of metadata problems as lupo's validate shows them: 200 with the `errors`.
fn errors(e: Error) -> Reply {
    match super::rest_dois::lupo_titles(e) {
        Error::Unprocessable(list) => problems(list),
        other => problems(vec![Problem {
            title: other.to_string(),
            source: None,
            uid: None,
        }]),
    }
}
