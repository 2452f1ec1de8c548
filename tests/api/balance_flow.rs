//! SPEC §1: the "check your Digital Music credit balance" flow, step by step.

use reqwest::StatusCode;
use storecredit::domain::{CreditKind, CreditSource, Email, Money};
use storecredit::store::Store;
use storecredit::store::credits::NewCredit;
use time::Duration;

use crate::helpers::*;

#[actix_web::test]
async fn the_help_page_explains_and_offers_check_your_balance() {
    let Some(app) = spawn_app().await else { return };
    let html = app.get_html(HELP_PATH).await;
    assert!(html.contains("How to Check Your Account for Digital Music Credit"));
    assert!(html.contains("id=\"check-balance\""));
    assert!(html.contains(">Check Your Balance</a>"));
}

#[actix_web::test]
async fn signed_out_check_balance_leads_to_the_signin_form_returning_to_help() {
    let Some(app) = spawn_app().await else { return };
    let help = app.get_html(HELP_PATH).await;
    let control = &help[help.find("id=\"check-balance\"").unwrap()..];
    assert!(
        control.contains("href=\"/signin?return_to=%2Fhelp%2Fdigital-music-credit\""),
        "{control}"
    );

    let form = app
        .get_html("/signin?return_to=%2Fhelp%2Fdigital-music-credit")
        .await;
    assert_eq!(form_field(&form, "return_to").as_deref(), Some(HELP_PATH));
    assert!(form_field(&form, "csrf_token").is_some_and(|token| token.len() >= 32));
    assert!(form.contains("name=\"email\""));
    assert!(form.contains("name=\"password\""));
    assert!(form.contains("Sign In Using Our Secure Server"));
}

#[actix_web::test]
async fn signing_in_returns_to_the_help_page_greeted_by_name() {
    let Some(app) = spawn_app().await else { return };
    let response = app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, HELP_PATH).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), HELP_PATH);

    let help = app.get_html(HELP_PATH).await;
    assert!(help.contains("Hello, Demo Shopper"));
    assert!(!help.contains("Hello, sign in"));
    let control = &help[help.find("id=\"check-balance\"").unwrap()..];
    let tag = &control[..control.find('>').unwrap()];
    assert!(tag.contains("href=\"/balance\""), "{tag}");
    assert!(
        tag.contains("target=\"_blank\""),
        "works without JavaScript: {tag}"
    );
    assert!(
        tag.contains("data-popup-window="),
        "the script opens a pop-up: {tag}"
    );
}

#[actix_web::test]
async fn the_popup_lists_the_demo_accounts_five_balances_in_order() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let response = app.get("/balance").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("<title>Your Account Balances</title>"));
    assert_eq!(balances(&html), demo_balances());
    assert!(html.contains("Close window"));
    assert!(html.contains("href=\"/account/credit\""));
}

#[actix_web::test]
async fn the_popup_never_lists_discounts() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let html = app.get_html("/balance").await;
    assert!(!html.contains("20%"));
    assert!(!html.to_lowercase().contains("discount"));
}

#[actix_web::test]
async fn the_popup_has_no_inline_script_or_style() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    for path in ["/balance", HELP_PATH, "/"] {
        let html = app.get_html(path).await;
        assert!(!html.contains("<script>"), "{path}");
        assert!(!html.contains("<style"), "{path}");
        assert!(!html.contains("onclick"), "{path}");
        assert!(!html.contains("style=\""), "{path}");
    }
}

#[actix_web::test]
async fn signed_out_balance_redirects_to_signin_with_return_to() {
    let Some(app) = spawn_app().await else { return };
    let response = app.get("/balance").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signin?return_to=%2Fbalance");
}

#[actix_web::test]
async fn signing_in_from_the_balance_redirect_lands_on_the_popup() {
    let Some(app) = spawn_app().await else { return };
    let response = app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/balance").await;
    assert_eq!(location(&response), "/balance");
    assert_eq!(balances(&app.get_html("/balance").await), demo_balances());
}

fn grant(store: &Store, email: &str, kind: CreditKind, cents: i64, now: time::OffsetDateTime) {
    let user = store
        .user_id_by_email(&Email::parse(email).unwrap())
        .unwrap()
        .unwrap();
    let credit = NewCredit {
        kind,
        source: CreditSource::Grant,
        description: "test grant".into(),
        amount: Money::from_cents(cents),
        expires_at: None,
        code_redemption_id: None,
    };
    store
        .grant_credit(
            &storecredit::domain::Actor::command(),
            user,
            &credit,
            &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
            now,
        )
        .unwrap();
}

