//! The OpenAPI document: served at `/openapi.json`, and in step with the router — a route
//! missing from the document, or a documented operation the router lacks, fails here.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use tinydoi::http::router::Family;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

fn document() -> Value {
    serde_json::from_str(tinydoi::api::openapi::DOCUMENT).expect("openapi.json is valid JSON")
}

/// `{doi*}` (the router's "rest of the path") is `{doi}` in OpenAPI.
fn openapi_pattern(pattern: &str) -> String {
    pattern.replace("*}", "}")
}

/// Every `(method, path)` operation of the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for (method, _) in item.as_object().expect("path item is an object") {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// Follows a local `$ref` (`#/components/…`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = doc
                .pointer(r.strip_prefix('#').expect("local $ref"))
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            resolve(doc, target)
        }
        None => v,
    }
}

#[test]
fn served_as_json_without_credentials() {
    let s = TestServer::start();
    let r = s.get("/openapi.json").send().expect(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.json(), document());
    assert_eq!(r.text(), tinydoi::api::openapi::DOCUMENT);
}

#[test]
fn is_openapi_3_1() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("openapi is a string");
    assert!(version.starts_with("3.1."), "openapi: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["basicAuth"]["scheme"], "basic");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
}

#[test]
fn router_and_document_list_the_same_operations() {
    let s = TestServer::start();
    let routed: BTreeSet<(String, String)> = s
        .app()
        .router
        .routes()
        .iter()
        // The web console's pages are HTML for people, not API operations (README "Web console").
        .filter(|r| r.family != Family::Html)
        .map(|r| (r.method.as_str().to_ascii_lowercase(), openapi_pattern(r.pattern)))
        .collect();
    let doc = documented(&document());
    let undocumented: Vec<_> = routed.difference(&doc).collect();
    let unrouted: Vec<_> = doc.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi.json: {undocumented:?}\noperations in openapi.json the router lacks: {unrouted:?}"
    );
}

#[test]
fn every_operation_lists_its_responses_and_path_parameters() {
    let doc = document();
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let at = format!("{} {path}", method.to_ascii_uppercase());
        assert!(op["operationId"].is_string(), "{at}: operationId");
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{at}: no responses"));
        // `x-always-error`: routes kept only for DataCite's error answer (poodle's `GET /metadata`).
        assert!(
            responses.keys().any(|k| k.starts_with('2')) || op["x-always-error"] == true,
            "{at}: no success response"
        );
        for (status, response) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok_and(|s| (200..600).contains(&s)),
                "{at}: status {status}"
            );
            assert!(
                resolve(&doc, response)["description"].is_string(),
                "{at} {status}: description"
            );
        }
        // Credentials are read on every request (bad ones: 401) and every request counts
        // against the rate limit (429).
        for status in ["401", "429"] {
            assert!(responses.contains_key(status), "{at}: no {status}");
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("413"), "{at}: has a body but no 413");
        }
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| resolve(&doc, p))
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let in_template: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        assert_eq!(declared, in_template, "{at}: path parameters");
    }
}

#[test]
fn error_bodies_are_documented_per_api_family() {
    let doc = document();
    let s = TestServer::start();
    for route in s.app().router.routes() {
        let path = openapi_pattern(route.pattern);
        let method = route.method.as_str().to_ascii_lowercase();
        let Some(op) = doc["paths"][&path].get(&method) else {
            continue; // reported by router_and_document_list_the_same_operations
        };
        let unauthorized = resolve(&doc, &op["responses"]["401"]);
        let expected = match route.family {
            Family::Rest => "application/vnd.api+json",
            Family::PlainText => "text/plain",
            Family::Html => "text/html",
        };
        assert!(
            unauthorized["content"].get(expected).is_some(),
            "{} {path}: 401 should be {expected}",
            method.to_ascii_uppercase()
        );
    }
}

/// `.ci/schemathesis.sh` relies on `fixtures/ci.json`: its key authenticates as DEMO.REPO
/// and its DOI (the document's example) is findable.
#[test]
fn ci_fixtures_load_with_a_working_key() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ci.json");
    let text = std::fs::read_to_string(fixtures).expect("fixtures/ci.json");
    let key = serde_json::from_str::<Value>(&text).expect("JSON")["apiKeys"][0]["key"]
        .as_str()
        .expect("a key")
        .to_string();
    let s = ci_server();
    let r = s.get("/dois/10.5072%2Fexample-1").bearer(&key).send().expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    let doi = r.json();
    assert_eq!(doi["data"]["attributes"]["state"], "findable");
    assert_eq!(
        doi["data"]["id"],
        document()["components"]["parameters"]["doi"]["example"]
    );
}

/// A server loaded from `fixtures/ci.json` (the fixtures schemathesis runs against).
fn ci_server() -> TestServer {
    let (mut config, dir) = TestServer::config("{}");
    config.fixtures = Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ci.json"));
    TestServer::from_config(config, dir)
}

/// The request-body examples are what the document teaches, and what schemathesis' examples
/// phase sends first: each must succeed, with its path parameters' own examples.
#[test]
fn request_body_examples_succeed() {
    let doc = document();
    let s = ci_server();
    let mut sent = 0;
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][&method];
        let Some(body) = op.get("requestBody").map(|b| resolve(&doc, b)) else {
            continue;
        };
        // Ids of keys and reports are made by the server: no example can name one.
        if path.contains("{id}") {
            continue;
        }
        let content = body["content"].as_object().expect("content");
        let Some((media_type, example)) = content
            .iter()
            .find_map(|(t, m)| m.get("example").map(|e| (t.clone(), e.clone())))
        else {
            continue;
        };
        let mut target = path.clone();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = resolve(&doc, p);
            if p["in"] == "path" {
                let name = p["name"].as_str().expect("name");
                let value = p["example"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: no example for {name}"));
                target = target.replace(&format!("{{{name}}}"), value);
            }
        }
        let bytes = match &example {
            Value::String(text) => text.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let r = s
            .req(&method.to_ascii_uppercase(), &target)
            .client_auth()
            .header("Content-Type", &media_type)
            .body(bytes)
            .send();
        assert!(
            (200..300).contains(&r.status),
            "{} {target} with the {media_type} example: {} {}",
            method.to_ascii_uppercase(),
            r.status,
            r.text()
        );
        sent += 1;
    }
    assert!(sent >= 10, "only {sent} examples sent");
}
