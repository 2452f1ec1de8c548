//! Reminders a week before credit expires (SPEC §9): one per credit, sent as
//! a server starts and by its sweeps, each with a one-click unsubscribe link
//! (RFC 8058) that a mail provider may POST without cookies; a GET only asks.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{
    Actor, AdjustmentReason, CreditKind, CreditSource, DisplayName, Email, Money, UserId,
};
use storecredit::store::Store;
use storecredit::store::credits::NewCredit;
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

/// What every reminder's subject says ("$5.00 of your store credit ends …").
const SUBJECT: &str = "of your store credit ends";

fn gift_card(cents: i64, expires_at: OffsetDateTime) -> NewCredit {
    NewCredit {
        kind: CreditKind::GiftCard,
        source: CreditSource::Grant,
        description: "Gift card".to_owned(),
        amount: Money::from_cents(cents),
        expires_at: Some(expires_at),
        code_redemption_id: None,
    }
}

fn grant(store: &Store, user: UserId, credit: &NewCredit, now: OffsetDateTime) {
    store
        .grant_credit(
            &Actor::command(),
            user,
            credit,
            &AdjustmentReason::parse("goodwill").unwrap(),
            now,
        )
        .expect("a granted credit");
}

/// Ann's account, with a gift card of $12.00 ending in five days.
fn ann_with_credit_ending_in_five_days(app: &TestApp) -> UserId {
    app.create_account("ann@example.com", "Ann");
    let now = app.clock.now();
    app.with_store(|store| {
        let ann = store
            .user_id_by_email(&Email::parse("ann@example.com").unwrap())
            .unwrap()
            .unwrap();
        grant(store, ann, &gift_card(1200, now + Duration::days(5)), now);
        ann
    })
}

/// Runs the sweep a server runs every hour, at the app's time now.
fn sweep(app: &TestApp) -> usize {
    let now = app.clock.now();
    app.with_store(|store| store.queue_expiry_reminders(now)).unwrap()
}

/// How many reminders the outbox holds.
fn reminders_queued(app: &TestApp) -> usize {
    app.with_store(|store| store.mail_page(false, None, 1000))
        .unwrap()
        .entries
        .iter()
        .filter(|mail| mail.kind == "expiry-reminder")
        .count()
}

/// The newest reminder mailed to `to`, as sent (other mail may come first).
async fn reminder_to(app: &TestApp, to: &str) -> String {
    for _ in 0..100 {
        let mail = app.mail_to(to).await;
        if mail.contains(SUBJECT) {
            return mail;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no reminder to {to}");
}

/// The link in a mail's `List-Unsubscribe: <…>` header.
fn unsubscribe_link(mail: &str) -> String {
    let start = mail
        .find("List-Unsubscribe: <")
        .expect("a List-Unsubscribe header")
        + "List-Unsubscribe: <".len();
    let end = start + mail[start..].find('>').expect("the header's closing >");
    mail[start..end].to_owned()
}

fn path_of(app: &TestApp, link: &str) -> String {
    link.strip_prefix(&app.address)
        .unwrap_or_else(|| panic!("{link} points at the site"))
        .to_owned()
}

fn reminders_on(app: &TestApp, user: UserId) -> bool {
    app.with_store(|store| store.reminders_on(user)).unwrap()
}

/// A mail provider's RFC 8058 one-click POST: from its own servers, with no
/// cookies and no CSRF token, saying where it comes from.
async fn one_click(app: &TestApp, link: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://mail.example")
        .header("sec-fetch-site", "cross-site")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{link} answered: {e} ({})", app.address))
}

#[actix_web::test]
async fn credit_expiring_in_five_days_is_mailed_one_reminder_with_one_click_unsubscribe_headers() {
    let Some(app) = spawn_app().await else { return };
    ann_with_credit_ending_in_five_days(&app);

    assert_eq!(sweep(&app), 1);
    let mail = reminder_to(&app, "ann@example.com").await;

    assert!(mail.contains("$12.00"), "{mail}");
    assert!(mail.contains("Everything (gift card)"), "{mail}");
    let link = unsubscribe_link(&mail);
    assert!(
        link.starts_with(&format!("{}/mail/unsubscribe/", app.address)),
        "{link}"
    );
    assert!(
        mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("{}/account/credit", app.address)),
        "{mail}"
    );

    // Swept again (another server, the next hour, the next day): no second one.
    assert_eq!(sweep(&app), 0);
    app.clock.advance(Duration::days(1));
    assert_eq!(sweep(&app), 0);
    assert_eq!(reminders_queued(&app), 1);
}

#[actix_web::test]
async fn a_server_sweeps_for_reminders_as_it_starts() {
    let Some(app) = spawn_app_on(|database| {
        let store = Store::open_location(database).expect("the database opens");
        let now = OffsetDateTime::now_utc();
        let bo = store
            .create_user(
                &Email::parse("bo@example.com").unwrap(),
                &DisplayName::parse("Bo").unwrap(),
                "not-a-password-hash",
                now,
            )
            .unwrap();
        grant(&store, bo, &gift_card(700, now + Duration::days(3)), now);
        store
    })
    .await
    else {
        return;
    };

    let mail = reminder_to(&app, "bo@example.com").await;
    assert!(mail.contains("$7.00"), "{mail}");
    assert!(
        unsubscribe_link(&mail).starts_with(&format!("{}/mail/unsubscribe/", app.address)),
        "the link points at the server that swept: {mail}"
    );
}

#[actix_web::test]
async fn a_one_click_post_without_cookies_stops_reminders_for_good() {
    let Some(app) = spawn_app().await else { return };
    let ann = ann_with_credit_ending_in_five_days(&app);
    sweep(&app);
    let link = unsubscribe_link(&reminder_to(&app, "ann@example.com").await);

    let response = one_click(&app, &link).await;

    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("You will not get these reminders any more"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "action=\"{}\"",
            path_of(&app, &link).replace("unsubscribe", "resubscribe")
        )),
        "a button to turn them back on: {page}"
    );
    assert!(!reminders_on(&app, ann));

    // A new credit falls due two days later: no reminder of it.
    app.clock.advance(Duration::days(2));
    let now = app.clock.now();
    app.with_store(|store| grant(store, ann, &gift_card(900, now + Duration::days(4)), now));
    assert_eq!(sweep(&app), 0);
    assert_eq!(reminders_queued(&app), 1);
}

