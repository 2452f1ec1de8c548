//! `storecredit category rename|move|hide|show`, `product rename|price|hide|show`,
//! `staff enable` and `settings set support-grant-limit|support-day-limit`
//! (issue 26), run as a real process; each change is on the audit trail,
//! named as the command's operator.

use storecredit::domain::{Actor, DisplayName, Email, Money, Role};
use storecredit::store::Store;
use storecredit::store::catalog::NewProduct;

use crate::commands::{fresh_database, stderr, stdout, storecredit};
use crate::support::FreshDatabase;

fn succeeds(db: &FreshDatabase, args: &[&str]) -> String {
    let output = storecredit(db, args, "");
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

fn fails(db: &FreshDatabase, args: &[&str]) -> String {
    let output = storecredit(db, args, "");
    assert!(
        !output.status.success(),
        "{args:?} succeeded: {}",
        stdout(&output)
    );
    stderr(&output)
}

/// The newest audit entries: "who action subject".
fn trail(store: &Store) -> Vec<String> {
    store
        .audit_page(&Default::default(), None, 20)
        .unwrap()
        .entries
        .into_iter()
        .map(|entry| format!("{} {} {}", entry.actor, entry.action, entry.subject))
        .collect()
}

fn me() -> String {
    Actor::command().to_string()
}

#[test]
fn an_operator_renames_moves_hides_and_shows_a_department() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();

    let renamed = succeeds(&db, &["category", "rename", "kindle", "--label", "Books"]);
    assert!(renamed.contains("labelled Books (was Kindle)"), "{renamed}");
    let moved = succeeds(&db, &["category", "move", "kindle", "--direction", "up"]);
    assert!(moved.contains("kindle, music, video, software"), "{moved}");
    assert!(fails(&db, &["category", "move", "kindle", "--direction", "up"]).contains("first already"));
    assert!(fails(&db, &["category", "move", "kindle", "--direction", "left"]).contains("--direction"));
    assert!(succeeds(&db, &["category", "hide", "video"]).contains("hidden from shoppers now"));
    assert!(succeeds(&db, &["category", "hide", "video"]).contains("already"));
    let listed = succeeds(&db, &["category", "list", "--format", "csv"]);
    assert!(listed.contains("3,video,Instant Video,true"), "{listed}");

    // No new code may name a hidden department.
    let refused = fails(
        &db,
        &[
            "code",
            "create",
            "--code",
            "VIDEO-5",
            "--kind",
            "credit",
            "--amount",
            "5",
            "--categories",
            "video",
            "--description",
            "$5 for video",
        ],
    );
    assert!(
        refused.contains("Instant Video is hidden from shoppers"),
        "{refused}"
    );
    assert!(succeeds(&db, &["category", "show", "video"]).contains("shown to shoppers now"));
    assert!(fails(&db, &["category", "hide", "games"]).contains("no category \"games\""));

    assert_eq!(
        trail(&store)[..4],
        [
            format!("{} category.show category:video", me()),
            format!("{} category.hide category:video", me()),
            format!("{} category.move category:kindle", me()),
            format!("{} category.rename category:kindle", me()),
        ]
    );
}

