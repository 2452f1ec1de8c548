//! `storecredit staff …` (SPEC §8), run as a real process on a fresh database of
//! the binary's engine.

use std::process::Output;

use storecredit::domain::{Email, Role};

use crate::support::FreshDatabase;

fn storecredit(db: &FreshDatabase, args: &[&str]) -> Output {
    crate::commands::storecredit(db, args, "")
}

fn succeeds(db: &FreshDatabase, args: &[&str]) -> String {
    let output = storecredit(db, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fails(db: &FreshDatabase, args: &[&str]) -> String {
    let output = storecredit(db, args);
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The token at the end of a printed enrolment link.
fn token_of(link: &str) -> String {
    link.trim()
        .strip_prefix("https://shop.example/admin/enrol/")
        .unwrap_or_else(|| panic!("an enrolment link: {link}"))
        .to_owned()
}

#[test]
fn an_operator_adds_lists_and_changes_staff_and_each_change_is_on_the_record() {
    let Some(db) = FreshDatabase::new(crate::ENGINE) else {
        return;
    };
    let link = succeeds(
        &db,
        &[
            "staff",
            "add",
            "--email",
            "Ann@Shop.example",
            "--name",
            "Ann \u{202E}Lee",
            "--role",
            "manager",
            "--origin",
            "https://shop.example/",
        ],
    );
    let token = token_of(&link);
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let pending = store
        .pending_enrolment(&token, now)
        .unwrap()
        .expect("the link enrols");
    assert_eq!(pending.member.email, "ann@shop.example");
    assert_eq!(pending.member.role, Role::Manager);

    let table = succeeds(&db, &["staff", "list"]);
    assert!(table.contains("ann@shop.example"), "{table}");
    assert!(table.contains("Ann \\u{202E}Lee"), "the name is escaped: {table}");
    assert!(!table.contains('\u{202E}'));
    let json = succeeds(&db, &["staff", "list", "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(rows[0]["role"], "manager");
    assert_eq!(rows[0]["enrolled"], false);
    let csv = succeeds(&db, &["staff", "list", "--format", "csv"]);
    assert!(
        csv.starts_with("email,name,role,enrolled,disabled,added"),
        "{csv}"
    );

    let changed = succeeds(
        &db,
        &[
            "staff",
            "role",
            "--email",
            "ann@shop.example",
            "--role",
            "support",
        ],
    );
    assert!(changed.contains("support"), "{changed}");
    let again = succeeds(
        &db,
        &[
            "staff",
            "reset",
            "--email",
            "ann@shop.example",
            "--origin",
            "https://shop.example",
        ],
    );
    let new_token = token_of(&again);
    assert!(
        store.pending_enrolment(&token, now).unwrap().is_none(),
        "the old link stops working"
    );
    assert!(store.pending_enrolment(&new_token, now).unwrap().is_some());
    succeeds(&db, &["staff", "disable", "--email", "ann@shop.example"]);
    assert!(store.pending_enrolment(&new_token, now).unwrap().is_none());
    let member = store
        .staff_member(&Email::parse("ann@shop.example").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(member.role, Role::Support);

    let entries = store.audit_page(&Default::default(), None, 20).unwrap().entries;
    let mut actions: Vec<(String, String)> = entries
        .iter()
        .map(|entry| (entry.actor.clone(), entry.action.clone()))
        .collect();
    actions.reverse();
    let me = storecredit::domain::Actor::command().to_string();
    assert_eq!(
        actions,
        [
            (me.clone(), "staff.add".to_owned()),
            (me.clone(), "staff.role".to_owned()),
            (me.clone(), "staff.reset".to_owned()),
            (me, "staff.disable".to_owned()),
        ]
    );
}

#[test]
fn staff_commands_refuse_bad_input_with_a_message_naming_the_flag() {
    let Some(db) = FreshDatabase::new(crate::ENGINE) else {
        return;
    };
    let add = |email: &str, role: &str| {
        fails(
            &db,
            &[
                "staff",
                "add",
                "--email",
                email,
                "--name",
                "Ann",
                "--role",
                role,
                "--origin",
                "https://shop.example",
            ],
        )
    };
    assert!(add("not-an-email", "owner").contains("--email"));
    assert!(add("ann@shop.example", "admin").contains("--role"));
    let nowhere = fails(
        &db,
        &[
            "staff",
            "add",
            "--email",
            "ann@shop.example",
            "--name",
            "Ann",
            "--role",
            "owner",
        ],
    );
    assert!(nowhere.contains("--origin"), "{nowhere}");
    succeeds(
        &db,
        &[
            "staff",
            "add",
            "--email",
            "ann@shop.example",
            "--name",
            "Ann",
            "--role",
            "owner",
            "--origin",
            "https://shop.example",
        ],
    );
    assert!(add("ANN@shop.example", "owner").contains("already"));
    assert!(
        fails(
            &db,
            &["staff", "role", "--email", "bob@shop.example", "--role", "owner"]
        )
        .contains("no staff member")
    );
    assert!(fails(&db, &["staff", "disable", "--email", "bob@shop.example"]).contains("no staff member"));
}
