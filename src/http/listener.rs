//! The listening socket, with TCP_NODELAY for every connection tiny_http accepts from it.
//!
//! Connection timeouts are not set here: our patched tiny_http sets them on each accepted
//! connection (`Server::from_listener_with_timeouts`, see `vendor/tiny_http/PATCHED.md`), so
//! the listening socket itself has none and `accept` waits as long as it must.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use anyhow::Context;

/// Binds `listen`.
pub fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    let cannot = || format!("cannot listen on {listen}");
    let addrs: Vec<SocketAddr> = listen.to_socket_addrs().with_context(cannot)?.collect();
    let listener = TcpListener::bind(&addrs[..]).with_context(cannot)?;
    // Set on the listening socket because accepted sockets inherit it (Linux, the BSDs):
    // tiny_http writes a response's headers and its body separately, and under Nagle's
    // algorithm the body then waits for the client's delayed ACK of the headers, 40 ms for
    // every response larger than tiny_http's 1 KiB write buffer (a DOI with its XML is tens
    // of KiB).
    if let Err(e) = socket2::SockRef::from(&listener).set_tcp_nodelay(true) {
        log::warn!("cannot set TCP_NODELAY, large responses may be slow: {e}");
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn accepted_connections_inherit_nodelay() {
        let listener = bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(accepted.nodelay().unwrap());
    }
}
