//! Usage reports (CONTRACT §11): create, replace per creator/client/month, read, list,
//! update, delete, ownership, validation, API keys, compressed variants.

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use std::io::Write;

use crate::support::*;

fn header(created_by: &str, begin: &str, end: &str) -> Value {
    json!({
        "report-name": "dataset report",
        "report-id": "dsr",
        "release": "rd1",
        "created": "2026-10-02T10:00:00Z",
        "created-by": created_by,
        "reporting-period": {"begin-date": begin, "end-date": end},
        "report-filters": [],
        "exceptions": []
    })
}

fn datasets(title: &str) -> Value {
    json!([{
        "dataset-title": title,
        "dataset-id": [{"type": "doi", "value": "10.5072/abc"}],
        "platform": "demo",
        "performance": [{
            "period": {"begin-date": "2026-09-01", "end-date": "2026-09-30"},
            "instance": [{"metric-type": "total-dataset-requests", "access-method": "regular", "count": 21}]
        }]
    }])
}

fn september(created_by: &str, title: &str) -> Value {
    json!({"report-header": header(created_by, "2026-09-01", "2026-09-30"), "report-datasets": datasets(title)})
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn rows(s: &TestServer) -> Vec<(String, String, String, String)> {
    let db = s.db();
    let mut stmt = db
        .prepare("SELECT id, client, created_by, month FROM reports ORDER BY created, id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

fn create(s: &TestServer, body: &Value) -> String {
    let r = s.post("/reports").client_auth().json(body).send().expect(201);
    r.json()["report"]["id"].as_str().unwrap().to_string()
}

#[test]
fn create_then_replace_for_the_same_creator_and_month() {
    let s = TestServer::start();
    let r = s
        .post("/reports")
        .client_auth()
        .json(&september("dataone", "first"))
        .send()
        .expect(201);
    let body = r.json();
    let id = body["report"]["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(r.header("location"), Some(format!("/reports/{id}").as_str()));
    assert_eq!(
        body["report"]["report-header"],
        header("dataone", "2026-09-01", "2026-09-30")
    );
    assert_eq!(body["report"]["report-datasets"], datasets("first"));
    assert_eq!(
        rows(&s),
        vec![(
            id.clone(),
            CLIENT.to_string(),
            "dataone".to_string(),
            "2026-09".to_string()
        )]
    );

    // Same creator, client and month: replaced, same id, 200.
    let r = s
        .post("/reports")
        .client_auth()
        .json(&september("dataone", "second"))
        .send()
        .expect(200);
    assert_eq!(r.json()["report"]["id"], id.as_str());
    assert_eq!(rows(&s).len(), 1);
    let shown = s.get(&format!("/reports/{id}")).send().expect(200).json();
    assert_eq!(shown["report"]["report-datasets"], datasets("second"));

    // Another creator, another month or another client: new reports.
    create(&s, &september("zenodo", "x"));
    let october = json!({"report-header": header("dataone", "2026-10-01", "2026-10-31"), "report-datasets": []});
    create(&s, &october);
    s.post("/reports")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&september("dataone", "other"))
        .send()
        .expect(201);
    assert_eq!(rows(&s).len(), 4);
}

#[test]
fn reports_are_public_to_read_and_list() {
    let s = TestServer::start();
    let a = create(&s, &september("dataone", "a"));
    let b = create(&s, &september("zenodo", "b"));
    let october = json!({"report-header": header("dataone", "2025-10-01", "2025-10-31"), "report-datasets": []});
    let c = create(&s, &october);
    let d = s
        .post("/reports")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&september("dataone", "d"))
        .send()
        .expect(201)
        .json()["report"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = s.get(&format!("/reports/{a}")).send().expect(200);
    assert_eq!(r.json()["report"]["report-datasets"], datasets("a"));
    s.get("/reports/00000000-0000-4000-8000-000000000000")
        .send()
        .expect(404);

    let ids = |v: &Value| -> Vec<String> {
        v["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = s.get("/reports").send().expect(200).json();
    assert_eq!(all["meta"]["total"], 4);
    assert_eq!(all["meta"]["page"], 1);
    assert_eq!(all["reports"][0]["report-header"]["report-id"], "dsr");
    assert!(all["reports"][0].get("report-datasets").is_none());

    let mut demo = ids(&s.get("/reports?client-id=demo.repo").send().expect(200).json());
    demo.sort();
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(demo, expected);
    let mut by_creator = ids(&s.get("/reports?created-by=dataone").send().expect(200).json());
    by_creator.sort();
    let mut expected = vec![a.clone(), c.clone(), d.clone()];
    expected.sort();
    assert_eq!(by_creator, expected);
    assert_eq!(
        ids(&s.get("/reports?year=2025").send().expect(200).json()),
        vec![c.clone()]
    );
    let both = s
        .get("/reports?client-id=OTHER.REPO&created-by=dataone&year=2026")
        .send()
        .expect(200)
        .json();
    assert_eq!(ids(&both), vec![d.clone()]);

    let page1 = s.get("/reports?page[size]=3&page[number]=1").send().expect(200).json();
    let page2 = s.get("/reports?page[size]=3&page[number]=2").send().expect(200).json();
    assert_eq!(ids(&page1).len(), 3);
    assert_eq!(ids(&page2).len(), 1);
    assert_eq!(page2["meta"]["total-pages"], 2);
    let mut seen = [ids(&page1), ids(&page2)].concat();
    seen.sort();
    let mut expected = vec![a, b, c, d];
    expected.sort();
    assert_eq!(seen, expected);
}

#[test]
fn owner_updates_and_deletes_others_get_403() {
    let s = TestServer::start();
    let id = create(&s, &september("dataone", "original"));
    let path = format!("/reports/{id}");

    s.put(&path).json(&september("dataone", "x")).send().expect(401);
    s.put(&path)
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&september("dataone", "x"))
        .send()
        .expect(403);
    s.put(&path)
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&september("dataone", "x"))
        .send()
        .expect(403);
    s.delete(&path).auth(OTHER_CLIENT, OTHER_PASSWORD).send().expect(403);
    let shown = s.get(&path).send().expect(200).json();
    assert_eq!(shown["report"]["report-datasets"], datasets("original"));

    let r = s
        .put(&path)
        .client_auth()
        .json(&september("dataone", "updated"))
        .send()
        .expect(200);
    assert_eq!(r.json()["report"]["id"], id.as_str());
    assert_eq!(r.json()["report"]["report-datasets"], datasets("updated"));
    let shown = s.get(&path).send().expect(200).json();
    assert_eq!(shown["report"]["report-datasets"], datasets("updated"));

    // Moving it onto the month of another report of the same creator is a conflict.
    let october = json!({"report-header": header("dataone", "2026-10-01", "2026-10-31"), "report-datasets": []});
    let other = create(&s, &october);
    s.put(&path).client_auth().json(&october).send().expect(409);
    s.put(&path).client_auth().body("{").send().expect(422);
    s.put("/reports/00000000-0000-4000-8000-000000000000")
        .client_auth()
        .json(&october)
        .send()
        .expect(404);

    s.delete(&path).client_auth().send().expect(204);
    s.get(&path).send().expect(404);
    s.delete(&path).client_auth().send().expect(404);
    assert_eq!(rows(&s).into_iter().map(|r| r.0).collect::<Vec<_>>(), vec![other]);
}

#[test]
fn api_keys_work_like_the_password() {
    let s = TestServer::start();
    let key = insert_key(&s.db(), CLIENT);
    let r = s
        .post("/reports")
        .bearer(&key)
        .json(&september("dataone", "by key"))
        .send()
        .expect(201);
    let id = r.json()["report"]["id"].as_str().unwrap().to_string();
    assert_eq!(rows(&s)[0].1, CLIENT);
    // The password owns what the key created, and the reverse.
    s.post("/reports")
        .client_auth()
        .json(&september("dataone", "by password"))
        .send()
        .expect(200);
    s.put(&format!("/reports/{id}"))
        .auth(&key, "")
        .json(&september("dataone", "by key again"))
        .send()
        .expect(200);
    s.delete(&format!("/reports/{id}")).bearer(&key).send().expect(204);
}

#[test]
fn anonymous_inactive_and_non_clients_cannot_post() {
    let s = TestServer::start();
    s.post("/reports").json(&september("dataone", "x")).send().expect(401);
    s.post("/reports")
        .auth(CLIENT, "wrong")
        .json(&september("dataone", "x"))
        .send()
        .expect(401);
    s.post("/reports")
        .auth("ADMIN", ADMIN_PASSWORD)
        .json(&september("dataone", "x"))
        .send()
        .expect(403);
    s.db()
        .execute("UPDATE clients SET is_active = 0 WHERE symbol = ?1", [CLIENT])
        .unwrap();
    s.post("/reports")
        .client_auth()
        .json(&september("dataone", "x"))
        .send()
        .expect(403);
    assert!(rows(&s).is_empty());
}

#[test]
fn malformed_reports_are_422_with_the_reason() {
    let s = TestServer::start();
    let r = s.post("/reports").client_auth().body("{not json").send().expect(422);
    assert!(r.json()["errors"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Malformed JSON"));

    let mut h = header("dataone", "2026-09-01", "2026-10-31");
    let r = s
        .post("/reports")
        .client_auth()
        .json(&json!({"report-header": h, "report-datasets": []}))
        .send()
        .expect(422);
    let e = &r.json()["errors"][0];
    assert_eq!(e["status"], "422");
    assert_eq!(
        e["title"],
        "Reports are monthly, reporting dates need to be within the same month"
    );
    assert_eq!(e["source"]["pointer"], "/report-header/reporting-period");

    h = header("", "2026-09-01", "2026-09-30");
    h.as_object_mut().unwrap().remove("report-name");
    let r = s
        .post("/reports")
        .client_auth()
        .json(&json!({"report-header": h, "report-datasets": []}))
        .send()
        .expect(422);
    let titles: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(titles, vec!["report-name is required", "created-by is required"]);

    let r = s
        .post("/reports")
        .client_auth()
        .json(&json!({"report-header": header("dataone", "2026-09-01", "2026-09-30")}))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"]["pointer"], "/report-datasets");
    assert!(rows(&s).is_empty());
}

#[test]
fn compressed_reports_from_sushi_senders() {
    let s = TestServer::start();
    let report = september("dataone", "gzipped body");
    // counter-processor and DataCite's guide: the whole body gzipped.
    let r = s
        .post("/reports")
        .client_auth()
        .header("Content-Type", "application/gzip")
        .header("Content-Encoding", "gzip")
        .body(gzip(report.to_string().as_bytes()))
        .send()
        .expect(201);
    let id = r.json()["report"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["report"]["report-datasets"], datasets("gzipped body"));

    // "compressed": Base64 of the gzipped report, header alongside: replaces the first.
    let b64 = |v: &Value| base64::engine::general_purpose::STANDARD.encode(gzip(v.to_string().as_bytes()));
    let inner = september("dataone", "compressed field");
    let r = s
        .post("/reports")
        .client_auth()
        .json(&json!({"report-header": header("dataone", "2026-09-01", "2026-09-30"),
                      "compressed": b64(&inner), "encoding": "gzip"}))
        .send()
        .expect(200);
    assert_eq!(r.json()["report"]["id"], id.as_str());
    let shown = s.get(&format!("/reports/{id}")).send().expect(200).json();
    assert_eq!(shown["report"]["report-datasets"], datasets("compressed field"));

    // report-datasets as Base64 of gzip, on PUT.
    let r = s
        .put(&format!("/reports/{id}"))
        .client_auth()
        .json(&json!({"report-header": header("dataone", "2026-09-01", "2026-09-30"),
                      "report-datasets": b64(&datasets("compressed datasets"))}))
        .send()
        .expect(200);
    assert_eq!(r.json()["report"]["report-datasets"], datasets("compressed datasets"));
    let body: String = s
        .db()
        .query_row("SELECT body FROM reports WHERE id = ?1", [&id], |r| r.get(0))
        .unwrap();
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored["report-datasets"], datasets("compressed datasets"));

    // Not gzip behind the Base64: 422.
    let r = s
        .post("/reports")
        .client_auth()
        .json(&json!({"report-header": header("dataone", "2026-09-01", "2026-09-30"),
                      "compressed": "bm90IGd6aXA="}))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"]["pointer"], "/compressed");
}

#[test]
fn large_reports_up_to_the_body_limit() {
    let s = TestServer::start();
    let many: Vec<Value> = (0..20_000)
        .map(|i| json!({"dataset-title": format!("dataset {i}"), "dataset-id": [{"type": "doi", "value": format!("10.5072/{i}")}]}))
        .collect();
    let report = json!({"report-header": header("dataone", "2026-09-01", "2026-09-30"), "report-datasets": many});
    let size = report.to_string().len();
    assert!(size > 1_500_000 && size < 10 * 1024 * 1024, "{size}");
    let id = create(&s, &report);
    let shown = s.get(&format!("/reports/{id}")).send().expect(200).json();
    assert_eq!(shown["report"]["report-datasets"].as_array().unwrap().len(), 20_000);
}
