//! Preparing benchmark databases: the demo accounts, API keys (one, or a million in one
//! transaction), and the metadata document the writes send.
//!
//! Keys are inserted with SQL here, as `support::insert_key` does in the tests: the bench
//! needs a million of them in seconds, which no API offers.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

use tinydoi::config::DEFAULT_PBKDF2_ITERATIONS;
use tinydoi::keys::format::{display_prefix, generate, hash};

pub const CLIENT: &str = "DEMO.REPO";
pub const CLIENT_PASSWORD: &str = "demo-password";
pub const PREFIX: &str = "10.5072";

/// A scratch directory on the same file system as the system temp dir, removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("tinydoi-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch { dir })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new database at `path` with the demo accounts (passwords hashed with the real default
/// PBKDF2 iterations, so the password scenario relies on the verified-password cache).
pub fn database(path: &Path) -> anyhow::Result<tinydoi::db::Conn> {
    let conn = tinydoi::db::open(path)?;
    let demo = tinydoi::fixtures::parse(tinydoi::fixtures::DEMO)?;
    tinydoi::fixtures::load(&conn, &demo, DEFAULT_PBKDF2_ITERATIONS)?;
    Ok(conn)
}

/// Stores a new key for `client` and returns it.
pub fn insert_key(conn: &Connection, client: &str) -> anyhow::Result<String> {
    let key = generate()?;
    insert_key_row(conn, client, &key).map_err(|e| anyhow::anyhow!("insert key: {e}"))?;
    Ok(key)
}

fn insert_key_row(conn: &Connection, client: &str, key: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO api_keys (id, client, name, key_prefix, key_hash, created, updated)
         VALUES (?1, ?2, 'bench key', ?3, ?4, 0, 0)",
    )?
    .execute(rusqlite::params![
        uuid::Uuid::new_v4().to_string(),
        client,
        display_prefix(key),
        hash(key)
    ])?;
    Ok(())
}

/// Adds `count` keys in one transaction; `sample` keeps a uniform random sample of every
/// key added so far (reservoir sampling), for look-ups spread over the whole table.
pub fn bulk_keys(conn: &Connection, client: &str, count: u64, sample: &mut Reservoir) -> anyhow::Result<()> {
    // Seeding is not measured: a large page cache keeps random inserts into three indexes
    // from re-reading pages, and is set back before anything is timed.
    conn.pragma_update(None, "cache_size", -256 * 1024)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tx = conn.unchecked_transaction().map_err(|e| anyhow::anyhow!("{e}"))?;
    for _ in 0..count {
        let key = generate()?;
        insert_key_row(&tx, client, &key).map_err(|e| anyhow::anyhow!("insert key: {e}"))?;
        sample.offer(key);
    }
    tx.commit().map_err(|e| anyhow::anyhow!("{e}"))?;
    conn.pragma_update(None, "cache_size", -2000)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Algorithm R with a small xorshift generator (the sample needs no cryptographic quality).
pub struct Reservoir {
    pub items: Vec<String>,
    capacity: usize,
    seen: u64,
    state: u64,
}

impl Reservoir {
    pub fn new(capacity: usize) -> Reservoir {
        Reservoir {
            items: Vec::with_capacity(capacity),
            capacity,
            seen: 0,
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn offer(&mut self, item: String) {
        self.seen += 1;
        if self.items.len() < self.capacity {
            self.items.push(item);
            return;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let slot = self.state % self.seen;
        if (slot as usize) < self.capacity {
            self.items[slot as usize] = item;
        }
    }
}

/// The DataCite "full" kernel-4 example, with its identifier replaced per request.
pub struct Metadata {
    before: String,
    after: String,
}

const EXAMPLE: &str = include_str!("../../../fixtures/kernel-4/example/datacite-example-full-v4.xml");
const EXAMPLE_DOI: &str = "10.82433/B09Z-4K37";

impl Metadata {
    pub fn full_example() -> Metadata {
        let (before, after) = EXAMPLE.split_once(EXAMPLE_DOI).unwrap_or((EXAMPLE, ""));
        Metadata {
            before: before.to_string(),
            after: after.to_string(),
        }
    }

    pub fn len_for(&self, doi: &str) -> usize {
        self.before.len() + doi.len() + self.after.len()
    }

    pub fn write(&self, doi: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(self.before.as_bytes());
        out.extend_from_slice(doi.as_bytes());
        out.extend_from_slice(self.after.as_bytes());
    }

    pub fn for_doi(&self, doi: &str) -> String {
        format!("{}{doi}{}", self.before, self.after)
    }
}
