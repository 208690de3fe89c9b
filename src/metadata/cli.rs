//! The `tinydoi validate` and `tinydoi convert` commands' work, without argument parsing.

use super::{doi_of, json_to_xml, validate, xml_to_json, MetadataError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Target form for `tinydoi convert --to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertTo {
    Json,
    Xml,
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
pub fn convert_file(path: &Path, to: ConvertTo) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match to {
        ConvertTo::Json => {
            let attrs = xml_to_json(&bytes).map_err(|e| describe(path, &e))?;
            let mut attrs = attrs;
            if let Ok(Some(doi)) = doi_of(&bytes) {
                attrs.insert("doi".into(), serde_json::Value::String(doi));
            }
            serde_json::to_string_pretty(&attrs)
                .map(|s| s + "\n")
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        ConvertTo::Xml => {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
            let data = value.get("data").unwrap_or(&value);
            let attrs = data
                .get("attributes")
                .unwrap_or(data)
                .as_object()
                .ok_or_else(|| format!("{}: expected a JSON object of attributes", path.display()))?;
            let doi = attrs
                .get("doi")
                .or_else(|| data.get("id"))
                .and_then(|d| d.as_str())
                .unwrap_or_default();
            Ok(json_to_xml(doi, attrs))
        }
    }
}

fn describe(path: &Path, e: &MetadataError) -> String {
    format!("{}: {e}", path.display())
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
            ConvertTo::Json,
        )
        .unwrap();
        let jpath = dir.join("a.json");
        std::fs::write(&jpath, json).unwrap();
        let xml = convert_file(&jpath, ConvertTo::Xml).unwrap();
        assert!(validate(xml.as_bytes()).is_ok(), "{xml}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
