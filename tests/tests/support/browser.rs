//! A real browser for the page tests: headless Chromium driven through
//! chromedriver (WebDriver), which the test starts on a free 127.0.0.1
//! port and stops when done. A machine without chromedriver or Chromium
//! fails the test with what to install: browser tests never skip.
//!
//! Used by `tests/tests/pages.rs` (and any page test) with
//! `#[path = "support/browser.rs"] mod browser;`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Where chromedriver is: `CHROMEDRIVER`, else `/usr/bin/chromedriver`, else on `PATH`.
fn chromedriver() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return PathBuf::from(path);
    }
    let default = PathBuf::from("/usr/bin/chromedriver");
    if default.exists() {
        return default;
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("chromedriver")).find(|p| p.exists()))
        .unwrap_or_else(|| {
            panic!(
                "chromedriver is not installed, so the page tests cannot drive a browser: install Debian's \
                 `chromium` and `chromium-driver` (apt-get install chromium chromium-driver, as .ci/run does) \
                 or set CHROMEDRIVER to its path"
            )
        })
}

/// Where Chromium is: `CHROMIUM`, else `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "Chromium is not installed at {} (apt-get install chromium, or set CHROMIUM)",
        path.display()
    );
    path
}

/// A free port on 127.0.0.1 (bound and let go).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// A headless Chromium session and the chromedriver serving it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// The server's base URL (`http://127.0.0.1:PORT`).
    pub base: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a window `width` wide.
    pub async fn start(base: &str, width: u32) -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver did not start: {e}"));
        // Wait until it listens (a readiness poll, not a timed assertion).
        let mut ready = false;
        for _ in 0..400 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(ready, "chromedriver never listened on 127.0.0.1:{port}");
        let mut options = json!({
            "binary": chromium(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=en-US", format!("--window-size={},900", width.max(500))],
        });
        if width < 500 {
            // A window is never narrower than 500 px: a phone's screen is emulated.
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": width, "height": 800, "pixelRatio": 1.0}});
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session with Chromium: {e}"));
        Browser { client, driver, base: base.trim_end_matches('/').to_string() }
    }

    /// Signs `user` in through the sign-in form (the tests' users have the
    /// password `{user}-password`).
    pub async fn sign_in(&self, user: &str) {
        self.open("/login").await;
        self.find("#user").await.send_keys(user).await.expect("type the user");
        self.find("#password").await.send_keys(&format!("{user}-password")).await.expect("type the password");
        let button = self.find("form[action=\"/login\"] button[type=submit]").await;
        self.click_and_wait(&button).await;
    }

    /// `Some((page width, viewport width))` when the page is wider than the window.
    pub async fn overflow(&self) -> Option<(i64, i64)> {
        let sizes = self
            .client
            .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
            .await
            .expect("sizes");
        let scroll = sizes[0].as_i64().unwrap_or(0);
        let inner = sizes[1].as_i64().unwrap_or(0);
        (scroll > inner).then_some((scroll, inner))
    }

    /// Opens a path of the server.
    pub async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        let mut path = url.path().to_string();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        path
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.here().await),
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client.find_all(Locator::Css(css)).await.expect("find_all")
    }

    pub async fn has(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// What the page's body reads.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    async fn here(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(_) => "?".into(),
        }
    }

    /// Sets a field's value (any kind of input) by its `name`.
    pub async fn set(&self, name: &str, value: &str) {
        let script = "const e = document.querySelector('[name=\"' + CSS.escape(arguments[0]) + '\"]'); \
                      if (!e) { return false; } e.value = arguments[1]; return true;";
        let done = self.client.execute(script, vec![json!(name), json!(value)]).await.expect("execute");
        assert_eq!(done, json!(true), "no field named `{name}` on {}", self.here().await);
    }

    /// A field's value by its `name`.
    pub async fn value(&self, name: &str) -> String {
        let script = "const e = document.querySelector('[name=\"' + CSS.escape(arguments[0]) + '\"]'); \
                      return e ? e.value : null;";
        let value = self.client.execute(script, vec![json!(name)]).await.expect("execute");
        match value.as_str() {
            Some(text) => text.to_string(),
            None => panic!("no field named `{name}` on {}", self.here().await),
        }
    }

    /// Clicks a submit button by its `name` and `value` and waits for the next page.
    pub async fn press(&self, name: &str, value: &str) {
        let css = format!("button[name=\"{name}\"][value=\"{value}\"]");
        let buttons = self.find_all(&css).await;
        let mut visible = None;
        for b in buttons {
            let class = b.attr("class").await.ok().flatten().unwrap_or_default();
            if !class.contains("sr-only") && b.is_displayed().await.unwrap_or(false) {
                visible = Some(b);
                break;
            }
        }
        let button = visible.unwrap_or_else(|| panic!("no visible button {css}"));
        self.click_and_wait(&button).await;
    }

    /// Clicks something that leads to another page and waits for that page.
    pub async fn click_and_wait(&self, element: &fantoccini::elements::Element) {
        self.mark().await;
        element.click().await.expect("click");
        self.wait_loaded().await;
    }

    /// Marks the current document, so that [`Browser::wait_loaded`] knows it left.
    pub async fn mark(&self) {
        self.client.execute("window.__integritas_old = true;", vec![]).await.expect("mark the page");
    }

    /// Waits until a new document (not the marked one) has loaded.
    pub async fn wait_loaded(&self) {
        for _ in 0..800 {
            let state = self
                .client
                .execute("return !window.__integritas_old && document.readyState === 'complete';", vec![])
                .await
                .unwrap_or(Value::Null);
            if state == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the next page never finished loading (still on {})", self.here().await);
    }

    /// The text of the innermost state the timeline marks as current.
    pub async fn current_step(&self) -> String {
        let all = self.find_all(".timeline li[aria-current=step]").await;
        let last = all.last().unwrap_or_else(|| panic!("no current step on the timeline"));
        last.text().await.expect("text")
    }

    /// Runs axe-core on the page; returns the serious and critical violations.
    pub async fn axe(&self, axe_source: &str) -> Vec<Value> {
        self.client.execute(axe_source, vec![]).await.expect("axe-core loads into the page");
        let script = "const done = arguments[arguments.length - 1]; \
                      axe.run(document, {resultTypes: ['violations']}) \
                        .then(r => done(JSON.stringify(r.violations))) \
                        .catch(e => done(JSON.stringify([{id: 'axe-failed', impact: 'critical', help: String(e)}])));";
        let result = self.client.execute_async(script, vec![]).await.expect("axe runs");
        let violations: Vec<Value> = serde_json::from_str(result.as_str().unwrap_or("[]")).expect("axe's JSON");
        violations.into_iter().filter(|v| matches!(v["impact"].as_str(), Some("serious") | Some("critical"))).collect()
    }

    /// Ends the session (Chromium exits) and stops chromedriver.
    pub async fn finish(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After `finish` this is a no-op; after a failed assertion it stops the driver we started.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// axe-core's `axe.min.js`: `AXE_CORE_JS`, else `<target>/axe-core`
/// (where `.ci/run` installs it), installed there with npm when missing.
pub fn axe_source() -> String {
    if let Some(path) = std::env::var_os("AXE_CORE_JS") {
        return std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("AXE_CORE_JS {path:?}: {e}"));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| integritas_tests::repo_root().join("target"), PathBuf::from);
    let folder = target.join("axe-core");
    let file = folder.join("node_modules/axe-core/axe.min.js");
    if !file.exists() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&folder)
            .arg("axe-core@4")
            .status()
            .unwrap_or_else(|e| panic!("axe-core is not installed and npm could not run ({e}): set AXE_CORE_JS"));
        assert!(status.success(), "npm install axe-core failed; set AXE_CORE_JS to axe.min.js");
    }
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}
