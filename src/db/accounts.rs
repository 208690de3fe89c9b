//! SQL for staff, providers, clients and their DOI prefixes.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::accounts::Role;

/// A PBKDF2 password as stored: never the password itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassword {
    pub hash: Vec<u8>,
    pub salt: Vec<u8>,
    pub iterations: u32,
}

/// What authentication needs to know of an account.
#[derive(Debug, Clone)]
pub struct Account {
    pub symbol: String,
    pub role: Role,
    /// The provider of a client.
    pub provider: Option<String>,
    pub is_active: bool,
    pub password: Option<StoredPassword>,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub symbol: String,
    pub provider: String,
    pub name: String,
    pub email: Option<String>,
    pub is_active: bool,
    pub domains: String,
    pub created: i64,
    pub updated: i64,
}

#[derive(Debug, Clone)]
pub struct Provider {
    pub symbol: String,
    pub name: String,
    pub email: Option<String>,
    pub created: i64,
    pub updated: i64,
}

fn stored_password(row: &Row, first: usize) -> rusqlite::Result<Option<StoredPassword>> {
    let hash: Option<Vec<u8>> = row.get(first)?;
    let salt: Option<Vec<u8>> = row.get(first + 1)?;
    let iterations: Option<u32> = row.get(first + 2)?;
    Ok(match (hash, salt, iterations) {
        (Some(hash), Some(salt), Some(iterations)) => Some(StoredPassword { hash, salt, iterations }),
        _ => None,
    })
}

/// Looks an account up by its upper-case symbol in the table its role implies.
pub fn find(conn: &Connection, symbol: &str, role: Role) -> rusqlite::Result<Option<Account>> {
    match role {
        Role::Staff => conn
            .prepare_cached("SELECT symbol, password_hash, password_salt, password_iterations FROM staff WHERE symbol = ?1")?
            .query_row([symbol], |r| {
                Ok(Account { symbol: r.get(0)?, role, provider: None, is_active: true, password: stored_password(r, 1)? })
            })
            .optional(),
        Role::Provider => conn
            .prepare_cached("SELECT symbol, password_hash, password_salt, password_iterations FROM providers WHERE symbol = ?1")?
            .query_row([symbol], |r| {
                Ok(Account { symbol: r.get(0)?, role, provider: None, is_active: true, password: stored_password(r, 1)? })
            })
            .optional(),
        Role::Client => conn
            .prepare_cached(
                "SELECT symbol, provider, is_active, password_hash, password_salt, password_iterations FROM clients WHERE symbol = ?1",
            )?
            .query_row([symbol], |r| {
                Ok(Account {
                    symbol: r.get(0)?,
                    role,
                    provider: Some(r.get(1)?),
                    is_active: r.get(2)?,
                    password: stored_password(r, 3)?,
                })
            })
            .optional(),
    }
}

pub fn client(conn: &Connection, symbol: &str) -> rusqlite::Result<Option<Client>> {
    conn.prepare_cached(
        "SELECT symbol, provider, name, email, is_active, domains, created, updated FROM clients WHERE symbol = ?1",
    )?
    .query_row([symbol], |r| {
        Ok(Client {
            symbol: r.get(0)?,
            provider: r.get(1)?,
            name: r.get(2)?,
            email: r.get(3)?,
            is_active: r.get(4)?,
            domains: r.get(5)?,
            created: r.get(6)?,
            updated: r.get(7)?,
        })
    })
    .optional()
}

pub fn provider(conn: &Connection, symbol: &str) -> rusqlite::Result<Option<Provider>> {
    conn.prepare_cached("SELECT symbol, name, email, created, updated FROM providers WHERE symbol = ?1")?
        .query_row([symbol], |r| {
            Ok(Provider {
                symbol: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                created: r.get(3)?,
                updated: r.get(4)?,
            })
        })
        .optional()
}

pub fn clients_of_provider(conn: &Connection, provider: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT symbol FROM clients WHERE provider = ?1 ORDER BY symbol")?;
    let rows = stmt.query_map([provider], |r| r.get(0))?;
    rows.collect()
}

