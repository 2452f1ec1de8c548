//! Staff enrolment and console sign-in, sign-out and sessions (SPEC §8), with TOTP
//! codes computed here from the secret the enrolment page shows.

use reqwest::StatusCode;
use storecredit::domain::{Actor, Email, Role};
use time::Duration;

use crate::console::{
    STAFF_PASSWORD, add_staff, code, console_sign_in, enrol, secret_on, staff_member, staff_member_named,
};
use crate::helpers::{Browser, TestApp, form_field, location, spawn_app};

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

/// How many entries the audit trail holds.
fn audit_len(app: &TestApp) -> usize {
    app.sql_rows("SELECT id FROM audit_entries").len()
}

async fn console_home(browser: &Browser) -> StatusCode {
    browser.get("/admin").await.status()
}

#[actix_web::test]
async fn a_new_staff_member_enrols_with_a_totp_code_and_signs_in() {
    let Some(app) = spawn_app().await else { return };
    let token = add_staff(&app, "ann@shop.example", Role::Manager);
    let browser = app.new_browser();
    let page = browser.get_html(&format!("/admin/enrol/{token}")).await;
    let secret = secret_on(&page);
    assert!(page.contains("<svg "), "the QR code is drawn inline");
    assert!(page.contains(&format!(
        "otpauth://totp/storecredit%3Aann%40shop%2Eexample?secret={secret}"
    )));

    let (enrolled, secret) = enrol(&app, &browser, &token).await;
    assert_eq!(enrolled.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&enrolled), "/admin/signin?enrolled=1");
    // The link works once.
    assert_eq!(
        browser.get(&format!("/admin/enrol/{token}")).await.status(),
        StatusCode::NOT_FOUND
    );

    let signed_in = console_sign_in(
        &browser,
        "Ann@Shop.example",
        STAFF_PASSWORD,
        &code(&app, &secret, 1),
    )
    .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/admin");
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("storecredit-console="))
        .expect("a console cookie");
    assert!(cookie.contains("Path=/admin"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");

    let home = browser.get("/admin").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(home.headers()["cache-control"], "no-store");
    let home = home.text().await.unwrap();
    assert!(home.contains("ann@shop.example"), "{home}");
    assert!(home.contains("data-staff-role>manager<"), "{home}");
    let actors = app.sql_rows("SELECT actor, action FROM audit_entries ORDER BY id");
    assert!(
        actors.contains(&vec!["staff:ann@shop.example".into(), "console.signin".into()]),
        "{actors:?}"
    );
    assert!(actors.contains(&vec!["staff:ann@shop.example".into(), "staff.enrol".into()]));
}

#[actix_web::test]
async fn the_staff_member_helper_signs_in_and_out() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member(&app, Role::Support).await;
    assert_eq!(console_home(&staff).await, StatusCode::OK);
    let out = staff.sign_out().await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/admin/signin");
    let after = staff.get("/admin").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/admin/signin?return_to=%2Fadmin");
}

