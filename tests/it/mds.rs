//! MDS API (CONTRACT §5): the life cycle with an API key, every error row with its exact
//! body, credential forms, ownership, and that a failing request stores nothing.

use std::io::{Read, Write};
use std::net::TcpStream;

use rusqlite::Connection;

use crate::support::*;

const XML: &str = "application/xml;charset=UTF-8";
const TEXT: &str = "text/plain;charset=UTF-8";

/// DataCite's official dataset example (identifier `10.5072/FK25H7QRS`... replaced).
fn dataset_record(doi: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/kernel-4/example/datacite-example-dataset-v4.xml"
    );
    let xml = std::fs::read_to_string(path).expect("example record");
    let start = xml.find("<identifier identifierType=\"DOI\">").expect("identifier");
    let end = start + xml[start..].find("</identifier>").expect("identifier end");
    format!(
        "{}<identifier identifierType=\"DOI\">{doi}{}",
        &xml[..start],
        &xml[end..]
    )
}

fn doi_count(db: &Connection) -> i64 {
    count(db, "SELECT count(*) FROM dois")
}

fn media_rows(db: &Connection, doi: &str) -> Vec<(String, String)> {
    let mut stmt = db
        .prepare("SELECT media_type, url FROM media WHERE doi = ?1 ORDER BY position")
        .unwrap();
    let rows = stmt.query_map([doi], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

fn expect_text(r: Resp, status: u16, body: &str) -> Resp {
    let r = r.expect(status);
    assert_eq!(r.text(), body);
    if !body.is_empty() {
        assert_eq!(r.header("content-type"), Some(TEXT));
    }
    r
}

/// Uploads `video_record(doi)` as DEMO.REPO with its password.
fn upload(s: &TestServer, doi: &str) {
    s.put(&format!("/metadata/{doi}"))
        .client_auth()
        .header("Content-Type", XML)
        .body(video_record(doi))
        .send()
        .expect(201);
}

/// Uploads and registers a URL, so the DOI is findable.
fn publish(s: &TestServer, doi: &str, user: &str, password: &str) {
    s.put(&format!("/metadata/{doi}"))
        .auth(user, password)
        .header("Content-Type", XML)
        .body(video_record(doi))
        .send()
        .expect(201);
    s.put(&format!("/doi/{doi}"))
        .auth(user, password)
        .header("Content-Type", TEXT)
        .body(format!("doi={doi}\nurl=https://example.org/{doi}"))
        .send()
        .expect(201);
}

#[test]
fn life_cycle_with_an_api_key_as_basic_username() {
    let s = TestServer::start();
    let db = s.db();
    let key = insert_key(&db, CLIENT);
    let key_id = key_id(&db, &key);
    let xml = video_record("10.5072/ABC");

    // Upload: a new draft.
    let r = s
        .put("/metadata/10.5072/abc")
        .auth(&key, "")
        .header("Content-Type", XML)
        .body(xml.clone())
        .send();
    let r = expect_text(r, 201, "OK (10.5072/ABC)");
    assert_eq!(
        r.header("location").unwrap(),
        format!("{}/metadata/10.5072/abc", s.base)
    );
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    let stored = doi_row(&db, "10.5072/abc").expect("stored lower case");
    assert_eq!((stored.client.as_str(), stored.state.as_str()), (CLIENT, "draft"));
    assert_eq!(stored.xml.as_deref(), Some(xml.as_bytes()));
    let attributes: serde_json::Value = serde_json::from_str(stored.attributes.as_deref().unwrap()).unwrap();
    assert_eq!(
        attributes["titles"][0]["title"],
        "Walking Your Space, Evaluating Your Home"
    );
    assert_eq!(stored.updated_by, Some(format!("apiKey:{key_id}")));
    assert_eq!(stored.registered, None);

    // Read it back byte for byte, in any case.
    let r = s.get("/metadata/10.5072/ABC").auth(&key, "").send().expect(200);
    assert_eq!(r.header("content-type"), Some("application/xml"));
    assert_eq!(r.body, xml.as_bytes());

    // A draft has no URL yet.
    expect_text(s.get("/doi/10.5072/abc").auth(&key, "").send(), 204, "");

    // Register the URL: it becomes findable.
    let r = s
        .put("/doi/10.5072/abc")
        .auth(&key, "")
        .header("Content-Type", TEXT)
        .body("doi=10.5072/ABC\nurl=https://example.org/abc")
        .send();
    expect_text(r, 201, "OK");
    let stored = doi_row(&db, "10.5072/abc").unwrap();
    assert_eq!(stored.state, "findable");
    assert_eq!(stored.url.as_deref(), Some("https://example.org/abc"));
    assert!(stored.registered.is_some());
    assert_eq!(stored.xml.as_deref(), Some(xml.as_bytes()), "metadata untouched");
    expect_text(
        s.get("/doi/10.5072/ABC").auth(&key, "").send(),
        200,
        "https://example.org/abc",
    );

    // Media.
    let r = s
        .post("/media/10.5072/abc")
        .auth(&key, "")
        .header("Content-Type", TEXT)
        .body("application/pdf=https://example.org/abc.pdf\ntext/plain=https://example.org/abc.txt\n")
        .send();
    expect_text(r, 200, "OK");
    expect_text(
        s.get("/media/10.5072/abc").auth(&key, "").send(),
        200,
        "application/pdf=https://example.org/abc.pdf\ntext/plain=https://example.org/abc.txt",
    );
    // A known media type is updated, a new one added.
    s.post("/media/10.5072/abc")
        .auth(&key, "")
        .body("text/plain=https://example.org/abc-2.txt\nvideo/mp4=https://example.org/abc.mp4")
        .send()
        .expect(200);
    assert_eq!(
        media_rows(&db, "10.5072/abc"),
        vec![
            ("application/pdf".into(), "https://example.org/abc.pdf".into()),
            ("text/plain".into(), "https://example.org/abc-2.txt".into()),
            ("video/mp4".into(), "https://example.org/abc.mp4".into()),
        ]
    );

    // A findable DOI cannot be deleted.
    let r = expect_text(
        s.delete("/doi/10.5072/abc").auth(&key, "").send(),
        405,
        "Method not allowed",
    );
    assert_eq!(r.header("allow"), Some("GET, PUT"));
    assert!(doi_row(&db, "10.5072/abc").is_some());

    // Hide it: registered; its client still reads it, others no longer.
    expect_text(s.delete("/metadata/10.5072/abc").auth(&key, "").send(), 200, "OK");
    assert_eq!(doi_row(&db, "10.5072/abc").unwrap().state, "registered");
    s.get("/metadata/10.5072/abc").auth(&key, "").send().expect(200);
    expect_text(
        s.get("/metadata/10.5072/abc").auth(OTHER_CLIENT, OTHER_PASSWORD).send(),
        404,
        "DOI is unknown to MDS",
    );
    // Registering the URL again makes it findable again (poodle sends lupo `publish`).
    s.put("/doi/10.5072/abc")
        .auth(&key, "")
        .body("doi=10.5072/abc\nurl=https://example.org/abc-moved")
        .send()
        .expect(201);
    let stored = doi_row(&db, "10.5072/abc").unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.url.as_deref()),
        ("findable", Some("https://example.org/abc-moved"))
    );
    // So does new metadata (poodle sends lupo `show`).
    expect_text(s.delete("/metadata/10.5072/abc").auth(&key, "").send(), 200, "OK");
    assert_eq!(doi_row(&db, "10.5072/abc").unwrap().state, "registered");
    s.put("/metadata/10.5072/abc")
        .auth(&key, "")
        .header("Content-Type", XML)
        .body(video_record("10.5072/abc"))
        .send()
        .expect(201);
    assert_eq!(doi_row(&db, "10.5072/abc").unwrap().state, "findable");

    // A draft, then the list (minted DOIs only), then deleting the draft.
    s.put("/metadata/10.5072/draft-1")
        .auth(&key, "")
        .header("Content-Type", XML)
        .body(video_record("10.5072/draft-1"))
        .send()
        .expect(201);
    expect_text(s.get("/doi").auth(&key, "").send(), 200, "10.5072/ABC");
    expect_text(s.delete("/doi/10.5072/draft-1").auth(&key, "").send(), 200, "OK");
    assert!(doi_row(&db, "10.5072/draft-1").is_none());
    expect_text(
        s.get("/metadata/10.5072/draft-1").auth(&key, "").send(),
        404,
        "DOI is unknown to MDS",
    );
}

