//! SQL for DOIs and their media. DOIs are stored lower case; `xml` holds the kernel-4
//! record byte for byte, `attributes` the same metadata as DataCite JSON attributes.

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, ToSql};
use serde_json::{Map, Value};

/// Where a DOI is in its life: only drafts may be incomplete or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Draft,
    Registered,
    Findable,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Registered => "registered",
            State::Findable => "findable",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "draft" => Some(State::Draft),
            "registered" => Some(State::Registered),
            "findable" => Some(State::Findable),
            _ => None,
        }
    }

    /// Registered and findable DOIs need a URL and valid metadata.
    pub fn needs_complete_record(self) -> bool {
        self != State::Draft
    }
}

/// A stored DOI.
#[derive(Debug, Clone, PartialEq)]
pub struct Doi {
    pub doi: String,
    pub client: String,
    pub prefix: String,
    pub state: State,
    pub url: Option<String>,
    pub xml: Option<Vec<u8>>,
    pub attributes: Option<Map<String, Value>>,
    pub created: i64,
    pub updated: i64,
    /// When it first left the draft state.
    pub registered: Option<i64>,
    /// The credential that last changed it (`Principal::changed_by`).
    pub updated_by: Option<String>,
}

#[cfg(test)]
impl Doi {
    /// For unit tests: a draft of `DEMO.REPO` with nothing stored and all times 0; set what a
    /// test cares about with `Doi { state, ..Doi::draft("10.5072/a") }`.
    pub fn draft(doi: &str) -> Doi {
        Doi {
            doi: doi.into(),
            client: "DEMO.REPO".into(),
            prefix: doi.split('/').next().unwrap_or_default().into(),
            state: State::Draft,
            url: None,
            xml: None,
            attributes: None,
            created: 0,
            updated: 0,
            registered: None,
            updated_by: None,
        }
    }
}

const COLUMNS: &str = "doi, client, prefix, state, url, xml, attributes, created, updated, registered, updated_by";

/// A stored DOI as SQLite holds it: `xml` and the attributes JSON text borrowed from the
/// row (`doi.xml` and `doi.attributes` are `None`), for showing it without copying or
/// parsing them.
#[derive(Debug)]
pub struct InRow<'a> {
    pub doi: Doi,
    pub xml: Option<&'a [u8]>,
    /// The attributes JSON text (not checked to be UTF-8: it is only ever copied out).
    pub attributes: Option<&'a [u8]>,
    /// The `derived` JSON text (`dois::resource::derived_text`), `None` for older rows.
    pub derived: Option<&'a [u8]>,
    /// The provider of the DOI's client.
    pub provider: Option<String>,
    /// The standard Base64 of `xml`, stored at write time by the builds between migration
    /// 7 and issue 20's fifth pass; `None` for rows written before or since (reads encode).
    pub xml_base64: Option<&'a [u8]>,
    /// `dois::members::index` of `attributes` and of `derived`; `None` for older rows.
    pub attributes_index: Option<&'a [u8]>,
    pub derived_index: Option<&'a [u8]>,
    /// Its media as `position:rowid`, comma-separated, in no particular order (an ordered
    /// aggregate costs a sorter on every read, media or not; `None`: no media):
    /// read by the row's own statement, so row and media come from one snapshot and one
    /// statement (a read used to take another for them).
    pub media: Option<&'a [u8]>,
    /// The row's revision (migration 9): what a cached rendering of this read is kept under.
    pub revision: i64,
}

/// The JSON texts a write stores beside a DOI's columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Texts<'a> {
    /// `d.attributes` serialised (`dois::members::written`).
    pub attributes: Option<&'a str>,
    /// `dois::resource::derived_text` of them; `None` makes reads derive it.
    pub derived: Option<&'a str>,
    /// `dois::members::index` of `attributes` and `derived`; `None` makes reads scan them.
    pub attributes_index: Option<&'a [u8]>,
    pub derived_index: Option<&'a [u8]>,
}

fn from_row(r: &Row) -> rusqlite::Result<Doi> {
    let mut doi = scalars_from_row(r)?;
    doi.xml = r.get(5)?;
    doi.attributes = match r.get_ref(6)?.as_str_or_null()? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into()))?,
        ),
    };
    Ok(doi)
}

/// Every column but `xml` and `attributes`.
fn scalars_from_row(r: &Row) -> rusqlite::Result<Doi> {
    let state: String = r.get(3)?;
    let state = State::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, format!("state {state}").into())
    })?;
    Ok(Doi {
        doi: r.get(0)?,
        client: r.get(1)?,
        prefix: r.get(2)?,
        state,
        url: r.get(4)?,
        xml: None,
        attributes: None,
        created: r.get(7)?,
        updated: r.get(8)?,
        registered: r.get(9)?,
        updated_by: r.get(10)?,
    })
}

/// The text stored in `dois.attributes` for `d.attributes`, for tests writing rows
/// directly (writes store what `dois::members::written` writes, the same text).
#[cfg(test)]
fn attributes_text(d: &Doi) -> Option<String> {
    d.attributes.as_ref().map(|a| serde_json::to_string(a).unwrap())
}

pub fn get(conn: &Connection, doi: &str) -> rusqlite::Result<Option<Doi>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM dois WHERE doi = ?1"))?
        .query_row([doi], from_row)
        .optional()
}

/// The revision a write gives the DOI it writes (migration 9): one past the generation of
/// DOI writes, which the write's own trigger then raises to it, so no two states of a DOI
/// share a revision.
const NEXT_REVISION: &str = "(SELECT generation + 1 FROM doi_generation WHERE id = 1)";

/// What a cached read of a DOI checks before serving: its revision, and what decides who
/// may read it and what the read shows (the client's provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub revision: i64,
    pub state: State,
    pub client: String,
    pub prefix: String,
    pub provider: Option<String>,
}

/// The [`Stamp`] of DOI `doi` (`None` when there is none), read from the index
/// `dois_revision` alone, never the row.
pub fn stamp(conn: &Connection, doi: &str) -> rusqlite::Result<Option<Stamp>> {
    conn.prepare_cached(
        "SELECT revision, state, client, prefix, (SELECT provider FROM clients WHERE symbol = dois.client) \
         FROM dois INDEXED BY dois_revision WHERE doi = ?1",
    )?
    .query_row([doi], |r| {
        let state: String = r.get(1)?;
        Ok(Stamp {
            revision: r.get(0)?,
            state: State::parse(&state).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    format!("state {state}").into(),
                )
            })?,
            client: r.get(2)?,
            prefix: r.get(3)?,
            provider: r.get(4)?,
        })
    })
    .optional()
}

/// The generation of DOI writes (migration 9): it changes with every write of any DOI
/// or its media, in the write's transaction.
pub fn generation(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT generation FROM doi_generation WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

/// Runs `f` on DOI `doi` as it is in its row (`None` when there is none).
pub fn with_in_row<T>(conn: &Connection, doi: &str, f: impl FnOnce(InRow) -> T) -> rusqlite::Result<Option<T>> {
    // Spelled out rather than formatted: this runs on every read.
    const SQL: &str = "SELECT doi, client, prefix, state, url, xml, attributes, created, updated, registered, \
                       updated_by, derived, (SELECT provider FROM clients WHERE symbol = dois.client), \
                       xml_base64, attributes_index, derived_index, \
                       (SELECT group_concat(position || ':' || rowid) FROM media WHERE media.doi = dois.doi), \
                       revision FROM dois WHERE doi = ?1";
    debug_assert!(SQL.contains(COLUMNS));
    conn.prepare_cached(SQL)?
        .query_row([doi], |r| {
            Ok(f(InRow {
                doi: scalars_from_row(r)?,
                xml: r.get_ref(5)?.as_blob_or_null()?,
                attributes: r.get_ref(6)?.as_bytes_or_null()?,
                derived: r.get_ref(11)?.as_bytes_or_null()?,
                provider: r.get(12)?,
                xml_base64: r.get_ref(13)?.as_bytes_or_null()?,
                attributes_index: r.get_ref(14)?.as_bytes_or_null()?,
                derived_index: r.get_ref(15)?.as_bytes_or_null()?,
                media: r.get_ref(16)?.as_bytes_or_null()?,
                revision: r.get(17)?,
            }))
        })
        .optional()
}

/// Inserts `d` without `derived` (reads derive it).
#[cfg(test)]
fn insert(conn: &Connection, d: &Doi) -> rusqlite::Result<()> {
    let attributes = attributes_text(d);
    let texts = Texts {
        attributes: attributes.as_deref(),
        derived: None,
        attributes_index: None,
        derived_index: None,
    };
    insert_as(conn, d, texts)
}

/// The first title as stored (`titles[0].title`, as `json_extract` gives it): the `title`
/// column (migration 11), what `sort=title` orders by.
pub fn first_title(attributes: Option<&Map<String, Value>>) -> Option<String> {
    extracted_text(attributes?.get("titles")?.get(0)?.get("title")?)
}

/// Inserts `d` with the texts stored beside it.
pub fn insert_as(conn: &Connection, d: &Doi, texts: Texts) -> rusqlite::Result<()> {
    // What it counts under, computed once: its facets and the columns of migration 11.
    let keys = FacetKeys::of(d, texts.derived);
    conn.prepare_cached(&format!(
        "INSERT INTO dois ({COLUMNS}, derived, attributes_index, derived_index, resource_type,
         published_year, title, revision)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, {NEXT_REVISION})"
    ))?
    .execute(params![
        d.doi,
        d.client,
        d.prefix,
        d.state.as_str(),
        d.url,
        d.xml,
        texts.attributes,
        d.created,
        d.updated,
        d.registered,
        d.updated_by,
        texts.derived,
        texts.attributes_index,
        texts.derived_index,
        keys.resource_type,
        keys.published,
        first_title(d.attributes.as_ref())
    ])?;
    let rowid = conn.last_insert_rowid();
    index_facets(conn, rowid, None, Some(&keys))?;
    index_search(conn, rowid, &d.doi, d.attributes.as_ref())
}

/// Records a change of `d`'s state, URL or owner: its metadata (and `derived`) stay.
pub fn update(conn: &Connection, d: &Doi) -> rusqlite::Result<()> {
    let rowid = conn
        .prepare_cached(&format!(
            "UPDATE dois SET client = ?2, prefix = ?3, state = ?4, url = ?5, updated = ?6, registered = ?7,
             updated_by = ?8, revision = {NEXT_REVISION} WHERE doi = ?1 RETURNING rowid"
        ))?
        .query_row(
            params![
                d.doi,
                d.client,
                d.prefix,
                d.state.as_str(),
                d.url,
                d.updated,
                d.registered,
                d.updated_by
            ],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    if let Some(rowid) = rowid {
        // The metadata stayed: so did what the DOI counts under by it.
        let old = stored_facet_keys(conn, rowid)?;
        if let Some(old) = &old {
            let new = FacetKeys {
                state: d.state,
                client: d.client.clone(),
                prefix: d.prefix.clone(),
                created: old.created,
                registered: d.registered.map(year_of_seconds),
                resource_type: old.resource_type.clone(),
                published: old.published.clone(),
            };
            index_facets(conn, rowid, Some(old), Some(&new))?;
        }
    }
    Ok(())
}

/// Rewrites everything but the key and `created`, with the texts stored beside it.
pub fn update_as(conn: &Connection, d: &Doi, texts: Texts) -> rusqlite::Result<()> {
    // What it counts under, computed once: its facets and the columns of migration 11.
    let mut new = FacetKeys::of(d, texts.derived);
    let rowid = conn
        .prepare_cached(&format!(
            "UPDATE dois SET client = ?2, prefix = ?3, state = ?4, url = ?5, xml = ?6, attributes = ?7,
         updated = ?8, registered = ?9, updated_by = ?10, derived = ?11, xml_base64 = NULL,
         attributes_index = ?12, derived_index = ?13, resource_type = ?14, published_year = ?15, title = ?16,
         revision = {NEXT_REVISION} WHERE doi = ?1 RETURNING rowid",
        ))?
        .query_row(
            params![
                d.doi,
                d.client,
                d.prefix,
                d.state.as_str(),
                d.url,
                d.xml,
                texts.attributes,
                d.updated,
                d.registered,
                d.updated_by,
                texts.derived,
                texts.attributes_index,
                texts.derived_index,
                new.resource_type,
                new.published,
                first_title(d.attributes.as_ref())
            ],
            |r| r.get::<_, i64>(0),
        )
        .optional()?;
    match rowid {
        Some(rowid) => {
            let old = stored_facet_keys(conn, rowid)?;
            // `created` is not rewritten (the caller's may be unset).
            if let Some(old) = &old {
                new.created = old.created;
            }
            if old.as_ref() == Some(&new) {
                // Nothing it counts under changed, but its search text may have: its row's
                // `gen` is raised all the same, so a kept search result tests it again
                // (`brought_forward`).
                touch_facets(conn, rowid)?;
            } else {
                index_facets(conn, rowid, old.as_ref(), Some(&new))?;
            }
            index_search(conn, rowid, &d.doi, d.attributes.as_ref())
        }
        None => Ok(()),
    }
}

/// The text `query=` searches for one DOI, in the columns of `dois_search`: what the
/// view `dois_search_rows` (which the migration's backfill reads) selects with `json_tree`,
/// computed here from the attributes a write already holds, in one walk per column and
/// no JSON parse (the triggers this replaced walked the stored text once per column).
pub struct SearchText {
    pub titles: Option<String>,
    pub creators: Option<String>,
    pub publisher: Option<String>,
    pub descriptions: Option<String>,
    pub subjects: Option<String>,
    pub related: Option<String>,
}

/// A value as `json_tree`'s `value` column gives it (true 1, false 0, containers as JSON).
fn tree_text(v: &Value, out: &mut Option<String>) {
    let text = match v {
        Value::Null => return,
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Bool(b) => std::borrow::Cow::Borrowed(if *b { "1" } else { "0" }),
        Value::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        other => std::borrow::Cow::Owned(other.to_string()),
    };
    match out {
        Some(o) => {
            o.push(' ');
            o.push_str(&text);
        }
        None => *out = Some(text.into_owned()),
    }
}

/// Walks `v` in document order as `json_tree` does, adding the value of every object member
/// that `keep(key, nested)` accepts; `nested`: the member's parent path has a `].` (the
/// view's `path NOT LIKE '%].%'`), given `nested`/`after_index` of `v`'s own path.
fn walk(v: &Value, nested: bool, after_index: bool, keep: &dyn Fn(&str, bool) -> bool, out: &mut Option<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if keep(k, nested) {
                    tree_text(child, out);
                }
                walk(child, nested || after_index, false, keep, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                if !child.is_object() && !child.is_array() {
                    continue;
                }
                walk(child, nested, true, keep, out);
            }
        }
        _ => {}
    }
}

