//! The `scale` scenario (issue 21): one database grown to 10k, 100k and 1M DOIs across 100
//! clients of 10 providers, bulk-loaded with SQL (each DOI entered into the search index and
//! counts as `db::dois` does for any write; the load is timed and reported), then list, query, facet
//! and paging requests measured one at a time against a server in a child process.

use base64::Engine;
use std::path::Path;
use std::time::Instant;

use crate::child::{Child, Kind};
use crate::load;

const PROVIDERS: usize = 10;
const CLIENTS_PER_PROVIDER: usize = 10;
/// Requests per figure (after one unmeasured).
const SAMPLES: usize = 30;

const WORDS: [&str; 32] = [
    "ocean",
    "glacier",
    "forest",
    "river",
    "climate",
    "soil",
    "carbon",
    "ice",
    "temperature",
    "salinity",
    "sediment",
    "species",
    "genome",
    "protein",
    "survey",
    "census",
    "archive",
    "image",
    "model",
    "simulation",
    "drought",
    "flood",
    "coral",
    "reef",
    "atmosphere",
    "aerosol",
    "lake",
    "wetland",
    "tundra",
    "permafrost",
    "estuary",
    "plankton",
];
const NAMES: [&str; 12] = [
    "Fenner", "García", "Nakamura", "Müller", "Okafor", "Novak", "Silva", "Chen", "Kowalski", "Haddad", "Larsen",
    "Rossi",
];
const TYPES: [&str; 8] = [
    "Dataset",
    "Text",
    "Software",
    "Image",
    "Collection",
    "PhysicalObject",
    "Audiovisual",
    "Other",
];

/// A small deterministic generator, so every run seeds the same database.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

fn client_symbol(i: usize) -> String {
    format!("P{}.C{}", i / CLIENTS_PER_PROVIDER, i % CLIENTS_PER_PROVIDER)
}

fn prefix(i: usize) -> String {
    format!("10.{}", 50_000 + i)
}

/// Providers, clients and their prefixes.
fn accounts(conn: &rusqlite::Connection) -> anyhow::Result<()> {
    let tx = conn.unchecked_transaction()?;
    for p in 0..PROVIDERS {
        tx.execute(
            "INSERT INTO providers (symbol, name, created, updated) VALUES (?1, ?2, 0, 0)",
            rusqlite::params![format!("P{p}"), format!("Provider {p}")],
        )?;
    }
    for c in 0..PROVIDERS * CLIENTS_PER_PROVIDER {
        tx.execute(
            "INSERT INTO clients (symbol, provider, name, created, updated) VALUES (?1, ?2, ?3, 0, 0)",
            rusqlite::params![
                client_symbol(c),
                format!("P{}", c / CLIENTS_PER_PROVIDER),
                format!("Repository {c}")
            ],
        )?;
        tx.execute(
            "INSERT INTO client_prefixes (client, prefix, created) VALUES (?1, ?2, 0)",
            rusqlite::params![client_symbol(c), prefix(c)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Adds DOIs `from..to` in transactions of 10,000; `search`: the schema is this build's (the
/// search index of migration 8, the revision of 9, the columns of 11), each DOI written as
/// `db::dois` writes it.
fn load_dois(conn: &rusqlite::Connection, from: u64, to: u64, search: bool) -> anyhow::Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ from);
    let mut n = from;
    while n < to {
        let tx = conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(if search {
                // With its revision and migration 11's columns, as `db::dois::insert_as`:
                // without them, a trigger writes the row twice and parses its JSON.
                "INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered,
                 resource_type, published_year, title, revision)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                 (SELECT generation + 1 FROM doi_generation WHERE id = 1))"
            } else {
                "INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            })?;
            for _ in 0..10_000.min(to - n) {
                let c = (rng.next() % (PROVIDERS * CLIENTS_PER_PROVIDER) as u64) as usize;
                let doi = format!("{}/scale-{n}", prefix(c));
                let state = match rng.next() % 10 {
                    0 => "draft",
                    1 => "registered",
                    _ => "findable",
                };
                // Created over 2010–2024, in load order, so newer DOIs are newer.
                let created = 1_262_304_000 + (n as i64) * (15 * 365 * 86_400 / 1_000_000);
                let title = format!(
                    "{} {} of the {} {} {n}",
                    rng.pick(&WORDS),
                    rng.pick(&WORDS),
                    rng.pick(&WORDS),
                    rng.pick(&WORDS)
                );
                let creator = rng.pick(&NAMES);
                let kind = rng.pick(&TYPES);
                let year = 2000 + rng.next() % 25;
                let attributes = serde_json::json!({
                    "creators": [{"name": format!("{creator}, A."), "familyName": creator, "givenName": "A."}],
                    "titles": [{"title": title}],
                    "publisher": format!("Repository {c}"),
                    "publicationYear": year,
                    "types": {"resourceTypeGeneral": kind},
                    "descriptions": [{"description": format!("Measurements of {} near the {}", rng.pick(&WORDS), rng.pick(&WORDS)), "descriptionType": "Abstract"}],
                    "subjects": [{"subject": rng.pick(&WORDS)}],
                });
                let xml = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><resource xmlns=\"http://datacite.org/schema/kernel-4\">\
                     <identifier identifierType=\"DOI\">{doi}</identifier><creators><creator><creatorName>{creator}, A.</creatorName>\
                     </creator></creators><titles><title>{title}</title></titles><publisher>Repository {c}</publisher>\
                     <publicationYear>{year}</publicationYear><resourceType resourceTypeGeneral=\"{kind}\"/></resource>"
                );
                let registered = (state != "draft").then_some(created);
                // What the DOI counts under: its facets, and migration 11's columns.
                let keys = tinydoi::db::dois::FacetKeys {
                    state: tinydoi::db::dois::State::parse(state).unwrap_or(tinydoi::db::dois::State::Draft),
                    client: client_symbol(c),
                    prefix: prefix(c),
                    created: tinydoi::db::dois::year_of_seconds(created),
                    registered: registered.map(tinydoi::db::dois::year_of_seconds),
                    resource_type: Some(kind.to_string()),
                    published: Some(year.to_string()),
                };
                let row = rusqlite::params![
                    &doi,
                    client_symbol(c),
                    prefix(c),
                    state,
                    format!("https://example.org/{n}"),
                    xml.into_bytes(),
                    attributes.to_string(),
                    created,
                    created,
                    registered,
                    keys.resource_type,
                    keys.published,
                    title
                ];
                stmt.execute(&row[..if search { 13 } else { 10 }])?;
                // As every write through `db::dois` does (the search index is kept there).
                if search {
                    let rowid = tx.last_insert_rowid();
                    tinydoi::db::dois::index_facets(&tx, rowid, None, Some(&keys))?;
                    tinydoi::db::dois::index_search(&tx, rowid, &doi, attributes.as_object())?;
                }
                n += 1;
            }
        }
        tx.commit()?;
    }
    Ok(())
}

