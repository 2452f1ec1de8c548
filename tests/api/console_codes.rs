//! The console's codes (SPEC §8): every code, filtered and paged; a code's page
//! naming who redeemed it and when; creating a code (the rules of `code
//! create`), switching one off and on, each on the trail under the staff
//! member's name; refused for support and finance with nothing changed.

use futures::future::join_all;
use reqwest::StatusCode;
use storecredit::domain::{Actor, CodeGrant, Money, PromoCode, Role};
use storecredit::store::audit::{AuditEntry, AuditFilter};
use storecredit::store::codes::{CodeRecord, NewCode};

use crate::console::{StaffBrowser, staff_member};
use crate::console_pages::{count, customer_id, next_link};
use crate::helpers::*;

/// A credit of `cents` for the store's music category.
fn music_credit(app: &TestApp, cents: i64) -> CodeGrant {
    CodeGrant::Credit {
        amount: Money::from_cents(cents),
        categories: app
            .with_store(|store| store.categories().parse_list("music"))
            .expect("a music category"),
        valid_for: None,
    }
}

/// Creates a code as an operator command would; its id.
fn create_code(app: &TestApp, name: &str, grant: CodeGrant, description: &str) -> i64 {
    let new = NewCode {
        code: PromoCode::parse(name).unwrap(),
        description: description.to_owned(),
        grant,
        redeem_by: None,
        max_redemptions: None,
    };
    let now = app.clock.now();
    app.with_store(|store| store.create_code(&Actor::command(), &new, now))
        .expect("the code is created")
}

fn code_named(app: &TestApp, name: &str) -> Option<CodeRecord> {
    app.with_store(|store| store.code_named(&PromoCode::parse(name).unwrap()))
        .unwrap()
}

fn code_count(app: &TestApp) -> usize {
    app.sql_rows("SELECT id FROM codes").len()
}

/// The trail's entries about `subject`, newest first.
fn trail_of(app: &TestApp, subject: &str) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        subject: Some(subject.to_owned()),
        ..AuditFilter::default()
    };
    app.with_store(|store| store.audit_page(&filter, None, 100))
        .unwrap()
        .entries
}

/// The create form's fields for a credit code, with `changes` over them.
fn create_form<'a>(code: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("code", code),
        ("kind", "credit"),
        ("amount", "12.50"),
        ("categories", "music"),
        ("description", "$12.50 of music, with our apologies"),
    ];
    for (name, value) in changes {
        form.retain(|(field, _)| field != name);
        form.push((name, value));
    }
    form
}

async fn create(staff: &StaffBrowser, form: &[(&str, &str)]) -> reqwest::Response {
    staff.post_console("/admin/codes", form).await
}

#[actix_web::test]
async fn codes_are_listed_newest_first_twenty_a_page_and_narrowed_by_text_kind_and_state() {
    let Some(app) = spawn_app().await else { return };
    for n in 0..22 {
        create_code(
            &app,
            &format!("BULK-{n:02}"),
            music_credit(&app, 100),
            "Bulk mailing",
        );
    }
    let gift = CodeGrant::GiftCard {
        amount: Money::from_cents(2500),
    };
    let leaked = create_code(&app, "LEAKED-GIFT", gift, "Bulk gift card");
    let now = app.clock.now();
    app.with_store(|store| {
        store.deactivate_code(&Actor::command(), &PromoCode::parse("BULK-03").unwrap(), now)
    })
    .unwrap();
    let support = staff_member(&app, Role::Support).await;

    let first = support.get_html("/admin/codes?q=bulk").await;
    assert_eq!(count(&first, "data-code-id="), 20);
    assert!(
        first.contains(&format!("href=\"/admin/codes/{leaked}\"")),
        "newest first"
    );
    assert!(first.contains("data-code=\"BULK-21\""));
    let next = next_link(&first).expect("a next page");
    let second = support.get_html(&next).await;
    assert_eq!(count(&second, "data-code-id="), 3);
    assert!(second.contains("data-code=\"BULK-00\""));
    assert_eq!(next_link(&second), None);

    let gift_cards = support.get_html("/admin/codes?q=bulk&kind=gift_card").await;
    assert_eq!(count(&gift_cards, "data-code-id="), 1);
    assert!(gift_cards.contains("data-code=\"LEAKED-GIFT\""));
    assert!(gift_cards.contains("$25.00"));
    let off = support.get_html("/admin/codes?state=off").await;
    assert_eq!(count(&off, "data-code-id="), 1);
    assert!(off.contains("data-code=\"BULK-03\""));
    assert!(off.contains("switched off"));

    let unreadable = support.get("/admin/codes?kind=voucher").await;
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
    assert!(unreadable.text().await.unwrap().contains("Kind: choose"));
}

