//! Rate limiting (CONTRACT §9): three tiers, an in-memory sliding window per caller, shared
//! by all workers, and the numbers for the `X-RateLimit-*` / `Retry-After` headers.
//!
//! The sliding window is approximated with two fixed buckets per caller (the one running
//! and the one before it, weighted by how much of it still overlaps the window), as
//! Cloudflare and nginx do: two counters instead of a timestamp per request, so the cost
//! per request is one hash look-up under one of `SHARDS` mutexes. Buckets start at a
//! caller's first request, not at epoch multiples, so a caller's count never jumps at a
//! boundary shared by everyone.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::auth::Principal;

pub use crate::config::RateLimitConfig;

const SHARDS: usize = 16;
/// Callers tracked at most; beyond it the least recently seen are forgotten, so memory
/// stays bounded however many addresses appear.
const MAX_ENTRIES: usize = 100_000;
const MIN_SWEEP_AT: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Authenticated,
    Identified,
    Anonymous,
}

/// Who is counted: the tier and, within it, the account or the remote address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    pub tier: Tier,
    pub id: String,
}

impl Caller {
    /// Authenticated callers by account symbol (a client's keys and password share one
    /// count); everyone else by address, identified when they give an email.
    pub fn of(principal: &Principal, remote: Option<IpAddr>, user_agent: Option<&str>, mailto: Option<&str>) -> Caller {
        if let Some(symbol) = principal.username() {
            return Caller {
                tier: Tier::Authenticated,
                id: symbol,
            };
        }
        let identified = mailto.is_some_and(contains_email) || user_agent.is_some_and(contains_email);
        Caller {
            tier: if identified { Tier::Identified } else { Tier::Anonymous },
            id: remote.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// True when `s` contains something shaped like `local@domain.tld`.
pub fn contains_email(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        if b != b'@' || i == 0 || !is_email_char(bytes[i - 1]) {
            return false;
        }
        let domain: Vec<u8> = bytes[i + 1..]
            .iter()
            .copied()
            .take_while(|c| is_email_char(*c))
            .collect();
        match domain.iter().rposition(|c| *c == b'.') {
            Some(dot) => dot > 0 && dot + 1 < domain.len(),
            None => false,
        }
    })
}

fn is_email_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._%+-".contains(&b)
}

/// The outcome of counting one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the next slot frees up (`X-RateLimit-Reset`).
    pub reset: u64,
    /// Whole seconds to wait before retrying (for `Retry-After` on a 429), at least 1.
    pub retry_after: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Start of the running bucket, milliseconds since the epoch.
    start: u64,
    previous: u32,
    current: u32,
    last_seen: u64,
}

struct Shard {
    entries: HashMap<Caller, Entry>,
    sweep_at: usize,
}

pub struct RateLimiter {
    config: RateLimitConfig,
    shards: Vec<Mutex<Shard>>,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    entries: HashMap::new(),
                    sweep_at: MIN_SWEEP_AT,
                })
            })
            .collect();
        RateLimiter { config, shards }
    }

    pub fn limit_of(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Authenticated => self.config.authenticated,
            Tier::Identified => self.config.identified,
            Tier::Anonymous => self.config.anonymous,
        }
    }

    fn window_ms(&self) -> u64 {
        (self.config.window.as_millis() as u64).max(1)
    }

    /// Counts one request of `caller` at `now_ms` (a parameter so tests control the clock);
    /// a refused request is not counted.
    pub fn check(&self, caller: &Caller, now_ms: u64) -> Decision {
        let limit = self.limit_of(caller.tier);
        let window = self.window_ms();
        let mut hasher = DefaultHasher::new();
        caller.hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % SHARDS];
        let mut shard = match shard.lock() {
            Ok(guard) => guard,
            // A panic while holding the lock cannot leave counters inconsistent enough to matter.
            Err(poisoned) => poisoned.into_inner(),
        };
        if !shard.entries.contains_key(caller) && shard.entries.len() >= shard.sweep_at {
            shard.sweep(now_ms, window);
        }
        let entry = shard.entries.entry(caller.clone()).or_insert(Entry {
            start: now_ms,
            previous: 0,
            current: 0,
            last_seen: now_ms,
        });
        entry.roll(now_ms, window);
        entry.last_seen = now_ms;
        let allowed = entry.estimate(now_ms, window) + 1.0 <= limit as f64;
        if allowed {
            entry.current += 1;
        }
        let used = entry.estimate(now_ms, window);
        let remaining = (limit as f64 - used).floor().max(0.0) as u32;
        // The next slot: when the count drops below the limit (refused) or one below today's.
        let target = if allowed { used - 1.0 } else { limit as f64 - 1.0 };
        let free_at = entry.time_when_at_most(target.max(0.0), now_ms, window);
        Decision {
            allowed,
            limit,
            remaining,
            reset: free_at.div_ceil(1000),
            retry_after: (free_at.saturating_sub(now_ms)).div_ceil(1000).max(1),
        }
    }

    /// How many callers are tracked (for tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.entries.len()).unwrap_or(0))
            .sum()
    }
}

