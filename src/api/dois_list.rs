//! `GET /dois` as lupo answers it: its filters (`client-id`, `provider-id`, `prefix`,
//! `resource-type-id`, `state`, `created`, `registered`, `published`, `query` with field
//! syntax as full-text search, `ids`, `user-id`, `affiliation-id`, `has-…`), `sort`, paging
//! clamps (`paginatable.rb`), facets in `meta` and sparse fieldsets (`fields[dois]`).
//! Unknown parameters are ignored, as lupo does.

use serde_json::{json, Map, Value};

use crate::app::Ctx;
use crate::db::dois::{Bucket, Facet, Search};
use crate::dois::{self, members, Filter, Order, State};
use crate::error::Error;
use crate::http::Request;

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 1000;
/// How deep `page[number]` reaches, as lupo (Elasticsearch's `max_result_window`): a
/// number past it is its last page; deeper walks use `page[cursor]`.
pub const MAX_RESULTS: u64 = 10_000;
/// Buckets per facet, as lupo's aggregations (`size: 10`).
const FACET_SIZE: u32 = 10;

/// Paging as lupo's `page_from_params` reads it: a size over 1000 is 1000, a number
/// below 1 (or not a number) is 1, a number past 10,000 results is the last page within
/// them (`10000 / size`, 1 for size 0); `page[size]=0` asks for counts only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub size: u32,
    pub number: u64,
}

pub fn paging(request: &Request) -> Paging {
    let param = |name: &str| request.query(name).map(str::trim).filter(|v| !v.is_empty());
    let size = match param("page[size]") {
        None => DEFAULT_PAGE_SIZE,
        Some(v) => v.parse::<i64>().map_or(0, |n| n.clamp(0, MAX_PAGE_SIZE as i64) as u32),
    };
    let number = param("page[number]")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map_or(1, |n| (n as u64).min(MAX_RESULTS.checked_div(size as u64).unwrap_or(1)));
    Paging { size, number }
}

/// A comma list, trimmed, without empty items.
fn list_of(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// lupo's `sort` values tinydoi can order by; others keep the default (`-updated`).
fn order(sort: Option<&str>) -> Order {
    match sort {
        Some("name") => Order::DoiAsc,
        Some("-name") => Order::DoiDesc,
        Some("created") => Order::CreatedAsc,
        Some("-created") => Order::CreatedDesc,
        Some("updated") => Order::UpdatedAsc,
        Some("title") => Order::TitleAsc,
        Some("-title") => Order::TitleDesc,
        Some("relevance") => Order::Relevance,
        _ => Order::UpdatedDesc,
    }
}

/// The search index's column for a field of lupo's query syntax (`titles.title:ocean`);
/// `None` for fields it does not hold.
fn indexed_field(field: &str) -> Option<&'static str> {
    Some(match field {
        "doi" | "uid" | "id" => "doi",
        "titles.title" | "titles" | "title" | "primary_title.title" => "titles",
        "creators.name"
        | "creators.givenName"
        | "creators.familyName"
        | "creator_names"
        | "creators.id"
        | "creators"
        | "creators.nameIdentifiers.nameIdentifier"
        | "creators.affiliation.affiliationIdentifier" => "creators",
        "publisher" | "publisher.name" => "publisher",
        "descriptions.description" | "descriptions" => "descriptions",
        "subjects.subject" | "subjects" => "subjects",
        "relatedIdentifiers.relatedIdentifier" | "related_identifiers.relatedIdentifier" => "related",
        _ => return None,
    })
}

/// One term of a query: an optional field, its text, whether it is a phrase (quoted) or
/// a prefix (`ocea*`), and whether it must not match (`-word`, `NOT word`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    field: Option<String>,
    text: String,
    prefix: bool,
    negated: bool,
}