/// DOIs per second of loading `count` DOIs as `load_dois` does into a database of the schema before
/// (no list indexes, counts or search index), and into one of this build: what migration
/// 6's upkeep costs a write, measured in the same run.
fn write_cost(dir: &Path, count: u64) -> anyhow::Result<((f64, f64), (f64, f64))> {
    let schema = include_str!("../../../schema.sql");
    let before = schema.find("-- migration 8").unwrap_or(schema.len());
    let mut rates = Vec::new();
    let mut sizes = Vec::new();
    for (name, sql, search) in [
        ("schema-before.db", &schema[..before], false),
        ("schema-now.db", schema, true),
    ] {
        let path = dir.join(name);
        let conn = rusqlite::Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(sql)?;
        accounts(&conn)?;
        conn.pragma_update(None, "cache_size", -256 * 1024)?;
        let start = Instant::now();
        load_dois(&conn, 0, count, search)?;
        rates.push(count as f64 / start.elapsed().as_secs_f64());
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        sizes.push(std::fs::metadata(&path)?.len() as f64 / count as f64);
        drop(conn);
        let _ = std::fs::remove_file(&path);
    }
    Ok(((rates[0], rates[1]), (sizes[0], sizes[1])))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Rewrites the search text of `count` DOIs (from the `n`th of a spread over the table) as
/// metadata updates do, in one transaction: each one's search index entry replaced and its
/// `doi_facets` row's `gen` raised, and the DOI write generation raised. No result kept from
/// before can be served as it is; a kept search's is brought forward by testing these DOIs
/// again (up to 1,000 of them, `db::dois::summed`).
fn write_dois(conn: &rusqlite::Connection, n: usize, count: usize) -> anyhow::Result<()> {
    let tx = conn.unchecked_transaction()?;
    let rows: i64 = tx.query_row("SELECT max(rowid) FROM dois", [], |r| r.get(0))?;
    for i in 0..count {
        let target = 1 + ((n * count + i) as i64 * 7919) % rows.max(1);
        let (rowid, doi, attributes): (i64, String, String) = tx.query_row(
            "SELECT rowid, doi, attributes FROM dois WHERE rowid >= ?1 ORDER BY rowid LIMIT 1",
            [target],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let attributes: serde_json::Value = serde_json::from_str(&attributes)?;
        tinydoi::db::dois::index_search(&tx, rowid, &doi, attributes.as_object())?;
        tinydoi::db::dois::touch_facets(&tx, rowid)?;
    }
    tx.execute("UPDATE doi_generation SET generation = generation + 1 WHERE id = 1", [])?;
    tx.commit()?;
    Ok(())
}

/// p50 and p99 in ms of `SAMPLES` requests of `path`, one at a time. With `write`, that
/// many DOIs are written (`write_dois`) before each request, unmeasured, so no result kept
/// from the one before can serve it as it is.
fn time(
    addr: std::net::SocketAddr,
    path: &str,
    write: Option<(&rusqlite::Connection, usize)>,
) -> anyhow::Result<(f64, f64)> {
    let request = load::request_head("GET", path, None, None);
    let (status, _) = load::fetch(addr, &request)?;
    anyhow::ensure!(status == 200, "GET {path}: {status}");
    let mut ms = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        if let Some((conn, count)) = write {
            write_dois(conn, i, count)?;
        }
        let start = Instant::now();
        load::fetch(addr, &request)?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((quantile(&ms, 0.5), quantile(&ms, 0.99)))
}

/// A `page[cursor]` just after the DOI `deep` rows from the newest findable one.
fn deep_cursor(conn: &rusqlite::Connection, deep: u64) -> anyhow::Result<String> {
    let (created, doi): (i64, String) = conn.query_row(
        "SELECT created, doi FROM dois WHERE state = 'findable' ORDER BY created DESC, doi DESC LIMIT 1 OFFSET ?1",
        [deep as i64],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created}:{doi}")))
}

/// Seeds to each of `sizes` in turn and prints one table row per request and size. With
/// `keep`, each size's database is kept there as `scale-{size}.db` and reused by later runs
/// (the load is then not measured again); the next size starts from a copy of the previous.
pub fn run(dir: &Path, sizes: &[u64], workers: usize, keep: Option<&Path>, only: Option<&str>) -> anyhow::Result<()> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, value: String| match rows.iter_mut().find(|(l, _)| l == label) {
        Some((_, v)) => v.push(value),
        None => rows.push((label.to_string(), vec![value])),
    };
    let write_line = if keep.is_some() {
        String::new()
    } else {
        let ((before, now), (size_before, size_now)) = write_cost(dir, 20_000)?;
        eprintln!("  scale: bulk load {before:.0} DOIs/s at the schema before, {now:.0} DOIs/s now");
        format!(
            "Write cost of migration 8 (same run, 20,000 DOIs in transactions of 10,000): {before:.0} DOIs/s at \
             the schema before, {now:.0} DOIs/s with the list indexes, counts and search index: {:.0} µs more per DOI; \
             {size_before:.0} bytes per DOI at the schema before, {size_now:.0} now ({:.2}×).\n",
            1e6 / now - 1e6 / before,
            size_now / size_before
        )
    };
    let base = keep.unwrap_or(dir);
    std::fs::create_dir_all(base)?;
    let mut previous: Option<(std::path::PathBuf, u64)> = None;
    for &size in sizes {
        let path = match keep {
            Some(k) => k.join(format!("scale-{size}.db")),
            None => dir.join("scale.db"),
        };
        let kept = keep.is_some() && path.exists();
        let have = if kept {
            size
        } else {
            match (&previous, keep) {
                (Some((from, n)), Some(_)) => {
                    std::fs::copy(from, &path)?;
                    *n
                }
                (Some((_, n)), None) => *n,
                (None, _) => {
                    let conn = tinydoi::db::open(&path)?;
                    accounts(&conn)?;
                    0
                }
            }
        };
        let conn = tinydoi::db::open(&path)?;
        if !kept {
            // Seeding is not measured by the request figures: a large page cache for the load.
            conn.pragma_update(None, "cache_size", -256 * 1024)?;
            let start = Instant::now();
            load_dois(&conn, have, size, true)?;
            let secs = start.elapsed().as_secs_f64();
            eprintln!("  scale: {size} DOIs, {} loaded in {secs:.1} s", size - have);
            row(
                "bulk load (DOIs/s, with search index and counts)",
                format!("{:.0}", (size - have) as f64 / secs),
            );
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        } else {
            let n: u64 = conn.query_row("SELECT COUNT(*) FROM dois", [], |r| r.get(0))?;
            anyhow::ensure!(n == size, "{} holds {n} DOIs, not {size}", path.display());
            eprintln!("  scale: {size} DOIs, reusing {}", path.display());
        }
        previous = Some((path.clone(), size));
        let bytes = std::fs::metadata(&path)?.len();
        row("database bytes per DOI", format!("{:.0}", bytes as f64 / size as f64));
        let deep = deep_cursor(&conn, (size * 8 / 10).saturating_sub(100))?;
        let server = Child::spawn(Kind::Tinydoi, &path, workers)?;
        let requests = [
            ("`GET /dois` page 1, anonymous, facets", "/dois".to_string()),
            (
                "`GET /dois?client-id=p3.c7` page 1, facets",
                "/dois?client-id=p3.c7".to_string(),
            ),
            (
                "`GET /dois?provider-id=p3&state=findable`",
                "/dois?provider-id=p3&state=findable".to_string(),
            ),
            (
                "`GET /dois?query=ocean glacier`",
                "/dois?query=ocean%20glacier".to_string(),
            ),
            (
                "`GET /dois?query=\"coral reef\" fenner`",
                "/dois?query=%22coral%20reef%22%20fenner".to_string(),
            ),
            (
                "`GET /dois?query=titles.title:permafrost&client-id=p1.c1`",
                "/dois?query=titles.title:permafrost&client-id=p1.c1".to_string(),
            ),
            (
                "`GET /dois?query={n}` (a word of one DOI)",
                format!("/dois?query={}", size / 2),
            ),
            (
                "`GET /dois?query=permafrost` (~20% of DOIs)",
                "/dois?query=permafrost".to_string(),
            ),
            (
                "`GET /dois?resource-type-id=dataset&published=2020` (facets counted)",
                "/dois?resource-type-id=dataset&published=2020".to_string(),
            ),
            (
                "`GET /dois?resource-type-id=dataset&disable-facets=true`",
                "/dois?resource-type-id=dataset&disable-facets=true".to_string(),
            ),
            (
                "`GET /dois?page[number]=400` (deepest lupo allows)",
                "/dois?page%5Bnumber%5D=400&disable-facets=true".to_string(),
            ),
            (
                "`page[cursor]=1` (first page, size 100)",
                "/dois?page%5Bcursor%5D=1&page%5Bsize%5D=100&disable-facets=true".to_string(),
            ),
            (
                "`page[cursor]=…` 80% deep (size 100)",
                format!("/dois?page%5Bcursor%5D={deep}&page%5Bsize%5D=100&disable-facets=true"),
            ),
        ];
        for (label, path) in requests.iter().filter(|(l, _)| only.is_none_or(|o| l.contains(o))) {
            let (p50, p99) = time(server.addr, path, None)?;
            eprintln!("  scale {size}: {label}: p50 {p50:.1} ms, p99 {p99:.1} ms");
            row(label, format!("{p50:.1} / {p99:.1}"));
            // Totals and facets doi_counts cannot answer are kept; after DOI writes, a
            // search's is brought forward from the DOIs written (up to 1,000), anything else's
            // computed again: measured after one write, and for searches after 1,000.
            if path.contains("query=") || path.contains("resource-type-id") {
                let (p50, p99) = time(server.addr, path, Some((&conn, 1)))?;
                let label1 = format!("{label}, after a write");
                eprintln!("  scale {size}: {label1}: p50 {p50:.1} ms, p99 {p99:.1} ms");
                row(&label1, format!("{p50:.1} / {p99:.1}"));
            }
            if path.contains("query=") {
                let (p50, p99) = time(server.addr, path, Some((&conn, 1_000)))?;
                let label1000 = format!("{label}, after 1,000 writes");
                eprintln!("  scale {size}: {label1000}: p50 {p50:.1} ms, p99 {p99:.1} ms");
                row(&label1000, format!("{p50:.1} / {p99:.1}"));
            }
        }
        server.stop();
        // What the server's migrations wrote goes into the file a next size copies.
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        drop(conn);
    }
    println!("## Scale (issue 21): p50 / p99 ms of {SAMPLES} requests one at a time\n");
    println!("{write_line}");
    let header: Vec<String> = sizes.iter().map(|s| format!("{s} DOIs")).collect();
    println!("| request | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(sizes.len()));
    for (label, values) in rows {
        println!("| {label} | {} |", values.join(" | "));
    }
    Ok(())
}
