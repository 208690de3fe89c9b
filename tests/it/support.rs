//! Test support: start a server in-process on an ephemeral port with fixtures, call it over
//! HTTP, and open its database to check the state a request left behind.

#![allow(dead_code)]

use base64::Engine;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::Arc;

use tinydoi::app::{App, Handler};
use tinydoi::config::Config;
use tinydoi::http::router::Route;
use tinydoi::server::Server;

/// Passwords of `FIXTURES`.
pub const CLIENT: &str = "DEMO.REPO";
pub const CLIENT_PASSWORD: &str = "demo-password";
pub const OTHER_CLIENT: &str = "OTHER.REPO";
pub const OTHER_PASSWORD: &str = "other-password";
pub const PROVIDER: &str = "DEMO";
pub const PROVIDER_PASSWORD: &str = "provider-password";
pub const ADMIN_PASSWORD: &str = "admin-password";

/// Two providers, each with one client and one prefix, and the staff account.
pub const FIXTURES: &str = r#"{
  "admin": {"password": "admin-password"},
  "providers": [
    {"symbol": "DEMO", "name": "Demo Provider", "email": "demo@example.org", "password": "provider-password"},
    {"symbol": "OTHER", "name": "Other Provider", "email": "other@example.org", "password": "other-provider-password"}
  ],
  "clients": [
    {"symbol": "DEMO.REPO", "provider": "DEMO", "name": "Demo Repository", "email": "repo@example.org",
     "password": "demo-password", "prefixes": ["10.5072"], "domains": "*"},
    {"symbol": "OTHER.REPO", "provider": "OTHER", "name": "Other Repository", "email": "other-repo@example.org",
     "password": "other-password", "prefixes": ["10.5073"]}
  ]
}"#;

pub struct TestServer {
    server: Option<Server>,
    pub base: String,
    pub db_path: PathBuf,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// The configuration `with` uses: ephemeral port, temp database, `fixtures`, 10 PBKDF2 iterations.
    pub fn config(fixtures: &str) -> (Config, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let fixtures_path = dir.path().join("fixtures.json");
        std::fs::write(&fixtures_path, fixtures).expect("write fixtures");
        let config = Config {
            listen: "127.0.0.1:0".into(),
            db_path: dir.path().join("tinydoi.db"),
            workers: 4,
            fixtures: Some(fixtures_path),
            pbkdf2_iterations: 10,
            ..Config::default()
        };
        (config, dir)
    }

    /// A server with `FIXTURES`.
    pub fn start() -> TestServer {
        TestServer::with(FIXTURES, |_| {})
    }

    /// A server with the given fixtures JSON and configuration changes.
    pub fn with(fixtures: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let (mut config, dir) = TestServer::config(fixtures);
        tweak(&mut config);
        TestServer::from_config(config, dir)
    }

    pub fn from_config(config: Config, dir: tempfile::TempDir) -> TestServer {
        TestServer::with_routes(config, dir, Vec::new())
    }

    /// A server with extra routes (e.g. one that panics).
    pub fn with_routes(config: Config, dir: tempfile::TempDir, extra: Vec<Route<Handler>>) -> TestServer {
        let db_path = config.db_path.clone();
        let server = Server::start_with_routes(config, extra).expect("server starts");
        let base = format!("http://{}", server.addr());
        TestServer {
            server: Some(server),
            base,
            db_path,
            dir,
        }
    }

    pub fn app(&self) -> &Arc<App> {
        self.server.as_ref().expect("running").app()
    }

    /// A separate connection to the server's database, for checking state.
    pub fn db(&self) -> tinydoi::db::Conn {
        tinydoi::db::open(&self.db_path).expect("open db")
    }

    pub fn req(&self, method: &str, path: &str) -> Call {
        Call {
            method: method.to_string(),
            url: format!("{}{}", self.base, path),
            headers: Vec::new(),
            body: None,
        }
    }
    pub fn get(&self, path: &str) -> Call {
        self.req("GET", path)
    }
    pub fn post(&self, path: &str) -> Call {
        self.req("POST", path)
    }
    pub fn put(&self, path: &str) -> Call {
        self.req("PUT", path)
    }
    pub fn patch(&self, path: &str) -> Call {
        self.req("PATCH", path)
    }
    pub fn delete(&self, path: &str) -> Call {
        self.req("DELETE", path)
    }

    /// Stops the server (finishing in-flight requests) and keeps the directory.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A request being built.
pub struct Call {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call {
    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
    pub fn auth(self, user: &str, password: &str) -> Call {
        let value = basic(user, password);
        self.header("Authorization", &value)
    }
    pub fn bearer(self, key: &str) -> Call {
        let value = format!("Bearer {key}");
        self.header("Authorization", &value)
    }
    /// The demo client's password.
    pub fn client_auth(self) -> Call {
        self.auth(CLIENT, CLIENT_PASSWORD)
    }
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Call {
        self.body = Some(body.into());
        self
    }
    pub fn json(self, value: &serde_json::Value) -> Call {
        self.header("Content-Type", "application/vnd.api+json")
            .body(value.to_string())
    }

