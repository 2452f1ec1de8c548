//! `storecredit mail send` sweeps for reminders before credit expires (SPEC §9)
//! before it sends, as each server does every hour.

use time::{Duration, OffsetDateTime};

use crate::commands::{fresh_database, stderr, stdout, storecredit};

/// The `.eml` files in `folder` whose name says they are reminders.
fn reminder_files(folder: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().contains("-expiry-reminder-"))
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
        .collect()
}

#[test]
fn mail_send_sweeps_for_credit_expiring_within_a_week_and_sends_its_reminder_once() {
    let Some(db) = fresh_database() else { return };
    let added = storecredit(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let last_day = (OffsetDateTime::now_utc() + Duration::days(4)).date().to_string();
    let granted = storecredit(
        &db,
        &[
            "credit",
            "grant",
            "--reason",
            "goodwill",
            "--email",
            "ann@example.com",
            "--amount",
            "10",
            "--categories",
            "music",
            "--expires",
            &last_day,
        ],
        "",
    );
    assert!(granted.status.success(), "{}", stderr(&granted));
    let folder = db.folder().join("mail");
    let mail_dir = folder.to_str().unwrap();

    let sent = storecredit(&db, &["mail", "send", "--mail-dir", mail_dir], "");

    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(
        stdout(&sent).contains("1 expiry reminder queued"),
        "{}",
        stdout(&sent)
    );
    assert!(stdout(&sent).contains(", 0 failed"), "{}", stdout(&sent));
    let reminders = reminder_files(&folder);
    assert_eq!(reminders.len(), 1);
    assert!(reminders[0].contains("To: ann@example.com"), "{}", reminders[0]);
    assert!(reminders[0].contains("$10.00"), "{}", reminders[0]);
    assert!(
        reminders[0].contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{}",
        reminders[0]
    );
    let listed = stdout(&storecredit(&db, &["mail", "list"], ""));
    let line = listed
        .lines()
        .find(|line| line.contains("expiry-reminder"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("ann@example.com"), "{line}");
    assert!(line.contains("of your store credit ends"), "{line}");
    assert!(line.contains("sent"), "{line}");

    let again = storecredit(&db, &["mail", "send", "--mail-dir", mail_dir], "");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(!stdout(&again).contains("reminder"), "{}", stdout(&again));
    assert_eq!(reminder_files(&folder).len(), 1, "reminded once");
}