#[actix_web::test]
async fn a_codes_page_names_each_account_that_redeemed_it_with_the_time_and_the_credit_left() {
    let Some(app) = spawn_app().await else { return };
    let id = create_code(&app, "LEAKY-5", music_credit(&app, 500), "Five dollars of music");
    let ann = app.new_shopper("ann@example.com").await;
    assert_eq!(ann.redeem("leaky-5").await.status(), StatusCode::SEE_OTHER);
    let redeemed_at = app.clock.now();
    let bob = app.new_shopper("bob@example.com").await;
    assert_eq!(bob.redeem("LEAKY-5").await.status(), StatusCode::SEE_OTHER);
    let support = staff_member(&app, Role::Support).await;

    let page = support.get_html(&format!("/admin/codes/{id}")).await;

    let ann_id = customer_id(&app, "ann@example.com");
    let bob_id = customer_id(&app, "bob@example.com");
    assert!(page.contains(&format!(
        "href=\"/admin/customers/{}\" data-redeemer>ann@example.com",
        ann_id.0
    )));
    assert!(page.contains(&format!(
        "href=\"/admin/customers/{}\" data-redeemer>bob@example.com",
        bob_id.0
    )));
    let minute = redeemed_at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap();
    assert!(page.contains(&minute), "{minute} in {page}");
    assert_eq!(count(&page, "data-redemption="), 2);
    assert!(page.contains("of $5.00: $5.00 remains"), "{page}");
    assert!(page.contains("2 (no cap)"));

    let finance = staff_member(&app, Role::Finance).await;
    let csv = finance.get(&format!("/admin/codes/{id}?format=csv")).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(disposition(&csv).starts_with("attachment"));
    let body = csv.text().await.unwrap();
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(body.contains("ann@example.com") && body.contains("bob@example.com"));
}

fn disposition(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-disposition")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn a_manager_creates_a_code_from_the_console_and_the_trail_names_them() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member(&app, Role::Manager).await;

    let created = create(
        &manager,
        &create_form("sorry-1250", &[("amount", "$12.50"), ("max_redemptions", "3")]),
    )
    .await;

    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let record = code_named(&app, "SORRY-1250").expect("the code");
    assert_eq!(location(&created), format!("/admin/codes/{}", record.id));
    assert_eq!(record.grant, music_credit(&app, 1250));
    assert_eq!(record.max_redemptions, Some(3));
    let page = manager.follow(&created).await;
    assert!(page.contains("Code SORRY-1250 created"), "{page}");
    let trail = trail_of(&app, "code:SORRY-1250");
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].actor.as_str(), trail[0].action.as_str()),
        (format!("staff:{}", manager.email).as_str(), "code.create")
    );

    let gift = create(
        &manager,
        &[
            ("code", "GIFT-FOR-ANN"),
            ("kind", "gift_card"),
            ("amount", "12"),
            ("description", "A gift card for Ann"),
        ],
    )
    .await;
    assert_eq!(gift.status(), StatusCode::SEE_OTHER);
    let gift = code_named(&app, "GIFT-FOR-ANN").unwrap();
    assert_eq!(gift.max_redemptions, Some(1), "a gift card is redeemed once");
}