/// Every client symbol, in order (the staff's client picker).
pub fn client_symbols(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT symbol FROM clients ORDER BY symbol")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// A client's prefixes with the time each was assigned, oldest first.
pub fn prefixes_of(conn: &Connection, client: &str) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT prefix, created FROM client_prefixes WHERE client = ?1 ORDER BY created, prefix")?;
    let rows = stmt.query_map([client], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The client owning `prefix`, and when it was assigned.
pub fn prefix_owner(conn: &Connection, prefix: &str) -> rusqlite::Result<Option<(String, i64)>> {
    conn.prepare_cached("SELECT client, created FROM client_prefixes WHERE prefix = ?1")?
        .query_row([prefix], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

pub fn insert_provider(conn: &Connection, p: &Provider, password: Option<&StoredPassword>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO providers (symbol, name, email, password_hash, password_salt, password_iterations, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        p.symbol,
        p.name,
        p.email,
        password.map(|p| &p.hash),
        password.map(|p| &p.salt),
        password.map(|p| p.iterations),
        p.created,
        p.updated
    ])?;
    Ok(())
}

pub fn update_provider(conn: &Connection, p: &Provider) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE providers SET name = ?2, email = ?3, updated = ?4 WHERE symbol = ?1")?
        .execute(params![p.symbol, p.name, p.email, p.updated])?;
    Ok(())
}

pub fn insert_client(conn: &Connection, c: &Client, password: Option<&StoredPassword>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO clients (symbol, provider, name, email, is_active, domains,
                              password_hash, password_salt, password_iterations, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        c.symbol,
        c.provider,
        c.name,
        c.email,
        c.is_active,
        c.domains,
        password.map(|p| &p.hash),
        password.map(|p| &p.salt),
        password.map(|p| p.iterations),
        c.created,
        c.updated
    ])?;
    Ok(())
}

pub fn update_client(conn: &Connection, c: &Client) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE clients SET provider = ?2, name = ?3, email = ?4, is_active = ?5, domains = ?6, updated = ?7 WHERE symbol = ?1",
    )?
    .execute(params![c.symbol, c.provider, c.name, c.email, c.is_active, c.domains, c.updated])?;
    Ok(())
}

/// Sets the password of an existing account; false when there is none (staff is created).
pub fn set_password(
    conn: &Connection,
    symbol: &str,
    role: Role,
    p: &StoredPassword,
    now: i64,
) -> rusqlite::Result<bool> {
    let sql = match role {
        Role::Staff => {
            "INSERT INTO staff (symbol, password_hash, password_salt, password_iterations, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (symbol) DO UPDATE SET password_hash = ?2, password_salt = ?3, password_iterations = ?4, updated = ?5"
        }
        Role::Provider => {
            "UPDATE providers SET password_hash = ?2, password_salt = ?3, password_iterations = ?4, updated = ?5 WHERE symbol = ?1"
        }
        Role::Client => {
            "UPDATE clients SET password_hash = ?2, password_salt = ?3, password_iterations = ?4, updated = ?5 WHERE symbol = ?1"
        }
    };
    let n = conn
        .prepare_cached(sql)?
        .execute(params![symbol, p.hash, p.salt, p.iterations, now])?;
    Ok(n > 0)
}

pub fn set_client_active(conn: &Connection, symbol: &str, active: bool, now: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("UPDATE clients SET is_active = ?2, updated = ?3 WHERE symbol = ?1")?
        .execute(params![symbol, active, now])?;
    Ok(n > 0)
}

/// Assigns `prefix` to `client`. Returns the other owner when the prefix is taken (and
/// assigns nothing then).
pub fn add_prefix(conn: &Connection, client: &str, prefix: &str, now: i64) -> rusqlite::Result<Option<String>> {
    if let Some((owner, _)) = prefix_owner(conn, prefix)? {
        return Ok((owner != client).then_some(owner));
    }
    conn.prepare_cached("INSERT INTO client_prefixes (prefix, client, created) VALUES (?1, ?2, ?3)")?
        .execute(params![prefix, client, now])?;
    Ok(None)
}

/// Keys of a client that still authenticate (not revoked, not expired).
pub fn active_key_count(conn: &Connection, client: &str, now: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT count(*) FROM api_keys WHERE client = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
    )?
    .query_row(params![client, now], |r| r.get(0))
}
