//! DataCite Metadata Schema kernel-4: validation and XML <-> JSON conversion (pure code, no HTTP).
//!
//! The validator is written by hand for kernel-4 (4.7) and is checked against
//! `xmllint --schema` by the differential test in `tests/it/metadata_mutations.rs`.
//! Every entry point parses with hard limits first (see `parse.rs`), so hostile
//! input is refused as [`MetadataError::NotXml`] before any real work happens.

mod detect;
mod identifier;
mod normalise;
mod parse;
mod schema;
mod simple;
mod to_json;
mod to_xml;
pub mod types;
mod validate;

use serde_json::{Map, Value};
use std::fmt;

pub use detect::{detect, Format};
pub use identifier::{identifier_of, with_identifier};
pub use normalise::{language, normalise, orcid, ror};
pub use parse::{MAX_DEPTH, MAX_XML_BYTES};
// The guarded parser (size, depth, node count, no DOCTYPE) for the other XML readers
// (`formats`' Crossref reader), so that no XML is parsed without its limits.
pub(crate) use parse::{deep_text_of as deep_text_of_node, parse as parse_guarded, text_of as text_of_node};

/// The namespace every accepted record must use.
pub const KERNEL4_NS: &str = "http://datacite.org/schema/kernel-4";

/// The DataCite JSON (REST attributes) properties that carry kernel-4 metadata: what
/// `to_xml` turns into a record and `to_json` reads out of one.
pub const PROPERTIES: &[&str] = &[
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

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataError {
    /// Empty, not XML, not well-formed, or hostile (too big, too deep, DTD). MDS answers 415.
    NotXml(String),
    /// A retired DataCite namespace, e.g. `Schema http://datacite.org/schema/kernel-3 is no longer supported`.
    UnsupportedSchema(String),
    /// Schema violations against kernel-4. MDS/REST answer 422.
    Invalid(Vec<Problem>),
}

/// One schema violation, phrased like libxml2 (and therefore like DataCite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// e.g. "Missing child element(s). Expected is ( creator )."
    pub message: String,
    /// 1-based line of the element the problem belongs to.
    pub line: Option<u32>,
    /// The DataCite JSON property the problem belongs to ("creators", "types", …).
    pub property: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} at line {}", self.message, line),
            None => f.write_str(&self.message),
        }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::NotXml(m) | MetadataError::UnsupportedSchema(m) => f.write_str(m),
            MetadataError::Invalid(problems) => {
                let parts: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

impl std::error::Error for MetadataError {}

impl MetadataError {
    /// Messages in DataCite's MDS form: `DOI 10.5072/abc: <message> at line 4`.
    pub fn messages(&self, doi: &str) -> Vec<String> {
        let prefix = |m: String| {
            if doi.is_empty() {
                m
            } else {
                format!("DOI {doi}: {m}")
            }
        };
        match self {
            MetadataError::NotXml(m) | MetadataError::UnsupportedSchema(m) => {
                vec![prefix(m.clone())]
            }
            MetadataError::Invalid(problems) => problems.iter().map(|p| prefix(p.to_string())).collect(),
        }
    }

    /// The schema problems, if this is a validation failure.
    pub fn problems(&self) -> &[Problem] {
        match self {
            MetadataError::Invalid(p) => p,
            _ => &[],
        }
    }
}

/// Validates a DataCite XML record against kernel-4, as `xmllint --schema` would.
pub fn validate(xml: &[u8]) -> Result<(), MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let root = parse::kernel4_root(&doc)?;
    let problems = validate::validate_root(&doc, root);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(MetadataError::Invalid(problems))
    }
}

/// The `<identifier identifierType="DOI">` value, for MDS. Does not validate the record.
pub fn doi_of(xml: &[u8]) -> Result<Option<String>, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let root = parse::kernel4_root(&doc)?;
    Ok(doi_in(root))
}

/// Converts a kernel-4 record to DataCite REST attributes. Does not validate:
/// call [`validate()`] first when the record must be valid.
pub fn xml_to_json(xml: &[u8]) -> Result<Map<String, Value>, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let root = parse::kernel4_root(&doc)?;
    Ok(to_json::resource(root))
}

/// What one parse of a record tells: [`doi_of`], [`validate()`]'s problems and [`xml_to_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub doi: Option<String>,
    /// Schema violations; empty when the record is valid kernel-4.
    pub problems: Vec<Problem>,
    pub attributes: Map<String, Value>,
}

/// [`doi_of`], [`validate()`] and [`xml_to_json`] with a single parse. Fails as they all
/// would (not XML, not kernel-4); a record that is merely invalid is `Ok` with problems.
pub fn read_record(xml: &[u8]) -> Result<Record, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let root = parse::kernel4_root(&doc)?;
    Ok(Record {
        doi: doi_in(root),
        problems: validate::validate_root(&doc, root),
        attributes: to_json::resource(root),
    })
}

fn doi_in(root: roxmltree::Node<'_, '_>) -> Option<String> {
    root.children()
        .find(|n| n.is_element() && n.tag_name().name() == "identifier")
        .filter(|n| n.attribute("identifierType") == Some("DOI"))
        .map(|n| parse::text_of(n).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// [`validate()`] and [`xml_to_json`] with a single parse: what an MDS upload needs.
pub fn validated_json(xml: &[u8]) -> Result<Map<String, Value>, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let root = parse::kernel4_root(&doc)?;
    let problems = validate::validate_root(&doc, root);
    if problems.is_empty() {
        Ok(to_json::resource(root))
    } else {
        Err(MetadataError::Invalid(problems))
    }
}

/// Builds kernel-4 XML from DataCite REST attributes. Never fails: missing or
/// malformed attributes (drafts) simply produce XML that does not validate.
/// The first character of `text` that XML 1.0 forbids (its `Char` production: controls
/// other than tab, LF and CR, U+FFFE and U+FFFF; Rust strings hold no lone surrogates), so
/// that no stored record can make `GET /metadata` return XML that parsers reject.
pub fn forbidden_char(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}')
}

pub fn json_to_xml(doi: &str, attributes: &Map<String, Value>) -> String {
    to_xml::resource(doi, attributes)
}

/// Validates REST attributes by way of their kernel-4 XML; problems carry JSON property names.
pub fn validate_json(doi: &str, attributes: &Map<String, Value>) -> Result<(), MetadataError> {
    let xml = json_to_xml(doi, attributes);
    match validate(xml.as_bytes()) {
        Ok(()) => Ok(()),
        // Line numbers point into XML the client never saw.
        Err(MetadataError::Invalid(problems)) => Err(MetadataError::Invalid(
            problems.into_iter().map(|p| Problem { line: None, ..p }).collect(),
        )),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_record_agrees_with_the_single_purpose_functions() {
        let full = include_bytes!("../../fixtures/kernel-4/example/datacite-example-full-v4.xml");
        let invalid = br#"<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">10.5072/X</identifier></resource>"#;
        for xml in [&full[..], &invalid[..]] {
            let record = read_record(xml).unwrap();
            assert_eq!(record.doi, doi_of(xml).unwrap());
            assert_eq!(record.attributes, xml_to_json(xml).unwrap());
            match validate(xml) {
                Ok(()) => assert!(record.problems.is_empty()),
                Err(MetadataError::Invalid(problems)) => assert_eq!(record.problems, problems),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(!read_record(invalid).unwrap().problems.is_empty());
        assert!(matches!(read_record(b"not xml"), Err(MetadataError::NotXml(_))));
    }
}