impl SearchText {
    pub fn of(attributes: &Map<String, Value>) -> SearchText {
        let column = |name: &str, keep: &dyn Fn(&str, bool) -> bool| {
            let mut out = None;
            if let Some(v) = attributes.get(name) {
                walk(v, false, false, keep, &mut out);
            }
            out
        };
        let publisher = match attributes.get("publisher") {
            Some(Value::Object(m)) if m.get("name").is_some_and(|n| !n.is_null()) => {
                let mut out = None;
                tree_text(&m["name"], &mut out);
                out
            }
            Some(v) => {
                let mut out = None;
                tree_text(v, &mut out);
                out
            }
            None => None,
        };
        SearchText {
            titles: column("titles", &|k, _| k == "title"),
            creators: column("creators", &|k, nested| {
                (!nested && matches!(k, "name" | "givenName" | "familyName"))
                    || matches!(k, "nameIdentifier" | "affiliationIdentifier")
            }),
            publisher,
            descriptions: column("descriptions", &|k, _| k == "description"),
            subjects: column("subjects", &|k, _| k == "subject"),
            related: column("relatedIdentifiers", &|k, _| k == "relatedIdentifier"),
        }
    }
}

/// Replaces DOI `rowid`'s entry in the search index (`dois_search`, contentless: its rowid
/// is the DOI's), in the caller's transaction. Every write of a DOI's attributes calls it
/// (`insert_as`, `update_as`); a delete's entry goes by trigger. The caller also raises the
/// DOI's `doi_facets` `gen` in the same transaction (`index_facets`, else `touch_facets`):
/// kept search results are brought forward by re-testing the DOIs of a later `gen` alone.
pub fn index_search(
    conn: &Connection,
    rowid: i64,
    doi: &str,
    attributes: Option<&Map<String, Value>>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM dois_search WHERE rowid = ?1")?
        .execute([rowid])?;
    add_search_text(conn, rowid, doi, attributes)
}

/// Enters DOI `rowid`'s search text (made from `attributes`) into the table `dois_search`
/// of `conn`: the database's, or the in-memory copy `retested` matches in.
fn add_search_text(
    conn: &Connection,
    rowid: i64,
    doi: &str,
    attributes: Option<&Map<String, Value>>,
) -> rusqlite::Result<()> {
    let t = attributes.map(SearchText::of);
    let t = t.as_ref();
    conn.prepare_cached(
        "INSERT INTO dois_search (rowid, doi, titles, creators, publisher, descriptions, subjects, related)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        rowid,
        doi,
        t.and_then(|t| t.titles.as_deref()),
        t.and_then(|t| t.creators.as_deref()),
        t.and_then(|t| t.publisher.as_deref()),
        t.and_then(|t| t.descriptions.as_deref()),
        t.and_then(|t| t.subjects.as_deref()),
        t.and_then(|t| t.related.as_deref())
    ])?;
    Ok(())
}

/// Deletes a DOI and (by cascade) its media. True when it existed.
pub fn delete(conn: &Connection, doi: &str) -> rusqlite::Result<bool> {
    let rowid = conn
        .prepare_cached("DELETE FROM dois WHERE doi = ?1 RETURNING rowid")?
        .query_row([doi], |r| r.get::<_, i64>(0))
        .optional()?;
    let Some(rowid) = rowid else { return Ok(false) };
    let old = stored_facet_keys(conn, rowid)?;
    index_facets(conn, rowid, old.as_ref(), None)?;
    Ok(true)
}

/// What one DOI counts under: its `doi_counts` keys and its `doi_facets` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetKeys {
    pub state: State,
    pub client: String,
    pub prefix: String,
    /// Years (of `created`, `registered`).
    pub created: i64,
    pub registered: Option<i64>,
    /// `types.resourceTypeGeneral` as stored; `None` when missing or empty. Also the
    /// `resource_type` column (migration 11).
    pub resource_type: Option<String>,
    /// The first 4 characters of `derived.published`, else of `publicationYear`; `None`
    /// when empty. Also the `published_year` column (migration 11).
    pub published: Option<String>,
}

/// A JSON value as SQLite's `json_extract` gives it, as text (`None` for null).
fn extracted_text(v: &Value) -> Option<String> {
    let mut out = None;
    tree_text(v, &mut out);
    out
}

impl FacetKeys {
    /// What `d` counts under, with `derived` the text stored beside it (`None`: the
    /// publication year comes from the attributes). The view `dois_json_columns` (migration
    /// 11) is the same rule over the stored JSON.
    pub fn of(d: &Doi, derived: Option<&str>) -> FacetKeys {
        #[derive(serde::Deserialize)]
        struct Derived {
            published: Option<Value>,
        }
        let attribute = |path: &[&str]| {
            let mut v = d.attributes.as_ref()?.get(path[0])?;
            for key in &path[1..] {
                v = v.get(key)?;
            }
            extracted_text(v)
        };
        let from_derived = derived
            .and_then(|t| serde_json::from_str::<Derived>(t).ok())
            .and_then(|p| p.published)
            .and_then(|v| extracted_text(&v));
        let published = from_derived
            .or_else(|| attribute(&["publicationYear"]))
            .map(|p| p.chars().take(4).collect::<String>());
        FacetKeys {
            state: d.state,
            client: d.client.clone(),
            prefix: d.prefix.clone(),
            created: year_of_seconds(d.created),
            registered: d.registered.map(year_of_seconds),
            resource_type: attribute(&["types", "resourceTypeGeneral"]).filter(|t| !t.is_empty()),
            published: published.filter(|p| !p.is_empty()),
        }
    }

    /// Its `doi_counts` keys: (facet, key), with `key` '' for no value.
    fn counted(&self) -> [(&'static str, String); 5] {
        [
            ("s", self.state.as_str().to_string()),
            ("t", self.resource_type.clone().unwrap_or_default()),
            ("c", format!("{:04}", self.created)),
            ("r", self.registered.map(|y| format!("{y:04}")).unwrap_or_default()),
            ("p", self.published.clone().unwrap_or_default()),
        ]
    }
}

/// The year (UTC) of a Unix time, as SQLite's `strftime('%Y', t, 'unixepoch')`.
pub fn year_of_seconds(t: i64) -> i64 {
    // Howard Hinnant's civil_from_days, year only.
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

fn state_code(s: State) -> i64 {
    match s {
        State::Draft => 0,
        State::Registered => 1,
        State::Findable => 2,
    }
}

/// The `doi_facet_names` id of `name`, added when new.
fn facet_name_id(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    let found = conn
        .prepare_cached("SELECT id FROM doi_facet_names WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    match found {
        Some(id) => Ok(id),
        None => {
            conn.prepare_cached("INSERT INTO doi_facet_names (name) VALUES (?1)")?
                .execute([name])?;
            Ok(conn.last_insert_rowid())
        }
    }
}

/// What DOI `rowid` counts under, as `doi_facets` holds it.
fn stored_facet_keys(conn: &Connection, rowid: i64) -> rusqlite::Result<Option<FacetKeys>> {
    conn.prepare_cached(
        "SELECT f.state, c.name, p.name, f.created, f.registered, t.name, y.name FROM doi_facets f
         JOIN doi_facet_names c ON c.id = f.client JOIN doi_facet_names p ON p.id = f.prefix
         LEFT JOIN doi_facet_names t ON t.id = f.resource_type LEFT JOIN doi_facet_names y ON y.id = f.published
         WHERE f.id = ?1 AND f.state >= 0",
    )?
    .query_row([rowid], |r| {
        Ok(FacetKeys {
            state: match r.get::<_, i64>(0)? {
                0 => State::Draft,
                1 => State::Registered,
                _ => State::Findable,
            },
            client: r.get(1)?,
            prefix: r.get(2)?,
            created: r.get::<_, Option<i64>>(3)?.unwrap_or_default(),
            registered: r.get(4)?,
            resource_type: r.get(5)?,
            published: r.get(6)?,
        })
    })
    .optional()
}

/// Moves DOI `rowid` from what it counted under (`old`; `None` for a new DOI) to `new`
/// (`None` when it is deleted) in `doi_counts` and `doi_facets`, in the caller's
/// transaction. Every write of `db::dois` calls it; code that writes `dois` with its own
/// SQL must too (or `recount` after).
pub fn index_facets(
    conn: &Connection,
    rowid: i64,
    old: Option<&FacetKeys>,
    new: Option<&FacetKeys>,
) -> rusqlite::Result<()> {
    if old == new {
        return Ok(());
    }
    let old_keys = old.map(FacetKeys::counted);
    let new_keys = new.map(FacetKeys::counted);
    let mut bump = conn.prepare_cached(
        "INSERT INTO doi_counts (facet, state, client, prefix, key, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO UPDATE SET n = n + excluded.n",
    )?;
    for i in 0..5 {
        let o = old
            .zip(old_keys.as_ref())
            .map(|(k, keys)| (k.state, &k.client, &k.prefix, &keys[i]));
        let n = new
            .zip(new_keys.as_ref())
            .map(|(k, keys)| (k.state, &k.client, &k.prefix, &keys[i]));
        if o == n {
            continue;
        }
        for (side, by) in [(o, -1), (n, 1)] {
            if let Some((state, client, prefix, (facet, key))) = side {
                bump.execute(params![facet, state.as_str(), client, prefix, key, by])?;
            }
        }
    }
    match new {
        None => {
            // A tombstone, so in-memory copies (`facet_values`) drop it too.
            conn.prepare_cached(&format!(
                "UPDATE doi_facets SET state = -1, gen = {NEXT_GEN} WHERE id = ?1"
            ))?
            .execute([rowid])?;
        }
        Some(k) => {
            let name = |n: &Option<String>| n.as_deref().map(|n| facet_name_id(conn, n)).transpose();
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO doi_facets (id, state, client, prefix, created, registered, resource_type,
                 published, gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {NEXT_GEN})"
            ))?
            .execute(params![
                rowid,
                state_code(k.state),
                facet_name_id(conn, &k.client)?,
                facet_name_id(conn, &k.prefix)?,
                k.created,
                k.registered,
                name(&k.resource_type)?,
                name(&k.published)?
            ])?;
        }
    }
    Ok(())
}

/// Raises DOI `rowid`'s `doi_facets` `gen` past every other row's, what it counts under
/// unchanged, in the caller's transaction: for a write that changes only its search text.
pub fn touch_facets(conn: &Connection, rowid: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!("UPDATE doi_facets SET gen = {NEXT_GEN} WHERE id = ?1"))?
        .execute([rowid])?;
    Ok(())
}

/// The `gen` of a changed `doi_facets` row: past every other (`doi_facets_gen` has the maximum).
// A bare `max(gen)` (not inside another expression), so SQLite reads it off the index
// instead of scanning it.
const NEXT_GEN: &str = "(coalesce((SELECT max(gen) FROM doi_facets), 0) + 1)";

/// Counts every DOI again (`doi_counts`, `doi_facets`) from the stored rows, in the caller's
/// transaction: for tests and tools that write `dois` with their own SQL.
pub fn recount(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM doi_counts;
         UPDATE doi_facets SET state = -1, gen = coalesce((SELECT max(gen) FROM doi_facets), 0) + 1;
         INSERT INTO doi_counts (facet, state, client, prefix, key, n)
         SELECT facet, state, client, prefix, key, COUNT(*) FROM doi_count_keys WHERE 1
         GROUP BY facet, state, client, prefix, key;
         INSERT OR IGNORE INTO doi_facet_names (name)
         SELECT client FROM doi_facet_rows UNION SELECT prefix FROM doi_facet_rows
         UNION SELECT resource_type FROM doi_facet_rows WHERE resource_type != ''
         UNION SELECT published FROM doi_facet_rows WHERE published != '';
         INSERT OR REPLACE INTO doi_facets (id, state, client, prefix, created, registered, resource_type, published,
                                            gen)
         SELECT k.id, CASE k.state WHEN 'draft' THEN 0 WHEN 'registered' THEN 1 ELSE 2 END,
                (SELECT id FROM doi_facet_names WHERE name = k.client),
                (SELECT id FROM doi_facet_names WHERE name = k.prefix),
                CAST(k.created AS INTEGER), CAST(k.registered AS INTEGER),
                (SELECT id FROM doi_facet_names WHERE name = k.resource_type),
                (SELECT id FROM doi_facet_names WHERE name = k.published),
                (SELECT max(gen) FROM doi_facets)
         FROM doi_facet_rows k;",
    )
}

