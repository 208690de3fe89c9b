//! Baselines for writes: a plain rusqlite loop inserting the same DOI rows (XML and JSON
//! attributes) with the same pragmas as tinydoi (`db::open`: WAL, synchronous=FULL), in
//! `BEGIN IMMEDIATE` transactions of `batch` rows: 1 is the durability of one MDS PUT
//! committed alone, the connection count is the best group commit can do at that load
//! (every commit holding one row per connection). Each row's latency is its transaction's.

use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::load::Outcome;
use crate::seed::{self, Metadata, CLIENT, PREFIX};

/// `tag` keeps the DOIs of several runs on one database apart.
pub fn run(
    db: &Path,
    tag: &str,
    metadata: &Metadata,
    attributes: &str,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let conn = seed::database(db)?;
    // A plain loop checkpoints as SQLite does by default (every 1,000 WAL pages, in the
    // committing transaction), as this baseline always has: tinydoi's connections leave
    // checkpoints to the server's checkpointer thread (`db::checkpoint`), which this has not.
    conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
    let mut out = Outcome {
        seconds: duration.as_secs_f64(),
        ..Outcome::default()
    };
    let columns = columns_of(attributes)?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        // Prepared before the transaction, as tinydoi prepares a PUT's record before its.
        let rows: Vec<(String, String)> = (0..batch)
            .map(|i| {
                let doi = format!("{PREFIX}/raw-{tag}-{batch}-{}", n + i as u64);
                let xml = metadata.for_doi(&doi);
                (doi, xml)
            })
            .collect();
        let t = Instant::now();
        let result = commit(&conn, &rows, attributes, &columns);
        let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
        out.latencies_us.extend(std::iter::repeat_n(us, batch));
        out.requests += batch as u64;
        if let Err(e) = result {
            out.errors += batch as u64;
            out.first_error.get_or_insert(e.to_string());
        }
        n += batch as u64;
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.latencies_us.sort_unstable();
    Ok(out)
}

/// Migration 11's columns of every row (`resource_type`, `published_year`, `title`): the
/// attributes are the same for all, so they are computed once, as tinydoi computes them.
type Columns = (Option<String>, Option<String>, Option<String>);

fn columns_of(attributes: &str) -> anyhow::Result<Columns> {
    let attributes: serde_json::Map<String, serde_json::Value> = serde_json::from_str(attributes)?;
    let d = tinydoi::db::dois::Doi {
        doi: format!("{PREFIX}/raw"),
        client: CLIENT.into(),
        prefix: PREFIX.into(),
        state: tinydoi::db::dois::State::Draft,
        url: None,
        xml: None,
        attributes: Some(attributes),
        created: 0,
        updated: 0,
        registered: None,
        updated_by: None,
    };
    let keys = tinydoi::db::dois::FacetKeys::of(&d, None);
    Ok((
        keys.resource_type,
        keys.published,
        tinydoi::db::dois::first_title(d.attributes.as_ref()),
    ))
}

fn commit(conn: &Connection, rows: &[(String, String)], attributes: &str, columns: &Columns) -> rusqlite::Result<()> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    for (doi, xml) in rows {
        insert(&tx, doi, xml, attributes, columns)?;
    }
    tx.commit()
}

fn insert(tx: &Connection, doi: &str, xml: &str, attributes: &str, columns: &Columns) -> rusqlite::Result<()> {
    let now = tinydoi::time::now();
    tx.prepare_cached(
        // With its revision and columns, as tinydoi's own insert: without them, a trigger
        // writes the row twice and parses its JSON.
        "INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered, updated_by,
         resource_type, published_year, title, revision)
         VALUES (?1, ?2, ?3, 'draft', NULL, ?4, ?5, ?6, ?6, NULL, 'password', ?7, ?8, ?9,
         (SELECT generation + 1 FROM doi_generation WHERE id = 1))",
    )?
    .execute(rusqlite::params![
        doi,
        CLIENT,
        PREFIX,
        xml.as_bytes(),
        attributes,
        now,
        columns.0,
        columns.1,
        columns.2
    ])?;
    Ok(())
}
