//! Console form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`
//! (the metadata upload), each refused past a size bound before it is parsed.

use crate::error::Error;
use crate::http::request::parse_form;
use crate::http::Request;

/// Largest urlencoded form (names, dates, a CSRF token).
pub const SMALL: usize = 64 * 1024;

/// A parsed form: field names and their values (files as their bytes).
#[derive(Debug, Default)]
pub struct Form(Vec<(String, Vec<u8>)>);

impl Form {
    /// A text field, trimmed of nothing; `None` when absent or not UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.bytes(name).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// Every UTF-8 value of a repeated field (checkboxes), in form order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .collect()
    }

    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
    }
}

/// Parses the request body as a form of at most `limit` bytes (413 past it, 415 for a
/// body that is neither form encoding).
pub fn read(request: &Request, limit: usize) -> Result<Form, Error> {
    if request.body.len() > limit {
        return Err(Error::PayloadTooLarge);
    }
    let content_type = request.header("content-type").unwrap_or("");
    let media = request.content_type().unwrap_or_default();
    match media.as_str() {
        "application/x-www-form-urlencoded" | "" => {
            let text =
                std::str::from_utf8(&request.body).map_err(|_| Error::BadRequest("The form is not UTF-8.".into()))?;
            Ok(Form(
                parse_form(text).into_iter().map(|(k, v)| (k, v.into_bytes())).collect(),
            ))
        }
        "multipart/form-data" => {
            let boundary =
                boundary(content_type).ok_or_else(|| Error::BadRequest("The form has no boundary.".into()))?;
            multipart(&request.body, boundary)
        }
        _ => Err(Error::UnsupportedMediaType("Send the console's forms as forms.".into())),
    }
}

fn boundary(content_type: &str) -> Option<&str> {
    content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// Splits a multipart body into its named parts (RFC 7578); parts without a name are skipped.
fn multipart(body: &[u8], boundary: &str) -> Result<Form, Error> {
    let bad = || Error::BadRequest("The form is not well-formed multipart.".into());
    let delimiter = format!("--{boundary}");
    let mut parts = split(body, delimiter.as_bytes());
    // Before the first delimiter: the preamble, ignored.
    parts.next().ok_or_else(bad)?;
    let mut form = Form::default();
    for part in parts {
        if part.starts_with(b"--") {
            return Ok(form);
        }
        let part = part.strip_prefix(b"\r\n").ok_or_else(bad)?;
        let end = memchr::memmem::find(part, b"\r\n\r\n").ok_or_else(bad)?;
        let head = std::str::from_utf8(&part[..end]).map_err(|_| bad())?;
        let content = &part[end + 4..];
        let content = content.strip_suffix(b"\r\n").ok_or_else(bad)?;
        if let Some(name) = part_name(head) {
            form.0.push((name, content.to_vec()));
        }
    }
    Err(bad())
}

fn split<'a>(body: &'a [u8], delimiter: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let now = rest?;
        match memchr::memmem::find(now, delimiter) {
            Some(at) => {
                rest = Some(&now[at + delimiter.len()..]);
                Some(&now[..at])
            }
            None => {
                rest = None;
                Some(now)
            }
        }
    })
}

/// The `name` of a part's `Content-Disposition: form-data; name="…"`.
fn part_name(head: &str) -> Option<String> {
    let disposition = head
        .split("\r\n")
        .find_map(|line| {
            line.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
        })?
        .1;
    disposition
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == "name")
        .map(|(_, v)| v.trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;

    fn request(content_type: &str, body: &[u8]) -> Request {
        let mut r = Request::new(Method::Post, "/console/validate");
        r.headers.push(("Content-Type".into(), content_type.into()));
        r.body = body.to_vec();
        r
    }

    #[test]
    fn urlencoded() {
        let f = read(
            &request("application/x-www-form-urlencoded", b"name=a+b&csrf=x%3D"),
            SMALL,
        )
        .unwrap();
        assert_eq!(
            (f.get("name"), f.get("csrf"), f.get("none")),
            (Some("a b"), Some("x="), None)
        );
    }

    #[test]
    fn multipart_parts() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"xml\"\r\n\r\n<a>\r\n</a>\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.xml\"\r\nContent-Type: text/xml\r\n\r\n<b/>\r\n--XyZ--\r\n";
        let f = read(&request("multipart/form-data; boundary=XyZ", body), SMALL).unwrap();
        assert_eq!(f.get("xml"), Some("<a>\r\n</a>"));
        assert_eq!(f.bytes("file"), Some(&b"<b/>"[..]));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            read(&request("text/plain", b"x"), SMALL),
            Err(Error::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            read(&request("application/x-www-form-urlencoded", &[b'a'; 10]), 5),
            Err(Error::PayloadTooLarge)
        ));
        let unterminated = b"--XyZ\r\nContent-Disposition: form-data; name=\"xml\"\r\n\r\nabc";
        assert!(read(&request("multipart/form-data; boundary=XyZ", unterminated), SMALL).is_err());
        assert!(read(&request("multipart/form-data", b""), SMALL).is_err());
    }
}
