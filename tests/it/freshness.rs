//! The caches of the read path never outlive a write (issue 20): a key revoked, expired or
//! whose client was deactivated is refused from the very next request, under concurrent
//! load too, and a DOI read after a write was acknowledged shows that write.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

const KEYS: &str = "/credentials/api-keys";

fn whoami(s: &TestServer, key: &str) -> u16 {
    s.get("/clients/DEMO.REPO").bearer(key).send().status
}

/// Threads use a key as fast as they can while another revokes it over HTTP: once the
/// revocation's 204 is back, no request sent after it succeeds, in any thread.
#[test]
fn no_request_with_a_revoked_key_succeeds_after_the_revocation_is_acknowledged() {
    let s = TestServer::start();
    for round in 0..3 {
        let (id, key) = create_key(&s, &format!("revoked under load {round}"));
        let revoked = AtomicBool::new(false);
        let ok_before = AtomicU64::new(0);
        let refused_after = AtomicU64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    let started = Instant::now();
                    while started.elapsed() < Duration::from_secs(30) {
                        // Read before sending: a request sent after the 204 must fail.
                        let after = revoked.load(Ordering::SeqCst);
                        let status = whoami(&s, &key);
                        if after {
                            // 429: the failures' back-off (auth::throttle) refused it first.
                            assert!(status == 401 || status == 429, "a revoked key was accepted: {status}");
                            refused_after.fetch_add(1, Ordering::SeqCst);
                            return;
                        } else if status == 200 {
                            ok_before.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                });
            }
            // Revoke once the key is in use (and so in the verified-key cache).
            while ok_before.load(Ordering::SeqCst) < 30 {
                std::thread::yield_now();
            }
            s.delete(&format!("{KEYS}/{id}")).client_auth().send().expect(204);
            revoked.store(true, Ordering::SeqCst);
        });
        assert_eq!(refused_after.load(Ordering::SeqCst), 6);
    }
    assert!(s.app().auth.key_cache_hits() > 0, "the cache was used");
}

/// A cached key is refused at the next request once it expires by a database change, its
/// client is deactivated (writes refused, reads allowed) or the key is deleted.
#[test]
fn cached_keys_follow_expiry_deactivation_and_deletion() {
    let s = TestServer::start();
    let (id, key) = create_key(&s, "cached");
    assert_eq!(whoami(&s, &key), 200);
    let hits = s.app().auth.key_cache_hits();
    assert_eq!(whoami(&s, &key), 200);
    assert!(
        s.app().auth.key_cache_hits() > hits,
        "the second use came from the cache"
    );

    // Deactivated: the cached principal must not keep the client active.
    let put = |doi: &str| {
        s.put(&format!("/metadata/{doi}"))
            .bearer(&key)
            .header("Content-Type", "application/xml")
            .body(video_record(doi))
            .send()
            .status
    };
    assert_eq!(put("10.5072/fresh-1"), 201);
    tinydoi::manage::set_client_active(&s.db(), "DEMO.REPO", false).unwrap();
    assert_eq!(
        put("10.5072/fresh-2"),
        403,
        "inactive client wrote through a cached key"
    );
    assert_eq!(whoami(&s, &key), 200, "an inactive client's key may still read");
    tinydoi::manage::set_client_active(&s.db(), "DEMO.REPO", true).unwrap();
    assert_eq!(put("10.5072/fresh-3"), 201);

    // Expired by a change in the database (another process, say), not by this server.
    s.db()
        .execute("UPDATE api_keys SET expires_at = 1 WHERE id = ?1", [&id])
        .unwrap();
    assert_eq!(whoami(&s, &key), 401, "an expired key was accepted");
    s.db()
        .execute("UPDATE api_keys SET expires_at = NULL WHERE id = ?1", [&id])
        .unwrap();
    assert_eq!(whoami(&s, &key), 200);

    // Revoked straight in the database, bypassing the API.
    revoke_key(&s.db(), &key);
    assert_eq!(whoami(&s, &key), 401);
    let (_, other) = create_key(&s, "deleted");
    assert_eq!(whoami(&s, &other), 200);
    s.db()
        .execute(
            "DELETE FROM api_keys WHERE key_hash = ?1",
            [tinydoi::keys::format::hash(&other)],
        )
        .unwrap();
    assert_eq!(whoami(&s, &other), 401, "a deleted key was accepted");
}

