//! "Forgot your password?" (SPEC §7): the same answer for every address, a link
//! that works once for 30 minutes, and a new password that ends every session.

use futures::future::join_all;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

async fn ask_for_link(browser: &Browser, email: &str) -> reqwest::Response {
    let token = browser.csrf_token("/password/forgot").await;
    browser
        .post_form("/password/forgot", &[("email", email), ("csrf_token", &token)])
        .await
}

/// The reset path (`/password/reset/…`) in a mail.
fn link_path(mail: &str) -> String {
    let start = mail.find("/password/reset/").expect("a reset link in the mail");
    let token: String = mail[start + "/password/reset/".len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(token.len(), 32, "{mail}");
    format!("/password/reset/{token}")
}

/// The newest reset message (the demo account may also get a "new sign-in"
/// message when a test signs it in from a new browser).
async fn reset_mail(app: &TestApp) -> String {
    let mut mails = app.wait_for_mails("password-reset", 1).await;
    mails.pop().expect("a reset message")
}

async fn set_password(browser: &Browser, path: &str, new: &str) -> reqwest::Response {
    let token = browser.csrf_token(path).await;
    browser
        .post_form(path, &[("new_password", new), ("csrf_token", &token)])
        .await
}

#[actix_web::test]
async fn a_mailed_link_sets_a_new_password_once_and_ends_every_session() {
    let Some(app) = spawn_app().await else { return };
    let phone = app.new_browser();
    phone.sign_in_as_demo().await;

    let visitor = app.new_browser();
    let asked = ask_for_link(&visitor, " Demo@Example.com ").await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("a link to choose a new password is on its way")
    );
    let path = link_path(&reset_mail(&app).await);

    assert!(visitor.get_html(&path).await.contains("Choose a new password"));
    let done = set_password(&visitor, &path, "copper kettle mountain").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/signin?reset=done");
    assert!(visitor.follow(&done).await.contains("Your new password is set"));

    assert_eq!(
        phone.get("/balance").await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );
    let old = app.new_browser().sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .new_browser()
        .sign_in(DEMO_EMAIL, "copper kettle mountain", "/")
        .await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);

    // The link worked once.
    let again = visitor.get(&path).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(again.text().await.unwrap().contains("This link no longer works"));
}

#[actix_web::test]
async fn known_and_unknown_addresses_get_the_same_answer() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    let known = ask_for_link(&visitor, DEMO_EMAIL).await;
    let unknown = ask_for_link(&visitor, "nobody@example.com").await;
    assert_eq!(known.status(), unknown.status());
    let strip_token = |html: String| {
        html.lines()
            .filter(|line| !line.contains("csrf_token"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip_token(known.text().await.unwrap()),
        strip_token(unknown.text().await.unwrap())
    );
    app.mail_to(DEMO_EMAIL).await;
    assert_eq!(app.mail_count(), 1, "no mail for an address without an account");
}

#[actix_web::test]
async fn a_link_expires_after_thirty_minutes() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    ask_for_link(&visitor, DEMO_EMAIL).await;
    let path = link_path(&reset_mail(&app).await);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(visitor.get(&path).await.status(), StatusCode::NOT_FOUND);
    let late = app
        .new_browser()
        .post_form(&path, &[("new_password", "copper kettle mountain")])
        .await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN, "no token, no change");
    let still = app.new_browser().sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(still.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_link_used_twice_at_once_sets_one_password() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    ask_for_link(&visitor, DEMO_EMAIL).await;
    let path = link_path(&reset_mail(&app).await);
    let token = visitor.csrf_token(&path).await;
    let news = [
        "copper kettle mountain",
        "amber lighthouse willow",
        "quiet orchard lantern",
    ];
    let submit = |new: &'static str| {
        let (visitor, token, path) = (visitor.clone(), token.clone(), path.clone());
        async move {
            visitor
                .post_form(&path, &[("new_password", new), ("csrf_token", &token)])
                .await
                .status()
        }
    };
    let statuses = join_all(news.iter().copied().map(submit)).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(),
        1,
        "{statuses:?}"
    );
    let mut working = 0;
    for password in news {
        if app
            .new_browser()
            .sign_in(DEMO_EMAIL, password, "/")
            .await
            .status()
            == StatusCode::SEE_OTHER
        {
            working += 1;
        }
    }
    assert_eq!(working, 1);
}

#[actix_web::test]
async fn reset_requests_are_throttled_per_account() {
    let Some(app) = spawn_app().await else { return };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(ask_for_link(&app.new_browser(), DEMO_EMAIL).await.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[actix_web::test]
async fn a_paused_sign_in_offers_a_way_back_in() {
    let Some(app) = spawn_app().await else { return };
    assert!(
        app.get_html("/signin")
            .await
            .contains("href=\"/password/forgot\"")
    );
    for _ in 0..5 {
        app.sign_in(DEMO_EMAIL, "not-the-password", "/").await;
    }
    let paused = app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(paused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(paused.text().await.unwrap().contains("href=\"/password/forgot\""));
    // Resetting the password by e-mail lifts the pause.
    ask_for_link(&app, DEMO_EMAIL).await;
    let path = link_path(&reset_mail(&app).await);
    set_password(&app, &path, "copper kettle mountain").await;
    let after = app.sign_in(DEMO_EMAIL, "copper kettle mountain", "/").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn the_reset_page_never_carries_its_token_into_another_link() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    ask_for_link(&visitor, DEMO_EMAIL).await;
    let path = link_path(&reset_mail(&app).await);
    let token = path.trim_start_matches("/password/reset/");

    let page = visitor.get_html(&path).await;
    assert!(page.contains("Choose a new password"));
    // The token is in the page's own form action, and nowhere else.
    assert_eq!(page.matches(token).count(), 1, "{page}");
    assert!(page.contains(r#"href="/signin""#), "{page}");
}

#[actix_web::test]
async fn a_made_up_link_is_a_styled_404() {
    let Some(app) = spawn_app().await else { return };
    for path in [
        "/password/reset/Abcdefghijklmnopqrstuvwxyz012345",
        "/password/reset/short",
        "/password/reset/%00%27;--",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.text().await.unwrap().contains("Get a new reset link"));
    }
}
