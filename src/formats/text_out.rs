//! The text writers: RIS, BibTeX, CSV and JATS XML, each following the bolognese writer of
//! the same name (field order, separators, which property feeds which field).

use super::model::Meta;
use serde_json::{Map, Value};

fn container_field(m: &Meta, key: &str) -> Option<String> {
    m.container()
        .and_then(|c| c.get(key).and_then(Value::as_str).map(str::to_string))
}

/// bolognese's `authors_as_string`: "Family, Given", organisations in braces, joined by " and ".
fn authors_as_string(people: &[Map<String, Value>]) -> Option<String> {
    let names: Vec<String> = people
        .iter()
        .filter_map(|p| {
            let get = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
            match (get("familyName"), get("name")) {
                (Some(f), _) => Some(format!("{f}, {}", get("givenName").unwrap_or(""))),
                (None, Some(n)) => Some(format!("{{{n}}}")),
                (None, None) => None,
            }
        })
        .collect();
    (!names.is_empty()).then(|| names.join(" and "))
}

/// `application/x-research-info-systems`: `TAG  - value` lines joined by CRLF, ending `ER  - `.
pub(crate) fn ris(m: &Meta) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut put = |tag: &str, v: Option<String>| {
        if let Some(v) = v {
            lines.push(format!("{tag}  - {v}"));
        }
    };
    put("TY", m.type_of("ris").map(str::to_string));
    put("T1", m.title().map(str::to_string));
    put("T2", container_field(m, "title"));
    for p in &m.creators {
        let get = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let name = match get("familyName") {
            Some(f) => Some(format!("{f}, {}", get("givenName").unwrap_or(""))),
            None => get("name").map(str::to_string),
        };
        put("AU", name);
    }
    put("DO", Some(m.doi.clone()));
    put("UR", m.url.map(str::to_string));
    put("AB", m.abstract_text());
    for s in m.subjects() {
        put("KW", Some(s.to_string()));
    }
    put("PY", m.publication_year());
    put("PB", m.publisher_name());
    put("LA", m.language().map(str::to_string));
    put("VL", container_field(m, "volume"));
    put("IS", container_field(m, "issue"));
    put("SP", container_field(m, "firstPage"));
    put("EP", container_field(m, "lastPage"));
    let part_of = m
        .related(&["IsPartOf"])
        .first()
        .and_then(|r| r.get("relatedIdentifier").and_then(Value::as_str).map(str::to_string));
    put("SN", part_of);
    put("ER", Some(String::new()));
    lines.join("\r\n")
}

/// `application/x-bibtex`: one entry keyed by the DOI's URL, as bibtex-ruby prints it.
pub(crate) fn bibtex(m: &Meta) -> String {
    let pages = container_field(m, "firstPage").map(|f| match container_field(m, "lastPage") {
        Some(l) => format!("{f}-{l}"),
        None => f,
    });
    let subjects = m.subjects();
    let fields: Vec<(&str, Option<String>)> = vec![
        ("doi", Some(m.doi.clone())),
        ("url", m.url.map(str::to_string)),
        ("author", authors_as_string(&m.creators)),
        ("keywords", (!subjects.is_empty()).then(|| subjects.join(", "))),
        ("language", m.language().map(str::to_string)),
        ("title", m.title().map(str::to_string)),
        ("journal", container_field(m, "title")),
        ("volume", container_field(m, "volume")),
        ("issue", container_field(m, "issue")),
        ("pages", pages),
        ("publisher", m.publisher_name()),
        ("year", m.publication_year()),
        (
            "copyright",
            m.rights()
                .first()
                .and_then(|r| r.get("rights").and_then(Value::as_str).map(str::to_string)),
        ),
    ];
    let body: Vec<String> = fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("  {k} = {{{v}}}")))
        .collect();
    format!(
        "@{}{{{},\n{}\n}}\n",
        m.type_of("bibtex").unwrap_or("misc"),
        m.id(),
        body.join(",\n")
    )
}

/// lupo's CSV header line for DOIs.
const CSV_HEADER: &str =
    "doi,url,registered,state,resourceTypeGeneral,resourceType,title,author,publisher,publicationYear\n";

/// One CSV field as Ruby's CSV writes it: quoted only when it must be.
fn csv_field(v: Option<&str>) -> String {
    match v {
        None => String::new(),
        Some(v) if v.contains([',', '"', '\n', '\r']) => format!("\"{}\"", v.replace('"', "\"\"")),
        Some(v) => v.to_string(),
    }
}

