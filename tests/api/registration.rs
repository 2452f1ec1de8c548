//! Registration by confirmation link (SPEC §9): the form answers "check your
//! mail" whether or not the address has an account, and nothing a visitor sees
//! (the page, its headers, its timing) tells the two apart; the link mailed to a
//! new address makes the account, once, within 24 hours.

use std::time::{Duration as StdDuration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{DisplayName, Email};
use time::Duration;

use crate::helpers::*;

const PASSWORD: &str = "velvet harbor lantern";

fn accounts_with(app: &TestApp, email: &str) -> usize {
    app.with_store(|store| store.list_accounts(Some(email)))
        .unwrap()
        .into_iter()
        .filter(|account| account.email == email)
        .count()
}

fn pending_registrations(app: &TestApp) -> String {
    app.sql_rows("SELECT CAST(COUNT(*) AS BIGINT) FROM pending_registrations")[0][0].clone()
}

/// Registers `email` on a new browser and returns the link mailed for it.
async fn link_for(app: &TestApp, email: &str) -> String {
    let seen = app.mails_to(email).len();
    let asked = app
        .new_browser()
        .fill_in_registration("Bea", email, PASSWORD, "/")
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    confirmation_path(&app.next_mail_to(email, seen).await)
}

#[actix_web::test]
async fn a_new_address_gets_one_mail_whose_link_makes_the_account_and_signs_it_in() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    let asked = visitor
        .fill_in_registration("Bea", " Bea@Example.com ", PASSWORD, HELP_PATH)
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let page = asked.text().await.unwrap();
    assert!(page.contains("Check your mail"), "{page}");
    assert!(page.contains("<bdi>bea@example.com</bdi>"), "{page}");
    assert_eq!(
        accounts_with(&app, "bea@example.com"),
        0,
        "no account before the link"
    );

    let mail = app.next_mail_to("bea@example.com", 0).await;
    assert!(
        mail.contains("Subject: Confirm your e-mail address for storecredit"),
        "{mail}"
    );
    assert!(mail.contains("within 24 hours"), "{mail}");
    assert!(
        !mail.contains("Hello Bea"),
        "the typed name is not repeated: {mail}"
    );
    let path = confirmation_path(&mail);
    assert!(mail.contains(&format!("{}{path}", app.address)), "{mail}");

    // Opening the link (as a mail scanner would) makes nothing.
    let confirm_page = visitor.get_html(&path).await;
    assert!(
        confirm_page.contains("Confirm your e-mail address"),
        "{confirm_page}"
    );
    assert!(confirm_page.contains("bea@example.com"), "{confirm_page}");
    assert!(confirm_page.contains("Create my account"), "{confirm_page}");
    assert!(
        !confirm_page.contains("return_to=%2Fregister"),
        "the link's token is not carried into the sign-in link"
    );
    assert_eq!(accounts_with(&app, "bea@example.com"), 0);

    let made = visitor.confirm_registration(&path, PASSWORD).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&made), HELP_PATH);
    let device_cookie = made
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|cookie| cookie.to_str().unwrap().starts_with("storecredit-device-"));
    assert!(device_cookie, "the browser that confirmed is known from now on");
    assert!(visitor.get_html(HELP_PATH).await.contains("Hello, Bea"));
    assert_eq!(accounts_with(&app, "bea@example.com"), 1);
    let elsewhere = app.new_browser().sign_in("BEA@example.com", PASSWORD, "/").await;
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);
    // Signing in again from the browser that confirmed tells of no new device;
    // the other browser's sign-in does.
    let token = visitor.csrf_token(HELP_PATH).await;
    let signed_out = visitor.post_form("/signout", &[("csrf_token", &token)]).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let again = visitor.sign_in("bea@example.com", PASSWORD, "/").await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    // Queued before the sign-in answers: the outbox has them all now.
    let new_devices = app.sql_rows("SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE kind = 'new-device'");
    assert_eq!(new_devices[0][0], "1");
    assert_eq!(app.mails_of_kind("confirm-address").len(), 1, "one link mailed");

    // Once sent, the message no longer holds the link; only its hash is kept.
    let token = path.trim_start_matches("/register/confirm/").to_owned();
    let held = || {
        app.sql_rows("SELECT text_body, html_body FROM outbox")
            .concat()
            .iter()
            .any(|body| body.contains(&token))
    };
    for _ in 0..100 {
        if !held() {
            break;
        }
        actix_web::rt::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(!held(), "the sent message still holds the link");
    let kept = app
        .sql_rows("SELECT token_hash FROM pending_registrations")
        .concat();
    assert!(!kept.contains(&token), "{kept:?}");
}

