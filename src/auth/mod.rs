//! Authentication: turns the `Authorization` header into a `Principal` (CONTRACT §2).
//! Bad credentials are an error, never anonymous.

pub mod cache;
pub mod header;
pub mod password;
pub mod throttle;

use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::accounts::{role_of, Role};
use crate::db;
use crate::error::Error;
use crate::keys::format as key_format;
use cache::VerifiedCache;
use header::Claim;

/// How a client proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Password,
    ApiKey { id: String, key_prefix: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Staff,
    Provider {
        symbol: String,
    },
    Client {
        symbol: String,
        provider: String,
        is_active: bool,
        credential: Credential,
    },
}

impl Principal {
    /// The lower-case symbol for `X-Credential-Username`.
    pub fn username(&self) -> Option<String> {
        match self {
            Principal::Anonymous => None,
            Principal::Staff => Some("admin".into()),
            Principal::Provider { symbol } | Principal::Client { symbol, .. } => Some(symbol.to_ascii_lowercase()),
        }
    }

    pub fn is_authenticated(&self) -> bool {
        *self != Principal::Anonymous
    }

    /// The client symbol when the caller is a client (by password or key).
    pub fn client(&self) -> Option<&str> {
        match self {
            Principal::Client { symbol, .. } => Some(symbol),
            _ => None,
        }
    }

    pub fn is_api_key(&self) -> bool {
        matches!(
            self,
            Principal::Client {
                credential: Credential::ApiKey { .. },
                ..
            }
        )
    }

    /// Whether the caller may read what belongs to `client` (its own, its provider's, staff).
    pub fn may_read_client(&self, client: &str, client_provider: &str) -> bool {
        match self {
            Principal::Staff => true,
            Principal::Provider { symbol } => symbol == client_provider,
            Principal::Client { symbol, .. } => symbol == client,
            Principal::Anonymous => false,
        }
    }

    /// The credential to record on what this request changes: `password` or the key id.
    pub fn changed_by(&self) -> String {
        match self {
            Principal::Client {
                credential: Credential::ApiKey { id, .. },
                ..
            } => format!("apiKey:{id}"),
            Principal::Client { .. } => "password".into(),
            other => other.username().unwrap_or_default(),
        }
    }
}

/// Checks credentials; owns the verified-password cache.
pub struct Authenticator {
    cache: VerifiedCache,
    pbkdf2_runs: AtomicU64,
}

impl Authenticator {
    pub fn new(cache_ttl: Duration) -> Authenticator {
        Authenticator {
            cache: VerifiedCache::new(cache_ttl),
            pbkdf2_runs: AtomicU64::new(0),
        }
    }

    /// How many PBKDF2 verifications this process ran (the cache avoids most).
    pub fn pbkdf2_runs(&self) -> u64 {
        self.pbkdf2_runs.load(Ordering::Relaxed)
    }

    /// Forget cached verifications, e.g. after a password changed in this process.
    pub fn forget_passwords(&self) {
        self.cache.clear();
    }

    pub fn authenticate(&self, conn: &Connection, header: Option<&str>, now: i64) -> Result<Principal, Error> {
        match header::parse(header).map_err(|_| Error::BadCredentials)? {
            None => Ok(Principal::Anonymous),
            Some(Claim::Password { symbol, password }) => self.check_password(conn, &symbol, &password),
            Some(Claim::ApiKey { key, for_client }) => check_key(conn, &key, for_client.as_deref(), now),
        }
    }

    fn check_password(&self, conn: &Connection, symbol: &str, password: &str) -> Result<Principal, Error> {
        let role = role_of(symbol).ok_or(Error::BadCredentials)?;
        let account = db::accounts::find(conn, symbol, role)?.ok_or(Error::BadCredentials)?;
        let stored = account.password.as_ref().ok_or(Error::BadCredentials)?;
        if !self.cache.contains(symbol, password, &stored.hash) {
            self.pbkdf2_runs.fetch_add(1, Ordering::Relaxed);
            if !password::verify(password, stored) {
                return Err(Error::BadCredentials);
            }
            self.cache.insert(symbol, password, &stored.hash);
        }
        Ok(match role {
            Role::Staff => Principal::Staff,
            Role::Provider => Principal::Provider { symbol: account.symbol },
            Role::Client => Principal::Client {
                symbol: account.symbol,
                provider: account.provider.unwrap_or_default(),
                is_active: account.is_active,
                credential: Credential::Password,
            },
        })
    }
}

/// Checks a key offline (format and checksum), then by its SHA-256 in the database.
fn check_key(conn: &Connection, key: &str, for_client: Option<&str>, now: i64) -> Result<Principal, Error> {
    let key = key_format::parse(key).ok_or(Error::BadCredentials)?;
    let stored = db::keys::find_by_hash(conn, &key_format::hash(&key))?.ok_or(Error::BadCredentials)?;
    if stored.revoked_at.is_some() || stored.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::BadCredentials);
    }
    if for_client.is_some_and(|c| c != stored.client) {
        return Err(Error::BadCredentials);
    }
    let account = db::accounts::find(conn, &stored.client, Role::Client)?.ok_or(Error::BadCredentials)?;
    Ok(Principal::Client {
        symbol: account.symbol,
        provider: account.provider.unwrap_or_default(),
        is_active: account.is_active,
        credential: Credential::ApiKey {
            id: stored.id,
            key_prefix: stored.key_prefix,
        },
    })
}
