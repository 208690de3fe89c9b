//! JSON:API for REST DOIs (CONTRACT §7): reading a request's `data.attributes` and building
//! `dois` resources the way DataCite's REST API shows them.

use base64::Engine;
use serde_json::{Map, Value};

use super::{Changes, Event};
use crate::error::{Error, Problem};

pub const NOT_JSON_API: &str = "You need to provide a payload following the JSONAPI spec";

/// The DataCite JSON properties that carry metadata (CONTRACT §6); they are what `xml`
/// is derived from, and what `dois.attributes` stores.
pub const METADATA_PROPERTIES: &[&str] = crate::metadata::PROPERTIES;

/// List properties shown as `[]` (not `null`) when a DOI has none, as DataCite does.
pub const LIST_PROPERTIES: &[&str] = &[
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
    pub source: Option<String>,
    /// `Some(None)`: sent as `null`.
    pub url: Option<Option<String>>,
    /// Decoded `xml`.
    pub xml: Option<Vec<u8>>,
    /// The metadata properties sent, as sent.
    pub metadata: Map<String, Value>,
    /// `contentUrl` as sent (`Some(Null)`: sent as `null`).
    pub content_url: Option<Value>,
    /// `landingPage` (lupo's link-check results, an object) as sent.
    pub landing_page: Option<Value>,
    /// lupo's `mode` attribute: `transfer` moves the DOI to `client` and changes nothing else.
    pub mode: Option<String>,
    /// `data.relationships.client.data.id`: the client a transfer moves the DOI to.
    pub client: Option<String>,
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
    // lupo's `uid` of a shape problem: the DOI of the request (the path's on update).
    let uid = text("doi")?.or_else(|| id.clone()).map(|d| d.to_ascii_lowercase());
    let mut metadata = Map::new();
    for name in METADATA_PROPERTIES {
        if let Some(value) = attributes.get(*name) {
            check_shape(name, value).map_err(|e| with_uid(e, uid.as_deref()))?;
            metadata.insert(name.to_string(), value.clone());
        }
    }
    if xml.is_some() {
        // lupo merges `attributes[name] || xml[name]`: a null sent beside XML keeps the XML's.
        metadata.retain(|_, v| !v.is_null());
    }
    if !metadata.contains_key("identifiers") {
        match attributes.get("alternateIdentifiers") {
            Some(Value::Array(alternates)) => {
                metadata.insert(
                    "identifiers".into(),
                    Value::Array(alternates.iter().map(from_alternate).collect()),
                );
            }
            // lupo's `alternate_identifiers=` with nil empties `identifiers`, unless XML
            // sent beside it gives them.
            Some(Value::Null) if xml.is_none() => {
                metadata.insert("identifiers".into(), Value::Null);
            }
            _ => {}
        }
    }
    drop_own_doi(&mut metadata);
    let client = data
        .get("relationships")
        .and_then(|r| r.pointer("/client/data/id"))
        .and_then(Value::as_str)
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    let content_url = match attributes.get("contentUrl") {
        Some(Value::String(u)) => Some(Value::Array(vec![Value::String(u.clone())])),
        Some(v @ (Value::Array(_) | Value::Null)) if v.as_array().is_none_or(|a| a.iter().all(Value::is_string)) => {
            Some(v.clone())
        }
        None => None,
        Some(_) => {
            return Err(Error::unprocessable(Problem::at_property(
                "contentUrl must be an array of strings",
                "contentUrl",
            )))
        }
    };
    let landing_page = match attributes.get("landingPage") {
        None => None,
        Some(v @ (Value::Object(_) | Value::Null)) => Some(v.clone()),
        // lupo's `check_landing_page`.
        Some(other) => {
            let shown = other.as_str().map_or_else(|| other.to_string(), str::to_string);
            let problem = Problem::at_property(
                format!("Landing page '{shown}' should be an object instead of a string."),
                "landingPage",
            );
            return Err(with_uid(Error::unprocessable(problem), uid.as_deref()));
        }
    };
    Ok(DoiInput {
        content_url,
        landing_page,
        mode: text("mode")?,
        client,
        doi: text("doi")?.or(id),
        prefix: text("prefix")?,
        suffix: text("suffix")?,
        event: text("event")?,
        source: text("source")?,
        url,
        xml,
        metadata,
    })
}