impl Shard {
    /// Drops callers whose window has fully passed; if that is not enough, the least
    /// recently seen half. Runs when the shard doubled since the last sweep, so its cost
    /// is amortised over the insertions that made it necessary.
    fn sweep(&mut self, now_ms: u64, window: u64) {
        self.entries.retain(|_, e| now_ms < e.start.saturating_add(2 * window));
        let cap = MAX_ENTRIES / SHARDS;
        if self.entries.len() >= cap {
            let mut seen: Vec<u64> = self.entries.values().map(|e| e.last_seen).collect();
            seen.sort_unstable();
            let cutoff = seen[seen.len() / 2];
            self.entries.retain(|_, e| e.last_seen > cutoff);
        }
        self.sweep_at = (self.entries.len() * 2).clamp(MIN_SWEEP_AT, cap);
    }
}

impl Entry {
    /// Moves the buckets forward so that `start <= now < start + window`.
    fn roll(&mut self, now_ms: u64, window: u64) {
        if now_ms < self.start.saturating_add(window) {
            return;
        }
        if now_ms < self.start.saturating_add(2 * window) {
            self.previous = self.current;
            self.start += window;
        } else {
            self.previous = 0;
            self.start = now_ms;
        }
        self.current = 0;
    }

    /// Requests in the sliding window ending at `now`: all of the running bucket plus the
    /// share of the previous one the window still covers.
    fn estimate(&self, now_ms: u64, window: u64) -> f64 {
        let elapsed = now_ms.saturating_sub(self.start) as f64 / window as f64;
        self.previous as f64 * (1.0 - elapsed.min(1.0)) + self.current as f64
    }

