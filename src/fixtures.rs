//! Fixtures: a JSON file of accounts, keys and DOIs loaded into the database, idempotently
//! and atomically. Format documented in README ("Fixtures"). Everything is checked first,
//! then stored in one transaction through the functions the CLI and the API use
//! (`manage`, `keys::manage`, `dois::save_in`): the file adds no rules of its own beyond
//! its format.

use anyhow::{bail, Context};
use rusqlite::Connection;
use serde::Deserialize;
use std::path::Path;

use crate::accounts::check_client_symbol;
use crate::db::{self, accounts as dba, Conn};
use crate::dois::{self, doi, state::State, url, Actor, Changes, Event, Mode};
use crate::manage::{self, IfExists, NewClient, NewProvider, Password};
use crate::metadata;
use crate::time::now;

/// What `updated_by` says for DOIs the fixtures wrote.
pub const UPDATED_BY: &str = "fixtures";

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
    requested: crate::keys::manage::Requested,
}

fn check_key(k: &KeyFixture) -> anyhow::Result<CheckedKey> {
    let client = check_client_symbol(&k.client)?;
    let name = crate::keys::manage::check_name(Some(&k.name))?;
    let key = crate::keys::format::parse(k.key.trim())
        .context("not a valid API key (DC. and 32 base62 characters ending in their checksum)")?;
    let expires_at = match &k.expires_at {
        None => None,
        Some(at) => {
            Some(crate::time::parse_rfc3339(at).with_context(|| format!("expiresAt '{at}' is not an RFC 3339 time"))?)
        }
    };
    Ok(CheckedKey {
        client,
        name,
        key,
        expires_at,
        requested: crate::keys::manage::Requested {
            scopes: k.scopes.clone(),
            prefixes: k.prefixes.clone(),
            allowed_networks: k.allowed_networks.clone(),
        },
    })
}

