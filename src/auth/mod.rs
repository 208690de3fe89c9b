//! Authentication: turns the `Authorization` header into a `Principal` (CONTRACT §2).
//! Bad credentials are an error, never anonymous.

pub mod cache;
pub mod header;
pub mod keycache;
pub mod password;
pub mod throttle;

use rusqlite::Connection;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::accounts::{role_of, Role};
use crate::db;
use crate::error::Error;
use crate::keys::format as key_format;
use crate::keys::recorder::Recorder;
use crate::limits::{Limits, Scope};
use cache::VerifiedCache;
use header::Claim;
use keycache::KeyCache;

/// How a client proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Password,
    ApiKey {
        id: String,
        key_prefix: String,
        /// What the key may do, when less than its client (issue 19); `None` = unlimited.
        limits: Option<Arc<Limits>>,
    },
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

    /// The limits of the API key the caller used, if it has any.
    pub fn key_limits(&self) -> Option<&Limits> {
        match self {
            Principal::Client {
                credential: Credential::ApiKey { limits, .. },
                ..
            } => limits.as_deref(),
            _ => None,
        }
    }

    /// 403 naming `scope` when the caller's API key lacks it; passwords (and anonymous
    /// callers, whom the route refuses its own way) have every scope.
    pub fn require(&self, scope: Scope) -> Result<(), Error> {
        match self.key_limits() {
            Some(limits) if !limits.allows(scope) => {
                Err(Error::Forbidden(Some(format!("This API key lacks the scope {scope}."))))
            }
            _ => Ok(()),
        }
    }

    /// Whether the caller's API key (if limited to some prefixes) may touch DOIs of `prefix`.
    pub fn may_use_prefix(&self, prefix: &str) -> bool {
        self.key_limits().is_none_or(|l| l.allows_prefix(prefix))
    }

    /// 403 naming `prefix` when the caller's API key is limited to other prefixes.
    pub fn require_prefix(&self, prefix: &str) -> Result<(), Error> {
        if self.may_use_prefix(prefix) {
            return Ok(());
        }
        Err(Error::Forbidden(Some(format!(
            "This API key lacks the prefix {prefix}."
        ))))
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
    /// Limits of limited keys by key id: they never change after creation, and parsing
    /// them (CIDR networks above all) would cost more than the rest of a key check.
    limits: Mutex<HashMap<String, Arc<Limits>>>,
    /// Verified keys, trusted only while the database's authentication generation holds.
    keys: KeyCache,
    pbkdf2_runs: AtomicU64,
    key_lookups: AtomicU64,
    key_cache_hits: AtomicU64,
}

/// Where a request came from and where to note what its credentials did: failed attempts
/// and expired-key uses become audit events, key uses `lastUsedAt`.
pub struct Attempt<'a> {
    pub remote_addr: Option<IpAddr>,
    pub recorder: &'a Recorder,
}

/// Limited keys whose limits are cached at most; past it the cache starts again.
const MAX_CACHED_LIMITS: usize = 10_000;

impl Attempt<'_> {
    /// Records `action`; `key` with its limits when the event is about a key.
    fn audit(&self, client: &str, action: &str, key: Option<(&db::keys::KeyAuth, &Limits)>, now: i64) {
        let event = db::audit::Event {
            client: Some(client.to_string()),
            action: action.to_string(),
            api_key_id: key.map(|(k, _)| k.id.clone()),
            key_prefix: key.map(|(k, _)| k.key_prefix.clone()),
            remote_addr: self.remote_addr.map(|a| a.to_string()),
            limits: key.map(|(_, l)| l.clone()),
            actor: None,
        };
        self.recorder.audit(event, now);
    }
}

impl Authenticator {
    pub fn new(cache_ttl: Duration) -> Authenticator {
        Authenticator {
            cache: VerifiedCache::new(cache_ttl),
            limits: Mutex::new(HashMap::new()),
            keys: KeyCache::default(),
            pbkdf2_runs: AtomicU64::new(0),
            key_lookups: AtomicU64::new(0),
            key_cache_hits: AtomicU64::new(0),
        }
    }

