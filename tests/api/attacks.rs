//! Attacks sent as an attacker would send them: many requests at once with one
//! cookie, bursts of guesses, floods from anonymous visitors (SPEC §6).
//!
//! Every route that changes state is raced with two or more requests at once on
//! the same session, and the invariant asserted:
//! - `POST /signout`: requests in flight during it never bring the session back
//!   (`requests_in_flight_during_sign_out_never_sign_the_session_back_in`);
//! - `POST /account/password`: other sessions' requests in flight stay signed out
//!   (`requests_in_flight_during_a_password_change_never_keep_another_session`),
//!   and two changes at once leave exactly one password working
//!   (`two_password_changes_at_once_leave_one_password_that_works`);
//! - `POST /redeem`: parallel redemptions of one code by one session make one
//!   credit (`the_same_code_redeemed_ten_times_at_once_by_one_session_counts_once`;
//!   caps across shoppers are in `concurrency.rs`);
//! - `POST /checkout/{id}`: one key in parallel is one order, credit never spent
//!   twice (`concurrency.rs`), a key reused for another order is refused
//!   (`checkout.rs`);
//! - `POST /account/payment`: parallel card changes leave exactly one default
//!   card (`parallel_card_changes_leave_exactly_one_default_card`);
//! - `POST /register`: the same registration sent at once mails at most three
//!   links, of which one makes the account
//!   (`the_same_registration_sent_ten_times_at_once_mails_three_links_and_makes_one_account`);
//!   `POST /register/confirm/{token}`: one link pressed at once makes one account
//!   (`registration.rs`);
//! - `POST /signin`: a burst of guesses is limited like the same guesses one by
//!   one (`a_burst_of_wrong_passwords_gets_at_most_five_checks`), and sign-ins
//!   still checking the old password when it changes leave no session
//!   (`sign_ins_in_flight_during_a_password_change_leave_no_session`);
//! - `POST /password/reset/{token}`: one link used three times at once sets one
//!   password (`password_reset.rs`); `POST /password/forgot` is throttled per
//!   e-mail and address (`password_reset.rs`).