/// Splits a `query` as Elasticsearch's `query_string` does for the syntax tinydoi keeps:
/// words, `"phrases"`, `field:value`, `field:"phrase"`, `+`/`-`/`!` and `AND`/`OR`/`NOT`
/// (`&&`, `||`), `word*`. Parentheses, boosts (`^2`), fuzziness (`~`), ranges and regular
/// expressions are not kept: their characters separate words. `OR` joins the terms beside it.
fn terms(query: &str) -> Vec<Vec<Term>> {
    let chars: Vec<char> = query.chars().collect();
    let mut groups: Vec<Vec<Term>> = Vec::new();
    let (mut negate_next, mut or_next) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || "()[]{}^~<>=".contains(c) {
            i += 1;
            continue;
        }
        // A bare word: up to whitespace or a quote.
        let mut word = String::new();
        let mut negated = std::mem::take(&mut negate_next);
        if matches!(c, '-' | '!' | '+') {
            negated = c != '+';
            i += 1;
        }
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' && !"()[]{}^~".contains(chars[i]) {
            word.push(chars[i]);
            i += 1;
        }
        match word.as_str() {
            "AND" | "&&" => continue,
            "OR" | "||" => {
                or_next = true;
                continue;
            }
            "NOT" => {
                negate_next = true;
                continue;
            }
            _ => {}
        }
        let mut field = None;
        let mut text = word.clone();
        if let Some((f, rest)) = word.split_once(':') {
            let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            // `https://…` is a URL searched as text, not a field `https`.
            if f.split('.').all(plain) && !rest.starts_with("//") {
                field = Some(f.to_string());
                text = rest.to_string();
            }
        }
        let mut phrase = false;
        if text.is_empty() && i < chars.len() && chars[i] == '"' {
            // A phrase (`"…"` or `field:"…"`): up to the closing quote or the end.
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                text.push(chars[i]);
                i += 1;
            }
            i += 1;
            phrase = true;
        }
        let prefix = !phrase && text.ends_with('*');
        let text: String = text.chars().filter(|c| *c != '*' && *c != '?').collect();
        if !text.chars().any(char::is_alphanumeric) {
            continue;
        }
        let term = Term {
            field,
            text,
            prefix,
            negated,
        };
        match groups.last_mut() {
            Some(group) if std::mem::take(&mut or_next) => group.push(term),
            _ => groups.push(vec![term]),
        }
    }
    groups
}

/// An FTS5 string literal: the text in double quotes, its quotes doubled (FTS5 then
/// splits it into the index's tokens, a phrase when there are several).
fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// `query=` as a full-text search, and the field queries on fields the index lacks: every
/// word must match (lupo's `default_operator: AND`), case- and accent-insensitive.
pub fn search(query: &str) -> (Search, Vec<(String, String)>) {
    let mut all: Vec<String> = Vec::new();
    let mut none: Vec<String> = Vec::new();
    let mut fields = Vec::new();
    for group in terms(query) {
        let mut alternatives = Vec::new();
        for term in group {
            let mut fts = fts_string(&term.text);
            if term.prefix {
                fts.push_str(" *");
            }
            match term.field.as_deref() {
                None => {}
                Some(field) => match indexed_field(field) {
                    Some(column) => fts = format!("{column} : {fts}"),
                    None => {
                        // Not in the index: matched in the stored JSON (not negated).
                        if !term.negated {
                            fields.push((field.to_string(), term.text.clone()));
                        }
                        continue;
                    }
                },
            }
            if term.negated {
                none.push(fts);
            } else {
                alternatives.push(fts);
            }
        }
        match alternatives.len() {
            0 => {}
            1 => all.extend(alternatives),
            _ => all.push(format!("({})", alternatives.join(" OR "))),
        }
    }
    let join = |v: Vec<String>, op: &str| (!v.is_empty()).then(|| v.join(op));
    (
        Search {
            all: join(all, " AND "),
            none: join(none, " OR "),
        },
        fields,
    )
}

/// A creators phrase for `user-id` / `affiliation-id`: the identifier's last path segment
/// (an ORCID or ROR id), searched among creators' name and affiliation identifiers.
fn identifier_search(value: &str) -> String {
    format!("creators : {}", fts_string(value.rsplit('/').next().unwrap_or(value)))
}

/// The filter the request's parameters ask for.
pub fn filter(ctx: &Ctx, request: &Request) -> Filter {
    let param = |name: &str| request.query(name).map(str::trim).filter(|v| !v.is_empty());
    let mut f = Filter::new(dois::visibility(&ctx.principal));
    f.clients = list_of(param("client-id"))
        .iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    f.providers = list_of(param("provider-id"))
        .iter()
        .map(|p| p.to_ascii_uppercase())
        .collect();
    f.prefixes = list_of(param("prefix"));
    f.ids = list_of(param("ids")).iter().map(|d| d.to_ascii_lowercase()).collect();
    f.resource_types = list_of(param("resource-type-id"))
        .iter()
        .map(|t| t.replace(['-', '_'], ""))
        .collect();
    f.created = list_of(param("created"));
    f.registered = list_of(param("registered"));
    f.published = list_of(param("published"));
    for s in list_of(param("state")) {
        match State::parse(&s.to_ascii_lowercase()) {
            Some(state) => f.states.push(state),
            // A state no DOI has matches none, as Elasticsearch would answer.
            None => f.nothing = true,
        }
    }
    let mut all: Vec<String> = Vec::new();
    if let Some(q) = param("query") {
        let (search, fields) = search(q);
        all.extend(search.all);
        f.search.none = search.none;
        f.fields = fields;
    }
    for id in [param("user-id"), param("affiliation-id")].into_iter().flatten() {
        if id.chars().any(char::is_alphanumeric) {
            all.push(identifier_search(id));
        } else {
            f.nothing = true;
        }
    }
    if !all.is_empty() {
        f.search.all = Some(all.join(" AND "));
    }
    // lupo filters `…_count >= n`; tinydoi has no event data, so every count is 0.
    for has in [
        "has-citations",
        "has-references",
        "has-parts",
        "has-part-of",
        "has-versions",
        "has-version-of",
        "has-views",
        "has-downloads",
    ] {
        if param(has).and_then(|v| v.parse::<i64>().ok()).is_some_and(|n| n > 0) {
            f.nothing = true;
        }
    }
    f.order = order(param("sort"));
    f
}

