//! The web console over plain HTTP: the `/` redirect, sign-in (throttled like the API),
//! sessions (cookie attributes, stored hash, idle and absolute expiry, sign-out, password
//! change), CSRF and Origin refusals, security headers, escaping, and the key, DOI and
//! validation flows with the database state they leave.

use crate::support::*;
use base64::Engine;
use serde_json::json;

/// A browser signed in to the console: its session cookie and the CSRF token of its pages.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

/// The value of the first `name="csrf"` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// The key a "New API key" page shows.
fn new_key_of(html: &str) -> String {
    let marker = "id=\"new-key\" type=\"text\" readonly value=\"";
    let at = html.find(marker).expect("a new key") + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form POST as a browser on this console sends it (same `Origin`).
fn post_form(s: &TestServer, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Resp {
    let mut call = s
        .post(path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", &s.base);
    if let Some(cookie) = cookie {
        call = call.header("Cookie", cookie);
    }
    call.body(form_body(fields)).send()
}

fn sign_in(s: &TestServer, user: &str, password: &str) -> Browser {
    let r = post_form(
        s,
        "/console/sign-in",
        None,
        &[("username", user), ("password", password)],
    )
    .expect(303);
    assert_eq!(r.header("location"), Some("/console/keys"));
    let set = r.header("set-cookie").expect("Set-Cookie");
    let cookie = set.split(';').next().unwrap().to_string();
    let page = get_page(s, "/console/keys", &cookie).expect(200);
    Browser {
        csrf: csrf_of(&page.text()),
        cookie,
    }
}

fn get_page(s: &TestServer, path: &str, cookie: &str) -> Resp {
    s.get(path).header("Cookie", cookie).send()
}

fn assert_page_headers(r: &Resp) {
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").expect("CSP");
    assert!(csp.starts_with("default-src 'self'; frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn root_redirects_browsers_only() {
    let s = TestServer::start();
    let r = s
        .get("/")
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .expect(303);
    assert_eq!(r.header("location"), Some("/console"));
    // API clients see what they always saw: a JSON:API 404.
    let r = s.get("/").send().expect(404);
    assert_eq!(r.json()["errors"][0]["status"], "404");
    s.get("/").header("Accept", "application/json").send().expect(404);
    s.post("/").header("Accept", "text/html").send().expect(404);
}

#[test]
fn sign_in_page_is_labelled_and_carries_the_security_headers() {
    let s = TestServer::start();
    let r = s.get("/console").send().expect(200);
    assert_page_headers(&r);
    let html = r.text();
    assert!(html.contains(r#"<label for="username">Username</label>"#), "{html}");
    assert!(html.contains(r#"<label for="password">Password</label>"#));
    assert!(html.contains(r#"<button type="submit">Sign in</button>"#));
    assert!(html.contains(r#"<html lang="en">"#) && html.contains("<h1>Sign in</h1>"));
    // The embedded assets: no CDN, served with nosniff.
    let css = s.get("/console/static/style.css").send().expect(200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    s.get("/console/static/console.js").send().expect(200);
    s.get("/console/static/other.js").send().expect(404);
    // Unknown console paths are HTML error pages, with the same headers.
    let r = s.get("/console/nope").send().expect(404);
    assert_page_headers(&r);
    assert!(r.text().contains("<h1>Error 404</h1>"));
}

#[test]
fn a_wrong_password_is_bad_credentials_and_counts_toward_the_api_throttle() {
    let s = TestServer::with(FIXTURES, |c| {
        c.auth_throttle.base_delay = std::time::Duration::from_secs(3600);
        c.auth_throttle.max_delay = std::time::Duration::from_secs(3600);
    });
    // (A correct password clears the count, so the key is made first.)
    let (_, key) = create_key(&s, "ci");
    let r = post_form(
        &s,
        "/console/sign-in",
        None,
        &[("username", "demo.repo"), ("password", "guess")],
    )
    .expect(401);
    assert!(r.text().contains("Bad credentials."));
    assert!(r.header("www-authenticate").is_none(), "no browser password dialog");
    assert!(r.header("set-cookie").is_none());
    assert!(audit_actions(&s).contains(&"auth.failed".to_string()));
    // An API key is not a password here.
    post_form(
        &s,
        "/console/sign-in",
        None,
        &[("username", CLIENT), ("password", &key)],
    )
    .expect(401);
    for _ in 0..8 {
        post_form(
            &s,
            "/console/sign-in",
            None,
            &[("username", CLIENT), ("password", "guess")],
        )
        .expect(401);
    }
    // Ten failures: the same block as the API's, for the console and the API alike.
    let r = post_form(
        &s,
        "/console/sign-in",
        None,
        &[("username", CLIENT), ("password", CLIENT_PASSWORD)],
    )
    .expect(429);
    assert!(r.text().contains("Too many failed sign-ins"));
    assert!(r.header("retry-after").is_some());
    s.get("/clients/DEMO.REPO").client_auth().send().expect(429);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM console_sessions"), 0);
}

#[test]
fn sessions_are_hashed_cookies_that_end_at_sign_out() {
    let s = TestServer::start();
    let r = post_form(
        &s,
        "/console/sign-in",
        None,
        &[("username", "demo.repo"), ("password", CLIENT_PASSWORD)],
    )
    .expect(303);
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.starts_with("tinydoi_session="), "{set}");
    for attribute in ["Path=/console", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP unless configured");
    let token = set.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let stored: Vec<u8> = s
        .db()
        .query_row("SELECT token_hash FROM console_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        stored,
        ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref()
    );
    let cookie = format!("tinydoi_session={token}");
    let b = Browser {
        csrf: csrf_of(&get_page(&s, "/console/keys", &cookie).expect(200).text()),
        cookie,
    };
    // Signing out needs the CSRF token too.
    post_form(&s, "/console/sign-out", Some(&b.cookie), &[]).expect(403);
    let r = post_form(&s, "/console/sign-out", Some(&b.cookie), &[("csrf", &b.csrf)]).expect(303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(count(&s.db(), "SELECT count(*) FROM console_sessions"), 0);
    let r = get_page(&s, "/console/keys", &b.cookie).expect(303);
    assert_eq!(r.header("location"), Some("/console"));
    let actions = audit_actions(&s);
    assert!(actions.contains(&"console.signed_in".into()) && actions.contains(&"console.signed_out".into()));
}

#[test]
fn secure_cookies_and_https_origins_when_configured() {
    let s = TestServer::with(FIXTURES, |c| c.console.https = true);
    let r = s
        .post("/console/sign-in")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", &s.base.replace("http://", "https://"))
        .body(form_body(&[("username", CLIENT), ("password", CLIENT_PASSWORD)]))
        .send()
        .expect(303);
    assert!(r.header("set-cookie").unwrap().ends_with("; Secure"));
    // An http:// origin is another origin then.
    post_form(
        &s,
        "/console/sign-in",
        None,
        &[("username", CLIENT), ("password", CLIENT_PASSWORD)],
    )
    .expect(403);
}

#[test]
fn sessions_expire_when_idle_or_old_and_on_password_change() {
    let s = TestServer::start();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let db = s.db();
    db.execute("UPDATE console_sessions SET last_seen = last_seen - 31 * 60", [])
        .unwrap();
    get_page(&s, "/console/keys", &b.cookie).expect(303);
    assert_eq!(
        count(&s.db(), "SELECT count(*) FROM console_sessions"),
        0,
        "the expired session is deleted"
    );
    // An old session expires even when in use.
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    db.execute("UPDATE console_sessions SET created = created - 13 * 3600", [])
        .unwrap();
    get_page(&s, "/console/keys", &b.cookie).expect(303);
    // A form of an expired session changes nothing.
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "late")],
    )
    .expect(303);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), 0);
    // A new password ends every session of the account.
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    tinydoi::manage::set_password(&db, CLIENT, "a-new-password", 10).unwrap();
    get_page(&s, "/console/keys", &b.cookie).expect(303);
}

#[test]
fn forms_refuse_forged_csrf_tokens_and_other_origins() {
    let s = TestServer::start();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let other = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    assert_ne!(b.csrf, other.csrf, "tied to the session");
    for csrf in ["", "forged", other.csrf.as_str()] {
        let r = post_form(&s, "/console/keys", Some(&b.cookie), &[("csrf", csrf), ("name", "x")]).expect(403);
        assert_page_headers(&r);
        assert!(r.text().contains("did not come from your console session"));
    }
    let forged = |origin: &str, site: Option<&str>| {
        let mut call = s
            .post("/console/keys")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", &b.cookie)
            .header("Origin", origin);
        if let Some(site) = site {
            call = call.header("Sec-Fetch-Site", site);
        }
        call.body(form_body(&[("csrf", &b.csrf), ("name", "x")])).send().status
    };
    assert_eq!(forged("http://evil.example", None), 403);
    assert_eq!(forged("null", None), 403);
    assert_eq!(forged(&s.base, Some("cross-site")), 403);
    assert_eq!(forged(&s.base, Some("same-site")), 403);
    assert_eq!(forged(&s.base, Some("none")), 403);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), 0);
    assert_eq!(forged(&s.base, Some("same-origin")), 201);
    // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` with `same-origin`.
    assert_eq!(forged("null", Some("same-origin")), 201);
}

#[test]
fn keys_created_in_the_console_work_until_revoked_there() {
    let s = TestServer::start();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let r = post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[
            ("csrf", &b.csrf),
            ("name", "<script>alert(1)</script>"),
            ("expires", "2999-12-31"),
        ],
    )
    .expect(201);
    assert_page_headers(&r);
    let html = r.text();
    assert!(html.contains("it will not be shown again"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"));
    let key = new_key_of(&html);
    s.get("/clients/DEMO.REPO").bearer(&key).send().expect(200);
    let (id, expires): (String, i64) = s
        .db()
        .query_row("SELECT id, expires_at FROM api_keys", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(tinydoi::time::rfc3339(expires), "2999-12-31T23:59:59Z");
    // The list shows it; revoking asks first (a page), then the form revokes.
    let list = get_page(&s, "/console/keys", &b.cookie).expect(200).text();
    assert!(list.contains(&format!("/console/keys/{id}/revoke")) && list.contains("active"));
    let confirm = get_page(&s, &format!("/console/keys/{id}/revoke"), &b.cookie)
        .expect(200)
        .text();
    assert!(confirm.contains("This cannot be undone"));
    let r = post_form(
        &s,
        &format!("/console/keys/{id}/revoke"),
        Some(&b.cookie),
        &[("csrf", &b.csrf)],
    )
    .expect(303);
    assert_eq!(r.header("location"), Some("/console/keys?notice=revoked"));
    s.get("/clients/DEMO.REPO").bearer(&key).send().expect(401);
    let actions = audit_actions(&s);
    assert!(actions.contains(&"key.created".into()) && actions.contains(&"key.revoked".into()));
    // Problems come back on the page.
    let r = post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", " ")],
    )
    .expect(422);
    assert!(r.text().contains("Name can&#39;t be blank") || r.text().contains("Name can't be blank"));
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "x"), ("expires", "2001-01-01")],
    )
    .expect(422);
}

#[test]
fn rotating_shows_the_new_key_once() {
    let s = TestServer::start();
    let (id, old) = create_key(&s, "ci");
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let r = post_form(
        &s,
        &format!("/console/keys/{id}/rotate"),
        Some(&b.cookie),
        &[("csrf", &b.csrf)],
    )
    .expect(201);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.text().contains("which no longer works"));
    let new = new_key_of(&r.text());
    s.get("/clients/DEMO.REPO").bearer(&new).send().expect(200);
    s.get("/clients/DEMO.REPO").bearer(&old).send().expect(401);
}

#[test]
fn providers_pick_one_of_their_clients() {
    let s = TestServer::start();
    let b = sign_in(&s, PROVIDER, PROVIDER_PASSWORD);
    let page = get_page(&s, "/console/keys", &b.cookie).expect(200).text();
    assert!(page.contains(r#"<option value="DEMO.REPO">"#) && !page.contains("OTHER.REPO"));
    let r = post_form(
        &s,
        "/console/keys?client-id=DEMO.REPO",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "by provider")],
    )
    .expect(201);
    assert!(r.text().contains("href=\"/console/keys?client-id=DEMO.REPO\""));
    post_form(
        &s,
        "/console/keys?client-id=OTHER.REPO",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "x")],
    )
    .expect(403);
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "x")],
    )
    .expect(400);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), 1);
}