/// `e`'s problems with `uid` (when they have none), as lupo's `serialize_errors` adds it.
pub fn with_uid(e: Error, uid: Option<&str>) -> Error {
    match (e, uid) {
        (Error::Unprocessable(problems), Some(uid)) => Error::Unprocessable(
            problems
                .into_iter()
                .map(|p| Problem {
                    uid: p.uid.or_else(|| Some(uid.to_string())),
                    ..p
                })
                .collect(),
        ),
        (e, _) => e,
    }
}

/// lupo's `check_<list>` validators: the noun of its message for an item that is no object.
fn item_noun(name: &str) -> Option<&'static str> {
    Some(match name {
        "titles" => "Title",
        "descriptions" => "Description",
        "subjects" => "Subject",
        "creators" => "Creator",
        "contributors" => "Contributor",
        "dates" => "Date",
        "identifiers" => "Identifier",
        "relatedIdentifiers" => "Related identifier",
        "relatedItems" => "Related item",
        "fundingReferences" => "Funding reference",
        "geoLocations" => "Geolocation",
        _ => return None,
    })
}

/// DataCite JSON's shape of a metadata property, checked even for drafts: a draft may lack
/// properties, but one stored with the wrong shape would break every client reading it.
/// `null` is allowed everywhere (the property is shown empty). A list item that is no
/// object is refused in lupo's words (`Title '…' should be an object instead of a string.`).
fn check_shape(name: &str, value: &Value) -> Result<(), Error> {
    if let Some(noun) = item_noun(name) {
        let items = value.as_array().map_or_else(|| vec![value], |a| a.iter().collect());
        if let Some(bad) = items.into_iter().find(|v| !v.is_object() && !v.is_null()) {
            let shown = bad.as_str().map_or_else(|| bad.to_string(), str::to_string);
            return Err(Error::unprocessable(Problem::at_property(
                format!("{noun} '{shown}' should be an object instead of a string."),
                name,
            )));
        }
    }
    // A single item stands for a list of one, as lupo's `Array.wrap` takes it.
    let all = |test: fn(&Value) -> bool| value.as_array().map_or(test(value), |items| items.iter().all(test));
    let (ok, expected) = match name {
        _ if value.is_null() => (true, ""),
        "formats" | "sizes" => (all(Value::is_string), "an array of strings"),
        "rightsList" => (all(|v| v.is_object() || v.is_string()), "an array of objects"),
        list if LIST_PROPERTIES.contains(&list) => (all(Value::is_object), "an array of objects"),
        "types" => (value.is_object(), "an object"),
        "publisher" => (value.is_string() || value.is_object(), "a string or an object"),
        "publicationYear" | "version" => (value.is_string() || value.is_number(), "a number or a string"),
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

/// The legacy `alternateIdentifiers` item (`alternateIdentifier`,
/// `alternateIdentifierType`) as an `identifiers` item.
fn from_alternate(item: &Value) -> Value {
    let mut out = Map::new();
    for (from, to) in [
        ("alternateIdentifier", "identifier"),
        ("alternateIdentifierType", "identifierType"),
    ] {
        if let Some(v) = item.get(from).or_else(|| item.get(to)) {
            out.insert(to.into(), v.clone());
        }
    }
    Value::Object(out)
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

/// The core's changes for a parsed body: an event lupo does not know is ignored, as its
/// `event=` setter ignores it; a `null` URL is "not sent" (a DOI's URL can be replaced,
/// not removed).
pub fn changes(input: DoiInput) -> Result<Changes, Error> {
    let event = input
        .event
        .as_deref()
        .and_then(|name| Event::parse(&name.to_ascii_lowercase()));
    Ok(Changes {
        xml: input.xml,
        attributes: (!input.metadata.is_empty()).then_some(input.metadata),
        url: input.url.flatten(),
        source: input.source,
        content_url: input.content_url,
        landing_page: input.landing_page,
        event,
        record: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(changes(input).unwrap().event, None);
        let c = changes(parse_input(br#"{"data":{}}"#).unwrap()).unwrap();
        assert!(c.attributes.is_none() && c.event.is_none() && c.xml.is_none());
    }
}
