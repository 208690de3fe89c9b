//! The JSON writers: DataCite JSON, Crosscite JSON, schema.org JSON-LD and citeproc (CSL)
//! JSON, each following the bolognese writer of the same name.

use super::model::{normalize_id, Meta};
use serde_json::{json, Map, Value};

/// bolognese's `Array#unwrap`: no item → nothing, one → the item, more → the list.
fn unwrap(mut items: Vec<Value>) -> Option<Value> {
    match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(Value::Array(items)),
    }
}

/// An object of the pairs whose value is present (Ruby's `compact`).
fn compact(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

fn s(v: Option<&str>) -> Option<Value> {
    v.map(|v| Value::String(v.to_string()))
}

fn list(m: &Meta, key: &str) -> Option<Value> {
    m.attrs.get(key).filter(|v| !v.is_null()).cloned()
}

fn people(list: &[Map<String, Value>]) -> Value {
    Value::Array(list.iter().cloned().map(Value::Object).collect())
}

/// bolognese's `crosscite_hsh`, keys in `style` (`snake` for Crosscite, camel for DataCite JSON).
fn crosscite_pairs<'k>(m: &Meta, camel: bool) -> Vec<(&'k str, Option<Value>)> {
    let k = |snake: &'k str, camel_key: &'k str| if camel { camel_key } else { snake };
    vec![
        ("id", Some(json!(m.id()))),
        ("doi", Some(json!(m.doi))),
        ("url", s(m.url)),
        ("types", Some(Value::Object(m.types.clone()))),
        ("creators", Some(people(&m.creators))),
        ("titles", list(m, "titles")),
        ("publisher", m.publisher().map(Value::Object)),
        ("container", m.container().map(Value::Object)),
        ("subjects", list(m, "subjects")),
        ("contributors", Some(people(&m.contributors))),
        ("dates", list(m, "dates")),
        (
            k("publication_year", "publicationYear"),
            m.publication_year().map(Value::String),
        ),
        ("language", s(m.language())),
        ("identifiers", list(m, "identifiers")),
        ("sizes", list(m, "sizes")),
        ("formats", list(m, "formats")),
        ("version", s(m.version())),
        (k("rights_list", "rightsList"), list(m, "rightsList")),
        ("descriptions", list(m, "descriptions")),
        (k("geo_locations", "geoLocations"), list(m, "geoLocations")),
        (
            k("funding_references", "fundingReferences"),
            list(m, "fundingReferences"),
        ),
        (
            k("related_identifiers", "relatedIdentifiers"),
            list(m, "relatedIdentifiers"),
        ),
        (k("related_items", "relatedItems"), list(m, "relatedItems")),
        (k("schema_version", "schemaVersion"), list(m, "schemaVersion")),
        (k("provider_id", "providerId"), s(m.provider_id.as_deref())),
        (k("client_id", "clientId"), s(m.client_id.as_deref())),
        ("agency", Some(json!("datacite"))),
        ("state", s(m.state)),
    ]
}

/// `application/vnd.crosscite.crosscite+json`.
pub(crate) fn crosscite(m: &Meta) -> Value {
    compact(crosscite_pairs(m, false))
}

/// `application/vnd.datacite.datacite+json`: the Crosscite hash with camelCase keys.
pub(crate) fn datacite_json(m: &Meta) -> Value {
    compact(crosscite_pairs(m, true))
}

/// bolognese's `to_citeproc`: family/given, or the whole name as `literal`.
fn citeproc_names(people: &[Map<String, Value>]) -> Option<Value> {
    let names: Vec<Value> = people
        .iter()
        .map(|p| {
            let family = p.get("familyName").and_then(Value::as_str).filter(|s| !s.is_empty());
            compact(vec![
                ("family", s(family)),
                ("given", s(p.get("givenName").and_then(Value::as_str))),
                (
                    "literal",
                    if family.is_none() {
                        s(p.get("name").and_then(Value::as_str))
                    } else {
                        None
                    },
                ),
            ])
        })
        .collect();
    (!names.is_empty()).then_some(Value::Array(names))
}

fn of_type(people: &[Map<String, Value>], t: &str) -> Vec<Map<String, Value>> {
    people
        .iter()
        .filter(|p| p.get("contributorType").and_then(Value::as_str) == Some(t))
        .cloned()
        .collect()
}

