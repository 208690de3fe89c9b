//! API key management over HTTP (CONTRACT §3): create, list, revoke, rotate, and the
//! security audit events. Only passwords manage keys; providers and staff use `?client-id=`.

use serde_json::{json, Value};

use crate::app::Ctx;
use crate::auth::{Credential, Principal};
use crate::db::audit::Actor;
use crate::db::{self, accounts as dba, keys::KeyRow, keys::Scope};
use crate::error::{Error, Problem};
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::keys::manage::{self, Origin, Requested};
use crate::limits::Limits;
use crate::time::{parse_rfc3339, rfc3339};

pub const KEYS_CANNOT_MANAGE: &str = "API keys cannot manage credentials; use the repository password.";
/// 9999-12-31T23:59:59Z: the last time RFC 3339 can write.
const LATEST_TIME: i64 = 253_402_300_799;
const DEFAULT_PAGE_SIZE: i64 = 100;
const MAX_PAGE_SIZE: i64 = 1000;

/// Whose keys a request manages: the calling client's; a provider's clients' (or one of
/// them with `client-id`); for staff everybody's (or one client's).
pub fn scope(ctx: &Ctx, request: &Request) -> Result<Scope, Error> {
    let client_id = request
        .query("client-id")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase);
    match &ctx.principal {
        Principal::Anonymous => Err(Error::Unauthenticated),
        p if p.is_api_key() => Err(Error::Forbidden(Some(KEYS_CANNOT_MANAGE.into()))),
        Principal::Client { symbol, .. } => match client_id {
            Some(other) if other != *symbol => Err(Error::forbidden()),
            _ => Ok(Scope::Client(symbol.clone())),
        },
        Principal::Provider { symbol } => match client_id {
            None => Ok(Scope::Provider(symbol.clone())),
            Some(client) => match dba::client(ctx.db, &client)? {
                Some(c) if c.provider == *symbol => Ok(Scope::Client(client)),
                _ => Err(Error::forbidden()),
            },
        },
        Principal::Staff => match client_id {
            None => Ok(Scope::All),
            Some(client) => match dba::client(ctx.db, &client)? {
                Some(_) => Ok(Scope::Client(client)),
                None => Err(Error::not_found()),
            },
        },
    }
}

pub fn remote(request: &Request) -> Option<String> {
    request.remote_addr.map(|a| a.to_string())
}

/// The account a principal acts as, for audit events: its upper-case symbol (`ADMIN` for
/// staff) and the API key it used, if any. `None` for anonymous callers.
pub fn actor(principal: &Principal) -> Option<Actor> {
    let (account, key_id) = match principal {
        Principal::Anonymous => return None,
        Principal::Staff => (crate::accounts::ADMIN.to_string(), None),
        Principal::Provider { symbol } => (symbol.clone(), None),
        Principal::Client { symbol, credential, .. } => (
            symbol.clone(),
            match credential {
                Credential::ApiKey { id, .. } => Some(id.clone()),
                Credential::Password => None,
            },
        ),
    };
    Some(Actor {
        account: account.to_ascii_uppercase(),
        key_id,
    })
}

/// Who acts and from where, for the audit events of what the request changes.
pub fn origin(ctx: &Ctx, request: &Request) -> Origin {
    Origin {
        actor: actor(&ctx.principal),
        remote_addr: remote(request),
    }
}

fn time_or_null(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| json!(rfc3339(t)))
}

