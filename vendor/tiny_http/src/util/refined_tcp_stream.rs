use std::io::Result as IoResult;
use std::io::{Error as IoError, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::connection::Connection;
#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use crate::ssl::SslStream;

pub(crate) enum Stream {
    Http(Connection),
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    Https(SslStream),
}

impl Clone for Stream {
    fn clone(&self) -> Self {
        match self {
            Stream::Http(tcp_stream) => Stream::Http(tcp_stream.try_clone().unwrap()),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => Stream::Https(ssl_stream.clone()),
        }
    }
}

impl From<Connection> for Stream {
    fn from(tcp_stream: Connection) -> Self {
        Stream::Http(tcp_stream)
    }
}

impl Stream {
    fn secure(&self) -> bool {
        match self {
            Stream::Http(_) => false,
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => true,
        }
    }

    fn peer_addr(&mut self) -> IoResult<Option<SocketAddr>> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.peer_addr(),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.peer_addr(),
        }
    }

    fn shutdown(&mut self, how: Shutdown) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.shutdown(how),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.shutdown(how),
        }
    }

    /// tinydoi patch: the read timeout of a plain connection (TLS ones keep theirs).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.set_read_timeout(timeout),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(_) => Ok(()),
        }
    }
}

/// tinydoi patch: a deadline for reading a request's head, shared by a connection's
/// `ClientConnection` (which sets and clears it) and its read stream (which obeys it).
///
/// While a deadline is set, every read from the socket waits at most until the deadline
/// (and at most the idle timeout), and a read starting after it fails with `TimedOut`: a
/// client trickling its headers a byte at a time cannot hold the connection for longer.
pub(crate) struct HeadDeadline {
    deadline: Mutex<Option<Instant>>,
    /// The connection's usual read timeout, restored once the deadline is cleared.
    idle: Option<Duration>,
    /// Set to ask the read stream to end the sending side before its next read.
    shutdown_write: AtomicBool,
}

impl HeadDeadline {
    pub(crate) fn new(idle: Option<Duration>) -> Arc<HeadDeadline> {
        Arc::new(HeadDeadline {
            deadline: Mutex::new(None),
            idle,
            shutdown_write: AtomicBool::new(false),
        })
    }

    /// Asks the read stream to end the sending side at its next read, so the client sees
    /// the end of our reply while we still read (and discard) what it is sending: a
    /// lingering close. (Done by the read stream to need no third descriptor per connection.)
    pub(crate) fn shutdown_write(&self) {
        self.shutdown_write.store(true, Ordering::SeqCst);
    }

    pub(crate) fn set(&self, deadline: Option<Instant>) {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner()) = deadline;
    }

    fn get(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.read(buf),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.write(buf),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.write(buf),
        }
    }

    fn flush(&mut self) -> IoResult<()> {
        match self {
            Stream::Http(tcp_stream) => tcp_stream.flush(),
            #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
            Stream::Https(ssl_stream) => ssl_stream.flush(),
        }
    }
}

pub struct RefinedTcpStream {
    stream: Stream,
    close_read: bool,
    close_write: bool,
    /// tinydoi patch: the head deadline this (read) stream obeys, and whether the socket's
    /// read timeout is currently shortened by it.
    head_deadline: Option<Arc<HeadDeadline>>,
    shortened: bool,
}

impl RefinedTcpStream {
    pub(crate) fn new<S>(stream: S) -> (RefinedTcpStream, RefinedTcpStream)
    where
        S: Into<Stream>,
    {
        let stream: Stream = stream.into();

        let (read, write) = (stream.clone(), stream);

        let read = RefinedTcpStream {
            stream: read,
            close_read: true,
            close_write: false,
            head_deadline: None,
            shortened: false,
        };

        let write = RefinedTcpStream {
            stream: write,
            close_read: false,
            close_write: true,
            head_deadline: None,
            shortened: false,
        };

        (read, write)
    }

    /// Returns true if this struct wraps around a secure connection.
    #[inline]
    pub(crate) fn secure(&self) -> bool {
        self.stream.secure()
    }

    pub(crate) fn peer_addr(&mut self) -> IoResult<Option<SocketAddr>> {
        self.stream.peer_addr()
    }

    /// tinydoi patch: makes this (read) stream obey `deadline` whenever one is set.
    pub(crate) fn obey(&mut self, deadline: Arc<HeadDeadline>) {
        self.head_deadline = Some(deadline);
    }

    /// tinydoi patch: sets the socket's read timeout for the next read from the head
    /// deadline, if any, or puts back the usual one.
    fn apply_deadline(&mut self) -> IoResult<()> {
        let Some(head) = self.head_deadline.as_ref() else {
            return Ok(());
        };
        if head.shutdown_write.swap(false, Ordering::SeqCst) {
            self.stream.shutdown(Shutdown::Write).ok();
        }
        match head.get() {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(IoError::new(ErrorKind::TimedOut, "request head deadline passed"));
                }
                let wait = head.idle.map_or(left, |idle| idle.min(left));
                // A zero timeout means "none" to the OS; never ask for less than 1 ms.
                self.stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
                self.shortened = true;
            }
            None if self.shortened => {
                self.stream.set_read_timeout(head.idle)?;
                self.shortened = false;
            }
            None => {}
        }
        Ok(())
    }
}

impl Drop for RefinedTcpStream {
    fn drop(&mut self) {
        if self.close_read {
            self.stream.shutdown(Shutdown::Read).ok();
        }

        if self.close_write {
            self.stream.shutdown(Shutdown::Write).ok();
        }
    }
}

impl Read for RefinedTcpStream {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        self.apply_deadline()?;
        match self.stream.read(buf) {
            // tinydoi patch: a socket timeout is `WouldBlock` on Unix; under a head deadline
            // say `TimedOut`, which the connection answers with 408.
            Err(e) if e.kind() == ErrorKind::WouldBlock && self.shortened => {
                Err(IoError::new(ErrorKind::TimedOut, e))
            }
            other => other,
        }
    }
}

impl Write for RefinedTcpStream {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> IoResult<()> {
        self.stream.flush()
    }
}