/// `application/vnd.citationstyles.csl+json`: bolognese's `citeproc_hsh`.
pub(crate) fn citeproc(m: &Meta) -> Value {
    let c = m.container().unwrap_or_default();
    let cs = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let page = cs("firstPage").map(|f| match cs("lastPage") {
        Some(l) => format!("{f}-{l}"),
        None => f,
    });
    let unavailable = m.creators.len() == 1 && m.creators[0].get("name").and_then(Value::as_str) == Some(":(unav)");
    let kind = if m.type_of("resourceTypeGeneral") == Some("Software") && m.version().is_some() {
        "book"
    } else {
        m.type_of("citeproc").unwrap_or("article")
    };
    let container_title = cs("title").or_else(|| {
        (m.type_of("citeproc") == Some("article-journal"))
            .then(|| m.publisher_name())
            .flatten()
    });
    let subjects: Vec<Value> = m.subjects().into_iter().map(|s| json!(s)).collect();
    compact(vec![
        ("type", Some(json!(kind))),
        ("id", Some(json!(m.id()))),
        ("categories", (!subjects.is_empty()).then_some(Value::Array(subjects))),
        ("language", s(m.language())),
        ("author", if unavailable { None } else { citeproc_names(&m.creators) }),
        ("contributor", citeproc_names(&m.contributors)),
        ("editor", citeproc_names(&of_type(&m.contributors, "Editor"))),
        ("translator", citeproc_names(&of_type(&m.contributors, "Translator"))),
        ("issued", Some(m.issued())),
        ("submitted", s(m.date("Submitted"))),
        ("available-date", s(m.date("Available"))),
        ("abstract", m.first_description().map(Value::String)),
        ("container-title", container_title.map(Value::String)),
        ("DOI", Some(json!(m.doi))),
        ("volume", cs("volume").map(Value::String)),
        ("issue", cs("issue").map(Value::String)),
        ("number", cs("number").map(Value::String)),
        ("chapter-number", cs("chapterNumber").map(Value::String)),
        ("edition", cs("edition").map(Value::String)),
        ("page", page.map(Value::String)),
        ("page-first", cs("firstPage").map(Value::String)),
        ("publisher", m.publisher_name().map(Value::String)),
        ("title", s(m.title())),
        ("URL", s(m.url)),
        (
            "copyright",
            m.rights()
                .first()
                .and_then(|r| s(r.get("rights").and_then(Value::as_str))),
        ),
        ("version", s(m.version())),
    ])
}

/// bolognese's `to_schema_org_creators`/`_contributors`.
fn schema_org_people(people: &[Map<String, Value>]) -> Option<Value> {
    let items = people
        .iter()
        .map(|p| {
            let mut out = p.clone();
            let affiliations: Vec<Value> = p
                .get("affiliation")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(schema_org_affiliation).collect())
                .unwrap_or_default();
            out.remove("nameIdentifiers");
            out.remove("nameType");
            out.remove("affiliation");
            if let Some(a) = unwrap(affiliations) {
                out.insert("affiliation".into(), a);
            }
            let kind = p
                .get("nameType")
                .and_then(Value::as_str)
                .and_then(|t| t.get(..t.len().saturating_sub(2)));
            if let Some(k) = kind.filter(|k| !k.is_empty()) {
                out.insert("@type".into(), json!(k));
            }
            let id = p
                .get("nameIdentifiers")
                .and_then(|i| i.get(0))
                .and_then(|i| i.get("nameIdentifier"))
                .cloned();
            if let Some(id) = id {
                out.insert("@id".into(), id);
            }
            if let Some(family) = p.get("familyName").and_then(Value::as_str).filter(|f| !f.is_empty()) {
                let given = p.get("givenName").and_then(Value::as_str).unwrap_or("");
                out.insert("name".into(), json!(format!("{given} {family}")));
            }
            Value::Object(out)
        })
        .collect();
    unwrap(items)
}

fn schema_org_affiliation(a: &Value) -> Value {
    match a {
        Value::String(name) => json!({"@type": "Organization", "name": name}),
        _ => compact(vec![
            ("@type", Some(json!("Organization"))),
            ("@id", a.get("affiliationIdentifier").cloned()),
            ("name", a.get("name").cloned()),
        ]),
    }
}

