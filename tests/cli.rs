//! The operator command line, run as a real process (SPEC §5).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn storecredit(database: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_storecredit"))
        .args(args)
        .env("STORECREDIT_DATABASE", database)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("the binary finishes")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_operator_adds_an_account_grants_credit_and_sees_the_balances() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("ops.db");

    let added = storecredit(
        &db,
        &["user", "add", "--email", "Ann@Example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).contains("ann@example.com"));

    let granted = storecredit(
        &db,
        &[
            "credit",
            "grant",
            "--email",
            "ann@example.com",
            "--amount",
            "10.00",
            "--categories",
            "music,kindle",
        ],
        "",
    );
    assert!(granted.status.success(), "{}", stderr(&granted));
    let gift = storecredit(
        &db,
        &[
            "credit",
            "grant",
            "--email",
            "ann@example.com",
            "--amount",
            "2.5",
            "--gift-card",
        ],
        "",
    );
    assert!(gift.status.success(), "{}", stderr(&gift));

    let balance = storecredit(&db, &["balance", "--email", "ann@example.com"], "");
    assert!(balance.status.success(), "{}", stderr(&balance));
    let lines: Vec<String> = stdout(&balance)
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [
            "Digital Music $10.00",
            "Kindle $10.00",
            "Instant Video $0.00",
            "Gift Cards $2.50",
            "Software $0.00"
        ]
    );

    let verified = storecredit(&db, &["ledger", "verify"], "");
    assert!(verified.status.success(), "{}", stderr(&verified));
}

