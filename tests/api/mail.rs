//! Mail that is never lost (SPEC §9): an order, a refund and a staff grant each
//! leave exactly one message in the outbox, written with the change, and then
//! exactly one `.eml`; a change refused leaves none.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{Email, Role, UserId};
use storecredit::store::outbox::{MailState, StoredMail};

use crate::console::staff_member;
use crate::helpers::{DEMO_EMAIL, DEMO_PASSWORD, TestApp, form_field, location, spawn_app};

fn demo(app: &TestApp) -> UserId {
    app.with_store(|store| store.user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap()))
        .unwrap()
        .expect("the demo account")
}

/// Every message in the outbox, oldest first, whole.
fn outbox(app: &TestApp) -> Vec<StoredMail> {
    app.with_store(|store| {
        let mut page = store.mail_page(false, None, 1000).unwrap().entries;
        page.reverse();
        page.into_iter()
            .map(|summary| store.mail_message(summary.id).unwrap().unwrap())
            .collect()
    })
}

fn of_kind(app: &TestApp, kind: &str) -> Vec<StoredMail> {
    outbox(app)
        .into_iter()
        .filter(|mail| mail.summary.kind == kind)
        .collect()
}

/// The demo shopper buys the backup software (credit and card pay); the order.
async fn an_order(app: &TestApp) -> i64 {
    let bought = app.buy(app.product_id("SafeKeep Backup"), &[]).await;
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);
    location(&bought).rsplit('/').next().unwrap().parse().unwrap()
}

/// Waits until the outbox has sent everything, then the `.eml` files of `kind`.
async fn sent_files(app: &TestApp, kind: &str, expected: usize) -> Vec<String> {
    let files = app.mail_files_when(outbox(app).len()).await;
    let of_kind: Vec<String> = files
        .into_iter()
        .filter(|name| name.contains(&format!("-{kind}-")))
        .collect();
    assert_eq!(of_kind.len(), expected, "{of_kind:?}");
    of_kind
}

#[actix_web::test]
async fn an_order_leaves_one_receipt_in_the_outbox_and_then_one_eml_to_the_shopper() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;

    let order = an_order(&app).await;

    let receipts = of_kind(&app, "receipt");
    assert_eq!(receipts.len(), 1);
    let receipt = &receipts[0];
    assert_eq!(receipt.summary.to, DEMO_EMAIL);
    assert_eq!(receipt.user, Some(demo(&app)));
    assert!(
        receipt.summary.subject.contains(&format!("order {order}")),
        "{}",
        receipt.summary.subject
    );
    assert!(receipt.text.contains("SafeKeep Backup"), "{}", receipt.text);
    assert!(
        receipt.text.contains(&format!("{}/orders/{order}", app.address)),
        "the link points at the site: {}",
        receipt.text
    );
    let files = sent_files(&app, "receipt", 1).await;
    let eml = app.mail_to(DEMO_EMAIL).await;
    assert!(
        eml.contains(&format!("Message-ID: {}", receipt.message_id)),
        "{eml}"
    );
    assert!(eml.contains("SafeKeep Backup"), "{eml}");
    assert!(
        files[0].starts_with(&format!("{:06}-receipt-", receipt.summary.id)),
        "{files:?}"
    );
    let sent = &of_kind(&app, "receipt")[0];
    assert!(
        matches!(sent.summary.state, MailState::Sent(_)),
        "{:?}",
        sent.summary
    );
}

#[actix_web::test]
async fn one_order_submitted_many_times_at_once_sends_one_receipt() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let product = app.product_id("SafeKeep Backup");
    let form = app.checkout_form(product).await;
    let fields = [
        ("csrf_token", form.csrf_token.as_str()),
        ("idempotency_key", form.key.as_str()),
    ];

    let path = format!("/checkout/{product}");
    let answers = join_all((0..8).map(|_| app.post_form(&path, &fields))).await;

    assert!(
        answers
            .iter()
            .all(|answer| answer.status() == StatusCode::SEE_OTHER)
    );
    assert_eq!(of_kind(&app, "receipt").len(), 1);
    sent_files(&app, "receipt", 1).await;
}

#[actix_web::test]
async fn an_order_refused_leaves_no_message() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let product = app.product_id("SafeKeep Backup");
    let form = app.checkout_form(product).await;

    let refused = app
        .post_form(
            &format!("/checkout/{product}"),
            &[
                ("csrf_token", form.csrf_token.as_str()),
                ("idempotency_key", form.key.as_str()),
                ("price_cents", "1"),
            ],
        )
        .await;

    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let kinds: Vec<String> = outbox(&app).into_iter().map(|mail| mail.summary.kind).collect();
    assert_eq!(kinds, ["new-device"], "only the sign-in's message");
}

#[actix_web::test]
async fn a_refund_leaves_one_message_saying_where_the_money_went() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let order = an_order(&app).await;
    let manager = staff_member(&app, Role::Manager).await;

    let refunded = manager
        .post_console(
            &format!("/admin/orders/{order}/refund"),
            &[("amount", ""), ("reason", "never arrived")],
        )
        .await;

    assert_eq!(refunded.status(), StatusCode::SEE_OTHER);
    let refunds = of_kind(&app, "refund");
    assert_eq!(refunds.len(), 1);
    let text = &refunds[0].text;
    assert!(
        text.contains(&format!("We refunded your order {order}")),
        "{text}"
    );
    assert!(text.contains("in full: $24.99."), "{text}");
    assert!(text.contains("Back on your credit \""), "{text}");
    assert!(
        !text.contains("never arrived"),
        "staff's reason stays inside: {text}"
    );
    sent_files(&app, "refund", 1).await;
    assert!(app.mail_to(DEMO_EMAIL).await.contains("refunded your order"));
}

