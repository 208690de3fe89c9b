//! The kernel-4 (4.7) schema as static data: element declarations, content models, attributes and controlled lists.
//!
//! Transcribed from `fixtures/kernel-4/metadata.xsd`. Elements declared there
//! without a type (givenName, familyName, nameIdentifier, affiliation,
//! geoLocationPlace, awardTitle and several relatedItem children) are
//! `xs:anyType` for XSD: the `xsi:type` attribute on their declarations is a
//! foreign attribute that libxml2 ignores, so they accept any content.

use super::simple::Simple;

pub(crate) struct Elem {
    pub name: &'static str,
    pub content: Content,
    pub attrs: &'static [Attr],
}

pub(crate) enum Content {
    /// Text only, checked against a simple type.
    Simple(Simple),
    /// xs:anyType: anything, validated laxly.
    Any,
    /// Neither text (not even whitespace) nor elements.
    Empty,
    /// Element-only sequence of distinct names.
    Seq(&'static [Particle]),
    /// Element-only xs:all.
    All(&'static [Particle]),
    /// Element-only, unbounded choice of the particles (in any order, any count).
    Choice(&'static [Particle]),
    /// Text mixed with a sequence of elements.
    Mixed(&'static [Particle]),
}

pub(crate) struct Particle {
    pub elem: &'static Elem,
    pub min: u32,
    pub max: u32,
}

pub(crate) struct Attr {
    /// "xml:lang" stands for the attribute in the XML namespace.
    pub name: &'static str,
    pub ty: Simple,
    pub required: bool,
}

const UNBOUNDED: u32 = u32::MAX;

const fn p(elem: &'static Elem, min: u32, max: u32) -> Particle {
    Particle { elem, min, max }
}
const fn opt(name: &'static str, ty: Simple) -> Attr {
    Attr {
        name,
        ty,
        required: false,
    }
}
const fn req(name: &'static str, ty: Simple) -> Attr {
    Attr {
        name,
        ty,
        required: true,
    }
}
const fn leaf(name: &'static str, ty: Simple, attrs: &'static [Attr]) -> Elem {
    Elem {
        name,
        content: Content::Simple(ty),
        attrs,
    }
}
const fn any(name: &'static str) -> Elem {
    Elem {
        name,
        content: Content::Any,
        attrs: &[],
    }
}

const LANG: Attr = opt("xml:lang", Simple::XmlLang);
const STR: Simple = Simple::Str;
const URI: Simple = Simple::Uri;

pub(crate) const TITLE_TYPES: &[&str] = &["AlternativeTitle", "Subtitle", "TranslatedTitle", "Other"];
pub(crate) const CONTRIBUTOR_TYPES: &[&str] = &[
    "ContactPerson",
    "DataCollector",
    "DataCurator",
    "DataManager",
    "Distributor",
    "Editor",
    "HostingInstitution",
    "Other",
    "Producer",
    "ProjectLeader",
    "ProjectManager",
    "ProjectMember",
    "RegistrationAgency",
    "RegistrationAuthority",
    "RelatedPerson",
    "ResearchGroup",
    "RightsHolder",
    "Researcher",
    "Sponsor",
    "Supervisor",
    "Translator",
    "WorkPackageLeader",
];
pub(crate) const DATE_TYPES: &[&str] = &[
    "Accepted",
    "Available",
    "Collected",
    "Copyrighted",
    "Coverage",
    "Created",
    "Issued",
    "Other",
    "Submitted",
    "Updated",
    "Valid",
    "Withdrawn",
];
pub(crate) const DESCRIPTION_TYPES: &[&str] = &[
    "Abstract",
    "Methods",
    "SeriesInformation",
    "TableOfContents",
    "TechnicalInfo",
    "Other",
];
pub(crate) const FUNDER_IDENTIFIER_TYPES: &[&str] = &["ISNI", "GRID", "ROR", "Crossref Funder ID", "Other"];
pub(crate) const NAME_TYPES: &[&str] = &["Organizational", "Personal"];
pub(crate) const NUMBER_TYPES: &[&str] = &["Article", "Chapter", "Report", "Other"];
pub(crate) const RELATED_IDENTIFIER_TYPES: &[&str] = &[
    "ARK", "arXiv", "bibcode", "CSTR", "DOI", "EAN13", "EISSN", "Handle", "IGSN", "ISBN", "ISSN", "ISTC", "LISSN",
    "LSID", "PMID", "PURL", "RAiD", "RRID", "SWHID", "UPC", "URL", "URN", "w3id",
];
pub(crate) const RELATION_TYPES: &[&str] = &[
    "IsCitedBy",
    "Cites",
    "IsSupplementTo",
    "IsSupplementedBy",
    "IsContinuedBy",
    "Continues",
    "IsNewVersionOf",
    "IsPreviousVersionOf",
    "IsPartOf",
    "HasPart",
    "IsPublishedIn",
    "IsReferencedBy",
    "References",
    "IsDocumentedBy",
    "Documents",
    "IsCompiledBy",
    "Compiles",
    "IsVariantFormOf",
    "IsOriginalFormOf",
    "IsIdenticalTo",
    "HasMetadata",
    "IsMetadataFor",
    "Reviews",
    "IsReviewedBy",
    "IsDerivedFrom",
    "IsSourceOf",
    "Describes",
    "IsDescribedBy",
    "HasVersion",
    "IsVersionOf",
    "Requires",
    "IsRequiredBy",
    "Obsoletes",
    "IsObsoletedBy",
    "Collects",
    "IsCollectedBy",
    "HasTranslation",
    "IsTranslationOf",
    "Other",
];
pub(crate) const RESOURCE_TYPES: &[&str] = &[
    "Audiovisual",
    "Award",
    "Book",
    "BookChapter",
    "Collection",
    "ComputationalNotebook",
    "ConferencePaper",
    "ConferenceProceeding",
    "DataPaper",
    "Dataset",
    "Dissertation",
    "Event",
    "Image",
    "Instrument",
    "InteractiveResource",
    "Journal",
    "JournalArticle",
    "Model",
    "OutputManagementPlan",
    "PeerReview",
    "PhysicalObject",
    "Poster",
    "Preprint",
    "Presentation",
    "Project",
    "Report",
    "Service",
    "Software",
    "Sound",
    "Standard",
    "StudyRegistration",
    "Text",
    "Workflow",
    "Other",
];

const TITLE_TYPE: Simple = Simple::Enum(TITLE_TYPES);
const CONTRIBUTOR_TYPE: Simple = Simple::Enum(CONTRIBUTOR_TYPES);
const NAME_TYPE: Simple = Simple::Enum(NAME_TYPES);
const RESOURCE_TYPE: Simple = Simple::Enum(RESOURCE_TYPES);
const RELATION_TYPE: Simple = Simple::Enum(RELATION_TYPES);
const RELATED_IDENTIFIER_TYPE: Simple = Simple::Enum(RELATED_IDENTIFIER_TYPES);

static GIVEN_NAME: Elem = any("givenName");
static FAMILY_NAME: Elem = any("familyName");
static NAME_IDENTIFIER: Elem = any("nameIdentifier");
static AFFILIATION: Elem = any("affiliation");

static IDENTIFIER: Elem = leaf("identifier", Simple::NonEmpty, &[req("identifierType", STR)]);

static CREATOR_NAME: Elem = leaf("creatorName", STR, &[opt("nameType", NAME_TYPE), LANG]);
static CREATOR: Elem = Elem {
    name: "creator",
    content: Content::Seq(&[
        p(&CREATOR_NAME, 1, 1),
        p(&GIVEN_NAME, 0, 1),
        p(&FAMILY_NAME, 0, 1),
        p(&NAME_IDENTIFIER, 0, UNBOUNDED),
        p(&AFFILIATION, 0, UNBOUNDED),
    ]),
    attrs: &[],
};
static CREATORS: Elem = Elem {
    name: "creators",
    content: Content::Seq(&[p(&CREATOR, 1, UNBOUNDED)]),
    attrs: &[],
};

static TITLE: Elem = leaf("title", STR, &[opt("titleType", TITLE_TYPE), LANG]);
static TITLES: Elem = Elem {
    name: "titles",
    content: Content::Seq(&[p(&TITLE, 1, UNBOUNDED)]),
    attrs: &[],
};

static PUBLISHER: Elem = leaf(
    "publisher",
    Simple::NonEmpty,
    &[
        opt("publisherIdentifier", STR),
        opt("publisherIdentifierScheme", STR),
        opt("schemeURI", URI),
        LANG,
    ],
);
static PUBLICATION_YEAR: Elem = leaf("publicationYear", Simple::Year, &[]);
static RESOURCE_TYPE_ELEM: Elem = leaf("resourceType", STR, &[req("resourceTypeGeneral", RESOURCE_TYPE)]);

static SUBJECT: Elem = leaf(
    "subject",
    STR,
    &[
        opt("subjectScheme", STR),
        opt("schemeURI", URI),
        opt("valueURI", URI),
        opt("classificationCode", URI),
        LANG,
    ],
);
static SUBJECTS: Elem = Elem {
    name: "subjects",
    content: Content::Seq(&[p(&SUBJECT, 0, UNBOUNDED)]),
    attrs: &[],
};

static CONTRIBUTOR_NAME: Elem = leaf("contributorName", Simple::NonEmpty, &[opt("nameType", NAME_TYPE), LANG]);
static CONTRIBUTOR: Elem = Elem {
    name: "contributor",
    content: Content::Seq(&[
        p(&CONTRIBUTOR_NAME, 1, 1),
        p(&GIVEN_NAME, 0, 1),
        p(&FAMILY_NAME, 0, 1),
        p(&NAME_IDENTIFIER, 0, UNBOUNDED),
        p(&AFFILIATION, 0, UNBOUNDED),
    ]),
    attrs: &[req("contributorType", CONTRIBUTOR_TYPE)],
};
static CONTRIBUTORS: Elem = Elem {
    name: "contributors",
    content: Content::Seq(&[p(&CONTRIBUTOR, 0, UNBOUNDED)]),
    attrs: &[],
};

static DATE: Elem = leaf(
    "date",
    STR,
    &[req("dateType", Simple::Enum(DATE_TYPES)), opt("dateInformation", STR)],
);
static DATES: Elem = Elem {
    name: "dates",
    content: Content::Seq(&[p(&DATE, 0, UNBOUNDED)]),
    attrs: &[],
};

static LANGUAGE: Elem = leaf("language", Simple::Language, &[]);

static ALTERNATE_IDENTIFIER: Elem = leaf("alternateIdentifier", STR, &[req("alternateIdentifierType", STR)]);
static ALTERNATE_IDENTIFIERS: Elem = Elem {
    name: "alternateIdentifiers",
    content: Content::Seq(&[p(&ALTERNATE_IDENTIFIER, 0, UNBOUNDED)]),
    attrs: &[],
};

static RELATED_IDENTIFIER: Elem = leaf(
    "relatedIdentifier",
    STR,
    &[
        opt("resourceTypeGeneral", RESOURCE_TYPE),
        req("relatedIdentifierType", RELATED_IDENTIFIER_TYPE),
        req("relationType", RELATION_TYPE),
        opt("relatedMetadataScheme", STR),
        opt("schemeURI", URI),
        opt("schemeType", STR),
        opt("relationTypeInformation", STR),
    ],
);
static RELATED_IDENTIFIERS: Elem = Elem {
    name: "relatedIdentifiers",
    content: Content::Seq(&[p(&RELATED_IDENTIFIER, 0, UNBOUNDED)]),
    attrs: &[],
};

static SIZE: Elem = leaf("size", STR, &[]);
static SIZES: Elem = Elem {
    name: "sizes",
    content: Content::Seq(&[p(&SIZE, 0, UNBOUNDED)]),
    attrs: &[],
};
static FORMAT: Elem = leaf("format", STR, &[]);
static FORMATS: Elem = Elem {
    name: "formats",
    content: Content::Seq(&[p(&FORMAT, 0, UNBOUNDED)]),
    attrs: &[],
};
static VERSION: Elem = leaf("version", STR, &[]);

static RIGHTS: Elem = leaf(
    "rights",
    STR,
    &[
        opt("rightsURI", URI),
        opt("rightsIdentifier", STR),
        opt("rightsIdentifierScheme", STR),
        opt("schemeURI", URI),
        LANG,
    ],
);
static RIGHTS_LIST: Elem = Elem {
    name: "rightsList",
    content: Content::Seq(&[p(&RIGHTS, 0, UNBOUNDED)]),
    attrs: &[],
};

static BR: Elem = Elem {
    name: "br",
    content: Content::Empty,
    attrs: &[],
};
static DESCRIPTION: Elem = Elem {
    name: "description",
    content: Content::Mixed(&[p(&BR, 0, UNBOUNDED)]),
    attrs: &[req("descriptionType", Simple::Enum(DESCRIPTION_TYPES)), LANG],
};
static DESCRIPTIONS: Elem = Elem {
    name: "descriptions",
    content: Content::Seq(&[p(&DESCRIPTION, 0, UNBOUNDED)]),
    attrs: &[],
};

const LON: Simple = Simple::Float(180.0);
const LAT: Simple = Simple::Float(90.0);
static POINT_LONGITUDE: Elem = leaf("pointLongitude", LON, &[]);
static POINT_LATITUDE: Elem = leaf("pointLatitude", LAT, &[]);
const POINT: Content = Content::All(&[p(&POINT_LONGITUDE, 1, 1), p(&POINT_LATITUDE, 1, 1)]);
static GEO_LOCATION_PLACE: Elem = any("geoLocationPlace");
static GEO_LOCATION_POINT: Elem = Elem {
    name: "geoLocationPoint",
    content: POINT,
    attrs: &[],
};
static WEST: Elem = leaf("westBoundLongitude", LON, &[]);
static EAST: Elem = leaf("eastBoundLongitude", LON, &[]);
static SOUTH: Elem = leaf("southBoundLatitude", LAT, &[]);
static NORTH: Elem = leaf("northBoundLatitude", LAT, &[]);
static GEO_LOCATION_BOX: Elem = Elem {
    name: "geoLocationBox",
    content: Content::All(&[p(&WEST, 1, 1), p(&EAST, 1, 1), p(&SOUTH, 1, 1), p(&NORTH, 1, 1)]),
    attrs: &[],
};
static POLYGON_POINT: Elem = Elem {
    name: "polygonPoint",
    content: POINT,
    attrs: &[],
};
static IN_POLYGON_POINT: Elem = Elem {
    name: "inPolygonPoint",
    content: POINT,
    attrs: &[],
};
static GEO_LOCATION_POLYGON: Elem = Elem {
    name: "geoLocationPolygon",
    content: Content::Seq(&[p(&POLYGON_POINT, 4, UNBOUNDED), p(&IN_POLYGON_POINT, 0, 1)]),
    attrs: &[],
};
static GEO_LOCATION: Elem = Elem {
    name: "geoLocation",
    content: Content::Choice(&[
        p(&GEO_LOCATION_PLACE, 0, 1),
        p(&GEO_LOCATION_POINT, 0, 1),
        p(&GEO_LOCATION_BOX, 0, 1),
        p(&GEO_LOCATION_POLYGON, 0, UNBOUNDED),
    ]),
    attrs: &[],
};
static GEO_LOCATIONS: Elem = Elem {
    name: "geoLocations",
    content: Content::Seq(&[p(&GEO_LOCATION, 0, UNBOUNDED)]),
    attrs: &[],
};

static FUNDER_NAME: Elem = leaf("funderName", Simple::NonEmpty, &[]);
static FUNDER_IDENTIFIER: Elem = leaf(
    "funderIdentifier",
    STR,
    &[
        req("funderIdentifierType", Simple::Enum(FUNDER_IDENTIFIER_TYPES)),
        opt("schemeURI", URI),
    ],
);
static AWARD_NUMBER: Elem = leaf("awardNumber", STR, &[opt("awardURI", URI)]);
static AWARD_TITLE: Elem = any("awardTitle");
static FUNDING_REFERENCE: Elem = Elem {
    name: "fundingReference",
    content: Content::All(&[
        p(&FUNDER_NAME, 1, 1),
        p(&FUNDER_IDENTIFIER, 0, 1),
        p(&AWARD_NUMBER, 0, 1),
        p(&AWARD_TITLE, 0, 1),
    ]),
    attrs: &[],
};
static FUNDING_REFERENCES: Elem = Elem {
    name: "fundingReferences",
    content: Content::Seq(&[p(&FUNDING_REFERENCE, 0, UNBOUNDED)]),
    attrs: &[],
};

static RELATED_ITEM_IDENTIFIER: Elem = leaf(
    "relatedItemIdentifier",
    STR,
    &[
        opt("relatedItemIdentifierType", RELATED_IDENTIFIER_TYPE),
        opt("relatedMetadataScheme", STR),
        opt("schemeURI", URI),
        opt("schemeType", STR),
    ],
);
static RI_CREATOR: Elem = Elem {
    name: "creator",
    content: Content::Seq(&[p(&CREATOR_NAME, 1, 1), p(&GIVEN_NAME, 0, 1), p(&FAMILY_NAME, 0, 1)]),
    attrs: &[],
};
static RI_CREATORS: Elem = Elem {
    name: "creators",
    content: Content::Seq(&[p(&RI_CREATOR, 0, UNBOUNDED)]),
    attrs: &[],
};
static RI_TITLES: Elem = Elem {
    name: "titles",
    content: Content::Seq(&[p(&TITLE, 0, UNBOUNDED)]),
    attrs: &[],
};
static RI_CONTRIBUTOR_NAME: Elem = leaf("contributorName", STR, &[opt("nameType", NAME_TYPE), LANG]);
static RI_CONTRIBUTOR: Elem = Elem {
    name: "contributor",
    content: Content::Seq(&[
        p(&RI_CONTRIBUTOR_NAME, 1, 1),
        p(&GIVEN_NAME, 0, 1),
        p(&FAMILY_NAME, 0, 1),
    ]),
    attrs: &[req("contributorType", CONTRIBUTOR_TYPE)],
};
static RI_CONTRIBUTORS: Elem = Elem {
    name: "contributors",
    content: Content::Seq(&[p(&RI_CONTRIBUTOR, 0, UNBOUNDED)]),
    attrs: &[],
};
static VOLUME: Elem = any("volume");
static ISSUE: Elem = any("issue");
static NUMBER: Elem = leaf("number", STR, &[opt("numberType", Simple::Enum(NUMBER_TYPES))]);
static FIRST_PAGE: Elem = any("firstPage");
static LAST_PAGE: Elem = any("lastPage");
static RI_PUBLISHER: Elem = any("publisher");
static EDITION: Elem = any("edition");
static RELATED_ITEM: Elem = Elem {
    name: "relatedItem",
    content: Content::Seq(&[
        p(&RELATED_ITEM_IDENTIFIER, 0, 1),
        p(&RI_CREATORS, 0, 1),
        p(&RI_TITLES, 0, 1),
        p(&PUBLICATION_YEAR, 0, 1),
        p(&VOLUME, 0, 1),
        p(&ISSUE, 0, 1),
        p(&NUMBER, 0, 1),
        p(&FIRST_PAGE, 0, 1),
        p(&LAST_PAGE, 0, 1),
        p(&RI_PUBLISHER, 0, 1),
        p(&EDITION, 0, 1),
        p(&RI_CONTRIBUTORS, 0, 1),
    ]),
    attrs: &[
        req("relatedItemType", RESOURCE_TYPE),
        req("relationType", RELATION_TYPE),
        opt("relationTypeInformation", STR),
    ],
};
static RELATED_ITEMS: Elem = Elem {
    name: "relatedItems",
    content: Content::Seq(&[p(&RELATED_ITEM, 0, UNBOUNDED)]),
    attrs: &[],
};

pub(crate) static RESOURCE: Elem = Elem {
    name: "resource",
    content: Content::All(&[
        p(&IDENTIFIER, 1, 1),
        p(&CREATORS, 1, 1),
        p(&TITLES, 1, 1),
        p(&PUBLISHER, 1, 1),
        p(&PUBLICATION_YEAR, 1, 1),
        p(&RESOURCE_TYPE_ELEM, 1, 1),
        p(&SUBJECTS, 0, 1),
        p(&CONTRIBUTORS, 0, 1),
        p(&DATES, 0, 1),
        p(&LANGUAGE, 0, 1),
        p(&ALTERNATE_IDENTIFIERS, 0, 1),
        p(&RELATED_IDENTIFIERS, 0, 1),
        p(&SIZES, 0, 1),
        p(&FORMATS, 0, 1),
        p(&VERSION, 0, 1),
        p(&RIGHTS_LIST, 0, 1),
        p(&DESCRIPTIONS, 0, 1),
        p(&GEO_LOCATIONS, 0, 1),
        p(&FUNDING_REFERENCES, 0, 1),
        p(&RELATED_ITEMS, 0, 1),
    ]),
    attrs: &[],
};

/// The DataCite REST property a top-level kernel-4 element maps to.
pub(crate) fn json_property(element: &str) -> &str {
    match element {
        "resourceType" => "types",
        "alternateIdentifiers" => "identifiers",
        other => other,
    }
}
