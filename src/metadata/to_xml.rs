//! DataCite REST API attributes -> kernel-4 XML, the inverse of `to_json`.
//!
//! Lenient on input (strings or numbers, `schemeUri` or `schemeURI`, affiliation
//! as strings or objects, publisher as string or object) and never fails:
//! whatever is missing is simply left out, so a draft produces XML that the
//! validator then reports on.

use serde_json::{Map, Value};
use std::fmt::Write;

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // Keep attribute values' whitespace intact through attribute normalisation.
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A scalar as text: strings as they are, numbers and booleans printed.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first of `keys` present in `obj` as a scalar.
fn get(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| obj.get(*k).and_then(scalar))
}

/// A JSON value that should be a list; a single object or string counts as a one-item list.
fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
    fn open_tag(&mut self, name: &str, attrs: &[(&str, Option<String>)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            if let Some(v) = v {
                let _ = write!(self.out, " {k}=\"");
                escape(v, &mut self.out);
                self.out.push('"');
            }
        }
    }
    fn leaf(&mut self, name: &str, attrs: &[(&str, Option<String>)], text: &str) {
        self.open_tag(name, attrs);
        self.out.push('>');
        escape(text, &mut self.out);
        let _ = writeln!(self.out, "</{name}>");
    }
    fn leaf_opt(&mut self, name: &str, text: Option<String>) {
        if let Some(t) = text {
            self.leaf(name, &[], &t);
        }
    }
    fn start(&mut self, name: &str, attrs: &[(&str, Option<String>)]) {
        self.open_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }
    fn end(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }
    /// A wrapper element around `items`, left out entirely when there are none.
    fn wrapper<'v>(&mut self, name: &str, items: Vec<&'v Value>, mut each: impl FnMut(&mut Self, &'v Value)) {
        if items.is_empty() {
            return;
        }
        self.start(name, &[]);
        for item in items {
            each(self, item);
        }
        self.end(name);
    }
}

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

fn obj(v: &Value) -> &Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => EMPTY.get_or_init(Map::new),
    }
}

pub(crate) fn resource(doi: &str, a: &Map<String, Value>) -> String {
    let mut x = Xml {
        out: String::with_capacity(4096),
        depth: 0,
    };
    x.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.out.push_str(
        "<resource xmlns=\"http://datacite.org/schema/kernel-4\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://datacite.org/schema/kernel-4 \
         http://schema.datacite.org/meta/kernel-4/metadata.xsd\">\n",
    );
    x.depth = 1;
    x.leaf("identifier", &[("identifierType", Some("DOI".into()))], doi);
    x.wrapper("creators", list(a.get("creators")), |x, c| {
        person(x, c, "creator", "creatorName", true)
    });
    x.wrapper("titles", list(a.get("titles")), title);
    if let Some(p) = a.get("publisher") {
        publisher(&mut x, p);
    }
    x.leaf_opt("publicationYear", a.get("publicationYear").and_then(scalar));
    if let Some(t) = a.get("types").map(obj) {
        resource_type(&mut x, t);
    }
    x.wrapper("subjects", list(a.get("subjects")), subject);
    x.wrapper("contributors", list(a.get("contributors")), |x, c| {
        person(x, c, "contributor", "contributorName", true)
    });
    x.wrapper("dates", list(a.get("dates")), date);
    x.leaf_opt("language", a.get("language").and_then(scalar));
    x.wrapper("alternateIdentifiers", list(a.get("identifiers")), alternate_identifier);
    x.wrapper(
        "relatedIdentifiers",
        list(a.get("relatedIdentifiers")),
        related_identifier,
    );
    x.wrapper("sizes", list(a.get("sizes")), |x, s| {
        x.leaf("size", &[], &scalar(s).unwrap_or_default())
    });
    x.wrapper("formats", list(a.get("formats")), |x, s| {
        x.leaf("format", &[], &scalar(s).unwrap_or_default())
    });
    x.leaf_opt("version", a.get("version").and_then(scalar));
    x.wrapper("rightsList", list(a.get("rightsList")), rights);
    x.wrapper("descriptions", list(a.get("descriptions")), description);
    x.wrapper("geoLocations", list(a.get("geoLocations")), geo_location);
    x.wrapper("fundingReferences", list(a.get("fundingReferences")), funding_reference);
    x.wrapper("relatedItems", list(a.get("relatedItems")), related_item);
    x.out.push_str("</resource>\n");
    x.out
}

