//! Regression tests for what schemathesis found against `openapi.json` (see
//! README, "OpenAPI"): each test names the failure it guards against.

use crate::support::*;
use serde_json::{json, Value};

fn stored(s: &TestServer, doi: &str) -> Option<String> {
    s.db()
        .query_row("SELECT attributes FROM dois WHERE doi = ?1", [doi], |r| {
            r.get::<_, Option<String>>(0)
        })
        .ok()
        .flatten()
}

/// ST108 on `GET /dois/{doi}`: a draft created with `"identifiers": "text"` (and creators
/// that were not objects) was stored as sent, so every later read answered a `dois`
/// resource whose list properties were not lists. Drafts may lack metadata, not carry
/// metadata of the wrong shape.
#[test]
fn metadata_of_the_wrong_shape_is_422_even_for_drafts() {
    let s = TestServer::start();
    for (name, value) in [
        ("identifiers", json!("u\u{dd}P")),
        ("creators", json!([{}, [], "text", 1])),
        // A single object is a list of one (lupo post_spec "when the title changes"); text is not.
        ("titles", json!("not a list")),
        ("formats", json!([{"format": "pdf"}])),
        ("sizes", json!(3)),
        ("types", json!("Dataset")),
        ("publisher", json!(["Demo"])),
        ("publicationYear", json!({"year": 2026})),
        ("language", json!(7)),
        ("version", json!([])),
    ] {
        let doi = format!("10.5072/shape-{}", name.to_ascii_lowercase());
        let body = json!({"data": {"type": "dois", "attributes": {"doi": doi, name: value}}});
        let r = s.post("/dois").client_auth().json(&body).send().expect(422);
        let errors = r.json()["errors"].clone();
        assert_eq!(errors[0]["source"], name, "{name}: {errors}");
        // List items that are no objects in lupo's words (`Title '…' should be an object …`).
        let title = errors[0]["title"].as_str().unwrap_or("");
        assert!(
            title.starts_with(name) || title.ends_with("should be an object instead of a string."),
            "{errors}"
        );
        assert!(stored(&s, &doi).is_none(), "{name}: nothing stored");
        // The same through PUT and PATCH (update or create).
        for method in ["PUT", "PATCH"] {
            s.req(method, &format!("/dois/{doi}"))
                .client_auth()
                .json(&body)
                .send()
                .expect(422);
        }
        assert!(stored(&s, &doi).is_none(), "{name}: nothing stored");
    }
}

#[test]
fn drafts_may_still_be_incomplete_and_null_clears() {
    let s = TestServer::start();
    let body = json!({"data": {"attributes": {
        "doi": "10.5072/partial",
        "titles": [{"title": "Only a title"}],
        "formats": ["application/pdf"],
        "sizes": ["1 MB"],
        "publicationYear": 2026,
        "publisher": {"name": "Demo"},
        "types": {"resourceTypeGeneral": "Dataset"},
        "language": "en",
        "creators": null,
    }}});
    let r = s.post("/dois").client_auth().json(&body).send().expect(201);
    let a = r.json()["data"]["attributes"].clone();
    assert_eq!(a["state"], "draft");
    assert_eq!(a["titles"], json!([{"title": "Only a title"}]));
    assert_eq!(a["creators"], json!([]));
    let saved: Value = serde_json::from_str(&stored(&s, "10.5072/partial").expect("stored")).expect("JSON");
    assert_eq!(saved["formats"], json!(["application/pdf"]));
    assert_eq!(saved["publicationYear"], json!(2026));
}