#[actix_web::test]
async fn opening_the_unsubscribe_link_only_asks() {
    let Some(app) = spawn_app().await else { return };
    let ann = ann_with_credit_ending_in_five_days(&app);
    sweep(&app);
    let path = path_of(
        &app,
        &unsubscribe_link(&reminder_to(&app, "ann@example.com").await),
    );

    // A mail scanner, then the shopper, open the link.
    let scanner = app.new_browser().get(&path).await;
    assert_eq!(scanner.status(), StatusCode::OK);
    let page = app.get_html(&path).await;

    assert!(
        page.contains("Stop reminders before your credit expires?"),
        "{page}"
    );
    assert!(
        page.contains(&format!("<form method=\"post\" action=\"{path}\"")),
        "{page}"
    );
    assert!(reminders_on(&app, ann), "a GET changes nothing");
    let token = path.rsplit('/').next().unwrap();
    assert_eq!(
        page.matches(token).count(),
        1,
        "the token is in the form alone, not in the sign-in link: {page}"
    );
}

#[actix_web::test]
async fn a_forged_or_malformed_token_is_the_styled_404_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let ann = ann_with_credit_ending_in_five_days(&app);
    sweep(&app);
    let link = unsubscribe_link(&reminder_to(&app, "ann@example.com").await);
    let real = path_of(&app, &link);
    let token = real.rsplit('/').next().unwrap().to_owned();
    let mut forged_token = token.clone().into_bytes();
    forged_token[0] = if forged_token[0] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged_token).unwrap();

    let forged_path = format!("/mail/unsubscribe/{forged}");
    let get = app.new_browser().get(&forged_path).await;
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    assert!(
        get.text().await.unwrap().contains("find that page"),
        "the styled 404"
    );
    let post = one_click(&app, &app.url(&forged_path)).await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);

    for path in [
        format!("/mail/unsubscribe/{}", &token[..31]),
        format!("/mail/unsubscribe/{token}x"),
        format!("/mail/unsubscribe/{}!", &token[..31]),
        format!("/mail/unsubscribe/{token}/x"),
        "/mail/unsubscribe/%00".to_owned(),
    ] {
        let get = app.new_browser().get(&path).await;
        assert_eq!(get.status(), StatusCode::NOT_FOUND, "GET {path}");
        assert!(
            get.text().await.unwrap().contains("find that page"),
            "styled: {path}"
        );
        // From a browser on the site; from elsewhere a malformed token is not
        // even let through the cross-site check.
        let post = app
            .new_browser()
            .post_form(&path, &[("List-Unsubscribe", "One-Click")])
            .await;
        assert_eq!(post.status(), StatusCode::NOT_FOUND, "POST {path}");
        let cross_site = one_click(&app, &app.url(&path)).await;
        assert!(
            matches!(cross_site.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "POST {path} from elsewhere: {}",
            cross_site.status()
        );
    }
    let resubscribe = app
        .new_browser()
        .post_form(&format!("/mail/resubscribe/{forged}"), &[])
        .await;
    assert_eq!(resubscribe.status(), StatusCode::NOT_FOUND);
    assert!(reminders_on(&app, ann));
}

