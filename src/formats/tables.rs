//! Resource-type translation tables, copied from bolognese's `Bolognese::Utils` so that a
//! DOI gets the same schema.org, citeproc, BibTeX, RIS and JATS types as on DataCite.
//! Declarative data: one `(key, value)` row per mapping, `""` where bolognese maps to nil.

type Table = &'static [(&'static str, &'static str)];

/// Looks `key` up; bolognese's nil entries (`""`) count as absent.
pub(crate) fn lookup(table: Table, key: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .filter(|v| !v.is_empty())
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

pub(crate) const SO_TO_CP: Table = &[
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

/// bolognese's `resource_type.to_s.underscore.camelcase`: "DataPackage" and "data-package"
/// → "DataPackage", "dataset" → "Dataset"; spaces stay, as in Rails.
pub(crate) fn camelcase(s: &str) -> String {
    let mut under = String::with_capacity(s.len() + 4);
    let mut after_lower = false;
    for c in s.chars() {
        if c == '-' {
            under.push('_');
        } else if c.is_uppercase() {
            if after_lower {
                under.push('_');
            }
            under.extend(c.to_lowercase());
        } else {
            under.push(c);
        }
        after_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    under
        .split('_')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) => first.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}
