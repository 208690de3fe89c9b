//! Key management shared by the HTTP API, the CLI and the fixtures loader: create, revoke
//! and rotate, each in one write transaction together with its audit event.

use rusqlite::Connection;

use super::format;
use crate::db::{self, accounts as dba, audit, keys::KeyRow, keys::Scope, Conn};
use crate::error::{Error, Problem};
use crate::limits::{self, Limits, Network, Scope as KeyScope, Scopes};

/// Longest key name (DataCite's column size).
pub const MAX_NAME_CHARS: usize = 191;
/// Longest rotation grace period.
pub const MAX_GRACE_SECS: u64 = 7 * 24 * 3600;

/// The trimmed name, or the 422 problem of CONTRACT §3.
pub fn check_name(name: Option<&str>) -> Result<String, Error> {
    let name = name.map(str::trim).unwrap_or("");
    let pointer = "/data/attributes/name";
    if name.is_empty() {
        return Err(Error::unprocessable(Problem::at_pointer(
            "Name can't be blank",
            pointer,
        )));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::unprocessable(Problem::at_pointer(
            format!("Name is too long (maximum is {MAX_NAME_CHARS} characters)"),
            pointer,
        )));
    }
    Ok(name.to_string())
}

/// Where a change of keys comes from, as its audit event records it: the account that
/// acted (the client, its provider or staff, with the key it used if any; `None` for the
/// operator's command line and fixtures, and anonymous leaked-key reports) and its address.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub actor: Option<audit::Actor>,
    pub remote_addr: Option<String>,
}

fn event(key: &KeyRow, action: &str, origin: &Origin) -> audit::Event {
    audit::Event {
        client: Some(key.client.clone()),
        action: action.to_string(),
        api_key_id: Some(key.id.clone()),
        key_prefix: Some(key.key_prefix.clone()),
        remote_addr: origin.remote_addr.clone(),
        limits: Some(key.limits.clone()),
        actor: origin.actor.clone(),
    }
}

/// Limits as a caller asked for them (API attributes, CLI options, fixtures), before they
/// are checked; `None` = no limit of that kind.
#[derive(Debug, Default, Clone)]
pub struct Requested {
    pub scopes: Option<Vec<String>>,
    pub prefixes: Option<Vec<String>>,
    pub allowed_networks: Option<Vec<String>>,
}

fn limit_problem(title: String, attribute: &str) -> Error {
    Error::unprocessable(Problem::at_pointer(title, format!("/data/attributes/{attribute}")))
}

/// `list`, each entry checked by `parse`: 422 naming the attribute when it is empty, too
/// long or has an entry `parse` refuses.
fn checked_list<T>(
    list: &[String],
    attribute: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, Error> {
    if list.is_empty() || list.len() > limits::MAX_ENTRIES {
        let title = format!("{attribute} must list 1 to {} {what}", limits::MAX_ENTRIES);
        return Err(limit_problem(title, attribute));
    }
    list.iter()
        .map(|s| parse(s.trim()).ok_or_else(|| limit_problem(format!("{s} is not {what}"), attribute)))
        .collect()
}

/// The limits of a new key of `client`: known scopes, prefixes the client owns, CIDR
/// networks (422 otherwise). Runs in the caller's transaction.
pub fn check_limits(tx: &Connection, client: &str, requested: &Requested) -> Result<Limits, Error> {
    let scopes = match &requested.scopes {
        None => None,
        Some(list) => Some(Scopes::of(checked_list(
            list,
            "scopes",
            "a scope (dois:read, dois:write, reports:write, datafile:read)",
            KeyScope::parse,
        )?)),
    };
    let prefixes = match &requested.prefixes {
        None => None,
        Some(list) => {
            let owned: Vec<String> = dba::prefixes_of(tx, client)?.into_iter().map(|(p, _)| p).collect();
            let mut prefixes = checked_list(list, "prefixes", &format!("a prefix of {client}"), |p| {
                owned.iter().find(|o| o.eq_ignore_ascii_case(p)).cloned()
            })?;
            prefixes.dedup();
            Some(prefixes)
        }
    };
    let networks = match &requested.allowed_networks {
        None => None,
        Some(list) => Some(checked_list(
            list,
            "allowedNetworks",
            "a network in CIDR form (10.0.0.0/8, 2001:db8::/32)",
            Network::parse,
        )?),
    };
    Ok(Limits {
        scopes,
        prefixes,
        networks,
    })
}

/// A key about to be stored.
pub struct NewKey<'a> {
    pub client: &'a str,
    pub name: &'a str,
    /// The plain key in canonical form (see `format::parse`); only its hash is stored.
    pub key: &'a str,
    pub expires_at: Option<i64>,
    pub rotated_from: Option<&'a str>,
    pub limits: Limits,
}

/// Inserts a key and records `key.created`; runs inside the caller's transaction.
pub fn store(tx: &Connection, new: &NewKey, origin: &Origin, now: i64) -> rusqlite::Result<KeyRow> {
    let row = KeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        client: new.client.to_string(),
        name: new.name.to_string(),
        key_prefix: format::display_prefix(new.key),
        created: now,
        updated: now,
        last_used_at: None,
        revoked_at: None,
        expires_at: new.expires_at,
        rotated_from: new.rotated_from.map(str::to_string),
        limits: new.limits.clone(),
    };
    db::keys::insert(tx, &row, &format::hash(new.key))?;
    audit::record(tx, &event(&row, "key.created", origin), now)?;
    Ok(row)
}

