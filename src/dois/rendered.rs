//! Rendered reads of single DOIs (issue 20): the JSON:API document `GET /dois/{doi}`
//! answers, kept in memory under the DOI's revision (migration 9), so that reading an
//! unchanged DOI again serves the bytes built before instead of reading the whole row and
//! building them anew.
//!
//! Why it can never serve a DOI older than the last acknowledged write: every request
//! takes the DOI's [`Stamp`] as the database has it when the request is served (read from
//! it, or kept as below), and a cached body is served only when it was built from that
//! very revision (and the same provider of the client). Every write of a DOI or its media
//! gives it a revision no earlier state had, in the write's own transaction (triggers give
//! one to a write that sets none), so a write committed before the request — by this
//! process or any other — is always seen.
//!
//! The stamp itself is kept too, with the [`Generations`] it was read at: a request that
//! reads the same generations (one statement it needs for its key anyway) takes the kept
//! stamp instead of reading the DOI's. A write of any DOI or its media raises the DOI
//! generation, a change of a client (its provider) the authentication one, both in the
//! writing transaction, so no kept stamp outlives a committed change; a request that reads
//! other generations reads the stamp from the database, as before. Stamps of DOIs whose
//! client has no row (only a hand edit makes one) are never kept: adding that client
//! raises no generation.
//!
//! Memory is bounded: the bodies held add up to at most the configured bytes
//! (`--read-cache-mb`), split over shards, each under a read-write lock, so that workers
//! rarely wait on each other; a full shard drops entries in no particular order. Stamps
//! are bounded by count. A capacity of 0 turns the cache off.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, RwLock};

/// Shards: a worker holds one shard's lock for a look-up or an insert only.
const SHARDS: usize = 16;

use super::resource::View;
use crate::db::dois::Stamp;
use crate::db::generations::Generations;

/// Stamps kept per shard at most; past it the shard's stamps start over.
const STAMPS_PER_SHARD: usize = 4096;

/// The character that starts a key: which `View` the body was rendered with.
fn tag(v: View) -> char {
    (b'0' + v.publisher as u8 + 2 * v.affiliation as u8 + 4 * v.detail as u8 + 8 * v.for_owner as u8) as char
}

struct Entry {
    revision: i64,
    provider: Option<String>,
    body: Arc<[u8]>,
}

#[derive(Default)]
struct Shard {
    /// Key: the variant's tag, then the lower-case DOI.
    map: HashMap<String, Entry>,
    bytes: usize,
    /// Key: the lower-case DOI.
    stamps: HashMap<String, (Generations, Arc<Stamp>)>,
}

pub struct Rendered {
    shards: Vec<RwLock<Shard>>,
    hasher: std::collections::hash_map::RandomState,
    shard_capacity: usize,
}

/// A cache key, built once per request.
pub struct Key(String);

impl Key {
    /// The key of `doi` (any case) rendered with `view`.
    pub fn new(doi: &str, view: View) -> Key {
        let mut k = String::with_capacity(doi.len() + 1);
        k.push(tag(view));
        k.extend(doi.chars().map(|c| c.to_ascii_lowercase()));
        Key(k)
    }
}

impl Rendered {
    /// Whether anything is ever kept.
    pub fn enabled(&self) -> bool {
        self.shard_capacity > 0
    }

    /// A cache holding at most `capacity` bytes of bodies (0: off).
    pub fn new(capacity: usize) -> Rendered {
        Rendered {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: Default::default(),
            shard_capacity: capacity / SHARDS,
        }
    }

    fn shard(&self, key: &Key) -> &RwLock<Shard> {
        &self.shards[self.hasher.hash_one(&key.0) as usize % SHARDS]
    }

    /// The body rendered from `revision` with `provider` as the client's provider, if held.
    pub fn get(&self, key: &Key, revision: i64, provider: Option<&str>) -> Option<Arc<[u8]>> {
        if self.shard_capacity == 0 {
            return None;
        }
        // A poisoned lock only means another worker panicked while holding it; the map
        // itself is always consistent between statements.
        // Shared: the workers reading one popular DOI do not queue behind each other.
        let shard = self.shard(key).read().unwrap_or_else(PoisonError::into_inner);
        let e = shard.map.get(&key.0)?;
        (e.revision == revision && e.provider.as_deref() == provider).then(|| e.body.clone())
    }

    /// Keeps `body`, rendered from `revision` with `provider`, unless a later revision is held.
    pub fn put(&self, key: Key, revision: i64, provider: Option<String>, body: Arc<[u8]>) {
        if self.shard_capacity == 0 || body.len() > self.shard_capacity {
            return;
        }
        let mut shard = self.shard(&key).write().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.map.get(&key.0) {
            // Revisions only grow: a slower request that rendered an older one loses.
            if old.revision > revision {
                return;
            }
        }
        let key_len = key.0.len();
        let size = body.len() + key_len;
        if let Some(old) = shard.map.insert(
            key.0,
            Entry {
                revision,
                provider,
                body,
            },
        ) {
            shard.bytes -= old.body.len() + key_len;
        }
        shard.bytes += size;
        while shard.bytes > self.shard_capacity {
            let Some(victim) = shard.map.keys().next().cloned() else {
                break;
            };
            if let Some(old) = shard.map.remove(&victim) {
                shard.bytes -= old.body.len() + victim.len();
            }
        }
    }

