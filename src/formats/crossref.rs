//! Crossref XML (the `crossref_result` a Crossref query returns, unixsd) → DataCite REST
//! attributes, after bolognese's `read_crossref`: what lupo reads from a REST `xml`
//! attribute in Crossref XML. Parsed with the guarded parser of `metadata` (size, depth,
//! node count, no DOCTYPE), as every untrusted XML is. Elements are matched by local name,
//! as bolognese's `Maremma.from_xml` drops namespace prefixes (`jats:abstract`, `fr:program`).

use super::FormatError;
use crate::metadata;
use roxmltree::Node;
use serde_json::{json, Map, Value};

/// bolognese's `find_from_format_by_string` test for Crossref (lupo's detection, not
/// poodle's): `crossref_result/query_result/body/query/doi_record/crossref`. Hostile or
/// broken XML is not Crossref.
pub fn is_crossref(text: &str) -> bool {
    if text.len() > metadata::MAX_XML_BYTES {
        return false;
    }
    let Ok(doc) = metadata::parse_guarded(text) else {
        return false;
    };
    crossref_element(doc.root_element()).is_some()
}

/// The `crossref` element of a query result, when `root` is one.
fn crossref_element<'a, 'i>(root: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    (root.tag_name().name() == "crossref_result")
        .then(|| path(root, &["query_result", "body", "query", "doi_record", "crossref"]))
        .flatten()
}

/// The first child element named `name` (local name).
fn kid<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// Every child element named `name`.
fn kids<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| kid(n, name))
}

/// ActiveSupport's `squish`: whitespace runs become one space, ends trimmed.
fn squish(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An element's own text (Maremma's `__content__`: nested elements left out), squished;
/// `None` when blank.
fn own_text(node: Node<'_, '_>) -> Option<String> {
    Some(squish(&metadata::text_of_node(node))).filter(|s| !s.is_empty())
}

/// All the text inside an element, squished (bolognese's `sanitize` keeps the words of
/// inline markup).
fn all_text(node: Node<'_, '_>) -> Option<String> {
    Some(squish(&metadata::deep_text_of_node(node))).filter(|s| !s.is_empty())
}

fn text_at(node: Node<'_, '_>, names: &[&str]) -> Option<String> {
    path(node, names).and_then(own_text)
}

/// ActiveSupport's `underscore.camelcase`: `journal_article` → `JournalArticle`,
/// `book-chapter` → `BookChapter`.
fn camelcase(s: &str) -> String {
    s.split(['_', '-'])
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect()
            })
        })
        .collect()
}

/// bolognese's `CR_TO_*_TRANSLATIONS`, by Crossref type: resourceTypeGeneral, schema.org,
/// citeproc, BibTeX, RIS (`None` where bolognese maps to nil).
type Row = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);
const TYPES: &[Row] = &[
    ("Proceedings", None, None, None, Some("proceedings"), Some("CONF")),
    ("ReferenceBook", None, Some("Book"), None, Some("book"), Some("BOOK")),
    ("JournalIssue", Some("Text"), Some("PublicationIssue"), None, None, None),
    (
        "ProceedingsArticle",
        Some("ConferencePaper"),
        None,
        Some("paper-conference"),
        None,
        Some("CPAPER"),
    ),
    ("Other", Some("Other"), Some("CreativeWork"), None, None, Some("GEN")),
    (
        "Dissertation",
        Some("Dissertation"),
        Some("Thesis"),
        Some("thesis"),
        Some("phdthesis"),
        Some("THES"),
    ),
    (
        "Dataset",
        Some("Dataset"),
        Some("Dataset"),
        Some("dataset"),
        None,
        Some("DATA"),
    ),
    (
        "EditedBook",
        Some("Book"),
        Some("Book"),
        Some("book"),
        Some("book"),
        Some("BOOK"),
    ),
    (
        "JournalArticle",
        Some("JournalArticle"),
        Some("ScholarlyArticle"),
        Some("article-journal"),
        Some("article"),
        Some("JOUR"),
    ),
    ("Journal", Some("Journal"), None, None, None, None),
    (
        "Report",
        Some("Report"),
        Some("Report"),
        Some("report"),
        Some("techreport"),
        Some("RPRT"),
    ),
    ("Standard", Some("Standard"), None, None, None, Some("STAND")),
    (
        "BookSection",
        Some("BookChapter"),
        None,
        Some("chapter"),
        Some("inbook"),
        Some("CHAP"),
    ),
    ("BookPart", None, None, None, None, Some("CHAP")),
    (
        "Book",
        Some("Book"),
        Some("Book"),
        Some("book"),
        Some("book"),
        Some("BOOK"),
    ),
    (
        "BookChapter",
        Some("BookChapter"),
        Some("Chapter"),
        Some("chapter"),
        Some("inbook"),
        Some("CHAP"),
    ),
    ("SaComponent", Some("Text"), None, None, None, None),
    ("StandardSeries", Some("Standard"), None, None, None, None),
    // bolognese's table says `book` (lower case) for a monograph's resourceTypeGeneral.
    (
        "Monograph",
        Some("book"),
        Some("Book"),
        Some("book"),
        Some("book"),
        Some("BOOK"),
    ),
    ("Component", None, Some("CreativeWork"), None, None, None),
    (
        "ReferenceEntry",
        None,
        None,
        Some("entry-dictionary"),
        None,
        Some("DICT"),
    ),
    ("JournalVolume", None, Some("PublicationVolume"), None, None, None),
    (
        "PostedContent",
        Some("JournalArticle"),
        Some("ScholarlyArticle"),
        None,
        Some("article"),
        None,
    ),
    ("PeerReview", Some("PeerReview"), Some("Review"), None, None, None),
];

