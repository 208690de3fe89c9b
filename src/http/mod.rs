//! The HTTP layer: the only code that touches tiny_http. A fixed pool of worker threads
//! shares one listening socket; each worker owns its per-thread state (a database connection).

pub mod access_log;
pub mod crosssite;
pub mod listener;
pub mod reply;
pub mod request;
pub mod router;

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::error::Error;
pub use reply::{Body, Reply};
pub use request::{Method, Request};

/// How often an idle worker looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// What one request or connection may make the server read, hold and wait for.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body (larger: 413, without reading it).
    pub body_bytes: usize,
    /// Largest request line and headers together (larger: 431 and close, read no further).
    pub head_bytes: usize,
    /// Most connections served at once; past it a new one gets 503 and is closed.
    pub connections: usize,
    /// Longest wait for the next bytes of a request (or for a client to take our reply);
    /// an idle keep-alive connection is closed after it.
    pub idle: Duration,
    /// Longest time to receive a request line and headers, however they trickle in (408).
    pub head: Duration,
    /// Longest time a worker spends reading one request body, however it trickles in.
    pub body: Duration,
}

/// What the HTTP layer serves: replies to requests, and replies to requests it refused
/// itself (body too large or too slow, headers too large, a panic), in the language of the
/// route they were meant for.
pub trait Service<W> {
    fn handle(&self, state: &mut W, request: Request) -> Reply;
    fn refuse(&self, request: &Request, error: &Error) -> Reply;
}

pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `listen` and starts `workers` threads. `make_worker` runs once in each thread
    /// to build its state; `service` turns a request into a reply and must not panic
    /// (a panic is caught, logged and answered with its `refuse` of a 500 all the same).
    pub fn start<W, M, S>(
        listen: &str,
        workers: usize,
        limits: Limits,
        make_worker: M,
        service: S,
    ) -> anyhow::Result<HttpServer>
    where
        W: 'static,
        M: Fn() -> anyhow::Result<W> + Send + Sync + 'static,
        S: Service<W> + Send + Sync + 'static,
    {
        let socket = listener::bind(listen)?;
        let connection_limits = tiny_http::ConnectionLimits {
            idle_timeout: Some(limits.idle),
            max_head_bytes: limits.head_bytes,
            head_timeout: Some(limits.head),
            max_connections: limits.connections,
            // Chunked framing may add a quarter and 64 KiB to the largest body; no more, so
            // a chunk-size line sent forever is cut off instead of filling memory.
            max_body_wire_bytes: (limits.body_bytes as u64).saturating_mul(5) / 4 + 64 * 1024,
        };
        let server = tiny_http::Server::from_listener_with_limits(socket, None, connection_limits)
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| anyhow::anyhow!("{listen} is not an IP address"))?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let make_worker = Arc::new(make_worker);
        let service = Arc::new(service);
        let body = BodyRules {
            limit: limits.body_bytes,
            deadline: limits.body,
        };
        let mut threads = Vec::new();
        for n in 0..workers.max(1) {
            match spawn_worker(n, &server, &stop, body, make_worker.clone(), service.clone()) {
                Ok(thread) => threads.push(thread),
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    server.unblock();
                    return Err(e);
                }
            }
        }
        Ok(HttpServer {
            server,
            addr,
            stop,
            workers: threads,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets every worker finish the request it is serving, and waits for them.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers {
            let _ = worker.join();
        }
        access_log::flush();
    }
}