#[test]
fn an_operator_renames_reprices_hides_and_shows_a_product() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let product = store
        .add_product(
            &Actor::command(),
            &NewProduct {
                category: store.categories().by_slug("music").unwrap().id(),
                format: "MP3 album".into(),
                title: "Night Bus".into(),
                creator: "Someone".into(),
                description: String::new(),
                price: Money::from_cents(999),
                featured: false,
            },
            now,
        )
        .unwrap();
    let id = product.id.to_string();

    assert!(
        succeeds(&db, &["product", "rename", &id, "--title", "Day Bus"])
            .contains("titled Day Bus (was Night Bus)")
    );
    let priced = succeeds(&db, &["product", "price", &id, "--price", "$12.50"]);
    assert!(priced.contains("now costs $12.50 (was $9.99)"), "{priced}");
    let comma = fails(&db, &["product", "price", &id, "--price", "12,50"]);
    assert!(comma.contains("--price"), "{comma}");
    assert!(succeeds(&db, &["product", "hide", &id]).contains("hidden from shoppers"));
    let found = store.product(product.id).unwrap().unwrap();
    assert_eq!(
        (found.title.as_str(), found.price),
        ("Day Bus", Money::from_cents(1250))
    );
    assert!(!found.on_sale());
    assert!(succeeds(&db, &["product", "show", &id]).contains("on sale now"));
    assert!(fails(&db, &["product", "hide", "999999"]).contains("no product 999999"));
    let actions: Vec<String> = trail(&store).into_iter().take(4).collect();
    assert_eq!(
        actions,
        [
            format!("{} product.show product:{id}", me()),
            format!("{} product.hide product:{id}", me()),
            format!("{} product.price product:{id}", me()),
            format!("{} product.rename product:{id}", me()),
        ]
    );
}

#[test]
fn a_disabled_staff_member_is_enabled_again_and_the_last_owner_stays() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let add = |email: &str, role| {
        store
            .add_staff(
                &Actor::command(),
                &Email::parse(email).unwrap(),
                &DisplayName::parse("Sam").unwrap(),
                role,
                now,
            )
            .unwrap()
            .1
    };
    let token = add("boss@shop.example", Role::Owner);
    let pending = store.pending_enrolment(&token, now).unwrap().unwrap();
    store
        .enrol_staff(&token, &pending.totp_secret, "a hash", 1, now)
        .unwrap()
        .unwrap();
    add("ann@shop.example", Role::Support);

    succeeds(&db, &["staff", "disable", "--email", "ann@shop.example"]);
    let enabled = succeeds(&db, &["staff", "enable", "--email", "ann@shop.example"]);
    assert!(enabled.contains("enabled again"), "{enabled}");
    assert!(
        enabled.contains("staff reset --email ann@shop.example"),
        "never enrolled: {enabled}"
    );
    assert!(fails(&db, &["staff", "enable", "--email", "ann@shop.example"]).contains("not disabled"));
    assert!(trail(&store)[0].ends_with("staff.enable staff:ann@shop.example"));

    for args in [
        &[
            "staff",
            "role",
            "--email",
            "boss@shop.example",
            "--role",
            "manager",
        ][..],
        &["staff", "disable", "--email", "boss@shop.example"][..],
        &[
            "staff",
            "reset",
            "--email",
            "boss@shop.example",
            "--origin",
            "https://shop.example",
        ][..],
    ] {
        assert!(fails(&db, args).contains("last enrolled owner"), "{args:?}");
    }
    assert!(
        store
            .staff_sign_in(&Email::parse("boss@shop.example").unwrap())
            .unwrap()
            .is_some()
    );
}

#[test]
fn the_support_limits_are_settings_an_operator_changes() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();

    let set = succeeds(&db, &["settings", "set", "support-grant-limit", "30.00"]);
    assert!(
        set.contains("support-grant-limit set to $30.00 (was $25.00)"),
        "{set}"
    );
    succeeds(&db, &["settings", "set", "support-day-limit", "$150"]);
    let refused = fails(&db, &["settings", "set", "support-day-limit", "20"]);
    assert!(refused.contains("cannot be above"), "{refused}");
    let bad = fails(&db, &["settings", "set", "support-grant-limit", "2,50"]);
    assert!(bad.contains("support-grant-limit \"2,50\""), "{bad}");
    let shown = succeeds(&db, &["settings", "show"]);
    assert!(shown.contains("support-grant-limit $30.00"), "{shown}");
    assert!(shown.contains("support-day-limit $150.00"), "{shown}");
    assert_eq!(
        trail(&store)[..2],
        [
            format!("{} setting.change setting:support-day-limit", me()),
            format!("{} setting.change setting:support-grant-limit", me()),
        ]
    );
}
