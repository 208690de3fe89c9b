//! The `types` members DataCite derives from `resourceTypeGeneral` and `resourceType`
//! (`schemaOrg`, `citeproc`, `bibtex`, `ris`): lupo's `Doi#update_types` over bolognese's
//! translation tables (`Bolognese::Utils`), copied as data, typos included (`RRPT`).

use serde_json::{Map, Value};

/// `DC_TO_SO_TRANSLATIONS`: resourceTypeGeneral → schema.org type (`None`: no entry value).
const DC_TO_SO: &[(&str, Option<&str>)] = &[
    ("Audiovisual", Some("MediaObject")),
    ("Book", Some("Book")),
    ("BookChapter", Some("Chapter")),
    ("Collection", Some("Collection")),
    ("ComputationalNotebook", Some("SoftwareSourceCode")),
    ("ConferencePaper", Some("Article")),
    ("ConferenceProceeding", Some("Periodical")),
    ("DataPaper", Some("Article")),
    ("Dataset", Some("Dataset")),
    ("Dissertation", Some("Thesis")),
    ("Event", Some("Event")),
    ("Image", Some("ImageObject")),
    ("Journal", Some("Periodical")),
    ("JournalArticle", Some("ScholarlyArticle")),
    ("PeerReview", Some("Review")),
    ("Report", Some("Report")),
    ("Service", Some("Service")),
    ("Software", Some("SoftwareSourceCode")),
    ("Sound", Some("AudioObject")),
    ("Text", Some("ScholarlyArticle")),
    ("Other", Some("CreativeWork")),
    ("Periodical", Some("Periodical")),
    ("DataCatalog", Some("DataCatalog")),
    ("Award", Some("Grant")),
    ("Project", Some("Project")),
];

/// `CR_TO_SO_TRANSLATIONS`: Crossref-style resourceType → schema.org type.
const CR_TO_SO: &[(&str, &str)] = &[
    ("ReferenceBook", "Book"),
    ("JournalIssue", "PublicationIssue"),
    ("Other", "CreativeWork"),
    ("Dissertation", "Thesis"),
    ("Dataset", "Dataset"),
    ("EditedBook", "Book"),
    ("JournalArticle", "ScholarlyArticle"),
    ("Report", "Report"),
    ("Book", "Book"),
    ("BookChapter", "Chapter"),
    ("Monograph", "Book"),
    ("Component", "CreativeWork"),
    ("JournalVolume", "PublicationVolume"),
    ("PostedContent", "ScholarlyArticle"),
    ("PeerReview", "Review"),
];

/// `CR_TO_CP_TRANSLATIONS`: resourceType → CSL (citeproc) type.
const CR_TO_CP: &[(&str, &str)] = &[
    ("ProceedingsArticle", "paper-conference"),
    ("Dissertation", "thesis"),
    ("Dataset", "dataset"),
    ("EditedBook", "book"),
    ("JournalArticle", "article-journal"),
    ("Report", "report"),
    ("BookSection", "chapter"),
    ("Book", "book"),
    ("BookChapter", "chapter"),
    ("Monograph", "book"),
    ("ReferenceEntry", "entry-dictionary"),
];

/// `SO_TO_CP_TRANSLATIONS` (`Article` maps to the empty string, which Ruby's `||` keeps).
const SO_TO_CP: &[(&str, &str)] = &[
    ("Article", ""),
    ("AudioObject", "song"),
    ("Blog", "report"),
    ("BlogPosting", "post-weblog"),
    ("DataCatalog", "dataset"),
    ("Dataset", "dataset"),
    ("ImageObject", "graphic"),
    ("Movie", "motion_picture"),
    ("Report", "report"),
    ("ScholarlyArticle", "article-journal"),
    ("Thesis", "thesis"),
    ("VideoObject", "broadcast"),
    ("WebPage", "webpage"),
    ("WebSite", "webpage"),
];

/// `CR_TO_BIB_TRANSLATIONS`.
const CR_TO_BIB: &[(&str, &str)] = &[
    ("Proceedings", "proceedings"),
    ("ReferenceBook", "book"),
    ("Dissertation", "phdthesis"),
    ("EditedBook", "book"),
    ("JournalArticle", "article"),
    ("Report", "techreport"),
    ("BookSection", "inbook"),
    ("Book", "book"),
    ("BookChapter", "inbook"),
    ("Monograph", "book"),
    ("PostedContent", "article"),
];

/// `SO_TO_BIB_TRANSLATIONS`.
const SO_TO_BIB: &[(&str, &str)] = &[
    ("Article", "article"),
    ("AudioObject", "misc"),
    ("Thesis", "phdthesis"),
    ("Blog", "misc"),
    ("BlogPosting", "article"),
    ("Collection", "misc"),
    ("CreativeWork", "misc"),
    ("DataCatalog", "misc"),
    ("Dataset", "misc"),
    ("Event", "misc"),
    ("ImageObject", "misc"),
    ("Movie", "misc"),
    ("PublicationIssue", "misc"),
    ("ScholarlyArticle", "article"),
    ("Service", "misc"),
    ("SoftwareSourceCode", "misc"),
    ("VideoObject", "misc"),
    ("WebPage", "misc"),
    ("WebSite", "misc"),
];

