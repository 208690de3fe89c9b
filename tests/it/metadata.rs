//! Metadata library: official examples validate, round trips keep content, hostile input is refused.

use std::path::{Path, PathBuf};
use std::time::Instant;
use tinydoi::metadata::{doi_of, json_to_xml, validate, validate_json, xml_to_json, MetadataError};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/kernel-4")
}

pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join("example"))
        .expect("fixtures/kernel-4/example")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

#[test]
fn all_official_examples_validate() {
    let examples = examples();
    assert_eq!(examples.len(), 31);
    let mut failures = Vec::new();
    for path in &examples {
        let bytes = std::fs::read(path).unwrap();
        if let Err(e) = validate(&bytes) {
            failures.push(format!("{}: {:?}", path.display(), e.messages("x")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Attribute names kernel-4 declares (plus xml:lang). Elements typed `anyType`
/// accept any attribute, and all-fields-v4.4.xml really carries misspelled ones
/// (`affilicationIdentifierScheme`, `schemeURL`) that are no DataCite property.
const KERNEL4_ATTRIBUTES: &[&str] = &[
    "affiliationIdentifier",
    "affiliationIdentifierScheme",
    "alternateIdentifierType",
    "awardURI",
    "classificationCode",
    "contributorType",
    "dateInformation",
    "dateType",
    "descriptionType",
    "funderIdentifierType",
    "identifierType",
    "nameIdentifierScheme",
    "nameType",
    "numberType",
    "publisherIdentifier",
    "publisherIdentifierScheme",
    "relatedIdentifierType",
    "relatedItemIdentifierType",
    "relatedItemType",
    "relatedMetadataScheme",
    "relationType",
    "relationTypeInformation",
    "resourceTypeGeneral",
    "rightsIdentifier",
    "rightsIdentifierScheme",
    "rightsURI",
    "schemeType",
    "schemeURI",
    "subjectScheme",
    "titleType",
    "valueURI",
    "lang",
];

/// Element signatures (path, kernel-4 attributes, collapsed text) of a document,
/// sorted, ignoring empty wrappers and the root's schema-location attributes.
fn canonical(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    let mut out: Vec<String> = doc
        .root_element()
        .descendants()
        .filter(|n| n.is_element() && *n != doc.root_element())
        .filter_map(|n| {
            let mut path: Vec<&str> = n
                .ancestors()
                .filter(|a| a.is_element())
                .map(|a| a.tag_name().name())
                .collect();
            path.reverse();
            let mut attrs: Vec<String> = n
                .attributes()
                .filter(|a| KERNEL4_ATTRIBUTES.contains(&a.name()))
                .map(|a| format!("{}={}", a.name(), a.value()))
                .collect();
            attrs.sort();
            let text: String = n
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let has_children = n.children().any(|c| c.is_element());
            if attrs.is_empty() && text.is_empty() && !has_children {
                return None;
            }
            Some(format!("{} [{}] {:?}", path.join("/"), attrs.join(" "), text))
        })
        .collect();
    out.sort();
    out
}

/// A record converted to DataCite JSON and back: (its DOI, the JSON, the regenerated XML).
fn through_json(xml: &[u8]) -> (String, serde_json::Map<String, serde_json::Value>, String) {
    let doi = doi_of(xml).unwrap().expect("examples carry a DOI");
    let json = xml_to_json(xml).unwrap();
    let regenerated = json_to_xml(&doi, &json);
    (doi, json, regenerated)
}

/// Each official example regenerated from its JSON, for xmllint's recorded verdicts.
pub fn round_trip_docs() -> Vec<crate::xmllint::Doc> {
    examples()
        .iter()
        .map(|path| {
            let (_, _, xml) = through_json(&std::fs::read(path).unwrap());
            (round_trip_name(path), xml.into_bytes())
        })
        .collect()
}

fn round_trip_name(path: &Path) -> String {
    let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
    format!("{} round-trip", file.unwrap_or_default())
}

#[test]
fn examples_round_trip_through_json() {
    let mut regenerated = Vec::new();
    for path in examples() {
        let xml = std::fs::read(&path).unwrap();
        let (doi, json1, xml2) = through_json(&xml);
        if let Err(e) = validate(xml2.as_bytes()) {
            panic!(
                "{}: regenerated XML invalid: {:?}\n{xml2}",
                path.display(),
                e.messages(&doi)
            );
        }
        let json2 = xml_to_json(xml2.as_bytes()).unwrap();
        assert_eq!(json1, json2, "{}: XML->JSON->XML->JSON changed", path.display());
        let before = canonical(std::str::from_utf8(&xml).unwrap());
        let after = canonical(&xml2);
        let lost: Vec<&String> = before.iter().filter(|s| !after.contains(s)).collect();
        let added: Vec<&String> = after.iter().filter(|s| !before.contains(s)).collect();
        assert!(
            lost.is_empty() && added.is_empty(),
            "{}: content changed\nlost: {lost:#?}\nadded: {added:#?}",
            path.display()
        );
        regenerated.push((round_trip_name(&path), xml2.into_bytes()));
    }
    // The regenerated XML must satisfy xmllint too, not only our validator.
    let verdicts = crate::xmllint::recorded(&regenerated);
    for ((name, _), ok) in regenerated.iter().zip(&verdicts) {
        assert!(ok, "xmllint rejects regenerated XML of {name}");
    }
}

fn full_example() -> Vec<u8> {
    std::fs::read(fixtures().join("example/datacite-example-full-v4.xml")).unwrap()
}

/// Each hostile input must come back as NotXml, and promptly (printed, not asserted on time).
fn assert_refused(label: &str, input: &[u8]) {
    let start = Instant::now();
    let result = validate(input);
    let elapsed = start.elapsed();
    println!("hostile {label}: refused in {elapsed:?}");
    assert!(matches!(result, Err(MetadataError::NotXml(_))), "{label}: {result:?}");
    assert!(matches!(xml_to_json(input), Err(MetadataError::NotXml(_))), "{label}");
    assert!(matches!(doi_of(input), Err(MetadataError::NotXml(_))), "{label}");
}

#[test]
fn hostile_input_is_refused_as_not_xml() {
    assert_refused("10 MB of text", &vec![b'a'; 10 * 1024 * 1024]);
    let mut big = b"<resource xmlns=\"http://datacite.org/schema/kernel-4\"><descriptions><description descriptionType=\"Other\">".to_vec();
    big.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    big.extend(b"</description></descriptions></resource>");
    assert_refused("10 MB description", &big);
    let deep = format!(
        "<resource xmlns=\"http://datacite.org/schema/kernel-4\"><creators><creator><creatorName>a</creatorName><givenName>{}{}</givenName></creator></creators></resource>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    assert_refused("10k-deep nesting", deep.as_bytes());
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<resource xmlns="http://datacite.org/schema/kernel-4"><publisher>&lol9;</publisher></resource>"#;
    assert_refused("billion laughs", laughs.as_bytes());
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><resource xmlns=\"http://datacite.org/schema/kernel-4\">&x;</resource>";
    assert_refused("external entity", xxe.as_bytes());
    let mut latin1 = full_example();
    latin1.extend(b"<!-- \xe9\xff -->");
    assert_refused("invalid UTF-8", &latin1);
    assert_refused("empty", b"");
    assert_refused("JSON", b"{\"data\":{}}");
    assert_refused("plain text", b"hello world");
    assert_refused("not well-formed", b"<resource><creators></resource>");
}

#[test]
fn retired_kernels_are_unsupported() {
    for ns in ["kernel-3", "kernel-2.2"] {
        let xml = String::from_utf8(full_example()).unwrap().replace(
            "http://datacite.org/schema/kernel-4\"",
            &format!("http://datacite.org/schema/{ns}\""),
        );
        let err = validate(xml.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            MetadataError::UnsupportedSchema(format!("Schema http://datacite.org/schema/{ns} is no longer supported"))
        );
    }
}

const MINIMAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.5072/abc</identifier>
  <creators>
  </creators>
  <titles><title>T</title></titles>
  <publisher>P</publisher>
  <publicationYear>2024</publicationYear>
  <resourceType resourceTypeGeneral="Dataset"/>
</resource>
"#;

#[test]
fn messages_name_property_problem_and_line() {
    let err = validate(MINIMAL.as_bytes()).unwrap_err();
    assert_eq!(
        err.messages("10.5072/abc"),
        vec!["DOI 10.5072/abc: Missing child element(s). Expected is ( creator ). at line 4"]
    );
    let p = &err.problems()[0];
    assert_eq!(p.property.as_deref(), Some("creators"));
    assert_eq!(p.line, Some(4));

    let bad_type = MINIMAL
        .replace(
            "<creators>\n  </creators>",
            "<creators><creator><creatorName>A</creatorName></creator></creators>",
        )
        .replace("\"Dataset\"", "\"Datasets\"");
    let err = validate(bad_type.as_bytes()).unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err:?}");
    assert_eq!(err.problems()[0].property.as_deref(), Some("types"));
    assert!(err.problems()[0]
        .message
        .contains("'Datasets' is not an element of the set"));

    let no_year = bad_type
        .replace("\"Datasets\"", "\"Dataset\"")
        .replace("<publicationYear>2024</publicationYear>", "");
    let err = validate(no_year.as_bytes()).unwrap_err();
    assert_eq!(err.problems()[0].property.as_deref(), Some("publicationYear"));
    assert_eq!(
        err.problems()[0].message,
        "Missing child element(s). Expected is ( publicationYear )."
    );
    assert_eq!(doi_of(no_year.as_bytes()).unwrap().as_deref(), Some("10.5072/abc"));
}

#[test]
fn json_shapes_and_json_validation() {
    let attrs = xml_to_json(&full_example()).unwrap();
    assert_eq!(attrs["schemaVersion"], "http://datacite.org/schema/kernel-4");
    assert!(attrs["publicationYear"].is_number());
    assert_eq!(attrs["types"]["resourceTypeGeneral"], "Dataset");
    let creator = &attrs["creators"][0];
    assert!(creator["name"].is_string());
    assert!(creator["nameIdentifiers"].is_array());
    assert!(creator["affiliation"].is_array());
    assert!(attrs["titles"][0]["title"].is_string());

    let mut draft = serde_json::Map::new();
    draft.insert("titles".into(), serde_json::json!([{"title": "A draft"}]));
    draft.insert("publisher".into(), serde_json::json!({"name": "P", "publisherIdentifier": "https://ror.org/04wxnsj81", "publisherIdentifierScheme": "ROR"}));
    draft.insert("publicationYear".into(), serde_json::json!("2024"));
    draft.insert("types".into(), serde_json::json!({"resourceTypeGeneral": "Dataset"}));
    let err = validate_json("10.5072/draft", &draft).unwrap_err();
    assert_eq!(err.problems()[0].property.as_deref(), Some("creators"));
    assert_eq!(err.problems()[0].line, None);

    draft.insert(
        "creators".into(),
        serde_json::json!([{"givenName": "Elizabeth", "familyName": "Miller", "nameType": "Personal",
            "affiliation": ["DataCite"], "nameIdentifiers": [{"nameIdentifier": "https://orcid.org/0000-0001-5000-0007", "nameIdentifierScheme": "ORCID", "schemeUri": "https://orcid.org"}]}]),
    );
    draft.insert("publicationYear".into(), serde_json::json!(2024));
    validate_json("10.5072/draft", &draft).unwrap();
    let back = xml_to_json(json_to_xml("10.5072/draft", &draft).as_bytes()).unwrap();
    assert_eq!(back["creators"][0]["name"], "Miller, Elizabeth");
    assert_eq!(back["creators"][0]["affiliation"][0]["name"], "DataCite");
    assert_eq!(back["publisher"]["publisherIdentifierScheme"], "ROR");
    assert_eq!(back["publicationYear"], 2024);
}

#[test]
fn validated_json_equals_validate_then_convert() {
    for path in examples() {
        let xml = std::fs::read(&path).unwrap();
        assert_eq!(
            tinydoi::metadata::validated_json(&xml).unwrap(),
            xml_to_json(&xml).unwrap()
        );
    }
    assert!(tinydoi::metadata::validated_json(MINIMAL.as_bytes()).is_err());
}

#[test]
fn ascii_with_other_declared_encoding_is_read() {
    let xml = String::from_utf8(full_example())
        .unwrap()
        .replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
    assert!(xml.contains("ISO-8859-1"));
    validate(xml.as_bytes()).unwrap();
}
