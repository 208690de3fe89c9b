//! What handlers return: status, headers and a body; the server writes it to the socket.

use std::path::PathBuf;

pub const JSON_API: &str = "application/vnd.api+json";

pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Bytes shared with a cache (`dois::rendered`): sent without a copy.
    Shared(std::sync::Arc<[u8]>),
    /// Streamed from disk (large files such as the monthly data file).
    File(PathBuf),
    /// Produced while it is sent, of a length not known before (chunked): a long list
    /// read a page at a time. An error while reading cuts the response short.
    Stream(Box<dyn std::io::Read + Send>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(b) => f.debug_tuple("Bytes").field(b).finish(),
            Body::Shared(b) => f.debug_tuple("Shared").field(b).finish(),
            Body::File(p) => f.debug_tuple("File").field(p).finish(),
            Body::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: Body::Bytes(body.into()),
        }
    }

    /// A reply whose body is shared with a cache.
    pub fn shared(status: u16, content_type: &str, body: std::sync::Arc<[u8]>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: Body::Shared(body),
        }
    }

    /// A JSON:API document.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::new(status, JSON_API, value.to_string())
    }

    pub fn text(status: u16, text: impl Into<String>) -> Reply {
        Reply::new(status, "text/plain;charset=UTF-8", text.into())
    }

    pub fn xml(status: u16, xml: impl Into<Vec<u8>>) -> Reply {
        Reply::new(status, "application/xml", xml)
    }

    /// A web console page (or its error page) with the headers every console page carries:
    /// no framing, no script or style from elsewhere, no sniffing, no referrer, no caching
    /// (pages show keys and private metadata).
    pub fn html(status: u16, html: impl Into<String>) -> Reply {
        Reply::new(status, "text/html; charset=utf-8", html.into())
            .with_header(
                "Content-Security-Policy",
                "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            )
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("Referrer-Policy", "no-referrer")
            .with_header("X-Frame-Options", "DENY")
            .with_header("Cache-Control", "no-store")
    }

    /// `303 See Other` to `location` (after a console form, or to the sign-in page).
    pub fn see_other(location: &str) -> Reply {
        Reply::empty(303)
            .with_header("Location", location)
            .with_header("Cache-Control", "no-store")
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.set_header(name, value);
        self
    }

    /// Sets a header, replacing any earlier value of the same name.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
