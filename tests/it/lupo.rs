//! The lupo conformance suite: cases ported from DataCite's own request specs
//! (`datacite/lupo` `spec/requests/datacite_dois/*_spec.rb`, `spec/requests/api_keys_spec.rb`),
//! kept as data in `lupo_cases.json` and run here, each against a fresh server whose
//! accounts mirror lupo's spec set-up (client `DATACITE.TEST` with prefix `10.14454`).
//!
//! A case is a list of steps: a request (`auth` names a credential — `client`,
//! `provider`, `staff`, `wrong`, `basic:user:password`, `bearer:token` — a body string
//! `@xml:<file>` is the Base64 of `fixtures/lupo/<file>`, a body string `@json:<file>` that
//! file's JSON, `@text:<file>` its text as a JSON string, an object `{"@template": name, …}` the data file's `templates[name]` with
//! the object's other members put over it — lupo's factories), the status lupo's example
//! expects and its assertions on the JSON body by JSON pointer: `equal`, `present`
//! (not null, not empty), `absent` (missing or null), `contains` (substring of a string),
//! `count` (array length), `keys` (exactly these object keys), `xml_contains` (substring, or
//! list of substrings, of the Base64-decoded string), `xml_lacks` (substrings the decoded string must not contain). A step with `times` runs that many times, `{n}` in its
//! request being the repetition (0, 1, …); `save` keeps values of the answer by JSON
//! pointer for later steps' `{$name}` (a saved absolute link is requested by its path).
//! A request with `"gzip": true` sends its body gzipped (`Content-Encoding: gzip`).

use base64::Engine;
use serde_json::Value;

use crate::support::*;

const CASES: &str = include_str!("lupo_cases.json");

/// Accounts as in lupo's spec `let` blocks; `DATACITE.M` and `DATACITE.M2` are the
/// `new_client`s DOIs are transferred to (the second with lupo's non-matching domains).
const LUPO_FIXTURES: &str = r#"{
  "admin": {"password": "admin-password"},
  "providers": [
    {"symbol": "DATACITE", "name": "DataCite", "email": "support@datacite.org", "password": "provider-password"}
  ],
  "clients": [
    {"symbol": "DATACITE.TEST", "provider": "DATACITE", "name": "DataCite Test", "email": "test@datacite.org",
     "password": "client-password", "prefixes": ["10.14454"], "domains": "*"},
    {"symbol": "DATACITE.M", "provider": "DATACITE", "name": "DataCite M", "email": "m@datacite.org",
     "password": "client-password", "domains": "*"},
    {"symbol": "DATACITE.M2", "provider": "DATACITE", "name": "DataCite MD", "email": "md@datacite.org",
     "password": "client-password", "prefixes": ["10.80225"], "domains": "datacite.org"}
  ]
}"#;

