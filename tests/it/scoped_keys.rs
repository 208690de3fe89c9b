//! Scoped API keys (issue 19): scopes against every route that needs one, prefix limits on
//! reads and writes, allowed networks over IPv4 and IPv6.

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::support::*;

/// Creates a key of the demo client with extra attributes (`scopes`, `prefixes`, …).
fn limited_key(s: &TestServer, attributes: Value) -> (String, String) {
    let mut attrs = json!({"name": "limited"});
    attrs
        .as_object_mut()
        .unwrap()
        .extend(attributes.as_object().unwrap().clone());
    let r = s
        .post("/credentials/api-keys")
        .client_auth()
        .json(&json!({"data": {"type": "api-keys", "attributes": attrs}}))
        .send()
        .expect(201);
    let v = r.json();
    (
        v["data"]["id"].as_str().unwrap().to_string(),
        v["data"]["attributes"]["key"].as_str().unwrap().to_string(),
    )
}

/// Everything a refused request must leave as it was: DOIs, their media and reports.
fn snapshot(db: &Connection) -> String {
    db.query_row(
        "SELECT (SELECT count(*) || ':' || coalesce(group_concat(doi || state || updated || coalesce(url, '')
                   || coalesce(updated_by, '') || length(xml), ','), '') FROM dois)
             || '|' || (SELECT count(*) FROM media)
             || '|' || (SELECT count(*) || coalesce(group_concat(id || updated, ','), '') FROM reports)
             || '|' || (SELECT count(*) FROM datafiles)",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn report() -> Value {
    json!({
        "report-header": {
            "report-name": "dataset report", "report-id": "dsr", "release": "rd1",
            "created": "2026-10-02T10:00:00Z", "created-by": "scoped",
            "reporting-period": {"begin-date": "2026-09-01", "end-date": "2026-09-30"},
            "report-filters": [], "exceptions": []
        },
        "report-datasets": [{
            "dataset-title": "t", "dataset-id": [{"type": "doi", "value": "10.5072/target"}], "platform": "demo",
            "performance": [{"period": {"begin-date": "2026-09-01", "end-date": "2026-09-30"},
                "instance": [{"metric-type": "total-dataset-requests", "access-method": "regular", "count": 1}]}]
        }]
    })
}

/// One route in the scope table: method, path, content type and body, the scope it needs.
struct Case {
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    needs: &'static str,
}

fn case(
    method: &'static str,
    path: &str,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
    needs: &'static str,
) -> Case {
    Case {
        method,
        path: path.to_string(),
        content_type,
        body: body.into(),
        needs,
    }
}

/// Every write route (REST, MDS, reports), the data file link and the DOI reads.
fn cases(report_id: &str) -> Vec<Case> {
    let json = "application/vnd.api+json";
    let xml = "application/xml";
    let text = "text/plain";
    let titles = json!({"data": {"type": "dois", "attributes": {"titles": [{"title": "changed"}]}}}).to_string();
    let new_doi = json!({"data": {"type": "dois", "attributes": {"doi": "10.5072/created-by-key"}}}).to_string();
    let report = report().to_string();
    vec![
        case("POST", "/dois", json, new_doi, "dois:write"),
        case("PUT", "/dois/10.5072/target", json, titles.clone(), "dois:write"),
        case("PATCH", "/dois/10.5072/target", json, titles, "dois:write"),
        case("DELETE", "/dois/10.5072/victim-rest", json, "", "dois:write"),
        case(
            "PUT",
            "/metadata/10.5072/target",
            xml,
            video_record("10.5072/target"),
            "dois:write",
        ),
        case(
            "POST",
            "/metadata/10.5072/target",
            xml,
            video_record("10.5072/target"),
            "dois:write",
        ),
        case("POST", "/metadata", xml, video_record("10.5072/posted"), "dois:write"),
        case("DELETE", "/metadata/10.5072/target", text, "", "dois:write"),
        case(
            "PUT",
            "/doi/10.5072/target",
            text,
            "doi=10.5072/target\nurl=https://example.org/t",
            "dois:write",
        ),
        case(
            "POST",
            "/doi",
            text,
            "doi=10.5072/target\nurl=https://example.org/t",
            "dois:write",
        ),
        case("DELETE", "/doi/10.5072/victim-mds", text, "", "dois:write"),
        case(
            "POST",
            "/media/10.5072/target",
            text,
            "application/pdf=https://example.org/t.pdf",
            "dois:write",
        ),
        case("POST", "/reports", json, report.clone(), "reports:write"),
        case("PUT", &format!("/reports/{report_id}"), json, report, "reports:write"),
        case("DELETE", &format!("/reports/{report_id}"), json, "", "reports:write"),
        case("GET", "/credentials/datafile", json, "", "datafile:read"),
        case("GET", "/dois/10.5072/target", json, "", "dois:read"),
        case("GET", "/dois", json, "", "dois:read"),
        case("GET", "/metadata/10.5072/target", text, "", "dois:read"),
        case("GET", "/doi/10.5072/target", text, "", "dois:read"),
        case("GET", "/doi", text, "", "dois:read"),
        case("GET", "/media/10.5072/target", text, "", "dois:read"),
    ]
}

