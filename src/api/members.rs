//! Member API reads (CONTRACT §8): clients, providers, prefixes. Contact details, domains
//! and key counts are shown only to the account itself, its provider and staff.

use serde_json::{json, Value};

use crate::app::Ctx;
use crate::auth::Principal;
use crate::db::accounts as db;
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::time::rfc3339;

fn prefix_refs(prefixes: &[(String, i64)]) -> Vec<Value> {
    prefixes
        .iter()
        .map(|(p, _)| json!({"id": p, "type": "prefixes"}))
        .collect()
}

pub fn client(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let resource = client_resource(ctx, params.get("symbol"))?.ok_or(Error::not_found())?;
    Ok(Reply::json(200, &json!({ "data": resource })))
}

/// The `clients` resource of `symbol` (any case) as the caller may see it; also what a
/// DOI's `?include=client` includes.
pub fn client_resource(ctx: &Ctx, symbol: &str) -> Result<Option<Value>, Error> {
    let symbol = symbol.to_ascii_uppercase();
    let Some(client) = db::client(ctx.db, &symbol)? else {
        return Ok(None);
    };
    let prefixes = db::prefixes_of(ctx.db, &symbol)?;
    let mut attributes = json!({
        "name": client.name,
        "symbol": client.symbol,
        "isActive": client.is_active,
        "created": rfc3339(client.created),
        "updated": rfc3339(client.updated),
    });
    if ctx.principal.may_read_client(&client.symbol, &client.provider) {
        attributes["contactEmail"] = json!(client.email);
        attributes["domains"] = json!(client.domains);
        attributes["apiKeyCount"] = json!(db::active_key_count(ctx.db, &symbol, ctx.now)?);
    }
    Ok(Some(json!({
        "id": client.symbol,
        "type": "clients",
        "attributes": attributes,
        "relationships": {
            "provider": {"data": {"id": client.provider, "type": "providers"}},
            "prefixes": {"data": prefix_refs(&prefixes)},
        },
    })))
}

pub fn client_prefixes(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let symbol = params.get("symbol").to_ascii_uppercase();
    db::client(ctx.db, &symbol)?.ok_or(Error::not_found())?;
    let prefixes = db::prefixes_of(ctx.db, &symbol)?;
    let data: Vec<Value> = prefixes
        .iter()
        .map(|(prefix, created)| {
            json!({
                "id": prefix,
                "type": "client-prefixes",
                "attributes": {"createdAt": rfc3339(*created), "updatedAt": rfc3339(*created)},
                "relationships": {
                    "client": {"data": {"id": symbol, "type": "clients"}},
                    "prefix": {"data": {"id": prefix, "type": "prefixes"}},
                },
            })
        })
        .collect();
    Ok(Reply::json(
        200,
        &json!({"data": data, "meta": {"total": prefixes.len()}}),
    ))
}

pub fn provider(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let symbol = params.get("symbol").to_ascii_uppercase();
    let provider = db::provider(ctx.db, &symbol)?.ok_or(Error::not_found())?;
    let clients = db::clients_of_provider(ctx.db, &symbol)?;
    let mut attributes = json!({
        "name": provider.name,
        "symbol": provider.symbol,
        "created": rfc3339(provider.created),
        "updated": rfc3339(provider.updated),
    });
    let private = match &ctx.principal {
        Principal::Staff => true,
        Principal::Provider { symbol } => *symbol == provider.symbol,
        _ => false,
    };
    if private {
        attributes["contactEmail"] = json!(provider.email);
    }
    let client_refs: Vec<Value> = clients.iter().map(|c| json!({"id": c, "type": "clients"})).collect();
    Ok(Reply::json(
        200,
        &json!({"data": {
            "id": provider.symbol,
            "type": "providers",
            "attributes": attributes,
            "relationships": {"clients": {"data": client_refs}},
        }}),
    ))
}

pub fn prefix(ctx: &Ctx, _: &Request, params: &Params) -> Result<Reply, Error> {
    let prefix = params.get("prefix");
    let (client, created) = db::prefix_owner(ctx.db, prefix)?.ok_or(Error::not_found())?;
    let provider = db::client(ctx.db, &client)?.map(|c| c.provider).unwrap_or_default();
    Ok(Reply::json(
        200,
        &json!({"data": {
            "id": prefix,
            "type": "prefixes",
            "attributes": {"prefix": prefix, "createdAt": rfc3339(created)},
            "relationships": {
                "clients": {"data": [{"id": client, "type": "clients"}]},
                "providers": {"data": [{"id": provider, "type": "providers"}]},
            },
        }}),
    ))
}
