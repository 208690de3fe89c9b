//! An in-memory copy of `doi_facets` per database file (what Elasticsearch keeps as doc
//! values): the facets and total of a search are summed by looking each match up in an
//! array indexed by rowid, instead of a B-tree seek and a row decode per match in SQLite
//! (about 0.7 µs a match: 140 ms for a word in 200,000 of a million DOIs).
//!
//! Never older than the reader's snapshot: every request reads the largest `gen` of
//! `doi_facets` in its own read transaction (an index's last entry) and first applies the
//! rows changed since the copy's (`gen >` the copy's, from the same snapshot); every
//! write raises `gen` in its transaction (`db::dois::index_facets`), whichever process
//! writes. A request whose snapshot is older than the copy (another worker brought it
//! further meanwhile) is answered from SQLite instead (`None`).
//!
//! Beside it, the results of searches (`Summed`: total, facets, matches and, for a full-text
//! search, the raw matches of its `MATCH` expressions and the `gen` they reflect), one per
//! search, 16 in all: served as they are at the DOI write generation they were summed at,
//! brought forward after writes by `db::dois::summed` (the DOIs of a later `gen` tested
//! again, the rest summed on the copy) and kept again.

use rusqlite::{Connection, Row};

use super::dois::Summed;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// What one DOI counts under; `state` -1: no DOI at this rowid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    pub state: i8,
    pub created: u16,
    pub registered: u16,
    /// `doi_facet_names` ids; 0: none.
    pub client: u32,
    pub prefix: u32,
    pub resource_type: u32,
    pub published: u32,
}

const NONE: Keys = Keys {
    state: -1,
    created: 0,
    registered: 0,
    client: 0,
    prefix: 0,
    resource_type: 0,
    published: 0,
};

/// The copy of one database's `doi_facets`, as of `gen`.
pub struct Values {
    /// The largest `gen` applied; -1: not loaded.
    gen: i64,
    /// By rowid.
    rows: Vec<Keys>,
    /// A rowid too large to keep was seen: the copy cannot answer.
    incomplete: bool,
}

impl Values {
    /// What DOI `rowid` counts under, `None` when there is no such DOI.
    pub fn get(&self, rowid: i64) -> Option<&Keys> {
        usize::try_from(rowid)
            .ok()
            .and_then(|i| self.rows.get(i))
            .filter(|k| k.state >= 0)
    }

    /// The largest `doi_facets` `gen` applied: the snapshot the copy stands for.
    pub fn gen(&self) -> i64 {
        self.gen
    }

    /// One past the largest rowid held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every DOI: its rowid and what it counts under.
    pub fn rows(&self) -> impl Iterator<Item = (i64, &Keys)> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, k)| k.state >= 0)
            .map(|(i, k)| (i as i64, k))
    }

    fn apply(&mut self, r: &Row) -> rusqlite::Result<()> {
        let Ok(id) = usize::try_from(r.get::<_, i64>(0)?) else {
            return Ok(());
        };
        // Rowids are dense from 1 in tinydoi's tables; a far one is not kept (its DOI
        // is then counted from SQLite: see `with_current`).
        if id > 1 << 28 {
            self.incomplete = true;
            return Ok(());
        }
        let small = |i: usize| -> rusqlite::Result<u32> {
            Ok(r.get::<_, Option<i64>>(i)?
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0))
        };
        let year = |i: usize| -> rusqlite::Result<u16> {
            Ok(r.get::<_, Option<i64>>(i)?
                .and_then(|v| u16::try_from(v).ok())
                .unwrap_or(0))
        };
        let keys = Keys {
            state: r.get::<_, i64>(1)?.clamp(-1, 2) as i8,
            client: small(2)?,
            prefix: small(3)?,
            created: year(4)?,
            registered: year(5)?,
            resource_type: small(6)?,
            published: small(7)?,
        };
        if id >= self.rows.len() {
            self.rows.resize(id + 1, NONE);
        }
        self.rows[id] = keys;
        Ok(())
    }
}

type Shared = Arc<RwLock<Values>>;

/// The copies, by database file.
static COPIES: Mutex<Vec<(PathBuf, Shared)>> = Mutex::new(Vec::new());