#[actix_web::test]
async fn money_or_terms_the_console_cannot_read_are_refused_naming_the_field_and_nothing_is_created() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member(&app, Role::Manager).await;
    let codes = code_count(&app);
    let audit = app.sql_rows("SELECT id FROM audit_entries").len();

    for (changes, field, message) in [
        (vec![("amount", "12,50")], "amount", "Amount: "),
        (vec![("amount", "12.505")], "amount", "Amount: "),
        (vec![("amount", "twelve")], "amount", "Amount: "),
        (vec![("amount", "-5")], "amount", "Amount: "),
        (vec![("amount", "")], "amount", "Amount: "),
        (vec![("code", "no spaces")], "code", "Code: "),
        (vec![("categories", "")], "categories", "Categories: "),
        (vec![("redeem_by", "2001-01-01")], "redeem_by", "already passed"),
        (
            vec![("max_redemptions", "many")],
            "max_redemptions",
            "Most redemptions",
        ),
        (vec![("description", " ")], "description", "Description: "),
    ] {
        let refused = create(&manager, &create_form("NEW-CODE", &changes)).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{changes:?}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(message), "{changes:?}: {page}");
        assert!(
            page.contains(&format!("aria-describedby=\"create-{field}-error\"")),
            "{changes:?}"
        );
        assert!(page.contains("Nothing was created."));
        if field == "amount" && !changes[0].1.is_empty() {
            assert!(
                page.contains(&format!("value=\"{}\"", changes[0].1)),
                "shown again as typed"
            );
        }
    }
    assert_eq!(code_count(&app), codes);
    assert_eq!(app.sql_rows("SELECT id FROM audit_entries").len(), audit);
    assert!(code_named(&app, "NEW-CODE").is_none());
}

#[actix_web::test]
async fn a_code_that_exists_already_is_a_409_and_stays_as_it_was() {
    let Some(app) = spawn_app().await else { return };
    create_code(&app, "TAKEN", music_credit(&app, 100), "The first one");
    let manager = staff_member(&app, Role::Manager).await;

    let again = create(&manager, &create_form("taken", &[("amount", "900")])).await;

    assert_eq!(again.status(), StatusCode::CONFLICT);
    let page = again.text().await.unwrap();
    assert!(page.contains("Code: a code TAKEN already exists"), "{page}");
    assert_eq!(code_named(&app, "TAKEN").unwrap().grant, music_credit(&app, 100));
    assert!(
        trail_of(&app, "code:TAKEN")
            .iter()
            .all(|entry| entry.actor == Actor::command().to_string())
    );
}

#[actix_web::test]
async fn support_and_finance_may_see_codes_but_not_create_or_switch_them_and_nothing_changes() {
    let Some(app) = spawn_app().await else { return };
    let id = create_code(&app, "HANDS-OFF", music_credit(&app, 100), "Not yours");
    let audit = app.sql_rows("SELECT id FROM audit_entries").len();
    for role in [Role::Support, Role::Finance] {
        let staff = staff_member(&app, role).await;
        let list = staff.get_html("/admin/codes").await;
        assert!(list.contains("data-code=\"HANDS-OFF\""));
        assert!(
            !list.contains("method=\"post\" action=\"/admin/codes\""),
            "{role} sees no create form"
        );
        let page = staff.get_html(&format!("/admin/codes/{id}")).await;
        assert!(!page.contains("/deactivate\""), "{role} sees no switch");

        let refused = [
            create(&staff, &create_form("NOT-MINE", &[])).await,
            staff
                .post_console(&format!("/admin/codes/{id}/deactivate"), &[])
                .await,
            staff
                .post_console(&format!("/admin/codes/{id}/reactivate"), &[])
                .await,
        ];
        for response in refused {
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
        }
    }
    assert!(code_named(&app, "NOT-MINE").is_none());
    assert!(code_named(&app, "HANDS-OFF").unwrap().active);
    // Signing in is on the trail; nothing else is.
    let changes = app.sql_rows("SELECT action FROM audit_entries WHERE action LIKE 'code.%'");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(app.sql_rows("SELECT id FROM audit_entries").len() > audit);
}

