//! The view of a DOI that every writer shares: its stored DataCite attributes with
//! bolognese's derived values (full `types`, personal names split into family/given,
//! the container, the issued date), so that each rule is written once.

use super::Source;
use crate::metadata::types as tables;
use serde_json::{json, Map, Value};

/// A DOI's metadata as the writers see it.
pub(crate) struct Meta<'a> {
    pub doi: String,
    pub attrs: &'a Map<String, Value>,
    pub url: Option<&'a str>,
    pub state: Option<&'a str>,
    pub registered: Option<&'a str>,
    pub client_id: Option<String>,
    pub provider_id: Option<String>,
    pub types: Map<String, Value>,
    pub creators: Vec<Map<String, Value>>,
    pub contributors: Vec<Map<String, Value>>,
}

impl<'a> Meta<'a> {
    pub fn new(src: &Source<'a>) -> Meta<'a> {
        let attrs = src.attributes;
        let client_id = src.client_id.map(str::to_lowercase);
        let provider_id = client_id
            .as_deref()
            .map(|c| c.split('.').next().unwrap_or(c).to_string());
        Meta {
            doi: src.doi.to_lowercase(),
            attrs,
            url: src.url.or_else(|| attrs.get("url").and_then(Value::as_str)),
            state: src.state,
            registered: src.registered,
            client_id,
            provider_id,
            types: full_types(attrs.get("types")),
            creators: people(attrs.get("creators")),
            contributors: people(attrs.get("contributors")),
        }
    }

    /// `https://doi.org/<doi>`, bolognese's `normalize_doi`.
    pub fn id(&self) -> String {
        doi_url(&self.doi)
    }

    pub fn list(&self, key: &str) -> &'a [Value] {
        self.attrs.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.attrs.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    pub fn type_of(&self, key: &str) -> Option<&str> {
        self.types.get(key).and_then(Value::as_str)
    }

    /// The first title.
    pub fn title(&self) -> Option<&'a str> {
        first_of(self.list("titles"), "title")
    }