/// Crossref XML → the DOI it names (lower case, as bolognese's `normalize_doi`) and
/// DataCite REST attributes. XML that is not a Crossref query result reads as an empty
/// record (bolognese's `meta = {}`); XML the guarded parser refuses is an error.
pub fn crossref_to_attributes(text: &str) -> Result<(Option<String>, Map<String, Value>), FormatError> {
    if text.len() > metadata::MAX_XML_BYTES {
        return Err(FormatError::TooLarge);
    }
    let doc = metadata::parse_guarded(text).map_err(FormatError::Metadata)?;
    let root = doc.root_element();
    let query = (root.tag_name().name() == "crossref_result")
        .then(|| path(root, &["query_result", "body", "query"]))
        .flatten();
    // A Crossref error answer carries no metadata.
    let crossref = crossref_element(root).filter(|c| kid(*c, "error").is_none());
    let (doi, mut attrs) = read(query, crossref);
    attrs.insert("schemaVersion".into(), json!(metadata::KERNEL4_NS));
    Ok((doi, attrs))
}

fn read(query: Option<Node<'_, '_>>, crossref: Option<Node<'_, '_>>) -> (Option<String>, Map<String, Value>) {
    let crm_items: Vec<Node<'_, '_>> = query.map(|q| kids(q, "crm-item").collect()).unwrap_or_default();
    let crm = |name: &str| {
        crm_items
            .iter()
            .find(|i| i.attribute("name") == Some(name))
            .and_then(|i| own_text(*i))
    };
    // The first crm-item, when a string: Crossref's publisher-name.
    let mut publisher = crm_items
        .first()
        .filter(|i| i.attribute("type") == Some("string"))
        .and_then(|i| own_text(*i));

    // bolognese's `model`: the last kind of element in <crossref>.
    let model_node = crossref.and_then(|c| c.last_element_child());
    let model = model_node.map(|m| m.tag_name().name().to_string()).unwrap_or_default();
    let mut resource_type: Option<String> = None;
    let mut bib: Option<Node<'_, '_>> = None;
    let mut programs: Vec<Node<'_, '_>> = Vec::new();
    let mut journal_metadata: Option<Node<'_, '_>> = None;
    let mut book_metadata: Option<Node<'_, '_>> = None;
    let mut book_series: Option<Node<'_, '_>> = None;
    let mut journal_issue: Option<Node<'_, '_>> = None;
    let mut journal_article: Option<Node<'_, '_>> = None;
    if let Some(m) = model_node {
        match model.as_str() {
            "book" => {
                book_metadata = kid(m, "book_metadata");
                book_series = kid(m, "book_series_metadata");
                bib = kid(m, "content_item")
                    .or(book_metadata)
                    .or(book_series)
                    .or_else(|| kid(m, "book_set_metadata"));
                resource_type = Some(match bib.and_then(|b| b.attribute("component_type")) {
                    Some(component) => format!("book-{component}"),
                    None => "book".into(),
                });
            }
            "conference" => bib = kid(m, "conference_paper"),
            "journal" => {
                journal_metadata = kid(m, "journal_metadata");
                let issue = kid(m, "journal_issue");
                let article = kid(m, "journal_article");
                (journal_issue, journal_article) = (issue, article);
                bib = article.or(issue).or(journal_metadata);
                resource_type = Some(
                    if article.is_some() {
                        "journal_article"
                    } else if issue.is_some() {
                        "journal_issue"
                    } else {
                        "journal"
                    }
                    .into(),
                );
                if let Some(b) = bib {
                    programs = match path(b, &["crossmark", "custom_metadata"]) {
                        Some(custom) if kid(custom, "program").is_some() => kids(custom, "program").collect(),
                        _ => kids(b, "program").collect(),
                    };
                }
            }
            "posted_content" => {
                bib = Some(m);
                publisher = publisher.or_else(|| text_at(m, &["institution", "institution_name"]));
            }
            "sa_component" => bib = path(m, &["component_list", "component"]),
            "database" => {
                bib = kid(m, "dataset");
                resource_type = Some("dataset".into());
            }
            "report_paper" => {
                bib = kid(m, "report_paper_metadata");
                resource_type = Some("report".into());
            }
            "peer_review" | "dissertation" => bib = Some(m),
            _ => {}
        }
    }

    let mut a = Map::new();
    let resource_type = camelcase(resource_type.as_deref().unwrap_or(&model));
    let mut types = Map::new();
    let row = TYPES.iter().find(|r| r.0 == resource_type);
    if let Some(general) = row.and_then(|r| r.1) {
        types.insert("resourceTypeGeneral".into(), json!(general));
    }
    if !resource_type.is_empty() {
        types.insert("resourceType".into(), json!(resource_type));
    }
    types.insert(
        "schemaOrg".into(),
        json!(row.and_then(|r| r.2).unwrap_or("ScholarlyArticle")),
    );
    types.insert(
        "citeproc".into(),
        json!(row.and_then(|r| r.3).unwrap_or("article-journal")),
    );
    types.insert("bibtex".into(), json!(row.and_then(|r| r.4).unwrap_or("misc")));
    types.insert("ris".into(), json!(row.and_then(|r| r.5).unwrap_or("JOUR")));
    a.insert("types".into(), Value::Object(types));

    a.insert("titles".into(), Value::Array(titles(bib)));
    a.insert("creators".into(), Value::Array(people(bib, "author")));
    let mut contributors = people(bib, "editor");
    contributors.extend(people(bib, "translator"));
    a.insert("contributors".into(), Value::Array(contributors));
    // bolognese's `container`, which its DataCite writer turns into a SeriesInformation
    // description, and the publisher when Crossref names none.
    let container = match (journal_metadata, book_metadata, book_series) {
        (Some(journal), _, _) => Some(Container {
            title: text_at(journal, &["full_title"]),
            volume: journal_issue.and_then(|i| text_at(i, &["journal_volume", "volume"])),
            issue: journal_issue.and_then(|i| text_at(i, &["issue"])),
            first_page: bib
                .and_then(|b| text_at(b, &["pages", "first_page"]))
                .or_else(|| journal_article.and_then(|j| text_at(j, &["publisher_item", "item_number"]))),
            last_page: bib.and_then(|b| text_at(b, &["pages", "last_page"])),
        }),
        (None, Some(book), _) => Some(Container {
            title: text_at(book, &["titles", "title"]),
            first_page: bib.and_then(|b| text_at(b, &["pages", "first_page"])),
            last_page: bib.and_then(|b| text_at(b, &["pages", "last_page"])),
            ..Container::default()
        }),
        (None, None, Some(series)) => kid(series, "series_metadata").map(|meta| Container {
            title: text_at(meta, &["titles", "title"]),
            volume: bib.and_then(|b| text_at(b, &["volume"])),
            ..Container::default()
        }),
        _ => None,
    };
    let container_title = container.as_ref().and_then(|c| c.title.clone());
    if let Some(p) = publisher.or(container_title) {
        a.insert("publisher".into(), json!({ "name": p }));
    }

    let issued = bib
        .and_then(date_published)
        .or_else(|| crm("created").map(|c| c.chars().take(10).collect()))
        .filter(|d| edtf_date(d));
    let updated = crm("last-update").filter(|d| edtf_date(d));
    let mut dates = Vec::new();
    if let Some(d) = &issued {
        dates.push(json!({ "date": d, "dateType": "Issued" }));
        if let Some(year) = d.get(..4) {
            a.insert("publicationYear".into(), json!(year));
        }
    }
    if let Some(d) = updated {
        dates.push(json!({ "date": d, "dateType": "Updated" }));
    }
    a.insert("dates".into(), Value::Array(dates));

    // A book chapter's identifiers are the book's, as bolognese's container branch sets them.
    let identifiers_from = if journal_metadata.is_none() && book_metadata.is_some() {
        book_metadata
    } else {
        bib
    };
    a.insert(
        "identifiers".into(),
        Value::Array(identifiers_from.map(alternate_identifiers).unwrap_or_default()),
    );

    let mut related = Vec::new();
    if let Some(issn) = journal_metadata.and_then(issn) {
        related.push(json!({
            "relatedIdentifier": issn,
            "relationType": "IsPartOf",
            "relatedIdentifierType": "ISSN",
            "resourceTypeGeneral": "Collection",
        }));
    }
    if let Some(b) = bib {
        related.extend(references(b));
    }
    related.extend(translations(&programs));
    a.insert("relatedIdentifiers".into(), Value::Array(related));
    let mut all_descriptions: Vec<Value> = container.and_then(Container::series_information).into_iter().collect();
    all_descriptions.extend(bib.map(descriptions).unwrap_or_default());
    a.insert("descriptions".into(), Value::Array(all_descriptions));
    a.insert("rightsList".into(), Value::Array(licenses(&programs)));
    a.insert("fundingReferences".into(), Value::Array(funding(&programs)));

    let doi = bib
        .and_then(|b| text_at(b, &["doi_data", "doi"]))
        .and_then(|d| super::readers::doi_from(&d))
        .map(|d| d.to_lowercase());
    (doi, a)
}

