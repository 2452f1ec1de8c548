//! Who did what, as operators see it (SPEC §8): every change made by a command
//! is an audit entry naming `cli:<user>`, `audit verify` finds an entry changed or
//! removed by hand, and `code show` names the accounts that redeemed a code.

use crate::commands::{fresh_database, stderr, stdout, storecredit};
use crate::support::FreshDatabase;
use crate::support::database::{Engine, execute_sql};

/// Runs a command that must succeed; its standard output.
fn run(db: &FreshDatabase, args: &[&str], stdin: &str) -> String {
    let output = storecredit(db, args, stdin);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

/// An account, and a grant, an adjustment and a revocation of its credit: three
/// entries (the account itself is the shopper's, not an audited change).
fn three_changes(db: &FreshDatabase) {
    run(
        db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    run(
        db,
        &[
            "credit",
            "grant",
            "--email",
            "ann@example.com",
            "--amount",
            "10.00",
            "--categories",
            "music",
            "--reason",
            "late delivery",
        ],
        "",
    );
    run(
        db,
        &[
            "credit",
            "adjust",
            "1",
            "--amount",
            "-2.50",
            "--reason",
            "granted too much",
        ],
        "",
    );
    run(db, &["credit", "revoke", "1", "--reason", "account closed"], "");
}

/// The trail as `audit list --format csv` prints it, oldest first, without the
/// header: each line's fields.
fn entries(db: &FreshDatabase, extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["audit", "list", "--format", "csv"];
    args.extend_from_slice(extra);
    let printed = run(db, &args, "");
    let mut reader = csv::Reader::from_reader(printed.as_bytes());
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect();
    rows.reverse();
    rows
}

/// Lets `sql` change or remove entries, as someone with the database's password
/// could, then runs it.
fn tamper(db: &FreshDatabase, sql: &str) {
    let unguard = match crate::ENGINE {
        Engine::Sqlite => "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;",
        Engine::Postgres => "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_change;",
    };
    execute_sql(db.location(), &format!("{unguard} {sql}"));
}

#[test]
fn every_change_a_command_makes_is_on_the_trail_with_who_what_and_why() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);
    run(
        &db,
        &[
            "code",
            "create",
            "--code",
            "SPRING",
            "--kind",
            "gift-card",
            "--amount",
            "5.00",
            "--description",
            "Spring",
        ],
        "",
    );
    run(&db, &["code", "deactivate", "SPRING"], "");
    run(&db, &["user", "unlock", "--email", "ann@example.com"], "");
    run(
        &db,
        &[
            "user",
            "reset-link",
            "--email",
            "ann@example.com",
            "--origin",
            "https://shop.example",
        ],
        "",
    );

    let trail = entries(&db, &[]);

    let who = storecredit::domain::Actor::command().to_string();
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|row| (row[3].as_str(), row[4].as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("credit.grant", "credit:1"),
            ("credit.adjust", "credit:1"),
            ("credit.revoke", "credit:1"),
            ("code.create", "code:SPRING"),
            ("code.deactivate", "code:SPRING"),
            ("account.unlock", "customer:1"),
            ("account.reset_link", "customer:1"),
        ]
    );
    assert!(trail.iter().all(|row| row[2] == who), "{trail:?}");
    assert_eq!(trail[0][8], "late delivery");
    assert_eq!(
        (trail[1][6].as_str(), trail[1][7].as_str()),
        ("$10.00 remaining", "$7.50 remaining")
    );
    assert_eq!(trail[2][8], "account closed");
    let verified = run(&db, &["audit", "verify"], "");
    assert!(verified.contains("whole: 7 entries"), "{verified}");
}

