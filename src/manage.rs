//! Account management shared by the operator CLI and the fixtures loader: create (or, for
//! fixtures, update) providers and clients, assign prefixes, set passwords, (de)activate.
//! The CLI's calls are one transaction each; the fixtures loader runs the `put_*` steps
//! inside its own transaction, so a whole file is stored or nothing.

use rusqlite::Connection;

use crate::accounts::{check_client_symbol, check_prefix, check_provider_symbol, role_of, Role};
use crate::auth::password;
use crate::db::{self, accounts as dba, accounts::StoredPassword, Conn};
use crate::error::Error;
use crate::time::now;

pub struct NewProvider<'a> {
    pub symbol: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
}

pub struct NewClient<'a> {
    pub symbol: &'a str,
    pub provider: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub prefixes: &'a [String],
    pub domains: Option<&'a str>,
    /// `None` keeps a stored client's state and makes a new one active.
    pub is_active: Option<bool>,
}

/// What to do with an account that exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// The operator's `add`: an error.
    Refuse,
    /// Fixtures: take the given fields.
    Update,
}

/// A password to give an account.
pub enum Password<'a> {
    /// Leave it as it is.
    Keep,
    /// Hashed already (before the transaction, so PBKDF2 does not run under the write lock).
    Hashed(StoredPassword),
    /// Hashed only when the stored one is different, so loading the same fixtures twice
    /// changes nothing.
    Plain { plain: &'a str, iterations: u32 },
}

/// The hash to store for `password`, if any, given the stored one.
fn password_to_store(existing: Option<&StoredPassword>, password: Password) -> Result<Option<StoredPassword>, Error> {
    match password {
        Password::Keep => Ok(None),
        Password::Hashed(stored) => Ok(Some(stored)),
        Password::Plain { plain, .. } if existing.is_some_and(|s| password::verify(plain, s)) => Ok(None),
        Password::Plain { plain, iterations } => Ok(Some(password::hash(plain, iterations)?)),
    }
}

fn hashed(plain: Option<&str>, iterations: u32) -> Result<Password<'static>, Error> {
    Ok(match plain {
        Some(p) => Password::Hashed(password::hash(p, iterations)?),
        None => Password::Keep,
    })
}

/// Creates a provider (the operator's `provider add`).
pub fn add_provider(conn: &Conn, p: &NewProvider, plain: Option<&str>, iterations: u32) -> Result<String, Error> {
    let symbol = check_provider_symbol(p.symbol)?;
    let password = hashed(plain, iterations)?;
    db::write(conn, |tx| put_provider(tx, p, password, IfExists::Refuse, now()))?;
    Ok(symbol)
}

/// Creates a client with its prefixes (the operator's `client add`).
pub fn add_client(conn: &Conn, c: &NewClient, plain: Option<&str>, iterations: u32) -> Result<String, Error> {
    let symbol = check_client_symbol(c.symbol)?;
    let password = hashed(plain, iterations)?;
    db::write(conn, |tx| put_client(tx, c, password, IfExists::Refuse, now()))?;
    Ok(symbol)
}

/// Creates or (with `IfExists::Update`) updates a provider in the caller's transaction;
/// returns its upper-case symbol.
pub fn put_provider(
    tx: &Connection,
    p: &NewProvider,
    password: Password,
    if_exists: IfExists,
    t: i64,
) -> Result<String, Error> {
    let symbol = check_provider_symbol(p.symbol)?;
    let existing = dba::find(tx, &symbol, Role::Provider)?;
    if existing.is_some() && if_exists == IfExists::Refuse {
        return Err(Error::Conflict(format!("provider {symbol} already exists")));
    }
    let row = dba::Provider {
        symbol: symbol.clone(),
        name: p.name.unwrap_or(&symbol).to_string(),
        email: p.email.map(str::to_string),
        created: t,
        updated: t,
    };
    let old = existing.as_ref().and_then(|a| a.password.as_ref());
    let stored = password_to_store(old, password)?;
    match existing {
        None => dba::insert_provider(tx, &row, stored.as_ref())?,
        Some(_) => {
            dba::update_provider(tx, &row)?;
            if let Some(stored) = &stored {
                dba::set_password(tx, &symbol, Role::Provider, stored, t)?;
            }
        }
    }
    Ok(symbol)
}