#[actix_web::test]
async fn a_staff_grant_leaves_one_message_and_one_refused_leaves_none() {
    let Some(app) = spawn_app().await else { return };
    let support = staff_member(&app, Role::Support).await;
    let path = format!("/admin/customers/{}/credits", demo(&app).0);

    let above_the_limit = support
        .post_console(
            &path,
            &[
                ("amount", "30.00"),
                ("gift_card", "on"),
                ("reason", "late delivery"),
            ],
        )
        .await;
    assert_eq!(above_the_limit.status(), StatusCode::FORBIDDEN);
    assert!(outbox(&app).is_empty());

    let granted = support
        .post_console(
            &path,
            &[
                ("amount", "20.00"),
                ("gift_card", "on"),
                ("reason", "late delivery"),
            ],
        )
        .await;

    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let grants = of_kind(&app, "credit-granted");
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0].summary.subject,
        "$20.00 of store credit was added to your account"
    );
    assert!(
        grants[0]
            .text
            .contains("anything in the store (a gift card balance)"),
        "{}",
        grants[0].text
    );
    sent_files(&app, "credit-granted", 1).await;
}

/// Every message the store sends, made the way a shopper or staff member
/// makes it, each checked for what every message has and kept under
/// `target/mail-samples/` (`postgres-…` on PostgreSQL) to read.
#[actix_web::test]
async fn every_kind_of_message_is_text_and_html_with_a_message_id_and_a_sample_is_kept() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await; // new-device
    let order = an_order(&app).await; // receipt
    let manager = staff_member(&app, Role::Manager).await;
    let refunded = manager
        .post_console(
            &format!("/admin/orders/{order}/refund"),
            &[("amount", "1.00"), ("reason", "scratched")],
        )
        .await; // refund
    assert_eq!(refunded.status(), StatusCode::SEE_OTHER);
    let last_day = (app.clock.now() + time::Duration::days(5)).date().to_string();
    let granted = manager
        .post_console(
            &format!("/admin/customers/{}/credits", demo(&app).0),
            &[
                ("amount", "10.00"),
                ("categories", "music"),
                ("expires", last_day.as_str()),
                ("reason", "late delivery"),
            ],
        )
        .await; // credit-granted
    assert_eq!(
        granted.status(),
        StatusCode::SEE_OTHER,
        "{}",
        granted.text().await.unwrap()
    );
    // expiry-reminder (the server swept as it started; this sweeps again, in
    // case the demo had nothing due then).
    let now = app.clock.now();
    app.with_store(|store| store.queue_expiry_reminders(now)).unwrap();
    let stranger = app.new_browser();
    let token = stranger.csrf_token("/password/forgot").await;
    let asked = stranger
        .post_form(
            "/password/forgot",
            &[("email", DEMO_EMAIL), ("csrf_token", &token)],
        )
        .await; // password-reset
    assert_eq!(asked.status(), StatusCode::OK);
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
        .await; // password-changed
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    for (name, email) in [("Bea", "bea@example.com"), ("Demo", DEMO_EMAIL)] {
        let answer = app
            .new_browser()
            .fill_in_registration(name, email, "velvet harbor lantern", "/")
            .await; // confirm-address, already-registered
        assert_eq!(answer.status(), StatusCode::OK);
    }
    let page = app.get_html("/gift-cards").await;
    let bought = app
        .post_form(
            "/gift-cards",
            &[
                ("amount", "25"),
                ("recipient_email", "sam@example.com"),
                ("message", "Happy birthday, Sam!"),
                ("idempotency_key", &form_field(&page, "idempotency_key").unwrap()),
                ("csrf_token", &form_field(&page, "csrf_token").unwrap()),
            ],
        )
        .await; // gift-card
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);

    let kinds = [
        "receipt",
        "refund",
        "credit-granted",
        "expiry-reminder",
        "new-device",
        "password-reset",
        "password-changed",
        "confirm-address",
        "already-registered",
        "gift-card",
    ];
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mail-samples");
    std::fs::create_dir_all(&samples).unwrap();
    let prefix = match crate::ENGINE {
        crate::support::Engine::Sqlite => "",
        crate::support::Engine::Postgres => "postgres-",
    };
    for kind in kinds {
        let mail = app.wait_for_mails(kind, 1).await.pop().unwrap();
        assert!(mail.contains("Message-ID: <"), "{kind}: {mail}");
        assert!(
            mail.contains("Content-Type: multipart/alternative"),
            "{kind}: {mail}"
        );
        assert!(
            mail.contains("Content-Type: text/plain; charset=utf-8"),
            "{kind}: {mail}"
        );
        assert!(
            mail.contains("Content-Type: text/html; charset=utf-8"),
            "{kind}: {mail}"
        );
        assert_eq!(
            mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            kind == "expiry-reminder",
            "{kind}: only the reminder can be turned off: {mail}"
        );
        std::fs::write(samples.join(format!("{prefix}{kind}.eml")), &mail).unwrap();
    }
}
