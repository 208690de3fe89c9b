//! Failed-authentication throttling: engages after N failures, answers 429 with Retry-After
//! in each route family's language, releases after the window, never locks out other addresses.

use crate::support::*;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use tinydoi::http::request::Method;
use tinydoi::http::Request;

const LIMIT: usize = 10;

/// A server whose blocks last an hour: with the real clock (whole seconds), a one-second
/// block could end between two requests of a test on a busy machine.
fn server(tweak: impl FnOnce(&mut tinydoi::config::Config)) -> TestServer {
    TestServer::with(FIXTURES, |c| {
        c.auth_throttle.base_delay = std::time::Duration::from_secs(3600);
        c.auth_throttle.max_delay = std::time::Duration::from_secs(3600);
        tweak(c);
    })
}

/// A request as if it came from `ip` (the in-process dispatch, so any address can be used).
fn from_ip(s: &TestServer, ip: &str, path: &str, user: &str, password: &str) -> u16 {
    let mut request = Request::new(Method::Get, path);
    request.headers.push(("Authorization".into(), basic(user, password)));
    request.remote_addr = Some(ip.parse::<IpAddr>().unwrap());
    s.app().dispatch(&s.db(), &request).status
}

#[test]
fn engages_after_ten_failures_with_429_per_family_and_an_audit_event() {
    let s = server(|_| {});
    for _ in 0..LIMIT {
        s.get("/clients/DEMO.REPO").auth(CLIENT, "guess").send().expect(401);
    }
    // Blocked now: even the right password is not checked.
    let r = s.get("/clients/DEMO.REPO").client_auth().send().expect(429);
    assert_eq!(
        r.json(),
        serde_json::json!({"errors": [{"status": "429", "title": "Too many requests, please slow down"}]})
    );
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((3599..=3600).contains(&retry), "{retry}");
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));

    let r = s.get("/metadata/10.5072/abc").client_auth().send().expect(429);
    assert_eq!(r.text(), "Too many requests, please slow down");
    assert!(r.header("content-type").unwrap_or("").starts_with("text/plain"));
    assert!(r.header("retry-after").is_some());

    // Requests without credentials guess nothing and are served.
    s.get("/heartbeat").send().expect(200);

    // One event when the block engaged, none per refused request.
    assert_audit(&s, "auth.throttled", &[(Some("DEMO.REPO"), None, Some("127.0.0.1"))]);
}

#[test]
fn a_correct_password_from_another_address_still_works() {
    let s = server(|_| {});
    for _ in 0..LIMIT {
        assert_eq!(from_ip(&s, "192.0.2.66", "/clients/DEMO.REPO", CLIENT, "guess"), 401);
    }
    assert_eq!(
        from_ip(&s, "192.0.2.66", "/clients/DEMO.REPO", CLIENT, CLIENT_PASSWORD),
        429
    );
    assert_eq!(
        from_ip(&s, "198.51.100.7", "/clients/DEMO.REPO", CLIENT, CLIENT_PASSWORD),
        200
    );
    // And over the real socket (127.0.0.1).
    s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
    // The attacker's address may still try other accounts (the per-address limit is higher).
    assert_eq!(
        from_ip(&s, "192.0.2.66", "/clients/OTHER.REPO", OTHER_CLIENT, OTHER_PASSWORD),
        200
    );
}

#[test]
fn one_address_guessing_many_usernames_is_throttled_per_address() {
    let s = server(|c| c.auth_throttle.ip_failures = 20);
    for n in 0..20 {
        assert_eq!(from_ip(&s, "192.0.2.5", "/heartbeat", &format!("U{n}.REPO"), "x"), 401);
    }
    assert_eq!(
        from_ip(&s, "192.0.2.5", "/heartbeat", OTHER_CLIENT, OTHER_PASSWORD),
        429
    );
    assert_eq!(
        from_ip(&s, "192.0.2.6", "/heartbeat", OTHER_CLIENT, OTHER_PASSWORD),
        200
    );
    assert_audit(&s, "auth.throttled", &[(None, None, Some("192.0.2.5"))]);
}

#[test]
fn a_success_resets_the_count() {
    let s = TestServer::start();
    for _ in 0..LIMIT - 1 {
        s.get("/heartbeat").auth(CLIENT, "guess").send().expect(401);
    }
    s.get("/heartbeat").client_auth().send().expect(200);
    for _ in 0..LIMIT - 1 {
        s.get("/heartbeat").auth(CLIENT, "guess").send().expect(401);
    }
    s.get("/heartbeat").client_auth().send().expect(200);
    assert_audit(&s, "auth.throttled", &[]);
}

static FAKE_NOW: AtomicI64 = AtomicI64::new(1_800_000_000);

fn fake_now() -> i64 {
    FAKE_NOW.load(Ordering::SeqCst)
}

#[test]
fn releases_after_the_window_on_a_fake_clock() {
    let s = TestServer::with(FIXTURES, |c| c.auth_throttle.clock = fake_now);
    for _ in 0..LIMIT {
        s.get("/heartbeat").auth(CLIENT, "guess").send().expect(401);
    }
    let r = s.get("/heartbeat").client_auth().send().expect(429);
    assert_eq!(r.header("retry-after"), Some("1"));
    // After the block, one more failure doubles it.
    FAKE_NOW.fetch_add(1, Ordering::SeqCst);
    s.get("/heartbeat").auth(CLIENT, "guess").send().expect(401);
    let r = s.get("/heartbeat").client_auth().send().expect(429);
    assert_eq!(r.header("retry-after"), Some("2"));
    // Once the window has passed, the right password gets in.
    FAKE_NOW.fetch_add(301, Ordering::SeqCst);
    s.get("/heartbeat").client_auth().send().expect(200);
    let event = (Some(CLIENT), None, Some("127.0.0.1"));
    assert_audit(&s, "auth.throttled", &[event, event]);
}
