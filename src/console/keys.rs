//! The API keys page: a client's keys and their limits (providers and staff pick the
//! client), create (optionally limited, checked by `keys::manage` as for the API),
//! revoke after a confirmation, rotate, and the audit events; all through `keys::manage`.

use maud::{html, Markup};

use super::layout::{
    client_picker, client_query, csrf, notice, page, problems, query_value, time, unprocessable, Section,
};
use super::session::Session;
use super::{form, to_sign_in};
use crate::api::keys::{origin, scope};
use crate::app::Ctx;
use crate::auth::Principal;
use crate::db::{self, keys::KeyRow, keys::Scope};
use crate::error::Error;
use crate::http::router::Params;
use crate::http::{Reply, Request};
use crate::keys::manage;
use crate::limits::{Limits, Scope as KeyScope};

const AUDIT_EVENTS_SHOWN: i64 = 20;

/// The clients a provider or staff may pick; empty for a client (it has only its own).
pub(super) fn pickable(ctx: &Ctx, principal: &Principal) -> Result<Vec<String>, Error> {
    Ok(match principal {
        Principal::Provider { symbol } => db::accounts::clients_of_provider(ctx.db, symbol)?,
        Principal::Staff => db::accounts::client_symbols(ctx.db)?,
        _ => Vec::new(),
    })
}

/// The client the page is about, and the one to name in its links (providers and staff only).
pub(super) fn chosen<'s>(s: &Session, scope: &'s Scope) -> (Option<&'s str>, Option<&'s str>) {
    let client = match scope {
        Scope::Client(c) => Some(c.as_str()),
        _ => None,
    };
    let in_links = if s.principal.client().is_some() { None } else { client };
    (client, in_links)
}

fn keys_url(client: Option<&str>, notice: &str) -> String {
    let mut url = format!("/console/keys?notice={notice}");
    if let Some(c) = client {
        url.push_str(&format!("&client-id={}", query_value(c)));
    }
    url
}

fn state(key: &KeyRow, now: i64) -> &'static str {
    if key.revoked_at.is_some() {
        "revoked"
    } else if key.is_active(now) {
        "active"
    } else {
        "expired"
    }
}

pub fn list(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let Some(s) = Session::of(ctx, request)? else {
        return Ok(to_sign_in());
    };
    let done = match request.query("notice") {
        Some("revoked") => Some("Key revoked."),
        _ => None,
    };
    keys_page(ctx, request, &s, 200, done, &[])
}

fn keys_page(
    ctx: &Ctx,
    request: &Request,
    s: &Session,
    status: u16,
    done: Option<&str>,
    errors: &[String],
) -> Result<Reply, Error> {
    let scope = scope(&s.ctx(ctx), request)?;
    let (client, in_links) = chosen(s, &scope);
    let q = client_query(in_links);
    let keys = db::keys::list(ctx.db, &scope, true, ctx.now)?;
    let (events, _) = db::audit::list(ctx.db, &scope, AUDIT_EVENTS_SHOWN, 0)?;
    let clients = pickable(ctx, &s.principal)?;
    let body = html! {
        @if !clients.is_empty() { (client_picker("/console/keys", &clients, client)) }
        (notice(done))
        (problems(errors))
        h2 { "Keys" @if let Some(c) = client { " of " (c) } }
        @if keys.is_empty() { p { "No keys yet." } } @else { (keys_table(s, &keys, &q, ctx.now)) }
        @if client.is_some() {
            h2 { "Create a key" }
            (create_form(s, &q, &db::accounts::prefixes_of(ctx.db, client.unwrap_or(""))?))
        } @else {
            p { "Choose a client to create keys for it." }
        }
        h2 { "Audit events" }
        @if events.is_empty() { p { "No events yet." } } @else { (audit_table(&events)) }
    };
    Ok(page(status, "API keys", Section::Keys, Some(s), body))
}

fn keys_table(s: &Session, keys: &[KeyRow], q: &str, now: i64) -> Markup {
    html! {
        div.scroll { table {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Key prefix" } th scope="col" { "Created" }
                th scope="col" { "Last used" } th scope="col" { "Expires" } th scope="col" { "State" }
                th scope="col" { "Scopes" } th scope="col" { "Prefixes" } th scope="col" { "Allowed networks" }
                th scope="col" { "Actions" }
            } }
            tbody { @for key in keys { (key_row(s, key, q, now)) } }
        } }
    }
}

