//! The console's reports and dashboard (SPEC §8): sales and the credit
//! liability as charts with the same figures in tables, codes, CSV downloads,
//! who may see them, and bad days named.

use reqwest::StatusCode;
use storecredit::domain::{
    Actor, AdjustmentReason, CategoryLabel, CategorySet, CategorySlug, CreditKind, CreditSource, Email,
    Money, Role, UserId,
};
use storecredit::store::Store;
use storecredit::store::credits::NewCredit;
use storecredit::store::reports::DayRange;

use crate::console::staff_member;
use crate::helpers::*;

fn demo_user(app: &TestApp) -> UserId {
    app.with_store(|store| store.user_id_by_email(&Email::parse("demo@example.com").unwrap()))
        .unwrap()
        .expect("the demo account")
}

/// Grants the demo shopper `cents` of `kind` now, as a command would.
fn grant(app: &TestApp, kind: CreditKind, cents: i64) {
    let user = demo_user(app);
    let now = app.clock.now();
    app.with_store(|store| {
        store.grant_credit(
            &Actor::command(),
            user,
            &NewCredit {
                kind,
                source: CreditSource::Grant,
                description: "Reports test".into(),
                amount: Money::from_cents(cents),
                expires_at: None,
                code_redemption_id: None,
            },
            &AdjustmentReason::parse("test").unwrap(),
            now,
        )
    })
    .expect("a credit");
}