/// Writers update DOIs while readers read them: every read started after a write was
/// acknowledged shows that write or a later one (writes of one batch commit together).
#[test]
fn a_read_after_an_acknowledged_write_shows_it() {
    let s = TestServer::start();
    let (_, key) = create_key(&s, "fresh");
    let title = |v: u64| format!("Version {v}");
    let record =
        |doi: &str, v: u64| video_record(doi).replacen("<title ", &format!("<title>{}</title><title ", title(v)), 1);
    let dois: Vec<String> = (0..4).map(|i| format!("10.5072/fresh-read-{i}")).collect();
    let acked: Vec<AtomicU64> = (0..dois.len()).map(|_| AtomicU64::new(0)).collect();
    let done = AtomicBool::new(false);
    for doi in &dois {
        s.put(&format!("/metadata/{doi}"))
            .bearer(&key)
            .header("Content-Type", "application/xml")
            .body(record(doi, 0))
            .send()
            .expect(201);
    }
    std::thread::scope(|scope| {
        for (i, doi) in dois.iter().enumerate() {
            let (s, key, acked, done) = (&s, &key, &acked, &done);
            scope.spawn(move || {
                for v in 1..=25 {
                    s.put(&format!("/metadata/{doi}"))
                        .bearer(key)
                        .header("Content-Type", "application/xml")
                        .body(record(doi, v))
                        .send()
                        .expect(201);
                    acked[i].store(v, Ordering::SeqCst);
                }
                done.store(true, Ordering::SeqCst);
            });
        }
        for _ in 0..4 {
            let (s, key, acked, done, dois) = (&s, &key, &acked, &done, &dois);
            scope.spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    for (i, doi) in dois.iter().enumerate() {
                        let floor = acked[i].load(Ordering::SeqCst);
                        let r = s.get(&format!("/dois/{doi}")).bearer(key).send().expect(200);
                        let titles = r.json()["data"]["attributes"]["titles"].to_string();
                        let seen = (floor..=25).find(|v| titles.contains(&format!("\"{}\"", title(*v))));
                        assert!(
                            seen.is_some(),
                            "{doi}: read older than acknowledged version {floor}: {titles}"
                        );
                    }
                }
            });
        }
    });
}

/// A DOI's `xml` is shown as the Base64 of its record, encoded when the read renders it:
/// a write no longer stores it (issue 20, fifth pass: 15 % of the bytes a PUT wrote), and a
/// row that a build between migration 7 and then stored it for is still copied as stored.
#[test]
fn the_base64_of_the_xml_is_encoded_at_the_read_not_stored() {
    use base64::Engine;
    let s = TestServer::start();
    let (_, key) = create_key(&s, "base64");
    let doi = "10.5072/stored-base64";
    let record = video_record(doi);
    s.put(&format!("/metadata/{doi}"))
        .bearer(&key)
        .header("Content-Type", "application/xml")
        .body(record.clone())
        .send()
        .expect(201);
    let db = s.db();
    let (xml, stored): (Vec<u8>, Option<String>) = db
        .query_row("SELECT xml, xml_base64 FROM dois WHERE doi = ?1", [doi], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(stored, None, "the write stores no Base64");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&xml);
    let shown = |s: &TestServer| {
        s.get(&format!("/dois/{doi}")).bearer(&key).send().expect(200).json()["data"]["attributes"]["xml"].clone()
    };
    assert_eq!(shown(&s), encoded.as_str());

    // A row stored with its Base64 by an earlier build is read as stored…
    db.execute("UPDATE dois SET xml_base64 = 'c3RvcmVk' WHERE doi = ?1", [doi])
        .unwrap();
    assert_eq!(shown(&s), "c3RvcmVk");
    // …and the next write of it drops the stored text rather than leave it stale.
    s.put(&format!("/metadata/{doi}"))
        .bearer(&key)
        .header("Content-Type", "application/xml")
        .body(record)
        .send()
        .expect(201);
    let stored: Option<String> = db
        .query_row("SELECT xml_base64 FROM dois WHERE doi = ?1", [doi], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, None);
    assert_eq!(shown(&s), encoded.as_str());
}