#[test]
fn revoked_key_is_401_and_stores_nothing() {
    let s = TestServer::start();
    let db = s.db();
    let key = insert_key(&db, CLIENT);
    revoke_key(&db, &key);
    let r = s
        .put("/metadata/10.5072/abc")
        .auth(&key, "")
        .header("Content-Type", XML)
        .body(video_record("10.5072/abc"))
        .send();
    let r = expect_text(r, 401, "Bad credentials");
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"tinydoi\""));
    assert_eq!(doi_count(&db), 0);
}

#[test]
fn every_credential_form_works() {
    let s = TestServer::start();
    let db = s.db();
    let key = insert_key(&db, CLIENT);
    let calls = [
        s.put("/metadata/10.5072/by-password").client_auth(),
        s.put("/metadata/10.5072/by-key-user").auth(&key, ""),
        s.put("/metadata/10.5072/by-key-user-pw").auth(&key, "ignored"),
        s.put("/metadata/10.5072/by-key-password").auth(CLIENT, &key),
        s.put("/metadata/10.5072/by-bearer").bearer(&key),
    ];
    for (i, call) in calls.into_iter().enumerate() {
        let doi = [
            "10.5072/by-password",
            "10.5072/by-key-user",
            "10.5072/by-key-user-pw",
            "10.5072/by-key-password",
            "10.5072/by-bearer",
        ][i];
        call.header("Content-Type", XML)
            .body(video_record(doi))
            .send()
            .expect(201);
        let by = doi_row(&db, doi).unwrap().updated_by.unwrap();
        assert_eq!(by == "password", i == 0, "{doi}: {by}");
    }
    // A key of another client as the password of this one: 401.
    let other_key = insert_key(&db, OTHER_CLIENT);
    expect_text(
        s.put("/metadata/10.5072/x")
            .auth(CLIENT, &other_key)
            .header("Content-Type", XML)
            .body(video_record("10.5072/x"))
            .send(),
        401,
        "Bad credentials",
    );
    assert!(doi_row(&db, "10.5072/x").is_none());
}

