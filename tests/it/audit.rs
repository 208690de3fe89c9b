//! Who acted, in the audit trail (issue 18): every key change records the account that
//! made it (the client itself, its provider, staff) and the key it used, in the database
//! row and as the `actor`/`actorKeyId` attributes of `/credentials/audit-events`; changes
//! no account made (command line, fixtures, failed authentication, anonymous leaked-key
//! reports) record none. The console's side is in `console.rs`.

use crate::support::*;
use serde_json::{json, Value};

const KEYS: &str = "/credentials/api-keys";
const EVENTS: &str = "/credentials/audit-events";

/// (action, client, actor, actor_key_id) of an audit event.
type ActorRow = (String, Option<String>, Option<String>, Option<String>);

/// Every audit event, oldest first.
fn actor_rows(s: &TestServer) -> Vec<ActorRow> {
    s.app().recorder.flush();
    let db = s.db();
    let mut stmt = db
        .prepare("SELECT action, client, actor, actor_key_id FROM audit_events ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn row(action: &str, client: &str, actor: Option<&str>) -> ActorRow {
    (action.into(), Some(client.into()), actor.map(Into::into), None)
}

/// (action, actor, actorKeyId) of the events `call` lists, oldest first.
fn listed(call: Call) -> Vec<(String, Value, Value)> {
    let v = call.send().expect(200).json();
    let mut out: Vec<_> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let a = &e["attributes"];
            (
                a["action"].as_str().unwrap().to_string(),
                a["actor"].clone(),
                a["actorKeyId"].clone(),
            )
        })
        .collect();
    out.reverse();
    out
}

/// Creates, rotates and revokes a key of DEMO.REPO as `auth` (with `?client-id=` for a
/// provider or staff), each answered as the API answers its owner.
fn manage_keys(s: &TestServer, query: &str, auth: impl Fn(Call) -> Call) {
    let body = json!({"data": {"type": "api-keys", "attributes": {"name": "audited"}}});
    let created = auth(s.post(&format!("{KEYS}{query}")))
        .json(&body)
        .send()
        .expect(201)
        .json();
    let id = created["data"]["id"].as_str().unwrap().to_string();
    let rotated = auth(s.post(&format!("{KEYS}/{id}/rotate{query}")))
        .send()
        .expect(201)
        .json();
    let new_id = rotated["data"]["id"].as_str().unwrap().to_string();
    auth(s.delete(&format!("{KEYS}/{new_id}{query}"))).send().expect(204);
}

fn key_events(actor: Option<&str>) -> Vec<ActorRow> {
    ["key.created", "key.created", "key.rotated", "key.revoked"]
        .iter()
        .map(|a| row(a, CLIENT, actor))
        .collect()
}

fn listed_key_events(actor: &str) -> Vec<(String, Value, Value)> {
    ["key.created", "key.created", "key.rotated", "key.revoked"]
        .iter()
        .map(|a| (a.to_string(), json!(actor), Value::Null))
        .collect()
}

#[test]
fn a_client_managing_its_own_keys_is_the_actor() {
    let s = TestServer::start();
    manage_keys(&s, "", Call::client_auth);
    assert_eq!(actor_rows(&s), key_events(Some(CLIENT)));
    assert_eq!(listed(s.get(EVENTS).client_auth()), listed_key_events(CLIENT));
}

#[test]
fn a_provider_managing_a_clients_keys_is_named_as_the_actor() {
    let s = TestServer::start();
    let provider = |c: Call| c.auth(PROVIDER, PROVIDER_PASSWORD);
    manage_keys(&s, "?client-id=DEMO.REPO", provider);
    assert_eq!(actor_rows(&s), key_events(Some(PROVIDER)));
    // The client sees who changed its keys; so does the provider.
    assert_eq!(listed(s.get(EVENTS).client_auth()), listed_key_events(PROVIDER));
    assert_eq!(listed(provider(s.get(EVENTS))), listed_key_events(PROVIDER));
}

#[test]
fn staff_managing_a_clients_keys_is_named_as_admin() {
    let s = TestServer::start();
    let admin = |c: Call| c.auth("ADMIN", ADMIN_PASSWORD);
    manage_keys(&s, "?client-id=DEMO.REPO", admin);
    assert_eq!(actor_rows(&s), key_events(Some("ADMIN")));
    assert_eq!(listed(s.get(EVENTS).client_auth()), listed_key_events("ADMIN"));
    assert_eq!(listed(admin(s.get(EVENTS))), listed_key_events("ADMIN"));
}

#[test]
fn events_no_account_caused_name_no_actor() {
    let s = TestServer::start();
    let (_, key) = create_key(&s, "leaks");
    // Failed authentication: the account is the event's subject, not its actor.
    s.get("/clients/DEMO.REPO").auth(CLIENT, "wrong").send().expect(401);
    // The recorder writes failed authentications off the request path: wait for it, so
    // the next event is written after this one.
    s.app().recorder.flush();
    // An anonymous leaked-key report.
    s.post("/credentials/api-keys/revoke-leaked")
        .json(&json!({"keys": [key]}))
        .send()
        .expect(202);
    // The operator's command line.
    let db = s.db();
    tinydoi::keys::manage::create(
        &db,
        CLIENT,
        "from the shell",
        None,
        &Default::default(),
        &Default::default(),
        tinydoi::time::now(),
    )
    .unwrap();
    assert_eq!(
        actor_rows(&s),
        vec![
            row("key.created", CLIENT, Some(CLIENT)),
            row("auth.failed", CLIENT, None),
            row("key.revoked_leaked", CLIENT, None),
            row("key.created", CLIENT, None),
        ]
    );
    let listed = listed(s.get(EVENTS).client_auth());
    assert_eq!(listed[1], ("auth.failed".into(), Value::Null, Value::Null));
    assert_eq!(listed[2], ("key.revoked_leaked".into(), Value::Null, Value::Null));
    assert_eq!(listed[3], ("key.created".into(), Value::Null, Value::Null));
}

#[test]
fn an_actor_with_a_key_is_listed_with_the_key_id() {
    // Keys manage no keys today, so the event is recorded as a future one would be.
    let s = TestServer::start();
    let db = s.db();
    let event = tinydoi::db::audit::Event {
        actor: Some(tinydoi::db::audit::Actor {
            account: CLIENT.into(),
            key_id: Some("3f1c0d9e-key".into()),
        }),
        ..tinydoi::db::audit::Event::for_client(CLIENT, "key.created")
    };
    tinydoi::db::audit::record(&db, &event, tinydoi::time::now()).unwrap();
    assert_eq!(
        listed(s.get(EVENTS).client_auth()),
        vec![("key.created".into(), json!(CLIENT), json!("3f1c0d9e-key"))]
    );
}
