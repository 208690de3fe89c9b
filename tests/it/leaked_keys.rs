//! Revoking leaked keys by their value (issue 19): the open revoke-leaked endpoint and
//! GitHub's secret scanning partner endpoint with its signature check.

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::support::*;

/// (revoked_at, number of `key.revoked_leaked` events) of a key.
fn state(db: &Connection, key: &str) -> (Option<i64>, i64) {
    let id = key_id(db, key);
    let revoked = db
        .query_row("SELECT revoked_at FROM api_keys WHERE id = ?1", [&id], |r| r.get(0))
        .unwrap();
    let events = db
        .query_row(
            "SELECT count(*) FROM audit_events WHERE action = 'key.revoked_leaked' AND api_key_id = ?1
               AND remote_addr = '127.0.0.1'",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    (revoked, events)
}

#[test]
fn leaked_keys_are_revoked_by_value_and_the_answer_is_always_202() {
    let s = TestServer::start();
    let db = s.db();
    let active = insert_key(&db, CLIENT);
    let spare = insert_key(&db, CLIENT);
    let already = insert_key(&db, CLIENT);
    revoke_key(&db, &already);
    let others = insert_key(&db, OTHER_CLIENT);
    let unknown = tinydoi::keys::format::generate().unwrap();
    s.get("/dois").bearer(&active).send().expect(200);

    for keys in [
        vec![active.clone()],
        vec![already.clone()],
        vec!["DC.not-a-key".to_string()],
        vec![unknown.clone()],
        vec![others.clone(), "garbage".into()],
    ] {
        let r = s
            .post("/credentials/api-keys/revoke-leaked")
            .json(&json!({"keys": keys}))
            .send()
            .expect(202);
        assert!(r.body.is_empty());
    }
    assert!(state(&db, &active).0.is_some());
    assert_eq!(state(&db, &active).1, 1);
    assert_eq!(
        state(&db, &already),
        (Some(1), 0),
        "the first revocation stays, no new event"
    );
    assert!(
        state(&db, &others).0.is_some(),
        "another client's key too: whoever holds it may kill it"
    );
    assert_eq!(state(&db, &others).1, 1);
    assert_eq!(state(&db, &spare), (None, 0), "keys not named are untouched");
    // Effective at once.
    s.get("/dois").bearer(&active).send().expect(401);
    s.get("/dois").bearer(&spare).send().expect(200);

    for bad in [
        json!({}),
        json!({"keys": []}),
        json!({"keys": [1]}),
        json!({"keys": vec!["DC.x"; 101]}),
    ] {
        s.post("/credentials/api-keys/revoke-leaked")
            .json(&bad)
            .send()
            .expect(400);
    }
}

#[test]
fn leaked_key_reports_are_rate_limited_per_address() {
    let s = TestServer::with(FIXTURES, |c| c.leak_reports = 2);
    let report = json!({"keys": ["DC.whatever"]});
    for _ in 0..2 {
        s.post("/credentials/api-keys/revoke-leaked")
            .json(&report)
            .send()
            .expect(202);
    }
    let r = s
        .post("/credentials/api-keys/revoke-leaked")
        .json(&report)
        .send()
        .expect(429);
    assert!(r.header("retry-after").is_some());
    // Other routes keep their own limits.
    s.get("/heartbeat").send().expect(200);
}

/// A GitHub-like signer: its key-list entry and a function signing bodies.
fn signer(id: &str) -> (Value, impl Fn(&[u8]) -> String) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // SubjectPublicKeyInfo of a P-256 key: a fixed 26-byte header, then the point.
    let header = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
    let header: Vec<u8> = (0..header.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&header[i..i + 2], 16).unwrap())
        .collect();
    let spki = [header, pair.public_key().as_ref().to_vec()].concat();
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
        &b64[..64],
        &b64[64..]
    );
    let entry = json!({"key_identifier": id, "key": pem, "is_current": true});
    let sign = move |body: &[u8]| {
        let sig = pair.sign(&SystemRandom::new(), body).unwrap();
        base64::engine::general_purpose::STANDARD.encode(sig.as_ref())
    };
    (entry, sign)
}

fn scan(s: &TestServer, key_id: &str, signature: &str, body: &[u8]) -> Resp {
    s.post("/credentials/secret-scanning")
        .header("Content-Type", "application/json")
        .header("Github-Public-Key-Identifier", key_id)
        .header("Github-Public-Key-Signature", signature)
        .body(body.to_vec())
        .send()
}

#[test]
fn github_secret_scanning_checks_the_signature_and_revokes_true_positives() {
    let (entry, sign) = signer("github-1");
    let (_, impostor) = signer("github-1");
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("github-keys.json");
    std::fs::write(&key_file, json!({"public_keys": [entry]}).to_string()).unwrap();
    let s = TestServer::with(FIXTURES, |c| c.secret_scanning_keys = Some(key_file.clone()));
    let db = s.db();
    let leaked = insert_key(&db, CLIENT);
    let unknown = tinydoi::keys::format::generate().unwrap();
    let body = json!([
        {"token": leaked, "type": "tinydoi_api_key", "url": "https://github.com/o/r/blob/x/a.env", "source": "content"},
        {"token": unknown, "type": "tinydoi_api_key", "url": "https://github.com/o/r", "source": "commit"},
        {"token": "DC.typo", "type": "tinydoi_api_key", "url": "https://github.com/o/r", "source": "commit"}
    ])
    .to_string();

    // Wrong key, tampered body, unknown identifier, no signature: 403/400, nothing revoked.
    scan(&s, "github-1", &impostor(body.as_bytes()), body.as_bytes()).expect(403);
    let tampered = body.replace("a.env", "b.env");
    scan(&s, "github-1", &sign(body.as_bytes()), tampered.as_bytes()).expect(403);
    scan(&s, "github-2", &sign(body.as_bytes()), body.as_bytes()).expect(403);
    s.post("/credentials/secret-scanning")
        .body(body.clone())
        .send()
        .expect(400);
    assert_eq!(state(&db, &leaked), (None, 0));

    let r = scan(&s, "github-1", &sign(body.as_bytes()), body.as_bytes()).expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!([
            {"token_raw": leaked, "token_type": "tinydoi_api_key", "label": "true_positive"},
            {"token_raw": unknown, "token_type": "tinydoi_api_key", "label": "false_positive"},
            {"token_raw": "DC.typo", "token_type": "tinydoi_api_key", "label": "false_positive"}
        ])
    );
    assert!(state(&db, &leaked).0.is_some());
    assert_eq!(state(&db, &leaked).1, 1);
    s.get("/dois").bearer(&leaked).send().expect(401);
}

#[test]
fn secret_scanning_is_off_without_keys_and_a_bad_key_file_stops_the_start() {
    let s = TestServer::start();
    s.post("/credentials/secret-scanning").body("[]").send().expect(404);

    let (mut config, dir) = TestServer::config(FIXTURES);
    let bad = dir.path().join("keys.json");
    std::fs::write(
        &bad,
        r#"{"public_keys":[{"key_identifier":"a","key":"not PEM","is_current":true}]}"#,
    )
    .unwrap();
    config.secret_scanning_keys = Some(bad);
    let error = format!("{:#}", tinydoi::server::Server::start(config).err().expect("refused"));
    assert!(error.contains("key a is not a PEM P-256 public key"), "{error}");
}
