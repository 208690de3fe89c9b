//! kernel-4 XML tree -> DataCite REST API attributes (`creators`, `titles`, `types`, …).
//!
//! Shapes follow DataCite's REST API: list properties are always present (empty
//! arrays when the record has none), absent scalars are `null`. Text is trimmed.
//! Choices where DataCite has more than one form:
//! - `affiliation` items are objects (`name`, `affiliationIdentifier`, …), DataCite's
//!   `affiliation=true` form, so identifiers survive the round trip;
//! - `publisher` is a string, or an object when the XML has attributes;
//! - a single `geoLocationPolygon` is a flat list of `{"polygonPoint": …}` /
//!   `{"inPolygonPoint": …}` items, several polygons a list of such lists;
//! - coordinates are JSON numbers when that keeps their text, strings otherwise;
//! - a `<br/>` inside a description becomes the marker `<br>`, which the other
//!   direction turns back into `<br/>`.

use super::parse::{deep_text_of, text_of};
use super::KERNEL4_NS;
use roxmltree::Node;
use serde_json::{json, Map, Number, Value};

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn child<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> Option<Node<'a, 'i>> {
    children(node, name).next()
}

/// Items of a wrapper element, e.g. all `creator` inside `creators`.
fn items<'a, 'i: 'a>(node: Node<'a, 'i>, wrapper: &'a str, item: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    children(node, wrapper).flat_map(move |w| children(w, item))
}

fn text(node: Node<'_, '_>) -> String {
    text_of(node).trim().to_string()
}

fn any_text(node: Node<'_, '_>) -> String {
    deep_text_of(node).trim().to_string()
}

struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Self {
        Obj(Map::new())
    }
    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_string(), value.into());
        self
    }
    fn opt(mut self, key: &str, value: Option<String>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.to_string(), Value::String(v));
        }
        self
    }
    fn attr(self, key: &str, node: Node<'_, '_>, attr: &str) -> Self {
        self.opt(key, node.attribute(attr).map(str::to_string))
    }
    fn lang(self, node: Node<'_, '_>) -> Self {
        self.opt("lang", node.attribute((XML_NS, "lang")).map(str::to_string))
    }
    fn child_text(self, key: &str, node: Node<'_, '_>, name: &str) -> Self {
        self.opt(key, child(node, name).map(any_text))
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

pub(crate) fn resource(root: Node<'_, '_>) -> Map<String, Value> {
    let list = |wrapper: &str, item: &str, f: fn(Node<'_, '_>) -> Value| -> Value {
        items(root, wrapper, item).map(f).collect()
    };
    let one = |name: &str, f: fn(Node<'_, '_>) -> Value| child(root, name).map_or(Value::Null, f);
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    put("creators", list("creators", "creator", creator));
    put("titles", list("titles", "title", title));
    put("publisher", one("publisher", publisher));
    put("publicationYear", one("publicationYear", |n| year(&text(n))));
    put("types", one("resourceType", types));
    put("subjects", list("subjects", "subject", subject));
    put("contributors", list("contributors", "contributor", contributor));
    put("dates", list("dates", "date", date));
    put("language", one("language", plain_text));
    put(
        "identifiers",
        list("alternateIdentifiers", "alternateIdentifier", alternate_identifier),
    );
    put(
        "relatedIdentifiers",
        list("relatedIdentifiers", "relatedIdentifier", related_identifier),
    );
    put("relatedItems", list("relatedItems", "relatedItem", related_item));
    put("sizes", list("sizes", "size", plain_text));
    put("formats", list("formats", "format", plain_text));
    put("version", one("version", plain_text));
    put("rightsList", list("rightsList", "rights", rights));
    put("descriptions", list("descriptions", "description", description));
    put("geoLocations", list("geoLocations", "geoLocation", geo_location));
    put(
        "fundingReferences",
        list("fundingReferences", "fundingReference", funding_reference),
    );
    put("schemaVersion", Value::String(KERNEL4_NS.to_string()));
    out
}

fn plain_text(n: Node<'_, '_>) -> Value {
    Value::String(text(n))
}

fn creator(n: Node<'_, '_>) -> Value {
    person(n, "creatorName", true)
}

fn contributor(n: Node<'_, '_>) -> Value {
    person(n, "contributorName", true)
}

fn alternate_identifier(n: Node<'_, '_>) -> Value {
    Obj::new()
        .set("identifier", text(n))
        .attr("identifierType", n, "alternateIdentifierType")
        .done()
}

/// A creator or contributor. `full` adds nameIdentifiers and affiliation, which
/// only the record's own creators/contributors have (not a relatedItem's).
fn person(node: Node<'_, '_>, name_elem: &str, full: bool) -> Value {
    let name = child(node, name_elem);
    let mut o = Obj::new()
        .set("name", name.map(text).unwrap_or_default())
        .opt(
            "nameType",
            name.and_then(|n| n.attribute("nameType")).map(str::to_string),
        )
        .opt(
            "lang",
            name.and_then(|n| n.attribute((XML_NS, "lang"))).map(str::to_string),
        )
        .child_text("givenName", node, "givenName")
        .child_text("familyName", node, "familyName");
    if full {
        let ids: Vec<Value> = children(node, "nameIdentifier")
            .map(|n| {
                Obj::new()
                    .set("nameIdentifier", any_text(n))
                    .attr("nameIdentifierScheme", n, "nameIdentifierScheme")
                    .attr("schemeUri", n, "schemeURI")
                    .done()
            })
            .collect();
        let affs: Vec<Value> = children(node, "affiliation")
            .map(|n| {
                Obj::new()
                    .set("name", any_text(n))
                    .attr("affiliationIdentifier", n, "affiliationIdentifier")
                    .attr("affiliationIdentifierScheme", n, "affiliationIdentifierScheme")
                    .attr("schemeUri", n, "schemeURI")
                    .done()
            })
            .collect();
        o = o.set("nameIdentifiers", ids).set("affiliation", affs);
    }
    o.attr("contributorType", node, "contributorType").done()
}

/// A title with its whitespace runs squished to one space, as bolognese reads titles.
fn title(n: Node<'_, '_>) -> Value {
    let squished = text(n).split_whitespace().collect::<Vec<_>>().join(" ");
    Obj::new()
        .set("title", squished)
        .attr("titleType", n, "titleType")
        .lang(n)
        .done()
}

/// A plain string, as DataCite returns it, unless the XML carries attributes
/// that a string would lose; then the object form.
fn publisher(n: Node<'_, '_>) -> Value {
    if n.attributes().len() == 0 {
        return Value::String(text(n));
    }
    Obj::new()
        .set("name", text(n))
        .attr("publisherIdentifier", n, "publisherIdentifier")
        .attr("publisherIdentifierScheme", n, "publisherIdentifierScheme")
        .attr("schemeUri", n, "schemeURI")
        .lang(n)
        .done()
}

/// A number as DataCite returns it, unless that would change the text (e.g. "0999").
fn year(t: &str) -> Value {
    match t.parse::<u64>() {
        Ok(y) if y.to_string() == t => Value::Number(y.into()),
        _ => Value::String(t.to_string()),
    }
}

fn types(n: Node<'_, '_>) -> Value {
    let rt = text(n);
    Obj::new()
        .attr("resourceTypeGeneral", n, "resourceTypeGeneral")
        .opt("resourceType", (!rt.is_empty()).then_some(rt))
        .done()
}

fn subject(n: Node<'_, '_>) -> Value {
    Obj::new()
        .set("subject", text(n))
        .attr("subjectScheme", n, "subjectScheme")
        .attr("schemeUri", n, "schemeURI")
        .attr("valueUri", n, "valueURI")
        .attr("classificationCode", n, "classificationCode")
        .lang(n)
        .done()
}

fn date(n: Node<'_, '_>) -> Value {
    Obj::new()
        .set("date", text(n))
        .attr("dateType", n, "dateType")
        .attr("dateInformation", n, "dateInformation")
        .done()
}

fn related_identifier(n: Node<'_, '_>) -> Value {
    Obj::new()
        .set("relatedIdentifier", text(n))
        .attr("relatedIdentifierType", n, "relatedIdentifierType")
        .attr("relationType", n, "relationType")
        .attr("relationTypeInformation", n, "relationTypeInformation")
        .attr("resourceTypeGeneral", n, "resourceTypeGeneral")
        .attr("relatedMetadataScheme", n, "relatedMetadataScheme")
        .attr("schemeUri", n, "schemeURI")
        .attr("schemeType", n, "schemeType")
        .done()
}

fn related_item(n: Node<'_, '_>) -> Value {
    let mut o = Obj::new()
        .attr("relatedItemType", n, "relatedItemType")
        .attr("relationType", n, "relationType")
        .attr("relationTypeInformation", n, "relationTypeInformation");
    if let Some(id) = child(n, "relatedItemIdentifier") {
        let id = Obj::new()
            .set("relatedItemIdentifier", text(id))
            .attr("relatedItemIdentifierType", id, "relatedItemIdentifierType")
            .attr("relatedMetadataScheme", id, "relatedMetadataScheme")
            .attr("schemeURI", id, "schemeURI")
            .attr("schemeType", id, "schemeType")
            .done();
        o = o.set("relatedItemIdentifier", id);
    }
    let creators: Vec<Value> = items(n, "creators", "creator")
        .map(|c| person(c, "creatorName", false))
        .collect();
    let titles: Vec<Value> = items(n, "titles", "title").map(title).collect();
    o = o.set("creators", creators).set("titles", titles);
    // DataCite gives a related item's year as a string (unlike the record's own).
    if let Some(y) = child(n, "publicationYear") {
        o = o.set("publicationYear", text(y));
    }
    o = o.child_text("volume", n, "volume").child_text("issue", n, "issue");
    if let Some(num) = child(n, "number") {
        o = o.set("number", text(num)).attr("numberType", num, "numberType");
    }
    o = o
        .child_text("firstPage", n, "firstPage")
        .child_text("lastPage", n, "lastPage")
        .child_text("publisher", n, "publisher")
        .child_text("edition", n, "edition");
    let contributors: Vec<Value> = items(n, "contributors", "contributor")
        .map(|c| person(c, "contributorName", false))
        .collect();
    o.set("contributors", contributors).done()
}

fn rights(n: Node<'_, '_>) -> Value {
    Obj::new()
        .set("rights", text(n))
        .attr("rightsUri", n, "rightsURI")
        .attr("rightsIdentifier", n, "rightsIdentifier")
        .attr("rightsIdentifierScheme", n, "rightsIdentifierScheme")
        .attr("schemeUri", n, "schemeURI")
        .lang(n)
        .done()
}

fn description(n: Node<'_, '_>) -> Value {
    let mut s = String::new();
    for c in n.children() {
        if c.is_text() {
            s.push_str(c.text().unwrap_or_default());
        } else if c.is_element() && c.tag_name().name() == "br" {
            s.push_str("<br>");
        }
    }
    Obj::new()
        .set("description", s.trim())
        .attr("descriptionType", n, "descriptionType")
        .lang(n)
        .done()
}

/// Coordinates as JSON numbers when they are plain numbers, else the text as given.
fn coordinate(t: String) -> Value {
    if let Ok(i) = t.parse::<i64>() {
        if i.to_string() == t {
            return Value::Number(i.into());
        }
    }
    match t.parse::<f64>().ok().and_then(Number::from_f64) {
        Some(n) if n.to_string() == t => Value::Number(n),
        _ => Value::String(t),
    }
}

fn point(n: Node<'_, '_>) -> Value {
    let mut o = Map::new();
    for key in ["pointLongitude", "pointLatitude"] {
        if let Some(c) = child(n, key) {
            o.insert(key.to_string(), coordinate(text(c)));
        }
    }
    Value::Object(o)
}

fn geo_location(n: Node<'_, '_>) -> Value {
    let mut o = Obj::new().child_text("geoLocationPlace", n, "geoLocationPlace");
    if let Some(p) = child(n, "geoLocationPoint") {
        o = o.set("geoLocationPoint", point(p));
    }
    if let Some(b) = child(n, "geoLocationBox") {
        let mut bx = Map::new();
        for key in [
            "westBoundLongitude",
            "eastBoundLongitude",
            "southBoundLatitude",
            "northBoundLatitude",
        ] {
            if let Some(c) = child(b, key) {
                bx.insert(key.to_string(), coordinate(text(c)));
            }
        }
        o = o.set("geoLocationBox", Value::Object(bx));
    }
    let polygons: Vec<Value> = children(n, "geoLocationPolygon")
        .map(|poly| {
            poly.children()
                .filter(|c| c.is_element())
                .map(|c| json!({ c.tag_name().name(): point(c) }))
                .collect()
        })
        .collect();
    // DataCite's shape for the usual single polygon is a flat list of points;
    // several polygons become a list of such lists.
    match polygons.len() {
        0 => {}
        1 => o = o.set("geoLocationPolygon", polygons.into_iter().next().unwrap_or_default()),
        _ => o = o.set("geoLocationPolygon", polygons),
    }
    o.done()
}

fn funding_reference(n: Node<'_, '_>) -> Value {
    let mut o = Obj::new().child_text("funderName", n, "funderName");
    if let Some(id) = child(n, "funderIdentifier") {
        o = o
            .set("funderIdentifier", text(id))
            .attr("funderIdentifierType", id, "funderIdentifierType")
            .attr("schemeUri", id, "schemeURI");
    }
    if let Some(a) = child(n, "awardNumber") {
        o = o.set("awardNumber", text(a)).attr("awardUri", a, "awardURI");
    }
    o.child_text("awardTitle", n, "awardTitle").done()
}

#[cfg(test)]
mod tests {
    use super::{coordinate, year};
    use serde_json::{json, Value};

    #[test]
    fn numbers_only_when_lossless() {
        assert_eq!(year("2020"), json!(2020));
        assert_eq!(year("0999"), json!("0999"));
        assert_eq!(year(" 2020x"), json!(" 2020x"));
        assert_eq!(coordinate("-67.302".into()), json!(-67.302));
        assert_eq!(coordinate("-71".into()), json!(-71));
        assert_eq!(coordinate("1e2".into()), Value::String("1e2".into()));
        assert_eq!(coordinate("+5".into()), Value::String("+5".into()));
    }
}
