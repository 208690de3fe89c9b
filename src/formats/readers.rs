//! Readers: other metadata formats → DataCite REST attributes → kernel-4 XML, and
//! format detection (poodle's `find_from_format_by_string`, from `metadata`). What MDS `PUT /metadata`
//! and `tinydoi convert` accept besides kernel-4 XML.

use super::model::is_doi;
use super::{Format, FormatError};
use crate::metadata;
use crate::metadata::types::{self as tables, lookup};
use serde_json::{json, Map, Value};

/// Crosscite's snake_case keys for the DataCite JSON ones that differ.
const SNAKE: &[(&str, &str)] = &[
    ("publication_year", "publicationYear"),
    ("rights_list", "rightsList"),
    ("geo_locations", "geoLocations"),
    ("funding_references", "fundingReferences"),
    ("related_identifiers", "relatedIdentifiers"),
    ("related_items", "relatedItems"),
];

fn parse_json(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

/// Which format `text` is in: the one detector, [`metadata::detect`] (poodle's
/// `find_from_format_by_string`), mapped onto the formats tinydoi reads and writes.
/// Crossref and codemeta, which no `Format` names, are not recognised here (their readers
/// are `crossref_to_attributes` and `codemeta_to_attributes`).
pub fn detect(text: &str) -> Option<Format> {
    let Some(found) = metadata::detect(text.as_bytes()) else {
        return crosscite_with_empty_types(text).then_some(Format::CrossciteJson);
    };
    match found {
        metadata::Format::Datacite => Some(Format::DataciteXml),
        metadata::Format::DataciteJson => Some(Format::DataciteJson),
        metadata::Format::Crosscite => Some(Format::CrossciteJson),
        metadata::Format::SchemaOrg => Some(Format::SchemaOrg),
        metadata::Format::Citeproc => Some(Format::Citeproc),
        metadata::Format::Ris => Some(Format::Ris),
        metadata::Format::Bibtex => Some(Format::Bibtex),
        metadata::Format::Crossref | metadata::Format::Codemeta => None,
    }
}

/// bolognese's Crosscite rule with `types` merely given (`{}` too) and a
/// `publication_year`: JSON that poodle (and so MDS) refuses as unrecognised, but that
/// `tinydoi convert` reads as Crosscite, as bolognese's own reader would.
fn crosscite_with_empty_types(text: &str) -> bool {
    let given = |json: &Map<String, Value>, key: &str| json.get(key).is_some_and(|v| !v.is_null());
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(json)) => given(&json, "types") && given(&json, "publication_year"),
        _ => false,
    }
}

/// A reader of a text format (BibTeX, RIS): the text → the DOI it names and attributes.
type TextReader = fn(&str) -> (Option<String>, Map<String, Value>);

/// A JSON reader: the input object → the DOI it names and DataCite REST attributes.
type Reader = fn(&Map<String, Value>) -> (Option<String>, Map<String, Value>);

/// Reads `text` in `format` into DataCite REST attributes, with the DOI the text names.
pub fn to_attributes(format: Format, text: &str) -> Result<(Option<String>, Map<String, Value>), FormatError> {
    if text.len() > metadata::MAX_XML_BYTES {
        return Err(FormatError::TooLarge);
    }
    if format == Format::DataciteXml {
        let attrs = metadata::xml_to_json(text.as_bytes()).map_err(FormatError::Metadata)?;
        let doi = metadata::doi_of(text.as_bytes()).ok().flatten();
        return Ok((doi, attrs));
    }
    let text_reader: Option<TextReader> = match format {
        Format::Bibtex => Some(bibtex),
        Format::Ris => Some(ris),
        _ => None,
    };
    if let Some(read) = text_reader {
        let (doi, mut attrs) = read(text);
        attrs.insert("schemaVersion".into(), json!(metadata::KERNEL4_NS));
        return Ok((doi, attrs));
    }
    let reader: Reader = match format {
        Format::DataciteJson => |o| datacite_json(o, false),
        Format::CrossciteJson => |o| datacite_json(o, true),
        Format::Citeproc => citeproc,
        Format::SchemaOrg => schema_org,
        other => return Err(FormatError::NotReadable(other)),
    };
    let o = parse_json(text).ok_or(FormatError::NotJson)?;
    let (doi, mut attrs) = reader(&o);
    attrs.insert("schemaVersion".into(), json!(metadata::KERNEL4_NS));
    Ok((doi, attrs))
}

