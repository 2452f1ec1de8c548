//! The real binary as an operator runs it: killed mid-purchase, backed up while
//! serving, and read through its logs, on a fresh database of the binary's engine
//! for each test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use storecredit::domain::{CreditKind, CreditSource, DisplayName, Email, Money};
use storecredit::store::credits::NewCredit;

use crate::support::{self, Engine, FreshDatabase, off_the_runtime};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_storecredit");
pub(crate) const PASSWORD: &str = "tangerine-otter-rides-west";

/// A server process and everything it has logged so far.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub(crate) fn start(database: &FreshDatabase) -> Server {
        Server::start_with(database, &[])
    }

    /// A server started with `extra` arguments after the usual ones.
    pub(crate) fn start_with(database: &FreshDatabase, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .args(extra)
            .env("STORECREDIT_DATABASE", database.arg())
            .env("STORECREDIT_MAIL_DIR", database.folder().join("mail"))
            .env("STORECREDIT_MEDIA_DIR", database.folder().join("media"))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(start) = line.find("url=\"") {
                    let rest = &line[start + 5..];
                    let _ = sender.send(rest[..rest.find('"').unwrap()].to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs the URL it serves");
        Server { child, url, log }
    }

    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn page(browser: &reqwest::Client, url: &str) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

/// A form field the page must have.
pub(crate) fn field(html: &str, name: &str) -> String {
    support::form_field(html, name).unwrap_or_else(|| panic!("no field {name}"))
}

async fn signed_in(url: &str, email: &str, password: &str) -> (reqwest::Client, String) {
    let browser = client();
    let token = field(&page(&browser, &format!("{url}/signin")).await, "csrf_token");
    let response = browser
        .post(format!("{url}/signin"))
        .form(&[("email", email), ("password", password), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
    let token = field(&page(&browser, &format!("{url}/redeem")).await, "csrf_token");
    (browser, token)
}

/// A database with the demo data and `shoppers` accounts holding a $50 gift card;
/// `None` (the test skips) when this binary's engine is not available here.
fn prepared_database(shoppers: usize) -> Option<FreshDatabase> {
    let database = FreshDatabase::new(crate::ENGINE)?;
    off_the_runtime(|| prepare(&database, shoppers));
    Some(database)
}

fn prepare(database: &FreshDatabase, shoppers: usize) {
    let store = database.open();
    let hash = storecredit::auth::password::hash_now(PASSWORD).unwrap();
    let demo_hash = storecredit::auth::password::hash_now(support::DEMO_PASSWORD).unwrap();
    let now = time::OffsetDateTime::now_utc();
    store.seed_demo_if_empty(&demo_hash, now).unwrap();
    for i in 0..shoppers {
        let user = store
            .create_user(
                &Email::parse(&format!("crash{i}@example.com")).unwrap(),
                &DisplayName::parse("Crash").unwrap(),
                &hash,
                now,
            )
            .unwrap();
        let card = NewCredit {
            kind: CreditKind::GiftCard,
            source: CreditSource::Grant,
            description: "Load test gift card".into(),
            amount: Money::from_cents(5000),
            expires_at: None,
            code_redemption_id: None,
        };
        store
            .grant_credit(
                &storecredit::domain::Actor::command(),
                user,
                &card,
                &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
                now,
            )
            .unwrap();
    }
}

fn cheapest_track(database: &FreshDatabase) -> i64 {
    off_the_runtime(|| {
        let store = database.open();
        let music = store.categories().by_slug("music").unwrap().id();
        store
            .products_in(Some(music))
            .unwrap()
            .into_iter()
            .min_by_key(|product| product.price)
            .unwrap()
            .id
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_load_loses_no_confirmed_order_and_half_writes_nothing() {
    let Some(database) = prepared_database(6) else {
        return;
    };
    let product = cheapest_track(&database);
    let mut server = Server::start(&database);

    let mut shoppers = Vec::new();
    for i in 0..6 {
        shoppers.push(signed_in(&server.url, &format!("crash{i}@example.com"), PASSWORD).await);
    }
    let confirmed = Arc::new(Mutex::new(Vec::<i64>::new()));
    let mut tasks = Vec::new();
    for (n, (browser, token)) in shoppers.into_iter().enumerate() {
        let (url, confirmed) = (server.url.clone(), confirmed.clone());
        tasks.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            for attempt in 0..200 {
                if Instant::now() > deadline {
                    break;
                }
                let key = format!("crash-test-{n:02}-{attempt:04}-key");
                let sent = browser
                    .post(format!("{url}/checkout/{product}"))
                    .form(&[("csrf_token", token.as_str()), ("idempotency_key", key.as_str())])
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::SEE_OTHER => {
                        let location = response.headers()["location"].to_str().unwrap().to_owned();
                        let id = location.trim_start_matches("/orders/").parse().unwrap();
                        confirmed.lock().unwrap().push(id);
                    }
                    Ok(response) => panic!("unexpected {}", response.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    // Let orders flow, then pull the plug while requests are in flight.
    let started = Instant::now();
    while confirmed.lock().unwrap().len() < 40 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let confirmed = confirmed.lock().unwrap().clone();
    assert!(confirmed.len() >= 40, "orders were flowing: {}", confirmed.len());

    // Restart on the same database: it opens (SQLite recovering its WAL) and serves.
    let restarted = Server::start(&database);
    let health = reqwest::get(format!("{}/healthz", restarted.url)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    off_the_runtime(|| {
        let store = database.open();
        assert_eq!(store.verify_ledger().unwrap(), Vec::new(), "every credit adds up");
        // What an order says credit paid, and what its credits' ledgers say they gave.
        let paid_and_drawn = |id: i64| {
            let details = store
                .order_details(id)
                .unwrap()
                .unwrap_or_else(|| panic!("order {id} survived the crash"));
            let paid = details.receipt.promotional_credit.cents() + details.receipt.gift_card.cents();
            let drawn: i64 = details.draws.iter().map(|draw| draw.amount.cents()).sum();
            (paid, drawn)
        };
        for id in &confirmed {
            let (paid, drawn) = paid_and_drawn(*id);
            assert_eq!(paid, drawn, "confirmed order {id} has its ledger events");
        }
        // No order at all, confirmed or not, is half written.
        let orders = store.list_orders(None).unwrap();
        assert!(orders.len() >= confirmed.len());
        for order in orders {
            let (paid, drawn) = paid_and_drawn(order.id);
            assert_eq!(paid, drawn, "order {} is whole", order.id);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_is_consistent() {
    // `storecredit backup` copies an SQLite file; a store on PostgreSQL is backed
    // up with pg_dump (the next test).
    if crate::ENGINE != Engine::Sqlite {
        return;
    }
    let Some(database) = prepared_database(2) else {
        return;
    };
    let product = cheapest_track(&database);
    let server = Server::start(&database);
    let (browser, token) = signed_in(&server.url, "crash0@example.com", PASSWORD).await;

    let url = server.url.clone();
    let load = tokio::spawn(async move {
        for attempt in 0..40 {
            let key = format!("backup-test-{attempt:04}-key");
            let response = browser
                .post(format!("{url}/checkout/{product}"))
                .form(&[("csrf_token", token.as_str()), ("idempotency_key", key.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
    });
    let copy = database.folder().join("backup.db");
    let backup = tokio::task::spawn_blocking({
        let (database, copy) = (database.arg(), copy.clone());
        move || {
            std::thread::sleep(Duration::from_millis(50));
            Command::new(BIN)
                .args(["backup"])
                .arg(&copy)
                .env("STORECREDIT_DATABASE", database)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    load.await.unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );

    off_the_runtime(|| {
        let restored = storecredit::store::Store::open(&copy).unwrap();
        assert_eq!(restored.verify_ledger().unwrap(), Vec::new());
        assert!(restored.products_in(None).unwrap().len() >= 20);
    });
    let again = Command::new(BIN)
        .args(["backup"])
        .arg(&copy)
        .env("STORECREDIT_DATABASE", database.arg())
        .output()
        .unwrap();
    assert!(!again.status.success(), "an existing file is never overwritten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_store_on_postgresql_points_to_pg_dump_and_writes_nothing() {
    // The PostgreSQL counterpart of the backup above.
    if crate::ENGINE != Engine::Postgres {
        return;
    }
    let Some(database) = prepared_database(0) else {
        return;
    };
    let server = Server::start(&database);
    let copy = database.folder().join("backup.db");

    let backup = Command::new(BIN)
        .args(["backup"])
        .arg(&copy)
        .env("STORECREDIT_DATABASE", database.arg())
        .output()
        .unwrap();

    let said = String::from_utf8_lossy(&backup.stderr);
    assert!(!backup.status.success(), "{said}");
    assert!(said.contains("pg_dump") && said.contains("pg_restore"), "{said}");
    assert!(!copy.exists(), "no file is written");
    let health = reqwest::get(format!("{}/healthz", server.url)).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "the server keeps serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_has_one_line_per_request_and_no_secrets() {
    let Some(database) = prepared_database(0) else {
        return;
    };
    let server = Server::start(&database);
    let url = server.url.clone();

    let (browser, token) = signed_in(&url, "demo@example.com", "check-my-balance").await;
    let redeemed = browser
        .post(format!("{url}/redeem"))
        .form(&[("code", "GIFT-20"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), StatusCode::SEE_OTHER);
    let carded = browser
        .post(format!("{url}/account/payment"))
        .form(&[
            ("card_number", "4000 0566 5566 5556"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(carded.status(), StatusCode::SEE_OTHER);
    let product = cheapest_track(&database);
    let summary = page(&browser, &format!("{url}/checkout/{product}?promo_code=VIDEO-5")).await;
    let key = field(&summary, "idempotency_key");
    let ordered = browser
        .post(format!("{url}/checkout/{product}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("idempotency_key", key.as_str()),
            ("promo_code", "VIDEO-5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ordered.status(), StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let log = server.log_text();
    let session_cookie: String = field(&summary, "csrf_token"); // any page's token is the session's
    for secret in [
        "check-my-balance",
        "4000056655665556",
        "4000 0566 5566 5556",
        "GIFT-20",
        "VIDEO-5",
        token.as_str(),
        session_cookie.as_str(),
        "storecredit=",
    ] {
        assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
    }
    // One access line per request: `request{request_id=…}: … request method=… path=… status=… micros=…`
    let access_lines: Vec<&str> = log.lines().filter(|line| line.contains(" micros=")).collect();
    assert_eq!(
        access_lines.len(),
        7,
        "one line for each of the 7 requests:\n{log}"
    );
    assert!(
        access_lines.iter().all(|l| l.contains("request{request_id=")),
        "{log}"
    );
    assert!(
        access_lines
            .iter()
            .any(|l| l.contains("method=POST") && l.contains("path=\"/redeem\"") && l.contains("status=303")),
        "{log}"
    );
    // A handler's own line carries the same request id as its access line.
    let signed_in = log
        .lines()
        .find(|l| l.contains("signed in"))
        .expect("the sign-in is logged");
    let id = &signed_in[signed_in.find("request_id=").unwrap()..];
    let id = &id[..id.find('}').unwrap()];
    assert!(
        access_lines
            .iter()
            .any(|l| l.contains(id) && l.contains("path=\"/signin\"")),
        "{log}"
    );
}

/// Runs an operator command on `database` and returns what it printed; fails the
/// test when the command fails.
pub(crate) fn operator(database: &FreshDatabase, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .env("STORECREDIT_DATABASE", database.arg())
        .output()
        .expect("the command runs");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}

/// The `data-balance` hooks of the pop-up, in order, with their amounts.
fn balance_rows(popup: &str) -> Vec<(String, String)> {
    popup
        .split("data-balance=\"")
        .skip(1)
        .map(|rest| {
            let hook = rest[..rest.find('"').unwrap()].to_owned();
            (
                hook.clone(),
                support::text_of(popup, "data-balance", &hook).unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_added_with_one_command_has_its_row_page_and_link() {
    let Some(database) = prepared_database(0) else {
        return;
    };
    let added = operator(
        &database,
        &["category", "add", "--slug", "audiobooks", "--label", "Audiobooks"],
    );
    assert!(added.contains("/store/audiobooks"), "{added}");
    operator(
        &database,
        &[
            "credit",
            "grant",
            "--reason",
            "goodwill",
            "--email",
            support::DEMO_EMAIL,
            "--amount",
            "7.50",
            "--categories",
            "audiobooks,music",
        ],
    );
    operator(
        &database,
        &[
            "product",
            "add",
            "--category",
            "audiobooks",
            "--title",
            "The Long Road",
            "--creator",
            "A. Reader",
            "--format",
            "Audiobook",
            "--price",
            "6.00",
        ],
    );
    let listed = operator(&database, &["category", "list"]);
    assert!(
        listed.contains("audiobooks") && listed.contains("Audiobooks"),
        "{listed}"
    );

    let server = Server::start(&database);
    let (browser, _) = signed_in(&server.url, support::DEMO_EMAIL, support::DEMO_PASSWORD).await;
    let popup = page(&browser, &format!("{}/balance", server.url)).await;
    let rows = balance_rows(&popup);
    let expected: Vec<(String, String)> = [
        ("music", "$21.51"),
        ("kindle", "$10.00"),
        ("video", "$3.50"),
        ("gift-card", "$25.00"),
        ("software", "$0.00"),
        ("audiobooks", "$7.50"),
    ]
    .iter()
    .map(|(hook, amount)| (hook.to_string(), amount.to_string()))
    .collect();
    assert_eq!(rows, expected);
    assert!(popup.contains(">Audiobooks<"), "the row's label");

    let department = browser
        .get(format!("{}/store/audiobooks", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(department.status(), StatusCode::OK);
    let department = department.text().await.unwrap();
    assert!(department.contains("<h1>Audiobooks</h1>"), "{department}");
    assert!(
        department.contains("The Long Road"),
        "the new product is on its shelf"
    );
    let home = page(&browser, &server.url).await;
    assert!(
        home.contains(r#"<a href="/store/audiobooks">Audiobooks</a>"#),
        "the navigation links the new department"
    );
    drop(server);
    let verdict = operator(&database, &["ledger", "verify"]);
    assert!(verdict.starts_with("ledger ok"), "{verdict}");
}
