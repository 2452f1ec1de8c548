//! The operator command line, run as a real process (SPEC §5), on a fresh
//! database of the binary's engine for each test.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::FreshDatabase;
use crate::support::database::{self, Engine};

/// A new, empty database on this binary's engine; `None` (the test skips) when
/// that engine is not available here.
pub(crate) fn fresh_database() -> Option<FreshDatabase> {
    FreshDatabase::new(crate::ENGINE)
}

/// Runs the binary on `db`, named by `STORECREDIT_DATABASE`.
pub(crate) fn storecredit(db: &FreshDatabase, args: &[&str], stdin: &str) -> Output {
    storecredit_on(&db.arg(), args, stdin)
}

/// Runs the binary with `STORECREDIT_DATABASE` set to `database`.
fn storecredit_on(database: &str, args: &[&str], stdin: &str) -> Output {
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

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_operator_adds_an_account_grants_credit_and_sees_the_balances() {
    let Some(db) = fresh_database() else { return };

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
            "--reason",
            "goodwill",
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
            "--reason",
            "goodwill",
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
    let Some(db) = fresh_database() else { return };
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
    let Some(db) = fresh_database() else { return };
    drop(db.open());
    let cases: [(&[&str], &str); 4] = [
        (&["balance", "--email", "nobody@example.com"], "no account"),
        (
            &[
                "credit",
                "grant",
                "--reason",
                "goodwill",
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
                "--reason",
                "goodwill",
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
    let Some(db) = fresh_database() else { return };
    let output = storecredit(&db, &["serve", "--port", "80"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--port"));
}

#[test]
fn ledger_verify_names_a_credit_that_does_not_add_up() {
    let Some(db) = fresh_database() else { return };
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
            "--reason",
            "goodwill",
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
    database::execute_sql(db.location(), "UPDATE credits SET remaining_cents = 400");

    let output = storecredit(&db, &["ledger", "verify"], "");
    assert!(!output.status.success());
    assert!(stderr(&output).contains("credit 1"), "{}", stderr(&output));
}

#[test]
fn the_database_flag_works_before_or_after_the_subcommand() {
    let Some(db) = fresh_database() else { return };
    let (db_arg, unused) = (db.arg(), db.folder().join("unused.db"));
    let (db_arg, unused) = (db_arg.as_str(), unused.to_str().unwrap());
    let added = storecredit_on(
        unused,
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
    let balance = storecredit_on(
        unused,
        &["balance", "--email", "di@example.com", "--database", db_arg],
        "",
    );
    assert!(balance.status.success(), "{}", stderr(&balance));
    assert!(stdout(&balance).contains("Digital Music"));
}

#[test]
fn an_operator_creates_and_lists_codes() {
    let Some(db) = fresh_database() else { return };
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
    let spring = text
        .lines()
        .find(|line| line.starts_with("SPRING-15"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(spring.contains(" 100 "), "{text}");
    assert!(text.contains("TEN-OFF"), "{text}");
}

#[test]
fn a_day_at_the_end_of_the_calendar_is_refused_naming_its_flag_without_a_crash() {
    let Some(db) = fresh_database() else { return };
    let added = storecredit(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    for args in [
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
            "9999-12-31",
        ][..],
        &[
            "code",
            "create",
            "--code",
            "FAR-5",
            "--kind",
            "gift-card",
            "--amount",
            "5",
            "--redeem-by",
            "9999-12-31",
            "--description",
            "far",
        ][..],
        &["report", "liability", "--as-of", "9999-12-31"][..],
    ] {
        let refused = storecredit(&db, args, "");
        let said = stderr(&refused);
        assert!(!refused.status.success(), "{args:?}: {said}");
        assert!(said.contains("9999-12-31"), "{args:?}: {said}");
        assert!(!said.contains("panicked"), "{args:?}: {said}");
    }
    let credits = storecredit(&db, &["credit", "list", "--email", "ann@example.com"], "");
    assert!(!stdout(&credits).contains("$10.00"), "{}", stdout(&credits));
}

#[test]
fn an_expiry_and_a_redeem_by_day_read_as_the_day_given() {
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
    assert!(listed.contains("March 31, 2099"), "{listed}");
    assert!(!listed.contains("April 1, 2099"), "{listed}");
}

#[test]
fn refunding_an_order_returns_its_credit_once() {
    let Some(db) = fresh_database() else { return };
    let store = db.open();
    store
        .seed_demo_if_empty("not-used-here", time::OffsetDateTime::now_utc())
        .unwrap();
    drop(store);

    let refunded = storecredit(&db, &["order", "refund", "1", "--reason", "never arrived"], "");
    assert!(refunded.status.success(), "{}", stderr(&refunded));
    assert!(
        stdout(&refunded).contains("$0.99 returned to credit"),
        "{}",
        stdout(&refunded)
    );
    let balance = storecredit(&db, &["balance", "--email", "demo@example.com"], "");
    assert!(stdout(&balance).contains("$15.00"), "{}", stdout(&balance));

    let again = storecredit(&db, &["order", "refund", "1", "--reason", "never arrived"], "");
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already been refunded"),
        "{}",
        stderr(&again)
    );
    let missing = storecredit(&db, &["order", "refund", "999", "--reason", "never arrived"], "");
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
fn a_database_url_it_cannot_use_is_a_clear_error_that_creates_nothing_and_hides_the_password() {
    let other = "mysql://shop:secret@localhost/storecredit";
    // Nothing listens on port 1: a PostgreSQL URL that cannot be reached.
    let away = "postgres://shop:secret@127.0.0.1:1/storecredit";
    let runs: [(&[&str], Option<&str>, &str); 8] = [
        (
            &["balance", "--email", "x@example.com", "--database", other],
            None,
            "`mysql://…` databases are not supported",
        ),
        (
            &["--database", other, "ledger", "verify"],
            None,
            "`mysql://…` databases are not supported",
        ),
        (
            &["serve", "--bind", "127.0.0.1:0", "--database", other],
            None,
            "`mysql://…` databases are not supported",
        ),
        (
            &["--bind", "127.0.0.1:0"],
            Some("sqlite://shop:secret@db.example/storecredit?sslmode=require"),
            "`sqlite://…` databases are not supported",
        ),
        (
            &["balance", "--email", "x@example.com", "--database", away],
            None,
            "cannot open the database postgres://shop:***@127.0.0.1:1/storecredit: cannot reach the database",
        ),
        (
            &["serve", "--bind", "127.0.0.1:0"],
            Some(away),
            "cannot open the database postgres://shop:***@127.0.0.1:1/storecredit: cannot reach the database",
        ),
        (
            &["serve", "--bind", "127.0.0.1:0"],
            Some("postgres:/shop:secret@127.0.0.1:1/storecredit"),
            "neither a file path nor a postgres:// URL",
        ),
        (
            &[
                "balance",
                "--email",
                "x@example.com",
                "--database",
                "postgres//shop:secret@db/storecredit",
            ],
            None,
            "neither a file path nor a postgres:// URL",
        ),
    ];
    for (args, variable, expected) in runs {
        let folder = tempfile::tempdir().unwrap();
        let output = storecredit_in(folder.path(), args, variable);
        let (out, err) = (stdout(&output), stderr(&output));
        assert!(!output.status.success(), "{args:?}: {out}{err}");
        assert!(err.contains(expected), "{args:?}: {err}");
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
fn demo_store(db: &FreshDatabase) -> storecredit::store::Store {
    let store = db.open();
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
    use storecredit::domain::{CreditKind, CreditSource, DisplayName, Email, LastDay, Money};
    use storecredit::store::credits::NewCredit;
    use storecredit::store::orders::Promotion;
    use time::{Duration, OffsetDateTime};

    let Some(db) = fresh_database() else { return };
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
        kind: CreditKind::Promotional(store.categories().parse_list("music").unwrap()),
        source: CreditSource::Grant,
        description: "Music credit that ends yesterday".into(),
        amount: Money::from_cents(2000),
        expires_at: Some(now - Duration::days(1)),
        code_redemption_id: None,
    };
    store
        .grant_credit(
            &storecredit::domain::Actor::command(),
            ann,
            &credit,
            &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
            now - Duration::days(10),
        )
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

    let refunded = storecredit(
        &db,
        &[
            "order",
            "refund",
            &placed.order_id.to_string(),
            "--reason",
            "never arrived",
        ],
        "",
    );
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

    let Some(db) = fresh_database() else { return };
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

    let refunded = storecredit(
        &db,
        &[
            "order",
            "refund",
            &placed.order_id.to_string(),
            "--reason",
            "never arrived",
        ],
        "",
    );
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
    let Some(db) = fresh_database() else { return };
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
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    assert!(store.password_reset_account(token, now).unwrap().is_some());

    let unknown = storecredit(
        &db,
        &[
            "user",
            "reset-link",
            "--email",
            "bo@example.com",
            "--origin",
            "https://shop.example",
        ],
        "",
    );
    assert!(!unknown.status.success());

    // Without the site's origin the link could point anywhere: say so, print none.
    let nowhere = storecredit(&db, &["user", "reset-link", "--email", "ann@example.com"], "");
    assert!(!nowhere.status.success());
    assert!(stderr(&nowhere).contains("--origin"), "{}", stderr(&nowhere));
    assert!(!stdout(&nowhere).contains("/password/reset/"));
}

// ---- The operator's toolkit (SPEC §7) ----

type JsonRows = Vec<serde_json::Map<String, serde_json::Value>>;

/// The rows of a list command's `--format json` output.
fn json_rows(db: &FreshDatabase, args: &[&str]) -> JsonRows {
    let args: Vec<&str> = args.iter().copied().chain(["--format", "json"]).collect();
    let output = storecredit(db, &args, "");
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)))
}

/// The records of a list command's `--format csv` output, after its header.
fn csv_rows(db: &FreshDatabase, args: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let args: Vec<&str> = args.iter().copied().chain(["--format", "csv"]).collect();
    let output = storecredit(db, &args, "");
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn succeeds(db: &FreshDatabase, args: &[&str]) -> String {
    let output = storecredit(db, args, "");
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

/// The message of a command that must fail.
fn fails(db: &FreshDatabase, args: &[&str]) -> String {
    let output = storecredit(db, args, "");
    assert!(
        !output.status.success(),
        "{args:?} succeeded: {}",
        stdout(&output)
    );
    stderr(&output)
}

/// A database with the demo account and a second account, Ann, without credit;
/// `None` when this binary's engine is not available here.
fn demo_and_ann() -> Option<FreshDatabase> {
    let db = fresh_database()?;
    drop(demo_store(&db));
    let added = storecredit(
        &db,
        &["user", "add", "--email", "ann@example.com", "--name", "Ann Lee"],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    Some(db)
}

fn demo_user(store: &storecredit::store::Store) -> storecredit::domain::UserId {
    let email = storecredit::domain::Email::parse("demo@example.com").unwrap();
    store.user_id_by_email(&email).unwrap().unwrap()
}

#[test]
fn user_list_finds_accounts_in_a_table_csv_and_json() {
    let Some(db) = demo_and_ann() else { return };

    let table = succeeds(&db, &["user", "list"]);
    let (header, rows) = csv_rows(&db, &["user", "list"]);
    let every = json_rows(&db, &["user", "list"]);
    let found = json_rows(&db, &["user", "list", "--search", "LEE"]);

    assert!(table.starts_with("ID  EMAIL"), "{table}");
    assert!(
        table.contains("ann@example.com") && table.contains("demo@example.com"),
        "{table}"
    );
    assert_eq!(header, ["id", "email", "name", "created", "credits", "orders"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(every.len(), 2);
    let demo = every
        .iter()
        .find(|row| row["email"] == "demo@example.com")
        .unwrap();
    assert_eq!(
        (demo["credits"].as_i64(), demo["orders"].as_i64()),
        (Some(4), Some(1))
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], "Ann Lee");
}

#[test]
fn user_show_gives_the_details_balances_and_counts() {
    let Some(db) = demo_and_ann() else { return };

    let shown = succeeds(&db, &["user", "show", "--email", "Demo@Example.com"]);

    let line = |label: &str| {
        shown
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no {label} in {shown}"))
    };
    assert_eq!(line("Name"), "Name Demo Shopper");
    assert_eq!(line("E-mail"), "E-mail demo@example.com");
    assert_eq!(line("Default card"), "Default card Visa ending in 4242");
    assert_eq!(line("Credits"), "Credits 4");
    assert_eq!(line("Orders"), "Orders 1");
    assert_eq!(line("Sign-in"), "Sign-in open");
    assert_eq!(line("Digital Music"), "Digital Music $14.01");
    assert_eq!(line("Gift Cards"), "Gift Cards $25.00");
    let ann = succeeds(&db, &["user", "show", "--email", "ann@example.com"]);
    assert!(ann.contains("Default card  none"), "{ann}");
    assert!(fails(&db, &["user", "show", "--email", "bo@example.com"]).contains("no account"));
}

#[test]
fn unlock_lets_an_account_paused_by_five_failed_sign_ins_try_again() {
    use storecredit::config::ThrottleRules;
    use storecredit::store::throttle::Subject;

    let Some(db) = demo_and_ann() else { return };
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let counter = [(
        Subject("account:demo@example.com".to_owned()),
        ThrottleRules::default().signin_per_account,
    )];
    for _ in 0..5 {
        assert_eq!(store.reserve_attempt(&counter, now).unwrap(), None);
    }
    assert!(store.reserve_attempt(&counter, now).unwrap().is_some(), "paused");
    let before = succeeds(&db, &["user", "show", "--email", "demo@example.com"]);

    let unlocked = succeeds(&db, &["user", "unlock", "--email", "demo@example.com"]);

    assert!(before.contains("PAUSED after 5 failed attempts"), "{before}");
    assert!(
        unlocked.contains("was paused after 5 failed attempts"),
        "{unlocked}"
    );
    assert_eq!(
        store.reserve_attempt(&counter, now).unwrap(),
        None,
        "may sign in again"
    );
    let after = succeeds(&db, &["user", "show", "--email", "demo@example.com"]);
    assert!(
        after.contains("Sign-in       open (1 recent failed attempt(s))"),
        "{after}"
    );
    let again = succeeds(&db, &["user", "unlock", "--email", "ann@example.com"]);
    assert!(again.contains("was not paused"), "{again}");
    assert!(fails(&db, &["user", "unlock", "--email", "bo@example.com"]).contains("no account"));
}

#[test]
fn credit_list_shows_each_credit_with_its_terms_and_status() {
    let Some(db) = demo_and_ann() else { return };

    let table = succeeds(&db, &["credit", "list", "--email", "demo@example.com"]);
    let (header, rows) = csv_rows(&db, &["credit", "list", "--email", "demo@example.com"]);
    let credits = json_rows(&db, &["credit", "list", "--email", "demo@example.com"]);

    assert!(
        table.contains("music,kindle") && table.contains("$4.01"),
        "{table}"
    );
    assert_eq!(
        header,
        [
            "id",
            "kind",
            "categories",
            "original",
            "remaining",
            "last_day",
            "source",
            "description",
            "status"
        ]
    );
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter().any(|row| row[3] == "5.00" && row[4] == "4.01"),
        "{rows:?}"
    );
    assert_eq!(credits.len(), 4);
    let spent = credits.iter().find(|row| row["id"] == 2).unwrap();
    assert_eq!(spent["remaining"].as_f64(), Some(4.01));
    assert_eq!(spent["categories"], "music");
    assert!(spent["last_day"].as_str().unwrap().len() == "2027-01-31".len());
    let gift = credits.iter().find(|row| row["kind"] == "gift-card").unwrap();
    assert_eq!(gift["last_day"], serde_json::Value::Null);
    assert!(credits.iter().all(|row| row["status"] == "active"), "{credits:?}");
    assert!(json_rows(&db, &["credit", "list", "--email", "ann@example.com"]).is_empty());
}

fn balances(db: &FreshDatabase, email: &str) -> String {
    succeeds(db, &["balance", "--email", email])
}

#[test]
fn an_adjustment_changes_the_credit_with_a_reason_in_its_ledger() {
    let Some(db) = demo_and_ann() else { return };

    let adjusted = succeeds(
        &db,
        &[
            "credit",
            "adjust",
            "1",
            "--amount",
            "-2.50",
            "--reason",
            "granted twice by mistake",
        ],
    );
    let given_back = succeeds(
        &db,
        &[
            "credit",
            "adjust",
            "1",
            "--amount=1",
            "--reason",
            "half of it back",
        ],
    );

    assert!(adjusted.contains("$10.00 \u{2192} $7.50"), "{adjusted}");
    assert!(given_back.contains("$7.50 \u{2192} $8.50"), "{given_back}");
    let shown = balances(&db, "demo@example.com");
    assert!(
        shown
            .lines()
            .any(|line| line.starts_with("Kindle") && line.ends_with("$8.50")),
        "{shown}"
    );
    succeeds(&db, &["ledger", "verify"]);
    // No command shows the reasons yet: read the ledger's rows.
    let notes = database::sql_rows(
        db.location(),
        "SELECT amount_cents, note FROM credit_events WHERE credit_id = 1 AND kind = 'adjust' ORDER BY id",
    );
    assert_eq!(
        notes,
        [["-250", "granted twice by mistake"], ["100", "half of it back"]]
    );
}

#[test]
fn a_refused_adjustment_says_why_and_changes_nothing() {
    let Some(db) = demo_and_ann() else { return };
    let before = balances(&db, "demo@example.com");
    let cases: [(&[&str], &str); 6] = [
        (
            &["credit", "adjust", "2", "--amount", "-4.02", "--reason", "r"],
            "less than $0.00",
        ),
        (
            &["credit", "adjust", "2", "--amount", "1.00", "--reason", "r"],
            "more than it was worth",
        ),
        (
            &["credit", "adjust", "2", "--amount", "0", "--reason", "r"],
            "changes nothing",
        ),
        (
            &["credit", "adjust", "2", "--amount", "-1", "--reason", "  "],
            "--reason",
        ),
        (
            &["credit", "adjust", "99", "--amount", "-1", "--reason", "r"],
            "no credit 99",
        ),
        (&["credit", "revoke", "2", "--reason", ""], "--reason"),
    ];
    for (args, expected) in cases {
        let message = fails(&db, args);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
    assert_eq!(balances(&db, "demo@example.com"), before);
    let missing_reason = storecredit(&db, &["credit", "revoke", "2"], "");
    assert_eq!(missing_reason.status.code(), Some(2), "a usage error");
    succeeds(&db, &["ledger", "verify"]);
}

#[test]
fn a_revoked_credit_is_emptied_once_and_listed_as_revoked() {
    let Some(db) = demo_and_ann() else { return };

    let revoked = succeeds(
        &db,
        &["credit", "revoke", "3", "--reason", "account closed for fraud"],
    );
    let again = fails(&db, &["credit", "revoke", "3", "--reason", "once more"]);

    assert!(revoked.contains("$3.50 \u{2192} $0.00"), "{revoked}");
    assert!(again.contains("nothing left to revoke"), "{again}");
    let shown = balances(&db, "demo@example.com");
    assert!(
        shown
            .lines()
            .any(|line| line.starts_with("Instant Video") && line.ends_with("$0.00")),
        "{shown}"
    );
    let credits = json_rows(&db, &["credit", "list", "--email", "demo@example.com"]);
    let video = credits.iter().find(|row| row["id"] == 3).unwrap();
    assert_eq!(
        (video["status"].as_str(), video["remaining"].as_f64()),
        (Some("revoked"), Some(0.0))
    );
    succeeds(&db, &["ledger", "verify"]);
}

#[test]
fn code_list_and_show_give_the_real_terms() {
    let Some(db) = demo_and_ann() else { return };

    let codes = json_rows(&db, &["code", "list"]);
    let (header, rows) = csv_rows(&db, &["code", "list"]);
    let shown = succeeds(&db, &["code", "show", " music-kindle-10 "]);

    let code = |name: &str| codes.iter().find(|row| row["code"] == name).unwrap();
    let credit = code("MUSIC-KINDLE-10");
    assert_eq!(credit["kind"], "credit");
    assert_eq!(credit["amount"].as_f64(), Some(10.0));
    assert_eq!(credit["categories"], "music,kindle");
    assert_eq!(credit["valid_days"], 60);
    assert_eq!(
        (credit["redemptions"].as_i64(), &credit["cap"]),
        (Some(0), &serde_json::Value::Null)
    );
    assert_eq!(credit["active"], true);
    assert_eq!(code("ALBUM-20-OFF")["percent"], 20);
    assert_eq!(code("GIFT-20")["kind"], "gift-card");
    assert_eq!(header.len(), 11);
    assert_eq!(rows.len(), 4);
    assert!(
        shown.contains("a $10.00 credit for Digital Music and Kindle"),
        "{shown}"
    );
    assert!(shown.contains("60 days after redemption"), "{shown}");
    assert!(fails(&db, &["code", "show", "NO-SUCH-CODE"]).contains("no code NO-SUCH-CODE"));
}

#[test]
fn a_deactivated_code_can_no_longer_be_redeemed() {
    use storecredit::domain::{CodeRefusal, PromoCode};
    use storecredit::store::codes::RedeemError;

    let Some(db) = demo_and_ann() else { return };

    let deactivated = succeeds(&db, &["code", "deactivate", "gift-20"]);

    assert!(deactivated.contains("deactivated GIFT-20"), "{deactivated}");
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let refused = store.redeem_code(demo_user(&store), &PromoCode::parse("GIFT-20").unwrap(), now);
    assert!(
        matches!(refused, Err(RedeemError::Refused(CodeRefusal::Unknown))),
        "{refused:?}"
    );
    let other = store.redeem_code(demo_user(&store), &PromoCode::parse("VIDEO-5").unwrap(), now);
    assert!(other.is_ok(), "{other:?}");
    let gift = json_rows(&db, &["code", "list"])
        .into_iter()
        .find(|row| row["code"] == "GIFT-20")
        .unwrap();
    assert_eq!(gift["active"], false);
    assert!(succeeds(&db, &["code", "show", "GIFT-20"]).contains("Active        no"));
    assert!(succeeds(&db, &["code", "deactivate", "GIFT-20"]).contains("already deactivated"));
    assert!(fails(&db, &["code", "deactivate", "NO-SUCH-CODE"]).contains("no code"));
}

#[test]
fn a_reactivated_code_can_be_redeemed_again() {
    use storecredit::domain::PromoCode;

    let Some(db) = demo_and_ann() else { return };
    succeeds(&db, &["code", "deactivate", "gift-20"]);

    let reactivated = succeeds(&db, &["code", "reactivate", "gift-20"]);

    assert!(reactivated.contains("reactivated GIFT-20"), "{reactivated}");
    assert!(succeeds(&db, &["code", "show", "GIFT-20"]).contains("Active        yes"));
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let redeemed = store.redeem_code(demo_user(&store), &PromoCode::parse("GIFT-20").unwrap(), now);
    assert!(redeemed.is_ok(), "{redeemed:?}");
    assert!(succeeds(&db, &["code", "reactivate", "GIFT-20"]).contains("already active"));
    assert!(fails(&db, &["code", "reactivate", "NO-SUCH-CODE"]).contains("no code"));
}

#[test]
fn reactivating_a_code_whose_cap_is_reached_says_it_still_cannot_be_redeemed() {
    let Some(db) = demo_and_ann() else { return };
    succeeds(
        &db,
        &[
            "code",
            "create",
            "--code",
            "ONE-ONLY",
            "--kind",
            "gift-card",
            "--amount",
            "5",
            "--description",
            "$5.00 gift card",
        ],
    );
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let code = storecredit::domain::PromoCode::parse("ONE-ONLY").unwrap();
    store.redeem_code(demo_user(&store), &code, now).unwrap();
    succeeds(&db, &["code", "deactivate", "ONE-ONLY"]);

    let reactivated = succeeds(&db, &["code", "reactivate", "ONE-ONLY"]);

    assert!(
        reactivated.contains(
            "reactivated ONE-ONLY, but it still cannot be redeemed: it has been redeemed 1 of 1 times"
        ),
        "{reactivated}"
    );
}

#[test]
fn a_gift_card_code_without_a_cap_is_redeemable_once_in_all() {
    use storecredit::domain::{CodeRefusal, PromoCode};
    use storecredit::store::codes::RedeemError;

    let Some(db) = demo_and_ann() else { return };
    let created = succeeds(
        &db,
        &[
            "code",
            "create",
            "--code",
            "GIFT-50",
            "--kind",
            "gift-card",
            "--amount",
            "50",
            "--description",
            "$50 gift card",
        ],
    );
    succeeds(
        &db,
        &[
            "code",
            "create",
            "--code",
            "KINDLE-3",
            "--kind",
            "credit",
            "--amount",
            "3",
            "--categories",
            "kindle",
            "--description",
            "$3 Kindle credit",
        ],
    );

    assert!(created.contains("redeemable once in all"), "{created}");
    let codes = json_rows(&db, &["code", "list"]);
    let cap = |name: &str| codes.iter().find(|row| row["code"] == name).unwrap()["cap"].clone();
    assert_eq!(cap("GIFT-50"), 1);
    assert_eq!(
        cap("KINDLE-3"),
        serde_json::Value::Null,
        "credit codes keep no cap"
    );
    let store = db.open();
    let now = time::OffsetDateTime::now_utc();
    let ann = store
        .user_id_by_email(&storecredit::domain::Email::parse("ann@example.com").unwrap())
        .unwrap()
        .unwrap();
    let gift = PromoCode::parse("GIFT-50").unwrap();
    assert!(store.redeem_code(ann, &gift, now).is_ok());
    let second = store.redeem_code(demo_user(&store), &gift, now);
    assert!(
        matches!(second, Err(RedeemError::Refused(CodeRefusal::Exhausted))),
        "{second:?}"
    );
}

#[test]
fn order_list_and_show_give_the_payment_breakdown_and_refund_state() {
    let Some(db) = demo_and_ann() else { return };

    let table = succeeds(&db, &["order", "list"]);
    let orders = json_rows(&db, &["order", "list"]);
    let (_, rows) = csv_rows(&db, &["order", "list", "--email", "demo@example.com"]);
    let shown = succeeds(&db, &["order", "show", "1"]);

    assert!(
        table.contains("demo@example.com") && table.contains("$0.99"),
        "{table}"
    );
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["id"], 1);
    assert_eq!(orders[0]["price"].as_f64(), Some(0.99));
    assert_eq!(orders[0]["promotional_credit"].as_f64(), Some(0.99));
    assert_eq!(orders[0]["card"].as_f64(), Some(0.0));
    assert_eq!(orders[0]["refunded"], false);
    assert_eq!(rows.len(), 1);
    assert!(json_rows(&db, &["order", "list", "--email", "ann@example.com"]).is_empty());
    assert!(
        shown.contains("Account               demo@example.com"),
        "{shown}"
    );
    let draw = shown
        .lines()
        .find(|line| line.trim_start().starts_with("credit 2"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        draw.contains("$0.99") && draw.contains("Digital Music credit"),
        "{shown}"
    );
    assert!(shown.contains("Refunded              no"), "{shown}");

    succeeds(&db, &["order", "refund", "1", "--reason", "never arrived"]);

    let refunded = succeeds(&db, &["order", "show", "1"]);
    assert!(!refunded.contains("Refunded              no"), "{refunded}");
    assert!(refunded.contains("Returned to credits"), "{refunded}");
    assert_eq!(json_rows(&db, &["order", "list"])[0]["refunded"], true);
    assert!(fails(&db, &["order", "show", "999"]).contains("no order 999"));
}

/// Every operator command that reads or changes a store.
const OPERATOR_COMMANDS: &[&[&str]] = &[
    &["balance", "--email", "demo@example.com"],
    &["ledger", "verify"],
    &["user", "list"],
    &["user", "show", "--email", "demo@example.com"],
    &["user", "unlock", "--email", "demo@example.com"],
    &[
        "user",
        "reset-link",
        "--email",
        "demo@example.com",
        "--origin",
        "https://shop.example",
    ],
    &["credit", "list", "--email", "demo@example.com"],
    &[
        "credit",
        "grant",
        "--reason",
        "goodwill",
        "--email",
        "demo@example.com",
        "--amount",
        "5",
        "--gift-card",
    ],
    &["credit", "adjust", "1", "--amount", "-1", "--reason", "r"],
    &["credit", "revoke", "1", "--reason", "r"],
    &["code", "list"],
    &["code", "show", "GIFT-20"],
    &["code", "deactivate", "GIFT-20"],
    &["code", "reactivate", "GIFT-20"],
    &["order", "list"],
    &["order", "show", "1"],
    &["order", "refund", "1", "--reason", "r"],
];

#[test]
fn commands_on_a_database_file_that_does_not_exist_refuse_and_create_nothing() {
    // A file path is the SQLite engine's, whichever binary runs this: once is enough.
    if crate::ENGINE != Engine::Sqlite {
        return;
    }
    for database in ["storecredt.db", "data/storecredit.db"] {
        for args in OPERATOR_COMMANDS {
            let folder = tempfile::tempdir().unwrap();
            let args: Vec<&str> = args.iter().copied().chain(["--database", database]).collect();
            let output = storecredit_in(folder.path(), &args, None);
            assert!(!output.status.success(), "{args:?}");
            assert!(
                stderr(&output).contains("there is no database at"),
                "{args:?}: {}",
                stderr(&output)
            );
            let created: Vec<_> = std::fs::read_dir(folder.path())
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect();
            assert!(created.is_empty(), "{args:?} created {created:?}");
        }
    }
}

#[test]
fn commands_on_a_postgresql_database_that_holds_no_store_refuse_and_create_nothing() {
    // The PostgreSQL counterpart of a missing file: the SQLite binary leaves it to its twin.
    if crate::ENGINE != Engine::Postgres {
        return;
    }
    let Some(db) = fresh_database() else { return };
    for args in OPERATOR_COMMANDS {
        let output = storecredit(&db, args, "");
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains("holds no store"),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains(&db.arg()),
            "the URL is shown without its password"
        );
    }
    let tables = database::sql_rows(
        db.location(),
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    );
    assert_eq!(tables, [["0"]], "nothing was created");
}

#[test]
fn serve_help_lists_the_metrics_address() {
    let output = storecredit_on("unused.db", &["serve", "--help"], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let help = stdout(&output);
    assert!(help.contains("--metrics-bind"), "{help}");
    assert!(help.contains("STORECREDIT_METRICS_BIND"), "{help}");
}

#[test]
fn every_subcommand_and_flag_has_a_help_line() {
    use clap::CommandFactory;

    fn undocumented(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_name() != "help" && sub.get_about().is_none() {
                missing.push(name.clone());
            }
            undocumented(sub, &name, missing);
        }
    }
    let mut missing = Vec::new();
    undocumented(&storecredit::cli::Cli::command(), "storecredit", &mut missing);
    assert!(missing.is_empty(), "no help line: {missing:?}");
}

#[test]
fn a_code_whose_redeem_by_day_has_passed_is_refused() {
    let Some(db) = fresh_database() else { return };
    let created = storecredit(
        &db,
        &[
            "code",
            "create",
            "--code",
            "TOO-LATE",
            "--kind",
            "credit",
            "--amount",
            "5",
            "--categories",
            "music",
            "--redeem-by",
            "2020-01-01",
            "--description",
            "too late",
        ],
        "",
    );
    assert!(!created.status.success());
    assert!(
        stderr(&created).contains("already passed"),
        "{}",
        stderr(&created)
    );
}

#[test]
fn an_operator_command_never_upgrades_a_database_from_an_earlier_release() {
    let Some(db) = fresh_database() else { return };
    drop(demo_store(&db));
    // A database one schema version behind, as an earlier release left it.
    let latest = database::schema_version(db.location());
    database::set_schema_version(db.location(), latest - 1);

    for args in [
        &["category", "list"][..],
        &["balance", "--email", "demo@example.com"],
        &[
            "code",
            "create",
            "--code",
            "NEW-5",
            "--kind",
            "gift-card",
            "--amount",
            "5",
            "--description",
            "x",
        ],
    ] {
        let refused = storecredit(&db, args, "");
        assert!(!refused.status.success(), "{args:?}");
        assert!(
            stderr(&refused).contains("from an earlier release"),
            "{args:?}: {}",
            stderr(&refused)
        );
        assert_eq!(
            database::schema_version(db.location()),
            latest - 1,
            "{args:?} left the schema as it was"
        );
    }
}

#[test]
fn category_add_refuses_what_shoppers_could_not_tell_apart_or_type() {
    let Some(db) = fresh_database() else { return };
    drop(demo_store(&db));
    for (slug, label, reason) in [
        ("all", "Everything", "taken by the store itself"),
        ("gift-card", "Gift", "taken by the store itself"),
        ("-pods", "Pods", "starting and ending with a letter or digit"),
        ("Podcasts", "Podcasts", "lower-case"),
        ("podcasts", "digital music", "labelled \"Digital Music\" already"),
        ("podcasts", "\u{202e}stsacdoP", "no invisible"),
        ("podcasts", "\u{feff}", "no invisible"),
        ("music", "Tunes", "already a category \"music\""),
    ] {
        let (slug_flag, label_flag) = (format!("--slug={slug}"), format!("--label={label}"));
        let refused = storecredit(&db, &["category", "add", &slug_flag, &label_flag], "");
        assert!(!refused.status.success(), "{slug} {label:?}");
        assert!(
            stderr(&refused).contains(reason),
            "{slug} {label:?}: {}",
            stderr(&refused)
        );
    }
    let listed = stdout(&storecredit(&db, &["category", "list", "--format", "csv"], ""));
    assert_eq!(listed.lines().count(), 5, "the header and the four: {listed}");
}

#[test]
fn a_product_is_added_to_a_department_and_refused_for_an_unknown_one() {
    let Some(db) = fresh_database() else { return };
    drop(demo_store(&db));
    let product = |category: &str, price: &str| {
        storecredit(
            &db,
            &[
                "product",
                "add",
                "--category",
                category,
                "--title",
                "Field Notes",
                "--creator",
                "Ann Author",
                "--format",
                "Kindle edition",
                "--price",
                price,
            ],
            "",
        )
    };
    let added = product("kindle", "4.50");
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        stdout(&added).contains("Field Notes, $4.50"),
        "{}",
        stdout(&added)
    );
    let unknown = product("books", "4.50");
    assert!(
        stderr(&unknown).contains("there is no category \"books\""),
        "{}",
        stderr(&unknown)
    );
    for price in ["0", "-1.00", "4.505"] {
        assert!(!product("kindle", price).status.success(), "{price}");
    }
    let store = db.open();
    let kindle = store.categories().by_slug("kindle").unwrap().id();
    let titled: Vec<String> = store
        .products_in(Some(kindle))
        .unwrap()
        .into_iter()
        .filter(|p| p.title == "Field Notes")
        .map(|p| p.price.to_string())
        .collect();
    assert_eq!(titled, ["$4.50"], "added once, at its price");
}

#[test]
fn money_typed_with_a_comma_is_refused_naming_the_flag_and_nothing_is_made() {
    let Some(db) = demo_and_ann() else { return };
    let credits_before = json_rows(&db, &["credit", "list", "--email", "ann@example.com"]).len();
    let codes_before = json_rows(&db, &["code", "list"]).len();

    for amount in ["2,50", "12,50", "1,2,3", "10.500"] {
        let grant = fails(
            &db,
            &[
                "credit",
                "grant",
                "--reason",
                "goodwill",
                "--email",
                "ann@example.com",
                "--amount",
                amount,
                "--gift-card",
            ],
        );
        assert!(grant.contains("--amount"), "{amount}: {grant}");
        let code = fails(
            &db,
            &[
                "code",
                "create",
                "--code",
                "COMMA-CARD",
                "--kind",
                "gift-card",
                "--amount",
                amount,
                "--description",
                "a gift card",
            ],
        );
        assert!(code.contains("--amount"), "{amount}: {code}");
        let product = fails(
            &db,
            &[
                "product",
                "add",
                "--category",
                "music",
                "--title",
                "Comma Song",
                "--creator",
                "Ann Author",
                "--format",
                "MP3 track",
                "--price",
                amount,
            ],
        );
        assert!(product.contains("--price"), "{amount}: {product}");
        let adjust = fails(
            &db,
            &[
                "credit",
                "adjust",
                "1",
                "--amount",
                &format!("-{amount}"),
                "--reason",
                "r",
            ],
        );
        assert!(adjust.contains("--amount"), "{amount}: {adjust}");
    }
    assert!(
        fails(
            &db,
            &[
                "credit",
                "grant",
                "--reason",
                "goodwill",
                "--email",
                "ann@example.com",
                "--amount",
                "2,50",
                "--gift-card"
            ]
        )
        .contains("comma")
    );

    assert_eq!(
        json_rows(&db, &["credit", "list", "--email", "ann@example.com"]).len(),
        credits_before
    );
    assert_eq!(json_rows(&db, &["code", "list"]).len(), codes_before);
    let products = db.open().products_in(None).unwrap();
    assert!(
        !products.iter().any(|product| product.title == "Comma Song"),
        "no product was added"
    );
}

#[test]
fn creating_a_code_says_what_it_is_worth() {
    let Some(db) = demo_and_ann() else { return };

    let created = succeeds(
        &db,
        &[
            "code",
            "create",
            "--code",
            "GIFT-12",
            "--kind",
            "gift-card",
            "--amount",
            "$12.50",
            "--description",
            "$12.50 gift card",
        ],
    );

    assert!(created.contains("created code GIFT-12"), "{created}");
    assert!(created.contains("a $12.50 gift card"), "{created}");
}

#[test]
fn names_with_direction_characters_are_printed_escaped() {
    let Some(db) = fresh_database() else { return };
    drop(demo_store(&db));
    let added = storecredit(
        &db,
        &[
            "user",
            "add",
            "--email",
            "mallory@example.com",
            "--name",
            "Mal \u{202E}gnp.exe",
        ],
        "velvet-harbor-lantern\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));

    let listed = succeeds(&db, &["user", "list"]);
    let shown = succeeds(&db, &["user", "show", "--email", "mallory@example.com"]);

    for printed in [&listed, &shown] {
        assert!(!printed.contains('\u{202E}'), "{printed}");
        assert!(printed.contains("Mal \\u{202E}gnp.exe"), "{printed}");
    }
}

/// Ann, with a $5.00 music credit and a Visa card, bought the $8.99 album: $5.00
/// from the credit, $3.99 by card. Answers the order's number and the credit's.
fn ann_bought_the_album(db: &FreshDatabase) -> (String, i64) {
    use storecredit::domain::{CardSummary, CreditKind, CreditSource, DisplayName, Email, Money};
    use storecredit::store::credits::NewCredit;
    use storecredit::store::orders::Promotion;
    use time::OffsetDateTime;

    let store = demo_store(db);
    let now = OffsetDateTime::now_utc();
    let ann = store
        .create_user(
            &Email::parse("ann@example.com").unwrap(),
            &DisplayName::parse("Ann").unwrap(),
            "not-used-here",
            now,
        )
        .unwrap();
    let credit = NewCredit {
        kind: CreditKind::Promotional(store.categories().parse_list("music").unwrap()),
        source: CreditSource::Grant,
        description: "Music credit".into(),
        amount: Money::from_cents(500),
        expires_at: None,
        code_redemption_id: None,
    };
    let credit = store
        .grant_credit(
            &storecredit::domain::Actor::command(),
            ann,
            &credit,
            &storecredit::domain::AdjustmentReason::parse("test").unwrap(),
            now,
        )
        .unwrap();
    let card = CardSummary {
        brand: "Visa".into(),
        last4: "4242".into(),
    };
    store.set_default_card(ann, &card, now).unwrap();
    let album = product_titled(&store, "Salt & Static");
    let order = store
        .place_order(ann, album, &Promotion::None, "album", now)
        .unwrap()
        .order_id;
    (order.to_string(), credit.0)
}

#[test]
fn an_order_is_refunded_in_parts_card_first_each_with_its_reason_up_to_what_was_paid() {
    let Some(db) = fresh_database() else { return };
    let (order, credit) = ann_bought_the_album(&db);
    let refund = |amount: &str| {
        succeeds(
            &db,
            &[
                "order",
                "refund",
                &order,
                "--reason",
                "scratched",
                "--amount",
                amount,
            ],
        )
    };

    let first = refund("2.50");
    let second = refund("$3.00");
    let too_much = fails(
        &db,
        &[
            "order",
            "refund",
            &order,
            "--reason",
            "scratched",
            "--amount",
            "5",
        ],
    );
    let rest = succeeds(&db, &["order", "refund", &order, "--reason", "never played"]);

    assert!(
        first.contains(&format!(
            "refunded $2.50 of order {order}: $2.50 refunded to Visa ending in 4242"
        )),
        "{first}"
    );
    assert!(
        first.contains(&format!("$6.49 of order {order} is left to refund")),
        "{first}"
    );
    assert!(
        second.contains("$1.49 refunded to Visa ending in 4242")
            && second.contains(&format!("$1.51 returned to credit {credit}")),
        "{second}"
    );
    assert!(
        too_much.contains(&format!("only $3.49 of order {order} is left to refund")),
        "{too_much}"
    );
    assert!(
        rest.contains(&format!("$3.49 returned to credit {credit}")),
        "{rest}"
    );
    assert!(rest.contains("refunded in full"), "{rest}");
    let shown = succeeds(&db, &["order", "show", &order]);
    let refunds: Vec<&str> = shown
        .lines()
        .filter(|line| line.trim_start().starts_with("refund "))
        .collect();
    assert_eq!(refunds.len(), 3, "{shown}");
    assert!(
        refunds[0].contains("$2.50") && refunds[0].contains("by cli:") && refunds[0].contains("scratched"),
        "{shown}"
    );
    assert!(
        refunds[2].contains("$3.49") && refunds[2].contains("never played"),
        "{shown}"
    );
    let to_card = shown
        .lines()
        .find(|line| line.starts_with("Refunded to card"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(to_card.contains("$3.99  Visa ending in 4242"), "{shown}");
    assert!(balances(&db, "ann@example.com").contains("$5.00"));
    assert!(storecredit(&db, &["ledger", "verify"], "").status.success());
}

#[test]
fn a_refund_amount_is_read_strictly_and_a_bad_one_refunds_nothing() {
    let Some(db) = fresh_database() else { return };
    let (order, _) = ann_bought_the_album(&db);

    for typed in ["2,50", "1,2,3", "2.505", "two", "-5", "+5", "5 dollars"] {
        let said = fails(
            &db,
            &[
                "order",
                "refund",
                &order,
                "--reason",
                "scratched",
                "--amount",
                typed,
            ],
        );
        assert!(said.contains("--amount"), "{typed}: {said}");
    }
    let zero = fails(
        &db,
        &["order", "refund", &order, "--reason", "r", "--amount", "0"],
    );
    let no_reason = fails(&db, &["order", "refund", &order]);
    let blank_reason = fails(&db, &["order", "refund", &order, "--reason", " "]);

    assert!(zero.contains("--amount must be more than $0.00"), "{zero}");
    assert!(no_reason.contains("--reason"), "{no_reason}");
    assert!(blank_reason.contains("--reason"), "{blank_reason}");
    let shown = succeeds(&db, &["order", "show", &order]);
    assert!(shown.contains("Refunded              no"), "{shown}");
}

#[test]
fn a_refund_never_revives_a_revoked_credit_and_says_how_to_give_the_share_back() {
    let Some(db) = fresh_database() else { return };
    let (order, credit) = ann_bought_the_album(&db);
    let credit = credit.to_string();
    // The order emptied the credit; support raised it, then revoked it for fraud.
    succeeds(
        &db,
        &[
            "credit", "adjust", &credit, "--amount", "1", "--reason", "goodwill",
        ],
    );
    succeeds(&db, &["credit", "revoke", &credit, "--reason", "fraud"]);

    let refunded = succeeds(&db, &["order", "refund", &order, "--reason", "asked by phone"]);

    assert!(
        refunded.contains("$3.99 refunded to Visa ending in 4242"),
        "{refunded}"
    );
    assert!(
        refunded.contains(&format!(
            "$5.00 withheld: it was paid from credit {credit}, which has been revoked since"
        )),
        "{refunded}"
    );
    assert!(
        refunded
            .contains("storecredit credit grant --email ann@example.com --amount 5.00 --categories music"),
        "{refunded}"
    );
    let listed = json_rows(&db, &["credit", "list", "--email", "ann@example.com"]);
    assert_eq!(listed[0]["status"], "revoked", "{listed:?}");
    assert!(!balances(&db, "ann@example.com").contains("$5.00"));
    assert!(storecredit(&db, &["ledger", "verify"], "").status.success());
}

#[test]
fn a_revoked_credits_share_goes_to_a_new_credit_when_the_manager_says_so() {
    let Some(db) = fresh_database() else { return };
    let (order, credit) = ann_bought_the_album(&db);
    let credit = credit.to_string();
    succeeds(
        &db,
        &[
            "credit", "adjust", &credit, "--amount", "1", "--reason", "goodwill",
        ],
    );
    succeeds(&db, &["credit", "revoke", &credit, "--reason", "fraud"]);

    let refunded = succeeds(
        &db,
        &[
            "order",
            "refund",
            &order,
            "--reason",
            "manager agreed",
            "--revoked-to",
            "credit",
        ],
    );

    assert!(
        refunded.contains("$5.00 returned as a new credit for Digital Music")
            && refunded.contains("has been revoked since"),
        "{refunded}"
    );
    assert!(!refunded.contains("withheld"), "{refunded}");
    let listed = json_rows(&db, &["credit", "list", "--email", "ann@example.com"]);
    let revoked = listed
        .iter()
        .find(|row| row["id"].as_i64() == credit.parse().ok())
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert_eq!(revoked["status"], "revoked", "{listed:?}");
    assert!(balances(&db, "ann@example.com").contains("$5.00"));
}

#[test]
fn after_an_adjustment_filled_the_credit_again_a_refund_still_works() {
    let Some(db) = fresh_database() else { return };
    let (order, credit) = ann_bought_the_album(&db);
    succeeds(
        &db,
        &[
            "credit",
            "adjust",
            &credit.to_string(),
            "--amount",
            "5",
            "--reason",
            "goodwill",
        ],
    );

    let refunded = succeeds(&db, &["order", "refund", &order, "--reason", "scratched"]);

    assert!(
        refunded.contains("$3.99 refunded to Visa ending in 4242"),
        "{refunded}"
    );
    assert!(
        refunded.contains("$5.00 returned as a new credit for Digital Music")
            && refunded.contains("no room for it"),
        "{refunded}"
    );
    assert!(storecredit(&db, &["ledger", "verify"], "").status.success());
}

#[test]
fn a_backup_into_a_folder_not_made_yet_makes_it_and_a_postgresql_store_is_refused_making_nothing() {
    let Some(db) = fresh_database() else { return };
    drop(db.open());
    let target = db.folder().join("backups").join("first.db");
    let output = storecredit(&db, &["backup", target.to_str().unwrap()], "");
    match crate::ENGINE {
        Engine::Sqlite => {
            assert!(output.status.success(), "{}", stderr(&output));
            assert!(target.is_file(), "the copy is in the new folder");
        }
        Engine::Postgres => {
            assert!(!output.status.success());
            assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
            assert!(!target.parent().unwrap().exists(), "no folder made for nothing");
        }
    }
}
