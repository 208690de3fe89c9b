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
fn an_endless_chunk_size_line_is_cut_off_without_growing_memory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fixtures.json"), FIXTURES).unwrap();
    let body_limit = 1024 * 1024;
    let (mut child, base) = crate::crash::spawn_with(dir.path(), &["--body-limit", &body_limit.to_string()]);
    assert_eq!(ureq::get(&format!("{base}/heartbeat")).call().unwrap().status(), 200);
    let before = peak_rss(child.id());
    let head = b"POST /dois HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    let answer = send_while_reading(addr(&base), head, b'0', 64 << 20);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    let grown = peak_rss(child.id()).saturating_sub(before);
    assert!(grown < 4 * body_limit as u64, "peak RSS grew by {grown} bytes");
    child.kill().unwrap();
    let _ = child.wait();
}

/// Runs the fuzz target's entry point on `input` and fails (instead of hanging the test)
/// when it has not returned within 10 s; it takes 2 s at most (its timeouts are 1 s).
fn fuzz_connection_returns(input: &[u8]) {
    let shown = String::from_utf8_lossy(&input[..input.len().min(200)]).into_owned();
    let input = input.to_vec();
    let (done, returned) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tiny_http::fuzz_connection(&input);
        let _ = done.send(());
    });
    returned
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("fuzz_connection hung on {shown:?}"));
}

/// The fuzz target's entry point (`fuzz/fuzz_targets/http_request.rs`) on its seeds and a
/// few hostile inputs: every call returns.
#[test]
fn the_http_fuzz_entry_point_returns_on_its_seeds() {
    let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/http_request");
    for seed in std::fs::read_dir(seeds).unwrap() {
        fuzz_connection_returns(&std::fs::read(seed.unwrap().path()).unwrap());
    }
    fuzz_connection_returns(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n");
    fuzz_connection_returns(&[b'a'; 60_000]);
    fuzz_connection_returns(b"");
    // What the fuzzer found hanging (README "Fuzzing"), as it found it and reduced.
    fuzz_connection_returns(
        b"Pu777T /x HTTP/2.0\r\nConten: t-Length: 3\r\nExpect: 100-continue\r\n\
          Connection: ciiiiclase$sposiiiist:\x01\x00\x00\x00losce\r\n\r\na'bc",
    );
    fuzz_connection_returns(b"GET / HTTP/2.0\r\n\r\n");
    fuzz_connection_returns(b"GET / HTTP/3.0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
}

/// Found by the `http_request` fuzz target: upstream tiny_http wrote its 505 to a request
/// line naming HTTP/2.0 or 3.0 on a writer that waited for the request's own writer,
/// alive in the same frame, so the connection's thread blocked forever (no socket timeout
/// applies to that wait) and kept its connection slot: `max_connections` such requests
/// and every later client got 503. Now each is answered 505, closed, and its slot freed.
#[test]
fn a_request_line_naming_http_2_is_answered_505_and_frees_its_connection() {
    let s = TestServer::with(FIXTURES, |c| c.max_connections = 2);
    let started = Instant::now();
    let mut refused_505 = 0;
    for version in ["2.0", "3.0", "2.0", "3.0"] {
        let mut stream = TcpStream::connect(addr(&s.base)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "GET /heartbeat HTTP/{version}\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        // To the end: the server closes the connection after its answer.
        let read = stream.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 503") {
            // The slot of the one before is freed just after its close reached us.
            continue;
        }
        assert!(read.is_ok(), "{read:?} after {answer:?}");
        assert!(answer.starts_with("HTTP/1.1 505"), "{answer:?}");
        assert!(answer.contains("only supports HTTP versions 1.0 and 1.1"), "{answer:?}");
        refused_505 += 1;
    }
    assert!(refused_505 >= 2, "{refused_505} of 4 answered 505");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // Their connections are gone: requests are served, not refused for want of slots.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = s.get("/heartbeat").send();
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503);
        assert!(
            Instant::now() < deadline,
            "still refused: the connections were never freed"
        );
    }
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
    assert_eq!(count(&db, "SELECT count(*) FROM reports"), 0);
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
    assert_eq!(
        count(&s.db(), "SELECT count(*) FROM reports WHERE month = '2026-09'"),
        10
    );
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
    assert_eq!(count(&s.db(), "SELECT count(*) FROM dois"), 0);
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

// ---------------------------------------------------------------- Low: private files, bounded links

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_database_and_data_files_are_private_and_readable_ones_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mut s = TestServer::start();
    let body = serde_json::json!({"data": {"type": "dois", "attributes": {"doi": "10.5072/p"}}});
    s.post("/dois").client_auth().json(&body).send().expect(201);
    let link = s.get("/credentials/datafile").client_auth().send().expect(200).json();
    let db = s.db_path.clone();
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    let dir = tinydoi::datafile::directory(&db);
    assert_eq!(mode(&dir), 0o700);
    for file in std::fs::read_dir(&dir).unwrap() {
        assert_eq!(mode(&file.unwrap().path()), 0o600);
    }
    assert!(link["data"]["attributes"]["url"].is_string());
    s.stop();

    let (mut config, _fixtures_dir) = TestServer::config(FIXTURES);
    config.db_path = db.clone();
    let chmod = |p: &std::path::Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    chmod(&db, 0o640);
    let e = format!(
        "{:#}",
        tinydoi::server::Server::start(config.clone()).err().expect("refused")
    );
    assert!(e.contains(&format!("chmod 600 {}", db.display())), "{e}");
    chmod(&db, 0o600);
    chmod(&dir, 0o755);
    let e = format!(
        "{:#}",
        tinydoi::server::Server::start(config.clone()).err().expect("refused")
    );
    assert!(e.contains(&format!("chmod -R go-rwx {}", dir.display())), "{e}");
    chmod(&dir, 0o700);
    tinydoi::server::Server::start(config)
        .expect("starts once fixed")
        .shutdown();
}

