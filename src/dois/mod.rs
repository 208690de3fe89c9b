//! DOIs: the domain operations the MDS and REST APIs share (CONTRACT §4) — ownership,
//! visibility, states, URL and metadata checks — each write one `db::write` transaction.
//!
//! How the APIs use it:
//! - parse the DOI from the request with [`doi::parse`] (or mint one with [`doi::mint`]);
//! - read with [`get`] (404 unless findable or the caller's own), [`list`], [`MintedNames`],
//!   [`media_get`];
//! - write with [`save`]: one call per request carrying every change (XML or JSON metadata,
//!   URL, event), in mode `Create` (REST POST: 409 when taken), `Upsert` (MDS uploads,
//!   REST PUT) or `Update` (only existing DOIs, e.g. `hide`); then [`delete_draft`] and
//!   [`media_put`].
//!
//! Errors are `Error`s ready for REST; metadata problems are `Error::Unprocessable` with
//! `source` = the DataCite property and `uid` = the DOI (MDS prefixes `DOI <uid>: `).

pub mod doi;
pub mod json;
pub mod members;
pub mod rendered;
pub mod resource;
pub mod state;
pub mod url;

use base64::Engine;
use rusqlite::Connection;
use serde_json::{Map, Value};
use std::sync::Arc;

use crate::auth::Principal;
use crate::db::generations::Counters;
use crate::db::{self, accounts as dba, dois as dbd, Conn};
use crate::error::{Error, Problem};
use crate::metadata::{self, MetadataError};
use rendered::Rendered;

pub use dbd::{Cursor, Doi, Filter, Order, Visible};
pub use state::{Event, State};

/// lupo's uniqueness message (422, `source` `doi`, `uid` the DOI).
pub const TAKEN: &str = "This DOI has already been taken";

/// Whether `e` is [`save`]'s answer for a DOI that exists already (`Mode::Create`).
pub fn is_taken(e: &Error) -> bool {
    matches!(e, Error::Unprocessable(ps) if ps.len() == 1 && ps[0].title == TAKEN)
}

/// DataCite's wording when the DOI in the path and the one in the XML differ.
pub const DOI_MISMATCH: &str = "doi parameter does not match doi of resource";

/// What one write changes; `None` keeps what is stored.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// A kernel-4 record replacing the metadata, stored byte for byte (JSON attributes are
    /// derived from it). Its `identifier`, when present, must be this DOI (else 400).
    /// Not validated here for drafts: callers that want a valid record (MDS) check first.
    pub xml: Option<Vec<u8>>,
    /// DataCite JSON metadata attributes (`creators`, `titles`, …) merged into the stored
    /// ones key by key; the XML is regenerated from the result. Applied after `xml`.
    pub attributes: Option<Map<String, Value>>,
    pub url: Option<String>,
    pub event: Option<Event>,
    /// lupo's `source` attribute (e.g. `test`, `fabrica`), kept among the stored attributes.
    pub source: Option<String>,
    /// lupo's `contentUrl` (a list of URLs of the content; `null` empties it), kept among
    /// the stored attributes like `source`.
    pub content_url: Option<Value>,
    /// lupo's `landingPage` (link-check results, shown to the DOI's owner and staff),
    /// kept among the stored attributes like `source`.
    pub landing_page: Option<Value>,
    /// `xml` as the caller already read it with [`metadata::read_record`] (MDS checks the
    /// record before saving), so that it is not parsed again.
    pub record: Option<metadata::Record>,
}

/// An XML change made ready before the write transaction: parsing and serialising happen
/// while other writers may hold the lock, not while holding it.
struct PreparedXml {
    attributes: Map<String, Value>,
    /// `attributes` as the JSON text stored in `dois.attributes`.
    text: String,
    problems: Vec<metadata::Problem>,
    forms: ReadForms,
}

/// What reads of a DOI copy rather than compute, stored beside its XML and attributes.
/// For an XML upload they are computed before the write transaction, outside the turn
/// the writers share.
///
/// Not the Base64 of the XML: stored (migration 7) it was 34 KB of every full example's
/// row, 15 % of the bytes a PUT wrote, for a read that the rendered cache now serves from
/// memory anyway; a read encodes it when it renders (issue 20, fifth pass).
struct ReadForms {
    /// `members::index` of the attributes text.
    attributes_index: Option<Vec<u8>>,
    /// `resource::derived_text` of the attributes, and its `members::index`.
    derived: Option<String>,
    derived_index: Option<Vec<u8>>,
}

impl ReadForms {
    /// The attributes' JSON text and what reads copy, as `members::written` writes them:
    /// the text's index noted while writing rather than scanned for.
    fn written(attributes: &Map<String, Value>) -> (String, ReadForms) {
        let (text, index) = members::written(attributes);
        (text, ReadForms::with_index(Some(attributes), index))
    }

