//! The listening socket, set up so that every connection tiny_http accepts has TCP_NODELAY
//! and read and write timeouts: a client that sends nothing, trickles its headers or idles on a
//! keep-alive connection is dropped after `idle`, instead of holding a thread forever.
//!
//! tiny_http 0.12 has no timeouts of its own and accepts connections in its own thread,
//! out of our reach. On Linux an accepted socket inherits `SO_RCVTIMEO`/`SO_SNDTIMEO` from
//! the listening socket, so we set them there. The catch: `accept` on that socket then
//! also gives up after `idle` without a new connection, and tiny_http's accept loop stops
//! for good on any error. The `Keeper` therefore connects to the listener well within
//! every `idle` period (tiny_http's own shutdown wakes its accept loop the same way); such
//! a connection closes at once and never reaches a worker.
//!
//! The keeper's connections have a second use. tiny_http gives each connection to a thread
//! pool which, when connections arrive in a burst, queues most of them; each queued one
//! waits until some connection arrives or ends, as every arrival gets one more queued
//! connection running. After a burst of slow clients, a normal request that came with the
//! burst could wait for them to time out. Nothing outside tiny_http can see that queue, but
//! every open connection shows as open files: while there are many more than when the
//! server is quiet, the keeper connects every few milliseconds and so drains such a burst
//! in a fraction of a second. When quiet it connects a few times a second.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Binds `listen` with `idle` as the read and write timeout of every accepted connection.
pub fn bind(listen: &str, idle: Duration) -> Result<TcpListener, String> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?
        .collect();
    let listener = TcpListener::bind(&addrs[..]).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let socket = socket2::SockRef::from(&listener);
    socket
        .set_read_timeout(Some(idle))
        .and_then(|()| socket.set_write_timeout(Some(idle)))
        .map_err(|e| format!("cannot set connection timeouts on {listen}: {e}"))?;
    // Also inherited: tiny_http writes a response's headers and its body separately, and
    // under Nagle's algorithm the body then waits for the client's delayed ACK of the
    // headers, 40 ms for every response larger than tiny_http's 1 KiB write buffer (a DOI
    // with its XML is tens of KiB).
    if let Err(e) = socket.set_tcp_nodelay(true) {
        log::warn!("cannot set TCP_NODELAY, large responses may be slow: {e}");
    }
    Ok(listener)
}

/// How often the keeper connects when all is quiet: far inside `idle`.
fn keeper_period(idle: Duration) -> Duration {
    (idle / 8).clamp(Duration::from_millis(1), Duration::from_millis(250))
}

/// How often it connects while many connections are open (see the module doc).
const DRAIN_PERIOD: Duration = Duration::from_millis(3);
/// Open files above the quiet level that mean "many connections open" (two per connection).
const BUSY_FILES: usize = 16;

/// The number of open files of this process (Linux), `None` where unknown.
fn open_files() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// Where to connect to reach a listener bound to `addr` (a wildcard address means loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Keeps tiny_http's accept loop from ever waiting a whole `idle` period (see the module doc).
pub struct Keeper {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Keeper {
    pub fn start(addr: SocketAddr, idle: Duration) -> Result<Keeper, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (period, target, flag) = (keeper_period(idle), reachable(addr), stop.clone());
        let thread = std::thread::Builder::new()
            .name("accept-keeper".into())
            .spawn(move || {
                let mut quiet = usize::MAX;
                while !flag.load(Ordering::SeqCst) {
                    if let Err(e) = TcpStream::connect_timeout(&target, idle) {
                        log::warn!("accept keeper cannot reach {target}: {e}");
                    }
                    let files = open_files().unwrap_or(0);
                    quiet = quiet.min(files);
                    let busy = files > quiet + BUSY_FILES;
                    // Parked rather than asleep, so that stopping needs no wait.
                    std::thread::park_timeout(if busy { DRAIN_PERIOD.min(period) } else { period });
                }
            })
            .map_err(|e| format!("cannot start the accept keeper: {e}"))?;
        Ok(Keeper {
            stop,
            thread: Some(thread),
        })
    }
}

/// Stopping with the server, on every path (also when start-up fails half-way).
impl Drop for Keeper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn accepted_connections_inherit_the_timeouts() {
        let listener = bind("127.0.0.1:0", Duration::from_millis(50)).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        // The kernel keeps timeouts in clock ticks.
        let near =
            |d: Option<Duration>| d.is_some_and(|d| d.abs_diff(Duration::from_millis(50)) < Duration::from_millis(20));
        assert!(near(accepted.read_timeout().unwrap()));
        assert!(near(accepted.write_timeout().unwrap()));
        assert!(accepted.nodelay().unwrap());
        let err = accepted.read(&mut [0u8; 1]).unwrap_err();
        assert!(matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ));
    }

    #[test]
    fn keeper_period_and_target() {
        assert_eq!(keeper_period(Duration::from_secs(20)), Duration::from_millis(250));
        assert_eq!(keeper_period(Duration::from_millis(16)), Duration::from_millis(2));
        assert!(open_files().is_some_and(|n| n >= 3));
        assert_eq!(
            reachable("0.0.0.0:80".parse().unwrap()),
            "127.0.0.1:80".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            reachable("[::]:80".parse().unwrap()),
            "[::1]:80".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            reachable("192.0.2.1:80".parse().unwrap()),
            "192.0.2.1:80".parse::<SocketAddr>().unwrap()
        );
    }
}