/// A key's limits as attributes: the scopes in effect, and its prefixes and networks
/// (`null`: all the client's prefixes, including later ones; any network).
fn limits_json(limits: &Limits) -> [(&'static str, Value); 3] {
    [
        (
            "scopes",
            json!(limits.effective_scopes().iter().map(|s| s.name()).collect::<Vec<_>>()),
        ),
        ("prefixes", json!(limits.prefixes)),
        (
            "allowedNetworks",
            json!(limits
                .networks
                .as_ref()
                .map(|n| n.iter().map(ToString::to_string).collect::<Vec<_>>())),
        ),
    ]
}

/// A key as JSON:API; `plain` only in the responses that create one.
fn key_json(key: &KeyRow, plain: Option<&str>) -> Value {
    let mut attributes = json!({
        "name": key.name,
        "keyPrefix": key.key_prefix,
        "created": rfc3339(key.created),
        "updated": rfc3339(key.updated),
        "lastUsedAt": time_or_null(key.last_used_at),
        "revokedAt": time_or_null(key.revoked_at),
        "expiresAt": time_or_null(key.expires_at),
    });
    for (name, value) in limits_json(&key.limits) {
        attributes[name] = value;
    }
    if let Some(plain) = plain {
        attributes["key"] = json!(plain);
    }
    json!({
        "id": key.id,
        "type": "apiKeys",
        "attributes": attributes,
        "relationships": {"client": {"data": {"id": key.client, "type": "clients"}}},
    })
}

/// The one response that shows a key: never to be cached anywhere.
fn created(key: &KeyRow, plain: &str) -> Reply {
    Reply::json(201, &json!({"data": key_json(key, Some(plain))})).with_header("Cache-Control", "no-store")
}

fn problem(title: &str, attribute: &str) -> Error {
    Error::unprocessable(Problem::at_pointer(title, format!("/data/attributes/{attribute}")))
}

/// `expiresAt` (RFC 3339) or `expiresIn` (humantime) as Unix seconds.
fn expiry(payload: &Value, now: i64) -> Result<Option<i64>, Error> {
    let at = crate::api::payload::attribute(payload, "expiresAt");
    let within = crate::api::payload::attribute(payload, "expiresIn");
    let expires_at = match (at, within) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => return Err(problem("Give expiresAt or expiresIn, not both", "expiresIn")),
        (Some(at), None) => at
            .as_str()
            .and_then(parse_rfc3339)
            .ok_or_else(|| problem("Expires at must be an RFC 3339 time", "expiresAt"))?,
        (None, Some(within)) => {
            let secs = within
                .as_str()
                .and_then(|s| humantime::parse_duration(s.trim()).ok())
                .map(|d| d.as_secs())
                .filter(|s| *s > 0)
                .ok_or_else(|| problem("Expires in must be a duration such as 90d", "expiresIn"))?;
            now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
        }
    };
    if expires_at <= now {
        return Err(problem("Expires at must be in the future", "expiresAt"));
    }
    if expires_at > LATEST_TIME {
        return Err(problem("Expires at must be before the year 10000", "expiresAt"));
    }
    Ok(Some(expires_at))
}

/// Attribute `name` as a list of strings; absent or `null`: `None`.
fn string_list(payload: &Value, name: &str) -> Result<Option<Vec<String>>, Error> {
    let invalid = || problem(&format!("{name} must be a list of strings"), name);
    match crate::api::payload::attribute(payload, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= crate::limits::MAX_ENTRIES => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(invalid))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::Array(_)) => Err(problem(
            &format!("{name} must list at most {} entries", crate::limits::MAX_ENTRIES),
            name,
        )),
        Some(_) => Err(invalid()),
    }
}

/// The optional `scopes`, `prefixes` and `allowedNetworks` of a new key.
fn requested_limits(payload: &Value) -> Result<Requested, Error> {
    Ok(Requested {
        scopes: string_list(payload, "scopes")?,
        prefixes: string_list(payload, "prefixes")?,
        allowed_networks: string_list(payload, "allowedNetworks")?,
    })
}

pub fn create(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let client = match scope(ctx, request)? {
        Scope::Client(client) => client,
        _ => {
            return Err(Error::BadRequest(
                "Providers and staff create keys for one client: add ?client-id=SYMBOL".into(),
            ))
        }
    };
    let payload = crate::api::payload::read(request)?
        .ok_or_else(|| Error::BadRequest(crate::api::payload::NOT_JSONAPI.into()))?;
    let name = manage::check_name(crate::api::payload::attribute(&payload, "name").and_then(Value::as_str))?;
    let expires_at = expiry(&payload, ctx.now)?;
    let requested = requested_limits(&payload)?;
    let (key, plain) = manage::create(
        ctx.db,
        &client,
        &name,
        expires_at,
        &requested,
        &origin(ctx, request),
        ctx.now,
    )?;
    Ok(created(&key, &plain))
}