    /// [`ReadForms::written`] of whichever attributes a DOI has (a bare draft has none,
    /// and so no text): every write stores them the same way.
    fn stored(attributes: Option<&Map<String, Value>>) -> (Option<String>, ReadForms) {
        match attributes {
            Some(attributes) => {
                let (text, forms) = ReadForms::written(attributes);
                (Some(text), forms)
            }
            None => (None, ReadForms::with_index(None, None)),
        }
    }

    fn with_index(attributes: Option<&Map<String, Value>>, attributes_index: Option<Vec<u8>>) -> ReadForms {
        let (derived, derived_index) = attributes.map(resource::derived_text).unzip();
        ReadForms {
            attributes_index,
            derived,
            derived_index: derived_index.flatten(),
        }
    }

    /// What the row stores: `attributes` (the attributes' JSON text) and these.
    fn texts<'a>(&'a self, attributes: Option<&'a str>) -> dbd::Texts<'a> {
        dbd::Texts {
            attributes,
            derived: self.derived.as_deref(),
            attributes_index: self.attributes_index.as_deref(),
            derived_index: self.derived_index.as_deref(),
        }
    }
}

/// Reads `xml` (unless the caller did) and checks it names `doi`, if it names any (400).
fn prepare_xml(doi: &str, xml: &[u8], record: Option<metadata::Record>) -> Result<PreparedXml, Error> {
    let record = match record {
        Some(record) => record,
        None => metadata::read_record(xml).map_err(|e| metadata_error(doi, e))?,
    };
    if record
        .doi
        .as_ref()
        .is_some_and(|found| !found.eq_ignore_ascii_case(doi))
    {
        return Err(Error::BadRequest(DOI_MISMATCH.into()));
    }
    let mut attributes = record.attributes;
    metadata::normalise(&mut attributes);
    let (text, forms) = ReadForms::written(&attributes);
    Ok(PreparedXml {
        forms,
        text,
        attributes,
        problems: record.problems,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new DOI: 409 when it exists.
    Create,
    /// Create or update.
    Upsert,
    /// Only an existing DOI the caller can see: 404 otherwise.
    Update,
}

/// Who writes, as the DOI operations need it: the client acting, the credential that
/// `updated_by` records, and the time of the change. The API builds it from the request's
/// principal (after checking it may write); the fixtures loader from its file.
#[derive(Debug, Clone)]
pub struct Actor {
    pub client: String,
    pub credential: String,
    /// Unix seconds.
    pub now: i64,
    /// The prefixes the caller's API key is limited to (issue 19); `None`: all the client's.
    pub prefixes: Option<Vec<String>>,
}

impl Actor {
    /// Whether the actor sees `d`: findable DOIs and its own (what `readable` says of a client).
    fn sees(&self, d: &Doi) -> bool {
        d.state == State::Findable || (d.client == self.client && self.may_use_prefix(&d.prefix))
    }

    fn may_use_prefix(&self, prefix: &str) -> bool {
        self.prefixes
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.eq_ignore_ascii_case(prefix)))
    }

    /// The DOI if the actor sees it; 404 otherwise.
    fn get(&self, conn: &Connection, doi: &str) -> Result<Doi, Error> {
        match dbd::get(conn, &doi.to_ascii_lowercase())? {
            Some(d) if self.sees(&d) => Ok(d),
            _ => Err(Error::not_found()),
        }
    }
}

#[derive(Debug)]
pub struct Saved {
    pub doi: Doi,
    pub created: bool,
}

/// Whether `principal` may see `d`: findable ones anyone, others only their client, its
/// provider and staff.
pub fn readable(conn: &Connection, principal: &Principal, d: &Doi) -> Result<bool, Error> {
    may_read(principal, d.state, &d.client, &d.prefix, || {
        Ok(dba::client(conn, &d.client)?.map(|c| c.provider).unwrap_or_default())
    })
}

/// Whether `principal` may read a DOI of `client` and `prefix` in `state`; `provider`
/// (the client's, asked only when it matters) for providers' reads of their clients' DOIs.
fn may_read(
    principal: &Principal,
    state: State,
    client: &str,
    prefix: &str,
    provider: impl FnOnce() -> Result<String, Error>,
) -> Result<bool, Error> {
    if state == State::Findable {
        return Ok(true);
    }
    if principal.client() == Some(client) {
        // A key limited to other prefixes sees the client's other DOIs as another client would.
        return Ok(principal.may_use_prefix(prefix));
    }
    Ok(principal.may_read_client(client, &provider()?))
}

