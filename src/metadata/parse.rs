//! Guarded parsing: bytes -> roxmltree document, refusing hostile or non-XML input early.

use super::{MetadataError, Problem, KERNEL4_NS};
use roxmltree::{Document, Node, ParsingOptions};

/// Larger records are refused unread. Real DataCite records are a few KB; the
/// biggest legitimate ones (thousands of related identifiers) stay far below this.
pub const MAX_XML_BYTES: usize = 4 * 1024 * 1024;

/// libxml2's element depth limit without XML_PARSE_HUGE ("Excessive depth in
/// document: 256" fires on the 258th level), so deep nesting is refused exactly
/// where xmllint calls it not well-formed, and our recursive walkers can never
/// exhaust the stack.
pub const MAX_DEPTH: usize = 257;

/// Caps tree size (and so memory) independently of the byte limit.
const MAX_NODES: u32 = 1_000_000;

pub(crate) fn decode(xml: &[u8]) -> Result<&str, MetadataError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(MetadataError::NotXml(format!(
            "Document is too large ({} bytes; the limit is {} bytes)",
            xml.len(),
            MAX_XML_BYTES
        )));
    }
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = std::str::from_utf8(xml).map_err(|e| {
        MetadataError::NotXml(format!(
            "Document is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    if text.trim().is_empty() {
        return Err(MetadataError::NotXml("Document is empty".to_string()));
    }
    Ok(text)
}

pub(crate) fn parse(text: &str) -> Result<Document<'_>, MetadataError> {
    let options = ParsingOptions {
        // DataCite records never need a DTD, and refusing DTDs outright removes
        // entity-expansion attacks (billion laughs) instead of merely bounding them.
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| {
        let msg = match e {
            roxmltree::Error::DtdDetected => "Document type definitions (DOCTYPE) are not allowed".to_string(),
            other => format!("Document is not well-formed XML: {other}"),
        };
        MetadataError::NotXml(msg)
    })?;
    check_depth(&doc)?;
    Ok(doc)
}

/// Iterative, so the check itself cannot overflow the stack.
fn check_depth(doc: &Document<'_>) -> Result<(), MetadataError> {
    let mut stack: Vec<(Node<'_, '_>, usize)> = vec![(doc.root_element(), 1)];
    while let Some((node, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(MetadataError::NotXml(format!(
                "Document is nested too deeply (more than {MAX_DEPTH} levels) at line {}",
                line_of(doc, node)
            )));
        }
        stack.extend(node.children().filter(|c| c.is_element()).map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// The `<resource>` root in the kernel-4 namespace, or why there is none.
pub(crate) fn kernel4_root<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, MetadataError> {
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    if ns != KERNEL4_NS && ns.starts_with("http://datacite.org/schema/kernel-") {
        return Err(MetadataError::UnsupportedSchema(format!(
            "Schema {ns} is no longer supported"
        )));
    }
    if ns != KERNEL4_NS || root.tag_name().name() != "resource" {
        return Err(MetadataError::Invalid(vec![Problem {
            message: format!(
                "Element '{}': No matching global declaration available for the validation root. \
                 Expected is ( {{{KERNEL4_NS}}}resource ).",
                qualified(root)
            ),
            line: Some(line_of(doc, root)),
            property: None,
        }]));
    }
    Ok(root)
}

pub(crate) fn qualified(node: Node<'_, '_>) -> String {
    match node.tag_name().namespace() {
        Some(ns) if ns != KERNEL4_NS => format!("{{{ns}}}{}", node.tag_name().name()),
        _ => node.tag_name().name().to_string(),
    }
}

pub(crate) fn line_of(doc: &Document<'_>, node: Node<'_, '_>) -> u32 {
    doc.text_pos_at(node.range().start).row
}

/// Character data of an element, with comments and processing instructions
/// dropped (they are not part of the value for XSD either).
pub(crate) fn text_of(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    for child in node.children() {
        if let Some(t) = child.text().filter(|_| child.is_text()) {
            out.push_str(t);
        }
    }
    out
}

/// All descendant character data, for `anyType` elements that may wrap markup.
pub(crate) fn deep_text_of(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_dtd_and_garbage() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>";
        assert!(matches!(parse(bomb), Err(MetadataError::NotXml(_))));
        assert!(matches!(parse("<a><b></a>"), Err(MetadataError::NotXml(_))));
        assert!(matches!(decode(b"   "), Err(MetadataError::NotXml(_))));
        assert!(matches!(decode(b"\xff\xfe<a/>"), Err(MetadataError::NotXml(_))));
    }

    #[test]
    fn depth_limit_matches_libxml2() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
        assert!(matches!(parse(&deep), Err(MetadataError::NotXml(_))));
    }

    #[test]
    fn old_kernels_are_unsupported() {
        let doc = parse("<resource xmlns=\"http://datacite.org/schema/kernel-3\"/>").unwrap();
        let err = kernel4_root(&doc).unwrap_err();
        assert_eq!(
            err,
            MetadataError::UnsupportedSchema(
                "Schema http://datacite.org/schema/kernel-3 is no longer supported".into()
            )
        );
    }
}