/// Stores a key not yet stored; a stored one keeps its state (a revoked key stays revoked)
/// and only takes the fixture's name and expiry.
fn store_key(tx: &Connection, k: &CheckedKey, t: i64) -> anyhow::Result<()> {
    {
        if dba::client(tx, &k.client)?.is_none() {
            bail!("client {} does not exist", k.client);
        }
        match db::keys::get_by_hash(tx, &crate::keys::format::hash(&k.key))? {
            None => {
                let limits = crate::keys::manage::check_limits(tx, &k.client, &k.requested)?;
                let new = crate::keys::manage::NewKey {
                    client: &k.client,
                    name: &k.name,
                    key: &k.key,
                    expires_at: k.expires_at,
                    rotated_from: None,
                    limits,
                };
                crate::keys::manage::store(tx, &new, &crate::keys::manage::Origin::default(), t)?;
            }
            Some(stored) if stored.client != k.client => bail!("the key belongs to another client"),
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

/// A fixture DOI that passed `check_doi`.
#[derive(Debug, Clone)]
struct Seed {
    doi: String,
    client: String,
    state: State,
    url: Option<String>,
    xml: Option<Vec<u8>>,
}

/// Checks a fixture DOI without the database: DOI and client forms, the state (default
/// `draft`), the URL, and the record (valid kernel-4 naming this DOI, drafts too: a file
/// is not a work in progress). Registered and findable DOIs need both a URL and a record.
fn check_doi(
    name: &str,
    client: &str,
    state: Option<&str>,
    target: Option<&str>,
    xml: Option<&[u8]>,
) -> anyhow::Result<Seed> {
    let d = doi::parse(name).with_context(|| format!("'{name}' is not a DOI: 10.<4-9 digits>/<suffix>"))?;
    let client = check_client_symbol(client)?;
    let state = match state {
        None => State::Draft,
        Some(s) => State::parse(s).with_context(|| format!("state '{s}' is not draft, registered or findable"))?,
    };
    if let Some(u) = target.filter(|u| !url::is_valid(u)) {
        bail!("url '{u}': {}", url::INVALID_URL);
    }
    if let Some(xml) = xml {
        let messages = |e: metadata::MetadataError| anyhow::anyhow!(e.messages(&d).join("; "));
        match metadata::doi_of(xml).map_err(messages)? {
            Some(found) if !found.eq_ignore_ascii_case(&d) => bail!("the record's identifier {found} is not {d}"),
            _ => {}
        }
        metadata::validate(xml).map_err(messages)?;
    }
    if state.needs_complete_record() && (target.is_none() || xml.is_none()) {
        bail!("a {} DOI needs a url and xml", state.as_str());
    }
    Ok(Seed {
        doi: d,
        client,
        state,
        url: target.map(str::to_string),
        xml: xml.map(<[u8]>::to_vec),
    })
}

/// Stores a checked DOI with `dois::save_in`, as its client would: the same ownership,
/// domain and state rules. An identical stored DOI is left alone, so loading twice
/// changes nothing.
fn store_doi(tx: &Connection, seed: &Seed, t: i64) -> anyhow::Result<()> {
    let existing = db::dois::get(tx, &seed.doi)?;
    if let Some(e) = &existing {
        if e.client == seed.client && e.state == seed.state && e.url == seed.url && e.xml == seed.xml {
            return Ok(());
        }
    }
    let from = existing.map_or(State::Draft, |e| e.state);
    let event = match seed.state {
        State::Draft => None,
        State::Registered if from == State::Findable => Some(Event::Hide),
        State::Registered => Some(Event::Register),
        State::Findable => Some(Event::Publish),
    };
    let actor = Actor {
        client: seed.client.clone(),
        credential: UPDATED_BY.into(),
        now: t,
        prefixes: None,
    };
    let changes = Changes {
        xml: seed.xml.clone(),
        url: seed.url.clone(),
        event,
        ..Changes::default()
    };
    let saved = dois::save_in(tx, &actor, &seed.doi, changes, Mode::Upsert)?;
    if saved.doi.state != seed.state {
        bail!(
            "a {} DOI cannot become {} again",
            saved.doi.state.as_str(),
            seed.state.as_str()
        );
    }
    Ok(())
}

pub fn parse(text: &str) -> anyhow::Result<Fixtures> {
    serde_json::from_str(text).context("fixtures are not valid")
}

pub fn load_file(conn: &Conn, path: &Path, iterations: u32) -> anyhow::Result<Summary> {
    let at = || path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read fixtures {}", path.display()))?;
    let mut fixtures = parse(&text).with_context(at)?;
    read_xml_files(&mut fixtures, path).with_context(at)?;
    load(conn, &fixtures, iterations).with_context(at)
}

/// Reads each `xmlFile` (relative to the fixtures file) into `xml`.
fn read_xml_files(f: &mut Fixtures, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for (i, d) in f.dois.iter_mut().enumerate() {
        if let Some(file) = d.xml_file.take() {
            let at = || format!("dois[{i}] ({})", d.doi);
            if d.xml.is_some() {
                return Err(anyhow::anyhow!("give xml or xmlFile, not both")).with_context(at);
            }
            let text = std::fs::read_to_string(dir.join(&file))
                .with_context(|| format!("cannot read {file}"))
                .with_context(at)?;
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

/// Validates what can be validated without the database, then applies everything in one
/// write transaction: a bad file changes nothing.
pub fn load(conn: &Conn, f: &Fixtures, iterations: u32) -> anyhow::Result<Summary> {
    let mut keys = Vec::new();
    for (i, k) in f.api_keys.iter().enumerate() {
        keys.push(check_key(k).with_context(|| format!("apiKeys[{i}] ({})", k.name))?);
    }
    let mut seeds = Vec::new();
    for (i, d) in f.dois.iter().enumerate() {
        let at = || format!("dois[{i}] ({})", d.doi);
        if d.xml_file.is_some() {
            return Err(anyhow::anyhow!("xmlFile needs a fixtures file")).with_context(at);
        }
        let xml = d.xml.as_deref().map(str::as_bytes);
        seeds.push(check_doi(&d.doi, &d.client, d.state.as_deref(), d.url.as_deref(), xml).with_context(at)?);
    }
    let t = now();
    db::write(conn, |tx| -> anyhow::Result<()> {
        store_accounts(tx, f, iterations, t)?;
        for (i, k) in keys.iter().enumerate() {
            store_key(tx, k, t).with_context(|| format!("apiKeys[{i}] ({})", f.api_keys[i].name))?;
        }
        for (i, seed) in seeds.iter().enumerate() {
            store_doi(tx, seed, t).with_context(|| format!("dois[{i}] ({})", seed.doi))?;
        }
        Ok(())
    })?;
    Ok(Summary {
        providers: f.providers.len(),
        clients: f.clients.len(),
    })
}

/// ADMIN's password, then providers, then clients, through `manage`.
fn store_accounts(tx: &Connection, f: &Fixtures, iterations: u32, t: i64) -> anyhow::Result<()> {
    fn plain(p: Option<&String>, iterations: u32) -> Password<'_> {
        match p {
            Some(plain) => Password::Plain { plain, iterations },
            None => Password::Keep,
        }
    }
    if let Some(admin) = &f.admin {
        manage::put_admin_password(tx, plain(Some(&admin.password), iterations), t).context("admin")?;
    }
    for (i, p) in f.providers.iter().enumerate() {
        let new = NewProvider {
            symbol: &p.symbol,
            name: p.name.as_deref(),
            email: p.email.as_deref(),
        };
        manage::put_provider(tx, &new, plain(p.password.as_ref(), iterations), IfExists::Update, t)
            .with_context(|| format!("providers[{i}]"))?;
    }
    for (i, c) in f.clients.iter().enumerate() {
        let new = NewClient {
            symbol: &c.symbol,
            provider: &c.provider,
            name: c.name.as_deref(),
            email: c.email.as_deref(),
            prefixes: &c.prefixes,
            domains: c.domains.as_deref(),
            is_active: c.is_active,
        };
        manage::put_client(tx, &new, plain(c.password.as_ref(), iterations), IfExists::Update, t)
            .with_context(|| format!("clients[{i}] ({})", c.symbol))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = include_str!("../fixtures/kernel-4/example/datacite-example-video-v4.xml");

    #[test]
    fn checks_each_field() {
        let check = check_doi;
        let xml = RECORD.as_bytes();
        let ok = check(
            "10.5072/1153992",
            "demo.repo",
            Some("findable"),
            Some("https://example.org/"),
            Some(xml),
        )
        .unwrap();
        assert_eq!((ok.client.as_str(), ok.state), ("DEMO.REPO", State::Findable));
        assert!(check("10.5072/x", "DEMO.REPO", None, None, None).is_ok());
        for (name, state, target, xml) in [
            ("nope", None, None, None),
            ("10.5072/x", Some("public"), None, None),
            ("10.5072/x", None, Some("mailto:x"), None),
            ("10.5072/other", None, None, Some(xml)),
            ("10.5072/1153992", Some("findable"), None, Some(xml)),
            ("10.5072/x", Some("registered"), Some("https://example.org/"), None),
            ("10.5072/1153992", None, None, Some(&b"<resource/>"[..])),
        ] {
            assert!(
                check(name, "DEMO.REPO", state, target, xml).is_err(),
                "{name} {state:?} {target:?}"
            );
        }
        assert!(check("10.5072/x", "nobody", None, None, None).is_err());
    }
}
