//! REST DOIs (CONTRACT §4, §6, §7): JSON:API `/dois` with states, events, derived metadata,
//! paging and filters, errors in DataCite's shapes, and every credential form.

use base64::Engine;
use serde_json::{json, Value};

use crate::support::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Complete DataCite JSON metadata (everything kernel-4 makes mandatory).
fn metadata() -> Value {
    json!({
        "creators": [{"name": "Garcia, Sofia", "nameType": "Personal", "givenName": "Sofia", "familyName": "Garcia"}],
        "titles": [{"title": "Ocean temperatures of the North Sea"}],
        "publisher": "Example Repository",
        "publicationYear": 2024,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Temperature series"},
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(a), Some(b)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
    base
}

fn body(attributes: Value) -> Value {
    json!({"data": {"type": "dois", "attributes": attributes}})
}

/// A kernel-4 record for `doi`.
fn xml_record(doi: &str, title: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<resource xmlns="http://datacite.org/schema/kernel-4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4/metadata.xsd">
  <identifier identifierType="DOI">{doi}</identifier>
  <creators><creator><creatorName>Nakamura, Ken</creatorName></creator></creators>
  <titles><title>{title}</title></titles>
  <publisher>Example Press</publisher>
  <publicationYear>2023</publicationYear>
  <resourceType resourceTypeGeneral="Text">Report</resourceType>
</resource>
"#
    )
}

fn row(s: &TestServer, doi: &str) -> Option<DoiRow> {
    doi_row(&s.db(), doi)
}

fn create(s: &TestServer, attributes: Value) -> Value {
    s.post("/dois")
        .client_auth()
        .json(&body(attributes))
        .send()
        .expect(201)
        .json()
}

fn publish(s: &TestServer, doi: &str) -> Value {
    create(
        s,
        with(
            metadata(),
            json!({"doi": doi, "url": "https://example.org/data/1", "event": "publish"}),
        ),
    )
}

fn is_random_suffix(suffix: &str) -> bool {
    let b = suffix.as_bytes();
    b.len() == 9
        && b[4] == b'-'
        && suffix
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "0123456789abcdefghjkmnpqrstvwxyz".contains(c))
}

#[test]
fn draft_with_only_a_prefix_gets_a_random_suffix() {
    let s = TestServer::start();
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(json!({"prefix": "10.5072"})))
        .send()
        .expect(201);
    assert_eq!(r.header("content-type"), Some("application/vnd.api+json"));
    let doc = r.json();
    let doi = doc["data"]["id"].as_str().unwrap().to_string();
    let suffix = doi.strip_prefix("10.5072/").expect("under the prefix");
    assert!(is_random_suffix(suffix), "{suffix}");
    assert_eq!(r.header("location"), Some(format!("{}/dois/{doi}", s.base).as_str()));
    let a = &doc["data"]["attributes"];
    assert_eq!(a["doi"], doi);
    assert_eq!(a["prefix"], "10.5072");
    assert_eq!(a["suffix"], suffix);
    assert_eq!(a["state"], "draft");
    assert_eq!(a["url"], Value::Null);
    assert_eq!(a["creators"], json!([]));
    assert_eq!(doc["data"]["type"], "dois");
    assert_eq!(
        doc["data"]["relationships"]["client"]["data"],
        json!({"id": "demo.repo", "type": "clients"}),
        "lupo writes client ids lower case"
    );
    assert_eq!(doc["data"]["meta"]["updatedBy"], "password");
    let row = row(&s, &doi).expect("stored");
    assert_eq!(row.state, "draft");
    assert_eq!(row.client, "DEMO.REPO");
    assert_eq!(row.updated_by.as_deref(), Some("password"));
    assert_eq!(row.registered, None);
}

#[test]
fn draft_with_a_given_doi_is_stored_lower_case_and_may_be_partial() {
    let s = TestServer::start();
    let doc = create(
        &s,
        json!({"doi": "10.5072/Draft-ABC", "titles": [{"title": "Only a title"}]}),
    );
    assert_eq!(doc["data"]["id"], "10.5072/draft-abc");
    assert_eq!(doc["data"]["attributes"]["titles"][0]["title"], "Only a title");
    let row = row(&s, "10.5072/draft-abc").expect("stored");
    assert_eq!(row.state, "draft");
    let stored: Value = serde_json::from_str(row.attributes.as_deref().unwrap()).unwrap();
    assert_eq!(stored["titles"][0]["title"], "Only a title");
    // The DOI is readable by any case.
    let r = s.get("/dois/10.5072/DRAFT-abc").client_auth().send().expect(200);
    assert_eq!(r.json()["data"]["id"], "10.5072/draft-abc");
    // Prefix and suffix given apart.
    let doc = create(&s, json!({"prefix": "10.5072", "suffix": "Split-1"}));
    assert_eq!(doc["data"]["id"], "10.5072/split-1");
    // Neither a DOI nor a prefix: 422; a malformed DOI or prefix too. A DOI without a
    // prefix is 403, as lupo answers `10.aaaa03` (post_spec "when the request is invalid").
    s.post("/dois")
        .client_auth()
        .json(&body(json!({"doi": "10.5072"})))
        .send()
        .expect(403);
    for bad in [json!({"prefix": "5072"}), json!({"doi": "10.5072/a b"})] {
        s.post("/dois").client_auth().json(&body(bad)).send().expect(422);
    }
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(json!({"url": "https://example.org/"})))
        .send()
        .expect(422);
    assert!(r.text().contains("doi"), "{}", r.text());
}

#[test]
fn publish_with_full_metadata_and_url_makes_it_findable() {
    let s = TestServer::start();
    let doc = publish(&s, "10.5072/pub-1");
    let a = &doc["data"]["attributes"];
    assert_eq!(a["state"], "findable");
    assert_eq!(a["url"], "https://example.org/data/1");
    assert_eq!(a["titles"][0]["title"], "Ocean temperatures of the North Sea");
    assert_eq!(a["types"]["resourceTypeGeneral"], "Dataset");
    assert_eq!(a["schemaVersion"], "http://datacite.org/schema/kernel-4");
    assert!(a["registered"].is_string());
    let xml = B64.decode(a["xml"].as_str().unwrap()).unwrap();
    tinydoi::metadata::validate(&xml).expect("the xml attribute is valid kernel-4");
    let row = row(&s, "10.5072/pub-1").unwrap();
    assert_eq!(row.state, "findable");
    assert_eq!(row.url.as_deref(), Some("https://example.org/data/1"));
    assert!(row.registered.is_some());
    tinydoi::metadata::validate(row.xml.as_deref().unwrap()).expect("stored xml is valid");
    // Anyone may read it now.
    let r = s.get("/dois/10.5072/pub-1").send().expect(200);
    assert_eq!(r.json()["data"]["attributes"]["state"], "findable");
    assert!(
        r.json()["data"].get("meta").is_none(),
        "updatedBy is for the owner only"
    );
}

