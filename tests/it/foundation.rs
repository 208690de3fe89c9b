//! Foundation: heartbeat, password authentication, credential headers, the auth cache,
//! body limit, panics, migrations, fixtures and member-API visibility.

use crate::support::*;
use rusqlite::Connection;
use serde_json::Value;
use tinydoi::app::{Ctx, Handler};
use tinydoi::error::Error;
use tinydoi::http::request::Method;
use tinydoi::http::router::{Family, Params, Route};
use tinydoi::http::{Reply, Request};

#[test]
fn heartbeat_needs_no_credentials() {
    let s = TestServer::start();
    let r = s.get("/heartbeat").send().expect(200);
    assert_eq!(r.text(), "OK");
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.header("x-credential-username"), None);
}

#[test]
fn basic_auth_for_client_provider_and_admin_any_case() {
    let s = TestServer::start();
    for (user, password, shown) in [
        ("DEMO.REPO", CLIENT_PASSWORD, "demo.repo"),
        ("demo.repo", CLIENT_PASSWORD, "demo.repo"),
        ("Demo.Repo", CLIENT_PASSWORD, "demo.repo"),
        ("DEMO", PROVIDER_PASSWORD, "demo"),
        ("demo", PROVIDER_PASSWORD, "demo"),
        ("ADMIN", ADMIN_PASSWORD, "admin"),
        ("admin", ADMIN_PASSWORD, "admin"),
    ] {
        let r = s.get("/clients/DEMO.REPO").auth(user, password).send().expect(200);
        assert_eq!(r.header("x-credential-username"), Some(shown), "as {user}");
        assert_eq!(r.header("x-anonymous-consumer"), None);
    }
}

fn assert_rest_401(r: Resp) {
    let r = r.expect(401);
    assert_eq!(
        r.json(),
        serde_json::json!({"errors": [{"status": "401", "title": "Bad credentials."}]})
    );
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"tinydoi\""));
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
}

fn assert_mds_401(r: Resp) {
    let r = r.expect(401);
    assert_eq!(r.text(), "Bad credentials");
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"tinydoi\""));
    assert!(r.header("content-type").unwrap_or("").starts_with("text/plain"));
}

#[test]
fn bad_credentials_are_401_never_anonymous() {
    let s = TestServer::start();
    let bad_headers = [
        basic("DEMO.REPO", "wrong-password"),
        basic("NOBODY.REPO", "x"),
        basic("DEMO.REPO", ""),
        basic("not a symbol!", "x"),
        "Basic".to_string(),
        "Basic %%%not-base64%%%".to_string(),
        "Basic bm9jb2xvbg==".to_string(), // "nocolon"
        "Digest username=\"DEMO.REPO\"".to_string(),
        "Token abc".to_string(),
    ];
    for header in &bad_headers {
        assert_rest_401(s.get("/clients/DEMO.REPO").header("Authorization", header).send());
        assert_rest_401(s.get("/heartbeat").header("Authorization", header).send());
        assert_mds_401(s.get("/metadata/10.5072/abc").header("Authorization", header).send());
    }
}

#[test]
fn failed_auth_is_anonymous_in_headers() {
    let s = TestServer::start();
    let r = s.get("/clients/DEMO.REPO").auth(CLIENT, "wrong").send().expect(401);
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.header("x-credential-username"), None);
}

#[test]
fn password_cache_skips_pbkdf2_and_follows_password_changes() {
    let s = TestServer::start();
    let runs = || s.app().auth.pbkdf2_runs();
    let before = runs();
    s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
    assert_eq!(runs(), before + 1, "first request verifies with PBKDF2");
    for _ in 0..5 {
        s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
    }
    assert_eq!(runs(), before + 1, "cached: no PBKDF2 for repeated requests");

    // A wrong password is never served from the cache.
    s.get("/clients/DEMO.REPO").auth(CLIENT, "wrong").send().expect(401);
    assert_eq!(runs(), before + 2);

    // The password changes (as `tinydoi client passwd` does, from another connection).
    tinydoi::manage::set_password(&s.db(), CLIENT, "new-password", 10).unwrap();
    s.get("/clients/DEMO.REPO").client_auth().send().expect(401);
    s.get("/clients/DEMO.REPO")
        .auth(CLIENT, "new-password")
        .send()
        .expect(200);
    s.get("/clients/DEMO.REPO")
        .auth(CLIENT, "new-password")
        .send()
        .expect(200);
    assert_eq!(
        runs(),
        before + 4,
        "old password re-checked and refused, new one verified once"
    );
}