/// Whose DOIs a caller may see besides findable ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    /// Staff: every DOI.
    All,
    /// Findable ones only (anonymous callers).
    Findable,
    /// Findable ones and every DOI of this client.
    FindableOrClient(String),
    /// Findable ones and the DOIs of this client under these prefixes (a key limited to them).
    FindableOrClientPrefixes(String, Vec<String>),
    /// Findable ones and every DOI of this provider's clients.
    FindableOrProvider(String),
}

/// Where a page starts: after the DOI with this `created` and `doi` (newest first order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created: i64,
    pub doi: String,
}

/// lupo's list orders (`sort`); every one ends with the DOI so pages are stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// `-updated`, lupo's default.
    #[default]
    UpdatedDesc,
    UpdatedAsc,
    CreatedDesc,
    CreatedAsc,
    /// `name`: by DOI.
    DoiAsc,
    DoiDesc,
    /// `title`: by the first title as stored (lupo's `primary_title.title.raw`).
    TitleAsc,
    TitleDesc,
    /// `relevance`: best full-text match first (`bm25`); without a search, `-updated`.
    Relevance,
}

/// The first title (`first_title`), as the `dois_title` index has it.
const TITLE: &str = "title";

impl Order {
    fn sql(self) -> String {
        match self {
            Order::UpdatedDesc | Order::Relevance => "updated DESC, doi DESC".into(),
            Order::UpdatedAsc => "updated ASC, doi ASC".into(),
            Order::CreatedDesc => "created DESC, doi DESC".into(),
            Order::CreatedAsc => "created ASC, doi ASC".into(),
            Order::DoiAsc => "doi ASC".into(),
            Order::DoiDesc => "doi DESC".into(),
            Order::TitleAsc => format!("{TITLE} ASC, doi ASC"),
            Order::TitleDesc => format!("{TITLE} DESC, doi DESC"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub visible: Visible,
    /// Any of these clients (upper case); empty means any.
    pub clients: Vec<String>,
    /// Any of these providers' clients (upper case); empty means any.
    pub providers: Vec<String>,
    /// Any of these prefixes; empty means any.
    pub prefixes: Vec<String>,
    /// Any of these states; empty means any state.
    pub states: Vec<State>,
    /// Any of these DOIs (lower case); empty means any.
    pub ids: Vec<String>,
    /// Any of these `types.resourceTypeGeneral` values, compared case-insensitively.
    pub resource_types: Vec<String>,
    /// Any of these years (`YYYY`) of creation, registration, publication.
    pub created: Vec<String>,
    pub registered: Vec<String>,
    pub published: Vec<String>,
    /// Substrings the metadata must all contain, case-insensitive (the console's search;
    /// a scan, for small lists).
    pub contains: Vec<String>,
    /// lupo's field queries on fields the search index lacks (`version:testtag`): a JSON
    /// path of identifiers under the attributes and a substring its value must contain,
    /// case-insensitive.
    pub fields: Vec<(String, String)>,
    /// Full-text search over `dois_search` (`query=`).
    pub search: Search,
    /// The filter can match nothing (e.g. `has-citations`: tinydoi has no event data).
    pub nothing: bool,
    /// How many DOIs it matches when that was counted already (with the facets), so a
    /// list does not count them again.
    pub total: Option<u64>,
    pub order: Order,
    pub limit: u32,
    pub offset: u64,
    pub cursor: Option<Cursor>,
}

/// A full-text search as FTS5 `MATCH` expressions (see `api::dois_list::search`): DOIs
/// must match `all` and must not match `none`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub all: Option<String>,
    pub none: Option<String>,
}

impl Search {
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.none.is_none()
    }
}

impl Filter {
    pub fn new(visible: Visible) -> Filter {
        Filter {
            visible,
            clients: Vec::new(),
            providers: Vec::new(),
            prefixes: Vec::new(),
            states: Vec::new(),
            ids: Vec::new(),
            resource_types: Vec::new(),
            created: Vec::new(),
            registered: Vec::new(),
            published: Vec::new(),
            contains: Vec::new(),
            fields: Vec::new(),
            search: Search::default(),
            nothing: false,
            total: None,
            order: Order::default(),
            limit: 25,
            offset: 0,
            cursor: None,
        }
    }

    /// Whether `doi_counts` answers totals and facets of this filter: it only narrows by
    /// visibility, client, provider, prefix and state, the keys of that table.
    fn counted(&self) -> bool {
        self.ids.is_empty()
            && self.resource_types.is_empty()
            && self.created.is_empty()
            && self.registered.is_empty()
            && self.published.is_empty()
            && self.contains.is_empty()
            && self.fields.is_empty()
            && self.search.is_empty()
    }
}

/// SQL text of the year a Unix-seconds column falls in.
fn year_of(column: &str) -> String {
    format!("strftime('%Y', {column}, 'unixepoch')")
}

/// The Unix seconds of 1 January of `year` (proleptic Gregorian, UTC).
fn year_start(year: i64) -> i64 {
    // Days from 1970-01-01 to 1 January of `year` (Howard Hinnant's days_from_civil, m = 1, d = 1).
    let y = year - 1;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = 306; // 1 March … 1 January of the next year
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

/// `[start, end)` Unix seconds of a `YYYY` year; `None` for anything else.
fn year_range(year: &str) -> Option<(i64, i64)> {
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = year.parse().ok()?;
    Some((year_start(y), year_start(y + 1)))
}

/// The publication year shown (`derived.published`, else the attributes' year), as the
/// `dois_published` index has it (migration 11's column, `FacetKeys::published`).
const PUBLISHED_YEAR: &str = "published_year";
/// `types.resourceTypeGeneral` (migration 11's column, `FacetKeys::resource_type`).
const RESOURCE_TYPE: &str = "resource_type";

/// Builds a WHERE clause with numbered parameters.
struct Clauses {
    sql: Vec<String>,
    args: Vec<Box<dyn ToSql>>,
}

impl Clauses {
    fn arg(&mut self, v: impl ToSql + 'static) -> String {
        self.args.push(Box::new(v));
        format!("?{}", self.args.len())
    }

    /// `expr IN (…)` over `values` unless empty.
    fn any_of(&mut self, expr: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let ps: Vec<String> = values.iter().map(|v| self.arg(v.clone())).collect();
        self.sql.push(format!("{expr} IN ({})", ps.join(", ")));
    }

    /// `column` within any of the `years` (ranges, so the column's index serves it).
    fn in_years(&mut self, column: &str, years: &[String]) {
        if years.is_empty() {
            return;
        }
        let mut ranges = Vec::new();
        for (start, end) in years.iter().filter_map(|y| year_range(y)) {
            let (s, e) = (self.arg(start), self.arg(end));
            ranges.push(format!("({column} >= {s} AND {column} < {e})"));
        }
        if ranges.is_empty() {
            self.sql.push("0 = 1".into());
        } else {
            self.sql.push(format!("({})", ranges.join(" OR ")));
        }
    }
}

/// The WHERE clause of who may see what and the client, provider, prefix and state
/// filters: columns `dois` and `doi_counts` share.
fn counted_conditions(filter: &Filter, c: &mut Clauses) {
    match &filter.visible {
        Visible::All => {}
        Visible::Findable => c.sql.push("state = 'findable'".into()),
        Visible::FindableOrClient(client) => {
            let p = c.arg(client.clone());
            c.sql.push(format!("(state = 'findable' OR client = {p})"));
        }
        Visible::FindableOrClientPrefixes(symbol, prefixes) => {
            let client = c.arg(symbol.clone());
            let list: Vec<String> = prefixes.iter().map(|p| c.arg(p.clone())).collect();
            c.sql.push(format!(
                "(state = 'findable' OR (client = {client} AND prefix IN ({})))",
                list.join(", ")
            ));
        }
        Visible::FindableOrProvider(provider) => {
            let p = c.arg(provider.clone());
            c.sql.push(format!(
                "(state = 'findable' OR client IN (SELECT symbol FROM clients WHERE provider = {p}))"
            ));
        }
    }
    if filter.nothing {
        c.sql.push("0 = 1".into());
    }
    c.any_of("client", &filter.clients);
    if !filter.providers.is_empty() {
        let ps: Vec<String> = filter.providers.iter().map(|p| c.arg(p.clone())).collect();
        c.sql.push(format!(
            "client IN (SELECT symbol FROM clients WHERE provider IN ({}))",
            ps.join(", ")
        ));
    }
    c.any_of("prefix", &filter.prefixes);
    let states: Vec<String> = filter.states.iter().map(|s| s.as_str().to_string()).collect();
    c.any_of("state", &states);
}

/// The WHERE clause of `filter` over `dois` (without paging) and its parameters.
fn conditions(filter: &Filter) -> (String, Vec<Box<dyn ToSql>>) {
    conditions_walking(filter, false)
}

/// The WHERE clause of `filter`. Its search is in the `FROM` (`from_of`), or with `walk`
/// here, its rowids only checked (`+rowid` keeps SQLite from looking them up one by one),
/// so a page is read walking an index in the list's order: cheaper when many DOIs match.
fn conditions_walking(filter: &Filter, walk: bool) -> (String, Vec<Box<dyn ToSql>>) {
    let mut c = Clauses {
        sql: vec!["1 = 1".into()],
        args: Vec::new(),
    };
    counted_conditions(filter, &mut c);
    c.any_of("doi", &filter.ids);
    // Case-insensitive (ASCII, as SQLite's `lower()`), as the `dois_resource_type` index.
    c.any_of(&format!("{RESOURCE_TYPE} COLLATE NOCASE"), &filter.resource_types);
    c.in_years("created", &filter.created);
    c.in_years("registered", &filter.registered);
    c.any_of(PUBLISHED_YEAR, &filter.published);
    if let (Some(all), true) = (&filter.search.all, walk) {
        let p = c.arg(all.clone());
        c.sql.push(format!(
            "+dois.rowid IN (SELECT rowid FROM dois_search WHERE dois_search MATCH {p})"
        ));
    }
    if let Some(none) = &filter.search.none {
        let p = c.arg(none.clone());
        c.sql.push(format!(
            "dois.rowid NOT IN (SELECT rowid FROM dois_search WHERE dois_search MATCH {p})"
        ));
    }
    for q in filter.contains.iter().filter(|q| !q.is_empty()) {
        let p = c.arg(like(q));
        c.sql
            .push(format!("(attributes LIKE {p} ESCAPE '\\' OR doi LIKE {p} ESCAPE '\\')"));
    }
    for (path, value) in &filter.fields {
        let pattern = c.arg(like(value));
        match path.rsplit_once('.') {
            None => {
                let at = c.arg(format!("$.{path}"));
                c.sql
                    .push(format!("json_extract(attributes, {at}) LIKE {pattern} ESCAPE '\\'"));
            }
            Some((under, key)) => {
                let at = c.arg(format!("$.{under}"));
                let key = c.arg(key.to_string());
                c.sql.push(format!(
                    "EXISTS (SELECT 1 FROM json_tree(dois.attributes, {at}) WHERE key = {key} \
                     AND value LIKE {pattern} ESCAPE '\\')"
                ));
            }
        }
    }
    (c.sql.join(" AND "), c.args)
}

/// A LIKE pattern for "contains `s`", its wildcards escaped.
fn like(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// Whether `filter` is a search narrowed only by what `doi_facets` holds (visibility,
/// client, provider, prefix, state): its total and facets are then summed over the
/// matches' `doi_facets` rows (`searched_facets`).
fn keyed_search(filter: &Filter) -> bool {
    let mut rest = filter.clone();
    rest.search = Search::default();
    !filter.search.is_empty() && rest.counted()
}

/// A set of `doi_facet_names` ids; `None`: any.
type Ids = Option<Vec<i64>>;

/// The ids of `names` (those never counted have none).
fn name_ids(conn: &Connection, names: &[String]) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM doi_facet_names WHERE name = ?1")?;
    let mut out = Vec::new();
    for n in names {
        if let Some(id) = stmt.query_row([n], |r| r.get(0)).optional()? {
            out.push(id);
        }
    }
    Ok(out)
}

/// The ids of the clients of `providers`.
fn provider_client_ids(conn: &Connection, providers: &[String]) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT n.id FROM clients c JOIN doi_facet_names n ON n.name = c.symbol WHERE c.provider = ?1",
    )?;
    let mut out = Vec::new();
    for p in providers {
        for id in stmt.query_map([p], |r| r.get(0))? {
            out.push(id?);
        }
    }
    Ok(out)
}

/// The visibility and client, provider, prefix and state filters over `doi_facets` ids,
/// checked in Rust on each match (so one statement reads the matches, whatever the filter).
struct KeyFilter {
    /// Findable DOIs and those of `own` (clients; under `own_prefixes` when set) are
    /// visible; `own` `None`: every DOI.
    own: Option<Vec<i64>>,
    own_prefixes: Ids,
    clients: Ids,
    prefixes: Ids,
    states: Option<Vec<i64>>,
    /// `resource-type-id`, `published` (`doi_facet_names` ids), `created`, `registered`
    /// (years): only when the whole filter is checked on the copy (`on_copy`).
    resource_types: Option<Vec<u32>>,
    published: Option<Vec<u32>>,
    created: Option<Vec<u16>>,
    registered: Option<Vec<u16>>,
    nothing: bool,
}

