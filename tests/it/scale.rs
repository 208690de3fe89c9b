//! Lists, search and facets at scale (issue 21): every list filter is served by an index
//! (`EXPLAIN QUERY PLAN`), the maintained counts agree with counting, `query=` is a
//! full-text search with lupo's syntax, `sort=title`, lupo's 10,000-result paging limit,
//! migrations 8 and 11 on a database that already holds DOIs, and migration 11's columns
//! agreeing with the JSON they come from.

use rusqlite::Connection;
use serde_json::{json, Value};

use tinydoi::db::dois::{self as dbd, Facet, Filter, Order, State, Visible};

use crate::support::*;

fn create(s: &TestServer, attributes: Value) {
    s.post("/dois")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": attributes}}))
        .send()
        .expect(201);
}

/// A findable DOI with these titles, creators and resource type.
fn publish(s: &TestServer, doi: &str, title: &str, creator: &str, kind: &str) {
    create(
        s,
        json!({
            "doi": doi, "url": format!("https://example.org/{doi}"), "event": "publish",
            "titles": [{"title": title}],
            "creators": [{"name": creator, "nameIdentifiers": [{"nameIdentifier": "https://orcid.org/0000-0002-1825-0097", "nameIdentifierScheme": "ORCID"}]}],
            "publisher": "Example Repository", "publicationYear": 2021,
            "types": {"resourceTypeGeneral": kind},
            "descriptions": [{"description": "Measured from the research vessel Polarstern", "descriptionType": "Abstract"}],
        }),
    );
}