/// The [`Stamp`](dbd::Stamp) of DOI `doi` (any case) if the caller may see it, 404
/// otherwise: what a cached read checks before serving (`rendered`). The stamp `kept` at
/// the generations this request reads (`counters`) when there is one, else the database's.
pub fn visible_stamp(
    conn: &Connection,
    counters: &Counters,
    kept: &Rendered,
    principal: &Principal,
    doi: &str,
) -> Result<Arc<dbd::Stamp>, Error> {
    let doi = doi.to_ascii_lowercase();
    let at = counters.get(conn)?;
    let stamp = match kept.stamp(&doi, at) {
        Some(stamp) => stamp,
        None => {
            let stamp = Arc::new(dbd::stamp(conn, &doi)?.ok_or_else(Error::not_found)?);
            kept.keep_stamp(&doi, at, stamp.clone());
            stamp
        }
    };
    let provider = || Ok(stamp.provider.clone().unwrap_or_default());
    if may_read(principal, stamp.state, &stamp.client, &stamp.prefix, provider)? {
        Ok(stamp)
    } else {
        Err(Error::not_found())
    }
}

/// The DOI (a parsed, lower-case name) if the caller may see it; 404 (`NotFound(None)`) otherwise.
pub fn get(conn: &Connection, principal: &Principal, doi: &str) -> Result<Doi, Error> {
    find_visible(conn, principal, doi)?.ok_or_else(Error::not_found)
}

/// Like [`get`], but runs `f` on the DOI as it is in its row, its XML and attributes
/// text borrowed from SQLite rather than copied and parsed (for showing them).
pub fn with_in_row<T>(
    conn: &Connection,
    principal: &Principal,
    doi: &str,
    f: impl FnOnce(dbd::InRow) -> Result<T, Error>,
) -> Result<T, Error> {
    let found = dbd::with_in_row(conn, &doi.to_ascii_lowercase(), |row| {
        if readable(conn, principal, &row.doi)? {
            f(row)
        } else {
            Err(Error::not_found())
        }
    })?;
    found.unwrap_or_else(|| Err(Error::not_found()))
}

fn find_visible(conn: &Connection, principal: &Principal, doi: &str) -> Result<Option<Doi>, Error> {
    match dbd::get(conn, &doi.to_ascii_lowercase())? {
        Some(d) if readable(conn, principal, &d)? => Ok(Some(d)),
        _ => Ok(None),
    }
}

/// 403 unless `client` owns `prefix`.
fn check_prefix(conn: &Connection, client: &str, prefix: &str) -> Result<(), Error> {
    match dba::prefix_owner(conn, prefix)? {
        Some((owner, _)) if owner == client => Ok(()),
        _ => Err(Error::forbidden()),
    }
}

/// The metadata problems of `e` as a 422 for DOI `doi`.
pub fn metadata_error(doi: &str, e: MetadataError) -> Error {
    let problem = |title: String, property: Option<String>| Problem {
        title,
        source: Some(crate::error::Source::Property(property.unwrap_or_else(|| "xml".into()))),
        uid: Some(doi.to_string()),
    };
    match e {
        MetadataError::NotXml(m) | MetadataError::UnsupportedSchema(m) => Error::unprocessable(problem(m, None)),
        MetadataError::Invalid(problems) => Error::Unprocessable(
            problems
                .into_iter()
                .map(|p| {
                    let title = p.to_string();
                    problem(title, p.property)
                })
                .collect(),
        ),
    }
}

fn url_problem(doi: &str, title: String) -> Error {
    Error::unprocessable(Problem {
        uid: Some(doi.to_string()),
        ..Problem::at_property(title, "url")
    })
}

/// Creates or changes DOI `doi` (already parsed) as `actor`, in one transaction.
///
/// Rules: the actor must own the DOI's prefix and the DOI itself (403 `Access is denied`);
/// in `Update` mode a DOI it cannot see is 404 first. A new DOI starts as a draft. An event
/// that does not apply leaves the state as it is (DataCite's rule). A registered or
/// findable result needs a valid URL allowed by the client's `domains` and valid metadata
/// (422 otherwise). `updated_by` records the actor's credential; `registered` is set when
/// the DOI first leaves the draft state. Whether the caller may write at all (an active
/// client) is the API's to check before it makes the `Actor`.
pub fn save(conn: &Conn, actor: &Actor, doi: &str, mut changes: Changes, mode: Mode) -> Result<Saved, Error> {
    let (doi, prepared) = prepare(doi, &mut changes)?;
    db::write(conn, |tx| save_prepared(tx, actor, &doi, changes, prepared, mode))
}

/// The checks of a write that need no database: the DOI's segments (422), and the XML
/// read before the transaction. The XML's errors are raised inside, where they were found
/// when it was read there, so that ownership and existence errors keep coming first.
fn prepare(doi: &str, changes: &mut Changes) -> Result<(String, Option<Result<PreparedXml, Error>>), Error> {
    let doi = doi.to_ascii_lowercase();
    if let Some(problem) = doi::segment_problem(&doi) {
        return Err(Error::unprocessable(Problem::at_property(problem, "doi")));
    }
    let prepared = changes
        .xml
        .as_ref()
        .map(|xml| prepare_xml(&doi, xml, changes.record.take()));
    Ok((doi, prepared))
}

