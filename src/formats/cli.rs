//! The work of `tinydoi convert --to FORMAT` for the content-negotiation formats: the input
//! (kernel-4 XML or any format `detect` recognises and a reader reads) through the same
//! readers and writers the API serves.

use super::{
    crossref_to_attributes, detect, is_crossref, to_attributes, to_kernel4, write, CitationOptions, Format, Source,
};
use anyhow::Context;
use std::path::Path;

/// `path` in `format`. The input is kernel-4 XML, DataCite or Crosscite JSON, schema.org
/// JSON-LD, citeproc JSON, BibTeX or RIS, found by [`detect`], or Crossref XML (a query
/// result, as bolognese's command line reads it).
pub fn convert_file(path: &Path, format: Format, citation: CitationOptions) -> anyhow::Result<Vec<u8>> {
    let at = || path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(at)?;
    let (from, (doi, attributes)) = read(&text).with_context(at)?;
    let doi = doi.unwrap_or_default();
    // Kernel-4 XML input is served as it is for datacite+xml, as the API serves the stored record.
    let xml = (from == Some(Format::DataciteXml)).then_some(text.as_bytes());
    let source = Source {
        doi: &doi,
        attributes: &attributes,
        xml,
        url: None,
        state: None,
        registered: None,
        client_id: None,
    };
    Ok(write(format, &source, citation))
}

/// The format `text` is in (`None` for Crossref XML, which no `Format` names) and its
/// reading: the DOI it names and its attributes.
type Reading = (Option<String>, serde_json::Map<String, serde_json::Value>);
fn read(text: &str) -> anyhow::Result<(Option<Format>, Reading)> {
    if let Some(from) = detect(text) {
        return Ok((Some(from), to_attributes(from, text)?));
    }
    anyhow::ensure!(is_crossref(text), "not a metadata format tinydoi reads");
    Ok((None, crossref_to_attributes(text)?))
}

/// `path` as kernel-4 XML when it is schema.org, citeproc or Crosscite JSON, BibTeX, RIS or Crossref XML
/// (`None` for other inputs, which `tinydoi convert --to xml` reads as DataCite REST
/// attributes).
pub fn kernel4_file(path: &Path) -> anyhow::Result<Option<String>> {
    let at = || path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(at)?;
    match detect(&text) {
        Some(f @ (Format::SchemaOrg | Format::Citeproc | Format::CrossciteJson | Format::Bibtex | Format::Ris)) => {
            Ok(Some(to_kernel4(f, &text, None).with_context(at)?))
        }
        None if is_crossref(&text) => {
            let (doi, attributes) = crossref_to_attributes(&text).with_context(at)?;
            let doi = doi.unwrap_or_default().to_uppercase();
            Ok(Some(crate::metadata::json_to_xml(&doi, &attributes)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_xml_and_json_inputs() {
        let path = Path::new("fixtures/kernel-4/example/datacite-example-relateditem1-v4.xml");
        let ris = String::from_utf8(convert_file(path, Format::Ris, CitationOptions::default()).unwrap()).unwrap();
        assert!(
            ris.starts_with("TY  - JOUR\r\nT1  - Example Article Title\r\n"),
            "{ris}"
        );
        let dir = tempfile_dir();
        let citeproc = dir.join("item.json");
        std::fs::write(
            &citeproc,
            convert_file(path, Format::Citeproc, CitationOptions::default()).unwrap(),
        )
        .unwrap();
        let ieee = CitationOptions {
            style: Some("ieee"),
            locale: None,
        };
        let text = String::from_utf8(convert_file(&citeproc, Format::Citation, ieee).unwrap()).unwrap();
        assert!(text.starts_with("S. Garcia, “Example Article Title,”"), "{text}");
        let xml = kernel4_file(&citeproc).unwrap().unwrap();
        assert!(crate::metadata::validate(xml.as_bytes()).is_ok(), "{xml}");
        assert_eq!(kernel4_file(path).unwrap(), None);
        // Crossref XML (a query result) converts, as bolognese's command line converts it.
        let crossref = Path::new("fixtures/lupo/crossref.xml");
        let bib =
            String::from_utf8(convert_file(crossref, Format::Bibtex, CitationOptions::default()).unwrap()).unwrap();
        assert!(bib.starts_with("@article{https://doi.org/10.7554/elife.01567"), "{bib}");
        let xml = kernel4_file(crossref).unwrap().unwrap();
        assert!(crate::metadata::validate(xml.as_bytes()).is_ok(), "{xml}");
        assert!(xml.contains(">10.7554/ELIFE.01567</identifier>"), "{xml}");
        for text in ["fixtures/lupo/crossref.bib", "fixtures/lupo/crossref.ris"] {
            let xml = kernel4_file(Path::new(text)).unwrap().unwrap();
            assert!(
                crate::metadata::read_record(xml.as_bytes())
                    .unwrap()
                    .problems
                    .is_empty(),
                "{xml}"
            );
        }
        let plain = dir.join("plain.txt");
        std::fs::write(&plain, "hello").unwrap();
        let err = convert_file(&plain, Format::Ris, CitationOptions::default()).unwrap_err();
        assert!(format!("{err:#}").contains("not a metadata format"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tinydoi-formats-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