/// bolognese's `to_schema_org_relation`.
fn relation(m: &Meta, relations: &[&str]) -> Option<Value> {
    let items = m
        .related(relations)
        .into_iter()
        .map(|r| {
            let id_type = r.get("relatedIdentifierType").and_then(Value::as_str);
            let id = r.get("relatedIdentifier").and_then(Value::as_str).unwrap_or("");
            if id_type == Some("ISSN") && r.get("relationType").and_then(Value::as_str) == Some("IsPartOf") {
                return json!({"@type": "Periodical", "issn": id});
            }
            let kind = r
                .get("resourceTypeGeneral")
                .and_then(Value::as_str)
                .and_then(|t| crate::metadata::types::lookup(crate::metadata::types::DC_TO_SO, t))
                .unwrap_or("CreativeWork");
            compact(vec![
                ("@id", normalize_id(id).map(Value::String)),
                ("@type", Some(json!(kind))),
            ])
        })
        .collect();
    unwrap(items)
}

/// bolognese's `reverse`: IsReferencedBy → citation, IsSupplementTo → isBasedOn.
fn reverse(m: &Meta) -> Option<Value> {
    let part = |relation: &str| {
        let items = m
            .related(&[relation])
            .into_iter()
            .map(|r| {
                let id = r.get("relatedIdentifier").and_then(Value::as_str).unwrap_or("");
                let is_doi = r.get("relatedIdentifierType").and_then(Value::as_str) == Some("DOI");
                compact(vec![
                    ("@id", normalize_id(id).map(Value::String)),
                    (
                        "@type",
                        Some(r.get("resourceTypeGeneral").cloned().unwrap_or(json!("ScholarlyArticle"))),
                    ),
                    (
                        "identifier",
                        (!is_doi).then(|| {
                            json!({"@type": "PropertyValue", "propertyID": r.get("relatedIdentifierType"), "value": id})
                        }),
                    ),
                ])
            })
            .collect();
        unwrap(items)
    };
    let out = compact(vec![
        ("citation", part("IsReferencedBy")),
        ("isBasedOn", part("IsSupplementTo")),
    ]);
    out.as_object().is_some_and(|o| !o.is_empty()).then_some(out)
}

/// bolognese's `to_schema_org_spatial_coverage`.
fn spatial_coverage(m: &Meta) -> Option<Value> {
    let mut out = Vec::new();
    for gl in m.list("geoLocations") {
        let place = gl.get("geoLocationPlace").cloned();
        let point = gl.get("geoLocationPoint").filter(|v| !v.is_null());
        let bbox = gl.get("geoLocationBox").filter(|v| !v.is_null());
        let polygon = gl.get("geoLocationPolygon").filter(|v| !v.is_null());
        if let Some(p) = point {
            let geo = compact(vec![
                ("@type", Some(json!("GeoCoordinates"))),
                ("address", place.clone()),
                ("latitude", p.get("pointLatitude").cloned()),
                ("longitude", p.get("pointLongitude").cloned()),
            ]);
            out.push(json!({"@type": "Place", "geo": geo}));
        }
        if let Some(b) = bbox {
            let corners: Vec<String> = [
                "southBoundLatitude",
                "westBoundLongitude",
                "northBoundLatitude",
                "eastBoundLongitude",
            ]
            .iter()
            .filter_map(|k| {
                b.get(*k)
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            })
            .collect();
            let geo = compact(vec![
                ("@type", Some(json!("GeoShape"))),
                ("address", place.clone()),
                ("box", (!corners.is_empty()).then(|| json!(corners.join(" ")))),
            ]);
            out.push(json!({"@type": "Place", "geo": geo}));
        }
        if let Some(poly) = polygon {
            out.push(
                json!({"@type": "Place", "geo": {"@type": "GeoShape", "address": place, "polygon": polygons(poly)}}),
            );
        }
        if point.is_none() && bbox.is_none() && polygon.is_none() && place.is_some() {
            out.push(json!({"@type": "Place", "geo": {"@type": "GeoCoordinates", "address": place}}));
        }
    }
    unwrap(out)
}

/// One polygon (a flat list of points) or several, as `[[lon, lat], …]` lists.
fn polygons(poly: &Value) -> Value {
    let flat = poly.as_array().is_some_and(|a| a.iter().all(Value::is_object));
    let many: Vec<&Value> = if flat {
        vec![poly]
    } else {
        poly.as_array().map(|a| a.iter().collect()).unwrap_or_default()
    };
    let lists: Vec<Value> = many
        .into_iter()
        .map(|p| {
            let points: Vec<Value> = p
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|pt| pt.get("polygonPoint"))
                        .map(|pp| json!([pp.get("pointLongitude"), pp.get("pointLatitude")]))
                        .collect()
                })
                .unwrap_or_default();
            Value::Array(points)
        })
        .collect();
    Value::Array(lists)
}