impl KeyFilter {
    fn of(conn: &Connection, filter: &Filter) -> rusqlite::Result<KeyFilter> {
        let (own, own_prefixes) = match &filter.visible {
            Visible::All => (None, None),
            Visible::Findable => (Some(Vec::new()), None),
            Visible::FindableOrClient(c) => (Some(name_ids(conn, std::slice::from_ref(c))?), None),
            Visible::FindableOrClientPrefixes(c, ps) => (
                Some(name_ids(conn, std::slice::from_ref(c))?),
                Some(name_ids(conn, ps)?),
            ),
            Visible::FindableOrProvider(p) => (Some(provider_client_ids(conn, std::slice::from_ref(p))?), None),
        };
        let mut clients: Ids = None;
        if !filter.clients.is_empty() {
            clients = Some(name_ids(conn, &filter.clients)?);
        }
        if !filter.providers.is_empty() {
            let of_providers = provider_client_ids(conn, &filter.providers)?;
            clients = Some(match clients {
                None => of_providers,
                Some(c) => c.into_iter().filter(|id| of_providers.contains(id)).collect(),
            });
        }
        let prefixes = if filter.prefixes.is_empty() {
            None
        } else {
            Some(name_ids(conn, &filter.prefixes)?)
        };
        let states = (!filter.states.is_empty()).then(|| filter.states.iter().map(|s| state_code(*s)).collect());
        Ok(KeyFilter {
            own,
            own_prefixes,
            clients,
            prefixes,
            states,
            resource_types: None,
            published: None,
            created: None,
            registered: None,
            nothing: filter.nothing,
        })
    }

    /// The whole of `filter` (see `on_copy`), checked on the copy.
    fn of_everything(conn: &Connection, filter: &Filter) -> rusqlite::Result<KeyFilter> {
        let mut k = KeyFilter::of(conn, filter)?;
        let ids = |v: Vec<i64>| {
            v.into_iter()
                .filter_map(|i| u32::try_from(i).ok())
                .collect::<Vec<u32>>()
        };
        if !filter.resource_types.is_empty() {
            // Compared case-insensitively, as the list filter (`COLLATE NOCASE`).
            let mut stmt = conn.prepare_cached("SELECT id FROM doi_facet_names WHERE lower(name) = lower(?1)")?;
            let mut found = Vec::new();
            for t in &filter.resource_types {
                for id in stmt.query_map([t], |r| r.get(0))? {
                    found.push(id?);
                }
            }
            k.resource_types = Some(ids(found));
        }
        if !filter.published.is_empty() {
            k.published = Some(ids(name_ids(conn, &filter.published)?));
        }
        // Years as the `created`/`registered` filters read them (`year_range`): others match nothing.
        let years = |v: &[String]| -> Option<Vec<u16>> {
            (!v.is_empty()).then(|| {
                v.iter()
                    .filter(|y| year_range(y).is_some())
                    .filter_map(|y| y.parse().ok())
                    .collect()
            })
        };
        k.created = years(&filter.created);
        k.registered = years(&filter.registered);
        Ok(k)
    }

    /// Also the filters only the copy holds (`of_everything`).
    fn keeps_keys(&self, k: &super::facet_values::Keys) -> bool {
        let within = |set: &Option<Vec<u32>>, v: u32| set.as_ref().is_none_or(|s| v != 0 && s.contains(&v));
        let year = |set: &Option<Vec<u16>>, v: u16| set.as_ref().is_none_or(|s| v != 0 && s.contains(&v));
        within(&self.resource_types, k.resource_type)
            && within(&self.published, k.published)
            && year(&self.created, k.created)
            && year(&self.registered, k.registered)
    }

    /// One that keeps every DOI (the filter is in SQL).
    fn everything() -> KeyFilter {
        KeyFilter {
            own: None,
            own_prefixes: None,
            clients: None,
            prefixes: None,
            states: None,
            resource_types: None,
            published: None,
            created: None,
            registered: None,
            nothing: false,
        }
    }

    fn keeps(&self, state: i64, client: i64, prefix: i64) -> bool {
        if state < 0 {
            return false;
        }
        let within = |set: &Ids, id: i64| set.as_ref().is_none_or(|s| s.contains(&id));
        let visible = match &self.own {
            None => true,
            Some(own) => state == 2 || (own.contains(&client) && within(&self.own_prefixes, prefix)),
        };
        visible
            && within(&self.clients, client)
            && within(&self.prefixes, prefix)
            && self.states.as_ref().is_none_or(|s| s.contains(&state))
    }
}

/// Counts per small integer key (a name id, a year, a state), in a vector it indexes.
#[derive(Default, Clone)]
pub struct Tally(Vec<u64>);

impl Tally {
    #[inline]
    fn add(&mut self, key: i64) {
        // Keys are ids and years: small and dense. Anything else is not counted.
        let Ok(i) = usize::try_from(key) else { return };
        if let Some(n) = self.0.get_mut(i) {
            *n += 1;
            return;
        }
        if i >= self.0.len() {
            if i > 1 << 24 {
                return;
            }
            self.0.resize(i + 1, 0);
        }
        self.0[i] += 1;
    }

    fn counted(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (i as i64, *n))
    }
}

/// Which DOIs match a search, by rowid (a bit each).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Matches(Vec<u64>);

impl Matches {
    /// Room for rowids up to `rowids` without growing.
    fn with_room(rowids: usize) -> Matches {
        Matches(vec![0; rowids / 64 + 1])
    }

    #[inline]
    fn insert(&mut self, rowid: i64) {
        let Ok(i) = usize::try_from(rowid) else { return };
        if i / 64 >= self.0.len() {
            self.0.resize(i / 64 + 1, 0);
        }
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, rowid: i64) -> bool {
        usize::try_from(rowid).is_ok_and(|i| self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0))
    }

    fn remove(&mut self, rowid: i64) {
        let Ok(i) = usize::try_from(rowid) else { return };
        if let Some(w) = self.0.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }

    /// The rowids held, ascending.
    fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros();
                w &= w - 1;
                Some((i * 64) as i64 + i64::from(bit))
            })
        })
    }
}

/// A keyed search's result: its total, counts per facet and matches.
pub struct Summed {
    pub total: u64,
    pub tallies: Vec<Tally>,
    pub matches: Matches,
    /// For a search summed on the copy: every DOI its `MATCH` expressions match, before
    /// the other filters, so a later request brings the result forward by re-testing only
    /// the DOIs written since (`brought_forward`).
    pub raw: Option<RawMatches>,
}

/// What a search's `MATCH` expressions match (`all` and not `none`) as of `doi_facets`
/// `gen` (the copy's `Values::gen` in the same snapshot).
pub struct RawMatches {
    pub gen: i64,
    pub matches: Matches,
    /// How long the search took when it last ran in full.
    pub cost: std::time::Duration,
}

/// DOIs written since a kept search result (`doi_facets` rows of a later `gen`) up to
/// which it is brought forward by testing them again; past that, the search runs again.
const BRING_FORWARD: usize = 1_000;
/// Up to this many it is brought forward whatever the search cost when it last ran.
const BRING_FORWARD_ALWAYS: usize = 16;
/// About what testing one written DOI again costs (`retested`: its row read, its search
/// text made and indexed in memory), against which a search's measured cost is weighed.
const RETEST_COST: std::time::Duration = std::time::Duration::from_micros(30);

/// `raw` brought forward to `gen` (`Values::gen` of `conn`'s snapshot): the DOIs whose
/// `doi_facets` row changed since `raw.gen` are the only ones whose search text can have
/// changed (every write of a DOI's text raises its row's `gen` in the same transaction:
/// `insert_as`, `update_as`, `delete`), so only those are tested against the search again
/// (`retested`). `None` when more changed than that is worth (`BRING_FORWARD`, or testing
/// them would cost more than the search did).
fn brought_forward(
    conn: &Connection,
    search: &Search,
    raw: &RawMatches,
    gen: i64,
) -> rusqlite::Result<Option<RawMatches>> {
    let changed: Vec<i64> = conn
        .prepare_cached("SELECT id FROM doi_facets WHERE gen > ?1 LIMIT ?2")?
        .query_map(params![raw.gen, BRING_FORWARD as i64 + 1], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let worth = changed.len() <= BRING_FORWARD_ALWAYS
        || (changed.len() <= BRING_FORWARD && RETEST_COST * changed.len() as u32 <= raw.cost);
    if !worth {
        return Ok(None);
    }
    let mut matches = raw.matches.clone();
    if !changed.is_empty() {
        for &id in &changed {
            matches.remove(id);
        }
        for id in retested(conn, search, &changed)? {
            matches.insert(id);
        }
    }
    #[cfg(test)]
    FORWARDED.with(|n| n.set(n.get() + 1));
    Ok(Some(RawMatches {
        gen,
        matches,
        cost: raw.cost,
    }))
}

thread_local! {
    /// An in-memory search index of this thread's, for `retested`.
    static RETEST: std::cell::RefCell<Option<Connection>> = const { std::cell::RefCell::new(None) };
}

/// Which of DOIs `rowids` (of `conn`'s snapshot) match `search`: their search text (as
/// `index_search` writes it, `add_search_text`) indexed alone in memory, in a table made by
/// the database's own definition of `dois_search`, and matched there. Seeking each DOI in `dois_search` instead
/// costs 50 µs to 1 ms a DOI at a million (a seek per term and segment).
fn retested(conn: &Connection, search: &Search, rowids: &[i64]) -> rusqlite::Result<Vec<i64>> {
    RETEST.with(|cell| {
        let mut cell = cell.borrow_mut();
        let mem = match cell.as_mut() {
            Some(mem) => mem,
            None => {
                // `dois_search` as this database defines it (columns, tokenizer): one
                // definition, schema.sql's.
                let sql: String = conn.query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'dois_search'",
                    [],
                    |r| r.get(0),
                )?;
                let mem = Connection::open_in_memory()?;
                mem.execute_batch(&sql)?;
                cell.insert(mem)
            }
        };
        // Rolled back at the end, so the table is empty at the start of every call.
        let tx = mem.unchecked_transaction()?;
        {
            let mut read = conn.prepare_cached("SELECT doi, attributes FROM dois WHERE rowid = ?1")?;
            for &rowid in rowids {
                let row = read
                    .query_row([rowid], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                    })
                    .optional()?;
                // Deleted: it matches nothing.
                let Some((doi, attributes)) = row else { continue };
                let attributes = attributes.and_then(|a| serde_json::from_str::<Map<String, Value>>(&a).ok());
                add_search_text(&tx, rowid, &doi, attributes.as_ref())?;
            }
        }
        let matching = |expr: &str| -> rusqlite::Result<Vec<i64>> {
            tx.prepare_cached("SELECT rowid FROM dois_search WHERE dois_search MATCH ?1")?
                .query_map([expr], |r| r.get(0))?
                .collect()
        };
        let mut found = match &search.all {
            Some(all) => matching(all)?,
            None => Vec::new(),
        };
        if let Some(none) = &search.none {
            let excluded = matching(none)?;
            found.retain(|id| !excluded.contains(id));
        }
        // Nothing of it is kept.
        drop(tx);
        Ok(found)
    })
}

#[cfg(test)]
thread_local! {
    /// How many results `brought_forward` brought forward on this thread.
    static FORWARDED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// What a keyed search's result depends on besides the database: its search and the
/// filters `KeyFilter` checks (paging and order aside).
fn results_key(filter: &Filter) -> String {
    let mut f = filter.clone();
    f.total = None;
    f.order = Order::default();
    f.limit = 0;
    f.offset = 0;
    f.cursor = None;
    format!("{f:?}")
}

/// The total, counts per facet and matches of `filter` (paging aside), summed by looking
/// its matches' rowids (from the search index, or from the list indexes) up in the
/// in-memory copy of `doi_facets`, and kept for the next request of the same filter: served
/// as kept until any DOI is written; after, a search's is brought forward from the DOIs
/// written since (`brought_forward`) and summed again over its matches on the copy, the
/// rest computed again. `None` when no copy can answer (see `facet_values::with_current`)
/// or `doi_counts` can.
fn summed(conn: &Connection, filter: &Filter) -> rusqlite::Result<Option<std::sync::Arc<Summed>>> {
    summed_with(conn, filter, true)
}

/// `summed`; without `forward`, neither from a kept result nor kept (for tests comparing both).
fn summed_with(conn: &Connection, filter: &Filter, forward: bool) -> rusqlite::Result<Option<std::sync::Arc<Summed>>> {
    if filter.counted() {
        return Ok(None);
    }
    let generation = generation(conn)?;
    let key = results_key(filter);
    let kept = if forward {
        super::facet_values::latest(conn, &key)
    } else {
        None
    };
    if let Some((g, hit)) = &kept {
        if *g == generation {
            return Ok(Some(hit.clone()));
        }
    }
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let on_copy = on_copy(filter);
    let searched_on_copy = filter.ids.is_empty() && filter.contains.is_empty() && filter.fields.is_empty();
    // Whether the statement yields the search's raw matches (`RawMatches`).
    let mut raw_search = false;
    let (sql, keep) = match (&filter.search.all, searched_on_copy) {
        // Every condition is one the copy holds: it is scanned, not SQLite.
        _ if on_copy => (String::new(), KeyFilter::of_everything(conn, filter)?),
        // A search whose other conditions the copy holds (visibility, client, provider,
        // prefix, state, resource type, years): they are checked here, on the copy.
        (Some(all), true) => {
            raw_search = true;
            args.push(Box::new(all.clone()));
            let sql = match &filter.search.none {
                None => "SELECT rowid FROM dois_search WHERE dois_search MATCH ?1".to_string(),
                Some(none) => {
                    args.push(Box::new(none.clone()));
                    "SELECT rowid FROM dois_search WHERE dois_search MATCH ?1
                     AND rowid NOT IN (SELECT rowid FROM dois_search WHERE dois_search MATCH ?2)"
                        .to_string()
                }
            };
            (sql, KeyFilter::of_everything(conn, filter)?)
        }
        // Only a negated search: summed in SQLite (`searched_tally`).
        (None, true) if keyed_search(filter) => return Ok(None),
        // Everything in SQL, from the indexes (no row read unless a condition needs it).
        _ => {
            let (where_sql, mut a) = conditions(filter);
            let from = from_of(filter, "dois", &mut a, false);
            args = a;
            (
                format!("SELECT dois.rowid FROM {from} WHERE {where_sql}"),
                KeyFilter::everything(),
            )
        }
    };
    if keep.nothing {
        return Ok(None);
    }
    let kept_raw = kept.as_ref().filter(|_| raw_search).and_then(|(_, s)| s.raw.as_ref());
    let summed = super::facet_values::with_current(conn, |values| -> rusqlite::Result<Summed> {
        let mut sum = Sum::new(values.len());
        let forward = match kept_raw {
            Some(raw) if raw.gen <= values.gen() => brought_forward(conn, &filter.search, raw, values.gen())?,
            _ => None,
        };
        if let Some(raw) = forward {
            for rowid in raw.matches.iter() {
                if let Some(k) = values.get(rowid) {
                    sum.add(&keep, rowid, k);
                }
            }
            return Ok(sum.done(Some(raw)));
        }
        if on_copy {
            for (rowid, k) in values.rows() {
                sum.add(&keep, rowid, k);
            }
            return Ok(sum.done(None));
        }
        let mut raw = raw_search.then(|| Matches::with_room(values.len()));
        let start = std::time::Instant::now();
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let rowid: i64 = r.get(0)?;
            if let Some(raw) = raw.as_mut() {
                raw.insert(rowid);
            }
            if let Some(k) = values.get(rowid) {
                sum.add(&keep, rowid, k);
            }
        }
        Ok(sum.done(raw.map(|matches| RawMatches {
            gen: values.gen(),
            matches,
            cost: start.elapsed(),
        })))
    })?;
    let Some(summed) = summed else { return Ok(None) };
    let summed = std::sync::Arc::new(summed?);
    if forward {
        super::facet_values::keep_result(conn, key, generation, summed.clone());
    }
    Ok(Some(summed))
}

