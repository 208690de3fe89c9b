//! Fixtures: a JSON file of accounts (and later keys and DOIs) loaded into the database,
//! idempotently and atomically. Format documented in README ("Fixtures").

use rusqlite::Connection;
use serde::Deserialize;
use std::path::Path;

use crate::accounts::{check_client_symbol, check_prefix, check_provider_symbol, Role};
use crate::auth::password;
use crate::db::{self, accounts as dba};
use crate::dois::seed as seeds;
use crate::time::now;

/// The demo data `serve` seeds into a new database (`fixtures/demo.json`).
pub const DEMO: &str = include_str!("../fixtures/demo.json");

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fixtures {
    #[serde(default)]
    pub admin: Option<Admin>,
    #[serde(default)]
    pub providers: Vec<ProviderFixture>,
    #[serde(default)]
    pub clients: Vec<ClientFixture>,
    #[serde(default)]
    pub api_keys: Vec<KeyFixture>,
    #[serde(default)]
    pub dois: Vec<DoiFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderFixture {
    pub symbol: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientFixture {
    pub symbol: String,
    pub provider: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub prefixes: Vec<String>,
    pub domains: Option<String>,
    pub is_active: Option<bool>,
}

/// A key given by its plain value, so CI pipelines get a stable key; stored hashed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyFixture {
    pub client: String,
    pub name: String,
    pub key: String,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Limits of a new key (issue 19); a key already stored keeps its own.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub prefixes: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
}

impl std::fmt::Debug for KeyFixture {
    /// Never shows the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFixture")
            .field("client", &self.client)
            .field("name", &self.name)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("prefixes", &self.prefixes)
            .field("allowed_networks", &self.allowed_networks)
            .finish_non_exhaustive()
    }
}

/// A key fixture once checked: upper-case client, trimmed name, canonical key.
struct CheckedKey {
    client: String,
    name: String,
    key: String,
    expires_at: Option<i64>,
}

fn check_key(k: &KeyFixture) -> Result<CheckedKey, String> {
    let client = check_client_symbol(&k.client)?;
    let name = crate::keys::manage::check_name(Some(&k.name)).map_err(|e| crate::keys::manage::describe(&e))?;
    let key = crate::keys::format::parse(k.key.trim())
        .ok_or("not a valid API key (DC. and 32 base62 characters ending in their checksum)")?;
    let expires_at = match &k.expires_at {
        None => None,
        Some(at) => Some(crate::time::parse_rfc3339(at).ok_or(format!("expiresAt '{at}' is not an RFC 3339 time"))?),
    };
    Ok(CheckedKey {
        client,
        name,
        key,
        expires_at,
    })
}

/// Stores the keys not yet stored; a stored one keeps its state (a revoked key stays revoked)
/// and only takes the fixture's name and expiry.
fn load_keys(tx: &Connection, fixtures: &[KeyFixture], keys: &[CheckedKey], t: i64) -> Result<(), Failed> {
    for (i, (f, k)) in fixtures.iter().zip(keys).enumerate() {
        let at = |e: &str| Failed(format!("apiKeys[{i}] ({}): {e}", f.name));
        if dba::client(tx, &k.client)?.is_none() {
            return Err(at(&format!("client {} does not exist", k.client)));
        }
        match db::keys::get_by_hash(tx, &crate::keys::format::hash(&k.key))? {
            None => {
                let requested = crate::keys::manage::Requested {
                    scopes: f.scopes.clone(),
                    prefixes: f.prefixes.clone(),
                    allowed_networks: f.allowed_networks.clone(),
                };
                let limits = crate::keys::manage::check_limits(tx, &k.client, &requested)
                    .map_err(|e| at(&crate::keys::manage::describe(&e)))?;
                let new = crate::keys::manage::NewKey {
                    client: &k.client,
                    name: &k.name,
                    key: &k.key,
                    expires_at: k.expires_at,
                    rotated_from: None,
                    limits,
                };
                crate::keys::manage::store(tx, &new, None, t)?;
            }
            Some(stored) if stored.client != k.client => return Err(at("the key belongs to another client")),
            Some(stored) => {
                if stored.name != k.name {
                    db::keys::set_name(tx, &stored.id, &k.name, t)?;
                }
                if stored.expires_at != k.expires_at {
                    db::keys::set_expires_at(tx, &stored.id, k.expires_at, t)?;
                }
            }
        }
    }
    Ok(())
}

