//! Differential test: our kernel-4 validator against `xmllint --schema` on the
//! official examples and thousands of systematic mutations generated here, judged by
//! xmllint's verdicts recorded in `xmllint-verdicts.tsv` (see `xmllint.rs`).

use super::metadata::examples;
use crate::xmllint::{recorded, write_all, Doc};
use roxmltree::{Document, Node};
use std::collections::HashSet;
use std::path::PathBuf;
use tinydoi::metadata::validate;

/// One generated test document and how it was made.
pub struct Mutation {
    pub name: String,
    pub xml: String,
}

/// Text replacements for leaf elements: emptiness, whitespace, years, floats,
/// languages, URIs and controlled values, each valid for some element and not others.
const TEXT_VALUES: &[&str] = &[
    "",
    " ",
    "x",
    "2020",
    " 2020 ",
    "20201",
    "999",
    "\u{662}\u{660}\u{662}\u{660}",
    "-181",
    "90.5",
    "180.0000001",
    "1e2",
    "1e",
    "NaN",
    "INF",
    "+5",
    "en-US",
    "en_US",
    "Dataset",
];

/// Attribute replacements: bad controlled values, whitespace around good ones, broken URIs.
const ATTR_VALUES: &[&str] = &[
    "",
    " ",
    "Bogus",
    " Dataset",
    "Dataset",
    "Other",
    "DOI",
    "Personal",
    "Issued",
    "Abstract",
    "%zz",
    ":bad",
    "http://x/%2",
    "a b",
    "http://[x",
    "#a#b",
    "x?y#z[1]",
    " http://example.org",
    "http://x:abc/",
    "en",
    "en_US",
];

fn path_of(node: Node<'_, '_>) -> String {
    let mut names: Vec<&str> = node
        .ancestors()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    names.reverse();
    names.join("/")
}

/// Byte offset just past the start tag's '>', and whether the tag is self-closing.
fn start_tag_end(text: &str, node: Node<'_, '_>) -> (usize, bool) {
    let bytes = text.as_bytes();
    let mut quote = None;
    let mut i = node.range().start;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'"') | (None, b'\'') => quote = Some(bytes[i]),
            (Some(q), c) if c == q => quote = None,
            (None, b'>') => return (i + 1, bytes[i - 1] == b'/'),
            _ => {}
        }
        i += 1;
    }
    (bytes.len(), false)
}

fn qname<'t>(text: &'t str, node: Node<'_, '_>) -> &'t str {
    let s = &text[node.range().start + 1..];
    let end = s
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(s.len());
    &s[..end]
}

/// The byte range of an element's content (between its tags), or None when self-closing.
fn content_range(text: &str, node: Node<'_, '_>) -> Option<(usize, usize)> {
    let (start, self_closing) = start_tag_end(text, node);
    if self_closing {
        return None;
    }
    let end = node.range().end - (qname(text, node).len() + 3);
    Some((start, end))
}

fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    format!("{}{}{}", &text[..start], with, &text[end..])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

/// Replaces an element's content, turning `<x/>` into `<x>content</x>` when needed.
fn set_content(text: &str, node: Node<'_, '_>, content: &str) -> String {
    match content_range(text, node) {
        Some((s, e)) => splice(text, s, e, content),
        None => {
            let (end, _) = start_tag_end(text, node);
            let open = &text[node.range().start..end - 2];
            let rebuilt = format!("{}>{}</{}>", open.trim_end(), content, qname(text, node));
            splice(text, node.range().start, node.range().end, &rebuilt)
        }
    }
}

fn add_attribute(text: &str, node: Node<'_, '_>, attr: &str) -> String {
    let at = node.range().start + 1 + qname(text, node).len();
    splice(text, at, at, &format!(" {attr}"))
}

