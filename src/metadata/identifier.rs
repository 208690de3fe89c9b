//! Replacing a record's `<identifier>` with another DOI, as lupo's `replace_doi` does when
//! a REST request names a DOI (or a prefix to mint under) and sends XML whose identifier
//! is another DOI or a placeholder: the rest of the record is kept byte for byte.

use super::{parse, MetadataError};

/// `xml` with the text of its first `identifier` element (any namespace prefix) replaced
/// by `doi` in upper case, as lupo writes it. A record without one is returned as it is.
pub fn with_identifier(xml: &[u8], doi: &str) -> Result<Vec<u8>, MetadataError> {
    let text = parse::decode(xml)?;
    let doc = parse::parse(&text)?;
    let Some(node) = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "identifier")
    else {
        return Ok(text.into_owned().into_bytes());
    };
    let doi = doi.to_ascii_uppercase();
    let element = node.range();
    let source = &text[element.clone()];
    let (start, end, insert) = match (node.first_child(), node.last_child()) {
        (Some(first), Some(last)) => (first.range().start, last.range().end, doi),
        _ if source.ends_with("/>") => {
            let qname = source[1..]
                .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .next()
                .unwrap_or("identifier");
            (element.end - 2, element.end, format!(">{doi}</{qname}>"))
        }
        _ => {
            let at = element.start + source.rfind("</").unwrap_or(source.len());
            (at, at, doi)
        }
    };
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(&text[..start]);
    out.push_str(&insert);
    out.push_str(&text[end..]);
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced(xml: &str) -> String {
        String::from_utf8(with_identifier(xml.as_bytes(), "10.5072/abc").unwrap()).unwrap()
    }

    #[test]
    fn replaces_text_empty_and_self_closing_identifiers() {
        let r = r#"<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">10.4242/OTHER</identifier><titles/></resource>"#;
        assert_eq!(
            replaced(r),
            r#"<resource xmlns="http://datacite.org/schema/kernel-4"><identifier identifierType="DOI">10.5072/ABC</identifier><titles/></resource>"#
        );
        assert!(
            replaced(r#"<resource><identifier identifierType="DOI"></identifier></resource>"#)
                .contains(r#"<identifier identifierType="DOI">10.5072/ABC</identifier>"#)
        );
        assert!(
            replaced(r#"<resource><d:identifier xmlns:d="x" identifierType="DOI"/></resource>"#)
                .contains(r#"identifierType="DOI">10.5072/ABC</d:identifier>"#)
        );
        assert_eq!(replaced("<resource/>"), "<resource/>");
    }
}
