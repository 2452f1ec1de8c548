//! Gift cards for sale (SPEC §9): bought by card alone for someone's address,
//! mailed on the delivery day with a code the recipient redeems, and refunded
//! (voiding the code) only before redemption.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{Actor, AdjustmentReason, Email, Role, UserId};
use storecredit::store::orders::{RefundError, RefundRequest};
use time::Duration;

use crate::console::staff_member;
use crate::helpers::{Browser, DEMO_EMAIL, TestApp, form_field, location, spawn_app};

const FRIEND: &str = "friend@example.com";

fn account(app: &TestApp, email: &str) -> UserId {
    app.with_store(|store| store.user_id_by_email(&Email::parse(email).unwrap()))
        .unwrap()
        .expect("the account")
}

/// The form's fields as a shopper fills them in, with its own key and token.
async fn gift_card_form(browser: &Browser) -> (String, String) {
    let page = browser.get_html("/gift-cards").await;
    (
        form_field(&page, "csrf_token").unwrap_or_else(|| panic!("a CSRF token in {page}")),
        form_field(&page, "idempotency_key").expect("an idempotency key"),
    )
}

async fn buy_gift_card(browser: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    let (token, key) = gift_card_form(browser).await;
    let mut form = vec![("csrf_token", token.as_str()), ("idempotency_key", key.as_str())];
    form.extend_from_slice(fields);
    browser.post_form("/gift-cards", &form).await
}