#[actix_web::test]
async fn a_confirmation_link_works_once() {
    let Some(app) = spawn_app().await else { return };
    let path = link_for(&app, "bea@example.com").await;
    let first = app.new_browser();
    let token = first.csrf_token(&path).await;
    let made = first
        .post_form(&path, &[("password", PASSWORD), ("csrf_token", &token)])
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);

    let replay = app.new_browser();
    let shown = replay.get(&path).await;
    assert_eq!(shown.status(), StatusCode::NOT_FOUND);
    let page = shown.text().await.unwrap();
    assert!(page.contains("This link no longer works"), "{page}");
    assert!(page.contains("Register again"), "{page}");
    let token = replay.csrf_token("/register").await;
    let pressed = replay
        .post_form(&path, &[("password", PASSWORD), ("csrf_token", &token)])
        .await;
    assert_eq!(pressed.status(), StatusCode::NOT_FOUND);
    let again = first
        .post_form(&path, &[("password", PASSWORD), ("csrf_token", &token)])
        .await;
    assert!(again.status().is_client_error(), "{}", again.status());
    assert_eq!(accounts_with(&app, "bea@example.com"), 1);
}

#[actix_web::test]
async fn a_confirmation_link_expires_after_24_hours() {
    let Some(app) = spawn_app().await else { return };
    let path = link_for(&app, "bea@example.com").await;
    let visitor = app.new_browser();
    app.clock.advance(Duration::hours(23));
    let token = visitor.csrf_token(&path).await;
    app.clock.advance(Duration::hours(1));
    assert_eq!(visitor.get(&path).await.status(), StatusCode::NOT_FOUND);
    let late = visitor
        .post_form(&path, &[("password", PASSWORD), ("csrf_token", &token)])
        .await;
    assert_eq!(late.status(), StatusCode::NOT_FOUND);
    assert_eq!(accounts_with(&app, "bea@example.com"), 0);
}

#[actix_web::test]
async fn malformed_and_forged_links_are_refused() {
    let Some(app) = spawn_app().await else { return };
    link_for(&app, "bea@example.com").await;
    let visitor = app.new_browser();
    let token = visitor.csrf_token("/register").await;
    for path in [
        "/register/confirm/short",
        "/register/confirm/Abcdefghijklmnopqrstuvwxyz012345",
        "/register/confirm/Abcdefghijklmnopqrstuvwxyz01234%21",
        "/register/confirm/Abcdefghijklmnopqrstuvwxyz012345Abcdefghijklmnopqrstuvwxyz012345",
    ] {
        let shown = visitor.get(path).await;
        assert_eq!(shown.status(), StatusCode::NOT_FOUND, "GET {path}");
        assert!(shown.text().await.unwrap().contains("This link no longer works"));
        let pressed = visitor.post_form(path, &[("csrf_token", &token)]).await;
        assert_eq!(pressed.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    assert_eq!(accounts_with(&app, "bea@example.com"), 0);
    assert_eq!(pending_registrations(&app), "1");
}

#[actix_web::test]
async fn pressing_create_my_account_without_the_form_token_is_forbidden_and_makes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let path = link_for(&app, "bea@example.com").await;
    let visitor = app.new_browser();
    visitor.get_html(&path).await;
    for body in [vec![], vec![("csrf_token", "forged-token")]] {
        let pressed = visitor.post_form(&path, &body).await;
        assert_eq!(pressed.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(accounts_with(&app, "bea@example.com"), 0);
    let made = visitor.confirm_registration(&path, PASSWORD).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER, "the link still works");
}

#[actix_web::test]
async fn a_known_address_gets_a_you_already_have_an_account_mail_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    let asked = visitor
        .fill_in_registration("Impostor", DEMO_EMAIL, "copper kettle mountain", "/")
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked.text().await.unwrap().contains("Check your mail"));

    let mail = app.next_mail_to(DEMO_EMAIL, 0).await;
    assert!(
        mail.contains("Subject: You already have a storecredit account"),
        "{mail}"
    );
    assert!(mail.contains(&format!("{}/signin", app.address)), "{mail}");
    assert!(
        mail.contains(&format!("{}/password/forgot", app.address)),
        "{mail}"
    );
    assert!(!mail.contains("/register/confirm/"), "{mail}");
    assert!(!mail.contains("Impostor"), "{mail}");

    assert_eq!(pending_registrations(&app), "0");
    assert_eq!(accounts_with(&app, DEMO_EMAIL), 1);
    let old = app.new_browser().sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(old.status(), StatusCode::SEE_OTHER, "the password is unchanged");
    let new = app
        .new_browser()
        .sign_in(DEMO_EMAIL, "copper kettle mountain", "/")
        .await;
    assert_eq!(new.status(), StatusCode::UNAUTHORIZED);
    assert!(
        visitor.get("/account/credit").await.status() == StatusCode::SEE_OTHER,
        "the visitor is not signed in"
    );
}