#[test]
fn bodies_over_the_limit_are_413() {
    let s = TestServer::with(FIXTURES, |c| c.body_limit = 1024);
    let r = s
        .post("/metadata/10.5072/abc")
        .client_auth()
        .body(vec![b'x'; 2048])
        .send()
        .expect(413);
    assert_eq!(r.text(), "Request body too large");
    let r = s.post("/dois").client_auth().body(vec![b'x'; 2048]).send().expect(413);
    assert_eq!(r.json()["errors"][0]["status"], "413");
    // At the limit is fine (the route then decides).
    s.get("/heartbeat").body(vec![b'x'; 1024]).send().expect(200);
}

fn panics(_: &Ctx, _: &Request, _: &Params) -> Result<Reply, Error> {
    panic!("deliberate test panic")
}

#[test]
fn a_panicking_handler_is_500_and_the_worker_survives() {
    let (mut config, dir) = TestServer::config(FIXTURES);
    config.workers = 1;
    let route = Route {
        method: Method::Get,
        pattern: "/test/panic",
        family: Family::Rest,
        handler: panics as Handler,
    };
    let s = TestServer::with_routes(config, dir, vec![route]);
    for _ in 0..3 {
        let r = s.get("/test/panic").send().expect(500);
        assert_eq!(r.json()["errors"][0]["title"], "Internal server error");
        // The only worker is still there.
        s.get("/heartbeat").send().expect(200);
    }
}

#[test]
fn unknown_routes_and_methods() {
    let s = TestServer::start();
    let r = s.get("/nothing/here").send().expect(404);
    assert_eq!(
        r.json()["errors"][0]["title"],
        "The resource you are looking for doesn't exist."
    );
    let r = s.delete("/heartbeat").send().expect(405);
    assert_eq!(r.header("allow"), Some("GET"));
}

#[test]
fn migrations_create_the_schema_in_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let conn = tinydoi::db::open(&path).unwrap();
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, tinydoi::db::latest_version());
    let tables = count(
        &conn,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('clients', 'api_keys', 'dois')",
    );
    assert_eq!(tables, 3);
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    // Opening again is a no-op.
    tinydoi::db::open(&path).unwrap();
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let err = format!("{:#}", tinydoi::db::open(&path).unwrap_err());
    assert!(err.contains("newer"), "{err}");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM sqlite_master"),
        0,
        "nothing was created"
    );
}

#[test]
fn fixtures_load_atomically_and_name_the_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let conn = tinydoi::db::open(&dir.path().join("f.db")).unwrap();
    let bad = r#"{
      "providers": [{"symbol": "GOOD", "password": "x"}],
      "clients": [
        {"symbol": "GOOD.ONE", "provider": "GOOD", "password": "x", "prefixes": ["10.1234"]},
        {"symbol": "GOOD.TWO", "provider": "MISSING", "password": "x"}
      ]
    }"#;
    let fixtures = tinydoi::fixtures::parse(bad).unwrap();
    let err = format!("{:#}", tinydoi::fixtures::load(&conn, &fixtures, 10).unwrap_err());
    assert!(err.contains("clients[1]") && err.contains("MISSING"), "{err}");
    assert_eq!(count(&conn, "SELECT count(*) FROM providers"), 0);
    assert_eq!(count(&conn, "SELECT count(*) FROM clients"), 0);
    assert_eq!(count(&conn, "SELECT count(*) FROM client_prefixes"), 0);

    let malformed = r#"{"clients": [{"symbol": "lowercase-is-fine.but-not-this!", "provider": "GOOD"}]}"#;
    let err = format!(
        "{:#}",
        tinydoi::fixtures::load(&conn, &tinydoi::fixtures::parse(malformed).unwrap(), 10).unwrap_err()
    );
    assert!(err.contains("clients[0]"), "{err}");
    assert!(
        tinydoi::fixtures::parse(r#"{"clientz": []}"#).is_err(),
        "unknown fields are refused"
    );
}

