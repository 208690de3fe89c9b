//! What DataCite does to metadata attributes before storing them (lupo's `Doi`
//! `before_validation` callbacks and bolognese's readers), so that tinydoi stores them in
//! the shape DataCite shows: derived `types`, an integer `publicationYear`, a string
//! `version`, `rightsList` and name lists wrapped in arrays, ORCID/ROR/GRID identifiers
//! in their https forms, ISO 639-1 languages and numeric coordinates.

use serde_json::{Map, Value};

use super::types;

/// Normalises `attributes` in place; properties that are absent stay absent.
pub fn normalise(attributes: &mut Map<String, Value>) {
    if let Some(Value::Object(t)) = attributes.get_mut("types") {
        types::derive(t);
    }
    if let Some(year) = attributes.get("publicationYear").and_then(integer_year) {
        attributes.insert("publicationYear".into(), Value::from(year));
    }
    if let Some(Value::Number(n)) = attributes.get("version") {
        let text = n.to_string();
        attributes.insert("version".into(), Value::String(text));
    }
    if let Some(rights) = attributes.get_mut("rightsList") {
        wrap(rights);
        if let Value::Array(items) = rights {
            items.retain(|r| !is_blank(r));
            for r in items.iter_mut() {
                if let Value::String(s) = r {
                    *r = Value::Object(Map::from_iter([("rights".to_string(), Value::String(s.clone()))]));
                }
            }
        }
    }
    for name in ["creators", "contributors"] {
        if let Some(list) = attributes.get_mut(name) {
            wrap(list);
            if let Value::Array(people) = list {
                people.iter_mut().for_each(person);
            }
        }
    }
    for name in [
        "titles",
        "descriptions",
        "subjects",
        "dates",
        "identifiers",
        "relatedIdentifiers",
        "sizes",
        "formats",
        "fundingReferences",
    ] {
        if let Some(list) = attributes.get_mut(name) {
            wrap(list);
        }
    }
    if let Some(Value::String(lang)) = attributes.get("language") {
        let code = language(lang);
        attributes.insert("language".into(), code.map_or(Value::Null, Value::String));
    }
    if let Some(places) = attributes.get_mut("geoLocations") {
        wrap(places);
        numbers_in(places);
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Ruby's `Array.wrap`: `null` → `[]`, a single value → `[value]`.
fn wrap(v: &mut Value) {
    match v {
        Value::Array(_) => {}
        Value::Null => *v = Value::Array(Vec::new()),
        _ => {
            let inner = v.take();
            *v = Value::Array(vec![inner]);
        }
    }
}

/// lupo's `publication_year` column is an integer.
fn integer_year(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) if n.as_i64().is_none() => n.as_f64().map(|f| f as i64),
        _ => None,
    }
}

/// A creator or contributor: `nameIdentifiers` and `affiliation` always arrays,
/// affiliation names as `{"name": …}`, identifiers in their https forms.
fn person(p: &mut Value) {
    let Value::Object(p) = p else { return };
    let ids = p.entry("nameIdentifiers").or_insert(Value::Null);
    wrap(ids);
    if let Value::Array(ids) = ids {
        ids.retain(|i| !is_blank(i));
        ids.iter_mut().for_each(name_identifier);
    }
    let affiliations = p.entry("affiliation").or_insert(Value::Null);
    wrap(affiliations);
    if let Value::Array(items) = affiliations {
        items.retain(|a| !is_blank(a));
        for a in items.iter_mut() {
            if let Value::String(name) = a {
                *a = Value::Object(Map::from_iter([("name".to_string(), Value::String(name.clone()))]));
            }
            affiliation(a);
        }
    }
}

fn name_identifier(i: &mut Value) {
    let Value::Object(i) = i else { return };
    let scheme = i.get("nameIdentifierScheme").and_then(Value::as_str).unwrap_or("");
    let id = i.get("nameIdentifier").and_then(Value::as_str).unwrap_or("");
    let normalised = match scheme {
        "ORCID" => orcid(id).map(|id| (id, "https://orcid.org")),
        "ROR" => ror(id).map(|id| (id, "https://ror.org")),
        _ => None,
    };
    if let Some((id, scheme_uri)) = normalised {
        i.insert("nameIdentifier".into(), Value::String(id));
        i.insert("schemeUri".into(), Value::from(scheme_uri));
    }
}