#[actix_web::test]
async fn turning_reminders_back_on_sends_the_next_one() {
    let Some(app) = spawn_app().await else { return };
    let ann = ann_with_credit_ending_in_five_days(&app);
    sweep(&app);
    let link = unsubscribe_link(&reminder_to(&app, "ann@example.com").await);
    let path = path_of(&app, &link);
    let browser = app.new_browser();
    assert_eq!(
        browser
            .post_form(&path, &[("List-Unsubscribe", "One-Click")])
            .await
            .status(),
        StatusCode::OK
    );
    assert!(!reminders_on(&app, ann));

    let resubscribe_path = path.replace("unsubscribe", "resubscribe");
    let response = browser.post_form(&resubscribe_path, &[]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Reminders are on again"), "{page}");
    assert!(
        page.contains(&format!("action=\"{path}\"")),
        "and a button to stop them again: {page}"
    );
    assert!(reminders_on(&app, ann));
    app.clock.advance(Duration::days(2));
    let now = app.clock.now();
    app.with_store(|store| grant(store, ann, &gift_card(900, now + Duration::days(4)), now));
    assert_eq!(sweep(&app), 1);
    let second = reminder_to(&app, "ann@example.com").await;
    assert_eq!(unsubscribe_link(&second), link, "the same link in every reminder");
}

#[actix_web::test]
async fn turning_reminders_back_on_from_another_site_is_refused() {
    let Some(app) = spawn_app().await else { return };
    let ann = ann_with_credit_ending_in_five_days(&app);
    sweep(&app);
    let link = unsubscribe_link(&reminder_to(&app, "ann@example.com").await);
    one_click(&app, &link).await;

    // Only the one-click unsubscribe is let through from elsewhere.
    let cross_site = one_click(&app, &link.replace("unsubscribe", "resubscribe")).await;

    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert!(!reminders_on(&app, ann));
}

#[actix_web::test]
async fn many_one_click_posts_at_once_all_answer_and_leave_reminders_off() {
    let Some(app) = spawn_app().await else { return };
    let ann = ann_with_credit_ending_in_five_days(&app);
    sweep(&app);
    let link = unsubscribe_link(&reminder_to(&app, "ann@example.com").await);

    let answers = join_all((0..12).map(|_| one_click(&app, &link))).await;

    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert!(!reminders_on(&app, ann));
}

#[actix_web::test]
async fn a_shopper_turns_reminders_off_and_on_from_their_credit_activity() {
    let Some(app) = spawn_app().await else { return };
    let browser = app.new_shopper("cy@example.com").await;
    let cy = app
        .with_store(|store| store.user_id_by_email(&Email::parse("cy@example.com").unwrap()))
        .unwrap()
        .unwrap();
    let page = browser.get_html("/account/credit").await;
    assert!(page.contains("data-reminders=\"on\""), "{page}");
    let token = form_field(&page, "csrf_token").unwrap();

    // Without the page's token, nothing changes.
    for forged in [None, Some("forged-token")] {
        let mut form = vec![("reminders", "off")];
        if let Some(forged) = forged {
            form.push(("csrf_token", forged));
        }
        let refused = browser.post_form("/account/reminders", &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    assert!(reminders_on(&app, cy));

    let off = browser
        .post_form(
            "/account/reminders",
            &[("reminders", "off"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(location(&off), "/account/credit");
    let page = browser.follow(&off).await;
    assert!(page.contains("data-reminders=\"off\""), "{page}");
    assert!(
        page.contains("You will not get reminders before your credit expires."),
        "{page}"
    );
    assert!(!reminders_on(&app, cy));

    let on = browser
        .post_form(
            "/account/reminders",
            &[("reminders", "on"), ("csrf_token", &token)],
        )
        .await;
    assert!(browser.follow(&on).await.contains("data-reminders=\"on\""));
    assert!(reminders_on(&app, cy));
}
