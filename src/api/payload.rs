//! Reads a JSON:API request body whatever its Content-Type (`curl -d` labels JSON as a
//! form), and bracketed form fields (`data[attributes][name]=…`) as the same JSON.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::http::request::parse_form;
use crate::http::Request;

pub const NOT_JSONAPI: &str = "You need to provide a payload following the JSONAPI spec";

/// The body as JSON: `None` when it is empty, 400 when it is neither JSON nor form fields
/// or has no `data` object.
pub fn read(request: &Request) -> Result<Option<Value>, Error> {
    let text = std::str::from_utf8(&request.body).map_err(|_| Error::BadRequest(NOT_JSONAPI.into()))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value = match serde_json::from_str::<Value>(text) {
        Ok(v) => v,
        Err(_) => from_form(text).ok_or_else(|| Error::BadRequest(NOT_JSONAPI.into()))?,
    };
    if !value.get("data").is_some_and(Value::is_object) {
        return Err(Error::BadRequest(NOT_JSONAPI.into()));
    }
    Ok(Some(value))
}

/// `data[attributes][name]=x&data[type]=t` → `{"data":{"attributes":{"name":"x"},"type":"t"}}`.
/// `None` when no field has the bracketed form.
fn from_form(text: &str) -> Option<Value> {
    let mut root = Map::new();
    let mut any = false;
    for (name, value) in parse_form(text) {
        let Some(path) = bracket_path(&name) else { continue };
        any = true;
        insert(&mut root, &path, value);
    }
    any.then_some(Value::Object(root))
}

/// `a[b][c]` → `["a", "b", "c"]`; `None` for a name of another form.
fn bracket_path(name: &str) -> Option<Vec<&str>> {
    let (first, mut rest) = name.split_once('[')?;
    let mut path = vec![first];
    loop {
        let (segment, after) = rest.split_once(']')?;
        if segment.is_empty() || segment.contains('[') {
            return None;
        }
        path.push(segment);
        if after.is_empty() {
            return (!first.is_empty()).then_some(path);
        }
        rest = after.strip_prefix('[')?;
    }
}

fn insert(map: &mut Map<String, Value>, path: &[&str], value: String) {
    match path {
        [] => {}
        [last] => {
            map.insert(last.to_string(), Value::String(value));
        }
        [first, rest @ ..] => {
            let child = map
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert(child, rest, value);
            }
        }
    }
}

/// `data.attributes.<name>`, when present and not null.
pub fn attribute<'a>(payload: &'a Value, name: &str) -> Option<&'a Value> {
    payload
        .get("data")
        .and_then(|d| d.get("attributes"))
        .and_then(|a| a.get(name))
        .filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::Method;
    use serde_json::json;

    fn request(body: &str) -> Request {
        let mut r = Request::new(Method::Post, "/x");
        r.body = body.as_bytes().to_vec();
        r
    }

    #[test]
    fn json_whatever_the_content_type() {
        let mut r = request(r#"{"data":{"attributes":{"name":"a"}}}"#);
        r.headers
            .push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
        assert_eq!(read(&r).unwrap(), Some(json!({"data":{"attributes":{"name":"a"}}})));
    }

    #[test]
    fn bracketed_form_fields() {
        let r = request("data%5Battributes%5D%5Bname%5D=Data+verse&data[type]=api-keys&other=1");
        assert_eq!(
            read(&r).unwrap(),
            Some(json!({"data":{"attributes":{"name":"Data verse"},"type":"api-keys"}}))
        );
    }

    #[test]
    fn empty_and_malformed() {
        assert_eq!(read(&request("  ")).unwrap(), None);
        for bad in ["{", "[1]", r#"{"data":1}"#, "name=x", "data[=x", "\u{0}"] {
            assert!(matches!(read(&request(bad)), Err(Error::BadRequest(_))), "{bad}");
        }
        assert_eq!(bracket_path("a[b][c]"), Some(vec!["a", "b", "c"]));
        assert_eq!(bracket_path("a[b]c"), None);
        assert_eq!(bracket_path("[b]"), None);
    }
}