/// Password-made state the cases act on: drafts to change and delete, a report.
fn seed(s: &TestServer) -> String {
    for doi in ["10.5072/target", "10.5072/victim-rest", "10.5072/victim-mds"] {
        s.put(&format!("/metadata/{doi}"))
            .client_auth()
            .header("Content-Type", "application/xml")
            .body(video_record(doi))
            .send()
            .expect(201);
    }
    let r = s.post("/reports").client_auth().json(&report()).send().expect(201);
    r.json()["report"]["id"].as_str().unwrap().to_string()
}

#[test]
fn every_scope_against_every_route_that_needs_one() {
    let s = TestServer::start();
    // Keys with one scope each; dois:write includes dois:read.
    let keys: Vec<(&str, Vec<&str>, String)> = ["dois:read", "dois:write", "reports:write", "datafile:read"]
        .into_iter()
        .map(|scope| {
            let (_, key) = limited_key(&s, json!({"scopes": [scope]}));
            let granted = if scope == "dois:write" {
                vec!["dois:write", "dois:read"]
            } else {
                vec![scope]
            };
            (scope, granted, key)
        })
        .collect();
    let report_id = seed(&s);
    let db = s.db();
    let mut allowed_count = 0;
    for (scope, granted, key) in &keys {
        for c in cases(&report_id) {
            let before = snapshot(&db);
            let r = s
                .req(c.method, &c.path)
                .bearer(key)
                .header("Content-Type", c.content_type)
                .body(c.body.clone())
                .send();
            let what = format!("key {scope}: {} {} -> {} {}", c.method, c.path, r.status, r.text());
            if granted.contains(&c.needs) {
                allowed_count += 1;
                assert!(![401, 403].contains(&r.status), "{what}");
            } else {
                assert_eq!(r.status, 403, "{what}");
                assert!(r.text().contains(&format!("lacks the scope {}", c.needs)), "{what}");
                assert_eq!(snapshot(&db), before, "a refused request changed nothing: {what}");
            }
        }
    }
    assert_eq!(allowed_count, 28, "each case ran with a key that has its scope");
    // The allowed writes did happen, recorded as made by a key.
    let created = doi_row(&db, "10.5072/created-by-key").expect("created by the dois:write key");
    assert!(created.updated_by.unwrap().starts_with("apiKey:"));
    assert!(doi_row(&db, "10.5072/victim-rest").is_none());
    assert!(doi_row(&db, "10.5072/victim-mds").is_none());
    // Unlimited keys and passwords are unchanged: every scope.
    let unlimited = insert_key(&db, CLIENT);
    s.get("/credentials/datafile").bearer(&unlimited).send().expect(200);
    s.post("/reports").bearer(&unlimited).json(&report()).send().expect(201);
}

#[test]
fn scopes_prefixes_and_networks_are_checked_on_create() {
    let s = TestServer::start();
    let db = s.db();
    let before: i64 = db.query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0)).unwrap();
    for (attributes, pointer) in [
        (json!({"scopes": ["dois:admin"]}), "scopes"),
        (json!({"scopes": []}), "scopes"),
        (json!({"scopes": "dois:read"}), "scopes"),
        (json!({"prefixes": ["10.5073"]}), "prefixes"),
        (json!({"prefixes": [7]}), "prefixes"),
        (json!({"allowedNetworks": ["10.0.0.1/8"]}), "allowedNetworks"),
        (json!({"allowedNetworks": ["example.org"]}), "allowedNetworks"),
    ] {
        let mut attrs = json!({"name": "bad"});
        attrs
            .as_object_mut()
            .unwrap()
            .extend(attributes.as_object().unwrap().clone());
        let r = s
            .post("/credentials/api-keys")
            .client_auth()
            .json(&json!({"data": {"attributes": attrs}}))
            .send()
            .expect(422);
        assert_eq!(
            r.json()["errors"][0]["source"]["pointer"],
            format!("/data/attributes/{pointer}"),
            "{attributes}"
        );
    }
    let after: i64 = db.query_row("SELECT count(*) FROM api_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(before, after);
}