fn dois_of(doc: &Value) -> Vec<String> {
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

fn search_server() -> TestServer {
    let s = TestServer::start();
    publish(
        &s,
        "10.5072/a",
        "Ocean temperatures of the North Sea",
        "Fenner, Martin",
        "Dataset",
    );
    publish(&s, "10.5072/b", "Glacier retreat in Patagonia", "García, Sofía", "Text");
    publish(&s, "10.5072/c", "Ocean glacier interaction", "Nakamura, Ken", "Dataset");
    create(
        &s,
        json!({"doi": "10.5072/d", "titles": [{"title": "Draft about the ocean"}]}),
    );
    s
}

#[test]
fn query_is_a_full_text_search_with_lupos_syntax() {
    let s = search_server();
    let found = |q: &str| {
        let mut v = dois_of(
            &s.get(&format!("/dois?query={q}&sort=name"))
                .client_auth()
                .send()
                .expect(200)
                .json(),
        );
        v.sort();
        v
    };
    // Every word must match, in any order and case; accents do not matter either way.
    assert_eq!(found("ocean"), ["10.5072/a", "10.5072/c", "10.5072/d"]);
    assert_eq!(found("GLACIER%20ocean"), ["10.5072/c"]);
    assert_eq!(found("garcia"), ["10.5072/b"]);
    assert_eq!(found("Sof%C3%ADa%20GARC%C3%8DA"), ["10.5072/b"]);
    assert_eq!(found("patag*"), ["10.5072/b"]);
    // Phrases, OR, negation.
    assert_eq!(found("%22north%20sea%22"), ["10.5072/a"]);
    assert_eq!(found("%22sea%20north%22"), Vec::<String>::new());
    assert_eq!(found("patagonia%20OR%20north"), ["10.5072/a", "10.5072/b"]);
    assert_eq!(found("ocean%20-glacier"), ["10.5072/a", "10.5072/d"]);
    assert_eq!(found("ocean%20NOT%20draft"), ["10.5072/a", "10.5072/c"]);
    // lupo's field syntax on indexed fields: the field alone.
    assert_eq!(found("titles.title:glacier"), ["10.5072/b", "10.5072/c"]);
    assert_eq!(found("creators.name:Fenner"), ["10.5072/a"]);
    assert_eq!(found("creators.name:Patagonia"), Vec::<String>::new());
    assert_eq!(
        found("descriptions.description:polarstern"),
        ["10.5072/a", "10.5072/b", "10.5072/c"]
    );
    assert_eq!(found("doi:10.5072%2Fb"), ["10.5072/b"]);
    // The DOI itself and identifiers; user-id finds creators by ORCID.
    assert_eq!(found("10.5072%2Fc"), ["10.5072/c"]);
    let users = dois_of(
        &s.get("/dois?user-id=https://orcid.org/0000-0002-1825-0097")
            .send()
            .expect(200)
            .json(),
    );
    assert_eq!(users.len(), 3);
    // Only punctuation: no search at all.
    assert_eq!(found("%2A").len(), 4);
    // Anonymous callers still see only findable DOIs.
    let doc = s.get("/dois?query=ocean").send().expect(200).json();
    assert_eq!(doc["meta"]["total"], 2);
}

#[test]
fn sort_by_title_and_relevance() {
    let s = search_server();
    let order = |q: &str| dois_of(&s.get(&format!("/dois?{q}")).client_auth().send().expect(200).json());
    assert_eq!(
        order("sort=title"),
        ["10.5072/d", "10.5072/b", "10.5072/c", "10.5072/a"]
    );
    assert_eq!(
        order("sort=-title"),
        ["10.5072/a", "10.5072/c", "10.5072/b", "10.5072/d"]
    );
    // The title that says "glacier" and nothing else much ranks first.
    let best = order("query=glacier%20OR%20retreat%20OR%20patagonia&sort=relevance");
    assert_eq!(best[0], "10.5072/b");
}

#[test]
fn numbered_pages_stop_at_ten_thousand_results_as_lupo() {
    let s = TestServer::start();
    publish(&s, "10.5072/template", "Ocean", "Fenner, Martin", "Dataset");
    copies(&s, "10.5072/template", 11_999);
    let doc = s.get("/dois?page[number]=1").send().expect(200).json();
    assert_eq!(doc["meta"]["total"], 12_000);
    assert_eq!(doc["meta"]["totalPages"], 400, "numbered pages reach 10,000 results");
    assert_eq!(doc["meta"]["states"][0]["count"], 12_000);
    // Past the last reachable page: that page, and no next link.
    let doc = s.get("/dois?page[number]=450").send().expect(200).json();
    assert_eq!(doc["meta"]["page"], 400);
    assert_eq!(doc["data"].as_array().unwrap().len(), 25);
    assert!(doc["links"].get("next").is_none());
    let doc = s.get("/dois?page[number]=399").send().expect(200).json();
    assert!(doc["links"]["next"].as_str().unwrap().contains("page%5Bnumber%5D=400"));
    // Cursor paging counts every page.
    let doc = s.get("/dois?page[cursor]=1&page[size]=1000").send().expect(200).json();
    assert_eq!(doc["meta"]["totalPages"], 12);
    // The copies are searchable.
    let doc = s.get("/dois?query=ocean&page[size]=0").send().expect(200).json();
    assert_eq!(doc["meta"]["total"], 12_000);
}

/// `n` copies of DOI `template` (`10.5072/copy-1` …, each a second newer), straight into
/// the table: the API would take minutes.
fn copies(s: &TestServer, template: &str, n: u32) {
    let db = s.db();
    let tx = db.unchecked_transaction().unwrap();
    tx.execute(
        "WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < ?2)
         INSERT INTO dois (doi, client, prefix, state, url, xml, attributes, created, updated, registered, derived)
         SELECT '10.5072/copy-' || value, client, prefix, state, url, xml, attributes, created + value,
                updated + value, registered, derived
         FROM dois, n WHERE doi = ?1",
        rusqlite::params![template, n],
    )
    .unwrap();
    // A write through `db::dois` indexes its DOI for search; a copy in SQL, as the migration's
    // backfill does, from `dois_search_rows`.
    tx.execute(
        "INSERT INTO dois_search (rowid, doi, titles, creators, publisher, descriptions, subjects, related)
         SELECT * FROM dois_search_rows WHERE doi LIKE '10.5072/copy-%'",
        [],
    )
    .unwrap();
    dbd::recount(&tx).unwrap();
    tx.commit().unwrap();
}

#[test]
fn mds_doi_list_streams_long_lists() {
    let s = TestServer::start();
    publish(&s, "10.5072/template", "Ocean", "Fenner, Martin", "Dataset");
    create(&s, json!({"doi": "10.5072/draft", "titles": [{"title": "Draft"}]}));
    // Short: one body with its length, as before.
    let short = s.get("/doi").client_auth().send().expect(200);
    assert_eq!(short.text(), "10.5072/TEMPLATE");
    assert!(short.header("Content-Length").is_some());
    // Longer than a page (5,000): streamed in chunks, every DOI once, oldest first.
    copies(&s, "10.5072/template", 12_345);
    let long = s.get("/doi").client_auth().send().expect(200);
    assert_eq!(long.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(long.header("Content-Type"), Some("text/plain;charset=UTF-8"));
    let text = long.text();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 12_346);
    assert_eq!(lines[0], "10.5072/TEMPLATE");
    assert_eq!(lines[1], "10.5072/COPY-1");
    assert_eq!(lines[12_345], "10.5072/COPY-12345");
    assert!(!text.ends_with('\n'));
}

fn filter(visible: Visible) -> Filter {
    Filter::new(visible)
}

#[test]
fn every_list_filter_is_served_by_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let conn = tinydoi::db::open(&dir.path().join("t.db")).unwrap();
    type Tweak = fn(&mut Filter);
    let cases: Vec<(&str, Tweak)> = vec![
        ("client-id", |f| f.clients = vec!["DEMO.REPO".into()]),
        ("provider-id", |f| f.providers = vec!["DEMO".into()]),
        ("prefix", |f| f.prefixes = vec!["10.5072".into()]),
        ("state", |f| f.states = vec![State::Draft]),
        ("resource-type-id", |f| f.resource_types = vec!["dataset".into()]),
        ("created", |f| f.created = vec!["2020".into(), "2021".into()]),
        ("registered", |f| f.registered = vec!["2020".into()]),
        ("published", |f| f.published = vec!["2020".into()]),
        ("ids", |f| f.ids = vec!["10.5072/a".into()]),
        ("query", |f| f.search.all = Some("\"ocean\"".into())),
        ("client-id + state", |f| {
            f.clients = vec!["DEMO.REPO".into()];
            f.states = vec![State::Findable];
        }),
        ("client-id + created", |f| {
            f.clients = vec!["DEMO.REPO".into()];
            f.created = vec!["2020".into()];
        }),
        ("prefix + resource-type-id", |f| {
            f.prefixes = vec!["10.5072".into()];
            f.resource_types = vec!["dataset".into()];
        }),
        ("client-id + query", |f| {
            f.clients = vec!["DEMO.REPO".into()];
            f.search.all = Some("\"ocean\"".into());
        }),
    ];
    let visibilities = [
        Visible::All,
        Visible::Findable,
        Visible::FindableOrClient("DEMO.REPO".into()),
        Visible::FindableOrProvider("DEMO".into()),
    ];
    let orders = [Order::UpdatedDesc, Order::CreatedDesc, Order::DoiAsc, Order::TitleAsc];
    let mut scans = Vec::new();
    for (name, tweak) in &cases {
        for visible in &visibilities {
            for order in orders {
                let mut f = filter(visible.clone());
                tweak(&mut f);
                f.order = order;
                for cursor in [false, true] {
                    if cursor {
                        f.cursor = Some(dbd::Cursor {
                            created: 1,
                            doi: "10.5072/x".into(),
                        });
                    }
                    let plan = dbd::list_plan(&conn, &f).unwrap();
                    if plan
                        .iter()
                        .any(|step| step == "SCAN dois" || step.starts_with("SCAN dois USING"))
                    {
                        scans.push(format!("{name} / {visible:?} / {order:?} / cursor {cursor}: {plan:?}"));
                    }
                }
            }
        }
    }
    assert!(scans.is_empty(), "plans scanning dois:\n{}", scans.join("\n"));
}