pub fn draft(s: &TestServer, doi: &str) {
    let xml = base64::engine::general_purpose::STANDARD.encode(video_record(doi));
    let body =
        json!({"data": {"type": "dois", "attributes": {"doi": doi, "xml": xml, "url": "https://example.org/v"}}});
    s.post("/dois").client_auth().json(&body).send().expect(201);
}

#[test]
fn dois_are_listed_filtered_shown_and_published() {
    let s = TestServer::start();
    draft(&s, "10.5072/console-1");
    draft(&s, "10.5072/console-2");
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let list = get_page(&s, "/console/dois", &b.cookie).expect(200).text();
    let (one, two) = (
        list.find("10.5072/console-1").unwrap(),
        list.find("10.5072/console-2").unwrap(),
    );
    assert!(two < one || list.contains("2 DOIs"), "newest first");
    let none = get_page(&s, "/console/dois?state=findable", &b.cookie)
        .expect(200)
        .text();
    assert!(none.contains("0 DOIs") && !none.contains("console-1"));
    let page = get_page(&s, "/console/dois/10.5072/console-1", &b.cookie)
        .expect(200)
        .text();
    assert!(
        page.contains("value=\"publish\"")
            && page.contains("Delete draft")
            && page.contains("/console/xml/10.5072/console-1")
    );
    let xml = get_page(&s, "/console/xml/10.5072/console-1", &b.cookie).expect(200);
    assert!(xml.header("content-disposition").unwrap().contains("attachment"));
    assert!(xml.text().contains("10.5072/console-1"));
    let r = post_form(
        &s,
        "/console/actions/10.5072/console-1",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("action", "publish")],
    )
    .expect(303);
    assert_eq!(
        r.header("location"),
        Some("/console/dois/10.5072/console-1?notice=publish")
    );
    let row = doi_row(&s.db(), "10.5072/console-1").unwrap();
    assert_eq!(
        (row.state.as_str(), row.updated_by.as_deref()),
        ("findable", Some("password"))
    );
    let page = get_page(&s, "/console/dois/10.5072/console-1", &b.cookie)
        .expect(200)
        .text();
    assert!(page.contains("value=\"hide\"") && !page.contains("Delete draft"));
    post_form(
        &s,
        "/console/actions/10.5072/console-2",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("action", "delete")],
    )
    .expect(303);
    assert!(doi_row(&s.db(), "10.5072/console-2").is_none());
    // Another client's draft is not there for this one.
    let other = sign_in(&s, OTHER_CLIENT, OTHER_PASSWORD);
    get_page(&s, "/console/dois/10.5072/console-1", &other.cookie).expect(200);
    draft(&s, "10.5072/console-3");
    get_page(&s, "/console/dois/10.5072/console-3", &other.cookie).expect(404);
    post_form(
        &s,
        "/console/actions/10.5072/console-1",
        Some(&other.cookie),
        &[("csrf", &other.csrf), ("action", "hide")],
    )
    .expect(403);
}

