//! Baseline for writes: a plain rusqlite loop inserting the same DOI rows (XML and JSON
//! attributes) with the same pragmas as tinydoi (`db::open`: WAL, synchronous=FULL) and one
//! `BEGIN IMMEDIATE` transaction per row, i.e. the same durability as one MDS PUT.

use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::load::Outcome;
use crate::seed::{self, Metadata, CLIENT, PREFIX};

/// `tag` keeps the DOIs of several runs on one database apart.
pub fn run(db: &Path, tag: &str, metadata: &Metadata, attributes: &str, duration: Duration) -> anyhow::Result<Outcome> {
    let conn = seed::database(db)?;
    let mut out = Outcome {
        seconds: duration.as_secs_f64(),
        ..Outcome::default()
    };
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        let doi = format!("{PREFIX}/raw-{tag}-{n}");
        let xml = metadata.for_doi(&doi);
        let t = Instant::now();
        let result = tinydoi::db::write(&conn, |tx| insert(tx, &doi, &xml, attributes));
        out.latencies_us
            .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        out.requests += 1;
        if let Err(e) = result {
            out.errors += 1;
            out.first_error.get_or_insert(e.to_string());
        }
        n += 1;
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.latencies_us.sort_unstable();
    Ok(out)
}

fn insert(tx: &Connection, doi: &str, xml: &str, attributes: &str) -> rusqlite::Result<()> {
    let now = tinydoi::time::now();
    tx.prepare_cached(
        "INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered, updated_by)
         VALUES (?1, ?2, ?3, 'draft', NULL, ?4, ?5, ?6, ?6, NULL, 'password')",
    )?
    .execute(rusqlite::params![doi, CLIENT, PREFIX, xml.as_bytes(), attributes, now])?;
    Ok(())
}