/// A DOI to seed: its kernel-4 record inline (`xml`) or in a file (`xmlFile`, relative to
/// the fixtures file). `state` defaults to `draft`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DoiFixture {
    pub doi: String,
    pub client: String,
    pub state: Option<String>,
    pub url: Option<String>,
    pub xml: Option<String>,
    pub xml_file: Option<String>,
}

pub fn parse(text: &str) -> Result<Fixtures, String> {
    serde_json::from_str(text).map_err(|e| format!("fixtures are not valid: {e}"))
}

pub fn load_file(conn: &Connection, path: &Path, iterations: u32) -> Result<Summary, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read fixtures {}: {e}", path.display()))?;
    let mut fixtures = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    read_xml_files(&mut fixtures, path).map_err(|e| format!("{}: {e}", path.display()))?;
    load(conn, &fixtures, iterations).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads each `xmlFile` (relative to the fixtures file) into `xml`.
fn read_xml_files(f: &mut Fixtures, path: &Path) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for (i, d) in f.dois.iter_mut().enumerate() {
        if let Some(file) = d.xml_file.take() {
            if d.xml.is_some() {
                return Err(format!("dois[{i}] ({}): give xml or xmlFile, not both", d.doi));
            }
            let text = std::fs::read_to_string(dir.join(&file))
                .map_err(|e| format!("dois[{i}] ({}): cannot read {file}: {e}", d.doi))?;
            d.xml = Some(text);
        }
    }
    Ok(())
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub providers: usize,
    pub clients: usize,
}

/// A password to store: kept as it is when the stored one already matches, so that loading
/// the same file twice changes nothing.
fn password_for(
    existing: Option<&dba::StoredPassword>,
    plain: &str,
    iterations: u32,
) -> Result<Option<dba::StoredPassword>, String> {
    match existing {
        Some(stored) if password::verify(plain, stored) => Ok(None),
        _ => password::hash(plain, iterations).map(Some),
    }
}

/// Why a load failed, as one line naming the offending entry.
struct Failed(String);

impl From<rusqlite::Error> for Failed {
    fn from(e: rusqlite::Error) -> Failed {
        Failed(format!("database error: {e}"))
    }
}

impl From<String> for Failed {
    fn from(e: String) -> Failed {
        Failed(e)
    }
}