    /// The earliest time (ms, not before `now`) at which the estimate is at most `target`,
    /// if no further request is counted.
    fn time_when_at_most(&self, target: f64, now_ms: u64, window: u64) -> u64 {
        let (prev, cur, w) = (self.previous as f64, self.current as f64, window as f64);
        let at = if cur <= target {
            if prev <= 0.0 {
                return now_ms;
            }
            self.start as f64 + w * (1.0 - (target - cur) / prev)
        } else {
            // Only once the running bucket has become the previous one does it decay.
            self.start as f64 + w + w * (1.0 - target / cur)
        };
        (at.ceil() as u64).max(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(limit: u32, window_secs: u64) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            window: Duration::from_secs(window_secs),
            authenticated: limit * 3,
            identified: limit * 2,
            anonymous: limit,
        })
    }

    fn anon(ip: &str) -> Caller {
        Caller {
            tier: Tier::Anonymous,
            id: ip.into(),
        }
    }

    #[test]
    fn counts_down_then_refuses() {
        let l = limiter(3, 60);
        let t = 1_000_000;
        let c = anon("192.0.2.1");
        let remaining: Vec<u32> = (0..3).map(|_| l.check(&c, t).remaining).collect();
        assert_eq!(remaining, vec![2, 1, 0]);
        let refused = l.check(&c, t);
        assert!(!refused.allowed);
        assert_eq!(refused.limit, 3);
        assert_eq!(refused.remaining, 0);
        // The running bucket decays only once the next one starts; then its 3 requests
        // count as spread evenly, so the first slides out a third into the next bucket.
        assert_eq!(refused.retry_after, 80);
        assert_eq!(refused.reset, (t + 80_000) / 1000);
    }

    #[test]
    fn recovers_after_the_window() {
        let l = limiter(3, 60);
        let c = anon("192.0.2.1");
        let t = 5_000_000;
        for _ in 0..3 {
            assert!(l.check(&c, t).allowed);
        }
        assert!(!l.check(&c, t + 59_999).allowed);
        // Right after the bucket turns, the previous 3 still weigh almost fully.
        assert!(!l.check(&c, t + 60_000).allowed);
        // A third into the new bucket, a third of them has slid out of the window.
        let d = l.check(&c, t + 80_000);
        assert!(d.allowed, "{d:?}");
        // Two windows later everything is forgotten.
        let d = l.check(&c, t + 200_000);
        assert!(d.allowed);
        assert_eq!(d.remaining, 2);
    }

    #[test]
    fn retry_after_matches_when_the_sliding_window_lets_one_in() {
        let l = limiter(4, 100);
        let c = anon("192.0.2.9");
        let t = 10_000_000;
        for _ in 0..4 {
            l.check(&c, t);
        }
        // New bucket at t+100s: previous = 4; a request fits when 4 * (1 - f) <= 3, f >= 1/4.
        let d = l.check(&c, t + 100_000);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, 25);
        assert!(!l.check(&c, t + 124_000).allowed);
        assert!(l.check(&c, t + 125_000).allowed);
    }

    #[test]
    fn tiers_have_their_own_limits_and_counts() {
        let l = limiter(2, 60);
        let t = 1_000;
        let ip = "192.0.2.5";
        let identified = Caller {
            tier: Tier::Identified,
            id: ip.into(),
        };
        let authenticated = Caller {
            tier: Tier::Authenticated,
            id: "demo.repo".into(),
        };
        assert_eq!(l.check(&anon(ip), t).limit, 2);
        assert_eq!(l.check(&identified, t).limit, 4);
        assert_eq!(l.check(&authenticated, t).limit, 6);
        assert_eq!(l.check(&anon(ip), t).remaining, 0);
        assert_eq!(l.check(&identified, t).remaining, 2);
    }

    #[test]
    fn callers_are_keyed_by_account_or_address() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let client = Principal::Client {
            symbol: "DEMO.REPO".into(),
            provider: "DEMO".into(),
            is_active: true,
            credential: crate::auth::Credential::Password,
        };
        assert_eq!(
            Caller::of(&client, Some(ip), Some("me@example.org"), None),
            Caller {
                tier: Tier::Authenticated,
                id: "demo.repo".into()
            }
        );
        let anonymous = Caller::of(&Principal::Anonymous, Some(ip), Some("curl/8.0"), None);
        assert_eq!(anonymous.tier, Tier::Anonymous);
        assert_eq!(anonymous.id, "192.0.2.7");
        let by_agent = Caller::of(
            &Principal::Anonymous,
            Some(ip),
            Some("Tool/1.0 (mailto:me@example.org)"),
            None,
        );
        assert_eq!(by_agent.tier, Tier::Identified);
        let by_param = Caller::of(&Principal::Anonymous, Some(ip), None, Some("me@example.org"));
        assert_eq!(by_param.tier, Tier::Identified);
    }

    #[test]
    fn recognises_emails() {
        assert!(contains_email("me@example.org"));
        assert!(contains_email("Bot/2 (+https://x.org; mailto:a.b-c@sub.example.co.uk)"));
        assert!(!contains_email("@example.org"));
        assert!(!contains_email("me@localhost"));
        assert!(!contains_email("me@example."));
        assert!(!contains_email("python-requests/2.31"));
    }

    #[test]
    fn memory_stays_bounded() {
        let l = limiter(10, 60);
        let t = 1_000_000;
        for i in 0..(MAX_ENTRIES + 20_000) {
            l.check(
                &anon(&format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255)),
                t + i as u64 / 10,
            );
        }
        assert!(l.tracked() <= MAX_ENTRIES, "{}", l.tracked());
        // Idle callers are dropped once their window has passed.
        for i in 0..(SHARDS * MIN_SWEEP_AT * 2) {
            l.check(&anon(&format!("late-{i}")), t + 10_000_000);
        }
        assert!(l.tracked() < MAX_ENTRIES / 2, "{}", l.tracked());
    }
}
