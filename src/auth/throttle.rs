//! Failed-authentication throttling: exponential back-off per (username, IP) and per IP.
//!
//! Never per username alone: an attacker's failures must not lock the real owner out from
//! another address. While a key is blocked its requests get 429 without any password being
//! checked, so guessing costs the attacker time, not us PBKDF2 work.

use rusqlite::Connection;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::accounts::{role_of, Role};
use crate::auth::header::{self, Claim};
use crate::auth::{Attempt, Authenticator, Principal};
pub use crate::config::ThrottlePolicy;
use crate::db;
use crate::db::generations::Counters;
use crate::error::Error;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    window_start: i64,
    last: i64,
    blocked_until: i64,
}

/// Whether a failure started (or lengthened) a block, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engaged {
    pub retry_after_secs: u64,
}

type UserKey = (String, Option<IpAddr>);

pub struct Throttle {
    policy: ThrottlePolicy,
    users: Mutex<HashMap<UserKey, Entry>>,
    ips: Mutex<HashMap<Option<IpAddr>, Entry>>,
}

/// An IPv6 client usually controls a whole /64, so that is what counts as one address.
fn normalise(ip: Option<IpAddr>) -> Option<IpAddr> {
    match ip {
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => Some(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                Some(IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)))
            }
        },
        other => other,
    }
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy) -> Throttle {
        Throttle {
            policy,
            users: Mutex::new(HashMap::new()),
            ips: Mutex::new(HashMap::new()),
        }
    }

    pub fn now(&self) -> i64 {
        (self.policy.clock)()
    }

    /// Seconds to wait when `username` (upper-case, if the header names one) from `ip` is
    /// blocked right now.
    pub fn blocked(&self, username: Option<&str>, ip: Option<IpAddr>, now: i64) -> Option<u64> {
        let ip = normalise(ip);
        let wait = |e: Option<&Entry>| e.map(|e| e.blocked_until - now).filter(|w| *w > 0).unwrap_or(0);
        let by_ip = wait(lock(&self.ips).get(&ip));
        let by_user = match username {
            Some(u) => wait(lock(&self.users).get(&(u.to_string(), ip))),
            None => 0,
        };
        let secs = by_ip.max(by_user);
        (secs > 0).then_some(secs as u64)
    }

    /// Counts a failed authentication; `Some` when it starts or lengthens a block.
    pub fn failed(&self, username: Option<&str>, ip: Option<IpAddr>, now: i64) -> Option<Engaged> {
        let ip = normalise(ip);
        let p = &self.policy;
        let by_ip = bump(&mut lock(&self.ips), ip, now, p.ip_failures, p);
        let by_user = username.and_then(|u| bump(&mut lock(&self.users), (u.to_string(), ip), now, p.user_failures, p));
        by_ip.max(by_user).map(|secs| Engaged { retry_after_secs: secs })
    }

    /// A correct password clears its (username, IP) record; the per-IP record stays, or one
    /// valid account would let an address guess at every other one.
    pub fn succeeded(&self, username: &str, ip: Option<IpAddr>) {
        lock(&self.users).remove(&(username.to_string(), normalise(ip)));
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        (lock(&self.users).len(), lock(&self.ips).len())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds a failure to `key`'s record; returns the block length when the record is blocked now.
fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Entry>,
    key: K,
    now: i64,
    threshold: u32,
    p: &ThrottlePolicy,
) -> Option<u64> {
    let window = p.window.as_secs() as i64;
    if !map.contains_key(&key) && map.len() >= p.max_entries {
        make_room(map, now, window, p.max_entries);
    }
    let e = map.entry(key).or_default();
    if e.failures == 0 || now - e.window_start > window {
        *e = Entry {
            window_start: now,
            ..Entry::default()
        };
    }
    e.failures = e.failures.saturating_add(1);
    e.last = now;
    if e.failures < threshold {
        return None;
    }
    let doublings = (e.failures - threshold).min(30);
    let delay = p
        .base_delay
        .as_secs()
        .max(1)
        .saturating_mul(1 << doublings)
        .min(p.max_delay.as_secs().max(1));
    e.blocked_until = now + delay as i64;
    // The block outlasts the window otherwise, and the record with it.
    e.window_start = e.window_start.max(e.blocked_until - window);
    Some(delay)
}

/// Drops records that no longer matter; if every record still does, the stalest tenth, so
/// that a flood of new addresses costs one scan per many requests, not one per request.
fn make_room<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, Entry>, now: i64, window: i64, max: usize) {
    map.retain(|_, e| now - e.last <= window || e.blocked_until > now);
    if map.len() >= max {
        let mut by_age: Vec<(i64, K)> = map.iter().map(|(k, e)| (e.last, k.clone())).collect();
        by_age.sort_by_key(|(last, _)| *last);
        for (_, k) in by_age.into_iter().take((max / 10).max(1)) {
            map.remove(&k);
        }
    }
}

