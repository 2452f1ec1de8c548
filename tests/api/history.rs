//! Long histories (SPEC §7): `/orders` and `/account/credit` show 20 entries a page,
//! newest first, with a `rel="next"` link to older ones, and a page costs the same
//! whatever the history's length.

use reqwest::StatusCode;
use rusqlite::params;

use crate::helpers::*;

/// Gives `email` (a new account) `orders` orders of a $0.99 track, each paid with $0.01
/// of one gift card and the rest by card, written straight into the database.
fn with_history(app: &TestApp, email: &str, orders: i64) {
    app.create_account(email, "Long History");
    let mut db = rusqlite::Connection::open(&app.database).unwrap();
    let tx = db.transaction().unwrap();
    let user: i64 = tx
        .query_row("SELECT id FROM users WHERE email = ?1", [email], |row| row.get(0))
        .unwrap();
    let product: i64 = tx
        .query_row(
            "SELECT id FROM products WHERE price_cents = 99 LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let now = app.clock.now().unix_timestamp();
    tx.execute(
        "INSERT INTO credits (user_id, kind, source, description, original_cents,
                              remaining_cents, created_at)
         VALUES (?1, 'gift_card', 'grant', 'A big gift card', 100000, ?2, ?3)",
        params![user, 100_000 - orders, now],
    )
    .unwrap();
    let credit = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO credit_events (credit_id, kind, amount_cents, created_at) VALUES (?1, 'grant', 100000, ?2)",
        params![credit, now],
    )
    .unwrap();
    for n in 0..orders {
        tx.execute(
            "INSERT INTO orders (user_id, product_id, idempotency_key, price_cents, gift_card_cents,
                                 card_cents, card_label, placed_at)
             VALUES (?1, ?2, ?3, 99, 1, 98, 'Visa ending in 4242', ?4)",
            params![user, product, format!("history-key-{n:08}"), now + n],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO credit_events (credit_id, kind, amount_cents, order_id, created_at)
             VALUES (?1, 'spend', -1, ?2, ?3)",
            params![credit, tx.last_insert_rowid(), now + n],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The `href` of the page's `rel="next"` link, if any.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    Some(html[at..at + html[at..].find('"')?].to_owned())
}

fn order_links(html: &str) -> Vec<i64> {
    html.match_indices("<a href=\"/orders/")
        .map(|(at, marker)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

#[actix_web::test]
async fn orders_come_twenty_a_page_newest_first_with_a_link_to_older_ones() {
    let app = spawn_app().await;
    with_history(&app, "long@example.com", 45);
    let shopper = app.new_browser();
    shopper.sign_in("long@example.com", ACCOUNT_PASSWORD, "/").await;

    let mut seen = Vec::new();
    let mut path = Some("/orders".to_owned());
    let mut pages = 0;
    while let Some(here) = path {
        let html = shopper.get_html(&here).await;
        let ids = order_links(&html);
        assert!(ids.len() <= 20, "{here}: {} orders", ids.len());
        seen.extend(ids);
        path = next_link(&html);
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 45);
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first, no repeats"
    );
}

#[actix_web::test]
async fn a_page_of_history_costs_the_same_at_twenty_one_and_at_two_thousand_orders() {
    let app = spawn_app().await;
    with_history(&app, "short@example.com", 21);
    with_history(&app, "long@example.com", 2_000);
    let short = app.new_browser();
    short.sign_in("short@example.com", ACCOUNT_PASSWORD, "/").await;
    let long = app.new_browser();
    long.sign_in("long@example.com", ACCOUNT_PASSWORD, "/").await;
    for path in ["/orders", "/account/credit"] {
        let (a, b) = (short.get_html(path).await, long.get_html(path).await);
        // The same entries but for their ids and dates: within 2 % of each other.
        let (a, b) = (a.len() as f64, b.len() as f64);
        assert!(
            (a - b).abs() / a < 0.02,
            "{path}: {a} bytes at 21 orders, {b} at 2,000"
        );
    }
    let credit = long.get_html("/account/credit").await;
    assert!(credit.contains("Earlier entries are not shown"));
}

#[actix_web::test]
async fn a_cursor_that_is_not_a_number_is_a_styled_400() {
    let app = spawn_app().await;
    app.sign_in_as_demo().await;
    for path in ["/orders?before=abc", "/account/credit?before=1e9"] {
        assert_eq!(app.get(path).await.status(), StatusCode::BAD_REQUEST, "{path}");
    }
}
