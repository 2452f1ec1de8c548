//! Attacks and bad input (SPEC §4): guessing, cross-site posts, odd requests.

use reqwest::StatusCode;
use storecredit::store::throttle::ThrottleRule;
use time::Duration;

use crate::helpers::*;

async fn wrong_password(browser: &Browser, email: &str) -> reqwest::Response {
    browser.sign_in(email, "not-the-password", "/").await
}

#[actix_web::test]
async fn repeated_failures_on_an_account_are_throttled_with_retry_after() {
    let Some(app) = spawn_app().await else { return };
    for _ in 0..5 {
        assert_eq!(
            wrong_password(&app, DEMO_EMAIL).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let blocked = wrong_password(&app, DEMO_EMAIL).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = blocked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert!(
        blocked
            .text()
            .await
            .unwrap()
            .contains("Too many sign-in attempts")
    );
    // Even the right password waits, from any browser.
    let elsewhere = app.new_browser().sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(elsewhere.status(), StatusCode::TOO_MANY_REQUESTS);
    // Until the window has passed.
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await.status(),
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn unknown_emails_are_throttled_exactly_like_known_ones() {
    let Some(app) = spawn_app().await else { return };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(wrong_password(&app, DEMO_EMAIL).await.status());
        unknown.push(wrong_password(&app, "nobody@example.com").await.status());
    }
    assert_eq!(known, unknown);
    assert_eq!(known.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}

#[actix_web::test]
async fn a_successful_sign_in_clears_the_accounts_failures() {
    let Some(app) = spawn_app().await else { return };
    for _ in 0..4 {
        wrong_password(&app, DEMO_EMAIL).await;
    }
    assert_eq!(
        app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await.status(),
        StatusCode::SEE_OTHER
    );
    for _ in 0..4 {
        assert_eq!(
            wrong_password(&app, DEMO_EMAIL).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[actix_web::test]
async fn one_address_guessing_across_accounts_is_throttled() {
    let Some(app) = spawn_app_with(|settings| {
        settings.throttle.signin_per_address = ThrottleRule {
            max_attempts: 8,
            window: Duration::minutes(15),
        };
    })
    .await
    else {
        return;
    };
    for i in 0..8 {
        let status = wrong_password(&app, &format!("user{i}@example.com"))
            .await
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{i}");
    }
    let sprayed = wrong_password(&app, "user99@example.com").await;
    assert_eq!(sprayed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn the_throttle_survives_a_restart() {
    let Some(app) = spawn_app().await else { return };
    for _ in 0..5 {
        wrong_password(&app, DEMO_EMAIL).await;
    }
    // A second server on the same database file, as after a restart.
    let Some(restarted) = spawn_app_with(|settings| settings.database = app.database.clone()).await else {
        return;
    };
    let response = restarted.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn forwarded_for_is_believed_only_from_the_trusted_proxy() {
    let rule = ThrottleRule {
        max_attempts: 3,
        window: Duration::minutes(15),
    };
    // Untrusted: rotating X-Forwarded-For does not escape the per-address count.
    let Some(app) = spawn_app_with(|settings| settings.throttle.signin_per_address = rule).await else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(wrong_sign_in_forwarded_for(&app, i).await);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );

    // Trusted proxy: each forwarded client is counted on its own.
    let Some(proxied) = spawn_app_with(|settings| {
        settings.throttle.signin_per_address = rule;
        settings.trusted_proxy = Some("127.0.0.1".parse().unwrap());
    })
    .await
    else {
        return;
    };
    for i in 0..4 {
        assert_eq!(
            wrong_sign_in_forwarded_for(&proxied, i).await,
            StatusCode::UNAUTHORIZED,
            "{i}"
        );
    }
}

/// A wrong password for account `u{i}@…`, claiming to come from client 198.51.100.{i}.
async fn wrong_sign_in_forwarded_for(app: &TestApp, i: u8) -> StatusCode {
    let token = app.csrf_token("/signin").await;
    let email = format!("u{i}@example.com");
    app.client
        .post(app.url("/signin"))
        .header("x-forwarded-for", format!("198.51.100.{i}"))
        .form(&[
            ("email", email.as_str()),
            ("password", "wrong-password"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[actix_web::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_token() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let token = app.csrf_token("/redeem").await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = app
            .client
            .post(app.url("/redeem"))
            .header(name, value)
            .form(&[("code", "GIFT-20"), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(response.headers().contains_key("content-security-policy"));
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<h1") && html.contains("This form has expired"),
            "{name}: {html}"
        );
    }
    assert_eq!(app.balance("gift-card").await, "$25.00");
    // The same form from this site goes through.
    let same_site = app
        .client
        .post(app.url("/redeem"))
        .header("origin", app.address.as_str())
        .header("sec-fetch-site", "same-origin")
        .form(&[("code", "GIFT-20"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn no_get_changes_state() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    for path in [
        "/redeem?code=GIFT-20",
        "/signout",
        "/checkout/1?promo_code=GIFT-20",
        "/account/payment?card_number=4242424242424242",
    ] {
        let status = app.get(path).await.status();
        assert!(
            status.is_success() || status == StatusCode::METHOD_NOT_ALLOWED,
            "{path}: {status}"
        );
    }
    assert_eq!(app.popup().await, demo_balances());
    assert_eq!(
        app.get_html("/account/payment")
            .await
            .matches("Visa ending in 4242")
            .count(),
        1
    );
}

#[actix_web::test]
async fn odd_requests_get_styled_errors_never_a_crash() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let token = app.csrf_token("/redeem").await;
    let cases: Vec<(&str, String, StatusCode)> = vec![
        (
            "/redeem",
            format!("code=%00%01&csrf_token={token}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/redeem",
            format!("code={}&csrf_token={token}", "A".repeat(5000)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/redeem",
            format!("code=%E2%80%AE%F0%9F%92%B0&csrf_token={token}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/redeem",
            format!("code=%ZZ&csrf_token={token}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/checkout/abc",
            format!("idempotency_key=x&csrf_token={token}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/checkout/99999999999999999999",
            format!("csrf_token={token}"),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, body, expected) in cases {
        let response = app
            .client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            expected,
            "{path} {}",
            &body[..body.len().min(40)]
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("<h1"), "styled: {path}");
        let lower = html.to_lowercase();
        assert!(
            !lower.contains("sqlite") && !lower.contains("postgres"),
            "no internals: {path}"
        );
    }
    let odd_get = app.get("/checkout/1?promo_code=%FF%FE").await;
    assert_eq!(odd_get.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.popup().await, demo_balances());
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn every_form_refuses_a_missing_or_wrong_csrf_token() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let book = app.product_id("The Cartographer's Daughter");
    let checkout = format!("/checkout/{book}");
    let forms: [(&str, Vec<(&str, &str)>); 6] = [
        ("/redeem", vec![("code", "GIFT-20")]),
        (&checkout, vec![("idempotency_key", "forged-order-key-0001")]),
        ("/account/payment", vec![("card_number", "5555555555554444")]),
        (
            "/account/password",
            vec![
                ("current_password", DEMO_PASSWORD),
                ("new_password", "copper kettle mountain"),
            ],
        ),
        (
            "/register",
            vec![
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("password", "copper kettle mountain"),
            ],
        ),
        ("/signout", vec![]),
    ];
    for (path, fields) in &forms {
        for token in [None, Some("forged-token")] {
            let mut body = fields.clone();
            if let Some(token) = token {
                body.push(("csrf_token", token));
            }
            let response = app.post_form(path, &body).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} with {token:?}");
        }
    }
    // Nothing changed: same balances, card, password, orders; still signed in.
    assert_eq!(app.popup().await, demo_balances());
    assert!(
        app.get_html("/account/payment")
            .await
            .contains("Visa ending in 4242")
    );
    assert_eq!(
        app.get_html("/orders").await.matches("href=\"/orders/").count(),
        1
    );
    assert!(
        app.with_store(
            |store| store.find_login(&storecredit::domain::Email::parse("eve@example.com").unwrap())
        )
        .unwrap()
        .is_none()
    );
    assert_eq!(
        app.new_browser()
            .sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn arbitrary_ids_in_paths_are_404s_never_crashes() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let mut runner = TestRunner::deterministic();
    let ids = proptest::string::string_regex("\\PC{1,24}").unwrap();
    for _ in 0..60 {
        let id = ids.new_tree(&mut runner).unwrap().current();
        let encoded =
            percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC).to_string();
        for prefix in ["/products/", "/orders/", "/checkout/", "/store/"] {
            let status = app.get(&format!("{prefix}{encoded}")).await.status();
            assert!(
                [StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST].contains(&status),
                "{prefix}{id:?}: {status}"
            );
        }
    }
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}