fn fixture_base64(name: &str) -> String {
    let path = format!("{}/fixtures/lupo/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Values earlier steps saved (`save`), by name.
type Saved = std::collections::BTreeMap<String, String>;

fn fixture_json(name: &str) -> Value {
    let path = format!("{}/fixtures/lupo/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Values earlier steps saved (`save`), by name, and the data file's `templates`.
struct Scope<'a> {
    saved: &'a Saved,
    templates: &'a Value,
}

/// The request with `@xml:<file>` strings replaced by the fixture's Base64, `@json:<file>`
/// by its JSON, `{"@template": …}` objects by their template, `{n}` by the repetition
/// number (a step with `times` runs that many times) and `{$name}` by a value an earlier
/// step saved.
fn expand(v: &Value, n: usize, scope: &Scope) -> Value {
    let saved = scope.saved;
    match v {
        Value::String(s) if s.starts_with("@json:") => fixture_json(&s["@json:".len()..]),
        Value::String(s) if s.starts_with("@text:") => {
            let path = format!("{}/fixtures/lupo/{}", env!("CARGO_MANIFEST_DIR"), &s["@text:".len()..]);
            Value::String(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        }
        Value::String(s) => match s.strip_prefix("@xml:") {
            Some(file) => Value::String(fixture_base64(file)),
            None => {
                let mut s = s.replace("{n}", &n.to_string());
                for (name, value) in saved {
                    s = s.replace(&format!("{{${name}}}"), value);
                }
                Value::String(s)
            }
        },
        Value::Array(items) => Value::Array(items.iter().map(|i| expand(i, n, scope)).collect()),
        Value::Object(o) => {
            let mut out = match o.get("@template").and_then(Value::as_str) {
                Some(name) => match expand(&scope.templates[name], n, scope) {
                    Value::Object(t) => t,
                    _ => panic!("no template {name}"),
                },
                None => serde_json::Map::new(),
            };
            for (k, v) in o.iter().filter(|(k, _)| k.as_str() != "@template") {
                out.insert(k.clone(), expand(v, n, scope));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn call(s: &TestServer, request: &Value, n: usize, scope: &Scope) -> Resp {
    let request = &expand(request, n, scope);
    let method = request["method"].as_str().unwrap_or("GET");
    // A path saved from an answer's absolute link (`links.next`) is used without its origin
    // (a path of this server may hold `://` in its query: `query=…:"https://…"`).
    let path = request["path"].as_str().expect("path");
    let path = match path.split_once("://") {
        Some((_, rest)) if !path.starts_with('/') => rest.find('/').map_or("/", |at| &rest[at..]),
        _ => path,
    };
    let mut c = s.req(method, path);
    c = match request["auth"].as_str().unwrap_or("none") {
        "client" => c.auth("DATACITE.TEST", "client-password"),
        "provider" => c.auth("DATACITE", "provider-password"),
        "staff" => c.auth("admin", "admin-password"),
        "wrong" => c.auth("DATACITE.TEST", "wrong-password"),
        other => match other.split_once(':') {
            Some(("bearer", token)) => c.bearer(token),
            Some(("basic", pair)) => {
                let (user, password) = pair.split_once(':').unwrap_or((pair, ""));
                c.auth(user, password)
            }
            _ => c,
        },
    };
    if let Some(body) = request.get("body") {
        c = if request["gzip"].as_bool() == Some(true) {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(body.to_string().as_bytes()).expect("gzip");
            c.header("Content-Type", "application/gzip")
                .header("Content-Encoding", "gzip")
                .body(gz.finish().expect("gzip"))
        } else {
            c.header("Content-Type", "application/vnd.api+json")
                .body(body.to_string())
        };
    }
    c.send()
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// The failures of one step, as text.
fn check(step: &Value, status: u16, body: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    let expected = step["status"].as_u64().unwrap_or(200);
    if u64::from(status) != expected {
        failures.push(format!("status {status}, expected {expected}"));
    }
    let entries = |name: &str| step.get(name).and_then(Value::as_object).cloned().unwrap_or_default();
    for (pointer, want) in entries("equal") {
        if body.pointer(&pointer) != Some(&want) {
            failures.push(format!("{pointer} is {:?}, expected {want}", body.pointer(&pointer)));
        }
    }
    for (pointer, want) in entries("contains") {
        let found = body.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
        if !found.contains(want.as_str().unwrap_or("")) {
            failures.push(format!("{pointer} is {found:?}, expected to contain {want}"));
        }
    }
    for (pointer, want) in entries("keys") {
        let mut found: Vec<&str> = body
            .pointer(&pointer)
            .and_then(Value::as_object)
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut want: Vec<&str> = want
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        found.sort_unstable();
        want.sort_unstable();
        if found != want {
            failures.push(format!("{pointer} has keys {found:?}, expected {want:?}"));
        }
    }
    for (pointer, want) in entries("count") {
        let len = body.pointer(&pointer).and_then(Value::as_array).map(Vec::len);
        if len.map(|n| n as u64) != want.as_u64() {
            failures.push(format!("{pointer} has {len:?} items, expected {want}"));
        }
    }
    for (pointer, want) in entries("xml_contains") {
        let encoded = body.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
        let xml = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default();
        let xml = String::from_utf8_lossy(&xml);
        // One substring, or a list of them.
        let wanted: Vec<&str> = match &want {
            Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
            other => vec![other.as_str().unwrap_or("")],
        };
        for part in wanted {
            if !xml.contains(part) {
                failures.push(format!("{pointer} decodes to XML without {part}"));
            }
        }
    }
    for (pointer, unwanted) in entries("xml_lacks") {
        let encoded = body.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
        let xml = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default();
        let xml = String::from_utf8_lossy(&xml);
        for part in unwanted.as_array().into_iter().flatten().filter_map(Value::as_str) {
            if xml.is_empty() || xml.contains(part) {
                failures.push(format!("{pointer} decodes to XML with {part}"));
            }
        }
    }
    let pointers = |name: &str| -> Vec<String> {
        step.get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    for pointer in pointers("present") {
        if is_blank(body.pointer(&pointer)) {
            failures.push(format!("{pointer} is not present"));
        }
    }
    for pointer in pointers("absent") {
        if !body.pointer(&pointer).is_none_or(Value::is_null) {
            failures.push(format!("{pointer} is present: {:?}", body.pointer(&pointer)));
        }
    }
    failures
}

fn run_case(case: &Value, templates: &Value) -> Vec<String> {
    let s = TestServer::with(LUPO_FIXTURES, |_| {});
    let mut failures = Vec::new();
    let mut saved = Saved::new();
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        for n in 0..step["times"].as_u64().unwrap_or(1) as usize {
            let scope = Scope {
                saved: &saved,
                templates,
            };
            let r = call(&s, &step["request"], n, &scope);
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            for (name, pointer) in step.get("save").and_then(Value::as_object).into_iter().flatten() {
                let value = body.pointer(pointer.as_str().unwrap_or("")).and_then(Value::as_str);
                saved.insert(name.clone(), value.unwrap_or_default().to_string());
            }
            for f in check(step, r.status, &body) {
                failures.push(format!("step {}: {f}", i + 1));
            }
        }
    }
    failures
}

#[test]
fn lupo_request_specs() {
    let doc: Value = serde_json::from_str(CASES).expect("lupo_cases.json is JSON");
    let read = doc["read"].as_object().expect("read");
    let mut failed = Vec::new();
    let cases = doc["cases"].as_array().expect("cases");
    for case in cases {
        let file = case["file"].as_str().expect("file");
        assert!(read.contains_key(file), "{file} is not among the files read");
        assert!(case["example"].as_str().is_some_and(|e| !e.is_empty()));
        let failures = run_case(case, &doc["templates"]);
        if !failures.is_empty() {
            failed.push(format!("{file}: {}\n  {}", case["example"], failures.join("\n  ")));
        }
    }
    let skipped = doc["out_of_scope"].as_array().expect("out_of_scope");
    for s in skipped {
        assert!(s["reason"].as_str().is_some_and(|r| !r.is_empty()), "{s}");
    }
    // Every example read is accounted for: ported (a case names it, exactly as lupo's
    // describe/context/it chain reads; `note` says what the port adds), out of scope with
    // a reason, or listed as not yet ported.
    // A case stands for `examples` lupo examples when lupo repeats a name (default 1).
    let examples: std::collections::BTreeMap<(String, String), u64> = cases
        .iter()
        .map(|c| {
            let file = c["file"].as_str().unwrap_or("");
            let key = (file.to_string(), c["example"].as_str().unwrap_or("").to_string());
            (key, c["examples"].as_u64().unwrap_or(1))
        })
        .collect();
    let ported: u64 = examples.values().sum();
    let read: u64 = read.values().filter_map(Value::as_u64).sum();
    let left = doc["not_yet_ported"].as_array().map_or(0, Vec::len);
    assert_eq!(
        ported as usize + skipped.len() + left,
        read as usize,
        "examples read, ported, out of scope, left"
    );
    assert!(
        failed.is_empty(),
        "{} of {} lupo cases fail:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