/// [`save`] inside the caller's transaction (the fixtures loader stores a whole file in one).
pub fn save_in(tx: &Connection, actor: &Actor, doi: &str, mut changes: Changes, mode: Mode) -> Result<Saved, Error> {
    let (doi, prepared) = prepare(doi, &mut changes)?;
    save_prepared(tx, actor, &doi, changes, prepared, mode)
}

/// How a write changed the metadata, which decides how it is judged afterwards.
enum NewMetadata {
    Unchanged,
    /// From XML just read: its problems, and its attributes as stored JSON text.
    Xml {
        problems: Vec<metadata::Problem>,
        /// Empty once taken (moved, not copied, into the row: 20 KB for the full example).
        text: String,
        /// Computed with `text`; `None` once taken.
        forms: Option<ReadForms>,
    },
    /// Merged from JSON attributes; the XML was regenerated from them.
    Json,
}

fn save_prepared(
    tx: &Connection,
    actor: &Actor,
    doi: &str,
    changes: Changes,
    prepared: Option<Result<PreparedXml, Error>>,
    mode: Mode,
) -> Result<Saved, Error> {
    let existing = dbd::get(tx, doi)?;
    check_may_save(tx, actor, doi, existing.as_ref(), mode)?;
    let created = existing.is_none();
    let mut d = existing.unwrap_or_else(|| new_draft(actor, doi));
    let before = d.state;
    let kept = kept_members(d.attributes.as_ref());
    let xml_before = d.xml.clone();
    let mut metadata = apply_metadata(&mut d, changes.xml, prepared, changes.attributes)?;
    // The XML's attributes text, prepared outside the transaction, lacks kept members.
    let restored = restore_kept(&mut d, kept, xml_before.as_deref());
    if !matches!(metadata, NewMetadata::Unchanged) {
        check_xml_chars(doi, d.xml.as_deref())?;
    }
    let mut source_changed = restored;
    if let Some(source) = changes.source {
        d.attributes
            .get_or_insert_default()
            .insert("source".into(), Value::String(source));
        source_changed = true;
    }
    if let Some(urls) = changes.content_url {
        let urls = match urls {
            Value::Null => Value::Null,
            Value::Array(list) => Value::Array(list),
            one => Value::Array(vec![one]),
        };
        d.attributes.get_or_insert_default().insert("contentUrl".into(), urls);
        source_changed = true;
    }
    if let Some(page) = changes.landing_page {
        d.attributes.get_or_insert_default().insert("landingPage".into(), page);
        source_changed = true;
    }
    let url_changed = changes.url.is_some();
    if let Some(u) = changes.url {
        if !url::is_valid(&u) {
            return Err(url_problem(doi, url::INVALID_URL.into()));
        }
        d.url = Some(u);
    }
    if let Some(event) = changes.event {
        d.state = state::after(d.state, event);
    }
    let uploaded = match &mut metadata {
        // The XML and attributes are those of the upload: what was computed from them holds.
        NewMetadata::Xml { text, forms, .. } if !source_changed => {
            forms.take().map(|forms| (Some(std::mem::take(text)), forms))
        }
        _ => None,
    };
    if d.state.needs_complete_record() {
        if url_changed || d.state != before {
            check_url_for_client(tx, doi, &actor.client, d.url.as_deref())?;
        }
        if !matches!(metadata, NewMetadata::Unchanged) || d.state != before {
            check_metadata(&d, metadata)?;
        }
        d.registered.get_or_insert(actor.now);
    }
    d.updated = actor.now;
    d.updated_by = Some(actor.credential.clone());
    // Computed once at the write rather than at every read of the DOI.
    let (text, forms) = uploaded.unwrap_or_else(|| ReadForms::stored(d.attributes.as_ref()));
    let texts = forms.texts(text.as_deref());
    if created {
        dbd::insert_as(tx, &d, texts)?;
    } else {
        dbd::update_as(tx, &d, texts)?;
    }
    Ok(Saved { doi: d, created })
}

/// lupo's `mode: transfer`: DOI `doi` moves to client `to`; nothing else changes (lupo
/// saves it unvalidated). Staff may move any DOI, a provider those of its clients and only
/// to one of its clients (lupo's `transfer` ability; the second rule is tinydoi's,
/// COMPATIBILITY.md); clients may not (403). An unknown DOI is 404, an unknown client 422.
pub fn transfer(conn: &Conn, principal: &Principal, doi: &str, to: &str, now: i64) -> Result<Doi, Error> {
    let doi = doi.to_ascii_lowercase();
    db::write(conn, |tx| {
        let mut d = dbd::get(tx, &doi)?.ok_or_else(Error::not_found)?;
        let from = dba::client(tx, &d.client)?.map(|c| c.provider).unwrap_or_default();
        let target = dba::client(tx, to)?.ok_or_else(|| {
            Error::unprocessable(Problem {
                uid: Some(doi.clone()),
                ..Problem::at_property(format!("Client {} does not exist", to.to_ascii_lowercase()), "client")
            })
        })?;
        let allowed = match principal {
            Principal::Staff => true,
            Principal::Provider { symbol } => *symbol == from && *symbol == target.provider,
            _ => false,
        };
        if !allowed {
            return Err(if readable(tx, principal, &d)? {
                Error::forbidden()
            } else {
                Error::not_found()
            });
        }
        d.client = target.symbol;
        d.updated = now;
        d.updated_by = Some(principal.changed_by());
        let (text, forms) = ReadForms::stored(d.attributes.as_ref());
        dbd::update_as(tx, &d, forms.texts(text.as_deref()))?;
        Ok(d)
    })
}

