//! `tinydoi validate` and `tinydoi convert`: kernel-4 records checked and converted by the
//! functions the API uses; no database.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ConvertForm;
use crate::metadata::{doi_of, json_to_xml, validate, xml_to_json};

/// Prints one file in another form (`tinydoi convert`): REST attributes or kernel-4 XML
/// here, the content-negotiation formats through `formats::cli`.
pub fn convert(to: ConvertForm, file: &Path, style: Option<&str>, locale: Option<&str>) -> anyhow::Result<()> {
    use crate::formats::{self, CitationOptions, Format};
    let format = match to {
        ConvertForm::Json | ConvertForm::Xml => None,
        ConvertForm::Datacite => Some(Format::DataciteXml),
        ConvertForm::DataciteJson => Some(Format::DataciteJson),
        ConvertForm::Crosscite => Some(Format::CrossciteJson),
        ConvertForm::SchemaOrg => Some(Format::SchemaOrg),
        ConvertForm::Citeproc => Some(Format::Citeproc),
        ConvertForm::Ris => Some(Format::Ris),
        ConvertForm::Bibtex => Some(Format::Bibtex),
        ConvertForm::Csv => Some(Format::Csv),
        ConvertForm::Jats => Some(Format::Jats),
        ConvertForm::Citation => Some(Format::Citation),
    };
    let text = match format {
        Some(f) => {
            let bytes = formats::cli::convert_file(file, f, CitationOptions { style, locale })?;
            String::from_utf8_lossy(&bytes).trim_end().to_string()
        }
        // schema.org, citeproc or Crosscite JSON in: read into kernel-4 by the formats' readers.
        None if matches!(to, ConvertForm::Xml) => match formats::cli::kernel4_file(file)? {
            Some(xml) => xml,
            None => convert_file(file, to)?,
        },
        None => convert_file(file, to)?,
    };
    // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}

/// Prints `FILE: valid` or `FILE: invalid` plus indented messages per file.
/// Returns true only when every file is valid.
pub fn validate_files(paths: &[PathBuf], out: &mut dyn Write) -> bool {
    let mut all_valid = true;
    for path in paths {
        let shown = path.display();
        let result = match std::fs::read(path) {
            Ok(bytes) => validate(&bytes).map_err(|e| {
                let doi = doi_of(&bytes).ok().flatten().unwrap_or_default();
                e.messages(&doi)
            }),
            Err(e) => Err(vec![format!("cannot read file: {e}")]),
        };
        // Output errors (closed pipe) must not turn a verdict into a panic.
        match result {
            Ok(()) => {
                let _ = writeln!(out, "{shown}: valid");
            }
            Err(messages) => {
                all_valid = false;
                let _ = writeln!(out, "{shown}: invalid");
                for m in messages {
                    let _ = writeln!(out, "  {m}");
                }
            }
        }
    }
    all_valid
}

/// Converts one file: XML to REST attributes JSON (pretty-printed), or JSON to
/// kernel-4 XML. JSON input may be the bare attributes object or a REST
/// document `{"data":{"attributes":{…}}}`; the DOI comes from its `doi`
/// attribute (or `data.id`).
pub fn convert_file(path: &Path, to: ConvertForm) -> anyhow::Result<String> {
    let at = || path.display().to_string();
    let bytes = std::fs::read(path).with_context(at)?;
    match to {
        ConvertForm::Json => {
            let attrs = xml_to_json(&bytes).with_context(at)?;
            let mut attrs = attrs;
            if let Ok(Some(doi)) = doi_of(&bytes) {
                attrs.insert("doi".into(), serde_json::Value::String(doi));
            }
            Ok(serde_json::to_string_pretty(&attrs).with_context(at)? + "\n")
        }
        ConvertForm::Xml => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).context("not JSON").with_context(at)?;
            let data = value.get("data").unwrap_or(&value);
            let attrs = data
                .get("attributes")
                .unwrap_or(data)
                .as_object()
                .context("expected a JSON object of attributes")
                .with_context(at)?;
            let doi = attrs
                .get("doi")
                .or_else(|| data.get("id"))
                .and_then(|d| d.as_str())
                .unwrap_or_default();
            Ok(json_to_xml(doi, attrs))
        }
        _ => anyhow::bail!("this form is written by formats::cli"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_per_file_and_fails_on_any_invalid() {
        let dir = std::env::temp_dir().join(format!("tinydoi-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.xml");
        std::fs::write(&bad, "<resource xmlns=\"http://datacite.org/schema/kernel-4\"/>").unwrap();
        let good = PathBuf::from("fixtures/kernel-4/example/datacite-example-full-v4.xml");
        let mut out = Vec::new();
        assert!(validate_files(std::slice::from_ref(&good), &mut out));
        assert!(!validate_files(&[good, bad], &mut out));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("datacite-example-full-v4.xml: valid"));
        assert!(text.contains("bad.xml: invalid\n  Missing child element(s)."), "{text}");
        let json = convert_file(
            Path::new("fixtures/kernel-4/example/datacite-example-full-v4.xml"),
            ConvertForm::Json,
        )
        .unwrap();
        let jpath = dir.join("a.json");
        std::fs::write(&jpath, json).unwrap();
        let xml = convert_file(&jpath, ConvertForm::Xml).unwrap();
        assert!(validate(xml.as_bytes()).is_ok(), "{xml}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