/// The text of the first element carrying `attribute` (e.g. `data-liability-total`).
fn text_of(html: &str, attribute: &str) -> String {
    let at = html
        .find(attribute)
        .unwrap_or_else(|| panic!("no {attribute} in the page"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].trim().to_owned()
}

#[actix_web::test]
async fn finance_sees_each_report_as_a_chart_with_the_same_figures_in_a_table() {
    let Some(app) = spawn_app().await else { return };
    grant(&app, CreditKind::GiftCard, 12_345);
    let finance = staff_member(&app, Role::Finance).await;

    let html = finance.get_html("/admin/reports").await;

    for chart in ["sales-chart", "liability-chart"] {
        assert!(
            html.contains(&format!(
                "role=\"img\" aria-labelledby=\"{chart}-title {chart}-desc\""
            )),
            "{chart} is an image named by its title"
        );
        assert!(
            html.contains(&format!("<title id=\"{chart}-title\">")),
            "{chart} has a title"
        );
    }
    assert!(!html.contains("<script"), "no script in the page");
    let today = app.clock.now().date();
    let (sales, liability) = app.with_store(|store| {
        (
            store.sales_report(DayRange::ending(today, 30)).unwrap(),
            store.liability_report(today).unwrap(),
        )
    });
    assert!(liability.total >= Money::from_cents(12_345));
    assert_eq!(
        text_of(&html, "data-liability-total"),
        liability.total.to_string()
    );
    assert_eq!(
        text_of(&html, "data-total=\"gross\""),
        sales.total.gross.to_string()
    );
    assert_eq!(
        text_of(&html, "data-total=\"orders\""),
        sales.total.orders.to_string()
    );
    let last_day = html
        .find(&format!("data-outstanding-day=\"{today}\""))
        .expect("today's row of the chart's table");
    assert!(html[last_day..].contains(&liability.total.to_string()));
    assert!(html.contains("data-liability-line=\"gift card\""));
    assert!(html.contains("data-report=\"codes\""));
}

#[actix_web::test]
async fn support_is_refused_the_reports_and_sees_no_figures_on_the_dashboard() {
    let Some(app) = spawn_app().await else { return };
    let support = staff_member(&app, Role::Support).await;

    let refused = support.get("/admin/reports").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let csv = support.get("/admin/reports?format=csv&report=liability").await;
    assert_eq!(csv.status(), StatusCode::FORBIDDEN);

    let dashboard = support.get_html("/admin").await;
    assert!(dashboard.contains("data-staff-role"));
    assert!(!dashboard.contains("data-dashboard=\"today\""));
    assert!(!dashboard.contains("data-pending-approvals"));
}

#[actix_web::test]
async fn the_dashboard_shows_today_and_the_credit_outstanding_to_those_who_see_reports() {
    let Some(app) = spawn_app().await else { return };
    let before = app.with_store(|store| store.glance(app.clock.now())).unwrap();
    grant(&app, CreditKind::GiftCard, 50_00);
    let manager = staff_member(&app, Role::Manager).await;

    let html = manager.get_html("/admin").await;

    assert!(html.contains(&format!("data-staff-email=\"{}\"", manager.email)));
    assert_eq!(
        text_of(&html, "data-today=\"granted\""),
        (before.granted + Money::from_cents(50_00)).to_string()
    );
    assert_eq!(
        text_of(&html, "data-today=\"outstanding\""),
        (before.outstanding + Money::from_cents(50_00)).to_string()
    );
    assert!(
        html.contains("data-pending-approvals=\"0\""),
        "a manager approves"
    );
    assert!(html.contains("href=\"/admin/reports\""));
}

#[actix_web::test]
async fn each_report_downloads_as_a_formula_safe_csv_attachment() {
    // A department named like a spreadsheet formula, added before the server
    // starts so that its copy of the categories holds it.
    let Some(app) = spawn_app_on(|database| {
        let store = Store::open_location(database).expect("the database opens");
        store
            .add_category(
                &Actor::command(),
                &CategorySlug::parse("sums").unwrap(),
                &CategoryLabel::parse("=SUM(A1:A9)").unwrap(),
                time::OffsetDateTime::now_utc(),
            )
            .expect("a category");
        store
    })
    .await
    else {
        return;
    };
    let category = app
        .with_store(|store| store.categories().by_slug("sums").map(|category| category.id()))
        .expect("the category");
    grant(
        &app,
        CreditKind::Promotional(CategorySet::default().with(category)),
        7_00,
    );
    let finance = staff_member(&app, Role::Finance).await;

    for (report, header) in [
        (
            "sales",
            "day,orders,gross,discounts,promotional_credit,gift_card,card,refunds,refunded_to_card,net",
        ),
        ("liability", "section,kind,categories,period,credits,amount"),
        ("codes", "code,kind,active,redemptions,value"),
    ] {
        let response = finance
            .get(&format!("/admin/reports?report={report}&format=csv"))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{report}");
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with(&format!("attachment; filename=\"{report}-")),
            "{disposition}"
        );
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let body = response.text().await.unwrap();
        assert_eq!(body.lines().next(), Some(header), "{report}");
        if report == "liability" {
            assert!(body.contains(",'=SUM(A1:A9),"), "{body}");
            assert!(!body.contains(",=SUM"), "{body}");
        }
    }
}

#[actix_web::test]
async fn a_day_that_cannot_be_read_is_a_400_page_naming_its_field() {
    let Some(app) = spawn_app().await else { return };
    let finance = staff_member(&app, Role::Finance).await;

    for (query, field, message) in [
        (
            "from=11/01/2026",
            "reports-from",
            "From: enter a day such as 2026-11-30",
        ),
        (
            "to=2026-02-30",
            "reports-to",
            "To: enter a day such as 2026-11-30",
        ),
        (
            "as_of=yesterday",
            "reports-as-of",
            "Liability as of: enter a day such as 2026-11-30",
        ),
        (
            "from=2026-12-05&to=2026-12-01",
            "reports-to",
            "To: the last day (2026-12-01) comes before the first (2026-12-05)",
        ),
        (
            "from=2026-12-05&format=csv&report=sales&to=2026-12-01",
            "reports-to",
            "comes before the first",
        ),
    ] {
        let response = finance.get(&format!("/admin/reports?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{query}: {html}");
        assert!(
            html.contains(&format!("id=\"{field}\" type=\"date\""))
                && html.contains(&format!("aria-describedby=\"{field}-error\"")),
            "{query}: the field is marked"
        );
        assert!(!html.contains("<svg"), "{query}: no report for a bad range");
    }
}