fn copy_of(path: PathBuf) -> Shared {
    let mut all = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, v)) = all.iter().find(|(p, _)| *p == path) {
        return v.clone();
    }
    let v = Arc::new(RwLock::new(Values {
        gen: -1,
        rows: Vec::new(),
        incomplete: false,
    }));
    all.push((path, v.clone()));
    v
}

/// Runs `f` on the copy of `conn`'s database as of `conn`'s snapshot (call it in a read
/// transaction), after bringing the copy up to it. `None` (`f` not run): no copy can
/// answer for this snapshot (an in-memory database, or the copy is already newer).
pub fn with_current<T>(conn: &Connection, f: impl FnOnce(&Values) -> T) -> rusqlite::Result<Option<T>> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let now: i64 = conn
        .prepare_cached("SELECT coalesce((SELECT max(gen) FROM doi_facets), 0)")?
        .query_row([], |r| r.get(0))?;
    let shared = copy_of(PathBuf::from(path));
    {
        let v = shared.read().unwrap_or_else(|e| e.into_inner());
        if v.incomplete {
            return Ok(None);
        }
        if v.gen == now {
            return Ok(Some(f(&v)));
        }
        if v.gen > now {
            return Ok(None);
        }
    }
    let mut v = shared.write().unwrap_or_else(|e| e.into_inner());
    if v.gen < now {
        let mut stmt = conn.prepare_cached(
            "SELECT id, state, client, prefix, created, registered, resource_type, published FROM doi_facets
             WHERE gen > ?1",
        )?;
        let mut rows = stmt.query([v.gen])?;
        let loading = v.gen < 0;
        while let Some(r) = rows.next()? {
            v.apply(r)?;
        }
        v.gen = now;
        if loading {
            log::info!("facet values of {path}: {} rowids in memory", v.rows.len());
        }
    }
    if v.gen != now || v.incomplete {
        return Ok(None);
    }
    Ok(Some(f(&v)))
}

/// Results of searches kept for the next request of the same search: (database file and
/// search, DOI write generation, result), at most one per search (the newest). Served as
/// they are only at that generation (`db::dois::generation`, raised in the transaction of
/// every DOI write by any process), so never older than the last acknowledged write; at a
/// later one, a search's result is brought forward from what changed since
/// (`db::dois::summed`). The most recently kept first.
type Kept = (String, i64, Arc<Summed>);
static RESULTS: Mutex<Vec<Kept>> = Mutex::new(Vec::new());
/// Searches kept (a million DOIs' matches take 125 KB; a search's raw matches as much again).
const KEPT: usize = 16;

/// The result of search `key` on `conn`'s database at `generation`, if kept.
pub fn result(conn: &Connection, key: &str, generation: i64) -> Option<Arc<Summed>> {
    latest(conn, key).filter(|(g, _)| *g == generation).map(|(_, s)| s)
}

/// The newest result kept of search `key` on `conn`'s database and its generation, whatever
/// that is.
pub fn latest(conn: &Connection, key: &str) -> Option<(i64, Arc<Summed>)> {
    let path = conn.path().filter(|p| !p.is_empty())?;
    let kept = RESULTS.lock().unwrap_or_else(|e| e.into_inner());
    kept.iter()
        .find(|(k, _, _)| k.strip_prefix(path).and_then(|k| k.strip_prefix('\u{0}')) == Some(key))
        .map(|(_, g, s)| (*g, s.clone()))
}

/// Keeps the result of search `key` on `conn`'s database at `generation`, unless one of a
/// later generation is kept already (a reader of an older snapshot finished last).
pub fn keep_result(conn: &Connection, key: String, generation: i64, summed: Arc<Summed>) {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else {
        return;
    };
    let full = format!("{path}\u{0}{key}");
    let mut kept = RESULTS.lock().unwrap_or_else(|e| e.into_inner());
    if kept.iter().any(|(k, g, _)| *k == full && *g > generation) {
        return;
    }
    // Older results of other searches stay: each can still be brought forward.
    kept.retain(|(k, _, _)| *k != full);
    kept.insert(0, (full, generation, summed));
    kept.truncate(KEPT);
}