#[test]
fn register_makes_it_registered_and_hidden_from_others() {
    let s = TestServer::start();
    let doc = create(
        &s,
        with(
            metadata(),
            json!({"doi": "10.5072/reg-1", "url": "https://example.org/r", "event": "register"}),
        ),
    );
    assert_eq!(doc["data"]["attributes"]["state"], "registered");
    assert_eq!(row(&s, "10.5072/reg-1").unwrap().state, "registered");
    s.get("/dois/10.5072/reg-1").send().expect(404);
    s.get("/dois/10.5072/reg-1")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(404);
    s.get("/dois/10.5072/reg-1").client_auth().send().expect(200);
}

#[test]
fn hide_and_show() {
    let s = TestServer::start();
    publish(&s, "10.5072/hs");
    let r = s
        .put("/dois/10.5072/hs")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "hide"}}}))
        .send()
        .expect(200);
    assert_eq!(r.json()["data"]["attributes"]["state"], "registered");
    assert_eq!(row(&s, "10.5072/hs").unwrap().state, "registered");
    s.get("/dois/10.5072/hs").send().expect(404);
    let r = s
        .put("/dois/10.5072/hs")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "show"}}}))
        .send()
        .expect(200);
    assert_eq!(r.json()["data"]["attributes"]["state"], "findable");
    assert_eq!(row(&s, "10.5072/hs").unwrap().state, "findable");
    // The Python client's show_doi sends `publish` to a registered DOI.
    s.req("PUT", "/dois/10.5072/hs")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "hide"}}}))
        .send()
        .expect(200);
    s.req("PUT", "/dois/10.5072/hs")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "publish"}}}))
        .send()
        .expect(200);
    assert_eq!(row(&s, "10.5072/hs").unwrap().state, "findable");
    // An event that does not apply leaves the state as it is (DataCite's rule); an unknown
    // one is ignored, as lupo's `event=` setter ignores it.
    create(&s, json!({"doi": "10.5072/hs-draft"}));
    let r = s
        .put("/dois/10.5072/hs-draft")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "hide"}}}))
        .send()
        .expect(200);
    assert_eq!(r.json()["data"]["attributes"]["state"], "draft");
    s.req("PUT", "/dois/10.5072/hs-draft")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "destroy"}}}))
        .send()
        .expect(200);
    assert_eq!(row(&s, "10.5072/hs-draft").unwrap().state, "draft");
}

#[test]
fn update_url() {
    let s = TestServer::start();
    publish(&s, "10.5072/url");
    // As the Python client's update_url sends it: no type, application/json.
    let r = s
        .put("/dois/10.5072/url")
        .client_auth()
        .header("Content-Type", "application/json")
        .body(json!({"data": {"attributes": {"url": "https://example.org/moved"}}}).to_string())
        .send()
        .expect(200);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["url"], "https://example.org/moved");
    assert_eq!(a["state"], "findable");
    assert_eq!(
        row(&s, "10.5072/url").unwrap().url.as_deref(),
        Some("https://example.org/moved")
    );
    // A findable DOI keeps needing a valid URL.
    let r = s
        .put("/dois/10.5072/url")
        .client_auth()
        .json(&json!({"data": {"attributes": {"url": "mailto:someone@example.org"}}}))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"], "url");
    assert_eq!(
        row(&s, "10.5072/url").unwrap().url.as_deref(),
        Some("https://example.org/moved")
    );
}

#[test]
fn updating_one_attribute_keeps_the_others() {
    let s = TestServer::start();
    publish(&s, "10.5072/merge");
    let r = s
        .patch("/dois/10.5072/merge")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {"titles": [{"title": "A better title"}]}}}))
        .send()
        .expect(200);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["titles"], json!([{"title": "A better title"}]));
    assert_eq!(a["creators"][0]["name"], "Garcia, Sofia");
    assert_eq!(a["publisher"], "Example Repository");
    assert_eq!(a["url"], "https://example.org/data/1");
    assert_eq!(a["state"], "findable");
    let row = row(&s, "10.5072/merge").unwrap();
    let xml = String::from_utf8(row.xml.unwrap()).unwrap();
    assert!(xml.contains("A better title") && xml.contains("Garcia, Sofia"), "{xml}");
    let stored: Value = serde_json::from_str(&row.attributes.unwrap()).unwrap();
    assert_eq!(stored["publisher"], "Example Repository");
    // PUT merges the same way.
    let r = s
        .put("/dois/10.5072/merge")
        .client_auth()
        .json(&body(json!({"publicationYear": 2025})))
        .send()
        .expect(200);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["titles"], json!([{"title": "A better title"}]));
    assert_eq!(a["publicationYear"], 2025);
}

#[test]
fn put_creates_an_unknown_doi() {
    let s = TestServer::start();
    let r = s
        .put("/dois/10.5072/by-put")
        .client_auth()
        .json(&body(json!({"titles": [{"title": "T"}]})))
        .send()
        .expect(201);
    assert_eq!(
        r.header("location"),
        Some(format!("{}/dois/10.5072/by-put", s.base).as_str())
    );
    assert_eq!(r.json()["data"]["attributes"]["state"], "draft");
    assert_eq!(row(&s, "10.5072/by-put").unwrap().state, "draft");
}