/// Generates mutations of one example; `seen` de-duplicates by (operator, element path)
/// across examples so that shared structure is not tested thirty times over.
pub fn mutate(example: &str, text: &str, seen: &mut HashSet<String>) -> Vec<Mutation> {
    let Ok(doc) = Document::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |seen: &mut HashSet<String>, key: String, xml: String| {
        if xml != text && seen.insert(key.clone()) {
            out.push(Mutation {
                name: format!("{example} {key}"),
                xml,
            });
        }
    };
    let root = doc.root_element();

    // Wrong or missing namespace on the root: kernel-3, an unknown one, none at all.
    for (label, ns) in [
        ("ns-kernel-3", "http://datacite.org/schema/kernel-3"),
        ("ns-kernel-2.2", "http://datacite.org/schema/kernel-2.2"),
        ("ns-other", "http://example.org/not-datacite"),
    ] {
        push(
            seen,
            label.into(),
            text.replacen("http://datacite.org/schema/kernel-4\"", &format!("{ns}\""), 1),
        );
    }
    push(
        seen,
        "ns-none".into(),
        text.replacen("xmlns=\"http://datacite.org/schema/kernel-4\"", "", 1),
    );
    push(seen, "root-attr".into(), add_attribute(text, root, "foo=\"bar\""));

    for node in root.descendants().filter(|n| n.is_element()) {
        let path = path_of(node);
        let r = node.range();
        let has_elements = node.children().any(|c| c.is_element());
        if node != root {
            push(seen, format!("remove {path}"), splice(text, r.start, r.end, ""));
            let copy = text[r.start..r.end].to_string();
            push(seen, format!("duplicate {path}"), splice(text, r.end, r.end, &copy));
            push(seen, format!("empty {path}"), set_content(text, node, ""));
            push(
                seen,
                format!("unknown-attr {path}"),
                add_attribute(text, node, "foo=\"bar\""),
            );
            push(
                seen,
                format!("xml-lang {path}"),
                add_attribute(text, node, "xml:lang=\"en\""),
            );
            push(
                seen,
                format!("bad-xml-lang {path}"),
                add_attribute(text, node, "xml:lang=\"en_US\""),
            );
            push(
                seen,
                format!("foreign-ns-child {path}"),
                set_content(text, node, "<x:y xmlns:x=\"http://example.org/x\"/>"),
            );
        }
        if node != root {
            // xsi:nil/xsi:type, and a default-namespace switch that moves the
            // element (and its subtree) out of kernel-4.
            push(
                seen,
                format!("xsi-nil {path}"),
                add_attribute(
                    text,
                    node,
                    "xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
                ),
            );
            push(seen, format!("xsi-type {path}"), add_attribute(text, node, "xsi:type=\"xs:string\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""));
            push(
                seen,
                format!("other-ns {path}"),
                add_attribute(text, node, "xmlns=\"http://example.org/x\""),
            );
            push(seen, format!("prefixed-k4 {path}"), {
                let q = qname(text, node);
                let (start, self_closing) = start_tag_end(text, node);
                let open = format!(
                    "<k:{q} xmlns:k=\"http://datacite.org/schema/kernel-4\"{}",
                    &text[node.range().start + 1 + q.len()..start]
                );
                if self_closing {
                    splice(text, node.range().start, node.range().end, &open)
                } else {
                    let body = &text[start..node.range().end - (q.len() + 3)];
                    splice(
                        text,
                        node.range().start,
                        node.range().end,
                        &format!("{open}{body}</k:{q}>"),
                    )
                }
            });
        }
        if let Some((s, _)) = content_range(text, node) {
            push(
                seen,
                format!("unknown-child {path}"),
                splice(text, s, s, "<unknownElement/>"),
            );
            push(seen, format!("stray-text {path}"), splice(text, s, s, "stray"));
            push(seen, format!("comment {path}"), splice(text, s, s, "<!-- c -->"));
        }
        if has_elements {
            let kids: Vec<Node> = node.children().filter(|c| c.is_element()).collect();
            if kids.len() >= 2 {
                let (first, last) = (kids[0].range(), kids[kids.len() - 1].range());
                let moved = format!(
                    "{}{}{}{}",
                    &text[..first.start],
                    &text[last.start..last.end],
                    &text[first.start..last.start],
                    &text[last.end..]
                );
                push(seen, format!("last-first {path}"), moved);
            }
        } else if node != root {
            for v in TEXT_VALUES {
                push(
                    seen,
                    format!("text {path} = {v:?}"),
                    set_content(text, node, &escape(v)),
                );
            }
            // Leaves that are anyType accept markup, but its xml:* attributes are still checked.
            for (label, content) in [
                ("element-in-leaf", "<br/>"),
                ("lax-bad-lang", "<x xml:lang=\"en_US\">y</x>"),
                ("lax-good-lang", "<x xml:lang=\"en-GB\">y</x>"),
                ("lax-bad-space", "<x><y xml:space=\"keep\"/></x>"),
                ("cdata", "<![CDATA[2020]]>"),
                ("charref", "&#50;&#48;&#50;&#48;"),
                ("br-mixed", "a<br/>b<br/>"),
                ("br-with-space", "a<br> </br>b"),
                ("br-with-child", "a<br><x/></br>"),
                ("br-with-attr", "a<br foo=\"1\"/>"),
            ] {
                push(seen, format!("{label} {path}"), set_content(text, node, content));
            }
            // libxml2 refuses documents nested deeper than 257 elements.
            let depth = node.ancestors().filter(|n| n.is_element()).count();
            for total in [256usize, 257, 258] {
                let extra = total.saturating_sub(depth);
                let nested = format!("{}{}", "<d>".repeat(extra), "</d>".repeat(extra));
                push(seen, format!("depth-{total} {path}"), set_content(text, node, &nested));
            }
        }
        for attr in node.attributes() {
            let name = match attr.namespace() {
                Some(_) => format!("{{ns}}{}", attr.name()),
                None => attr.name().to_string(),
            };
            let ar = attr.range();
            push(
                seen,
                format!("remove-attr {path}@{name}"),
                splice(text, ar.start, ar.end, ""),
            );
            let vr = attr.range_value();
            for v in ATTR_VALUES {
                push(
                    seen,
                    format!("attr {path}@{name} = {v:?}"),
                    splice(text, vr.start, vr.end, &escape(v)),
                );
            }
        }
    }
    out
}

/// All mutations of all official examples, plus the examples themselves.
pub fn corpus() -> Vec<Mutation> {
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for path in examples() {
        let text = std::fs::read_to_string(&path).expect("example");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        all.push(Mutation {
            name: format!("{name} original"),
            xml: text.clone(),
        });
        all.extend(mutate(&name, &text, &mut seen));
    }
    all
}

#[test]
fn differential_against_xmllint() {
    let corpus = corpus();
    assert!(corpus.len() >= 331, "only {} documents generated", corpus.len());
    let docs: Vec<Doc> = corpus.into_iter().map(|m| (m.name, m.xml.into_bytes())).collect();
    let theirs = recorded(&docs);
    let mut disagreements = Vec::new();
    let mut invalid = 0;
    for ((name, xml), xmllint_valid) in docs.iter().zip(&theirs) {
        let ours = validate(xml);
        // Conversion must cope with every mutation too (no panics on any input).
        if let Ok(json) = tinydoi::metadata::xml_to_json(xml) {
            let _ = tinydoi::metadata::json_to_xml("10.5072/x", &json);
        }
        if ours.is_err() {
            invalid += 1;
        }
        if ours.is_ok() != *xmllint_valid {
            disagreements.push(format!(
                "{name}: xmllint {}, ours {:?}",
                if *xmllint_valid { "valid" } else { "invalid" },
                ours.err().map(|e| e.messages("")),
            ));
        }
    }
    let total = docs.len();
    println!(
        "metadata differential: {}/{} agree ({} invalid, {} valid per xmllint)",
        total - disagreements.len(),
        total,
        theirs.iter().filter(|v| !**v).count(),
        theirs.iter().filter(|v| **v).count(),
    );
    // TINYDOI_MUTATIONS_DIR keeps the corpus as files and xmllint's verdicts
    // (verdicts.tsv) for comparing other validators (see docs/perf-metadata.md).
    if let Some(keep) = std::env::var_os("TINYDOI_MUTATIONS_DIR").map(PathBuf::from) {
        let files = write_all(&keep, &docs);
        let tsv: String = files
            .iter()
            .zip(&theirs)
            .zip(&docs)
            .map(|((f, v), (name, _))| format!("{}\t{}\t{}\n", f.display(), v, name))
            .collect();
        std::fs::write(keep.join("verdicts.tsv"), tsv).expect("write verdicts");
    }
    assert!(invalid > 300, "too few invalid mutations: {invalid}");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// The examples re-encoded (UTF-8 with BOM, UTF-16 LE/BE with BOM, ISO-8859-1
/// where representable).
pub fn encodings() -> Vec<Doc> {
    let mut docs: Vec<Doc> = Vec::new();
    for path in examples() {
        let text = std::fs::read_to_string(&path).expect("example");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(text.as_bytes());
        docs.push((format!("{name} utf-8 bom"), bom));
        let utf16 = text.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
        let mut le = vec![0xFF, 0xFE];
        le.extend(utf16.encode_utf16().flat_map(|u| u.to_le_bytes()));
        docs.push((format!("{name} utf-16le"), le));
        let mut be = vec![0xFE, 0xFF];
        be.extend(utf16.encode_utf16().flat_map(|u| u.to_be_bytes()));
        docs.push((format!("{name} utf-16be"), be));
        if text.contains("encoding=\"UTF-8\"") && text.chars().all(|c| (c as u32) < 256) {
            let latin = text.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
            docs.push((format!("{name} latin-1"), latin.chars().map(|c| c as u8).collect()));
        }
    }
    docs
}

/// xmllint and we must both read the examples in other encodings.
#[test]
fn other_encodings_agree_with_xmllint() {
    let docs = encodings();
    let theirs = recorded(&docs);
    let mut disagreements = Vec::new();
    for ((name, bytes), xmllint_valid) in docs.iter().zip(&theirs) {
        let ours = validate(bytes);
        if ours.is_ok() != *xmllint_valid {
            disagreements.push(format!("{name}: xmllint {xmllint_valid}, ours {ours:?}"));
        }
    }
    println!(
        "metadata encodings: {}/{} agree",
        docs.len() - disagreements.len(),
        docs.len()
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