/// What bolognese's `container` holds that its DataCite writer uses.
#[derive(Default)]
struct Container {
    title: Option<String>,
    volume: Option<String>,
    issue: Option<String>,
    first_page: Option<String>,
    last_page: Option<String>,
}

impl Container {
    /// bolognese's `insert_descriptions` for a record not read from DataCite:
    /// `title, volume(issue), first-last`.
    fn series_information(self) -> Option<Value> {
        let title = self.title?;
        let issue = self.issue.map(|i| format!("({i})")).unwrap_or_default();
        let volume_issue = self.volume.map(|v| format!("{v}{issue}"));
        let pages = self.first_page.map(|first| {
            [Some(first), self.last_page]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("-")
        });
        let parts: Vec<String> = [Some(title), volume_issue, pages].into_iter().flatten().collect();
        Some(json!({ "description": parts.join(", "), "descriptionType": "SeriesInformation" }))
    }
}

fn titles(bib: Option<Node<'_, '_>>) -> Vec<Value> {
    let Some(bib) = bib.filter(|b| kid(*b, "titles").is_some()) else {
        return vec![json!({ "title": ":(unav)" })];
    };
    kids(bib, "titles")
        .filter_map(|t| {
            if let Some(title) = kid(t, "title").and_then(all_text) {
                Some(json!({ "title": title }))
            } else {
                let original = kid(t, "original_language_title")?;
                let mut o = Map::new();
                o.insert("title".into(), json!(all_text(original)?));
                if let Some(lang) = original.attribute("language") {
                    o.insert("lang".into(), json!(lang));
                }
                Some(Value::Object(o))
            }
        })
        .collect()
}

