//! API keys end to end (CONTRACT §2, §3; issue 3): create, list, use, revoke, rotate,
//! expire, lastUsedAt, audit events, fixtures, CLI, concurrency.

use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::support::*;
use tinydoi::keys::format;

const KEYS: &str = "/credentials/api-keys";
const KEY_MESSAGE: &str = "API keys cannot manage credentials; use the repository password.";

fn name_body(name: &str) -> Value {
    json!({"data": {"type": "api-keys", "attributes": {"name": name}}})
}

fn key_count(db: &Connection) -> i64 {
    count(db, "SELECT count(*) FROM api_keys")
}

/// (client, name, key_prefix, key_hash, revoked_at, expires_at, rotated_from, last_used_at) of a key.
type KeyState = (
    String,
    String,
    String,
    Vec<u8>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn key_state(db: &Connection, id: &str) -> Option<KeyState> {
    db.query_row(
        "SELECT client, name, key_prefix, key_hash, revoked_at, expires_at, rotated_from, last_used_at FROM api_keys WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        },
    )
    .optional()
    .unwrap()
}

/// An authenticated read any client may do; shows private fields to the client itself.
fn whoami(s: &TestServer, call: impl FnOnce(Call) -> Call) -> Resp {
    call(s.get("/clients/DEMO.REPO")).send()
}

fn now() -> i64 {
    tinydoi::time::now()
}

#[test]
fn create_with_password_and_a_json_body_labelled_as_form() {
    let s = TestServer::start();
    // What `curl -d '{…}'` sends: JSON labelled application/x-www-form-urlencoded.
    let before = now();
    let r = s
        .post(KEYS)
        .client_auth()
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(name_body("  Dataverse key ").to_string())
        .send()
        .expect(201);
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    let v = r.json();
    let data = &v["data"];
    let id = data["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);
    assert_eq!(data["type"], "apiKeys");
    let a = &data["attributes"];
    let key = a["key"].as_str().unwrap();
    assert_eq!(format::parse(key).as_deref(), Some(key));
    assert_eq!(a["name"], "Dataverse key");
    assert_eq!(a["keyPrefix"], &key[..11]);
    assert_eq!(a["created"], a["updated"]);
    let created = tinydoi::time::parse_rfc3339(a["created"].as_str().unwrap()).unwrap();
    assert!(created >= before && created <= now());
    for null in ["lastUsedAt", "revokedAt", "expiresAt"] {
        assert_eq!(a[null], Value::Null, "{null}");
    }
    assert_eq!(
        data["relationships"],
        json!({"client": {"data": {"id": "DEMO.REPO", "type": "clients"}}})
    );
    assert_eq!(a.as_object().unwrap().len(), 8);

    let db = s.db();
    let (client, name, prefix, hash, revoked, expires, rotated, used) = key_state(&db, id).unwrap();
    assert_eq!((client.as_str(), name.as_str()), ("DEMO.REPO", "Dataverse key"));
    assert_eq!(prefix, &key[..11]);
    assert_eq!(hash, format::hash(key), "stored as SHA-256");
    assert_eq!((revoked, expires, rotated, used), (None, None, None, None));
    assert_eq!(
        audit_events(&s),
        vec![(
            "key.created".into(),
            Some("DEMO.REPO".into()),
            Some(id.into()),
            Some("127.0.0.1".into())
        )]
    );

    // Form fields in bracket notation work as well.
    let r = s
        .post(KEYS)
        .client_auth()
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("data%5Btype%5D=api-keys&data%5Battributes%5D%5Bname%5D=Form+key")
        .send()
        .expect(201);
    assert_eq!(r.json()["data"]["attributes"]["name"], "Form key");
    assert_eq!(key_count(&s.db()), 2);
}

#[test]
fn create_rejects_bad_payloads_and_changes_nothing() {
    let s = TestServer::start();
    let blank = json!({"errors": [{"status": "422", "title": "Name can't be blank", "source": {"pointer": "/data/attributes/name"}}]});
    for body in [
        name_body("   "),
        json!({"data": {"type": "api-keys", "attributes": {}}}),
        json!({"data": {"type": "api-keys"}}),
        json!({"data": {"attributes": {"name": 5}}}),
    ] {
        let r = s.post(KEYS).client_auth().json(&body).send().expect(422);
        assert_eq!(r.json(), blank, "{body}");
    }
    let r = s
        .post(KEYS)
        .client_auth()
        .json(&name_body(&"x".repeat(192)))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"]["pointer"], "/data/attributes/name");
    s.post(KEYS)
        .client_auth()
        .json(&name_body(&"é".repeat(191)))
        .send()
        .expect(201);

    let jsonapi =
        json!({"errors": [{"status": "400", "title": "You need to provide a payload following the JSONAPI spec"}]});
    for body in ["{not json", "", "[]", r#"{"name":"x"}"#, r#"{"data":"x"}"#] {
        let r = s.post(KEYS).client_auth().body(body).send().expect(400);
        assert_eq!(r.json(), jsonapi, "{body}");
    }

    let past = json!({"data": {"attributes": {"name": "n", "expiresAt": "2001-01-01T00:00:00Z"}}});
    let r = s.post(KEYS).client_auth().json(&past).send().expect(422);
    assert_eq!(r.json()["errors"][0]["source"]["pointer"], "/data/attributes/expiresAt");
    for bad in [
        json!({"data": {"attributes": {"name": "n", "expiresAt": "tomorrow"}}}),
        json!({"data": {"attributes": {"name": "n", "expiresIn": "soon"}}}),
        json!({"data": {"attributes": {"name": "n", "expiresIn": "0s"}}}),
        json!({"data": {"attributes": {"name": "n", "expiresIn": "1d", "expiresAt": "2100-01-01T00:00:00Z"}}}),
    ] {
        s.post(KEYS).client_auth().json(&bad).send().expect(422);
    }
    assert_eq!(key_count(&s.db()), 1, "only the 191-character name was stored");
}

#[test]
fn plain_key_is_neither_in_the_database_files_nor_in_the_logs() {
    capture_logs();
    let s = TestServer::start();
    let (id, key) = create_key(&s, "secret");
    whoami(&s, |c| c.auth(&key, "")).expect(200);
    whoami(&s, |c| c.bearer(&key)).expect(200);
    whoami(&s, |c| c.auth(CLIENT, &key)).expect(200);
    s.get(&format!("/dois?key={key}")).send();
    s.get(KEYS).client_auth().send().expect(200);
    s.app().recorder.flush();
    let rotated = s.post(&format!("{KEYS}/{id}/rotate")).client_auth().send().expect(201);
    let new_key = rotated.json()["data"]["attributes"]["key"]
        .as_str()
        .unwrap()
        .to_string();

    let mut files = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", s.db_path.display());
        files.extend(std::fs::read(&path).unwrap_or_default());
    }
    let contains = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(&files, &format::hash(&key)),
        "the files hold the hash (so we look in the right place)"
    );
    for plain in [&key, &new_key] {
        assert!(!contains(&files, plain.as_bytes()), "plain key in the database files");
        assert!(
            !contains(&files, &plain.as_bytes()[11..]),
            "secret part of the key in the database files"
        );
    }

    let logs = captured_logs();
    assert!(
        logs.contains("POST /credentials/api-keys 201"),
        "the access log is captured: {logs}"
    );
    assert!(
        !logs.contains(&key[11..]) && !logs.contains(&new_key[11..]),
        "a key was logged"
    );
    assert!(
        !logs.to_ascii_lowercase().contains("authorization"),
        "the Authorization header was logged"
    );
}

