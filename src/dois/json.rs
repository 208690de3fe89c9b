//! JSON:API for REST DOIs (CONTRACT §7): reading a request's `data.attributes` and building
//! `dois` resources the way DataCite's REST API shows them.

use base64::Engine;
use serde_json::{json, Map, Value};
use std::borrow::Cow;

use super::{doi, members, Changes, Doi, Event, State};
use crate::error::{Error, Problem};
use crate::time::rfc3339;

pub const NOT_JSON_API: &str = "You need to provide a payload following the JSONAPI spec";

/// The DataCite JSON properties that carry metadata (CONTRACT §6); they are what `xml`
/// is derived from, and what `dois.attributes` stores.
pub const METADATA_PROPERTIES: &[&str] = &[
    "creators",
    "titles",
    "publisher",
    "publicationYear",
    "types",
    "subjects",
    "contributors",
    "dates",
    "language",
    "identifiers",
    "relatedIdentifiers",
    "relatedItems",
    "sizes",
    "formats",
    "version",
    "rightsList",
    "descriptions",
    "geoLocations",
    "fundingReferences",
];

/// List properties shown as `[]` (not `null`) when a DOI has none, as DataCite does.
const LIST_PROPERTIES: &[&str] = &[
    "creators",
    "titles",
    "subjects",
    "contributors",
    "dates",
    "identifiers",
    "relatedIdentifiers",
    "relatedItems",
    "sizes",
    "formats",
    "rightsList",
    "descriptions",
    "geoLocations",
    "fundingReferences",
];

pub const SCHEMA_VERSION: &str = "http://datacite.org/schema/kernel-4";

/// What a `POST`/`PUT`/`PATCH` body asks for. `None` means "not sent" (kept on update).
#[derive(Debug, Default, PartialEq)]
pub struct DoiInput {
    /// `data.attributes.doi`, else `data.id`.
    pub doi: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub event: Option<String>,
    /// `Some(None)`: sent as `null`.
    pub url: Option<Option<String>>,
    /// Decoded `xml`.
    pub xml: Option<Vec<u8>>,
    /// The metadata properties sent, as sent.
    pub metadata: Map<String, Value>,
}

/// Parses a JSON:API body. `data.type` may be missing (the Python `datacite` client sends
/// none); whatever the Content-Type, the body is read as JSON.
pub fn parse_input(body: &[u8]) -> Result<DoiInput, Error> {
    let bad = || Error::BadRequest(NOT_JSON_API.into());
    let document: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let data = document.get("data").and_then(Value::as_object).ok_or_else(bad)?;
    let attributes = match data.get("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err(bad()),
    };
    let text = |name: &str| -> Result<Option<String>, Error> {
        match attributes.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
            Some(_) => Err(Error::unprocessable(Problem::at_pointer(
                format!("{name} must be a string"),
                format!("/data/attributes/{name}"),
            ))),
        }
    };
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let url = match attributes.get("url") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => Some(text("url")?),
    };
    let xml = match text("xml")? {
        None => None,
        Some(encoded) => Some(decode_xml(&encoded)?),
    };
    let mut metadata = Map::new();
    for name in METADATA_PROPERTIES {
        if let Some(value) = attributes.get(*name) {
            check_shape(name, value)?;
            metadata.insert(name.to_string(), value.clone());
        }
    }
    drop_own_doi(&mut metadata);
    Ok(DoiInput {
        doi: text("doi")?.or(id),
        prefix: text("prefix")?,
        suffix: text("suffix")?,
        event: text("event")?,
        url,
        xml,
        metadata,
    })
}

/// DataCite JSON's shape of a metadata property, checked even for drafts: a draft may lack
/// properties, but one stored with the wrong shape would break every client reading it.
/// `null` is allowed everywhere (the property is shown empty).
fn check_shape(name: &str, value: &Value) -> Result<(), Error> {
    let all = |test: fn(&Value) -> bool| value.as_array().is_some_and(|items| items.iter().all(test));
    let (ok, expected) = match name {
        _ if value.is_null() => (true, ""),
        "formats" | "sizes" => (all(Value::is_string), "an array of strings"),
        list if LIST_PROPERTIES.contains(&list) => (all(Value::is_object), "an array of objects"),
        "types" => (value.is_object(), "an object"),
        "publisher" => (value.is_string() || value.is_object(), "a string or an object"),
        "publicationYear" => (value.is_string() || value.is_number(), "a number or a string"),
        _ => (value.is_string(), "a string"),
    };
    if ok {
        return Ok(());
    }
    Err(Error::unprocessable(Problem::at_property(
        format!("{name} must be {expected}"),
        name,
    )))
}

