//! The path DOI wins: rewriting a record's `<identifier>` to the DOI it is stored under,
//! as lupo's `replace_doi` does for MDS uploads and REST `xml` (DataCite stores the DOI
//! upper case there). Only the identifier's text changes; every other byte is kept.

use std::borrow::Cow;

use super::{parse, MetadataError};

/// `xml` with the text of its `<identifier>` (the root's child; any content, e.g. the
/// placeholder `(:tba)` or another DOI) replaced by `doi` in upper case. Unchanged (borrowed)
/// when it already names `doi` (in any case: the record is then kept byte for byte) or has
/// no identifier. Fails as the parser does
/// (not XML, DTD, too large); does not validate. A record read from UTF-16 or ISO-8859-1
/// comes back as UTF-8 with its declaration saying so.
pub fn with_identifier<'a>(xml: &'a [u8], doi: &str) -> Result<Cow<'a, [u8]>, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let wanted = doi.to_ascii_uppercase();
    let Some(node) = identifier_child(&doc) else {
        return Ok(Cow::Borrowed(xml));
    };
    if names(node, &wanted) {
        return Ok(Cow::Borrowed(xml));
    }
    let escaped = escape(&wanted);
    let range = node.range();
    let element = &text[range.clone()];
    let name_len = element[1..]
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(element.len() - 1);
    let name = &element[1..1 + name_len];
    let open_end = start_tag_end(element);
    let start_tag = element[..open_end]
        .trim_end_matches('>')
        .trim_end_matches('/')
        .trim_end();
    let mut out = String::with_capacity(text.len() + escaped.len());
    out.push_str(&text[..range.start]);
    out.push_str(&format!("{start_tag}>{escaped}</{name}>"));
    out.push_str(&text[range.end..]);
    if let Cow::Owned(_) = text {
        out = declare_utf8(out);
    }
    Ok(Cow::Owned(out.into_bytes()))
}

/// The text of the record's first `identifier` element, whatever its namespace, kernel or
/// type (lupo's `doi_from_xml`); `None` when it has none. Fails as the parser does.
pub fn identifier_of(xml: &[u8]) -> Result<Option<String>, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    Ok(identifier_in(&doc))
}

/// [`identifier_of`] a parsed document.
pub(super) fn identifier_in(doc: &roxmltree::Document<'_>) -> Option<String> {
    doc.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "identifier")
        .map(|found| parse::deep_text_of(found).trim().to_string())
}

/// Whether [`with_identifier`] would keep the document as it is for `doi`.
pub(super) fn already_names(doc: &roxmltree::Document<'_>, doi: &str) -> bool {
    identifier_child(doc).is_none_or(|node| names(node, &doi.to_ascii_uppercase()))
}

/// The root's `identifier` child, the one [`with_identifier`] rewrites.
fn identifier_child<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Option<roxmltree::Node<'a, 'i>> {
    doc.root_element()
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "identifier")
}

/// Whether identifier element `node` holds just the text `upper` (in any case).
fn names(node: roxmltree::Node<'_, '_>, upper: &str) -> bool {
    node.children().all(|c| c.is_text()) && parse::text_of(node).trim().eq_ignore_ascii_case(upper)
}

/// The length of the start tag at the beginning of `element` (through its `>`), skipping
/// `>` inside quoted attribute values.
fn start_tag_end(element: &str) -> usize {
    let mut quote = None;
    for (i, c) in element.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    element.len()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Rewrites the XML declaration's `encoding` to UTF-8 (the text was decoded from another).
fn declare_utf8(text: String) -> String {
    let Some(end) = text.starts_with("<?xml").then(|| text.find("?>")).flatten() else {
        return text;
    };
    let declaration = &text[..end];
    let Some(at) = declaration.find("encoding") else {
        return text;
    };
    let rest = &declaration[at..];
    let value = rest.find(['"', '\'']).and_then(|open| {
        let quote = rest[open..].chars().next()?;
        let close = rest[open + 1..].find(quote)?;
        Some(at + open + 1..at + open + 1 + close)
    });
    match value {
        Some(range) => format!("{}UTF-8{}", &text[..range.start], &text[range.end..]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = r#"<resource xmlns="http://datacite.org/schema/kernel-4">"#;

    fn rewrite(xml: &str, doi: &str) -> String {
        String::from_utf8(with_identifier(xml.as_bytes(), doi).unwrap().into_owned()).unwrap()
    }

    #[test]
    fn replaces_placeholder_other_doi_and_case() {
        for id in ["(:tba)", "10.5438/08A0-3F64", "10.5072/abcd", ""] {
            let xml = format!("{NS}\n  <identifier identifierType=\"DOI\">{id}</identifier>\n  <titles/>\n</resource>");
            assert_eq!(
                rewrite(&xml, "10.5072/abc"),
                format!(
                    "{NS}\n  <identifier identifierType=\"DOI\">10.5072/ABC</identifier>\n  <titles/>\n</resource>"
                )
            );
        }
    }

    #[test]
    fn keeps_the_record_when_it_already_names_the_doi() {
        let xml = format!("{NS}<identifier identifierType=\"DOI\">10.5072/ABC</identifier></resource>");
        assert!(matches!(
            with_identifier(xml.as_bytes(), "10.5072/abc").unwrap(),
            Cow::Borrowed(_)
        ));
        let none = format!("{NS}<titles/></resource>");
        assert_eq!(rewrite(&none, "10.5072/abc"), none);
    }

    #[test]
    fn prefixed_empty_and_self_closing_identifiers() {
        let prefixed = r#"<ns0:resource xmlns:ns0="http://datacite.org/schema/kernel-4"><ns0:identifier identifierType="DOI">x</ns0:identifier></ns0:resource>"#;
        assert!(rewrite(prefixed, "10.5072/a")
            .contains(r#"<ns0:identifier identifierType="DOI">10.5072/A</ns0:identifier>"#));
        let closed = format!("{NS}<identifier identifierType=\"DOI\"/></resource>");
        assert!(rewrite(&closed, "10.5072/a").contains(r#"<identifier identifierType="DOI">10.5072/A</identifier>"#));
        let empty = format!("{NS}<identifier identifierType=\"DOI\"></identifier></resource>");
        assert!(rewrite(&empty, "10.5072/a").contains(r#"<identifier identifierType="DOI">10.5072/A</identifier>"#));
        let cdata = format!("{NS}<identifier identifierType=\"DOI\"><![CDATA[x]]>y</identifier></resource>");
        assert!(rewrite(&cdata, "10.5072/a").contains(r#"">10.5072/A</identifier>"#));
    }

    #[test]
    fn latin1_records_become_utf8() {
        let mut xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_vec();
        xml.extend_from_slice(NS.as_bytes());
        xml.extend_from_slice(b"<identifier identifierType=\"DOI\">x</identifier><title>\xe9</title></resource>");
        let out = String::from_utf8(with_identifier(&xml, "10.5072/a").unwrap().into_owned()).unwrap();
        assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{out}");
        assert!(out.contains("<title>é</title>"));
    }

    #[test]
    fn refuses_what_the_parser_refuses() {
        assert!(with_identifier(b"<a>", "10.5072/a").is_err());
    }
}