/// The username an `Authorization` header claims, upper-case, when it claims a password of
/// something shaped like an account. Other names (which no account can have) count per
/// address only, which also keeps attacker-chosen strings of any length out of memory.
fn claimed_username(claim: &Result<Option<Claim>, header::Malformed>) -> Option<String> {
    let symbol = match claim {
        Ok(Some(Claim::Password { symbol, .. })) => symbol,
        Ok(Some(Claim::ApiKey {
            for_client: Some(symbol),
            ..
        })) => symbol,
        _ => return None,
    };
    role_of(symbol).is_some().then(|| symbol.clone())
}

/// `auth`'s authentication with `throttle` around it (what `App::dispatch` runs): a
/// blocked caller gets 429 before any credential is checked; failures and successes are counted.
pub fn authenticate(
    authenticator: &Authenticator,
    throttle: &Throttle,
    conn: &Connection,
    counters: &Counters,
    auth: Option<&str>,
    now: i64,
    attempt: &Attempt,
) -> Result<Principal, Error> {
    // Requests without credentials are never throttled: they cannot guess anything.
    if auth.is_none() {
        return Ok(Principal::Anonymous);
    }
    // Parsed once: for the name the throttle counts and for the check itself.
    let claim = header::parse(auth);
    guarded(throttle, claimed_username(&claim), attempt, || {
        authenticator.authenticate_claim(conn, counters, claim, now, attempt)
    })
}

/// The web console's sign-in: an account symbol and its password, throttled and audited
/// exactly as the same pair in an `Authorization` header.
pub fn sign_in(
    authenticator: &Authenticator,
    throttle: &Throttle,
    conn: &Connection,
    symbol: &str,
    password: &str,
    now: i64,
    attempt: &Attempt,
) -> Result<Principal, Error> {
    let symbol = symbol.trim().to_ascii_uppercase();
    let username = role_of(&symbol).is_some().then(|| symbol.clone());
    guarded(throttle, username, attempt, || {
        authenticator.password(conn, &symbol, password, now, attempt)
    })
}

/// Runs `check` unless `username` (or the address) is blocked; counts its failure or success.
fn guarded(
    throttle: &Throttle,
    username: Option<String>,
    attempt: &Attempt,
    check: impl FnOnce() -> Result<Principal, Error>,
) -> Result<Principal, Error> {
    let ip = attempt.remote_addr;
    let clock = throttle.now();
    if let Some(retry_after_secs) = throttle.blocked(username.as_deref(), ip, clock) {
        return Err(Error::TooManyRequests { retry_after_secs });
    }
    match check() {
        Ok(principal) => {
            // Only a correct password clears the count of wrong ones: a key holder logging
            // in with the key as the password must not reset them between guesses.
            if let (Some(user), false) = (&username, principal.is_api_key()) {
                throttle.succeeded(user, ip);
            }
            Ok(principal)
        }
        Err(Error::BadCredentials) => {
            if let Some(engaged) = throttle.failed(username.as_deref(), ip, clock) {
                record_throttled(attempt, username.as_deref(), engaged, clock);
            }
            Err(Error::BadCredentials)
        }
        Err(e) => Err(e),
    }
}