#[test]
fn python_client_crlf_and_text_plain_bodies() {
    let s = TestServer::start();
    let db = s.db();
    let xml = video_record("10.5072/py-1").replace('\n', "\r\n");
    s.post("/metadata")
        .client_auth()
        .header("Content-Type", TEXT)
        .body(xml.clone())
        .send()
        .expect(201);
    assert_eq!(
        doi_row(&db, "10.5072/py-1").unwrap().xml.as_deref(),
        Some(xml.as_bytes())
    );
    let r = s
        .post("/doi")
        .client_auth()
        .header("Content-Type", TEXT)
        .body("doi=10.5072/py-1\r\nurl=https://example.org/py-1\r\n")
        .send();
    expect_text(r, 201, "OK");
    let stored = doi_row(&db, "10.5072/py-1").unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.url.as_deref()),
        ("findable", Some("https://example.org/py-1"))
    );
    // No Content-Type at all, and form parameters for /doi.
    s.put("/metadata/10.5072/py-2")
        .client_auth()
        .body(video_record("10.5072/py-2"))
        .send()
        .expect(201);
    s.post("/doi")
        .client_auth()
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("doi=10.5072%2Fpy-2&url=https%3A%2F%2Fexample.org%2Fpy-2%3Fa%3Db")
        .send()
        .expect(201);
    assert_eq!(
        doi_row(&db, "10.5072/py-2").unwrap().url.as_deref(),
        Some("https://example.org/py-2?a=b")
    );
}

/// Sends one raw HTTP/1.1 request and returns the whole response text.
fn raw(s: &TestServer, head: &str, body: &[u8], wait_for_continue: bool) -> String {
    let addr = s.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    if wait_for_continue {
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).unwrap();
        let interim = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(interim.starts_with("HTTP/1.1 100"), "no 100 Continue: {interim}");
    }
    stream.write_all(body).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn dataverse_challenge_and_expect_continue() {
    let s = TestServer::start();
    let db = s.db();
    let key = insert_key(&db, CLIENT);
    let xml = video_record("10.5072/dv-1");
    // First without credentials: 401 with a challenge, nothing stored.
    let r = s
        .put("/metadata/10.5072/dv-1")
        .header("Content-Type", XML)
        .body(xml.clone())
        .send();
    let r = expect_text(r, 401, "An Authentication object was not found in the SecurityContext");
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"tinydoi\""));
    assert_eq!(doi_count(&db), 0);
    // Then the same request with credentials, announced with `Expect: 100-continue`.
    let head = format!(
        "PUT /metadata/10.5072/dv-1 HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Type: {XML}\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        s.base.trim_start_matches("http://"),
        basic(&key, ""),
        xml.len()
    );
    let response = raw(&s, &head, xml.as_bytes(), true);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.ends_with("OK (10.5072/DV-1)"), "{response}");
    assert_eq!(
        doi_row(&db, "10.5072/dv-1").unwrap().xml.as_deref(),
        Some(xml.as_bytes())
    );
    // Dataverse registers the URL with LF lines.
    s.put("/doi/10.5072/dv-1")
        .auth(&key, "")
        .body("doi=10.5072/dv-1\nurl=https://dataverse.example.org/dataset.xhtml?persistentId=doi:10.5072/dv-1")
        .send()
        .expect(201);
    assert_eq!(doi_row(&db, "10.5072/dv-1").unwrap().state, "findable");
}