fn create_form(s: &Session, q: &str, prefixes: &[(String, i64)]) -> Markup {
    html! {
        form.stack method="post" action={ "/console/keys" (q) } {
            (csrf(s))
            label for="name" { "Name" }
            input #name name="name" type="text" required maxlength="191";
            label for="expires" { "Expires " span.hint { "(optional; the key stops working at the end of that day, UTC)" } }
            input #expires name="expires" type="date";
            fieldset {
                legend { "Scopes " span.hint { "(optional; none ticked: every scope)" } }
                @for scope in KeyScope::ALL {
                    @let id = format!("scope-{}", scope.name().replace(':', "-"));
                    label for=(id) { input #(id) type="checkbox" name="scopes" value=(scope.name()); " " code { (scope.name()) } }
                }
            }
            @if !prefixes.is_empty() {
                fieldset {
                    legend { "Prefixes " span.hint { "(optional; none ticked: every prefix of the client)" } }
                    @for (prefix, _) in prefixes {
                        @let id = format!("prefix-{prefix}");
                        label for=(id) { input #(id) type="checkbox" name="prefixes" value=(prefix); " " (prefix) }
                    }
                }
            }
            label for="allowed-networks" { "Allowed networks " span.hint { "(optional; CIDRs separated by commas or spaces, e.g. 192.0.2.0/24, 2001:db8::/32; empty: anywhere)" } }
            input #allowed-networks name="allowed-networks" type="text" maxlength="8000";
            button type="submit" { "Create key" }
        }
    }
}

fn audit_table(events: &[db::audit::Recorded]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr {
                th scope="col" { "Time" } th scope="col" { "Client" } th scope="col" { "Event" } th scope="col" { "Key prefix" }
                th scope="col" { "By" } th scope="col" { "Address" }
            } }
            tbody { @for r in events { tr {
                td { (time(Some(r.created))) } td { (r.event.client.as_deref().unwrap_or("—")) }
                td { (r.event.action) } td { code { (r.event.key_prefix.as_deref().unwrap_or("—")) } }
                td { (actor_cell(r.event.actor.as_ref())) }
                td { (r.event.remote_addr.as_deref().unwrap_or("—")) }
            } } }
        } }
    }
}

/// Who caused an event: the account, and the key it used if any ("—" when no account
/// did, as for the command line).
fn actor_cell(actor: Option<&db::audit::Actor>) -> Markup {
    html! {
        @match actor {
            None => "—",
            Some(a) => {
                (a.account)
                @if let Some(key) = &a.key_id { " " span.hint { "(key " code { (key) } ")" } }
            }
        }
    }
}

fn key_row(s: &Session, key: &KeyRow, q: &str, now: i64) -> Markup {
    let state = state(key, now);
    html! {
        tr {
            td { (key.name) } td { code { (key.key_prefix) } } td { (time(Some(key.created))) }
            td { (time(key.last_used_at)) } td { (time(key.expires_at)) }
            td { span class={ "state " (state) } { (state) } }
            (limit_cells(&key.limits))
            td.actions {
                @if state == "active" {
                    form.inline method="post" action={ "/console/keys/" (query_value(&key.id)) "/rotate" (q) } {
                        (csrf(s))
                        button type="submit" aria-label={ "Rotate " (key.name) } { "Rotate" }
                    }
                    " "
                    a.button.danger href={ "/console/keys/" (query_value(&key.id)) "/revoke" (q) } aria-label={ "Revoke " (key.name) } { "Revoke" }
                }
            }
        }
    }
}

