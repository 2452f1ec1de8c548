//! Redeeming codes into credit, gift cards and saved discounts (SPEC §2).

use reqwest::StatusCode;
use storecredit::domain::{CodeGrant, CreditKind, CreditSource, LastDay, Money, PromoCode, UserId};
use storecredit::store::codes::NewCode;
use storecredit::store::credits::NewCredit;
use time::Duration;
use time::macros::datetime;

use crate::helpers::*;

#[actix_web::test]
async fn signed_out_redeem_redirects_to_signin() {
    let Some(app) = spawn_app().await else { return };
    let response = app.get("/redeem").await;
    assert_eq!(location(&response), "/signin?return_to=%2Fredeem");
}

#[actix_web::test]
async fn a_credit_code_shows_in_each_of_its_balances() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let response = ann.redeem("  music-kindle-10 ").await;
    let page = ann.follow(&response).await;
    assert!(
        page.contains("$10.00 of credit for Digital Music and Kindle"),
        "{page}"
    );
    let popup = ann.popup().await;
    let amounts: Vec<&str> = popup.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(amounts, ["$10.00", "$10.00", "$0.00", "$0.00", "$0.00"]);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_gift_card_code_shows_on_the_gift_card_line_only() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    ann.redeem("GIFT-20").await;
    let amounts: Vec<String> = ann.popup().await.into_iter().map(|(_, a)| a).collect();
    assert_eq!(amounts, ["$0.00", "$0.00", "$0.00", "$20.00", "$0.00"]);
}

#[actix_web::test]
async fn a_discount_code_is_saved_but_never_shown_as_a_balance() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let page = ann.follow(&ann.redeem("album-20-off").await).await;
    assert!(page.contains("saved to your account"));
    assert!(ann.popup().await.iter().all(|(_, amount)| amount == "$0.00"));
    let discounts = ann.get_html("/account/discounts").await;
    assert!(discounts.contains("20% off one Digital Music purchase"));
    assert!(discounts.contains("ready to use"));
}

#[actix_web::test]
async fn a_code_is_redeemed_once_per_account() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    assert_eq!(ann.redeem("VIDEO-5").await.status(), StatusCode::SEE_OTHER);
    let again = ann.redeem("video-5").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("already redeemed"));
    assert_eq!(ann.balance("video").await, "$5.00");
    // Another account may still redeem it.
    let bo = app.new_shopper("bo@example.com").await;
    assert_eq!(bo.redeem("VIDEO-5").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn unknown_and_malformed_codes_are_refused_clearly() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    for (code, message) in [
        ("NO-SUCH-CODE", "recognise that code"),
        ("x", "letters, digits and dashes"),
        ("GIFT 20", "letters, digits and dashes"),
        ("'; DROP TABLE codes; --", "letters, digits and dashes"),
        ("<script>alert(1)</script>", "letters, digits and dashes"),
    ] {
        let response = ann.redeem(code).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{code}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{code}: {html}");
        assert!(!html.contains("<script>alert"), "escaped: {code}");
    }
    assert!(
        app.with_store(|store| store.list_codes())
            .unwrap()
            .iter()
            .all(|code| code.redemptions == 0)
    );
}

#[actix_web::test]
async fn redeeming_without_a_csrf_token_is_forbidden_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let response = ann.post_form("/redeem", &[("code", "GIFT-20")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(ann.balance("gift-card").await, "$0.00");
}

#[actix_web::test]
async fn a_code_past_its_deadline_is_refused() {
    let Some(app) = spawn_app_with(|settings| {
        settings.session_lifetime.idle = Duration::days(365);
        settings.session_lifetime.absolute = Duration::days(365);
    })
    .await
    else {
        return;
    };
    app.with_store(|store| {
        store.create_code(
            &storecredit::domain::Actor::command(),
            &NewCode {
                code: PromoCode::parse("SUMMER-5").unwrap(),
                description: "$5.00 summer credit".into(),
                grant: CodeGrant::Credit {
                    amount: Money::from_cents(500),
                    categories: store.categories().parse_list("music").unwrap(),
                    valid_for: None,
                },
                redeem_by: Some(app.clock.now() + Duration::days(1)),
                max_redemptions: None,
            },
            app.clock.now(),
        )
    })
    .unwrap();
    let ann = app.new_shopper("ann@example.com").await;
    app.clock.advance(Duration::days(2));
    let response = ann.redeem("SUMMER-5").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("could only be redeemed until")
    );
}

#[actix_web::test]
async fn a_credit_from_a_code_expires_after_its_validity() {
    let Some(app) = spawn_app_with(|settings| {
        settings.session_lifetime.idle = Duration::days(365);
        settings.session_lifetime.absolute = Duration::days(365);
    })
    .await
    else {
        return;
    };
    let ann = app.new_shopper("ann@example.com").await;
    ann.redeem("MUSIC-KINDLE-10").await;
    app.clock.advance(Duration::days(61));
    assert_eq!(ann.balance("kindle").await, "$0.00");
    let activity = ann.get_html("/account/credit").await;
    assert!(activity.contains("Expired"), "an expired credit stays visible");
    assert!(activity.contains("$10.00 credit for Digital Music and Kindle"));
}