#[test]
fn counts_agree_with_counting_after_every_kind_of_write() {
    let s = search_server();
    let db = s.db();
    // Updates of every kind: metadata (resource type, year), state, deletion.
    s.put("/dois/10.5072/c")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {"types": {"resourceTypeGeneral": "Software"}, "publicationYear": 2019}}}))
        .send()
        .expect(200);
    s.put("/dois/10.5072/a")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {"event": "hide"}}}))
        .send()
        .expect(200);
    s.delete("/dois/10.5072/d").client_auth().send().expect(204);
    create(&s, json!({"doi": "10.5072/e", "titles": [{"title": "Another draft"}]}));
    // A transfer to another provider's client (staff may).
    s.put("/dois/10.5072/b")
        .auth("admin", ADMIN_PASSWORD)
        .json(&json!({"data": {"type": "dois", "attributes": {"mode": "transfer"},
            "relationships": {"client": {"data": {"type": "clients", "id": "other.repo"}}}}}))
        .send()
        .expect(200);
    let moved = dbd::facet(&db, &filter(Visible::All), Facet::Clients, 10).unwrap();
    assert!(
        moved
            .iter()
            .any(|b| b.key.as_deref() == Some("OTHER.REPO") && b.count == 1),
        "{moved:?}"
    );
    check_counts(&db);
}

