//! SQL for the monthly data files: the `datafiles` records, the findable DOIs they hold,
//! and the URL signing key in `settings`.

use rusqlite::{Connection, OptionalExtension};

use crate::error::Error;

const SIGNING_KEY: &str = "datafile_signing_key";

/// A data file that has been built.
#[derive(Debug, Clone, PartialEq)]
pub struct Datafile {
    pub month: String,
    pub path: String,
    pub records: i64,
    pub size: i64,
    pub sha256: String,
    pub created: i64,
}

/// What a data file line is made of.
pub struct DoiRow {
    pub doi: String,
    pub prefix: String,
    pub state: String,
    pub url: Option<String>,
    pub attributes: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub registered: Option<i64>,
}

pub fn find(conn: &Connection, month: &str) -> rusqlite::Result<Option<Datafile>> {
    conn.prepare_cached("SELECT month, path, records, size, sha256, created FROM datafiles WHERE month = ?1")?
        .query_row([month], |r| {
            Ok(Datafile {
                month: r.get(0)?,
                path: r.get(1)?,
                records: r.get(2)?,
                size: r.get(3)?,
                sha256: r.get(4)?,
                created: r.get(5)?,
            })
        })
        .optional()
}

/// Records a built file unless one is recorded for the month already; true when inserted.
pub fn insert(conn: &Connection, file: &Datafile) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO datafiles (month, path, records, size, sha256, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            file.month,
            file.path,
            file.records,
            file.size,
            file.sha256,
            file.created
        ])?;
    Ok(n == 1)
}

/// DOIs whose last state before `?1` (from `doi_events`) was findable.
const FINDABLE_AT: &str = "(SELECT e.state FROM doi_events e WHERE e.doi = dois.doi AND e.at < ?1
      ORDER BY e.at DESC, e.id DESC LIMIT 1) = 'findable'";

/// How many DOIs were findable just before `at` (a month's end).
pub fn count_findable(conn: &Connection, at: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(&format!("SELECT count(*) FROM dois WHERE {FINDABLE_AT}"))?
        .query_row([at], |r| r.get(0))
}

/// Calls `each` for every DOI that was findable just before `at` (a month's end), with its
/// present metadata, one row at a time, so that no more than one row is in memory.
pub fn for_each_findable(
    conn: &Connection,
    at: i64,
    mut each: impl FnMut(DoiRow) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT doi, prefix, state, url, attributes, created, updated, registered FROM dois
         WHERE {FINDABLE_AT} ORDER BY created, doi"
    ))?;
    let mut rows = stmt.query([at])?;
    while let Some(r) = rows.next()? {
        each(DoiRow {
            doi: r.get(0)?,
            prefix: r.get(1)?,
            state: r.get(2)?,
            url: r.get(3)?,
            attributes: r.get(4)?,
            created: r.get(5)?,
            updated: r.get(6)?,
            registered: r.get(7)?,
        })?;
    }
    Ok(())
}

pub fn signing_key(conn: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM settings WHERE name = ?1")?
        .query_row([SIGNING_KEY], |r| r.get(0))
        .optional()
}

/// Stores `key` unless a key exists already (another worker may have been first).
pub fn insert_signing_key(conn: &Connection, key: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)")?
        .execute(rusqlite::params![SIGNING_KEY, key])?;
    Ok(())
}
