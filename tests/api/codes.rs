//! Redeeming codes into credit, gift cards and saved discounts (SPEC §2).

use reqwest::StatusCode;
use storecredit::domain::{CategorySet, CodeGrant, Money, PromoCode};
use storecredit::store::codes::NewCode;
use time::Duration;

use crate::helpers::*;

#[actix_web::test]
async fn signed_out_redeem_redirects_to_signin() {
    let app = spawn_app().await;
    let response = app.get("/redeem").await;
    assert_eq!(location(&response), "/signin?return_to=%2Fredeem");
}

#[actix_web::test]
async fn a_credit_code_shows_in_each_of_its_balances() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
    let ann = app.new_shopper("ann@example.com").await;
    ann.redeem("GIFT-20").await;
    let amounts: Vec<String> = ann.popup().await.into_iter().map(|(_, a)| a).collect();
    assert_eq!(amounts, ["$0.00", "$0.00", "$0.00", "$20.00", "$0.00"]);
}

#[actix_web::test]
async fn a_discount_code_is_saved_but_never_shown_as_a_balance() {
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
    let app = spawn_app().await;
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
        app.store()
            .list_codes()
            .unwrap()
            .iter()
            .all(|code| code.redemptions == 0)
    );
}

#[actix_web::test]
async fn redeeming_without_a_csrf_token_is_forbidden_and_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.new_shopper("ann@example.com").await;
    let response = ann.post_form("/redeem", &[("code", "GIFT-20")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(ann.balance("gift-card").await, "$0.00");
}

#[actix_web::test]
async fn a_code_past_its_deadline_is_refused() {
    let app = spawn_app_with(|settings| {
        settings.session_lifetime.idle = Duration::days(365);
        settings.session_lifetime.absolute = Duration::days(365);
    })
    .await;
    app.store()
        .create_code(
            &NewCode {
                code: PromoCode::parse("SUMMER-5").unwrap(),
                description: "$5.00 summer credit".into(),
                grant: CodeGrant::Credit {
                    amount: Money::from_cents(500),
                    categories: CategorySet::parse_list("music").unwrap(),
                    valid_for: None,
                },
                redeem_by: Some(app.clock.now() + Duration::days(1)),
                max_redemptions: None,
            },
            app.clock.now(),
        )
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
    let app = spawn_app_with(|settings| {
        settings.session_lifetime.idle = Duration::days(365);
        settings.session_lifetime.absolute = Duration::days(365);
    })
    .await;
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
    let app = spawn_app().await;
    app.store()
        .create_code(
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
    let app = spawn_app().await;
    app.sign_in_as_demo().await;
    let html = app.get_html("/account/credit").await;
    assert_eq!(html.matches("data-credit-id=").count(), 4);
    assert!(html.contains("Digital Music and Kindle"));
    assert!(html.contains("Spent on order"));
    assert!(html.contains("\u{2212}$0.99"));
    assert!(html.contains("$4.01"));
}
