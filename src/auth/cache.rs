//! Remembers recently verified passwords so repeated Basic requests skip PBKDF2.
//!
//! Entries are keyed by a peppered SHA-256 of username and password (the password itself is
//! never kept) and remember the stored hash they were verified against: once the account's
//! password changes, by this process or any other, the entry no longer matches.

use ring::digest::{Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Enough for every account of a small host; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

type CacheKey = [u8; 32];

pub struct VerifiedCache {
    pepper: [u8; 32],
    ttl: Duration,
    entries: Mutex<HashMap<CacheKey, (Vec<u8>, Instant)>>,
}

impl VerifiedCache {
    pub fn new(ttl: Duration) -> VerifiedCache {
        let mut pepper = [0u8; 32];
        // Without randomness the pepper stays zero: keys are then plain SHA-256 of
        // user and password, still never the password itself.
        let _ = SystemRandom::new().fill(&mut pepper);
        VerifiedCache {
            pepper,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, symbol: &str, password: &str) -> CacheKey {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&self.pepper);
        ctx.update(symbol.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.finish().as_ref());
        key
    }

    /// True when this password was verified against exactly `stored_hash` within the TTL.
    pub fn contains(&self, symbol: &str, password: &str, stored_hash: &[u8]) -> bool {
        let key = self.key(symbol, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&key) {
            Some((hash, at)) if at.elapsed() < self.ttl => constant_time_eq(hash, stored_hash),
            Some(_) => {
                entries.remove(&key);
                false
            }
            None => false,
        }
    }

    pub fn insert(&self, symbol: &str, password: &str, stored_hash: &[u8]) {
        let key = self.key(symbol, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (stored_hash.to_vec(), Instant::now()));
    }
}

/// Compares without an early exit, so timing does not tell how much of a secret matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_same_password_and_hash() {
        let cache = VerifiedCache::new(Duration::from_secs(60));
        cache.insert("DEMO.REPO", "pw", b"hash1");
        assert!(cache.contains("DEMO.REPO", "pw", b"hash1"));
        assert!(!cache.contains("DEMO.REPO", "pw2", b"hash1"));
        assert!(!cache.contains("DEMO.REPO", "pw", b"hash2"));
        assert!(!cache.contains("OTHER.REPO", "pw", b"hash1"));
    }

    #[test]
    fn expires() {
        let cache = VerifiedCache::new(Duration::ZERO);
        cache.insert("A.B", "pw", b"h");
        assert!(!cache.contains("A.B", "pw", b"h"));
    }
}