/// The client staff write a DOI as (lupo's `staff_admin` may `manage` every DOI): the
/// DOI's own client when it exists, else the client the request names (`None`: 403).
pub fn staff_writes_as(conn: &Connection, doi: &str, named: Option<&str>) -> Result<Option<String>, Error> {
    Ok(match dbd::get(conn, &doi.to_ascii_lowercase())? {
        Some(d) => Some(d.client),
        None => named.map(str::to_string),
    })
}

/// The ownership and existence rules of a write, in the order DataCite reports them:
/// 404 unseen (`Update`), 403 prefix or DOI of another client, 422 [`TAKEN`] (`Create`).
fn check_may_save(tx: &Connection, actor: &Actor, doi: &str, existing: Option<&Doi>, mode: Mode) -> Result<(), Error> {
    if mode == Mode::Update && !existing.is_some_and(|d| actor.sees(d)) {
        return Err(Error::not_found());
    }
    check_prefix(tx, &actor.client, doi::prefix_of(doi))?;
    if !actor.may_use_prefix(doi::prefix_of(doi)) {
        return Err(Error::Forbidden(Some(format!(
            "This API key lacks the prefix {}.",
            doi::prefix_of(doi)
        ))));
    }
    if existing.is_some_and(|d| d.client != actor.client) {
        return Err(Error::forbidden());
    }
    if mode == Mode::Create && existing.is_some() {
        return Err(Error::unprocessable(Problem {
            uid: Some(doi.to_string()),
            ..Problem::at_property(TAKEN, "doi")
        }));
    }
    Ok(())
}

fn new_draft(actor: &Actor, doi: &str) -> Doi {
    Doi {
        doi: doi.to_string(),
        client: actor.client.clone(),
        prefix: doi::prefix_of(doi).to_string(),
        state: State::Draft,
        url: None,
        xml: None,
        attributes: None,
        created: actor.now,
        updated: actor.now,
        registered: None,
        updated_by: None,
    }
}

/// Applies new XML (already read as `prepared`), then JSON attributes merged key by key
/// into the stored ones (the XML is regenerated from the result).
fn apply_metadata(
    d: &mut Doi,
    xml: Option<Vec<u8>>,
    prepared: Option<Result<PreparedXml, Error>>,
    attributes: Option<Map<String, Value>>,
) -> Result<NewMetadata, Error> {
    let mut metadata = NewMetadata::Unchanged;
    if let (Some(xml), Some(prepared)) = (xml, prepared) {
        let prepared = prepared?;
        d.attributes = Some(prepared.attributes);
        d.xml = Some(xml);
        metadata = NewMetadata::Xml {
            problems: prepared.problems,
            text: prepared.text,
            forms: Some(prepared.forms),
        };
    }
    if let Some(attributes) = attributes {
        let mut merged = d.attributes.take().unwrap_or_default();
        merged.extend(attributes);
        metadata::normalise(&mut merged);
        d.xml = Some(metadata::json_to_xml(&d.doi, &merged).into_bytes());
        d.attributes = Some(merged);
        metadata = NewMetadata::Json;
    }
    Ok(metadata)
}

/// The members of the stored attributes that are lupo columns rather than metadata:
/// they survive a new record, which replaces the metadata attributes.
const KEPT: &[&str] = &["source", "contentUrl", "landingPage", "metadataVersion"];

fn kept_members(attributes: Option<&Map<String, Value>>) -> Map<String, Value> {
    let mut kept = Map::new();
    for name in KEPT {
        if let Some(v) = attributes.and_then(|a| a.get(*name)) {
            kept.insert(name.to_string(), v.clone());
        }
    }
    kept
}

/// Puts the kept members back, and counts lupo's `metadataVersion`: every record after
/// the first (a change of the stored XML) adds one (lupo's `Metadata#set_metadata_version`).
/// True when it put any back.
fn restore_kept(d: &mut Doi, mut kept: Map<String, Value>, xml_before: Option<&[u8]>) -> bool {
    if xml_before.is_some() && d.xml.as_deref() != xml_before {
        let version = kept.get("metadataVersion").and_then(Value::as_u64).unwrap_or(0);
        kept.insert("metadataVersion".into(), Value::from(version + 1));
    }
    let attributes = d.attributes.get_or_insert_default();
    let mut restored = false;
    for (name, value) in kept {
        if name == "metadataVersion" || !attributes.contains_key(&name) {
            attributes.insert(name, value);
            restored = true;
        }
    }
    restored
}