/// The sparse fieldset of `fields[dois]` (JSON:API), as lupo's `fields_from_params` reads
/// it: the names split at commas as they are (not trimmed), an empty list for an empty
/// value; `None` without the parameter (every field).
pub fn fieldset(request: &Request) -> Option<Vec<String>> {
    let value = request.query("fields[dois]")?;
    Some(value.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect())
}

/// A `dois` resource narrowed to a fieldset as jsonapi-serializer narrows it: its
/// `attributes` and `relationships` keep only the members named (camelCase, as written),
/// both stay (empty when none is named); `id` and `type` always stay. The order of what
/// is kept is the resource's.
pub fn sparse(resource: &[u8], names: &[String]) -> Result<Vec<u8>, Error> {
    let not_object = || Error::Internal("a dois resource is not a JSON object".into());
    let named = |key: &[u8]| names.iter().any(|n| n.as_bytes() == key);
    let mut out = Vec::with_capacity(resource.len().min(256));
    out.push(b'{');
    for (i, (key, value)) in members::members(resource)
        .ok_or_else(not_object)?
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key);
        out.extend_from_slice(b"\":");
        if key == b"attributes" || key == b"relationships" {
            out.push(b'{');
            let kept = members::members(value).ok_or_else(not_object)?;
            for (j, (k, v)) in kept.into_iter().filter(|(k, _)| named(k)).enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(k);
                out.extend_from_slice(b"\":");
                out.extend_from_slice(v);
            }
            out.push(b'}');
        } else {
            out.extend_from_slice(value);
        }
    }
    out.push(b'}');
    Ok(out)
}

/// Ruby's `humanize` of a state (`findable` → `Findable`).
fn humanize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |first| first.to_uppercase().chain(c).collect())
}

