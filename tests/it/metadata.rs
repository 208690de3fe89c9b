//! Metadata library: official examples validate, round trips keep content, hostile input is refused.

use std::path::{Path, PathBuf};
use std::time::Instant;
use tinydoi::metadata::{doi_of, json_to_xml, validate, validate_json, xml_to_json, MetadataError};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kernel-4")
}

pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join("example"))
        .expect("fixtures/kernel-4/example")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

#[test]
fn all_official_examples_validate() {
    let examples = examples();
    assert_eq!(examples.len(), 31);
    let mut failures = Vec::new();
    for path in &examples {
        let bytes = std::fs::read(path).unwrap();
        if let Err(e) = validate(&bytes) {
            failures.push(format!("{}: {:?}", path.display(), e.messages("x")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