/// A `Summed` being summed.
struct Sum {
    total: u64,
    tallies: Vec<Tally>,
    matches: Matches,
}

impl Sum {
    fn new(rowids: usize) -> Sum {
        Sum {
            total: 0,
            tallies: (0..7).map(|_| Tally::default()).collect(),
            matches: Matches::with_room(rowids),
        }
    }

    /// Counts DOI `rowid` (what it counts under: `k`) if `keep` keeps it.
    #[inline]
    fn add(&mut self, keep: &KeyFilter, rowid: i64, k: &super::facet_values::Keys) {
        if !keep.keeps_keys(k) {
            return;
        }
        let (state, client, prefix) = (i64::from(k.state), i64::from(k.client), i64::from(k.prefix));
        if !keep.keeps(state, client, prefix) {
            return;
        }
        self.total += 1;
        self.matches.insert(rowid);
        self.tallies[0].add(state);
        self.tallies[1].add(client);
        self.tallies[2].add(prefix);
        // 0: none (ids start at 1; year 0 is not a year DataCite has).
        for (i, v) in [
            (3, u32::from(k.created)),
            (4, u32::from(k.registered)),
            (5, k.resource_type),
            (6, k.published),
        ] {
            if v != 0 {
                self.tallies[i].add(i64::from(v));
            }
        }
    }

    fn done(self, raw: Option<RawMatches>) -> Summed {
        Summed {
            total: self.total,
            tallies: self.tallies,
            matches: self.matches,
            raw,
        }
    }
}

/// Whether every condition of `filter` is one the in-memory copy of `doi_facets` holds
/// (no search, DOI list or text condition) and `doi_counts` cannot answer it.
fn on_copy(filter: &Filter) -> bool {
    !filter.counted()
        && filter.search.is_empty()
        && filter.ids.is_empty()
        && filter.contains.is_empty()
        && filter.fields.is_empty()
}

/// The total of a keyed search (`keyed_search`), and with `tally` its counts per facet
/// (state, client, prefix, created, registered, resource type, published: years and
/// `doi_facet_names` ids), summed over its matches' `doi_facets` rows in one statement.
fn searched_tally(conn: &Connection, filter: &Filter, tally: bool) -> rusqlite::Result<(u64, Vec<Tally>)> {
    let keep = KeyFilter::of(conn, filter)?;
    let mut tallies: Vec<Tally> = (0..7).map(|_| Tally::default()).collect();
    if keep.nothing {
        return Ok((0, tallies));
    }
    if let Some(summed) = summed(conn, filter)? {
        return Ok((summed.total, summed.tallies.clone()));
    }
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let from = from_of(filter, "doi_facets", &mut args, false);
    let mut where_sql = "1 = 1".to_string();
    if let Some(none) = &filter.search.none {
        args.push(Box::new(none.clone()));
        where_sql = format!(
            "doi_facets.id NOT IN (SELECT rowid FROM dois_search WHERE dois_search MATCH ?{})",
            args.len()
        );
    }
    let columns = if tally {
        "state, client, prefix, created, registered, resource_type, published"
    } else {
        "state, client, prefix"
    };
    let mut stmt = conn.prepare_cached(&format!("SELECT {columns} FROM {from} WHERE {where_sql}"))?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    let mut total = 0;
    let int = |r: &Row, i: usize| -> rusqlite::Result<Option<i64>> {
        Ok(match r.get_ref(i)? {
            rusqlite::types::ValueRef::Integer(n) => Some(n),
            _ => None,
        })
    };
    while let Some(r) = rows.next()? {
        let (Some(state), Some(client), Some(prefix)) = (int(r, 0)?, int(r, 1)?, int(r, 2)?) else {
            continue;
        };
        if !keep.keeps(state, client, prefix) {
            continue;
        }
        total += 1;
        if tally {
            tallies[0].add(state);
            tallies[1].add(client);
            tallies[2].add(prefix);
            for (i, slot) in tallies.iter_mut().enumerate().skip(3) {
                if let Some(k) = int(r, i)? {
                    slot.add(k);
                }
            }
        }
    }
    Ok((total, tallies))
}

/// The `FROM` of `filter` over `table` (`dois`, or `doi_facet_keys` by `id`): with a search,
/// its matches joined to the table by rowid (`CROSS JOIN` keeps SQLite from walking the
/// table or an index of the other filters instead, which costs the table's size), ranked
/// for `sort=relevance`; else the table. Its parameter is appended to `args`.
fn from_of(filter: &Filter, table: &str, args: &mut Vec<Box<dyn ToSql>>, ranked: bool) -> String {
    let Some(all) = &filter.search.all else {
        return table.to_string();
    };
    args.push(Box::new(all.clone()));
    let key = if table == "dois" { "rowid" } else { "id" };
    let rank = if ranked { ", rank" } else { "" };
    format!(
        "(SELECT rowid AS id{rank} FROM dois_search WHERE dois_search MATCH ?{}) AS m CROSS JOIN {table} \
         ON {table}.{key} = m.id",
        args.len()
    )
}

/// How many DOIs `filter` matches: from `doi_counts` when it can answer, else counted.
pub fn count(conn: &Connection, filter: &Filter) -> rusqlite::Result<u64> {
    if keyed_search(filter) {
        return Ok(searched_tally(conn, filter, false)?.0);
    }
    if filter.counted() {
        let mut c = Clauses {
            sql: vec!["facet = 's'".into()],
            args: Vec::new(),
        };
        counted_conditions(filter, &mut c);
        let sql = format!(
            "SELECT coalesce(SUM(n), 0) FROM doi_counts WHERE {}",
            c.sql.join(" AND ")
        );
        return conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(c.args.iter()), |r| r.get(0));
    }
    if let Some(summed) = summed(conn, filter)? {
        return Ok(summed.total);
    }
    let (where_sql, mut args) = conditions(filter);
    let from = from_of(filter, "dois", &mut args, false);
    conn.prepare_cached(&format!("SELECT COUNT(*) FROM {from} WHERE {where_sql}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))
}

/// The page query of `filter` (paging, cursor and order included) and its parameters.
fn page_query(filter: &Filter, columns: &str, walk: bool) -> (String, Vec<Box<dyn ToSql>>) {
    page_query_of(filter, columns, walk, None)
}

/// [`page_query`], or with `matched` (a JSON array of rowids that meet every condition of
/// `filter`) the page of those rows alone: looked up by rowid and sorted, no condition
/// evaluated again.
fn page_query_of(filter: &Filter, columns: &str, walk: bool, matched: Option<String>) -> (String, Vec<Box<dyn ToSql>>) {
    let by_matches = matched.is_some();
    let (mut where_sql, mut args) = match matched {
        Some(ids) => (
            "dois.rowid IN (SELECT value FROM json_each(?1))".to_string(),
            vec![Box::new(ids) as Box<dyn ToSql>],
        ),
        None => conditions_walking(filter, walk),
    };
    let mut order = filter.order.sql();
    if let Some(c) = &filter.cursor {
        args.push(Box::new(c.created));
        let created = args.len();
        args.push(Box::new(c.doi.clone()));
        let doi = args.len();
        // A row value, so the (…, created, doi) indexes start the page by a seek.
        where_sql.push_str(&format!(" AND (created, doi) < (?{created}, ?{doi})"));
        order = Order::CreatedDesc.sql();
    }
    let from = if walk || by_matches {
        "dois".to_string()
    } else {
        let ranked = filter.order == Order::Relevance && filter.search.all.is_some() && filter.cursor.is_none();
        if ranked {
            order = "m.rank, doi".into();
        }
        from_of(filter, "dois", &mut args, ranked)
    };
    args.push(Box::new(filter.limit));
    let limit = args.len();
    args.push(Box::new(filter.offset as i64));
    let offset = args.len();
    (
        format!("SELECT {columns} FROM {from} WHERE {where_sql} ORDER BY {order} LIMIT ?{limit} OFFSET ?{offset}"),
        args,
    )
}

/// One page of DOIs in `filter.order` (newest first by creation when walking by cursor),
/// and how many match in all.
pub fn list(conn: &Connection, filter: &Filter) -> rusqlite::Result<(Vec<Doi>, u64)> {
    let total = match filter.total {
        Some(total) => total,
        None => count(conn, filter)?,
    };
    if filter.limit == 0 || total == 0 {
        return Ok((Vec::new(), total));
    }
    // A search matching 1 % or more of the DOIs the rest of the filter allows: walking
    // the list's index finds a page's matches within about 100 × its size entries, where
    // looking every match up and sorting them would cost their number.
    let mut rest = filter.clone();
    rest.search = Search::default();
    let allowed = if filter.search.all.is_some() && filter.order != Order::Relevance && rest.counted() {
        Some(count(conn, &rest)?)
    } else {
        None
    };
    let walk = allowed.is_some_and(|allowed| total.saturating_mul(100) >= allowed);
    // The page's rowids first, from the indexes alone; then only those rows are read
    // whole (`xml` and `attributes` make a row span pages).
    let kept = match allowed {
        Some(_) if keyed_search(filter) => super::facet_values::result(conn, &results_key(filter), generation(conn)?),
        _ => None,
    };
    // With the matches in memory, walking also pays for a rarer search whose page is
    // expected within `KEPT_WALK` entries: it checks a bit per entry, where the join would
    // evaluate the search in FTS5 again (a phrase's position lists: 20 ms and more at 1M).
    let reach = filter.offset.saturating_add(u64::from(filter.limit));
    let walks = walk || allowed.is_some_and(|allowed| reach.saturating_mul(allowed) / total <= KEPT_WALK);
    // The page from the kept matches: by walking the list's index (a search of 1 % or
    // more as it always did; a rarer one giving up past four times what it expected), else,
    // when there are at most `KEPT_SORT` of them, by looking them up by rowid and sorting
    // them (a phrase of two common words: 102 of a million, which the join found again
    // through their position lists in 50 ms).
    let from_kept = match kept {
        Some(kept) => {
            let walked = if walks {
                kept_page(conn, filter, &rest, &kept.matches, (!walk).then_some(4 * KEPT_WALK))?
            } else {
                None
            };
            match walked {
                Some(ids) => Some(ids),
                None if total <= KEPT_SORT => Some(sorted_page(conn, filter, &kept.matches)?),
                None => None,
            }
        }
        None => None,
    };
    let ids: Vec<i64> = match from_kept {
        Some(ids) => ids,
        None => {
            let (sql, args) = page_query(filter, "dois.rowid", walk);
            rowids(conn, &sql, &args)?
        }
    };
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM dois WHERE rowid = ?1"))?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(d) = stmt.query_row([id], from_row).optional()? {
            rows.push(d);
        }
    }
    Ok((rows, total))
}

/// The rowids `sql` (with `args`) yields.
fn rowids(conn: &Connection, sql: &str, args: &[Box<dyn ToSql>]) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(sql)?
        .query_map(params_from_iter(args.iter()), |r| r.get(0))?
        .collect()
}

/// A page of `filter` from `matches` (a search's, summed in a snapshot with the same DOIs,
/// so each meets every condition of `filter`): their rows looked up by rowid and sorted in
/// the list's order.
fn sorted_page(conn: &Connection, filter: &Filter, matches: &Matches) -> rusqlite::Result<Vec<i64>> {
    #[cfg(test)]
    KEPT_SORTS.with(|n| n.set(n.get() + 1));
    let json = format!(
        "[{}]",
        matches.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
    );
    let (sql, args) = page_query_of(filter, "dois.rowid", false, Some(json));
    rowids(conn, &sql, &args)
}