fn resource_type(x: &mut Xml, t: &Map<String, Value>) {
    let general = get(t, &["resourceTypeGeneral"]);
    let specific = get(t, &["resourceType"]).unwrap_or_default();
    x.leaf("resourceType", &[("resourceTypeGeneral", general)], &specific);
}

fn subject(x: &mut Xml, s: &Value) {
    let (text, o) = text_or(s, "subject");
    x.leaf(
        "subject",
        &[
            ("subjectScheme", get(o, &["subjectScheme"])),
            ("schemeURI", get(o, &["schemeUri", "schemeURI"])),
            ("valueURI", get(o, &["valueUri", "valueURI"])),
            ("classificationCode", get(o, &["classificationCode"])),
            ("xml:lang", get(o, &["lang"])),
        ],
        &text,
    );
}

fn date(x: &mut Xml, d: &Value) {
    let d = obj(d);
    x.leaf(
        "date",
        &[
            ("dateType", get(d, &["dateType"])),
            ("dateInformation", get(d, &["dateInformation"])),
        ],
        &get(d, &["date"]).unwrap_or_default(),
    );
}

fn alternate_identifier(x: &mut Xml, i: &Value) {
    let i = obj(i);
    // bolognese writes the type unconditionally: Nokogiri's builder makes a missing one `""`.
    let kind = get(i, &["identifierType", "alternateIdentifierType"]).unwrap_or_default();
    x.leaf(
        "alternateIdentifier",
        &[("alternateIdentifierType", Some(kind))],
        &get(i, &["identifier", "alternateIdentifier"]).unwrap_or_default(),
    );
}

fn related_identifier(x: &mut Xml, r: &Value) {
    let r = obj(r);
    x.leaf(
        "relatedIdentifier",
        &[
            ("relatedIdentifierType", get(r, &["relatedIdentifierType"])),
            ("relationType", get(r, &["relationType"])),
            ("relationTypeInformation", get(r, &["relationTypeInformation"])),
            ("resourceTypeGeneral", get(r, &["resourceTypeGeneral"])),
            ("relatedMetadataScheme", get(r, &["relatedMetadataScheme"])),
            ("schemeURI", get(r, &["schemeUri", "schemeURI"])),
            ("schemeType", get(r, &["schemeType"])),
        ],
        &get(r, &["relatedIdentifier"]).unwrap_or_default(),
    );
}

fn rights(x: &mut Xml, r: &Value) {
    let (text, o) = text_or(r, "rights");
    x.leaf(
        "rights",
        &[
            ("rightsURI", get(o, &["rightsUri", "rightsURI"])),
            ("rightsIdentifier", get(o, &["rightsIdentifier"])),
            ("rightsIdentifierScheme", get(o, &["rightsIdentifierScheme"])),
            ("schemeURI", get(o, &["schemeUri", "schemeURI"])),
            ("xml:lang", get(o, &["lang"])),
        ],
        &text,
    );
}

/// Items that DataCite allows as a bare string or as an object with the text under `key`.
fn text_or<'v>(v: &'v Value, key: &str) -> (String, &'v Map<String, Value>) {
    match v {
        Value::Object(o) => (get(o, &[key]).unwrap_or_default(), o),
        other => (scalar(other).unwrap_or_default(), obj(other)),
    }
}

fn person(x: &mut Xml, v: &Value, elem: &str, name_elem: &str, full: bool) {
    let (name, p) = text_or(v, "name");
    let given = get(p, &["givenName"]);
    let family = get(p, &["familyName"]);
    let name = match (name.is_empty(), &family, &given) {
        (true, Some(f), Some(g)) => format!("{f}, {g}"),
        (true, Some(f), None) => f.clone(),
        _ => name,
    };
    x.start(elem, &[("contributorType", get(p, &["contributorType"]))]);
    x.leaf(
        name_elem,
        &[("nameType", get(p, &["nameType"])), ("xml:lang", get(p, &["lang"]))],
        &name,
    );
    x.leaf_opt("givenName", given);
    x.leaf_opt("familyName", family);
    if full {
        for id in list(p.get("nameIdentifiers")) {
            let (text, o) = text_or(id, "nameIdentifier");
            x.leaf(
                "nameIdentifier",
                &[
                    ("nameIdentifierScheme", get(o, &["nameIdentifierScheme"])),
                    ("schemeURI", get(o, &["schemeUri", "schemeURI"])),
                ],
                &text,
            );
        }
        for aff in list(p.get("affiliation")) {
            let (text, o) = text_or(aff, "name");
            x.leaf(
                "affiliation",
                &[
                    ("affiliationIdentifier", get(o, &["affiliationIdentifier"])),
                    ("affiliationIdentifierScheme", get(o, &["affiliationIdentifierScheme"])),
                    ("schemeURI", get(o, &["schemeUri", "schemeURI"])),
                ],
                &text,
            );
        }
    }
    x.end(elem);
}