/// Records an `auth.throttled` audit event: once per block, not per refused request, so an
/// attack cannot turn into a flood of database writes. Kept apart from `auth.failed`
/// (`Authenticator`), which records every failure of a known client.
fn record_throttled(attempt: &Attempt, username: Option<&str>, engaged: Engaged, now: i64) {
    let ip = attempt.remote_addr.map(|ip| ip.to_string());
    log::warn!(
        "authentication throttled for {} from {} for {}s",
        username.unwrap_or("-"),
        ip.as_deref().unwrap_or("-"),
        engaged.retry_after_secs
    );
    let event = db::audit::Event {
        client: username
            .filter(|u| role_of(u) == Some(Role::Client))
            .map(str::to_string),
        action: "auth.throttled".into(),
        remote_addr: ip,
        ..db::audit::Event::default()
    };
    attempt.recorder.audit(event, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            user_failures: 3,
            ip_failures: 6,
            window: Duration::from_secs(300),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_entries: 100,
            clock: || 0,
        }
    }

    #[test]
    fn engages_after_n_failures_and_backs_off_exponentially() {
        let t = Throttle::new(policy());
        let a = ip("192.0.2.1");
        assert_eq!(t.failed(Some("DEMO.REPO"), a, 1000), None);
        assert_eq!(t.failed(Some("DEMO.REPO"), a, 1000), None);
        assert_eq!(t.blocked(Some("DEMO.REPO"), a, 1000), None);
        assert_eq!(
            t.failed(Some("DEMO.REPO"), a, 1000),
            Some(Engaged { retry_after_secs: 1 })
        );
        assert_eq!(t.blocked(Some("DEMO.REPO"), a, 1000), Some(1));
        assert_eq!(t.blocked(Some("DEMO.REPO"), a, 1001), None);
        assert_eq!(
            t.failed(Some("DEMO.REPO"), a, 1001),
            Some(Engaged { retry_after_secs: 2 })
        );
        assert_eq!(
            t.failed(Some("DEMO.REPO"), a, 1003),
            Some(Engaged { retry_after_secs: 4 })
        );
        for _ in 0..20 {
            t.failed(Some("DEMO.REPO"), a, 1010);
        }
        assert_eq!(t.blocked(Some("DEMO.REPO"), a, 1010), Some(60), "capped");
    }

    #[test]
    fn releases_after_the_window() {
        let t = Throttle::new(policy());
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            t.failed(Some("DEMO.REPO"), a, 1000);
        }
        assert!(t.blocked(Some("DEMO.REPO"), a, 1000).is_some());
        // Past the block and the window, the record starts over.
        assert_eq!(t.blocked(Some("DEMO.REPO"), a, 1301), None);
        assert_eq!(t.failed(Some("DEMO.REPO"), a, 1301), None);
        assert_eq!(t.failed(Some("DEMO.REPO"), a, 1302), None);
    }

    #[test]
    fn never_per_username_alone() {
        let t = Throttle::new(policy());
        for _ in 0..5 {
            t.failed(Some("DEMO.REPO"), ip("192.0.2.1"), 1000);
        }
        assert!(t.blocked(Some("DEMO.REPO"), ip("192.0.2.1"), 1000).is_some());
        assert_eq!(t.blocked(Some("DEMO.REPO"), ip("192.0.2.2"), 1000), None);
        assert_eq!(t.blocked(Some("OTHER.REPO"), ip("192.0.2.1"), 1000), None);
    }

    #[test]
    fn per_ip_across_usernames_and_anonymous_claims() {
        let t = Throttle::new(policy());
        let a = ip("192.0.2.1");
        for n in 0..5 {
            assert_eq!(t.failed(Some(&format!("U{n}.REPO")), a, 1000), None);
        }
        assert!(t.failed(None, a, 1000).is_some(), "sixth failure from the address");
        assert!(t.blocked(Some("NEW.REPO"), a, 1000).is_some());
        assert!(t.blocked(None, a, 1000).is_some());
        assert_eq!(t.blocked(None, ip("192.0.2.2"), 1000), None);
    }

    #[test]
    fn success_resets_the_user_record_only() {
        let t = Throttle::new(policy());
        let a = ip("192.0.2.1");
        t.failed(Some("DEMO.REPO"), a, 1000);
        t.failed(Some("DEMO.REPO"), a, 1000);
        t.succeeded("DEMO.REPO", a);
        assert_eq!(t.failed(Some("DEMO.REPO"), a, 1000), None);
        assert_eq!(t.failed(Some("DEMO.REPO"), a, 1000), None);
        // The address has now failed 4 times; 2 more engage the per-IP block.
        assert_eq!(t.failed(Some("X.REPO"), a, 1000), None);
        assert!(t.failed(Some("Y.REPO"), a, 1000).is_some());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let t = Throttle::new(policy());
        for n in 1..=6 {
            t.failed(None, ip(&format!("2001:db8::{n}")), 1000);
        }
        assert!(t.blocked(None, ip("2001:db8::ffff"), 1000).is_some());
        assert_eq!(t.blocked(None, ip("2001:db8:0:1::1"), 1000), None);
    }

    #[test]
    fn memory_is_bounded() {
        let t = Throttle::new(ThrottlePolicy {
            max_entries: 10,
            ..policy()
        });
        for n in 0..1000u32 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(n));
            t.failed(Some(&format!("U{n}.REPO")), Some(addr), 1000 + n as i64);
        }
        let (users, ips) = t.tracked();
        assert!(users <= 10 && ips <= 10, "{users} {ips}");
    }

    #[test]
    fn claimed_usernames() {
        use base64::Engine;
        let basic = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        let claimed_username = |h: Option<&str>| claimed_username(&header::parse(h));
        assert_eq!(claimed_username(Some(&basic("demo.repo:x"))), Some("DEMO.REPO".into()));
        assert_eq!(claimed_username(Some("Bearer DC.abc")), None);
        assert_eq!(claimed_username(Some(&basic("admin:x"))), Some("ADMIN".into()));
        let long = format!("{}:x", "A".repeat(10_000));
        assert_eq!(claimed_username(Some(&basic(&long))), None, "no account has that name");
        assert_eq!(claimed_username(Some("garbage")), None);
        assert_eq!(claimed_username(None), None);
    }
}
