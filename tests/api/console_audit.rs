//! The console's audit trail page (SPEC §8: filters by who, what, customer and
//! days, newest first, paged) and the CSV downloads of the console's lists:
//! attachments, formula-safe, carrying the whole filtered list.

use reqwest::StatusCode;
use storecredit::domain::{Actor, Role, StaffId, UserId};
use storecredit::store::audit::{AuditAction, Change};
use time::{Duration, OffsetDateTime};

use crate::console::staff_member;
use crate::console_pages::{count, customer_id, next_link, orders_of_a_track};
use crate::helpers::*;

fn ann() -> Actor {
    Actor::Staff {
        id: StaffId(901),
        email: "ann@shop.example".to_owned(),
    }
}

/// Writes an entry as a use case would, at `at`.
fn record(app: &TestApp, actor: &Actor, change: Change, at: OffsetDateTime) {
    app.with_store(|store| store.record_audit(actor, &change, at))
        .expect("an entry");
}

/// The ids of the entries a page lists.
fn entries_on(html: &str) -> Vec<String> {
    html.split("data-audit-entry=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

fn subjects_on(html: &str) -> Vec<String> {
    html.split("data-audit-subject>")
        .skip(1)
        .map(|rest| {
            let cell = &rest[..rest.find("</td>").unwrap()];
            let start = cell.find("<bdi>").unwrap() + 5;
            cell[start..start + cell[start..].find("</bdi>").unwrap()].to_owned()
        })
        .collect()
}

/// Two customers' trail over three days: Ann (staff) and a command.
fn a_trail_over_three_days(app: &TestApp) -> (UserId, UserId, OffsetDateTime) {
    app.create_account("casey@example.com", "Casey Customer");
    app.create_account("drew@example.com", "Drew Other");
    let (casey, drew) = (
        customer_id(app, "casey@example.com"),
        customer_id(app, "drew@example.com"),
    );
    let day_one = OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap(); // 2026-12-01 00:00 UTC
    let hours = |h| day_one + Duration::hours(h);
    record(
        app,
        &ann(),
        Change::new(AuditAction::CreditGrant, "credit:1")
            .customer(casey)
            .after("$5.00")
            .reason("late parcel"),
        hours(10),
    );
    record(
        app,
        &Actor::Command {
            user: "night-shift".into(),
        },
        Change::new(AuditAction::CreditRevoke, "credit:2")
            .customer(drew)
            .before("$3.00")
            .after("$0.00")
            .reason("fraud"),
        hours(30),
    );
    record(
        app,
        &ann(),
        Change::new(AuditAction::CodeDeactivate, "code:GIFT-20")
            .before("active")
            .after("inactive"),
        hours(54),
    );
    record(
        app,
        &ann(),
        Change::new(AuditAction::AccountUnlock, format!("customer:{}", drew.0)).customer(drew),
        hours(55),
    );
    (casey, drew, day_one)
}

#[actix_web::test]
async fn the_trail_narrows_by_who_what_customer_and_days_each_on_its_own() {
    let Some(app) = spawn_app().await else { return };
    let (casey, drew, _) = a_trail_over_three_days(&app);
    let finance = staff_member(&app, Role::Finance).await;

    let ann_only = finance.get_html("/admin/audit?who=ANN%40shop").await;
    assert_eq!(
        subjects_on(&ann_only),
        [
            format!("customer:{}", drew.0),
            "code:GIFT-20".into(),
            "credit:1".into()
        ]
    );
    let commands = finance.get_html("/admin/audit?who=cli%3Anight").await;
    assert_eq!(subjects_on(&commands), ["credit:2"]);
    assert!(commands.contains("<bdi>fraud</bdi>"));
    assert!(commands.contains("<bdi>$3.00</bdi> → <bdi>$0.00</bdi>"));

    let revokes = finance.get_html("/admin/audit?what=credit.revoke").await;
    assert_eq!(subjects_on(&revokes), ["credit:2"]);

    let by_number = finance
        .get_html(&format!("/admin/audit?customer={}", casey.0))
        .await;
    assert_eq!(subjects_on(&by_number), ["credit:1"]);
    let by_email = finance.get_html("/admin/audit?customer=Drew%40Example.com").await;
    assert_eq!(
        subjects_on(&by_email),
        [format!("customer:{}", drew.0), "credit:2".into()]
    );

    let second_day = finance
        .get_html("/admin/audit?from=2026-12-02&to=2026-12-02")
        .await;
    assert_eq!(subjects_on(&second_day), ["credit:2"]);
    let from_the_second = finance
        .get_html("/admin/audit?from=2026-12-02&to=2026-12-03")
        .await;
    assert_eq!(subjects_on(&from_the_second).len(), 3);

    let combined = finance
        .get_html("/admin/audit?who=ann&what=credit.grant&from=2026-12-01&to=2026-12-01")
        .await;
    assert_eq!(subjects_on(&combined), ["credit:1"]);
}

#[actix_web::test]
async fn the_trail_links_each_subject_the_console_has_a_page_for() {
    let Some(app) = spawn_app().await else { return };
    let (casey, drew, _) = a_trail_over_three_days(&app);
    let gift = app
        .sql_rows("SELECT id FROM codes WHERE code = 'GIFT-20'")
        .first()
        .map(|row| row[0].clone())
        .expect("the demo's GIFT-20");
    let manager = staff_member(&app, Role::Manager).await;

    let page = manager.get_html("/admin/audit?who=ann%40").await;

    assert!(page.contains(&format!("href=\"/admin/customers/{}#credit-1\"", casey.0)));
    assert!(page.contains(&format!("href=\"/admin/codes/{gift}\"")));
    assert!(page.contains(&format!("href=\"/admin/customers/{}\"", drew.0)));
    let customer_page = manager.get_html(&format!("/admin/customers/{}", casey.0)).await;
    assert!(customer_page.contains(&format!("href=\"/admin/audit?customer={}\"", casey.0)));
}

#[actix_web::test]
async fn the_trail_pages_twenty_at_a_time_keeping_its_filters_and_refuses_filters_it_cannot_read() {
    let Some(app) = spawn_app().await else { return };
    let now = app.clock.now();
    for n in 0..23 {
        record(
            &app,
            &ann(),
            Change::new(AuditAction::SettingChange, format!("setting:{n}")),
            now,
        );
    }
    let owner = staff_member(&app, Role::Owner).await;

    let first = owner.get_html("/admin/audit?what=setting.change").await;
    assert_eq!(count(&first, "data-audit-entry="), 20);
    let next = next_link(&first).expect("a next page");
    assert!(
        next.contains("what=setting.change") || next.contains("what=setting%2Echange"),
        "{next}"
    );
    let second = owner.get_html(&next).await;
    assert_eq!(entries_on(&second).len(), 3);
    assert_eq!(next_link(&second), None);

    for (query, message) in [
        ("what=credit.steal", "What: choose"),
        (
            "customer=nobody%40example.com",
            "Customer: no customer has the e-mail nobody@example.com",
        ),
        ("customer=not%20an%20email", "Customer: enter"),
        ("from=01%2F12%2F2026", "From: enter a day"),
        ("from=2026-12-09&to=2026-12-01", "To: the last day"),
        ("to=9999-12-31", "To: enter a day"),
        ("from=0001-01-01", "From: enter a day"),
    ] {
        let refused = owner.get(&format!("/admin/audit?{query}")).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(refused.text().await.unwrap().contains(message), "{query}");
    }
}

fn disposition(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-disposition")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A download's body, checked to be a CSV attachment.
async fn download(staff: &crate::console::StaffBrowser, path: &str) -> String {
    let response = staff.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert!(
        disposition(&response).starts_with("attachment; filename="),
        "{path}: {}",
        disposition(&response)
    );
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/csv"))
    );
    response.text().await.unwrap()
}

#[actix_web::test]
async fn the_customers_download_carries_every_customer_the_search_finds_formula_safe() {
    let Some(app) = spawn_app().await else { return };
    for n in 0..24 {
        app.create_account(&format!("robin{n:02}@example.com"), "Robin Download");
    }
    app.create_account("mallory@example.com", "=HYPERLINK(\"x\")");
    app.create_account("someone.else@example.com", "Someone Else");
    let finance = staff_member(&app, Role::Finance).await;

    let list = finance.get_html("/admin/customers?q=example.com").await;
    assert!(list.contains("format=csv"), "{list}");

    let csv = download(&finance, "/admin/customers?q=robin&format=csv").await;
    assert_eq!(csv.lines().count(), 1 + 24, "{csv}");
    assert!(csv.lines().next().unwrap().starts_with("id,email,name"));
    assert!(!csv.contains("someone.else"));
    let everyone = download(&finance, "/admin/customers?q=example.com&format=csv").await;
    assert!(everyone.contains("'=HYPERLINK"), "{everyone}");
    assert!(!everyone.contains(",=HYPERLINK") && !everyone.contains(",\"=HYPERLINK"));
}

#[actix_web::test]
async fn the_orders_download_carries_every_order_the_filters_find() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("casey@example.com", "Casey Customer");
    app.create_account("drew@example.com", "Drew Other");
    orders_of_a_track(&app, "casey@example.com", 22, 0);
    orders_of_a_track(&app, "drew@example.com", 2, 0);
    let finance = staff_member(&app, Role::Finance).await;

    let csv = download(&finance, "/admin/orders?q=casey&format=csv").await;

    assert_eq!(csv.lines().count(), 1 + 22, "{csv}");
    assert!(!csv.contains("drew@example.com"));
    let unreadable = finance.get("/admin/orders?from=yesterday&format=csv").await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn the_codes_trail_and_approvals_downloads_carry_their_whole_filtered_lists() {
    let Some(app) = spawn_app().await else { return };
    let now = app.clock.now();
    for n in 0..23 {
        record(
            &app,
            &ann(),
            Change::new(AuditAction::SettingChange, format!("setting:{n}")).reason("=1+1"),
            now,
        );
    }
    let manager = staff_member(&app, Role::Manager).await;
    for n in 0..21 {
        let created = manager
            .post_console(
                "/admin/codes",
                &[
                    ("code", &format!("CSV-{n:02}")),
                    ("kind", "discount"),
                    ("percent", "10"),
                    ("description", "Ten percent off"),
                ],
            )
            .await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
    }

    let trail = download(&manager, "/admin/audit?who=ann%40shop&format=csv").await;
    assert_eq!(trail.lines().count(), 1 + 23, "{trail}");
    assert!(trail.contains("'=1+1"));
    let codes = download(&manager, "/admin/codes?q=csv-&format=csv").await;
    assert_eq!(codes.lines().count(), 1 + 21, "{codes}");
    assert!(codes.lines().next().unwrap().starts_with("id,code,kind"));
    assert!(codes.contains(",active\n") || codes.ends_with(",active"));
    let approvals = download(&manager, "/admin/approvals?format=csv").await;
    assert!(approvals.starts_with("id,status,customer"));
}

#[actix_web::test]
async fn support_may_see_the_lists_but_not_download_them() {
    let Some(app) = spawn_app().await else { return };
    app.create_account("robin@example.com", "Robin Download");
    let support = staff_member(&app, Role::Support).await;

    let list = support.get_html("/admin/customers?q=example.com").await;
    assert!(list.contains("robin@example.com"), "{list}");
    assert!(!list.contains("format=csv"), "no download link offered: {list}");
    for path in [
        "/admin/customers?q=example.com&format=csv",
        "/admin/orders?format=csv",
        "/admin/codes?format=csv",
        "/admin/codes/1?format=csv",
    ] {
        let refused = support.get(path).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let page = refused.text().await.unwrap();
        assert!(page.contains("download lists"), "{path}: {page}");
        assert!(!page.contains("robin@example.com"), "{path}");
    }
}
