//! The monthly data file (CONTRACT §10): contents, signed links, once-per-month builds, CLI.

use flate2::read::GzDecoder;
use ring::digest;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Read;

use crate::support::*;
use tinydoi::datafile;

fn insert_doi(db: &Connection, doi: &str, client: &str, state: &str, created: i64) {
    let prefix = doi.split('/').next().unwrap();
    let attributes = json!({
        "titles": [{"title": format!("Title of {doi}")}],
        "creators": [{"name": "Doe, Jane"}],
        "publicationYear": 2026,
    });
    db.execute(
        "INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, x'3c78', ?6, ?7, ?7, ?8, 'password')",
        rusqlite::params![
            doi,
            client,
            prefix,
            state,
            format!("https://example.org/{doi}"),
            attributes.to_string(),
            created,
            (state != "draft").then_some(created),
        ],
    )
    .expect("insert doi");
}

/// The end of the latest complete month, which the server builds the file for.
fn month_and_end() -> (String, i64) {
    let month = datafile::previous_month(tinydoi::time::now());
    let end = datafile::month_end(&month).unwrap();
    (month, end)
}

/// DOIs around the month's end; returns the ones the file must hold.
fn seed(s: &TestServer) -> BTreeSet<String> {
    let (_, end) = month_and_end();
    let db = s.db();
    insert_doi(&db, "10.5072/early", CLIENT, "findable", end - 20 * 86400);
    insert_doi(&db, "10.5072/last-second", CLIENT, "findable", end - 1);
    insert_doi(&db, "10.5073/other-client", OTHER_CLIENT, "findable", end - 3600);
    insert_doi(&db, "10.5072/after-the-month", CLIENT, "findable", end);
    insert_doi(&db, "10.5072/a-draft", CLIENT, "draft", end - 86400);
    insert_doi(&db, "10.5072/registered", CLIENT, "registered", end - 86400);
    ["10.5072/early", "10.5072/last-second", "10.5073/other-client"]
        .iter()
        .map(|d| d.to_string())
        .collect()
}

