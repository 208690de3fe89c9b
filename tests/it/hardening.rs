//! Hardening: slow and idle clients, hostile inputs (huge, deep, invalid UTF-8, NUL bytes,
//! garbage credentials) and concurrent writers. Every hostile request gets a 4xx (or, where
//! tiny_http refuses to parse the request at all, a closed connection) quickly, and the
//! server keeps serving.

use crate::support::*;
use base64::Engine;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn addr(s: &TestServer) -> SocketAddr {
    s.base.trim_start_matches("http://").parse().unwrap()
}

/// Sends raw bytes and reads until the server closes; the status of the first response,
/// or `None` when the server closed without one.
fn raw(s: &TestServer, bytes: &[u8]) -> (Option<u16>, String) {
    let mut stream = TcpStream::connect(addr(s)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = stream.write_all(bytes);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok());
    (status, text)
}

fn assert_still_serving(s: &TestServer) {
    let started = Instant::now();
    s.get("/heartbeat").send().expect(200);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

/// Asserts a hostile request was refused with a 4xx within `limit`, then a heartbeat.
fn refused(s: &TestServer, what: &str, r: Resp, started: Instant, limit: Duration) {
    assert!((400..500).contains(&r.status), "{what}: {} {}", r.status, r.text());
    assert!(started.elapsed() < limit, "{what} took {:?}", started.elapsed());
    assert_still_serving(s);
}

// ---------------------------------------------------------------- slow and idle clients

#[test]
fn fifty_slowloris_connections_do_not_delay_a_normal_request() {
    let s = TestServer::start();
    let mut lorises = Vec::new();
    for n in 0..50 {
        let mut c = TcpStream::connect(addr(&s)).unwrap();
        // Half send nothing, half start a request and never finish its headers.
        if n % 2 == 0 {
            c.write_all(b"GET /heartbeat HTTP/1.1\r\nHost: x\r\nX-Slow: a").unwrap();
        }
        lorises.push(c);
    }
    for _ in 0..3 {
        let started = Instant::now();
        s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
    drop(lorises);
}

#[test]
fn silent_trickling_and_idle_keep_alive_connections_are_closed() {
    let s = TestServer::with(FIXTURES, |c| c.idle_timeout = Duration::from_millis(300));
    let limit = Duration::from_secs(5);

    // Sends nothing: closed.
    let mut silent = TcpStream::connect(addr(&s)).unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = silent.read_to_end(&mut buf);
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());

    // Trickles headers, then stops: closed (tiny_http may say 408 first).
    let mut trickle = TcpStream::connect(addr(&s)).unwrap();
    trickle.write_all(b"GET /heartbeat HTTP/1.1\r\nHo").unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = trickle.read_to_end(&mut buf);
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));

    // A keep-alive connection that goes idle after a request: closed.
    let mut idle = TcpStream::connect(addr(&s)).unwrap();
    idle.write_all(b"GET /heartbeat HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());

    // A body that stops half-way: the worker gives up and answers.
    let mut body = TcpStream::connect(addr(&s)).unwrap();
    body.write_all(b"POST /dois HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"data\":")
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = body.read_to_end(&mut buf);
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&buf)
    );

    assert_still_serving(&s);
}