#[test]
fn delete_a_draft_but_not_a_findable_doi() {
    let s = TestServer::start();
    create(&s, json!({"doi": "10.5072/del"}));
    let r = s.delete("/dois/10.5072/del").client_auth().send().expect(204);
    assert!(r.body.is_empty());
    assert!(row(&s, "10.5072/del").is_none());
    s.get("/dois/10.5072/del").client_auth().send().expect(404);
    s.delete("/dois/10.5072/del").client_auth().send().expect(404);

    publish(&s, "10.5072/keep");
    let r = s.delete("/dois/10.5072/keep").client_auth().send().expect(405);
    let allow = r.header("allow").expect("Allow").to_string();
    assert!(allow.contains("GET") && !allow.contains("DELETE"), "{allow}");
    assert!(row(&s, "10.5072/keep").is_some());
    // Another client cannot delete someone's draft.
    create(&s, json!({"doi": "10.5072/mine"}));
    s.delete("/dois/10.5072/mine")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(404);
    assert!(row(&s, "10.5072/mine").is_some());
}

#[test]
fn writes_need_credentials() {
    let s = TestServer::start();
    let r = s
        .post("/dois")
        .json(&body(json!({"prefix": "10.5072"})))
        .send()
        .expect(401);
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": "401", "title": "Bad credentials."}]})
    );
    assert!(r.header("www-authenticate").is_some());
    s.req("PUT", "/dois/10.5072/x")
        .json(&body(json!({})))
        .send()
        .expect(401);
    s.delete("/dois/10.5072/x").send().expect(401);
    s.post("/dois")
        .auth(CLIENT, "wrong")
        .json(&body(json!({"prefix": "10.5072"})))
        .send()
        .expect(401);
    // Providers and staff do not own prefixes.
    s.post("/dois")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&body(json!({"prefix": "10.5072"})))
        .send()
        .expect(403);
    let n = count(&s.db(), "SELECT count(*) FROM dois");
    assert_eq!(n, 0);
}

#[test]
fn foreign_prefix_is_403() {
    let s = TestServer::start();
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(json!({"prefix": "10.5073"})))
        .send()
        .expect(403);
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": "403", "title": "You are not authorized to access this resource."}]})
    );
    s.post("/dois")
        .client_auth()
        .json(&body(json!({"doi": "10.5073/x"})))
        .send()
        .expect(403);
    s.req("PUT", "/dois/10.5073/x")
        .client_auth()
        .json(&body(json!({})))
        .send()
        .expect(403);
    let n = count(&s.db(), "SELECT count(*) FROM dois");
    assert_eq!(n, 0);
    // Nor may another client update or publish a DOI it does not own.
    create(&s, json!({"doi": "10.5072/owned"}));
    s.req("PUT", "/dois/10.5072/owned")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&body(json!({"url": "https://evil.example/"})))
        .send()
        .expect(403);
    assert_eq!(row(&s, "10.5072/owned").unwrap().url, None);
    // An inactive client may read, not write.
    s.db()
        .execute("UPDATE clients SET is_active = 0 WHERE symbol = 'DEMO.REPO'", [])
        .unwrap();
    s.post("/dois")
        .client_auth()
        .json(&body(json!({"prefix": "10.5072"})))
        .send()
        .expect(403);
    s.get("/dois/10.5072/owned").client_auth().send().expect(200);
}

#[test]
fn taken_doi_is_422_as_lupo() {
    let s = TestServer::start();
    create(&s, json!({"doi": "10.5072/taken", "titles": [{"title": "First"}]}));
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(json!({"doi": "10.5072/TAKEN", "titles": [{"title": "Second"}]})))
        .send()
        .expect(422);
    assert_eq!(
        r.json(),
        json!({"errors": [{"source": "doi", "title": "This DOI has already been taken", "uid": "10.5072/taken"}]})
    );
    let stored: Value = serde_json::from_str(&row(&s, "10.5072/taken").unwrap().attributes.unwrap()).unwrap();
    assert_eq!(stored["titles"][0]["title"], "First");
}

#[test]
fn invalid_metadata_on_publish_is_422_naming_the_property() {
    let s = TestServer::start();
    let mut attributes = with(
        metadata(),
        json!({"doi": "10.5072/bad", "url": "https://example.org/", "event": "publish"}),
    );
    attributes.as_object_mut().unwrap().remove("creators");
    let r = s.post("/dois").client_auth().json(&body(attributes)).send().expect(422);
    let errors = r.json()["errors"].as_array().unwrap().clone();
    assert!(!errors.is_empty());
    assert_eq!(errors[0]["source"], "creators", "{errors:?}");
    assert_eq!(errors[0]["uid"], "10.5072/bad");
    assert!(errors[0]["title"].is_string());
    assert!(row(&s, "10.5072/bad").is_none(), "nothing half-written");

    // A URL is needed too.
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(with(
            metadata(),
            json!({"doi": "10.5072/nourl", "event": "register"}),
        )))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"], "url");
    assert!(row(&s, "10.5072/nourl").is_none());

    // And the client's domains must allow it.
    s.db()
        .execute(
            "UPDATE clients SET domains = 'example.org,*.example.org' WHERE symbol = 'DEMO.REPO'",
            [],
        )
        .unwrap();
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(with(
            metadata(),
            json!({"doi": "10.5072/dom", "url": "https://elsewhere.net/x", "event": "publish"}),
        )))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"], "url");
    assert!(row(&s, "10.5072/dom").is_none());
    create(
        &s,
        with(
            metadata(),
            json!({"doi": "10.5072/dom", "url": "https://data.example.org/x", "event": "publish"}),
        ),
    );

    // A draft that becomes findable later is validated then, and stays a draft on failure.
    create(&s, json!({"doi": "10.5072/later", "url": "https://example.org/later"}));
    let r = s
        .put("/dois/10.5072/later")
        .client_auth()
        .json(&body(json!({"event": "publish"})))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"], "creators", "{}", r.text());
    assert_eq!(r.json()["errors"][0]["uid"], "10.5072/later");
    assert_eq!(row(&s, "10.5072/later").unwrap().state, "draft");
}

#[test]
fn malformed_bodies_are_400_and_unknown_dois_404() {
    let s = TestServer::start();
    for bad in ["not json", "{}", "{\"data\": 5}"] {
        let r = s
            .post("/dois")
            .client_auth()
            .header("Content-Type", "application/vnd.api+json")
            .body(bad)
            .send()
            .expect(400);
        assert_eq!(
            r.json()["errors"][0]["title"],
            "You need to provide a payload following the JSONAPI spec"
        );
    }
    let r = s.get("/dois/10.5072/nothing").client_auth().send().expect(404);
    assert_eq!(
        r.json(),
        json!({"errors": [{"status": "404", "title": "The resource you are looking for doesn't exist."}]})
    );
}