    fn stamp_shard(&self, doi: &str) -> &RwLock<Shard> {
        &self.shards[self.hasher.hash_one(doi) as usize % SHARDS]
    }

    /// The stamp of `doi` (lower-case) kept when the generations were `at`, if any.
    pub fn stamp(&self, doi: &str, at: Generations) -> Option<Arc<Stamp>> {
        if self.shard_capacity == 0 {
            return None;
        }
        let shard = self.stamp_shard(doi).read().unwrap_or_else(PoisonError::into_inner);
        match shard.stamps.get(doi) {
            Some((kept_at, stamp)) if *kept_at == at => Some(stamp.clone()),
            _ => None,
        }
    }

    /// Keeps `stamp` of `doi` (lower-case), read after generations `at` were.
    pub fn keep_stamp(&self, doi: &str, at: Generations, stamp: Arc<Stamp>) {
        if self.shard_capacity == 0 || stamp.provider.is_none() {
            return;
        }
        let mut shard = self.stamp_shard(doi).write().unwrap_or_else(PoisonError::into_inner);
        if shard.stamps.len() >= STAMPS_PER_SHARD && !shard.stamps.contains_key(doi) {
            shard.stamps.clear();
        }
        shard.stamps.insert(doi.to_string(), (at, stamp));
    }

    /// Bytes of bodies and keys held (for tests and the bench).
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).bytes)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: View = View {
        publisher: false,
        affiliation: false,
        detail: true,
        for_owner: false,
    };

    fn body(s: &str) -> Arc<[u8]> {
        Arc::from(s.as_bytes())
    }

    #[test]
    fn serves_only_the_revision_and_provider_it_was_built_from() {
        let c = Rendered::new(1 << 20);
        c.put(Key::new("10.5072/A", PLAIN), 7, Some("P".into()), body("seven"));
        let k = Key::new("10.5072/a", PLAIN);
        assert_eq!(c.get(&k, 7, Some("P")).as_deref(), Some(&b"seven"[..]));
        assert_eq!(c.get(&k, 8, Some("P")), None, "a later revision is a miss");
        assert_eq!(c.get(&k, 7, Some("Q")), None, "the client moved to another provider");
        let owner = View {
            for_owner: true,
            ..PLAIN
        };
        assert_eq!(c.get(&Key::new("10.5072/a", owner), 7, Some("P")), None, "another view");
        // An older rendering arriving late does not replace a newer one.
        c.put(Key::new("10.5072/a", PLAIN), 9, Some("P".into()), body("nine"));
        c.put(Key::new("10.5072/a", PLAIN), 8, Some("P".into()), body("eight"));
        assert_eq!(c.get(&k, 9, Some("P")).as_deref(), Some(&b"nine"[..]));
        assert_eq!(c.bytes(), "nine".len() + k.0.len());
    }

    #[test]
    fn stamps_are_served_only_at_the_generations_they_were_kept_at() {
        let c = Rendered::new(1 << 20);
        let stamp = |provider: Option<&str>| {
            Arc::new(Stamp {
                revision: 3,
                state: crate::dois::State::Findable,
                client: "P.C".into(),
                prefix: "10.5072".into(),
                provider: provider.map(Into::into),
            })
        };
        let at = Generations { auth: 1, dois: 5 };
        c.keep_stamp("10.5072/a", at, stamp(Some("P")));
        assert_eq!(c.stamp("10.5072/a", at), Some(stamp(Some("P"))));
        assert_eq!(
            c.stamp("10.5072/a", Generations { dois: 6, ..at }),
            None,
            "a DOI was written"
        );
        assert_eq!(
            c.stamp("10.5072/a", Generations { auth: 2, ..at }),
            None,
            "a client changed"
        );
        assert_eq!(c.stamp("10.5072/b", at), None);
        // A DOI whose client has no row: adding the client would raise no generation.
        c.keep_stamp("10.5072/b", at, stamp(None));
        assert_eq!(c.stamp("10.5072/b", at), None);
        // Bounded.
        for i in 0..SHARDS * STAMPS_PER_SHARD * 2 {
            c.keep_stamp(&format!("10.5072/{i}"), at, stamp(Some("P")));
        }
        let kept: usize = c.shards.iter().map(|s| s.read().unwrap().stamps.len()).sum();
        assert!(kept <= SHARDS * STAMPS_PER_SHARD, "{kept}");
        // Off: nothing is kept.
        let off = Rendered::new(0);
        off.keep_stamp("10.5072/a", at, stamp(Some("P")));
        assert_eq!(off.stamp("10.5072/a", at), None);
    }

    #[test]
    fn holds_at_most_its_capacity() {
        let c = Rendered::new(SHARDS * 100);
        for i in 0..1000 {
            c.put(Key::new(&format!("10.5072/{i}"), PLAIN), 1, None, body("0123456789"));
        }
        assert!(c.bytes() <= SHARDS * 100, "{}", c.bytes());
        assert!(c.bytes() > 0);
        // Off: nothing is kept or served.
        let off = Rendered::new(0);
        off.put(Key::new("10.5072/a", PLAIN), 1, None, body(""));
        assert_eq!(off.get(&Key::new("10.5072/a", PLAIN), 1, None), None);
    }
}
