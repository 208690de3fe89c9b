//! The command line: operator commands and `serve` as a process (port on stdout, signals).

use crate::support::count;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs the `tinydoi` binary on database `db` with `args` and `stdin`: whether it
/// succeeded, its standard output and its standard error.
pub(crate) fn tinydoi(db: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .arg("--db")
        .arg(db)
        .args(["--pbkdf2-iterations", "10"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tinydoi");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn operator_commands_create_accounts_and_refuse_mistakes_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let ok = |args: &[&str], stdin: &str| {
        let (success, out, err) = tinydoi(&db, args, stdin);
        assert!(success, "{args:?}: {err}");
        out
    };
    let fails = |args: &[&str], stdin: &str, wanted: &str| {
        let (success, _, err) = tinydoi(&db, args, stdin);
        assert!(!success, "{args:?} should fail");
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("tinydoi:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(wanted), "{args:?}: {err}");
    };
    assert_eq!(
        ok(&["provider", "add", "acme", "--name", "Acme"], ""),
        "provider ACME created\n"
    );
    fails(&["provider", "add", "ACME"], "", "already exists");
    fails(&["provider", "add", "A"], "", "not a provider symbol");
    fails(
        &[
            "client",
            "add",
            "ACME.DATA",
            "--provider",
            "NOPE",
            "--prefix",
            "10.1234",
            "--password-stdin",
        ],
        "pw\n",
        "provider NOPE does not exist",
    );
    fails(
        &["client", "add", "ACME..", "--provider", "ACME", "--password-stdin"],
        "pw\n",
        "not a client symbol",
    );
    fails(
        &[
            "client",
            "add",
            "ACME.DATA",
            "--provider",
            "ACME",
            "--prefix",
            "11.1",
            "--password-stdin",
        ],
        "pw\n",
        "not a DOI prefix",
    );
    fails(
        &["client", "add", "ACME.DATA", "--provider", "ACME", "--password-stdin"],
        "",
        "no password",
    );
    let out = ok(
        &[
            "client",
            "add",
            "acme.data",
            "--provider",
            "ACME",
            "--prefix",
            "10.1234",
            "--domains",
            "example.org",
            "--password-stdin",
        ],
        "s3cret\n",
    );
    assert_eq!(out, "client ACME.DATA created\n");
    fails(
        &["client", "add", "ACME.DATA", "--provider", "ACME", "--password-stdin"],
        "pw\n",
        "already exists",
    );
    fails(
        &[
            "client",
            "add",
            "ACME.OTHER",
            "--provider",
            "ACME",
            "--prefix",
            "10.1234",
            "--password-stdin",
        ],
        "pw\n",
        "already belongs to ACME.DATA",
    );
    ok(&["client", "passwd", "ACME.DATA", "--password-stdin"], "n3w\n");
    ok(&["client", "deactivate", "ACME.DATA"], "");
    fails(&["client", "deactivate", "NOPE.X"], "", "no client");
    ok(&["admin", "passwd", "--password-stdin"], "admin-pw\n");

    let conn = tinydoi::db::open(&db).unwrap();
    let (active, domains): (bool, String) = conn
        .query_row(
            "SELECT is_active, domains FROM clients WHERE symbol = 'ACME.DATA'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(!active);
    assert_eq!(domains, "example.org");
    let account = tinydoi::db::accounts::find(&conn, "ACME.DATA", tinydoi::accounts::Role::Client)
        .unwrap()
        .unwrap();
    assert!(tinydoi::auth::password::verify(
        "n3w",
        account.password.as_ref().unwrap()
    ));
    let audit = count(
        &conn,
        "SELECT count(*) FROM audit_events WHERE client = 'ACME.DATA' AND action = 'password.changed'",
    );
    assert_eq!(audit, 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM staff"), 1);
}

#[test]
fn serve_prints_its_address_first_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .args([
            "--db",
            ":memory:",
            "--pbkdf2-iterations",
            "10",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .to_string();
    let response = ureq::get(&format!("http://{addr}/clients/DEMO.REPO"))
        .set("Authorization", &crate::support::basic("DEMO.REPO", "demo-password"))
        .call()
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the demo account is seeded into a new (in-memory) database"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status}");
}

fn run_plain(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tinydoi"))
        .args(args)
        .output()
        .expect("run tinydoi");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn validate_reports_each_file_and_fails_when_one_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let good = "fixtures/kernel-4/example/datacite-example-dataset-v4.xml";
    let bad = dir.path().join("bad.xml");
    let record = std::fs::read_to_string(good).unwrap();
    std::fs::write(
        &bad,
        record
            .replace("<publisher", "<publisherX")
            .replace("</publisher>", "</publisherX>"),
    )
    .unwrap();
    let (ok, out) = run_plain(&["validate", good]);
    assert!(ok, "{out}");
    assert_eq!(out, format!("{good}: valid\n"));
    let bad = bad.to_str().unwrap();
    let (ok, out) = run_plain(&["validate", good, bad]);
    assert!(!ok);
    assert!(out.starts_with(&format!("{good}: valid\n{bad}: invalid\n")), "{out}");
    assert!(out.contains("publisherX"), "the message names the element: {out}");
}

#[test]
fn convert_round_trips_between_xml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let record = "fixtures/kernel-4/example/datacite-example-full-v4.xml";
    let (ok, json) = run_plain(&["convert", "--to", "json", record]);
    assert!(ok);
    let attributes: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(attributes["titles"][0]["title"], "Example Title");
    let json_path = dir.path().join("record.json");
    std::fs::write(&json_path, &json).unwrap();
    let (ok, xml) = run_plain(&["convert", "--to", "xml", json_path.to_str().unwrap()]);
    assert!(ok);
    assert!(tinydoi::metadata::validate(xml.as_bytes()).is_ok(), "{xml}");
}

#[test]
fn convert_writes_the_content_negotiation_formats() {
    let dir = tempfile::tempdir().unwrap();
    let record = "fixtures/kernel-4/example/datacite-example-relateditem1-v4.xml";
    let (ok, bibtex) = run_plain(&["convert", "--to", "bibtex", record]);
    assert!(ok);
    assert!(
        bibtex.starts_with("@article{https://doi.org/10.82433/q54d-pf76,\n"),
        "{bibtex}"
    );
    let (ok, cite) = run_plain(&[
        "convert",
        "--to",
        "citation",
        "--style",
        "vancouver",
        "--locale",
        "de",
        record,
    ]);
    assert!(ok);
    assert_eq!(
        cite,
        "Garcia S. Example Article Title. Journal of Metadata Examples. 2022;3(4):20–35. doi:10.82433/q54d-pf76\n"
    );
    // schema.org in, kernel-4 out: the readers MDS uses.
    let (ok, schema_org) = run_plain(&["convert", "--to", "schema-org", record]);
    assert!(ok);
    let path = dir.path().join("record.jsonld");
    std::fs::write(&path, &schema_org).unwrap();
    let (ok, xml) = run_plain(&["convert", "--to", "xml", path.to_str().unwrap()]);
    assert!(ok);
    assert!(tinydoi::metadata::validate(xml.as_bytes()).is_ok(), "{xml}");
    assert!(xml.contains("<title>Example Article Title</title>"), "{xml}");
    let (ok, _) = run_plain(&["convert", "--to", "ris", "Cargo.toml"]);
    assert!(!ok);
}

#[test]
fn convert_reads_crossref_xml() {
    // A Crossref query result, as bolognese's command line reads it.
    let record = "fixtures/lupo/crossref.xml";
    let (ok, xml) = run_plain(&["convert", "--to", "xml", record]);
    assert!(ok);
    assert!(tinydoi::metadata::validate(xml.as_bytes()).is_ok(), "{xml}");
    assert!(xml.contains(">10.7554/ELIFE.01567</identifier>"), "{xml}");
    let (ok, json) = run_plain(&["convert", "--to", "datacite-json", record]);
    assert!(ok);
    let attributes: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(attributes["publisher"]["name"], "eLife Sciences Publications, Ltd");
    assert_eq!(attributes["fundingReferences"].as_array().map(Vec::len), Some(4));
    // A DOCTYPE is refused, not expanded.
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("bomb.xml");
    std::fs::write(
        &hostile,
        "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><crossref_result><query_result><body><query><doi_record><crossref><journal>&a;</journal></crossref></doi_record></query></body></query_result></crossref_result>",
    )
    .unwrap();
    let (ok, _) = run_plain(&["convert", "--to", "xml", hostile.to_str().unwrap()]);
    assert!(!ok);
}