/// bolognese's `crossref_people` for one contributor role.
fn people(bib: Option<Node<'_, '_>>, role: &str) -> Vec<Value> {
    let contributors = bib.and_then(|b| kid(b, "contributors"));
    let mut persons: Vec<Node<'_, '_>> = match (contributors, bib) {
        (Some(c), _) if kid(c, "person_name").is_some() => kids(c, "person_name").collect(),
        (_, Some(b)) => kids(b, "person_name").collect(),
        _ => Vec::new(),
    };
    let organizations: Vec<Node<'_, '_>> = contributors
        .map(|c| kids(c, "organization").collect())
        .unwrap_or_default();
    let has_role = |n: &Node<'_, '_>| n.attribute("contributor_role") == Some(role);
    let mut out = Vec::new();
    if role == "author" && !persons.iter().any(has_role) && !organizations.iter().any(has_role) {
        // No author at all: bolognese's placeholder creator.
        persons.clear();
        out.push(json!({ "nameType": "Organizational", "name": ":(unav)" }));
    }
    let contributor_type = match role {
        "editor" => Some("Editor"),
        "translator" => Some("Translator"),
        _ => None,
    };
    for p in persons.iter().chain(organizations.iter()).filter(|n| has_role(n)) {
        let mut o = Map::new();
        let orcid = text_at(*p, &["ORCID"]).and_then(|id| metadata::orcid(&id));
        let given = text_at(*p, &["given_name"]);
        let family = text_at(*p, &["surname"]);
        if given.is_some() || family.is_some() || orcid.is_some() {
            o.insert("nameType".into(), json!("Personal"));
            if let Some(id) = orcid {
                o.insert(
                    "nameIdentifiers".into(),
                    json!([{ "nameIdentifier": id, "nameIdentifierScheme": "ORCID", "schemeUri": "https://orcid.org" }]),
                );
            }
            let name: Vec<&str> = [family.as_deref(), given.as_deref()].into_iter().flatten().collect();
            o.insert("name".into(), json!(name.join(", ")));
            if let Some(g) = given {
                o.insert("givenName".into(), json!(g));
            }
            if let Some(f) = family {
                o.insert("familyName".into(), json!(f));
            }
            let affiliation: Vec<Value> = kids(*p, "affiliation")
                .filter_map(own_text)
                .map(|name| json!({ "name": name }))
                .collect();
            if !affiliation.is_empty() {
                o.insert("affiliation".into(), Value::Array(affiliation));
            }
        } else {
            o.insert("nameType".into(), json!("Organizational"));
            o.insert("name".into(), json!(own_text(*p).unwrap_or_default()));
        }
        if let Some(t) = contributor_type {
            o.insert("contributorType".into(), json!(t));
        }
        out.push(Value::Object(o));
    }
    out
}