/// Creates or (with `IfExists::Update`) updates a client and adds its prefixes, in the
/// caller's transaction: its provider must exist, and a prefix of another client is refused.
pub fn put_client(
    tx: &Connection,
    c: &NewClient,
    password: Password,
    if_exists: IfExists,
    t: i64,
) -> Result<String, Error> {
    let symbol = check_client_symbol(c.symbol)?;
    let provider = check_provider_symbol(c.provider)?;
    let prefixes = c
        .prefixes
        .iter()
        .map(|p| check_prefix(p))
        .collect::<Result<Vec<_>, _>>()?;
    if dba::provider(tx, &provider)?.is_none() {
        return Err(Error::NotFound(Some(format!("provider {provider} does not exist"))));
    }
    let existing = dba::find(tx, &symbol, Role::Client)?;
    if existing.is_some() && if_exists == IfExists::Refuse {
        return Err(Error::Conflict(format!("client {symbol} already exists")));
    }
    let row = dba::Client {
        symbol: symbol.clone(),
        provider,
        name: c.name.unwrap_or(&symbol).to_string(),
        email: c.email.map(str::to_string),
        is_active: c.is_active.unwrap_or(true),
        domains: c.domains.unwrap_or("*").to_string(),
        created: t,
        updated: t,
    };
    let old = existing.as_ref().and_then(|a| a.password.as_ref());
    let stored = password_to_store(old, password)?;
    match existing {
        None => dba::insert_client(tx, &row, stored.as_ref())?,
        Some(_) => {
            dba::update_client(tx, &row)?;
            if let Some(stored) = &stored {
                dba::set_password(tx, &symbol, Role::Client, stored, t)?;
            }
        }
    }
    for prefix in &prefixes {
        if let Some(owner) = dba::add_prefix(tx, &symbol, prefix, t)? {
            return Err(Error::Conflict(format!("prefix {prefix} already belongs to {owner}")));
        }
    }
    Ok(symbol)
}

/// Sets the password of ADMIN in the caller's transaction (created if needed), unless it
/// is this one already.
pub fn put_admin_password(tx: &Connection, password: Password, t: i64) -> Result<(), Error> {
    let existing = dba::find(tx, crate::accounts::ADMIN, Role::Staff)?.and_then(|a| a.password);
    if let Some(stored) = password_to_store(existing.as_ref(), password)? {
        dba::set_password(tx, crate::accounts::ADMIN, Role::Staff, &stored, t)?;
    }
    Ok(())
}

/// Sets the password of `symbol` (ADMIN, a provider or a client; ADMIN is created if needed).
pub fn set_password(conn: &Conn, symbol: &str, password: &str, iterations: u32) -> Result<String, Error> {
    let symbol = symbol.to_ascii_uppercase();
    let role = role_of(&symbol).ok_or_else(|| Error::BadRequest(format!("'{symbol}' is not an account symbol")))?;
    if password.is_empty() {
        return Err(Error::BadRequest("the password is empty".into()));
    }
    let stored = password::hash(password, iterations)?;
    let found = db::write(conn, |c| {
        let found = dba::set_password(c, &symbol, role, &stored, now())?;
        // A new password ends the account's console sessions: whoever knew the old one is out.
        crate::db::sessions::delete_account(c, &symbol)?;
        if found && role == Role::Client {
            crate::db::audit::record(
                c,
                &crate::db::audit::Event::for_client(&symbol, "password.changed"),
                now(),
            )?;
        }
        Ok::<_, Error>(found)
    })?;
    if found {
        Ok(symbol)
    } else {
        Err(Error::NotFound(Some(format!("no account {symbol}"))))
    }
}

pub fn set_client_active(conn: &Conn, symbol: &str, active: bool) -> Result<String, Error> {
    let symbol = check_client_symbol(symbol)?;
    let found = db::write(conn, |c| dba::set_client_active(c, &symbol, active, now()))?;
    if found {
        Ok(symbol)
    } else {
        Err(Error::NotFound(Some(format!("no client {symbol}"))))
    }
}
