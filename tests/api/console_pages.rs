//! The console's customer and order pages (SPEC §8): finding a customer, their
//! page (balances as the pop-up shows them, credits with ledgers naming who made
//! each event, orders, sign-in, who changed what), the actions beside what they
//! change, and the order pages. Each action answers 303 back with what was done,
//! or the page again naming the field, nothing changed.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{
    Actor, AdjustmentReason, CardSummary, CreditKind, CreditSource, Email, Money, Role, UserId,
};
use storecredit::store::audit::{AuditEntry, AuditFilter};
use storecredit::store::credits::NewCredit;
use storecredit::store::orders::{Promotion, RefundRequest};

use crate::console::{StaffBrowser, staff_member};
use crate::helpers::*;

pub(crate) fn customer_id(app: &TestApp, email: &str) -> UserId {
    app.with_store(|store| store.user_id_by_email(&Email::parse(email).unwrap()))
        .unwrap()
        .expect("the customer's account")
}

/// Grants `email` a gift card of `cents` as an operator command would; its id.
fn grant_gift_card(app: &TestApp, email: &str, cents: i64) -> i64 {
    let user = customer_id(app, email);
    let credit = NewCredit {
        kind: CreditKind::GiftCard,
        source: CreditSource::Grant,
        description: "A goodwill gift card".into(),
        amount: Money::from_cents(cents),
        expires_at: None,
        code_redemption_id: None,
    };
    let now = app.clock.now();
    app.with_store(|store| {
        store.grant_credit(
            &Actor::command(),
            user,
            &credit,
            &AdjustmentReason::parse("test").unwrap(),
            now,
        )
    })
    .expect("a credit")
    .0
}

/// The audit trail about a customer, newest first.
fn audit_of(app: &TestApp, user: UserId) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        customer: Some(user),
        ..AuditFilter::default()
    };
    app.with_store(|store| store.audit_page(&filter, None, 100))
        .unwrap()
        .entries
}

fn remaining(app: &TestApp, credit: i64) -> i64 {
    app.sql_rows(&format!(
        "SELECT remaining_cents FROM credits WHERE id = {credit}"
    ))[0][0]
        .parse()
        .unwrap()
}

