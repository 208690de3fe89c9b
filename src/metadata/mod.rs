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
    Ok(record_of(&doc, root))
}

fn record_of(doc: &roxmltree::Document<'_>, root: roxmltree::Node<'_, '_>) -> Record {
    Record {
        doi: doi_in(root),
        problems: validate::validate_root(doc, root),
        attributes: to_json::resource(root),
    }
}

/// An MDS upload of UTF-8 DataCite XML that already names the DOI it is stored under (or
/// names none), read with one parse: what [`detect()`], [`identifier_of`],
/// [`with_identifier`] and [`read_record`] find with one parse each (issue 20: a parse of
/// the full kernel-4 example is a tenth of a PUT). `doi_for` gets the record's identifier
/// and names the DOI, as between those steps. `Ok(None)`: any other case (another format
/// or encoding, not well-formed, not kernel-4, an identifier to rewrite), which the caller
/// reads step by step, with their errors.
pub fn read_named_datacite<E>(
    body: &[u8],
    doi_for: impl FnOnce(Option<&str>) -> Result<String, E>,
) -> Result<Option<(String, Record)>, E> {
    // UTF-8 within the size limit, without a byte order mark: the body is the text (the
    // record is then stored as uploaded, byte for byte).
    let Ok(std::borrow::Cow::Borrowed(text)) = parse::decode(body) else {
        return Ok(None);
    };
    if text.len() != body.len() {
        return Ok(None);
    }
    let Ok(doc) = parse::parse(text) else {
        return Ok(None);
    };
    if detect::xml_format_of(&doc) != Some(Format::Datacite) {
        return Ok(None);
    }
    let doi = doi_for(identifier::identifier_in(&doc).as_deref())?;
    if !identifier::already_names(&doc, &doi) {
        return Ok(None);
    }
    let Ok(root) = parse::kernel4_root(&doc) else {
        return Ok(None);
    };
    Ok(Some((doi, record_of(&doc, root))))
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
///
/// It runs on every upload's whole XML, so it scans bytes, not `char`s (a quarter of the
/// instructions on the full kernel-4 example): in UTF-8 a control is one byte below 0x20
/// and U+FFFE/U+FFFF are `EF BF BE`/`EF BF BF`, and no other character's encoding holds
/// such a byte or starts with `EF BF BE`/`EF BF BF`.
pub fn forbidden_char(text: &str) -> Option<char> {
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF;
    let bytes = text.as_bytes();
    // Whole 64-byte blocks with no suspect byte are skipped by a branch-free fold the
    // compiler vectorises; the scan below starts at the first block holding one.
    let clean = bytes
        .chunks_exact(64)
        .take_while(|block| !block.iter().fold(false, |any, &b| any | suspect(b)))
        .count();
    let mut from = clean * 64;
    while let Some(p) = bytes[from..].iter().position(|&b| suspect(b)) {
        let at = from + p;
        match bytes[at..] {
            [b, ..] if b < 0x20 => return Some(char::from(b)),
            [0xEF, 0xBF, 0xBE, ..] => return Some('\u{FFFE}'),
            [0xEF, 0xBF, 0xBF, ..] => return Some('\u{FFFF}'),
            _ => from = at + 1,
        }
    }
    None
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

    /// The byte scan finds what the `Char` production's definition, char by char, finds:
    /// every character around the edges (controls, tab/LF/CR, U+FFFD–U+FFFF and their
    /// neighbours in `EF BF xx`, other `EF` and 4-byte sequences), alone and inside text.
    #[test]
    fn forbidden_char_is_the_xml_char_production() {
        let by_chars = |t: &str| {
            t.chars()
                .find(|&c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}')
        };
        let mut probes: Vec<char> = (0u32..0x80).filter_map(char::from_u32).collect();
        probes.extend(
            [
                0xE000, 0xEFFF, 0xF000, 0xFEFF, 0xFFBE, 0xFFBF, 0xFFFC, 0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x1FFFF,
                0x10FFFF,
            ]
            .into_iter()
            .filter_map(char::from_u32),
        );
        probes.extend(['é', 'ｿ', '\u{FFBE}', '\u{EFBF}']);
        for &a in &probes {
            for &b in &probes {
                for text in [
                    format!("{a}"),
                    format!("x{a}{b}y"),
                    format!("{a}\u{FFFD}{b}"),
                    format!("ab{b}{a}"),
                    // Across and after the 64-byte blocks the scan skips.
                    format!("{}{a}{b}", "x".repeat(62)),
                    format!("{}{a}{b}", "x".repeat(63)),
                    format!("{}{a}{b}\n", "\t".repeat(128)),
                ] {
                    assert_eq!(forbidden_char(&text), by_chars(&text), "{text:?}");
                }
            }
        }
        assert_eq!(forbidden_char(""), None);
    }

    /// One parse gives what the four steps give, for the uploads it takes; the others are
    /// left to the steps.
    #[test]
    fn named_datacite_uploads_are_read_in_one_parse() {
        let xml = std::fs::read("fixtures/kernel-4/example/datacite-example-full-v4.xml").unwrap();
        let named = |body: &[u8], doi: &str| {
            read_named_datacite(body, |in_record| {
                assert_eq!(in_record, identifier_of(body).unwrap().as_deref());
                Ok::<_, ()>(doi.to_string())
            })
            .unwrap()
        };
        let (doi, record) = named(&xml, "10.82433/b09z-4k37").expect("the common case");
        assert_eq!(doi, "10.82433/b09z-4k37");
        let steps = read_record(&with_identifier(&xml, &doi).unwrap()).unwrap();
        assert_eq!(record.attributes, steps.attributes);
        assert_eq!(record.doi, steps.doi);
        assert_eq!(record.problems.len(), steps.problems.len());
        // An identifier to rewrite, another encoding, a byte order mark, not XML: the steps.
        assert!(named(&xml, "10.5072/other").is_none());
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&xml);
        assert!(named(&bom, "10.82433/b09z-4k37").is_none());
        assert!(named(b"{\"doi\": \"10.5072/x\"}", "10.5072/x").is_none());
        assert!(named(b"<resource", "10.5072/x").is_none());
        // The DOI chooser's error is the caller's.
        assert_eq!(read_named_datacite(&xml, |_| Err::<String, _>("no")).unwrap_err(), "no");
    }

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
