//! poodle's conformance suite: runs every case of `tests/conformance/poodle.json` (poodle's
//! request and concern specs as data) against real servers, one fresh server per group,
//! and checks that the README's counts are the data file's.

use serde_json::{json, Value};
use std::path::PathBuf;

use crate::support::{doi_row, Resp, TestServer};
use tinydoi::dois::doi;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn suite() -> Value {
    let text = std::fs::read_to_string(root().join("tests/conformance/poodle.json")).expect("poodle.json");
    serde_json::from_str(&text).expect("poodle.json is JSON")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures/poodle").join(name)).unwrap_or_else(|e| panic!("fixtures/poodle/{name}: {e}"))
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// The suite's accounts and seeded DOIs as a tinydoi fixtures file; each seed's record is
/// rewritten to name its DOI.
fn fixtures(server: &Value) -> String {
    let client = |c: &Value| {
        json!({"symbol": c["symbol"], "provider": "DATACITE", "name": c["symbol"], "email": "mds@example.org",
               "password": c["password"], "prefixes": c["prefixes"], "domains": "*"})
    };
    let dois: Vec<Value> = server["dois"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let name = text(d, "doi");
            let file = fixture(&text(d, "xmlFile"));
            let xml = tinydoi::metadata::with_identifier(&file, &name).expect("seed record");
            json!({"doi": name, "client": server["client"]["symbol"], "state": d["state"], "url": d["url"],
                   "xml": String::from_utf8_lossy(&xml)})
        })
        .collect();
    json!({
        "providers": [{"symbol": "DATACITE", "name": "DataCite", "email": "p@example.org"}],
        "clients": [client(&server["client"]), client(&server["other"])],
        "dois": dois,
    })
    .to_string()
}

fn send(s: &TestServer, server: &Value, request: &Value) -> Resp {
    let mut call = s.req(&text(request, "method"), &text(request, "path"));
    for (k, v) in request["headers"].as_object().into_iter().flatten() {
        call = call.header(k, v.as_str().unwrap_or_default());
    }
    let client = &server["client"];
    call = match request["auth"].as_str() {
        Some("none") => call,
        Some("wrong") => call.auth(&text(client, "symbol"), "123"),
        Some("other") => call.auth(&text(&server["other"], "symbol"), &text(&server["other"], "password")),
        _ => call.auth(&text(client, "symbol"), &text(client, "password")),
    };
    if let Some(body) = request["body"].as_str() {
        call = call.body(body);
    } else if let Some(file) = request["bodyFile"].as_str() {
        call = call.body(fixture(file));
    }
    call.send()
}

/// `a/b[1]/@c` from the root element: child elements by local name (`[i]`: the i-th of
/// that name), an attribute by local name last.
fn xml_at(xml: &str, path: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let mut node = doc.root_element();
    for step in path.split('/') {
        if let Some(attr) = step.strip_prefix('@') {
            let local = attr.rsplit(':').next().unwrap_or(attr);
            return node
                .attributes()
                .find(|a| a.name() == local)
                .map(|a| a.value().to_string());
        }
        let (name, index) = match step.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse().ok()?),
            None => (step, 0),
        };
        node = node
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == name)
            .nth(index)?;
    }
    Some(node.text().unwrap_or_default().to_string())
}

