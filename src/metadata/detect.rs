//! Which metadata format an upload is in, by its content alone: poodle's
//! `find_from_format_by_string` (a copy of bolognese's), checked in the same order. The
//! one detector: MDS uploads and the readers of `formats` (`tinydoi convert`) both use it.

use serde_json::Value;

use super::parse;

/// The formats poodle recognises, named as bolognese names its readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Crossref,
    Datacite,
    SchemaOrg,
    Codemeta,
    DataciteJson,
    Crosscite,
    Citeproc,
    Ris,
    Bibtex,
}

impl Format {
    /// bolognese's name (`read_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Crossref => "crossref",
            Format::Datacite => "datacite",
            Format::SchemaOrg => "schema_org",
            Format::Codemeta => "codemeta",
            Format::DataciteJson => "datacite_json",
            Format::Crosscite => "crosscite",
            Format::Citeproc => "citeproc",
            Format::Ris => "ris",
            Format::Bibtex => "bibtex",
        }
    }
}

const KERNEL: &str = "http://datacite.org/schema/kernel";
const CODEMETA_CONTEXT: &str = "https://raw.githubusercontent.com/codemeta/codemeta/master/codemeta.jsonld";

/// The format of `body`, or `None` (MDS answers 415 `Metadata format not recognized`).
///
/// XML: Crossref when the root is `doi_records/doi_record/crossref`, DataCite when any
/// namespace declared in it starts with `http://datacite.org/schema/kernel` (so retired
/// kernels are recognised, and refused later with their own message). JSON: schema.org by
/// its `@context`, codemeta by its context URL, DataCite JSON by `schema-version`,
/// Crosscite by `types`, Citeproc by `issued.date-parts`; two additions only for JSON
/// poodle would misread (see `camel_datacite_json`). Then RIS (`TY  - `) and BibTeX
/// (an `@type{` entry).
pub fn detect(body: &[u8]) -> Option<Format> {
    if let Some(format) = xml_format(body) {
        return Some(format);
    }
    let text = std::str::from_utf8(body).ok()?;
    if let Ok(Value::Object(json)) = serde_json::from_str::<Value>(text) {
        return json_format(&json);
    }
    if text.starts_with("TY  - ") {
        return Some(Format::Ris);
    }
    is_bibtex(text).then_some(Format::Bibtex)
}

fn xml_format(body: &[u8]) -> Option<Format> {
    let text = parse::decode(body).ok()?;
    let Ok(doc) = parse::parse(&text) else {
        // libxml2 (Nokogiri) recovers from broken XML and still sees the namespace; so
        // does this, so that the upload is refused with the parser's message, not as
        // an unknown format.
        return declares_kernel(&text).then_some(Format::Datacite);
    };
    xml_format_of(&doc)
}

/// The format of a well-formed XML document: Crossref or DataCite (any kernel), or none.
pub(super) fn xml_format_of(doc: &roxmltree::Document<'_>) -> Option<Format> {
    let root = doc.root_element();
    let crossref = (root.tag_name().name() == "doi_records")
        .then(|| child(root, "doi_record"))
        .flatten()
        .and_then(|record| child(record, "crossref"));
    if crossref.is_some() {
        return Some(Format::Crossref);
    }
    doc.descendants()
        .any(|n| {
            n.namespaces()
                .any(|ns| ns.uri().starts_with("http://datacite.org/schema/kernel"))
        })
        .then_some(Format::Datacite)
}