/// Drafts too: a record with a character XML 1.0 forbids is refused (422) when written,
/// whether it came as XML or as JSON attributes (which the XML is made from).
fn check_xml_chars(doi: &str, xml: Option<&[u8]>) -> Result<(), Error> {
    let found = xml
        .and_then(|x| std::str::from_utf8(x).ok())
        .and_then(metadata::forbidden_char);
    match found {
        Some(c) => Err(Error::unprocessable(Problem {
            uid: Some(doi.to_string()),
            ..Problem::at_property(
                format!(
                    "DOI {doi}: the metadata holds U+{:04X}, a character XML 1.0 forbids",
                    c as u32
                ),
                "xml",
            )
        })),
        None => Ok(()),
    }
}

fn check_url_for_client(conn: &Connection, doi: &str, client: &str, u: Option<&str>) -> Result<(), Error> {
    let u = u.ok_or_else(|| url_problem(doi, "Can't be blank".into()))?;
    let domains = dba::client(conn, client)?
        .map(|c| c.domains)
        .unwrap_or_else(|| "*".into());
    if !url::url_allowed(&domains, u) {
        return Err(url_problem(
            doi,
            // lupo names the repository by its `uid`, the lower-case symbol.
            format!(
                "URL {u} is not allowed by repository {} domain settings.",
                client.to_ascii_lowercase()
            ),
        ));
    }
    Ok(())
}

/// Valid kernel-4 metadata: judged on the XML (with line numbers) unless it came from
/// JSON; XML just read brings its problems along.
fn check_metadata(d: &Doi, new: NewMetadata) -> Result<(), Error> {
    let result = match (new, &d.xml, &d.attributes) {
        (NewMetadata::Xml { problems, .. }, _, _) if !problems.is_empty() => Err(MetadataError::Invalid(problems)),
        (NewMetadata::Xml { .. }, _, _) => Ok(()),
        (NewMetadata::Unchanged, Some(xml), _) => metadata::validate(xml),
        (_, _, Some(attributes)) => metadata::validate_json(&d.doi, attributes),
        _ => metadata::validate_json(&d.doi, &Map::new()),
    };
    result.map_err(|e| metadata_error(&d.doi, e))
}

/// Deletes a draft of `actor`'s. 404 when the actor cannot see it, 403 when it is not
/// the actor's, 405 with `Allow: allow` when it is not a draft.
pub fn delete_draft(conn: &Conn, actor: &Actor, doi: &str, allow: &str) -> Result<(), Error> {
    db::write(conn, |tx| {
        let d = actor.get(tx, doi)?;
        if d.client != actor.client {
            return Err(Error::forbidden());
        }
        if d.state != State::Draft {
            return Err(Error::MethodNotAllowed {
                allow: allow.to_string(),
                message: None,
            });
        }
        dbd::delete(tx, &d.doi)?;
        Ok(())
    })
}

/// Adds or updates media of `actor`'s DOI (404 unseen, 403 not its own): a media type
/// already listed gets the new URL (its id is kept), others are appended (MDS `POST
/// /media`). Each URL must be `http`, `https` or `ftp` (422 otherwise).
pub fn media_put(conn: &Conn, actor: &Actor, doi: &str, media: &[(String, String)]) -> Result<(), Error> {
    own_doi_write(conn, actor, doi, |tx, d| {
        if let Some((_, bad)) = media.iter().find(|(_, u)| !url::is_valid(u)) {
            return Err(url_problem(&d.doi, format!("{}: {bad}", url::INVALID_URL)));
        }
        for (media_type, u) in media {
            dbd::put_media(tx, &d.doi, media_type, u)?;
        }
        Ok(())
    })
}

/// Deletes media `id` of `actor`'s DOI (404 unseen or no such media, 403 not its own).
pub fn media_delete(conn: &Conn, actor: &Actor, doi: &str, id: i64) -> Result<(), Error> {
    own_doi_write(conn, actor, doi, |tx, d| {
        if dbd::delete_media(tx, &d.doi, id)? {
            Ok(())
        } else {
            Err(Error::not_found())
        }
    })
}

/// Runs `change` on `actor`'s DOI in one write transaction, then records who changed it
/// and when. 404 when the actor cannot see it, 403 when it is not its own.
fn own_doi_write(
    conn: &Conn,
    actor: &Actor,
    doi: &str,
    change: impl FnOnce(&Connection, &Doi) -> Result<(), Error>,
) -> Result<(), Error> {
    db::write(conn, |tx| {
        let mut d = actor.get(tx, doi)?;
        if d.client != actor.client {
            return Err(Error::forbidden());
        }
        change(tx, &d)?;
        d.updated = actor.now;
        d.updated_by = Some(actor.credential.clone());
        dbd::update(tx, &d)?;
        Ok(())
    })
}