#[test]
fn anonymous_sees_findable_only() {
    let s = TestServer::start();
    create(&s, json!({"doi": "10.5072/hidden"}));
    s.get("/dois/10.5072/hidden").send().expect(404);
    s.get("/dois/10.5072/hidden")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(404);
    // Staff and the client's provider may read it.
    s.get("/dois/10.5072/hidden")
        .auth("ADMIN", ADMIN_PASSWORD)
        .send()
        .expect(200);
    s.get("/dois/10.5072/hidden")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(200);
}

/// Creates `n` DOIs `10.5072/{tag}-{i}`; the even ones findable.
fn seed(s: &TestServer, tag: &str, n: usize) {
    for i in 0..n {
        if i % 2 == 0 {
            publish(s, &format!("10.5072/{tag}-{i}"));
        } else {
            create(
                s,
                json!({"doi": format!("10.5072/{tag}-{i}"), "titles": [{"title": format!("Draft number {i}")}]}),
            );
        }
    }
}

fn ids(doc: &Value) -> Vec<String> {
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_pages_by_number() {
    let s = TestServer::start();
    seed(&s, "p", 7);
    let doc = s.get("/dois?page[size]=3").client_auth().send().expect(200).json();
    assert_eq!(doc["meta"]["total"], 7);
    assert_eq!(doc["meta"]["totalPages"], 3);
    let mut seen = ids(&doc);
    assert_eq!(seen.len(), 3);
    let next = doc["links"]["next"].as_str().expect("links.next").to_string();
    assert!(
        next.contains("page%5Bnumber%5D=2") || next.contains("page[number]=2"),
        "{next}"
    );
    let doc = s
        .get("/dois?page[size]=3&page[number]=2")
        .client_auth()
        .send()
        .expect(200)
        .json();
    seen.extend(ids(&doc));
    let doc = s
        .get("/dois?page%5Bsize%5D=3&page%5Bnumber%5D=3")
        .client_auth()
        .send()
        .expect(200)
        .json();
    seen.extend(ids(&doc));
    assert!(doc["links"]["next"].is_null(), "last page has no next");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);
    // Anonymous: findable only (0, 2, 4, 6).
    let doc = s.get("/dois?page[size]=100").send().expect(200).json();
    assert_eq!(doc["meta"]["total"], 4);
    assert!(doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["attributes"]["state"] == "findable"));
    // Another client sees the findable ones of this client.
    let doc = s
        .get("/dois")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(200)
        .json();
    assert_eq!(doc["meta"]["total"], 4);
    // Paging is clamped as lupo's page_from_params clamps it: size over 1000 is 1000,
    // size 0 (or not a number) counts only, a number below 1 is 1.
    let counted = s.get("/dois?page[size]=0").send().expect(200).json();
    assert_eq!(
        (
            counted["data"].as_array().map(Vec::len),
            counted["meta"]["total"].as_u64()
        ),
        (Some(0), Some(4))
    );
    s.get("/dois?page[size]=abc").send().expect(200);
    let big = s.get("/dois?page[size]=5000&page[number]=-2").send().expect(200).json();
    assert_eq!(
        (big["data"].as_array().map(Vec::len), big["meta"]["page"].as_u64()),
        (Some(4), Some(1))
    );
    s.get("/dois?page[number]=18446744073709551615").send().expect(200);
    let doc = s.get("/dois?page[number]=9").client_auth().send().expect(200).json();
    assert_eq!(doc["data"], json!([]));
    assert_eq!(doc["meta"]["total"], 7);
}

#[test]
fn list_pages_by_cursor() {
    let s = TestServer::start();
    seed(&s, "c", 5);
    let mut url = "/dois?page[cursor]=1&page[size]=2".to_string();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let doc = s.get(&url).client_auth().send().expect(200).json();
        assert_eq!(doc["meta"]["total"], 5);
        seen.extend(ids(&doc));
        pages += 1;
        match doc["links"]["next"].as_str() {
            Some(next) => url = next.strip_prefix(&s.base).expect("absolute link").to_string(),
            None => break,
        }
        assert!(pages < 10, "cursor paging does not end");
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "{seen:?}");
    // An undecodable cursor starts from the beginning, as lupo's page_from_params.
    let first = s
        .get("/dois?page[cursor]=garbage")
        .client_auth()
        .send()
        .expect(200)
        .json();
    assert_eq!(first["data"].as_array().map(Vec::len), Some(5));
}

#[test]
fn list_filters() {
    let s = TestServer::start();
    seed(&s, "f", 4);
    // A DOI of the other client, findable.
    s.post("/dois")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .json(&body(with(metadata(), json!({"doi": "10.5073/theirs", "url": "https://example.org/t", "event": "publish", "titles": [{"title": "Glaciers of Patagonia"}]}))))
        .send()
        .expect(201);
    let total = |q: &str, auth: bool| {
        let call = s.get(q);
        let call = if auth { call.client_auth() } else { call };
        call.send().expect(200).json()["meta"]["total"].as_i64().unwrap()
    };
    assert_eq!(total("/dois", true), 5);
    assert_eq!(total("/dois?client-id=other.repo", true), 1);
    assert_eq!(total("/dois?client-id=DEMO.REPO", true), 4);
    assert_eq!(total("/dois?prefix=10.5073", false), 1);
    assert_eq!(total("/dois?state=draft", true), 2);
    assert_eq!(total("/dois?state=draft", false), 0);
    assert_eq!(total("/dois?state=findable,draft", true), 5);
    assert_eq!(total("/dois?query=glaciers", false), 1);
    assert_eq!(total("/dois?query=Draft%20number", true), 2);
    assert_eq!(total("/dois?query=garcia", false), 3, "creator names are searched");
    assert_eq!(total("/dois?query=100%25", true), 0);
    let doc = s
        .get("/dois?client-id=DEMO.REPO&state=findable")
        .client_auth()
        .send()
        .expect(200)
        .json();
    assert!(doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["relationships"]["client"]["data"]["id"] == "demo.repo"));
}