/// The total and facets of a search come from an in-memory copy of `doi_facets`
/// (`db::facet_values`): the next request after a write sees it, whoever wrote (the
/// server, or another connection to the file with `db::dois`), and a copy brought up to
/// date answers as SQLite counts.
#[test]
fn a_searchs_facets_follow_every_write() {
    let s = search_server();
    let types = |q: &str| -> Vec<(String, u64)> {
        let doc = s.get(&format!("/dois?query={q}")).send().expect(200).json();
        let mut out: Vec<(String, u64)> = doc["meta"]["resourceTypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["id"].as_str().unwrap().to_string(), b["count"].as_u64().unwrap()))
            .collect();
        out.push(("total".into(), doc["meta"]["total"].as_u64().unwrap()));
        out
    };
    let pairs = |v: &[(&str, u64)]| -> Vec<(String, u64)> { v.iter().map(|(k, n)| (k.to_string(), *n)).collect() };
    // Anonymous: the findable DOIs with "ocean" (a and c; d is a draft).
    assert_eq!(types("ocean"), pairs(&[("dataset", 2), ("total", 2)]));
    s.put("/dois/10.5072/c")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {"types": {"resourceTypeGeneral": "Software"}}}}))
        .send()
        .expect(200);
    assert_eq!(types("ocean"), pairs(&[("dataset", 1), ("software", 1), ("total", 2)]));
    s.put("/dois/10.5072/d")
        .client_auth()
        .json(
            &json!({"data": {"type": "dois", "attributes": {"event": "publish", "url": "https://example.org/d",
            "creators": [{"name": "Doe, Jane"}], "publisher": "P", "publicationYear": 2020,
            "types": {"resourceTypeGeneral": "Image"}}}}),
        )
        .send()
        .expect(200);
    assert_eq!(
        types("ocean"),
        pairs(&[("dataset", 1), ("image", 1), ("software", 1), ("total", 3)])
    );
    // A write that changes what matches but not what anything counts under.
    s.put("/dois/10.5072/b")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {"titles": [{"title": "Ocean retreat"}]}}}))
        .send()
        .expect(200);
    assert_eq!(
        types("ocean"),
        pairs(&[("dataset", 1), ("image", 1), ("software", 1), ("text", 1), ("total", 4)])
    );
    // The page too.
    let page = s.get("/dois?query=ocean").send().expect(200).json();
    let mut found = dois_of(&page);
    found.sort();
    assert_eq!(found, ["10.5072/a", "10.5072/b", "10.5072/c", "10.5072/d"]);
    // Another connection writing the same file, as another process would.
    let db = s.db();
    let tx = db.unchecked_transaction().unwrap();
    assert!(dbd::delete(&tx, "10.5072/a").unwrap());
    tx.commit().unwrap();
    assert_eq!(
        types("ocean"),
        pairs(&[("image", 1), ("software", 1), ("text", 1), ("total", 3)])
    );
    check_counts(&db);
}

/// A kept search result is brought forward after writes (`db::dois::summed`): its page,
/// total and facets follow a word removed from a DOI and one added, a negated word removed,
/// a DOI hidden, a delete and a write by another connection, for an anonymous caller and a
/// client that also sees its own DOIs, each asked twice (the second from the kept result).
#[test]
fn a_kept_search_follows_every_kind_of_write() {
    let s = search_server();
    let answer = |auth: bool| -> (Vec<String>, u64, Vec<(String, u64)>) {
        let ask = || {
            let mut r = s.get("/dois?query=ocean%20-glacier&sort=name");
            if auth {
                r = r.client_auth();
            }
            let doc = r.send().expect(200).json();
            // No facets at all when nothing matches.
            let mut states: Vec<(String, u64)> = doc["meta"]["states"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|b| (b["id"].as_str().unwrap().to_string(), b["count"].as_u64().unwrap()))
                .collect();
            states.sort();
            (dois_of(&doc), doc["meta"]["total"].as_u64().unwrap(), states)
        };
        let first = ask();
        assert_eq!(ask(), first);
        first
    };
    let v = |dois: &[&str]| -> Vec<String> { dois.iter().map(|d| d.to_string()).collect() };
    let states = |v: &[(&str, u64)]| -> Vec<(String, u64)> { v.iter().map(|(k, n)| (k.to_string(), *n)).collect() };
    let title = |doi: &str, title: &str| {
        s.put(&format!("/dois/{doi}"))
            .client_auth()
            .json(&json!({"data": {"type": "dois", "attributes": {"titles": [{"title": title}]}}}))
            .send()
            .expect(200);
    };
    // c has "glacier", d is a draft.
    assert_eq!(answer(false), (v(&["10.5072/a"]), 1, states(&[("findable", 1)])));
    assert_eq!(
        answer(true),
        (
            v(&["10.5072/a", "10.5072/d"]),
            2,
            states(&[("draft", 1), ("findable", 1)])
        )
    );
    // The negated word goes from c.
    title("10.5072/c", "Ocean currents");
    assert_eq!(
        answer(false),
        (v(&["10.5072/a", "10.5072/c"]), 2, states(&[("findable", 2)]))
    );
    // The word goes from a.
    title("10.5072/a", "Sea temperatures");
    assert_eq!(answer(false), (v(&["10.5072/c"]), 1, states(&[("findable", 1)])));
    // c hidden: registered, which only its client sees.
    s.put("/dois/10.5072/c")
        .client_auth()
        .json(&json!({"data": {"attributes": {"event": "hide"}}}))
        .send()
        .expect(200);
    assert_eq!(answer(false), (Vec::new(), 0, Vec::new()));
    assert_eq!(
        answer(true),
        (
            v(&["10.5072/c", "10.5072/d"]),
            2,
            states(&[("draft", 1), ("registered", 1)])
        )
    );
    s.delete("/dois/10.5072/d").client_auth().send().expect(204);
    assert_eq!(answer(true), (v(&["10.5072/c"]), 1, states(&[("registered", 1)])));
    // Another connection to the file gives b the word, as another process would.
    let db = s.db();
    let tx = db.unchecked_transaction().unwrap();
    let mut b = dbd::get(&tx, "10.5072/b").unwrap().unwrap();
    b.attributes
        .get_or_insert_default()
        .insert("titles".into(), json!([{"title": "Ocean retreat"}]));
    let text = b.attributes.as_ref().map(|a| serde_json::to_string(a).unwrap());
    dbd::update_as(
        &tx,
        &b,
        dbd::Texts {
            attributes: text.as_deref(),
            ..dbd::Texts::default()
        },
    )
    .unwrap();
    tx.commit().unwrap();
    assert_eq!(answer(false), (v(&["10.5072/b"]), 1, states(&[("findable", 1)])));
    assert_eq!(
        answer(true),
        (
            v(&["10.5072/b", "10.5072/c"]),
            2,
            states(&[("findable", 1), ("registered", 1)])
        )
    );
    check_counts(&db);
}

