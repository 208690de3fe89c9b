//! Servers under test run in a child process (this binary re-executed in `serve-child`
//! mode), so the peak RSS read from its `/proc/PID/status` is the server's alone, not the
//! load generator's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use tinydoi::config::Config;
use tinydoi::http::{HttpServer, Reply};
use tinydoi::server::Server;

/// What the child serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// tinydoi itself: `Server::start` on the given database.
    Tinydoi,
    /// A bare tiny_http server answering a constant 200 (`OK`, or a file's bytes): the ceiling.
    /// Its socket is set up as tinydoi's (TCP_NODELAY, no chunking).
    Ceiling,
    /// tinydoi's HTTP layer (`HttpServer`) with a constant handler: no router, auth or db.
    HttpLayer,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tinydoi => "tinydoi",
            Kind::Ceiling => "ceiling",
            Kind::HttpLayer => "http-layer",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        [Kind::Tinydoi, Kind::Ceiling, Kind::HttpLayer]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

pub struct Child {
    process: std::process::Child,
    pub addr: SocketAddr,
}

impl Child {
    /// `db` is the database for `Tinydoi`, the constant body for `Ceiling` (`OK` if absent).
    pub fn spawn(kind: Kind, db: &Path, workers: usize) -> anyhow::Result<Child> {
        let exe = std::env::current_exe().map_err(|e| anyhow::anyhow!("cannot find this program: {e}"))?;
        let mut process = Command::new(exe)
            .arg("serve-child")
            .arg(kind.name())
            .arg(db)
            .arg(workers.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start the server process: {e}"))?;
        let mut first = String::new();
        if let Some(stdout) = process.stdout.as_mut() {
            let _ = BufReader::new(stdout).read_line(&mut first);
        }
        let addr = first
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                let _ = process.kill();
                anyhow::anyhow!("server process did not start: {first:?}")
            })?;
        Ok(Child { process, addr })
    }

    /// Peak resident set (VmHWM) of the server process so far, in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    /// Closes the child's stdin, which tells it to shut down, and waits for it.
    pub fn stop(mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.wait();
    }
}

/// The HTTP layer alone: every request gets `200 OK`.
struct Ok200;

impl tinydoi::http::Service<()> for Ok200 {
    fn handle(&self, _: &mut (), _: tinydoi::http::Request) -> Reply {
        Reply::text(200, "OK")
    }
    fn refuse(&self, _: &tinydoi::http::Request, error: &tinydoi::error::Error) -> Reply {
        Reply::text(error.status(), error.to_string())
    }
}

/// The child side: `serve-child KIND DB WORKERS`. Prints `listening ADDR`, serves until
/// stdin closes.
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let [kind, db, workers] = args else {
        return Err(anyhow::anyhow!("usage: serve-child KIND DB WORKERS"));
    };
    let kind = Kind::parse(kind).ok_or_else(|| anyhow::anyhow!("unknown server kind {kind}"))?;
    let workers: usize = workers
        .parse()
        .map_err(|_| anyhow::anyhow!("bad worker count {workers}"))?;
    let stop: Box<dyn FnOnce()> = match kind {
        Kind::Tinydoi => {
            let server = Server::start(server_config(Path::new(db), workers))?;
            announce(server.addr());
            Box::new(move || server.shutdown())
        }
        Kind::HttpLayer => {
            let server = HttpServer::start(
                "127.0.0.1:0",
                workers,
                tinydoi::http::Limits {
                    body_bytes: 1 << 20,
                    ..tinydoi::config::Config::default().http_limits()
                },
                || Ok(()),
                Ok200,
            )?;
            announce(server.addr());
            Box::new(move || server.shutdown())
        }
        Kind::Ceiling => ceiling(workers, std::fs::read(db).unwrap_or_else(|_| b"OK".to_vec()))?,
    };
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    stop();
    Ok(())
}

/// How the bench configures tinydoi: a loopback port, no demo data (the bench seeds its
/// own), no rate limits, the given worker count; everything else as `tinydoi serve`.
pub fn server_config(db: &Path, workers: usize) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        db_path: db.to_path_buf(),
        workers,
        fixtures: None,
        seed_demo: false,
        // Rate limits would answer 429 long before the figures mean anything.
        rate_limit: None,
        ..Config::default()
    }
}

fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening {addr}");
    let _ = out.flush();
}

/// The ceiling: tiny_http with `workers` threads answering 200 with `body` and nothing else.
fn ceiling(workers: usize, body: Vec<u8>) -> anyhow::Result<Box<dyn FnOnce()>> {
    let body = std::sync::Arc::new(body);
    // The same socket set-up as tinydoi's HTTP layer (TCP_NODELAY, Content-Length rather
    // than chunks): a ceiling that waited for delayed ACKs would flatter tinydoi.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| anyhow::anyhow!("{e}"))?;
    socket2::SockRef::from(&listener)
        .set_tcp_nodelay(true)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let server =
        std::sync::Arc::new(tiny_http::Server::from_listener(listener, None).map_err(|e| anyhow::anyhow!("{e}"))?);
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow::anyhow!("not an IP address"))?;
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (server, body) = (server.clone(), body.clone());
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    // The same way of writing the body as tinydoi's (one `write_all`).
                    let response = tiny_http::Response::new(
                        tiny_http::StatusCode(200),
                        Vec::new(),
                        std::io::empty(),
                        Some(body.len()),
                        None,
                    )
                    .with_chunked_threshold(usize::MAX);
                    let _ = request.respond_with_body(response, &body);
                }
            })
        })
        .collect();
    announce(addr);
    Ok(Box::new(move || {
        for _ in &threads {
            server.unblock();
        }
        for t in threads {
            let _ = t.join();
        }
    }))
}
