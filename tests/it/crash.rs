//! Crash safety: the real binary under concurrent MDS uploads and key creations is killed
//! with SIGKILL (12 connections, so writes share group commits); after a restart on the same
//! database every write that was answered 2xx is
//! there, whole. Load lasts `TINYDOI_CRASH_LOAD_SECS` seconds (default 20, as issue 9 asks).

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn load_secs() -> u64 {
    std::env::var("TINYDOI_CRASH_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

/// Starts `tinydoi serve` on a free port; returns the process and its base URL.
fn spawn(dir: &std::path::Path) -> (Child, String) {
    spawn_with(dir, &[])
}

pub(crate) fn spawn_with(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(dir.join("crash.db"))
        .args([
            "--pbkdf2-iterations",
            "10",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-rate-limit",
        ])
        .arg("--fixtures")
        .arg(dir.join("fixtures.json"))
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tinydoi");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, addr)
}

#[derive(Default)]
struct Acknowledged {
    dois: Vec<String>,
    keys: Vec<String>,
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fixtures.json"), FIXTURES).unwrap();
    let (mut child, base) = spawn(dir.path());
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
    let auth = basic(CLIENT, CLIENT_PASSWORD);
    let acked = Mutex::new(Acknowledged::default());
    let killed = AtomicBool::new(false);
    let load = Duration::from_secs(load_secs());
    let started = Instant::now();

    std::thread::scope(|scope| {
        for t in 0..12 {
            let (agent, auth, acked, killed, base) = (&agent, &auth, &acked, &killed, &base);
            scope.spawn(move || {
                for i in 0.. {
                    if killed.load(Ordering::SeqCst) {
                        break;
                    }
                    if t % 3 == 2 {
                        let body = serde_json::json!({"data": {"type": "api-keys", "attributes": {"name": format!("k{t}-{i}")}}});
                        let result = agent
                            .post(&format!("{base}/credentials/api-keys"))
                            .set("Authorization", auth)
                            .set("Content-Type", "application/vnd.api+json")
                            .send_string(&body.to_string());
                        if let Ok(r) = result {
                            let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap_or_default()).unwrap_or_default();
                            if let Some(id) = v["data"]["id"].as_str() {
                                acked.lock().unwrap().keys.push(id.to_string());
                            }
                        }
                    } else {
                        let doi = format!("10.5072/CRASH-{t}-{i}");
                        let result = agent
                            .put(&format!("{base}/metadata/{doi}"))
                            .set("Authorization", auth)
                            .set("Content-Type", "application/xml")
                            .send_string(&video_record(&doi));
                        if matches!(&result, Ok(r) if r.status() == 201) {
                            acked.lock().unwrap().dois.push(doi.to_ascii_lowercase());
                        }
                    }
                }
            });
        }
        // Kill while the writers are mid-flight.
        while started.elapsed() < load {
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().expect("SIGKILL");
        killed.store(true, Ordering::SeqCst);
    });
    let _ = child.wait();
    let acked = acked.into_inner().unwrap();
    eprintln!(
        "acknowledged before SIGKILL: {} DOIs, {} keys",
        acked.dois.len(),
        acked.keys.len()
    );
    assert!(
        acked.dois.len() > 10 && !acked.keys.is_empty(),
        "too little load: {} DOIs, {} keys",
        acked.dois.len(),
        acked.keys.len()
    );

    // Restart on the same database: it opens (WAL recovery) and serves what was acknowledged.
    let (mut child, base) = spawn(dir.path());
    let db = tinydoi::db::open(&dir.path().join("crash.db")).unwrap();
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    for doi in &acked.dois {
        let (xml, attributes): (Option<Vec<u8>>, Option<String>) = db
            .query_row("SELECT xml, attributes FROM dois WHERE doi = ?1", [doi], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap_or_else(|e| panic!("acknowledged DOI {doi} lost: {e}"));
        assert!(xml.is_some_and(|x| !x.is_empty()), "{doi}: xml");
        assert!(attributes.is_some_and(|a| a.contains("creators")), "{doi}: attributes");
    }
    for id in &acked.keys {
        let n: i64 = db
            .query_row("SELECT count(*) FROM api_keys WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "acknowledged key {id} lost");
    }
    // Nothing half-written: every stored DOI is whole, acknowledged or not.
    let partial = count(&db, "SELECT count(*) FROM dois WHERE xml IS NULL OR attributes IS NULL");
    assert_eq!(partial, 0);
    let last = acked.dois.last().unwrap();
    let r = agent
        .get(&format!("{base}/metadata/{last}"))
        .set("Authorization", &auth)
        .call()
        .expect("served after restart");
    assert_eq!(r.status(), 200);
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn serve_takes_the_idle_timeout_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fixtures.json"), FIXTURES).unwrap();
    let (mut child, base) = spawn_with(dir.path(), &["--idle-timeout", "200ms", "--body-timeout", "1s"]);
    let mut silent = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = std::io::Read::read_to_end(&mut silent, &mut buf);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    child.kill().unwrap();
    let _ = child.wait();
}
