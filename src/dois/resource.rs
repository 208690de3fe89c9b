//! `dois` resources as lupo's `DataciteDoiSerializer` writes them: every attribute lupo
//! always shows, `xml`/`prefix`/`suffix`/`alternateIdentifiers` and the relationship
//! lists only in detail (one DOI, or `?detail=true`), `publisher` a name unless
//! `?publisher=true`, affiliations names unless `?affiliation=true`.
//!
//! Written as text: a read splices the stored attributes text and the `derived` text
//! (computed once at write time by [`derived_text`]) instead of building a `Value` tree.

use base64::Engine;
use serde_json::{Map, Value};
use std::borrow::Cow;

use super::json::{LIST_PROPERTIES, METADATA_PROPERTIES, SCHEMA_VERSION};
use super::{doi, members, Doi, State};
use crate::error::Error;
use crate::time::rfc3339;

/// What a request asks of the resources it gets (lupo's serializer `params`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    /// `?publisher=true`: the publisher object, not its name.
    pub publisher: bool,
    /// `?affiliation=true`: affiliation objects, not their names.
    pub affiliation: bool,
    /// One DOI (show, create, update) or `?detail=true`: `xml`, `prefix`, `suffix`,
    /// `alternateIdentifiers`, `…OverTime` and the relationship lists.
    pub detail: bool,
    /// Whether the caller owns the DOI (`meta.updatedBy`, `landingPage`).
    pub for_owner: bool,
}

/// Where a resource's metadata properties come from.
#[derive(Clone, Copy)]
pub enum Metadata<'a> {
    /// A parsed attributes map (just written, or listed).
    Parsed(Option<&'a Map<String, Value>>),
    /// The attributes JSON text as stored and the `derived` text beside it (`None` for a
    /// row written before it existed: then derived from the attributes here).
    Stored {
        attributes: Option<&'a [u8]>,
        derived: Option<&'a [u8]>,
        /// `members::index` of each, stored with them (`None`: scanned here).
        attributes_index: Option<&'a [u8]>,
        derived_index: Option<&'a [u8]>,
    },
}

/// The members [`derived`] may hold.
const DERIVED: &[&str] = &[
    "published",
    "publisher",
    "creators",
    "contributors",
    "source",
    "container",
    "contentUrl",
    "metadataVersion",
    "landingPage",
];

/// What a read shows that is derived from the attributes: `published` (the `Issued` date,
/// else the publication year), `source` (`api` by default) and, when they differ from the stored ones, the default
/// views of `publisher` (its name) and of `creators`/`contributors` (affiliation names).
pub fn derived(attributes: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let issued = attributes
        .get("dates")
        .and_then(Value::as_array)
        .and_then(|dates| {
            dates.iter().find(|d| {
                d.get("dateType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("issued"))
            })
        })
        .and_then(|d| d.get("date"))
        .and_then(Value::as_str);
    let published = match (issued, attributes.get("publicationYear")) {
        (Some(date), _) => date.to_string(),
        (None, Some(Value::Number(n))) => n.to_string(),
        (None, Some(Value::String(s))) => s.clone(),
        _ => String::new(),
    };
    out.insert("published".into(), Value::String(published));
    // lupo's `set_defaults`: `api` unless the writer named a source.
    let source = attributes.get("source").and_then(Value::as_str).unwrap_or("api");
    out.insert("source".into(), Value::from(source));
    out.insert("container".into(), container(attributes));
    for kept in ["contentUrl", "metadataVersion", "landingPage"] {
        if let Some(v) = attributes.get(kept).filter(|v| !v.is_null()) {
            out.insert(kept.into(), v.clone());
        }
    }
    if let Some(Value::Object(p)) = attributes.get("publisher") {
        out.insert("publisher".into(), p.get("name").cloned().unwrap_or(Value::Null));
    }
    for name in ["creators", "contributors"] {
        if let Some(Value::Array(people)) = attributes.get(name) {
            let named = |a: &Value| a.is_object();
            if people.iter().any(|p| {
                p.get("affiliation")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(named))
            }) {
                out.insert(
                    name.into(),
                    Value::Array(people.iter().map(with_affiliation_names).collect()),
                );
            }
        }
    }
    out
}

