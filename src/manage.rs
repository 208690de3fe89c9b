//! Account management shared by the operator CLI and the fixtures loader: create providers
//! and clients, assign prefixes, set passwords, (de)activate. Each call is one transaction.

use rusqlite::Connection;

use crate::accounts::{check_client_symbol, check_prefix, check_provider_symbol, role_of, Role};
use crate::auth::password;
use crate::db::{self, accounts as dba};
use crate::time::now;

pub struct NewClient<'a> {
    pub symbol: &'a str,
    pub provider: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub prefixes: &'a [String],
    pub domains: Option<&'a str>,
    pub password: Option<&'a str>,
}

fn sql(e: rusqlite::Error) -> String {
    format!("database error: {e}")
}

pub fn add_provider(
    conn: &Connection,
    symbol: &str,
    name: Option<&str>,
    email: Option<&str>,
    password: Option<&str>,
    iterations: u32,
) -> Result<String, String> {
    let symbol = check_provider_symbol(symbol)?;
    let stored = password.map(|p| password::hash(p, iterations)).transpose()?;
    let t = now();
    db::write(conn, |c| {
        if dba::provider(c, &symbol)?.is_some() {
            return Ok(Err(format!("provider {symbol} already exists")));
        }
        let row = dba::Provider {
            symbol: symbol.clone(),
            name: name.unwrap_or(&symbol).to_string(),
            email: email.map(str::to_string),
            created: t,
            updated: t,
        };
        dba::insert_provider(c, &row, stored.as_ref())?;
        Ok(Ok(()))
    })
    .map_err(sql)??;
    Ok(symbol)
}

pub fn add_client(conn: &Connection, new: &NewClient, iterations: u32) -> Result<String, String> {
    let symbol = check_client_symbol(new.symbol)?;
    let provider = check_provider_symbol(new.provider)?;
    let prefixes = new
        .prefixes
        .iter()
        .map(|p| check_prefix(p))
        .collect::<Result<Vec<_>, _>>()?;
    let stored = new.password.map(|p| password::hash(p, iterations)).transpose()?;
    let t = now();
    db::write(conn, |c| {
        if dba::provider(c, &provider)?.is_none() {
            return Ok(Err(format!("provider {provider} does not exist")));
        }
        if dba::client(c, &symbol)?.is_some() {
            return Ok(Err(format!("client {symbol} already exists")));
        }
        let row = dba::Client {
            symbol: symbol.clone(),
            provider: provider.clone(),
            name: new.name.unwrap_or(&symbol).to_string(),
            email: new.email.map(str::to_string),
            is_active: true,
            domains: new.domains.unwrap_or("*").to_string(),
            created: t,
            updated: t,
        };
        dba::insert_client(c, &row, stored.as_ref())?;
        for prefix in &prefixes {
            if let Err(owner) = dba::add_prefix(c, &symbol, prefix, t)? {
                return Ok(Err(format!("prefix {prefix} already belongs to {owner}")));
            }
        }
        Ok(Ok(()))
    })
    .map_err(sql)??;
    Ok(symbol)
}

/// Sets the password of `symbol` (ADMIN, a provider or a client; ADMIN is created if needed).
pub fn set_password(conn: &Connection, symbol: &str, password: &str, iterations: u32) -> Result<String, String> {
    let symbol = symbol.to_ascii_uppercase();
    let role = role_of(&symbol).ok_or_else(|| format!("'{symbol}' is not an account symbol"))?;
    if password.is_empty() {
        return Err("the password is empty".into());
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
        Ok::<_, rusqlite::Error>(found)
    })
    .map_err(sql)?;
    if found {
        Ok(symbol)
    } else {
        Err(format!("no account {symbol}"))
    }
}

pub fn set_client_active(conn: &Connection, symbol: &str, active: bool) -> Result<String, String> {
    let symbol = check_client_symbol(symbol)?;
    let found = db::write(conn, |c| dba::set_client_active(c, &symbol, active, now())).map_err(sql)?;
    if found {
        Ok(symbol)
    } else {
        Err(format!("no client {symbol}"))
    }
}