/// `text/csv`: lupo's header line, then bolognese's one row.
pub(crate) fn csv(m: &Meta) -> String {
    let registered = m.registered.map(|r| r.get(..10).unwrap_or(r));
    let row = [
        Some(m.doi.as_str()),
        m.url,
        registered,
        m.state,
        m.type_of("resourceTypeGeneral"),
        m.type_of("resourceType"),
        m.title(),
        authors_as_string(&m.creators).as_deref(),
        m.publisher_name().as_deref(),
        m.publication_year().as_deref(),
    ]
    .map(csv_field);
    format!("{CSV_HEADER}{}\n", row.join(","))
}

pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// JATS `publication-type`: from the Crossref-style resource type, else schema.org's.
fn jats_type(m: &Meta) -> Option<&'static str> {
    use crate::metadata::types::{lookup, CR_TO_JATS, SO_TO_JATS};
    m.type_of("resourceType")
        .and_then(|t| lookup(CR_TO_JATS, t))
        .or_else(|| m.type_of("schemaOrg").and_then(|t| lookup(SO_TO_JATS, t)))
}

fn person_group(out: &mut String, kind: &str, people: &[Map<String, Value>]) {
    if people.is_empty() {
        return;
    }
    out.push_str(&format!("  <person-group person-group-type=\"{kind}\">\n"));
    for p in people {
        let get = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        match (get("familyName"), get("givenName")) {
            (None, None) => out.push_str("    <name/>\n"),
            (family, given) => {
                out.push_str("    <name>\n");
                if let Some(f) = family {
                    out.push_str(&format!("      <surname>{}</surname>\n", xml_escape(f)));
                }
                if let Some(g) = given {
                    out.push_str(&format!("      <given-names>{}</given-names>\n", xml_escape(g)));
                }
                out.push_str("    </name>\n");
            }
        }
    }
    out.push_str("  </person-group>\n");
}

/// `application/vnd.jats+xml`: a JATS `element-citation`, as Nokogiri's builder prints it.
pub(crate) fn jats(m: &Meta) -> String {
    let kind = jats_type(m);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    match kind {
        Some(k) => out.push_str(&format!("<element-citation publication-type=\"{k}\">\n")),
        None => out.push_str("<element-citation>\n"),
    }
    let el = |out: &mut String, name: &str, v: Option<&str>| {
        if let Some(v) = v {
            out.push_str(&format!("  <{name}>{}</{name}>\n", xml_escape(v)));
        }
    };
    person_group(&mut out, "author", &m.creators);
    person_group(&mut out, "editor", &m.contributors);
    let title_elem = match kind {
        Some("data") => Some("data-title"),
        Some("journal") => Some("article-title"),
        Some("chapter") => Some("chapter-title"),
        _ => None,
    };
    if let Some(t) = title_elem {
        el(&mut out, t, m.title());
    }
    let container_title = container_field(m, "title");
    let source = match kind {
        Some("chapter") => m.publisher_name(),
        Some("journal") | Some("data") => container_title.or_else(|| m.publisher_name()),
        _ => m.title().map(str::to_string),
    };
    el(&mut out, "source", source.as_deref());
    if kind != Some("data") {
        if let Some(p) = m.publisher() {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            match p.get("lang").and_then(Value::as_str) {
                Some(lang) => out.push_str(&format!(
                    "  <publisher-name xml:lang=\"{}\">{}</publisher-name>\n",
                    xml_escape(lang),
                    xml_escape(name)
                )),
                None => el(&mut out, "publisher-name", Some(name)),
            }
        }
    }
    publication_date(&mut out, m);
    for (elem, key) in [
        ("volume", "volume"),
        ("issue", "issue"),
        ("fpage", "firstPage"),
        ("lpage", "lastPage"),
    ] {
        el(&mut out, elem, container_field(m, key).as_deref());
    }
    el(&mut out, "version", m.version());
    out.push_str(&format!(
        "  <pub-id pub-id-type=\"doi\">{}</pub-id>\n",
        xml_escape(&m.doi)
    ));
    out.push_str("</element-citation>\n");
    out
}

/// `<year iso-8601-date>`, `<month>`, `<day>` from the Issued date (else the publication year).
fn publication_date(out: &mut String, m: &Meta) {
    let iso = m.date("Issued").map(str::to_string).or_else(|| m.publication_year());
    let Some(iso) = iso else {
        return;
    };
    let parts = super::model::date_parts(Some(&iso));
    let parts: Vec<u64> = parts["date-parts"][0]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    if let Some(year) = parts.first() {
        out.push_str(&format!(
            "  <year iso-8601-date=\"{}\">{year}</year>\n",
            xml_escape(&iso)
        ));
    }
    if let Some(month) = parts.get(1) {
        out.push_str(&format!("  <month>{month:02}</month>\n"));
    }
    if let Some(day) = parts.get(2) {
        out.push_str(&format!("  <day>{day:02}</day>\n"));
    }
}