#[test]
fn a_link_expiring_beyond_its_lifetime_is_refused_even_when_signed() {
    let s = TestServer::start();
    let link = s.get("/credentials/datafile").client_auth().send().expect(200).json();
    let month = link["data"]["id"].as_str().unwrap().to_string();
    let key = tinydoi::datafile::signing_key(&s.db()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // What someone with the signing key (a readable database) could forge: valid until 2100.
    let forged = tinydoi::datafile::signed_url(&key, &month, 4_102_444_800);
    s.get(&forged).send().expect(403);
    let fair = tinydoi::datafile::signed_url(&key, &month, now + tinydoi::datafile::LINK_TTL_SECS - 5);
    s.get(&fair).send().expect(200);
}

// ---------------------------------------------------------------- Also: cross-site requests

#[test]
fn cross_site_state_changes_need_a_bearer_credential() {
    let s = TestServer::start();
    let (_, key) = create_key(&s, "browser app");
    let body = |doi: &str| serde_json::json!({"data": {"type": "dois", "attributes": {"doi": doi}}});
    // A form on another site posting with the browser's cached Basic credentials.
    let r = s
        .post("/dois")
        .client_auth()
        .header("Origin", "https://evil.example")
        .header("Content-Type", "text/plain")
        .body(body("10.5072/csrf-1").to_string())
        .send()
        .expect(403);
    assert!(r.text().contains("Cross-site"), "{}", r.text());
    s.delete("/dois/10.5072/x")
        .client_auth()
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .expect(403);
    s.put("/metadata/10.5072/csrf-2")
        .client_auth()
        .header("Origin", "null")
        .header("Content-Type", "application/xml")
        .body(video_record("10.5072/csrf-2"))
        .send()
        .expect(403);
    assert!(doi_row(&s.db(), "10.5072/csrf-1").is_none());
    assert!(doi_row(&s.db(), "10.5072/csrf-2").is_none());
    // A script holding a key, and pages of the same origin, may.
    s.post("/dois")
        .bearer(&key)
        .header("Origin", "https://app.example")
        .header("Sec-Fetch-Site", "cross-site")
        .json(&body("10.5072/csrf-3"))
        .send()
        .expect(201);
    let origin = s.base.clone();
    s.post("/dois")
        .client_auth()
        .header("Origin", &origin)
        .header("Sec-Fetch-Site", "same-origin")
        .json(&body("10.5072/csrf-4"))
        .send()
        .expect(201);
    // Reads are never refused.
    s.get("/dois/10.5072/csrf-4")
        .client_auth()
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .expect(200);
}

// ---------------------------------------------------------------- Low: the data file's history

#[test]
fn the_data_file_holds_the_dois_findable_at_the_months_end() {
    use std::io::Read as _;
    let s = TestServer::start();
    let month = tinydoi::datafile::previous_month(tinydoi::time::now());
    let end = tinydoi::datafile::month_end(&month).unwrap();
    let now = tinydoi::time::now();
    let db = s.db();
    let insert = |doi: &str, state: &str, at: i64| {
        db.execute(
            "INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered)
             VALUES (?1, 'DEMO.REPO', '10.5072', ?2, 'https://example.org/', x'3c78', '{}', ?3, ?3, ?3)",
            rusqlite::params![doi, state, at],
        )
        .unwrap();
    };
    let change = |doi: &str, state: &str, at: i64| {
        db.execute(
            "UPDATE dois SET state = ?2, updated = ?3 WHERE doi = ?1",
            rusqlite::params![doi, state, at],
        )
        .unwrap();
    };
    // Findable all month, hidden since: in the file.
    insert("10.5072/hidden-since", "findable", end - 3600);
    change("10.5072/hidden-since", "registered", now);
    // A draft at the month's end, published since: not in it.
    insert("10.5072/published-since", "draft", end - 3600);
    change("10.5072/published-since", "findable", now);
    // Findable then and now: in it.
    insert("10.5072/steady", "findable", end - 7200);

    let link = s.get("/credentials/datafile").client_auth().send().expect(200).json();
    assert_eq!(link["data"]["attributes"]["records"], 2);
    let file = s
        .get(link["data"]["attributes"]["url"].as_str().unwrap())
        .send()
        .expect(200);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&file.body[..])
        .read_to_string(&mut text)
        .unwrap();
    let mut dois: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["doi"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    dois.sort();
    assert_eq!(dois, ["10.5072/hidden-since", "10.5072/steady"]);
}