    /// How many PBKDF2 verifications this process ran (the cache avoids most).
    pub fn pbkdf2_runs(&self) -> u64 {
        self.pbkdf2_runs.load(Ordering::Relaxed)
    }

    /// How many keys this process looked up, in its cache or the database (a malformed
    /// key never is).
    pub fn key_lookups(&self) -> u64 {
        self.key_lookups.load(Ordering::Relaxed)
    }

    /// How many of those the verified-key cache answered.
    pub fn key_cache_hits(&self) -> u64 {
        self.key_cache_hits.load(Ordering::Relaxed)
    }

    pub fn authenticate(
        &self,
        conn: &Connection,
        header: Option<&str>,
        now: i64,
        attempt: &Attempt,
    ) -> Result<Principal, Error> {
        let counters = db::generations::Counters::default();
        self.authenticate_claim(conn, &counters, header::parse(header), now, attempt)
    }

    /// [`authenticate`](Self::authenticate) of a header already parsed (the throttle
    /// parses it once for both), checking cached keys against the request's `counters`.
    pub fn authenticate_claim(
        &self,
        conn: &Connection,
        counters: &db::generations::Counters,
        claim: Result<Option<Claim>, header::Malformed>,
        now: i64,
        attempt: &Attempt,
    ) -> Result<Principal, Error> {
        match claim.map_err(|_| Error::BadCredentials)? {
            None => Ok(Principal::Anonymous),
            Some(Claim::Password { symbol, password }) => self.password(conn, &symbol, &password, now, attempt),
            Some(Claim::ApiKey { key, for_client }) => {
                self.check_key(conn, counters, &key, for_client.as_deref(), now, attempt)
            }
        }
    }

    /// Checks an account's password (upper-case `symbol`); a failure of a known client is
    /// an `auth.failed` audit event. The web console's sign-in uses it too.
    pub fn password(
        &self,
        conn: &Connection,
        symbol: &str,
        password: &str,
        now: i64,
        attempt: &Attempt,
    ) -> Result<Principal, Error> {
        let result = self.check_password(conn, symbol, password);
        if matches!(result, Err(Error::BadCredentials)) && role_of(symbol) == Some(Role::Client) {
            // Only known clients: unknown names would let anyone fill the table.
            if is_client(conn, symbol) {
                attempt.audit(symbol, "auth.failed", None, now);
            }
        }
        result
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
        Ok(signed_in(account))
    }

    /// Checks a key offline (format and checksum), then by its SHA-256: in the verified-key
    /// cache when nothing that changes keys was committed since it was read there
    /// (`keycache`), in the database otherwise.
    fn check_key(
        &self,
        conn: &Connection,
        counters: &db::generations::Counters,
        key: &str,
        for_client: Option<&str>,
        now: i64,
        attempt: &Attempt,
    ) -> Result<Principal, Error> {
        let failed = |client: &str, key: Option<(&db::keys::KeyAuth, &Limits)>| {
            attempt.audit(client, "auth.failed", key, now);
            Err(Error::BadCredentials)
        };
        let key = key_format::parse(key).ok_or(Error::BadCredentials)?;
        self.key_lookups.fetch_add(1, Ordering::Relaxed);
        let hash = key_format::hash(&key);
        let Ok(cache_key) = <[u8; 32]>::try_from(hash.as_slice()) else {
            return Err(Error::Internal("a key hash is not 32 bytes".into()));
        };
        // Read before the key: a change committed after it makes the entry stale at once.
        let generation = counters.get(conn)?.auth;
        if let Some(verified) = self.keys.get(&cache_key, generation) {
            self.key_cache_hits.fetch_add(1, Ordering::Relaxed);
            return self.accept(conn, &verified, for_client, now, attempt);
        }
        let Some(stored) = db::keys::find_by_hash(conn, &hash)? else {
            return match for_client {
                Some(client) if is_client(conn, client) => failed(client, None),
                _ => Err(Error::BadCredentials),
            };
        };
        if let Some(client) = for_client.filter(|c| *c != stored.client) {
            // Another client's key as this client's password: the other key id stays private.
            return if is_client(conn, client) {
                failed(client, None)
            } else {
                Err(Error::BadCredentials)
            };
        }
        let limits = self.limits_of(conn, &stored)?;
        if stored.revoked_at.is_some() {
            let unlimited = Limits::default();
            return failed(&stored.client, Some((&stored, limits.as_deref().unwrap_or(&unlimited))));
        }
        let account = db::accounts::find(conn, &stored.client, Role::Client)?.ok_or(Error::BadCredentials)?;
        let verified = Arc::new(keycache::Verified {
            stored,
            limits,
            symbol: account.symbol,
            provider: account.provider.unwrap_or_default(),
            is_active: account.is_active,
        });
        self.keys.insert(cache_key, generation, verified.clone());
        self.accept(conn, &verified, for_client, now, attempt)
    }