#[test]
fn publishing_an_incomplete_draft_shows_its_problems() {
    let s = TestServer::start();
    let body = json!({"data": {"type": "dois", "attributes": {"doi": "10.5072/bare"}}});
    s.post("/dois").client_auth().json(&body).send().expect(201);
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let r = post_form(
        &s,
        "/console/actions/10.5072/bare",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("action", "publish")],
    )
    .expect(422);
    assert!(r.text().contains("role=\"alert\""));
    assert_eq!(doi_row(&s.db(), "10.5072/bare").unwrap().state, "draft");
}

#[test]
fn validation_shows_lines_properties_and_json() {
    let s = TestServer::start();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let broken = video_record("10.5072/v").replace("<publicationYear>2013<", "<publicationYear>twenty13<");
    let boundary = "----tinydoiTest";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"xml\"\r\n\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.xml\"\r\nContent-Type: text/xml\r\n\r\n{broken}\r\n--{boundary}--\r\n",
        b.csrf
    );
    let r = s
        .post("/console/validate")
        .header("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .header("Cookie", &b.cookie)
        .header("Origin", &s.base)
        .body(body)
        .send()
        .expect(200);
    let html = r.text();
    let expected = tinydoi::metadata::validate(broken.as_bytes()).unwrap_err();
    let line = expected.problems()[0].line.unwrap();
    assert!(html.contains("Not valid"), "{html}");
    assert!(html.contains(&format!("<td>{line}</td>")), "line {line}: {html}");
    assert!(html.contains("<td>publicationYear</td>"), "{html}");
    let ok = post_form(
        &s,
        "/console/validate",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("xml", &video_record("10.5072/v"))],
    )
    .expect(200)
    .text();
    assert!(ok.contains("Valid DataCite kernel-4 metadata.") && ok.contains("&quot;titles&quot;"));
    let not_xml = post_form(
        &s,
        "/console/validate",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("xml", "not xml")],
    )
    .expect(200)
    .text();
    assert!(not_xml.contains("Not valid"));
}