/// bolognese's `get_affiliations`: an identifier that is not an https URL is joined to
/// its `schemeUri`, or made a ROR URL.
fn affiliation(a: &mut Value) {
    let Value::Object(a) = a else { return };
    let Some(id) = a.get("affiliationIdentifier").and_then(Value::as_str) else {
        return;
    };
    if id.starts_with("https://") {
        return;
    }
    let scheme_uri = a.get("schemeUri").and_then(Value::as_str).filter(|s| !s.is_empty());
    let scheme = a.get("affiliationIdentifierScheme").and_then(Value::as_str);
    let joined = match (scheme_uri, scheme) {
        (_, Some("ROR")) => ror(id),
        (Some(uri), _) if uri.starts_with("http") => {
            let slash = if uri.ends_with('/') { "" } else { "/" };
            Some(format!("{uri}{slash}{id}").replacen("http://", "https://", 1))
        }
        _ => None,
    };
    if let Some(joined) = joined {
        if scheme == Some("ROR") {
            a.insert("schemeUri".into(), Value::from("https://ror.org"));
        }
        a.insert("affiliationIdentifier".into(), Value::String(joined));
    }
}

/// bolognese's `normalize_orcid`: `https://orcid.org/0000-0002-1825-0097` from any of its forms.
pub fn orcid(id: &str) -> Option<String> {
    let id = id.trim().trim_end_matches('/');
    let bare = ["https://", "http://"]
        .iter()
        .find_map(|s| id.strip_prefix(s))
        .map(|rest| {
            ["orcid.org/", "www.orcid.org/", "sandbox.orcid.org/"]
                .iter()
                .find_map(|h| rest.strip_prefix(h))
        })
        .unwrap_or(Some(id))?;
    let digits: Vec<char> = bare.chars().collect();
    let ok = digits.len() == 19
        && digits.iter().enumerate().all(|(i, c)| match i {
            4 | 9 | 14 => *c == '-' || c.is_whitespace(),
            18 => c.is_ascii_digit() || *c == 'X',
            _ => c.is_ascii_digit(),
        });
    ok.then(|| format!("https://orcid.org/{}", bare.replace(char::is_whitespace, "-")))
}

/// bolognese's `normalize_ror`: `https://ror.org/0xxxxxx00`.
pub fn ror(id: &str) -> Option<String> {
    let id = id.trim().trim_end_matches('/');
    let bare = ["https://ror.org/", "http://ror.org/", "ror.org/"]
        .iter()
        .find_map(|p| id.strip_prefix(p))
        .unwrap_or(id);
    let b = bare.as_bytes();
    let ok = b.len() == 9
        && b[0] == b'0'
        && b[1..7].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b[7..].iter().all(u8::is_ascii_digit);
    ok.then(|| format!("https://ror.org/{bare}"))
}

/// ISO 639-2/3 codes and English names of common languages with their ISO 639-1 code.
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("ar", "ara", "Arabic"),
    ("ca", "cat", "Catalan"),
    ("cs", "ces", "Czech"),
    ("da", "dan", "Danish"),
    ("de", "deu", "German"),
    ("el", "ell", "Greek"),
    ("en", "eng", "English"),
    ("es", "spa", "Spanish"),
    ("et", "est", "Estonian"),
    ("fi", "fin", "Finnish"),
    ("fr", "fra", "French"),
    ("ga", "gle", "Irish"),
    ("he", "heb", "Hebrew"),
    ("hi", "hin", "Hindi"),
    ("hr", "hrv", "Croatian"),
    ("hu", "hun", "Hungarian"),
    ("is", "isl", "Icelandic"),
    ("it", "ita", "Italian"),
    ("ja", "jpn", "Japanese"),
    ("ko", "kor", "Korean"),
    ("la", "lat", "Latin"),
    ("lt", "lit", "Lithuanian"),
    ("lv", "lav", "Latvian"),
    ("nl", "nld", "Dutch"),
    ("no", "nor", "Norwegian"),
    ("pl", "pol", "Polish"),
    ("pt", "por", "Portuguese"),
    ("ro", "ron", "Romanian"),
    ("ru", "rus", "Russian"),
    ("sk", "slk", "Slovak"),
    ("sl", "slv", "Slovenian"),
    ("sv", "swe", "Swedish"),
    ("tr", "tur", "Turkish"),
    ("uk", "ukr", "Ukrainian"),
    ("zh", "zho", "Chinese"),
];

/// Bibliographic ISO 639-2 codes that differ from the terminology ones above.
const BIBLIOGRAPHIC: &[(&str, &str)] = &[
    ("ger", "de"),
    ("fre", "fr"),
    ("dut", "nl"),
    ("chi", "zh"),
    ("cze", "cs"),
    ("gre", "el"),
    ("ice", "is"),
    ("rum", "ro"),
    ("slo", "sk"),
];