fn two_prefix_fixtures() -> String {
    FIXTURES.replace(r#""prefixes": ["10.5072"]"#, r#""prefixes": ["10.5072", "10.5074"]"#)
}

#[test]
fn prefix_limits_on_reads_and_writes() {
    let s = TestServer::with(&two_prefix_fixtures(), |_| {});
    let db = s.db();
    for doi in ["10.5072/mine", "10.5074/hidden", "10.5074/public"] {
        s.put(&format!("/metadata/{doi}"))
            .client_auth()
            .header("Content-Type", "application/xml")
            .body(video_record(doi))
            .send()
            .expect(201);
    }
    s.put("/doi/10.5074/public")
        .client_auth()
        .body("doi=10.5074/public\nurl=https://example.org/p")
        .send()
        .expect(201);
    let (id, key) = limited_key(&s, json!({"prefixes": ["10.5072"]}));

    // Writes under another prefix: 403 naming it, nothing stored.
    let before = snapshot(&db);
    let r = s
        .post("/dois")
        .bearer(&key)
        .json(&json!({"data": {"attributes": {"prefix": "10.5074"}}}))
        .send()
        .expect(403);
    assert_eq!(r.json()["errors"][0]["title"], "This API key lacks the prefix 10.5074.");
    let r = s
        .put("/metadata/10.5074/new")
        .bearer(&key)
        .header("Content-Type", "application/xml")
        .body(video_record("10.5074/new"))
        .send()
        .expect(403);
    assert_eq!(r.text(), "This API key lacks the prefix 10.5074.");
    s.put("/metadata/10.5074")
        .bearer(&key)
        .header("Content-Type", "application/xml")
        .body(video_record("10.5074/x"))
        .send()
        .expect(403);
    // Its own drafts under another prefix are unknown to the key, as another client's.
    s.get("/dois/10.5074/hidden").bearer(&key).send().expect(404);
    s.get("/metadata/10.5074/hidden").bearer(&key).send().expect(404);
    s.delete("/dois/10.5074/hidden").bearer(&key).send().expect(404);
    s.post("/media/10.5074/hidden")
        .bearer(&key)
        .body("application/pdf=https://example.org/a.pdf")
        .send()
        .expect(404);
    s.put("/dois/10.5074/hidden")
        .bearer(&key)
        .json(&json!({"data": {"attributes": {"titles": [{"title": "x"}]}}}))
        .send()
        .expect(403);
    assert_eq!(snapshot(&db), before);
    // Findable DOIs stay public.
    s.get("/dois/10.5074/public").bearer(&key).send().expect(200);
    // Lists: its prefix's drafts and every findable DOI; MDS lists the key's prefixes only.
    let v = s
        .get("/dois?state=draft,findable")
        .bearer(&key)
        .send()
        .expect(200)
        .json();
    let mut ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["10.5072/mine", "10.5074/public"]);
    assert_eq!(
        s.get("/doi").bearer(&key).send().status,
        204,
        "no minted DOI under 10.5072"
    );
    assert_eq!(s.get("/doi").client_auth().send().expect(200).text(), "10.5074/PUBLIC");

    // Under its prefix it works as before.
    s.post("/dois")
        .bearer(&key)
        .json(&json!({"data": {"attributes": {"prefix": "10.5072"}}}))
        .send()
        .expect(201);
    s.get("/dois/10.5072/mine").bearer(&key).send().expect(200);
    s.delete("/dois/10.5072/mine").bearer(&key).send().expect(204);

    // The list shows the limits; rotation keeps them.
    let list = s.get("/credentials/api-keys").client_auth().send().expect(200).json();
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["attributes"]["prefixes"], json!(["10.5072"]));
    let rotated = s
        .post(&format!("/credentials/api-keys/{id}/rotate"))
        .client_auth()
        .send()
        .expect(201)
        .json();
    assert_eq!(rotated["data"]["attributes"]["prefixes"], json!(["10.5072"]));
    let new_key = rotated["data"]["attributes"]["key"].as_str().unwrap();
    s.get("/dois/10.5074/hidden").bearer(new_key).send().expect(404);
    s.get("/dois/10.5074/hidden").client_auth().send().expect(200);
}

