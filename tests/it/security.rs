//! Issue 17, the findings of an independent security review: each test fails without its
//! fix. Limits on request heads, connections and usage reports; URL hosts as browsers see
//! them; file permissions; cross-site requests.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// The peak resident set size of process `pid`, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("kB");
    kib * 1024
}

/// Sends `head` then `filler` (up to `total` bytes of it) while reading the answer on the
/// same connection; stops sending once an answer arrived. Returns the answer's text.
fn send_while_reading(addr: SocketAddr, head: &[u8], filler: u8, total: usize) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let answered = Arc::new(AtomicBool::new(false));
    let stop = answered.clone();
    let head = head.to_vec();
    let sender = std::thread::spawn(move || {
        let chunk = vec![filler; 64 * 1024];
        if writer.write_all(&head).is_err() {
            return;
        }
        let mut sent = 0;
        while sent < total && !stop.load(Ordering::SeqCst) {
            if writer.write_all(&chunk).is_err() {
                return;
            }
            sent += chunk.len();
        }
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                answered.store(true, Ordering::SeqCst);
            }
        }
    }
    answered.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------- High: request heads

#[test]
fn an_endless_header_line_is_refused_with_431_without_growing_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fixtures.json"), FIXTURES).unwrap();
    let body_limit = 1024 * 1024;
    let (mut child, base) = crate::crash::spawn_with(dir.path(), &["--body-limit", &body_limit.to_string()]);
    // Warm up: one normal request, so the baseline includes the first connection's thread.
    assert_eq!(ureq::get(&format!("{base}/heartbeat")).call().unwrap().status(), 200);
    let before = peak_rss(child.id());

    // 64 MiB of one header line: unpatched, the server held it all (about twice over).
    let answer = send_while_reading(addr(&base), b"GET /heartbeat HTTP/1.1\r\nX-Big: ", b'a', 64 << 20);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    // The same for the request line itself.
    let answer = send_while_reading(addr(&base), b"GET /", b'a', 64 << 20);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");

    let grown = peak_rss(child.id()).saturating_sub(before);
    assert!(grown < 2 * body_limit as u64, "peak RSS grew by {grown} bytes");
    assert_eq!(ureq::get(&format!("{base}/heartbeat")).call().unwrap().status(), 200);
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn the_head_limit_counts_every_header_and_is_configurable() {
    let s = TestServer::with(FIXTURES, |c| c.head_limit = 4096);
    // Many small headers adding up past the limit.
    let mut head = b"GET /heartbeat HTTP/1.1\r\nHost: x\r\n".to_vec();
    for n in 0..100 {
        head.extend_from_slice(format!("X-H{n}: 0123456789abcdef0123456789abcdef\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let answer = send_while_reading(addr(&s.base), &head, b' ', 0);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    // Just under the limit is served.
    let r = s.get("/heartbeat").header("X-Fill", &"a".repeat(3500)).send();
    assert_eq!(r.status, 200);
}

// ---------------------------------------------------------------- Medium: slow heads, many connections

#[test]
fn headers_trickled_past_the_header_timeout_get_408() {
    let s = TestServer::with(FIXTURES, |c| {
        c.idle_timeout = Duration::from_secs(5);
        c.header_timeout = Duration::from_millis(300);
    });
    let mut stream = TcpStream::connect(addr(&s.base)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let started = Instant::now();
    // A client keeping every read within the idle timeout and never ending its headers.
    let trickle = std::thread::spawn(move || {
        let _ = writer.write_all(b"GET /heartbeat HTTP/1.1\r\nX-Slow: ");
        for _ in 0..5000 {
            if writer.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let mut buf = [0u8; 64];
    let n = match stream.read(&mut buf) {
        Ok(n) => n,
        Err(e) => panic!("{e} after {:?}", started.elapsed()),
    };
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    drop(stream);
    trickle.join().unwrap();
    s.get("/heartbeat").send().expect(200);
}

#[test]
fn connections_past_the_limit_are_refused_at_once_with_503() {
    let s = TestServer::with(FIXTURES, |c| c.max_connections = 3);
    let held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr(&s.base)).unwrap()).collect();
    // The accept loop counts the three before it takes the fourth.
    let mut extra = TcpStream::connect(addr(&s.base)).unwrap();
    extra.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("Retry-After: 1"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    drop(held);
    // Once they are gone, requests are served again (as soon as the server saw them close).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = s.get("/heartbeat").send();
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503);
        assert!(Instant::now() < deadline, "still refused");
    }
}

// ---------------------------------------------------------------- Medium: usage report bombs

fn report_header(created_by: &str, month: &str) -> serde_json::Value {
    serde_json::json!({
        "report-name": "dataset report", "report-id": "dsr", "release": "rd1",
        "created": "2026-10-02T10:00:00Z", "created-by": created_by,
        "reporting-period": {"begin-date": format!("{month}-01"), "end-date": format!("{month}-28")}
    })
}

/// A report whose datasets are `count` empty objects, as JSON text.
fn report_of_empty_datasets(count: usize) -> Vec<u8> {
    let mut text = format!(
        "{{\"report-header\":{},\"report-datasets\":[",
        report_header("bomb", "2026-09")
    );
    text.reserve(count * 3);
    for i in 0..count {
        text.push_str(if i == 0 { "{}" } else { ",{}" });
    }
    text.push_str("]}");
    text.into_bytes()
}

#[test]
fn a_gzip_bomb_report_is_refused_with_413_without_growing_memory() {
    use flate2::write::GzEncoder;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fixtures.json"), FIXTURES).unwrap();
    let (mut child, base) = crate::crash::spawn_with(dir.path(), &[]);
    // About 40 MiB of `{},` once inflated, from a body of a few dozen KiB.
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&report_of_empty_datasets(14 << 20)).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    assert_eq!(ureq::get(&format!("{base}/heartbeat")).call().unwrap().status(), 200);
    let before = peak_rss(child.id());

    let r = ureq::post(&format!("{base}/reports"))
        .set("Authorization", &basic(CLIENT, CLIENT_PASSWORD))
        .set("Content-Type", "application/gzip")
        .send_bytes(&bomb);
    let (status, text) = match r {
        Err(ureq::Error::Status(status, r)) => (status, r.into_string().unwrap()),
        other => panic!("{other:?}"),
    };
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("larger than 32 MiB once decompressed"), "{text}");
    // Unbounded, the 40 MiB became a tree of 14 million objects (well over 1 GB).
    let grown = peak_rss(child.id()).saturating_sub(before);
    assert!(grown < 128 << 20, "peak RSS grew by {} MiB", grown >> 20);
    child.kill().unwrap();
    let _ = child.wait();
    let db = tinydoi::db::open(&dir.path().join("crash.db")).unwrap();
    let stored: i64 = db.query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 0);
}

#[test]
fn a_report_with_too_many_datasets_is_refused_with_422() {
    let s = TestServer::start();
    let r = s
        .post("/reports")
        .client_auth()
        .header("Content-Type", "application/json")
        .body(report_of_empty_datasets(50_001))
        .send()
        .expect(422);
    assert_eq!(r.json()["errors"][0]["source"]["pointer"], "/report-datasets");
    assert!(r.text().contains("at most 50000 datasets"), "{}", r.text());
    // 50,000 is fine.
    s.post("/reports")
        .client_auth()
        .body(report_of_empty_datasets(50_000))
        .send()
        .expect(201);
}

#[test]
fn a_client_keeps_at_most_ten_reports_per_month() {
    let s = TestServer::start();
    let post = |created_by: &str, month: &str| {
        let body = serde_json::json!({"report-header": report_header(created_by, month), "report-datasets": []});
        s.post("/reports").client_auth().json(&body).send()
    };
    for n in 0..10 {
        post(&format!("creator {n}"), "2026-09").expect(201);
    }
    let r = post("creator 10", "2026-09").expect(422);
    assert!(r.text().contains("at most 10 reports per month"), "{}", r.text());
    // Replacing one (same creator) and another month are fine.
    post("creator 3", "2026-09").expect(200);
    post("creator 10", "2026-08").expect(201);
    let count: i64 = s
        .db()
        .query_row("SELECT COUNT(*) FROM reports WHERE month = '2026-09'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 10);
}

// ---------------------------------------------------------------- Medium: URL hosts as browsers see them

const REPO_DOMAINS: &str = r#"{
  "providers": [{"symbol": "DEMO", "name": "Demo"}],
  "clients": [
    {"symbol": "DEMO.REPO", "provider": "DEMO", "password": "demo-password", "prefixes": ["10.5072"],
     "domains": "repo.example.org,*.example.org"}
  ]
}"#;

#[test]
fn url_hosts_are_checked_as_browsers_parse_them() {
    let s = TestServer::with(REPO_DOMAINS, |_| {});
    s.put("/metadata/10.5072/abc")
        .client_auth()
        .header("Content-Type", "application/xml;charset=UTF-8")
        .body(video_record("10.5072/abc"))
        .send()
        .expect(201);
    let register = |url: &str| {
        s.put("/doi/10.5072/abc")
            .client_auth()
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(format!("doi=10.5072/abc\nurl={url}"))
            .send()
    };
    // A browser goes to evil.example (`\` ends the authority), or finds no valid host.
    for evil in [
        "https://evil.example\\@repo.example.org/x",
        "https://evil.example%5C%40repo.example.org/x",
        "https://evil.example%5c%40data.example.org/x",
    ] {
        let r = register(evil);
        assert!(matches!(r.status, 400 | 422), "{evil}: {} {}", r.status, r.text());
        assert_eq!(doi_row(&s.db(), "10.5072/abc").unwrap().url, None, "{evil}");
    }
    // Userinfo is allowed, as DataCite allows it; the host is what counts.
    register("https://user:pw@data.example.org/x").expect(201);
    let stored = doi_row(&s.db(), "10.5072/abc").unwrap().url;
    assert_eq!(stored.as_deref(), Some("https://user:pw@data.example.org/x"));
}

// ---------------------------------------------------------------- Low: throttling

#[test]
fn a_key_given_as_the_password_does_not_clear_the_failed_password_count() {
    let s = TestServer::with(FIXTURES, |c| {
        c.auth_throttle.base_delay = Duration::from_secs(3600);
        c.auth_throttle.max_delay = Duration::from_secs(3600);
    });
    let key = insert_key(&s.db(), CLIENT);
    for _ in 0..9 {
        s.get("/clients/DEMO.REPO").auth(CLIENT, "guess").send().expect(401);
    }
    // The key holder logs in with the key as the password, then guesses on.
    s.get("/clients/DEMO.REPO").auth(CLIENT, &key).send().expect(200);
    s.get("/clients/DEMO.REPO").auth(CLIENT, "guess").send().expect(401);
    // Ten wrong passwords: blocked, the key login between them notwithstanding.
    s.get("/clients/DEMO.REPO").auth(CLIENT, "guess").send().expect(429);
}

#[test]
fn a_correct_password_still_clears_the_count() {
    let s = TestServer::with(FIXTURES, |c| c.auth_throttle.base_delay = Duration::from_secs(3600));
    for _ in 0..9 {
        s.get("/clients/DEMO.REPO").auth(CLIENT, "guess").send().expect(401);
    }
    s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
    for _ in 0..9 {
        s.get("/clients/DEMO.REPO").auth(CLIENT, "guess").send().expect(401);
    }
    s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
}

// ---------------------------------------------------------------- Low: DOI path segments

/// Sends one raw request (no client-side path normalisation) and returns status and text.
fn raw_request(base: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr(base)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let request = format!(
        "{head}\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    (text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0), text)
}

#[test]
fn dois_with_dot_or_empty_segments_or_a_trailing_slash_are_refused() {
    let s = TestServer::start();
    for bad in [
        "10.5072/../../../credentials/api-keys",
        "10.5072/a/./b",
        "10.5072/a//b",
        "10.5072/abc/",
    ] {
        let body = serde_json::json!({"data": {"type": "dois", "attributes": {"doi": bad}}});
        let r = s.post("/dois").client_auth().json(&body).send().expect(422);
        assert!(r.text().contains("path segment"), "{bad}: {}", r.text());
    }
    // MDS, sent as is (HTTP clients would normalise the path first).
    let auth = basic(CLIENT, CLIENT_PASSWORD);
    for path in [
        "/metadata/10.5072/a/../b",
        "/metadata/10.5072/a//b",
        "/metadata/10.5072/ab/",
    ] {
        let (status, text) = raw_request(
            &s.base,
            &format!("PUT {path} HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Type: application/xml"),
            video_record("10.5072/x").as_bytes(),
        );
        assert_eq!(status, 422, "{path}: {text}");
    }
    let count: i64 = s.db().query_row("SELECT COUNT(*) FROM dois", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 0);
    // Dots inside a segment are fine.
    let body = serde_json::json!({"data": {"type": "dois", "attributes": {"doi": "10.5072/a..b/.c"}}});
    s.post("/dois").client_auth().json(&body).send().expect(201);
}

// ---------------------------------------------------------------- Low: characters XML forbids

#[test]
fn characters_xml_forbids_are_refused_at_write_time_drafts_included() {
    let s = TestServer::start();
    for (n, bad) in ["a\u{1}b", "a\u{FFFE}b", "a\u{1F}b", "\u{FFFF}"].iter().enumerate() {
        let doi = format!("10.5072/json-{n}");
        let body = serde_json::json!({"data": {"type": "dois", "attributes": {
            "doi": doi, "titles": [{"title": bad}]}}});
        let r = s.post("/dois").client_auth().json(&body).send().expect(422);
        assert!(r.text().contains("XML 1.0 forbids"), "{bad:?}: {}", r.text());
        assert!(doi_row(&s.db(), &doi).is_none());
    }
    // An existing draft cannot be given one either.
    let body = serde_json::json!({"data": {"type": "dois", "attributes": {"doi": "10.5072/ok"}}});
    s.post("/dois").client_auth().json(&body).send().expect(201);
    let body = serde_json::json!({"data": {"attributes": {"creators": [{"name": "x\u{8}"}]}}});
    s.put("/dois/10.5072/ok").client_auth().json(&body).send().expect(422);
    // MDS: raw or as a character reference.
    for (n, bad) in ["a\u{1}b", "a&#1;b", "a\u{FFFF}b"].iter().enumerate() {
        let doi = format!("10.5072/xml-{n}");
        let xml = video_record(&doi).replacen("<title", &format!("<title>{bad}</title><title"), 1);
        let r = s
            .put(&format!("/metadata/{doi}"))
            .client_auth()
            .header("Content-Type", "application/xml;charset=UTF-8")
            .body(xml)
            .send();
        assert!(
            matches!(r.status, 400 | 415 | 422),
            "{bad:?}: {} {}",
            r.status,
            r.text()
        );
        assert!(doi_row(&s.db(), &doi).is_none(), "{bad:?}");
    }
    // REST with the record as Base64 XML.
    let xml = video_record("10.5072/b64").replacen("<title", "<title>a\u{1}b</title><title", 1);
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml);
    let body = serde_json::json!({"data": {"attributes": {"doi": "10.5072/b64", "xml": encoded}}});
    s.post("/dois").client_auth().json(&body).send().expect(422);
    assert!(doi_row(&s.db(), "10.5072/b64").is_none());
    // Tab, CR and LF are fine.
    let body = serde_json::json!({"data": {"attributes": {"titles": [{"title": "a\tb\r\nc"}]}}});
    s.put("/dois/10.5072/ok").client_auth().json(&body).send().expect(200);
    s.get("/metadata/10.5072/ok").client_auth().send().expect(200);
}