#[actix_web::test]
async fn each_shopper_sees_only_their_own_balances() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("ann@example.com", "Ann");
    app.with_store(|store| {
        grant(
            store,
            "ann@example.com",
            CreditKind::Promotional(store.categories().parse_list("software").unwrap()),
            1234,
            app.clock.now(),
        )
    });

    let response = app.sign_in("ann@example.com", ACCOUNT_PASSWORD, "/balance").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let shown = balances(&app.get_html("/balance").await);
    let amounts: Vec<&str> = shown.iter().map(|(_, amount)| amount.as_str()).collect();
    assert_eq!(amounts, ["$0.00", "$0.00", "$0.00", "$0.00", "$12.34"]);
}

#[actix_web::test]
async fn new_credit_shows_on_the_next_look_at_the_popup() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    // A look before: the worker's read snapshot is open when the operator grants.
    let before = app.get_html("/balance").await;
    assert_eq!(
        text_of(&before, "data-balance", "gift-card").as_deref(),
        Some("$25.00")
    );
    app.with_store(|store| grant(store, DEMO_EMAIL, CreditKind::GiftCard, 1000, app.clock.now()));
    let html = app.get_html("/balance").await;
    assert_eq!(
        text_of(&html, "data-balance", "gift-card").as_deref(),
        Some("$35.00")
    );
}

#[actix_web::test]
async fn expired_credit_drops_out_of_the_popup() {
    let Some(app) = spawn_app_with(|settings| {
        // Keep the session alive across the jump in time.
        settings.session_lifetime.idle = Duration::days(365);
        settings.session_lifetime.absolute = Duration::days(365);
    })
    .await
    else {
        return;
    };
    app.sign_in_as_demo().await;
    app.clock.advance(Duration::days(31)); // the $5.00 music credit lapses at 30 days
    let html = app.get_html("/balance").await;
    assert_eq!(text_of(&html, "data-balance", "music").as_deref(), Some("$10.00"));
    assert_eq!(
        text_of(&html, "data-balance", "kindle").as_deref(),
        Some("$10.00")
    );
    app.clock.advance(Duration::days(60)); // and the shared $10.00 one at 90
    let html = app.get_html("/balance").await;
    assert_eq!(text_of(&html, "data-balance", "music").as_deref(), Some("$0.00"));
    assert_eq!(text_of(&html, "data-balance", "video").as_deref(), Some("$3.50"));
}

#[actix_web::test]
async fn the_popup_points_out_credit_ending_within_thirty_days_under_each_balance_it_counts_in() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("ann@example.com", "Ann");
    let now = app.clock.now();
    app.with_store(|store| {
        let user = store
            .user_id_by_email(&Email::parse("ann@example.com").unwrap())
            .unwrap()
            .unwrap();
        let ends = |day: &str| storecredit::domain::LastDay::parse(day).unwrap().ends_at();
        let mut soon = NewCredit {
            kind: CreditKind::Promotional(store.categories().parse_list("music,kindle").unwrap()),
            source: CreditSource::Grant,
            description: "ends soon".into(),
            amount: Money::from_cents(250),
            expires_at: Some(ends(&(now + time::Duration::days(3)).date().to_string())),
            code_redemption_id: None,
        };
        store
            .grant_credit(
                &storecredit::domain::Actor::command(),
                user,
                &soon,
                &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
                now,
            )
            .unwrap();
        soon.kind = CreditKind::Promotional(store.categories().parse_list("video").unwrap());
        soon.expires_at = Some(ends(&(now + time::Duration::days(60)).date().to_string()));
        store
            .grant_credit(
                &storecredit::domain::Actor::command(),
                user,
                &soon,
                &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
                now,
            )
            .unwrap();
        grant(store, "ann@example.com", CreditKind::GiftCard, 4500, now);
    });

    let ann = app.new_browser();
    ann.sign_in("ann@example.com", ACCOUNT_PASSWORD, "/").await;
    let popup = ann.get_html("/balance").await;
    let last_day = storecredit::domain::format_date(now + time::Duration::days(3));
    let expected = format!("$2.50 expires {last_day}");
    assert_eq!(text_of(&popup, "data-expiring", "music"), Some(expected.clone()));
    assert_eq!(text_of(&popup, "data-expiring", "kindle"), Some(expected));
    assert_eq!(text_of(&popup, "data-expiring", "video"), None, "60 days away");
    assert_eq!(text_of(&popup, "data-balance", "music").as_deref(), Some("$2.50"));
    assert_eq!(
        text_of(&popup, "data-balance", "gift-card").as_deref(),
        Some("$45.00")
    );
    assert!(popup.contains("Gift cards pay for anything"));
    assert!(
        popup.contains("href=\"/\" data-tab-only"),
        "a way back when opened as a tab"
    );
}