#[test]
fn the_list_narrows_to_who_and_what() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);

    assert_eq!(entries(&db, &["--action", "credit.adjust"]).len(), 1);
    assert_eq!(
        entries(
            &db,
            &["--who", &storecredit::domain::Actor::command().to_string()]
        )
        .len(),
        3
    );
    assert!(entries(&db, &["--who", "cli:someone-else"]).is_empty());
    assert_eq!(entries(&db, &["--customer", "ann@example.com"]).len(), 3);
    let unknown = storecredit(&db, &["audit", "list", "--action", "credit.steal"], "");
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("--action"), "{}", stderr(&unknown));
}

/// `audit verify` exits non-zero, naming `entry` as the first that does not match.
fn assert_verify_breaks_at(db: &FreshDatabase, entry: i64) {
    let verified = storecredit(db, &["audit", "verify"], "");
    assert!(!verified.status.success());
    let said = stdout(&verified);
    assert!(said.contains(&format!("broken at entry {entry}:")), "{said}");
}

#[test]
fn an_entry_changed_by_hand_makes_verify_fail_naming_it() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);

    tamper(&db, "UPDATE audit_entries SET reason = 'routine' WHERE id = 2;");

    assert_verify_breaks_at(&db, 2);
}

#[test]
fn an_entry_removed_by_hand_makes_verify_fail_naming_it() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);

    tamper(&db, "DELETE FROM audit_entries WHERE id = 2;");

    assert_verify_breaks_at(&db, 2);
}

#[test]
fn the_newest_entry_removed_by_hand_is_noticed_too() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);

    tamper(&db, "DELETE FROM audit_entries WHERE id = 3;");

    assert_verify_breaks_at(&db, 3);
}

#[test]
fn the_store_itself_refuses_to_change_an_entry() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);

    let refused = std::panic::catch_unwind(|| {
        execute_sql(
            db.location(),
            "UPDATE audit_entries SET reason = 'routine' WHERE id = 2;",
        )
    });

    assert!(refused.is_err(), "an audit entry was changed in place");
    assert!(run(&db, &["audit", "verify"], "").contains("whole: 3 entries"));
}

#[test]
fn code_show_names_the_accounts_that_redeemed_a_leaked_code() {
    let Some(db) = fresh_database() else { return };
    run(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    run(
        &db,
        &[
            "code",
            "create",
            "--code",
            "LEAKED",
            "--kind",
            "gift-card",
            "--amount",
            "50",
            "--description",
            "Gift",
        ],
        "",
    );
    let store = db.open();
    let ann = store
        .user_id_by_email(&storecredit::domain::Email::parse("ann@example.com").unwrap())
        .unwrap()
        .unwrap();
    let code = storecredit::domain::PromoCode::parse("LEAKED").unwrap();
    store
        .redeem_code(ann, &code, time::OffsetDateTime::now_utc())
        .unwrap();

    let shown = run(&db, &["code", "show", "leaked"], "");

    assert!(shown.contains("Redeemed by"), "{shown}");
    assert!(shown.contains("ann@example.com (Ann)"), "{shown}");
}

#[test]
fn a_command_is_recorded_as_its_processs_user_whatever_the_environment_says() {
    let Some(db) = fresh_database() else { return };
    three_changes(&db);

    let granted = std::process::Command::new(env!("CARGO_BIN_EXE_storecredit"))
        .args([
            "credit",
            "grant",
            "--email",
            "ann@example.com",
            "--amount",
            "1.00",
            "--gift-card",
            "--reason",
            "disguised",
        ])
        .env("STORECREDIT_DATABASE", db.arg())
        .env("USER", "mallory-in-disguise")
        .env("LOGNAME", "mallory-in-disguise")
        .env("SUDO_USER", "mallory-in-disguise")
        .output()
        .unwrap();
    assert!(granted.status.success(), "{}", stderr(&granted));
    let newest = entries(&db, &[]).pop().unwrap();
    assert_eq!(newest[3], "credit.grant");
    assert_eq!(newest[2], storecredit::domain::Actor::command().to_string());
    assert!(!newest[2].contains("mallory"), "{newest:?}");
}