/// The `href` of the page's `rel="next"` link, if any, as a browser reads it.
pub(crate) fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    Some(
        html[at..at + html[at..].find('"')?]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

pub(crate) fn count(html: &str, marker: &str) -> usize {
    html.matches(marker).count()
}

/// A shopper with a gift card of `cents`, and a manager: the customer's id and
/// the credit's.
async fn customer_with_credit(app: &TestApp, email: &str, cents: i64) -> (UserId, i64) {
    app.create_account(email, "Casey Customer");
    let credit = grant_gift_card(app, email, cents);
    (customer_id(app, email), credit)
}

async fn adjust(staff: &StaffBrowser, credit: i64, amount: &str, reason: &str) -> reqwest::Response {
    staff
        .post_console(
            &format!("/admin/credits/{credit}/adjust"),
            &[("amount", amount), ("reason", reason)],
        )
        .await
}

async fn revoke(staff: &StaffBrowser, credit: i64, reason: &str) -> reqwest::Response {
    staff
        .post_console(&format!("/admin/credits/{credit}/revoke"), &[("reason", reason)])
        .await
}

#[actix_web::test]
async fn staff_find_a_customer_by_email_or_name_twenty_a_page_with_a_link_to_the_next() {
    let Some(app) = spawn_app().await else { return };
    for n in 0..22 {
        app.create_account(&format!("shopper{n:02}@example.com"), "Robin Findme");
    }
    app.create_account("someone.else@example.com", "Someone Else");
    let support = staff_member(&app, Role::Support).await;

    let first = support.get_html("/admin/customers?q=FINDME").await;
    assert_eq!(count(&first, "data-customer-id="), 20);
    assert!(!first.contains("someone.else@example.com"));
    let robin = customer_id(&app, "shopper21@example.com");
    assert!(
        first.contains(&format!("href=\"/admin/customers/{}\"", robin.0)),
        "each row links to the customer's page"
    );
    let next = next_link(&first).expect("a link to the next page");
    let second = support.get_html(&next).await;
    assert_eq!(count(&second, "data-customer-id="), 2);
    assert!(second.contains("shopper00@example.com"));
    assert_eq!(next_link(&second), None);

    let by_email = support.get_html("/admin/customers?q=someone.else%40").await;
    assert_eq!(count(&by_email, "data-customer-id="), 1);
    assert!(by_email.contains("Someone Else"));
}

#[actix_web::test]
async fn the_customer_page_shows_the_balances_the_popup_shows() {
    let Some(app) = spawn_app().await else { return };
    let demo = customer_id(&app, DEMO_EMAIL);
    app.sign_in_as_demo().await;
    let support = staff_member(&app, Role::Support).await;

    let page = support.get_html(&format!("/admin/customers/{}", demo.0)).await;

    assert_eq!(balances(&page), app.popup().await);
    assert_eq!(balances(&page), demo_balances());
    assert!(page.contains(&format!("<dd data-customer-email>{DEMO_EMAIL}</dd>")));
    assert!(page.contains("data-sign-in-state=\"open\""));
}

#[actix_web::test]
async fn adjusting_a_credit_changes_the_balance_and_the_ledger_and_the_trail_name_who_and_why() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 1000).await;
    let manager = staff_member(&app, Role::Manager).await;

    let response = adjust(&manager, credit, "-2.50", "charged twice for one album").await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/customers/{}", customer.0));
    let page = manager.follow(&response).await;
    assert!(
        page.contains(&format!(
            "Credit {credit} adjusted by \u{2212}$2.50: $7.50 remains."
        )),
        "{page}"
    );
    assert_eq!(
        text_of(&page, "data-balance", "gift-card").as_deref(),
        Some("$7.50")
    );
    let actor = format!("staff:{}", manager.email);
    assert!(
        page.contains(&format!("<td data-ledger-actor>{actor}</td>")),
        "{page}"
    );
    assert!(page.contains("charged twice for one album"));
    assert_eq!(remaining(&app, credit), 750);
    let entry = &audit_of(&app, customer)[0];
    assert_eq!(
        (
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.reason.as_deref()
        ),
        (
            actor.as_str(),
            "credit.adjust",
            Some("charged twice for one album")
        )
    );
    assert_eq!(entry.before.as_deref(), Some("$10.00 remaining"));
    assert_eq!(entry.after.as_deref(), Some("$7.50 remaining"));
    let again = manager
        .get_html(&format!("/admin/customers/{}", customer.0))
        .await;
    assert!(!again.contains("adjusted by"), "the message is shown once");
    assert!(again.contains(&format!("<td data-audit-actor>{actor}</td>")));
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn revoking_a_credit_takes_what_remains_and_is_on_the_trail_with_who_and_why() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let owner = staff_member(&app, Role::Owner).await;

    let response = revoke(&owner, credit, "gift card reported stolen").await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = owner.follow(&response).await;
    assert!(
        page.contains(&format!("Credit {credit} revoked: $5.00 taken, $0.00 remains.")),
        "{page}"
    );
    assert_eq!(
        text_of(&page, "data-balance", "gift-card").as_deref(),
        Some("$0.00")
    );
    assert!(page.contains("<dd data-credit-status>revoked</dd>"), "{page}");
    let entry = &audit_of(&app, customer)[0];
    assert_eq!(entry.actor, format!("staff:{}", owner.email));
    assert_eq!(entry.action, "credit.revoke");
    assert_eq!(entry.reason.as_deref(), Some("gift card reported stolen"));
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_refused_adjustment_names_its_field_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let manager = staff_member(&app, Role::Manager).await;
    let trail_before = audit_of(&app, customer).len();

    for (amount, reason, field) in [
        ("2,50", "a comma", "amount"),
        ("1.005", "a fraction of a cent", "amount"),
        ("ten", "letters", "amount"),
        ("", "nothing", "amount"),
        ("0", "zero", "amount"),
        ("-5.01", "below zero", "amount"),
        ("+0.01", "above what it was worth", "amount"),
        ("-1.00", "   ", "reason"),
        ("-1.00", "", "reason"),
    ] {
        let response = adjust(&manager, credit, amount, reason).await;

        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{amount:?} / {reason:?}"
        );
        let page = response.text().await.unwrap();
        let input = format!("id=\"adjust-{credit}-{field}\"");
        let at = page.find(&input).expect("the field");
        let tag = &page[at..at + page[at..].find('>').unwrap()];
        assert!(tag.contains("aria-invalid=\"true\""), "{amount:?}: {tag}");
        assert!(
            tag.contains(&format!("aria-describedby=\"adjust-{credit}-{field}-error\"")),
            "{tag}"
        );
        let label = if field == "amount" { "Amount: " } else { "Reason: " };
        assert!(page.contains(label), "{amount:?}: the message names the field");
        assert!(page.contains("Nothing was changed."));
    }
    assert_eq!(remaining(&app, credit), 500);
    assert_eq!(audit_of(&app, customer).len(), trail_before);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_revoke_without_a_reason_or_of_an_empty_credit_is_refused_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let manager = staff_member(&app, Role::Manager).await;

    let unexplained = revoke(&manager, credit, " ").await;
    assert_eq!(unexplained.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = unexplained.text().await.unwrap();
    assert!(page.contains(&format!("aria-describedby=\"revoke-{credit}-reason-error\"")));
    assert!(page.contains("Reason: "));
    assert_eq!(remaining(&app, credit), 500);

    assert_eq!(
        revoke(&manager, credit, "stolen").await.status(),
        StatusCode::SEE_OTHER
    );
    let trail = audit_of(&app, customer).len();
    let twice = revoke(&manager, credit, "stolen").await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.text().await.unwrap().contains("nothing left to revoke"));
    assert_eq!(audit_of(&app, customer).len(), trail);
}