/// The order a 303 from `POST /gift-cards` leads to.
fn order_of(response: &reqwest::Response) -> i64 {
    location(response)
        .strip_prefix("/orders/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("an order page, not {}", location(response)))
}

/// The gift-card code in a delivered message.
fn code_in(mail: &str) -> String {
    let start = mail.find("GC-").unwrap_or_else(|| panic!("a code in:\n{mail}"));
    let code: String = mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    assert_eq!(code.len(), 22, "GC- and four groups of four: {code}");
    code
}

/// The `n`th (from 0) gift card delivered to `to`, waiting for it a while.
async fn gift_card_mail(app: &TestApp, to: &str, n: usize) -> String {
    for _ in 0..200 {
        let cards: Vec<String> = app
            .mails_to(to)
            .into_iter()
            .filter(|mail| mail.contains("Message-ID: <gift-card."))
            .collect();
        if let Some(card) = cards.into_iter().nth(n) {
            return card;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no gift card number {n} to {to}");
}

/// The buyer's order page once it shows the card in `state`, waiting a while.
async fn receipt_in_state(app: &TestApp, order: i64, state: &str) -> String {
    let hook = format!("data-gift-card-state=\"{state}\"");
    for _ in 0..100 {
        let page = app.get_html(&format!("/orders/{order}")).await;
        if page.contains(&hook) {
            return page;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("order {order} never showed its gift card {state}");
}

fn order_count(app: &TestApp) -> usize {
    app.sql_rows("SELECT id FROM orders").len()
}

fn refund(app: &TestApp, order: i64) -> Result<(), RefundError> {
    let now = app.clock.now();
    let whole = RefundRequest::whole(AdjustmentReason::parse("sent to the wrong address").unwrap());
    app.with_store(|store| store.refund_order(&Actor::command(), order, &whole, now))
        .map(|_| ())
}

#[actix_web::test]
async fn a_gift_card_bought_for_a_friend_arrives_with_a_code_that_adds_25_dollars_to_their_gift_cards() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let before = app.popup().await;

    let bought = buy_gift_card(
        &app,
        &[
            ("amount", "25"),
            ("recipient_email", FRIEND),
            ("message", "Happy birthday, <b>Sam</b>!"),
            ("deliver_on", ""),
        ],
    )
    .await;
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);
    let order = order_of(&bought);

    let mail = app.mail_to(FRIEND).await;
    assert!(
        mail.contains("Subject: Demo Shopper sent you a $25.00 gift card"),
        "{mail}"
    );
    let code = code_in(&mail);
    // The sender marks the message sent just after writing it.
    let receipt = receipt_in_state(&app, order, "sent").await;
    assert!(receipt.contains("$25.00 gift card"), "{receipt}");
    assert!(
        !receipt.contains("data-library-link"),
        "nothing to download: {receipt}"
    );
    assert!(
        receipt.contains("Sam") && !receipt.contains("<b>Sam"),
        "the message is escaped: {receipt}"
    );
    assert!(!receipt.contains(&code), "the buyer never sees the code");
    assert_eq!(
        app.popup().await,
        before,
        "a gift card is paid by card: no credit is spent"
    );
    let library = app.get_html("/library").await;
    assert!(
        !library.contains(&format!("data-library-item=\"{order}\"")),
        "a gift card is not a download: {library}"
    );
    assert!(
        library.contains("data-library-item=\"1\""),
        "the demo's past track is: {library}"
    );

    let friend = app.new_shopper(FRIEND).await;
    assert_eq!(friend.balance("gift-card").await, "$0.00");
    let redeemed = friend.redeem(&code).await;
    assert_eq!(redeemed.status(), StatusCode::SEE_OTHER);
    assert_eq!(friend.balance("gift-card").await, "$25.00");
    let credit = friend.get_html("/account/credit").await;
    assert!(credit.contains("Gift card from Demo Shopper"), "{credit}");

    let receipt = app.get_html(&format!("/orders/{order}")).await;
    assert!(receipt.contains("data-gift-card-state=\"redeemed\""), "{receipt}");
    let again = app
        .new_shopper("someone.else@example.com")
        .await
        .redeem(&code)
        .await;
    assert_ne!(
        again.status(),
        StatusCode::SEE_OTHER,
        "a gift card is redeemed once"
    );
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_gift_card_is_paid_by_card_alone_and_refused_without_one() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let bought = buy_gift_card(&app, &[("amount", "40"), ("recipient_email", FRIEND)]).await;
    let order = order_of(&bought);
    let paid = app.sql_rows(&format!(
        "SELECT price_cents, card_cents, promotional_credit_cents, gift_card_cents, discount_cents
         FROM orders WHERE id = {order}"
    ));
    assert_eq!(paid, vec![vec!["4000", "4000", "0", "0", "0"]]);

    let shopper = app.new_shopper("no.card@example.com").await;
    let refused = buy_gift_card(&shopper, &[("amount", "25"), ("recipient_email", FRIEND)]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("add a default payment method"), "{page}");
    assert_eq!(order_count(&app), 2, "the demo's past order and the card above");
}

#[actix_web::test]
async fn no_route_pays_for_a_gift_card_with_credit() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let before = app.popup().await;
    // A code typed with the purchase is not a field the form has: ignored, not redeemed.
    let bought = buy_gift_card(
        &app,
        &[
            ("amount", "25"),
            ("recipient_email", FRIEND),
            ("promo_code", "GIFT-20"),
            ("discount_id", "1"),
        ],
    )
    .await;
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.popup().await, before);
    let demo = account(&app, DEMO_EMAIL);
    let sneaked = app.sql_rows(&format!(
        "SELECT COUNT(*) FROM orders WHERE user_id = {} AND product_id IS NULL AND card_cents <> price_cents",
        demo.0
    ));
    assert_eq!(sneaked, vec![vec!["0"]]);
}

#[actix_web::test]
async fn a_delivery_day_ahead_sends_nothing_until_that_day() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let day = (app.clock.now() + Duration::days(3)).date().to_string();
    let bought = buy_gift_card(
        &app,
        &[
            ("amount", "30"),
            ("recipient_email", FRIEND),
            ("deliver_on", &day),
        ],
    )
    .await;
    let order = order_of(&bought);
    // The receipt goes now; the card waits (the sender looks every second).
    app.wait_for_mails("receipt", 1).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(app.mails_to(FRIEND).is_empty(), "nothing before the day");
    let receipt = app.get_html(&format!("/orders/{order}")).await;
    assert!(
        receipt.contains("data-gift-card-state=\"scheduled\""),
        "{receipt}"
    );

    app.clock.advance(Duration::days(2));
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(app.mails_to(FRIEND).is_empty(), "nothing the day before");

    app.clock.advance(Duration::days(1));
    let mail = app.mail_to(FRIEND).await;
    assert!(mail.contains("$30.00"), "{mail}");
    code_in(&mail);
}

