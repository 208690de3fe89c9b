//! `GET /dois` as lupo answers it: its filters (`client-id`, `provider-id`, `prefix`,
//! `resource-type-id`, `state`, `created`, `registered`, `published`, `query` with field
//! syntax, `ids`, `user-id`, `affiliation-id`, `has-…`), `sort`, paging clamps
//! (`paginatable.rb`) and facets in `meta`. Unknown parameters are ignored, as lupo does.

use serde_json::{json, Map, Value};

use crate::app::Ctx;
use crate::db::dois::{Bucket, Facet};
use crate::dois::{self, Filter, Order, State};
use crate::error::Error;
use crate::http::Request;

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Keeps offsets far inside SQLite's integers; deeper walks use `page[cursor]`.
pub const MAX_PAGE_NUMBER: u64 = 1_000_000;
/// Buckets per facet, as lupo's aggregations (`size: 10`).
const FACET_SIZE: u32 = 10;

/// Paging as lupo's `page_from_params` reads it: a size over 1000 is 1000, a number
/// below 1 (or not a number) is 1; `page[size]=0` asks for counts only.
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
        .map_or(1, |n| (n as u64).min(MAX_PAGE_NUMBER));
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
        _ => Order::UpdatedDesc,
    }
}

/// `field:value` of lupo's query syntax when the field is a JSON path of identifiers.
fn field_query(query: &str) -> Option<(String, String)> {
    let (field, value) = query.split_once(':')?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    // `https://…` is a URL searched as text, not a field `https`.
    if !field.split('.').all(plain) || value.starts_with("//") {
        return None;
    }
    let value = value.trim().trim_matches('"').replace('*', "");
    Some((field.to_string(), value))
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
    if let Some(q) = param("query") {
        match field_query(q) {
            Some(field) => f.fields.push(field),
            None => f.contains.push(q.to_string()),
        }
    }
    if let Some(user) = param("user-id") {
        f.contains.push(user.rsplit('/').next().unwrap_or(user).to_string());
    }
    if let Some(affiliation) = param("affiliation-id") {
        f.contains
            .push(affiliation.rsplit('/').next().unwrap_or(affiliation).to_string());
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

/// Ruby's `humanize` of a state (`findable` → `Findable`).
fn humanize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |first| first.to_uppercase().chain(c).collect())
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

/// lupo's default facets that SQL can answer, in `meta` beside the totals.
pub fn facets(ctx: &Ctx, filter: &Filter) -> Result<Map<String, Value>, Error> {
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
    for (name, facet) in table {
        let found = dois::facet(ctx.db, &ctx.principal, filter.clone(), facet, FACET_SIZE)?;
        let value = match facet {
            Facet::States => buckets(found, same, |k, _| humanize(k)),
            Facet::ResourceTypes => buckets(found, dasherize, |k, _| k.to_string()),
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
    Ok(meta)
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
    }

    #[test]
    fn field_queries_and_ids() {
        assert_eq!(
            field_query("titles.title:ocean"),
            Some(("titles.title".into(), "ocean".into()))
        );
        assert_eq!(
            field_query("version:testtag"),
            Some(("version".into(), "testtag".into()))
        );
        assert_eq!(field_query("http://x"), None);
        assert_eq!(dasherize("JournalArticle"), "journal-article");
        assert_eq!(order(Some("-created")), Order::CreatedDesc);
        assert_eq!(order(Some("relevance")), Order::UpdatedDesc);
    }
}