#[actix_web::test]
async fn a_link_for_an_address_that_got_an_account_meanwhile_says_to_sign_in() {
    let Some(app) = spawn_app().await else { return };
    let path = link_for(&app, "bea@example.com").await;
    app.create_account("bea@example.com", "Bea");
    let visitor = app.new_browser();
    let pressed = visitor.confirm_registration(&path, PASSWORD).await;
    assert_eq!(pressed.status(), StatusCode::CONFLICT);
    let page = pressed.text().await.unwrap();
    assert!(
        page.contains("An account with this e-mail address exists"),
        "{page}"
    );
    assert!(page.contains("href=\"/signin\""), "{page}");
    assert_eq!(
        visitor.get("/account/credit").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
    let theirs = app
        .new_browser()
        .sign_in("bea@example.com", ACCOUNT_PASSWORD, "/")
        .await;
    assert_eq!(
        theirs.status(),
        StatusCode::SEE_OTHER,
        "their password is unchanged"
    );
    assert_eq!(visitor.get(&path).await.status(), StatusCode::NOT_FOUND, "spent");
}

#[actix_web::test]
async fn a_confirmation_link_pressed_ten_times_at_once_makes_one_account() {
    let Some(app) = spawn_app().await else { return };
    let path = link_for(&app, "bea@example.com").await;
    let mut ready = Vec::new();
    for _ in 0..10 {
        let browser = app.new_browser();
        let token = browser.csrf_token(&path).await;
        ready.push((browser, token));
    }
    let presses = ready.iter().map(|(browser, token)| {
        let path = path.clone();
        async move {
            browser
                .post_form(&path, &[("password", PASSWORD), ("csrf_token", token)])
                .await
                .status()
        }
    });
    let statuses = join_all(presses).await;
    let made = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::NOT_FOUND).count();
    assert_eq!((made, refused), (1, 9), "{statuses:?}");
    assert_eq!(accounts_with(&app, "bea@example.com"), 1);
}

#[actix_web::test]
async fn registrations_for_one_address_are_limited_to_three_an_hour_known_or_not() {
    let Some(app) = spawn_app().await else { return };
    for email in [DEMO_EMAIL, "bea@example.com"] {
        let mut statuses = Vec::new();
        for n in 0..4 {
            // A new browser each time: the count is the address's, not the visitor's.
            let typed = if n % 2 == 0 {
                email.to_owned()
            } else {
                email.to_uppercase()
            };
            let asked = app
                .new_browser()
                .fill_in_registration("Bea", &typed, PASSWORD, "/")
                .await;
            statuses.push(asked.status());
        }
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS
            ],
            "{email}"
        );
        app.next_mail_to(email, 2).await;
    }
    actix_web::rt::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(app.mails_to(DEMO_EMAIL).len(), 3);
    assert_eq!(app.mails_to("bea@example.com").len(), 3);
    app.clock.advance(Duration::hours(1));
    let later = app
        .new_browser()
        .fill_in_registration("Bea", "bea@example.com", PASSWORD, "/")
        .await;
    assert_eq!(later.status(), StatusCode::OK, "an hour later");
}