#[test]
fn list_shows_keys_newest_first_without_the_key() {
    let s = TestServer::start();
    let (first, _) = create_key(&s, "first");
    let (second, _) = create_key(&s, "second");
    let r = s
        .post(KEYS)
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&name_body("other's"))
        .send()
        .expect(201);
    let others = r.json()["data"]["id"].as_str().unwrap().to_string();

    let r = s.get(KEYS).client_auth().send().expect(200);
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    let v = r.json();
    assert_eq!(v["meta"]["total"], 2);
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()]);
    for k in v["data"].as_array().unwrap() {
        assert_eq!(k["type"], "apiKeys");
        assert!(k["attributes"].get("key").is_none(), "list shows a key: {k}");
        for attr in [
            "name",
            "keyPrefix",
            "created",
            "updated",
            "lastUsedAt",
            "revokedAt",
            "expiresAt",
        ] {
            assert!(k["attributes"].get(attr).is_some(), "{attr} missing");
        }
    }
    assert_eq!(v["data"][1]["attributes"]["name"], "first");

    let r = s.get(KEYS).auth(OTHER_CLIENT, OTHER_PASSWORD).send().expect(200);
    assert_eq!(r.json()["meta"]["total"], 1);
    assert_eq!(r.json()["data"][0]["id"], others.as_str());

    let r = s.get(KEYS).send().expect(401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"tinydoi\""));
    assert_eq!(r.json()["errors"][0]["title"], "Bad credentials.");
    s.get(KEYS).auth(CLIENT, "wrong").send().expect(401);
    s.get(KEYS).header("Authorization", "Digest x").send().expect(401);
    // Another client's id in client-id is not a way around the scope.
    s.get(&format!("{KEYS}?client-id=OTHER.REPO"))
        .client_auth()
        .send()
        .expect(403);
}

#[test]
fn include_revoked_lists_active_first_then_latest_ended() {
    let s = TestServer::start();
    let (a, _) = create_key(&s, "a");
    let (b, _) = create_key(&s, "b");
    let (c, _) = create_key(&s, "c");
    let (d, _) = create_key(&s, "d");
    s.delete(&format!("{KEYS}/{a}")).client_auth().send().expect(204);
    s.delete(&format!("{KEYS}/{c}")).client_auth().send().expect(204);
    let db = s.db();
    db.execute("UPDATE api_keys SET revoked_at = 1000 WHERE id = ?1", [&a])
        .unwrap();
    db.execute("UPDATE api_keys SET revoked_at = 3000 WHERE id = ?1", [&c])
        .unwrap();
    db.execute("UPDATE api_keys SET expires_at = 2000 WHERE id = ?1", [&d])
        .unwrap();

    let ids = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = s.get(KEYS).client_auth().send().expect(200).json();
    assert_eq!(ids(&r), vec![b.clone()]);
    assert_eq!(r["meta"]["total"], 1);
    let r = s
        .get(&format!("{KEYS}?include_revoked=true"))
        .client_auth()
        .send()
        .expect(200)
        .json();
    assert_eq!(ids(&r), vec![b, c, d, a]);
    assert_eq!(r["meta"]["total"], 4);
    assert_eq!(r["data"][1]["attributes"]["revokedAt"], "1970-01-01T00:50:00Z");
    assert_eq!(r["data"][2]["attributes"]["expiresAt"], "1970-01-01T00:33:20Z");
}

