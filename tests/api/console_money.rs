//! Money moved from the console (SPEC §8): grants within a support member's
//! limits, four eyes on big grants, and refunds whole or in part, each with who
//! and why on the audit trail, and never twice under a race.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{Email, Money, Role, UserId};
use storecredit::store::audit::AuditFilter;

use crate::console::{staff_member, staff_member_named};
use crate::helpers::{DEMO_EMAIL, TestApp, location, spawn_app};

fn demo(app: &TestApp) -> UserId {
    app.with_store(|store| store.user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap()))
        .unwrap()
        .expect("the demo account")
}

/// The demo shopper's gift card balance as the pop-up shows it.
async fn gift_cards(app: &TestApp) -> String {
    app.balance("gift-card").await
}

fn grant_path(app: &TestApp) -> String {
    format!("/admin/customers/{}/credits", demo(app).0)
}

/// The newest audit entries about the demo shopper: (who, action, reason).
fn audit(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let filter = AuditFilter {
        customer: Some(demo(app)),
        ..AuditFilter::default()
    };
    app.with_store(|store| store.audit_page(&filter, None, 50))
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| (entry.actor, entry.action, entry.reason))
        .collect()
}

#[actix_web::test]
async fn a_support_grant_within_the_limit_is_granted_and_one_above_it_is_a_403_saying_the_limit() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let before = gift_cards(&app).await;
    let support = staff_member(&app, Role::Support).await;
    let path = grant_path(&app);

    let above = support
        .post_console(
            &path,
            &[
                ("amount", "30.00"),
                ("gift_card", "on"),
                ("reason", "late delivery"),
            ],
        )
        .await;

    assert_eq!(above.status(), StatusCode::FORBIDDEN);
    assert!(above.text().await.unwrap().contains("$25.00"));
    assert_eq!(gift_cards(&app).await, before, "nothing granted above the limit");

    let within = support
        .post_console(
            &path,
            &[
                ("amount", "$20.00"),
                ("gift_card", "on"),
                ("reason", "late delivery"),
            ],
        )
        .await;

    assert_eq!(within.status(), StatusCode::SEE_OTHER);
    assert_ne!(gift_cards(&app).await, before);
    let who = format!("staff:{}", support.email);
    assert!(
        audit(&app).contains(&(who, "credit.grant".into(), Some("late delivery".into()))),
        "{:?}",
        audit(&app)
    );
}

#[actix_web::test]
async fn money_typed_with_a_comma_is_refused_naming_the_field_and_nothing_is_granted() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let before = gift_cards(&app).await;
    let manager = staff_member(&app, Role::Manager).await;

    for typed in ["2,50", "1.005", "-5", "ten", "1e3"] {
        let refused = manager
            .post_console(
                &grant_path(&app),
                &[("amount", typed), ("gift_card", "on"), ("reason", "r")],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
        assert!(refused.text().await.unwrap().contains("Amount:"), "{typed}");
    }
    assert_eq!(gift_cards(&app).await, before);
}

#[actix_web::test]
async fn a_600_dollar_grant_waits_and_only_another_managers_approval_reaches_the_pop_up() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let before = gift_cards(&app).await;
    let asker = staff_member_named(&app, "ann@shop.example", Role::Manager).await;
    let other = staff_member_named(&app, "bob@shop.example", Role::Manager).await;

    let asked = asker
        .post_console(
            &grant_path(&app),
            &[("amount", "600"), ("gift_card", "on"), ("reason", "long outage")],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(gift_cards(&app).await, before, "nothing before approval");
    let request = app.with_store(|store| store.pending_requests()).unwrap()[0].id.0;
    let approve = format!("/admin/approvals/{request}/approve");

    let own = asker.post_console(&approve, &[("reason", "fine by me")]).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    assert_eq!(gift_cards(&app).await, before, "the asker cannot approve");

    let approved = other
        .post_console(&approve, &[("reason", "checked the outage")])
        .await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&approved), "/admin/approvals");
    let after = gift_cards(&app).await;
    assert_ne!(after, before, "approved: the pop-up shows it");
    let actions: Vec<String> = audit(&app).into_iter().map(|(_, action, _)| action).collect();
    assert!(actions.contains(&"approval.request".to_owned()), "{actions:?}");
    assert!(actions.contains(&"approval.approve".to_owned()), "{actions:?}");

    let again = other.post_console(&approve, &[("reason", "twice")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(gift_cards(&app).await, after);
}

#[actix_web::test]
async fn two_managers_approving_at_once_apply_the_grant_once() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let asker = staff_member_named(&app, "ann@shop.example", Role::Manager).await;
    asker
        .post_console(
            &grant_path(&app),
            &[("amount", "600"), ("gift_card", "on"), ("reason", "outage")],
        )
        .await;
    let request = app.with_store(|store| store.pending_requests()).unwrap()[0].id.0;
    let first = staff_member_named(&app, "bob@shop.example", Role::Manager).await;
    let second = staff_member_named(&app, "cy@shop.example", Role::Owner).await;
    let approve = format!("/admin/approvals/{request}/approve");

    let answers = join_all([
        first.post_console(&approve, &[("reason", "ok")]),
        second.post_console(&approve, &[("reason", "ok")]),
    ])
    .await;

    let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|status| **status == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    let granted: Vec<i64> = app
        .with_store(|store| store.credits_of(demo(&app)))
        .unwrap()
        .iter()
        .filter(|credit| credit.original == Money::from_cents(60_000))
        .map(|credit| credit.id.0)
        .collect();
    assert_eq!(granted.len(), 1, "applied once");
    app.assert_ledger_holds();
}