/// bolognese's `generate_container`: the `IsPublishedIn` related item, else the
/// `SeriesInformation` description (with the `IsPartOf` related identifier); `{}` if none.
fn container(attributes: &Map<String, Value>) -> Value {
    // Borrowed: a write derives this for every DOI it stores (issue 20).
    let list = |name: &str| -> &[Value] {
        attributes
            .get(name)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let dataset = attributes
        .get("types")
        .and_then(|t| t.get("resourceTypeGeneral"))
        .and_then(Value::as_str)
        == Some("Dataset");
    let kind = if dataset { "DataRepository" } else { "Series" };
    let mut out = Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.insert(k.into(), Value::String(v));
        }
    };
    let has = |item: &Value, key: &str, value: &str| item.get(key).and_then(Value::as_str) == Some(value);
    if let Some(item) = list("relatedItems")
        .iter()
        .find(|i| has(i, "relationType", "IsPublishedIn"))
    {
        put("type", Some(kind.into()));
        put(
            "identifier",
            text(item.pointer("/relatedItemIdentifier/relatedItemIdentifier")),
        );
        put(
            "identifierType",
            text(item.pointer("/relatedItemIdentifier/relatedItemIdentifierType")),
        );
        let title = item.pointer("/titles/0");
        put(
            "title",
            text(title.and_then(|t| t.get("title"))).or_else(|| text(title)),
        );
        for k in ["volume", "issue", "edition", "number", "firstPage", "lastPage"] {
            put(k, text(item.get(k)));
        }
        if has(item, "numberType", "Chapter") {
            put("chapterNumber", text(item.get("number")));
        }
        return Value::Object(out);
    }
    let series = list("descriptions")
        .iter()
        .find(|d| has(d, "descriptionType", "SeriesInformation"))
        .and_then(|d| text(d.get("description")));
    let Some(series) = series.filter(|s| !s.trim().is_empty()) else {
        return Value::Object(out);
    };
    // bolognese's `get_series_information`: "title, volume(issue), first-last".
    let parts: Vec<&str> = series.split(',').map(str::trim).collect();
    let part_of = list("relatedIdentifiers")
        .iter()
        .find(|r| has(r, "relationType", "IsPartOf"));
    put("type", Some(kind.into()));
    put("identifier", part_of.and_then(|r| text(r.get("relatedIdentifier"))));
    put(
        "identifierType",
        part_of.and_then(|r| text(r.get("relatedIdentifierType"))),
    );
    put("title", parts.first().map(|t| t.to_string()));
    if parts.len() > 2 {
        let (volume, issue) = match parts[1].split_once('(') {
            Some((v, rest)) => (v, rest.trim_end_matches(')')),
            None => (parts[1], ""),
        };
        put("volume", Some(volume.to_string()).filter(|v| !v.is_empty()));
        put("issue", Some(issue.to_string()).filter(|i| !i.is_empty()));
    }
    if parts.len() > 1 {
        let mut pages = parts[parts.len() - 1].split('-').map(str::trim);
        put("firstPage", pages.next().map(str::to_string));
        put("lastPage", pages.next().map(str::to_string));
    }
    Value::Object(out)
}

