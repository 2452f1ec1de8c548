//! The console's staff page (SPEC §8, owners only): adding a member shows their
//! enrolment link once, on the page answering the form; role changes and
//! disables end that person's sessions at once; the store always keeps an
//! enabled, enrolled owner, even when two owners demote each other at once.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{Actor, DisplayName, Email, Role};

use crate::console::{StaffBrowser, enrol, staff_member, staff_member_named};
use crate::helpers::{TestApp, location, spawn_app};

/// The enrolment link a page shows (`data-enrolment-link`), if any.
fn shown_link(html: &str) -> Option<String> {
    let start = html.find("data-enrolment-link>")? + "data-enrolment-link>".len();
    let end = start + html[start..].find('<')?;
    Some(html[start..end].to_owned())
}

fn staff_id(app: &TestApp, email: &str) -> i64 {
    app.with_store(|store| store.staff_member(&Email::parse(email).unwrap()))
        .unwrap()
        .expect("a staff member")
        .id
        .0
}

/// The audit trail's newest entries: (who, what, subject).
fn trail(app: &TestApp) -> Vec<(String, String, String)> {
    app.with_store(|store| store.audit_page(&Default::default(), None, 20))
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| (entry.actor, entry.action, entry.subject))
        .collect()
}

/// Whether `staff` still has a console session: the console's home opens.
async fn signed_in(staff: &StaffBrowser) -> bool {
    let home = staff.get("/admin").await;
    match home.status() {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert!(location(&home).starts_with("/admin/signin"));
            false
        }
        other => panic!("/admin answered {other}"),
    }
}

#[actix_web::test]
async fn an_owner_adds_a_member_whose_link_is_shown_once_and_enrols_them() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;

    let added = owner
        .post_console(
            "/admin/staff",
            &[
                ("email", "Dee@Shop.example"),
                ("name", "Dee"),
                ("role", "finance"),
            ],
        )
        .await;

    assert_eq!(
        added.status(),
        StatusCode::OK,
        "the link is on the page answering the form"
    );
    assert!(added.headers().get("location").is_none());
    let cookies: Vec<String> = added
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        added.headers().get("cache-control").unwrap(),
        "no-store",
        "the page with the link is not kept"
    );
    let html = added.text().await.unwrap();
    let link = shown_link(&html).expect("the enrolment link");
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(link.contains("/admin/enrol/"), "{link}");
    assert!(
        cookies.iter().all(|cookie| !cookie.contains(&token)),
        "{cookies:?}"
    );
    // Shown once: the list does not show it again.
    let again = owner.get_html("/admin/staff").await;
    assert!(shown_link(&again).is_none());
    assert!(!again.contains(&token));
    assert!(again.contains("data-staff-email=\"dee@shop.example\""));
    assert!(again.contains("waiting for enrolment"));

    let dee = app.new_browser();
    let (enrolled, _) = enrol(&app, &dee, &token).await;
    assert_eq!(enrolled.status(), StatusCode::SEE_OTHER);
    let listed = owner.get_html("/admin/staff").await;
    let row = &listed[listed.find("data-staff-email=\"dee@shop.example\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("enrolled"));
    assert!(
        trail(&app).contains(&(
            format!("staff:{}", owner.email),
            "staff.add".into(),
            "staff:dee@shop.example".into()
        )),
        "{:?}",
        trail(&app)
    );
    // The trail never holds the link.
    assert!(!String::from_utf8_lossy(&app.everything_stored()).contains(&token));
}

#[actix_web::test]
async fn a_bad_field_is_named_and_a_taken_email_refused_with_nothing_added() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;
    let before = app.with_store(|store| store.list_staff()).unwrap().len();

    let bad_role = owner
        .post_console(
            "/admin/staff",
            &[("email", "eve@shop.example"), ("name", "Eve"), ("role", "boss")],
        )
        .await;
    assert_eq!(bad_role.status(), StatusCode::BAD_REQUEST);
    let html = bad_role.text().await.unwrap();
    assert!(
        html.contains("Role: choose support, finance, manager or owner"),
        "{html}"
    );
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"add-role-error\""));

    let taken = owner
        .post_console(
            "/admin/staff",
            &[("email", &owner.email), ("name", "Again"), ("role", "support")],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(shown_link(&taken.text().await.unwrap()).is_none());
    assert_eq!(app.with_store(|store| store.list_staff()).unwrap().len(), before);
}