#[test]
fn dois_page_by_page_and_by_text() {
    let s = TestServer::start();
    for n in 0..26 {
        draft(&s, &format!("10.5072/page-{n:02}"));
    }
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let first = get_page(&s, "/console/dois", &b.cookie).expect(200).text();
    assert!(first.contains("26 DOIs, page 1 of 2."), "{first}");
    assert!(first.contains("href=\"/console/dois?page=2\"") && !first.contains("Previous page"));
    let second = get_page(&s, "/console/dois?page=2", &b.cookie).expect(200).text();
    assert_eq!(second.matches("/console/dois/10.5072/page-").count(), 1);
    assert!(second.contains("Previous page") && !second.contains("Next page"));
    // Text matches the metadata; filters are kept in the paging links.
    let found = get_page(&s, "/console/dois?q=Walking&state=draft", &b.cookie)
        .expect(200)
        .text();
    assert!(
        found.contains("26 DOIs") && found.contains("page=2&amp;state=draft&amp;q=Walking"),
        "{found}"
    );
    let none = get_page(&s, "/console/dois?q=%3Cnothing%3E", &b.cookie)
        .expect(200)
        .text();
    assert!(none.contains("0 DOIs") && none.contains("value=\"&lt;nothing&gt;\""));
}

#[test]
fn console_errors_are_html_pages() {
    let s = TestServer::start();
    let r = s.req("DELETE", "/console/keys").send().expect(405);
    assert_page_headers(&r);
    assert!(r.header("allow").is_some());
    assert!(r.text().contains("<h1>Error 405</h1>"));
    // Not signed in: every page goes to the sign-in page, every form changes nothing.
    for path in [
        "/console/keys",
        "/console/dois",
        "/console/dois/10.5072/x",
        "/console/validate",
    ] {
        assert_eq!(
            s.get(path).send().expect(303).header("location"),
            Some("/console"),
            "{path}"
        );
    }
    post_form(&s, "/console/keys", None, &[("name", "x")]).expect(303);
    // A form body past its bound is refused before it is read.
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let big = "x".repeat(70 * 1024);
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", &big)],
    )
    .expect(413);
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), 0);
}

