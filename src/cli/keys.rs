//! The `tinydoi key …` operator commands: create, list and revoke keys without the HTTP API.

use anyhow::Context;

use super::KeyCommand;
use crate::accounts::check_client_symbol;
use crate::db::{self, keys::Scope, Conn};
use crate::keys::manage;
use crate::time::{now, rfc3339};

/// Runs one command and returns what to print on standard output. `create` prints only
/// the key there (so `KEY=$(tinydoi key create …)` works) and its details on standard error.
pub fn run(conn: &Conn, command: KeyCommand) -> anyhow::Result<String> {
    let t = now();
    match command {
        KeyCommand::Create {
            client,
            name,
            expires_in,
            scopes,
            prefixes,
            allowed_networks,
        } => {
            let client = check_client_symbol(&client)?;
            let expires_at = match expires_in {
                None => None,
                Some(d) => {
                    let d = humantime::parse_duration(d.trim())
                        .with_context(|| format!("--expires-in '{d}' is not a duration such as 90d"))?;
                    Some(t.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
                }
            };
            let requested = manage::Requested {
                scopes,
                prefixes,
                allowed_networks,
            };
            let (row, key) = manage::create(
                conn,
                &client,
                &name,
                expires_at,
                &requested,
                &manage::Origin::default(),
                t,
            )?;
            eprintln!(
                "created key {} ({}) for {}{}, {}; it is shown only this once:",
                row.id,
                row.key_prefix,
                row.client,
                row.expires_at
                    .map(|at| format!(", expires {}", rfc3339(at)))
                    .unwrap_or_default(),
                describe_limits(&row.limits)
            );
            Ok(key)
        }
        KeyCommand::List { client } => {
            let client = check_client_symbol(&client)?;
            let keys = db::keys::list(conn, &Scope::Client(client.clone()), true, t)?;
            if keys.is_empty() {
                return Ok(format!("{client} has no keys"));
            }
            let lines: Vec<String> = keys.iter().map(|k| key_line(k, t)).collect();
            Ok(lines.join("\n"))
        }
        KeyCommand::Revoke { id } => {
            let row = manage::revoke(conn, &Scope::All, id.trim(), &manage::Origin::default(), t)
                .with_context(|| format!("key {}", id.trim()))?;
            Ok(format!("key {} ({}) of {} revoked", row.id, row.key_prefix, row.client))
        }
    }
}

/// One key in `key list`: id, display prefix, times, state, name.
fn key_line(k: &db::keys::KeyRow, t: i64) -> String {
    let state = match (k.revoked_at, k.expires_at) {
        (Some(at), _) => format!("revoked {}", rfc3339(at)),
        (None, Some(at)) if at <= t => format!("expired {}", rfc3339(at)),
        (None, Some(at)) => format!("active, expires {}", rfc3339(at)),
        (None, None) => "active".to_string(),
    };
    let used = k
        .last_used_at
        .map_or("never used".to_string(), |at| format!("used {}", rfc3339(at)));
    format!(
        "{}  {}  created {}  {}  {}  {}  {}",
        k.id,
        k.key_prefix,
        rfc3339(k.created),
        used,
        state,
        describe_limits(&k.limits),
        k.name
    )
}

/// `scopes=… prefixes=… networks=…` for the operator; `all` where the key has no limit.
fn describe_limits(limits: &crate::limits::Limits) -> String {
    let or_all = |list: Option<Vec<String>>| list.map_or("all".to_string(), |l| l.join(","));
    let scopes: Vec<&str> = limits.effective_scopes().iter().map(|s| s.name()).collect();
    let networks = limits
        .networks
        .as_ref()
        .map(|n| n.iter().map(ToString::to_string).collect());
    format!(
        "scopes={} prefixes={} networks={}",
        scopes.join(","),
        or_all(limits.prefixes.clone()),
        or_all(networks)
    )
}