/// `application/vnd.schemaorg.ld+json` (and `application/ld+json`): bolognese's `schema_hsh`.
pub(crate) fn schema_org(m: &Meta) -> Value {
    let so = m.type_of("schemaOrg").unwrap_or("CreativeWork").to_string();
    let container = m.container();
    let identifiers: Vec<Value> = m
        .list("identifiers")
        .iter()
        .map(|i| json!({"@type": "PropertyValue", "propertyID": i.get("identifierType"), "value": i.get("identifier")}))
        .collect();
    let licenses: Vec<Value> = m.rights().iter().filter_map(|r| r.get("rightsUri").cloned()).collect();
    let subjects = m.subjects();
    let c = |k: &str| container.as_ref().and_then(|c| c.get(k)).cloned();
    let container_obj = |kind: &str| {
        container.as_ref().map(|c| {
            compact(vec![
                ("@id", c.get("identifier").cloned()),
                ("@type", Some(json!(kind))),
                ("name", c.get("title").cloned()),
            ])
        })
    };
    let mut pairs = vec![
        ("@context", Some(json!("http://schema.org"))),
        ("@type", Some(json!(so))),
        ("@id", Some(json!(m.id()))),
        ("identifier", unwrap(identifiers)),
        ("url", s(m.url)),
        ("additionalType", s(m.type_of("resourceType"))),
        ("name", s(m.title())),
        ("author", schema_org_people(&m.creators)),
        ("editor", schema_org_people(&m.contributors)),
        ("translator", schema_org_people(&of_type(&m.contributors, "Translator"))),
        ("description", m.abstract_text().map(Value::String)),
        ("license", unwrap(licenses)),
        ("version", s(m.version())),
        ("keywords", (!subjects.is_empty()).then(|| json!(subjects.join(", ")))),
        ("inLanguage", s(m.language())),
        ("contentSize", unwrap(m.list("sizes").to_vec())),
        ("encodingFormat", unwrap(m.list("formats").to_vec())),
        ("dateCreated", s(m.date("Created"))),
        (
            "datePublished",
            s(m.date("Issued")).or_else(|| m.publication_year().map(Value::String)),
        ),
        ("dateModified", s(m.date("Updated"))),
        ("temporalCoverage", s(m.date("Coverage"))),
        ("pageStart", c("firstPage")),
        ("pageEnd", c("lastPage")),
        ("spatialCoverage", spatial_coverage(m)),
        ("sameAs", relation(m, &["IsIdenticalTo"])),
        ("isPartOf", relation(m, &["IsPartOf"])),
        ("hasPart", relation(m, &["HasPart"])),
        ("predecessor_of", relation(m, &["IsPreviousVersionOf"])),
        ("successor_of", relation(m, &["IsNewVersionOf"])),
        ("citation", relation(m, &["References", "Cites", "Documents"])),
        ("workTranslation", relation(m, &["HasTranslation"])),
        ("translationOfWork", relation(m, &["IsTranslationOf"])),
        ("@reverse", reverse(m)),
        ("schemaVersion", list(m, "schemaVersion")),
    ];
    pairs.push(if so == "Dataset" {
        ("includedInDataCatalog", container_obj("DataCatalog"))
    } else {
        // bolognese's `to_schema_org(container)`: its keys renamed, the rest kept.
        ("periodical", container.as_ref().map(periodical))
    });
    let publisher = m.publisher().map(|p| {
        compact(vec![
            ("@type", Some(json!("Organization"))),
            ("@id", p.get("publisherIdentifier").cloned()),
            ("name", p.get("name").cloned()),
        ])
    });
    pairs.push(("publisher", publisher));
    pairs.push(("funder", funders(m)));
    pairs.push(("provider", Some(json!({"@type": "Organization", "name": "datacite"}))));
    compact(pairs)
}

fn funders(m: &Meta) -> Option<Value> {
    let items = m
        .list("fundingReferences")
        .iter()
        .map(|f| {
            compact(vec![
                ("@id", f.get("funderIdentifier").cloned()),
                ("@type", Some(json!("Organization"))),
                ("name", f.get("funderName").cloned()),
            ])
        })
        .collect();
    unwrap(items)
}

fn periodical(c: &Map<String, Value>) -> Value {
    let renamed = c.iter().map(|(k, v)| {
        let k = match k.as_str() {
            "type" => "@type",
            "id" => "@id",
            "title" => "name",
            other => other,
        };
        (k.to_string(), v.clone())
    });
    Value::Object(renamed.collect())
}
