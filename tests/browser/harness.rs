//! Real-browser harness: Debian's Chromium through chromedriver, driven by
//! fantoccini, against the real app on a free port with a fresh database on the
//! binary's engine (`crate::ENGINE`).
//!
//! Without a browser the tests skip with one notice; with
//! `STORECREDIT_BROWSER_TESTS=required` (CI) a missing browser fails them.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use storecredit::config::Settings;
use storecredit::startup::Application;

pub use crate::support::{DEMO_EMAIL, DEMO_PASSWORD, HELP_PATH};
use crate::support::{Engine, FreshDatabase};

/// Writes past libtest's output capture, so the line shows on a passing run.
pub fn notice(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

struct BrowserBinaries {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates.iter().map(PathBuf::from))
        .find(|path| path.is_file())
}

fn browser_binaries() -> Option<BrowserBinaries> {
    let chromium = find("CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let chromedriver = find(
        "CHROMEDRIVER",
        &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
    );
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(BrowserBinaries {
            chromium,
            chromedriver,
        }),
        _ if std::env::var("STORECREDIT_BROWSER_TESTS").as_deref() == Ok("required") => {
            panic!("browser tests are required here but chromium or chromedriver is missing")
        }
        _ => {
            static SKIPPED: Once = Once::new();
            SKIPPED.call_once(|| {
                notice(
                    "skipping browser tests: no Chromium found. Install Debian's `chromium` and \
                     `chromium-driver` (or set CHROMIUM and CHROMEDRIVER) to run them.",
                )
            });
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A shopper's browser session against a fresh app.
pub struct Session {
    pub client: Client,
    pub app: String,
    driver: Child,
    /// The app's database and a folder for the browser's profile, removed after.
    _database: FreshDatabase,
    scenario: &'static str,
    shots: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JavaScript {
    On,
    Off,
}

impl Session {
    /// `None` (with a notice) when no browser is installed and none is required,
    /// or the binary's engine is not available here.
    pub async fn start(scenario: &'static str, javascript: JavaScript) -> Option<Session> {
        let binaries = browser_binaries()?;
        let database = FreshDatabase::new(crate::ENGINE)?;
        let mut settings = Settings::with_location(database.location().clone());
        settings.bind = "127.0.0.1:0".to_owned();
        settings.workers = Some(2);
        settings.mail.folder = database.folder().join("mail");
        settings.media_dir = database.folder().join("media");
        let application = Application::build(settings).await.expect("the app builds");
        let app = format!("http://127.0.0.1:{}", application.port());
        actix_web::rt::spawn(application.run_until_stopped());

        let port = free_port();
        let driver = Command::new(&binaries.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let profile = database.folder().join("chromium-profile");
        let mut options = json!({
            "binary": binaries.chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        if javascript == JavaScript::Off {
            options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        notice(&format!("browser test running in Chromium: {scenario}"));
        Some(Session {
            client,
            app,
            driver,
            _database: database,
            scenario,
            shots: 0,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app)
    }

    /// The app's store, opened beside it as an operator would.
    pub fn store(&self) -> storecredit::store::Store {
        crate::support::off_the_runtime(|| self._database.open())
    }

    /// The first whole message mailed to `to`, waiting a while for it (the
    /// app's sender writes it to the mail folder within a second or so).
    pub async fn mail_to(&self, to: &str) -> String {
        let folder = self._database.folder().join("mail");
        let started = Instant::now();
        loop {
            let mut mails: Vec<_> = std::fs::read_dir(&folder)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
                .collect();
            mails.sort();
            if let Some(text) = mails
                .iter()
                .map(|path| std::fs::read_to_string(path).unwrap_or_default())
                .find(|text| text.contains(&format!("To: {to}\r\n")))
            {
                return text;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no mail to {to}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The app's media folder (`--media-dir`).
    pub fn media_folder(&self) -> std::path::PathBuf {
        self._database.folder().join("media")
    }

    /// The path of the registration confirmation link (`/register/confirm/…`)
    /// mailed to `to`, waiting a while for the message (the app's sender writes
    /// it to the mail folder within a second or so).
    pub async fn confirmation_path(&self, to: &str) -> String {
        let folder = self._database.folder().join("mail");
        let started = Instant::now();
        loop {
            // Only whole messages: one being written is a temporary file until
            // it is renamed into place.
            let mails = std::fs::read_dir(&folder)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"));
            for entry in mails {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if let (true, Some(start)) = (
                    text.contains(&format!("To: {to}\r\n")),
                    text.find("/register/confirm/"),
                ) {
                    let token: String = text[start + "/register/confirm/".len()..]
                        .chars()
                        .take_while(char::is_ascii_alphanumeric)
                        .collect();
                    return format!("/register/confirm/{token}");
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no confirmation link mailed to {to}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client.goto(&self.url(path)).await.expect("the page loads");
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current page's path (and query) is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let here = self.path().await;
            if here == path {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still on {here}, expected {path}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Signs in on the form currently shown.
    pub async fn sign_in_here(&self, email: &str, password: &str) {
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[action='/signin'] button[type=submit]").await;
    }

    /// The popup's balances, `(hook, amount)`, in page order.
    pub async fn balances(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for cell in self
            .client
            .find_all(Locator::Css("[data-balance]"))
            .await
            .unwrap()
        {
            let hook = cell.attr("data-balance").await.unwrap().unwrap_or_default();
            found.push((hook, cell.text().await.unwrap()));
        }
        found
    }

    /// Waits for a second window to appear and returns (the original, the new one).
    pub async fn wait_for_new_window(
        &self,
        original: &fantoccini::wd::WindowHandle,
    ) -> fantoccini::wd::WindowHandle {
        let started = Instant::now();
        loop {
            let windows = self.client.windows().await.unwrap();
            if let Some(new) = windows.into_iter().find(|w| w != original) {
                return new;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no new window opened"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves what the shopper sees under `target/screenshots/`.
    pub async fn screenshot(&mut self, step: &str) {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        self.shots += 1;
        let engine = match crate::ENGINE {
            Engine::Sqlite => "",
            Engine::Postgres => "postgres-",
        };
        let file = folder.join(format!("{engine}{}-{:02}-{step}.png", self.scenario, self.shots));
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(&file, png).unwrap();
    }

    /// Saves the whole page (not just the window) as
    /// `target/screenshots/{name}.png` (`postgres-{name}.png` on PostgreSQL),
    /// returning the file's name.
    pub async fn screenshot_page(&self, name: &str) -> String {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        let engine = match crate::ENGINE {
            Engine::Sqlite => "",
            Engine::Postgres => "postgres-",
        };
        let file = format!("{engine}{name}.png");
        let (width, height) = self.client.get_window_size().await.unwrap();
        let (width, height) = (u32::try_from(width).unwrap(), u32::try_from(height).unwrap());
        let (tall, inner): (u32, u32) = serde_json::from_value(
            self.client
                .execute(
                    "return [document.scrollingElement.scrollHeight, window.innerHeight];",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        let grow = tall.min(12_000).saturating_sub(inner);
        if grow > 0 {
            self.client.set_window_size(width, height + grow).await.unwrap();
        }
        let png = self.client.screenshot().await.expect("a screenshot");
        if grow > 0 {
            self.client.set_window_size(width, height).await.unwrap();
        }
        std::fs::write(folder.join(&file), png).unwrap();
        file
    }

    /// Makes the page's viewport `width` CSS pixels wide (the window's frame
    /// taken into account).
    pub async fn set_viewport_width(&self, width: u32) {
        self.client.set_window_size(width, 900).await.unwrap();
        let inner: i64 = serde_json::from_value(
            self.client
                .execute("return window.innerWidth;", vec![])
                .await
                .unwrap(),
        )
        .unwrap();
        let frame = i64::from(width) - inner;
        if frame != 0 {
            let outer = u32::try_from(i64::from(width) + frame).unwrap();
            self.client.set_window_size(outer, 900).await.unwrap();
        }
    }

    /// Runs axe-core on the current page and returns its serious and critical
    /// violations, one line each.
    pub async fn accessibility_violations(&self, axe_source: &str) -> Vec<String> {
        self.axe(axe_source, "v.impact === 'serious' || v.impact === 'critical'")
            .await
    }

    /// Every violation axe-core finds on the current page, whatever its impact.
    pub async fn every_accessibility_violation(&self, axe_source: &str) -> Vec<String> {
        self.axe(axe_source, "true").await
    }

    async fn axe(&self, axe_source: &str, keep: &str) -> Vec<String> {
        self.client
            .execute(axe_source, vec![])
            .await
            .expect("axe-core loads");
        let result = self
            .client
            .execute_async(
                &format!(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, {{ resultTypes: ['violations'] }})
                       .then(r => done(r.violations
                         .filter(v => {keep})
                         .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' +
                              v.nodes.map(n => n.target.join(' ')).join(', '))))
                       .catch(e => done(['axe failed: ' + e]));"
                ),
                vec![],
            )
            .await
            .expect("axe-core runs");
        serde_json::from_value(result).expect("a list of violations")
    }

    pub async fn finish(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// axe-core's script, installed by `.ci/run` with npm into `tests/browser/`.
pub fn axe_source() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) if std::env::var("STORECREDIT_BROWSER_TESTS").as_deref() == Ok("required") => {
            panic!("axe-core is required here but {} is missing", path.display())
        }
        Err(_) => {
            notice(
                "skipping the accessibility check: run `npm install --prefix tests/browser` \
                 to install axe-core.",
            );
            None
        }
    }
}
