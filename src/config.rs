//! Server configuration: every tunable with its default, filled in by the CLI or by tests.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::ratelimit::RateLimitConfig;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DB: &str = "./tinydoi.db";
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;

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
    /// Request limits per caller (CONTRACT §9); `None` turns rate limiting off.
    pub rate_limit: Option<RateLimitConfig>,
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
            body_limit: 10 * 1024 * 1024,
            auth_cache_ttl: Duration::from_secs(300),
            rate_limit: Some(RateLimitConfig::default()),
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