#[test]
fn a_key_authenticates_in_every_form_as_its_client() {
    let s = TestServer::start();
    let (_, key) = create_key(&s, "ci");
    let runs = s.app().auth.pbkdf2_runs();
    let lower = key.replacen("DC.", "dc.", 1);
    let forms: Vec<Box<dyn Fn(Call) -> Call>> = vec![
        Box::new(|c| c.auth(&key, "")),
        Box::new(|c| c.auth(&key, "any password is discarded")),
        Box::new(|c| c.auth(&lower, "")),
        Box::new(|c| c.auth("demo.repo", &key)),
        Box::new(|c| c.auth(CLIENT, &key)),
        Box::new(|c| c.bearer(&key)),
    ];
    for form in &forms {
        let r = whoami(&s, form).expect(200);
        assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
        assert!(r.header("x-anonymous-consumer").is_none());
        let attrs = &r.json()["data"]["attributes"];
        assert_eq!(
            attrs["contactEmail"], "repo@example.org",
            "private fields shown to the client's key"
        );
        assert_eq!(attrs["apiKeyCount"], 1);
    }
    assert_eq!(s.app().auth.pbkdf2_runs(), runs, "no PBKDF2 work is spent on keys");

    // The same key is no credential of another client.
    let r = whoami(&s, |c| c.auth(OTHER_CLIENT, &key)).expect(401);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"tinydoi\""));
    // The password keeps working, and anonymous readers see only public fields.
    let r = whoami(&s, |c| c.client_auth()).expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    let r = whoami(&s, |c| c).expect(200);
    assert!(r.json()["data"]["attributes"].get("contactEmail").is_none());
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
}

#[test]
fn a_key_cannot_manage_keys() {
    let s = TestServer::start();
    let (id, key) = create_key(&s, "ci");
    let before = (key_count(&s.db()), audit_actions(&s));
    let forbidden = json!({"errors": [{"status": "403", "title": KEY_MESSAGE}]});
    let calls: Vec<Box<dyn Fn() -> Call>> = vec![
        Box::new(|| s.post(KEYS).json(&name_body("by key"))),
        Box::new(|| s.get(KEYS)),
        Box::new(|| s.delete(&format!("{KEYS}/{id}"))),
        Box::new(|| s.post(&format!("{KEYS}/{id}/rotate"))),
        Box::new(|| s.get("/credentials/audit-events")),
    ];
    for call in &calls {
        for r in [
            call().bearer(&key).send(),
            call().auth(&key, "").send(),
            call().auth(CLIENT, &key).send(),
        ] {
            let r = r.expect(403);
            assert_eq!(r.json(), forbidden);
        }
    }
    let db = s.db();
    assert_eq!((key_count(&db), audit_actions(&s)), before);
    assert_eq!(key_state(&db, &id).unwrap().4, None, "still not revoked");
}

#[test]
fn a_bad_checksum_is_rejected_without_a_database_lookup() {
    let s = TestServer::start();
    let (_, key) = create_key(&s, "ci");
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = format::generate().unwrap();

    let lookups = s.app().auth.key_lookups();
    for r in [whoami(&s, |c| c.bearer(&typo)), whoami(&s, |c| c.auth(&typo, ""))] {
        assert_eq!(r.json()["errors"][0]["title"], "Bad credentials.");
        r.expect(401);
    }
    assert_eq!(
        s.app().auth.key_lookups(),
        lookups,
        "a bad checksum reached the database"
    );
    whoami(&s, |c| c.bearer(&unknown)).expect(401);
    assert_eq!(
        s.app().auth.key_lookups(),
        lookups + 1,
        "a well-formed key is looked up"
    );
    whoami(&s, |c| c.bearer(&key)).expect(200);
    assert_eq!(s.app().auth.key_lookups(), lookups + 2);
}