/// Every facet and total from `doi_counts` equals the same counted over `dois` (the
/// `ids` filter, listing every DOI, makes the count path run).
fn check_counts(db: &Connection) {
    let all: Vec<String> = db
        .prepare("SELECT doi FROM dois")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for visible in [
        Visible::All,
        Visible::Findable,
        Visible::FindableOrClient("DEMO.REPO".into()),
        Visible::FindableOrClient("OTHER.REPO".into()),
        Visible::FindableOrProvider("DEMO".into()),
    ] {
        let counted = filter(visible.clone());
        let mut scanned = filter(visible.clone());
        scanned.ids = all.clone();
        // A search every DOI matches (its DOI starts with 10): counted over `doi_facets`.
        let mut searched = filter(visible.clone());
        searched.search.all = Some("doi : \"10\"".into());
        assert_eq!(
            dbd::count(db, &counted).unwrap(),
            dbd::count(db, &searched).unwrap(),
            "{visible:?} searched"
        );
        assert_eq!(
            dbd::count(db, &counted).unwrap(),
            dbd::count(db, &scanned).unwrap(),
            "{visible:?}"
        );
        // Filters the in-memory copy answers alone (resource type, years) agree with the
        // same checked in SQL (the `ids` filter keeps them there).
        let year = tinydoi::db::dois::year_of_seconds(tinydoi::time::now()).to_string();
        type Tweak = Box<dyn Fn(&mut Filter)>;
        let tweaks: Vec<Tweak> = vec![
            Box::new(|f| f.resource_types = vec!["dataset".into(), "SOFTWARE".into()]),
            Box::new(|f| f.published = vec!["2021".into()]),
            Box::new(move |f| f.created = vec![year.clone(), "x".into()]),
            Box::new(|f| {
                f.registered = vec!["2000".into()];
                f.resource_types = vec!["text".into()];
            }),
            // With a search too.
            Box::new(|f| {
                f.search.all = Some("doi : \"10\"".into());
                f.resource_types = vec!["dataset".into()];
                f.published = vec!["2021".into()];
            }),
        ];
        for tweak in &tweaks {
            let mut on_copy = filter(visible.clone());
            tweak(&mut on_copy);
            let mut in_sql = on_copy.clone();
            in_sql.ids = all.clone();
            assert_eq!(
                dbd::count(db, &on_copy).unwrap(),
                dbd::count(db, &in_sql).unwrap(),
                "{on_copy:?}"
            );
            let every = [
                Facet::States,
                Facet::ResourceTypes,
                Facet::Created,
                Facet::Published,
                Facet::Clients,
            ];
            assert_eq!(
                dbd::facets(db, &on_copy, &every, 10).unwrap(),
                dbd::facets(db, &in_sql, &every, 10).unwrap(),
                "{on_copy:?}"
            );
        }
        for facet in Facet::ALL {
            let expected = dbd::facet(db, &counted, facet, 10).unwrap();
            assert_eq!(
                expected,
                dbd::facet(db, &scanned, facet, 10).unwrap(),
                "{visible:?} {facet:?}"
            );
            // The one-pass count of the filters `doi_counts` cannot answer.
            assert_eq!(
                vec![expected],
                dbd::facets(db, &scanned, &[facet], 10).unwrap(),
                "{visible:?} {facet:?} in one pass"
            );
            assert_eq!(
                vec![dbd::facet(db, &counted, facet, 10).unwrap()],
                dbd::facets(db, &searched, &[facet], 10).unwrap(),
                "{visible:?} {facet:?} searched"
            );
        }
    }
}