    /// Every subject's text.
    pub fn subjects(&self) -> Vec<&'a str> {
        self.list("subjects")
            .iter()
            .filter_map(|s| s.get("subject").and_then(Value::as_str))
            .collect()
    }

    /// Abstracts if there are any, else every description (bolognese's `abstract_description`),
    /// whitespace squished as bolognese's `sanitize` leaves it.
    pub fn abstract_text(&self) -> Option<String> {
        let all = self.list("descriptions");
        let is_abstract = |d: &&Value| d.get("descriptionType").and_then(Value::as_str) == Some("Abstract");
        let text = match all.iter().find(is_abstract) {
            Some(d) => d.get("description").and_then(Value::as_str),
            None => first_of(all, "description"),
        };
        text.map(squish)
    }

    pub fn first_description(&self) -> Option<String> {
        first_of(self.list("descriptions"), "description").map(squish)
    }

    /// The publisher as an object (`name`, identifiers), whichever form is stored.
    pub fn publisher(&self) -> Option<Map<String, Value>> {
        match self.attrs.get("publisher")? {
            Value::String(s) if !s.is_empty() => {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(s.clone()));
                Some(m)
            }
            Value::Object(o) => Some(o.clone()),
            _ => None,
        }
    }

    pub fn publisher_name(&self) -> Option<String> {
        self.publisher()
            .and_then(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
    }

    /// `publicationYear` as text, whether stored as a number or a string.
    pub fn publication_year(&self) -> Option<String> {
        match self.attrs.get("publicationYear")? {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// The first date of `date_type`.
    pub fn date(&self, date_type: &str) -> Option<&'a str> {
        self.list("dates")
            .iter()
            .find(|d| d.get("dateType").and_then(Value::as_str) == Some(date_type))
            .and_then(|d| d.get("date").and_then(Value::as_str))
    }

    /// CSL `date-parts` of the Issued date, else of the publication year.
    pub fn issued(&self) -> Value {
        let text = self
            .date("Issued")
            .map(str::to_string)
            .or_else(|| self.publication_year());
        date_parts(text.as_deref())
    }

    pub fn rights(&self) -> Vec<&'a Value> {
        self.list("rightsList").iter().collect()
    }

    pub fn version(&self) -> Option<&'a str> {
        self.str("version")
    }

    pub fn language(&self) -> Option<&'a str> {
        self.str("language")
    }

    /// bolognese's `generate_container`: the `IsPublishedIn` related item, else the
    /// SeriesInformation description with the `IsPartOf` related identifier.
    pub fn container(&self) -> Option<Map<String, Value>> {
        let kind = if self.types.get("resourceTypeGeneral").and_then(Value::as_str) == Some("Dataset") {
            "DataRepository"
        } else {
            "Series"
        };
        let item = self
            .list("relatedItems")
            .iter()
            .find(|r| r.get("relationType").and_then(Value::as_str) == Some("IsPublishedIn"));
        if let Some(item) = item {
            let id = item.get("relatedItemIdentifier");
            let mut c = Map::new();
            let mut put = |k: &str, v: Option<&Value>| {
                if let Some(v) = v.filter(|v| !v.is_null()) {
                    c.insert(k.to_string(), v.clone());
                }
            };
            put("type", Some(&json!(kind)));
            put("identifier", id.and_then(|i| i.get("relatedItemIdentifier")));
            put("identifierType", id.and_then(|i| i.get("relatedItemIdentifierType")));
            let title = item.get("titles").and_then(|t| t.get(0)).and_then(|t| t.get("title"));
            put("title", title);
            for k in ["volume", "issue", "edition", "number", "firstPage", "lastPage"] {
                put(k, item.get(k));
            }
            if item.get("numberType").and_then(Value::as_str) == Some("Chapter") {
                put("chapterNumber", item.get("number"));
            }
            return Some(c);
        }
        self.series_container(kind)
    }

    fn series_container(&self, kind: &str) -> Option<Map<String, Value>> {
        let series = self
            .list("descriptions")
            .iter()
            .find(|d| d.get("descriptionType").and_then(Value::as_str) == Some("SeriesInformation"))
            .and_then(|d| d.get("description").and_then(Value::as_str))?;
        let si = series_information(series);
        let title = si.get("title")?.clone();
        let part_of = self
            .list("relatedIdentifiers")
            .iter()
            .find(|r| r.get("relationType").and_then(Value::as_str) == Some("IsPartOf"));
        let mut c = Map::new();
        c.insert("type".into(), json!(kind));
        if let Some(p) = part_of {
            for (k, from) in [
                ("identifier", "relatedIdentifier"),
                ("identifierType", "relatedIdentifierType"),
            ] {
                if let Some(v) = p.get(from) {
                    c.insert(k.into(), v.clone());
                }
            }
        }
        c.insert("title".into(), title);
        for (k, v) in si {
            if k != "title" {
                c.insert(k, v);
            }
        }
        Some(c)
    }

    /// `doi.org` URLs of the related identifiers with one of `relations`, else their URL.
    pub fn related(&self, relations: &[&str]) -> Vec<&'a Value> {
        self.list("relatedIdentifiers")
            .iter()
            .filter(|r| {
                r.get("relationType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| relations.contains(&t))
            })
            .collect()
    }
}

/// Runs of whitespace as one space, ends trimmed (Rails' `squish`).
pub(crate) fn squish(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `key` of a list of objects.
pub(crate) fn first_of<'v>(list: &'v [Value], key: &str) -> Option<&'v str> {
    list.first().and_then(|v| v.get(key)).and_then(Value::as_str)
}

pub(crate) fn doi_url(doi: &str) -> String {
    format!("https://doi.org/{}", doi.to_lowercase().replace(' ', "%20"))
}

