//! xmllint's verdicts on the metadata differential corpus, recorded in
//! `tests/it/xmllint-verdicts.tsv` so that `cargo test` needs only Rust: xmllint stays the
//! judge, but it judges once, when `.ci/xmllint-verdicts.sh` re-derives the file (CI runs
//! it with `--check` and fails when the checked-in file is stale). A document that is not
//! in the file, or whose bytes changed since, fails the test that asks for its verdict;
//! nothing is skipped for want of xmllint.

use ring::digest::{digest, SHA256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A named test document: its name is its key in the verdicts file.
pub type Doc = (String, Vec<u8>);

/// The checked-in verdicts, relative to the crate root.
pub const VERDICTS: &str = "tests/it/xmllint-verdicts.tsv";

/// Overrides where `record_xmllint_verdicts` writes (the script's `--check` uses a temp file).
const OUT_VAR: &str = "TINYDOI_XMLLINT_VERDICTS";

fn verdicts_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(VERDICTS)
}

/// First 16 hex digits of the document's SHA-256: enough to notice a changed document.
fn fingerprint(bytes: &[u8]) -> String {
    digest(&SHA256, bytes).as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every document whose verdict is recorded: the mutation corpus (with the official
/// examples), the examples in other encodings, and the examples regenerated from JSON.
pub fn all_docs() -> Vec<Doc> {
    let mut docs: Vec<Doc> = crate::metadata_mutations::corpus()
        .into_iter()
        .map(|m| (m.name, m.xml.into_bytes()))
        .collect();
    docs.extend(crate::metadata_mutations::encodings());
    docs.extend(crate::metadata::round_trip_docs());
    docs
}

/// name → (fingerprint, valid) as recorded.
fn read_recorded() -> HashMap<String, (String, bool)> {
    let path = verdicts_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let mut cols = line.splitn(3, '\t');
            let (verdict, hash, name) = (cols.next(), cols.next(), cols.next());
            let valid = match verdict {
                Some("valid") => true,
                Some("invalid") => false,
                _ => panic!("{VERDICTS}: bad line {line:?}"),
            };
            let (Some(hash), Some(name)) = (hash, name) else {
                panic!("{VERDICTS}: bad line {line:?}");
            };
            (name.to_string(), (hash.to_string(), valid))
        })
        .collect()
}

/// xmllint's recorded verdict on each document (true: valid). Panics, naming the script
/// that re-derives the file, when a document is not recorded as it is now.
pub fn recorded(docs: &[Doc]) -> Vec<bool> {
    let table = read_recorded();
    let mut stale = Vec::new();
    let verdicts = docs
        .iter()
        .map(|(name, bytes)| match table.get(name) {
            Some((hash, valid)) if *hash == fingerprint(bytes) => *valid,
            _ => {
                stale.push(name.as_str());
                false
            }
        })
        .collect();
    assert!(
        stale.is_empty(),
        "{} documents have no recorded xmllint verdict (new or changed), e.g. {:?}; \
         run `bash .ci/xmllint-verdicts.sh` (needs xmllint: apt-get install libxml2-utils) \
         and commit {VERDICTS}",
        stale.len(),
        &stale[..stale.len().min(5)]
    );
    verdicts
}

/// Writes each document to `dir` as a file, in order.
pub fn write_all(dir: &Path, docs: &[Doc]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("temp dir");
    docs.iter()
        .enumerate()
        .map(|(i, (_, bytes))| {
            let p = dir.join(format!("m{i:05}.xml"));
            std::fs::write(&p, bytes).expect("write document");
            p
        })
        .collect()
}

/// Runs `xmllint --noout --schema` over the files, many per process; true: valid.
fn run_xmllint(files: &[PathBuf]) -> Vec<bool> {
    let schema = crate::metadata::fixtures().join("metadata.xsd");
    let mut verdicts = Vec::with_capacity(files.len());
    for batch in files.chunks(400) {
        let output = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&schema)
            .args(batch)
            .output()
            .expect("run xmllint (apt-get install libxml2-utils)");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let valid: HashSet<&str> = stderr.lines().filter_map(|l| l.strip_suffix(" validates")).collect();
        verdicts.extend(batch.iter().map(|f| valid.contains(f.to_string_lossy().as_ref())));
    }
    verdicts
}

/// Re-derives the verdicts file with xmllint. Not part of `cargo test` (it needs xmllint);
/// `.ci/xmllint-verdicts.sh` runs it.
#[test]
#[ignore = "needs xmllint; run by .ci/xmllint-verdicts.sh"]
fn record_xmllint_verdicts() {
    let mut docs = all_docs();
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut names = HashSet::new();
    for (name, _) in &docs {
        assert!(!name.contains(['\t', '\n']), "name {name:?} cannot be a TSV key");
        assert!(names.insert(name.as_str()), "two documents are named {name:?}");
    }
    let dir = std::env::temp_dir().join(format!("tinydoi-xmllint-{}", std::process::id()));
    let files = write_all(&dir, &docs);
    let verdicts = run_xmllint(&files);
    std::fs::remove_dir_all(&dir).ok();
    let mut out = String::from(
        "# xmllint --noout --schema fixtures/kernel-4/metadata.xsd on each document of the metadata\n\
         # differential tests (tests/it/xmllint.rs). Generated by .ci/xmllint-verdicts.sh; do not edit.\n\
         # verdict<TAB>first 16 hex digits of the document's SHA-256<TAB>document name\n",
    );
    for ((name, bytes), valid) in docs.iter().zip(&verdicts) {
        let verdict = if *valid { "valid" } else { "invalid" };
        out.push_str(&format!("{verdict}\t{}\t{name}\n", fingerprint(bytes)));
    }
    let path = std::env::var_os(OUT_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(verdicts_path);
    std::fs::write(&path, out).expect("write verdicts");
    println!(
        "{}: {} documents, {} valid",
        path.display(),
        docs.len(),
        verdicts.iter().filter(|v| **v).count()
    );
}