/// A response as a visitor sees it: status, headers but `date`, body with the
/// form token (and `address`) replaced.
async fn as_seen(response: reqwest::Response, address: &str) -> (StatusCode, Vec<(String, String)>, String) {
    let status = response.status();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_owned()))
        .collect();
    headers.sort();
    let body = response.text().await.unwrap();
    let body = match form_field(&body, "csrf_token") {
        Some(token) if !token.is_empty() => body.replace(&token, "TOKEN"),
        _ => body,
    };
    (status, headers, body.replace(address, "ADDRESS"))
}

#[actix_web::test]
async fn the_answer_is_byte_for_byte_the_same_for_a_known_and_an_unknown_address() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    let register = |email: &'static str| {
        let visitor = visitor.clone();
        async move {
            let token = visitor.csrf_token("/register").await;
            visitor
                .post_form(
                    "/register",
                    &[
                        ("name", "Sam"),
                        ("email", email),
                        ("password", PASSWORD),
                        ("return_to", "/"),
                        ("csrf_token", &token),
                    ],
                )
                .await
        }
    };
    // One address before and after it has an account.
    let unknown = as_seen(register("sam@example.com").await, "sam@example.com").await;
    app.next_mail_to("sam@example.com", 0).await;
    app.create_account("sam@example.com", "Sam");
    let known = as_seen(register("sam@example.com").await, "sam@example.com").await;
    let mails = {
        app.next_mail_to("sam@example.com", 1).await;
        app.mails_to("sam@example.com")
    };
    assert!(mails[0].contains("/register/confirm/") && mails[1].contains("already have one"));
    assert_eq!(unknown.0, StatusCode::OK);
    assert_eq!(unknown.0, known.0);
    assert_eq!(unknown.1, known.1, "headers");
    assert_eq!(unknown.2, known.2, "body");
    // And two addresses, on fresh visitors (a first form sets its token cookie
    // alike for both).
    let app = &app;
    let fresh = |email: &'static str| async move {
        app.new_browser()
            .fill_in_registration("Sam", email, PASSWORD, "/")
            .await
    };
    // (as long as the demo's, so that even Content-Length may not differ)
    let unknown = as_seen(fresh("dora@example.com").await, "dora@example.com").await;
    let known = as_seen(fresh(DEMO_EMAIL).await, DEMO_EMAIL).await;
    assert_eq!((unknown.0, &unknown.1), (known.0, &known.1));
    assert_eq!(unknown.2, known.2);
}