/// Reads `text` in `format` and writes it as kernel-4 XML. The DOI is `doi` when given,
/// else the one the text names, else empty (the XML then names none). The XML is not
/// validated: callers validate it as they validate any upload.
pub fn to_kernel4(format: Format, text: &str, doi: Option<&str>) -> Result<String, FormatError> {
    let (named, attrs) = to_attributes(format, text)?;
    let doi = doi.map(str::to_string).or(named).unwrap_or_default();
    Ok(metadata::json_to_xml(&doi.to_uppercase(), &attrs))
}

/// The DOI in an identifier such as `https://doi.org/10.5072/x`, `doi:10.5072/x` or a bare DOI.
pub(super) fn doi_from(id: &str) -> Option<String> {
    let id = id.trim();
    let bare = [
        "https://doi.org/",
        "http://doi.org/",
        "https://dx.doi.org/",
        "http://dx.doi.org/",
        "doi:",
    ]
    .iter()
    .find_map(|p| id.strip_prefix(p))
    .unwrap_or(id);
    is_doi(bare).then(|| bare.to_string())
}

/// DataCite JSON (camelCase) or Crosscite JSON (`snake`): the metadata properties as they are.
fn datacite_json(o: &Map<String, Value>, snake: bool) -> (Option<String>, Map<String, Value>) {
    let mut attrs = Map::new();
    for (k, v) in o {
        let key = if snake {
            SNAKE.iter().find(|(s, _)| s == k).map_or(k.as_str(), |(_, c)| c)
        } else {
            k.as_str()
        };
        if metadata::PROPERTIES.contains(&key) && !v.is_null() {
            attrs.insert(key.to_string(), v.clone());
        }
    }
    // Only the two kernel-4 properties of `types`; the derived ones are not metadata.
    if let Some(Value::Object(t)) = attrs.get_mut("types") {
        t.retain(|k, _| k == "resourceTypeGeneral" || k == "resourceType");
    }
    let doi = o
        .get("doi")
        .and_then(Value::as_str)
        .and_then(doi_from)
        .or_else(|| o.get("id").and_then(Value::as_str).and_then(doi_from));
    (doi, attrs)
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A citeproc name → a DataCite creator/contributor.
fn from_csl_name(n: &Value, contributor_type: Option<&str>) -> Value {
    let family = text_of(n.get("family"));
    let given = text_of(n.get("given"));
    let mut p = Map::new();
    match (&family, text_of(n.get("literal"))) {
        (Some(f), _) => {
            let name = match &given {
                Some(g) => format!("{f}, {g}"),
                None => f.clone(),
            };
            p.insert("name".into(), json!(name));
            p.insert("nameType".into(), json!("Personal"));
            if let Some(g) = &given {
                p.insert("givenName".into(), json!(g));
            }
            p.insert("familyName".into(), json!(f));
        }
        (None, literal) => {
            p.insert("name".into(), json!(literal.unwrap_or_default()));
            p.insert("nameType".into(), json!("Organizational"));
        }
    }
    if let Some(t) = contributor_type {
        p.insert("contributorType".into(), json!(t));
    }
    Value::Object(p)
}

fn issued_iso(issued: Option<&Value>) -> Option<String> {
    let parts = issued?.get("date-parts")?.get(0)?.as_array()?;
    let nums: Vec<u64> = parts
        .iter()
        .filter_map(|p| p.as_u64().or_else(|| p.as_str().and_then(|s| s.parse().ok())))
        .collect();
    match nums.as_slice() {
        [y] => Some(format!("{y:04}")),
        [y, m] => Some(format!("{y:04}-{m:02}")),
        [y, m, d, ..] => Some(format!("{y:04}-{m:02}-{d:02}")),
        [] => None,
    }
}

/// citeproc (CSL JSON) → attributes, after bolognese's citeproc reader.
fn citeproc(o: &Map<String, Value>) -> (Option<String>, Map<String, Value>) {
    let mut a = Map::new();
    let kind = text_of(o.get("type")).unwrap_or_else(|| "article".into());
    let general = lookup(tables::CP_TO_DC, &kind).unwrap_or("Text");
    a.insert(
        "types".into(),
        json!({"resourceTypeGeneral": general, "resourceType": tables::camelcase(&kind)}),
    );
    let names = |key: &str, t: Option<&str>| -> Vec<Value> {
        o.get(key)
            .and_then(Value::as_array)
            .map(|l| l.iter().map(|n| from_csl_name(n, t)).collect())
            .unwrap_or_default()
    };
    a.insert("creators".into(), Value::Array(names("author", None)));
    a.insert("contributors".into(), Value::Array(names("editor", Some("Editor"))));
    if let Some(t) = text_of(o.get("title")) {
        a.insert("titles".into(), json!([{ "title": t }]));
    }
    if let Some(p) = text_of(o.get("publisher")) {
        a.insert("publisher".into(), json!(p));
    }
    let issued = issued_iso(o.get("issued"));
    if let Some(year) = issued.as_deref().and_then(|d| d.get(..4)) {
        a.insert("publicationYear".into(), json!(year));
    }
    if let Some(d) = issued {
        a.insert("dates".into(), json!([{ "date": d, "dateType": "Issued" }]));
    }
    if let Some(d) = text_of(o.get("abstract")) {
        a.insert(
            "descriptions".into(),
            json!([{ "description": d, "descriptionType": "Abstract" }]),
        );
    }
    if let Some(c) = o.get("categories").and_then(Value::as_array) {
        let subjects: Vec<Value> = c
            .iter()
            .filter_map(|s| text_of(Some(s)))
            .map(|s| json!({ "subject": s }))
            .collect();
        a.insert("subjects".into(), Value::Array(subjects));
    }
    if let Some(r) = text_of(o.get("copyright")) {
        a.insert("rightsList".into(), json!([{ "rights": r }]));
    }
    for (from, to) in [("language", "language"), ("version", "version")] {
        if let Some(v) = text_of(o.get(from)) {
            a.insert(to.into(), json!(v));
        }
    }
    if let Some(item) = csl_container(o, &kind) {
        a.insert("relatedItems".into(), json!([item]));
    }
    let doi = text_of(o.get("DOI"))
        .and_then(|d| doi_from(&d))
        .or_else(|| text_of(o.get("id")).and_then(|d| doi_from(&d)));
    (doi, a)
}

/// A citeproc container (journal, book) as an `IsPublishedIn` related item.
fn csl_container(o: &Map<String, Value>, kind: &str) -> Option<Value> {
    let title = text_of(o.get("container-title"))?;
    let item_type = match kind {
        "article-journal" => "Journal",
        "chapter" => "Book",
        _ => "Collection",
    };
    let mut item = Map::new();
    item.insert("relatedItemType".into(), json!(item_type));
    item.insert("relationType".into(), json!("IsPublishedIn"));
    item.insert("titles".into(), json!([{ "title": title }]));
    for (from, to) in [("volume", "volume"), ("issue", "issue"), ("edition", "edition")] {
        if let Some(v) = text_of(o.get(from)) {
            item.insert(to.into(), json!(v));
        }
    }
    let page = text_of(o.get("page"));
    let mut pages = page.as_deref().unwrap_or("").splitn(2, '-');
    if let Some(first) =
        text_of(o.get("page-first")).or_else(|| pages.next().filter(|p| !p.is_empty()).map(str::to_string))
    {
        item.insert("firstPage".into(), json!(first));
    }
    if let Some(last) = page.as_deref().and_then(|p| p.split_once('-')).map(|(_, l)| l.trim()) {
        item.insert("lastPage".into(), json!(last));
    }
    Some(Value::Object(item))
}

/// A schema.org value that may be one item or a list.
fn many(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// A schema.org Person/Organization → a DataCite creator/contributor.
fn from_schema_org_person(p: &Value, contributor_type: Option<&str>) -> Value {
    let kind = match p.get("@type") {
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t == "Person" || *t == "Organization"),
        Some(t) => t.as_str(),
        None => None,
    };
    let family = text_of(p.get("familyName"));
    let given = text_of(p.get("givenName"));
    let name = match (&family, &given) {
        (Some(f), Some(g)) => format!("{f}, {g}"),
        _ => text_of(p.get("name")).or_else(|| text_of(Some(p))).unwrap_or_default(),
    };
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    match kind {
        Some("Person") => {
            out.insert("nameType".into(), json!("Personal"));
        }
        Some("Organization") => {
            out.insert("nameType".into(), json!("Organizational"));
        }
        _ => {}
    }
    if let Some(g) = given {
        out.insert("givenName".into(), json!(g));
    }
    if let Some(f) = family {
        out.insert("familyName".into(), json!(f));
    }
    if let Some(id) = text_of(p.get("@id")).filter(|id| id.contains("orcid.org/")) {
        out.insert(
            "nameIdentifiers".into(),
            json!([{ "nameIdentifier": id, "nameIdentifierScheme": "ORCID", "schemeUri": "https://orcid.org" }]),
        );
    }
    let affiliations: Vec<Value> = many(p.get("affiliation"))
        .into_iter()
        .map(|a| {
            let name = text_of(a.get("name")).or_else(|| text_of(Some(a))).unwrap_or_default();
            match text_of(a.get("@id")).filter(|id| id.starts_with("https://ror.org/")) {
                Some(id) => json!({ "name": name, "affiliationIdentifier": id, "affiliationIdentifierScheme": "ROR", "schemeUri": "https://ror.org/" }),
                None => json!({ "name": name }),
            }
        })
        .collect();
    if !affiliations.is_empty() {
        out.insert("affiliation".into(), Value::Array(affiliations));
    }
    if let Some(t) = contributor_type {
        out.insert("contributorType".into(), json!(t));
    }
    Value::Object(out)
}

/// schema.org JSON-LD → attributes, after bolognese's schema_org reader.
fn schema_org(o: &Map<String, Value>) -> (Option<String>, Map<String, Value>) {
    let mut a = Map::new();
    let kind = match o.get("@type") {
        Some(Value::Array(ts)) => ts.iter().find_map(Value::as_str).unwrap_or("CreativeWork").to_string(),
        other => text_of(other).unwrap_or_else(|| "CreativeWork".into()),
    };
    let general = lookup(tables::SO_TO_DC, &kind).unwrap_or("Other");
    let specific = text_of(o.get("additionalType")).unwrap_or_else(|| kind.clone());
    // bolognese's `content_url`: `Array.wrap(meta["contentUrl"])`.
    let content: Vec<Value> = match o.get("contentUrl") {
        Some(Value::Array(urls)) => urls.iter().filter(|u| u.is_string()).cloned().collect(),
        Some(u @ Value::String(_)) => vec![u.clone()],
        _ => Vec::new(),
    };
    if !content.is_empty() {
        a.insert("contentUrl".into(), Value::Array(content));
    }
    a.insert(
        "types".into(),
        json!({"resourceTypeGeneral": general, "resourceType": specific}),
    );
    let authors = o.get("author").or_else(|| o.get("creator"));
    a.insert(
        "creators".into(),
        Value::Array(
            many(authors)
                .into_iter()
                .map(|p| from_schema_org_person(p, None))
                .collect(),
        ),
    );
    let editors = many(o.get("editor"))
        .into_iter()
        .map(|p| from_schema_org_person(p, Some("Editor")));
    a.insert("contributors".into(), Value::Array(editors.collect()));
    if let Some(t) = text_of(o.get("name")).or_else(|| text_of(o.get("headline"))) {
        a.insert("titles".into(), json!([{ "title": t }]));
    }
    if let Some(p) = o.get("publisher") {
        if let Some(name) = text_of(p.get("name")).or_else(|| text_of(Some(p))) {
            a.insert("publisher".into(), json!(name));
        }
    }
    schema_org_dates(o, &mut a);
    schema_org_lists(o, &mut a);
    let doi = text_of(o.get("@id")).and_then(|d| doi_from(&d)).or_else(|| {
        many(o.get("identifier")).into_iter().find_map(|i| {
            text_of(i.get("value"))
                .or_else(|| text_of(Some(i)))
                .and_then(|d| doi_from(&d))
        })
    });
    (doi, a)
}

fn schema_org_dates(o: &Map<String, Value>, a: &mut Map<String, Value>) {
    let mut dates = Vec::new();
    for (key, kind) in [
        ("datePublished", "Issued"),
        ("dateCreated", "Created"),
        ("dateModified", "Updated"),
        ("temporalCoverage", "Coverage"),
    ] {
        if let Some(d) = text_of(o.get(key)) {
            dates.push(json!({ "date": d, "dateType": kind }));
        }
    }
    let year = text_of(o.get("datePublished"))
        .or_else(|| text_of(o.get("dateCreated")))
        .and_then(|d| d.get(..4).map(str::to_string));
    if let Some(y) = year {
        a.insert("publicationYear".into(), json!(y));
    }
    a.insert("dates".into(), Value::Array(dates));
}

fn schema_org_lists(o: &Map<String, Value>, a: &mut Map<String, Value>) {
    if let Some(d) = text_of(o.get("description")) {
        a.insert(
            "descriptions".into(),
            json!([{ "description": d, "descriptionType": "Abstract" }]),
        );
    }
    let keywords: Vec<Value> = match o.get("keywords") {
        Some(Value::Array(k)) => k
            .iter()
            .filter_map(|s| text_of(Some(s)))
            .map(|s| json!({ "subject": s }))
            .collect(),
        Some(Value::String(k)) => k
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| json!({ "subject": s }))
            .collect(),
        _ => Vec::new(),
    };
    a.insert("subjects".into(), Value::Array(keywords));
    let rights: Vec<Value> = many(o.get("license"))
        .into_iter()
        .filter_map(|l| text_of(Some(l)))
        .map(|l| json!({ "rightsUri": l }))
        .collect();
    a.insert("rightsList".into(), Value::Array(rights));
    for (from, to) in [("version", "version"), ("inLanguage", "language")] {
        if let Some(v) = text_of(o.get(from)) {
            a.insert(to.into(), json!(v));
        }
    }
    for (from, to) in [("contentSize", "sizes"), ("encodingFormat", "formats")] {
        let items: Vec<Value> = many(o.get(from))
            .into_iter()
            .filter_map(|v| text_of(Some(v)))
            .map(Value::String)
            .collect();
        a.insert(to.into(), Value::Array(items));
    }
    let identifiers: Vec<Value> = many(o.get("identifier"))
        .into_iter()
        .filter(|i| i.get("propertyID").is_some())
        .filter_map(|i| {
            Some(json!({ "identifier": text_of(i.get("value"))?, "identifierType": text_of(i.get("propertyID"))? }))
        })
        .collect();
    a.insert("identifiers".into(), Value::Array(identifiers));
    a.insert("relatedIdentifiers".into(), Value::Array(schema_org_relations(o)));
    a.insert("fundingReferences".into(), Value::Array(schema_org_funders(o)));
}

