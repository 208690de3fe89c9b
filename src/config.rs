//! Server configuration: every tunable with its default, filled in by the CLI or by tests.

use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DB: &str = "./tinydoi.db";
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Leaked-key reports (`POST /credentials/api-keys/revoke-leaked`) per address per 5 minutes.
pub const DEFAULT_LEAK_REPORTS: u32 = 30;
/// Request line and headers together: no DataCite client sends more than a few KiB, and
/// nginx's default buffers hold 32 KiB.
pub const DEFAULT_HEAD_LIMIT: usize = 32 * 1024;
/// Connections served at once (a thread and two descriptors each): keep `ulimit -n` above
/// twice this plus a margin.
/// Default of `--read-cache-mb`.
pub const DEFAULT_READ_CACHE_MB: usize = 64;
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub db_path: PathBuf,
    pub workers: usize,
    /// A fixtures file loaded at every start (idempotent).
    pub fixtures: Option<PathBuf>,
    /// Seed the built-in demo fixtures into a new database when no `fixtures` is given.
    pub seed_demo: bool,
    pub pbkdf2_iterations: u32,
    pub body_limit: usize,
    pub auth_cache_ttl: Duration,
    /// Bytes of rendered `GET /dois/{doi}` documents kept in memory (`dois::rendered`); 0: none.
    pub read_cache_bytes: usize,
    /// Back-off after failed authentications (per username and address, and per address).
    pub auth_throttle: ThrottlePolicy,
    /// A connection that sends nothing (or takes no reply) for this long is closed,
    /// idle keep-alive connections included.
    pub idle_timeout: Duration,
    /// Longest time to receive one request body.
    pub body_timeout: Duration,
    /// Largest request line and headers together, in bytes (larger: 431).
    pub head_limit: usize,
    /// Longest time to receive a request line and its headers (longer: 408).
    pub header_timeout: Duration,
    /// Most connections served at once (more: 503 at once).
    pub max_connections: usize,
    /// Request limits per caller (CONTRACT §9); `None` turns rate limiting off.
    pub rate_limit: Option<RateLimitConfig>,
    /// Leaked-key reports accepted per address per 5 minutes (each names up to 100 keys).
    pub leak_reports: u32,
    /// GitHub's secret scanning public keys (its key-list JSON), which turn on
    /// `POST /credentials/secret-scanning`; read at every message, so the operator can
    /// replace the file when GitHub rotates its keys.
    pub secret_scanning_keys: Option<PathBuf>,
    pub console: ConsoleConfig,
}

/// The web console's sessions.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Browsers come over HTTPS: the session cookie is `Secure`, form origins `https://`.
    pub https: bool,
    /// A session unused this long is over.
    pub idle: Duration,
    /// A session this old is over, however busy.
    pub lifetime: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> ConsoleConfig {
        ConsoleConfig {
            https: false,
            idle: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: DEFAULT_LISTEN.into(),
            db_path: PathBuf::from(DEFAULT_DB),
            workers: default_workers(),
            fixtures: None,
            seed_demo: true,
            pbkdf2_iterations: DEFAULT_PBKDF2_ITERATIONS,
            body_limit: DEFAULT_BODY_LIMIT,
            auth_cache_ttl: Duration::from_secs(300),
            read_cache_bytes: DEFAULT_READ_CACHE_MB << 20,
            auth_throttle: ThrottlePolicy::default(),
            idle_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(60),
            head_limit: DEFAULT_HEAD_LIMIT,
            header_timeout: Duration::from_secs(20),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            rate_limit: Some(RateLimitConfig::default()),
            leak_reports: DEFAULT_LEAK_REPORTS,
            secret_scanning_keys: None,
            console: ConsoleConfig::default(),
        }
    }
}

impl Config {
    /// The HTTP layer's limits on every request and connection.
    pub fn http_limits(&self) -> crate::http::Limits {
        crate::http::Limits {
            body_bytes: self.body_limit,
            head_bytes: self.head_limit,
            connections: self.max_connections,
            idle: self.idle_timeout,
            head: self.header_timeout,
            body: self.body_timeout,
        }
    }
}

/// Enough threads to keep both cores busy while some wait on SQLite's fsync.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 4)
        .unwrap_or(8)
        .clamp(4, 32)
}

/// How many failures engage the back-off, and how long it lasts.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures of one username from one address within `window` before back-off starts.
    pub user_failures: u32,
    /// Failures from one address (any username, malformed headers, bad keys) within `window`.
    pub ip_failures: u32,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// The first block; each further failure doubles it, up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Keys tracked per map; past it the stalest are dropped.
    pub max_entries: usize,
    /// The clock (Unix seconds); tests swap it for a fake one.
    pub clock: fn() -> i64,
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            user_failures: 10,
            ip_failures: 100,
            window: Duration::from_secs(300),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(900),
            max_entries: 100_000,
            clock: crate::time::now,
        }
    }
}

pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(300);
pub const DEFAULT_AUTHENTICATED: u32 = 3000;
pub const DEFAULT_IDENTIFIED: u32 = 1000;
pub const DEFAULT_ANONYMOUS: u32 = 500;

/// Request limits per caller and window (CONTRACT §9), enforced by `ratelimit`.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    pub window: Duration,
    pub authenticated: u32,
    pub identified: u32,
    pub anonymous: u32,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            window: DEFAULT_RATE_WINDOW,
            authenticated: DEFAULT_AUTHENTICATED,
            identified: DEFAULT_IDENTIFIED,
            anonymous: DEFAULT_ANONYMOUS,
        }
    }
}