#[actix_web::test]
async fn registration_timing_does_not_tell_a_known_address_from_an_unknown_one() {
    // Every try counts against this client's address and each typed address:
    // lift both so only the work is measured.
    let Some(app) = spawn_app_with(|settings| {
        settings.throttle.registrations_per_address.max_attempts = 10_000;
        settings.throttle.registrations_per_email.max_attempts = 10_000;
    })
    .await
    else {
        return;
    };
    const TRIES: usize = 30;
    const WARM_UP: usize = 2;
    let known = |n: usize| format!("known-{n:02}@example.com");
    let unknown = |n: usize| format!("fresh-{n:02}@example.com");
    app.with_store(|store| {
        for n in 0..TRIES + WARM_UP {
            store
                .create_user(
                    &Email::parse(&known(n)).unwrap(),
                    &DisplayName::parse("Known").unwrap(),
                    "not a real hash",
                    app.clock.now(),
                )
                .unwrap();
        }
    });
    let outbox = || {
        app.sql_rows("SELECT CAST(COUNT(*) AS BIGINT) FROM outbox")[0][0]
            .parse::<usize>()
            .unwrap()
    };
    let visitor = app.new_browser();
    let token = visitor.csrf_token("/register").await;
    let mut queued = outbox();
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for n in 0..TRIES + WARM_UP {
        // Interleaved, each kind first half the time, so a slow spell of the
        // machine falls on both alike.
        let order = if n % 2 == 0 { [true, false] } else { [false, true] };
        for is_known in order {
            let email = if is_known { known(n) } else { unknown(n) };
            let started = Instant::now();
            let answer = visitor
                .post_form(
                    "/register",
                    &[
                        ("name", "Sam"),
                        ("email", &email),
                        ("password", PASSWORD),
                        ("return_to", "/"),
                        ("csrf_token", &token),
                    ],
                )
                .await;
            let status = answer.status();
            answer.bytes().await.unwrap();
            let took = started.elapsed();
            assert_eq!(status, StatusCode::OK, "{email}");
            // Each try starts on a quiet server: the work after the previous
            // answer (a hash and a transaction, the same for both) is done.
            queued += 1;
            let waited = Instant::now();
            while outbox() < queued {
                assert!(
                    waited.elapsed() < StdDuration::from_secs(20),
                    "no message for {email}"
                );
                actix_web::rt::time::sleep(StdDuration::from_millis(5)).await;
            }
            if n >= WARM_UP {
                (if is_known {
                    &mut known_times
                } else {
                    &mut unknown_times
                })
                .push(took);
            }
        }
    }
    let median = |times: &mut Vec<StdDuration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (known_median, unknown_median) = (median(&mut known_times), median(&mut unknown_times));
    let larger = known_median.max(unknown_median);
    let gap = known_median.abs_diff(unknown_median);
    assert!(
        gap < larger / 4 + StdDuration::from_millis(5),
        "known {known_median:?}, unknown {unknown_median:?}: {known_times:?} vs {unknown_times:?}"
    );
    assert_eq!(
        pending_registrations(&app),
        (TRIES + WARM_UP).to_string(),
        "every unknown address got a link, no known one"
    );
}

/// Someone registers a shopper's address first, with a password of their own;
/// the shopper then registers too and has two links in their mailbox. The
/// stranger's link asks for the password chosen with it, so the shopper's own
/// password makes nothing there, and the account is made only from the
/// shopper's own registration, with the shopper's password.
#[actix_web::test]
async fn a_link_from_a_registration_someone_else_made_cannot_make_the_account_with_their_password() {
    let Some(app) = spawn_app().await else { return };
    let strangers = app
        .new_browser()
        .fill_in_registration("Victim Name", "vic@example.com", "attacker knows this one", "/")
        .await;
    assert_eq!(strangers.status(), StatusCode::OK);
    let strangers_link = confirmation_path(&app.next_mail_to("vic@example.com", 0).await);
    let owner = app.new_browser();
    let own = owner
        .fill_in_registration("Vic", "vic@example.com", PASSWORD, "/")
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    let own_link = confirmation_path(&app.next_mail_to("vic@example.com", 1).await);
    assert_ne!(own_link, strangers_link);

    let refused = owner.confirm_registration(&strangers_link, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(page.contains("not the password chosen"), "{page}");
    assert_eq!(accounts_with(&app, "vic@example.com"), 0, "nothing made");
    let nothing = owner.confirm_registration(&strangers_link, "").await;
    assert_eq!(nothing.status(), StatusCode::BAD_REQUEST);

    let made = owner.confirm_registration(&own_link, PASSWORD).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert!(owner.get_html(HELP_PATH).await.contains("Hello, Vic"));
    let stranger = app
        .new_browser()
        .sign_in("vic@example.com", "attacker knows this one", "/")
        .await;
    assert_eq!(
        stranger.status(),
        StatusCode::UNAUTHORIZED,
        "the stranger's password opens nothing"
    );
    // The stranger's link, pressed with the stranger's password, finds the
    // address taken and makes nothing.
    let late = app
        .new_browser()
        .confirm_registration(&strangers_link, "attacker knows this one")
        .await;
    assert_eq!(late.status(), StatusCode::CONFLICT);
    assert_eq!(accounts_with(&app, "vic@example.com"), 1);
}