#[test]
fn fixtures_load_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let conn = tinydoi::db::open(&dir.path().join("f.db")).unwrap();
    let fixtures = tinydoi::fixtures::parse(FIXTURES).unwrap();
    tinydoi::fixtures::load(&conn, &fixtures, 10).unwrap();
    let snapshot = |conn: &Connection| -> Vec<(String, Vec<u8>, Vec<u8>)> {
        let mut stmt = conn
            .prepare("SELECT symbol, password_hash, password_salt FROM clients ORDER BY symbol")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let first = snapshot(&conn);
    tinydoi::fixtures::load(&conn, &fixtures, 10).unwrap();
    assert_eq!(snapshot(&conn), first);
    assert_eq!(count(&conn, "SELECT count(*) FROM clients"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM client_prefixes"), 2);
}

#[test]
fn fixture_prefix_owned_by_another_client_fails_whole_load() {
    let s = TestServer::start();
    let conn = s.db();
    let clash =
        r#"{"clients": [{"symbol": "DEMO.NEW", "provider": "DEMO", "password": "x", "prefixes": ["10.5073"]}]}"#;
    let err = format!(
        "{:#}",
        tinydoi::fixtures::load(&conn, &tinydoi::fixtures::parse(clash).unwrap(), 10).unwrap_err()
    );
    assert!(err.contains("10.5073") && err.contains("OTHER.REPO"), "{err}");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM clients WHERE symbol = 'DEMO.NEW'"),
        0
    );
}

#[test]
fn demo_data_is_seeded_only_on_loopback() {
    let (mut config, dir) = TestServer::config(FIXTURES);
    config.fixtures = None;
    let s = TestServer::from_config(config, dir);
    s.get("/clients/DEMO.REPO")
        .auth("DEMO.REPO", "demo-password")
        .send()
        .expect(200);

    let (mut config, dir) = TestServer::config(FIXTURES);
    config.fixtures = None;
    config.listen = "0.0.0.0:0".into();
    let s = TestServer::from_config(config, dir);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM clients"), 0);
}

fn client_doc(s: &TestServer, auth: Option<(&str, &str)>) -> Value {
    let call = s.get("/clients/DEMO.REPO");
    let call = match auth {
        Some((u, p)) => call.auth(u, p),
        None => call,
    };
    call.send().expect(200).json()
}

#[test]
fn member_api_shows_private_fields_only_to_owner_provider_and_staff() {
    let s = TestServer::start();
    let public = client_doc(&s, None);
    assert_eq!(public["data"]["id"], "DEMO.REPO");
    assert_eq!(public["data"]["type"], "clients");
    assert_eq!(public["data"]["attributes"]["name"], "Demo Repository");
    assert_eq!(public["data"]["relationships"]["provider"]["data"]["id"], "DEMO");
    assert_eq!(public["data"]["relationships"]["prefixes"]["data"][0]["id"], "10.5072");
    for private in ["contactEmail", "domains", "apiKeyCount"] {
        assert!(
            public["data"]["attributes"].get(private).is_none(),
            "{private} is private"
        );
    }
    let other = client_doc(&s, Some((OTHER_CLIENT, OTHER_PASSWORD)));
    assert!(other["data"]["attributes"].get("contactEmail").is_none());
    let other_provider = client_doc(&s, Some(("OTHER", "other-provider-password")));
    assert!(other_provider["data"]["attributes"].get("contactEmail").is_none());

    for (user, password) in [
        (CLIENT, CLIENT_PASSWORD),
        (PROVIDER, PROVIDER_PASSWORD),
        ("ADMIN", ADMIN_PASSWORD),
    ] {
        let doc = client_doc(&s, Some((user, password)));
        assert_eq!(
            doc["data"]["attributes"]["contactEmail"], "repo@example.org",
            "as {user}"
        );
        assert_eq!(doc["data"]["attributes"]["domains"], "*");
        assert_eq!(doc["data"]["attributes"]["apiKeyCount"], 0);
    }
}

#[test]
fn member_api_providers_and_prefixes() {
    let s = TestServer::start();
    let r = s.get("/providers/demo").send().expect(200).json();
    assert_eq!(r["data"]["id"], "DEMO");
    assert!(r["data"]["attributes"].get("contactEmail").is_none());
    assert_eq!(r["data"]["relationships"]["clients"]["data"][0]["id"], "DEMO.REPO");
    let r = s
        .get("/providers/DEMO")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(200)
        .json();
    assert_eq!(r["data"]["attributes"]["contactEmail"], "demo@example.org");

    let r = s.get("/prefixes/10.5072").send().expect(200).json();
    assert_eq!(r["data"]["id"], "10.5072");
    assert_eq!(r["data"]["relationships"]["clients"]["data"][0]["id"], "DEMO.REPO");
    let r = s.get("/clients/DEMO.REPO/prefixes").send().expect(200).json();
    assert_eq!(r["meta"]["total"], 1);
    assert_eq!(r["data"][0]["relationships"]["prefix"]["data"]["id"], "10.5072");

    s.get("/clients/NOPE.REPO").send().expect(404);
    s.get("/providers/NOPE").send().expect(404);
    s.get("/prefixes/10.9999").send().expect(404);
}