#[actix_web::test]
async fn support_and_finance_members_may_not_adjust_or_revoke_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let trail = audit_of(&app, customer).len();

    for member in [
        staff_member(&app, Role::Support).await,
        staff_member(&app, Role::Finance).await,
    ] {
        let adjusted = adjust(&member, credit, "-1.00", "trying").await;
        let revoked = revoke(&member, credit, "trying").await;

        assert_eq!(adjusted.status(), StatusCode::FORBIDDEN, "{:?}", member.role);
        assert_eq!(revoked.status(), StatusCode::FORBIDDEN, "{:?}", member.role);
        let page = member.get_html(&format!("/admin/customers/{}", customer.0)).await;
        assert!(
            !page.contains("/adjust\""),
            "no adjust form for {:?}",
            member.role
        );
    }
    assert_eq!(remaining(&app, credit), 500);
    assert_eq!(audit_of(&app, customer).len(), trail);
}

#[actix_web::test]
async fn a_console_form_without_its_token_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let manager = staff_member(&app, Role::Manager).await;

    let forged = manager
        .post_form(
            &format!("/admin/credits/{credit}/adjust"),
            &[
                ("amount", "-5.00"),
                ("reason", "forged"),
                ("csrf_token", "not-the-token"),
            ],
        )
        .await;
    let unlocked = manager
        .post_form(&format!("/admin/customers/{}/unlock", customer.0), &[])
        .await;

    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(unlocked.status(), StatusCode::FORBIDDEN);
    assert_eq!(remaining(&app, credit), 500);
    assert!(
        audit_of(&app, customer)
            .iter()
            .all(|entry| entry.actor.starts_with("cli:")),
        "no staff change on the trail"
    );
}