/// lupo's resource type name: `StudyRegistration` → `Study Registration`.
fn words(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// lupo's resource type id: `JournalArticle` → `journal-article`.
fn dasherize(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn buckets(found: Vec<Bucket>, id: impl Fn(&str) -> String, title: impl Fn(&str, Option<String>) -> String) -> Value {
    Value::Array(
        found
            .into_iter()
            .filter_map(|b| {
                let key = b.key?;
                Some(json!({"id": id(&key), "title": title(&key, b.title), "count": b.count}))
            })
            .collect(),
    )
}

/// lupo's default facets that SQL can answer, in `meta` beside the totals, and the
/// number of DOIs they count (the list's total: every DOI has a state).
pub fn facets(ctx: &Ctx, filter: &Filter) -> Result<(Map<String, Value>, u64), Error> {
    let same = |k: &str| k.to_string();
    let named = |k: &str, t: Option<String>| t.unwrap_or_else(|| k.to_string());
    let mut meta = Map::new();
    let table: [(&str, Facet); 8] = [
        ("states", Facet::States),
        ("resourceTypes", Facet::ResourceTypes),
        ("created", Facet::Created),
        ("published", Facet::Published),
        ("registered", Facet::Registered),
        ("providers", Facet::Providers),
        ("clients", Facet::Clients),
        ("prefixes", Facet::Prefixes),
    ];
    let kinds: Vec<Facet> = table.iter().map(|(_, f)| *f).collect();
    let all = dois::facets(ctx.db, &ctx.principal, filter.clone(), &kinds, FACET_SIZE)?;
    for ((name, facet), found) in table.into_iter().zip(all) {
        let value = match facet {
            Facet::States => buckets(found, same, |k, _| humanize(k)),
            Facet::ResourceTypes => buckets(found, dasherize, |k, _| words(k)),
            Facet::Providers | Facet::Clients => buckets(found, |k| k.to_ascii_lowercase(), named),
            _ => buckets(found, same, |k, _| k.to_string()),
        };
        meta.insert(name.to_string(), value);
    }
    // Every DOI tinydoi stores is kernel-4.
    let total: u64 = meta["states"]
        .as_array()
        .map_or(0, |s| s.iter().filter_map(|b| b["count"].as_u64()).sum());
    if total > 0 {
        meta.insert(
            "schemaVersions".into(),
            json!([{"id": "4", "title": "Schema 4", "count": total}]),
        );
    }
    Ok((meta, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn paging_clamps_as_lupo() {
        let p = |q: &str| paging(&Request::new(Method::Get, &format!("/dois?{q}")));
        assert_eq!(p(""), Paging { size: 25, number: 1 });
        assert_eq!(p("page[size]=5000&page[number]=0"), Paging { size: 1000, number: 1 });
        assert_eq!(p("page[size]=0&page[number]=-3"), Paging { size: 0, number: 1 });
        assert_eq!(p("page[size]=abc&page[number]=x"), Paging { size: 0, number: 1 });
        assert_eq!(p("page[number]=401"), Paging { size: 25, number: 400 });
        assert_eq!(p("page[size]=3&page[number]=99999"), Paging { size: 3, number: 3333 });
        assert_eq!(p("page[size]=0&page[number]=7"), Paging { size: 0, number: 1 });
    }

    #[test]
    fn sparse_fieldsets_as_jsonapi_serializer() {
        let r = |q: &str| fieldset(&Request::new(Method::Get, &format!("/dois?{q}")));
        assert_eq!(r(""), None);
        assert_eq!(r("fields[clients]=name"), None);
        assert_eq!(r("fields%5Bdois%5D="), Some(vec![]));
        assert_eq!(
            r("fields[dois]=id,subjects"),
            Some(vec!["id".into(), "subjects".into()])
        );
        let resource = br#"{"id":"10.1/a","type":"dois","attributes":{"doi":"10.1/a","subjects":[{"subject":"x,\"y\""}],"url":null},"relationships":{"client":{"data":{"id":"c","type":"clients"}}}}"#;
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let kept = sparse(resource, &names(&["id", "subjects", "client"])).unwrap();
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            r#"{"id":"10.1/a","type":"dois","attributes":{"subjects":[{"subject":"x,\"y\""}]},"relationships":{"client":{"data":{"id":"c","type":"clients"}}}}"#
        );
        let none = sparse(resource, &names(&["id"])).unwrap();
        assert_eq!(
            String::from_utf8(none).unwrap(),
            r#"{"id":"10.1/a","type":"dois","attributes":{},"relationships":{}}"#
        );
        assert!(sparse(b"[1]", &[]).is_err());
    }

    #[test]
    fn queries_become_fts5_expressions() {
        let q = |s: &str| search(s);
        let all = |s: &str| q(s).0.all;
        assert_eq!(all("ocean glacier"), Some(r#""ocean" AND "glacier""#.into()));
        assert_eq!(all("\"ocean floor\" ice*"), Some(r#""ocean floor" AND "ice" *"#.into()));
        assert_eq!(all("titles.title:\"Ocean 3\""), Some(r#"titles : "Ocean 3""#.into()));
        assert_eq!(all("creators.name:Fenner"), Some(r#"creators : "Fenner""#.into()));
        assert_eq!(all("ocean OR sea ice"), Some(r#"("ocean" OR "sea") AND "ice""#.into()));
        assert_eq!(all("say \"hi"), Some(r#""say" AND "hi""#.into()));
        assert_eq!(all("a\"b"), Some(r#""a" AND "b""#.into()));
        let (s, fields) = q("ocean -ice NOT sea version:testtag");
        assert_eq!(s.all, Some(r#""ocean""#.into()));
        assert_eq!(s.none, Some(r#""ice" OR "sea""#.into()));
        assert_eq!(fields, vec![("version".to_string(), "testtag".to_string())]);
        // URLs are text; punctuation alone is no term.
        assert_eq!(all("https://example.org"), Some(r#""https://example.org""#.into()));
        assert_eq!(q("- ( ) *").0, Search::default());
        assert_eq!(dasherize("JournalArticle"), "journal-article");
        assert_eq!(words("StudyRegistration"), "Study Registration");
        assert_eq!(words("Dataset"), "Dataset");
        assert_eq!(order(Some("-created")), Order::CreatedDesc);
        assert_eq!(order(Some("relevance")), Order::Relevance);
        assert_eq!(order(Some("-title")), Order::TitleDesc);
    }
}