/// `isPartOf`, `hasPart`, `citation`, `sameAs`, `isBasedOn` → related identifiers.
fn schema_org_relations(o: &Map<String, Value>) -> Vec<Value> {
    let mut related = Vec::new();
    for (key, relation) in [
        ("isPartOf", "IsPartOf"),
        ("hasPart", "HasPart"),
        ("citation", "References"),
        ("sameAs", "IsIdenticalTo"),
        ("isBasedOn", "IsSupplementTo"),
    ] {
        for r in many(o.get(key)) {
            let Some(id) = text_of(r.get("@id")).or_else(|| text_of(Some(r))) else {
                continue;
            };
            let (id, id_type) = match doi_from(&id) {
                Some(d) => (d, "DOI"),
                None => (id, "URL"),
            };
            related
                .push(json!({ "relatedIdentifier": id, "relatedIdentifierType": id_type, "relationType": relation }));
        }
    }
    related
}

/// `funder` organisations → funding references.
fn schema_org_funders(o: &Map<String, Value>) -> Vec<Value> {
    many(o.get("funder"))
        .into_iter()
        .filter_map(|f| {
            let name = text_of(f.get("name"))?;
            let mut fr = json!({ "funderName": name });
            if let Some(id) = text_of(f.get("@id")) {
                fr["funderIdentifier"] = json!(id);
                fr["funderIdentifierType"] = json!(if id.contains("doi.org/10.13039") {
                    "Crossref Funder ID"
                } else {
                    "Other"
                });
            }
            Some(fr)
        })
        .collect()
}