/// Reads of one DOI are kept rendered (`dois::rendered`), and each kind of write is seen by
/// the next read all the same: metadata, URL and state (MDS), media, a hand edit from
/// another connection (another process, the sqlite3 shell), the client moving to another
/// provider. The owner's view and a stranger's are never served for each other.
#[test]
fn a_cached_read_follows_every_kind_of_write() {
    let s = TestServer::start();
    let (_, key) = create_key(&s, "cached");
    let doi = "10.5072/cached-read";
    let read = |auth: Option<&str>| {
        let mut call = s.get(&format!("/dois/{doi}"));
        if let Some(k) = auth {
            call = call.bearer(k);
        }
        call.send()
    };
    let put_xml = |title: &str| {
        let xml = video_record(doi).replacen("<title ", &format!("<title>{title}</title><title "), 1);
        upload_with_key(&s, &key, doi, xml);
    };
    let register_url = |url: &str| {
        s.put(&format!("/doi/{doi}"))
            .bearer(&key)
            .header("Content-Type", "text/plain;charset=UTF-8")
            .body(format!("doi={doi}\nurl={url}"))
            .send()
            .expect(201);
    };
    put_xml("First");
    let titles = |r: &Resp| r.json()["data"]["attributes"]["titles"].to_string();
    assert!(titles(&read(Some(&key)).expect(200)).contains("First"));
    assert!(s.app().rendered.bytes() > 0, "the read was not kept");
    assert!(titles(&read(Some(&key)).expect(200)).contains("First"));

    // New metadata.
    put_xml("Second");
    assert!(titles(&read(Some(&key)).expect(200)).contains("Second"));

    // Findable: anyone reads it, without the owner's members; the owner still sees them.
    register_url("https://example.org/one");
    let owner = read(Some(&key)).expect(200).json();
    assert_eq!(owner["data"]["attributes"]["url"], "https://example.org/one");
    assert!(owner["data"]["attributes"].get("landingPage").is_some(), "{owner}");
    let stranger = read(None).expect(200).json();
    assert!(
        stranger["data"]["attributes"].get("landingPage").is_none(),
        "{stranger}"
    );
    assert!(read(Some(&key)).expect(200).json()["data"]["attributes"]
        .get("landingPage")
        .is_some());

    // Media.
    let media = |r: serde_json::Value| {
        r["data"]["relationships"]["media"]["data"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(media(read(None).expect(200).json()), 0);
    s.post(&format!("/media/{doi}"))
        .bearer(&key)
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body("application/pdf=https://example.org/one.pdf")
        .send()
        .expect(200);
    assert_eq!(media(read(None).expect(200).json()), 1);

    // A hand edit on another connection, without touching the revision.
    let db = s.db();
    db.execute("UPDATE dois SET url = 'https://example.org/two' WHERE doi = ?1", [doi])
        .unwrap();
    assert_eq!(
        read(None).expect(200).json()["data"]["attributes"]["url"],
        "https://example.org/two"
    );

    // The client moves to another provider: the DOI's own row is unchanged.
    let provider = |r: serde_json::Value| r["data"]["relationships"]["provider"]["data"]["id"].clone();
    assert_eq!(provider(read(None).expect(200).json()), "demo");
    db.execute("UPDATE clients SET provider = 'OTHER' WHERE symbol = 'DEMO.REPO'", [])
        .unwrap();
    assert_eq!(provider(read(None).expect(200).json()), "other");
    db.execute("UPDATE clients SET provider = 'DEMO' WHERE symbol = 'DEMO.REPO'", [])
        .unwrap();

    // Hidden again (registered): strangers get 404 at once.
    register_url("https://example.org/three");
    s.delete(&format!("/metadata/{doi}")).bearer(&key).send().expect(200);
    read(None).expect(404);
    assert_eq!(
        read(Some(&key)).expect(200).json()["data"]["attributes"]["state"],
        "registered"
    );
}

/// `--read-cache-mb 0` keeps nothing, and reads are the same.
#[test]
fn the_read_cache_can_be_turned_off() {
    let s = TestServer::with(FIXTURES, |c| c.read_cache_bytes = 0);
    let (_, key) = create_key(&s, "uncached");
    let doi = "10.5072/uncached";
    upload_with_key(&s, &key, doi, video_record(doi));
    let r = s.get(&format!("/dois/{doi}")).bearer(&key).send().expect(200);
    assert_eq!(r.json()["data"]["id"], doi);
    assert_eq!(s.app().rendered.bytes(), 0);
}