pub fn list(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let scope = scope(ctx, request)?;
    let include_inactive = request.query("include_revoked") == Some("true");
    let keys = db::keys::list(ctx.db, &scope, include_inactive, ctx.now)?;
    let data: Vec<Value> = keys.iter().map(|k| key_json(k, None)).collect();
    Ok(Reply::json(200, &json!({"data": data, "meta": {"total": keys.len()}})))
}

pub fn revoke(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let scope = scope(ctx, request)?;
    // Revoking only takes access away, so an inactive client may still do it.
    manage::revoke(ctx.db, &scope, params.get("id"), &origin(ctx, request), ctx.now)?;
    Ok(Reply::empty(204))
}

pub fn rotate(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let scope = scope(ctx, request)?;
    let grace = match crate::api::payload::read(request)? {
        None => 0,
        Some(payload) => match crate::api::payload::attribute(&payload, "gracePeriod") {
            None => 0,
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| problem("Grace period must be between 0 and 7 days", "gracePeriod"))?,
            Some(Value::String(s)) => humantime::parse_duration(s.trim())
                .map_err(|_| problem("Grace period must be a duration such as 1h", "gracePeriod"))?
                .as_secs(),
            Some(_) => return Err(problem("Grace period must be a duration such as 1h", "gracePeriod")),
        },
    };
    let (key, plain) = manage::rotate(ctx.db, &scope, params.get("id"), grace, &origin(ctx, request), ctx.now)?;
    Ok(created(&key, &plain))
}

/// `page[size]` and `page[number]` as (limit, offset).
fn page(request: &Request) -> (i64, i64) {
    let size = request
        .query("page[size]")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let number = request
        .query("page[number]")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 1_000_000);
    (size, (number - 1) * size)
}

pub fn audit_events(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let scope = scope(ctx, request)?;
    let (limit, offset) = page(request);
    let (events, total) = db::audit::list(ctx.db, &scope, limit, offset)?;
    let data: Vec<Value> = events
        .iter()
        .map(|r| {
            let e = &r.event;
            let mut attributes = json!({
                "action": e.action,
                "apiKeyId": e.api_key_id,
                "keyPrefix": e.key_prefix,
                "remoteAddr": e.remote_addr,
                "created": rfc3339(r.created),
                "actor": e.actor.as_ref().map(|a| &a.account),
                "actorKeyId": e.actor.as_ref().and_then(|a| a.key_id.as_ref()),
            });
            for (name, value) in limits_json(e.limits.as_ref().unwrap_or(&Limits::default())) {
                attributes[name] = if e.limits.is_some() { value } else { Value::Null };
            }
            json!({
                "id": r.id.to_string(),
                "type": "auditEvents",
                "attributes": attributes,
                "relationships": {"client": {"data": e.client.as_ref().map(|c| json!({"id": c, "type": "clients"}))}},
            })
        })
        .collect();
    let pages = (total + limit - 1) / limit;
    Ok(Reply::json(
        200,
        &json!({"data": data, "meta": {"total": total, "totalPages": pages, "page": offset / limit + 1}}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_is_the_account_and_the_key_it_used() {
        let client = |credential| Principal::Client {
            symbol: "DEMO.REPO".into(),
            provider: "DEMO".into(),
            is_active: true,
            credential,
        };
        let by = |account: &str, key_id: Option<&str>| {
            Some(Actor {
                account: account.into(),
                key_id: key_id.map(Into::into),
            })
        };
        assert_eq!(actor(&client(Credential::Password)), by("DEMO.REPO", None));
        let key = Credential::ApiKey {
            id: "k1".into(),
            key_prefix: "DC.abcdefgh".into(),
            limits: None,
        };
        assert_eq!(actor(&client(key)), by("DEMO.REPO", Some("k1")));
        assert_eq!(actor(&Principal::Provider { symbol: "DEMO".into() }), by("DEMO", None));
        assert_eq!(actor(&Principal::Staff), by("ADMIN", None));
        assert_eq!(actor(&Principal::Anonymous), None);
    }
}