#[test]
fn a_body_trickled_past_the_body_timeout_is_refused() {
    let s = TestServer::with(FIXTURES, |c| {
        c.idle_timeout = Duration::from_secs(5);
        c.body_timeout = Duration::from_millis(300);
        c.workers = 1;
    });
    let mut stream = TcpStream::connect(addr(&s)).unwrap();
    stream
        .write_all(b"POST /dois HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let started = Instant::now();
    // A client keeping every single read within the idle timeout, and never finishing.
    let trickle = std::thread::spawn(move || {
        for _ in 0..5000 {
            if writer.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    // The refusal arrives while the client is still sending.
    let mut buf = vec![0u8; 1024];
    let mut got = 0;
    while !String::from_utf8_lossy(&buf[..got]).contains("took too long") {
        match stream.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let text = String::from_utf8_lossy(&buf[..got]).into_owned();
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("took too long"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // tiny_http drains the rest of the body until the client stops (README.md#slow-and-idle-clients).
    let _ = stream.shutdown(std::net::Shutdown::Both);
    drop(stream);
    let _ = trickle.join();
}

// ---------------------------------------------------------------- hostile inputs

#[test]
fn an_enormous_content_length_does_not_crash_the_server() {
    let s = TestServer::start();
    for path in ["/dois", "/metadata/10.5072/HUGE", "/heartbeat"] {
        let request = format!("PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000000\r\n\r\nabc");
        let mut stream = TcpStream::connect(addr(&s)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 413");
        // The client goes away; the server drops the rest of the body it never read.
        drop(stream);
        assert_still_serving(&s);
    }
}

#[test]
fn a_ten_megabyte_xml_body_is_refused_quickly() {
    let s = TestServer::start();
    // Just under the 10 MiB body limit: the metadata parser refuses it by size.
    let record = video_record("10.5072/BIG");
    let padding = "x".repeat(10_000_000 - record.len());
    let big = record.replace("</resource>", &format!("<!-- {padding} --></resource>"));
    let started = Instant::now();
    let r = s
        .put("/metadata/10.5072/BIG")
        .client_auth()
        .header("Content-Type", "application/xml")
        .body(big)
        .send();
    refused(&s, "10 MB XML", r, started, Duration::from_secs(10));

    // Over the body limit: 413 without reading it all.
    let started = Instant::now();
    let r = s
        .put("/metadata/10.5072/BIG")
        .client_auth()
        .header("Content-Type", "application/xml")
        .body(vec![b'<'; 11 * 1024 * 1024])
        .send();
    assert_eq!(r.status, 413);
    refused(&s, "11 MB body", r, started, Duration::from_secs(10));
    assert_eq!(count(&s.db(), "SELECT count(*) FROM dois"), 0);
}

#[test]
fn ten_thousand_deep_nesting_is_refused_quickly() {
    let s = TestServer::start();
    let depth = 10_000;
    let xml = format!(
        "<?xml version=\"1.0\"?><resource xmlns=\"http://datacite.org/schema/kernel-4\">{}{}</resource>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let started = Instant::now();
    let r = s
        .put("/metadata/10.5072/DEEP")
        .client_auth()
        .header("Content-Type", "application/xml")
        .body(xml)
        .send();
    refused(&s, "deep XML", r, started, Duration::from_secs(3));

    let deep_json = format!(
        "{{\"data\":{{\"type\":\"dois\",\"attributes\":{{\"doi\":\"10.5072/deep\",\"titles\":{}{}}}}}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    for path in ["/dois", "/credentials/api-keys"] {
        let started = Instant::now();
        let r = s
            .post(path)
            .client_auth()
            .header("Content-Type", "application/vnd.api+json")
            .body(deep_json.clone())
            .send();
        refused(&s, path, r, started, Duration::from_secs(3));
    }
    let deep_form = format!("data{}=x", "[a]".repeat(depth));
    let started = Instant::now();
    let r = s.post("/credentials/api-keys").client_auth().body(deep_form).send();
    refused(&s, "deep form", r, started, Duration::from_secs(3));
    assert_eq!(count(&s.db(), "SELECT count(*) FROM dois"), 0);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), 0);
}

#[test]
fn invalid_utf8_in_bodies_and_headers() {
    let s = TestServer::start();
    let mut xml = video_record("10.5072/UTF").into_bytes();
    let at = xml.windows(14).position(|w| w == b"</creatorName>").unwrap();
    xml.splice(at..at, [0xff, 0xfe, 0xc3]);
    let started = Instant::now();
    let r = s
        .put("/metadata/10.5072/UTF")
        .client_auth()
        .header("Content-Type", "application/xml")
        .body(xml)
        .send();
    refused(&s, "XML with invalid UTF-8", r, started, Duration::from_secs(2));

    for path in ["/dois", "/credentials/api-keys", "/reports"] {
        let started = Instant::now();
        let r = s
            .post(path)
            .client_auth()
            .header("Content-Type", "application/vnd.api+json")
            .body(b"{\"data\":{\"attributes\":{\"name\":\"\xff\xfe\"}}}".to_vec())
            .send();
        refused(&s, path, r, started, Duration::from_secs(2));
    }
    let started = Instant::now();
    let r = s
        .post("/doi")
        .client_auth()
        .body(b"doi=10.5072/\xff\nurl=http://example.org/\xfe".to_vec())
        .send();
    refused(&s, "MDS /doi", r, started, Duration::from_secs(2));

    // Non-ASCII header bytes: tiny_http drops the connection without parsing the request.
    for header in [
        &b"X-Junk: \xff\xfe\xfd"[..],
        &b"Authorization: Basic \xff\xfe"[..],
        &b"\xff\xfe: x"[..],
    ] {
        let mut request = b"GET /clients/DEMO.REPO HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n\r\n");
        let started = Instant::now();
        let (status, text) = raw(&s, &request);
        assert!(status.is_none_or(|c| (400..500).contains(&c)), "{text}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_still_serving(&s);
    }
    // Invalid UTF-8 percent-encoded in the path and query.
    let started = Instant::now();
    let r = s.get("/clients/DEMO%FF%FE.REPO?client-id=%C3%28").client_auth().send();
    refused(&s, "path", r, started, Duration::from_secs(2));
    assert_eq!(count(&s.db(), "SELECT count(*) FROM dois"), 0);
}

#[test]
fn a_hundred_kilobyte_header_is_refused() {
    let s = TestServer::start();
    let big = "a".repeat(100 * 1024);
    let started = Instant::now();
    let r = s.get("/heartbeat").header("X-Big", &big).send();
    assert_eq!(r.status, 431);
    refused(&s, "100 KB header", r, started, Duration::from_secs(2));

    let started = Instant::now();
    let r = s
        .get("/clients/DEMO.REPO")
        .header("Authorization", &format!("Basic {big}"))
        .send();
    refused(&s, "100 KB Authorization", r, started, Duration::from_secs(2));

    // Many small headers adding up.
    let mut call = s.get("/heartbeat");
    for n in 0..2000 {
        call = call.header(&format!("X-H{n}"), "0123456789abcdef0123456789abcdef0123456789");
    }
    let started = Instant::now();
    let r = call.send();
    refused(&s, "2000 headers", r, started, Duration::from_secs(2));
}

/// tiny_http takes a request head from its read buffer a chunk at a time (our patch in
/// `read_next_line`): a head line longer than the 8 KiB buffer, a CR and its LF in
/// different reads, and pipelined requests whose heads share one read all parse as before.
#[test]
fn request_heads_parse_whatever_reads_they_arrive_in() {
    let s = TestServer::start();
    let statuses = |text: &str| -> Vec<String> {
        text.match_indices("HTTP/1.1 ")
            .map(|(at, _)| text[at + 9..at + 12].to_string())
            .collect()
    };

    // Three pipelined requests in one write: a 20,000-byte header line crossing the read
    // buffer twice, then a request whose head starts mid-buffer, then one closing.
    let pad = "p".repeat(20_000);
    let pipelined = format!(
        "GET /heartbeat HTTP/1.1\r\nHost: x\r\nX-Pad: {pad}\r\n\r\n\
         GET /heartbeat HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let (status, text) = raw(&s, pipelined.as_bytes());
    assert_eq!(status, Some(200), "{}", &text[..text.len().min(300)]);
    assert_eq!(
        statuses(&text),
        ["200", "200", "404"],
        "{}",
        &text[..text.len().min(600)]
    );

    // A head written a byte at a time (Nagle off, so the server's reads take what has come:
    // a CR and its LF arrive apart), answered like any other.
    let mut stream = TcpStream::connect(addr(&s)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    for byte in b"GET /heartbeat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" {
        stream.write_all(&[*byte]).unwrap();
    }
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(statuses(&text), ["200"], "{text}");

    // A head line past the head limit is still refused (431) wherever the reads end.
    let (status, _) = raw(
        &s,
        format!("GET /heartbeat HTTP/1.1\r\nX-Big: {}\r\n\r\n", "b".repeat(40_000)).as_bytes(),
    );
    assert_eq!(status, Some(431));
    assert_still_serving(&s);
}

/// A response as `responses` splits it: status line, headers (names lowercased), body.
type RawResponse = (String, Vec<(String, String)>, Vec<u8>);

/// Splits `out` into responses: (status line, header lines, body), each head checked to be
/// well formed (every line CRLF-ended, headers as `Name: value`) and each body read by its
/// `Content-Length`.
fn responses(mut out: &[u8]) -> Vec<RawResponse> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head ends in CRLF CRLF");
        let head = std::str::from_utf8(&out[..end]).expect("a head is text");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                assert!(!line.contains('\r') && !line.contains('\n'), "{line:?}");
                let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
                assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{name:?}");
                (name.to_ascii_lowercase(), value.to_string())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("a Content-Length");
        let body = out[end + 4..end + 4 + length].to_vec();
        out = &out[end + 4 + length..];
        all.push((status, headers, body));
    }
    all
}

#[test]
fn response_heads_are_written_whole_and_in_order() {
    // The vendored tiny_http writes a response's head in one piece and hands the
    // connection from one pipelined request to the next through a one-slot channel
    // (`vendor/tiny_http/PATCHED.md`): three pipelined answers, byte for byte in order.
    let s = TestServer::start();
    let (_, text) = raw(
        &s,
        b"GET /heartbeat HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /heartbeat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let all = responses(text.as_bytes());
    let statuses: Vec<&str> = all.iter().map(|(status, _, _)| status.as_str()).collect();
    assert_eq!(
        statuses,
        ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"]
    );
    for (status, headers, body) in &all {
        // An IMF-fixdate (the vendored tiny_http makes it once a second per thread).
        let date = headers.iter().find(|(n, _)| n == "date").map(|(_, v)| v.as_str());
        let shape: String = date
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    '9'
                } else if c.is_ascii_alphabetic() {
                    'a'
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(shape, "aaa, 99 aaa 9999 99:99:99 aaa", "{status}: {date:?}");
        assert!(
            headers.iter().any(|(n, _)| n == "content-type"),
            "{status}: {headers:?}"
        );
        assert!(!body.is_empty(), "{status}");
    }
    assert_eq!(all[0].2, b"OK");

    // An HTTP/1.0 request is answered in HTTP/1.0.
    let (status, text) = raw(&s, b"GET /heartbeat HTTP/1.0\r\n\r\n");
    assert_eq!(status, Some(200));
    let all = responses(text.as_bytes());
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, "HTTP/1.0 200 OK");
}

#[test]
fn base64_garbage_in_authorization_is_401() {
    let s = TestServer::start();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let garbage = [
        "Basic ====".to_string(),
        format!("Basic {}", b64(&[0xff, 0xfe, b':', 0x00])),
        format!("Basic {}", b64(b"\x00:\x00")),
        format!("Basic {}", b64(&[b'D'; 5000])),
        format!(
            "Basic {}",
            b64(b"DC.\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00:")
        ),
        "Bearer DC.%01%02".to_string(),
        "Bearer ".to_string() + &"DC.".repeat(1000),
        "Basic".to_string() + &" ".repeat(100),
    ];
    for header in &garbage {
        let started = Instant::now();
        let r = s.get("/clients/DEMO.REPO").header("Authorization", header).send();
        assert_eq!(r.status, 401, "{header:?}: {}", r.text());
        refused(&s, header, r, started, Duration::from_secs(2));
        let r = s.get("/metadata/10.5072/X").header("Authorization", header).send();
        assert_eq!(r.status, 401, "{header:?}");
    }
    // Control characters, which HTTP libraries refuse to send, over a raw socket.
    for header in [&b"Basic YWJj\x7fZGVm"[..], &b"Bearer DC.\x01\x02\x00"[..]] {
        let mut request =
            b"GET /clients/DEMO.REPO HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: ".to_vec();
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n\r\n");
        let (status, text) = raw(&s, &request);
        assert!(status.is_none_or(|c| (400..500).contains(&c)), "{text}");
        assert_still_serving(&s);
    }
}

#[test]
fn nul_bytes_in_symbols_and_dois() {
    let s = TestServer::start();
    let checks: Vec<(&str, Call)> = vec![
        (
            "NUL in username",
            s.get("/clients/DEMO.REPO").auth("DEMO\0.REPO", CLIENT_PASSWORD),
        ),
        (
            "NUL after username",
            s.get("/clients/DEMO.REPO").auth("DEMO.REPO\0", CLIENT_PASSWORD),
        ),
        (
            "NUL in password",
            s.get("/clients/DEMO.REPO").auth(CLIENT, "demo-password\0"),
        ),
        ("NUL in path symbol", s.get("/clients/DEMO%00.REPO").client_auth()),
        ("NUL in provider", s.get("/providers/DEMO%00").client_auth()),
        (
            "NUL in client-id",
            s.get("/credentials/api-keys?client-id=DEMO%00.REPO")
                .auth("ADMIN", ADMIN_PASSWORD),
        ),
        ("NUL in DOI (REST)", s.get("/dois/10.5072/a%00b").client_auth()),
        (
            "NUL in DOI (MDS)",
            s.put("/metadata/10.5072/A%00B")
                .client_auth()
                .header("Content-Type", "application/xml")
                .body(video_record("10.5072/A\0B")),
        ),
        (
            "NUL in REST DOI body",
            s.post("/dois").client_auth().json(&serde_json::json!(
                {"data": {"type": "dois", "attributes": {"doi": "10.5072/a\u{0}b"}}}
            )),
        ),
        (
            "NUL in key name",
            s.post("/credentials/api-keys")
                .client_auth()
                .json(&serde_json::json!({"data": {"type": "api-keys", "attributes": {"name": "\u{0}"}}})),
        ),
    ];
    for (what, call) in checks {
        let started = Instant::now();
        let r = call.send();
        if what == "NUL in key name" && r.status == 201 {
            // A name is free text; what matters is that it is stored as given.
            continue;
        }
        refused(&s, what, r, started, Duration::from_secs(2));
    }
    assert_eq!(count(&s.db(), "SELECT count(*) FROM dois"), 0);
    assert_eq!(
        count(&s.db(), "SELECT count(*) FROM clients WHERE instr(symbol, char(0)) > 0"),
        0
    );
}

// ---------------------------------------------------------------- concurrency

#[test]
fn thirty_two_concurrent_writers_get_no_5xx_and_no_lock_errors() {
    capture_logs();
    let s = TestServer::with(FIXTURES, |c| c.workers = 8);
    let per_writer = 4;
    let results: Vec<(u16, String)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> =
                (0..32)
                    .map(|w| {
                        let s = &s;
                        scope.spawn(move || {
                            let mut out = Vec::new();
                            for i in 0..per_writer {
                                let r = match (w + i) % 3 {
                            0 => {
                                let doi = format!("10.5072/W{w}-{i}");
                                s.put(&format!("/metadata/{doi}"))
                                    .client_auth()
                                    .header("Content-Type", "application/xml")
                                    .body(video_record(&doi))
                                    .send()
                            }
                            1 => s.post("/dois").client_auth().json(&serde_json::json!(
                                {"data": {"type": "dois", "attributes": {"doi": format!("10.5072/r{w}-{i}")}}}
                            ))
                            .send(),
                            _ => s.post("/credentials/api-keys").client_auth().json(&serde_json::json!(
                                {"data": {"type": "api-keys", "attributes": {"name": format!("w{w}-{i}")}}}
                            ))
                            .send(),
                        };
                                out.push((r.status, r.text()));
                            }
                            out
                        })
                    })
                    .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
    for (status, body) in &results {
        assert_eq!(*status, 201, "{body}");
        assert!(!body.contains("locked"), "{body}");
    }
    let expected = |kind: usize| {
        (0..32)
            .flat_map(|w| (0..per_writer).map(move |i| (w + i) % 3))
            .filter(|k| *k == kind)
            .count() as i64
    };
    assert_eq!(
        count(&s.db(), "SELECT count(*) FROM dois WHERE doi LIKE '10.5072/w%'"),
        expected(0)
    );
    assert_eq!(
        count(&s.db(), "SELECT count(*) FROM dois WHERE doi LIKE '10.5072/r%'"),
        expected(1)
    );
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), expected(2));
    let logs = captured_logs();
    assert!(!logs.contains("database is locked"), "{logs}");
}