#[test]
fn the_create_form_offers_scopes_prefixes_and_networks_and_stores_them() {
    let s = TestServer::start();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let page = get_page(&s, "/console/keys", &b.cookie).expect(200).text();
    for label in [
        r#"<label for="scope-dois-read"><input id="scope-dois-read" type="checkbox" name="scopes" value="dois:read">"#,
        r#"<label for="prefix-10.5072"><input id="prefix-10.5072" type="checkbox" name="prefixes" value="10.5072">"#,
        r#"<label for="allowed-networks">"#,
    ] {
        assert!(page.contains(label), "{label} missing from {page}");
    }
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[
            ("csrf", &b.csrf),
            ("name", "scoped"),
            ("scopes", "dois:read"),
            ("scopes", "reports:write"),
            ("prefixes", "10.5072"),
            ("allowed-networks", "127.0.0.0/8, 2001:db8::/32"),
        ],
    )
    .expect(201);
    let (scopes, prefixes, networks): (String, String, String) = s
        .db()
        .query_row(
            "SELECT scopes, prefixes, allowed_networks FROM api_keys WHERE name = 'scoped'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (scopes.as_str(), prefixes.as_str(), networks.as_str()),
        ("dois:read reports:write", "10.5072", "127.0.0.0/8 2001:db8::/32")
    );
    let list = get_page(&s, "/console/keys", &b.cookie).expect(200).text();
    assert!(
        list.contains("<td>dois:read, reports:write</td><td>10.5072</td><td>127.0.0.0/8, 2001:db8::/32</td>"),
        "{list}"
    );
    // A key made without limits lists none.
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "open")],
    )
    .expect(201);
    let unlimited: (Option<String>, Option<String>, Option<String>) = s
        .db()
        .query_row(
            "SELECT scopes, prefixes, allowed_networks FROM api_keys WHERE name = 'open'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(unlimited, (None, None, None));
    let list = get_page(&s, "/console/keys", &b.cookie).expect(200).text();
    assert!(list.contains("<td>all</td><td>all</td><td>any</td>"), "{list}");
}