#[actix_web::test]
async fn a_totp_code_is_accepted_once() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member_named(&app, "ann@shop.example", Role::Owner).await;
    // The helper signed in with the next step's code; it does not work again.
    let used = code(&app, &staff.secret, 1);
    assert_eq!(staff.sign_out().await.status(), StatusCode::SEE_OTHER);
    let again = console_sign_in(&staff, &staff.email, STAFF_PASSWORD, &used).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // Nor does an older one.
    let older = console_sign_in(
        &staff,
        &staff.email,
        STAFF_PASSWORD,
        &code(&app, &staff.secret, 0),
    )
    .await;
    assert_eq!(older.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(console_home(&staff).await, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_wrong_password_a_wrong_code_and_an_unknown_email_get_the_same_answer() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member_named(&app, "ann@shop.example", Role::Owner).await;
    let stranger = app.new_browser();
    let right_code = code(&app, &staff.secret, 0);
    let wrong_code = if right_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let before = audit_len(&app);
    let mut answers = Vec::new();
    for (who, password, totp) in [
        ("ann@shop.example", "not-the-password-at-all", right_code.as_str()),
        ("ann@shop.example", STAFF_PASSWORD, wrong_code),
        ("bob@shop.example", STAFF_PASSWORD, right_code.as_str()),
        ("not an e-mail", STAFF_PASSWORD, right_code.as_str()),
    ] {
        let response = console_sign_in(&stranger, who, password, totp).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{who}");
        let html = response.text().await.unwrap();
        answers.push(
            html.split("role=\"alert\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .expect("an error message")
                .to_owned(),
        );
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "{answers:?}");
    assert_eq!(console_home(&stranger).await, StatusCode::SEE_OTHER);
    // Each failure is on the record, against the address it came from.
    let failed =
        app.sql_rows("SELECT actor, subject FROM audit_entries WHERE action = 'console.signin_failed'");
    assert_eq!(failed.len(), 4);
    assert_eq!(audit_len(&app), before + 4);
    assert!(
        failed.iter().all(|row| row[0] == "visitor:127.0.0.1"),
        "{failed:?}"
    );
    assert_eq!(failed[2][1], "staff:bob@shop.example");
}

#[actix_web::test]
async fn console_sign_in_by_brute_force_is_throttled() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member_named(&app, "ann@shop.example", Role::Owner).await;
    let attacker = app.new_browser();
    let mut statuses = Vec::new();
    for guess in 0..8 {
        let guess = format!("{guess:06}");
        statuses.push(
            console_sign_in(&attacker, &staff.email, STAFF_PASSWORD, &guess)
                .await
                .status(),
        );
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Once throttled, even the right code is refused for now.
    let right = console_sign_in(
        &attacker,
        &staff.email,
        STAFF_PASSWORD,
        &code(&app, &staff.secret, 1),
    )
    .await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn a_disabled_members_open_session_stops_working_at_once() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member_named(&app, "ann@shop.example", Role::Manager).await;
    assert_eq!(console_home(&staff).await, StatusCode::OK);
    let now = app.clock.now();
    app.with_store(|store| store.disable_staff(&Actor::command(), &email("ann@shop.example"), now))
        .unwrap();
    assert_eq!(console_home(&staff).await, StatusCode::SEE_OTHER);
    let again = console_sign_in(
        &staff,
        &staff.email,
        STAFF_PASSWORD,
        &code(&app, &staff.secret, 1),
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_role_change_and_a_reset_end_the_members_sessions() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member_named(&app, "ann@shop.example", Role::Manager).await;
    let now = app.clock.now();
    app.with_store(|store| {
        store.set_staff_role(&Actor::command(), &email("ann@shop.example"), Role::Support, now)
    })
    .unwrap();
    assert_eq!(console_home(&manager).await, StatusCode::SEE_OTHER);

    // Another enrolled owner, for the store must keep one.
    staff_member_named(&app, "keeper@shop.example", Role::Owner).await;
    let owner = staff_member_named(&app, "bob@shop.example", Role::Owner).await;
    let token = app
        .with_store(|store| store.reset_staff(&Actor::command(), &email("bob@shop.example"), now))
        .unwrap();
    assert_eq!(console_home(&owner).await, StatusCode::SEE_OTHER);
    // The old password and secret no longer sign in; the new link enrols again.
    let old = console_sign_in(
        &owner,
        &owner.email,
        STAFF_PASSWORD,
        &code(&app, &owner.secret, 1),
    )
    .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let (enrolled, secret) = enrol(&app, &owner, &token).await;
    assert_eq!(enrolled.status(), StatusCode::SEE_OTHER);
    assert_ne!(secret, owner.secret);
}

#[actix_web::test]
async fn a_shopper_session_opens_no_console_page_and_a_console_cookie_no_shopper_page() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let refused = app.get("/admin").await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&refused), "/admin/signin?return_to=%2Fadmin");

    let staff = staff_member(&app, Role::Owner).await;
    let shopper_page = staff.get("/balance").await;
    assert_eq!(
        shopper_page.status(),
        StatusCode::SEE_OTHER,
        "the balance asks a shopper to sign in"
    );
    assert!(location(&shopper_page).starts_with("/signin"));
    // Even sent to a shopper page by hand, the console cookie opens nothing there.
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/orders"))
        .header("cookie", staff.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_console_post_without_the_sessions_token_is_refused_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member(&app, Role::Owner).await;
    let before = audit_len(&app);
    for form in [vec![], vec![("csrf_token", "forged")]] {
        let refused = staff.post_form("/admin/signout", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    // Another session's token is no better.
    let other = staff_member(&app, Role::Owner).await;
    let refused = staff
        .post_form("/admin/signout", &[("csrf_token", &other.csrf_token)])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(console_home(&staff).await, StatusCode::OK, "still signed in");
    assert_eq!(
        audit_len(&app),
        before + 3,
        "only the other member's enrolment and sign-in"
    );
}

#[actix_web::test]
async fn a_console_session_ends_after_fifteen_idle_minutes() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member(&app, Role::Support).await;
    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        console_home(&staff).await,
        StatusCode::OK,
        "used within 15 minutes"
    );
    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        console_home(&staff).await,
        StatusCode::OK,
        "each request moves the idle end on"
    );
    app.clock.advance(Duration::minutes(15));
    assert_eq!(console_home(&staff).await, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn the_same_totp_code_sent_in_ten_sign_ins_at_once_signs_in_at_most_once() {
    let Some(app) = spawn_app().await else { return };
    let token = add_staff(&app, "ann@shop.example", Role::Owner);
    let browser = app.new_browser();
    let (_, secret) = enrol(&app, &browser, &token).await;
    let code = code(&app, &secret, 1);
    let browsers: Vec<Browser> = (0..10).map(|_| app.new_browser()).collect();
    let mut tokens = Vec::new();
    for browser in &browsers {
        tokens.push(browser.csrf_token("/admin/signin").await);
    }
    let attempts = browsers.iter().zip(&tokens).map(|(browser, csrf)| {
        let code = code.as_str();
        async move {
            browser
                .post_form(
                    "/admin/signin",
                    &[
                        ("email", "ann@shop.example"),
                        ("password", STAFF_PASSWORD),
                        ("totp", code),
                        ("csrf_token", csrf.as_str()),
                    ],
                )
                .await
        }
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|response| response.status())
        .collect();
    let signed_in = statuses
        .iter()
        .filter(|status| **status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(signed_in, 1, "{statuses:?}");
    let sessions = app.sql_rows("SELECT token_hash FROM staff_sessions");
    assert_eq!(sessions.len(), 1);
}

#[actix_web::test]
async fn an_enrolment_link_used_twice_at_once_enrols_once() {
    let Some(app) = spawn_app().await else { return };
    let token = add_staff(&app, "ann@shop.example", Role::Owner);
    let path = format!("/admin/enrol/{token}");
    let browsers: Vec<Browser> = (0..2).map(|_| app.new_browser()).collect();
    let mut forms = Vec::new();
    for browser in &browsers {
        let html = browser.get_html(&path).await;
        forms.push((secret_on(&html), form_field(&html, "csrf_token").unwrap()));
    }
    let attempts = browsers.iter().zip(&forms).map(|(browser, (secret, csrf))| {
        let totp = code(&app, secret, 0);
        let path = path.clone();
        async move {
            browser
                .post_form(
                    &path,
                    &[
                        ("password", STAFF_PASSWORD),
                        ("password_confirm", STAFF_PASSWORD),
                        ("totp", totp.as_str()),
                        ("csrf_token", csrf.as_str()),
                    ],
                )
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let enrolled = statuses
        .iter()
        .filter(|status| **status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(enrolled, 1, "{statuses:?}");
    let entries = app.sql_rows("SELECT id FROM audit_entries WHERE action = 'staff.enrol'");
    assert_eq!(entries.len(), 1);
}

#[actix_web::test]
async fn an_enrolment_refuses_a_weak_or_unconfirmed_password_and_a_wrong_code() {
    let Some(app) = spawn_app().await else { return };
    let token = add_staff(&app, "ann@shop.example", Role::Owner);
    let browser = app.new_browser();
    let path = format!("/admin/enrol/{token}");
    let html = browser.get_html(&path).await;
    let (secret, csrf) = (secret_on(&html), form_field(&html, "csrf_token").unwrap());
    let right = code(&app, &secret, 0);
    let wrong = if right == "000000" {
        "111111".to_owned()
    } else {
        "000000".to_owned()
    };
    for (password, confirm, totp, says) in [
        ("short", "short", right.as_str(), "Password:"),
        (
            STAFF_PASSWORD,
            "something-else-entirely",
            right.as_str(),
            "confirmation",
        ),
        (STAFF_PASSWORD, STAFF_PASSWORD, wrong.as_str(), "Code:"),
    ] {
        let response = browser
            .post_form(
                &path,
                &[
                    ("password", password),
                    ("password_confirm", confirm),
                    ("totp", totp),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains(says), "{says}");
    }
    assert!(
        app.sql_rows("SELECT id FROM staff WHERE password_hash IS NOT NULL")
            .is_empty()
    );
}

#[actix_web::test]
async fn a_sign_in_returns_to_the_console_page_asked_for_and_never_elsewhere() {
    let Some(app) = spawn_app().await else { return };
    let asked = app.get("/admin?from=link").await;
    assert_eq!(location(&asked), "/admin/signin?return_to=%2Fadmin%3Ffrom%3Dlink");
    let mut landed = Vec::new();
    for (who, return_to) in [
        ("ann@shop.example", "//evil.example/admin"),
        ("bob@shop.example", "/admin?from=link"),
    ] {
        let token = add_staff(&app, who, Role::Owner);
        let browser = app.new_browser();
        let (_, secret) = enrol(&app, &browser, &token).await;
        let csrf = browser.csrf_token("/admin/signin").await;
        let response = browser
            .post_form(
                "/admin/signin",
                &[
                    ("email", who),
                    ("password", STAFF_PASSWORD),
                    ("totp", &code(&app, &secret, 1)),
                    ("return_to", return_to),
                    ("csrf_token", &csrf),
                ],
            )
            .await;
        landed.push(location(&response).to_owned());
    }
    assert_eq!(landed, ["/admin", "/admin?from=link"]);
    for (asked, lands) in [
        ("/balance", "/admin"),
        ("/admin/signin", "/admin"),
        ("/administrator", "/admin"),
        ("/admin/../store/music", "/admin"),
        ("/admin/%2e%2e/balance", "/admin"),
        ("/admin/./customers", "/admin"),
        ("/admin/customers?q=a/../b", "/admin/customers?q=a/../b"),
    ] {
        assert_eq!(
            storecredit::routes::admin::signin::console_return_to(Some(asked)).as_str(),
            lands
        );
    }
}