/// A person with `affiliation` as names, as lupo shows it by default.
fn with_affiliation_names(person: &Value) -> Value {
    let Value::Object(fields) = person else {
        return person.clone();
    };
    // Field by field, so that the affiliation objects are never copied only to be dropped.
    let fields = fields.iter().map(|(k, v)| {
        let v = match v {
            Value::Array(affiliations) if k == "affiliation" => Value::Array(
                affiliations
                    .iter()
                    .filter_map(|a| match a {
                        Value::Object(o) => o.get("name").filter(|n| !n.is_null()).cloned(),
                        Value::Null => None,
                        other => Some(other.clone()),
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        (k.clone(), v)
    });
    Value::Object(fields.collect())
}

/// [`derived`] as the JSON text stored in `dois.derived`, with its `members::index`.
pub fn derived_text(attributes: &Map<String, Value>) -> (String, Option<Vec<u8>>) {
    members::written(&derived(attributes))
}

/// One member value of a resource as JSON text.
enum Piece<'a> {
    Text(Cow<'a, [u8]>),
    /// Written as a JSON string of its Base64 (whose alphabet needs no escaping).
    Base64(&'a [u8]),
    /// Base64 text already encoded, written as a JSON string as it is.
    Quoted(&'a [u8]),
}

/// A DOI's XML record as a resource shows it (Base64 in `xml`).
#[derive(Debug, Clone, Copy)]
pub enum Xml<'a> {
    /// The record itself: encoded while writing.
    Plain(&'a [u8]),
    /// Its standard Base64, as builds between migration 7 and issue 20's fifth pass stored
    /// it beside the record (`dois.xml_base64`): copied.
    Encoded(&'a [u8]),
}

impl Xml<'_> {
    /// The length of its Base64.
    fn encoded_len(self) -> usize {
        match self {
            Xml::Plain(bytes) => bytes.len().div_ceil(3) * 4,
            Xml::Encoded(text) => text.len(),
        }
    }
}

type Texts<'a> = Vec<Option<Cow<'a, [u8]>>>;

fn position(name: &[u8]) -> Option<usize> {
    METADATA_PROPERTIES.iter().position(|n| n.as_bytes() == name)
}

/// The JSON text of each of `METADATA_PROPERTIES` (same positions) that `metadata` has
/// and is not `null`, and the texts of its derived members (`DERIVED` positions).
fn property_texts(metadata: Metadata<'_>) -> Result<(Texts<'_>, Texts<'_>), Error> {
    let mut texts: Texts = vec![None; METADATA_PROPERTIES.len()];
    let mut derived_texts: Texts = vec![None; DERIVED.len()];
    let owned = |map: &Map<String, Value>, names: &[&str], into: &mut Texts| {
        for (text, name) in into.iter_mut().zip(names) {
            if let Some(v) = map.get(*name).filter(|v| !v.is_null()) {
                *text = Some(Cow::Owned(v.to_string().into_bytes()));
            }
        }
    };
    match metadata {
        Metadata::Parsed(map) => {
            let empty = Map::new();
            let map = map.unwrap_or(&empty);
            owned(map, METADATA_PROPERTIES, &mut texts);
            owned(&derived(map), DERIVED, &mut derived_texts);
        }
        Metadata::Stored {
            attributes,
            derived: stored,
            attributes_index,
            derived_index,
        } => {
            let bad = || Error::Internal("stored attributes are not a JSON object".into());
            // The ranges stored at write time when they fit the text, else a scan.
            let split = |text, index: Option<&[u8]>| {
                index
                    .and_then(|index| members::from_index(text, index))
                    .or_else(|| members::members(text))
                    .ok_or_else(bad)
            };
            if let Some(text) = attributes {
                // A property name is never written escaped, so its raw key is the name; of
                // duplicate keys the last counts, as when parsed.
                for (key, value) in split(text, attributes_index)? {
                    if let Some(at) = position(key) {
                        texts[at] = (value != b"null").then_some(Cow::Borrowed(value));
                    }
                }
            }
            match stored {
                Some(text) => {
                    for (key, value) in split(text, derived_index)? {
                        if let Some(at) = DERIVED.iter().position(|n| n.as_bytes() == key) {
                            derived_texts[at] = Some(Cow::Borrowed(value));
                        }
                    }
                }
                None => {
                    let map: Map<String, Value> = match attributes {
                        Some(text) => serde_json::from_slice(text).map_err(|_| bad())?,
                        None => Map::new(),
                    };
                    owned(&derived(&map), DERIVED, &mut derived_texts);
                }
            }
        }
    }
    Ok((texts, derived_texts))
}

fn string_text(s: &str) -> Cow<'static, [u8]> {
    Cow::Owned(Value::from(s).to_string().into_bytes())
}

fn optional_text(s: Option<&str>) -> Cow<'static, [u8]> {
    s.map_or(Cow::Borrowed(b"null"), string_text)
}

fn constant(text: &'static [u8]) -> Piece<'static> {
    Piece::Text(Cow::Borrowed(text))
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
///
/// The keys are `'static`, so the same keys at the same addresses are the same texts:
/// each thread remembers the order it sorted its last few key sequences into and reuses
/// it when an object has exactly the same keys (a read's resource always does), which
/// saves sorting ~80 names per read.
fn write_object(out: &mut Vec<u8>, members: Vec<(&'static str, Piece)>) -> Result<(), Error> {
    type Keys = Vec<(usize, usize)>;
    thread_local! {
        static SORTED: std::cell::RefCell<Vec<(Keys, Vec<usize>)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let keys: Keys = members
        .iter()
        .map(|(key, _)| (key.as_ptr() as usize, key.len()))
        .collect();
    let order = SORTED.with(|sorted| {
        let mut sorted = sorted.borrow_mut();
        if let Some((_, order)) = sorted.iter().find(|(k, _)| *k == keys) {
            return order.clone();
        }
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_unstable_by(|&a, &b| members[a].0.cmp(members[b].0));
        // A few shapes (a resource's attributes, its relationships, each view): keep 8.
        if sorted.len() == 8 {
            sorted.remove(0);
        }
        sorted.push((keys, order.clone()));
        order
    });
    out.push(b'{');
    for (i, (key, piece)) in order.into_iter().map(|at| &members[at]).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match piece {
            Piece::Text(text) => out.extend_from_slice(text),
            Piece::Base64(bytes) => {
                out.push(b'"');
                push_base64(out, bytes)?;
                out.push(b'"');
            }
            Piece::Quoted(text) => {
                out.push(b'"');
                out.extend_from_slice(text);
                out.push(b'"');
            }
        }
    }
    out.push(b'}');
    Ok(())
}

/// Counts lupo takes from event data, which tinydoi does not have: always 0.
const COUNTS: &[&str] = &[
    "citationCount",
    "downloadCount",
    "partCount",
    "partOfCount",
    "referenceCount",
    "versionCount",
    "versionOfCount",
    "viewCount",
];

/// The metadata attributes, with the derived members and `view` applied.
fn metadata_pieces<'a>(
    a: &mut Vec<(&'static str, Piece<'a>)>,
    metadata: Metadata<'a>,
    view: View,
) -> Result<(), Error> {
    let (texts, derived) = property_texts(metadata)?;
    let [published, publisher, creators, contributors, source, container, content_url, version, landing_page]: [Option<
        Cow<[u8]>,
    >;
        9] = derived
        .try_into()
        .map_err(|_| Error::Internal("derived members".into()))?;
    for (name, text) in METADATA_PROPERTIES.iter().zip(texts) {
        let text = match (*name, text) {
            ("publisher", _) if !view.publisher && publisher.is_some() => publisher.clone(),
            ("publisher", Some(t)) if view.publisher && t.first() == Some(&b'"') => {
                Some(Cow::Owned([&b"{\"name\":"[..], &t, b"}"].concat()))
            }
            ("creators", t) if !view.affiliation => creators.clone().or(t),
            ("contributors", t) if !view.affiliation => contributors.clone().or(t),
            (_, t) => t,
        };
        let text = match text {
            Some(text) => text,
            None if LIST_PROPERTIES.contains(name) => Cow::Borrowed(&b"[]"[..]),
            None if *name == "types" => Cow::Borrowed(&b"{}"[..]),
            None => Cow::Borrowed(&b"null"[..]),
        };
        if view.detail && *name == "identifiers" {
            a.push(("alternateIdentifiers", Piece::Text(alternate_identifiers(&text))));
        }
        a.push((name, Piece::Text(text)));
    }
    a.push(("published", Piece::Text(published.unwrap_or(Cow::Borrowed(b"\"\"")))));
    a.push(("source", Piece::Text(source.unwrap_or(Cow::Borrowed(b"\"api\"")))));
    a.push(("container", Piece::Text(container.unwrap_or(Cow::Borrowed(b"{}")))));
    a.push(("contentUrl", Piece::Text(content_url.unwrap_or(Cow::Borrowed(b"null")))));
    a.push(("metadataVersion", Piece::Text(version.unwrap_or(Cow::Borrowed(b"0")))));
    if view.for_owner {
        a.push((
            "landingPage",
            Piece::Text(landing_page.unwrap_or(Cow::Borrowed(b"null"))),
        ));
    }
    Ok(())
}

/// lupo's detail-only `alternateIdentifiers`: `identifiers` in the kernel-3 names.
fn alternate_identifiers(identifiers: &[u8]) -> Cow<'static, [u8]> {
    let list: Vec<Value> = serde_json::from_slice::<Vec<Value>>(identifiers)
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            serde_json::json!({
                "alternateIdentifier": i.get("identifier"),
                "alternateIdentifierType": i.get("identifierType"),
            })
        })
        .collect();
    Cow::Owned(Value::Array(list).to_string().into_bytes())
}

/// Appends a `dois` resource object to `out`, `xml` being `d`'s record and `provider`
/// its client's provider (shown in detail). `media`: the ids of lupo's `media`
/// relationship, shown for one DOI in detail (`None` in lists, as lupo's `is_collection`).
pub fn write_resource(
    out: &mut Vec<u8>,
    d: &Doi,
    xml: Option<Xml>,
    metadata: Metadata,
    view: View,
    provider: Option<&str>,
    media: Option<&[String]>,
) -> Result<(), Error> {
    let mut a: Vec<(&str, Piece)> = Vec::with_capacity(METADATA_PROPERTIES.len() + 40);
    a.push(("doi", Piece::Text(string_text(&d.doi))));
    metadata_pieces(&mut a, metadata, view)?;
    if view.detail {
        a.push(("prefix", Piece::Text(string_text(doi::prefix_of(&d.doi)))));
        a.push(("suffix", Piece::Text(string_text(doi::suffix_of(&d.doi)))));
        let xml = match xml {
            None => constant(b"null"),
            Some(Xml::Plain(bytes)) => Piece::Base64(bytes),
            Some(Xml::Encoded(text)) => Piece::Quoted(text),
        };
        a.push(("xml", xml));
        for over_time in ["citationsOverTime", "downloadsOverTime", "viewsOverTime"] {
            a.push((over_time, constant(b"[]")));
        }
    }
    for count in COUNTS {
        a.push((count, constant(b"0")));
    }
    a.push(("reason", constant(b"null")));
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
    if view.for_owner {
        out.extend_from_slice(b",\"meta\":");
        out.extend_from_slice(serde_json::json!({"updatedBy": d.updated_by}).to_string().as_bytes());
    }
    out.extend_from_slice(b",\"relationships\":");
    write_relationships(out, d, view, provider, media)?;
    out.extend_from_slice(b",\"type\":\"dois\"}");
    Ok(())
}

/// lupo's relationships: the client (its id lower case, as lupo writes ids), and in
/// detail the provider and the event-data lists tinydoi keeps empty.
fn write_relationships(
    out: &mut Vec<u8>,
    d: &Doi,
    view: View,
    provider: Option<&str>,
    media: Option<&[String]>,
) -> Result<(), Error> {
    let one = |id: &str, kind: &str| -> Cow<'static, [u8]> {
        Cow::Owned(
            serde_json::json!({"data": {"id": id.to_ascii_lowercase(), "type": kind}})
                .to_string()
                .into_bytes(),
        )
    };
    let mut r: Vec<(&str, Piece)> = vec![("client", Piece::Text(one(&d.client, "clients")))];
    if view.detail {
        if let Some(provider) = provider {
            r.push(("provider", Piece::Text(one(provider, "providers"))));
        }
        for list in ["citations", "partOf", "parts", "references", "versionOf", "versions"] {
            r.push((list, constant(b"{\"data\":[]}")));
        }
        if let Some(ids) = media {
            let data: Vec<Value> = ids
                .iter()
                .map(|id| serde_json::json!({"id": id, "type": "media"}))
                .collect();
            let text = serde_json::json!({ "data": data }).to_string().into_bytes();
            r.push(("media", Piece::Text(Cow::Owned(text))));
        }
    }
    write_object(out, r)
}

/// Room for a resource whose XML's Base64 has `base64_len` bytes and attributes text `text_len`: the
/// document is written into one allocation, not grown through copies.
fn capacity(base64_len: usize, text_len: usize) -> usize {
    base64_len + text_len + 3072
}

/// A JSON:API document whose `data` is one resource (`media`: see [`write_resource`]).
pub fn document(
    d: &Doi,
    xml: Option<Xml>,
    metadata: Metadata,
    view: View,
    provider: Option<&str>,
    media: Option<&[String]>,
) -> Result<Vec<u8>, Error> {
    let text_len = match metadata {
        Metadata::Stored {
            attributes, derived, ..
        } => attributes.map_or(0, <[u8]>::len) + derived.map_or(0, <[u8]>::len),
        // Serialised values are about as long as the stored text would be.
        Metadata::Parsed(_) => 0,
    };
    let mut out = Vec::with_capacity(capacity(xml.map_or(0, Xml::encoded_len), text_len));
    out.extend_from_slice(b"{\"data\":");
    write_resource(&mut out, d, xml, metadata, view, provider, media)?;
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(keys: &[&'static str]) -> String {
        let mut out = Vec::new();
        let members = keys.iter().map(|k| (*k, constant(b"0"))).collect();
        write_object(&mut out, members).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The remembered order is only reused for the very same keys in the same places.
    #[test]
    fn objects_are_sorted_whatever_came_before() {
        assert_eq!(object(&["b", "a", "c"]), r#"{"a":0,"b":0,"c":0}"#);
        assert_eq!(object(&["b", "a", "c"]), r#"{"a":0,"b":0,"c":0}"#);
        assert_eq!(object(&["c", "a", "b"]), r#"{"a":0,"b":0,"c":0}"#);
        assert_eq!(object(&["x", "a", "b"]), r#"{"a":0,"b":0,"x":0}"#);
        assert_eq!(object(&["a", "b"]), r#"{"a":0,"b":0}"#);
        // Shapes taking turns, as a resource's attributes and relationships do.
        for _ in 0..3 {
            assert_eq!(object(&["b", "a"]), r#"{"a":0,"b":0}"#);
            assert_eq!(object(&["c", "b", "a"]), r#"{"a":0,"b":0,"c":0}"#);
        }
    }
    use serde_json::json;

    fn doi() -> Doi {
        Doi {
            doi: "10.5072/a\"b".into(),
            client: "DEMO.REPO".into(),
            prefix: "10.5072".into(),
            state: State::Findable,
            url: Some("https://example.org/".into()),
            xml: Some(b"<x/>".to_vec()),
            attributes: None,
            created: 1_700_000_000,
            updated: 1_700_000_100,
            registered: Some(1_700_000_050),
            updated_by: Some("apiKey:k1".into()),
        }
    }

    fn metadata() -> Map<String, Value> {
        json!({
            "titles": [{"title": "Ünïcode \"quoted\" \\ title"}],
            "creators": [{"name": "A", "nameIdentifiers": [], "affiliation": [{"name": "X", "affiliationIdentifier": "https://ror.org/05bp8ka05"}]}],
            "publisher": {"name": "P", "lang": "en"},
            "publicationYear": 2024,
            "dates": [{"date": "2024-05-01", "dateType": "Issued"}],
            "identifiers": [{"identifier": "abc", "identifierType": "Local"}],
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn render(metadata: Metadata, view: View) -> Value {
        serde_json::from_slice(
            &document(&doi(), Some(Xml::Plain(b"<x/>")), metadata, view, Some("DEMO"), None).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn stored_with_or_without_derived_text_reads_as_parsed() {
        let m = metadata();
        let stored = serde_json::to_string(&m).unwrap();
        let (derived, _) = derived_text(&m);
        for view in [
            View::default(),
            View {
                publisher: true,
                affiliation: true,
                detail: true,
                for_owner: true,
            },
        ] {
            let parsed = render(Metadata::Parsed(Some(&m)), view);
            let with = Metadata::Stored {
                attributes: Some(stored.as_bytes()),
                derived: Some(derived.as_bytes()),
                attributes_index: None,
                derived_index: None,
            };
            let without = Metadata::Stored {
                attributes: Some(stored.as_bytes()),
                derived: None,
                attributes_index: None,
                derived_index: None,
            };
            let (attributes_index, derived_index) = (
                members::index(stored.as_bytes()).unwrap(),
                members::index(derived.as_bytes()).unwrap(),
            );
            let indexed = Metadata::Stored {
                attributes: Some(stored.as_bytes()),
                derived: Some(derived.as_bytes()),
                attributes_index: Some(&attributes_index),
                derived_index: Some(&derived_index),
            };
            assert_eq!(render(with, view), parsed);
            assert_eq!(render(without, view), parsed);
            assert_eq!(render(indexed, view), parsed);
        }
    }

    #[test]
    fn lupo_default_and_detail_views() {
        let m = metadata();
        let r = render(Metadata::Parsed(Some(&m)), View::default());
        let a = &r["data"]["attributes"];
        assert_eq!(a["publisher"], "P");
        assert_eq!(a["creators"][0]["affiliation"], json!(["X"]));
        assert_eq!(a["published"], "2024-05-01");
        assert_eq!(a["types"], json!({}));
        assert_eq!(a["viewCount"], 0);
        assert!(a.get("xml").is_none() && a.get("prefix").is_none() && a.get("landingPage").is_none());
        assert_eq!(
            r["data"]["relationships"],
            json!({"client": {"data": {"id": "demo.repo", "type": "clients"}}})
        );
        let full = View {
            publisher: true,
            affiliation: true,
            detail: true,
            for_owner: false,
        };
        let r = render(Metadata::Parsed(Some(&m)), full);
        let a = &r["data"]["attributes"];
        assert_eq!(a["publisher"], json!({"name": "P", "lang": "en"}));
        assert_eq!(a["creators"][0]["affiliation"][0]["name"], "X");
        assert_eq!(a["xml"], "PHgvPg==");
        assert_eq!(a["suffix"], "a\"b");
        assert_eq!(
            a["alternateIdentifiers"],
            json!([{"alternateIdentifier": "abc", "alternateIdentifierType": "Local"}])
        );
        assert_eq!(r["data"]["relationships"]["provider"]["data"]["id"], "demo");
        assert_eq!(r["data"]["relationships"]["versions"], json!({"data": []}));
        let mut plain = m.clone();
        plain.insert("publisher".into(), json!("S"));
        let r = render(Metadata::Parsed(Some(&plain)), full);
        assert_eq!(r["data"]["attributes"]["publisher"], json!({"name": "S"}));
    }
}
