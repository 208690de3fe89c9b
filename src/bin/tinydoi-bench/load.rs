//! Closed-loop HTTP/1.1 load generator: N keep-alive connections, each in its own thread,
//! each sending its next request as soon as the previous response has been read.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Writes request `seq` of connection `conn` into the buffer and returns the status it expects.
pub type RequestFn<'a> = &'a (dyn Fn(usize, u64, &mut Vec<u8>) -> u16 + Sync);

pub struct Plan<'a> {
    pub addr: SocketAddr,
    pub connections: usize,
    /// Requests finished before this much time has passed are not counted (caches, TCP).
    pub warmup: Duration,
    pub duration: Duration,
    pub request: RequestFn<'a>,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Counted requests (after warm-up), including failed ones.
    pub requests: u64,
    pub seconds: f64,
    /// Microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Unexpected status or broken connection.
    pub errors: u64,
    pub server_errors: u64,
    pub first_error: Option<String>,
}

impl Outcome {
    /// Adds another run's figures to these.
    pub fn add(&mut self, other: Outcome) {
        self.requests += other.requests;
        self.seconds += other.seconds;
        self.errors += other.errors;
        self.server_errors += other.server_errors;
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Latency at quantile `q` (0..1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * self.latencies_us.len() as f64).ceil() as usize).clamp(1, self.latencies_us.len());
        self.latencies_us[rank - 1] as f64 / 1000.0
    }
}

/// A request line and headers for `method path` with an optional `Authorization` value.
pub fn request_head(method: &str, path: &str, authorization: Option<&str>, body: Option<(&str, usize)>) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: tinydoi-bench\r\n");
    if let Some(auth) = authorization {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    if let Some((content_type, len)) = body {
        head.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {len}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

pub fn run(plan: &Plan) -> Outcome {
    let started = Instant::now();
    let counted_from = started + plan.warmup;
    let deadline = counted_from + plan.duration;
    let per_thread: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..plan.connections)
            .map(|conn| scope.spawn(move || drive(plan, conn, counted_from, deadline)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut total = Outcome {
        seconds: plan.duration.as_secs_f64(),
        ..Outcome::default()
    };
    for part in per_thread {
        total.requests += part.requests;
        total.errors += part.errors;
        total.server_errors += part.server_errors;
        total.latencies_us.extend(part.latencies_us);
        if total.first_error.is_none() {
            total.first_error = part.first_error;
        }
    }
    total.latencies_us.sort_unstable();
    total
}

/// One connection's loop.
fn drive(plan: &Plan, conn: usize, counted_from: Instant, deadline: Instant) -> Outcome {
    let mut out = Outcome::default();
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut line = String::new();
    let mut stream: Option<(TcpStream, BufReader<TcpStream>)> = None;
    let mut seq = 0u64;
    loop {
        let sent_at = Instant::now();
        if sent_at >= deadline {
            break;
        }
        if stream.is_none() {
            match connect(plan.addr) {
                Ok(s) => stream = Some(s),
                Err(e) => {
                    note_error(&mut out, format!("connect: {e}"));
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let Some((writer, reader)) = stream.as_mut() else {
            continue;
        };
        buf.clear();
        let expected = (plan.request)(conn, seq, &mut buf);
        seq += 1;
        let result = writer
            .write_all(&buf)
            .and_then(|_| read_response(reader, &mut line, None));
        let done_at = Instant::now();
        let counted = sent_at >= counted_from && done_at <= deadline;
        match result {
            Ok((status, keep_alive)) => {
                if counted {
                    out.requests += 1;
                    out.latencies_us
                        .push(done_at.duration_since(sent_at).as_micros().min(u32::MAX as u128) as u32);
                    if status != expected {
                        note_error(&mut out, format!("status {status}, expected {expected}"));
                        if status >= 500 {
                            out.server_errors += 1;
                        }
                    }
                }
                if !keep_alive {
                    stream = None;
                }
            }
            Err(e) => {
                if counted {
                    out.requests += 1;
                    note_error(&mut out, format!("i/o: {e}"));
                }
                stream = None;
            }
        }
    }
    out
}

fn note_error(out: &mut Outcome, message: String) {
    out.errors += 1;
    if out.first_error.is_none() {
        out.first_error = Some(message);
    }
}

fn connect(addr: SocketAddr) -> io::Result<(TcpStream, BufReader<TcpStream>)> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
    Ok((stream, reader))
}

/// Reads one response, keeping the body only if asked. Returns the status and whether the
/// connection stays open.
fn read_response(
    reader: &mut BufReader<TcpStream>,
    line: &mut String,
    body: Option<&mut Vec<u8>>,
) -> io::Result<(u16, bool)> {
    line.clear();
    if reader.read_line(line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {line:?}")))?;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut keep_alive = true;
    loop {
        line.clear();
        if reader.read_line(line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed in headers",
            ));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep_alive = !value.eq_ignore_ascii_case("close");
        }
    }
    if chunked {
        read_chunked(reader, line, body)?;
    } else if let (Some(body), Some(len)) = (body, length) {
        reader.by_ref().take(len).read_to_end(body)?;
    } else if let Some(len) = length {
        skip(reader, len)?;
    } else if status >= 200 && status != 204 && status != 304 {
        // No length: the body runs to the end of the connection.
        io::copy(reader, &mut io::sink())?;
        keep_alive = false;
    }
    Ok((status, keep_alive))
}

fn skip(reader: &mut BufReader<TcpStream>, len: u64) -> io::Result<()> {
    let copied = io::copy(&mut reader.by_ref().take(len), &mut io::sink())?;
    if copied < len {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body cut short"));
    }
    Ok(())
}

fn read_chunked(
    reader: &mut BufReader<TcpStream>,
    line: &mut String,
    mut body: Option<&mut Vec<u8>>,
) -> io::Result<()> {
    loop {
        line.clear();
        reader.read_line(line)?;
        let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                line.clear();
                if reader.read_line(line)? == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        match body.as_deref_mut() {
            Some(body) => {
                reader.by_ref().take(size).read_to_end(body)?;
                skip(reader, 2)?;
            }
            None => skip(reader, size + 2)?,
        }
    }
}

/// Sends one request on a new connection and returns the response status.
pub fn one(addr: SocketAddr, request: &[u8]) -> io::Result<u16> {
    let (mut writer, mut reader) = connect(addr)?;
    writer.write_all(request)?;
    let mut line = String::new();
    read_response(&mut reader, &mut line, None).map(|(status, _)| status)
}

/// Sends one request on a new connection and returns the status and body.
pub fn fetch(addr: SocketAddr, request: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let (mut writer, mut reader) = connect(addr)?;
    writer.write_all(request)?;
    let mut line = String::new();
    let mut body = Vec::new();
    let (status, _) = read_response(&mut reader, &mut line, Some(&mut body))?;
    Ok((status, body))
}
