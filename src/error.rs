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
    /// The database failed (I/O, corruption, a bug in a statement); logged, never sent.
    Database(rusqlite::Error),
    /// Reading or writing a file failed; logged, never sent.
    Io(std::io::Error),
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
            Error::Internal(_) | Error::Database(_) | Error::Io(_) => 500,
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

    /// Whether this is a failure of the server (500) rather than of the request; its
    /// detail is for the log, not the client.
    pub fn is_internal(&self) -> bool {
        self.status() == 500
    }
}

/// What went wrong, for people (logs, the command line, fixtures): the client sees the
/// texts of `api::render` instead.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unauthenticated => f.write_str("no credentials given"),
            Error::BadCredentials => f.write_str("bad credentials"),
            Error::Forbidden(Some(m)) | Error::NotFound(Some(m)) => f.write_str(m),
            Error::Forbidden(None) => f.write_str("access denied"),
            Error::NotFound(None) => f.write_str("not found"),
            Error::MethodNotAllowed { message: Some(m), .. } => f.write_str(m),
            Error::MethodNotAllowed { allow, .. } => write!(f, "method not allowed (allowed: {allow})"),
            Error::BadRequest(m) | Error::Conflict(m) | Error::UnsupportedMediaType(m) | Error::TooLarge(m) => {
                f.write_str(m)
            }
            Error::PayloadTooLarge => f.write_str("request body too large"),
            Error::NotAcceptable => f.write_str("no acceptable content type"),
            Error::Unprocessable(problems) => {
                let titles: Vec<&str> = problems.iter().map(|p| p.title.as_str()).collect();
                f.write_str(&titles.join("; "))
            }
            Error::TooManyRequests { retry_after_secs } => {
                write!(f, "too many requests: retry after {retry_after_secs} s")
            }
            Error::Internal(m) => f.write_str(m),
            Error::Database(_) => f.write_str("database error"),
            Error::Io(_) => f.write_str("input/output error"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Database(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}

/// An error and its causes on one line, `outer: inner: …`: how every error is shown to
/// people (the log, the command line, start-up).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_keep_their_source() {
        let e = Error::from(rusqlite::Error::InvalidQuery);
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.status(), 500);
        assert!(chain(&e).starts_with("database error: "), "{}", chain(&e));
    }

    #[test]
    fn display_says_what_went_wrong() {
        assert_eq!(
            Error::Conflict("This DOI has already been taken".into()).to_string(),
            "This DOI has already been taken"
        );
        assert_eq!(Error::forbidden().to_string(), "access denied");
        let e = Error::Unprocessable(vec![Problem::new("a"), Problem::new("b")]);
        assert_eq!(e.to_string(), "a; b");
    }
}
