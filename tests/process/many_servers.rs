//! Three real `storecredit serve` processes on one PostgreSQL database (SPEC §6,
//! "Many servers"): a request may reach any of them, and what one decides (a
//! sign-out, a throttle, a balance, a code's cap) holds on all. Started together
//! on the empty database, they migrate and seed it once.
//!
//! Many servers on one SQLite file is not supported: on SQLite these tests return
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderValue};
use storecredit::domain::{CreditKind, CreditSource, DisplayName, Email, Money};
use storecredit::store::credits::NewCredit;

use super::server::{PASSWORD, Server, field, operator, page};
use crate::support::{self, Engine, FreshDatabase, off_the_runtime};

/// A fresh PostgreSQL database, or `None` (the test returns) on SQLite or when no
/// PostgreSQL server is configured.
fn postgres_database() -> Option<FreshDatabase> {
    if crate::ENGINE != Engine::Postgres {
        return None;
    }
    FreshDatabase::new(crate::ENGINE)
}

/// Three servers started at the same moment on the empty `database`, the first
/// with `first_extra` arguments. Checks that the database was seeded once.
fn three_servers(database: &FreshDatabase, first_extra: &[&str]) -> Vec<Server> {
    let servers: Vec<Server> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..3)
            .map(|n| {
                let extra = if n == 0 { first_extra } else { &[] };
                scope.spawn(move || Server::start_with(database, extra))
            })
            .collect();
        starting.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let seeded = servers
        .iter()
        .filter(|server| server.log_text().contains("seeded the demo catalog"))
        .count();
    assert_eq!(seeded, 1, "one of the three seeds the empty database");
    servers
}