#[test]
fn dois_written_by_rest_are_read_by_mds_and_back() {
    let s = TestServer::start();
    publish(&s, "10.5072/cross");
    // REST -> MDS: MDS serves the kernel-4 record of the JSON.
    let r = s.get("/metadata/10.5072/cross").client_auth().send().expect(200);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let xml = r.body.clone();
    assert_eq!(row(&s, "10.5072/cross").unwrap().xml.unwrap(), xml);
    tinydoi::metadata::validate(&xml).expect("valid kernel-4");
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("Ocean temperatures of the North Sea"));
    assert!(text.to_ascii_lowercase().contains("10.5072/cross"));

    // XML (REST `xml` attribute) -> JSON attributes.
    let record = xml_record("10.5072/FROM-XML", "Written as XML");
    let doc = create(
        &s,
        json!({"doi": "10.5072/from-xml", "xml": B64.encode(&record), "url": "https://example.org/x", "event": "publish"}),
    );
    let a = &doc["data"]["attributes"];
    assert_eq!(a["state"], "findable");
    assert_eq!(a["titles"][0]["title"], "Written as XML");
    assert_eq!(a["creators"][0]["name"], "Nakamura, Ken");
    assert_eq!(a["publisher"], "Example Press");
    let r = s.get("/dois/10.5072/from-xml").send().expect(200).json();
    assert_eq!(r["data"]["attributes"]["types"]["resourceTypeGeneral"], "Text");
    let stored: Value = serde_json::from_str(&row(&s, "10.5072/from-xml").unwrap().attributes.unwrap()).unwrap();
    assert_eq!(stored["titles"][0]["title"], "Written as XML");

    // MDS upload and publish -> REST attributes.
    let record = xml_record("10.5072/MDS-1", "Uploaded by MDS");
    s.put("/metadata/10.5072/mds-1")
        .client_auth()
        .header("Content-Type", "application/xml;charset=UTF-8")
        .body(record.clone())
        .send()
        .expect(201);
    s.put("/doi/10.5072/mds-1")
        .client_auth()
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body("doi=10.5072/MDS-1\nurl=https://example.org/mds-1\n")
        .send()
        .expect(201);
    assert_eq!(row(&s, "10.5072/mds-1").unwrap().state, "findable");
    // Anonymous REST reads of what MDS published.
    let r = s.get("/dois/10.5072/mds-1").send().expect(200).json();
    let a = &r["data"]["attributes"];
    assert_eq!(a["url"], "https://example.org/mds-1");
    assert_eq!(a["state"], "findable");
    assert_eq!(a["titles"][0]["title"], "Uploaded by MDS");
    assert_eq!(a["creators"][0]["name"], "Nakamura, Ken");
    assert_eq!(B64.decode(a["xml"].as_str().unwrap()).unwrap(), record.as_bytes());

    // An XML record that is not kernel-4 is refused.
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(
            json!({"doi": "10.5072/notxml", "xml": B64.encode("not xml at all")}),
        ))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"], "xml");
}

#[test]
fn crossref_xml_is_converted_and_hostile_crossref_refused() {
    let s = TestServer::start();
    let crossref = std::fs::read("fixtures/lupo/crossref.xml").unwrap();
    let r = s
        .post("/dois")
        .client_auth()
        .json(&body(json!({"doi": "10.5072/crossref", "xml": B64.encode(&crossref)})))
        .send()
        .expect(201);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["creators"][0]["name"], "Sankar, Martial");
    assert_eq!(a["publisher"], "eLife Sciences Publications, Ltd");
    assert_eq!(a["rightsList"][0]["rightsIdentifier"], "cc-by-3.0");
    let stored = String::from_utf8(row(&s, "10.5072/crossref").unwrap().xml.unwrap()).unwrap();
    assert!(stored.contains(">10.5072/CROSSREF</identifier>"), "{stored}");
    tinydoi::metadata::validate(stored.as_bytes()).expect("a kernel-4 record is stored");

    // Entities are never expanded and deep nesting is cut off: 422 on `xml`, nothing stored.
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><crossref_result><query_result><body><query><doi_record><crossref><journal>&b;</journal></crossref></doi_record></query></body></query_result></crossref_result>"#;
    let depth = tinydoi::metadata::MAX_DEPTH + 5;
    let deep = format!(
        "<crossref_result><query_result><body><query><doi_record><crossref><journal>{}{}</journal></crossref></doi_record></query></body></query_result></crossref_result>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    for (doi, xml) in [("10.5072/bomb", bomb.to_string()), ("10.5072/deep", deep)] {
        let r = s
            .post("/dois")
            .client_auth()
            .json(&body(json!({"doi": doi, "xml": B64.encode(xml)})))
            .send()
            .expect(422);
        assert_eq!(r.json()["errors"][0]["source"], "xml", "{doi}");
        assert!(row(&s, doi).is_none(), "{doi}");
    }
}

/// A new API key of `client` and its id.
fn key_for(s: &TestServer, client: &str) -> (String, String) {
    let db = s.db();
    let key = insert_key(&db, client);
    (key_id(&db, &key), key)
}