#[test]
fn metadata_upload_errors() {
    let s = TestServer::start();
    let db = s.db();
    let put = |path: &str, ct: Option<&str>, body: &str| {
        let mut call = s.put(path).client_auth();
        if let Some(ct) = ct {
            call = call.header("Content-Type", ct);
        }
        call.body(body.to_string()).send()
    };
    let xml = video_record("10.5072/abc");
    // 415: form-encoded (what `curl -d` sends by default) and bodies that are no XML.
    let r = put("/metadata/10.5072/abc", Some("application/x-www-form-urlencoded"), &xml).expect(415);
    assert_eq!(
        r.text(),
        "Content type application/x-www-form-urlencoded is not supported"
    );
    for body in ["doi=10.5072/abc", "<resource><unclosed></resource>", "{\"a\": 1}"] {
        expect_text(
            put("/metadata/10.5072/abc", Some(TEXT), body),
            415,
            "Metadata format not recognized",
        );
    }
    // 422: no body (poodle's lupo call without metadata).
    expect_text(put("/metadata/10.5072/abc", Some(XML), ""), 422, "Can't be blank");
    // 404: no DOI anywhere, or a path that is no DOI (poodle's `extract_doi` finds none).
    let no_identifier = xml.replace("<identifier identifierType=\"DOI\">10.5072/abc</identifier>", "");
    expect_text(
        s.post("/metadata")
            .client_auth()
            .header("Content-Type", XML)
            .body(no_identifier.clone())
            .send(),
        404,
        "DOI not found",
    );
    expect_text(
        put("/metadata/not-a-doi", Some(XML), &no_identifier),
        404,
        "DOI not found",
    );
    // 422: schema messages with the DOI and the line.
    let no_creators = xml.replace(
        &xml[xml.find("<creator>").unwrap()..xml.find("</creators>").unwrap()],
        "",
    );
    expect_text(
        put("/metadata/10.5072/abc", Some(XML), &no_creators),
        422,
        "DOI 10.5072/abc: Missing child element(s). Expected is ( creator ). at line 4",
    );
    let kernel3 = xml.replace("kernel-4", "kernel-3");
    let r = put("/metadata/10.5072/abc", Some(XML), &kernel3).expect(422);
    assert!(r.text().starts_with("DOI 10.5072/abc: "), "{}", r.text());
    assert!(r.text().contains("is no longer supported"), "{}", r.text());
    // 403: a prefix that is not the client's.
    expect_text(
        put("/metadata/10.5073/abc", Some(XML), &video_record("10.5073/abc")),
        403,
        "Access is denied",
    );
    // 401s, MDS wording.
    expect_text(
        s.put("/metadata/10.5072/abc")
            .header("Content-Type", XML)
            .body(xml.clone())
            .send(),
        401,
        "An Authentication object was not found in the SecurityContext",
    );
    expect_text(
        s.put("/metadata/10.5072/abc")
            .auth(CLIENT, "wrong")
            .header("Content-Type", XML)
            .body(xml.clone())
            .send(),
        401,
        "Bad credentials",
    );
    // Providers and staff have no DOIs: 403.
    expect_text(
        s.put("/metadata/10.5072/abc")
            .auth(PROVIDER, PROVIDER_PASSWORD)
            .header("Content-Type", XML)
            .body(xml.clone())
            .send(),
        403,
        "Access is denied",
    );
    assert_eq!(doi_count(&db), 0, "no failed upload stored anything");
    // 404s for reads.
    expect_text(
        s.get("/metadata/10.5072/nope").client_auth().send(),
        404,
        "DOI is unknown to MDS",
    );
    expect_text(
        s.delete("/metadata/10.5072/nope").client_auth().send(),
        404,
        "DOI is unknown to MDS",
    );
    expect_text(
        s.get("/metadata/10.5072/nope").send(),
        401,
        "An Authentication object was not found in the SecurityContext",
    );
    // Unsupported methods on MDS paths: plain-text 405 with Allow.
    let r = expect_text(
        s.put("/metadata").client_auth().body(xml).send(),
        405,
        "Method not allowed",
    );
    assert_eq!(r.header("allow"), Some("POST, GET"));
}

#[test]
fn doi_and_media_errors() {
    let s = TestServer::start();
    let db = s.db();
    upload(&s, "10.5072/abc");
    let put_doi = |path: &str, body: &str| {
        s.put(path)
            .client_auth()
            .header("Content-Type", TEXT)
            .body(body.to_string())
            .send()
    };
    expect_text(
        put_doi("/doi/10.5072/abc", "url=https://example.org/"),
        400,
        "param 'doi' required",
    );
    expect_text(
        put_doi("/doi/10.5072/abc", "doi=10.5072/abc"),
        400,
        "param 'url' required",
    );
    expect_text(
        put_doi("/doi/10.5072/abc", "doi=10.5072/abc\nurl=mailto:someone@example.org"),
        400,
        "Not a valid HTTP(S) or FTP URL",
    );
    expect_text(
        put_doi("/doi/10.5072/abc", "doi=10.5072/other\nurl=https://example.org/"),
        400,
        "doi parameter does not match doi of resource",
    );
    expect_text(
        s.post("/doi").client_auth().body("url=https://example.org/").send(),
        400,
        "param 'doi' required",
    );
    // 422: no metadata for the DOI (and nothing is created).
    let r = put_doi(
        "/doi/10.5072/no-metadata",
        "doi=10.5072/no-metadata\nurl=https://example.org/",
    )
    .expect(422);
    assert!(r.text().starts_with("DOI 10.5072/no-metadata: "), "{}", r.text());
    assert!(doi_row(&db, "10.5072/no-metadata").is_none());
    // 403 on a foreign prefix.
    expect_text(
        put_doi("/doi/10.5073/abc", "doi=10.5073/abc\nurl=https://example.org/"),
        403,
        "Access is denied",
    );
    let stored = doi_row(&db, "10.5072/abc").unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.url),
        ("draft", None),
        "failed requests changed nothing"
    );

    expect_text(s.get("/doi/10.5072/nope").client_auth().send(), 404, "DOI not found");
    expect_text(s.delete("/doi/10.5072/nope").client_auth().send(), 404, "DOI not found");
    let r = s.get("/doi").client_auth().send();
    expect_text(r, 204, "");

    expect_text(
        s.get("/media/10.5072/abc").client_auth().send(),
        404,
        "No media for the DOI",
    );
    expect_text(
        s.post("/media/10.5072/abc").client_auth().body("").send(),
        400,
        "Media type and URL missing",
    );
    expect_text(
        s.post("/media/10.5072/abc").client_auth().body("just text\n").send(),
        400,
        "Media type and URL missing",
    );
    expect_text(
        s.post("/media/10.5072/abc")
            .client_auth()
            .body("application/pdf=https://example.org/a.pdf\ntext/plain=javascript:alert(1)")
            .send(),
        400,
        "Not a valid HTTP(S) or FTP URL",
    );
    assert!(media_rows(&db, "10.5072/abc").is_empty());
    expect_text(
        s.post("/media/10.5072/nope")
            .client_auth()
            .body("text/plain=https://example.org/")
            .send(),
        404,
        "No media for the DOI",
    );
}

