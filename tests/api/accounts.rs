//! Registration and password changes (SPEC §3, §4).

use reqwest::StatusCode;

use crate::helpers::*;

/// The registration form's first answer.
async fn register(browser: &Browser, name: &str, email: &str, password: &str) -> reqwest::Response {
    browser
        .fill_in_registration(name, email, password, HELP_PATH)
        .await
}

#[actix_web::test]
async fn registering_signs_the_new_shopper_in_with_empty_balances() {
    let Some(app) = spawn_app().await else { return };
    let response = app
        .register_returning_to(
            &app,
            "Ann",
            " Ann@Example.com ",
            "velvet harbor lantern",
            HELP_PATH,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), HELP_PATH);
    assert!(app.get_html(HELP_PATH).await.contains("Hello, Ann"));
    assert!(app.popup().await.iter().all(|(_, amount)| amount == "$0.00"));
    // The e-mail was normalised: signing in with other capitals works.
    let other = app.new_browser();
    let signin = other
        .sign_in("ANN@example.com", "velvet harbor lantern", "/")
        .await;
    assert_eq!(signin.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn weak_short_and_long_passwords_are_refused_with_advice() {
    let Some(app) = spawn_app().await else { return };
    for (password, advice) in [
        ("short", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        (&"x".repeat(129), "at most 128 characters"),
    ] {
        let response = register(&app, "Ann", "ann@example.com", password).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let html = response.text().await.unwrap();
        assert!(html.contains(advice), "{advice}");
        assert!(!html.contains(password), "the password is never echoed");
    }
    assert!(
        app.with_store(
            |store| store.find_login(&storecredit::domain::Email::parse("ann@example.com").unwrap())
        )
        .unwrap()
        .is_none()
    );
}

#[actix_web::test]
async fn an_email_can_hold_only_one_account() {
    let Some(app) = spawn_app().await else { return };
    let response = register(&app, "Impostor", "DEMO@example.com", "velvet harbor lantern").await;
    assert_eq!(response.status(), StatusCode::OK);
    let mail = app.next_mail_to(DEMO_EMAIL, 0).await;
    assert!(mail.contains("you already have one"), "{mail}");
    assert!(!mail.contains("/register/confirm/"), "{mail}");
    let still = app.new_browser().sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(still.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn names_with_markup_are_stored_verbatim_and_shown_escaped() {
    let Some(app) = spawn_app().await else { return };
    let name = "<script>alert('x')</script> O'Brien & \"Co\"; DROP TABLE users;--";
    let response = app
        .register(&app, name, "odd@example.com", "velvet harbor lantern")
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = app.get_html("/").await;
    assert!(!html.contains("<script>alert"));
    assert!(html.contains(
        "Hello, &#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; O&#39;Brien &#38; &#34;Co&#34;; DROP TABLE users;--"
    ));
    let stored = app
        .with_store(|store| {
            store.account_summary(&storecredit::domain::Email::parse("odd@example.com").unwrap())
        })
        .unwrap()
        .expect("the account");
    assert_eq!(stored.name, name);
}

#[actix_web::test]
async fn control_characters_in_a_name_are_refused() {
    let Some(app) = spawn_app().await else { return };
    let response = register(&app, "Ann\u{0}Bee", "ann@example.com", "velvet harbor lantern").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("name of 1 to 80 characters")
    );
}

#[actix_web::test]
async fn registering_without_a_csrf_token_is_forbidden() {
    let Some(app) = spawn_app().await else { return };
    app.get("/register").await;
    let response = app
        .post_form(
            "/register",
            &[
                ("name", "Ann"),
                ("email", "ann@example.com"),
                ("password", "velvet harbor lantern"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn change_password(browser: &Browser, current: &str, new: &str) -> reqwest::Response {
    let token = browser.csrf_token("/account/password").await;
    browser
        .post_form(
            "/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("csrf_token", &token),
            ],
        )
        .await
}

#[actix_web::test]
async fn changing_the_password_ends_every_other_session_but_this_one() {
    let Some(app) = spawn_app().await else { return };
    let laptop = app.new_shopper("ann@example.com").await;
    let phone = app.new_browser();
    phone.sign_in("ann@example.com", ACCOUNT_PASSWORD, "/").await;
    assert_eq!(phone.get("/balance").await.status(), StatusCode::OK);
    let before = laptop.cookie_header();

    let response = change_password(&laptop, ACCOUNT_PASSWORD, "copper kettle mountain").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        laptop
            .follow(&response)
            .await
            .contains("Your password has been changed")
    );
    assert_ne!(
        laptop.cookie_header(),
        before,
        "this session continues under a new id"
    );
    assert_eq!(laptop.get("/balance").await.status(), StatusCode::OK);
    assert_eq!(phone.get("/balance").await.status(), StatusCode::SEE_OTHER);

    let old = app
        .new_browser()
        .sign_in("ann@example.com", ACCOUNT_PASSWORD, "/")
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .new_browser()
        .sign_in("ann@example.com", "copper kettle mountain", "/")
        .await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_wrong_current_password_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let response = change_password(&ann, "not my password", "copper kettle mountain").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("current password isn"));
    let still = app
        .new_browser()
        .sign_in("ann@example.com", ACCOUNT_PASSWORD, "/")
        .await;
    assert_eq!(still.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn form_errors_are_tied_to_their_fields_and_the_first_takes_the_focus() {
    let Some(app) = spawn_app().await else { return };
    let response = register(&app, "Ann", "not-an-address", "short").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    let input = |id: &str| {
        let at = html
            .find(&format!("<input id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}"));
        html[at..at + html[at..].find('>').unwrap()].to_owned()
    };
    assert!(!input("name").contains("aria-invalid"), "the name was fine");
    let email = input("email");
    assert!(email.contains("aria-invalid=\"true\""), "{email}");
    assert!(email.contains("aria-describedby=\"email-error\""), "{email}");
    assert!(
        email.contains("autofocus"),
        "the first field with a problem: {email}"
    );
    let password = input("password");
    assert!(
        password.contains("aria-describedby=\"password-error password-hint\""),
        "{password}"
    );
    assert!(!password.contains("autofocus"), "{password}");
    assert!(html.contains("id=\"email-error\""));
    assert!(html.contains("id=\"password-error\""));
}
