//! Rate limits (CONTRACT §9): tiers, headers, 429 + Retry-After, failed auth, API keys.

use std::time::Duration;

use crate::support::*;
use tinydoi::config::RateLimitConfig;

/// Small limits so that tests reach them: authenticated 5, identified 4, anonymous 3.
fn limited() -> TestServer {
    TestServer::with(FIXTURES, |c| {
        c.rate_limit = Some(RateLimitConfig {
            window: Duration::from_secs(300),
            authenticated: 5,
            identified: 4,
            anonymous: 3,
        })
    })
}

fn num(r: &Resp, name: &str) -> u64 {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} not a number"))
}

#[test]
fn anonymous_tier_counts_down_then_429_with_retry_after() {
    let s = limited();
    let before = tinydoi::time::now() as u64;
    for remaining in [2, 1, 0] {
        let r = s.get("/heartbeat").send().expect(200);
        assert_eq!(num(&r, "x-ratelimit-limit"), 3);
        assert_eq!(num(&r, "x-ratelimit-remaining"), remaining);
        assert!(num(&r, "x-ratelimit-reset") >= before);
    }
    let r = s.get("/heartbeat").send().expect(429);
    assert_eq!(num(&r, "x-ratelimit-limit"), 3);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 0);
    // Two-bucket approximation (README, "Rate limits"): the 3 requests of the bucket
    // count as spread over it, so the first slides out a third into the next window.
    let retry = num(&r, "retry-after");
    assert!((395..=400).contains(&retry), "{retry}");
    let reset = num(&r, "x-ratelimit-reset");
    assert!(
        reset >= before + 395 && reset <= tinydoi::time::now() as u64 + 401,
        "{reset}"
    );
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.json()["errors"][0]["status"], "429");
}

#[test]
fn mds_routes_answer_429_in_text() {
    let s = limited();
    for _ in 0..3 {
        s.get("/doi/10.5072/nothing").send();
    }
    let r = s.get("/doi/10.5072/nothing").send().expect(429);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(r.text(), "Too many requests, please slow down");
    assert!(r.header("retry-after").is_some());
}

#[test]
fn email_in_mailto_or_user_agent_earns_the_identified_tier() {
    let s = limited();
    let r = s.get("/heartbeat?mailto=me@example.org").send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 4);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 3);
    let r = s
        .get("/heartbeat")
        .header("User-Agent", "harvester/1.0 (mailto:me@example.org)")
        .send()
        .expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 4);
    // Same address, same tier: one count.
    assert_eq!(num(&r, "x-ratelimit-remaining"), 2);
    // The anonymous tier of that address is untouched.
    let r = s.get("/heartbeat").send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 3);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 2);
    for _ in 0..2 {
        s.get("/heartbeat?mailto=me@example.org").send().expect(200);
    }
    s.get("/heartbeat?mailto=me@example.org").send().expect(429);
}

#[test]
fn password_and_key_count_as_one_client() {
    let s = limited();
    let key = insert_key(&s.db(), CLIENT);
    for remaining in [4, 3] {
        let r = s.get("/heartbeat").client_auth().send().expect(200);
        assert_eq!(num(&r, "x-ratelimit-limit"), 5);
        assert_eq!(num(&r, "x-ratelimit-remaining"), remaining);
    }
    for remaining in [2, 1] {
        let r = s.get("/heartbeat").bearer(&key).send().expect(200);
        assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
        assert_eq!(num(&r, "x-ratelimit-limit"), 5);
        assert_eq!(num(&r, "x-ratelimit-remaining"), remaining);
    }
    let r = s.get("/heartbeat").auth(&key, "").send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 0);
    let r = s.get("/heartbeat").bearer(&key).send().expect(429);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    s.get("/heartbeat").client_auth().send().expect(429);
    // Another client and anonymous callers from the same address have their own counts.
    let r = s
        .get("/heartbeat")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(200);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 4);
    let r = s.get("/heartbeat").send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 3);
}

#[test]
fn failed_authentication_stays_in_the_address_tiers() {
    let s = limited();
    for remaining in [2, 1, 0] {
        let r = s.get("/heartbeat").auth(CLIENT, "wrong").send().expect(401);
        assert_eq!(num(&r, "x-ratelimit-limit"), 3);
        assert_eq!(num(&r, "x-ratelimit-remaining"), remaining);
        assert!(r.header("www-authenticate").is_some());
    }
    // The failures used up the anonymous count of the address.
    s.get("/heartbeat").send().expect(429);
    s.get("/heartbeat").auth(CLIENT, "wrong").send().expect(429);
    // An unknown key with an email in the User-Agent is identified, not authenticated.
    let r = s
        .get("/heartbeat")
        .bearer("DC.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .header("User-Agent", "tool (me@example.org)")
        .send()
        .expect(401);
    assert_eq!(num(&r, "x-ratelimit-limit"), 4);
    // The client itself is unaffected.
    let r = s.get("/heartbeat").client_auth().send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 5);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 4);
}

#[test]
fn staff_and_providers_count_by_their_symbol() {
    let s = limited();
    let r = s.get("/heartbeat").auth("ADMIN", ADMIN_PASSWORD).send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 5);
    let r = s.get("/heartbeat").auth(PROVIDER, PROVIDER_PASSWORD).send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 5);
    assert_eq!(num(&r, "x-ratelimit-remaining"), 4);
}

#[test]
fn no_rate_limit_means_no_headers_and_no_429() {
    let s = TestServer::with(FIXTURES, |c| c.rate_limit = None);
    for _ in 0..5 {
        let r = s.get("/heartbeat").send().expect(200);
        assert_eq!(r.header("x-ratelimit-limit"), None);
    }
}

#[test]
fn default_limits_are_the_documented_ones() {
    let s = TestServer::start();
    let r = s.get("/heartbeat").send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 500);
    let r = s.get("/heartbeat").client_auth().send().expect(200);
    assert_eq!(num(&r, "x-ratelimit-limit"), 3000);
}