/// Validates everything first, then applies it in one write transaction: a bad file changes nothing.
pub fn load(conn: &Connection, f: &Fixtures, iterations: u32) -> Result<Summary, String> {
    let mut providers = Vec::new();
    for (i, p) in f.providers.iter().enumerate() {
        let symbol = check_provider_symbol(&p.symbol).map_err(|e| format!("providers[{i}]: {e}"))?;
        providers.push(symbol);
    }
    let mut clients = Vec::new();
    for (i, c) in f.clients.iter().enumerate() {
        let at = |e: String| format!("clients[{i}] ({}): {e}", c.symbol);
        let symbol = check_client_symbol(&c.symbol).map_err(at)?;
        let provider = check_provider_symbol(&c.provider).map_err(at)?;
        for prefix in &c.prefixes {
            check_prefix(prefix).map_err(at)?;
        }
        clients.push((symbol, provider));
    }
    let mut keys = Vec::new();
    for (i, k) in f.api_keys.iter().enumerate() {
        keys.push(check_key(k).map_err(|e| format!("apiKeys[{i}] ({}): {e}", k.name))?);
    }
    let mut seeds = Vec::new();
    for (i, d) in f.dois.iter().enumerate() {
        let at = |e: String| format!("dois[{i}] ({}): {e}", d.doi);
        if d.xml_file.is_some() {
            return Err(at("xmlFile needs a fixtures file".into()));
        }
        let xml = d.xml.as_deref().map(str::as_bytes);
        let seed = seeds::check(&d.doi, &d.client, d.state.as_deref(), d.url.as_deref(), xml).map_err(at)?;
        seeds.push(seed);
    }
    let t = now();
    db::write(conn, |tx| -> Result<(), Failed> {
        let sql = |e: rusqlite::Error| format!("database error: {e}");
        if let Some(admin) = &f.admin {
            let existing = dba::find(tx, "ADMIN", Role::Staff)
                .map_err(sql)?
                .and_then(|a| a.password);
            if let Some(stored) = password_for(existing.as_ref(), &admin.password, iterations)? {
                dba::set_password(tx, "ADMIN", Role::Staff, &stored, t).map_err(sql)?;
            }
        }
        for (p, symbol) in f.providers.iter().zip(&providers) {
            let row = dba::Provider {
                symbol: symbol.clone(),
                name: p.name.clone().unwrap_or_else(|| symbol.clone()),
                email: p.email.clone(),
                created: t,
                updated: t,
            };
            let existing = dba::find(tx, symbol, Role::Provider).map_err(sql)?;
            match &existing {
                None => dba::insert_provider(tx, &row, None).map_err(sql)?,
                Some(_) => dba::update_provider(tx, &row).map_err(sql)?,
            }
            if let Some(plain) = &p.password {
                let old = existing.and_then(|a| a.password);
                if let Some(stored) = password_for(old.as_ref(), plain, iterations)? {
                    dba::set_password(tx, symbol, Role::Provider, &stored, t).map_err(sql)?;
                }
            }
        }
        for (i, (c, (symbol, provider))) in f.clients.iter().zip(&clients).enumerate() {
            let at = |e: String| format!("clients[{i}] ({symbol}): {e}");
            if dba::provider(tx, provider).map_err(sql)?.is_none() {
                return Err(at(format!("provider {provider} does not exist")).into());
            }
            let row = dba::Client {
                symbol: symbol.clone(),
                provider: provider.clone(),
                name: c.name.clone().unwrap_or_else(|| symbol.clone()),
                email: c.email.clone(),
                is_active: c.is_active.unwrap_or(true),
                domains: c.domains.clone().unwrap_or_else(|| "*".into()),
                created: t,
                updated: t,
            };
            let existing = dba::find(tx, symbol, Role::Client).map_err(sql)?;
            match &existing {
                None => dba::insert_client(tx, &row, None).map_err(sql)?,
                Some(_) => dba::update_client(tx, &row).map_err(sql)?,
            }
            if let Some(plain) = &c.password {
                let old = existing.and_then(|a| a.password);
                if let Some(stored) = password_for(old.as_ref(), plain, iterations)? {
                    dba::set_password(tx, symbol, Role::Client, &stored, t).map_err(sql)?;
                }
            }
            for prefix in &c.prefixes {
                if let Err(owner) = dba::add_prefix(tx, symbol, prefix, t).map_err(sql)? {
                    return Err(at(format!("prefix {prefix} already belongs to {owner}")).into());
                }
            }
        }
        load_keys(tx, &f.api_keys, &keys, t)?;
        for (i, seed) in seeds.iter().enumerate() {
            seeds::store(tx, seed, t).map_err(|e| format!("dois[{i}] ({}): {e}", seed.doi))?;
        }
        Ok(())
    })
    .map_err(|Failed(e)| e)?;
    Ok(Summary {
        providers: providers.len(),
        clients: clients.len(),
    })
}
