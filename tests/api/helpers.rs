//! Test harness: the real application on a free port with a fresh database on
//! the suite's engine (`crate::ENGINE`).

use std::path::PathBuf;
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode, Url, redirect};
use storecredit::clock::Clock;
use storecredit::config::{DatabaseLocation, Settings};
use storecredit::domain::{DisplayName, Email};
use storecredit::startup::Application;
use storecredit::store::Store;

use crate::support::database;
pub use crate::support::{
    DEMO_EMAIL, DEMO_PASSWORD, FreshDatabase, HELP_PATH, demo_balances, form_field, off_the_runtime, text_of,
};
/// The password of every account `create_account` makes.
pub const ACCOUNT_PASSWORD: &str = "tangerine-otter-rides-west";

pub struct TestApp {
    pub address: String,
    /// Where metrics are served, when the test set `metrics_bind`.
    pub metrics_address: Option<String>,
    /// The database the app runs on.
    pub database: DatabaseLocation,
    pub clock: Clock,
    /// The first shopper's browser; `app.get(…)` and friends use it.
    pub browser: Browser,
    mail_folder: PathBuf,
    /// The app's media folder (`--media-dir`).
    pub media_folder: PathBuf,
    /// Kept for as long as the app: dropping it removes the folder and the
    /// database made for this test.
    _fresh: FreshDatabase,
}

/// A browser-like client: keeps its own cookies, never follows redirects by itself
/// so tests can check every `303` and `Location`.
#[derive(Clone)]
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    pub cookies: Arc<Jar>,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

/// Starts the app with the demo data seeded (the embedded default); `None` when
/// the suite's engine is not available here (the test then skips).
pub async fn spawn_app() -> Option<TestApp> {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    spawn(adjust, |database| {
        Store::open_location(database).expect("the database opens")
    })
    .await
}

/// Starts the app (the demo seeded) on a store the test opens itself, with a test
/// knob turned.
pub async fn spawn_app_on(open: impl FnOnce(&DatabaseLocation) -> Store + Send) -> Option<TestApp> {
    spawn(|_| {}, open).await
}

async fn spawn(
    adjust: impl FnOnce(&mut Settings),
    open: impl FnOnce(&DatabaseLocation) -> Store + Send,
) -> Option<TestApp> {
    let fresh = FreshDatabase::new(crate::ENGINE)?;
    let mut settings = Settings::with_location(fresh.location().clone());
    settings.bind = "127.0.0.1:0".to_owned();
    settings.workers = Some(2);
    settings.mail.folder = fresh.folder().join("mail");
    settings.media_dir = fresh.folder().join("media");
    adjust(&mut settings);
    let clock = settings.clock.clone();
    let (database, mail_folder) = (settings.database.clone(), settings.mail.folder.clone());
    let media_folder = settings.media_dir.clone();
    let store = off_the_runtime(|| open(&database));
    let application = Application::build_with_store(settings, store)
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let metrics_address = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    actix_web::rt::spawn(application.run_until_stopped());
    Some(TestApp {
        browser: Browser::new(&address),
        address,
        metrics_address,
        database,
        clock,
        mail_folder,
        media_folder,
        _fresh: fresh,
    })
}

pub fn browser(cookies: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .cookie_provider(cookies)
        // The server closes a connection idle for its keep-alive (5 seconds): a
        // client that kept it longer could send a request just as it closes
        // and read no answer. Like a browser, drop idle connections sooner.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("a client")
}

impl TestApp {
    /// Another shopper, with a browser (and cookies) of their own.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// Runs `work` on the app's database, opened beside the running server as an
    /// operator would (a store of its own), off the test's runtime.
    pub fn with_store<T: Send>(&self, work: impl FnOnce(&Store) -> T + Send) -> T {
        off_the_runtime(|| work(&Store::open_location(&self.database).expect("the database opens")))
    }

    /// The rows `sql` selects, read behind the store's back (the same SQL on both
    /// engines; each value as text), for what no use case shows.
    pub fn sql_rows(&self, sql: &str) -> Vec<Vec<String>> {
        database::sql_rows(&self.database, sql)
    }

    /// Everything the database holds, as bytes, to search for what must never be
    /// stored.
    pub fn everything_stored(&self) -> Vec<u8> {
        database::everything_stored(&self.database)
    }

    /// Creates an account directly in the store, faster than registering; all test
    /// accounts share one password hash to keep tests fast.
    pub fn create_account(&self, email: &str, name: &str) {
        static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let hash = HASH.get_or_init(|| storecredit::auth::password::hash_now(ACCOUNT_PASSWORD).unwrap());
        self.with_store(|store| {
            store.create_user(
                &Email::parse(email).unwrap(),
                &DisplayName::parse(name).unwrap(),
                hash,
                self.clock.now(),
            )
        })
        .expect("a new account");
    }

