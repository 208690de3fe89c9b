//! Content negotiation (`GET /dois/{doi}` by `Accept`, `GET /dois/{media type}/{doi}`):
//! lupo's `content_negotiation_spec.rb`, every example, run from the data file
//! `tests/conformance/lupo_content_negotiation.json`; and what the data cannot say.

use crate::support::*;
use serde_json::Value;
use std::path::PathBuf;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn suite() -> Value {
    let text = std::fs::read_to_string(conformance_dir().join("lupo_content_negotiation.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The suite's fixtures with each `xmlFile` read inline, its identifier set to the DOI.
fn fixtures(suite: &Value) -> String {
    let mut fixtures = suite["fixtures"].clone();
    for d in fixtures["dois"].as_array_mut().unwrap() {
        let file = d.as_object_mut().unwrap().remove("xmlFile").unwrap();
        let xml = std::fs::read_to_string(conformance_dir().join(file.as_str().unwrap())).unwrap();
        let doi = d["doi"].as_str().unwrap().to_uppercase();
        d["xml"] = Value::String(xml.replace("10.14454/QJ6D-RV4E", &doi));
    }
    fixtures.to_string()
}

/// One assertion of a case against the response.
fn check(assertion: &Value, resp: &Resp, label: &str) {
    let body = resp.text();
    let a = |k: &str| assertion.get(k);
    if let Some(want) = a("json") {
        assert_eq!(&resp.json(), want, "{label}");
    } else if let Some(pointer) = a("pointer").and_then(Value::as_str) {
        assert_eq!(resp.json().pointer(pointer), a("equals"), "{label}: {body}");
    } else if let Some(prefix) = a("starts_with").and_then(Value::as_str) {
        assert!(body.starts_with(prefix), "{label}: {body}");
    } else if let Some(part) = a("contains").and_then(Value::as_str) {
        assert!(body.contains(part), "{label}: {body}");
    } else if let Some(root) = a("xml_root").and_then(Value::as_str) {
        let doc = roxmltree::Document::parse(&body).unwrap_or_else(|e| panic!("{label}: {e}: {body}"));
        let r = doc.root_element();
        assert_eq!(r.tag_name().name(), root, "{label}");
        if let Some(ns) = a("namespace").and_then(Value::as_str) {
            assert_eq!(r.tag_name().namespace(), Some(ns), "{label}");
        }
        if let Some(attr) = a("attribute").and_then(Value::as_str) {
            assert_eq!(r.attribute(attr), a("equals").and_then(Value::as_str), "{label}");
        }
    } else if let Some(name) = a("xml_element").and_then(Value::as_str) {
        xml_element(&body, name, assertion, label);
    } else {
        panic!("{label}: unknown assertion {assertion}");
    }
}

/// The first element `name`: its text, and its attributes if the assertion lists them.
fn xml_element(body: &str, name: &str, assertion: &Value, label: &str) {
    let doc = roxmltree::Document::parse(body).unwrap_or_else(|e| panic!("{label}: {e}: {body}"));
    let el = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
        .unwrap_or_else(|| panic!("{label}: no <{name}> in {body}"));
    assert_eq!(el.text(), assertion["text"].as_str(), "{label}");
    if let Some(attrs) = assertion.get("attributes").and_then(Value::as_object) {
        for (k, v) in attrs {
            let got = match k.strip_prefix("xml:") {
                Some(local) => el.attribute(("http://www.w3.org/XML/1998/namespace", local)),
                None => el.attribute(k.as_str()),
            };
            assert_eq!(got, v.as_str(), "{label}: attribute {k}");
        }
        assert_eq!(el.attributes().len(), attrs.len(), "{label}: attributes of <{name}>");
    }
}

#[test]
fn lupo_content_negotiation_spec() {
    let suite = suite();
    let s = TestServer::with(&fixtures(&suite), |_| {});
    let user = suite["client"]["username"].as_str().unwrap();
    let password = suite["client"]["password"].as_str().unwrap();
    let cases = suite["cases"].as_array().unwrap();
    let out = suite["out_of_scope"].as_array().unwrap();
    // Every example is either ported or listed with its reason.
    assert_eq!(
        cases.len() + out.len(),
        suite["source"]["examples_read"].as_u64().unwrap() as usize
    );
    assert!(out.iter().all(|o| o["reason"].as_str().is_some_and(|r| !r.is_empty())));
    for case in cases {
        let label = case["example"].as_str().unwrap();
        let request = &case["request"];
        let mut call = s.req(request["method"].as_str().unwrap(), request["path"].as_str().unwrap());
        if let Some(accept) = request["accept"].as_str() {
            call = call.header("Accept", accept);
        }
        if request["auth"] == "client" {
            call = call.auth(user, password);
        }
        let resp = call.send();
        assert_eq!(
            u64::from(resp.status),
            case["status"].as_u64().unwrap(),
            "{label}: {}",
            resp.text()
        );
        for assertion in case["assert"].as_array().unwrap() {
            check(assertion, &resp, label);
        }
    }
}

const FINDABLE: &str = "10.5072/negotiated";

const DRAFT: &str = "10.5072/negotiated-draft";

/// The demo fixtures with a findable and a draft DOI of the demo client.
fn server_with_dois() -> TestServer {
    let mut fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
    fixtures["dois"] = serde_json::json!([
        {"doi": FINDABLE, "client": CLIENT, "state": "findable", "url": "https://example.org/n", "xml": video_record(FINDABLE)},
        {"doi": DRAFT, "client": CLIENT, "state": "draft", "xml": video_record(DRAFT)},
    ]);
    TestServer::with(&fixtures.to_string(), |_| {})
}

/// What lupo's spec does not pin down: content types, the stored XML byte for byte,
/// drafts for their owner, 404 before 406, and routes that are not formats.
#[test]
fn formats_have_their_content_type_and_drafts_stay_private() {
    let s = server_with_dois();
    for (accept, content_type) in [
        ("application/vnd.jats+xml", "application/vnd.jats+xml; charset=utf-8"),
        (
            "application/ld+json",
            "application/vnd.schemaorg.ld+json; charset=utf-8",
        ),
        ("text/x-bibliography", "text/x-bibliography; charset=utf-8"),
        ("text/csv", "text/csv; charset=utf-8"),
    ] {
        let r = s
            .get(&format!("/dois/{FINDABLE}"))
            .header("Accept", accept)
            .send()
            .expect(200);
        assert_eq!(r.header("content-type"), Some(content_type), "{accept}");
    }
    let stored = tinydoi::db::dois::get(&s.db(), FINDABLE).unwrap().unwrap().xml.unwrap();
    let r = s
        .get(&format!("/dois/application/vnd.datacite.datacite+xml/{FINDABLE}"))
        .send()
        .expect(200);
    assert_eq!(r.body, stored);
    // Style and locale as `Accept` parameters (lupo's index controller); the query wins.
    let cite = |accept: &str, query: &str| {
        s.get(&format!("/dois/{FINDABLE}{query}"))
            .header("Accept", accept)
            .send()
            .expect(200)
            .text()
    };
    let ieee_de = cite("text/x-bibliography; style=ieee; locale=de", "");
    assert!(ieee_de.contains("„"), "{ieee_de}");
    assert_eq!(ieee_de, cite("text/x-bibliography", "?style=ieee&locale=de"));
    assert_eq!(
        cite("text/x-bibliography; style=ieee", "?style=apa"),
        cite("text/x-bibliography", "")
    );
    // An unknown DOI is 404 whatever the Accept; 406 only for one that exists.
    s.get("/dois/10.5072/nothing")
        .header("Accept", "application/vnd.ms-excel")
        .send()
        .expect(404);
    s.get(&format!("/dois/{FINDABLE}"))
        .header("Accept", "application/vnd.ms-excel")
        .send()
        .expect(406);
    // A draft: its client sees every format, others and anonymous get 404.
    let link = format!("/dois/application/x-bibtex/{DRAFT}");
    let bibtex = s.get(&link).client_auth().send().expect(200).text();
    assert!(
        bibtex.starts_with("@misc{https://doi.org/10.5072/negotiated-draft,"),
        "{bibtex}"
    );
    s.get(&link).send().expect(404);
    s.get(&link).auth(OTHER_CLIENT, OTHER_PASSWORD).send().expect(404);
    s.get(&format!("/dois/{DRAFT}"))
        .header("Accept", "text/csv")
        .send()
        .expect(404);
    // Writes to a link path are writes to the DOI, not a format route.
    s.delete(&format!("/dois/text/csv/{DRAFT}"))
        .client_auth()
        .send()
        .expect(404);
    assert!(tinydoi::db::dois::get(&s.db(), DRAFT).unwrap().is_some());
}