/// A database at `path` made by schema.sql's migrations up to `version` alone (as a release
/// of that schema left it), with the provider DEMO and its repository DEMO.REPO, for a test
/// of the next migration on the DOIs it then adds.
fn old_database(path: &std::path::Path, version: u32) -> Connection {
    let schema = include_str!("../../schema.sql");
    let upto = &schema[..schema.find(&format!("-- migration {}\n", version + 1)).unwrap()];
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(upto).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA user_version = {version};
         INSERT INTO providers (symbol, name, created, updated) VALUES ('DEMO', 'Demo', 0, 0);
         INSERT INTO clients (symbol, provider, name, created, updated) VALUES ('DEMO.REPO', 'DEMO', 'Repo', 0, 0);"
    ))
    .unwrap();
    conn
}

#[test]
fn migration_8_indexes_and_counts_existing_dois() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // A database of schema 7 (the one before) with DOIs in it.
        let conn = old_database(&path, 7);
        conn.execute_batch(
            "INSERT INTO dois (doi, client, prefix, state, attributes, created, updated, registered) VALUES
               ('10.5072/old-1', 'DEMO.REPO', '10.5072', 'findable',
                '{\"titles\":[{\"title\":\"Océan Atlantique\"}],\"types\":{\"resourceTypeGeneral\":\"Dataset\"},\"publicationYear\":2019}',
                1600000000, 1600000000, 1600000000),
               ('10.5072/old-2', 'DEMO.REPO', '10.5072', 'draft', '{\"titles\":[{\"title\":\"Forest\"}]}',
                1700000000, 1700000000, NULL);",
        )
        .unwrap();
    }
    capture_logs();
    let conn = tinydoi::db::open(&path).unwrap();
    assert!(
        captured_logs().contains("migration 8: search index 2 of 2 DOIs"),
        "{}",
        captured_logs()
    );
    let mut f = filter(Visible::All);
    f.search.all = Some("\"ocean\"".into());
    let (found, total) = dbd::list(&conn, &f).unwrap();
    assert_eq!((found[0].doi.as_str(), total), ("10.5072/old-1", 1));
    check_counts(&conn);
    let states = dbd::facet(&conn, &filter(Visible::All), Facet::States, 10).unwrap();
    assert_eq!(states.iter().map(|b| b.count).sum::<u64>(), 2);
}

/// A hand edit of `dois` (the sqlite3 shell) is not in the search index or the counts,
/// which only the write functions keep; `tinydoi reindex` builds them again, and the next
/// request sees them (no total or facet kept from before the edit is served).
#[test]
fn reindex_catches_up_with_a_hand_edit() {
    let s = TestServer::start();
    publish(&s, "10.5072/hand", "Ocean currents", "Fenner, Martin", "Dataset");
    let total = |q: &str| s.get(&format!("/dois?{q}")).send().expect(200).json()["meta"]["total"].clone();
    let types = || s.get("/dois?query=glacier").send().expect(200).json()["meta"]["resourceTypes"].clone();
    assert_eq!(total("query=ocean"), 1);
    assert_eq!(total("query=glacier"), 0);
    s.db()
        .execute(
            "UPDATE dois SET attributes = json_set(attributes, '$.titles[0].title', 'Glacier melt',
                                                   '$.types.resourceTypeGeneral', 'Software')
             WHERE doi = '10.5072/hand'",
            [],
        )
        .unwrap();
    // Not indexed by the edit.
    assert_eq!(total("query=glacier"), 0);
    assert_eq!(total("query=ocean"), 1);
    let (success, out, err) = crate::cli::tinydoi(&s.db_path, &["reindex"], "");
    assert!(success, "{err}");
    assert_eq!(out, "reindexed 1 DOIs\n");
    assert_eq!(total("query=glacier"), 1);
    assert_eq!(total("query=ocean"), 0);
    assert_eq!(types(), json!([{"id": "software", "title": "Software", "count": 1}]));
    assert_eq!(total("resource-type-id=dataset"), 0);
    assert_eq!(total("resource-type-id=software"), 1);
}

