//! The one error type of request handling, and the one place where errors get their HTTP status.

use std::fmt;

/// Where a 422 problem points: a JSON:API pointer (`/data/attributes/name`) or a
/// DataCite metadata property (`creators`), as the two kinds of DataCite 422s do.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Pointer(String),
    Property(String),
}

/// One reason a request was unprocessable.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub title: String,
    pub source: Option<Source>,
    /// The DOI the problem belongs to (DataCite's `uid`).
    pub uid: Option<String>,
}

impl Problem {
    pub fn new(title: impl Into<String>) -> Problem {
        Problem {
            title: title.into(),
            source: None,
            uid: None,
        }
    }
    pub fn at_pointer(title: impl Into<String>, pointer: impl Into<String>) -> Problem {
        Problem {
            title: title.into(),
            source: Some(Source::Pointer(pointer.into())),
            uid: None,
        }
    }
    pub fn at_property(title: impl Into<String>, property: impl Into<String>) -> Problem {
        Problem {
            title: title.into(),
            source: Some(Source::Property(property.into())),
            uid: None,
        }
    }
}

/// Everything a handler can fail with. Messages given here are shown to the client
/// as they are; `None` means "the route family's standard text" (see `http::render`).
#[derive(Debug)]
pub enum Error {
    /// No credentials where some are required.
    Unauthenticated,
    /// Credentials were given and are wrong (unknown user, bad password, bad/revoked key …).
    BadCredentials,
    Forbidden(Option<String>),
    NotFound(Option<String>),
    MethodNotAllowed {
        allow: String,
        message: Option<String>,
    },
    BadRequest(String),
    Conflict(String),
    UnsupportedMediaType(String),
    /// `Accept` names no type DataCite serves for the resource (lupo's 406).
    NotAcceptable,
    PayloadTooLarge,
    /// 413 with the reason, for a body that is within the size limit but would not be
    /// once decoded (a decompressed usage report).
    TooLarge(String),
    Unprocessable(Vec<Problem>),
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// A bug or an environment failure; the detail is logged, never sent.
    Internal(String),
}

impl Error {
    pub fn status(&self) -> u16 {
        match self {
            Error::Unauthenticated | Error::BadCredentials => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::BadRequest(_) => 400,
            Error::Conflict(_) => 409,
            Error::UnsupportedMediaType(_) => 415,
            Error::NotAcceptable => 406,
            Error::PayloadTooLarge | Error::TooLarge(_) => 413,
            Error::Unprocessable(_) => 422,
            Error::TooManyRequests { .. } => 429,
            Error::Internal(_) => 500,
        }
    }

    pub fn forbidden() -> Error {
        Error::Forbidden(None)
    }
    pub fn not_found() -> Error {
        Error::NotFound(None)
    }
    pub fn unprocessable(problem: Problem) -> Error {
        Error::Unprocessable(vec![problem])
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.status(), self)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Internal(format!("io: {e}"))
    }
}