#[test]
fn audit_events_and_the_cli_show_the_limits() {
    let s = TestServer::start();
    let (id, _) = limited_key(
        &s,
        json!({"scopes": ["dois:read"], "prefixes": ["10.5072"], "allowedNetworks": ["10.0.0.0/8", "2001:db8::/32"]}),
    );
    let v = s
        .get("/credentials/audit-events")
        .client_auth()
        .send()
        .expect(200)
        .json();
    let created = &v["data"][0]["attributes"];
    assert_eq!(
        (created["action"].as_str(), created["apiKeyId"].as_str()),
        (Some("key.created"), Some(id.as_str()))
    );
    assert_eq!(created["scopes"], json!(["dois:read"]));
    assert_eq!(created["prefixes"], json!(["10.5072"]));
    assert_eq!(created["allowedNetworks"], json!(["10.0.0.0/8", "2001:db8::/32"]));
    let stored: (String, String, String) = s
        .db()
        .query_row(
            "SELECT scopes, prefixes, allowed_networks FROM api_keys WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        stored,
        ("dois:read".into(), "10.5072".into(), "10.0.0.0/8 2001:db8::/32".into())
    );

    // The CLI creates with the same rules and lists the limits.
    let cli = |args: &[&str]| crate::keys::tinydoi_cli(&s.db_path, args);
    let base = ["key", "create", "--client", "demo.repo", "--name", "ci"];
    let out = cli(&[
        &base[..],
        &["--scopes", "dois:read,reports:write", "--prefixes", "10.5072"],
    ]
    .concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&[&base[..], &["--prefixes", "10.5073"]].concat());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("10.5073 is not a prefix of DEMO.REPO"));
    let out = cli(&["key", "list", "--client", "demo.repo"]);
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("scopes=dois:read,reports:write prefixes=10.5072 networks=all"),
        "{listed}"
    );
    assert!(
        listed.contains("scopes=dois:read prefixes=10.5072 networks=10.0.0.0/8,2001:db8::/32"),
        "{listed}"
    );
}

#[test]
fn allowed_networks_over_ipv4() {
    let s = TestServer::start();
    let (_, here) = limited_key(&s, json!({"allowedNetworks": ["127.0.0.0/8"]}));
    let (elsewhere_id, elsewhere) = limited_key(&s, json!({"allowedNetworks": ["10.0.0.0/8", "::1/128"]}));
    s.get("/dois").bearer(&here).send().expect(200);
    let r = s.get("/dois").bearer(&elsewhere).send().expect(401);
    assert!(r.header("www-authenticate").is_some());
    s.get("/doi").auth(&elsewhere, "").send().expect(401);
    s.app().recorder.flush();
    let refused: Vec<(String, String)> = {
        let db = s.db();
        let mut stmt = db
            .prepare("SELECT api_key_id, remote_addr FROM audit_events WHERE action = 'key.network_refused'")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(refused.len(), 2);
    assert!(
        refused.iter().all(|(k, a)| *k == elsewhere_id && a == "127.0.0.1"),
        "{refused:?}"
    );
}

#[test]
fn allowed_networks_over_ipv6() {
    let s = TestServer::with(FIXTURES, |c| c.listen = "[::1]:0".into());
    let (_, here) = limited_key(&s, json!({"allowedNetworks": ["::1/128"]}));
    let (_, v4_only) = limited_key(&s, json!({"allowedNetworks": ["127.0.0.0/8"]}));
    s.get("/dois").bearer(&here).send().expect(200);
    s.get("/dois").bearer(&v4_only).send().expect(401);
    s.app().recorder.flush();
    let addr: String = s
        .db()
        .query_row(
            "SELECT remote_addr FROM audit_events WHERE action = 'key.network_refused'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(addr, "::1");
}

#[test]
fn fixture_keys_take_limits_checked_as_on_create() {
    let key = tinydoi::keys::format::generate().unwrap();
    let with_limits = |prefixes: Value| {
        let mut f: Value = serde_json::from_str(FIXTURES).unwrap();
        f["apiKeys"] = json!([{"client": "demo.repo", "name": "ci", "key": key,
            "scopes": ["dois:read"], "prefixes": prefixes, "allowedNetworks": ["127.0.0.1/32"]}]);
        f.to_string()
    };
    let s = TestServer::with(&with_limits(json!(["10.5072"])), |_| {});
    let stored: (String, String, String) = s
        .db()
        .query_row("SELECT scopes, prefixes, allowed_networks FROM api_keys", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(stored, ("dois:read".into(), "10.5072".into(), "127.0.0.1/32".into()));
    s.get("/dois").bearer(&key).send().expect(200);
    s.post("/reports").bearer(&key).json(&report()).send().expect(403);

    let (mut config, dir) = TestServer::config(&with_limits(json!(["10.5073"])));
    config.db_path = dir.path().join("other.db");
    let error = format!("{:#}", tinydoi::server::Server::start(config).err().expect("refused"));
    assert!(error.contains("10.5073 is not a prefix of DEMO.REPO"), "{error}");
}