/// `CR_TO_RIS_TRANSLATIONS`.
const CR_TO_RIS: &[(&str, &str)] = &[
    ("Proceedings", "CONF"),
    ("ReferenceBook", "BOOK"),
    ("ProceedingsArticle", "CPAPER"),
    ("Other", "GEN"),
    ("Dissertation", "THES"),
    ("Dataset", "DATA"),
    ("EditedBook", "BOOK"),
    ("JournalArticle", "JOUR"),
    ("Report", "RPRT"),
    ("Standard", "STAND"),
    ("BookSection", "CHAP"),
    ("BookPart", "CHAP"),
    ("Book", "BOOK"),
    ("BookChapter", "CHAP"),
    ("Monograph", "BOOK"),
    ("ReferenceEntry", "DICT"),
];

/// `DC_TO_RIS_TRANSLATIONS`.
const DC_TO_RIS: &[(&str, &str)] = &[
    ("Audiovisual", "MPCT"),
    ("Book", "BOOK"),
    ("BookChapter", "CHAP"),
    ("ComputationalNotebook", "COMP"),
    ("ConferencePaper", "CPAPER"),
    ("ConferenceProceeding", "CONF"),
    ("Dataset", "DATA"),
    ("Dissertation", "THES"),
    ("Image", "FIGURE"),
    ("JournalArticle", "JOUR"),
    ("Report", "RRPT"),
    ("Software", "COMP"),
    ("Sound", "SOUND"),
    ("Text", "RPRT"),
];

fn find<'a>(table: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Ruby's `s.underscore.camelcase`: `journal_article`, `JournalArticle` and
/// `journal-article`… all become `JournalArticle`; other text keeps its form but for a
/// capital first letter (`Temperature series`).
fn camelcase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper_next = true;
    for c in s.chars() {
        match c {
            '_' => upper_next = true,
            '/' => {
                out.push_str("::");
                upper_next = true;
            }
            c if upper_next => {
                out.extend(c.to_uppercase());
                upper_next = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// Adds the derived members lupo adds to a `types` object, keeping any the caller sent
/// (`reverse_merge`).
pub fn derive(types: &mut Map<String, Value>) {
    let text = |name: &str| types.get(name).and_then(Value::as_str).unwrap_or("").to_string();
    let res = camelcase(&text("resourceType").replace('-', "_"));
    let general = text("resourceTypeGeneral").replace('_', "-");
    let schema_org = find(CR_TO_SO, &res)
        .or_else(|| DC_TO_SO.iter().find(|(k, _)| *k == general).and_then(|(_, v)| *v))
        .unwrap_or("CreativeWork");
    let citeproc = find(CR_TO_CP, &res)
        .or_else(|| find(SO_TO_CP, schema_org))
        .unwrap_or("article");
    let bibtex = find(CR_TO_BIB, &res)
        .or_else(|| find(SO_TO_BIB, schema_org))
        .unwrap_or("misc");
    let ris = find(CR_TO_RIS, &res)
        .or_else(|| find(DC_TO_RIS, &general))
        .unwrap_or("GEN");
    for (key, value) in [
        ("schemaOrg", schema_org),
        ("citeproc", citeproc),
        ("bibtex", bibtex),
        ("ris", ris),
    ] {
        if types.get(key).is_none_or(Value::is_null) {
            types.insert(key.to_string(), Value::from(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn derived(types: Value) -> Value {
        let mut map = types.as_object().cloned().unwrap_or_default();
        derive(&mut map);
        Value::Object(map)
    }

    #[test]
    fn lupo_examples() {
        // lupo spec/requests/datacite_dois/post_spec.rb "creates a Doi" (Text, no resourceType).
        assert_eq!(
            derived(json!({"resourceTypeGeneral": "Text"})),
            json!({"resourceTypeGeneral": "Text", "schemaOrg": "ScholarlyArticle",
                   "citeproc": "article-journal", "bibtex": "article", "ris": "RPRT"})
        );
        assert_eq!(
            derived(json!({"resourceTypeGeneral": "Dataset", "resourceType": "Temperature series"}))["ris"],
            "DATA"
        );
        assert_eq!(
            derived(json!({"resourceTypeGeneral": "Software"})),
            json!({"resourceTypeGeneral": "Software", "schemaOrg": "SoftwareSourceCode",
                   "citeproc": "article", "bibtex": "misc", "ris": "COMP"})
        );
        assert_eq!(derived(json!({"resourceTypeGeneral": "Report"}))["ris"], "RRPT");
        let t = derived(json!({"resourceTypeGeneral": "Text", "resourceType": "JournalArticle", "ris": "X"}));
        assert_eq!(
            (t["citeproc"].as_str(), t["ris"].as_str()),
            (Some("article-journal"), Some("X"))
        );
        assert_eq!(
            derived(json!({"resourceTypeGeneral": "ConferencePaper"}))["citeproc"],
            ""
        );
        assert_eq!(
            derived(json!({"resourceTypeGeneral": "Model"}))["schemaOrg"],
            "CreativeWork"
        );
    }

    #[test]
    fn camelcase_like_ruby() {
        assert_eq!(camelcase("journal_article"), "JournalArticle");
        assert_eq!(camelcase("JournalArticle"), "JournalArticle");
        assert_eq!(camelcase("temperature series"), "Temperature series");
    }
}