#[actix_web::test]
async fn a_capped_code_stops_at_its_cap() {
    let Some(app) = spawn_app().await else { return };
    app.with_store(|store| {
        store.create_code(
            &storecredit::domain::Actor::command(),
            &NewCode {
                code: PromoCode::parse("FIRST-ONE").unwrap(),
                description: "$1.00 gift card".into(),
                grant: CodeGrant::GiftCard {
                    amount: Money::from_cents(100),
                },
                redeem_by: None,
                max_redemptions: Some(1),
            },
            app.clock.now(),
        )
    })
    .unwrap();
    let ann = app.new_shopper("ann@example.com").await;
    let bo = app.new_shopper("bo@example.com").await;
    assert_eq!(ann.redeem("FIRST-ONE").await.status(), StatusCode::SEE_OTHER);
    let late = bo.redeem("FIRST-ONE").await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(late.text().await.unwrap().contains("fully claimed"));
}

#[actix_web::test]
async fn the_activity_page_lists_every_credit_with_its_ledger() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let html = app.get_html("/account/credit").await;
    assert_eq!(html.matches("data-credit-id=").count(), 4);
    assert!(html.contains("Digital Music and Kindle"));
    assert!(html.contains("Spent on order"));
    assert!(html.contains("\u{2212}$0.99"));
    assert!(html.contains("$4.01"));
}

/// Moves the app's clock to `instant`.
fn set_clock(app: &TestApp, instant: time::OffsetDateTime) {
    app.clock.advance(instant - app.clock.now());
}

#[actix_web::test]
async fn a_credit_granted_until_a_day_shows_that_day_as_its_expiry() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let demo = app
        .with_store(|store| store.user_id_by_email(&storecredit::domain::Email::parse(DEMO_EMAIL).unwrap()))
        .unwrap()
        .unwrap();
    let last_day = LastDay::parse("2031-01-31").unwrap();
    grant(
        &app,
        demo,
        "Credit until the end of January",
        Some(last_day.ends_at()),
    );

    let activity = app.get_html("/account/credit").await;
    assert!(activity.contains("January 31, 2031"), "{activity}");
    assert!(!activity.contains("February 1, 2031"), "{activity}");
}

fn grant(app: &TestApp, user: UserId, description: &str, expires_at: Option<time::OffsetDateTime>) {
    app.with_store(|store| {
        store.grant_credit(
            &storecredit::domain::Actor::command(),
            user,
            &NewCredit {
                kind: CreditKind::Promotional(store.categories().parse_list("music").unwrap()),
                source: CreditSource::Grant,
                description: description.into(),
                amount: Money::from_cents(500),
                expires_at,
                code_redemption_id: None,
            },
            &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
            app.clock.now(),
        )
    })
    .unwrap();
}

#[actix_web::test]
async fn a_code_redeemable_by_a_day_works_all_that_day_and_names_it_when_refused() {
    let Some(app) = spawn_app().await else { return };
    app.with_store(|store| {
        store.create_code(
            &storecredit::domain::Actor::command(),
            &NewCode {
                code: PromoCode::parse("JANUARY-5").unwrap(),
                description: "$5.00 January gift card".into(),
                grant: CodeGrant::GiftCard {
                    amount: Money::from_cents(500),
                },
                redeem_by: Some(LastDay::parse("2031-01-31").unwrap().ends_at()),
                max_redemptions: None,
            },
            app.clock.now(),
        )
    })
    .unwrap();

    set_clock(&app, datetime!(2031-01-31 23:59 UTC));
    let ann = app.new_shopper("ann@example.com").await;
    assert_eq!(ann.redeem("JANUARY-5").await.status(), StatusCode::SEE_OTHER);

    set_clock(&app, datetime!(2031-02-01 0:01 UTC));
    let bo = app.new_shopper("bo@example.com").await;
    let late = bo.redeem("JANUARY-5").await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    let html = late.text().await.unwrap();
    assert!(
        html.contains("could only be redeemed until January 31, 2031"),
        "{html}"
    );
}

#[actix_web::test]
async fn a_credit_valid_for_days_names_its_last_day_and_lasts_all_of_it() {
    let Some(app) = spawn_app_with(|settings| {
        settings.session_lifetime.idle = Duration::days(365);
        settings.session_lifetime.absolute = Duration::days(365);
    })
    .await
    else {
        return;
    };
    set_clock(&app, datetime!(2030-01-01 13:00 UTC));
    let ann = app.new_shopper("ann@example.com").await;
    // MUSIC-KINDLE-10 is valid 60 days: through March 2, 2030.
    let confirmation = ann.follow(&ann.redeem("MUSIC-KINDLE-10").await).await;
    assert!(confirmation.contains("to use by March 2, 2030"), "{confirmation}");
    assert!(ann.get_html("/account/credit").await.contains("March 2, 2030"));

    set_clock(&app, datetime!(2030-03-02 23:59 UTC));
    assert_eq!(ann.balance("kindle").await, "$10.00");
    set_clock(&app, datetime!(2030-03-03 0:00:01 UTC));
    assert_eq!(ann.balance("kindle").await, "$0.00");
}
