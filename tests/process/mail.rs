//! Mail that is never lost, with real server processes (SPEC §9): a server
//! killed between an order and its sending loses no message, and three servers
//! on one PostgreSQL send each of 300 messages once.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use storecredit::domain::{Actor, AdjustmentReason, CreditKind, CreditSource, DisplayName, Email, Money};
use storecredit::store::credits::NewCredit;
use storecredit::store::outbox::MailState;

use super::server::{PASSWORD, Server, field, page};
use crate::support::{self, Engine, FreshDatabase, off_the_runtime};

/// The `.eml` files in the database's mail folder, by outbox number: how many
/// files each message became.
fn sent_per_message(database: &FreshDatabase) -> BTreeMap<i64, usize> {
    let mut sent = BTreeMap::new();
    for entry in std::fs::read_dir(database.folder().join("mail"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(number) = name.strip_suffix(".eml").and_then(|name| name.split('-').next()) {
            *sent.entry(number.parse().unwrap()).or_insert(0) += 1;
        }
    }
    sent
}

/// Waits up to a minute until `count` messages have a file.
async fn until_sent(database: &FreshDatabase, count: usize) -> BTreeMap<i64, usize> {
    let started = Instant::now();
    loop {
        let sent = sent_per_message(database);
        if sent.len() >= count || started.elapsed() > Duration::from_secs(60) {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every message of the outbox: (number, kind, sent).
fn outbox(database: &FreshDatabase) -> Vec<(i64, String, bool)> {
    off_the_runtime(|| {
        let store = database.open();
        store
            .mail_page(false, None, 10_000)
            .unwrap()
            .entries
            .into_iter()
            .map(|mail| (mail.id, mail.kind, matches!(mail.state, MailState::Sent(_))))
            .collect()
    })
}

fn seeded(database: &FreshDatabase) {
    off_the_runtime(|| {
        let hash = storecredit::auth::password::hash_now(support::DEMO_PASSWORD).unwrap();
        database
            .open()
            .seed_demo_if_empty(&hash, time::OffsetDateTime::now_utc())
            .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_after_an_order_and_before_sending_sends_the_receipt_once_when_restarted() {
    let Some(database) = FreshDatabase::new(crate::ENGINE) else {
        return;
    };
    seeded(&database);
    // This server only queues: it is killed with its receipt unsent.
    let mut server = Server::start_with(&database, &["--no-mail-sender"]);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = server.url.clone();
    let token = field(&page(&browser, &format!("{url}/signin")).await, "csrf_token");
    let signed_in = browser
        .post(format!("{url}/signin"))
        .form(&[
            ("email", support::DEMO_EMAIL),
            ("password", support::DEMO_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let product = off_the_runtime(|| {
        database
            .open()
            .products_in(None)
            .unwrap()
            .into_iter()
            .find(|product| product.title == "SafeKeep Backup")
            .unwrap()
            .id
    });
    let checkout = page(&browser, &format!("{url}/checkout/{product}")).await;
    let ordered = browser
        .post(format!("{url}/checkout/{product}"))
        .form(&[
            ("csrf_token", field(&checkout, "csrf_token")),
            ("idempotency_key", field(&checkout, "idempotency_key")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ordered.status(), StatusCode::SEE_OTHER);
    // The receipt, and the note of a sign-in from a new browser: both queued,
    // neither sent.
    let queued = outbox(&database);
    let mut kinds: Vec<(&str, bool)> = queued
        .iter()
        .map(|(_, kind, sent)| (kind.as_str(), *sent))
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, [("new-device", false), ("receipt", false)], "{queued:?}");

    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    drop(server);
    assert!(
        sent_per_message(&database).is_empty(),
        "nothing was sent before the kill"
    );

    let _restarted = Server::start(&database);
    let sent = until_sent(&database, 2).await;
    // Give a second sender round the chance to send it again, were it to.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent_later = sent_per_message(&database);
    assert_eq!(sent_later, sent);
    let each_once: BTreeMap<i64, usize> = queued.iter().map(|(id, _, _)| (*id, 1)).collect();
    assert_eq!(sent_later, each_once, "each message sent once");
    assert!(
        outbox(&database).iter().all(|(_, _, sent)| *sent),
        "and marked sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_on_one_postgresql_send_each_of_300_messages_once() {
    if crate::ENGINE != Engine::Postgres {
        return;
    }
    let Some(database) = FreshDatabase::new(crate::ENGINE) else {
        return;
    };
    seeded(&database);
    let servers: Vec<Server> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..3).map(|_| scope.spawn(|| Server::start(&database))).collect();
        starting
            .into_iter()
            .map(|server| server.join().unwrap())
            .collect()
    });

    // 300 grants queued while the three servers look for mail every second.
    off_the_runtime(|| {
        let store = database.open();
        let hash = storecredit::auth::password::hash_now(PASSWORD).unwrap();
        let now = time::OffsetDateTime::now_utc();
        for i in 0..300 {
            let user = store
                .create_user(
                    &Email::parse(&format!("mail{i}@example.com")).unwrap(),
                    &DisplayName::parse("Shopper").unwrap(),
                    &hash,
                    now,
                )
                .unwrap();
            let card = NewCredit {
                kind: CreditKind::GiftCard,
                source: CreditSource::Grant,
                description: "A thank-you gift card".into(),
                amount: Money::from_cents(500),
                expires_at: None,
                code_redemption_id: None,
            };
            store
                .grant_credit(
                    &Actor::command(),
                    user,
                    &card,
                    &AdjustmentReason::parse("test").unwrap(),
                    now,
                )
                .unwrap();
        }
    });

    let sent = until_sent(&database, 300).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent_later = sent_per_message(&database);
    assert_eq!(sent_later, sent, "nothing sent again later");
    assert_eq!(sent.len(), 300, "every message was sent");
    let twice: Vec<_> = sent.iter().filter(|(_, files)| **files != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    let outbox = outbox(&database);
    assert_eq!(outbox.len(), 300);
    assert!(outbox.iter().all(|(_, _, sent)| *sent), "each marked sent");
    let by_server: Vec<usize> = servers
        .iter()
        .map(|server| server.log_text().matches("mail sent").count())
        .collect();
    assert_eq!(by_server.iter().sum::<usize>(), 300, "{by_server:?}");
    println!("messages sent by each server: {by_server:?}");
    assert_mail_folder_is(&database.folder().join("mail"), 300);
}

/// The folder holds exactly `count` files, each a whole `.eml` (no temporary
/// file left behind).
fn assert_mail_folder_is(folder: &Path, count: usize) {
    let names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), count, "{names:?}");
    assert!(names.iter().all(|name| name.ends_with(".eml")), "{names:?}");
}