/// At most how many kept matches of a search `list` looks up by rowid and sorts for a
/// page, rather than join the search to the table again.
const KEPT_SORT: u64 = 10_000;

/// How many index entries a page is expected to be found within for `list` to walk the
/// list's index checking a kept search's matches (a bit each) rather than join them.
const KEPT_WALK: u64 = 50_000;

/// A page of `filter` read by walking the index of `rest` (the filter without its search)
/// in the list's order and keeping the entries among `matches` (a search's, summed in a
/// snapshot with the same DOIs). `None` when `cap` is given and the page is not found
/// within that many entries (the matches bunch up away from the start of the order): `list`
/// then sorts the matches if they are few, else joins.
fn kept_page(
    conn: &Connection,
    filter: &Filter,
    rest: &Filter,
    matches: &Matches,
    cap: Option<u64>,
) -> rusqlite::Result<Option<Vec<i64>>> {
    #[cfg(test)]
    KEPT_WALKS.with(|n| n.set(n.get() + 1));
    let mut rest = rest.clone();
    rest.limit = u32::MAX;
    rest.offset = 0;
    rest.total = None;
    let (sql, args) = page_query(&rest, "dois.rowid", false);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, i64>(0))?;
    let mut ids = Vec::with_capacity(filter.limit as usize);
    let mut skip = filter.offset;
    for (walked, id) in (0u64..).zip(rows) {
        if cap.is_some_and(|cap| walked >= cap) {
            return Ok(None);
        }
        let id = id?;
        if !matches.contains(id) {
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        ids.push(id);
        if ids.len() >= filter.limit as usize {
            break;
        }
    }
    Ok(Some(ids))
}

#[cfg(test)]
thread_local! {
    /// How many pages `kept_page` walked for on this thread.
    static KEPT_WALKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// How many pages `list` read by sorting a search's kept matches on this thread.
    static KEPT_SORTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The query plans of `filter`'s count and page queries, one line per step (`EXPLAIN
/// QUERY PLAN`), for tests that keep every filter on an index.
pub fn list_plan(conn: &Connection, filter: &Filter) -> rusqlite::Result<Vec<String>> {
    let (sql, args) = page_query(filter, "dois.rowid", false);
    let mut out = Vec::new();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
    for row in rows {
        out.push(row?);
    }
    if !filter.counted() {
        let (where_sql, mut args) = conditions(filter);
        let from = from_of(filter, "dois", &mut args, false);
        let mut stmt = conn.prepare(&format!(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM {from} WHERE {where_sql}"
        ))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// One facet bucket: the grouped value (`None` when the DOIs lack it), a title where
/// one is stored (provider and client names), and how many DOIs have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub key: Option<String>,
    pub title: Option<String>,
    pub count: u64,
}

/// lupo's facets that SQL can answer over the DOIs `filter` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    States,
    ResourceTypes,
    Created,
    Registered,
    Published,
    Providers,
    Clients,
    Prefixes,
}

impl Facet {
    /// Every facet, in lupo's order.
    pub const ALL: [Facet; 8] = [
        Facet::States,
        Facet::ResourceTypes,
        Facet::Created,
        Facet::Registered,
        Facet::Published,
        Facet::Providers,
        Facet::Clients,
        Facet::Prefixes,
    ];

    /// The grouped expression and the title expression over `dois`.
    fn sql(self) -> (String, &'static str) {
        match self {
            Facet::States => ("state".into(), "NULL"),
            Facet::ResourceTypes => (RESOURCE_TYPE.into(), "NULL"),
            Facet::Created => (year_of("created"), "NULL"),
            Facet::Registered => (year_of("registered"), "NULL"),
            Facet::Published => (PUBLISHED_YEAR.into(), "NULL"),
            Facet::Providers => (
                "(SELECT provider FROM clients WHERE symbol = dois.client)".into(),
                "(SELECT name FROM providers WHERE symbol = (SELECT provider FROM clients WHERE symbol = dois.client))",
            ),
            Facet::Clients => ("client".into(), "(SELECT name FROM clients WHERE symbol = dois.client)"),
            Facet::Prefixes => ("prefix".into(), "NULL"),
        }
    }

    /// The `doi_counts` facet code, grouped expression and title expression.
    fn counted_sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Facet::States => ("s", "key", "NULL"),
            Facet::ResourceTypes => ("t", "key", "NULL"),
            Facet::Created => ("c", "key", "NULL"),
            Facet::Registered => ("r", "key", "NULL"),
            Facet::Published => ("p", "key", "NULL"),
            Facet::Providers => (
                "s",
                "(SELECT provider FROM clients WHERE symbol = doi_counts.client)",
                "(SELECT name FROM providers WHERE symbol = (SELECT provider FROM clients WHERE symbol = doi_counts.client))",
            ),
            Facet::Clients => ("s", "client", "(SELECT name FROM clients WHERE symbol = doi_counts.client)"),
            Facet::Prefixes => ("s", "prefix", "NULL"),
        }
    }

    /// lupo's date histograms list the latest years first; its terms, the largest first.
    fn order(self) -> &'static str {
        match self {
            Facet::Created | Facet::Registered | Facet::Published => "k DESC",
            _ => "total DESC, k",
        }
    }
}

/// The `limit` largest buckets of `facet` over the DOIs `filter` matches (paging aside),
/// from `doi_counts` when it can answer.
pub fn facet(conn: &Connection, filter: &Filter, facet: Facet, limit: u32) -> rusqlite::Result<Vec<Bucket>> {
    let order = facet.order();
    let (sql, mut args) = if filter.counted() {
        let (code, key, title) = facet.counted_sql();
        let mut c = Clauses {
            sql: vec![format!("facet = '{code}'")],
            args: Vec::new(),
        };
        counted_conditions(filter, &mut c);
        let sql = format!(
            "SELECT {key} AS k, {title}, SUM(n) AS total FROM doi_counts WHERE {} AND k IS NOT NULL AND k != '' \
             GROUP BY k HAVING total > 0 ORDER BY {order}",
            c.sql.join(" AND ")
        );
        (sql, c.args)
    } else {
        let (where_sql, mut args) = conditions(filter);
        let from = from_of(filter, "dois", &mut args, false);
        let (key, title) = facet.sql();
        let sql = format!(
            "SELECT {key} AS k, {title}, COUNT(*) AS total FROM {from} WHERE {where_sql} AND k IS NOT NULL AND k != '' \
             GROUP BY k ORDER BY {order}"
        );
        (sql, args)
    };
    args.push(Box::new(limit));
    let mut stmt = conn.prepare_cached(&format!("{sql} LIMIT ?{}", args.len()))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(Bucket {
            key: r.get::<_, Option<String>>(0).ok().flatten(),
            title: r.get(1)?,
            count: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// The `limit` first buckets of each of `facets` over the DOIs `filter` matches: from
/// `doi_counts` when it can answer, else counted in one pass over the matching rows (one
/// search, one read of each row, whatever the number of facets).
pub fn facets(conn: &Connection, filter: &Filter, facets: &[Facet], limit: u32) -> rusqlite::Result<Vec<Vec<Bucket>>> {
    if filter.counted() {
        return facets.iter().map(|f| facet(conn, filter, *f, limit)).collect();
    }
    use std::collections::HashMap;
    // Per facet: key → count. Client keys are resolved to providers and names after.
    let mut counts: Vec<HashMap<String, u64>> = vec![HashMap::new(); 7];
    let tallies = if keyed_search(filter) {
        Some(searched_tally(conn, filter, true)?.1)
    } else {
        summed(conn, filter)?.map(|s| s.tallies.clone())
    };
    if let Some(tallies) = tallies {
        let mut name_of = conn.prepare_cached("SELECT name FROM doi_facet_names WHERE id = ?1")?;
        for (i, tally) in tallies.iter().enumerate() {
            for (key, n) in tally.counted() {
                let name = match i {
                    0 => Some(
                        match key {
                            0 => State::Draft,
                            1 => State::Registered,
                            _ => State::Findable,
                        }
                        .as_str()
                        .to_string(),
                    ),
                    3 | 4 => Some(format!("{key:04}")),
                    _ => name_of.query_row([key], |r| r.get::<_, String>(0)).optional()?,
                };
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    *counts[i].entry(name).or_default() += n;
                }
            }
        }
    } else {
        let (where_sql, mut args) = conditions(filter);
        let from = from_of(filter, "dois", &mut args, false);
        let sql = format!(
            "SELECT state, client, prefix, {}, {}, {RESOURCE_TYPE}, {PUBLISHED_YEAR} FROM {from} WHERE {where_sql}",
            year_of("created"),
            year_of("registered")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        let mut number = String::new();
        while let Some(r) = rows.next()? {
            for (i, slot) in counts.iter_mut().enumerate() {
                let key: &[u8] = match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Text(t) => t,
                    rusqlite::types::ValueRef::Integer(n) => {
                        number.clear();
                        use std::fmt::Write as _;
                        let _ = write!(number, "{n}");
                        number.as_bytes()
                    }
                    _ => continue,
                };
                if key.is_empty() {
                    continue;
                }
                // A key seen before costs no allocation.
                let key = String::from_utf8_lossy(key);
                match slot.get_mut(key.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        slot.insert(key.into_owned(), 1);
                    }
                }
            }
        }
    }
    let mut client_of = conn.prepare_cached(
        "SELECT c.name, c.provider, p.name FROM clients c LEFT JOIN providers p ON p.symbol = c.provider
         WHERE c.symbol = ?1",
    )?;
    // Client → (its name, its provider, the provider's name).
    type Names = (Option<String>, Option<String>, Option<String>);
    let mut names: HashMap<String, Names> = HashMap::new();
    for client in counts[1].keys() {
        let found = client_of
            .query_row([client], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .unwrap_or((None, None, None));
        names.insert(client.clone(), found);
    }
    let mut out = Vec::with_capacity(facets.len());
    for facet in facets {
        let mut buckets: Vec<Bucket> = match facet {
            Facet::Providers => {
                let mut by: HashMap<String, (Option<String>, u64)> = HashMap::new();
                for (client, n) in &counts[1] {
                    if let Some((_, Some(provider), title)) = names.get(client) {
                        let e = by.entry(provider.clone()).or_insert((title.clone(), 0));
                        e.1 += n;
                    }
                }
                by.into_iter()
                    .map(|(k, (title, count))| Bucket {
                        key: Some(k),
                        title,
                        count,
                    })
                    .collect()
            }
            _ => {
                let column = match facet {
                    Facet::States => 0,
                    Facet::Clients => 1,
                    Facet::Prefixes => 2,
                    Facet::Created => 3,
                    Facet::Registered => 4,
                    Facet::ResourceTypes => 5,
                    _ => 6,
                };
                counts[column]
                    .iter()
                    .map(|(k, n)| Bucket {
                        key: Some(k.clone()),
                        title: match facet {
                            Facet::Clients => names.get(k).and_then(|n| n.0.clone()),
                            _ => None,
                        },
                        count: *n,
                    })
                    .collect()
            }
        };
        match facet {
            Facet::Created | Facet::Registered | Facet::Published => buckets.sort_by(|a, b| b.key.cmp(&a.key)),
            _ => buckets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key))),
        }
        buckets.truncate(limit as usize);
        out.push(buckets);
    }
    Ok(out)
}

/// Fills the search index and the counts of migration 8 for the DOIs already stored, in
/// the caller's transaction, with progress in the log every 100,000 DOIs.
pub fn backfill_search_and_counts(conn: &Connection) -> rusqlite::Result<()> {
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM dois", [], |r| r.get(0))?;
    if rows == 0 {
        return Ok(());
    }
    log::info!("migration 8: counting {rows} DOIs by facet");
    conn.execute("INSERT INTO doi_facet_keys SELECT * FROM doi_facet_rows WHERE 1", [])?;
    conn.execute(
        "INSERT INTO doi_counts (facet, state, client, prefix, key, n)
         SELECT facet, state, client, prefix, key, COUNT(*) FROM doi_count_keys WHERE 1
         GROUP BY facet, state, client, prefix, key",
        [],
    )?;
    fill_search(conn, "migration 8", rows)
}

/// Adds every stored DOI to the (empty) search index from `dois_search_rows`, with
/// progress in the log (`label`: who is asking).
fn fill_search(conn: &Connection, label: &str, rows: i64) -> rusqlite::Result<()> {
    by_rowid_ranges(
        conn,
        "INSERT INTO dois_search (rowid, doi, titles, creators, publisher, descriptions, subjects, related)
         SELECT * FROM dois_search_rows WHERE id > ?1 AND id <= ?2",
        |done| log::info!("{label}: search index {done} of {rows} DOIs"),
    )
}