#[actix_web::test]
async fn unknown_customers_credits_and_orders_are_the_not_found_page() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member(&app, Role::Manager).await;

    for path in ["/admin/customers/987654", "/admin/orders/987654"] {
        assert_eq!(manager.get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for (amount, reason) in [("-1.00", "fine"), ("2,50", "refused")] {
        let response = adjust(&manager, 987654, amount, reason).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{amount}");
    }
    assert_eq!(
        revoke(&manager, 987654, "gone").await.status(),
        StatusCode::NOT_FOUND
    );
    for action in ["unlock", "reset-link"] {
        let response = manager
            .post_console(&format!("/admin/customers/987654/{action}"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }
}

#[actix_web::test]
async fn unlocking_opens_a_paused_sign_in_and_is_on_the_trail() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("casey@example.com", "Casey Customer");
    let customer = customer_id(&app, "casey@example.com");
    let shopper = app.new_browser();
    for _ in 0..5 {
        shopper.sign_in("casey@example.com", "wrong password", "/").await;
    }
    let support = staff_member(&app, Role::Support).await;
    let page = format!("/admin/customers/{}", customer.0);
    assert!(
        support
            .get_html(&page)
            .await
            .contains("data-sign-in-state=\"paused\"")
    );

    let response = support
        .post_console(&format!("/admin/customers/{}/unlock", customer.0), &[])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = support.follow(&response).await;
    assert!(
        after.contains("Sign-in for casey@example.com was paused after 5 failed attempts; it is open again."),
        "{after}"
    );
    assert!(after.contains("data-sign-in-state=\"open\""));
    let signed_in = shopper.sign_in("casey@example.com", ACCOUNT_PASSWORD, "/").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let entry = &audit_of(&app, customer)[0];
    assert_eq!(
        (entry.actor.clone(), entry.action.as_str()),
        (format!("staff:{}", support.email), "account.unlock")
    );
}

#[actix_web::test]
async fn a_reset_link_sent_by_staff_goes_to_the_customer_only_works_and_is_on_the_trail() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("casey@example.com", "Casey Customer");
    let customer = customer_id(&app, "casey@example.com");
    let support = staff_member(&app, Role::Support).await;
    let mail_before = app.mail_count();

    let response = support
        .post_console(&format!("/admin/customers/{}/reset-link", customer.0), &[])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = support.follow(&response).await;
    assert!(page.contains("was sent to casey@example.com"), "{page}");
    assert!(!page.contains("/password/reset/"), "staff never see the link");
    // The sender delivers after the answer: wait for the message, then count.
    let mail = app.mail_to("casey@example.com").await;
    assert_eq!(app.mail_count(), mail_before + 1);
    let at = mail.find("/password/reset/").expect("a reset link in the mail");
    let path: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '-')
        .collect();
    assert_eq!(app.new_browser().get(&path).await.status(), StatusCode::OK);
    let entry = &audit_of(&app, customer)[0];
    assert_eq!(
        (entry.actor.clone(), entry.action.as_str()),
        (format!("staff:{}", support.email), "account.reset_link")
    );
}

#[actix_web::test]
async fn the_same_revoke_posted_ten_times_at_once_revokes_once() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let manager = staff_member(&app, Role::Manager).await;

    let answers = join_all((0..10).map(|_| revoke(&manager, credit, "stolen card"))).await;

    let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    let done = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((done, refused), (1, 9), "{statuses:?}");
    assert_eq!(remaining(&app, credit), 0);
    let revokes = audit_of(&app, customer)
        .iter()
        .filter(|entry| entry.action == "credit.revoke")
        .count();
    assert_eq!(revokes, 1);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn ten_adjustments_of_minus_a_dollar_at_once_on_five_dollars_never_go_below_zero() {
    let Some(app) = spawn_app().await else { return };
    let (customer, credit) = customer_with_credit(&app, "casey@example.com", 500).await;
    let manager = staff_member(&app, Role::Manager).await;

    let answers = join_all((0..10).map(|_| adjust(&manager, credit, "-1.00", "one at a time"))).await;

    let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    let done = statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((done, refused), (5, 5), "{statuses:?}");
    assert_eq!(remaining(&app, credit), 0);
    let adjusts = audit_of(&app, customer)
        .iter()
        .filter(|entry| entry.action == "credit.adjust")
        .count();
    assert_eq!(adjusts, 5);
    app.assert_ledger_holds();
}

/// `email` (a new account with a card and a gift card) places `orders` orders of
/// a $0.99 track through the store; their ids, oldest first.
pub(crate) fn orders_of_a_track(app: &TestApp, email: &str, orders: i64, days_ago: i64) -> Vec<i64> {
    let user = customer_id(app, email);
    app.with_store(|store| {
        let card = CardSummary {
            brand: "Visa".into(),
            last4: "4242".into(),
        };
        let now = app.clock.now();
        store.set_default_card(user, &card, now).unwrap();
        let track = store
            .products_in(None)
            .unwrap()
            .into_iter()
            .find(|product| product.price.cents() == 99)
            .expect("a $0.99 track")
            .id;
        (0..orders)
            .map(|n| {
                store
                    .place_order(
                        user,
                        track,
                        &Promotion::None,
                        &format!("{email}-{n}"),
                        now - time::Duration::days(days_ago),
                    )
                    .unwrap()
                    .order_id
            })
            .collect()
    })
}

