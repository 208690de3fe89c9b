//! SQL for API keys.

use rusqlite::{Connection, OptionalExtension};

/// What authentication needs of a stored key.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub id: String,
    pub client: String,
    pub key_prefix: String,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
}

pub fn find_by_hash(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<KeyAuth>> {
    conn.prepare_cached("SELECT id, client, key_prefix, revoked_at, expires_at FROM api_keys WHERE key_hash = ?1")?
        .query_row([hash], |r| {
            Ok(KeyAuth {
                id: r.get(0)?,
                client: r.get(1)?,
                key_prefix: r.get(2)?,
                revoked_at: r.get(3)?,
                expires_at: r.get(4)?,
            })
        })
        .optional()
}