use std::time::{Duration as StdDuration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use crate::helpers::*;

/// A cookie-less client that sends exactly the `Cookie` header it is given, so a
/// test can replay one session from many places and keep every cookie it is sent.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The session cookies (`name=value`) a response sets, if any.
fn session_cookies_set(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter(|value| value.starts_with("storecredit="))
        .filter_map(|value| value.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// Sends `rounds` GETs of `path` with `cookie` from `clients` clients at once and
/// returns every session cookie the server answered with.
async fn hammer(app: &TestApp, path: &str, cookie: &str, clients: usize, rounds: usize) -> Vec<String> {
    let one = |_| {
        let (client, url, cookie) = (raw_client(), app.url(path), cookie.to_owned());
        async move {
            let mut minted = Vec::new();
            for _ in 0..rounds {
                let response = client.get(&url).header("cookie", &cookie).send().await.unwrap();
                minted.extend(session_cookies_set(&response));
            }
            minted
        }
    };
    join_all((0..clients).map(one))
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Whether `cookie` opens the pop-up (a signed-in session).
async fn opens_the_popup(app: &TestApp, cookie: &str) -> bool {
    let response = raw_client()
        .get(app.url("/balance"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

/// Posts every form in `forms` to `path` at the same time, all with `browser`'s one
/// session, and returns the statuses of the answers in order.
async fn all_at_once(
    browser: &Browser,
    path: &str,
    forms: Vec<Vec<(&'static str, String)>>,
) -> Vec<StatusCode> {
    let post = |form: Vec<(&'static str, String)>| {
        let browser = browser.clone();
        async move {
            let fields: Vec<(&str, &str)> =
                form.iter().map(|(name, value)| (*name, value.as_str())).collect();
            browser.post_form(path, &fields).await.status()
        }
    };
    join_all(forms.into_iter().map(post)).await
}

/// How many of `statuses` are `status`.
fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[actix_web::test]
async fn requests_in_flight_during_sign_out_never_sign_the_session_back_in() {
    let Some(app) = spawn_app().await else { return };
    for round in 0..5 {
        let browser = app.new_browser();
        browser.sign_in_as_demo().await;
        let cookie = browser.cookie_header();
        let token = browser.csrf_token("/orders").await;
        // Pages that show a flash message, and so used to write the session on every view.
        let in_flight = async {
            let mut minted = hammer(&app, "/redeem", &cookie, 3, 8).await;
            minted.extend(hammer(&app, "/account/payment", &cookie, 2, 8).await);
            minted
        };
        let sign_out = async {
            actix_web::rt::time::sleep(StdDuration::from_millis(5)).await;
            let response = browser.post_form("/signout", &[("csrf_token", &token)]).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        };
        let (minted, ()) = futures::join!(in_flight, sign_out);
        assert!(
            !opens_the_popup(&app, &cookie).await,
            "round {round}: the old cookie"
        );
        for cookie in minted {
            assert!(
                !opens_the_popup(&app, &cookie).await,
                "round {round}: a cookie minted while signing out opens the pop-up"
            );
        }
    }
}

#[actix_web::test]
async fn requests_in_flight_during_a_password_change_never_keep_another_session() {
    let Some(app) = spawn_app().await else { return };
    let laptop = app.new_shopper("ann@example.com").await;
    let passwords = [
        ACCOUNT_PASSWORD,
        "copper kettle mountain",
        "amber lighthouse willow",
    ];
    for round in 0..4 {
        let (current, new) = (passwords[round % 3], passwords[(round + 1) % 3]);
        let stolen = app.new_browser();
        stolen.sign_in("ann@example.com", current, "/").await;
        let stolen_cookie = stolen.cookie_header();
        let token = laptop.csrf_token("/account/password").await;

        let in_flight = hammer(&app, "/redeem", &stolen_cookie, 3, 10);
        let change = async {
            actix_web::rt::time::sleep(StdDuration::from_millis(5)).await;
            laptop
                .post_form(
                    "/account/password",
                    &[
                        ("current_password", current),
                        ("new_password", new),
                        ("csrf_token", &token),
                    ],
                )
                .await
        };
        let (minted, changed) = futures::join!(in_flight, change);
        assert_eq!(changed.status(), StatusCode::SEE_OTHER, "round {round}");
        assert!(!opens_the_popup(&app, &stolen_cookie).await, "round {round}");
        for cookie in minted {
            assert!(
                !opens_the_popup(&app, &cookie).await,
                "round {round}: a cookie minted meanwhile"
            );
        }
        assert_eq!(laptop.get("/balance").await.status(), StatusCode::OK);
    }
}

#[actix_web::test]
async fn an_ended_session_stays_anonymous_on_pages_that_read_a_flash() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let cookie = app.cookie_header();
    let token = app.csrf_token("/orders").await;
    app.post_form("/signout", &[("csrf_token", &token)]).await;
    for path in ["/redeem", "/account/password", "/account/payment"] {
        let response = raw_client()
            .get(app.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(session_cookies_set(&response), Vec::<String>::new(), "{path}");
    }
}

#[actix_web::test]
async fn reading_an_absent_flash_writes_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let before = session_rows(&app);
    for path in ["/redeem", "/account/password", "/account/payment"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(session_cookies_set(&response), Vec::<String>::new(), "{path}");
    }
    assert_eq!(session_rows(&app), before, "no session was written");
}

/// Every session row, as `[key, state]`: no use case lists them.
fn session_rows(app: &TestApp) -> Vec<Vec<String>> {
    app.sql_rows("SELECT key, state FROM sessions ORDER BY key")
}

#[actix_web::test]
async fn a_burst_of_wrong_passwords_gets_at_most_five_checks() {
    let Some(app) = spawn_app().await else { return };
    let attacker = app.new_browser();
    let token = attacker.csrf_token("/signin").await;
    let guesses = (0..30)
        .map(|n| {
            vec![
                ("email", DEMO_EMAIL.to_owned()),
                ("password", format!("guess-number-{n}")),
                ("csrf_token", token.clone()),
            ]
        })
        .collect();
    let statuses = all_at_once(&attacker, "/signin", guesses).await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(checked <= 5, "{checked} guesses were checked: {statuses:?}");
    assert_eq!(
        checked + count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        30,
        "{statuses:?}"
    );
    // The account is paused: even the right password waits.
    let right = app.new_browser().sign_in(DEMO_EMAIL, DEMO_PASSWORD, "/").await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A NUL or another control character in the e-mail typed is a wrong sign-in
/// like any other, counted like any other, on every engine (PostgreSQL's text
/// cannot hold a NUL at all).
#[actix_web::test]
async fn an_email_with_a_nul_in_it_is_a_wrong_sign_in_and_is_throttled() {
    let Some(app) = spawn_app().await else { return };
    let attacker = app.new_browser();
    let token = attacker.csrf_token("/signin").await;
    let mut statuses = Vec::new();
    for n in 0..8 {
        let response = attacker
            .post_form(
                "/signin",
                &[
                    ("email", "x\u{0}@example.com"),
                    ("password", &format!("guess-number-{n}")),
                    ("csrf_token", &token),
                ],
            )
            .await;
        statuses.push(response.status());
    }
    assert_eq!(count(&statuses, StatusCode::UNAUTHORIZED), 5, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 3, "{statuses:?}");
}

#[actix_web::test]
async fn a_burst_across_accounts_from_one_address_gets_at_most_thirty_checks() {
    let Some(app) = spawn_app().await else { return };
    let attacker = app.new_browser();
    let token = attacker.csrf_token("/signin").await;
    let guesses = (0..45)
        .map(|n| {
            vec![
                ("email", format!("user{n}@example.com")),
                ("password", "spray-password-1".to_owned()),
                ("csrf_token", token.clone()),
            ]
        })
        .collect();
    let statuses = all_at_once(&attacker, "/signin", guesses).await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(checked <= 30, "{checked} guesses were checked");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 45 - checked);
}

#[actix_web::test]
async fn anonymous_page_views_store_nothing() {
    let Some(app) = spawn_app().await else { return };
    let client = raw_client();
    for _ in 0..50 {
        for path in ["/signin", "/register", HELP_PATH, "/"] {
            let response = client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(session_cookies_set(&response), Vec::<String>::new(), "{path}");
        }
    }
    assert_eq!(session_rows(&app), Vec::<Vec<String>>::new());
    // The forms still work: a visitor signs in with the token the page gave.
    app.sign_in_as_demo().await;
    assert_eq!(session_rows(&app).len(), 1);
}

/// Four anonymous clients post registrations whose passwords are the most costly
/// kind for the strength estimator, with an invalid e-mail (so no hash is made);
/// the health check meanwhile must still answer promptly.
#[actix_web::test]
async fn costly_passwords_from_anonymous_clients_do_not_starve_the_server() {
    // Many addresses would each have their own allowance: lift this one's.
    let Some(app) =
        spawn_app_with(|settings| settings.throttle.registrations_per_address.max_attempts = 10_000).await
    else {
        return;
    };
    let costly: String = "4@8({[<369!|170$5+7%2".chars().cycle().take(128).collect();
    let deadline = Instant::now() + StdDuration::from_secs(6);
    let flood = |n: usize| {
        let (browser, costly) = (app.new_browser(), costly.clone());
        async move {
            let token = browser.csrf_token("/register").await;
            let mut sent = 0;
            while Instant::now() < deadline {
                let response = browser
                    .post_form(
                        "/register",
                        &[
                            ("name", "Flood"),
                            ("email", &format!("not-an-email-{n}")),
                            ("password", &costly),
                            ("csrf_token", &token),
                        ],
                    )
                    .await;
                assert!(response.status().is_client_error() || response.status().is_server_error());
                sent += 1;
            }
            sent
        }
    };
    let probe = async {
        actix_web::rt::time::sleep(StdDuration::from_millis(500)).await;
        let client = raw_client();
        let mut slowest = StdDuration::ZERO;
        while Instant::now() + StdDuration::from_secs(1) < deadline {
            let started = Instant::now();
            let response = client.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            slowest = slowest.max(started.elapsed());
            actix_web::rt::time::sleep(StdDuration::from_millis(100)).await;
        }
        slowest
    };
    let (sent, slowest) = futures::join!(join_all((0..4).map(flood)), probe);
    assert!(sent.iter().sum::<usize>() > 0);
    // Generous for a loaded debug build; a starved worker takes seconds.
    assert!(
        slowest < StdDuration::from_millis(750),
        "/healthz took {slowest:?} under the flood"
    );
}

#[actix_web::test]
async fn a_burst_of_code_guesses_is_throttled_per_account() {
    let Some(app) = spawn_app().await else { return };
    let guesser = app.new_shopper("guesser@example.com").await;
    let token = guesser.csrf_token("/redeem").await;
    let guesses = (0..25)
        .map(|n| {
            vec![
                ("code", format!("GIFT-GUESS-{n:04}")),
                ("csrf_token", token.clone()),
            ]
        })
        .collect();
    let statuses = all_at_once(&guesser, "/redeem", guesses).await;
    let checked = count(&statuses, StatusCode::BAD_REQUEST);
    assert!(checked <= 10, "{checked} code guesses were checked: {statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 25 - checked);
    // Paused for codes, even a real one, and at checkout too.
    assert_eq!(
        guesser.redeem("GIFT-20").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let product = app.product_id("Lanterns Over Harbor Street");
    let preview = guesser
        .get(&format!("/checkout/{product}?promo_code=VIDEO-5"))
        .await;
    assert_eq!(preview.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn code_guesses_at_checkout_count_too() {
    let Some(app) = spawn_app().await else { return };
    let guesser = app.new_shopper("guesser@example.com").await;
    let product = app.product_id("Lanterns Over Harbor Street");
    let mut statuses = Vec::new();
    for n in 0..12 {
        let response = guesser
            .get(&format!("/checkout/{product}?promo_code=GUESS-{n:04}"))
            .await;
        statuses.push(response.status());
    }
    assert_eq!(statuses[..10], [StatusCode::BAD_REQUEST; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 2], "{statuses:?}");
}

/// Twelve current-password guesses at once from `browser`, signed in as
/// `ann@example.com`: the answers.
async fn current_password_guesses(browser: &Browser) -> Vec<StatusCode> {
    let token = browser.csrf_token("/account/password").await;
    let guesses = (0..12)
        .map(|n| {
            vec![
                ("current_password", format!("maybe-this-{n}")),
                ("new_password", "copper kettle mountain".to_owned()),
                ("csrf_token", token.clone()),
            ]
        })
        .collect();
    let statuses = all_at_once(browser, "/account/password", guesses).await;
    let checked = count(&statuses, StatusCode::BAD_REQUEST);
    assert!(
        checked <= 5,
        "{checked} current-password guesses were checked: {statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 12 - checked);
    statuses
}

#[actix_web::test]
async fn wrong_current_passwords_are_throttled_like_sign_ins() {
    let Some(app) = spawn_app().await else { return };
    let thief = app.new_shopper("ann@example.com").await;
    current_password_guesses(&thief).await;
    // They count as failed sign-ins from that browser (its device cookie, issue
    // 27): it is paused, while the owner's other browsers are not.
    let again = thief.sign_in("ann@example.com", ACCOUNT_PASSWORD, "/").await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    let owner = app
        .new_browser()
        .sign_in("ann@example.com", ACCOUNT_PASSWORD, "/")
        .await;
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
}

/// A browser holding only `victim`'s session cookie, as a thief replaying it
/// elsewhere would: no device cookie with it.
fn stolen_session(app: &TestApp, victim: &Browser) -> Browser {
    let session = victim
        .cookie_header()
        .split("; ")
        .find(|pair| pair.starts_with("storecredit="))
        .expect("a session cookie")
        .to_owned();
    let thief = app.new_browser();
    thief
        .cookies
        .add_cookie_str(&session, &app.address.parse().unwrap());
    thief
}

#[actix_web::test]
async fn wrong_current_passwords_through_a_stolen_session_cookie_count_against_the_account() {
    let Some(app) = spawn_app().await else { return };
    let victim = app.new_shopper("ann@example.com").await;
    let thief = stolen_session(&app, &victim);
    current_password_guesses(&thief).await;
    let owner = app
        .new_browser()
        .sign_in("ann@example.com", ACCOUNT_PASSWORD, "/")
        .await;
    assert_eq!(owner.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn registrations_are_limited_per_address() {
    let Some(app) = spawn_app().await else { return };
    let mut statuses = Vec::new();
    for n in 0..12 {
        let visitor = app.new_browser();
        let token = visitor.csrf_token("/register").await;
        let email = format!("new{n}@example.com");
        let response = visitor
            .post_form(
                "/register",
                &[
                    ("name", "New"),
                    ("email", email.as_str()),
                    ("password", "velvet harbor lantern"),
                    ("csrf_token", &token),
                ],
            )
            .await;
        statuses.push(response.status());
    }
    assert_eq!(statuses[..10], [StatusCode::OK; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [StatusCode::TOO_MANY_REQUESTS; 2], "{statuses:?}");
}

#[actix_web::test]
async fn the_same_registration_sent_ten_times_at_once_mails_three_links_and_makes_one_account() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.new_browser();
    let token = visitor.csrf_token("/register").await;
    let form = vec![
        ("name", "Twin".to_owned()),
        ("email", "twin@example.com".to_owned()),
        ("password", "velvet harbor lantern".to_owned()),
        ("csrf_token", token),
    ];
    let statuses = all_at_once(&visitor, "/register", vec![form; 10]).await;
    // Each one sends a mail: three an hour to one address.
    assert_eq!(count(&statuses, StatusCode::OK), 3, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 7, "{statuses:?}");
    app.next_mail_to("twin@example.com", 2).await;
    let links: Vec<String> = app
        .mails_to("twin@example.com")
        .iter()
        .map(|mail| confirmation_path(mail))
        .collect();
    assert_eq!(links.len(), 3);
    let presses = links.iter().map(|path| {
        let browser = app.new_browser();
        async move {
            let token = browser.csrf_token(path).await;
            browser
                .post_form(
                    path,
                    &[("password", "velvet harbor lantern"), ("csrf_token", &token)],
                )
                .await
                .status()
        }
    });
    let pressed = join_all(presses).await;
    assert_eq!(count(&pressed, StatusCode::SEE_OTHER), 1, "{pressed:?}");
    assert_eq!(count(&pressed, StatusCode::CONFLICT), 2, "{pressed:?}");
    let accounts = app
        .with_store(|store| store.list_accounts(Some("twin@example.com")))
        .unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
}

#[actix_web::test]
async fn the_same_code_redeemed_ten_times_at_once_by_one_session_counts_once() {
    let Some(app) = spawn_app().await else { return };
    let shopper = app.new_shopper("ann@example.com").await;
    let token = shopper.csrf_token("/redeem").await;
    let form = vec![("code", "GIFT-20".to_owned()), ("csrf_token", token)];
    let statuses = all_at_once(&shopper, "/redeem", vec![form; 10]).await;
    assert_eq!(count(&statuses, StatusCode::SEE_OTHER), 1, "{statuses:?}");
    assert_eq!(shopper.balance("gift-card").await, "$20.00");
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn parallel_card_changes_leave_exactly_one_default_card() {
    let Some(app) = spawn_app().await else { return };
    let shopper = app.new_shopper("ann@example.com").await;
    let token = shopper.csrf_token("/account/payment").await;
    let cards = [
        "4242424242424242",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
    ];
    let forms = cards
        .iter()
        .chain(&cards)
        .map(|number| vec![("card_number", number.to_string()), ("csrf_token", token.clone())])
        .collect();
    let statuses = all_at_once(&shopper, "/account/payment", forms).await;
    assert_eq!(count(&statuses, StatusCode::SEE_OTHER), 8, "{statuses:?}");
    // The store shows one default card whatever the rows say: count the rows.
    let defaults = app.sql_rows(
        "SELECT count(*) FROM payment_methods p JOIN users u ON u.id = p.user_id
         WHERE u.email = 'ann@example.com' AND p.is_default",
    );
    assert_eq!(defaults, [["1"]]);
    assert_eq!(shopper.get("/balance").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn two_password_changes_at_once_leave_one_password_that_works() {
    let Some(app) = spawn_app().await else { return };
    let ann = app.new_shopper("ann@example.com").await;
    let token = ann.csrf_token("/account/password").await;
    let news = ["copper kettle mountain", "amber lighthouse willow"];
    let forms = news
        .iter()
        .map(|new| {
            vec![
                ("current_password", ACCOUNT_PASSWORD.to_owned()),
                ("new_password", new.to_string()),
                ("csrf_token", token.clone()),
            ]
        })
        .collect();
    let statuses = all_at_once(&ann, "/account/password", forms).await;
    assert!(
        statuses.contains(&StatusCode::SEE_OTHER),
        "at least one change went through: {statuses:?}"
    );
    let mut working = 0;
    for password in news.iter().chain(&[ACCOUNT_PASSWORD]) {
        let response = app.new_browser().sign_in("ann@example.com", password, "/").await;
        if response.status() == StatusCode::SEE_OTHER {
            working += 1;
        }
    }
    assert_eq!(working, 1, "exactly one password signs in");
}

#[actix_web::test]
async fn a_visitor_cookie_the_server_did_not_sign_is_worthless() {
    let Some(app) = spawn_app().await else { return };
    let forged = "made-up-token-of-forty-three-characters-xyz";
    let response = raw_client()
        .post(app.url("/signin"))
        .header("cookie", format!("storecredit-csrf={forged}"))
        .form(&[
            ("email", DEMO_EMAIL),
            ("password", DEMO_PASSWORD),
            ("csrf_token", forged),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(session_rows(&app), Vec::<Vec<String>>::new());

    // Nor does a real cookie carry another visitor's token.
    let other = app.new_browser();
    let others_token = other.csrf_token("/signin").await;
    let mine = app.new_browser();
    mine.csrf_token("/signin").await;
    let response = mine
        .post_form(
            "/signin",
            &[
                ("email", DEMO_EMAIL),
                ("password", DEMO_PASSWORD),
                ("csrf_token", &others_token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn behind_a_proxy_that_rewrites_host_the_public_origin_may_post() {
    let Some(app) =
        spawn_app_with(|settings| settings.public_origin = Some("https://shop.example".to_owned())).await
    else {
        return;
    };
    let visitor = app.new_browser();
    let token = visitor.csrf_token("/signin").await;
    let post_from = |origin: &'static str| {
        let (visitor, token) = (visitor.clone(), token.clone());
        async move {
            visitor
                .client
                .post(visitor.url("/signin"))
                .header("origin", origin)
                .form(&[
                    ("email", DEMO_EMAIL),
                    ("password", DEMO_PASSWORD),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post_from("https://evil.example").await, StatusCode::FORBIDDEN);
    assert_eq!(post_from("https://shop.example").await, StatusCode::SEE_OTHER);
}

/// Someone who knows the old password keeps signing in while the owner changes
/// it: no sign-in that checked the old password may leave a working session.
/// Sign-ins arrive faster than the hashing threads check them, so when the change
/// commits, many have read the old password and wait to check it.
#[actix_web::test]
async fn sign_ins_in_flight_during_a_password_change_leave_no_session() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let Some(app) = spawn_app_with(|settings| {
        settings.throttle.signin_per_account.max_attempts = 10_000;
        settings.throttle.signin_per_address.max_attempts = 10_000;
    })
    .await
    else {
        return;
    };
    let owner = app.new_shopper("ann@example.com").await;
    let token = owner.csrf_token("/account/password").await;
    let changed = Arc::new(AtomicBool::new(false));
    let intrude = {
        let (app_url, changed) = (app.address.clone(), changed.clone());
        async move {
            let mut intruders = Vec::new();
            // At most 300: many more than the hashing threads can check at once,
            // so the race is there, yet not so many that the server must shed
            // load (a 503 for the change too) on a slow engine or a busy machine.
            while !changed.load(Ordering::SeqCst) && intruders.len() < 300 {
                let intruder = Browser::new(&app_url);
                let token = intruder.csrf_token("/signin").await;
                let signing_in = intruder.clone();
                let answered = actix_web::rt::spawn(async move {
                    signing_in
                        .post_form(
                            "/signin",
                            &[
                                ("email", "ann@example.com"),
                                ("password", ACCOUNT_PASSWORD),
                                ("csrf_token", &token),
                            ],
                        )
                        .await
                        .status()
                });
                intruders.push((intruder, answered));
                actix_web::rt::time::sleep(StdDuration::from_millis(3)).await;
            }
            let mut signed_in = Vec::new();
            for (intruder, answered) in intruders {
                if answered.await.unwrap() == StatusCode::SEE_OTHER {
                    signed_in.push(intruder);
                }
            }
            signed_in
        }
    };
    let change = async {
        actix_web::rt::time::sleep(StdDuration::from_millis(30)).await;
        // A server shedding load answers 503 with Retry-After, and the owner tries
        // again, as a browser's user would: the change lands while sign-ins are
        // still arriving or waiting to be checked.
        let mut status = StatusCode::SERVICE_UNAVAILABLE;
        for _ in 0..5 {
            status = owner
                .post_form(
                    "/account/password",
                    &[
                        ("current_password", ACCOUNT_PASSWORD),
                        ("new_password", "copper kettle mountain"),
                        ("csrf_token", &token),
                    ],
                )
                .await
                .status();
            if status != StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            actix_web::rt::time::sleep(StdDuration::from_millis(500)).await;
        }
        changed.store(true, Ordering::SeqCst);
        status
    };
    let (signed_in, status) = futures::join!(intrude, change);
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!signed_in.is_empty(), "the old password was still being checked");
    for (n, intruder) in signed_in.iter().enumerate() {
        assert_eq!(
            intruder.get("/balance").await.status(),
            StatusCode::SEE_OTHER,
            "intruder {n} of {} kept a session after the password changed",
            signed_in.len()
        );
    }
    assert_eq!(owner.get("/balance").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn wrong_current_passwords_count_against_the_address_too() {
    let Some(app) = spawn_app_with(|settings| settings.throttle.signin_per_address.max_attempts = 8).await
    else {
        return;
    };
    // Stolen session cookies, replayed from one address without the victims'
    // device cookies.
    let mut thieves = Vec::new();
    for n in 0..3 {
        let victim = app.new_shopper(&format!("victim{n}@example.com")).await;
        thieves.push(stolen_session(&app, &victim));
    }
    let mut statuses = Vec::new();
    for thief in &thieves {
        let token = thief.csrf_token("/account/password").await;
        for _ in 0..4 {
            let response = thief
                .post_form(
                    "/account/password",
                    &[
                        ("current_password", "a-wrong-guess"),
                        ("new_password", "copper kettle mountain"),
                        ("csrf_token", &token),
                    ],
                )
                .await;
            statuses.push(response.status());
        }
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    assert_eq!(checked, 8, "{statuses:?}");
}