/// What `expect` says about a response that `r` does not satisfy.
fn check_response(s: &TestServer, expect: &Value, r: &Resp) -> Vec<String> {
    let mut wrong = Vec::new();
    let body = r.text();
    if expect["status"].as_u64() != Some(u64::from(r.status)) {
        wrong.push(format!("status {} (expected {})", r.status, expect["status"]));
    }
    if let Some(want) = expect["body"].as_str() {
        if body != want {
            wrong.push(format!("body {body:?} (expected {want:?})"));
        }
    }
    if let Some(file) = expect["bodyFile"].as_str() {
        if body.trim() != String::from_utf8_lossy(&fixture(file)).trim() {
            wrong.push(format!("body is not {file}"));
        }
    }
    if let Some(start) = expect["bodyStartsWith"].as_str() {
        if !body.starts_with(start) {
            wrong.push(format!("body {body:?} does not start with {start:?}"));
        }
    }
    if let Some(len) = expect["bodyLength"].as_u64() {
        if body.len() as u64 != len {
            wrong.push(format!("body {body:?} is not {len} long"));
        }
    }
    let lines: Vec<&str> = body.lines().collect();
    if let Some(n) = expect["lines"].as_u64() {
        if lines.len() as u64 != n {
            wrong.push(format!("{} lines (expected {n})", lines.len()));
        }
    }
    for (key, line) in [("firstLine", lines.first()), ("lastLine", lines.last())] {
        if let Some(want) = expect[key].as_str() {
            if line != Some(&want) {
                wrong.push(format!("{key} {line:?} (expected {want:?})"));
            }
        }
    }
    for (name, want) in expect["headers"].as_object().into_iter().flatten() {
        let want = want.as_str().unwrap_or_default().replace("{base}", &s.base);
        if r.header(name) != Some(want.as_str()) {
            wrong.push(format!("header {name}: {:?} (expected {want:?})", r.header(name)));
        }
    }
    for at in expect["xml"].as_array().into_iter().flatten() {
        let (path, want) = (text(at, "path"), text(at, "text"));
        let found = xml_at(&body, &path);
        if found.as_deref() != Some(want.as_str()) {
            wrong.push(format!("xml {path}: {found:?} (expected {want:?})"));
        }
    }
    wrong
}

/// What `expect.db` and `expect.media` say about the database that it does not hold.
fn check_database(s: &TestServer, expect: &Value) -> Vec<String> {
    let mut wrong = Vec::new();
    let db = s.db();
    if let Some(want) = expect.get("db") {
        let name = text(want, "doi");
        match doi_row(&db, &name) {
            None if want["absent"] == true => {}
            None => wrong.push(format!("{name} is not stored")),
            Some(_) if want["absent"] == true => wrong.push(format!("{name} is stored")),
            Some(row) => {
                let xml = row.xml.unwrap_or_default();
                if let Some(state) = want["state"].as_str() {
                    if row.state != state {
                        wrong.push(format!("{name} is {} (expected {state})", row.state));
                    }
                }
                if want["url"].is_string() && row.url.as_deref() != want["url"].as_str() {
                    wrong.push(format!("{name} url {:?} (expected {})", row.url, want["url"]));
                }
                if let Some(id) = want["xmlIdentifier"].as_str() {
                    let found = tinydoi::metadata::identifier_of(&xml).ok().flatten();
                    if found.as_deref() != Some(id) {
                        wrong.push(format!("{name} stored identifier {found:?} (expected {id})"));
                    }
                }
                if let Some(file) = want["xmlFile"].as_str() {
                    if xml != fixture(file) {
                        wrong.push(format!("{name} stored record is not {file} byte for byte"));
                    }
                }
            }
        }
    }
    if let Some(want) = expect.get("media") {
        let mut stmt = db
            .prepare("SELECT rowid, media_type, url FROM media WHERE doi = ?1 ORDER BY position")
            .expect("media query");
        let rows: Vec<Value> = stmt
            .query_map([text(want, "doi")], |r| {
                let id: i64 = r.get(0)?;
                Ok(json!([
                    tinydoi::api::mds::media_id(id),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?
                ]))
            })
            .expect("media rows")
            .map(|r| r.expect("media row"))
            .collect();
        if Value::Array(rows.clone()) != want["entries"] {
            wrong.push(format!("media {rows:?} (expected {})", want["entries"]));
        }
    }
    wrong
}