    /// What is checked at every use of a key that was valid when read: the client it was
    /// sent for, its expiry (time passes without a commit), the caller's network.
    fn accept(
        &self,
        conn: &Connection,
        verified: &keycache::Verified,
        for_client: Option<&str>,
        now: i64,
        attempt: &Attempt,
    ) -> Result<Principal, Error> {
        let stored = &verified.stored;
        if let Some(client) = for_client.filter(|c| *c != stored.client) {
            // Another client's key as this client's password: the other key id stays private.
            if is_client(conn, client) {
                attempt.audit(client, "auth.failed", None, now);
            }
            return Err(Error::BadCredentials);
        }
        let unlimited = Limits::default();
        let with_limits = Some((stored, verified.limits.as_deref().unwrap_or(&unlimited)));
        if stored.expires_at.is_some_and(|at| at <= now) {
            attempt.audit(&stored.client, "key.expired_use", with_limits, now);
            return Err(Error::BadCredentials);
        }
        if verified
            .limits
            .as_ref()
            .is_some_and(|l| !l.allows_address(attempt.remote_addr))
        {
            attempt.audit(&stored.client, "key.network_refused", with_limits, now);
            return Err(Error::BadCredentials);
        }
        attempt.recorder.key_used(&stored.id, now);
        Ok(Principal::Client {
            symbol: verified.symbol.clone(),
            provider: verified.provider.clone(),
            is_active: verified.is_active,
            credential: Credential::ApiKey {
                id: stored.id.clone(),
                key_prefix: stored.key_prefix.clone(),
                limits: verified.limits.clone(),
            },
        })
    }
}

impl Authenticator {
    /// The limits of a limited key, from the cache or the database; `None` for the rest.
    fn limits_of(&self, conn: &Connection, key: &db::keys::KeyAuth) -> Result<Option<Arc<Limits>>, Error> {
        if !key.limited {
            return Ok(None);
        }
        if let Some(limits) = self.limits.lock().unwrap_or_else(|e| e.into_inner()).get(&key.id) {
            return Ok(Some(limits.clone()));
        }
        let limits = Arc::new(db::keys::limits(conn, &key.id)?);
        let mut cache = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_LIMITS {
            cache.clear();
        }
        cache.insert(key.id.clone(), limits.clone());
        Ok(Some(limits))
    }
}

/// The principal of an account that proved its password (by header or console session).
pub fn signed_in(account: db::accounts::Account) -> Principal {
    match account.role {
        Role::Staff => Principal::Staff,
        Role::Provider => Principal::Provider { symbol: account.symbol },
        Role::Client => Principal::Client {
            symbol: account.symbol,
            provider: account.provider.unwrap_or_default(),
            is_active: account.is_active,
            credential: Credential::Password,
        },
    }
}

/// Whether a failed attempt names a known client (and so deserves an audit event); a
/// database error only costs the event, never the request.
fn is_client(conn: &Connection, symbol: &str) -> bool {
    matches!(db::accounts::find(conn, symbol, Role::Client), Ok(Some(_)))
}
