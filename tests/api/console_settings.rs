//! The console's settings (SPEC §8, owners only): the approval threshold and
//! the support limits, money typed as staff type it, each change on the audit
//! trail with its value before and after, and used by the next grant.

use reqwest::StatusCode;
use storecredit::domain::{Email, Role};

use crate::console::staff_member;
use crate::helpers::{DEMO_EMAIL, TestApp, spawn_app};

fn settings_form<'a>(threshold: &'a str, grant: &'a str, day: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("approval_threshold", threshold),
        ("support_grant_limit", grant),
        ("support_day_limit", day),
    ]
}

fn grant_path(app: &TestApp) -> String {
    let demo = app
        .with_store(|store| store.user_id_by_email(&Email::parse(DEMO_EMAIL).unwrap()))
        .unwrap()
        .unwrap();
    format!("/admin/customers/{}/credits", demo.0)
}

#[actix_web::test]
async fn a_raised_support_limit_is_used_by_the_next_support_grant() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;
    let support = staff_member(&app, Role::Support).await;
    let grant = [
        ("amount", "28.00"),
        ("gift_card", "on"),
        ("reason", "late delivery"),
    ];
    let above = support.post_console(&grant_path(&app), &grant).await;
    assert_eq!(above.status(), StatusCode::FORBIDDEN, "$28.00 is above $25.00");

    let saved = owner
        .post_console("/admin/settings", &settings_form("500.00", "30", "100.00"))
        .await;

    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = owner.follow(&saved).await;
    assert!(
        page.contains("Support limit per grant is now $30.00 (was $25.00)."),
        "{page}"
    );
    assert!(page.contains("value=\"30.00\""), "{page}");
    let within = support.post_console(&grant_path(&app), &grant).await;
    assert_eq!(
        within.status(),
        StatusCode::SEE_OTHER,
        "the next grant uses $30.00"
    );
    let entries = app
        .with_store(|store| store.audit_page(&Default::default(), None, 10))
        .unwrap()
        .entries;
    let change = entries
        .iter()
        .find(|entry| entry.action == "setting.change")
        .expect("the change is on the record");
    assert_eq!(change.actor, format!("staff:{}", owner.email));
    assert_eq!(change.subject, "setting:support-grant-limit");
    assert_eq!(
        (change.before.as_deref(), change.after.as_deref()),
        (Some("$25.00"), Some("$30.00"))
    );
    assert_eq!(
        entries
            .iter()
            .filter(|entry| entry.action == "setting.change")
            .count(),
        1,
        "only what changed is recorded"
    );
}

#[actix_web::test]
async fn money_typed_wrongly_is_refused_naming_the_field_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;

    for (form, named, id) in [
        (
            settings_form("2,50", "25", "100"),
            "Approval threshold: ",
            "settings-approval_threshold",
        ),
        (
            settings_form("500", "25.001", "100"),
            "Support limit per grant: ",
            "settings-support_grant_limit",
        ),
        (
            settings_form("500", "25", "lots"),
            "Support limit per day: ",
            "settings-support_day_limit",
        ),
        (
            settings_form("500", "$200", "$100"),
            "cannot be above",
            "settings-support_grant_limit",
        ),
    ] {
        let refused = owner.post_console("/admin/settings", &form).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let html = refused.text().await.unwrap();
        assert!(html.contains(named), "{form:?}: {html}");
        assert!(
            html.contains(&format!("aria-describedby=\"{id}-error\"")),
            "{form:?}"
        );
    }
    let settings = app.with_store(|store| store.settings()).unwrap();
    let cents: Vec<i64> = settings.iter().map(|(_, value)| value.cents()).collect();
    assert_eq!(cents, [50_000, 2_500, 10_000]);

    let saved = owner
        .post_console("/admin/settings", &settings_form("$250", "12", "$99.50"))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let settings = app.with_store(|store| store.settings()).unwrap();
    let cents: Vec<i64> = settings.iter().map(|(_, value)| value.cents()).collect();
    assert_eq!(cents, [25_000, 1_200, 9_950]);
}
