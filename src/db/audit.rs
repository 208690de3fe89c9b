//! SQL for the security audit trail.

use rusqlite::{params, Connection};

#[derive(Debug, Clone, Default)]
pub struct Event {
    pub client: Option<String>,
    pub action: String,
    pub api_key_id: Option<String>,
    pub key_prefix: Option<String>,
    pub remote_addr: Option<String>,
}

impl Event {
    pub fn for_client(client: &str, action: &str) -> Event {
        Event {
            client: Some(client.to_string()),
            action: action.to_string(),
            ..Event::default()
        }
    }
}

pub fn record(conn: &Connection, e: &Event, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (client, action, api_key_id, key_prefix, remote_addr, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.client,
        e.action,
        e.api_key_id,
        e.key_prefix,
        e.remote_addr,
        now
    ])?;
    Ok(())
}