#[actix_web::test]
async fn a_manager_switches_a_code_off_and_on_again_each_on_the_trail_under_their_name() {
    let Some(app) = spawn_app().await else { return };
    let id = create_code(&app, "FLIP-ME", music_credit(&app, 300), "Three dollars of music");
    let manager = staff_member(&app, Role::Manager).await;
    let shopper = app.new_shopper("shopper@example.com").await;

    let off = manager
        .post_console(&format!("/admin/codes/{id}/deactivate"), &[])
        .await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&off), format!("/admin/codes/{id}"));
    let page = manager.follow(&off).await;
    assert!(page.contains("Code FLIP-ME switched off"), "{page}");
    assert!(page.contains("data-code-state=\"off\""));
    let refused = shopper.redeem("FLIP-ME").await;
    assert_ne!(
        refused.status(),
        StatusCode::SEE_OTHER,
        "a switched-off code is refused"
    );

    let on = manager
        .post_console(&format!("/admin/codes/{id}/reactivate"), &[])
        .await;
    assert_eq!(on.status(), StatusCode::SEE_OTHER);
    let page = manager.follow(&on).await;
    assert!(
        page.contains("Code FLIP-ME is switched on again: it can be redeemed"),
        "{page}"
    );
    assert_eq!(shopper.redeem("FLIP-ME").await.status(), StatusCode::SEE_OTHER);

    let trail: Vec<(String, String)> = trail_of(&app, "code:FLIP-ME")
        .into_iter()
        .map(|entry| (entry.actor, entry.action))
        .collect();
    let by_manager = format!("staff:{}", manager.email);
    assert_eq!(
        trail[..2],
        [
            (by_manager.clone(), "code.reactivate".to_owned()),
            (by_manager, "code.deactivate".to_owned())
        ]
    );
}

#[actix_web::test]
async fn reactivating_a_code_past_its_last_day_says_it_still_cannot_be_redeemed() {
    let Some(app) = spawn_app().await else { return };
    let now = app.clock.now();
    let lapsed = NewCode {
        code: PromoCode::parse("SHORT-LIVED").unwrap(),
        description: "Yesterday only".into(),
        grant: music_credit(&app, 100),
        redeem_by: Some(now - time::Duration::days(1)),
        max_redemptions: None,
    };
    let id = app
        .with_store(|store| {
            store.create_code(&Actor::command(), &lapsed, now)?;
            store.deactivate_code(&Actor::command(), &lapsed.code, now)?;
            Ok::<_, storecredit::store::codes::CreateCodeError>(store.code_named(&lapsed.code)?)
        })
        .unwrap()
        .expect("the code")
        .id;
    let manager = staff_member(&app, Role::Manager).await;

    let on = manager
        .post_console(&format!("/admin/codes/{id}/reactivate"), &[])
        .await;

    assert_eq!(on.status(), StatusCode::SEE_OTHER);
    let page = manager.follow(&on).await;
    assert!(
        page.contains("but it still cannot be redeemed: its last day to redeem was"),
        "{page}"
    );
    assert!(page.contains("data-code-state=\"expired\""));
}

#[actix_web::test]
async fn switching_a_code_off_many_times_at_once_switches_it_off_once() {
    let Some(app) = spawn_app().await else { return };
    let id = create_code(&app, "RUSH-OFF", music_credit(&app, 100), "Busy code");
    let manager = staff_member(&app, Role::Manager).await;
    let path = format!("/admin/codes/{id}/deactivate");

    let answers = join_all((0..6).map(|_| manager.post_console(&path, &[]))).await;

    assert!(
        answers
            .iter()
            .all(|answer| answer.status() == StatusCode::SEE_OTHER)
    );
    let switched: Vec<_> = trail_of(&app, "code:RUSH-OFF")
        .into_iter()
        .filter(|entry| entry.action == "code.deactivate")
        .collect();
    assert_eq!(switched.len(), 1);
    assert!(!code_named(&app, "RUSH-OFF").unwrap().active);
}

#[actix_web::test]
async fn creating_the_same_code_many_times_at_once_makes_one_code_and_clean_refusals() {
    let Some(app) = spawn_app().await else { return };
    let manager = staff_member(&app, Role::Manager).await;
    let form = create_form("ONLY-ONCE", &[]);

    let answers = join_all((0..6).map(|_| create(&manager, &form))).await;

    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        app.sql_rows("SELECT id FROM codes WHERE code = 'ONLY-ONCE'")
            .len(),
        1
    );
    assert_eq!(trail_of(&app, "code:ONLY-ONCE").len(), 1);
}
