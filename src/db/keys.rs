//! SQL for API keys.

use rusqlite::{Connection, OptionalExtension};

use crate::limits::Limits;

/// What authentication needs of a stored key.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub id: String,
    pub client: String,
    pub key_prefix: String,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// Whether the key has limits (read them with [`limits`]): most keys have none, and
    /// those that do keep them for life, so authentication caches them by key id.
    pub limited: bool,
}

/// The limits stored in columns `first`, `first + 1` and `first + 2` of `r`.
fn limits_at(r: &rusqlite::Row, first: usize) -> rusqlite::Result<Limits> {
    let text = |i: usize| r.get_ref(first + i).map(|v| v.as_str_or_null().ok().flatten());
    Ok(Limits::from_columns(text(0)?, text(1)?, text(2)?))
}

pub fn find_by_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<KeyAuth>> {
    // The planner would take the narrower UNIQUE index and then read the row too.
    conn.prepare_cached(
        "SELECT id, client, key_prefix, revoked_at, expires_at,
                scopes IS NOT NULL OR prefixes IS NOT NULL OR allowed_networks IS NOT NULL
         FROM api_keys INDEXED BY api_keys_by_hash WHERE key_hash = ?1",
    )?
    .query_row([hash], |r| {
        Ok(KeyAuth {
            id: r.get(0)?,
            client: r.get(1)?,
            key_prefix: r.get(2)?,
            revoked_at: r.get(3)?,
            expires_at: r.get(4)?,
            limited: r.get(5)?,
        })
    })
    .optional()
}

/// The limits of key `id` (unlimited when it has none or does not exist).
pub fn limits(conn: &Connection, id: &str) -> rusqlite::Result<Limits> {
    conn.prepare_cached("SELECT scopes, prefixes, allowed_networks FROM api_keys WHERE id = ?1")?
        .query_row([id], |r| limits_at(r, 0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// A stored key as lists show it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub id: String,
    pub client: String,
    pub name: String,
    pub key_prefix: String,
    pub created: i64,
    pub updated: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub rotated_from: Option<String>,
    pub limits: Limits,
}

impl KeyRow {
    /// Not revoked and not expired at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// Which clients' keys (and audit events) a query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Client(String),
    /// Every client of this provider.
    Provider(String),
    All,
}

const KEY_COLUMNS: &str =
    "k.id, k.client, k.name, k.key_prefix, k.created, k.updated, k.last_used_at, k.revoked_at, k.expires_at, k.rotated_from,
     k.scopes, k.prefixes, k.allowed_networks";

fn key_row(r: &rusqlite::Row) -> rusqlite::Result<KeyRow> {
    Ok(KeyRow {
        id: r.get(0)?,
        client: r.get(1)?,
        name: r.get(2)?,
        key_prefix: r.get(3)?,
        created: r.get(4)?,
        updated: r.get(5)?,
        last_used_at: r.get(6)?,
        revoked_at: r.get(7)?,
        expires_at: r.get(8)?,
        rotated_from: r.get(9)?,
        limits: limits_at(r, 10)?,
    })
}

/// `?1` = scope kind, `?2` = its symbol: one statement serves every scope.
const SCOPE_FILTER: &str = "(?1 = 'all'
      OR (?1 = 'client' AND k.client = ?2)
      OR (?1 = 'provider' AND k.client IN (SELECT symbol FROM clients WHERE provider = ?2)))";

fn scope_params(scope: &Scope) -> (&'static str, &str) {
    match scope {
        Scope::Client(s) => ("client", s),
        Scope::Provider(s) => ("provider", s),
        Scope::All => ("all", ""),
    }
}

pub fn insert(conn: &Connection, k: &KeyRow, hash: &[u8]) -> rusqlite::Result<()> {
    let [scopes, prefixes, networks] = k.limits.to_columns();
    conn.prepare_cached(
        "INSERT INTO api_keys (id, client, name, key_prefix, key_hash, created, updated, last_used_at, revoked_at,
                               expires_at, rotated_from, scopes, prefixes, allowed_networks)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(rusqlite::params![
        k.id,
        k.client,
        k.name,
        k.key_prefix,
        hash,
        k.created,
        k.updated,
        k.last_used_at,
        k.revoked_at,
        k.expires_at,
        k.rotated_from,
        scopes,
        prefixes,
        networks
    ])?;
    Ok(())
}

/// A key by id, only when it lies in `scope`.
pub fn get(conn: &Connection, id: &str, scope: &Scope) -> rusqlite::Result<Option<KeyRow>> {
    let (kind, symbol) = scope_params(scope);
    conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k WHERE {SCOPE_FILTER} AND k.id = ?3"
    ))?
    .query_row(rusqlite::params![kind, symbol, id], key_row)
    .optional()
}

/// The key stored under `hash`, whatever its state.
pub fn get_by_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<KeyRow>> {
    conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.key_hash = ?1"))?
        .query_row([hash], key_row)
        .optional()
}

/// Keys in `scope`, newest first; with `include_inactive`, revoked and expired ones too,
/// after the active ones and latest-ended first.
pub fn list(conn: &Connection, scope: &Scope, include_inactive: bool, now: i64) -> rusqlite::Result<Vec<KeyRow>> {
    let (kind, symbol) = scope_params(scope);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys k
         WHERE {SCOPE_FILTER}
           AND (?3 OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?4)))
         ORDER BY (k.revoked_at IS NOT NULL OR (k.expires_at IS NOT NULL AND k.expires_at <= ?4)),
                  CASE WHEN k.revoked_at IS NOT NULL OR k.expires_at <= ?4
                       THEN coalesce(k.revoked_at, k.expires_at) END DESC,
                  k.created DESC, k.rowid DESC"
    ))?;
    let rows = stmt.query_map(rusqlite::params![kind, symbol, include_inactive, now], key_row)?;
    rows.collect()
}

/// Sets `revoked_at` unless the key already has one; true when this call revoked it.
pub fn revoke(conn: &Connection, id: &str, now: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("UPDATE api_keys SET revoked_at = ?2, updated = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(rusqlite::params![id, now])?;
    Ok(n > 0)
}

pub fn set_expires_at(conn: &Connection, id: &str, expires_at: Option<i64>, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE api_keys SET expires_at = ?2, updated = ?3 WHERE id = ?1")?
        .execute(rusqlite::params![id, expires_at, now])?;
    Ok(())
}

pub fn set_name(conn: &Connection, id: &str, name: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE api_keys SET name = ?2, updated = ?3 WHERE id = ?1")?
        .execute(rusqlite::params![id, name, now])?;
    Ok(())
}

/// Records a use; never moves `last_used_at` backwards.
pub fn touch(conn: &Connection, id: &str, at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
    )?
    .execute(rusqlite::params![id, at])?;
    Ok(())
}
