//! Every format DataCite serves a DOI's metadata in (content negotiation), and readers of
//! the JSON formats back to kernel-4. Pure functions of a DOI's stored attributes: no HTTP,
//! no database. Each writer follows the bolognese writer lupo calls for the same media type.
//!
//! - [`write()`]: a DOI ([`Source`]) in a [`Format`];
//! - [`detect`] and [`to_kernel4`]: what an upload is, and that upload as kernel-4 XML.

mod citation;
pub mod cli;
mod crossref;
mod json_out;
mod model;
mod readers;
mod text_out;

pub use citation::{style_names, DEFAULT_LOCALE, DEFAULT_STYLE};
pub use crossref::{crossref_to_attributes, is_crossref};
pub use readers::{codemeta_to_attributes, detect, to_attributes, to_kernel4};

use crate::metadata::{self, MetadataError};
use serde_json::{Map, Value};
use std::fmt;

/// A metadata format, by the media type DataCite serves it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `application/vnd.datacite.datacite+xml`: the stored kernel-4 record.
    DataciteXml,
    /// `application/vnd.datacite.datacite+json`.
    DataciteJson,
    /// `application/vnd.crosscite.crosscite+json`.
    CrossciteJson,
    /// `application/vnd.schemaorg.ld+json`, also served for `application/ld+json`.
    SchemaOrg,
    /// `application/vnd.citationstyles.csl+json`.
    Citeproc,
    /// `application/x-research-info-systems`.
    Ris,
    /// `application/x-bibtex`.
    Bibtex,
    /// `text/csv`.
    Csv,
    /// `application/vnd.jats+xml`.
    Jats,
    /// `text/x-bibliography`: a formatted citation.
    Citation,
}

/// `(format, media type, bolognese's name for it)`; the first media type of a format is its own.
const TYPES: &[(Format, &str, &str)] = &[
    (Format::DataciteXml, "application/vnd.datacite.datacite+xml", "datacite"),
    (Format::DataciteXml, "application/x-datacite+xml", "datacite"),
    (
        Format::DataciteJson,
        "application/vnd.datacite.datacite+json",
        "datacite_json",
    ),
    (
        Format::CrossciteJson,
        "application/vnd.crosscite.crosscite+json",
        "crosscite",
    ),
    (Format::SchemaOrg, "application/vnd.schemaorg.ld+json", "schema_org"),
    (Format::SchemaOrg, "application/ld+json", "schema_org"),
    (Format::Citeproc, "application/vnd.citationstyles.csl+json", "citeproc"),
    (Format::Citeproc, "application/citeproc+json", "citeproc"),
    (Format::Ris, "application/x-research-info-systems", "ris"),
    (Format::Bibtex, "application/x-bibtex", "bibtex"),
    (Format::Csv, "text/csv", "csv"),
    (Format::Jats, "application/vnd.jats+xml", "jats"),
    (Format::Citation, "text/x-bibliography", "citation"),
];

impl Format {
    pub const ALL: [Format; 10] = [
        Format::DataciteXml,
        Format::DataciteJson,
        Format::CrossciteJson,
        Format::SchemaOrg,
        Format::Citeproc,
        Format::Ris,
        Format::Bibtex,
        Format::Csv,
        Format::Jats,
        Format::Citation,
    ];

    /// The format served for a media type (parameters such as `; charset` ignored).
    pub fn from_media_type(media_type: &str) -> Option<Format> {
        let bare = media_type.split(';').next().unwrap_or("").trim();
        TYPES
            .iter()
            .find(|(_, m, _)| m.eq_ignore_ascii_case(bare))
            .map(|(f, _, _)| *f)
    }

    /// The format for a name as bolognese and `tinydoi convert --to` spell it (`schema_org`, `ris` …).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase().replace('-', "_");
        TYPES.iter().find(|(_, _, n)| *n == name).map(|(f, _, _)| *f)
    }

    /// The media type this format is served under.
    pub fn media_type(self) -> &'static str {
        TYPES.iter().find(|(f, _, _)| *f == self).map_or("", |(_, m, _)| m)
    }

    /// bolognese's name for it.
    pub fn name(self) -> &'static str {
        TYPES.iter().find(|(f, _, _)| *f == self).map_or("", |(_, _, n)| n)
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> String {
        format!("{}; charset=utf-8", self.media_type())
    }

    /// Every media type served, for documentation and routes.
    pub fn media_types() -> impl Iterator<Item = &'static str> {
        TYPES.iter().map(|(_, m, _)| *m)
    }
}

/// Why a conversion failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FormatError {
    /// The input is larger than a metadata record may be.
    TooLarge,
    /// A JSON format whose input is not a JSON object.
    NotJson,
    /// A format tinydoi writes but does not read (RIS, BibTeX, CSV, JATS, citations).
    NotReadable(Format),
    /// Kernel-4 XML input that is not usable.
    Metadata(MetadataError),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::TooLarge => write!(f, "metadata larger than {} bytes", metadata::MAX_XML_BYTES),
            FormatError::NotJson => f.write_str("the metadata is not a JSON object"),
            FormatError::NotReadable(format) => {
                write!(f, "{} metadata can be written but not read", format.media_type())
            }
            FormatError::Metadata(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FormatError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormatError::Metadata(e) => Some(e),
            _ => None,
        }
    }
}

/// A DOI as the writers need it: its stored attributes and the few columns beside them.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The DOI (any case; written lower-case as DataCite does).
    pub doi: &'a str,
    /// DataCite REST attributes, as `metadata::xml_to_json` makes them.
    pub attributes: &'a Map<String, Value>,
    /// The stored kernel-4 record, served as it is for `datacite+xml`.
    pub xml: Option<&'a [u8]>,
    pub url: Option<&'a str>,
    /// `draft`, `registered` or `findable`.
    pub state: Option<&'a str>,
    /// When it was registered, RFC 3339.
    pub registered: Option<&'a str>,
    /// The client's symbol (`DATACITE.TEST`), whose first part is the provider.
    pub client_id: Option<&'a str>,
}

/// How a citation is formatted: CSL style and locale names as lupo takes them (`style=ieee`,
/// `locale=de`); `None` for lupo's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct CitationOptions<'a> {
    pub style: Option<&'a str>,
    pub locale: Option<&'a str>,
}

fn pretty(v: &Value) -> String {
    // Serialising a Value cannot fail: its keys are strings.
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `src` in `format`, as the bytes of the response body.
pub fn write(format: Format, src: &Source, citation: CitationOptions) -> Vec<u8> {
    if format == Format::DataciteXml {
        return match src.xml {
            Some(xml) => xml.to_vec(),
            None => metadata::json_to_xml(&src.doi.to_uppercase(), src.attributes).into_bytes(),
        };
    }
    let m = model::Meta::new(src);
    let text = match format {
        Format::DataciteXml => String::new(),
        Format::DataciteJson => pretty(&json_out::datacite_json(&m)),
        Format::CrossciteJson => pretty(&json_out::crosscite(&m)),
        Format::SchemaOrg => pretty(&json_out::schema_org(&m)),
        Format::Citeproc => pretty(&json_out::citeproc(&m)),
        Format::Ris => text_out::ris(&m),
        Format::Bibtex => text_out::bibtex(&m),
        Format::Csv => text_out::csv(&m),
        Format::Jats => text_out::jats(&m),
        Format::Citation => {
            let csl = json_out::citeproc(&m);
            citation::render(&csl, citation.style, citation.locale).unwrap_or_default()
        }
    };
    text.into_bytes()
}

#[cfg(test)]
mod tests;