#[test]
fn revoke_takes_effect_on_the_very_next_request() {
    let s = TestServer::start();
    let (id, key) = create_key(&s, "to revoke");
    let (kept, _) = create_key(&s, "kept");
    whoami(&s, |c| c.bearer(&key)).expect(200);

    // Another client's key id is unknown to this client.
    let r = s
        .delete(&format!("{KEYS}/{id}"))
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(404);
    assert_eq!(
        r.json()["errors"][0]["title"],
        "The resource you are looking for doesn't exist."
    );
    assert_eq!(key_state(&s.db(), &id).unwrap().4, None);
    s.delete(&format!("{KEYS}/no-such-key"))
        .client_auth()
        .send()
        .expect(404);
    s.delete(&format!("{KEYS}/{id}")).send().expect(401);

    let r = s.delete(&format!("{KEYS}/{id}")).client_auth().send().expect(204);
    assert!(r.body.is_empty());
    whoami(&s, |c| c.bearer(&key)).expect(401);
    whoami(&s, |c| c.auth(CLIENT, &key)).expect(401);
    let list = s.get(KEYS).client_auth().send().expect(200).json();
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(list["data"][0]["id"], kept.as_str());

    let db = s.db();
    let revoked_at = key_state(&db, &id).unwrap().4.expect("revoked_at set");
    assert!(revoked_at <= now());
    // Revoking again is 204 and keeps the first revokedAt, without a second event.
    db.execute("UPDATE api_keys SET revoked_at = 1234 WHERE id = ?1", [&id])
        .unwrap();
    s.delete(&format!("{KEYS}/{id}")).client_auth().send().expect(204);
    assert_eq!(key_state(&db, &id).unwrap().4, Some(1234));
    let revokes: Vec<_> = audit_events(&s).into_iter().filter(|e| e.0 == "key.revoked").collect();
    assert_eq!(
        revokes,
        vec![(
            "key.revoked".into(),
            Some("DEMO.REPO".into()),
            Some(id.clone()),
            Some("127.0.0.1".into())
        )]
    );
    let r = s
        .get(&format!("{KEYS}?include_revoked=true"))
        .client_auth()
        .send()
        .expect(200)
        .json();
    assert_eq!(r["data"][1]["attributes"]["revokedAt"], "1970-01-01T00:20:34Z");
}

