//! Long histories (SPEC §7): `/orders` and `/account/credit` show 20 entries a page,
//! newest first, with a `rel="next"` link to older ones, and a page costs the same
//! whatever the history's length.

use reqwest::StatusCode;
use storecredit::domain::{CreditKind, CreditSource, Email, Money};
use storecredit::store::credits::NewCredit;
use storecredit::store::orders::Promotion;

use crate::helpers::*;

/// Gives `email` (a new account) `orders` orders of a $0.99 track, each paid from
/// one big gift card, placed through the store (much faster than over HTTP).
fn with_history(app: &TestApp, email: &str, orders: i64) {
    app.create_account(email, "Long History");
    app.with_store(|store| {
        let user = store
            .user_id_by_email(&Email::parse(email).unwrap())
            .unwrap()
            .unwrap();
        let track = store
            .products_in(None)
            .unwrap()
            .into_iter()
            .find(|product| product.price.cents() == 99)
            .expect("a $0.99 track")
            .id;
        let now = app.clock.now();
        let gift_card = NewCredit {
            kind: CreditKind::GiftCard,
            source: CreditSource::Grant,
            description: "A big gift card".into(),
            amount: Money::from_cents(500_000),
            expires_at: None,
            code_redemption_id: None,
        };
        store
            .grant_credit(
                &storecredit::domain::Actor::command(),
                user,
                &gift_card,
                &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
                now,
            )
            .unwrap();
        for n in 0..orders {
            store
                .place_order(user, track, &Promotion::None, &format!("history-key-{n:08}"), now)
                .unwrap();
        }
    });
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
    let Some(app) = spawn_app().await else { return };
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
    let Some(app) = spawn_app().await else { return };
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
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    for path in ["/orders?before=abc", "/account/credit?before=1e9"] {
        assert_eq!(app.get(path).await.status(), StatusCode::BAD_REQUEST, "{path}");
    }
}
