//! Guarded parsing: bytes -> roxmltree document, refusing hostile or non-XML input early.

use super::{MetadataError, Problem, KERNEL4_NS};
use roxmltree::{Document, Node, ParsingOptions};
use std::borrow::Cow;

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

/// Bytes to text. UTF-8 (with or without BOM) is the norm; UTF-16 with a BOM
/// and ISO-8859-1 (when the XML declaration says so) are converted, because
/// libxml2 reads them too.
pub(crate) fn decode(xml: &[u8]) -> Result<Cow<'_, str>, MetadataError> {
    if xml.len() > MAX_XML_BYTES {
        return Err(MetadataError::NotXml(format!(
            "Document is too large ({} bytes; the limit is {} bytes)",
            xml.len(),
            MAX_XML_BYTES
        )));
    }
    let text = if let Some(rest) = xml.strip_prefix(b"\xFF\xFE") {
        Cow::Owned(utf16(rest, u16::from_le_bytes)?)
    } else if let Some(rest) = xml.strip_prefix(b"\xFE\xFF") {
        Cow::Owned(utf16(rest, u16::from_be_bytes)?)
    } else {
        let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
        match std::str::from_utf8(xml) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) if declares_latin1(xml) => Cow::Owned(xml.iter().map(|&b| char::from(b)).collect()),
            Err(e) => {
                return Err(MetadataError::NotXml(format!(
                    "Document is not valid UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                )))
            }
        }
    };
    if text.trim().is_empty() {
        return Err(MetadataError::NotXml("Document is empty".to_string()));
    }
    // A second byte order mark is content before the XML declaration, which
    // libxml2 refuses; roxmltree would silently skip it.
    if text.starts_with('\u{FEFF}') {
        return Err(MetadataError::NotXml(
            "Document starts with a stray byte order mark".to_string(),
        ));
    }
    Ok(text)
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, MetadataError> {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| unit([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    String::from_utf16(&units)
        .map(|s| s.replacen("encoding=\"UTF-16\"", "encoding=\"UTF-8\"", 1))
        .map_err(|_| MetadataError::NotXml("Document is not valid UTF-16".to_string()))
}

/// Whether the XML declaration names ISO-8859-1 (or an alias of it).
fn declares_latin1(xml: &[u8]) -> bool {
    let head = &xml[..xml.len().min(200)];
    let Some(end) = head.iter().position(|&b| b == b'>') else {
        return false;
    };
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !decl.starts_with("<?xml") {
        return false;
    }
    ["iso-8859-1", "iso_8859-1", "latin1", "latin-1", "l1"]
        .iter()
        .any(|name| decl.contains(&format!("encoding=\"{name}\"")) || decl.contains(&format!("encoding='{name}'")))
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

/// 1-based line of a node's start. Counting newline bytes is much cheaper than
/// roxmltree's row/column computation, which matters for records with many problems.
pub(crate) fn line_of(doc: &Document<'_>, node: Node<'_, '_>) -> u32 {
    let text = doc.input_text();
    let end = node.range().start.min(text.len());
    let newlines = text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// Character data of an element, with comments and processing instructions
/// dropped (they are not part of the value for XSD either). Borrowed from the document
/// when it is one text node, as nearly every element's is: a `PUT` of the full example
/// reads some 250 of them.
pub(crate) fn text_of<'a>(node: Node<'a, '_>) -> Cow<'a, str> {
    let mut texts = node.children().filter(|c| c.is_text()).filter_map(|c| c.text());
    let Some(first) = texts.next() else {
        return Cow::Borrowed("");
    };
    match texts.next() {
        None => Cow::Borrowed(first),
        Some(second) => {
            let mut out = String::from(first);
            out.push_str(second);
            out.extend(texts);
            Cow::Owned(out)
        }
    }
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
    fn text_of_joins_text_nodes_and_borrows_a_single_one() {
        let doc = Document::parse("<r><a>one</a><b>x<!-- c -->y<?pi?>z</b><c/><d><e>no</e></d></r>").unwrap();
        let texts: Vec<Cow<'_, str>> = doc.root_element().children().map(text_of).collect();
        assert_eq!(texts, ["one", "xyz", "", ""]);
        assert!(matches!(texts[0], Cow::Borrowed("one")));
        assert!(matches!(texts[1], Cow::Owned(_)));
    }

    #[test]
    fn refuses_dtd_and_garbage() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>";
        assert!(matches!(parse(bomb), Err(MetadataError::NotXml(_))));
        assert!(matches!(parse("<a><b></a>"), Err(MetadataError::NotXml(_))));
        assert!(matches!(decode(b"   "), Err(MetadataError::NotXml(_))));
        assert!(matches!(decode(b"<a>\xff</a>"), Err(MetadataError::NotXml(_))));
    }

    #[test]
    fn latin1_and_utf16_are_converted() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>";
        assert_eq!(
            decode(latin).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\u{e9}</a>"
        );
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("<a>é</a>".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(&utf16).unwrap(), "<a>é</a>");
        assert!(decode(b"<a>\xe9</a>").is_err());
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
