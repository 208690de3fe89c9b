//! SQL for web console sessions: stored by the SHA-256 of their token, never the token.

use rusqlite::{params, Connection, OptionalExtension};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Upper-case account symbol.
    pub account: String,
    pub created: i64,
    pub last_seen: i64,
}

pub fn insert(
    conn: &Connection,
    token_hash: &[u8],
    account: &str,
    remote_addr: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO console_sessions (token_hash, account, created, last_seen, remote_addr)
         VALUES (?1, ?2, ?3, ?3, ?4)",
    )?
    .execute(params![token_hash, account, now, remote_addr])?;
    Ok(())
}

pub fn get(conn: &Connection, token_hash: &[u8]) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached("SELECT account, created, last_seen FROM console_sessions WHERE token_hash = ?1")?
        .query_row(params![token_hash], |r| {
            Ok(Session {
                account: r.get(0)?,
                created: r.get(1)?,
                last_seen: r.get(2)?,
            })
        })
        .optional()
}

pub fn touch(conn: &Connection, token_hash: &[u8], now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE console_sessions SET last_seen = ?2 WHERE token_hash = ?1")?
        .execute(params![token_hash, now])?;
    Ok(())
}

pub fn delete(conn: &Connection, token_hash: &[u8]) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM console_sessions WHERE token_hash = ?1")?
        .execute(params![token_hash])?;
    Ok(n > 0)
}

/// Ends every session of `account` (its password changed); returns how many there were.
pub fn delete_account(conn: &Connection, account: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM console_sessions WHERE account = ?1")?
        .execute(params![account])
}

/// Forgets sessions idle since before `idle_before` or started before `started_before`.
pub fn purge(conn: &Connection, idle_before: i64, started_before: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM console_sessions WHERE last_seen < ?1 OR created < ?2")?
        .execute(params![idle_before, started_before])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_touch_delete_purge() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("t.db")).unwrap();
        insert(&conn, b"h1", "DEMO.REPO", Some("127.0.0.1"), 100).unwrap();
        insert(&conn, b"h2", "DEMO.REPO", None, 100).unwrap();
        insert(&conn, b"h3", "ADMIN", None, 500).unwrap();
        touch(&conn, b"h1", 150).unwrap();
        let s = get(&conn, b"h1").unwrap().unwrap();
        assert_eq!((s.account.as_str(), s.created, s.last_seen), ("DEMO.REPO", 100, 150));
        assert_eq!(purge(&conn, 120, 0).unwrap(), 1, "h2 idle since 100");
        assert_eq!(delete_account(&conn, "DEMO.REPO").unwrap(), 1);
        assert!(delete(&conn, b"h3").unwrap());
        assert_eq!(get(&conn, b"h3").unwrap(), None);
    }
}
