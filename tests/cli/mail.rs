//! `storecredit mail list` and `mail send` (SPEC §9): what a command queues is in
//! the outbox until something sends it, and `mail send` sends it once.

use crate::commands::{fresh_database, stderr, stdout, storecredit};

#[test]
fn a_grant_by_command_waits_in_the_outbox_until_mail_send_sends_it_once() {
    let Some(db) = fresh_database() else { return };
    let added = storecredit(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
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
            "10.00",
            "--gift-card",
        ],
        "",
    );
    assert!(granted.status.success(), "{}", stderr(&granted));

    let pending = stdout(&storecredit(
        &db,
        &["mail", "list", "--pending", "--format", "csv"],
        "",
    ));
    let rows: Vec<&str> = pending.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{pending}");
    assert!(
        rows[0].contains("credit-granted") && rows[0].contains("ann@example.com"),
        "{pending}"
    );
    assert!(rows[0].contains(",pending,"), "{pending}");

    let folder = db.folder().join("sent-mail");
    let folder_arg = folder.to_string_lossy().into_owned();
    let sent = storecredit(&db, &["mail", "send", "--mail-dir", &folder_arg], "");
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert_eq!(stdout(&sent).trim(), "1 sent, 0 failed");
    let again = storecredit(&db, &["mail", "send", "--mail-dir", &folder_arg], "");
    assert_eq!(stdout(&again).trim(), "0 sent, 0 failed");

    let files: Vec<_> = std::fs::read_dir(&folder).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(eml.contains("To: ann@example.com"), "{eml}");
    assert!(eml.contains("$10.00 of store credit was added"), "{eml}");
    let all = stdout(&storecredit(&db, &["mail", "list", "--format", "csv"], ""));
    assert!(all.lines().nth(1).unwrap().contains(",sent,"), "{all}");
    let none_pending = stdout(&storecredit(
        &db,
        &["mail", "list", "--pending", "--format", "csv"],
        "",
    ));
    assert_eq!(none_pending.lines().count(), 1, "only the header: {none_pending}");
}

#[test]
fn mail_send_with_a_bad_smtp_url_says_so_without_its_password() {
    let Some(db) = fresh_database() else { return };
    let sent = storecredit(&db, &["mail", "send", "--smtp-url", "smtp://user:hunter2@"], "");
    assert!(!sent.status.success());
    let error = stderr(&sent);
    assert!(error.contains("SMTP URL"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}