fn declares_kernel(text: &str) -> bool {
    [
        "=\"http://datacite.org/schema/kernel",
        "='http://datacite.org/schema/kernel",
    ]
    .iter()
    .any(|needle| {
        text.match_indices(needle).any(|(at, _)| {
            text[..at].trim_end().ends_with(|c: char| c.is_alphanumeric()) && text[..at].contains("xmlns")
        })
    })
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

fn json_format(json: &serde_json::Map<String, Value>) -> Option<Format> {
    let text_of = |key: &str| json.get(key).and_then(Value::as_str).unwrap_or("");
    let context = text_of("@context");
    if context.starts_with("http://schema.org") || context.starts_with("https://schema.org") {
        Some(Format::SchemaOrg)
    } else if context == CODEMETA_CONTEXT {
        Some(Format::Codemeta)
    } else if text_of("schema-version").starts_with(KERNEL) || camel_datacite_json(json) {
        Some(Format::DataciteJson)
    } else if present(json.get("types")) {
        Some(Format::Crosscite)
    } else if present(json.get("issued").and_then(|i| i.get("date-parts"))) {
        Some(Format::Citeproc)
    } else {
        None
    }
}

/// Whether `key` is in `json` and not null (a weaker test than [`present`]).
fn given(json: &serde_json::Map<String, Value>, key: &str) -> bool {
    json.get(key).is_some_and(|v| !v.is_null())
}

/// tinydoi's own DataCite JSON (what `formats` writes) names its kernel as
/// `schemaVersion`, which poodle's rule does not look at; poodle would call it Crosscite
/// by its `types`. Read as DataCite JSON only when no Crosscite (snake_case) key is in it,
/// so both readers would give the same record and MDS uploads are unaffected.
fn camel_datacite_json(json: &serde_json::Map<String, Value>) -> bool {
    let schema = ["schemaVersion", "schema_version"]
        .iter()
        .find_map(|k| json.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    schema.starts_with(KERNEL)
        && ![
            "publication_year",
            "rights_list",
            "geo_locations",
            "funding_references",
            "related_identifiers",
            "related_items",
        ]
        .iter()
        .any(|k| given(json, k))
}

/// What bibtex-ruby parses into an entry: `@type{key,` (or `@type(`) after optional
/// whitespace and comment lines.
fn is_bibtex(text: &str) -> bool {
    let Some(at) = text.find('@') else {
        return false;
    };
    let rest = &text[at + 1..];
    let name_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    let name = &rest[..name_len];
    let after = rest[name_len..].trim_start();
    !name.is_empty()
        && !["comment", "preamble", "string"].contains(&name.to_ascii_lowercase().as_str())
        && (after.starts_with('{') || after.starts_with('('))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poodle_fixture_formats() {
        let cases: [(&str, Option<Format>); 10] = [
            (
                r#"<resource xmlns="http://datacite.org/schema/kernel-4"/>"#,
                Some(Format::Datacite),
            ),
            (
                r#"<ns0:resource xmlns:ns0="http://datacite.org/schema/kernel-3"/>"#,
                Some(Format::Datacite),
            ),
            (
                r#"<resource xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://datacite.org/schema/kernel-3 x"/>"#,
                None,
            ),
            (
                "<doi_records><doi_record><crossref/></doi_record></doi_records>",
                Some(Format::Crossref),
            ),
            (
                r#"{"@context": "http://schema.org", "@type": "Dataset"}"#,
                Some(Format::SchemaOrg),
            ),
            (
                r#"{"issued": {"date-parts": [[2016, 12, 20]]}, "title": "x"}"#,
                Some(Format::Citeproc),
            ),
            (r#"{"types": {"resourceTypeGeneral": "Text"}}"#, Some(Format::Crosscite)),
            (
                r#"{"schema-version": "http://datacite.org/schema/kernel-4"}"#,
                Some(Format::DataciteJson),
            ),
            ("TY  - JOUR\nER  - ", Some(Format::Ris)),
            ("@article{key, title={x}}", Some(Format::Bibtex)),
        ];
        for (body, format) in cases {
            assert_eq!(detect(body.as_bytes()), format, "{body}");
        }
        for body in [
            "",
            "doi=10.5072/abc",
            "<resource><unclosed></resource>",
            "[1]",
            r#"{"a": 1}"#,
        ] {
            assert_eq!(detect(body.as_bytes()), None, "{body}");
        }
        assert_eq!(
            detect(format!(r#"{{"@context": "{CODEMETA_CONTEXT}"}}"#).as_bytes()),
            Some(Format::Codemeta)
        );
    }

    #[test]
    fn tinydoi_additions_only_where_poodle_misreads_or_refuses() {
        let k4 = "http://datacite.org/schema/kernel-4";
        let camel = format!(r#"{{"schemaVersion": "{k4}", "types": {{"resourceTypeGeneral": "Text"}}}}"#);
        assert_eq!(detect(camel.as_bytes()), Some(Format::DataciteJson));
        let snake = format!(r#"{{"schemaVersion": "{k4}", "types": {{"a": 1}}, "rights_list": []}}"#);
        assert_eq!(detect(snake.as_bytes()), Some(Format::Crosscite));
        // What poodle refuses, MDS refuses too (only `tinydoi convert` reads it, in formats).
        let empty_types = r#"{"types": {}, "publication_year": "2011"}"#;
        assert_eq!(detect(empty_types.as_bytes()), None);
        assert_eq!(detect(br#"{"types": {}}"#), None);
    }
}
