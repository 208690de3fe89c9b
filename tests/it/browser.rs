//! The web console in a real browser (Debian's headless chromium over WebDriver): sign in,
//! create a key and use it over HTTP, revoke it, publish a DOI, validate a broken record,
//! sign out, with no browser console errors; then a wrong password, a forged CSRF token
//! and an expired session. Screenshots of each page go to `target/console-screenshots/`.
//!
//! Without chromium the test says loudly that it skipped; with `CI=true` that is a failure
//! (`.ci/run` installs `chromium` and `chromium-driver`).

use crate::console::draft;
use crate::support::*;
use crate::webdriver::{installed, Browser};
use std::path::PathBuf;

/// Numbered screenshots, in the order the pages were seen.
struct Shots {
    dir: PathBuf,
    n: std::cell::Cell<u32>,
}

impl Shots {
    fn new() -> Shots {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        let dir = target.join("console-screenshots");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        Shots {
            dir,
            n: std::cell::Cell::new(0),
        }
    }

    fn take(&self, b: &Browser, name: &str) {
        self.n.set(self.n.get() + 1);
        b.screenshot(&self.dir.join(format!("{:02}-{name}.png", self.n.get())));
    }
}

#[test]
fn console_in_a_real_browser() {
    let Some((chromium, chromedriver)) = installed() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the browser test needs chromium and chromium-driver (.ci/run installs them)"
        );
        // Straight to stderr, past the test harness' capture, so the skip is seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED browser::console_in_a_real_browser: chromium and chromedriver are not installed\n\
             *** (apt-get install chromium chromium-driver). CI runs it for real.\n"
        );
        return;
    };
    let s = TestServer::start();
    draft(&s, "10.5072/browser-1");
    let b = Browser::start(&chromium, &chromedriver);
    let shots = Shots::new();
    sign_in_and_manage_a_key(&s, &b, &shots);
    publish_validate_and_sign_out(&s, &b, &shots);
    let errors: Vec<_> = b
        .console_log()
        .into_iter()
        .filter(|(level, _)| level == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "browser console errors: {errors:?}");
    refusals(&s, &b, &shots);
    // Refused requests log their status in the console, and nothing else may.
    let unexpected: Vec<_> = b
        .console_log()
        .into_iter()
        .filter(|(level, m)| level == "SEVERE" && !(m.contains("status of 401") || m.contains("status of 403")))
        .collect();
    assert!(unexpected.is_empty(), "browser console errors: {unexpected:?}");
}

/// Signs in with the keyboard alone: the username field has focus, Tab moves to the
/// password, Enter submits.
fn sign_in(s: &TestServer, b: &Browser, password: &str) {
    const TAB: char = '\u{E004}';
    const ENTER: char = '\u{E007}';
    b.go(&format!("{}/console", s.base));
    let username = serde_json::json!("username");
    let focused = b.script_until("return document.activeElement.id;", &username);
    assert_eq!(focused, username, "the sign-in page focuses Username");
    b.find("#username")
        .type_text(&format!("{CLIENT}{TAB}{password}{ENTER}"));
}

fn sign_in_and_manage_a_key(s: &TestServer, b: &Browser, shots: &Shots) {
    // A browser asking for `/` lands on the sign-in page.
    b.go(&format!("{}/", s.base));
    assert!(b.url().ends_with("/console"), "{}", b.url());
    assert_eq!(b.title(), "Sign in · tinydoi console");
    shots.take(b, "sign-in");
    sign_in(s, b, CLIENT_PASSWORD);
    // Each step waits for an element of the page it leads to (WebDriver's implicit wait).
    b.find("#name").type_text("browser test");
    assert!(b.url().ends_with("/console/keys"), "{}", b.url());
    b.button("Create key").click();
    b.find("#new-key");
    assert_eq!(b.title(), "New API key · tinydoi console");
    let key = b.find("#new-key").property("value").as_str().unwrap().to_string();
    assert!(b.source().contains("it will not be shown again"));
    let copy = b.find("#copy");
    assert!(copy.displayed(), "the copy button's script ran under the CSP");
    copy.click();
    shots.take(b, "new-key");
    s.get("/clients/DEMO.REPO").bearer(&key).send().expect(200);
    b.link("Back to API keys").click();
    shots.take(b, "keys");
    b.find("#name");
    b.link("Revoke").click();
    b.find("button.danger");
    assert_eq!(b.title(), "Revoke API key · tinydoi console");
    shots.take(b, "revoke-confirmation");
    b.button("Revoke").click();
    assert_eq!(b.find(".notice").property("textContent"), "Key revoked.");
    s.get("/clients/DEMO.REPO").bearer(&key).send().expect(401);
    shots.take(b, "keys-after-revoke");
}