/// `xml` is Base64 (with or without padding, line breaks allowed); plain XML is taken as it is.
fn decode_xml(encoded: &str) -> Result<Vec<u8>, Error> {
    if encoded.starts_with('<') {
        return Ok(encoded.as_bytes().to_vec());
    }
    let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines
        .iter()
        .find_map(|engine| engine.decode(&compact).ok())
        .ok_or_else(|| Error::unprocessable(Problem::at_property("xml must be Base64-encoded XML", "xml")))
}

/// DataCite JSON lists the DOI itself among `identifiers`; it is the DOI, not an
/// alternate identifier, so it is not stored there.
fn drop_own_doi(metadata: &mut Map<String, Value>) {
    if let Some(Value::Array(list)) = metadata.get_mut("identifiers") {
        list.retain(|i| {
            !i.get("identifierType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("DOI"))
        });
    }
}

/// The core's changes for a parsed body: unknown events are 422, a `null` URL is "not sent"
/// (a DOI's URL can be replaced, not removed).
pub fn changes(input: DoiInput) -> Result<Changes, Error> {
    let event = match input.event.as_deref() {
        None => None,
        Some(name) => Some(Event::parse(&name.to_ascii_lowercase()).ok_or_else(|| {
            Error::unprocessable(Problem::at_pointer(
                format!("Event {name} is not valid: use register, publish, hide or show"),
                "/data/attributes/event",
            ))
        })?),
    };
    Ok(Changes {
        xml: input.xml,
        attributes: (!input.metadata.is_empty()).then_some(input.metadata),
        url: input.url.flatten(),
        event,
        record: None,
    })
}

/// Where a resource's metadata properties come from.
#[derive(Clone, Copy)]
pub enum Metadata<'a> {
    /// A parsed attributes map (just written).
    Parsed(Option<&'a Map<String, Value>>),
    /// The attributes JSON text as stored (`dbd::InRow`): a read splices its property
    /// values into the response as they are, without building them as `Value`s.
    Stored(Option<&'a [u8]>),
}

/// One member value of a resource as JSON text.
enum Piece<'a> {
    Text(Cow<'a, [u8]>),
    /// Written as a JSON string of its Base64 (whose alphabet needs no escaping).
    Base64(&'a [u8]),
}

/// The JSON text of each of `METADATA_PROPERTIES` (same positions) that `metadata` has
/// and is not `null`.
fn property_texts(metadata: Metadata<'_>) -> Result<Vec<Option<Cow<'_, [u8]>>>, Error> {
    let mut texts: Vec<Option<Cow<[u8]>>> = vec![None; METADATA_PROPERTIES.len()];
    match metadata {
        Metadata::Parsed(None) | Metadata::Stored(None) => {}
        Metadata::Parsed(Some(map)) => {
            for (text, name) in texts.iter_mut().zip(METADATA_PROPERTIES) {
                if let Some(v) = map.get(*name).filter(|v| !v.is_null()) {
                    *text = Some(Cow::Owned(v.to_string().into_bytes()));
                }
            }
        }
        Metadata::Stored(Some(stored)) => {
            let found = members::members(stored)
                .ok_or_else(|| Error::Internal("stored attributes are not a JSON object".into()))?;
            // A property name is never written escaped, so its raw key is the name; of
            // duplicate keys the last counts, as when parsed.
            for (key, value) in found {
                let at = METADATA_PROPERTIES.iter().position(|name| name.as_bytes() == key);
                if let Some(at) = at {
                    texts[at] = (value != b"null").then_some(Cow::Borrowed(value));
                }
            }
        }
    }
    Ok(texts)
}

fn string_text(s: &str) -> Cow<'static, [u8]> {
    Cow::Owned(Value::from(s).to_string().into_bytes())
}

fn optional_text(s: Option<&str>) -> Cow<'static, [u8]> {
    s.map_or(Cow::Borrowed(b"null"), string_text)
}

/// Appends the Base64 of `bytes` to `out` in place.
fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Error> {
    let engine = base64::engine::general_purpose::STANDARD;
    let len = base64::encoded_len(bytes.len(), true).ok_or_else(|| Error::Internal("XML too large".into()))?;
    let start = out.len();
    out.resize(start + len, 0);
    let written = engine
        .encode_slice(bytes, &mut out[start..])
        .map_err(|e| Error::Internal(format!("base64: {e}")))?;
    out.truncate(start + written);
    Ok(())
}

/// Writes `{"k":v,…}` with the keys in byte order, as a `serde_json::Map` (a BTreeMap)
/// would, so the text is the one `Value` serialisation gave.
fn write_object(out: &mut Vec<u8>, mut members: Vec<(&str, Piece)>) -> Result<(), Error> {
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (key, piece)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match piece {
            Piece::Text(text) => out.extend_from_slice(&text),
            Piece::Base64(bytes) => {
                out.push(b'"');
                push_base64(out, bytes)?;
                out.push(b'"');
            }
        }
    }
    out.push(b'}');
    Ok(())
}

/// Appends a `dois` resource object to `out`, `xml` being `d`'s record. `meta.updatedBy`
/// only when `for_owner`. Written as text so that a read copies the stored metadata once
/// instead of building and serialising a `Value` tree of it.
pub fn write_resource(
    out: &mut Vec<u8>,
    d: &Doi,
    xml: Option<&[u8]>,
    metadata: Metadata,
    for_owner: bool,
) -> Result<(), Error> {
    let texts = property_texts(metadata)?;
    let mut a: Vec<(&str, Piece)> = Vec::with_capacity(METADATA_PROPERTIES.len() + 12);
    a.push(("doi", Piece::Text(string_text(&d.doi))));
    a.push(("prefix", Piece::Text(string_text(doi::prefix_of(&d.doi)))));
    a.push(("suffix", Piece::Text(string_text(doi::suffix_of(&d.doi)))));
    for (name, text) in METADATA_PROPERTIES.iter().zip(texts) {
        let text = match text {
            Some(text) => text,
            None if LIST_PROPERTIES.contains(name) => Cow::Borrowed(&b"[]"[..]),
            None => Cow::Borrowed(&b"null"[..]),
        };
        a.push((name, Piece::Text(text)));
    }
    a.push((
        "xml",
        match xml {
            Some(x) => Piece::Base64(x),
            None => Piece::Text(Cow::Borrowed(b"null")),
        },
    ));
    a.push(("url", Piece::Text(optional_text(d.url.as_deref()))));
    a.push(("schemaVersion", Piece::Text(string_text(SCHEMA_VERSION))));
    a.push(("state", Piece::Text(string_text(d.state.as_str()))));
    let active: &[u8] = if d.state == State::Findable { b"true" } else { b"false" };
    a.push(("isActive", Piece::Text(Cow::Borrowed(active))));
    a.push(("created", Piece::Text(string_text(&rfc3339(d.created)))));
    let registered = d.registered.map(rfc3339);
    a.push(("registered", Piece::Text(optional_text(registered.as_deref()))));
    a.push(("updated", Piece::Text(string_text(&rfc3339(d.updated)))));
    // The resource's own keys in byte order, as in `write_object`.
    out.extend_from_slice(b"{\"attributes\":");
    write_object(out, a)?;
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(&string_text(&d.doi));
    if for_owner {
        out.extend_from_slice(b",\"meta\":");
        out.extend_from_slice(json!({"updatedBy": d.updated_by}).to_string().as_bytes());
    }
    out.extend_from_slice(b",\"relationships\":{\"client\":");
    out.extend_from_slice(
        json!({"data": {"id": d.client, "type": "clients"}})
            .to_string()
            .as_bytes(),
    );
    out.extend_from_slice(b"},\"type\":\"dois\"}");
    Ok(())
}

/// Room for a resource whose XML has `xml_len` bytes and attributes text `text_len`: the
/// document is written into one allocation, not grown through copies.
fn capacity(xml_len: usize, text_len: usize) -> usize {
    xml_len.div_ceil(3) * 4 + text_len + 2048
}

/// A JSON:API document whose `data` is one resource.
pub fn document(d: &Doi, xml: Option<&[u8]>, metadata: Metadata, for_owner: bool) -> Result<Vec<u8>, Error> {
    let text_len = match metadata {
        Metadata::Stored(text) => text.map_or(0, <[u8]>::len),
        // Serialised values are about as long as the stored text would be.
        Metadata::Parsed(_) => 0,
    };
    let mut out = Vec::with_capacity(capacity(xml.map_or(0, <[u8]>::len), text_len));
    out.extend_from_slice(b"{\"data\":");
    write_resource(&mut out, d, xml, metadata, for_owner)?;
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attributes_without_type() {
        let input = parse_input(
            br#"{"data":{"attributes":{"prefix":"10.5072","url":"https://e.org/1","titles":[{"title":"T"}],"foo":1}}}"#,
        )
        .unwrap();
        assert_eq!(input.prefix.as_deref(), Some("10.5072"));
        assert_eq!(input.url, Some(Some("https://e.org/1".into())));
        assert_eq!(input.metadata.len(), 1);
        assert_eq!(input.metadata["titles"][0]["title"], "T");
        assert_eq!(input.doi, None);
    }

    #[test]
    fn doi_from_id_and_null_url() {
        let input = parse_input(br#"{"data":{"id":"10.5072/X","type":"dois","attributes":{"url":null}}}"#).unwrap();
        assert_eq!(input.doi.as_deref(), Some("10.5072/X"));
        assert_eq!(input.url, Some(None));
        let input = parse_input(br#"{"data":{"id":"10.5072/X","attributes":{"doi":"10.5072/Y"}}}"#).unwrap();
        assert_eq!(input.doi.as_deref(), Some("10.5072/Y"));
    }

    #[test]
    fn malformed_bodies_are_400() {
        for body in [
            &b"not json"[..],
            b"{}",
            b"[]",
            br#"{"data":[]}"#,
            br#"{"data":{"attributes":[]}}"#,
        ] {
            match parse_input(body) {
                Err(Error::BadRequest(m)) => assert_eq!(m, NOT_JSON_API),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn xml_is_base64_or_plain() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("<resource/>");
        let body = json!({"data": {"attributes": {"xml": encoded}}}).to_string();
        assert_eq!(parse_input(body.as_bytes()).unwrap().xml, Some(b"<resource/>".to_vec()));
        let body = json!({"data": {"attributes": {"xml": "<resource/>"}}}).to_string();
        assert_eq!(parse_input(body.as_bytes()).unwrap().xml, Some(b"<resource/>".to_vec()));
        let body = json!({"data": {"attributes": {"xml": "***"}}}).to_string();
        assert!(matches!(parse_input(body.as_bytes()), Err(Error::Unprocessable(_))));
    }

    #[test]
    fn own_doi_is_not_an_alternate_identifier() {
        let body = json!({"data": {"attributes": {"identifiers": [
            {"identifier": "10.5072/x", "identifierType": "DOI"},
            {"identifier": "abc", "identifierType": "Local"}
        ]}}})
        .to_string();
        let input = parse_input(body.as_bytes()).unwrap();
        assert_eq!(
            input.metadata["identifiers"],
            json!([{"identifier": "abc", "identifierType": "Local"}])
        );
    }

    #[test]
    fn events_and_null_url() {
        let input = parse_input(br#"{"data":{"attributes":{"event":"Publish","url":null,"titles":[]}}}"#).unwrap();
        let c = changes(input).unwrap();
        assert_eq!(c.event, Some(Event::Publish));
        assert_eq!(c.url, None);
        assert!(c.attributes.is_some());
        let input = parse_input(br#"{"data":{"attributes":{"event":"destroy"}}}"#).unwrap();
        assert!(matches!(changes(input), Err(Error::Unprocessable(_))));
        let c = changes(parse_input(br#"{"data":{}}"#).unwrap()).unwrap();
        assert!(c.attributes.is_none() && c.event.is_none() && c.xml.is_none());
    }

    #[test]
    fn resource_shape() {
        let d = Doi {
            xml: Some(b"<x/>".to_vec()),
            updated_by: Some("password".into()),
            ..Doi::draft("10.5072/abc")
        };
        let resource = |for_owner| -> Value {
            let text = document(&d, d.xml.as_deref(), Metadata::Stored(None), for_owner).unwrap();
            serde_json::from_slice::<Value>(&text).unwrap()["data"].clone()
        };
        let r = resource(false);
        assert_eq!(r["id"], "10.5072/abc");
        assert_eq!(r["attributes"]["suffix"], "abc");
        assert_eq!(r["attributes"]["creators"], json!([]));
        assert_eq!(r["attributes"]["publisher"], Value::Null);
        assert_eq!(r["attributes"]["xml"], "PHgvPg==");
        assert_eq!(r["attributes"]["isActive"], false);
        assert_eq!(r["relationships"]["client"]["data"]["id"], "DEMO.REPO");
        assert!(r.get("meta").is_none());
        assert_eq!(resource(true)["meta"]["updatedBy"], "password");
    }

    /// The text a `Value` tree of the resource serialises to, as `resource` was built before
    /// it was written as text: the stored and the parsed paths must both give it exactly.
    fn as_value_tree(d: &Doi, metadata: &Map<String, Value>, for_owner: bool) -> String {
        let mut a = Map::new();
        a.insert("doi".into(), json!(d.doi));
        a.insert("prefix".into(), json!(doi::prefix_of(&d.doi)));
        a.insert("suffix".into(), json!(doi::suffix_of(&d.doi)));
        for name in METADATA_PROPERTIES {
            let value = match metadata.get(*name) {
                Some(v) if !v.is_null() => v.clone(),
                _ if LIST_PROPERTIES.contains(name) => json!([]),
                _ => Value::Null,
            };
            a.insert(name.to_string(), value);
        }
        let xml = d
            .xml
            .as_ref()
            .map(|x| base64::engine::general_purpose::STANDARD.encode(x));
        a.insert("xml".into(), json!(xml));
        a.insert("url".into(), json!(d.url));
        a.insert("schemaVersion".into(), json!(SCHEMA_VERSION));
        a.insert("state".into(), json!(d.state.as_str()));
        a.insert("isActive".into(), json!(d.state == State::Findable));
        a.insert("created".into(), json!(rfc3339(d.created)));
        a.insert("registered".into(), json!(d.registered.map(rfc3339)));
        a.insert("updated".into(), json!(rfc3339(d.updated)));
        let mut resource = json!({
            "id": d.doi,
            "type": "dois",
            "attributes": a,
            "relationships": {"client": {"data": {"id": d.client, "type": "clients"}}},
        });
        if for_owner {
            resource["meta"] = json!({"updatedBy": d.updated_by});
        }
        json!({ "data": resource }).to_string()
    }

    #[test]
    fn text_resource_is_the_value_tree_byte_for_byte() {
        let metadata = json!({
            "titles": [{"title": "Ünïcode \"quoted\" \\ title", "lang": "en"}],
            "creators": [{"name": "A", "nameIdentifiers": [], "affiliation": [{"name": "X"}]}],
            "publicationYear": "2024",
            "language": null,
            "subjects": null,
            "version": 1.5,
            "sizes": ["1 MB"],
            "notAProperty": {"ignored": true},
        });
        let metadata = metadata.as_object().unwrap().clone();
        let stored = Value::Object(metadata.clone()).to_string();
        let mut d = Doi {
            state: State::Findable,
            url: Some("https://example.org/?a=\"1\"".into()),
            xml: Some("<resource>é</resource>".as_bytes().to_vec()),
            created: 1_700_000_000,
            updated: 1_700_000_100,
            registered: Some(1_700_000_050),
            updated_by: Some("apiKey:k1".into()),
            ..Doi::draft("10.5072/a\"b")
        };
        for for_owner in [false, true] {
            let expected = as_value_tree(&d, &metadata, for_owner).into_bytes();
            assert_eq!(
                document(
                    &d,
                    d.xml.as_deref(),
                    Metadata::Stored(Some(stored.as_bytes())),
                    for_owner
                )
                .unwrap(),
                expected
            );
            assert_eq!(
                document(&d, d.xml.as_deref(), Metadata::Parsed(Some(&metadata)), for_owner).unwrap(),
                expected
            );
        }
        d.xml = None;
        d.url = None;
        d.registered = None;
        d.updated_by = None;
        let empty = Map::new();
        let expected = as_value_tree(&d, &empty, true).into_bytes();
        assert_eq!(
            document(&d, d.xml.as_deref(), Metadata::Stored(None), true).unwrap(),
            expected
        );
        assert_eq!(
            document(&d, d.xml.as_deref(), Metadata::Stored(Some(b"{}")), true).unwrap(),
            expected
        );
        assert_eq!(
            document(&d, d.xml.as_deref(), Metadata::Parsed(None), true).unwrap(),
            expected
        );
    }

    #[test]
    fn stored_attributes_that_are_not_an_object_are_an_internal_error() {
        let d = Doi::draft("10.5072/a");
        assert!(matches!(
            document(&d, d.xml.as_deref(), Metadata::Stored(Some(b"[1]")), false),
            Err(Error::Internal(_))
        ));
    }
}