/// bolognese's `BIB_TO_DC_TRANSLATIONS`, `BIB_TO_CR_TRANSLATIONS`.
const BIB_TO_DC: tables::Table = &[
    ("article", "JournalArticle"),
    ("book", "Book"),
    ("inbook", "BookChapter"),
    ("misc", "Other"),
    ("phdthesis", "Dissertation"),
    ("proceedings", "ConferenceProceeding"),
    ("techreport", "Report"),
];
const BIB_TO_CR: tables::Table = &[
    ("proceedings", "Proceedings"),
    ("phdthesis", "Dissertation"),
    ("article", "JournalArticle"),
    ("book", "Book"),
    ("inbook", "BookChapter"),
];

/// The first entry of a BibTeX text: its type and its fields (names lower case, values
/// without their braces or quotes).
fn bibtex_entry(text: &str) -> Option<(String, Vec<(String, String)>)> {
    let at = text.find('@')?;
    let rest = &text[at + 1..];
    let open = rest.find(['{', '('])?;
    let kind = rest[..open].trim().to_ascii_lowercase();
    let body: Vec<char> = rest[open + 1..].chars().collect();
    // Skip the citation key.
    let mut i = body.iter().position(|c| *c == ',')? + 1;
    let mut fields = Vec::new();
    loop {
        while i < body.len() && (body[i].is_whitespace() || body[i] == ',') {
            i += 1;
        }
        if i >= body.len() || body[i] == '}' || body[i] == ')' {
            break;
        }
        let start = i;
        while i < body.len() && body[i] != '=' {
            i += 1;
        }
        let name: String = body[start..i.min(body.len())]
            .iter()
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        i += 1;
        while i < body.len() && body[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        match body.get(i) {
            Some('{') | Some('"') => {
                let close = if body[i] == '{' { '}' } else { '"' };
                let mut depth = 0usize;
                i += 1;
                while i < body.len() {
                    let c = body[i];
                    if c == '{' {
                        depth += 1;
                    } else if c == '}' && depth > 0 {
                        depth -= 1;
                    } else if c == close && depth == 0 {
                        break;
                    } else {
                        value.push(c);
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => {
                while i < body.len() && body[i] != ',' && body[i] != '}' {
                    value.push(body[i]);
                    i += 1;
                }
            }
        }
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        if !name.is_empty() {
            fields.push((name, value));
        }
    }
    Some((kind, fields))
}

/// A BibTeX name (`First Last` or `Last, First`) → a personal creator, as bibtex-ruby
/// splits it.
fn bibtex_name(name: &str) -> Value {
    let (given, family) = match name.split_once(',') {
        Some((last, first)) => (first.trim().to_string(), last.trim().to_string()),
        None => match name.trim().rsplit_once(' ') {
            Some((first, last)) => (first.trim().to_string(), last.trim().to_string()),
            None => (String::new(), name.trim().to_string()),
        },
    };
    let mut p = Map::new();
    p.insert("nameType".into(), json!("Personal"));
    let full = if given.is_empty() {
        family.clone()
    } else {
        format!("{family}, {given}")
    };
    p.insert("name".into(), json!(full));
    if !given.is_empty() {
        p.insert("givenName".into(), json!(given));
    }
    p.insert("familyName".into(), json!(family));
    Value::Object(p)
}

/// BibTeX → attributes, after bolognese's `read_bibtex` (the first entry).
fn bibtex(text: &str) -> (Option<String>, Map<String, Value>) {
    let mut a = Map::new();
    let Some((kind, fields)) = bibtex_entry(text) else {
        return (None, a);
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let mut types = Map::new();
    if let Some(general) = lookup(BIB_TO_DC, &kind) {
        types.insert("resourceTypeGeneral".into(), json!(general));
    }
    types.insert("resourceType".into(), json!(lookup(BIB_TO_CR, &kind).unwrap_or(&kind)));
    types.insert("bibtex".into(), json!(kind));
    a.insert("types".into(), Value::Object(types));
    if let Some(t) = field("title") {
        a.insert("titles".into(), json!([{ "title": t }]));
    }
    let authors: Vec<Value> = field("author")
        .map(|all| all.split(" and ").map(bibtex_name).collect())
        .unwrap_or_default();
    a.insert("creators".into(), Value::Array(authors));
    if let Some(p) = field("publisher") {
        a.insert("publisher".into(), json!({ "name": p }));
    }
    // bibtex-ruby's `date` is the year (a month makes no EDTF date of it in bolognese's
    // examples: `year = 2014, month = {feb}` gives the issued date 2014).
    if let Some(year) = field("year").filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())) {
        a.insert("publicationYear".into(), json!(year));
        a.insert("dates".into(), json!([{ "date": year, "dateType": "Issued" }]));
    }
    if let Some(d) = field("abstract") {
        a.insert(
            "descriptions".into(),
            json!([{ "description": d, "descriptionType": "Abstract" }]),
        );
    }
    if let Some(journal) = field("journal") {
        let mut item = Map::new();
        item.insert("relationType".into(), json!("IsPublishedIn"));
        item.insert("relatedItemType".into(), json!("Journal"));
        item.insert("titles".into(), json!([{ "title": journal }]));
        if let Some(issn) = field("issn") {
            item.insert(
                "relatedItemIdentifier".into(),
                json!({"relatedItemIdentifier": issn, "relatedItemIdentifierType": "ISSN"}),
            );
        }
        if let Some(v) = field("volume") {
            item.insert("volume".into(), json!(v));
        }
        a.insert("relatedItems".into(), json!([Value::Object(item)]));
    }
    if let Some(r) = field("copyright") {
        a.insert("rightsList".into(), json!([{ "rightsUri": r }]));
    }
    (field("doi").and_then(|d| doi_from(&d)), a)
}

/// RIS → attributes, after bolognese's `read_ris`.
fn ris(text: &str) -> (Option<String>, Map<String, Value>) {
    let mut tags: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('-') {
            tags.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let one = |tag: &str| {
        tags.iter()
            .find(|(k, _)| k == tag)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let all = |tag: &str| -> Vec<String> {
        tags.iter()
            .filter(|(k, v)| k == tag && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut a = Map::new();
    let kind = one("TY").unwrap_or_else(|| "GEN".into());
    let general = match kind.as_str() {
        "BLOG" | "GEN" | "ELEC" => Some("Text"),
        "CTLG" => Some("Collection"),
        "DATA" => Some("Dataset"),
        "FIGURE" => Some("Image"),
        "THES" => Some("Dissertation"),
        "MPCT" | "VIDEO" => Some("Audiovisual"),
        "JOUR" => Some("JournalArticle"),
        "COMP" => Some("Software"),
        _ => None,
    };
    let mut types = Map::new();
    if let Some(g) = general {
        types.insert("resourceTypeGeneral".into(), json!(g));
    }
    types.insert("ris".into(), json!(kind));
    a.insert("types".into(), Value::Object(types));
    if let Some(t) = one("T1").or_else(|| one("TI")) {
        a.insert("titles".into(), json!([{ "title": t }]));
    }
    let creators: Vec<Value> = all("AU").iter().map(|n| bibtex_name(n)).collect();
    a.insert("creators".into(), Value::Array(creators));
    a.insert(
        "publisher".into(),
        json!({ "name": one("PB").unwrap_or_else(|| "(:unav)".into()) }),
    );
    let mut dates = Vec::new();
    if let Some(py) = one("PY") {
        let date = py.split('/').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
        if let Some(year) = date.get(..4) {
            a.insert("publicationYear".into(), json!(year));
        }
        dates.push(json!({ "date": date, "dateType": "Issued" }));
    }
    a.insert("dates".into(), Value::Array(dates));
    if let Some(d) = one("AB") {
        a.insert(
            "descriptions".into(),
            json!([{ "description": d, "descriptionType": "Abstract" }]),
        );
    }
    if let Some(journal) = one("T2") {
        let mut item = Map::new();
        item.insert("relationType".into(), json!("IsPublishedIn"));
        item.insert("relatedItemType".into(), json!("Journal"));
        item.insert("titles".into(), json!([{ "title": journal }]));
        for (tag, key) in [
            ("VL", "volume"),
            ("IS", "issue"),
            ("SP", "firstPage"),
            ("EP", "lastPage"),
        ] {
            if let Some(v) = one(tag) {
                item.insert(key.into(), json!(v));
            }
        }
        a.insert("relatedItems".into(), json!([Value::Object(item)]));
    }
    if let Some(l) = one("LA") {
        a.insert("language".into(), json!(l));
    }
    (one("DO").and_then(|d| doi_from(&d)), a)
}

/// codemeta JSON → attributes, after bolognese's `read_codemeta`: schema.org's reading with
/// codemeta's names for the authors (`agents`, `authors`) and the title (`title`).
pub fn codemeta_to_attributes(text: &str) -> Result<(Option<String>, Map<String, Value>), FormatError> {
    if text.len() > metadata::MAX_XML_BYTES {
        return Err(FormatError::TooLarge);
    }
    let mut o = parse_json(text).ok_or(FormatError::NotJson)?;
    let authors = o.get("agents").or_else(|| o.get("authors")).cloned();
    if let Some(authors) = authors {
        o.insert("author".into(), authors);
    }
    if let Some(title) = o.get("title").cloned() {
        o.insert("name".into(), title);
    }
    let (doi, mut attrs) = schema_org(&o);
    attrs.insert("schemaVersion".into(), json!(metadata::KERNEL4_NS));
    Ok((doi, attrs))
}