fn publish_validate_and_sign_out(s: &TestServer, b: &Browser, shots: &Shots) {
    b.link("DOIs").click();
    b.find("#q");
    shots.take(b, "dois");
    b.link("10.5072/browser-1").click();
    b.find(".facts");
    shots.take(b, "doi-draft");
    b.button("Publish").click();
    assert_eq!(
        b.find(".notice").property("textContent"),
        "Published: the DOI is findable."
    );
    assert_eq!(doi_row(&s.db(), "10.5072/browser-1").unwrap().state, "findable");
    shots.take(b, "doi-published");
    // Upload a broken record and see its line.
    let broken = video_record("10.5072/v").replace("<publicationYear>2013<", "<publicationYear>twenty13<");
    let line = tinydoi::metadata::validate(broken.as_bytes()).unwrap_err().problems()[0]
        .line
        .unwrap();
    let file = s.dir.path().join("broken.xml");
    std::fs::write(&file, &broken).unwrap();
    b.link("Validate metadata").click();
    b.find("#file").type_text(file.to_str().unwrap());
    b.button("Validate").click();
    b.find("#result");
    let page = b.source();
    assert!(
        page.contains(&format!("<td>{line}</td>")) && page.contains("<td>publicationYear</td>"),
        "{page}"
    );
    shots.take(b, "validate-broken");
    // Phone width: nothing wider than the screen.
    b.resize(390, 844);
    b.link("API keys").click();
    b.find("#name");
    let fits = b.script("return document.documentElement.scrollWidth <= window.innerWidth;");
    assert_eq!(
        fits,
        serde_json::json!(true),
        "the keys page scrolls sideways at phone width"
    );
    shots.take(b, "phone-keys");
    b.resize(1024, 720);
    b.button("Sign out").click();
    b.find("#username");
    assert!(b.url().ends_with("/console"), "{}", b.url());
    b.go(&format!("{}/console/keys", s.base));
    b.find("#username");
    assert_eq!(b.title(), "Sign in · tinydoi console", "signed out");
}

fn refusals(s: &TestServer, b: &Browser, shots: &Shots) {
    sign_in(s, b, "not-the-password");
    assert_eq!(b.find("[role=alert]").property("textContent"), "Bad credentials.");
    shots.take(b, "bad-credentials");
    sign_in(s, b, CLIENT_PASSWORD);
    b.find("#name");
    let keys_before = key_count(s);
    b.script("document.querySelector('form.stack input[name=csrf]').value = 'forged';");
    b.find("#name").type_text("forged");
    b.button("Create key").click();
    let alert = b.find("[role=alert]").property("textContent");
    assert!(
        alert
            .as_str()
            .unwrap()
            .contains("did not come from your console session"),
        "{alert}"
    );
    assert_eq!(key_count(s), keys_before);
    shots.take(b, "forged-csrf");
    s.db()
        .execute("UPDATE console_sessions SET last_seen = last_seen - 3600", [])
        .unwrap();
    b.go(&format!("{}/console/dois", s.base));
    b.find("#username");
    assert_eq!(b.title(), "Sign in · tinydoi console", "the idle session expired");
}

fn key_count(s: &TestServer) -> i64 {
    count(&s.db(), "SELECT count(*) FROM api_keys")
}