#[actix_web::test]
async fn a_manager_gets_403_on_staff_and_settings_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member(&app, Role::Manager).await;
    let support = staff_member(&app, Role::Support).await;
    let entries = trail(&app).len();
    let target = staff_id(&app, &support.email);

    for (path, form) in [
        (
            "/admin/staff".to_owned(),
            vec![("email", "x@shop.example"), ("name", "X"), ("role", "owner")],
        ),
        (format!("/admin/staff/{target}/role"), vec![("role", "owner")]),
        (format!("/admin/staff/{target}/disable"), vec![]),
        (format!("/admin/staff/{target}/reset"), vec![]),
        (
            "/admin/settings".to_owned(),
            vec![
                ("approval_threshold", "1"),
                ("support_grant_limit", "1"),
                ("support_day_limit", "1"),
            ],
        ),
    ] {
        let response = manager.post_console(&path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(manager.get("/admin/staff").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        manager.get("/admin/settings").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(trail(&app).len(), entries, "nothing recorded, so nothing changed");
    assert!(signed_in(&support).await);
    assert_eq!(
        app.with_store(|store| store.approval_threshold())
            .unwrap()
            .cents(),
        50_000
    );
}

#[actix_web::test]
async fn a_role_change_or_a_disable_ends_that_persons_sessions_at_once() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;
    let support = staff_member(&app, Role::Support).await;
    let finance = staff_member(&app, Role::Finance).await;
    assert!(signed_in(&support).await && signed_in(&finance).await);

    let changed = owner
        .post_console(
            &format!("/admin/staff/{}/role", staff_id(&app, &support.email)),
            &[("role", "manager")],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let page = owner.follow(&changed).await;
    assert!(page.contains("is now manager (was support)"), "{page}");
    assert!(!signed_in(&support).await, "the role change ended the session");

    let disabled = owner
        .post_console(
            &format!("/admin/staff/{}/disable", staff_id(&app, &finance.email)),
            &[],
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    assert!(!signed_in(&finance).await, "the disable ended the session");
    let listed = owner.get_html("/admin/staff").await;
    assert!(listed.contains(">disabled<"), "{listed}");

    // Enabled again, they sign in as before.
    let enabled = owner
        .post_console(
            &format!("/admin/staff/{}/enable", staff_id(&app, &finance.email)),
            &[],
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    let who = format!("staff:{}", owner.email);
    let actions: Vec<String> = trail(&app)
        .into_iter()
        .filter(|(actor, _, _)| *actor == who)
        .map(|(_, action, _)| action)
        .collect();
    assert_eq!(actions[..3], ["staff.enable", "staff.disable", "staff.role"]);
}

#[actix_web::test]
async fn an_owner_cannot_change_their_own_role_or_disable_themselves() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;
    let me = staff_id(&app, &owner.email);

    for (path, form) in [
        (format!("/admin/staff/{me}/role"), vec![("role", "support")]),
        (format!("/admin/staff/{me}/disable"), vec![]),
        (format!("/admin/staff/{me}/reset"), vec![]),
    ] {
        let refused = owner.post_console(&path, &form).await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{path}");
        assert!(refused.text().await.unwrap().contains("ask another owner"));
    }
    assert!(signed_in(&owner).await);
}

#[actix_web::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let Some(app) = spawn_app().await else { return };
    let ann = staff_member_named(&app, "ann@shop.example", Role::Owner).await;
    let bob = staff_member_named(&app, "bob@shop.example", Role::Owner).await;
    let (ann_id, bob_id) = (staff_id(&app, &ann.email), staff_id(&app, &bob.email));

    let answers = join_all([
        ann.post_console(&format!("/admin/staff/{bob_id}/role"), &[("role", "manager")]),
        bob.post_console(&format!("/admin/staff/{ann_id}/role"), &[("role", "manager")]),
    ])
    .await;

    let statuses: Vec<StatusCode> = answers.iter().map(|answer| answer.status()).collect();
    assert!(
        statuses.contains(&StatusCode::SEE_OTHER),
        "one demotion goes through: {statuses:?}"
    );
    let owners = app
        .with_store(|store| store.list_staff())
        .unwrap()
        .into_iter()
        .filter(|record| record.member.role == Role::Owner && record.enrolled && record.disabled_at.is_none())
        .count();
    assert_eq!(owners, 1, "{statuses:?}");
}

#[actix_web::test]
async fn the_staff_list_downloads_as_csv() {
    let Some(app) = spawn_app().await else { return };
    let owner = staff_member(&app, Role::Owner).await;
    let now = app.clock.now();
    app.with_store(|store| {
        store.add_staff(
            &Actor::command(),
            &Email::parse("sum@shop.example").unwrap(),
            &DisplayName::parse("=SUM(A1)").unwrap(),
            Role::Support,
            now,
        )
    })
    .unwrap();

    let csv = owner.get("/admin/staff?format=csv").await;

    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("name,email,role,state,last_sign_in,added"),
        "{text}"
    );
    assert!(text.contains(&owner.email));
    assert!(text.contains("'=SUM(A1)"), "formula-safe: {text}");
}