/// Accounts `{prefix}{i}@example.com` (password [`PASSWORD`]), each with a gift
/// card of `gift_cents` when that is not zero, and no payment card.
fn add_shoppers(database: &FreshDatabase, prefix: &str, count: usize, gift_cents: i64) {
    off_the_runtime(|| {
        let store = database.open();
        let hash = storecredit::auth::password::hash_now(PASSWORD).unwrap();
        let now = time::OffsetDateTime::now_utc();
        for i in 0..count {
            let user = store
                .create_user(
                    &Email::parse(&format!("{prefix}{i}@example.com")).unwrap(),
                    &DisplayName::parse("Shopper").unwrap(),
                    &hash,
                    now,
                )
                .unwrap();
            if gift_cents > 0 {
                let card = NewCredit {
                    kind: CreditKind::GiftCard,
                    source: CreditSource::Grant,
                    description: "Many servers gift card".into(),
                    amount: Money::from_cents(gift_cents),
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
    });
}

/// A signed-in session as its cookies (sent by hand, so that a server's answer
/// cannot take them away) and its CSRF token.
#[derive(Clone)]
struct Session {
    cookie: HeaderValue,
    token: String,
}

/// A client that keeps no cookies and follows no redirects.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs `email` in on the server at `url`.
async fn sign_in(url: &str, email: &str, password: &str) -> Session {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = field(&page(&browser, &format!("{url}/signin")).await, "csrf_token");
    let response = browser
        .post(format!("{url}/signin"))
        .form(&[("email", email), ("password", password), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
    let token = field(&page(&browser, &format!("{url}/redeem")).await, "csrf_token");
    let cookie = reqwest::cookie::CookieStore::cookies(&*jar, &url.parse().unwrap()).expect("cookies");
    Session { cookie, token }
}

async fn get(client: &reqwest::Client, url: &str, session: &Session) -> reqwest::Response {
    client
        .get(url)
        .header(COOKIE, session.cookie.clone())
        .send()
        .await
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    session: &Session,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = vec![("csrf_token", session.token.as_str())];
    fields.extend_from_slice(form);
    client
        .post(url)
        .header(COOKIE, session.cookie.clone())
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// Whether the session is signed in on the server at `url`: its pop-up shows the
/// balances, or it is sent to sign in.
async fn signed_in_at(client: &reqwest::Client, url: &str, session: &Session) -> bool {
    let response = get(client, &format!("{url}/balance"), session).await;
    match response.status() {
        StatusCode::OK => {
            let body = response.text().await.unwrap();
            assert!(body.contains("data-balance=\"gift-card\""), "{body}");
            true
        }
        StatusCode::SEE_OTHER => {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            assert!(location.starts_with("/signin"), "{location}");
            false
        }
        other => panic!("/balance answered {other}"),
    }
}

fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_sign_in_works_on_all_three_and_a_sign_out_on_one_ends_it_on_all() {
    let Some(database) = postgres_database() else {
        return;
    };
    let servers = three_servers(&database, &[]);
    let client = bare_client();

    let session = sign_in(&servers[0].url, support::DEMO_EMAIL, support::DEMO_PASSWORD).await;
    for server in &servers {
        assert!(
            signed_in_at(&client, &server.url, &session).await,
            "the cookie from the first server works on {}",
            server.url
        );
    }
    let signed_out = post(&client, &format!("{}/signout", servers[1].url), &session, &[]).await;
    assert_eq!(
        signed_out.status(),
        StatusCode::SEE_OTHER,
        "sign-out on the second"
    );
    for server in &servers {
        assert!(
            !signed_in_at(&client, &server.url, &session).await,
            "the session ended on {} too",
            server.url
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_failed_sign_ins_spread_over_three_servers_pause_the_account_on_all() {
    let Some(database) = postgres_database() else {
        return;
    };
    let servers = three_servers(&database, &[]);
    add_shoppers(&database, "paused", 1, 0);
    let email = "paused0@example.com";
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let attempt = |n: usize, password: &'static str| {
        let (browser, url) = (browser.clone(), servers[n % 3].url.clone());
        async move {
            let token = field(&page(&browser, &format!("{url}/signin")).await, "csrf_token");
            browser
                .post(format!("{url}/signin"))
                .form(&[("email", email), ("password", password), ("csrf_token", &token)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for n in 0..5 {
        let status = attempt(n, "not-the-password-at-all").await;
        assert!(
            status != StatusCode::SEE_OTHER && status != StatusCode::TOO_MANY_REQUESTS,
            "failed sign-in {n} is refused, not yet paused: {status}"
        );
    }
    for n in 0..3 {
        assert_eq!(
            attempt(n, PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "the sixth attempt, even with the right password, is paused on server {n}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_parallel_orders_over_three_servers_never_overspend() {
    let Some(database) = postgres_database() else {
        return;
    };
    let servers = three_servers(&database, &[]);
    let (product, price) = cheapest_track(&database);
    // Enough for exactly seven orders, and no card to pay the rest.
    let affordable = 7;
    let credit = affordable * price + price / 2;
    add_shoppers(&database, "spender", 1, credit);
    let session = sign_in(&servers[0].url, "spender0@example.com", PASSWORD).await;
    let client = bare_client();

    let orders = (0..30).map(|n| {
        let (client, session) = (client.clone(), session.clone());
        let url = format!("{}/checkout/{product}", servers[n % 3].url);
        tokio::spawn(async move {
            let key = format!("many-servers-order-{n:04}-key");
            post(&client, &url, &session, &[("idempotency_key", key.as_str())])
                .await
                .status()
        })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(orders)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let placed = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count() as i64;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || s.is_client_error()),
        "every order is placed or refused: {statuses:?}"
    );
    assert_eq!(
        placed, affordable,
        "exactly what the credit pays for: {statuses:?}"
    );

    for server in &servers {
        let popup = get(&client, &format!("{}/balance", server.url), &session)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            support::text_of(&popup, "data-balance", "gift-card").as_deref(),
            Some(dollars(credit - placed * price).as_str()),
            "the balance left, never negative, on {}",
            server.url
        );
    }
    let verdict = operator(&database, &["ledger", "verify"]);
    assert!(verdict.starts_with("ledger ok"), "{verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_capped_at_ten_redeemed_by_24_shoppers_at_once_over_three_servers_is_redeemed_ten_times() {
    let Some(database) = postgres_database() else {
        return;
    };
    let servers = three_servers(&database, &[]);
    add_shoppers(&database, "redeemer", 24, 0);
    operator(
        &database,
        &[
            "code",
            "create",
            "--code",
            "CAPPED-10",
            "--kind",
            "gift-card",
            "--amount",
            "1.00",
            "--max-redemptions",
            "10",
            "--description",
            "One dollar, for the first ten",
        ],
    );
    let sessions = futures::future::join_all(
        (0..24).map(|n| sign_in_owned(servers[n % 3].url.clone(), format!("redeemer{n}@example.com"))),
    )
    .await;
    let client = bare_client();

    // Each redeems on another server than the one it signed in on.
    let redeems = sessions.into_iter().enumerate().map(|(n, session)| {
        let client = client.clone();
        let url = format!("{}/redeem", servers[(n + 1) % 3].url);
        tokio::spawn(async move {
            post(&client, &url, &session, &[("code", "CAPPED-10")])
                .await
                .status()
        })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(redeems)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let redeemed = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    assert_eq!((redeemed, refused), (10, 14), "{statuses:?}");
    let shown = operator(&database, &["code", "show", "CAPPED-10"]);
    assert!(shown.contains("Redeemed      10 of 10"), "{shown}");
    let verdict = operator(&database, &["ledger", "verify"]);
    assert!(verdict.starts_with("ledger ok"), "{verdict}");
}

async fn sign_in_owned(url: String, email: String) -> Session {
    sign_in(&url, &email, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_under_load_leaves_the_other_two_answering_every_request() {
    let Some(database) = postgres_database() else {
        return;
    };
    let mut servers = three_servers(&database, &[]);
    let session = sign_in(&servers[0].url, support::DEMO_EMAIL, support::DEMO_PASSWORD).await;
    let client = bare_client();
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();

    let killed = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // Answers from the two survivors after the kill.
    let after_kill = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for worker in 0..6 {
        let (client, session, urls) = (client.clone(), session.clone(), urls.clone());
        let (killed, stop, after_kill) = (killed.clone(), stop.clone(), after_kill.clone());
        load.push(tokio::spawn(async move {
            let mut answered = 0;
            let mut n = worker;
            while !stop.load(Ordering::SeqCst) {
                let target = n % 3;
                n += 1;
                let path = if n % 2 == 0 { "/balance" } else { "/" };
                let was_killed = killed.load(Ordering::SeqCst);
                let sent = client
                    .get(format!("{}{path}", urls[target]))
                    .header(COOKIE, session.cookie.clone())
                    .send()
                    .await;
                if target == 2 {
                    // The victim: answers until it is gone.
                    continue;
                }
                let status = sent
                    .unwrap_or_else(|error| panic!("server {target} failed a request: {error}"))
                    .status();
                assert_eq!(status, StatusCode::OK, "server {target} answered {path}");
                answered += 1;
                if was_killed {
                    after_kill.fetch_add(1, Ordering::SeqCst);
                }
            }
            answered
        }));
    }

    // Let requests flow on all three, then pull the plug on the third.
    let started = Instant::now();
    let answered_before = || servers[2].log_text().matches(" micros=").count();
    while answered_before() < 30 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the load reaches the third server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    servers[2].child.kill().expect("SIGKILL");
    killed.store(true, Ordering::SeqCst);
    servers[2].child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while after_kill.load(Ordering::SeqCst) < 200 && !load.iter().any(|task| task.is_finished()) {
        assert!(Instant::now() < deadline, "the survivors keep answering");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await
            .expect("every request to the two survivors answered 200");
    }
    assert!(after_kill.load(Ordering::SeqCst) >= 200);
    for url in &urls[..2] {
        let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK, "{url} is ready");
    }
}

/// A port free right now, for a server to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sum of the `storecredit_http_requests_total` series whose labels include
/// every one of `labels`.
fn requests_counted(metrics: &str, labels: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("storecredit_http_requests_total{"))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_on_the_metrics_address_count_what_the_test_sent_and_the_site_has_none() {
    let Some(database) = postgres_database() else {
        return;
    };
    // The binary does not report the address `--metrics-bind 127.0.0.1:0` got, so
    // the test chooses a free port itself.
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let servers = three_servers(&database, &["--metrics-bind", &metrics_address]);
    let client = bare_client();

    let site_metrics = client
        .get(format!("{}/metrics", servers[0].url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        site_metrics.status(),
        StatusCode::NOT_FOUND,
        "the public address has no /metrics"
    );
    for server in &servers {
        for _ in 0..5 {
            let home = client.get(&server.url).send().await.unwrap();
            assert_eq!(home.status(), StatusCode::OK);
        }
        for _ in 0..3 {
            let health = client
                .get(format!("{}/healthz", server.url))
                .send()
                .await
                .unwrap();
            assert_eq!(health.status(), StatusCode::OK);
        }
    }

    let scraped = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    let metrics = scraped.text().await.unwrap();
    // Only what the first server was sent: the others count their own.
    assert_eq!(
        requests_counted(&metrics, &["route=\"/\"", "status=\"200\""]),
        5,
        "{metrics}"
    );
    assert_eq!(
        requests_counted(&metrics, &["route=\"/healthz\"", "status=\"200\""]),
        3,
        "{metrics}"
    );
    assert_eq!(
        requests_counted(&metrics, &["route=\"unmatched\"", "status=\"404\""]),
        1,
        "the public /metrics is an unknown page: {metrics}"
    );
    assert_eq!(requests_counted(&metrics, &[]), 9, "{metrics}");
    let other = client
        .get(format!("http://{metrics_address}/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "the metrics address serves /metrics alone"
    );
}

/// The cheapest music track and its price in cents.
fn cheapest_track(database: &FreshDatabase) -> (i64, i64) {
    off_the_runtime(|| {
        let store = database.open();
        let music = store.categories().by_slug("music").unwrap().id();
        let product = store
            .products_in(Some(music))
            .unwrap()
            .into_iter()
            .min_by_key(|product| product.price)
            .unwrap();
        (product.id, product.price.cents())
    })
}

/// The database refusing connections and ending every session it had, as a
/// restart does; then taking them again.
fn database_away(database: &FreshDatabase, away: bool) {
    let server = std::env::var(storecredit::store::test_postgres::SERVER_VARIABLE).unwrap();
    let url = database.arg();
    let name = url.rsplit('/').next().unwrap().to_owned();
    off_the_runtime(move || {
        let mut client = postgres::Client::connect(&server, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {}", !away))
            .unwrap();
        if away {
            client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&name],
                )
                .unwrap();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgresql_going_away_under_load_costs_503s_never_a_confirmed_order_or_a_server() {
    let Some(database) = postgres_database() else {
        return;
    };
    let mut servers = three_servers(&database, &[]);
    let (product, price) = cheapest_track(&database);
    add_shoppers(&database, "steady", 1, 100_000 * price);
    let session = sign_in(&servers[0].url, "steady0@example.com", PASSWORD).await;
    let client = bare_client();
    let urls: Vec<String> = servers.iter().map(|server| server.url.clone()).collect();

    // Orders go on, round-robin over the three, each with its own key; every
    // confirmed one (a 303 to its receipt) is written down.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let shoppers: Vec<_> = (0..6)
        .map(|_| {
            let (client, session, urls) = (client.clone(), session.clone(), urls.clone());
            let (stop, sent) = (stop.clone(), sent.clone());
            tokio::spawn(async move {
                let (mut confirmed, mut statuses) = (Vec::new(), Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let n = sent.fetch_add(1, Ordering::Relaxed);
                    let url = format!("{}/checkout/{product}", urls[n % 3]);
                    let key = format!("steady-order-{n:06}-key");
                    let response = post(&client, &url, &session, &[("idempotency_key", key.as_str())]).await;
                    if response.status() == StatusCode::SEE_OTHER {
                        confirmed.push(response.headers()["location"].to_str().unwrap().to_owned());
                    }
                    statuses.push(response.status());
                }
                (confirmed, statuses)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    database_away(&database, true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    database_away(&database, false);
    // Back by itself within seconds, on every server.
    let deadline = Instant::now() + Duration::from_secs(20);
    for url in &urls {
        while get(&client, &format!("{url}/balance"), &session).await.status() != StatusCode::OK {
            assert!(Instant::now() < deadline, "{url} did not come back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut confirmed = Vec::new();
    let mut statuses = Vec::new();
    for shopper in futures::future::join_all(shoppers).await {
        let (mut placed, mut answered) = shopper.unwrap();
        confirmed.append(&mut placed);
        statuses.append(&mut answered);
    }

    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::SERVICE_UNAVAILABLE),
        "every order was placed or answered 503: {:?}",
        statuses
            .iter()
            .filter(|s| **s != StatusCode::SEE_OTHER)
            .collect::<Vec<_>>()
    );
    assert!(
        statuses.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "the outage was felt"
    );
    assert!(!confirmed.is_empty());
    for server in &mut servers {
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "{} is still running",
            server.url
        );
    }
    // Every order a shopper was told about is there.
    let ids: Vec<i64> = confirmed
        .iter()
        .map(|location| {
            let id = location.trim_start_matches("/orders/");
            let id = id.split(['?', '/']).next().unwrap();
            id.parse()
                .unwrap_or_else(|_| panic!("a receipt's address: {location}"))
        })
        .collect();
    let missing: Vec<i64> = off_the_runtime(|| {
        let store = database.open();
        ids.iter()
            .copied()
            .filter(|id| store.order_details(*id).unwrap().is_none())
            .collect()
    });
    assert!(missing.is_empty(), "confirmed orders lost: {missing:?}");
    let verdict = operator(&database, &["ledger", "verify"]);
    assert!(verdict.starts_with("ledger ok"), "{verdict}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_sharing_one_media_folder_make_each_demo_file_once_whole_and_any_serves_a_link_another_made()
{
    let Some(database) = postgres_database() else {
        return;
    };
    let servers = three_servers(&database, &[]);
    let media = storecredit::media::MediaDir::new(database.folder().join("media"));
    let files = off_the_runtime(|| database.open().demo_product_files()).unwrap();
    assert!(!files.is_empty());
    for file in &files {
        let path = media
            .resolve(&file.media_file)
            .unwrap_or_else(|| panic!("{} is in the shared folder", file.media_file));
        let made = storecredit::media::demo::DemoProduct::from(&file.product)
            .file()
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(path).unwrap(), made, "{} is whole", file.media_file);
    }
    let leftovers: Vec<_> = walk(media.root())
        .into_iter()
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with('.') || name.ends_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left: {leftovers:?}");

    // The demo's past track: its link made by the first server downloads on the third.
    let session = sign_in(&servers[0].url, support::DEMO_EMAIL, support::DEMO_PASSWORD).await;
    let client = bare_client();
    let library = get(&client, &format!("{}/library", servers[0].url), &session)
        .await
        .text()
        .await
        .unwrap();
    let start =
        library.find("data-download href=\"").expect("a download link") + "data-download href=\"".len();
    let link = library[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let here = get(&client, &format!("{}{link}", servers[0].url), &session).await;
    assert_eq!(here.status(), StatusCode::OK, "{link} on the server that made it");
    let download = get(&client, &format!("{}{link}", servers[2].url), &session).await;
    assert_eq!(download.status(), StatusCode::OK, "{link} on another");
    assert!(!download.bytes().await.unwrap().is_empty());
}

/// Every file under `folder`, however deep.
fn walk(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