    /// A new account, signed in on a new browser.
    pub async fn new_shopper(&self, email: &str) -> Browser {
        self.create_account(email, "Shopper");
        let browser = self.new_browser();
        let response = browser.sign_in(email, ACCOUNT_PASSWORD, "/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
        browser
    }

    pub fn product_id(&self, title: &str) -> i64 {
        self.with_store(|store| store.products_in(None))
            .unwrap()
            .into_iter()
            .find(|product| product.title == title)
            .unwrap_or_else(|| panic!("no product {title}"))
            .id
    }

    /// The newest mail sent to `to` (waiting for it a while: mail goes out after
    /// the answer), as written to the mail folder.
    pub async fn mail_to(&self, to: &str) -> String {
        for _ in 0..100 {
            let mut newest: Option<(std::time::SystemTime, String)> = None;
            for entry in std::fs::read_dir(&self.mail_folder)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "eml"))
            {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                if text.contains(&format!("To: {to}"))
                    && let Some(modified) = modified
                    && newest.as_ref().is_none_or(|(at, _)| modified >= *at)
                {
                    newest = Some((modified, text));
                }
            }
            if let Some((_, text)) = newest {
                return text;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no mail to {to}");
    }

    /// Every mail sent to `to` so far, oldest first (by outbox number, which
    /// starts each file's name), [`readable`].
    pub fn mails_to(&self, to: &str) -> Vec<String> {
        // Only whole messages: one being written is a temporary file until it
        // is renamed into place.
        let mut files: Vec<_> = std::fs::read_dir(&self.mail_folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| std::fs::read_to_string(path).unwrap_or_default())
            .filter(|text| text.contains(&format!("To: {to}\r\n")))
            .map(|text| readable(&text))
            .collect()
    }

    /// The first mail to `to` after the `seen` it had, waiting for it a while.
    pub async fn next_mail_to(&self, to: &str, seen: usize) -> String {
        for _ in 0..200 {
            if let Some(mail) = self.mails_to(to).into_iter().nth(seen) {
                return mail;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no new mail to {to} after {seen}");
    }

    /// Registers on `browser` as a shopper does (SPEC §9): the form, then the
    /// link mailed to the address, then its "Create my account" button. The
    /// button's answer (a `303` to `/` once the account is made).
    pub async fn register(&self, browser: &Browser, name: &str, email: &str, password: &str) -> Response {
        self.register_returning_to(browser, name, email, password, "/")
            .await
    }

    /// [`TestApp::register`] from a form that returns to `return_to`.
    pub async fn register_returning_to(
        &self,
        browser: &Browser,
        name: &str,
        email: &str,
        password: &str,
        return_to: &str,
    ) -> Response {
        let address = email.trim().to_lowercase();
        let seen = self.mails_to(&address).len();
        let asked = browser
            .fill_in_registration(name, email, password, return_to)
            .await;
        assert_eq!(asked.status(), StatusCode::OK, "registration of {email}");
        let path = confirmation_path(&self.next_mail_to(&address, seen).await);
        browser.confirm_registration(&path, password).await
    }

    /// How many messages are in the mail folder.
    pub fn mail_count(&self) -> usize {
        self.mail_files().len()
    }

    /// The names of the messages in the mail folder (`NNNNNN-kind-….eml`), sorted.
    pub fn mail_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.mail_folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".eml"))
            .collect();
        names.sort();
        names
    }

    /// Waits (up to ten seconds) until the mail folder holds `count` messages;
    /// their names.
    pub async fn mail_files_when(&self, count: usize) -> Vec<String> {
        for _ in 0..200 {
            let names = self.mail_files();
            if names.len() >= count {
                return names;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.mail_files()
    }

    /// The messages of `kind` (`new-device`, `password-reset`, …, as the `.eml`
    /// file names say) in the mail folder, oldest first (by outbox number).
    pub fn mails_of_kind(&self, kind: &str) -> Vec<String> {
        let mut files: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&self.mail_folder)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| (entry.file_name().to_string_lossy().into_owned(), entry.path()))
            .filter(|(name, _)| {
                name.ends_with(".eml")
                    && name
                        .split_once('-')
                        .is_some_and(|(_, rest)| rest.starts_with(&format!("{kind}-")))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| std::fs::read_to_string(path).unwrap_or_default())
            .collect()
    }

    /// [`TestApp::mails_of_kind`] once there are at least `count` of them
    /// (waiting a while: mail goes out after the answer).
    pub async fn wait_for_mails(&self, kind: &str, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let mails = self.mails_of_kind(kind);
            if mails.len() >= count {
                return mails;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {count} {kind} messages: {}",
            self.mails_of_kind(kind).len()
        );
    }

    /// Every credit adds up to its ledger.
    pub fn assert_ledger_holds(&self) {
        assert_eq!(self.with_store(Store::verify_ledger).unwrap(), Vec::new());
    }
}

impl Browser {
    pub fn new(address: &str) -> Browser {
        let cookies = Arc::new(Jar::default());
        Browser {
            address: address.to_owned(),
            client: browser(cookies.clone()),
            cookies,
        }
    }

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

