//! SQL for usage reports. `header` is the report header alone, so that lists need not
//! read whole reports; `body` is the whole report.

use rusqlite::{Connection, OptionalExtension, Row};

/// A stored report.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub id: String,
    pub client: String,
    pub created_by: String,
    pub month: String,
    pub header: String,
    pub body: String,
    pub created: i64,
    pub updated: i64,
}

/// Filters of `GET /reports`; `None` matches all.
#[derive(Debug, Default)]
pub struct Filter {
    pub client: Option<String>,
    pub created_by: Option<String>,
    pub year: Option<String>,
}

fn report(r: &Row) -> rusqlite::Result<StoredReport> {
    Ok(StoredReport {
        id: r.get(0)?,
        client: r.get(1)?,
        created_by: r.get(2)?,
        month: r.get(3)?,
        header: r.get(4)?,
        body: r.get(5)?,
        created: r.get(6)?,
        updated: r.get(7)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> rusqlite::Result<Option<StoredReport>> {
    conn.prepare_cached(
        "SELECT id, client, created_by, month, header, body, created, updated FROM reports WHERE id = ?1",
    )?
    .query_row([id], report)
    .optional()
}

/// The id of the client's report by `created_by` for `month`, if any.
pub fn find_id(conn: &Connection, created_by: &str, client: &str, month: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT id FROM reports WHERE created_by = ?1 AND client = ?2 AND month = ?3")?
        .query_row([created_by, client, month], |r| r.get(0))
        .optional()
}

/// How many reports the client has for `month` (any creator).
pub fn count_for_month(conn: &Connection, client: &str, month: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM reports WHERE client = ?1 AND month = ?2")?
        .query_row([client, month], |r| r.get(0))
}

pub fn insert(conn: &Connection, r: &StoredReport) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO reports (id, client, created_by, month, header, body, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        r.id,
        r.client,
        r.created_by,
        r.month,
        r.header,
        r.body,
        r.created,
        r.updated
    ])?;
    Ok(())
}

/// Replaces the content of report `r.id` (its id, client and `created` stay).
pub fn replace(conn: &Connection, r: &StoredReport) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE reports SET created_by = ?2, month = ?3, header = ?4, body = ?5, updated = ?6 WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        r.id,
        r.created_by,
        r.month,
        r.header,
        r.body,
        r.updated
    ])?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM reports WHERE id = ?1")?
        .execute([id])?
        == 1)
}

const WHERE: &str = "WHERE (?1 IS NULL OR client = ?1) AND (?2 IS NULL OR created_by = ?2)
    AND (?3 IS NULL OR month LIKE ?3 || '-%')";

pub fn count(conn: &Connection, f: &Filter) -> rusqlite::Result<i64> {
    conn.prepare_cached(&format!("SELECT count(*) FROM reports {WHERE}"))?
        .query_row(rusqlite::params![f.client, f.created_by, f.year], |r| r.get(0))
}

/// `(id, header)` of a page of reports, newest reporting month first.
pub fn list(conn: &Connection, f: &Filter, limit: i64, offset: i64) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached(&format!(
        "SELECT id, header FROM reports {WHERE} ORDER BY month DESC, created DESC, id LIMIT ?4 OFFSET ?5"
    ))?
    .query_map(rusqlite::params![f.client, f.created_by, f.year, limit, offset], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?
    .collect()
}
