//! bolognese's resource-type translation tables (`Bolognese::Utils`), copied as data,
//! typos included (`RRPT`), and the `types` members lupo derives from them
//! (`Doi#update_types`): `schemaOrg`, `citeproc`, `bibtex`, `ris`. The one copy: the REST
//! normalisation and every `formats` reader and writer use these.

use serde_json::{Map, Value};

/// One table: `(key, value)` rows. bolognese's `nil` entries are left out, since a missing
/// key and a `nil` value are the same to Ruby's `table[key] || fallback`; an empty string
/// is a real value (Ruby's `||` keeps it).
pub(crate) type Table = &'static [(&'static str, &'static str)];

/// `table[key]`.
pub(crate) fn lookup(table: Table, key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// `resourceTypeGeneral` → schema.org type.
pub(crate) const DC_TO_SO: Table = &[
    ("Audiovisual", "MediaObject"),
    ("Book", "Book"),
    ("BookChapter", "Chapter"),
    ("Collection", "Collection"),
    ("ComputationalNotebook", "SoftwareSourceCode"),
    ("ConferencePaper", "Article"),
    ("ConferenceProceeding", "Periodical"),
    ("DataPaper", "Article"),
    ("Dataset", "Dataset"),
    ("Dissertation", "Thesis"),
    ("Event", "Event"),
    ("Image", "ImageObject"),
    ("Journal", "Periodical"),
    ("JournalArticle", "ScholarlyArticle"),
    ("PeerReview", "Review"),
    ("Report", "Report"),
    ("Service", "Service"),
    ("Software", "SoftwareSourceCode"),
    ("Sound", "AudioObject"),
    ("Text", "ScholarlyArticle"),
    ("Other", "CreativeWork"),
    // Not kernel-4 types; bolognese keeps them for its own use.
    ("Periodical", "Periodical"),
    ("DataCatalog", "DataCatalog"),
    ("Award", "Grant"),
    ("Project", "Project"),
];

/// Crossref-style `resourceType` text → schema.org type (bolognese tries it first).
pub(crate) const CR_TO_SO: Table = &[
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

pub(crate) const CR_TO_CP: Table = &[
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

/// schema.org type → citeproc type. `Article` maps to the empty string, which Ruby's `||`
/// keeps (so a ConferencePaper's citeproc type is "").
pub(crate) const SO_TO_CP: Table = &[
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

pub(crate) const CR_TO_BIB: Table = &[
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

pub(crate) const SO_TO_BIB: Table = &[
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

pub(crate) const CR_TO_RIS: Table = &[
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

pub(crate) const DC_TO_RIS: Table = &[
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
    // sic: bolognese's table says RRPT.
    ("Report", "RRPT"),
    ("Software", "COMP"),
    ("Sound", "SOUND"),
    ("Text", "RPRT"),
];

pub(crate) const CR_TO_JATS: Table = &[
    ("Proceedings", "working-paper"),
    ("ReferenceBook", "book"),
    ("JournalIssue", "journal"),
    ("ProceedingsArticle", "working-paper"),
    ("Dataset", "data"),
    ("EditedBook", "book"),
    ("JournalArticle", "journal"),
    ("Journal", "journal"),
    ("Report", "report"),
    ("BookSeries", "book"),
    ("ReportSeries", "report"),
    ("BookTrack", "book"),
    ("Standard", "standard"),
    ("BookSection", "chapter"),
    ("BookPart", "chapter"),
    ("Book", "book"),
    ("BookChapter", "chapter"),
    ("StandardSeries", "standard"),
    ("Monograph", "book"),
    ("JournalVolume", "journal"),
    ("BookSet", "book"),
];

pub(crate) const SO_TO_JATS: Table = &[
    ("Article", "journal"),
    ("Book", "book"),
    ("DataCatalog", "data"),
    ("Dataset", "data"),
    ("PublicationIssue", "journal"),
    ("ScholarlyArticle", "journal"),
    ("SoftwareSourceCode", "software"),
    ("WebSite", "website"),
];

/// schema.org type → `resourceTypeGeneral`, for the schema.org reader.
pub(crate) const SO_TO_DC: Table = &[
    ("Article", "Text"),
    ("AudioObject", "Sound"),
    ("Blog", "Text"),
    ("BlogPosting", "Text"),
    ("Book", "Book"),
    ("Chapter", "BookChapter"),
    ("Collection", "Collection"),
    ("DataCatalog", "Dataset"),
    ("Dataset", "Dataset"),
    ("Event", "Event"),
    ("ImageObject", "Image"),
    ("Movie", "Audiovisual"),
    ("PublicationIssue", "Text"),
    ("Report", "Report"),
    ("ScholarlyArticle", "Text"),
    ("Thesis", "Text"),
    ("Service", "Service"),
    ("Review", "PeerReview"),
    ("SoftwareSourceCode", "Software"),
    ("VideoObject", "Audiovisual"),
    ("WebPage", "Text"),
    ("WebSite", "Text"),
];

/// citeproc type → `resourceTypeGeneral`, for the citeproc reader.
pub(crate) const CP_TO_DC: Table = &[
    ("song", "Audiovisual"),
    ("post-weblog", "Text"),
    ("dataset", "Dataset"),
    ("graphic", "Image"),
    ("motion_picture", "Audiovisual"),
    ("article-journal", "JournalArticle"),
    ("broadcast", "Audiovisual"),
    ("webpage", "Text"),
];

/// Rails' `s.underscore.camelcase`, as bolognese and lupo apply it to `resourceType`:
/// `journal_article`, `journal-article` and `JournalArticle` become `JournalArticle`,
/// `HTMLPage` becomes `HtmlPage`, `Temperature series` keeps its space.
pub(crate) fn camelcase(s: &str) -> String {
    camelize(&underscore(s))
}

/// ActiveSupport's `underscore`: `::` → `/`, a word boundary inside capitals or after a
/// lower-case letter or digit gets `_`, `-` → `_`, then lower case.
fn underscore(s: &str) -> String {
    let chars: Vec<char> = s.replace("::", "/").chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // /([a-z\d])([A-Z])/ and /([A-Z\d]+)([A-Z][a-z])/
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || ((prev.is_ascii_uppercase()) && next_lower) {
                out.push('_');
            }
        }
        if c == '-' {
            out.push('_');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// ActiveSupport's `camelize`: the first word and every word after `_` or `/` capitalised,
/// `_` dropped, `/` → `::`.
fn camelize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper_next = true;
    for c in s.chars() {
        match c {
            '_' => upper_next = true,
            '/' => {
                out.push_str("::");
                upper_next = true;
            }
            c if upper_next && (c.is_ascii_alphanumeric()) => {
                out.push(c.to_ascii_uppercase());
                upper_next = false;
            }
            c => {
                out.push(c);
                upper_next = false;
            }
        }
    }
    out
}

/// Adds the derived members lupo adds to a `types` object, keeping any the caller sent
/// (`reverse_merge`).
pub fn derive(types: &mut Map<String, Value>) {
    let text = |name: &str| types.get(name).and_then(Value::as_str).unwrap_or("").to_string();
    let res = camelcase(&text("resourceType"));
    let general = text("resourceTypeGeneral").replace('_', "-");
    let schema_org = lookup(CR_TO_SO, &res)
        .or_else(|| lookup(DC_TO_SO, &general))
        .unwrap_or("CreativeWork");
    let citeproc = lookup(CR_TO_CP, &res)
        .or_else(|| lookup(SO_TO_CP, schema_org))
        .unwrap_or("article");
    let bibtex = lookup(CR_TO_BIB, &res)
        .or_else(|| lookup(SO_TO_BIB, schema_org))
        .unwrap_or("misc");
    let ris = lookup(CR_TO_RIS, &res)
        .or_else(|| lookup(DC_TO_RIS, &general))
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
        assert_eq!(camelcase("Temperature series"), "Temperature series");
        assert_eq!(camelcase("journal-article"), "JournalArticle");
        assert_eq!(camelcase("HTMLPage"), "HtmlPage");
        assert_eq!(camelcase("JOURNAL"), "Journal");
        assert_eq!(camelcase("data_package"), "DataPackage");
        assert_eq!(camelcase("dataset"), "Dataset");
        assert_eq!(camelcase("a/b_c"), "A::BC");
    }
}
