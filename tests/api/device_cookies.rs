//! Being locked out by someone else (SPEC §9, issue 27): a browser that signed in
//! to an account carries a device cookie for it, so strangers' failed sign-ins and
//! reset requests never pause it; a valid reset link always works; a sign-in from
//! a new browser is told to the account's owner by mail.
//!
//! Other client addresses are simulated through a trusted proxy: the app believes
//! `X-Forwarded-For` from 127.0.0.1, and requests without it come from 127.0.0.1.

use futures::future::join_all;
use reqwest::{StatusCode, Url};

use crate::helpers::*;

/// The app behind a trusted proxy on 127.0.0.1, so tests can speak from other
/// addresses.
async fn proxied_app() -> Option<TestApp> {
    spawn_app_with(|settings| settings.trusted_proxy = Some("127.0.0.1".parse().unwrap())).await
}

/// A sign-in with `password` from a fresh browser at client address `address`.
async fn sign_in_from(app: &TestApp, email: &str, password: &str, address: &str) -> StatusCode {
    let browser = app.new_browser();
    let token = browser.csrf_token("/signin").await;
    browser
        .client
        .post(browser.url("/signin"))
        .header("x-forwarded-for", address)
        .form(&[("email", email), ("password", password), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
        .status()
}

/// "Forgot your password?" for `email` from `browser`, at client address
/// `address` (or the browser's own, 127.0.0.1).
async fn forgot_from(browser: &Browser, email: &str, address: Option<&str>) -> StatusCode {
    let token = browser.csrf_token("/password/forgot").await;
    let mut request = browser.client.post(browser.url("/password/forgot"));
    if let Some(address) = address {
        request = request.header("x-forwarded-for", address);
    }
    request
        .form(&[("email", email), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
        .status()
}

/// The attack of issue 27: three reset requests and five wrong sign-ins for the
/// account, each from an address of its own; eight requests. The answers to
/// the reset requests.
async fn strangers_attack(app: &TestApp, email: &str) -> Vec<StatusCode> {
    let mut resets = Vec::new();
    for i in 1..=3 {
        resets.push(forgot_from(&app.new_browser(), email, Some(&format!("198.51.100.{i}"))).await);
    }
    for i in 11..=15 {
        let status = sign_in_from(app, email, "not-the-password", &format!("198.51.100.{i}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong sign-in {i}");
    }
    resets
}

async fn sign_out(browser: &Browser) {
    let token = browser.csrf_token("/account/password").await;
    let response = browser.post_form("/signout", &[("csrf_token", &token)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed out");
}

/// A browser that has signed in to `email` once (and signed out again), as its
/// owner's would be.
async fn owners_browser(app: &TestApp, email: &str, password: &str) -> Browser {
    let browser = app.new_browser();
    let response = browser.sign_in(email, password, "/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "first sign-in");
    sign_out(&browser).await;
    browser
}

/// The browser's device cookie(s), as `(name, value)`.
fn device_cookies(browser: &Browser) -> Vec<(String, String)> {
    browser
        .cookie_header()
        .split("; ")
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| name.contains("storecredit-device-"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn only_device_cookie(browser: &Browser) -> (String, String) {
    let mut cookies = device_cookies(browser);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    cookies.pop().unwrap()
}

/// A fresh browser carrying the cookie `name=value`.
fn browser_with_cookie(app: &TestApp, name: &str, value: &str) -> Browser {
    let browser = app.new_browser();
    let url: Url = app.address.parse().unwrap();
    browser.cookies.add_cookie_str(&format!("{name}={value}"), &url);
    browser
}

/// How many "new sign-in" messages the outbox holds (written by the sign-in
/// itself, before it answers).
fn new_device_messages(app: &TestApp) -> usize {
    new_device_texts(app).len()
}

/// The text parts of the "new sign-in" messages in the outbox, oldest first
/// (the `.eml` file may encode long lines).
fn new_device_texts(app: &TestApp) -> Vec<String> {
    app.sql_rows("SELECT text_body FROM outbox WHERE kind = 'new-device' ORDER BY id")
        .into_iter()
        .map(|mut row| row.remove(0))
        .collect()
}

#[actix_web::test]
async fn strangers_cannot_pause_a_browser_that_signed_in_before() {
    let Some(app) = proxied_app().await else { return };
    let owner = owners_browser(&app, DEMO_EMAIL, DEMO_PASSWORD).await;

    let resets = strangers_attack(&app, DEMO_EMAIL).await;
    assert_eq!(resets, [StatusCode::OK; 3]);

    // A browser without the cookie is paused, as the account's shared count says.
    let fresh = sign_in_from(&app, DEMO_EMAIL, DEMO_PASSWORD, "203.0.113.9").await;
    assert_eq!(fresh, StatusCode::TOO_MANY_REQUESTS);
    let fresh_reset = forgot_from(&app.new_browser(), DEMO_EMAIL, Some("203.0.113.9")).await;
    assert_eq!(fresh_reset, StatusCode::TOO_MANY_REQUESTS);

    // The owner's browser asks for a reset link and gets it...
    assert_eq!(forgot_from(&owner, DEMO_EMAIL, None).await, StatusCode::OK);
    let links = app.wait_for_mails("password-reset", 4).await;
    assert_eq!(links.len(), 4, "the strangers' three, and the owner's");
    // ... and signs in.
    let signed_in = owner.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/balance").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/balance");
    assert!(owner.get_html("/balance").await.contains("data-balance"));
}

#[actix_web::test]
async fn a_forged_tampered_malformed_or_other_accounts_device_cookie_is_not_trusted() {
    let Some(app) = proxied_app().await else { return };
    let owner = owners_browser(&app, DEMO_EMAIL, DEMO_PASSWORD).await;
    let (name, value) = only_device_cookie(&owner);
    app.create_account("ann@example.com", "Ann");
    let ann = owners_browser(&app, "ann@example.com", ACCOUNT_PASSWORD).await;
    let (_, anns_value) = only_device_cookie(&ann);

    strangers_attack(&app, DEMO_EMAIL).await;

    let (issued, rest) = value.split_once('.').unwrap();
    let (nonce, mac) = rest.split_once('.').unwrap();
    let flipped = |text: &str| {
        let last = if text.ends_with('0') { '1' } else { '0' };
        format!("{}{last}", &text[..text.len() - 1])
    };
    let untrusted = [
        (
            "forged",
            format!("{issued}.{}.{}", "ab".repeat(16), "cd".repeat(32)),
        ),
        ("tampered nonce", format!("{issued}.{}.{mac}", flipped(nonce))),
        ("tampered mac", format!("{issued}.{nonce}.{}", flipped(mac))),
        ("tampered time", format!("{}.{nonce}.{mac}", flipped(issued))),
        ("another account's", anns_value.clone()),
        ("malformed", "not-a-device-cookie".to_owned()),
        ("empty", String::new()),
    ];
    for (what, forged) in &untrusted {
        let browser = browser_with_cookie(&app, &name, forged);
        let response = browser.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{what} cookie");
    }
    // Ann's own browser, with her cookie under her name, is a stranger to the demo account.
    let anns_try = ann.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(anns_try.status(), StatusCode::TOO_MANY_REQUESTS);

    // The owner's cookie itself, copied as it is, is trusted: the test can fail.
    let copied = browser_with_cookie(&app, &name, &value);
    let response = copied.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn wrong_passwords_from_the_owners_browser_pause_only_that_browser() {
    let Some(app) = proxied_app().await else { return };
    let owner = owners_browser(&app, DEMO_EMAIL, DEMO_PASSWORD).await;

    for i in 0..5 {
        let response = owner.sign_in(DEMO_EMAIL, "not-the-password", "/").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{i}");
    }
    let paused = owner.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(paused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(paused.headers().contains_key("retry-after"));

    // The account's shared count was not touched: another browser signs in.
    let elsewhere = sign_in_from(&app, DEMO_EMAIL, DEMO_PASSWORD, "203.0.113.9").await;
    assert_eq!(elsewhere, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_success_from_the_owners_browser_starts_its_count_over() {
    let Some(app) = proxied_app().await else { return };
    let owner = owners_browser(&app, DEMO_EMAIL, DEMO_PASSWORD).await;
    for _ in 0..4 {
        owner.sign_in(DEMO_EMAIL, "not-the-password", "/").await;
    }
    assert_eq!(
        owner.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await.status(),
        StatusCode::SEE_OTHER
    );
    sign_out(&owner).await;
    for i in 0..5 {
        let response = owner.sign_in(DEMO_EMAIL, "not-the-password", "/").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{i}");
    }
}

#[actix_web::test]
async fn a_burst_of_wrong_passwords_with_one_device_cookie_lets_through_only_its_limit() {
    let Some(app) = proxied_app().await else { return };
    let owner = owners_browser(&app, DEMO_EMAIL, DEMO_PASSWORD).await;
    let token = owner.csrf_token("/signin").await;

    let guess = || {
        let (owner, token) = (owner.clone(), token.clone());
        async move {
            owner
                .post_form(
                    "/signin",
                    &[
                        ("email", DEMO_EMAIL),
                        ("password", "not-the-password"),
                        ("csrf_token", &token),
                    ],
                )
                .await
                .status()
        }
    };
    let statuses = join_all((0..25).map(|_| guess())).await;

    let refused = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(refused(StatusCode::UNAUTHORIZED), 5, "{statuses:?}");
    assert_eq!(refused(StatusCode::TOO_MANY_REQUESTS), 20, "{statuses:?}");
    let paused = owner.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(paused.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = sign_in_from(&app, DEMO_EMAIL, DEMO_PASSWORD, "203.0.113.9").await;
    assert_eq!(elsewhere, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_valid_reset_link_works_after_the_attack_and_makes_its_browser_known() {
    let Some(app) = proxied_app().await else { return };
    let phone = app.new_browser();
    assert_eq!(forgot_from(&phone, DEMO_EMAIL, None).await, StatusCode::OK);
    let mail = app.wait_for_mails("password-reset", 1).await.remove(0);
    let at = mail.find("/password/reset/").expect("a reset link");
    let path: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect();

    strangers_attack(&app, DEMO_EMAIL).await;
    assert_eq!(
        forgot_from(&app.new_browser(), DEMO_EMAIL, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the account's reset requests are used up"
    );

    assert!(phone.get_html(&path).await.contains("Choose a new password"));
    let token = phone.csrf_token(&path).await;
    let reset = phone
        .post_form(
            &path,
            &[("new_password", "copper kettle mountain"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&reset), "/signin?reset=done");
    assert_eq!(
        device_cookies(&phone).len(),
        1,
        "the link's browser is the owner's"
    );

    // It asks for another link even though the account's requests are used up,
    // and signs in as a known device: no "new sign-in" message.
    assert_eq!(forgot_from(&phone, DEMO_EMAIL, None).await, StatusCode::OK);
    let signed_in = phone.sign_in(DEMO_EMAIL, "copper kettle mountain", "/").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(new_device_messages(&app), 0);
}

#[actix_web::test]
async fn a_new_browser_is_told_by_mail_once_and_a_known_one_never() {
    let Some(app) = proxied_app().await else { return };
    let laptop = app.new_browser();
    let token = laptop.csrf_token("/signin").await;
    let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 \
                 <a href=\"https://evil.example/steal\">\r\nBcc: eve@example.com";
    let response = laptop
        .client
        .post(laptop.url("/signin"))
        .header("user-agent", agent.replace("\r\n", " "))
        .form(&[
            ("email", DEMO_EMAIL),
            ("password", DEMO_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(new_device_messages(&app), 1);

    let mail = app.wait_for_mails("new-device", 1).await.remove(0);
    assert!(mail.contains(&format!("To: {DEMO_EMAIL}")), "{mail}");
    assert!(
        mail.contains("Subject: New sign-in to your storecredit account"),
        "{mail}"
    );
    assert!(
        !mail.contains("evil.example") && !mail.contains("\r\nBcc:"),
        "{mail}"
    );
    let mail = new_device_texts(&app).remove(0);
    assert!(mail.contains("Firefox/128.0"), "{mail}");
    assert!(mail.contains(" UTC"), "{mail}");
    assert!(
        mail.contains(&format!("{}/password/forgot", app.address)),
        "{mail}"
    );
    assert!(!mail.contains("evil.example"), "{mail}");
    assert!(!mail.contains("Bcc:"), "{mail}");

    // The same browser again: known, no message.
    sign_out(&laptop).await;
    assert_eq!(
        laptop.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(new_device_messages(&app), 1);
    // A wrong password from a new browser tells nobody; a right one does.
    assert_eq!(
        sign_in_from(&app, DEMO_EMAIL, "not-the-password", "203.0.113.9").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(new_device_messages(&app), 1);
    app.new_browser().sign_in_as_demo().await;
    assert_eq!(new_device_messages(&app), 2);
    assert_eq!(app.wait_for_mails("new-device", 2).await.len(), 2);
}

#[actix_web::test]
async fn a_browser_keeps_a_device_cookie_per_account() {
    let Some(app) = proxied_app().await else { return };
    app.create_account("ann@example.com", "Ann");
    let shared = owners_browser(&app, DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_eq!(
        shared
            .sign_in("ann@example.com", ACCOUNT_PASSWORD, "/")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    sign_out(&shared).await;
    let cookies = device_cookies(&shared);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for (name, value) in &cookies {
        for secret in ["demo", "ann", "example"] {
            assert!(
                !name.contains(secret) && !value.contains(secret),
                "{name}={value}"
            );
        }
    }

    strangers_attack(&app, DEMO_EMAIL).await;
    strangers_attack(&app, "ann@example.com").await;
    for (email, password) in [(DEMO_EMAIL, DEMO_PASSWORD), ("ann@example.com", ACCOUNT_PASSWORD)] {
        let response = shared.sign_in(email, password, "/").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email}");
        sign_out(&shared).await;
    }
}

#[actix_web::test]
async fn the_device_cookie_is_http_only_lax_and_lasts_a_year() {
    let Some(app) = spawn_app().await else { return };
    let browser = app.new_browser();
    let response = browser.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    let set_cookie: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter(|value| value.contains("storecredit-device-"))
        .collect();
    assert_eq!(set_cookie.len(), 1, "{set_cookie:?}");
    let cookie = set_cookie[0];
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    // Served over plain loopback HTTP, like the session cookie: not Secure.
    assert!(
        !cookie.contains("Secure") && !cookie.starts_with("__Host-"),
        "{cookie}"
    );
}

#[actix_web::test]
async fn the_current_password_check_counts_against_the_device_too() {
    let Some(app) = proxied_app().await else { return };
    app.sign_in_as_demo().await;

    strangers_attack(&app, DEMO_EMAIL).await;

    let token = app.csrf_token("/account/password").await;
    let changed = app
        .post_form(
            "/account/password",
            &[
                ("current_password", DEMO_PASSWORD),
                ("new_password", "copper kettle mountain"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert!(
        app.follow(&changed)
            .await
            .contains("Your password has been changed")
    );
}

/// Strangers behind the owner's own address (one office or carrier NAT) use up
/// that address's sign-in and reset counts; the owner's browser, which signed
/// in before, still signs in and still gets a reset link, while a browser
/// without the cookie at that address is paused.
#[actix_web::test]
async fn strangers_sharing_the_owners_address_cannot_pause_the_owners_browser() {
    let Some(app) = spawn_app_with(|settings| {
        settings.trusted_proxy = Some("127.0.0.1".parse().unwrap());
        settings.throttle.signin_per_address.max_attempts = 3;
        settings.throttle.password_resets_per_address.max_attempts = 2;
    })
    .await
    else {
        return;
    };
    let shared = "192.0.2.7";
    let owner = app.new_browser();
    let token = owner.csrf_token("/signin").await;
    let first = owner
        .client
        .post(owner.url("/signin"))
        .header("x-forwarded-for", shared)
        .form(&[
            ("email", DEMO_EMAIL),
            ("password", DEMO_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    sign_out(&owner).await;

    for i in 0..3 {
        let email = format!("someone{i}@example.com");
        assert_eq!(
            sign_in_from(&app, &email, "wrong", shared).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&app, DEMO_EMAIL, DEMO_PASSWORD, shared).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a browser without the cookie at that address is paused"
    );
    for i in 0..2 {
        let email = format!("someone{i}@example.com");
        assert_eq!(
            forgot_from(&app.new_browser(), &email, Some(shared)).await,
            StatusCode::OK
        );
    }
    assert_eq!(
        forgot_from(&app.new_browser(), DEMO_EMAIL, Some(shared)).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    assert_eq!(
        forgot_from(&owner, DEMO_EMAIL, Some(shared)).await,
        StatusCode::OK
    );
    let token = owner.csrf_token("/signin").await;
    let again = owner
        .client
        .post(owner.url("/signin"))
        .header("x-forwarded-for", shared)
        .form(&[
            ("email", DEMO_EMAIL),
            ("password", DEMO_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
}