/// The demo shopper buys something the card pays for in part; its number and
/// what was paid.
async fn an_order(app: &TestApp) -> (i64, Money) {
    let product = app.product_id("SafeKeep Backup");
    let bought = app.buy(product, &[]).await;
    assert_eq!(bought.status(), StatusCode::SEE_OTHER);
    let order: i64 = location(&bought).rsplit('/').next().unwrap().parse().unwrap();
    let paid = app
        .with_store(|store| store.order_details(order))
        .unwrap()
        .unwrap()
        .receipt
        .paid();
    (order, paid)
}

#[actix_web::test]
async fn partial_refunds_follow_each_other_up_to_the_total_with_who_and_why_on_the_order_page() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let (order, paid) = an_order(&app).await;
    let manager = staff_member(&app, Role::Manager).await;
    let path = format!("/admin/orders/{order}/refund");

    let first = manager
        .post_console(&path, &[("amount", "1.00"), ("reason", "scratched case")])
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let page = manager.get_html(&format!("/admin/orders/{order}")).await;
    assert!(page.contains("scratched case"), "{page}");
    assert!(page.contains(&format!("staff:{}", manager.email)), "{page}");

    let too_much = manager
        .post_console(&path, &[("amount", &paid.to_string()), ("reason", "everything")])
        .await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let rest = manager
        .post_console(&path, &[("amount", ""), ("reason", "the rest")])
        .await;
    assert_eq!(rest.status(), StatusCode::SEE_OTHER);
    let details = app
        .with_store(|store| store.order_details(order))
        .unwrap()
        .unwrap();
    assert_eq!(details.receipt.refunded, paid);
    assert!(details.receipt.refunded_at.is_some(), "refunded in full");
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn two_refunds_of_one_order_at_once_never_exceed_what_was_paid() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let (order, paid) = an_order(&app).await;
    let first = staff_member_named(&app, "ann@shop.example", Role::Manager).await;
    let second = staff_member_named(&app, "bob@shop.example", Role::Owner).await;
    let path = format!("/admin/orders/{order}/refund");
    // Each asks for more than half of what was paid: both cannot fit.
    let more_than_half = Money::from_cents(paid.cents() / 2 + 1).as_decimal().to_string();

    let answers = join_all([
        first.post_console(&path, &[("amount", &more_than_half), ("reason", "a")]),
        second.post_console(&path, &[("amount", &more_than_half), ("reason", "b")]),
        first.post_console(&path, &[("amount", &more_than_half), ("reason", "c")]),
    ])
    .await;

    let done = answers
        .iter()
        .filter(|answer| answer.status() == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(done, 1);
    let details = app
        .with_store(|store| store.order_details(order))
        .unwrap()
        .unwrap();
    assert!(details.receipt.refunded <= paid);
    assert_eq!(details.refunds.len(), 1);
    app.assert_ledger_holds();
}

#[actix_web::test]
async fn a_support_member_cannot_refund_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    app.sign_in_as_demo().await;
    let (order, _) = an_order(&app).await;
    let support = staff_member(&app, Role::Support).await;

    let refused = support
        .post_console(
            &format!("/admin/orders/{order}/refund"),
            &[("amount", ""), ("reason", "please")],
        )
        .await;

    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let details = app
        .with_store(|store| store.order_details(order))
        .unwrap()
        .unwrap();
    assert!(details.refunds.is_empty());
}