/// bolognese's `normalize_id`: a DOI becomes its doi.org URL, an http(s) URL stays, anything else is dropped.
pub(crate) fn normalize_id(id: &str) -> Option<String> {
    let id = id.trim();
    let bare = id
        .strip_prefix("https://doi.org/")
        .or_else(|| id.strip_prefix("http://doi.org/"))
        .or_else(|| id.strip_prefix("https://dx.doi.org/"))
        .or_else(|| id.strip_prefix("http://dx.doi.org/"))
        .or_else(|| id.strip_prefix("doi:"))
        .unwrap_or(id);
    if is_doi(bare) {
        Some(doi_url(bare))
    } else if id.starts_with("http://") || id.starts_with("https://") {
        Some(id.to_string())
    } else {
        None
    }
}

/// `10.` + 4 to 5 digits + `/` + something.
pub(crate) fn is_doi(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("10.") else {
        return false;
    };
    let Some((reg, suffix)) = rest.split_once('/') else {
        return false;
    };
    (4..=5).contains(&reg.len()) && reg.bytes().all(|b| b.is_ascii_digit()) && !suffix.is_empty()
}

/// CSL `{"date-parts": [[y, m, d]]}` from an ISO 8601 text; zero parts are dropped.
pub(crate) fn date_parts(iso: Option<&str>) -> Value {
    let Some(iso) = iso else {
        return json!({"date-parts": [[]]});
    };
    let part = |from: usize, to: usize| -> u64 { iso.get(from..to).and_then(|s| s.parse().ok()).unwrap_or(0) };
    let parts: Vec<u64> = [part(0, 4), part(5, 7), part(8, 10)]
        .into_iter()
        .filter(|p| *p != 0)
        .collect();
    json!({ "date-parts": [parts] })
}

/// The complete `types` bolognese derives from `resourceTypeGeneral` and `resourceType`;
/// values already stored (e.g. sent by a REST client) win.
fn full_types(stored: Option<&Value>) -> Map<String, Value> {
    let mut types = stored.and_then(Value::as_object).cloned().unwrap_or_default();
    tables::derive(&mut types);
    types
}

/// Creators or contributors with bolognese's name handling: a personal name
/// "Family, Given" without `familyName` is split, and gets `nameType: Personal`.
fn people(list: Option<&Value>) -> Vec<Map<String, Value>> {
    list.and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_object).map(person).collect())
        .unwrap_or_default()
}

fn person(p: &Map<String, Value>) -> Map<String, Value> {
    let mut p = p.clone();
    let has = |p: &Map<String, Value>, k: &str| p.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if has(&p, "familyName") || p.get("nameType").and_then(Value::as_str) == Some("Organizational") {
        return p;
    }
    let name = p.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let orcid = p.get("nameIdentifiers").and_then(Value::as_array).is_some_and(|ids| {
        ids.iter()
            .any(|i| i.get("nameIdentifierScheme").and_then(Value::as_str) == Some("ORCID"))
    });
    if let Some((family, given)) = name.split_once(',').filter(|_| !name.contains(';')) {
        p.insert("nameType".into(), json!("Personal"));
        p.insert("familyName".into(), json!(family.trim()));
        if !given.trim().is_empty() {
            p.insert("givenName".into(), json!(given.trim()));
        }
    } else if orcid {
        p.insert("nameType".into(), json!("Personal"));
    }
    p
}

/// bolognese's `get_series_information`: "Title, 12(3), 45-67" → title, volume, issue,
/// first and last page (split on every comma, as bolognese does).
fn series_information(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.insert(k.into(), json!(v));
        }
    };
    put("title", parts.first().copied());
    if parts.len() > 2 {
        // Ruby's rpartition(/\(([^)]+)\)/): the last "(…)" is the issue.
        let vi = parts[1];
        match (vi.rfind('('), vi.rfind(')')) {
            (Some(open), Some(close)) if close > open + 1 => {
                let before = &vi[..open];
                let after = &vi[close + 1..];
                put("volume", Some(if before.is_empty() { after } else { before }));
                put("issue", Some(&vi[open + 1..close]));
            }
            _ => put("volume", Some(vi)),
        }
    }
    if parts.len() > 1 {
        let pages = parts[parts.len() - 1];
        let mut p = pages.split('-').map(str::trim);
        put("firstPage", p.next());
        put("lastPage", p.next());
    }
    out
}