/// 404 for an unknown client; 403 for an inactive one, whose keys are read-only and
/// which therefore gets no new ones.
fn writable_client(tx: &Connection, client: &str) -> Result<(), Error> {
    match dba::client(tx, client)? {
        None => Err(Error::NotFound(Some(format!("no client {client}")))),
        Some(c) if !c.is_active => Err(Error::Forbidden(Some(format!(
            "Client {client} is inactive: it may read but not write, and gets no new keys."
        )))),
        Some(_) => Ok(()),
    }
}

/// Creates a key for `client` with the `requested` limits; returns its row and the plain
/// key, which nobody sees again.
pub fn create(
    conn: &Conn,
    client: &str,
    name: &str,
    expires_at: Option<i64>,
    requested: &Requested,
    origin: &Origin,
    now: i64,
) -> Result<(KeyRow, String), Error> {
    let name = check_name(Some(name))?;
    if expires_at.is_some_and(|at| at <= now) {
        return Err(Error::unprocessable(Problem::at_pointer(
            "Expires at must be in the future",
            "/data/attributes/expiresAt",
        )));
    }
    let key = format::generate()?;
    let row = db::write(conn, |tx| {
        writable_client(tx, client)?;
        let new = NewKey {
            client,
            name: &name,
            key: &key,
            expires_at,
            rotated_from: None,
            limits: check_limits(tx, client, requested)?,
        };
        Ok::<_, Error>(store(tx, &new, origin, now)?)
    })?;
    Ok((row, key))
}

/// Revokes the key `id` of a client in `scope` (404 otherwise). Revoking again changes
/// nothing: the first `revokedAt` stays.
pub fn revoke(conn: &Conn, scope: &Scope, id: &str, origin: &Origin, now: i64) -> Result<KeyRow, Error> {
    db::write(conn, |tx| {
        let key = db::keys::get(tx, id, scope)?.ok_or(Error::not_found())?;
        if db::keys::revoke(tx, id, now)? {
            audit::record(tx, &event(&key, "key.revoked", origin), now)?;
        }
        Ok(db::keys::get(tx, id, scope)?.unwrap_or(key))
    })
}

/// Replaces the key `id` by a new one with the same name and limits (and the same
/// lifetime, when it had one). The old key stops working now, or after `grace_secs`.
pub fn rotate(
    conn: &Conn,
    scope: &Scope,
    id: &str,
    grace_secs: u64,
    origin: &Origin,
    now: i64,
) -> Result<(KeyRow, String), Error> {
    if grace_secs > MAX_GRACE_SECS {
        return Err(Error::unprocessable(Problem::at_pointer(
            "Grace period must be between 0 and 7 days",
            "/data/attributes/gracePeriod",
        )));
    }
    let key = format::generate()?;
    let row = db::write(conn, |tx| {
        let old = db::keys::get(tx, id, scope)?.ok_or(Error::not_found())?;
        if old.revoked_at.is_some() {
            return Err(Error::unprocessable(Problem::new("A revoked key cannot be rotated")));
        }
        if !old.is_active(now) {
            return Err(Error::unprocessable(Problem::new("An expired key cannot be rotated")));
        }
        writable_client(tx, &old.client)?;
        let lifetime = old.expires_at.map(|at| at - old.created);
        let replacement = NewKey {
            client: &old.client,
            name: &old.name,
            key: &key,
            expires_at: lifetime.map(|l| now + l.max(1)),
            rotated_from: Some(&old.id),
            limits: old.limits.clone(),
        };
        let new = store(tx, &replacement, origin, now)?;
        if grace_secs == 0 {
            db::keys::revoke(tx, &old.id, now)?;
        } else {
            let until = now + grace_secs as i64;
            let expires_at = old.expires_at.map_or(until, |at| at.min(until));
            db::keys::set_expires_at(tx, &old.id, Some(expires_at), now)?;
        }
        audit::record(tx, &event(&old, "key.rotated", origin), now)?;
        Ok(new)
    })?;
    Ok((row, key))
}

/// Most keys one leaked-key report may name.
pub const MAX_LEAKED: usize = 100;

/// Revokes every stored, unrevoked key among `values` (whoever holds a key may kill it),
/// each with an audit event `key.revoked_leaked` naming `origin`, in one transaction.
/// Returns, for each value, whether it is a stored key (revoked now or before). Values not
/// shaped like a key cost no database look-up.
pub fn revoke_leaked(conn: &Conn, values: &[String], origin: &Origin, now: i64) -> Result<Vec<bool>, Error> {
    let hashes: Vec<Option<Vec<u8>>> = values
        .iter()
        .map(|v| format::parse(v.trim()).map(|k| format::hash(&k)))
        .collect();
    db::write(conn, |tx| {
        let mut found = Vec::with_capacity(hashes.len());
        for hash in &hashes {
            let Some(key) = hash
                .as_ref()
                .map(|h| db::keys::get_by_hash(tx, h))
                .transpose()?
                .flatten()
            else {
                found.push(false);
                continue;
            };
            if db::keys::revoke(tx, &key.id, now)? {
                audit::record(tx, &event(&key, "key.revoked_leaked", origin), now)?;
            }
            found.push(true);
        }
        Ok(found)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name(Some("  ci  ")).unwrap(), "ci");
        assert!(check_name(None).is_err());
        assert!(check_name(Some("   ")).is_err());
        assert!(check_name(Some(&"é".repeat(191))).is_ok());
        assert!(check_name(Some(&"é".repeat(192))).is_err());
    }
}