/// Runs `sql` (a statement over the rowids `?1 < rowid <= ?2`) on every stored DOI, 100,000
/// rowids at a time, calling `progress` with how many rows it has changed so far: a long
/// backfill reports as it goes, and no statement holds a million rows' work at once.
fn by_rowid_ranges(conn: &Connection, sql: &str, progress: impl Fn(usize)) -> rusqlite::Result<()> {
    const CHUNK: i64 = 100_000;
    let mut after = i64::MIN;
    let mut done = 0;
    loop {
        let last: Option<i64> = conn
            .query_row(
                "SELECT MAX(rowid) FROM (SELECT rowid FROM dois WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
                params![after, CHUNK],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(last) = last else { break };
        done += conn.prepare_cached(sql)?.execute(params![after, last])?;
        after = last;
        progress(done);
    }
    Ok(())
}

/// Builds the search index, the counts and the facet keys again from the stored rows, in
/// the caller's transaction, and raises the DOI write generation so that no search total,
/// facet or match kept under the old one is served: for a database whose `dois` were
/// changed by hand (the sqlite3 shell), which only the write functions index. (Rendered
/// reads need nothing: migration 9's triggers give a hand-edited row a new revision.)
/// Returns how many DOIs there are.
pub fn reindex(conn: &Connection) -> rusqlite::Result<u64> {
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM dois", [], |r| r.get(0))?;
    conn.execute("INSERT INTO dois_search (dois_search) VALUES ('delete-all')", [])?;
    fill_search(conn, "reindex", rows)?;
    log::info!("reindex: counting {rows} DOIs by facet");
    recount(conn)?;
    conn.execute("UPDATE doi_generation SET generation = generation + 1 WHERE id = 1", [])?;
    Ok(u64::try_from(rows).unwrap_or(0))
}

/// Fills migration 11's columns (`resource_type`, `published_year`, `title`) of the DOIs
/// already stored from their JSON (`dois_json_columns`), in the caller's transaction, one
/// statement per 100,000 rowids with progress in the log. The migration has dropped the
/// triggers that would give each row a revision (nothing a read shows changes) and the
/// indexes of the columns (built after, from the filled columns).
pub fn backfill_columns(conn: &Connection) -> rusqlite::Result<()> {
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM dois", [], |r| r.get(0))?;
    if rows == 0 {
        return Ok(());
    }
    log::info!("migration 11: columns of {rows} DOIs from their JSON");
    by_rowid_ranges(
        conn,
        "UPDATE dois SET (resource_type, published_year, title) =
         (SELECT resource_type, published_year, title FROM dois_json_columns WHERE id = dois.rowid)
         WHERE rowid > ?1 AND rowid <= ?2",
        |done| log::info!("migration 11: columns of {done} of {rows} DOIs"),
    )
}

/// Where a page of a client's minted DOIs starts: after this `created` and `doi`.
pub type NamesAfter = Option<(i64, String)>;

/// Up to `limit` of a client's registered and findable DOIs, oldest first, after `after`
/// (MDS `GET /doi`, read a page at a time so a long list is never held whole): their
/// `created` and name.
pub fn minted_names_page(
    conn: &Connection,
    client: &str,
    after: &NamesAfter,
    limit: u32,
) -> rusqlite::Result<Vec<(i64, String)>> {
    let (created, doi) = after.clone().unwrap_or((i64::MIN, String::new()));
    let mut stmt = conn.prepare_cached(
        "SELECT created, doi FROM dois WHERE client = ?1 AND state != 'draft' AND (created, doi) > (?2, ?3)
         ORDER BY created, doi LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![client, created, doi, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// A read-only connection of its own to the database `conn` is on, for a reply that reads
/// on after its handler returned (a streamed body).
pub fn reader_of(conn: &Connection) -> rusqlite::Result<Connection> {
    let path = conn.path().unwrap_or(":memory:").to_string();
    let reader = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    reader.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(reader)
}

/// A client's registered and findable DOI names, oldest first.
#[cfg(test)]
pub fn minted_names_of_client(conn: &Connection, client: &str) -> rusqlite::Result<Vec<String>> {
    Ok(minted_names_page(conn, client, &None, u32::MAX)?
        .into_iter()
        .map(|(_, doi)| doi)
        .collect())
}

/// One media entry of a DOI; `id` is its row id, stable while it exists (MDS shows it in
/// Base32 as lupo shows its media ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub id: i64,
    pub media_type: String,
    pub url: String,
}

/// Sets the URL of the DOI's media of type `media_type`, or appends one. Rows are updated
/// in place, so ids stay as they were.
pub fn put_media(conn: &Connection, doi: &str, media_type: &str, url: &str) -> rusqlite::Result<()> {
    let updated = conn
        .prepare_cached("UPDATE media SET url = ?3 WHERE doi = ?1 AND media_type = ?2")?
        .execute(params![doi, media_type, url])?;
    if updated == 0 {
        conn.prepare_cached(
            "INSERT INTO media (doi, position, media_type, url)
             VALUES (?1, (SELECT COALESCE(MAX(position) + 1, 0) FROM media WHERE doi = ?1), ?2, ?3)",
        )?
        .execute(params![doi, media_type, url])?;
    }
    Ok(())
}

/// The DOI's media in the order they were added.
pub fn media(conn: &Connection, doi: &str) -> rusqlite::Result<Vec<Media>> {
    let mut stmt = conn.prepare_cached("SELECT rowid, media_type, url FROM media WHERE doi = ?1 ORDER BY position")?;
    let rows = stmt.query_map([doi], |r| {
        Ok(Media {
            id: r.get(0)?,
            media_type: r.get(1)?,
            url: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Deletes media `id` of the DOI; false when it has none with that id.
pub fn delete_media(conn: &Connection, doi: &str, id: i64) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM media WHERE doi = ?1 AND rowid = ?2")?
        .execute(params![doi, id])?
        > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, crate::db::Conn) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("t.db")).unwrap();
        conn.execute_batch(
            "INSERT INTO providers (symbol, name, created, updated) VALUES ('DEMO', 'D', 0, 0), ('OTHER', 'O', 0, 0);
             INSERT INTO clients (symbol, provider, name, created, updated) VALUES
               ('DEMO.REPO', 'DEMO', 'D', 0, 0), ('OTHER.REPO', 'OTHER', 'O', 0, 0);",
        )
        .unwrap();
        (dir, conn)
    }

    fn doi(name: &str, client: &str, state: State, created: i64, title: &str) -> Doi {
        let mut attributes = Map::new();
        attributes.insert("titles".into(), serde_json::json!([{"title": title}]));
        Doi {
            client: client.into(),
            state,
            xml: Some(b"<resource/>".to_vec()),
            attributes: Some(attributes),
            created,
            updated: created,
            updated_by: Some("password".into()),
            ..Doi::draft(name)
        }
    }

    fn names(v: &[Doi]) -> Vec<&str> {
        v.iter().map(|d| d.doi.as_str()).collect()
    }

    /// The search text written from the attributes in Rust is what the migration's backfill
    /// (`dois_search_rows`, `json_tree`) indexes for the same stored text, column by column,
    /// for nested names, identifiers, a publisher object and non-string values; and an update
    /// replaces the entry rather than adding a second.
    #[test]
    fn search_text_is_the_backfill_views() {
        let (_dir, conn) = setup();
        let records = [
            serde_json::json!({
                "titles": [{"title": "Océan Atlantique", "lang": "fr"}, {"title": "Sub", "titleType": "Subtitle"}, "loose"],
                "creators": [
                    {"name": "Fenner, Martin", "givenName": "Martin", "familyName": "Fenner",
                     "nameIdentifiers": [{"nameIdentifier": "https://orcid.org/0000-0003-1419-2405", "nameIdentifierScheme": "ORCID"}],
                     "affiliation": [{"name": "DataCite", "affiliationIdentifier": "https://ror.org/04wxnsj81"}]},
                    {"name": "Org", "nameType": "Organizational", "flag": true}
                ],
                "publisher": {"name": "Zenodo", "publisherIdentifier": "x"},
                "descriptions": [{"description": "Abstract text", "descriptionType": "Abstract"}, {"description": 42}],
                "subjects": [{"subject": "ocean"}, {"subject": true}, {"subject": null}],
                "relatedIdentifiers": [{"relatedIdentifier": "10.1234/x", "relationType": "IsPartOf"}]
            }),
            serde_json::json!({"publisher": "Plain publisher", "creators": {"name": "one object"}}),
            serde_json::json!({"publisher": {"lang": "en"}, "titles": [{"title": [["nested"]]}]}),
            serde_json::json!({}),
        ];
        for (i, record) in records.iter().enumerate() {
            let name = format!("10.5072/s{i}");
            let mut d = doi(&name, "DEMO.REPO", State::Findable, 1, "x");
            d.attributes = record.as_object().cloned();
            insert(&conn, &d).unwrap();
            let t = SearchText::of(d.attributes.as_ref().unwrap());
            let view: [Option<String>; 6] = conn
                .query_row(
                    "SELECT titles, creators, publisher, descriptions, subjects, related FROM dois_search_rows
                     WHERE doi = ?1",
                    [&name],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]),
                )
                .unwrap();
            assert_eq!(
                view,
                [t.titles, t.creators, t.publisher, t.descriptions, t.subjects, t.related],
                "{record}"
            );
            // Updated twice: one entry, of the latest title.
            for title in ["Glacier", "Permafrost"] {
                d.attributes
                    .get_or_insert_default()
                    .insert("titles".into(), serde_json::json!([{"title": title}]));
                update_as(
                    &conn,
                    &d,
                    Texts {
                        attributes: attributes_text(&d).as_deref(),
                        derived: None,
                        attributes_index: None,
                        derived_index: None,
                    },
                )
                .unwrap();
            }
        }
        let matches = |q: &str| -> i64 {
            conn.query_row(
                "SELECT COUNT(*) FROM dois_search WHERE dois_search MATCH ?1",
                [q],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(matches("titles:permafrost"), 4);
        assert_eq!(matches("titles:glacier"), 0);
        assert_eq!(matches("creators:fenner"), 1);
        delete(&conn, "10.5072/s0").unwrap();
        assert_eq!(matches("titles:permafrost"), 3);
    }

    /// Without an in-memory copy of the facet keys (an in-memory database has no file to
    /// key it by), a search's total and facets are summed in SQLite, and agree with
    /// `doi_counts`, after inserts, a state change, a metadata update and a delete.
    #[test]
    fn searched_facets_without_a_copy_agree_with_the_counts() {
        let conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO providers (symbol, name, created, updated) VALUES ('DEMO', 'D', 0, 0);
             INSERT INTO clients (symbol, provider, name, created, updated) VALUES ('DEMO.REPO', 'DEMO', 'D', 0, 0);",
        )
        .unwrap();
        for (i, state) in [State::Draft, State::Findable, State::Registered, State::Findable]
            .into_iter()
            .enumerate()
        {
            let mut d = doi(
                &format!("10.5072/{i}"),
                "DEMO.REPO",
                state,
                1_600_000_000 + i as i64 * 40_000_000,
                "t",
            );
            d.registered = (state != State::Draft).then_some(d.created);
            let kinds = ["Dataset", "Text"];
            let a = d.attributes.get_or_insert_default();
            a.insert(
                "types".into(),
                serde_json::json!({ "resourceTypeGeneral": kinds[i % 2] }),
            );
            a.insert("publicationYear".into(), serde_json::json!(2019 + i));
            insert(&conn, &d).unwrap();
        }
        let mut d = get(&conn, "10.5072/0").unwrap().unwrap();
        d.state = State::Findable;
        d.registered = Some(1_700_000_000);
        update(&conn, &d).unwrap();
        d.attributes
            .get_or_insert_default()
            .insert("publicationYear".into(), serde_json::json!(1999));
        update_as(
            &conn,
            &d,
            Texts {
                attributes: attributes_text(&d).as_deref(),
                ..Texts::default()
            },
        )
        .unwrap();
        assert!(delete(&conn, "10.5072/3").unwrap());
        let all = Facet::ALL;
        for visible in [Visible::All, Visible::Findable] {
            let counted = Filter::new(visible.clone());
            let mut searched = Filter::new(visible.clone());
            searched.search.all = Some("doi : \"10\"".into());
            assert_eq!(count(&conn, &counted).unwrap(), count(&conn, &searched).unwrap());
            let expected: Vec<Vec<Bucket>> = all.iter().map(|f| facet(&conn, &counted, *f, 10).unwrap()).collect();
            assert_eq!(facets(&conn, &searched, &all, 10).unwrap(), expected, "{visible:?}");
        }
        assert_eq!(count(&conn, &Filter::new(Visible::All)).unwrap(), 3);
    }

    /// A search matching under 1 % of the DOIs reads its page by walking the list's index
    /// over its kept matches when the page is expected within `KEPT_WALK` entries, or
    /// else (at most `KEPT_SORT` matches) by sorting them (no FTS5 join either way), and
    /// the pages are the join's: newest first, offsets included.
    #[test]
    fn a_rare_searchs_page_walks_its_kept_matches() {
        let (_dir, conn) = setup();
        for i in 0..400i64 {
            let title = if i % 150 == 7 { "Permafrost thaw" } else { "Forest" };
            let d = doi(
                &format!("10.5072/w{i}"),
                "DEMO.REPO",
                State::Findable,
                1_600_000_000 + i,
                title,
            );
            insert(&conn, &d).unwrap();
        }
        let page = |offset: u64, limit: u32| {
            let mut f = Filter::new(Visible::Findable);
            f.search.all = Some("permafrost".into());
            f.offset = offset;
            f.limit = limit;
            let before = (KEPT_WALKS.with(|n| n.get()), KEPT_SORTS.with(|n| n.get()));
            let (rows, total) = list(&conn, &f).unwrap();
            let how = (
                KEPT_WALKS.with(|n| n.get()) - before.0,
                KEPT_SORTS.with(|n| n.get()) - before.1,
            );
            (rows.into_iter().map(|d| d.doi).collect::<Vec<_>>(), total, how)
        };
        // 3 of 400 match (0.75 %): walked, newest first.
        assert_eq!(
            page(0, 2),
            (vec!["10.5072/w307".into(), "10.5072/w157".into()], 3, (1, 0))
        );
        assert_eq!(page(2, 2), (vec!["10.5072/w7".to_string()], 3, (1, 0)));
        assert_eq!(page(3, 2), (vec![], 3, (1, 0)));
        // A page of 1,000 is expected 133,000 entries deep: the 3 are looked up and sorted.
        let all: Vec<String> = ["w307", "w157", "w7"].iter().map(|d| format!("10.5072/{d}")).collect();
        assert_eq!(page(0, 1000), (all.clone(), 3, (0, 1)));
        assert_eq!(page(1, 1000), (all[1..].to_vec(), 3, (0, 1)));
    }

    /// A kept search result brought forward from the DOIs written since equals the same
    /// search summed from scratch (total, facets, matches), after inserts, updates that add
    /// and remove the searched word (what the DOI counts under unchanged), a state change,
    /// a delete and a write by another connection; past `BRING_FORWARD` writes it is summed
    /// again.
    #[test]
    fn a_kept_search_brought_forward_equals_one_from_scratch() {
        let (dir, conn) = setup();
        let texts = |d: &Doi| {
            let attributes = attributes_text(d);
            let d = d.clone();
            move |conn: &Connection| {
                update_as(
                    conn,
                    &d,
                    Texts {
                        attributes: attributes.as_deref(),
                        ..Texts::default()
                    },
                )
                .unwrap()
            }
        };
        for i in 0..40 {
            let client = if i % 3 == 0 { "OTHER.REPO" } else { "DEMO.REPO" };
            let state = [State::Findable, State::Draft, State::Registered][i % 3];
            let title = ["Ocean data", "Ocean glacier", "Forest", "Glacier melt"][i % 4];
            let mut d = doi(&format!("10.5072/k{i}"), client, state, 1_600_000_000 + i as i64, title);
            d.attributes.get_or_insert_default().insert(
                "types".into(),
                serde_json::json!({ "resourceTypeGeneral": (["Dataset", "Text"][i % 2]) }),
            );
            insert(&conn, &d).unwrap();
        }
        let searches: Vec<Filter> = {
            let ocean = Search {
                all: Some("ocean".into()),
                none: None,
            };
            let mut a = Filter::new(Visible::Findable);
            a.search = ocean.clone();
            let mut b = Filter::new(Visible::All);
            b.search = Search {
                all: Some("ocean".into()),
                none: Some("glacier".into()),
            };
            let mut c = Filter::new(Visible::FindableOrClient("DEMO.REPO".into()));
            c.search = ocean.clone();
            c.clients = vec!["DEMO.REPO".into()];
            let mut d = Filter::new(Visible::All);
            d.search = ocean;
            d.resource_types = vec!["dataset".into()];
            // A column filter and a phrase, as `api::dois_list::search` writes them.
            let mut e = Filter::new(Visible::All);
            e.search.all = Some("titles : \"ocean floor\"".into());
            vec![a, b, c, d, e]
        };
        let set = |m: &Matches| m.iter().collect::<Vec<i64>>();
        let tallies =
            |s: &Summed| -> Vec<Vec<(i64, u64)>> { s.tallies.iter().map(|t| t.counted().collect()).collect() };
        // Each search kept, then after each write brought forward (`forwarded` of them) and
        // compared with the same from scratch.
        let check = |what: &str, forwarded: u64| {
            let before = FORWARDED.with(|n| n.get());
            for f in &searches {
                let kept = summed(&conn, f).unwrap().unwrap();
                let fresh = summed_with(&conn, f, false).unwrap().unwrap();
                assert_eq!(kept.total, fresh.total, "{what}: {f:?}");
                assert_eq!(tallies(&kept), tallies(&fresh), "{what}: {f:?}");
                assert_eq!(set(&kept.matches), set(&fresh.matches), "{what}: {f:?}");
                let (kept_raw, fresh_raw) = (kept.raw.as_ref().unwrap(), fresh.raw.as_ref().unwrap());
                assert_eq!(set(&kept_raw.matches), set(&fresh_raw.matches), "{what}: {f:?}");
                assert_eq!(kept_raw.gen, fresh_raw.gen, "{what}");
                // And the same counted in SQL (the `ids` filter keeps it there).
                let mut scanned = f.clone();
                scanned.ids = (0..45).map(|i| format!("10.5072/k{i}")).collect();
                assert_eq!(count(&conn, &scanned).unwrap(), kept.total, "{what}: {f:?}");
            }
            assert_eq!(FORWARDED.with(|n| n.get()) - before, forwarded, "{what}");
        };
        check("first", 0);
        check("no write", 0);
        // Inserts, one of them matching.
        insert(
            &conn,
            &doi("10.5072/k40", "DEMO.REPO", State::Findable, 1, "Ocean floor"),
        )
        .unwrap();
        insert(&conn, &doi("10.5072/k41", "OTHER.REPO", State::Findable, 1, "Lake")).unwrap();
        check("inserts", 5);
        // The word added (accented), then removed, then a negated word added: nothing counted
        // changes.
        let mut d = get(&conn, "10.5072/k2").unwrap().unwrap();
        d.attributes
            .get_or_insert_default()
            .insert("titles".into(), serde_json::json!([{"title": "Océan forest"}]));
        texts(&d)(&conn);
        check("word added", 5);
        let mut d = get(&conn, "10.5072/k0").unwrap().unwrap();
        d.attributes
            .get_or_insert_default()
            .insert("titles".into(), serde_json::json!([{"title": "Desert"}]));
        texts(&d)(&conn);
        check("word removed", 5);
        let mut d = get(&conn, "10.5072/k40").unwrap().unwrap();
        d.attributes
            .get_or_insert_default()
            .insert("titles".into(), serde_json::json!([{"title": "Ocean floor glacier"}]));
        texts(&d)(&conn);
        check("negated word added", 5);
        // A state change, and a change of owner.
        let mut d = get(&conn, "10.5072/k4").unwrap().unwrap();
        d.state = State::Draft;
        update(&conn, &d).unwrap();
        let mut d = get(&conn, "10.5072/k5").unwrap().unwrap();
        d.client = "OTHER.REPO".into();
        update(&conn, &d).unwrap();
        check("state and owner", 5);
        assert!(delete(&conn, "10.5072/k8").unwrap());
        check("delete", 5);
        // Another connection to the file, as another process.
        let other = crate::db::open(&dir.path().join("t.db")).unwrap();
        let mut d = get(&other, "10.5072/k41").unwrap().unwrap();
        d.attributes
            .get_or_insert_default()
            .insert("titles".into(), serde_json::json!([{"title": "Ocean lake"}]));
        texts(&d)(&other);
        assert!(delete(&other, "10.5072/k12").unwrap());
        check("another connection", 5);
        // More writes than are brought forward: summed again.
        let tx = conn.unchecked_transaction().unwrap();
        for i in 0..=BRING_FORWARD {
            insert(
                &tx,
                &doi(&format!("10.5072/many-{i}"), "DEMO.REPO", State::Findable, 1, "Ocean"),
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let before = FORWARDED.with(|n| n.get());
        let f = &searches[0];
        let kept = summed(&conn, f).unwrap().unwrap();
        assert_eq!(FORWARDED.with(|n| n.get()), before);
        assert_eq!(kept.total, summed_with(&conn, f, false).unwrap().unwrap().total);
        // Then brought forward again.
        insert(&conn, &doi("10.5072/k42", "DEMO.REPO", State::Findable, 1, "Ocean")).unwrap();
        assert_eq!(summed(&conn, f).unwrap().unwrap().total, kept.total + 1);
        assert_eq!(FORWARDED.with(|n| n.get()), before + 1);
    }

    #[test]
    fn insert_get_update_delete_with_media() {
        let (_dir, conn) = setup();
        let mut d = doi("10.5072/a", "DEMO.REPO", State::Draft, 1, "Ocean 50% data");
        insert(&conn, &d).unwrap();
        assert_eq!(get(&conn, "10.5072/a").unwrap(), Some(d.clone()));
        let (scalars, xml, attributes) = with_in_row(&conn, "10.5072/a", |r| {
            (r.doi, r.xml.map(<[u8]>::to_vec), r.attributes.map(<[u8]>::to_vec))
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            scalars,
            Doi {
                xml: None,
                attributes: None,
                ..d.clone()
            }
        );
        assert_eq!(
            (xml, attributes),
            (d.xml.clone(), attributes_text(&d).map(String::into_bytes))
        );
        assert!(with_in_row(&conn, "10.5072/none", |_| ()).unwrap().is_none());
        d.state = State::Findable;
        d.url = Some("https://example.org".into());
        update(&conn, &d).unwrap();
        assert_eq!(get(&conn, "10.5072/a").unwrap(), Some(d.clone()));
        put_media(&conn, "10.5072/a", "text/plain", "https://example.org/a.txt").unwrap();
        put_media(&conn, "10.5072/a", "application/pdf", "https://example.org/a.pdf").unwrap();
        put_media(&conn, "10.5072/a", "text/plain", "https://example.org/b.txt").unwrap();
        let listed = media(&conn, "10.5072/a").unwrap();
        let pairs: Vec<(&str, &str)> = listed.iter().map(|m| (m.media_type.as_str(), m.url.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("text/plain", "https://example.org/b.txt"),
                ("application/pdf", "https://example.org/a.pdf")
            ]
        );
        // Updating a type keeps its id; deleting takes one entry by id.
        assert!(delete_media(&conn, "10.5072/a", listed[1].id).unwrap());
        assert!(!delete_media(&conn, "10.5072/a", listed[1].id).unwrap());
        assert_eq!(media(&conn, "10.5072/a").unwrap(), listed[..1]);
        assert!(delete(&conn, "10.5072/a").unwrap());
        assert_eq!(get(&conn, "10.5072/a").unwrap(), None);
        assert!(media(&conn, "10.5072/a").unwrap().is_empty());
        assert!(!delete(&conn, "10.5072/a").unwrap());
    }

    #[test]
    fn list_filters_visibility_and_pages() {
        let (_dir, conn) = setup();
        insert(&conn, &doi("10.5072/a", "DEMO.REPO", State::Draft, 1, "Ocean 50% data")).unwrap();
        insert(&conn, &doi("10.5072/b", "DEMO.REPO", State::Findable, 2, "Forest")).unwrap();
        insert(&conn, &doi("10.5073/c", "OTHER.REPO", State::Draft, 3, "Ocean floor")).unwrap();
        insert(&conn, &doi("10.5073/d", "OTHER.REPO", State::Findable, 3, "Ocean_ice")).unwrap();

        let (v, total) = list(&conn, &Filter::new(Visible::All)).unwrap();
        assert_eq!(
            (names(&v), total),
            (vec!["10.5073/d", "10.5073/c", "10.5072/b", "10.5072/a"], 4)
        );
        let (v, _) = list(&conn, &Filter::new(Visible::Findable)).unwrap();
        assert_eq!(names(&v), vec!["10.5073/d", "10.5072/b"]);
        let (v, _) = list(&conn, &Filter::new(Visible::FindableOrClient("DEMO.REPO".into()))).unwrap();
        assert_eq!(names(&v), vec!["10.5073/d", "10.5072/b", "10.5072/a"]);
        let (v, _) = list(&conn, &Filter::new(Visible::FindableOrProvider("OTHER".into()))).unwrap();
        assert_eq!(names(&v), vec!["10.5073/d", "10.5073/c", "10.5072/b"]);

        let mut f = Filter::new(Visible::All);
        f.contains = vec!["ocean".into()];
        f.states = vec![State::Draft];
        let (v, total) = list(&conn, &f).unwrap();
        assert_eq!((names(&v), total), (vec!["10.5073/c", "10.5072/a"], 2));
        // LIKE wildcards in the query are literal.
        f.states.clear();
        f.contains = vec!["50%".into()];
        assert_eq!(names(&list(&conn, &f).unwrap().0), vec!["10.5072/a"]);
        f.contains = vec!["n_i".into()];
        assert_eq!(names(&list(&conn, &f).unwrap().0), vec!["10.5073/d"]);

        let mut f = Filter::new(Visible::All);
        f.prefixes = vec!["10.5072".into()];
        f.clients = vec!["DEMO.REPO".into()];
        assert_eq!(list(&conn, &f).unwrap().1, 2);
        f.prefixes = vec!["10.5072".into(), "10.5073".into()];
        f.clients.clear();
        assert_eq!(list(&conn, &f).unwrap().1, 4);
        f.fields = vec![("titles.title".into(), "FOREST".into())];
        assert_eq!(names(&list(&conn, &f).unwrap().0), vec!["10.5072/b"]);
        f.fields.clear();
        f.nothing = true;
        assert_eq!(list(&conn, &f).unwrap().1, 0);
        let mut f = Filter::new(Visible::All);
        let states = facet(&conn, &f, Facet::States, 10).unwrap();
        assert_eq!(
            states[0],
            Bucket {
                key: Some("draft".into()),
                title: None,
                count: 2
            }
        );
        f.order = Order::DoiAsc;
        assert_eq!(names(&list(&conn, &f).unwrap().0)[0], "10.5072/a");

        let mut f = Filter::new(Visible::All);
        f.limit = 2;
        let (page1, total) = list(&conn, &f).unwrap();
        assert_eq!((names(&page1), total), (vec!["10.5073/d", "10.5073/c"], 4));
        f.offset = 2;
        assert_eq!(names(&list(&conn, &f).unwrap().0), vec!["10.5072/b", "10.5072/a"]);
        f.offset = 0;
        f.cursor = Some(Cursor {
            created: page1[1].created,
            doi: page1[1].doi.clone(),
        });
        let (page2, total) = list(&conn, &f).unwrap();
        assert_eq!((names(&page2), total), (vec!["10.5072/b", "10.5072/a"], 4));
        assert_eq!(minted_names_of_client(&conn, "DEMO.REPO").unwrap(), vec!["10.5072/b"]);
    }
}