#[actix_web::test]
async fn a_refund_before_redemption_voids_the_code_and_after_redemption_is_refused() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let first = order_of(&buy_gift_card(&app, &[("amount", "25"), ("recipient_email", FRIEND)]).await);
    let code = code_in(&gift_card_mail(&app, FRIEND, 0).await);
    refund(&app, first).expect("an unredeemed card is refunded");
    let receipt = app.get_html(&format!("/orders/{first}")).await;
    assert!(receipt.contains("data-gift-card-state=\"voided\""), "{receipt}");
    let support = staff_member(&app, Role::Support).await;
    let console = support.get_html(&format!("/admin/orders/{first}")).await;
    assert!(console.contains("data-gift-card-state=\"voided\""), "{console}");
    assert!(console.contains(FRIEND), "{console}");
    let friend = app.new_shopper(FRIEND).await;
    let refused = friend.redeem(&code).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let said = refused.text().await.unwrap();
    assert!(said.contains("cancelled by the person who bought it"), "{said}");
    assert_eq!(friend.balance("gift-card").await, "$0.00");
    let refunds = app.sql_rows(&format!(
        "SELECT card_cents FROM refunds WHERE order_id = {first}"
    ));
    assert_eq!(refunds, vec![vec!["2500"]], "the card gets its money back");

    let second = order_of(&buy_gift_card(&app, &[("amount", "50"), ("recipient_email", FRIEND)]).await);
    let code = code_in(&gift_card_mail(&app, FRIEND, 1).await);
    assert_eq!(friend.redeem(&code).await.status(), StatusCode::SEE_OTHER);
    assert!(
        matches!(refund(&app, second), Err(RefundError::GiftCardRedeemed { order, ref by }) if order == second && by == FRIEND)
    );
    assert_eq!(friend.balance("gift-card").await, "$50.00");
    let part = RefundRequest::part(
        storecredit::domain::Money::from_cents(500),
        AdjustmentReason::parse("part").unwrap(),
    );
    let third = order_of(&buy_gift_card(&app, &[("amount", "20"), ("recipient_email", FRIEND)]).await);
    let now = app.clock.now();
    let in_part = app.with_store(|store| store.refund_order(&Actor::command(), third, &part, now));
    assert!(
        matches!(in_part, Err(RefundError::GiftCardInPart(_))),
        "{in_part:?}"
    );
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_refund_before_the_delivery_day_cancels_the_message() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let day = (app.clock.now() + Duration::days(1)).date().to_string();
    let order = order_of(
        &buy_gift_card(
            &app,
            &[
                ("amount", "25"),
                ("recipient_email", FRIEND),
                ("deliver_on", &day),
            ],
        )
        .await,
    );
    refund(&app, order).unwrap();
    app.clock.advance(Duration::days(2));
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(app.mails_to(FRIEND).is_empty(), "the void card is never sent");
    let kept = app.sql_rows("SELECT text_body FROM outbox WHERE kind = 'gift-card'");
    assert!(!kept[0][0].contains("GC-"), "its code is not kept in the outbox");
}

#[actix_web::test]
async fn bad_gift_card_forms_say_what_is_wrong_and_order_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let yesterday = (app.clock.now() - Duration::days(1)).date().to_string();
    let far = (app.clock.now() + Duration::days(400)).date().to_string();
    let long = "x".repeat(301);
    for (field, value, says) in [
        ("amount", "4", "whole-dollar amount from $5 to $500"),
        ("amount", "501", "whole-dollar amount"),
        ("amount", "25.50", "whole-dollar amount"),
        ("amount", "lots", "whole-dollar amount"),
        ("recipient_email", "not an address", "e-mail address to send"),
        ("deliver_on", &yesterday, "cannot be in the past"),
        ("deliver_on", &far, "within a year"),
        ("deliver_on", "31/12/2026", "YYYY-MM-DD"),
        ("message", &long, "300 characters"),
    ] {
        let mut fields = vec![("amount", "25"), ("recipient_email", FRIEND), ("message", "")];
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value));
        let refused = buy_gift_card(&app, &fields).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{field}={value}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(says), "{field}={value}: {page}");
        assert!(page.contains(&format!("id=\"{field}-error\"")), "{field}: {page}");
    }
    assert_eq!(order_count(&app), 1, "only the demo's past order");
}

