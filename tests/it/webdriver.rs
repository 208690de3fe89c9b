//! A small synchronous WebDriver (W3C) client over ureq, enough to drive Debian's
//! headless chromium through chromedriver: navigate, find, type, click, read, screenshot,
//! and the browser console log. No async runtime, no extra crate.

use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where chromium and its driver live, when installed (`apt-get install chromium chromium-driver`).
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    };
    Some((find(&["chromium", "chromium-browser"])?, find(&["chromedriver"])?))
}

/// A chromedriver process and one headless browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // Ready once it says so on stdout (no polling, no sleeps).
        let stdout = driver.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("started successfully"));
        assert!(ready, "chromedriver did not start");
        std::thread::spawn(move || lines.for_each(drop));
        let profile = tempfile::tempdir().unwrap();
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build();
        let base = format!("http://127.0.0.1:{port}");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1024,720",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let r = call(&agent, "POST", &format!("{base}/session"), Some(caps));
        let session = r["sessionId"].as_str().expect("a session").to_string();
        let browser = Browser {
            driver,
            base,
            session,
            agent,
            _profile: profile,
        };
        // Finding an element waits for it (up to 20 s) instead of the test sleeping.
        browser.cmd("POST", "/timeouts", Some(json!({"implicit": 20_000})));
        browser
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(
            &self.agent,
            method,
            &format!("{}/session/{}{path}", self.base, self.session),
            body,
        )
    }

    pub fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    pub fn source(&self) -> String {
        self.cmd("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap_or_default().to_string()
    }

    fn find_by(&self, using: &str, value: &str) -> String {
        let r = self.cmd("POST", "/element", Some(json!({"using": using, "value": value})));
        r[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {value}: {r}"))
            .to_string()
    }

    /// The element a CSS selector finds.
    pub fn find(&self, css: &str) -> Element<'_> {
        Element {
            browser: self,
            id: self.find_by("css selector", css),
        }
    }

    /// The button whose text is `text`.
    pub fn button(&self, text: &str) -> Element<'_> {
        Element {
            browser: self,
            id: self.find_by("xpath", &format!("//button[normalize-space()='{text}']")),
        }
    }

    /// The link whose text is `text`.
    pub fn link(&self, text: &str) -> Element<'_> {
        Element {
            browser: self,
            id: self.find_by("xpath", &format!("//a[normalize-space()='{text}']")),
        }
    }

    pub fn script(&self, script: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// The value of `script` once it equals `expected`, or its last value after 10 s.
    /// Chromium applies `autofocus` at a later rendering step, not by the end of the
    /// navigation, so a page's state right after `go` may still be on its way.
    pub fn script_until(&self, script: &str, expected: &Value) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let value = self.script(script);
            if &value == expected || std::time::Instant::now() > deadline {
                return value;
            }
            // One animation frame, so the loop waits on the page rather than spinning.
            self.script("return new Promise(r => requestAnimationFrame(() => r(null)));");
        }
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &Path) {
        let png = self.cmd("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).expect("write screenshot");
    }

    /// The browser console entries since the last call, as (level, message).
    pub fn console_log(&self) -> Vec<(String, String)> {
        let r = self.cmd("POST", "/se/log", Some(json!({"type": "browser"})));
        r.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or("").to_string(),
                            e["message"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl Element<'_> {
    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.browser.cmd(method, &format!("/element/{}{what}", self.id), body)
    }

    pub fn click(&self) {
        self.cmd("POST", "/click", Some(json!({})));
    }

    pub fn type_text(&self, text: &str) {
        self.cmd("POST", "/value", Some(json!({"text": text})));
    }

    pub fn property(&self, name: &str) -> Value {
        self.cmd("GET", &format!("/property/{name}"), None)
    }

    pub fn displayed(&self) -> bool {
        self.cmd("GET", "/displayed", None).as_bool().unwrap_or(false)
    }
}

/// One WebDriver command; its `value`, or a panic naming the command and the driver's error.
fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let request = agent.request(method, url);
    let result = match body {
        Some(body) => request
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let v: Value = serde_json::from_str(&response.into_string().unwrap_or_default()).unwrap_or(Value::Null);
    assert!(status < 400, "{method} {url}: {status} {v}");
    v["value"].clone()
}
