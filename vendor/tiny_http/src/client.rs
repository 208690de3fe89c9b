use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method};
use crate::util::{HeadDeadline, RefinedTcpStream};
use crate::ConnectionLimits;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    /// tinydoi patch: the limits on a request's head, and the deadline the read stream obeys.
    limits: ConnectionLimits,
    head_deadline: Arc<HeadDeadline>,
    /// No request read yet: the head deadline of the first one runs from the connection's
    /// start; later ones' from their first byte (the idle timeout covers the wait before).
    first_request: bool,
}

/// tinydoi patch: after refusing a request head, how long and how much more of what the
/// client is still sending we read and discard before closing, so that our answer is not
/// lost in the reset a close with unread data causes (Apache's "lingering close").
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: u64 = 1024 * 1024;

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
    /// tinydoi patch: the request line and headers exceed `ConnectionLimits::max_head_bytes`
    HeadTooLarge,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        limits: ConnectionLimits,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();
        let head_deadline = HeadDeadline::new(limits.idle_timeout);
        read_socket.obey(head_deadline.clone());

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            limits,
            head_deadline,
            first_request: true,
        }
    }

    /// tinydoi patch: starts the head deadline (if one is configured).
    fn start_head_clock(&self) {
        if let Some(timeout) = self.limits.head_timeout {
            self.head_deadline.set(Some(Instant::now() + timeout));
        }
    }

    /// tinydoi patch: answers `status` and closes, reading and discarding for a bounded
    /// time and size what the client may still be sending so that it gets the answer.
    fn refuse_and_close(&mut self, status: u16, version: HTTPVersion) {
        use crate::{Header, Response, StatusCode};
        let mut writer = self.sink.next().unwrap();
        let close = Header::from_bytes(&b"Connection"[..], &b"close"[..]).unwrap();
        let response = Response::new_empty(StatusCode(status)).with_header(close);
        response.raw_print(&mut writer, version, &[], false, None).ok();
        writer.flush().ok();
        drop(writer);
        self.head_deadline.set(Some(Instant::now() + LINGER_TIME));
        self.head_deadline.shutdown_write();
        let mut rest = self.next_header_source.by_ref().take(LINGER_BYTES);
        std::io::copy(&mut rest, &mut std::io::sink()).ok();
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// tinydoi patch: every byte counts against `budget` (what is left of the head's size
    /// limit), so a line never grows past it: an endless line is refused after `budget`
    /// bytes instead of filling memory. With `start_clock`, the head deadline starts at the
    /// line's first byte.
    fn read_next_line(&mut self, budget: &mut usize, start_clock: bool) -> Result<AsciiString, ReadError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;
        let mut first_chunk = true;

        // tinydoi patch: the line is taken from the buffered bytes a chunk at a time
        // (`BufRead`), not one byte per `read` call through `SequentialReader` and
        // `BufReader`: that cost about 100 instructions per byte of every request head,
        // some 12,000 for an authenticated GET. Within a chunk its end is searched for and
        // the line copied in one piece rather than a byte at a time (another 3,500). What
        // counts is unchanged: every byte against `budget`, the head clock started once the
        // line's first byte is in.
        loop {
            let (used, outcome) = {
                let available = match self.next_header_source.fill_buf() {
                    Ok(available) => available,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(ReadError::ReadIoError(e)),
                };
                if available.is_empty() {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "Unexpected EOF",
                    )));
                }
                // What the budget lets this chunk hold, searched for the line's end (a LF
                // after a CR, which may have ended the chunk before) and copied in one piece.
                let window = &available[..available.len().min(*budget)];
                let mut end = None;
                let mut from = 0;
                while let Some(at) = window[from..].iter().position(|&b| b == b'\n') {
                    let at = from + at;
                    let after_cr = if at == 0 { prev_byte_was_cr } else { window[at - 1] == b'\r' };
                    if after_cr {
                        end = Some(at);
                        break;
                    }
                    from = at + 1;
                }
                let (used, outcome) = match end {
                    Some(at) => {
                        buf.extend_from_slice(&window[..at]);
                        buf.pop(); // removing the '\r'
                        (at + 1, Some(Ok(())))
                    }
                    None => {
                        buf.extend_from_slice(window);
                        if let Some(&last) = window.last() {
                            prev_byte_was_cr = last == b'\r';
                        }
                        if window.len() < available.len() {
                            // A byte is there past the budget: the head is too large.
                            (window.len() + 1, Some(Err(ReadError::HeadTooLarge)))
                        } else {
                            (window.len(), None)
                        }
                    }
                };
                *budget -= used.min(window.len());
                (used, outcome)
            };
            self.next_header_source.consume(used);
            if start_clock && first_chunk {
                // The first chunk holds the line's first byte; the clock bounds later reads.
                self.start_head_clock();
            }
            first_chunk = false;
            match outcome {
                None => continue,
                Some(Err(e)) => return Err(e),
                Some(Ok(())) => {
                    return AsciiString::from_ascii(buf).map_err(|_| {
                        ReadError::ReadIoError(IoError::new(ErrorKind::InvalidInput, "Header is not in ASCII"))
                    })
                }
            }
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        // tinydoi patch: the head's size limit and deadline.
        let mut budget = self.limits.max_head_bytes;
        let first = std::mem::replace(&mut self.first_request, false);
        if first {
            self.start_head_clock();
        }
        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line(&mut budget, !first)?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = self.read_next_line(&mut budget, false)?;

                    if line.is_empty() {
                        break;
                    };
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };
        // tinydoi patch: the head is in; the body is read under the idle timeout (and the
        // application's own body deadline).
        self.head_deadline.set(None);

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        // tinydoi patch: a body (chunked framing included) ends after this many bytes, so
        // an endless chunk-size line cannot grow the decoder's buffer without bound.
        let data_source = data_source.take(self.limits.max_body_wire_bytes);

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            *self.remote_addr.as_ref().unwrap(),
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        // return the request
        Ok(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        loop {
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(400));
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::WrongHeader(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(400));
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::ReadIoError(ref err)) if err.kind() == ErrorKind::TimedOut => {
                    // request timeout (tinydoi patch: with a lingering close, so that a
                    // client still trickling its headers gets the answer)
                    self.refuse_and_close(408, HTTPVersion(1, 1));
                    return None; // closing the connection
                }

                // tinydoi patch: a head over the size limit is refused, not read further.
                Err(ReadError::HeadTooLarge) => {
                    self.refuse_and_close(431, HTTPVersion(1, 1));
                    return None;
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = Response::new_empty(StatusCode(417));
                    response.raw_print(writer, ver, &[], true, None).ok();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                Err(ReadError::ReadIoError(_)) => return None,

                Ok(rq) => rq,
            };

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                // tinydoi patch: the 505 goes out on the request's own writer, and the
                // connection closes. Upstream took the next writer from `self.sink`, which
                // waits for the one before it, the request's, to be dropped: `rq` was
                // still alive, so one request line naming HTTP/2.0 or 3.0 blocked the
                // connection's thread forever (no socket timeout applies to that wait),
                // holding a connection slot; a few such connections refused every client.
                let response = Response::from_string(
                    "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
                )
                .with_status_code(StatusCode(505))
                .with_header(crate::Header::from_bytes(&b"Connection"[..], &b"close"[..]).unwrap());
                let mut writer = rq.into_writer();
                response
                    .raw_print(&mut writer, HTTPVersion(1, 1), &[], false, None)
                    .ok();
                writer.flush().ok();
                // We do not speak its version, so we cannot know where a next request
                // would start.
                return None;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
