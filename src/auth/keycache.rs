//! Verified API keys, remembered with the authentication generation they were read at, so a
//! request with a key seen before costs one small read instead of the key and client look-ups.
//!
//! Never trusted past a change: the generation (schema.sql, migration 7) is raised by
//! triggers in the very transaction that revokes a key, changes its expiry or limits, or
//! changes or deletes its client, and every request reads it afresh before using an entry.
//! A revocation acknowledged to its caller is therefore seen by every request that starts
//! after it. Entries are keyed by the key's SHA-256 (what the database stores), never the key.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::db::keys::KeyAuth;
use crate::limits::Limits;

/// Enough for every key in use on a small host; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// What authentication found for a key that was valid when read.
#[derive(Debug, Clone)]
pub struct Verified {
    pub stored: KeyAuth,
    pub limits: Option<Arc<Limits>>,
    pub symbol: String,
    pub provider: String,
    pub is_active: bool,
}

/// A key's SHA-256 → the generation it was read at and what was found.
type Entries = HashMap<[u8; 32], (i64, Arc<Verified>)>;

#[derive(Default)]
pub struct KeyCache {
    // Read at every request by key, written when a key is verified: readers share the lock.
    entries: RwLock<Entries>,
}

impl KeyCache {
    /// The entry for the key with SHA-256 `hash`, if it was read at `generation`.
    pub fn get(&self, hash: &[u8; 32], generation: i64) -> Option<Arc<Verified>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(hash) {
            Some((at, verified)) if *at == generation => Some(verified.clone()),
            _ => None,
        }
    }

    /// Remembers `verified`, read at `generation` (read before the key itself was).
    pub fn insert(&self, hash: [u8; 32], generation: i64, verified: Arc<Verified>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash, (generation, verified));
    }
}