/// bolognese's `crossref_date_published`: the first publication (else acceptance) date,
/// its parts joined as `get_date_from_parts` joins them.
fn date_published(bib: Node<'_, '_>) -> Option<String> {
    let date = kid(bib, "publication_date").or_else(|| kid(bib, "acceptance_date"))?;
    let part = |name: &str, width: usize| {
        let v = text_at(date, &[name]).unwrap_or_default();
        format!("{v:0>width$}")
    };
    let parts = [part("year", 4), part("month", 2), part("day", 2)];
    Some(parts.into_iter().filter(|p| p != "00").collect::<Vec<_>>().join("-"))
}

/// Enough of `Date.edtf` for what Crossref gives: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, the
/// last with a time.
fn edtf_date(d: &str) -> bool {
    let (date, time) = d.split_once('T').map_or((d, None), |(a, b)| (a, Some(b)));
    let parts: Vec<&str> = date.split('-').collect();
    let number = |s: &str, len: usize, max: u32| {
        s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|n| n >= 1 && n <= max)
    };
    let ok = match parts.as_slice() {
        [y] => number(y, 4, 9999),
        [y, m] => number(y, 4, 9999) && number(m, 2, 12),
        [y, m, d] => number(y, 4, 9999) && number(m, 2, 12) && number(d, 2, 31),
        _ => false,
    };
    ok && time.is_none_or(|t| parts.len() == 3 && !t.is_empty())
}

/// bolognese's `crossref_alternate_identifiers`.
fn alternate_identifiers(bib: Node<'_, '_>) -> Vec<Value> {
    if let Some(item) = kid(bib, "publisher_item").filter(|p| kid(*p, "item_number").is_some()) {
        return kids(item, "item_number")
            .filter_map(|n| {
                let id = own_text(n)?;
                let kind = n.attribute("item_number_type").unwrap_or("Publisher ID");
                Some(json!({ "identifier": id, "identifierType": kind }))
            })
            .collect();
    }
    if let Some(id) = text_at(bib, &["item_number"]) {
        return vec![json!({ "identifier": id, "identifierType": "Publisher ID" })];
    }
    if let Some(id) = text_at(bib, &["isbn"]) {
        return vec![json!({ "identifier": id, "identifierType": "ISBN" })];
    }
    Vec::new()
}