#[actix_web::test]
async fn the_orders_list_filters_by_day_and_customer_twenty_a_page() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("casey@example.com", "Casey Customer");
    app.create_account("drew@example.com", "Drew Other");
    let casey = orders_of_a_track(&app, "casey@example.com", 21, 0);
    let drew = orders_of_a_track(&app, "drew@example.com", 1, 3);
    let support = staff_member(&app, Role::Support).await;

    let first = support.get_html("/admin/orders?q=CASEY").await;
    assert_eq!(count(&first, "data-order-id="), 20);
    assert!(first.contains(&format!("data-order-id=\"{}\"", casey[20])));
    let next = next_link(&first).expect("a next page");
    let second = support.get_html(&next).await;
    assert_eq!(count(&second, "data-order-id="), 1);
    assert!(second.contains(&format!("data-order-id=\"{}\"", casey[0])));
    assert_eq!(next_link(&second), None);

    let day = |days_ago: i64| {
        (app.clock.now() - time::Duration::days(days_ago))
            .date()
            .to_string()
    };
    let three_days_ago = support
        .get_html(&format!("/admin/orders?from={}&to={}", day(3), day(3)))
        .await;
    assert_eq!(count(&three_days_ago, "data-order-id="), 1);
    assert!(three_days_ago.contains(&format!("data-order-id=\"{}\"", drew[0])));

    let unreadable = support.get("/admin/orders?from=12%2F01%2F2026").await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    let page = unreadable.text().await.unwrap();
    assert!(page.contains("aria-describedby=\"orders-from-error\""));
    assert!(page.contains("From: "));
}

#[actix_web::test]
async fn the_order_page_shows_its_breakdown_the_credits_it_drew_on_and_its_refunds() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("casey@example.com", "Casey Customer");
    let credit = grant_gift_card(&app, "casey@example.com", 50);
    let order = orders_of_a_track(&app, "casey@example.com", 1, 0)[0];
    let support = staff_member(&app, Role::Support).await;
    let path = format!("/admin/orders/{order}");

    let page = support.get_html(&path).await;

    assert_eq!(text_of(&page, "data-order", "price").as_deref(), Some("$0.99"));
    assert_eq!(
        text_of(&page, "data-order", "gift-card").as_deref(),
        Some("$0.50")
    );
    assert_eq!(text_of(&page, "data-order", "card").as_deref(), Some("$0.49"));
    assert!(page.contains(&format!("data-drawn-credit=\"{credit}\"")));
    assert!(page.contains("data-refunds=\"none\""));
    let customer = customer_id(&app, "casey@example.com");
    let customer_page = support
        .get_html(&format!("/admin/customers/{}", customer.0))
        .await;
    assert!(customer_page.contains(&format!("href=\"/admin/orders/{order}\"")));

    let now = app.clock.now();
    let whole = RefundRequest::whole(AdjustmentReason::parse("damaged").unwrap());
    app.with_store(|store| store.refund_order(&Actor::command(), order, &whole, now))
        .unwrap();
    let refunded = support.get_html(&path).await;
    assert!(refunded.contains("$0.50 back to"), "{refunded}");
    assert!(refunded.contains("$0.49 back to the card"), "{refunded}");
}

#[actix_web::test]
async fn the_sections_nav_marks_the_section_of_the_page_shown() {
    let Some(app) = spawn_app().await else { return };
    let staff = staff_member(&app, Role::Manager).await;
    let demo = customer_id(&app, DEMO_EMAIL).0;

    let list = staff.get_html("/admin/customers").await;
    assert!(
        list.contains(r#"<a href="/admin/customers" aria-current="page">Customers</a>"#),
        "{list}"
    );
    assert_eq!(list.matches("aria-current").count(), 1, "one section is current");

    let customer = staff.get_html(&format!("/admin/customers/{demo}")).await;
    assert!(customer.contains(r#"<a href="/admin/customers" aria-current="true">Customers</a>"#));
    assert!(
        customer.contains(r#"<a href="/admin">Dashboard</a>"#),
        "the dashboard holds only itself"
    );

    let home = staff.get_html("/admin").await;
    assert!(home.contains(r#"<a href="/admin" aria-current="page">Dashboard</a>"#));
    assert_eq!(home.matches("aria-current").count(), 1);
}