const DOMAIN_FIXTURES: &str = r#"{
  "providers": [{"symbol": "DEMO", "name": "Demo"}, {"symbol": "SLEEP", "name": "Sleeping"}],
  "clients": [
    {"symbol": "DEMO.REPO", "provider": "DEMO", "password": "demo-password", "prefixes": ["10.5072"],
     "domains": "example.org,*.example.org"},
    {"symbol": "SLEEP.REPO", "provider": "SLEEP", "password": "sleep-password", "prefixes": ["10.5074"],
     "isActive": false}
  ]
}"#;

#[test]
fn urls_must_match_the_client_domains() {
    let s = TestServer::with(DOMAIN_FIXTURES, |_| {});
    let db = s.db();
    upload(&s, "10.5072/abc");
    let r = s
        .put("/doi/10.5072/abc")
        .client_auth()
        .body("doi=10.5072/abc\nurl=https://example.org.evil.net/abc")
        .send();
    expect_text(
        r,
        422,
        "DOI 10.5072/abc: URL https://example.org.evil.net/abc is not allowed by repository demo.repo domain settings.",
    );
    let stored = doi_row(&db, "10.5072/abc").unwrap();
    assert_eq!((stored.state.as_str(), stored.url), ("draft", None));
    for ok in ["https://example.org/abc", "ftp://data.example.org/abc"] {
        s.put("/doi/10.5072/abc")
            .client_auth()
            .body(format!("doi=10.5072/abc\nurl={ok}"))
            .send()
            .expect(201);
        assert_eq!(doi_row(&db, "10.5072/abc").unwrap().url.as_deref(), Some(ok));
    }
}

#[test]
fn inactive_client_may_read_not_write() {
    let s = TestServer::with(DOMAIN_FIXTURES, |_| {});
    let db = s.db();
    expect_text(
        s.put("/metadata/10.5074/abc")
            .auth("SLEEP.REPO", "sleep-password")
            .header("Content-Type", XML)
            .body(video_record("10.5074/abc"))
            .send(),
        403,
        "Access is denied",
    );
    assert_eq!(doi_count(&db), 0);
    expect_text(s.get("/doi").auth("SLEEP.REPO", "sleep-password").send(), 204, "");
}

#[test]
fn ownership() {
    let s = TestServer::start();
    let db = s.db();
    // OTHER.REPO's draft and findable DOI.
    s.put("/metadata/10.5073/draft")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .header("Content-Type", XML)
        .body(video_record("10.5073/draft"))
        .send()
        .expect(201);
    publish(&s, "10.5073/public", OTHER_CLIENT, OTHER_PASSWORD);
    s.post("/media/10.5073/draft")
        .auth(OTHER_CLIENT, OTHER_PASSWORD)
        .body("text/plain=https://example.org/d.txt")
        .send()
        .expect(200);

    // Another client's draft does not exist for DEMO.REPO.
    expect_text(
        s.get("/metadata/10.5073/draft").client_auth().send(),
        404,
        "DOI is unknown to MDS",
    );
    expect_text(s.get("/doi/10.5073/draft").client_auth().send(), 404, "DOI not found");
    expect_text(
        s.get("/media/10.5073/draft").client_auth().send(),
        404,
        "DOI is unknown to MDS",
    );
    expect_text(
        s.delete("/metadata/10.5073/draft").client_auth().send(),
        404,
        "DOI is unknown to MDS",
    );
    expect_text(
        s.delete("/doi/10.5073/draft").client_auth().send(),
        404,
        "DOI not found",
    );
    // Its findable DOI can be read, not changed.
    let r = s.get("/metadata/10.5073/public").client_auth().send().expect(200);
    assert_eq!(r.body, video_record("10.5073/public").as_bytes());
    expect_text(
        s.get("/doi/10.5073/public").client_auth().send(),
        200,
        "https://example.org/10.5073/public",
    );
    expect_text(
        s.put("/metadata/10.5073/public")
            .client_auth()
            .header("Content-Type", XML)
            .body(video_record("10.5073/public"))
            .send(),
        403,
        "Access is denied",
    );
    expect_text(
        s.put("/doi/10.5073/public")
            .client_auth()
            .body("doi=10.5073/public\nurl=https://evil.example.org/")
            .send(),
        403,
        "Access is denied",
    );
    expect_text(
        s.delete("/metadata/10.5073/public").client_auth().send(),
        403,
        "Access is denied",
    );
    expect_text(
        s.post("/media/10.5073/public")
            .client_auth()
            .body("text/plain=https://evil.example.org/")
            .send(),
        403,
        "Access is denied",
    );
    // DEMO.REPO's list has none of them.
    expect_text(s.get("/doi").client_auth().send(), 204, "");
    expect_text(
        s.get("/doi").auth(OTHER_CLIENT, OTHER_PASSWORD).send(),
        200,
        "10.5073/PUBLIC",
    );

    let public = doi_row(&db, "10.5073/public").unwrap();
    assert_eq!(
        (public.state.as_str(), public.url.as_deref()),
        ("findable", Some("https://example.org/10.5073/public"))
    );
    assert_eq!(public.updated_by.as_deref(), Some("password"));
    assert!(doi_row(&db, "10.5073/draft").is_some());
    assert!(media_rows(&db, "10.5073/public").is_empty());
}