fn title(x: &mut Xml, v: &Value) {
    let (text, o) = text_or(v, "title");
    x.leaf(
        "title",
        &[("titleType", get(o, &["titleType"])), ("xml:lang", get(o, &["lang"]))],
        &text,
    );
}

fn publisher(x: &mut Xml, v: &Value) {
    let (text, o) = text_or(v, "name");
    x.leaf(
        "publisher",
        &[
            ("publisherIdentifier", get(o, &["publisherIdentifier"])),
            ("publisherIdentifierScheme", get(o, &["publisherIdentifierScheme"])),
            ("schemeURI", get(o, &["schemeUri", "schemeURI"])),
            ("xml:lang", get(o, &["lang"])),
        ],
        &text,
    );
}

fn description(x: &mut Xml, v: &Value) {
    let (text, o) = text_or(v, "description");
    // bolognese's `insert_descriptions`: a description without a type is an abstract.
    let kind = get(o, &["descriptionType"]).or_else(|| Some("Abstract".to_string()));
    x.open_tag(
        "description",
        &[("descriptionType", kind), ("xml:lang", get(o, &["lang"]))],
    );
    x.out.push('>');
    // The `<br>` marker written by to_json (and the usual spellings of it) becomes a real <br/>.
    let normalised = text.replace("<br/>", "<br>").replace("<br />", "<br>");
    for (i, part) in normalised.split("<br>").enumerate() {
        if i > 0 {
            x.out.push_str("<br/>");
        }
        escape(part, &mut x.out);
    }
    x.out.push_str("</description>\n");
}

fn point(x: &mut Xml, name: &str, v: &Value) {
    let p = obj(v);
    x.start(name, &[]);
    x.leaf_opt("pointLongitude", get(p, &["pointLongitude"]));
    x.leaf_opt("pointLatitude", get(p, &["pointLatitude"]));
    x.end(name);
}

fn polygon(x: &mut Xml, points: &[Value]) {
    x.start("geoLocationPolygon", &[]);
    for pt in points {
        let pt = obj(pt);
        if let Some(p) = pt.get("polygonPoint") {
            point(x, "polygonPoint", p);
        }
        if let Some(p) = pt.get("inPolygonPoint") {
            point(x, "inPolygonPoint", p);
        }
    }
    x.end("geoLocationPolygon");
}

fn geo_location(x: &mut Xml, v: &Value) {
    let g = obj(v);
    x.start("geoLocation", &[]);
    x.leaf_opt("geoLocationPlace", get(g, &["geoLocationPlace"]));
    if let Some(p) = g.get("geoLocationPoint") {
        point(x, "geoLocationPoint", p);
    }
    if let Some(b) = g.get("geoLocationBox").map(obj) {
        x.start("geoLocationBox", &[]);
        for key in [
            "westBoundLongitude",
            "eastBoundLongitude",
            "southBoundLatitude",
            "northBoundLatitude",
        ] {
            x.leaf_opt(key, get(b, &[key]));
        }
        x.end("geoLocationBox");
    }
    if let Some(Value::Array(poly)) = g.get("geoLocationPolygon") {
        if poly.iter().all(|p| matches!(p, Value::Array(_))) {
            for p in poly {
                if let Value::Array(points) = p {
                    polygon(x, points);
                }
            }
        } else {
            polygon(x, poly);
        }
    }
    x.end("geoLocation");
}