#[test]
fn the_same_flows_with_an_api_key() {
    let s = TestServer::start();
    let (id, key) = key_for(&s, CLIENT);
    let as_key = |call: Call| call.auth(&key, "");
    // Draft with a prefix, then publish, update, hide and read — by key as Basic username.
    let r = as_key(s.post("/dois"))
        .json(&body(json!({"prefix": "10.5072"})))
        .send()
        .expect(201);
    let doi = r.json()["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    let updated_by = format!("apiKey:{id}");
    assert_eq!(r.json()["data"]["meta"]["updatedBy"], updated_by);
    assert_eq!(row(&s, &doi).unwrap().updated_by.as_deref(), Some(updated_by.as_str()));
    let r = as_key(s.put(&format!("/dois/{doi}")))
        .json(&body(with(
            metadata(),
            json!({"url": "https://example.org/k", "event": "publish"}),
        )))
        .send()
        .expect(200);
    assert_eq!(r.json()["data"]["attributes"]["state"], "findable");
    let row1 = row(&s, &doi).unwrap();
    assert_eq!(
        (row1.state.as_str(), row1.url.as_deref()),
        ("findable", Some("https://example.org/k"))
    );
    as_key(s.patch(&format!("/dois/{doi}")))
        .json(&body(json!({"event": "hide"})))
        .send()
        .expect(200);
    assert_eq!(row(&s, &doi).unwrap().state, "registered");
    let r = as_key(s.get(&format!("/dois/{doi}"))).send().expect(200);
    assert_eq!(r.json()["data"]["meta"]["updatedBy"], updated_by);
    let doc = as_key(s.get("/dois?state=registered")).send().expect(200).json();
    assert_eq!(doc["meta"]["total"], 1);
    // The password sees what the key changed, and the key's change is attributed to it.
    let r = s.get(&format!("/dois/{doi}")).client_auth().send().expect(200);
    assert_eq!(r.json()["data"]["meta"]["updatedBy"], updated_by);
    // Bearer and SYMBOL:key forms; a foreign prefix is 403 for a key as for the password.
    s.post("/dois")
        .bearer(&key)
        .json(&body(json!({"doi": "10.5072/bearer"})))
        .send()
        .expect(201);
    s.post("/dois")
        .auth(CLIENT, &key)
        .json(&body(json!({"doi": "10.5072/symkey"})))
        .send()
        .expect(201);
    s.post("/dois")
        .bearer(&key)
        .json(&body(json!({"prefix": "10.5073"})))
        .send()
        .expect(403);
    s.delete("/dois/10.5072/bearer").bearer(&key).send().expect(204);
    s.delete(&format!("/dois/{doi}")).bearer(&key).send().expect(405);
    // A revoked key is 401, never anonymous.
    s.db()
        .execute("UPDATE api_keys SET revoked_at = 1 WHERE id = ?1", [&id])
        .unwrap();
    s.get(&format!("/dois/{doi}")).bearer(&key).send().expect(401);
    // The other client's key cannot touch this client's DOIs.
    let (_, other_key) = key_for(&s, OTHER_CLIENT);
    s.put(&format!("/dois/{doi}"))
        .bearer(&other_key)
        .json(&body(json!({"event": "show"})))
        .send()
        .expect(403);
    s.get(&format!("/dois/{doi}")).bearer(&other_key).send().expect(404);
    assert_eq!(row(&s, &doi).unwrap().state, "registered");
}

/// The bodies the Python `datacite` package's `DataCiteRESTClient` sends: no `data.type`,
/// `prefix` next to `doi`, schema-4.5 JSON with the DOI among `identifiers`.
#[test]
fn python_datacite_client_payloads() {
    let s = TestServer::start();
    let metadata = json!({
        "identifiers": [{"identifierType": "DOI", "identifier": "10.5072/py-1"}],
        "creators": [{"name": "Smith, John"}],
        "titles": [{"title": "Minimal Test Case"}],
        "publisher": {"name": "Invenio Software"},
        "publicationYear": "2015",
        "types": {"resourceType": "Dataset", "resourceTypeGeneral": "Dataset"},
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    });
    // public_doi
    let attributes = with(
        metadata,
        json!({"prefix": "10.5072", "event": "publish", "url": "https://example.org/py", "doi": "10.5072/py-1"}),
    );
    let r = s
        .post("/dois")
        .client_auth()
        .header("Content-Type", "application/vnd.api+json")
        .body(json!({"data": {"attributes": attributes}}).to_string())
        .send()
        .expect(201);
    let a = &r.json()["data"]["attributes"];
    assert_eq!(a["state"], "findable");
    assert_eq!(
        a["identifiers"],
        json!([]),
        "the DOI is not its own alternate identifier"
    );
    assert_eq!(
        a["publisher"], "Invenio Software",
        "a name unless ?publisher=true, as lupo"
    );
    // hide_doi, then show_doi (which sends `publish`), each with `doi` in the attributes.
    for (event, state) in [("hide", "registered"), ("publish", "findable")] {
        let r = s
            .put("/dois/10.5072/py-1")
            .client_auth()
            .header("Content-Type", "application/vnd.api+json")
            .body(json!({"data": {"attributes": {"event": event, "doi": "10.5072/py-1"}}}).to_string())
            .send()
            .expect(200);
        assert_eq!(r.json()["data"]["attributes"]["state"], state);
        assert_eq!(row(&s, "10.5072/py-1").unwrap().state, state);
    }
    // draft_doi without metadata, then doi_get reads `url`.
    let r = s
        .post("/dois")
        .client_auth()
        .header("Content-Type", "application/vnd.api+json")
        .body(json!({"data": {"attributes": {"prefix": "10.5072"}}}).to_string())
        .send()
        .expect(201);
    let doi = r.json()["data"]["id"].as_str().unwrap().to_string();
    let r = s.get(&format!("/dois/{doi}")).client_auth().send().expect(200);
    assert_eq!(r.json()["data"]["attributes"]["url"], Value::Null);
}

/// lupo's sparse fieldsets on lists, nested ones too: only the attributes and relationships
/// named, `id` and `type` always; an empty list keeps none.
#[test]
fn list_sparse_fieldsets() {
    let s = TestServer::start();
    publish(&s, "10.5072/sparse");
    let data = |path: &str| s.get(path).client_auth().send().expect(200).json()["data"][0].clone();
    let d = data("/clients/demo.repo/dois?detail=true&fields[dois]=xml,doi,client");
    assert_eq!(d["id"], "10.5072/sparse");
    assert_eq!(d["type"], "dois");
    let attributes: Vec<&String> = d["attributes"].as_object().unwrap().keys().collect();
    assert_eq!(attributes, ["doi", "xml"]);
    assert!(d["attributes"]["xml"].as_str().is_some_and(|x| !x.is_empty()));
    let relationships: Vec<&String> = d["relationships"].as_object().unwrap().keys().collect();
    assert_eq!(relationships, ["client"]);
    // Named but not written without `detail`: still absent.
    assert_eq!(data("/dois?fields[dois]=xml")["attributes"], json!({}));
    let d = data("/providers/demo/dois?fields%5Bdois%5D=");
    assert_eq!((&d["attributes"], &d["relationships"]), (&json!({}), &json!({})));
    // Other resource types' fieldsets leave DOIs whole.
    assert!(data("/dois?fields[clients]=name")["attributes"]["titles"].is_array());
}

#[test]
fn lupo_helper_routes() {
    let s = TestServer::start();
    publish(&s, "10.5072/nested");
    create(&s, json!({"doi": "10.5072/nested-draft"}));
    // lupo's nested lists: clients/{id}/dois and providers/{id}/dois, ids in any case.
    for (path, total) in [
        ("/clients/demo.repo/dois", 1),
        ("/providers/DEMO/dois", 1),
        ("/providers/other/dois", 0),
    ] {
        assert_eq!(s.get(path).send().expect(200).json()["meta"]["total"], total, "{path}");
    }
    let own = s.get("/clients/DEMO.REPO/dois").client_auth().send().expect(200).json();
    assert_eq!(own["meta"]["total"], 2);
    // Their next links are lupo's: `/dois` filtered by the owner, by page number or cursor.
    for (path, owner) in [
        ("/clients/DEMO.REPO/dois?page[size]=1", "client-id=demo.repo"),
        ("/providers/demo/dois?page[size]=1", "provider-id=demo"),
        (
            "/clients/demo.repo/dois?page[cursor]&page[size]=1",
            "client-id=demo.repo",
        ),
    ] {
        let r = s.get(path).client_auth().send().expect(200).json();
        let next = r["links"]["next"].as_str().unwrap_or_default().to_string();
        assert!(next.contains("/dois?") && next.contains(owner), "{path}: {next}");
        let target = next.split_once("/dois").map(|(_, t)| format!("/dois{t}")).unwrap();
        let r = s.get(&target).client_auth().send().expect(200).json();
        assert_eq!(r["data"].as_array().map(Vec::len), Some(1), "{target}");
        assert!(r["links"]["next"].is_null(), "{target}: the second of two is the last");
    }
    // get-url: the client's own DOI, draft or not; others' are 403, anonymous 401.
    let r = s.get("/dois/10.5072/nested/get-url").client_auth().send().expect(200);
    assert_eq!(r.json(), json!({"url": "https://example.org/data/1"}));
    s.get("/dois/10.5072/nested-draft/get-url")
        .client_auth()
        .send()
        .expect(204);
    s.get("/dois/10.5072/nested/get-url")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .send()
        .expect(403);
    s.get("/dois/10.5072/nested/get-url").send().expect(401);
    s.get("/dois/10.5072/unknown/get-url").client_auth().send().expect(404);
    // random: a prefix is required; size gives several distinct suggestions.
    let r = s.get("/dois/random").send().expect(422);
    assert_eq!(r.json()["errors"][0]["title"], "Parameter prefix is required");
    let r = s
        .get("/dois/random?prefix=10.5072/abc&size=3")
        .send()
        .expect(200)
        .json();
    let dois = r["dois"].as_array().unwrap();
    assert_eq!(dois.len(), 3);
    assert!(dois.iter().all(|d| d.as_str().unwrap().starts_with("10.5072/abc-")));
    assert!(row(&s, dois[0].as_str().unwrap()).is_none(), "nothing is reserved");
}

#[test]
fn lupo_views_are_derived_at_write_time() {
    let s = TestServer::start();
    let affiliated = json!([{"name": "Garcia, Sofia", "affiliation": [{"name": "Uni", "affiliationIdentifier": "05bp8ka05", "affiliationIdentifierScheme": "ROR"}]}]);
    create(
        &s,
        with(
            metadata(),
            json!({"doi": "10.5072/views", "creators": affiliated, "publisher": {"name": "P", "lang": "en"}, "language": "eng"}),
        ),
    );
    let derived: String = s
        .db()
        .query_row("SELECT derived FROM dois WHERE doi = '10.5072/views'", [], |r| r.get(0))
        .unwrap();
    let derived: Value = serde_json::from_str(&derived).unwrap();
    assert_eq!(derived["publisher"], "P");
    assert_eq!(derived["creators"][0]["affiliation"], json!(["Uni"]));
    assert_eq!(derived["published"], "2024");
    let a = s.get("/dois/10.5072/views").client_auth().send().expect(200).json()["data"]["attributes"].clone();
    assert_eq!(
        (a["publisher"].clone(), a["creators"][0]["affiliation"].clone()),
        (json!("P"), json!(["Uni"]))
    );
    assert_eq!(a["language"], "en");
    assert_eq!(a["types"]["schemaOrg"], "Dataset");
    let full = s
        .get("/dois/10.5072/views?publisher=true&affiliation=true")
        .client_auth()
        .send()
        .expect(200)
        .json()["data"]["attributes"]
        .clone();
    assert_eq!(full["publisher"], json!({"name": "P", "lang": "en"}));
    assert_eq!(
        full["creators"][0]["affiliation"][0]["affiliationIdentifier"],
        "https://ror.org/05bp8ka05"
    );
}

#[test]
fn include_client_as_lupo() {
    let s = TestServer::start();
    publish(&s, "10.5072/inc");
    let one = s.get("/dois/10.5072/inc?include=client").send().expect(200).json();
    assert_eq!(one["included"][0]["id"], "DEMO.REPO");
    assert_eq!(one["included"][0]["type"], "clients");
    assert!(
        one["included"][0]["attributes"].get("domains").is_none(),
        "private fields stay private"
    );
    let list = s.get("/dois?include=client").send().expect(200).json();
    assert_eq!(list["included"].as_array().map(Vec::len), Some(1));
    assert!(s
        .get("/dois/10.5072/inc")
        .send()
        .expect(200)
        .json()
        .get("included")
        .is_none());
}

/// lupo's `metadataVersion` (0 for the first record, one more for each new one), and the
/// columns lupo keeps beside the metadata (`contentUrl`, `landingPage`, `source`) surviving
/// a new record; `landingPage` is shown to the DOI's client and staff only.
#[test]
fn metadata_version_and_kept_attributes() {
    let s = TestServer::start();
    let b64 = |xml: String| base64::engine::general_purpose::STANDARD.encode(xml);
    let doi = "10.5072/version-1";
    let a = create(
        &s,
        json!({"doi": doi, "url": "https://example.org/v", "xml": b64(xml_record(doi, "One"))}),
    );
    assert_eq!(a["data"]["attributes"]["metadataVersion"], 0);
    let patch = |attributes: Value| {
        s.req("PATCH", &format!("/dois/{doi}"))
            .client_auth()
            .json(&body(attributes))
            .send()
            .expect(200)
            .json()["data"]["attributes"]
            .clone()
    };
    let a = patch(json!({"contentUrl": ["s3://bucket/v"], "landingPage": {"status": 200}, "source": "fabrica"}));
    assert_eq!(a["metadataVersion"], 0, "no new record");
    assert_eq!(a["contentUrl"], json!(["s3://bucket/v"]));
    let a = patch(json!({"xml": b64(xml_record(doi, "Two")), "event": "publish"}));
    assert_eq!(a["metadataVersion"], 1);
    assert_eq!(a["titles"][0]["title"], "Two");
    assert_eq!(a["contentUrl"], json!(["s3://bucket/v"]), "kept past a new record");
    assert_eq!(a["landingPage"], json!({"status": 200}));
    assert_eq!(a["source"], "fabrica");
    let a = patch(json!({"url": "https://example.org/v2"}));
    assert_eq!(a["metadataVersion"], 1, "a URL is no new record");
    let a = patch(json!({"titles": [{"title": "Three"}]}));
    assert_eq!(a["metadataVersion"], 2, "JSON attributes make a new record");
    let shown = |r: Value| r["data"]["attributes"].get("landingPage").cloned();
    assert_eq!(shown(s.get(&format!("/dois/{doi}")).send().expect(200).json()), None);
    let staff = s
        .get(&format!("/dois/{doi}"))
        .auth("admin", ADMIN_PASSWORD)
        .send()
        .expect(200)
        .json();
    assert_eq!(shown(staff), Some(json!({"status": 200})));
    // Not an object: lupo's check_landing_page.
    let r = s
        .req("PATCH", &format!("/dois/{doi}"))
        .client_auth()
        .json(&body(json!({"landingPage": "https://example.org"})))
        .send()
        .expect(422)
        .json();
    assert_eq!(r["errors"][0]["source"], "landingPage");
    assert_eq!(r["errors"][0]["uid"], doi);
}

/// Staff write any DOI as its client (lupo's `staff_admin`); `mode: transfer` moves a DOI to
/// another client: staff any, a provider only between its own clients, a client never.
#[test]
fn staff_writes_and_transfers() {
    let fixtures = FIXTURES.replace(
        r#""prefixes": ["10.5073"]}"#,
        r#""prefixes": ["10.5073"]},
    {"symbol": "DEMO.TWO", "provider": "DEMO", "name": "Second", "email": "two@example.org", "password": "two-password"}"#,
    );
    let s = TestServer::with(&fixtures, |_| {});
    publish(&s, "10.5072/moved");
    let staff =
        |method: &str, path: &str, doc: Value| s.req(method, path).auth("admin", ADMIN_PASSWORD).json(&doc).send();
    let r = staff("PUT", "/dois/10.5072/moved", body(json!({"sizes": ["1 MB"]})))
        .expect(200)
        .json();
    assert_eq!(r["data"]["attributes"]["sizes"], json!(["1 MB"]));
    assert_eq!(
        row(&s, "10.5072/moved").unwrap().client,
        "DEMO.REPO",
        "still the client's"
    );
    // A new DOI needs the client named.
    staff(
        "PUT",
        "/dois/10.5072/by-staff",
        body(json!({"titles": [{"title": "T"}]})),
    )
    .expect(403);
    let named = json!({"data": {"type": "dois", "attributes": {"titles": [{"title": "T"}]},
        "relationships": {"client": {"data": {"type": "clients", "id": "demo.repo"}}}}});
    staff("PUT", "/dois/10.5072/by-staff", named).expect(201);
    assert_eq!(row(&s, "10.5072/by-staff").unwrap().client, "DEMO.REPO");
    let transfer = |to: &str| {
        json!({"data": {"type": "dois", "attributes": {"mode": "transfer"},
            "relationships": {"client": {"data": {"type": "clients", "id": to}}}}})
    };
    // A client may not transfer; a provider not to another provider's client.
    s.req("PUT", "/dois/10.5072/moved")
        .client_auth()
        .json(&transfer("demo.two"))
        .send()
        .expect(403);
    s.req("PUT", "/dois/10.5072/moved")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&transfer("other.repo"))
        .send()
        .expect(403);
    s.req("PUT", "/dois/10.5072/moved")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&transfer("nobody.here"))
        .send()
        .expect(422);
    let r = s
        .put("/dois/10.5072/moved")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .json(&transfer("demo.two"))
        .send()
        .expect(200)
        .json();
    assert_eq!(r["data"]["relationships"]["client"]["data"]["id"], "demo.two");
    assert_eq!(row(&s, "10.5072/moved").unwrap().client, "DEMO.TWO");
    staff("PUT", "/dois/10.5072/moved", transfer("other.repo")).expect(200);
    assert_eq!(row(&s, "10.5072/moved").unwrap().client, "OTHER.REPO");
    s.req("PUT", "/dois/10.5072/unknown")
        .auth("admin", ADMIN_PASSWORD)
        .json(&transfer("demo.two"))
        .send()
        .expect(404);
}

/// lupo's `media` relationship: one DOI in detail lists its media (ids as lupo's
/// `Base32::URL.encode(id, split: 4, length: 16)`, newest first); lists leave it out.
#[test]
fn media_relationship_as_lupo() {
    let s = TestServer::start();
    publish(&s, "10.5072/with-media");
    let r = s.get("/dois/10.5072/with-media").send().expect(200).json();
    assert_eq!(r["data"]["relationships"]["media"], json!({"data": []}));
    s.post("/media/10.5072/with-media")
        .client_auth()
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body("application/pdf=https://example.org/a.pdf\ntext/plain=https://example.org/a.txt\n")
        .send()
        .expect(200);
    let r = s.get("/dois/10.5072/with-media").send().expect(200).json();
    let ids: Vec<String> = r["data"]["relationships"]["media"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["type"], "media");
            m["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 2, "{r}");
    assert!(
        ids.iter().all(|id| id.len() == 19 && id.starts_with("0000-0000-0000-")),
        "{ids:?}"
    );
    assert!(ids[0] > ids[1], "newest first: {ids:?}");
    let list = s.get("/dois?detail=true").send().expect(200).json();
    assert!(list["data"][0]["relationships"].get("media").is_none(), "{list}");
}
