//! SQL for the security audit trail.

use rusqlite::{params, Connection};

use crate::limits::Limits;

/// The account that caused an event (issue 18): a client managing its own keys, its
/// provider or staff acting for it; with the id of the API key it acted with, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Upper-case symbol: a client's, a provider's or `ADMIN`.
    pub account: String,
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Event {
    pub client: Option<String>,
    pub action: String,
    pub api_key_id: Option<String>,
    pub key_prefix: Option<String>,
    pub remote_addr: Option<String>,
    /// The limits of the key the event is about, as they were (`None` for events without one).
    pub limits: Option<Limits>,
    /// Who acted; `None` when no account did (command line, fixtures, failed
    /// authentication, anonymous leaked-key reports).
    pub actor: Option<Actor>,
}

impl Event {
    pub fn for_client(client: &str, action: &str) -> Event {
        Event {
            client: Some(client.to_string()),
            action: action.to_string(),
            ..Event::default()
        }
    }
}

pub fn record(conn: &Connection, e: &Event, now: i64) -> rusqlite::Result<()> {
    let [scopes, prefixes, networks] = e.limits.as_ref().map(Limits::to_columns).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO audit_events (client, action, api_key_id, key_prefix, remote_addr, created,
                                   scopes, prefixes, allowed_networks, actor, actor_key_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        e.client,
        e.action,
        e.api_key_id,
        e.key_prefix,
        e.remote_addr,
        now,
        scopes,
        prefixes,
        networks,
        e.actor.as_ref().map(|a| &a.account),
        e.actor.as_ref().and_then(|a| a.key_id.as_ref())
    ])?;
    Ok(())
}

/// A recorded event, as the audit-events list shows it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: i64,
    pub event: Event,
    pub created: i64,
}

/// `?1` = scope kind, `?2` = its symbol (see `db::keys::Scope`).
const SCOPE_FILTER: &str = "(?1 = 'all'
      OR (?1 = 'client' AND client = ?2)
      OR (?1 = 'provider' AND client IN (SELECT symbol FROM clients WHERE provider = ?2)))";

fn scope_params(scope: &super::keys::Scope) -> (&'static str, &str) {
    match scope {
        super::keys::Scope::Client(s) => ("client", s),
        super::keys::Scope::Provider(s) => ("provider", s),
        super::keys::Scope::All => ("all", ""),
    }
}

/// Events in `scope`, newest first: one page and the total.
pub fn list(
    conn: &Connection,
    scope: &super::keys::Scope,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<Recorded>, i64)> {
    let (kind, symbol) = scope_params(scope);
    let total = conn
        .prepare_cached(&format!("SELECT count(*) FROM audit_events WHERE {SCOPE_FILTER}"))?
        .query_row(params![kind, symbol], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, client, action, api_key_id, key_prefix, remote_addr, created, scopes, prefixes, allowed_networks,
                actor, actor_key_id
         FROM audit_events
         WHERE {SCOPE_FILTER} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(params![kind, symbol, limit, offset], |r| {
        Ok(Recorded {
            id: r.get(0)?,
            event: Event {
                client: r.get(1)?,
                action: r.get(2)?,
                api_key_id: r.get(3)?,
                key_prefix: r.get(4)?,
                remote_addr: r.get(5)?,
                // Key events record the key's limits; others have none.
                limits: r
                    .get::<_, Option<String>>(3)?
                    .map(|_| -> rusqlite::Result<Limits> {
                        Ok(Limits::from_columns(
                            r.get::<_, Option<String>>(7)?.as_deref(),
                            r.get::<_, Option<String>>(8)?.as_deref(),
                            r.get::<_, Option<String>>(9)?.as_deref(),
                        ))
                    })
                    .transpose()?,
                actor: r
                    .get::<_, Option<String>>(10)?
                    .map(|account| -> rusqlite::Result<Actor> {
                        Ok(Actor {
                            account,
                            key_id: r.get(11)?,
                        })
                    })
                    .transpose()?,
            },
            created: r.get(6)?,
        })
    })?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, total))
}