/// A key's scopes, prefixes and allowed networks, "all"/"any" where it has no such limit.
fn limit_cells(limits: &Limits) -> Markup {
    let scopes = limits
        .scopes
        .map(|s| s.iter().map(KeyScope::name).collect::<Vec<_>>().join(", "));
    let prefixes = limits.prefixes.as_ref().map(|p| p.join(", "));
    let networks = limits
        .networks
        .as_ref()
        .map(|n| n.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
    html! {
        td { (scopes.as_deref().unwrap_or("all")) }
        td { (prefixes.as_deref().unwrap_or("all")) }
        td { (networks.as_deref().unwrap_or("any")) }
    }
}

/// The page that shows a new key, once.
fn new_key_page(s: &Session, key: &KeyRow, plain: &str, in_links: Option<&str>) -> Reply {
    let rotated = key.rotated_from.is_some();
    let body = html! {
        p { "Key " strong { (key.name) } " for " (key.client) " (prefix " code { (key.key_prefix) } ")." }
        div.newkey {
            label for="new-key" { "API key" }
            input #new-key type="text" readonly value=(plain) spellcheck="false";
            button #copy type="button" data-copy="new-key" hidden { "Copy" }
        }
        p.warning role="alert" { strong { "Copy it now: it will not be shown again." } }
        @if rotated { p { "It replaces the rotated key, which no longer works." } }
        p { "Programs send it as " code { "Authorization: Bearer <key>" } "." }
        p { a href={ "/console/keys" (client_query(in_links)) } { "Back to API keys" } }
    };
    page(201, "New API key", Section::Keys, Some(s), body)
}

/// 422s of key management shown on the keys page; other errors are error pages.
fn shown(ctx: &Ctx, request: &Request, s: &Session, result: Result<Reply, Error>) -> Result<Reply, Error> {
    match result {
        Err(e) => {
            let (status, titles) = unprocessable(e)?;
            keys_page(ctx, request, s, status, None, &titles)
        }
        ok => ok,
    }
}

/// The last second of `date` (`YYYY-MM-DD`, UTC) as Unix seconds.
fn end_of_day(date: &str) -> Option<i64> {
    let (month, day) = crate::time::parse_date(date).filter(|_| date.len() == 10)?;
    Some(month.start()? + i64::from(day) * 86_400 - 1)
}

/// The limits asked for in the create form, checked by `keys::manage` like the API's: no
/// box ticked (or no network typed) means no limit of that kind.
fn requested_limits(form: &form::Form) -> manage::Requested {
    let some = |list: Vec<String>| (!list.is_empty()).then_some(list);
    let owned = |name: &str| some(form.all(name).into_iter().map(str::to_string).collect());
    let networks = form.get("allowed-networks").unwrap_or("");
    manage::Requested {
        scopes: owned("scopes"),
        prefixes: owned("prefixes"),
        allowed_networks: some(
            networks
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        ),
    }
}

pub fn create(ctx: &Ctx, request: &Request, _: &Params) -> Result<Reply, Error> {
    let form = form::read(request, form::SMALL)?;
    let Some(s) = Session::of_form(ctx, request, form.get("csrf"))? else {
        return Ok(to_sign_in());
    };
    let scope = scope(&s.ctx(ctx), request)?;
    let (Some(client), in_links) = chosen(&s, &scope) else {
        return Err(Error::BadRequest("Choose a client first.".into()));
    };
    let result = (|| {
        let expires_at = match form.get("expires").map(str::trim).unwrap_or("") {
            "" => None,
            date => Some(end_of_day(date).ok_or_else(|| {
                Error::unprocessable(crate::error::Problem::new("Expires must be a date such as 2031-12-31"))
            })?),
        };
        let name = form.get("name").unwrap_or("");
        let requested = requested_limits(&form);
        let origin = origin(&s.ctx(ctx), request);
        let (key, plain) = manage::create(ctx.db, client, name, expires_at, &requested, &origin, ctx.now)?;
        Ok(new_key_page(&s, &key, &plain, in_links))
    })();
    shown(ctx, request, &s, result)
}

pub fn confirm_revoke(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let Some(s) = Session::of(ctx, request)? else {
        return Ok(to_sign_in());
    };
    let scope = scope(&s.ctx(ctx), request)?;
    let q = client_query(chosen(&s, &scope).1);
    let key = db::keys::get(ctx.db, params.get("id"), &scope)?.ok_or_else(Error::not_found)?;
    let body = html! {
        p { "Revoke key " strong { (key.name) } " (prefix " code { (key.key_prefix) } ") of " (key.client) "?" }
        p { "Every program using it gets 401 from then on. This cannot be undone." }
        form.inline method="post" action={ "/console/keys/" (query_value(&key.id)) "/revoke" (q) } {
            (csrf(&s))
            button.danger type="submit" { "Revoke" }
        }
        " "
        a.button href={ "/console/keys" (q) } { "Cancel" }
    };
    Ok(page(200, "Revoke API key", Section::Keys, Some(&s), body))
}

pub fn revoke(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let form = form::read(request, form::SMALL)?;
    let Some(s) = Session::of_form(ctx, request, form.get("csrf"))? else {
        return Ok(to_sign_in());
    };
    let scope = scope(&s.ctx(ctx), request)?;
    manage::revoke(ctx.db, &scope, params.get("id"), &origin(&s.ctx(ctx), request), ctx.now)?;
    Ok(Reply::see_other(&keys_url(chosen(&s, &scope).1, "revoked")))
}

pub fn rotate(ctx: &Ctx, request: &Request, params: &Params) -> Result<Reply, Error> {
    let form = form::read(request, form::SMALL)?;
    let Some(s) = Session::of_form(ctx, request, form.get("csrf"))? else {
        return Ok(to_sign_in());
    };
    let scope = scope(&s.ctx(ctx), request)?;
    let in_links = chosen(&s, &scope).1;
    let result = manage::rotate(
        ctx.db,
        &scope,
        params.get("id"),
        0,
        &origin(&s.ctx(ctx), request),
        ctx.now,
    )
    .map(|(key, plain)| new_key_page(&s, &key, &plain, in_links));
    shown(ctx, request, &s, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_end_at_midnight_utc() {
        assert_eq!(end_of_day("1970-01-01"), Some(86_399));
        assert_eq!(end_of_day("1970-1-01"), None);
        assert_eq!(end_of_day("soon"), None);
        assert_eq!(end_of_day("2031-02-29"), None);
        assert_eq!(
            end_of_day("2028-02-29"),
            crate::time::parse_rfc3339("2028-02-29T23:59:59Z")
        );
        assert_eq!(end_of_day("2028-02-29T00:00"), None);
    }
}