/// bolognese's `normalize_issn`: the electronic ISSN, else the first; `12345678` gets its hyphen.
fn issn(journal: Node<'_, '_>) -> Option<String> {
    let all: Vec<Node<'_, '_>> = kids(journal, "issn").collect();
    let chosen = all
        .iter()
        .find(|n| n.attribute("media_type") == Some("electronic"))
        .or_else(|| all.first())?;
    let issn = own_text(*chosen)?;
    match issn.len() {
        9 => Some(issn),
        8 => Some(format!("{}-{}", &issn[..4], &issn[4..])),
        _ => None,
    }
}

/// bolognese's `crossref_references`: cited works that have a DOI.
fn references(bib: Node<'_, '_>) -> Vec<Value> {
    let Some(list) = kid(bib, "citation_list") else {
        return Vec::new();
    };
    kids(list, "citation")
        .filter_map(|c| text_at(c, &["doi"]))
        .map(|doi| json!({ "relatedIdentifier": doi.to_lowercase(), "relationType": "References", "relatedIdentifierType": "DOI" }))
        .collect()
}

/// bolognese's `crossref_has_translation` and `crossref_is_translation_of`: read only when
/// there is one `program` (bolognese digs into a single one, not a list).
fn translations(programs: &[Node<'_, '_>]) -> Vec<Value> {
    let [program] = programs else {
        return Vec::new();
    };
    let relations: Vec<Node<'_, '_>> = kids(*program, "related_item")
        .filter_map(|r| kid(r, "intra_work_relation"))
        .filter(|r| r.attribute("identifier-type") == Some("doi"))
        .collect();
    let mut out = Vec::new();
    for (kind, relation_type) in [
        ("hasTranslation", "HasTranslation"),
        ("isTranslationOf", "IsTranslationOf"),
    ] {
        for r in relations
            .iter()
            .filter(|r| r.attribute("relationship-type") == Some(kind))
        {
            if let Some(doi) = own_text(*r) {
                out.push(json!({ "relatedIdentifier": doi.to_lowercase(), "relationType": relation_type, "relatedIdentifierType": "DOI" }));
            }
        }
    }
    out
}

/// bolognese's `crossref_description`: abstracts (their paragraphs) then other descriptions.
fn descriptions(bib: Node<'_, '_>) -> Vec<Value> {
    let mut out = Vec::new();
    for abstract_ in kids(bib, "abstract") {
        let paragraphs: Vec<String> = kids(abstract_, "p").filter_map(all_text).collect();
        if !paragraphs.is_empty() {
            out.push(json!({ "descriptionType": "Abstract", "description": paragraphs.join("\n") }));
        }
    }
    for d in kids(bib, "description") {
        if let Some(text) = all_text(d) {
            out.push(json!({ "descriptionType": "Other", "description": text }));
        }
    }
    out
}

/// bolognese's `crossref_license`: the AccessIndicators licence URLs, as SPDX licences
/// where they are Creative Commons ones (`hsh_to_spdx`), distinct.
fn licenses(programs: &[Node<'_, '_>]) -> Vec<Value> {
    let Some(access) = programs
        .iter()
        .find(|p| p.attribute("name") == Some("AccessIndicators"))
    else {
        return Vec::new();
    };
    let mut out: Vec<Value> = Vec::new();
    for url in kids(*access, "license_ref").filter_map(own_text) {
        let rights = spdx(&url).unwrap_or_else(|| json!({ "rightsUri": url }));
        if !out.contains(&rights) {
            out.push(rights);
        }
    }
    out
}

