//! The two counters the in-memory caches are checked against, read together: the
//! authentication generation (migration 7: raised by anything that changes what a key may
//! do or what a client is) and the DOI generation (migration 9: raised by every write of a
//! DOI or its media). Both live in one-row tables that triggers raise in the writing
//! transaction, so a change committed by any process — tinydoi, its CLI, the sqlite3 shell
//! — is seen by the next read.
//!
//! A request reads them at most once ([`Counters`]): the key cache and the cached reads
//! of DOIs both check against that one read, one statement and one read transaction
//! where there were two (issue 20).

use rusqlite::Connection;
use std::cell::OnceCell;

/// Both generations, as one read transaction saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generations {
    /// `auth_generation`: keys, their limits and expiry, clients.
    pub auth: i64,
    /// `doi_generation`: DOIs and their media.
    pub dois: i64,
}

/// Reads both generations in one statement.
pub fn generations(conn: &Connection) -> rusqlite::Result<Generations> {
    conn.prepare_cached(
        "SELECT a.generation, d.generation FROM auth_generation a, doi_generation d WHERE a.id = 1 AND d.id = 1",
    )?
    .query_row([], |r| {
        Ok(Generations {
            auth: r.get(0)?,
            dois: r.get(1)?,
        })
    })
}

/// The generations of one request: read on first use, then the same for the rest of it.
/// Read after the request arrived, so every write acknowledged before it was sent is
/// counted in them. Only for checking caches before the request writes anything: a
/// request's own write is not in what it read before.
#[derive(Debug, Default)]
pub struct Counters(OnceCell<Generations>);

impl Counters {
    /// The generations, read now if this request has not read them yet.
    pub fn get(&self, conn: &Connection) -> rusqlite::Result<Generations> {
        if let Some(g) = self.0.get() {
            return Ok(*g);
        }
        let read = generations(conn)?;
        Ok(*self.0.get_or_init(|| read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_once_per_request_and_raised_by_writes() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("t.db")).unwrap();
        let before = generations(&conn).unwrap();
        let counters = Counters::default();
        assert_eq!(counters.get(&conn).unwrap(), before);
        conn.execute_batch(
            "UPDATE auth_generation SET generation = generation + 1; \
             UPDATE doi_generation SET generation = generation + 2;",
        )
        .unwrap();
        // The request keeps what it read; the next request sees both changes.
        assert_eq!(counters.get(&conn).unwrap(), before);
        let after = Counters::default().get(&conn).unwrap();
        assert_eq!((after.auth, after.dois), (before.auth + 1, before.dois + 2));
    }
}