/// Calls the pure function behind a concern example.
fn call(c: &Value, expect: &Value) -> Vec<String> {
    let args = &c["args"];
    let number = args["number"].as_u64();
    let result: Result<Value, tinydoi::error::Error> = match c["function"].as_str().unwrap_or_default() {
        "validate_prefix" => Ok(json!(doi::validate_prefix(&text(args, "str")))),
        "generate_random_doi" => doi::generate_random_doi(&text(args, "str"), number).map(|d| json!(d)),
        "extract_doi" => {
            let in_record = args["dataFile"]
                .as_str()
                .and_then(|f| tinydoi::metadata::identifier_of(&fixture(f)).ok().flatten());
            doi::extract_doi(&text(args, "str"), in_record.as_deref(), number).map(|d| json!(d))
        }
        "extract_url" => {
            tinydoi::api::mds::extract_url(Some(&text(args, "doi")), &text(args, "data")).map(|(d, u)| json!([d, u]))
        }
        other => return vec![format!("unknown function {other}")],
    };
    let mut wrong = Vec::new();
    match (&result, expect) {
        (Ok(v), e) if e.get("returns").is_some() && v != &e["returns"] => {
            wrong.push(format!("returned {v} (expected {})", e["returns"]))
        }
        (Ok(v), e)
            if e.get("returnsLength").is_some()
                && v.as_str().map(|s| s.len() as u64) != e["returnsLength"].as_u64() =>
        {
            wrong.push(format!("returned {v} (expected length {})", e["returnsLength"]))
        }
        (Ok(v), e) if e.get("error").is_some() => wrong.push(format!("returned {v} (expected an error)")),
        (Err(err), e) => {
            let want = &e["error"];
            let message = match err {
                tinydoi::error::Error::BadRequest(m) => m.clone(),
                other => format!("{other}"),
            };
            if want["status"].as_u64() != Some(u64::from(err.status()))
                || want["message"].as_str() != Some(message.as_str())
            {
                wrong.push(format!("error {} {message:?} (expected {want})", err.status()));
            }
        }
        _ => {}
    }
    wrong
}

#[test]
fn poodle_specs() {
    let suite = suite();
    let server = &suite["server"];
    let fixtures = fixtures(server);
    let mut failures = Vec::new();
    let mut passed = 0;
    for group in suite["groups"].as_array().expect("groups") {
        let at = format!("{} › {}", text(group, "file"), text(group, "describe"));
        let s = TestServer::with(&fixtures, |_| {});
        for setup in group["setup"].as_array().into_iter().flatten() {
            let r = send(&s, server, setup);
            assert!(
                (200..300).contains(&r.status),
                "{at}: setup {setup}: {} {}",
                r.status,
                r.text()
            );
        }
        for case in group["cases"].as_array().expect("cases") {
            if case.get("pending").is_some() {
                continue;
            }
            let expect = &case["expect"];
            let wrong = if let Some(c) = case.get("call") {
                call(c, expect)
            } else {
                let r = send(&s, server, &case["request"]);
                let mut wrong = check_response(&s, expect, &r);
                wrong.extend(check_database(&s, expect));
                wrong
            };
            if wrong.is_empty() {
                passed += 1;
            } else {
                failures.push(format!("{at} › {}: {}", text(case, "example"), wrong.join("; ")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of poodle's examples fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("poodle: {passed} examples pass");
    assert!(passed > 0);
}

/// README's sentence about the suite states the data file's counts.
#[test]
fn readme_states_the_counts() {
    let suite = suite();
    let cases: Vec<&Value> = suite["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["cases"].as_array().into_iter().flatten())
        .collect();
    let pending = cases.iter().filter(|c| c.get("pending").is_some()).count();
    let out = suite["outOfScope"].as_array().map_or(0, Vec::len);
    let ported = cases.len() - pending;
    let read = cases.len() + out;
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let sentence = format!("{read} examples read, {ported} ported and passing, {out} out of scope, {pending} pending");
    assert!(readme.contains(&sentence), "README.md should say: {sentence}");
}
