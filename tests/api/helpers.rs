//! Test harness: the real application on a free port with a fresh database file.

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode, Url, redirect};
use storecredit::clock::Clock;
use storecredit::config::Settings;
use storecredit::startup::Application;

pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "check-my-balance";
pub const HELP_PATH: &str = "/help/digital-music-credit";

pub struct TestApp {
    pub address: String,
    pub database: PathBuf,
    pub clock: Clock,
    /// A browser-like client: keeps cookies, never follows redirects by itself so
    /// tests can check every `303` and `Location`.
    pub client: reqwest::Client,
    pub cookies: Arc<Jar>,
    _folder: tempfile::TempDir,
}

/// Starts the app with the demo data seeded (the embedded default).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let database = folder.path().join("storecredit.db");
    let mut settings = Settings::with_database(database.clone());
    settings.bind = "127.0.0.1:0".to_owned();
    settings.workers = Some(2);
    adjust(&mut settings);
    let clock = settings.clock.clone();
    let application = Application::build(settings).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    actix_web::rt::spawn(application.run_until_stopped());
    let cookies = Arc::new(Jar::default());
    TestApp {
        address,
        database,
        clock,
        client: browser(cookies.clone()),
        cookies,
        _folder: folder,
    }
}

pub fn browser(cookies: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .cookie_provider(cookies)
        .build()
        .expect("a client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET answered")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST answered")
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("a body")
    }

    /// The CSRF token of the first form on a page.
    pub async fn csrf_token(&self, path: &str) -> String {
        form_field(&self.get_html(path).await, "csrf_token").expect("a CSRF token on the page")
    }

    pub async fn sign_in(&self, email: &str, password: &str, return_to: &str) -> Response {
        let token = self.csrf_token("/signin").await;
        self.post_form(
            "/signin",
            &[
                ("email", email),
                ("password", password),
                ("return_to", return_to),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    pub async fn sign_in_as_demo(&self) {
        let response = self.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "demo sign-in");
    }

    /// The `Cookie` header this client would send, to replay it from elsewhere.
    pub fn cookie_header(&self) -> String {
        let url: Url = self.address.parse().expect("a URL");
        self.cookies
            .cookies(&url)
            .map(|value| value.to_str().expect("ASCII cookies").to_owned())
            .unwrap_or_default()
    }
}

pub fn location(response: &Response) -> &str {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("an ASCII Location")
}

/// The `value` of the input named `name` (our templates write `name` before `value`).
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[start..];
    let value_at = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value_at..].find('"')?;
    Some(rest[value_at..value_at + end].to_owned())
}

/// The text of the element carrying `attribute="value"`, e.g. `data-balance="music"`.
pub fn text_of(html: &str, attribute: &str, value: &str) -> Option<String> {
    let marker = format!("{attribute}=\"{value}\"");
    let start = html.find(&marker)?;
    let after_tag = start + html[start..].find('>')? + 1;
    let end = after_tag + html[after_tag..].find('<')?;
    Some(html[after_tag..end].trim().to_owned())
}

/// The popup's five balances, in page order, as `(hook, amount)`.
pub fn balances(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("data-balance=\"") {
        let hook_start = start + "data-balance=\"".len();
        let hook_end = hook_start + rest[hook_start..].find('"').expect("a closing quote");
        let hook = rest[hook_start..hook_end].to_owned();
        let amount = text_of(&rest[start..], "data-balance", &hook).expect("an amount");
        found.push((hook, amount));
        rest = &rest[hook_end..];
    }
    found
}

pub fn demo_balances() -> Vec<(String, String)> {
    [
        ("music", "$14.01"),
        ("kindle", "$10.00"),
        ("video", "$3.50"),
        ("gift-card", "$25.00"),
        ("software", "$0.00"),
    ]
    .iter()
    .map(|(hook, amount)| (hook.to_string(), amount.to_string()))
    .collect()
}