/// lupo's `update_language`: the ISO 639-1 code of the language's first subtag (a code
/// or an English name), else the value itself when it is a language tag, else `None`.
pub fn language(value: &str) -> Option<String> {
    let first = value.split('-').next().unwrap_or("").to_ascii_lowercase();
    let known = LANGUAGES
        .iter()
        .find(|(two, three, name)| *two == first || *three == first || name.eq_ignore_ascii_case(&first))
        .map(|(two, _, _)| *two)
        .or_else(|| BIBLIOGRAPHIC.iter().find(|(b, _)| *b == first).map(|(_, two)| *two));
    if let Some(two) = known {
        return Some(two.to_string());
    }
    let is_tag = value.split('-').enumerate().all(|(i, part)| {
        (1..=8).contains(&part.len())
            && part.chars().all(|c| {
                if i == 0 {
                    c.is_ascii_alphabetic()
                } else {
                    c.is_ascii_alphanumeric()
                }
            })
    });
    is_tag.then(|| value.to_string())
}

/// lupo's `update_geoCoordinates`: coordinate strings that are decimals become numbers.
fn numbers_in(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(numbers_in),
        Value::Object(o) => {
            for (key, value) in o.iter_mut() {
                let coordinate = matches!(
                    key.as_str(),
                    "pointLongitude"
                        | "pointLatitude"
                        | "westBoundLongitude"
                        | "eastBoundLongitude"
                        | "southBoundLatitude"
                        | "northBoundLatitude"
                );
                match value {
                    Value::String(s) if coordinate => {
                        if let Some(n) = decimal(s) {
                            *value = n;
                        }
                    }
                    _ => numbers_in(value),
                }
            }
        }
        _ => {}
    }
}

/// Ruby's `convert_number_string` for a valid decimal: integer unless it has a dot.
fn decimal(s: &str) -> Option<Value> {
    let t = s.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    let f: f64 = t.parse().ok().filter(|f: &f64| f.is_finite())?;
    if s.contains('.') {
        serde_json::Number::from_f64(f).map(Value::Number)
    } else {
        t.parse::<i64>().ok().map(Value::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn normalised(v: Value) -> Value {
        let mut m = v.as_object().cloned().unwrap_or_default();
        normalise(&mut m);
        Value::Object(m)
    }

    #[test]
    fn lupo_shapes() {
        let n = normalised(json!({
            "publicationYear": "2011",
            "version": 1.5,
            "rightsList": "CC0",
            "creators": [{"name": "A", "affiliation": "Uni", "nameIdentifiers": {"nameIdentifier": "0000-0003-1419-2405", "nameIdentifierScheme": "ORCID"}}],
            "contributors": {"name": "B", "affiliation": [{"name": "X", "affiliationIdentifier": "05bp8ka05", "affiliationIdentifierScheme": "ROR"}]},
            "language": "eng",
            "geoLocations": [{"geoLocationPoint": {"pointLatitude": "49.0850736", "pointLongitude": "-123"}}],
        }));
        assert_eq!(n["publicationYear"], 2011);
        assert_eq!(n["version"], "1.5");
        assert_eq!(n["rightsList"], json!([{"rights": "CC0"}]));
        assert_eq!(n["creators"][0]["affiliation"], json!([{"name": "Uni"}]));
        assert_eq!(
            n["creators"][0]["nameIdentifiers"],
            json!([{"nameIdentifier": "https://orcid.org/0000-0003-1419-2405", "nameIdentifierScheme": "ORCID", "schemeUri": "https://orcid.org"}])
        );
        assert_eq!(
            n["contributors"][0]["affiliation"][0]["affiliationIdentifier"],
            "https://ror.org/05bp8ka05"
        );
        assert_eq!(n["contributors"][0]["nameIdentifiers"], json!([]));
        assert_eq!(n["language"], "en");
        assert_eq!(
            n["geoLocations"][0]["geoLocationPoint"],
            json!({"pointLatitude": 49.0850736, "pointLongitude": -123})
        );
    }

    #[test]
    fn languages() {
        assert_eq!(language("en-US").as_deref(), Some("en"));
        assert_eq!(language("German").as_deref(), Some("de"));
        assert_eq!(language("ger").as_deref(), Some("de"));
        assert_eq!(language("x-klingon").as_deref(), Some("x-klingon"));
        assert_eq!(language("not a language"), None);
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            orcid("http://orcid.org/0000-0002-1825-0097/").as_deref(),
            Some("https://orcid.org/0000-0002-1825-0097")
        );
        assert_eq!(
            orcid("0000 0002 1825 009X").as_deref(),
            Some("https://orcid.org/0000-0002-1825-009X")
        );
        assert_eq!(orcid("12"), None);
        assert_eq!(ror("ror.org/05bp8ka05").as_deref(), Some("https://ror.org/05bp8ka05"));
    }
}