    /// Posts the registration form (its first step: the answer is "check your
    /// mail" when the fields are fine).
    pub async fn fill_in_registration(
        &self,
        name: &str,
        email: &str,
        password: &str,
        return_to: &str,
    ) -> Response {
        let token = self.csrf_token("/register").await;
        self.post_form(
            "/register",
            &[
                ("name", name),
                ("email", email),
                ("password", password),
                ("return_to", return_to),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    /// Opens a confirmation link (`/register/confirm/…`) and presses its button.
    /// Opens a confirmation link and presses "Create my account" with the
    /// password typed at registration.
    pub async fn confirm_registration(&self, path: &str, password: &str) -> Response {
        let token = self.csrf_token(path).await;
        self.post_form(path, &[("password", password), ("csrf_token", &token)])
            .await
    }

    pub async fn sign_in_as_demo(&self) {
        let response = self.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "demo sign-in");
    }

    pub async fn redeem(&self, code: &str) -> Response {
        let token = self.csrf_token("/redeem").await;
        self.post_form("/redeem", &[("code", code), ("csrf_token", &token)])
            .await
    }

    pub async fn set_card(&self, number: &str) -> Response {
        let token = self.csrf_token("/account/payment").await;
        self.post_form(
            "/account/payment",
            &[("card_number", number), ("csrf_token", &token)],
        )
        .await
    }

    /// Opens checkout (with `query`, e.g. `?promo_code=GIFT-20`) and submits the
    /// order form it shows, adding `extra` fields.
    pub async fn buy(&self, product_id: i64, extra: &[(&str, &str)]) -> Response {
        let form = self.checkout_form(product_id).await;
        let mut fields: Vec<(&str, &str)> =
            vec![("csrf_token", &form.csrf_token), ("idempotency_key", &form.key)];
        fields.extend_from_slice(extra);
        self.post_form(&format!("/checkout/{product_id}"), &fields).await
    }

    pub async fn checkout_form(&self, product_id: i64) -> CheckoutForm {
        let html = self.get_html(&format!("/checkout/{product_id}")).await;
        CheckoutForm {
            csrf_token: form_field(&html, "csrf_token").expect("a CSRF token"),
            // A summary that cannot be ordered from (no card for the remainder) shows
            // no order form; a client may still submit with a key of its own.
            key: form_field(&html, "idempotency_key").unwrap_or_else(fresh_key),
        }
    }

    /// Follows a 303 to the page it names.
    pub async fn follow(&self, response: &Response) -> String {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        self.get_html(location(response)).await
    }

    /// The balances in the pop-up now.
    pub async fn popup(&self) -> Vec<(String, String)> {
        balances(&self.get_html("/balance").await)
    }

    pub async fn balance(&self, hook: &str) -> String {
        text_of(&self.get_html("/balance").await, "data-balance", hook).expect("a balance")
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

fn fresh_key() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("test-client-key-{n:08}-{}", std::process::id())
}

pub struct CheckoutForm {
    pub csrf_token: String,
    pub key: String,
}

/// A mail as its reader sees it: quoted-printable soft line breaks joined and
/// `=XX` escapes decoded (long lines are sent so).
pub fn readable(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The confirmation link's path (`/register/confirm/…`) in a mail.
pub fn confirmation_path(mail: &str) -> String {
    let start = mail
        .find("/register/confirm/")
        .unwrap_or_else(|| panic!("a confirmation link in the mail:\n{mail}"));
    let token: String = mail[start + "/register/confirm/".len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(token.len(), 32, "{mail}");
    format!("/register/confirm/{token}")
}

pub fn location(response: &Response) -> &str {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("an ASCII Location")
}

/// What a receipt or summary says was paid one way (`data-paid="card"`): the sum
/// of its lines (one per credit drawn on), `$0.00` when there is none.
pub fn paid(html: &str, hook: &str) -> String {
    let cents: i64 = paid_lines(html, hook)
        .iter()
        .map(|amount| {
            let digits: String = amount.chars().filter(char::is_ascii_digit).collect();
            digits.parse::<i64>().expect("an amount")
        })
        .sum();
    let dollars = cents / 100;
    let grouped = if dollars >= 1000 {
        format!("{},{:03}", dollars / 1000, dollars % 1000)
    } else {
        dollars.to_string()
    };
    format!("${grouped}.{:02}", cents % 100)
}

/// Each `data-paid="hook"` amount on a page, in order: exactly `$1,234.56` each.
pub fn paid_lines(html: &str, hook: &str) -> Vec<String> {
    let marker = format!("data-paid=\"{hook}\"");
    let mut amounts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&marker) {
        let amount = text_of(rest, "data-paid", hook).expect("an amount");
        assert!(
            amount.starts_with('$'),
            "data-paid={hook} holds the amount alone: {amount:?}"
        );
        amounts.push(amount);
        rest = &rest[start + marker.len()..];
    }
    amounts
}

/// The popup's balances, in page order, as `(hook, amount)`.
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