/// Migration 11's columns of every DOI: what `dois_json_columns` (the rule over the stored
/// JSON, which the backfill and the triggers of hand edits use) and tinydoi's own Rust
/// (`FacetKeys::of`, `first_title`, which its writes use) give for the stored attributes
/// and derived text. Returns how many DOIs were checked.
fn check_columns(db: &Connection) -> usize {
    type Columns = (Option<String>, Option<String>, Option<String>);
    // (DOI, attributes, derived, its columns, what `dois_json_columns` gives)
    type Row = (String, Option<String>, Option<String>, Columns, Columns);
    let rows: Vec<Row> = db
        .prepare(
            "SELECT d.doi, d.attributes, d.derived, d.resource_type, d.published_year, d.title,
                    j.resource_type, j.published_year, j.title
             FROM dois d JOIN dois_json_columns j ON j.id = d.rowid",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                (r.get(3)?, r.get(4)?, r.get(5)?),
                (r.get(6)?, r.get(7)?, r.get(8)?),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (doi, attributes, derived, stored, from_json) in &rows {
        assert_eq!(stored, from_json, "{doi}: columns and dois_json_columns");
        let d = dbd::get(db, doi).unwrap().unwrap();
        assert_eq!(attributes.is_some(), d.attributes.is_some());
        let keys = dbd::FacetKeys::of(&d, derived.as_deref());
        assert_eq!(
            *stored,
            (
                keys.resource_type,
                keys.published,
                dbd::first_title(d.attributes.as_ref())
            ),
            "{doi}: columns and Rust"
        );
    }
    rows.len()
}

/// The columns of migration 11 agree with the JSON after every write of the server (new
/// DOIs, metadata updates with an `Issued` date, state changes, a transfer) and after hand
/// edits in SQL (which the triggers fill from the JSON); filters and `sort=title` read them.
#[test]
fn columns_agree_with_the_json_after_every_write() {
    let s = search_server();
    let db = s.db();
    assert_eq!(check_columns(&db), 4);
    s.put("/dois/10.5072/c")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {
            "types": {"resourceTypeGeneral": "Software"}, "publicationYear": 2019,
            "dates": [{"date": "2017-03-01", "dateType": "Issued"}],
            "titles": [{"title": "Another title"}, {"title": "A second one"}]}}}))
        .send()
        .expect(200);
    let (kind, year, title): (String, String, String) = db
        .query_row(
            "SELECT resource_type, published_year, title FROM dois WHERE doi = '10.5072/c'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), year.as_str(), title.as_str()),
        ("Software", "2017", "Another title")
    );
    s.put("/dois/10.5072/a")
        .client_auth()
        .json(&json!({"data": {"type": "dois", "attributes": {"event": "hide"}}}))
        .send()
        .expect(200);
    s.put("/dois/10.5072/b")
        .auth("admin", ADMIN_PASSWORD)
        .json(&json!({"data": {"type": "dois", "attributes": {"mode": "transfer"},
            "relationships": {"client": {"data": {"type": "clients", "id": "other.repo"}}}}}))
        .send()
        .expect(200);
    // Without a resource type or title.
    create(&s, json!({"doi": "10.5072/e", "types": {"resourceTypeGeneral": ""}}));
    assert_eq!(check_columns(&db), 5);

    // Hand edits: an UPDATE of the JSON, an INSERT without the columns.
    let generation = dbd::generation(&db).unwrap();
    db.execute(
        "UPDATE dois SET attributes = json_set(attributes, '$.types.resourceTypeGeneral', 'Image',
                                               '$.titles[0].title', 'Edited by hand')
         WHERE doi = '10.5072/d'",
        [],
    )
    .unwrap();
    db.execute(
        "INSERT INTO dois (doi, client, prefix, state, attributes, created, updated)
         SELECT '10.5072/f', client, prefix, 'draft', attributes, created, updated FROM dois WHERE doi = '10.5072/c'",
        [],
    )
    .unwrap();
    assert_eq!(check_columns(&db), 6);
    assert!(
        dbd::generation(&db).unwrap() > generation,
        "hand edits still give revisions"
    );
    let title: String = db
        .query_row("SELECT title FROM dois WHERE doi = '10.5072/d'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(title, "Edited by hand");

    // What the lists read: a filter on the columns (case-insensitive) and `sort=title`.
    let doc = s
        .get("/dois?resource-type-id=software&published=2017")
        .auth("admin", ADMIN_PASSWORD)
        .send()
        .expect(200)
        .json();
    // 10.5072/f has c's attributes but no derived text: its year is the publication year.
    assert_eq!(dois_of(&doc), ["10.5072/c"]);
    let doc = s
        .get("/dois?sort=title&client-id=demo.repo")
        .auth("admin", ADMIN_PASSWORD)
        .send()
        .expect(200)
        .json();
    // 10.5072/e has no title (NULL sorts first).
    assert_eq!(
        dois_of(&doc),
        ["10.5072/e", "10.5072/c", "10.5072/f", "10.5072/d", "10.5072/a"]
    );
}