#[test]
fn failing_updates_store_nothing() {
    let s = TestServer::start();
    let db = s.db();
    publish(&s, "10.5072/abc", CLIENT, CLIENT_PASSWORD);
    let before = doi_row(&db, "10.5072/abc").unwrap();
    // An invalid record for a findable DOI: 422, the old record stays.
    let broken = video_record("10.5072/abc").replace("<publicationYear>2013</publicationYear>", "");
    let r = s
        .put("/metadata/10.5072/abc")
        .client_auth()
        .header("Content-Type", XML)
        .body(broken)
        .send()
        .expect(422);
    assert!(r.text().starts_with("DOI 10.5072/abc: "), "{}", r.text());
    let after = doi_row(&db, "10.5072/abc").unwrap();
    assert_eq!(after.xml, before.xml);
    assert_eq!(after.attributes, before.attributes);
    // A new valid record for it keeps the state and replaces the metadata.
    let other = dataset_record("10.5072/abc");
    s.put("/metadata/10.5072/abc")
        .client_auth()
        .header("Content-Type", XML)
        .body(other.clone())
        .send()
        .expect(201);
    let after = doi_row(&db, "10.5072/abc").unwrap();
    assert_eq!(after.state, "findable");
    assert_eq!(after.xml.as_deref(), Some(other.as_bytes()));
    assert_ne!(after.attributes, before.attributes);
}

#[test]
fn a_bare_prefix_mints_a_doi() {
    let s = TestServer::start();
    let db = s.db();
    let r = s
        .post("/metadata/10.5072")
        .client_auth()
        .header("Content-Type", XML)
        .body(video_record("(:tba)"))
        .send()
        .expect(201);
    let text = r.text();
    let minted = text
        .strip_prefix("OK (")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    let suffix = minted.strip_prefix("10.5072/").unwrap();
    assert_eq!(suffix.len(), 9);
    assert!(suffix.chars().enumerate().all(|(i, c)| if i == 4 {
        c == '-'
    } else {
        "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(c)
    }));
    assert_eq!(
        r.header("location").unwrap(),
        format!("{}/metadata/{}", s.base, minted.to_ascii_lowercase())
    );
    let stored = doi_row(&db, &minted.to_ascii_lowercase()).expect("minted DOI stored");
    assert_eq!(stored.state, "draft");
    // The stored record names the minted DOI and is valid.
    let xml = stored.xml.unwrap();
    assert_eq!(
        tinydoi::metadata::doi_of(&xml).unwrap().map(|d| d.to_ascii_lowercase()),
        Some(minted.to_ascii_lowercase())
    );
    tinydoi::metadata::validate(&xml).unwrap();
    assert!(doi_row(&db, "(:tba)").is_none());
    // A record naming a DOI is stored under it, not minted (poodle's `extract_doi`).
    let r = s
        .put("/metadata/10.5072")
        .client_auth()
        .header("Content-Type", XML)
        .body(video_record("10.5072/named"))
        .send();
    expect_text(r, 201, "OK (10.5072/NAMED)");
    assert!(doi_row(&db, "10.5072/named").is_some());
    // A foreign prefix cannot be minted on.
    expect_text(
        s.post("/metadata/10.5073")
            .client_auth()
            .header("Content-Type", XML)
            .body(video_record("10.5073/x"))
            .send(),
        403,
        "Access is denied",
    );
    assert_eq!(doi_count(&db), 2);
}

/// `FIXTURES` plus a `dois` list.
fn fixtures_with_dois(dois: &str) -> String {
    let trimmed = FIXTURES.trim_end().strip_suffix('}').expect("fixtures object");
    format!("{trimmed},\n  \"dois\": {dois}\n}}")
}