/// The SPDX entry of a Creative Commons licence URL, as bolognese's `hsh_to_spdx` finds it
/// (`normalize_cc_url`: any scheme, `legalcode` or not).
fn spdx(url: &str) -> Option<Value> {
    let rest = url.trim().trim_start_matches("https://").trim_start_matches("http://");
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let rest = rest.strip_prefix("creativecommons.org/")?;
    let rest = rest
        .trim_end_matches('/')
        .trim_end_matches("/legalcode")
        .trim_end_matches('/');
    let parts: Vec<&str> = rest.split('/').collect();
    let (id, name, uri) = match parts.as_slice() {
        ["publicdomain", "zero", "1.0"] => (
            "cc0-1.0".to_string(),
            "Creative Commons Zero v1.0 Universal".to_string(),
            "https://creativecommons.org/publicdomain/zero/1.0/legalcode".to_string(),
        ),
        ["licenses", kind, version] => {
            let words = match *kind {
                "by" => "Attribution",
                "by-sa" => "Attribution Share Alike",
                "by-nd" => "Attribution No Derivatives",
                "by-nc" => "Attribution Non Commercial",
                "by-nc-sa" => "Attribution Non Commercial Share Alike",
                "by-nc-nd" => "Attribution Non Commercial No Derivatives",
                _ => return None,
            };
            let edition = match *version {
                "1.0" | "2.0" | "2.5" => "Generic",
                "3.0" => "Unported",
                "4.0" => "International",
                _ => return None,
            };
            (
                format!("cc-{kind}-{version}"),
                format!("Creative Commons {words} {version} {edition}"),
                format!("https://creativecommons.org/licenses/{kind}/{version}/legalcode"),
            )
        }
        _ => return None,
    };
    Some(json!({
        "rights": name,
        "rightsUri": uri,
        "rightsIdentifier": id,
        "rightsIdentifierScheme": "SPDX",
        "schemeUri": "https://spdx.org/licenses/",
    }))
}

/// bolognese's `crossref_funding_reference`: each `fundgroup` of the fundref program with a
/// funder name.
fn funding(programs: &[Node<'_, '_>]) -> Vec<Value> {
    let Some(fundref) = programs.iter().find(|p| p.attribute("name") == Some("fundref")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for group in kids(*fundref, "assertion").filter(|g| g.attribute("name") == Some("fundgroup")) {
        let mut name = None;
        let mut identifier = None;
        let mut award_number = None;
        let mut award_uri = None;
        for a in kids(group, "assertion") {
            match a.attribute("name") {
                Some("award_number") => {
                    award_number = own_text(a);
                    award_uri = a.attribute("awardURI").map(str::to_string);
                }
                Some("funder_name") => {
                    name = own_text(a);
                    identifier = kid(a, "assertion").and_then(own_text).and_then(|id| funder_doi(&id));
                }
                _ => {}
            }
        }
        let Some(name) = name else { continue };
        let mut o = Map::new();
        if let Some(id) = identifier {
            o.insert("funderIdentifier".into(), json!(id));
            o.insert("funderIdentifierType".into(), json!("Crossref Funder ID"));
        }
        o.insert("funderName".into(), json!(name));
        if let Some(n) = award_number {
            o.insert("awardNumber".into(), json!(n));
        }
        if let Some(u) = award_uri {
            o.insert("awardUri".into(), json!(u));
        }
        out.push(Value::Object(o));
    }
    out
}

/// bolognese's `validate_funder_doi`: `https://doi.org/10.13039/<id>` from the id, with or
/// without its DOI prefix and resolver.
fn funder_doi(id: &str) -> Option<String> {
    let id = id.trim().replace('\u{200B}', "");
    let mut rest = id.as_str();
    for scheme in ["https:/", "http:/"] {
        if let Some(r) = rest.strip_prefix(scheme) {
            let r = r.strip_prefix('/').unwrap_or(r);
            let r = r.strip_prefix("dx.").unwrap_or(r);
            rest = ["doi.org/", "handle.stage.datacite.org/", "handle.test.datacite.org/"]
                .iter()
                .find_map(|h| r.strip_prefix(h))?;
            break;
        }
    }
    let rest = rest.strip_prefix("doi:").unwrap_or(rest);
    let rest = rest.strip_prefix("10.13039/").unwrap_or(rest);
    let ok = rest.len() >= 2 && rest.bytes().all(|b| b.is_ascii_digit()) && !rest.starts_with('0');
    ok.then(|| format!("https://doi.org/10.13039/{}", rest.to_lowercase()))
}