fn gunzip_lines(bytes: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text).expect("gzip");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    digest::digest(&digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_file_holds_exactly_the_findable_dois_of_the_month() {
    let s = TestServer::start();
    let expected = seed(&s);
    let (month, _) = month_and_end();
    let r = s.get("/credentials/datafile").client_auth().send().expect(200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    let a = &body["data"]["attributes"];
    assert_eq!(body["data"]["type"], "datafiles");
    assert_eq!(a["month"], month.as_str());
    assert_eq!(a["records"], 3);
    assert_eq!(a["expiresIn"], 3600);
    let url = a["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("/datafile/{month}.jsonl.gz?expires=")),
        "{url}"
    );
    assert!(url.contains("&signature="));

    // The link works without credentials.
    let file = s.get(url).send().expect(200);
    assert_eq!(file.header("content-type"), Some("application/gzip"));
    assert_eq!(a["size"], file.body.len());
    assert_eq!(a["sha256"], sha256_hex(&file.body).as_str());
    let lines = gunzip_lines(&file.body);
    let dois: BTreeSet<String> = lines.iter().map(|l| l["doi"].as_str().unwrap().to_string()).collect();
    assert_eq!(dois, expected);
    let early = lines.iter().find(|l| l["doi"] == "10.5072/early").unwrap();
    assert_eq!(early["state"], "findable");
    assert_eq!(early["url"], "https://example.org/10.5072/early");
    assert_eq!(early["titles"][0]["title"], "Title of 10.5072/early");
    assert_eq!(early["prefix"], "10.5072");
    assert_eq!(early["suffix"], "early");
    assert!(early["created"].as_str().unwrap().ends_with('Z'));
    assert!(early["updated"].as_str().is_some());
    assert!(early.get("xml").is_none());

    // Recorded next to the database.
    let (path, records, size, sha): (String, i64, i64, String) = s
        .db()
        .query_row(
            "SELECT path, records, size, sha256 FROM datafiles WHERE month = ?1",
            [&month],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((records, size as usize), (3, file.body.len()));
    assert_eq!(sha, sha256_hex(&file.body));
    assert!(std::path::Path::new(&path).starts_with(s.dir.path().join("datafiles")));
    assert_eq!(std::fs::read(&path).unwrap(), file.body);
}

#[test]
fn built_once_then_kept() {
    let s = TestServer::start();
    seed(&s);
    let first = s.get("/credentials/datafile").client_auth().send().expect(200).json();
    // A DOI that appears later does not trigger a rebuild of a finished month.
    let (_, end) = month_and_end();
    insert_doi(&s.db(), "10.5072/late-arrival", CLIENT, "findable", end - 5);
    let second = s.get("/credentials/datafile").client_auth().send().expect(200).json();
    let (a, b) = (&first["data"]["attributes"], &second["data"]["attributes"]);
    assert_eq!(a["sha256"], b["sha256"]);
    assert_eq!(a["created"], b["created"]);
    assert_eq!(b["records"], 3);
    let files: Vec<_> = std::fs::read_dir(s.dir.path().join("datafiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let rows = count(&s.db(), "SELECT count(*) FROM datafiles");
    assert_eq!(rows, 1);
}

#[test]
fn who_may_ask_for_the_link() {
    let s = TestServer::start();
    let r = s.get("/credentials/datafile").send().expect(401);
    assert_eq!(r.json()["errors"][0]["status"], "401");
    s.get("/credentials/datafile").auth(CLIENT, "wrong").send().expect(401);
    let key = insert_key(&s.db(), CLIENT);
    let r = s.get("/credentials/datafile").bearer(&key).send().expect(200);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    s.get("/credentials/datafile").auth(&key, "").send().expect(200);
    s.get("/credentials/datafile")
        .auth(PROVIDER, PROVIDER_PASSWORD)
        .send()
        .expect(200);
    s.get("/credentials/datafile")
        .auth("ADMIN", ADMIN_PASSWORD)
        .send()
        .expect(200);
}

#[test]
fn tampered_or_expired_links_are_403() {
    let s = TestServer::start();
    seed(&s);
    let (month, _) = month_and_end();
    let url = s.get("/credentials/datafile").client_auth().send().expect(200).json()["data"]["attributes"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (path, query) = url.split_once('?').unwrap();
    let (expires, signature) = query.split_once("&signature=").unwrap();
    let expires: i64 = expires.trim_start_matches("expires=").parse().unwrap();

    // A later expiry with the same signature.
    s.get(&format!("{path}?expires={}&signature={signature}", expires + 1))
        .send()
        .expect(403);
    // One character of the signature changed.
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let r = s
        .get(&format!(
            "{path}?expires={expires}&signature={flipped}{}",
            &signature[1..]
        ))
        .send()
        .expect(403);
    assert_eq!(r.json()["errors"][0]["status"], "403");
    // Missing parts.
    s.get(path).send().expect(403);
    s.get(&format!("{path}?expires={expires}")).send().expect(403);
    // Correctly signed, but expired.
    let key = datafile::signing_key(&s.db()).unwrap();
    let past = tinydoi::time::now() - 1;
    s.get(&datafile::signed_url(&key, &month, past)).send().expect(403);
    // Signed for a month that has no file: 404; not a data file name: 404.
    let future = tinydoi::time::now() + 60;
    s.get(&datafile::signed_url(&key, "1999-01", future)).send().expect(404);
    s.get("/datafile/secrets.txt").send().expect(404);
    // The genuine link still works.
    s.get(&url).send().expect(200);
}

#[test]
fn cli_builds_a_month_with_progress() {
    let s = TestServer::start();
    let (month, end) = month_and_end();
    seed(&s);
    // Ask the CLI for an older month too: only DOIs created before its end.
    let older = datafile::previous_month(end - 86400 * 40);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(&s.db_path)
        .args(["datafile", "build", "--month", &month])
        .output()
        .expect("run tinydoi");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("data file {month}: 3/3 records")), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("3 records"), "{stdout}");
    // A second build keeps the first file.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(&s.db_path)
        .args(["datafile", "build", "--month", &month])
        .output()
        .expect("run tinydoi");
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("built already"));
    assert_eq!(std::fs::read_dir(s.dir.path().join("datafiles")).unwrap().count(), 1);
    // The server serves the file the CLI built.
    let a = s.get("/credentials/datafile").client_auth().send().expect(200).json();
    let sha: String = s
        .db()
        .query_row("SELECT sha256 FROM datafiles WHERE month = ?1", [&month], |r| r.get(0))
        .unwrap();
    assert_eq!(a["data"]["attributes"]["sha256"], sha.as_str());

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(&s.db_path)
        .args(["datafile", "build", "--month", &older])
        .output()
        .expect("run tinydoi");
    assert!(output.status.success());
    let records: i64 = s
        .db()
        .query_row("SELECT records FROM datafiles WHERE month = ?1", [&older], |r| r.get(0))
        .unwrap();
    assert_eq!(records, 0);

    // A month that has not ended is refused.
    let current = tinydoi::time::month_of(tinydoi::time::now());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(&s.db_path)
        .args(["datafile", "build", "--month", &current])
        .output()
        .expect("run tinydoi");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("has not ended"));
}