#[test]
fn providers_and_staff_manage_their_clients_keys_with_client_id() {
    let s = TestServer::start();
    let (demo_key, _) = create_key(&s, "demo's");
    let other_key = s
        .post(KEYS)
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&name_body("other's"))
        .send()
        .expect(201)
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Provider DEMO: its client only.
    let r = s
        .post(&format!("{KEYS}?client-id=demo.repo"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&name_body("by provider"))
        .send()
        .expect(201);
    let v = r.json();
    assert_eq!(v["data"]["relationships"]["client"]["data"]["id"], "DEMO.REPO");
    let by_provider = v["data"]["id"].as_str().unwrap().to_string();
    let key = v["data"]["attributes"]["key"].as_str().unwrap().to_string();
    let r = whoami(&s, |c| c.bearer(&key)).expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    assert_eq!(key_state(&s.db(), &by_provider).unwrap().0, "DEMO.REPO");

    s.post(KEYS)
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&name_body("x"))
        .send()
        .expect(400);
    s.post(&format!("{KEYS}?client-id=OTHER.REPO"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&name_body("x"))
        .send()
        .expect(403);
    s.get(&format!("{KEYS}?client-id=OTHER.REPO"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(403);
    let r = s
        .get(&format!("{KEYS}?client-id=DEMO.REPO"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(200);
    assert_eq!(r.json()["meta"]["total"], 2);
    let r = s.get(KEYS).auth(PROVIDER, PROVIDER_PASSWORD).send().expect(200);
    assert_eq!(
        r.json()["meta"]["total"],
        2,
        "without client-id: all of the provider's clients"
    );
    s.delete(&format!("{KEYS}/{other_key}"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(404);
    assert_eq!(key_state(&s.db(), &other_key).unwrap().4, None);
    s.delete(&format!("{KEYS}/{demo_key}"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(204);
    assert!(key_state(&s.db(), &demo_key).unwrap().4.is_some());
    let r = s
        .get("/credentials/audit-events")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(200)
        .json();
    assert!(r["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["relationships"]["client"]["data"]["id"] == "DEMO.REPO"));

    // Staff: everybody's, or one client's.
    let r = s.get(KEYS).auth("ADMIN", ADMIN_PASSWORD).send().expect(200);
    assert_eq!(r.json()["meta"]["total"], 2);
    let r = s
        .get(&format!("{KEYS}?client-id=OTHER.REPO&include_revoked=true"))
        .auth("ADMIN", ADMIN_PASSWORD)
        .send()
        .expect(200);
    assert_eq!(r.json()["meta"]["total"], 1);
    assert_eq!(r.json()["data"][0]["id"], other_key.as_str());
    s.get(&format!("{KEYS}?client-id=NO.SUCH"))
        .auth("ADMIN", ADMIN_PASSWORD)
        .send()
        .expect(404);
    s.post(&format!("{KEYS}?client-id=OTHER.REPO"))
        .auth("ADMIN", ADMIN_PASSWORD)
        .json(&name_body("by staff"))
        .send()
        .expect(201);
    s.delete(&format!("{KEYS}/{other_key}"))
        .auth("ADMIN", ADMIN_PASSWORD)
        .send()
        .expect(204);
    let r = s.get(KEYS).auth(OTHER_CLIENT, OTHER_PASSWORD).send().expect(200).json();
    assert_eq!(r["meta"]["total"], 1);
    assert_eq!(r["data"][0]["attributes"]["name"], "by staff");
}

#[test]
fn keys_expire() {
    let s = TestServer::start();
    let before = now();
    let r = s
        .post(KEYS)
        .client_auth()
        .json(&json!({"data": {"attributes": {"name": "90 days", "expiresIn": "90d"}}}))
        .send()
        .expect(201)
        .json();
    let expires = tinydoi::time::parse_rfc3339(r["data"]["attributes"]["expiresAt"].as_str().unwrap()).unwrap();
    assert!(expires >= before + 90 * 86400 && expires <= now() + 90 * 86400);
    let id = r["data"]["id"].as_str().unwrap().to_string();
    let key = r["data"]["attributes"]["key"].as_str().unwrap().to_string();
    assert_eq!(key_state(&s.db(), &id).unwrap().5, Some(expires));

    let r = s
        .post(KEYS)
        .client_auth()
        .json(&json!({"data": {"attributes": {"name": "fixed", "expiresAt": "2100-01-01T02:00:00+02:00"}}}))
        .send()
        .expect(201)
        .json();
    assert_eq!(r["data"]["attributes"]["expiresAt"], "2100-01-01T00:00:00Z");

    whoami(&s, |c| c.bearer(&key)).expect(200);
    let db = s.db();
    db.execute(
        "UPDATE api_keys SET expires_at = ?2 WHERE id = ?1",
        rusqlite::params![id, now() - 1],
    )
    .unwrap();
    whoami(&s, |c| c.bearer(&key)).expect(401);
    s.app().recorder.flush();
    let last = audit_events(&s).pop().unwrap();
    assert_eq!(
        last,
        (
            "key.expired_use".into(),
            Some("DEMO.REPO".into()),
            Some(id.clone()),
            Some("127.0.0.1".into())
        )
    );
    let r = s.get(KEYS).client_auth().send().expect(200).json();
    assert_eq!(r["meta"]["total"], 1, "expired keys are left out");
    let r = s
        .get(&format!("{KEYS}?include_revoked=true"))
        .client_auth()
        .send()
        .expect(200)
        .json();
    assert_eq!(r["meta"]["total"], 2);
    assert_eq!(r["data"][1]["id"], id.as_str());
}

#[test]
fn rotate_replaces_a_key_with_or_without_grace() {
    let s = TestServer::start();
    let (old, old_key) = create_key(&s, "rotating");
    let r = s.post(&format!("{KEYS}/{old}/rotate")).client_auth().send().expect(201);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    let new = v["data"]["id"].as_str().unwrap().to_string();
    let new_key = v["data"]["attributes"]["key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(v["data"]["attributes"]["name"], "rotating");
    assert_eq!(v["data"]["attributes"]["expiresAt"], Value::Null);
    let db = s.db();
    assert!(key_state(&db, &old).unwrap().4.is_some(), "grace 0: revoked at once");
    assert_eq!(key_state(&db, &new).unwrap().6.as_deref(), Some(old.as_str()));
    let events = audit_events(&s);
    assert_eq!(events[events.len() - 2].0, "key.created");
    assert_eq!(events[events.len() - 2].2.as_deref(), Some(new.as_str()));
    assert_eq!(
        events[events.len() - 1],
        (
            "key.rotated".into(),
            Some("DEMO.REPO".into()),
            Some(old.clone()),
            Some("127.0.0.1".into())
        )
    );
    whoami(&s, |c| c.bearer(&old_key)).expect(401);
    whoami(&s, |c| c.bearer(&new_key)).expect(200);

    // A grace period keeps the old key working until it ends.
    let before = now();
    let r = s
        .post(&format!("{KEYS}/{new}/rotate"))
        .client_auth()
        .json(&json!({"data": {"attributes": {"gracePeriod": "1h"}}}))
        .send()
        .expect(201)
        .json();
    let newest_key = r["data"]["attributes"]["key"].as_str().unwrap().to_string();
    whoami(&s, |c| c.bearer(&new_key)).expect(200);
    whoami(&s, |c| c.bearer(&newest_key)).expect(200);
    let (.., revoked, expires, _, _) = key_state(&db, &new).unwrap();
    assert_eq!(revoked, None);
    let expires = expires.unwrap();
    assert!(expires >= before + 3600 && expires <= now() + 3600);

    // Refusals change nothing.
    let count = key_count(&db);
    for grace in [json!("8d"), json!("soon"), json!(-1)] {
        let body = json!({"data": {"attributes": {"gracePeriod": grace}}});
        let r = s
            .post(&format!("{KEYS}/{new}/rotate"))
            .client_auth()
            .json(&body)
            .send()
            .expect(422);
        assert_eq!(
            r.json()["errors"][0]["source"]["pointer"],
            "/data/attributes/gracePeriod"
        );
    }
    s.post(&format!("{KEYS}/{new}/rotate"))
        .client_auth()
        .body("{bad")
        .send()
        .expect(400);
    let r = s.post(&format!("{KEYS}/{old}/rotate")).client_auth().send().expect(422);
    assert_eq!(r.json()["errors"][0]["title"], "A revoked key cannot be rotated");
    db.execute("UPDATE api_keys SET expires_at = 5 WHERE id = ?1", [&new])
        .unwrap();
    let r = s.post(&format!("{KEYS}/{new}/rotate")).client_auth().send().expect(422);
    assert_eq!(r.json()["errors"][0]["title"], "An expired key cannot be rotated");
    let newest = r_id(&s, &newest_key);
    s.post(&format!("{KEYS}/{newest}/rotate"))
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(404);
    s.post(&format!("{KEYS}/{newest}/rotate")).send().expect(401);
    assert_eq!(key_count(&db), count);
    assert_eq!(key_state(&db, &newest).unwrap().4, None);
}

/// The id of a key, from the list (by its prefix).
fn r_id(s: &TestServer, key: &str) -> String {
    let list = s.get(KEYS).client_auth().send().expect(200).json();
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["attributes"]["keyPrefix"] == key[..11])
        .map(|k| k["id"].as_str().unwrap().to_string())
        .expect("key listed")
}

#[test]
fn rotation_keeps_the_lifetime_of_an_expiring_key() {
    let s = TestServer::start();
    let r = s
        .post(KEYS)
        .client_auth()
        .json(&json!({"data": {"attributes": {"name": "short", "expiresIn": "1h"}}}))
        .send()
        .expect(201)
        .json();
    let id = r["data"]["id"].as_str().unwrap();
    let db = s.db();
    db.execute("UPDATE api_keys SET created = created - 600 WHERE id = ?1", [id])
        .unwrap();
    let before = now();
    let r = s
        .post(&format!("{KEYS}/{id}/rotate"))
        .client_auth()
        .send()
        .expect(201)
        .json();
    let expires = tinydoi::time::parse_rfc3339(r["data"]["attributes"]["expiresAt"].as_str().unwrap()).unwrap();
    assert!(
        expires >= before + 4200 && expires <= now() + 4200,
        "same 70-minute lifetime from now"
    );
}

#[test]
fn last_used_at_is_written_off_the_request_path_once_a_minute() {
    let s = TestServer::start();
    let (id, key) = create_key(&s, "used");
    let db = s.db();
    assert_eq!(key_state(&db, &id).unwrap().7, None);
    let before = now();
    whoami(&s, |c| c.bearer(&key)).expect(200);
    s.app().recorder.flush();
    let used = key_state(&db, &id).unwrap().7.expect("lastUsedAt written");
    assert!(used >= before && used <= now());
    let r = s.get(KEYS).client_auth().send().expect(200).json();
    assert_eq!(
        r["data"][0]["attributes"]["lastUsedAt"],
        tinydoi::time::rfc3339(used).as_str()
    );

    // Within the minute, further uses write nothing.
    db.execute("UPDATE api_keys SET last_used_at = 5 WHERE id = ?1", [&id])
        .unwrap();
    for _ in 0..3 {
        whoami(&s, |c| c.auth(&key, "")).expect(200);
    }
    s.app().recorder.flush();
    assert_eq!(key_state(&db, &id).unwrap().7, Some(5));

    // Shutting down writes what is pending.
    let (other, other_key) = create_key(&s, "used at shutdown");
    whoami(&s, |c| c.bearer(&other_key)).expect(200);
    let mut s = s;
    s.stop();
    assert!(key_state(&db, &other).unwrap().7.is_some());
}

#[test]
fn audit_events_record_key_changes_and_failed_authentication() {
    let s = TestServer::start();
    let (id, key) = create_key(&s, "audited");
    s.delete(&format!("{KEYS}/{id}")).client_auth().send().expect(204);
    whoami(&s, |c| c.bearer(&key)).expect(401);
    whoami(&s, |c| c.auth(CLIENT, "wrong password")).expect(401);
    whoami(&s, |c| c.auth("NO.SUCH", "wrong password")).expect(401);
    whoami(&s, |c| c.auth(CLIENT, &format::generate().unwrap())).expect(401);
    s.app().recorder.flush();

    let r = s.get("/credentials/audit-events").client_auth().send().expect(200);
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    let v = r.json();
    let got: Vec<(String, Value)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "auditEvents");
            assert_eq!(e["attributes"]["remoteAddr"], "127.0.0.1");
            assert!(tinydoi::time::parse_rfc3339(e["attributes"]["created"].as_str().unwrap()).is_some());
            (
                e["attributes"]["action"].as_str().unwrap().to_string(),
                e["attributes"]["apiKeyId"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("auth.failed".to_string(), Value::Null),
            ("auth.failed".to_string(), Value::Null),
            ("auth.failed".to_string(), json!(id)),
            ("key.revoked".to_string(), json!(id)),
            ("key.created".to_string(), json!(id)),
        ]
    );
    assert_eq!(v["meta"]["total"], 5);
    assert_eq!(v["data"][4]["attributes"]["keyPrefix"], &key[..11]);
    assert_eq!(audit_events(&s).len(), 5, "the unknown account left no event");

    let r = s
        .get("/credentials/audit-events?page[size]=2&page[number]=2")
        .client_auth()
        .send()
        .expect(200)
        .json();
    assert_eq!(r["data"].as_array().unwrap().len(), 2);
    assert_eq!(r["data"][0]["attributes"]["action"], "auth.failed");
    assert_eq!(r["meta"]["totalPages"], 3);

    let r = s
        .get("/credentials/audit-events")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(200)
        .json();
    assert_eq!(r["meta"]["total"], 0);
    s.get("/credentials/audit-events").send().expect(401);

    // Password changes (by the operator) are in the same trail.
    tinydoi::manage::set_password(&s.db(), CLIENT, "new-password", 10).unwrap();
    let r = s
        .get("/credentials/audit-events")
        .auth(CLIENT, "new-password")
        .send()
        .expect(200)
        .json();
    assert_eq!(r["data"][0]["attributes"]["action"], "password.changed");
}

const INACTIVE_FIXTURES: &str = r#"{
  "providers": [{"symbol": "DEMO", "password": "provider-password"}],
  "clients": [{"symbol": "DEMO.REPO", "provider": "DEMO", "password": "demo-password",
               "prefixes": ["10.5072"], "isActive": false}]
}"#;

#[test]
fn an_inactive_clients_keys_are_read_only() {
    let s = TestServer::with(INACTIVE_FIXTURES, |_| {});
    let db = s.db();
    db.execute("UPDATE clients SET is_active = 1", []).unwrap();
    let (id, key) = create_key(&s, "made while active");
    db.execute("UPDATE clients SET is_active = 0", []).unwrap();

    // Its key still reads, as the client itself.
    let r = whoami(&s, |c| c.bearer(&key)).expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    assert_eq!(r.json()["data"]["attributes"]["isActive"], false);
    // Writes: no new key for an inactive client, by its password or its provider.
    let r = s.post(KEYS).client_auth().json(&name_body("new")).send().expect(403);
    assert!(r.json()["errors"][0]["title"].as_str().unwrap().contains("inactive"));
    s.post(&format!("{KEYS}?client-id=DEMO.REPO"))
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&name_body("new"))
        .send()
        .expect(403);
    s.post(&format!("{KEYS}/{id}/rotate")).client_auth().send().expect(403);
    s.post(KEYS).bearer(&key).json(&name_body("new")).send().expect(403);
    assert_eq!(key_count(&db), 1);
    assert_eq!(
        key_state(&db, &id).unwrap().4,
        None,
        "the failed rotation revoked nothing"
    );
    // Reading its keys and revoking them (taking access away) stay possible.
    assert_eq!(s.get(KEYS).client_auth().send().expect(200).json()["meta"]["total"], 1);
    s.delete(&format!("{KEYS}/{id}")).client_auth().send().expect(204);
    whoami(&s, |c| c.bearer(&key)).expect(401);
}

fn fixtures_with_key(key: &str, name: &str, expires_at: &str) -> String {
    let base: Value = serde_json::from_str(FIXTURES).unwrap();
    let mut f = base;
    f["apiKeys"] = json!([{"client": "demo.repo", "name": name, "key": key, "expiresAt": serde_json::from_str::<Value>(expires_at).unwrap()}]);
    f.to_string()
}

#[test]
fn fixtures_define_keys_by_value_stored_hashed_and_idempotent() {
    let key = format::generate().unwrap();
    let fixtures = fixtures_with_key(&key, "ci", "null");
    let s = TestServer::with(&fixtures, |_| {});
    let r = whoami(&s, |c| c.auth(&key, "")).expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    let db = s.db();
    let (id, name, hash, expires): (String, String, Vec<u8>, Option<i64>) = db
        .query_row("SELECT id, name, key_hash, expires_at FROM api_keys", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!((name.as_str(), hash, expires), ("ci", format::hash(&key), None));
    assert_eq!(audit_actions(&s), vec!["key.created"]);
    let snapshot = |db: &Connection| -> (i64, i64, i64) {
        db.query_row(
            "SELECT count(*), max(updated), (SELECT count(*) FROM audit_events) FROM api_keys",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let before = snapshot(&db);

    // Loading the same file again (as every start does) changes nothing.
    let parsed = tinydoi::fixtures::parse(&fixtures).unwrap();
    tinydoi::fixtures::load(&db, &parsed, 10).unwrap();
    tinydoi::fixtures::load(&db, &parsed, 10).unwrap();
    assert_eq!(snapshot(&db), before);
    let same_id: String = db.query_row("SELECT id FROM api_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(same_id, id);

    // A bad checksum fails the whole load, naming the entry, and changes nothing.
    let mut typo = key.clone().into_bytes();
    typo[34] = if typo[34] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let mut bad: Value = serde_json::from_str(&fixtures_with_key(&typo, "broken", "null")).unwrap();
    bad["clients"][0]["name"] = json!("Renamed");
    let err = format!(
        "{:#}",
        tinydoi::fixtures::load(&db, &tinydoi::fixtures::parse(&bad.to_string()).unwrap(), 10).unwrap_err()
    );
    assert!(err.contains("apiKeys[0] (broken)"), "{err}");
    assert!(!err.contains(&typo[3..]), "the error shows the key: {err}");
    assert_eq!(snapshot(&db), before);
    let client_name: String = db
        .query_row("SELECT name FROM clients WHERE symbol = 'DEMO.REPO'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(client_name, "Demo Repository");

    // The same key for another client is refused too.
    let mut stolen: Value = serde_json::from_str(&fixtures).unwrap();
    stolen["apiKeys"][0]["client"] = json!("OTHER.REPO");
    let err = format!(
        "{:#}",
        tinydoi::fixtures::load(&db, &tinydoi::fixtures::parse(&stolen.to_string()).unwrap(), 10).unwrap_err()
    );
    assert!(
        err.contains("apiKeys[0] (ci)") && err.contains("another client"),
        "{err}"
    );

    // A later expiry in the file is applied to the stored key.
    let expiring = fixtures_with_key(&key, "ci", "\"2100-01-01T00:00:00Z\"");
    tinydoi::fixtures::load(&db, &tinydoi::fixtures::parse(&expiring).unwrap(), 10).unwrap();
    let expires: Option<i64> = db
        .query_row("SELECT expires_at FROM api_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(expires, tinydoi::time::parse_rfc3339("2100-01-01T00:00:00Z"));
}

#[test]
fn a_server_does_not_start_with_a_bad_fixture_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.json");
    std::fs::write(
        &path,
        fixtures_with_key("DC.notakeynotakeynotakeynotakey0000", "bad", "null"),
    )
    .unwrap();
    let config = tinydoi::config::Config {
        listen: "127.0.0.1:0".into(),
        db_path: dir.path().join("t.db"),
        workers: 1,
        fixtures: Some(path),
        pbkdf2_iterations: 10,
        ..tinydoi::config::Config::default()
    };
    let err = format!(
        "{:#}",
        tinydoi::server::Server::start(config).err().expect("start fails")
    );
    assert!(err.contains("apiKeys[0] (bad)"), "{err}");
    let db = tinydoi::db::open(&dir.path().join("t.db")).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM clients"), 0);
}

fn tinydoi_cli(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tinydoi")
}

#[test]
fn operators_manage_keys_with_the_cli() {
    let s = TestServer::start();
    let out = tinydoi_cli(
        &s.db_path,
        &[
            "key",
            "create",
            "--client",
            "demo.repo",
            "--name",
            "cli key",
            "--expires-in",
            "90d",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(
        format::parse(&key).as_deref(),
        Some(key.as_str()),
        "stdout is the key alone"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&key[..11]) && !stderr.contains(&key[11..]), "{stderr}");
    let r = whoami(&s, |c| c.bearer(&key)).expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));

    let db = s.db();
    let (id, name, expires): (String, String, Option<i64>) = db
        .query_row("SELECT id, name, expires_at FROM api_keys", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(name, "cli key");
    assert!(expires.unwrap() > now() + 89 * 86400);

    let out = tinydoi_cli(&s.db_path, &["key", "list", "--client", "DEMO.REPO"]);
    assert!(out.status.success());
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains(&id) && listed.contains(&key[..11]) && listed.contains("cli key"),
        "{listed}"
    );
    assert!(!listed.contains(&key[11..]));

    let out = tinydoi_cli(&s.db_path, &["key", "revoke", &id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    whoami(&s, |c| c.bearer(&key)).expect(401);
    assert!(key_state(&db, &id).unwrap().4.is_some());
    let out = tinydoi_cli(&s.db_path, &["key", "list", "--client", "DEMO.REPO"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("revoked"));

    let out = tinydoi_cli(&s.db_path, &["key", "revoke", "no-such-id"]);
    assert!(!out.status.success());
    let out = tinydoi_cli(&s.db_path, &["key", "create", "--client", "NO.SUCH", "--name", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NO.SUCH"));
    let out = tinydoi_cli(&s.db_path, &["key", "create", "--client", "DEMO.REPO", "--name", " "]);
    assert!(!out.status.success());
    assert_eq!(key_count(&db), 1);
    s.app().recorder.flush();
    // The CLI records its changes like the API; the revoked key's use is a failed attempt.
    assert_eq!(audit_actions(&s), vec!["key.created", "key.revoked", "auth.failed"]);
}

#[test]
fn concurrent_create_use_and_revoke() {
    let s = TestServer::start();
    let shared: Vec<String> = (0..3).map(|i| create_key(&s, &format!("shared {i}")).1).collect();
    let statuses = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (s, statuses) = (&s, &statuses);
            scope.spawn(move || {
                for i in 0..6 {
                    let (id, key) = create_key(s, &format!("thread {t} key {i}"));
                    let r = whoami(s, |c| c.bearer(&key));
                    statuses.lock().unwrap().push(r.status);
                    assert_eq!(r.status, 200, "a new key works at once");
                    s.delete(&format!("{KEYS}/{id}")).client_auth().send().expect(204);
                    for r in [whoami(s, |c| c.bearer(&key)), whoami(s, |c| c.auth(CLIENT, &key))] {
                        statuses.lock().unwrap().push(r.status);
                        assert_eq!(r.status, 401, "key usable after its revoke returned");
                    }
                }
            });
        }
        for t in 0..2 {
            let (s, statuses, shared) = (&s, &statuses, &shared);
            scope.spawn(move || {
                for i in 0..30 {
                    let r = whoami(s, |c| c.auth(&shared[(i + t) % shared.len()], ""));
                    statuses.lock().unwrap().push(r.status);
                    assert_eq!(r.status, 200);
                }
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    assert!(!statuses.contains(&500));
    assert_eq!(statuses.len(), 4 * 6 * 3 + 2 * 30);
    let db = s.db();
    let active = count(&db, "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL");
    assert_eq!((key_count(&db), active), (3 + 24, 3));
    let revoked_events = audit_actions(&s).iter().filter(|a| *a == "key.revoked").count();
    assert_eq!(revoked_events, 24);
}
