//! The layering of ARCHITECTURE.md ("Layering", "Invariants"), enforced by reading the
//! sources: which top-level modules each file names (`crate::x`, `use super::…` resolved
//! to its top-level module), where tiny_http is named, where SQL is written, and whether
//! the modules import each other in a circle. Test code (`#[cfg(test)]` onwards) is skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The domain: below the request, reusable by API, CLI and fixtures alike.
const DOMAIN: &[&str] = &["dois", "keys", "metadata", "db"];
/// What the domain must never import.
const ABOVE_DOMAIN: &[&str] = &["app", "api", "http", "cli", "server", "fixtures"];
/// Edges that once made circles, named so that they cannot come back.
const FORBIDDEN: &[(&str, &str)] = &[
    ("app", "api"),
    ("app", "server"),
    ("app", "cli"),
    ("keys", "cli"),
    ("metadata", "cli"),
    ("config", "auth"),
    ("db", "dois"),
];
/// SQL is written only here (the benchmark seeds and measures raw SQLite on purpose).
const SQL_ALLOWED: &[&str] = &["src/db/", "src/bin/tinydoi-bench/"];
const SQL_STARTS: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "INSERT OR ",
    "UPDATE ",
    "DELETE FROM",
    "CREATE TABLE",
    "CREATE INDEX",
    "ALTER TABLE",
    "DROP TABLE",
    "PRAGMA ",
    "BEGIN",
    "COMMIT",
];

struct Source {
    /// Relative to the crate root, with `/`.
    path: String,
    /// The file's code before its tests, without comments.
    code: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let before_tests = text.split("#[cfg(test)]").next().unwrap_or("");
            let code = before_tests
                .lines()
                .map(|l| match l.find("//") {
                    // A `//` inside a string (a URL) is not a comment.
                    Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
                    _ => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
            let path = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            Source { path, code }
        })
        .collect()
}

/// The top-level module a library file belongs to (`src/dois/json.rs` → `dois`); `None`
/// for the binaries' own files and the crate root.
fn module_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    if rest.starts_with("bin/") || rest == "lib.rs" || rest == "main.rs" {
        return None;
    }
    let first = rest.split('/').next()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// The top-level modules a file's code names: `crate::x` anywhere, and `use super::…`
/// at the top level of a module's own files (which resolves to a sibling module).
fn imports(source: &Source) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in source.code.match_indices("crate::") {
        let name: String = source.code[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    // `super::x` in a top-level file like `src/server.rs` does not occur; in `src/a/b.rs`
    // it names `a`'s children, which stay inside `a`. Only `super::super` leaves it.
    if source.code.contains("super::super::") {
        found.insert("<super::super>".into());
    }
    found
}

fn graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources {
        if let Some(m) = module_of(&s.path) {
            let to = g.entry(m.clone()).or_default();
            to.extend(imports(s).into_iter().filter(|t| *t != m));
        }
    }
    g
}