fn funding_reference(x: &mut Xml, v: &Value) {
    let f = obj(v);
    x.start("fundingReference", &[]);
    x.leaf_opt("funderName", get(f, &["funderName"]));
    if let Some(id) = get(f, &["funderIdentifier"]) {
        x.leaf(
            "funderIdentifier",
            &[
                ("funderIdentifierType", get(f, &["funderIdentifierType"])),
                ("schemeURI", get(f, &["schemeUri", "schemeURI"])),
            ],
            &id,
        );
    }
    if let Some(n) = get(f, &["awardNumber"]) {
        x.leaf("awardNumber", &[("awardURI", get(f, &["awardUri", "awardURI"]))], &n);
    }
    x.leaf_opt("awardTitle", get(f, &["awardTitle"]));
    x.end("fundingReference");
}

fn related_item(x: &mut Xml, v: &Value) {
    let r = obj(v);
    x.start(
        "relatedItem",
        &[
            ("relatedItemType", get(r, &["relatedItemType"])),
            ("relationType", get(r, &["relationType"])),
            ("relationTypeInformation", get(r, &["relationTypeInformation"])),
        ],
    );
    if let Some(id) = r.get("relatedItemIdentifier") {
        let (text, o) = text_or(id, "relatedItemIdentifier");
        x.leaf(
            "relatedItemIdentifier",
            &[
                ("relatedItemIdentifierType", get(o, &["relatedItemIdentifierType"])),
                ("relatedMetadataScheme", get(o, &["relatedMetadataScheme"])),
                ("schemeURI", get(o, &["schemeURI", "schemeUri"])),
                ("schemeType", get(o, &["schemeType"])),
            ],
            &text,
        );
    }
    x.wrapper("creators", list(r.get("creators")), |x, c| {
        person(x, c, "creator", "creatorName", false)
    });
    x.wrapper("titles", list(r.get("titles")), title);
    x.leaf_opt("publicationYear", r.get("publicationYear").and_then(scalar));
    x.leaf_opt("volume", get(r, &["volume"]));
    x.leaf_opt("issue", get(r, &["issue"]));
    if let Some(n) = get(r, &["number"]) {
        x.leaf("number", &[("numberType", get(r, &["numberType"]))], &n);
    }
    x.leaf_opt("firstPage", get(r, &["firstPage"]));
    x.leaf_opt("lastPage", get(r, &["lastPage"]));
    x.leaf_opt("publisher", get(r, &["publisher"]));
    x.leaf_opt("edition", get(r, &["edition"]));
    x.wrapper("contributors", list(r.get("contributors")), |x, c| {
        person(x, c, "contributor", "contributorName", false)
    });
    x.end("relatedItem");
}

#[cfg(test)]
mod tests {
    use super::resource;
    use serde_json::json;

    #[test]
    fn escapes_and_accepts_lenient_shapes() {
        let attrs = json!({
            "titles": "Fish & <Chips>",
            "publisher": "P \"Q\"",
            "publicationYear": 2021,
            "types": {"resourceTypeGeneral": "Text"},
            "creators": [{"name": "A", "affiliation": "Some Uni"}],
            "descriptions": [{"description": "one<br/>two", "descriptionType": "Abstract"}],
            "geoLocations": [{"geoLocationPoint": {"pointLongitude": -67.302, "pointLatitude": "31.2"}}],
        });
        let xml = resource("10.5072/a&b", attrs.as_object().unwrap());
        assert!(xml.contains("<identifier identifierType=\"DOI\">10.5072/a&amp;b</identifier>"));
        assert!(xml.contains("<title>Fish &amp; &lt;Chips&gt;</title>"));
        assert!(xml.contains("<publisher>P &quot;Q&quot;</publisher>"));
        assert!(xml.contains("<publicationYear>2021</publicationYear>"));
        assert!(xml.contains("<affiliation>Some Uni</affiliation>"));
        assert!(xml.contains(">one<br/>two</description>"));
        assert!(xml.contains("<pointLongitude>-67.302</pointLongitude>"));
        assert!(super::super::validate(xml.as_bytes()).is_ok(), "{xml}");
    }

    #[test]
    fn garbage_attributes_never_panic() {
        for v in [json!(null), json!(1), json!("x"), json!([1, [2]]), json!({"a": {}})] {
            let mut m = serde_json::Map::new();
            for k in [
                "creators",
                "titles",
                "publisher",
                "types",
                "geoLocations",
                "relatedItems",
                "fundingReferences",
                "descriptions",
            ] {
                m.insert(k.into(), v.clone());
            }
            let _ = resource("", &m);
        }
    }
}
