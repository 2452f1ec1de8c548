//! Signing in and out: credentials, CSRF, redirects and session lifetime (SPEC §1, §4).

use reqwest::StatusCode;
use storecredit::config::CookieSecurity;
use time::Duration;

use crate::helpers::*;

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_email_get_identical_answers() {
    let Some(app) = spawn_app().await else { return };
    let wrong_password = app.sign_in(DEMO_EMAIL, "not-the-password", "/").await;
    let (status_a, body_a) = (wrong_password.status(), wrong_password.text().await.unwrap());
    let unknown_email = app.sign_in("nobody@example.com", "not-the-password", "/").await;
    let (status_b, body_b) = (unknown_email.status(), unknown_email.text().await.unwrap());

    assert_eq!(status_a, StatusCode::UNAUTHORIZED);
    assert_eq!(status_a, status_b);
    assert!(body_a.contains("match an account"));
    // The only difference may be the e-mail the shopper typed, echoed back.
    assert_eq!(
        body_a.replace("value=\"demo@example.com\"", "value=\"EMAIL\""),
        body_b.replace("value=\"nobody@example.com\"", "value=\"EMAIL\"")
    );
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_hostile_return_to_lands_on_the_store_front() {
    let Some(app) = spawn_app().await else { return };
    for hostile in [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=1",
        " //evil.example",
        "/\t/evil.example",
    ] {
        let response = app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, hostile).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{hostile:?}");
        assert_eq!(location(&response), "/", "{hostile:?}");
        assert!(
            response
                .headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().starts_with("x="))
        );
    }
}

#[actix_web::test]
async fn the_signin_form_never_echoes_a_hostile_return_to() {
    let Some(app) = spawn_app().await else { return };
    let html = app.get_html("/signin?return_to=https%3A%2F%2Fevil.example").await;
    assert_eq!(form_field(&html, "return_to").as_deref(), Some("/"));
    assert!(!html.contains("evil.example"));
}

#[actix_web::test]
async fn signing_in_without_a_csrf_token_is_forbidden_and_signs_nobody_in() {
    let Some(app) = spawn_app().await else { return };
    app.get("/signin").await;
    let response = app
        .post_form(
            "/signin",
            &[
                ("email", DEMO_EMAIL),
                ("password", DEMO_PASSWORD),
                ("return_to", "/"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("This form has expired"));
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn signing_in_with_a_wrong_csrf_token_is_forbidden() {
    let Some(app) = spawn_app().await else { return };
    let token = app.csrf_token("/signin").await;
    // The last character changed (to one it is not).
    let last = if token.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let response = app
        .post_form(
            "/signin",
            &[
                ("email", DEMO_EMAIL),
                ("password", DEMO_PASSWORD),
                ("csrf_token", &forged),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_token_from_another_session_is_worthless() {
    let Some(app) = spawn_app().await else { return };
    let attacker = browser(Default::default());
    let attacker_page = attacker
        .get(app.url("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let attacker_token = form_field(&attacker_page, "csrf_token").unwrap();
    app.sign_in_as_demo().await;
    let response = app
        .post_form("/signout", &[("csrf_token", &attacker_token)])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/balance").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn signing_out_without_a_csrf_token_is_forbidden_and_keeps_the_session() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let response = app.post_form("/signout", &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/balance").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn signing_out_ends_the_session_and_returns_to_the_store_front() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let token = app.csrf_token(HELP_PATH).await;
    let response = app.post_form("/signout", &[("csrf_token", &token)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(app.get_html(HELP_PATH).await.contains("Hello, sign in"));
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn an_old_cookie_after_signout_no_longer_opens_the_popup() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let stolen = app.cookie_header();
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let before = thief
        .get(app.url("/balance"))
        .header("cookie", &stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(before.status(), StatusCode::OK, "the copy works while signed in");

    let token = app.csrf_token(HELP_PATH).await;
    app.post_form("/signout", &[("csrf_token", &token)]).await;

    let after = thief
        .get(app.url("/balance"))
        .header("cookie", &stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/signin?return_to=%2Fbalance");
}

#[actix_web::test]
async fn signing_in_issues_a_new_session_id() {
    let Some(app) = spawn_app().await else { return };
    app.get("/signin").await; // a signed-out session holding the CSRF token
    let before = app.cookie_header();
    assert!(!before.is_empty());
    app.sign_in_as_demo().await;
    let after = app.cookie_header();
    assert_ne!(before, after);
    let planted = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = planted
        .get(app.url("/balance"))
        .header("cookie", &before)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the pre-sign-in id opens nothing"
    );
}

/// The `Set-Cookie` header of `response` for the cookie named `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

fn assert_http_only_lax_site_wide(cookie: &str) {
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
}

#[actix_web::test]
async fn the_session_and_form_cookies_are_http_only_and_same_site_lax() {
    let Some(app) = spawn_app().await else { return };
    let form = app.get("/signin").await;
    assert_http_only_lax_site_wide(&set_cookie(&form, "storecredit-csrf"));
    let signed_in = app.sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_http_only_lax_site_wide(&set_cookie(&signed_in, "storecredit"));
}

#[actix_web::test]
async fn with_secure_cookies_the_cookies_are_secure_with_the_host_prefix() {
    let Some(app) = spawn_app_with(|settings| settings.cookie_security = CookieSecurity::Always).await else {
        return;
    };
    let form = app.get("/signin").await;
    assert!(form.headers().contains_key("strict-transport-security"));
    let form_cookie = set_cookie(&form, "__Host-storecredit-csrf");
    assert!(form_cookie.contains("Secure"), "{form_cookie}");
    let token = form_field(&form.text().await.unwrap(), "csrf_token").unwrap();
    // A client on plain HTTP keeps no Secure cookie: send it back by hand.
    let signed_in = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/signin"))
        .header("cookie", form_cookie.split(';').next().unwrap())
        .form(&[
            ("email", DEMO_EMAIL),
            ("password", DEMO_PASSWORD),
            ("return_to", "/"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session_cookie = set_cookie(&signed_in, "__Host-storecredit");
    assert!(session_cookie.contains("Secure"), "{session_cookie}");
}

#[actix_web::test]
async fn a_session_ends_after_the_idle_timeout() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get("/balance").await.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_session_ends_at_its_absolute_lifetime_even_when_busy() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    for _ in 0..(12 * 60 / 25) {
        app.clock.advance(Duration::minutes(25));
        assert_eq!(app.get("/balance").await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(25));
    assert_eq!(app.get("/balance").await.status(), StatusCode::SEE_OTHER);
}