#[test]
fn fixtures_seed_dois() {
    let inline = serde_json::to_string(&video_record("10.5072/inline")).unwrap();
    let fixtures = fixtures_with_dois(&format!(
        r#"[
          {{"doi": "10.5072/INLINE", "client": "demo.repo", "state": "findable", "url": "https://example.org/inline", "xml": {inline}}},
          {{"doi": "10.5072/from-file", "client": "DEMO.REPO", "xmlFile": "records/from-file.xml"}}
        ]"#
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("records")).unwrap();
    std::fs::write(
        dir.path().join("records/from-file.xml"),
        video_record("10.5072/from-file"),
    )
    .unwrap();
    let fixtures_path = dir.path().join("fixtures.json");
    std::fs::write(&fixtures_path, &fixtures).unwrap();
    let config = tinydoi::config::Config {
        listen: "127.0.0.1:0".into(),
        db_path: dir.path().join("tinydoi.db"),
        workers: 2,
        fixtures: Some(fixtures_path.clone()),
        pbkdf2_iterations: 10,
        ..tinydoi::config::Config::default()
    };
    let s = TestServer::from_config(config, dir);
    let db = s.db();

    let r = s.get("/metadata/10.5072/inline").client_auth().send().expect(200);
    assert_eq!(r.body, video_record("10.5072/inline").as_bytes());
    expect_text(
        s.get("/doi/10.5072/inline").auth(OTHER_CLIENT, OTHER_PASSWORD).send(),
        200,
        "https://example.org/inline",
    );
    let inline_row = doi_row(&db, "10.5072/inline").unwrap();
    assert_eq!(
        (inline_row.state.as_str(), inline_row.updated_by.as_deref()),
        ("findable", Some("fixtures"))
    );
    assert!(inline_row.registered.is_some() && inline_row.attributes.is_some());
    let file_row = doi_row(&db, "10.5072/from-file").unwrap();
    assert_eq!(file_row.state, "draft");
    assert_eq!(
        file_row.xml.as_deref(),
        Some(video_record("10.5072/from-file").as_bytes())
    );
    // Drafts stay private to their client.
    expect_text(
        s.get("/metadata/10.5072/from-file")
            .auth(OTHER_CLIENT, OTHER_PASSWORD)
            .send(),
        404,
        "DOI is unknown to MDS",
    );

    // Loading the same file again changes nothing.
    let updated = |db: &Connection| -> i64 {
        db.query_row("SELECT updated FROM dois WHERE doi = '10.5072/inline'", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let before = updated(&db);
    db.execute("UPDATE dois SET updated = 1 WHERE doi = '10.5072/inline'", [])
        .unwrap();
    tinydoi::fixtures::load_file(&db, &fixtures_path, 10).unwrap();
    assert_eq!(updated(&db), 1, "an unchanged DOI is not rewritten (was {before})");
    assert_eq!(doi_count(&db), 2);
}

#[test]
fn bad_fixture_dois_store_nothing() {
    let broken = serde_json::to_string(&video_record("10.5072/broken").replace("<publisher", "<publisherX")).unwrap();
    let cases = [
        // An invalid record.
        format!(r#"[{{"doi": "10.5072/broken", "client": "DEMO.REPO", "xml": {broken}}}]"#),
        // A prefix of another client.
        r#"[{"doi": "10.5073/x", "client": "DEMO.REPO"}]"#.to_string(),
        // Findable without a URL.
        format!(
            r#"[{{"doi": "10.5072/ok", "client": "DEMO.REPO", "state": "findable", "xml": {}}}]"#,
            serde_json::to_string(&video_record("10.5072/ok")).unwrap()
        ),
    ];
    for dois in cases {
        let dir = tempfile::tempdir().unwrap();
        let fixtures_path = dir.path().join("fixtures.json");
        std::fs::write(&fixtures_path, fixtures_with_dois(&dois)).unwrap();
        let db_path = dir.path().join("tinydoi.db");
        let config = tinydoi::config::Config {
            listen: "127.0.0.1:0".into(),
            db_path: db_path.clone(),
            workers: 1,
            fixtures: Some(fixtures_path),
            pbkdf2_iterations: 10,
            ..tinydoi::config::Config::default()
        };
        let error = match tinydoi::server::Server::start(config) {
            Ok(_) => panic!("fixtures {dois} accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains("dois[0]"), "{error}");
        let db = tinydoi::db::open(&db_path).unwrap();
        let clients = count(&db, "SELECT count(*) FROM clients");
        assert_eq!((clients, doi_count(&db)), (0, 0), "{error}");
    }
}

#[test]
fn suffixes_with_slashes_and_punctuation() {
    let s = TestServer::start();
    let db = s.db();
    let doi = "10.5072/Data/Set;v(2):x~1";
    let r = s
        .put("/metadata/10.5072/Data/Set;v(2):x~1")
        .client_auth()
        .header("Content-Type", XML)
        .body(video_record(doi))
        .send();
    let r = expect_text(r, 201, "OK (10.5072/DATA/SET;V(2):X~1)");
    assert_eq!(
        r.header("location").unwrap(),
        format!("{}/metadata/10.5072/data/set;v(2):x~1", s.base)
    );
    assert!(doi_row(&db, "10.5072/data/set;v(2):x~1").is_some());
    s.get("/metadata/10.5072%2Fdata%2Fset;v(2):x~1")
        .client_auth()
        .send()
        .expect(200);
    s.put("/doi/10.5072/DATA/SET;V(2):X~1")
        .client_auth()
        .body(format!("doi={doi}\nurl=https://example.org/x"))
        .send()
        .expect(201);
    expect_text(s.get("/doi").client_auth().send(), 200, "10.5072/DATA/SET;V(2):X~1");
}

/// Fixture DOIs go through the same write as an upload: the state moves as events allow
/// (findable → registered is a hide), a registered DOI cannot become a draft again, and a
/// failed load changes nothing.
#[test]
fn fixture_dois_move_state_as_uploads_do() {
    let s = TestServer::start();
    let db = s.db();
    let record = serde_json::to_string(&video_record("10.5072/moving")).unwrap();
    let load = |state: &str| {
        let dois = format!(
            r#"[{{"doi": "10.5072/moving", "client": "DEMO.REPO", "state": "{state}", "url": "https://example.org/m", "xml": {record}}}]"#
        );
        let fixtures = tinydoi::fixtures::parse(&fixtures_with_dois(&dois)).unwrap();
        tinydoi::fixtures::load(&db, &fixtures, 10).map_err(|e| format!("{e:#}"))
    };
    load("findable").unwrap();
    assert_eq!(doi_row(&db, "10.5072/moving").unwrap().state, "findable");
    load("registered").unwrap();
    let row = doi_row(&db, "10.5072/moving").unwrap();
    assert_eq!(
        (row.state.as_str(), row.updated_by.as_deref()),
        ("registered", Some("fixtures"))
    );
    let err = load("draft").unwrap_err();
    assert!(
        err.contains("dois[0] (10.5072/moving)") && err.contains("draft"),
        "{err}"
    );
    assert_eq!(doi_row(&db, "10.5072/moving").unwrap().state, "registered");
}

/// What poodle's code does that its specs do not exercise: the path DOI rewriting the
/// stored identifier, `?number=` twice, URL-encoded and query `/doi` parameters, media ids,
/// DOI forms in paths, unmatched routes.
#[test]
fn poodle_behaviours_beyond_its_specs() {
    let s = TestServer::start();
    let db = s.db();
    // The path wins over another DOI in the record; only the identifier's text changes.
    let other = video_record("10.5072/other");
    let r = s
        .put("/metadata/10.5072/path")
        .client_auth()
        .header("Content-Type", XML)
        .body(other.clone())
        .send();
    expect_text(r, 201, "OK (10.5072/PATH)");
    let stored = String::from_utf8(doi_row(&db, "10.5072/path").unwrap().xml.unwrap()).unwrap();
    assert_eq!(stored, other.replace(">10.5072/other<", ">10.5072/PATH<"));
    assert!(doi_row(&db, "10.5072/other").is_none());
    // Deterministic minting: the same number again is taken.
    let mint = || {
        s.put("/metadata/10.5072?number=123456")
            .client_auth()
            .header("Content-Type", XML)
            .body(video_record("(:tba)"))
            .send()
    };
    expect_text(mint(), 201, "OK (10.5072/003R-J076)");
    expect_text(mint(), 400, "doi:10.5072/003r-j076 has already been registered");
    // `doi:` and resolver forms name the DOI too.
    expect_text(s.get("/doi/doi:10.5072/PATH").client_auth().send(), 204, "");
    s.get("/metadata/https://doi.org/10.5072/path")
        .client_auth()
        .send()
        .expect(200);
    // URL-encoded lines (CGI.unescape), and the URL as a query parameter.
    let r = s
        .post("/doi")
        .client_auth()
        .header("Content-Type", TEXT)
        .body("doi=10.5072%2Fpath\nurl=https%3A%2F%2Fexample.org%2Fa%3Fb%3Dc")
        .send();
    expect_text(r, 201, "OK");
    assert_eq!(
        doi_row(&db, "10.5072/path").unwrap().url.as_deref(),
        Some("https://example.org/a?b=c")
    );
    expect_text(
        s.put("/doi/10.5072/path?url=https://example.org/q")
            .client_auth()
            .send(),
        201,
        "OK",
    );
    assert_eq!(
        doi_row(&db, "10.5072/path").unwrap().url.as_deref(),
        Some("https://example.org/q")
    );
    expect_text(s.put("/doi/10.5072/path").client_auth().send(), 400, "");
    // Media ids: listed type updated in place (same id), one deleted by its id.
    for body in [
        "application/pdf=https://example.org/a.pdf",
        "text/plain=https://example.org/a.txt",
        "application/pdf=https://example.org/b.pdf",
    ] {
        expect_text(
            s.post("/doi/10.5072/path/media").client_auth().body(body).send(),
            200,
            "OK",
        );
    }
    let get_item = |id: &str| s.get(&format!("/doi/10.5072/path/media/{id}")).client_auth().send();
    expect_text(
        get_item("0000-0000-0000-0001"),
        200,
        "application/pdf=https://example.org/b.pdf",
    );
    expect_text(
        get_item("0000-0000-0000-0002"),
        200,
        "text/plain=https://example.org/a.txt",
    );
    expect_text(get_item("0000-0000-0000-0003"), 404, "No media for the DOI");
    expect_text(get_item("not-an-id!"), 404, "No media for the DOI");
    let delete_item = || {
        s.delete("/doi/10.5072/path/media/0000-0000-0000-0001")
            .client_auth()
            .send()
    };
    expect_text(delete_item(), 200, "OK");
    expect_text(delete_item(), 404, "No media for the DOI");
    assert_eq!(
        media_rows(&db, "10.5072/path"),
        [("text/plain".to_string(), "https://example.org/a.txt".to_string())]
    );
    expect_text(
        s.get("/doi/10.5073/nope/media/0000-0000-0000-0002")
            .client_auth()
            .send(),
        404,
        "No media for the DOI",
    );
    // Paths no route serves, and the trailing slash Rails ignores where nothing else matches.
    expect_text(s.get("/media").client_auth().send(), 404, "Resource not found");
    expect_text(s.get("/metadata").client_auth().send(), 404, "DOI not found");
    expect_text(s.get("/metadata/").client_auth().send(), 404, "DOI not found");
}