    pub fn send(self) -> Resp {
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let mut request = agent.request(&self.method, &self.url);
        for (k, v) in &self.headers {
            request = request.set(k, v);
        }
        let result = match &self.body {
            Some(body) => request.send_bytes(body),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{} {}: {e}", self.method, self.url),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|n| response.header(&n).map(|v| (n.to_ascii_lowercase(), v.to_string())))
            .collect();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("read body");
        Resp { status, headers, body }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }
}

/// Log lines of tinydoi itself (targets `tinydoi::…` and `access`), captured for the whole
/// test binary once `capture_logs` was called.
static LOGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct CaptureLogger;

impl log::Log for CaptureLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("tinydoi") || metadata.target() == "access"
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {} {}", record.level(), record.target(), record.args());
            LOGS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    }
    fn flush(&self) {}
}

static LOGGER: CaptureLogger = CaptureLogger;

/// Installs the capturing logger at every level (once per test binary).
pub fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

/// Everything captured so far, one line per record; waits for the access log's thread to
/// have written every line recorded before (its acknowledgement, not a sleep).
pub fn captured_logs() -> String {
    tinydoi::http::access_log::flush();
    LOGS.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
}

/// Creates a key for the demo client with its password; returns (id, plain key).
pub fn create_key(s: &TestServer, name: &str) -> (String, String) {
    let body = serde_json::json!({"data": {"type": "api-keys", "attributes": {"name": name}}});
    let r = s
        .post("/credentials/api-keys")
        .client_auth()
        .json(&body)
        .send()
        .expect(201);
    let v = r.json();
    let id = v["data"]["id"].as_str().expect("id").to_string();
    let key = v["data"]["attributes"]["key"].as_str().expect("key").to_string();
    (id, key)
}

/// Stores a new API key for `client` straight in the database (as key creation would) and
/// returns the key.
pub fn insert_key(db: &Connection, client: &str) -> String {
    use tinydoi::keys::format::{display_prefix, generate, hash};
    let key = generate().expect("random key");
    db.execute(
        "INSERT INTO api_keys (id, client, name, key_prefix, key_hash, created, updated)
         VALUES (?1, ?2, 'test key', ?3, ?4, 0, 0)",
        rusqlite::params![
            uuid::Uuid::new_v4().to_string(),
            client,
            display_prefix(&key),
            hash(&key)
        ],
    )
    .expect("insert key");
    key
}

/// The id of a key `insert_key` stored.
pub fn key_id(db: &Connection, key: &str) -> String {
    db.query_row(
        "SELECT id FROM api_keys WHERE key_hash = ?1",
        [tinydoi::keys::format::hash(key)],
        |r| r.get(0),
    )
    .expect("key id")
}

/// Revokes a key in the database, as `DELETE /credentials/api-keys/{id}` would.
pub fn revoke_key(db: &Connection, key: &str) {
    db.execute(
        "UPDATE api_keys SET revoked_at = 1 WHERE key_hash = ?1",
        [tinydoi::keys::format::hash(key)],
    )
    .expect("revoke key");
}

/// DataCite's official kernel-4 video example with its identifier replaced by `doi`.
/// `PUT /metadata/{doi}` of `xml` with key `key`; expects 201.
pub fn upload_with_key(s: &TestServer, key: &str, doi: &str, xml: impl Into<Vec<u8>>) {
    s.put(&format!("/metadata/{doi}"))
        .bearer(key)
        .header("Content-Type", "application/xml")
        .body(xml)
        .send()
        .expect(201);
}

pub fn video_record(doi: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/kernel-4/example/datacite-example-video-v4.xml"
    );
    let xml = std::fs::read_to_string(path).expect("example record");
    xml.replace(
        "<identifier identifierType=\"DOI\">10.5072/1153992</identifier>",
        &format!("<identifier identifierType=\"DOI\">{doi}</identifier>"),
    )
}

/// A stored DOI, as the `dois` table holds it.
#[derive(Debug)]
pub struct DoiRow {
    pub client: String,
    pub state: String,
    pub url: Option<String>,
    pub xml: Option<Vec<u8>>,
    pub attributes: Option<String>,
    pub registered: Option<i64>,
    pub updated_by: Option<String>,
}

/// The stored row of `doi` (lower-case), if any.
pub fn doi_row(db: &Connection, doi: &str) -> Option<DoiRow> {
    db.query_row(
        "SELECT client, state, url, xml, attributes, registered, updated_by FROM dois WHERE doi = ?1",
        [doi],
        |r| {
            Ok(DoiRow {
                client: r.get(0)?,
                state: r.get(1)?,
                url: r.get(2)?,
                xml: r.get(3)?,
                attributes: r.get(4)?,
                registered: r.get(5)?,
                updated_by: r.get(6)?,
            })
        },
    )
    .ok()
}

/// The one number `sql` (a `SELECT count(*) …`) returns.
pub fn count(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// (action, client, api_key_id, remote_addr) of an audit event.
pub type AuditRow = (String, Option<String>, Option<String>, Option<String>);

/// Every audit event, oldest first, once the recorder has written what it queued.
pub fn audit_events(s: &TestServer) -> Vec<AuditRow> {
    s.app().recorder.flush();
    let db = s.db();
    let mut stmt = db
        .prepare("SELECT action, client, api_key_id, remote_addr FROM audit_events ORDER BY id")
        .expect("audit query");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("audit rows");
    rows.map(|r| r.expect("audit row")).collect()
}

/// The action of every audit event, oldest first.
pub fn audit_actions(s: &TestServer) -> Vec<String> {
    audit_events(s).into_iter().map(|(action, ..)| action).collect()
}

/// Asserts the events of `action`, oldest first, as (client, api_key_id, remote_addr).
pub fn assert_audit(s: &TestServer, action: &str, expected: &[(Option<&str>, Option<&str>, Option<&str>)]) {
    let events = audit_events(s);
    let found: Vec<_> = events
        .iter()
        .filter(|e| e.0 == action)
        .map(|(_, client, key, addr)| (client.as_deref(), key.as_deref(), addr.as_deref()))
        .collect();
    assert_eq!(found, expected, "{action} events; all events: {events:?}");
}
