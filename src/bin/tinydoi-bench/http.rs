//! The HTTP scenarios: each starts its server in a child process, primes it, drives it with
//! the load generator and reads the server's peak RSS.

use base64::Engine;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::child::{Child, Kind};
use crate::load::{self, request_head, Outcome, Plan};
use crate::seed::{Metadata, CLIENT, CLIENT_PASSWORD, PREFIX};

/// The DOI every read asks for; created by the first write of a run.
pub const READ_DOI: &str = "10.5072/bench-read";
const XML: &str = "application/xml;charset=UTF-8";

pub struct Settings {
    pub workers: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// One measured run.
pub struct Run {
    pub label: String,
    pub connections: usize,
    pub outcome: Outcome,
    pub peak_rss_mib: Option<f64>,
}

impl Run {
    /// Adds a later run of the same scenario (same server set-up) to this one.
    pub fn merge(&mut self, other: Run) {
        self.outcome.add(other.outcome);
        self.peak_rss_mib = match (self.peak_rss_mib, other.peak_rss_mib) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// What the load generator sends.
pub enum Load<'a> {
    /// The same GET again and again.
    Get { path: &'a str, authorization: String },
    /// `PUT /metadata/{new DOI}` each time.
    Put {
        tag: &'a str,
        authorization: String,
        metadata: &'a Metadata,
    },
    /// Nine reads of `READ_DOI`, then one new-DOI write, per connection.
    Mixed {
        tag: &'a str,
        authorization: String,
        metadata: &'a Metadata,
    },
}

/// Starts a server of `kind` on `db`, runs `load` against it and stops it.
pub fn measure(
    label: &str,
    kind: Kind,
    db: &Path,
    connections: usize,
    settings: &Settings,
    load: &Load,
) -> anyhow::Result<Run> {
    let child = Child::spawn(kind, db, settings.workers)?;
    let result = prime(child.addr, load).map(|()| {
        let request = |conn: usize, seq: u64, out: &mut Vec<u8>| write_request(load, conn, seq, out);
        load::run(&Plan {
            addr: child.addr,
            connections,
            warmup: settings.warmup,
            duration: settings.duration,
            request: &request,
        })
    });
    let peak_rss_mib = child.peak_rss_mib();
    child.stop();
    Ok(Run {
        label: label.to_string(),
        connections,
        outcome: result?,
        peak_rss_mib,
    })
}

/// The body tinydoi answers `GET /dois/{READ_DOI}` with, written to `out` for the ceiling
/// to send the same bytes.
pub fn save_read_body(db: &Path, workers: usize, authorization: &str, out: &Path) -> anyhow::Result<usize> {
    let child = Child::spawn(Kind::Tinydoi, db, workers)?;
    let load = Load::Get {
        path: "",
        authorization: authorization.to_string(),
    };
    let path = format!("/dois/{READ_DOI}");
    let result = prime(child.addr, &load).and_then(|()| {
        load::fetch(child.addr, &request_head("GET", &path, Some(authorization), None))
            .map_err(|e| anyhow::anyhow!("{e}"))
    });
    child.stop();
    let (status, body) = result?;
    if status != 200 {
        eprintln!("warning: GET {path} answered {status}; the ceiling sends that body");
    }
    std::fs::write(out, &body).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    Ok(body.len())
}

/// One request before the clock starts: makes sure the DOI that reads ask for exists and
/// that a password is in the verified cache (else every connection would pay PBKDF2 at once).
fn prime(addr: SocketAddr, load: &Load) -> anyhow::Result<()> {
    let authorization = match load {
        Load::Get { path: "/heartbeat", .. } => return Ok(()),
        Load::Get { authorization, .. } | Load::Put { authorization, .. } | Load::Mixed { authorization, .. } => {
            authorization
        }
    };
    let metadata = Metadata::full_example();
    let mut request = Vec::new();
    put(&mut request, READ_DOI, authorization, &metadata);
    match load::one(addr, &request) {
        Ok(201) => Ok(()),
        Ok(status) => {
            eprintln!("warning: priming PUT /metadata/{READ_DOI} answered {status} (routes not merged yet?)");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("priming request failed: {e}")),
    }
}

fn write_request(load: &Load, conn: usize, seq: u64, out: &mut Vec<u8>) -> u16 {
    match load {
        Load::Get { path, authorization } => {
            let authorization = Some(authorization.as_str()).filter(|a| !a.is_empty());
            out.extend_from_slice(&request_head("GET", path, authorization, None));
            200
        }
        Load::Put {
            tag,
            authorization,
            metadata,
        } => {
            put(
                out,
                &format!("{PREFIX}/bench-{tag}-{conn}-{seq}"),
                authorization,
                metadata,
            );
            201
        }
        Load::Mixed {
            tag,
            authorization,
            metadata,
        } => {
            if seq % 10 == 9 {
                put(
                    out,
                    &format!("{PREFIX}/bench-{tag}-{conn}-{seq}"),
                    authorization,
                    metadata,
                );
                201
            } else {
                let path = format!("/dois/{READ_DOI}");
                out.extend_from_slice(&request_head("GET", &path, Some(authorization), None));
                200
            }
        }
    }
}

fn put(out: &mut Vec<u8>, doi: &str, authorization: &str, metadata: &Metadata) {
    let path = format!("/metadata/{doi}");
    out.extend_from_slice(&request_head(
        "PUT",
        &path,
        Some(authorization),
        Some((XML, metadata.len_for(doi))),
    ));
    metadata.write(doi, out);
}

/// `Authorization` for the demo client's password.
pub fn password_auth() -> String {
    basic(CLIENT, CLIENT_PASSWORD)
}

/// `Authorization` with an API key as the Basic username and an empty password.
pub fn key_auth(key: &str) -> String {
    basic(key, "")
}