#[test]
fn invalid_limits_show_the_domain_error_and_store_nothing() {
    let s = TestServer::start();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    for (field, value, message) in [
        (
            "allowed-networks",
            "10.0.0.1/8",
            "10.0.0.1/8 is not a network in CIDR form",
        ),
        ("scopes", "dois:delete", "dois:delete is not a scope"),
        ("prefixes", "10.5073", "10.5073 is not a prefix of DEMO.REPO"),
    ] {
        let r = post_form(
            &s,
            "/console/keys",
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("name", "bad"), (field, value)],
        )
        .expect(422);
        assert_page_headers(&r);
        assert!(r.text().contains(message), "{message} not in {}", r.text());
    }
    assert_eq!(count(&s.db(), "SELECT count(*) FROM api_keys"), 0);
    assert!(!audit_actions(&s).contains(&"key.created".into()));
}

/// (action, actor) of every audit event, oldest first.
fn actors(s: &TestServer) -> Vec<(String, Option<String>)> {
    s.app().recorder.flush();
    let db = s.db();
    let mut stmt = db
        .prepare("SELECT action, actor FROM audit_events ORDER BY id")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn newest_key_id(s: &TestServer) -> String {
    s.db()
        .query_row("SELECT id FROM api_keys ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn console_changes_name_the_signed_in_account_as_the_actor() {
    let s = TestServer::start();
    // The client on its own keys: create, rotate, revoke.
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    post_form(
        &s,
        "/console/keys",
        Some(&b.cookie),
        &[("csrf", &b.csrf), ("name", "own")],
    )
    .expect(201);
    let id = newest_key_id(&s);
    post_form(
        &s,
        &format!("/console/keys/{id}/rotate"),
        Some(&b.cookie),
        &[("csrf", &b.csrf)],
    )
    .expect(201);
    let id = newest_key_id(&s);
    post_form(
        &s,
        &format!("/console/keys/{id}/revoke"),
        Some(&b.cookie),
        &[("csrf", &b.csrf)],
    )
    .expect(303);
    // Its provider, then staff, on the same client's keys.
    for (user, password) in [(PROVIDER, PROVIDER_PASSWORD), ("ADMIN", ADMIN_PASSWORD)] {
        let b = sign_in(&s, user, password);
        let q = "?client-id=DEMO.REPO";
        post_form(
            &s,
            &format!("/console/keys{q}"),
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("name", user)],
        )
        .expect(201);
        let id = newest_key_id(&s);
        post_form(
            &s,
            &format!("/console/keys/{id}/revoke{q}"),
            Some(&b.cookie),
            &[("csrf", &b.csrf)],
        )
        .expect(303);
    }
    let by = |action: &str, actor: &str| (action.to_string(), Some(actor.to_string()));
    assert_eq!(
        actors(&s),
        vec![
            by("console.signed_in", CLIENT),
            by("key.created", CLIENT),
            by("key.created", CLIENT),
            by("key.rotated", CLIENT),
            by("key.revoked", CLIENT),
            by("key.created", PROVIDER),
            by("key.revoked", PROVIDER),
            by("key.created", "ADMIN"),
            by("key.revoked", "ADMIN"),
        ]
    );
    // The API lists the same actors …
    let v = s
        .get("/credentials/audit-events")
        .client_auth()
        .send()
        .expect(200)
        .json();
    let listed: Vec<(String, String)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["attributes"]["actorKeyId"], serde_json::Value::Null);
            let a = &e["attributes"];
            (
                a["action"].as_str().unwrap().into(),
                a["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(listed[0], ("key.revoked".into(), "ADMIN".into()));
    assert_eq!(listed[2], ("key.revoked".into(), PROVIDER.into()));
    assert_eq!(listed[8], ("console.signed_in".into(), CLIENT.into()));
    // … and so does the console's audit list, in its "By" column.
    let page = get_page(&s, "/console/keys", &b.cookie).expect(200).text();
    assert!(page.contains(r#"<th scope="col">By</th>"#), "{page}");
    for actor in ["<td>ADMIN</td>", "<td>DEMO</td>", "<td>DEMO.REPO</td>"] {
        assert!(page.contains(actor), "{actor} in {page}");
    }
}

/// Small limits: authenticated 5, anonymous 3.
fn rate_limited() -> TestServer {
    TestServer::with(FIXTURES, |c| {
        c.rate_limit = Some(tinydoi::config::RateLimitConfig {
            window: std::time::Duration::from_secs(300),
            authenticated: 5,
            identified: 4,
            anonymous: 3,
        })
    })
}

fn remaining(r: &Resp) -> u32 {
    r.header("x-ratelimit-remaining").unwrap().parse().unwrap()
}

#[test]
fn a_signed_in_console_user_is_rate_limited_as_its_account_not_as_anonymous() {
    let s = rate_limited();
    // Signing in is anonymous (1 of the address's 3); the page after it is the account's
    // (1 of its 5).
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let r = get_page(&s, "/console/keys", &b.cookie).expect(200);
    assert_eq!(r.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(remaining(&r), 3);
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    assert_eq!(r.header("x-anonymous-consumer"), None);
    // The same account's API requests share the count; the address's anonymous budget
    // is untouched by the console pages.
    let r = s.get("/clients/DEMO.REPO").client_auth().send().expect(200);
    assert_eq!(remaining(&r), 2);
    let r = s.get("/heartbeat").send().expect(200);
    assert_eq!((r.header("x-ratelimit-limit"), remaining(&r)), (Some("3"), 1));
    for left in [1, 0] {
        assert_eq!(remaining(&get_page(&s, "/console/dois", &b.cookie).expect(200)), left);
    }
    // Past the account's limit, the console answers 429 in HTML, still naming the account.
    let r = get_page(&s, "/console/keys", &b.cookie).expect(429);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.header("x-credential-username"), Some("demo.repo"));
    // The address still has its one anonymous request left.
    s.get("/heartbeat").send().expect(200);
}

#[test]
fn the_session_cookie_is_no_credential_outside_the_console() {
    let s = rate_limited();
    let b = sign_in(&s, CLIENT, CLIENT_PASSWORD);
    let r = s
        .get("/credentials/api-keys")
        .header("Cookie", &b.cookie)
        .send()
        .expect(401);
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
    // A console page without a live session is anonymous, as before.
    let r = get_page(&s, "/console", "tinydoi_session=not-a-session").expect(200);
    assert_eq!(r.header("x-anonymous-consumer"), Some("true"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
}