#[test]
fn a_weak_password_is_refused_with_a_reason() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("ops.db");
    let output = storecredit(
        &db,
        &["user", "add", "--email", "bo@example.com", "--name", "Bo"],
        "password1234\n",
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("too easy to guess"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_a_failing_exit() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("ops.db");
    let cases: [(&[&str], &str); 4] = [
        (&["balance", "--email", "nobody@example.com"], "no account"),
        (
            &[
                "credit",
                "grant",
                "--email",
                "x@example.com",
                "--amount=-5",
                "--gift-card",
            ],
            "negative",
        ),
        (
            &[
                "credit",
                "grant",
                "--email",
                "x@example.com",
                "--amount",
                "5",
                "--categories",
                "books",
            ],
            "unknown category",
        ),
        (&["serve", "--bind", "not-an-address"], "cannot listen"),
    ];
    for (args, expected) in cases {
        let output = storecredit(&db, args, "");
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains(expected),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn a_flag_that_does_not_exist_is_a_usage_error() {
    let folder = tempfile::tempdir().unwrap();
    let output = storecredit(&folder.path().join("x.db"), &["serve", "--port", "80"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--port"));
}

#[test]
fn ledger_verify_names_a_credit_that_does_not_add_up() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("ops.db");
    let added = storecredit(
        &db,
        &["user", "add", "--email", "cy@example.com", "--name", "Cy"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success());
    let granted = storecredit(
        &db,
        &[
            "credit",
            "grant",
            "--email",
            "cy@example.com",
            "--amount",
            "5",
            "--gift-card",
        ],
        "",
    );
    assert!(granted.status.success());
    // Tamper with the pot behind the ledger's back.
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .execute("UPDATE credits SET remaining_cents = 400", [])
        .unwrap();
    drop(connection);

    let output = storecredit(&db, &["ledger", "verify"], "");
    assert!(!output.status.success());
    assert!(stderr(&output).contains("credit 1"), "{}", stderr(&output));
}

#[test]
fn the_database_flag_works_before_or_after_the_subcommand() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("flag.db");
    let db_arg = db.to_str().unwrap();
    let added = storecredit(
        &folder.path().join("unused.db"),
        &[
            "--database",
            db_arg,
            "user",
            "add",
            "--email",
            "di@example.com",
            "--name",
            "Di",
        ],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let balance = storecredit(
        &folder.path().join("unused.db"),
        &["balance", "--email", "di@example.com", "--database", db_arg],
        "",
    );
    assert!(balance.status.success(), "{}", stderr(&balance));
    assert!(stdout(&balance).contains("Digital Music"));
}

#[test]
fn an_operator_creates_and_lists_codes() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("codes.db");
    let created = storecredit(
        &db,
        &[
            "code",
            "create",
            "--code",
            "spring-15",
            "--kind",
            "credit",
            "--amount",
            "15",
            "--categories",
            "kindle",
            "--valid-days",
            "30",
            "--max-redemptions",
            "100",
            "--redeem-by",
            "2099-03-31",
            "--description",
            "$15.00 credit for Kindle",
        ],
        "",
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let discount = storecredit(
        &db,
        &[
            "code",
            "create",
            "--code",
            "TEN-OFF",
            "--kind",
            "discount",
            "--percent",
            "10",
            "--description",
            "10% off",
        ],
        "",
    );
    assert!(discount.status.success(), "{}", stderr(&discount));
    let duplicate = storecredit(
        &db,
        &[
            "code",
            "create",
            "--code",
            "Spring-15",
            "--kind",
            "gift-card",
            "--amount",
            "5",
            "--description",
            "x",
        ],
        "",
    );
    assert!(!duplicate.status.success());
    assert!(
        stderr(&duplicate).contains("already exists"),
        "{}",
        stderr(&duplicate)
    );

    let listed = storecredit(&db, &["code", "list"], "");
    let text = stdout(&listed);
    assert!(text.contains("SPRING-15"), "{text}");
    assert!(text.contains("cap 100"), "{text}");
    assert!(text.contains("TEN-OFF"), "{text}");
}

#[test]
fn an_expiry_and_a_redeem_by_day_read_as_the_day_given() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("dates.db");
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
            "--email",
            "ann@example.com",
            "--amount",
            "10",
            "--categories",
            "music",
            "--expires",
            "2031-01-31",
        ],
        "",
    );
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert!(
        stdout(&granted).contains("usable until January 31, 2031"),
        "{}",
        stdout(&granted)
    );

    let created = storecredit(
        &db,
        &[
            "code",
            "create",
            "--code",
            "MARCH-5",
            "--kind",
            "gift-card",
            "--amount",
            "5",
            "--redeem-by",
            "2099-03-31",
            "--description",
            "$5.00 gift card",
        ],
        "",
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let listed = stdout(&storecredit(&db, &["code", "list"], ""));
    assert!(listed.contains("until March 31, 2099"), "{listed}");
    assert!(!listed.contains("April 1, 2099"), "{listed}");
}

#[test]
fn refunding_an_order_returns_its_credit_once() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("refund.db");
    let store = storecredit::store::Store::open(&db).unwrap();
    store
        .seed_demo_if_empty("not-used-here", time::OffsetDateTime::now_utc())
        .unwrap();
    drop(store);

    let refunded = storecredit(&db, &["order", "refund", "1"], "");
    assert!(refunded.status.success(), "{}", stderr(&refunded));
    assert!(
        stdout(&refunded).contains("$0.99 returned to credit"),
        "{}",
        stdout(&refunded)
    );
    let balance = storecredit(&db, &["balance", "--email", "demo@example.com"], "");
    assert!(stdout(&balance).contains("$15.00"), "{}", stdout(&balance));

    let again = storecredit(&db, &["order", "refund", "1"], "");
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already been refunded"));
    let missing = storecredit(&db, &["order", "refund", "999"], "");
    assert!(stderr(&missing).contains("no order 999"));
    assert!(storecredit(&db, &["ledger", "verify"], "").status.success());
}

/// Runs the binary in `folder` as its working directory, `STORECREDIT_DATABASE`
/// unset, so anything it creates would land in `folder`.
fn storecredit_in(folder: &Path, args: &[&str], database_variable: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_storecredit"));
    command
        .args(args)
        .current_dir(folder)
        .env_remove("STORECREDIT_DATABASE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    if let Some(value) = database_variable {
        command.env("STORECREDIT_DATABASE", value);
    }
    command.output().expect("the binary runs")
}

#[test]
fn a_database_url_is_a_clear_error_that_creates_nothing_and_hides_the_password() {
    let url = "postgres://shop:secret@localhost/storecredit";
    let runs: [(&[&str], Option<&str>); 5] = [
        (&["balance", "--email", "x@example.com", "--database", url], None),
        (&["--database", url, "ledger", "verify"], None),
        (&["serve", "--bind", "127.0.0.1:0", "--database", url], None),
        (&["--bind", "127.0.0.1:0"], Some(url)),
        (
            &["balance", "--email", "x@example.com"],
            Some("postgresql://shop:secret@db.example/storecredit?sslmode=require"),
        ),
    ];
    for (args, variable) in runs {
        let folder = tempfile::tempdir().unwrap();
        let output = storecredit_in(folder.path(), args, variable);
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(!output.status.success(), "{args:?}: {out}{err}");
        assert!(
            err.contains("this build stores data in an SQLite file")
                && err.contains("URLs are not supported yet"),
            "{args:?}: {err}"
        );
        assert!(
            !out.contains("secret") && !err.contains("secret"),
            "{args:?}: {out}{err}"
        );
        let created: Vec<_> = std::fs::read_dir(folder.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert!(created.is_empty(), "{args:?} created {created:?}");
    }
}

/// A database with the demo catalog and account, opened by the test itself.
fn demo_store(db: &Path) -> storecredit::store::Store {
    let store = storecredit::store::Store::open(db).unwrap();
    store
        .seed_demo_if_empty("not-used-here", time::OffsetDateTime::now_utc())
        .unwrap();
    store
}

fn product_titled(store: &storecredit::store::Store, title: &str) -> i64 {
    store
        .products_in(None)
        .unwrap()
        .into_iter()
        .find(|product| product.title == title)
        .unwrap()
        .id
}

#[test]
fn a_refund_of_credit_that_has_expired_since_comes_back_as_a_new_credit() {
    use storecredit::domain::{CategorySet, CreditKind, CreditSource, DisplayName, Email, LastDay, Money};
    use storecredit::store::credits::NewCredit;
    use storecredit::store::orders::Promotion;
    use time::{Duration, OffsetDateTime};

    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("refund.db");
    let store = demo_store(&db);
    let now = OffsetDateTime::now_utc();
    let ann = store
        .create_user(
            &Email::parse("ann@example.com").unwrap(),
            &DisplayName::parse("Ann").unwrap(),
            "not-used-here",
            now - Duration::days(10),
        )
        .unwrap();
    let credit = NewCredit {
        kind: CreditKind::Promotional(CategorySet::parse_list("music").unwrap()),
        source: CreditSource::Grant,
        description: "Music credit that ends yesterday".into(),
        amount: Money::from_cents(2000),
        expires_at: Some(now - Duration::days(1)),
        code_redemption_id: None,
    };
    store
        .grant_credit(ann, &credit, now - Duration::days(10))
        .unwrap();
    let album = product_titled(&store, "Salt & Static");
    let placed = store
        .place_order(
            ann,
            album,
            &Promotion::None,
            "paid-by-expired-credit",
            now - Duration::days(5),
        )
        .unwrap();
    drop(store);

    let refunded = storecredit(&db, &["order", "refund", &placed.order_id.to_string()], "");
    assert!(refunded.status.success(), "{}", stderr(&refunded));
    let said = stdout(&refunded);
    let last_days = [0, 1].map(|later| LastDay::days_after(now + Duration::minutes(later), 30).to_string());
    assert!(
        last_days.iter().any(|day| said.contains(&format!(
            "$8.99 returned as a new credit for Digital Music, valid until {day}"
        ))),
        "{said}"
    );
    assert!(!said.contains("returned to credit"), "{said}");

    let balance = stdout(&storecredit(&db, &["balance", "--email", "ann@example.com"], ""));
    let music = balance
        .lines()
        .find(|line| line.starts_with("Digital Music"))
        .unwrap();
    assert!(music.ends_with("$8.99"), "{balance}");
    assert!(storecredit(&db, &["ledger", "verify"], "").status.success());
}

#[test]
fn a_refunded_orders_discount_is_usable_again() {
    use storecredit::domain::Email;
    use storecredit::store::orders::Promotion;
    use time::OffsetDateTime;

    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("refund.db");
    let store = demo_store(&db);
    let now = OffsetDateTime::now_utc();
    let demo = store
        .user_id_by_email(&Email::parse("demo@example.com").unwrap())
        .unwrap()
        .unwrap();
    let discount = store.discounts_of(demo).unwrap()[0].id;
    let album = product_titled(&store, "Salt & Static");
    let with_discount = Promotion::SavedDiscount(discount);
    let placed = store
        .place_order(demo, album, &with_discount, "first-use-of-the-discount", now)
        .unwrap();
    assert!(
        store
            .place_order(demo, album, &with_discount, "second-use-of-the-discount", now)
            .is_err(),
        "a one-time discount"
    );

    let refunded = storecredit(&db, &["order", "refund", &placed.order_id.to_string()], "");
    assert!(refunded.status.success(), "{}", stderr(&refunded));
    assert!(
        stdout(&refunded).contains("\"20% off one Digital Music purchase\" is usable again"),
        "{}",
        stdout(&refunded)
    );
    let again = store
        .place_order(
            demo,
            album,
            &with_discount,
            "third-use-of-the-discount",
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert!(again.created);
    assert!(storecredit(&db, &["ledger", "verify"], "").status.success());
}

#[test]
fn an_operator_prints_a_one_time_reset_link_for_an_account() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("ops.db");
    let added = storecredit(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));

    let printed = storecredit(
        &db,
        &[
            "user",
            "reset-link",
            "--email",
            "ann@example.com",
            "--origin",
            "https://shop.example/",
        ],
        "",
    );
    assert!(printed.status.success(), "{}", stderr(&printed));
    let link = stdout(&printed).trim().to_owned();
    let token = link
        .strip_prefix("https://shop.example/password/reset/")
        .unwrap_or_else(|| panic!("{link}"));
    assert_eq!(token.len(), 32, "{link}");
    let store = storecredit::store::Store::open(&db).unwrap();
    let now = time::OffsetDateTime::now_utc();
    assert!(store.password_reset_account(token, now).unwrap().is_some());

    let unknown = storecredit(&db, &["user", "reset-link", "--email", "bo@example.com"], "");
    assert!(!unknown.status.success());
}