/// How much body a worker reads, and for how long.
/// Starts worker `n` and waits until it has built its state, so that a failure (e.g. the
/// database) stops start-up.
fn spawn_worker<W, M, S>(
    n: usize,
    server: &Arc<tiny_http::Server>,
    stop: &Arc<AtomicBool>,
    body: BodyRules,
    make_worker: Arc<M>,
    service: Arc<S>,
) -> anyhow::Result<JoinHandle<()>>
where
    W: 'static,
    M: Fn() -> anyhow::Result<W> + Send + Sync + 'static,
    S: Service<W> + Send + Sync + 'static,
{
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (server, stop) = (server.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name(format!("worker-{n}"))
        .spawn(move || match make_worker() {
            Ok(mut state) => {
                let _ = ready_tx.send(Ok(()));
                worker_loop(&server, &stop, body, &mut state, &*service);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .context("cannot start worker")?;
    match ready_rx.recv() {
        Ok(result) => result.map(|()| thread),
        Err(_) => anyhow::bail!("worker died while starting"),
    }
}

#[derive(Clone, Copy)]
struct BodyRules {
    limit: usize,
    deadline: Duration,
}

fn worker_loop<W>(
    server: &tiny_http::Server,
    stop: &AtomicBool,
    body: BodyRules,
    state: &mut W,
    service: &dyn Service<W>,
) {
    while !stop.load(Ordering::SeqCst) {
        let incoming = match server.recv_timeout(POLL) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                // The (patched) accept loop reports only an error it cannot retry, then stops.
                log::error!("accepting connections failed, no new connections will be served: {e}");
                continue;
            }
        };
        serve_one(incoming, body, state, service);
    }
}

fn serve_one<W>(mut incoming: tiny_http::Request, body_rules: BodyRules, state: &mut W, service: &dyn Service<W>) {
    let started = Instant::now();
    let mut request = Request::new(Method::parse(incoming.method().as_str()), incoming.url());
    request.remote_addr = incoming.remote_addr().map(|a| a.ip());
    request.headers = incoming
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_string(), h.value.as_str().to_string()))
        .collect();
    // The head's size and time were bounded by tiny_http (`Limits::head_bytes`, `head`).
    // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3).
    let has_body = incoming.body_length().is_some_and(|len| len > 0)
        || request
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("Transfer-Encoding"));
    let body = if has_body {
        read_body(&mut incoming, body_rules)
    } else {
        // Most requests (GET, DELETE): no read, and no 16 KiB buffer to zero.
        Ok(Vec::new())
    };
    let reply = match body {
        Err(e) => service.refuse(&request, &e),
        Ok(body) => {
            request.body = body;
            // What a panic's reply needs to know of the request, its body aside.
            let head = Request {
                method: request.method,
                path: request.path.clone(),
                query: Vec::new(),
                headers: Vec::new(),
                body: Vec::new(),
                remote_addr: request.remote_addr,
            };
            match catch_unwind(AssertUnwindSafe(|| service.handle(state, request))) {
                Ok(reply) => reply,
                Err(panic) => {
                    log::error!(
                        "panic while serving {} {}: {}",
                        head.method.as_str(),
                        head.path,
                        panic_message(&panic)
                    );
                    service.refuse(&head, &Error::Internal("panic".into()))
                }
            }
        }
    };
    if access_log::enabled() {
        // Written by the access log's thread: no lock or `write` here.
        access_log::record(format!(
            "{} {} {} {}us {}",
            incoming.method().as_str(),
            request_path_for_log(incoming.url()),
            reply.status,
            started.elapsed().as_micros(),
            reply.header("X-Credential-Username").unwrap_or("-"),
        ));
    }
    respond(incoming, reply);
}

/// Reads at most `limit` bytes; a larger body is refused without reading it all. Each read
/// waits at most the idle timeout (the socket's), and the whole body at most `deadline`, so
/// a client trickling a body holds a worker for a bounded time.
fn read_body(incoming: &mut tiny_http::Request, rules: BodyRules) -> Result<Vec<u8>, Error> {
    if incoming.body_length().is_some_and(|len| len > rules.limit) {
        return Err(Error::PayloadTooLarge);
    }
    let started = Instant::now();
    let mut reader = incoming.as_reader().take(rules.limit as u64 + 1);
    let mut body = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::BadRequest(format!("could not read the request body: {e}"))),
        };
        body.extend_from_slice(&chunk[..n]);
        if started.elapsed() > rules.deadline {
            return Err(Error::BadRequest("the request body took too long to arrive".into()));
        }
    }
    if body.len() > rules.limit {
        return Err(Error::PayloadTooLarge);
    }
    Ok(body)
}

/// The path without its query string: queries can hold signatures that do not belong in logs.
fn request_path_for_log(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

fn respond_with_bytes(
    incoming: tiny_http::Request,
    status: tiny_http::StatusCode,
    headers: Vec<tiny_http::Header>,
    bytes: &[u8],
) -> std::io::Result<()> {
    incoming.respond_with_body(
        tiny_http::Response::new(status, headers, std::io::empty(), Some(bytes.len()), None)
            .with_chunked_threshold(usize::MAX),
        bytes,
    )
}

/// Writes the reply. A body of known length is sent with `Content-Length`: tiny_http would
/// chunk anything over 32 KiB, costing a chunk header per 8 KiB write and leaving clients
/// without the size.
fn respond(incoming: tiny_http::Request, reply: Reply) {
    let headers: Vec<tiny_http::Header> = reply
        .headers
        .iter()
        .filter_map(|(k, v)| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok())
        .collect();
    let status = tiny_http::StatusCode(reply.status);
    let result = match reply.body {
        Body::Empty => incoming.respond(tiny_http::Response::new(
            status,
            headers,
            std::io::empty(),
            Some(0),
            None,
        )),
        // Written to the socket as it is (vendored tiny_http's `respond_with_body`): no copy
        // through an 8 KiB buffer, one `write` instead of one per 8 KiB.
        Body::Bytes(bytes) => respond_with_bytes(incoming, status, headers, &bytes),
        Body::Shared(bytes) => respond_with_bytes(incoming, status, headers, &bytes),
        // Chunked: tiny_http frames what the reader yields.
        Body::Stream(reader) => incoming.respond(tiny_http::Response::new(status, headers, reader, None, None)),
        Body::File(path) => match std::fs::File::open(&path) {
            Ok(file) => {
                let len = file.metadata().ok().map(|m| m.len() as usize);
                incoming.respond(
                    tiny_http::Response::new(status, headers, file, len, None).with_chunked_threshold(usize::MAX),
                )
            }
            Err(e) => {
                log::error!("cannot open {}: {e}", path.display());
                incoming.respond(tiny_http::Response::new(
                    tiny_http::StatusCode(500),
                    Vec::new(),
                    std::io::empty(),
                    Some(0),
                    None,
                ))
            }
        },
    };
    if let Err(e) = result {
        log::debug!("client went away: {e}");
    }
}