#[test]
fn the_domain_never_imports_the_layers_above_it() {
    let mut wrong = Vec::new();
    for s in sources() {
        let Some(m) = module_of(&s.path) else { continue };
        if !DOMAIN.contains(&m.as_str()) {
            continue;
        }
        for import in imports(&s) {
            if ABOVE_DOMAIN.contains(&import.as_str()) || import == "<super::super>" {
                wrong.push(format!("{} imports {import}", s.path));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "domain modules importing upwards:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_http_touches_tiny_http() {
    let wrong: Vec<String> = sources()
        .into_iter()
        .filter(|s| !s.path.starts_with("src/http/") && !s.path.starts_with("src/bin/tinydoi-bench/"))
        .filter(|s| s.code.contains("tiny_http"))
        .map(|s| s.path)
        .collect();
    assert!(wrong.is_empty(), "tiny_http outside src/http/: {wrong:?}");
}

/// Words naming DataCite's services, which `http/` must not know (issue #13).
const DATACITE_WORDS: &[&str] = &["mds", "datacite", "poodle", "lupo"];

/// The DataCite words in some code, in any case.
fn datacite_words(code: &str) -> Vec<&'static str> {
    let lower = code.to_ascii_lowercase();
    DATACITE_WORDS.iter().copied().filter(|w| lower.contains(w)).collect()
}

#[test]
fn http_knows_nothing_of_datacite() {
    let wrong: Vec<(String, Vec<&str>)> = sources()
        .into_iter()
        .filter(|s| s.path.starts_with("src/http/"))
        .map(|s| {
            let words = datacite_words(&s.code);
            (s.path, words)
        })
        .filter(|(_, words)| !words.is_empty())
        .collect();
    assert!(wrong.is_empty(), "DataCite words in the code of src/http/: {wrong:?}");
}

/// String literals (plain and raw) of some code, roughly: enough to find SQL.
fn literals(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find('"') {
        // A char literal '"' is no string.
        if rest[..i].ends_with('\'') {
            rest = &rest[i + 1..];
            continue;
        }
        let after = &rest[i + 1..];
        let mut end = None;
        let mut escaped = false;
        for (j, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(j);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(end) = end else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

#[test]
fn only_db_writes_sql() {
    let mut wrong = Vec::new();
    for s in sources() {
        if SQL_ALLOWED.iter().any(|p| s.path.starts_with(p)) {
            continue;
        }
        for literal in literals(&s.code) {
            let upper = literal.trim_start();
            if SQL_STARTS.iter().any(|k| upper.starts_with(k)) {
                wrong.push(format!("{}: {literal:?}", s.path));
            }
        }
    }
    assert!(wrong.is_empty(), "SQL outside src/db/:\n{}", wrong.join("\n"));
}

#[test]
fn removed_import_circles_stay_removed() {
    let g = graph(&sources());
    let wrong: Vec<String> = FORBIDDEN
        .iter()
        .filter(|(from, to)| g.get(*from).is_some_and(|t| t.contains(*to)))
        .map(|(from, to)| format!("{from} imports {to}"))
        .collect();
    assert!(wrong.is_empty(), "forbidden imports: {wrong:?}");
}

/// Every circle among top-level modules, as a list of modules; depth-first from each.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        g: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        for next in g.get(at).into_iter().flatten() {
            if next == start {
                out.push(path.clone());
            } else if next.as_str() > start && !path.contains(next) {
                path.push(next.clone());
                walk(g, start, next, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in g.keys() {
        walk(g, start, start, &mut vec![start.clone()], &mut out);
    }
    out
}

#[test]
fn top_level_modules_import_each_other_in_no_circle() {
    let found = circles(&graph(&sources()));
    assert!(found.is_empty(), "import circles: {found:?}");
}

#[test]
fn the_checks_see_what_they_look_for() {
    let s = Source {
        path: "src/dois/x.rs".into(),
        code: "use crate::app::Ctx;\nlet q = \"SELECT 1\"; let c = '\"';".into(),
    };
    assert!(imports(&s).contains("app"));
    assert_eq!(literals(&s.code), vec!["SELECT 1"]);
    assert_eq!(datacite_words("Family::Mds"), vec!["mds"]);
    assert!(datacite_words("Family::PlainText").is_empty());
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
}

/// The error type of each `Result<T, E>` written in `code` (`None` for `Result<T>`).
fn result_error_types(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("Result<") {
        let (mut depth, mut args, mut current) = (1, Vec::new(), String::new());
        for c in code[i + 7..].chars() {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' => depth -= 1,
                ',' if depth == 1 => {
                    args.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                args.push(current);
                break;
            }
            current.push(c);
        }
        if args.len() == 2 {
            out.push(args[1].trim().to_string());
        }
    }
    out
}

#[test]
fn no_string_is_an_error_type() {
    let wrong: Vec<String> = sources()
        .into_iter()
        .filter(|s| result_error_types(&s.code).iter().any(|e| e == "String"))
        .map(|s| s.path)
        .collect();
    assert!(wrong.is_empty(), "Result<_, String> in {wrong:?}");
    assert_eq!(
        result_error_types("fn f() -> Result<Vec<String>, String> {} Result<Option<String>>"),
        vec!["String"]
    );
}