#[actix_web::test]
async fn one_gift_card_form_submitted_eight_times_at_once_buys_one_card_and_mails_it_once() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let (token, key) = gift_card_form(&app).await;
    let form = [
        ("csrf_token", token.as_str()),
        ("idempotency_key", key.as_str()),
        ("amount", "25"),
        ("recipient_email", FRIEND),
    ];
    let answers = join_all((0..8).map(|_| app.post_form("/gift-cards", &form))).await;
    let orders: Vec<i64> = answers
        .iter()
        .map(|answer| {
            assert_eq!(answer.status(), StatusCode::SEE_OTHER);
            order_of(answer)
        })
        .collect();
    assert!(orders.iter().all(|order| *order == orders[0]), "{orders:?}");
    app.mail_to(FRIEND).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(app.mails_to(FRIEND).len(), 1);
    assert_eq!(app.sql_rows("SELECT order_id FROM gift_cards").len(), 1);

    // The same form for another card is refused, and a fresh form comes back.
    let other = [
        ("csrf_token", token.as_str()),
        ("idempotency_key", key.as_str()),
        ("amount", "30"),
        ("recipient_email", FRIEND),
    ];
    let refused = app.post_form("/gift-cards", &other).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let page = refused.text().await.unwrap();
    assert_ne!(form_field(&page, "idempotency_key").unwrap(), key);
}

#[actix_web::test]
async fn signed_out_the_gift_cards_page_asks_to_sign_in_and_buying_sends_to_sign_in() {
    let Some(app) = spawn_app().await else { return };
    let page = app.get_html("/gift-cards").await;
    assert!(page.contains("Sign in to buy a gift card"), "{page}");
    let home = app.get_html("/").await;
    assert!(
        home.contains("href=\"/gift-cards\""),
        "the department is in the navigation"
    );
    let refused = app
        .post_form("/gift-cards", &[("amount", "25"), ("recipient_email", FRIEND)])
        .await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&refused).starts_with("/signin"),
        "{}",
        location(&refused)
    );
    assert_eq!(order_count(&app), 1);
}

#[actix_web::test]
async fn an_account_buys_at_most_ten_gift_cards_in_24_hours() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let answers =
        join_all((0..12).map(|_| buy_gift_card(&app, &[("amount", "500"), ("recipient_email", FRIEND)])))
            .await;
    let bought = answers
        .iter()
        .filter(|answer| answer.status() == StatusCode::SEE_OTHER)
        .count();
    let refused = answers
        .iter()
        .filter(|answer| answer.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((bought, refused), (10, 2));
    assert_eq!(app.sql_rows("SELECT order_id FROM gift_cards").len(), 10);
    app.clock.advance(Duration::hours(25));
    app.sign_in_as_demo().await; // the session ended meanwhile
    let again = buy_gift_card(&app, &[("amount", "5"), ("recipient_email", FRIEND)]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER, "a day later");
}

#[actix_web::test]
async fn a_card_for_a_later_day_cannot_be_redeemed_before_it_and_staff_see_its_code_masked() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let day = (app.clock.now() + Duration::days(2)).date().to_string();
    buy_gift_card(
        &app,
        &[
            ("amount", "25"),
            ("recipient_email", FRIEND),
            ("deliver_on", &day),
        ],
    )
    .await;
    let code: String =
        app.sql_rows("SELECT c.code FROM gift_cards g JOIN codes c ON c.id = g.code_id")[0][0].clone();

    let support = staff_member(&app, Role::Support).await;
    let last = &code[code.len() - 4..];
    for path in ["/admin/codes", &format!("/admin/codes?q={}", &code[3..7])] {
        let page = support.get_html(path).await;
        assert!(!page.contains(&code), "{path}: {page}");
    }
    let listed = support.get_html("/admin/codes").await;
    assert!(listed.contains(&format!("GC-****-****-****-{last}")), "{listed}");
    let searched = support.get_html(&format!("/admin/codes?q={}", &code[3..7])).await;
    assert!(
        !searched.contains("GC-****"),
        "its text cannot be searched for: {searched}"
    );

    let early = app.new_shopper("early@example.com").await;
    let refused = early.redeem(&code).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "not before its day");
    app.clock.advance(Duration::days(2));
    let mail = gift_card_mail(&app, FRIEND, 0).await;
    assert_eq!(code_in(&mail), code);
    let friend = app.new_shopper(FRIEND).await;
    assert_eq!(friend.redeem(&code).await.status(), StatusCode::SEE_OTHER);
}