/// Migration 11 fills the columns of the DOIs a database of schema 10 holds from their
/// JSON, with progress on the console, without giving them new revisions; lists filter and
/// sort by them after.
#[test]
fn migration_11_fills_the_columns_of_existing_dois() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = old_database(&path, 10);
        conn.execute_batch(
            "INSERT INTO dois (doi, client, prefix, state, attributes, derived, created, updated, registered, revision)
             VALUES
               ('10.5072/old-1', 'DEMO.REPO', '10.5072', 'findable',
                '{\"titles\":[{\"title\":\"Océan Atlantique\"}],\"types\":{\"resourceTypeGeneral\":\"Dataset\"},\"publicationYear\":2019}',
                '{\"published\":\"2018-05-01\"}', 1600000000, 1600000000, 1600000000, 7),
               ('10.5072/old-2', 'DEMO.REPO', '10.5072', 'draft', '{\"titles\":[{\"title\":\"Forest\"}]}', NULL,
                1700000000, 1700000000, NULL, 0),
               ('10.5072/old-3', 'DEMO.REPO', '10.5072', 'draft',
                '{\"titles\":[],\"types\":{\"resourceTypeGeneral\":\"\"},\"publicationYear\":\"2020\"}', NULL,
                1700000001, 1700000001, NULL, 0),
               ('10.5072/old-4', 'DEMO.REPO', '10.5072', 'draft', NULL, NULL, 1700000002, 1700000002, NULL, 0);",
        )
        .unwrap();
        // What tinydoi's writes would have kept: the counts and the search index.
        tinydoi::db::dois::recount(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO dois_search (rowid, doi, titles, creators, publisher, descriptions, subjects, related)
             SELECT * FROM dois_search_rows",
        )
        .unwrap();
    }
    let before = |conn: &Connection| -> (i64, Vec<i64>) {
        let revisions = conn
            .prepare("SELECT revision FROM dois ORDER BY doi")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (dbd::generation(conn).unwrap(), revisions)
    };
    let stamps = before(&Connection::open(&path).unwrap());
    capture_logs();
    let conn = tinydoi::db::open(&path).unwrap();
    assert!(
        captured_logs().contains("migration 11: columns of 4 of 4 DOIs"),
        "{}",
        captured_logs()
    );
    assert_eq!(before(&conn), stamps, "the backfill gave no revisions");
    assert_eq!(check_columns(&conn), 4);
    let columns: Vec<(Option<String>, Option<String>, Option<String>)> = conn
        .prepare("SELECT resource_type, published_year, title FROM dois ORDER BY doi")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        columns,
        [
            (some("Dataset"), some("2018"), some("Océan Atlantique")),
            (None, None, some("Forest")),
            (None, some("2020"), None),
            (None, None, None),
        ]
    );
    let mut f = filter(Visible::All);
    f.resource_types = vec!["DATASET".into()];
    f.published = vec!["2018".into()];
    let (found, total) = dbd::list(&conn, &f).unwrap();
    assert_eq!((found[0].doi.as_str(), total), ("10.5072/old-1", 1));
    let mut f = filter(Visible::All);
    f.order = Order::TitleAsc;
    let (found, _) = dbd::list(&conn, &f).unwrap();
    let names: Vec<&str> = found.iter().map(|d| d.doi.as_str()).collect();
    assert_eq!(
        names,
        ["10.5072/old-3", "10.5072/old-4", "10.5072/old-2", "10.5072/old-1"]
    );
    // The counts the migration's views recount agree with the ones kept.
    check_counts(&conn);
    // Hand edits after the migration get their columns (and revisions) from the triggers.
    conn.execute(
        "UPDATE dois SET attributes = '{\"titles\":[{\"title\":\"Edited\"}],\"publicationYear\":2001}'
         WHERE doi = '10.5072/old-4'",
        [],
    )
    .unwrap();
    assert_eq!(check_columns(&conn), 4);
    assert!(before(&conn).1[3] > stamps.1[3]);
}