/// The ids lupo's `media` relationship lists for DOI `doi` (already found visible): each
/// media's id as `Base32::URL.encode(id, split: 4, length: 16)`, newest first (lupo orders
/// them by `created DESC`).
pub fn media_ids(conn: &Connection, doi: &str) -> Result<Vec<String>, Error> {
    let mut media = dbd::media(conn, &doi.to_ascii_lowercase())?;
    media.reverse();
    Ok(media
        .iter()
        .map(|m| doi::base32_url(m.id.unsigned_abs(), 4, 16, false))
        .collect())
}

/// [`media_ids`] from what the row's statement read (`dbd::InRow::media`).
pub fn media_ids_in_row(row: &dbd::InRow) -> Result<Vec<String>, Error> {
    let Some(text) = row.media else {
        return Ok(Vec::new());
    };
    let bad = || Error::Internal("stored media ids".into());
    let mut media = text
        .split(|&b| b == b',')
        .map(|item| {
            let item = std::str::from_utf8(item).ok()?;
            let (position, id) = item.split_once(':')?;
            Some((position.parse::<i64>().ok()?, id.parse::<i64>().ok()?))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    // Latest position first, as `media_ids`.
    media.sort_unstable_by_key(|m| std::cmp::Reverse(m.0));
    Ok(media
        .iter()
        .map(|(_, id)| doi::base32_url(id.unsigned_abs(), 4, 16, false))
        .collect())
}

/// The media of a DOI the caller may see (404 otherwise); empty when it has none.
pub fn media_get(conn: &Connection, principal: &Principal, doi: &str) -> Result<Vec<dbd::Media>, Error> {
    db::read(conn, |tx| {
        let d = get(tx, principal, doi)?;
        Ok(dbd::media(tx, &d.doi)?)
    })
}

/// The provider of `client` (shown as a DOI's `provider` relationship).
pub fn provider_of(conn: &Connection, client: &str) -> Result<Option<String>, Error> {
    Ok(dba::client(conn, client)?.map(|c| c.provider))
}

/// The `limit` first buckets of each of `facets` over the DOIs `filter` matches that the
/// caller may see.
pub fn facets(
    conn: &Connection,
    principal: &Principal,
    mut filter: Filter,
    facets: &[dbd::Facet],
    limit: u32,
) -> Result<Vec<Vec<dbd::Bucket>>, Error> {
    filter.visible = visibility(principal);
    db::read(conn, |tx| Ok(dbd::facets(tx, &filter, facets, limit)?))
}

/// Which DOIs `principal` may list besides findable ones.
pub fn visibility(principal: &Principal) -> Visible {
    match principal {
        Principal::Anonymous => Visible::Findable,
        Principal::Staff => Visible::All,
        Principal::Provider { symbol } => Visible::FindableOrProvider(symbol.clone()),
        Principal::Client { symbol, .. } => match principal.key_limits().and_then(|l| l.prefixes.clone()) {
            Some(prefixes) => Visible::FindableOrClientPrefixes(symbol.clone(), prefixes),
            None => Visible::FindableOrClient(symbol.clone()),
        },
    }
}

/// One page of DOIs the caller may see (`filter.visible` is set from the principal) and
/// how many match in all.
pub fn list(conn: &Connection, principal: &Principal, mut filter: Filter) -> Result<(Vec<Doi>, u64), Error> {
    filter.visible = visibility(principal);
    db::read(conn, |tx| Ok(dbd::list(tx, &filter)?))
}

/// DOIs per page of [`MintedNames`].
pub const NAMES_PAGE: u32 = 5_000;

/// The calling client's registered and findable DOI names under the prefixes its key may
/// use, oldest first, upper case, one a line (MDS `GET /doi` lists minted DOIs, not
/// drafts), read a page at a time: [`MintedNames::first_page`] on the request's
/// connection, the rest (if any) as `io::Read` on a connection of its own, so a client's
/// million DOIs are never held in memory whole.
pub struct MintedNames {
    principal: Principal,
    client: String,
    after: dbd::NamesAfter,
    /// The reader's own connection, for the pages after the first.
    reader: Option<Connection>,
    done: bool,
    buffered: Vec<u8>,
    offset: usize,
    lines: u64,
}

impl MintedNames {
    /// The first page's lines; `more` when the list goes on.
    pub fn first_page(conn: &Connection, principal: &Principal) -> Result<MintedNames, Error> {
        let client = principal.client().ok_or(Error::Unauthenticated)?.to_string();
        let mut names = MintedNames {
            principal: principal.clone(),
            client,
            after: None,
            reader: None,
            done: false,
            buffered: Vec::new(),
            offset: 0,
            lines: 0,
        };
        names.fill(conn)?;
        if !names.done {
            // Read on later from a connection of its own to the same database.
            names.reader = Some(dbd::reader_of(conn)?);
        }
        Ok(names)
    }

    /// Whether the list ended within the first page.
    pub fn is_complete(&self) -> bool {
        self.done
    }

    /// Whether there are no names at all.
    pub fn is_empty(&self) -> bool {
        self.lines == 0 && self.done
    }

    /// The lines read so far and not yet taken.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        self.offset = 0;
        std::mem::take(&mut self.buffered)
    }

    /// Reads the next page into the buffer; `done` when there is none.
    fn fill(&mut self, conn: &Connection) -> Result<(), Error> {
        self.buffered.clear();
        self.offset = 0;
        while self.buffered.is_empty() && !self.done {
            let page = db::read(conn, |tx| {
                Ok(dbd::minted_names_page(tx, &self.client, &self.after, NAMES_PAGE)?)
            })?;
            self.done = page.len() < NAMES_PAGE as usize;
            if let Some((created, name)) = page.last() {
                self.after = Some((*created, name.clone()));
            }
            for (_, name) in page {
                if !self.principal.may_use_prefix(doi::prefix_of(&name)) {
                    continue;
                }
                if self.lines > 0 {
                    self.buffered.push(b'\n');
                }
                self.buffered.extend_from_slice(doi::upper(&name).as_bytes());
                self.lines += 1;
            }
        }
        Ok(())
    }
}

impl std::io::Read for MintedNames {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.offset >= self.buffered.len() {
            if self.done {
                return Ok(0);
            }
            let Some(reader) = self.reader.take() else {
                return Ok(0);
            };
            let filled = self.fill(&reader);
            self.reader = Some(reader);
            filled.map_err(std::io::Error::other)?;
        }
        let n = out.len().min(self.buffered.len() - self.offset);
        out[..n].copy_from_slice(&self.buffered[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

/// Rebuilds what only the write functions keep up to date (the search index, the counts
/// and facet keys) from the stored DOIs, in one write transaction, after an operator
/// changed `dois` by hand (`tinydoi reindex`). Returns how many DOIs were indexed.
pub fn reindex(conn: &Conn) -> Result<u64, Error> {
    Ok(db::write(conn, dbd::reindex)?)
}

/// Whether DOI `doi` exists, whoever owns it (minting must not take a DOI twice).
pub fn exists(conn: &Connection, doi: &str) -> Result<bool, Error> {
    Ok(dbd::get(conn, &doi.to_ascii_lowercase())?.is_some())
}

/// An opaque `page[cursor]` pointing just after `d`.
pub fn encode_cursor(d: &Doi) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", d.created, d.doi))
}

/// The cursor `encode_cursor` made; `None` for anything else.
pub fn decode_cursor(s: &str) -> Option<Cursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (created, doi) = text.split_once(':')?;
    Some(Cursor {
        created: created.parse().ok()?,
        doi: doi::parse(doi)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms a write without an upload's (a JSON write, a transfer) stores: serde_json's
    /// text of the attributes, with the index a scan of it finds.
    #[test]
    fn stored_forms_are_the_text_and_the_index_a_scan_finds() {
        let attributes: Map<String, Value> =
            serde_json::from_str(r#"{"titles":[{"title":"A \"quoted\" title"}],"publicationYear":2024,"url":null}"#)
                .unwrap();
        let (text, forms) = ReadForms::stored(Some(&attributes));
        let text = text.unwrap();
        assert_eq!(text, serde_json::to_string(&attributes).unwrap());
        assert_eq!(forms.attributes_index, members::index(text.as_bytes()));
        assert!(forms.attributes_index.is_some());
        let derived = forms.derived.as_deref().unwrap();
        assert_eq!(forms.derived_index, members::index(derived.as_bytes()));

        let (text, forms) = ReadForms::stored(None);
        assert_eq!(text, None);
        assert_eq!(
            (forms.attributes_index, forms.derived, forms.derived_index),
            (None, None, None)
        );
    }

    #[test]
    fn cursor_round_trip() {
        let d = Doi {
            created: 1_700_000_000,
            updated: 1_700_000_000,
            ..Doi::draft("10.5072/a:b")
        };
        let c = decode_cursor(&encode_cursor(&d)).unwrap();
        assert_eq!((c.created, c.doi.as_str()), (1_700_000_000, "10.5072/a:b"));
        assert_eq!(decode_cursor("not a cursor"), None);
    }

    #[test]
    fn metadata_errors_carry_property_and_doi() {
        let e = metadata_error(
            "10.5072/abc",
            MetadataError::Invalid(vec![metadata::Problem {
                message: "Missing child element(s). Expected is ( creator ).".into(),
                line: Some(4),
                property: Some("creators".into()),
            }]),
        );
        match e {
            Error::Unprocessable(ps) => {
                assert_eq!(
                    ps[0].title,
                    "Missing child element(s). Expected is ( creator ). at line 4"
                );
                assert_eq!(ps[0].uid.as_deref(), Some("10.5072/abc"));
                assert_eq!(ps[0].source, Some(crate::error::Source::Property("creators".into())));
            }
            other => panic!("{other:?}"),
        }
    }
}
